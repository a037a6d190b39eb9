//! Command-line parsing (by hand, to stay small) and the commands.
//!
//! ```text
//! worker-server enter [--args SERVICE ARG... [;]]... [-v] [--hold] [--create-dirs] [SUBCOMMAND]
//! worker-server run   [same flags]            # = enter without a subcommand
//! worker-server services [NAME...]            # ask the running daemon, like `pebble services`
//! worker-server checks [NAME...]              # ask the running daemon, like `pebble checks`
//! worker-server version | help
//! ```
//!
//! `enter` accepts Pebble's subcommands `help`, `version`, `services`, `checks` (listed from
//! the plan, services not started) and `exec CMD ARG...` (runs the command directly); any
//! other is `enter: subcommand "X" is not supported`. `--args` swallows the rest of the
//! command line unless a `;` ends it, so `podman run IMAGE a b` with an image entrypoint of
//! `worker-server enter --args SERVICE` replaces that service's `[ default args ]`.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::SystemTime;

use super::api::{self, CheckInfo, ServiceInfo};
use super::layer::Startup;
use super::log::notice;
use super::manager::{Manager, service_spec};
use super::plan::{self, Plan};
use super::reaper;
use super::users::Db;
use super::webserver::{self, Settings};

const USAGE: &str = "Usage: worker-server <command> [options]

rcraft's Pebble-compatible service manager (the entrypoint of rocks built by rcraft).

Commands:
  enter [--args SERVICE ARG... [;]] [-v] [--hold] [--create-dirs] [SUBCOMMAND]
                  run the daemon and start the default services (like `pebble enter`);
                  SUBCOMMAND: help, version, services, checks, exec CMD [ARG...]
  run [options]   same as enter without a subcommand (like `pebble run`)
  services [NAME...]  list the running daemon's services
  checks [NAME...]    list the running daemon's checks
  version         print the version
  help            print this help

Environment:
  PEBBLE           state directory (default /var/lib/pebble/default); layers in $PEBBLE/layers
  PEBBLE_SOCKET    API socket (default $PEBBLE/.pebble.socket)
  WEBSERVER_WORKER_CLASS (sync|gevent), WEBSERVER_WORKERS, WEBSERVER_THREADS,
  WEBSERVER_TIMEOUT, WEBSERVER_KEEPALIVE   gunicorn settings for the framework service

Exit codes: 0 signal or success shutdown, 10 failure shutdown, 11 check failure shutdown,
1 invalid plan, arguments or WEBSERVER_* value.
";

/// Options of `enter`/`run`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunOptions {
    /// `--args SERVICE ARG...`, in order.
    pub args: Vec<(String, Vec<String>)>,
    /// `--hold`: do not start the default services.
    pub hold: bool,
    /// `--create-dirs`: create `$PEBBLE`.
    pub create_dirs: bool,
    /// `-v`/`--verbose` (accepted; output is always forwarded).
    pub verbose: bool,
    /// The subcommand and its arguments, if any.
    pub subcommand: Vec<String>,
}

/// Parses the arguments after `enter`/`run`.
pub fn parse_run(args: &[String]) -> Result<RunOptions, String> {
    let mut opts = RunOptions::default();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--args" => {
                let Some(service) = args.get(i + 1) else {
                    return Err("--args needs a service name".into());
                };
                if opts.args.iter().any(|(s, _)| s == service) {
                    return Err(format!(
                        "--args provided more than once for service {service:?}"
                    ));
                }
                let mut j = i + 2;
                let mut values = Vec::new();
                while j < args.len() && args[j] != ";" {
                    values.push(args[j].clone());
                    j += 1;
                }
                opts.args.push((service.clone(), values));
                i = j + 1;
                continue;
            }
            "-v" | "--verbose" => opts.verbose = true,
            "--hold" => opts.hold = true,
            "--create-dirs" => opts.create_dirs = true,
            "-h" | "--help" => opts.subcommand = vec!["help".into()],
            flag if flag.starts_with('-') => return Err(format!("unknown flag `{flag}`")),
            _ => {
                opts.subcommand = args[i..].to_vec();
                break;
            }
        }
        i += 1;
    }
    Ok(opts)
}

fn pebble_dir() -> PathBuf {
    std::env::var_os("PEBBLE")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/var/lib/pebble/default"), PathBuf::from)
}

fn socket_path() -> PathBuf {
    std::env::var_os("PEBBLE_SOCKET")
        .filter(|v| !v.is_empty())
        .map_or_else(|| pebble_dir().join(".pebble.socket"), PathBuf::from)
}

/// Dispatches a command line (without the program name); returns the exit code.
pub fn main(args: Vec<String>) -> i32 {
    let result = match args.first().map(String::as_str) {
        None | Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(0)
        }
        Some("version" | "--version") => {
            println!("worker-server {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Some("services") => query_services(&args[1..]),
        Some("checks") => query_checks(&args[1..]),
        Some(cmd @ ("enter" | "run")) => parse_run(&args[1..]).and_then(|o| enter(cmd, o)),
        Some(other) => Err(format!(
            "unknown command {other:?}, see 'worker-server help'"
        )),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        1
    })
}

fn enter(cmd: &str, opts: RunOptions) -> Result<i32, String> {
    let Some(sub) = opts.subcommand.first().cloned() else {
        return run_daemon(&opts);
    };
    if cmd == "run" {
        return Err(format!("run: unexpected argument {sub:?}"));
    }
    match sub.as_str() {
        "help" => {
            print!("{USAGE}");
            Ok(0)
        }
        "version" => {
            println!("worker-server {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        "services" | "checks" => {
            let plan = load_plan(&opts)?;
            if sub == "services" {
                print!(
                    "{}",
                    api::services_table(&plan_services(&plan), SystemTime::now())
                );
            } else {
                print!("{}", api::checks_table(&plan_checks(&plan)));
            }
            Ok(0)
        }
        "exec" => exec(&opts.subcommand[1..]),
        other => Err(format!("enter: subcommand {other:?} is not supported")),
    }
}

fn exec(argv: &[String]) -> Result<i32, String> {
    use std::os::unix::process::CommandExt;
    let argv = match argv.first().map(String::as_str) {
        Some("--") => &argv[1..],
        Some(flag) if flag.starts_with('-') => {
            return Err(format!("enter exec: flag {flag:?} is not supported"));
        }
        _ => argv,
    };
    let Some((program, rest)) = argv.split_first() else {
        return Err("enter exec: a command is required".into());
    };
    let err = std::process::Command::new(program).args(rest).exec();
    Err(format!("cannot exec {program:?}: {err}"))
}

fn plan_services(plan: &Plan) -> Vec<ServiceInfo> {
    plan.services
        .iter()
        .map(|(name, s)| ServiceInfo {
            name: name.clone(),
            startup: s.startup.unwrap_or(Startup::Disabled).as_str().into(),
            current: "inactive".into(),
            current_since: None,
        })
        .collect()
}

fn plan_checks(plan: &Plan) -> Vec<CheckInfo> {
    plan.checks
        .iter()
        .map(|(name, c)| CheckInfo {
            name: name.clone(),
            level: String::new(),
            startup: c.startup.unwrap_or(Startup::Enabled).as_str().into(),
            status: "inactive".into(),
            failures: 0,
            threshold: c.threshold.unwrap_or(3),
            successes: 0,
        })
        .collect()
}

/// Loads the plan and applies `--args`.
fn load_plan(opts: &RunOptions) -> Result<Plan, String> {
    let dir = pebble_dir();
    if opts.create_dirs {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut plan = plan::load(&dir).map_err(|e| format!("cannot load plan: {e}"))?;
    for (service, args) in &opts.args {
        plan.set_args(service, args)?;
    }
    Ok(plan)
}

fn run_daemon(opts: &RunOptions) -> Result<i32, String> {
    let mut plan = load_plan(opts)?;
    let db = Db::read(std::path::Path::new("/"));
    let settings = Settings::from_env(|k| std::env::var(k).ok())?;
    let before = plan.clone();
    let changed = webserver::apply(&mut plan, &settings, &mut |service, python| {
        let mut spec = service_spec(&before, &db, service)?;
        spec.argv = vec![python.to_string(), "-c".into(), "import gevent".into()];
        spec.capture = false;
        match reaper::run_to_end(&spec) {
            Ok((status, _)) if status.success() => Ok(()),
            Ok((status, output)) => {
                let last = output.lines().last().unwrap_or_default();
                Err(format!("{status}: {last}"))
            }
            Err(e) => Err(e.to_string()),
        }
    })?;
    if changed.is_empty() && !settings.is_empty() {
        notice("WEBSERVER_* variables are set but no service runs gunicorn; they are ignored");
    }
    for name in changed {
        let command = plan.services[&name].command.clone().unwrap_or_default();
        notice(&format!(
            "Service {name:?} command set from WEBSERVER_* variables: {command}"
        ));
    }

    reaper::become_subreaper();
    let (tx, rx) = mpsc::channel();
    // Must come first: it blocks the signals before any other thread exists.
    reaper::start(tx.clone()).map_err(|e| format!("cannot handle signals: {e}"))?;
    let socket = socket_path();
    if let Err(e) = api::serve(&socket, tx.clone()) {
        notice(&format!(
            "Cannot listen on {}: {e}; `services` and `checks` will not answer",
            socket.display()
        ));
    }
    notice("Started daemon.");
    let code = Manager::new(plan, db, tx, rx).run(opts.hold);
    let _ = std::fs::remove_file(&socket);
    Ok(code)
}

fn query_names(args: &[String]) -> String {
    if args.is_empty() {
        String::new()
    } else {
        format!("?names={}", args.join(","))
    }
}

fn query_services(args: &[String]) -> Result<i32, String> {
    let result = api::get(
        &socket_path(),
        &format!("/v1/services{}", query_names(args)),
    )?;
    let list: Vec<ServiceInfo> =
        serde_json::from_value(result).map_err(|e| format!("invalid response: {e}"))?;
    print!("{}", api::services_table(&list, SystemTime::now()));
    Ok(0)
}

fn query_checks(args: &[String]) -> Result<i32, String> {
    let result = api::get(&socket_path(), &format!("/v1/checks{}", query_names(args)))?;
    let list: Vec<CheckInfo> =
        serde_json::from_value(result).map_err(|e| format!("invalid response: {e}"))?;
    if list.is_empty() {
        eprintln!("Plan has no health checks.");
        return Ok(0);
    }
    print!("{}", api::checks_table(&list));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn args_swallow_until_semicolon() {
        let o = parse_run(&v(&[
            "--args", "web", "a", "b", ";", "-v", "--args", "db", "x",
        ]))
        .unwrap();
        assert_eq!(
            o.args,
            vec![("web".into(), v(&["a", "b"])), ("db".into(), v(&["x"]))]
        );
        assert!(o.verbose);
        let o = parse_run(&v(&["--args", "web", "--verbose"])).unwrap();
        assert_eq!(o.args[0].1, v(&["--verbose"]));
        assert!(!o.verbose);
        assert!(parse_run(&v(&["--args", "a", ";", "--args", "a", ";"])).is_err());
        assert_eq!(
            parse_run(&v(&["exec", "ls", "-l"])).unwrap().subcommand,
            v(&["exec", "ls", "-l"])
        );
        assert!(parse_run(&v(&["--http", ":80"])).is_err());
    }
}
