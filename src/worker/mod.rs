//! The worker-server: rcraft's Pebble-compatible service manager, PID 1 of every rock.
//!
//! It is a second binary of this package (`src/bin/worker-server.rs`) that only uses this
//! module, so it links none of the CLI's heavy dependencies and builds into a small static
//! executable (`bench/worker-size.sh`). `worker-server enter` (or `run`) reads the Pebble layer
//! files in `$PEBBLE/layers` (default `/var/lib/pebble/default`), combines them by Pebble's
//! rules ([`plan`]), applies `--args` and the `WEBSERVER_*` settings ([`webserver`]), and then
//! supervises the services ([`manager`]) until a signal or a shutdown action.
//!
//! * [`cli`]: argument parsing and the commands (`enter`, `run`, `services`, `checks`, ...).
//! * [`yaml`], [`layer`], [`plan`]: layer files, strict decoding, combining, validation, order.
//! * [`service`]: named states and the pure backoff/exit decisions; [`manager`]: the event loop.
//! * [`reaper`]: signals, spawning into process groups, reaping every child.
//! * [`checks`]: http/tcp/exec checks; [`api`]: the unix-socket API and its client.
//! * [`users`]: `/etc/passwd` and `/etc/group` without NSS; [`log`]: the container log.
//!
//! Exit codes are Pebble's: 0 after a signal or a success shutdown, 10 after a failure
//! shutdown, 11 after a check-failure shutdown, 1 when the plan, `--args` or a `WEBSERVER_*`
//! variable is invalid.
//!
//! Deviations from Pebble, all deliberate:
//!
//! * Service output always goes to stdout (`<time> [svc] line`, Pebble needs `-v`); there is
//!   no log ring buffer, no `logs` API and no log forwarding (`log-targets` is accepted and
//!   ignored).
//! * The API is read-only: `GET /v1/services` and `GET /v1/checks`; no changes, `replan`,
//!   `exec` over the API, files, notices or identities. `enter exec` execs directly.
//!   Failing to bind the socket (e.g. a read-only `$PEBBLE`) is a warning, not fatal.
//! * Services are started one after another in dependency order (a dependent waits for the
//!   1 s okay delay of what it comes `after`), rather than in parallel "lanes"; the
//!   resulting order is the same.
//! * A check failure during a service's 1 s okay delay acts as if the service were running
//!   (Pebble ignores it, which can lose the action with short check periods).
//! * Host names in checks resolve from IP literals, `localhost` and `/etc/hosts` only (no
//!   NSS/DNS in a static binary); only `http://` URLs.
//! * `max-start-retries` (newer Pebble, not in Rockcraft's schema) is not supported: like
//!   Pebble's default, a failing service is retried forever, the delay capped at
//!   `backoff-limit`.
//! * Layer YAML is read by a small subset parser ([`yaml`]): anchors, aliases, tags and
//!   multiple documents are rejected.

pub mod api;
pub mod checks;
pub mod cli;
pub mod layer;
pub mod log;
pub mod manager;
pub mod plan;
pub mod reaper;
pub mod service;
pub mod users;
pub mod webserver;
pub mod yaml;

use std::collections::BTreeMap;
use std::sync::mpsc::Sender;

/// What the manager's event loop receives.
pub enum Event {
    /// A registered child exited (raw wait status).
    Exited {
        /// Its pid.
        pid: i32,
        /// Its wait status.
        status: i32,
    },
    /// SIGTERM, SIGINT or SIGQUIT.
    Signal(i32),
    /// A check ran.
    Check {
        /// Check name.
        name: String,
        /// `Err` with why it failed.
        result: Result<(), String>,
    },
    /// A `services`/`checks` query from the API.
    Query(api::Query, Sender<api::Reply>),
}

/// A child's environment: the worker's own, overlaid with `extra`, plus `HOME` and `USER` of
/// `uid` when `extra` does not set them (as Pebble does).
pub fn env_vars(
    extra: &BTreeMap<String, String>,
    uid: Option<u32>,
    db: &users::Db,
) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    env.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(user) = uid.and_then(|u| db.by_uid(u)) {
        let unset = |k: &str| extra.get(k).is_none_or(|v| v.is_empty());
        if unset("HOME") {
            env.insert("HOME".into(), user.home.clone());
        }
        if unset("USER") {
            env.insert("USER".into(), user.name.clone());
        }
    }
    env.into_iter().collect()
}

/// Runs the worker-server with `args` (without the program name); returns the exit code.
pub fn main(args: Vec<String>) -> i32 {
    cli::main(args)
}
