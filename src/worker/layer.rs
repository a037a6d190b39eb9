//! One Pebble layer: its services and checks, decoded strictly from a [`Node`] tree.
//!
//! Every field is optional here (a layer may set only a few fields and `override: merge` the
//! rest); [`super::plan`] combines layers and fills Pebble's defaults. Decoding stops at the
//! first problem and reports it as a [`FieldError`] naming the dotted field path and its line,
//! e.g. `services.web.startup: must be "enabled" or "disabled", not "yes" (line 4)`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// `override: merge | replace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Override {
    /// Field-wise merge into the previous definition.
    Merge,
    /// Replace the previous definition.
    Replace,
}

/// `startup: enabled | disabled`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Startup {
    /// Started by `enter`/`run`.
    Enabled,
    /// Not started automatically.
    Disabled,
}

impl Startup {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Startup::Enabled => "enabled",
            Startup::Disabled => "disabled",
        }
    }
}

/// What to do when a service exits or a check fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Restart the service after a backoff.
    Restart,
    /// Stop everything and exit (0 after success, 10 after failure, 11 after a check).
    Shutdown,
    /// Stop everything and exit 10.
    FailureShutdown,
    /// Stop everything and exit 0.
    SuccessShutdown,
    /// Leave the service stopped.
    Ignore,
}

impl Action {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Restart => "restart",
            Action::Shutdown => "shutdown",
            Action::FailureShutdown => "failure-shutdown",
            Action::SuccessShutdown => "success-shutdown",
            Action::Ignore => "ignore",
        }
    }

    fn parse(s: &str) -> Option<Action> {
        [
            Action::Restart,
            Action::Shutdown,
            Action::FailureShutdown,
            Action::SuccessShutdown,
            Action::Ignore,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// A service as one layer (or the combined plan) defines it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Service {
    /// `override` (required in layers).
    pub override_: Option<Override>,
    /// `summary`.
    pub summary: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `command`, as written (with its optional `[ default args ]`).
    pub command: Option<String>,
    /// `startup`.
    pub startup: Option<Startup>,
    /// `after`.
    pub after: Vec<String>,
    /// `before`.
    pub before: Vec<String>,
    /// `requires`.
    pub requires: Vec<String>,
    /// `environment`.
    pub environment: BTreeMap<String, String>,
    /// `user`.
    pub user: Option<String>,
    /// `user-id`.
    pub user_id: Option<u32>,
    /// `group`.
    pub group: Option<String>,
    /// `group-id`.
    pub group_id: Option<u32>,
    /// `working-dir`.
    pub working_dir: Option<String>,
    /// `on-success`.
    pub on_success: Option<Action>,
    /// `on-failure`.
    pub on_failure: Option<Action>,
    /// `on-check-failure`.
    pub on_check_failure: BTreeMap<String, Action>,
    /// `backoff-delay`.
    pub backoff_delay: Option<Duration>,
    /// `backoff-factor`.
    pub backoff_factor: Option<f64>,
    /// `backoff-limit`.
    pub backoff_limit: Option<Duration>,
    /// `kill-delay`.
    pub kill_delay: Option<Duration>,
}

/// `level: alive | ready`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Liveness.
    Alive,
    /// Readiness.
    Ready,
}

/// A check as one layer (or the combined plan) defines it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Check {
    /// `override`.
    pub override_: Option<Override>,
    /// `level`.
    pub level: Option<Level>,
    /// `startup` (checks default to enabled).
    pub startup: Option<Startup>,
    /// `period`.
    pub period: Option<Duration>,
    /// `timeout`.
    pub timeout: Option<Duration>,
    /// `threshold`.
    pub threshold: Option<u32>,
    /// `http`.
    pub http: Option<HttpCheck>,
    /// `tcp`.
    pub tcp: Option<TcpCheck>,
    /// `exec`.
    pub exec: Option<ExecCheck>,
}

/// `http: {url, headers}`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpCheck {
    /// `url`.
    pub url: Option<String>,
    /// `headers`.
    pub headers: BTreeMap<String, String>,
}

/// `tcp: {port, host}`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TcpCheck {
    /// `port`.
    pub port: Option<u16>,
    /// `host` (default `localhost`).
    pub host: Option<String>,
}

/// `exec: {command, ...}`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExecCheck {
    /// `command` (shell-like split, no `[ ]` group).
    pub command: Option<String>,
    /// `service-context`.
    pub service_context: Option<String>,
    /// `environment`.
    pub environment: BTreeMap<String, String>,
    /// `user`.
    pub user: Option<String>,
    /// `user-id`.
    pub user_id: Option<u32>,
    /// `group`.
    pub group: Option<String>,
    /// `group-id`.
    pub group_id: Option<u32>,
    /// `working-dir`.
    pub working_dir: Option<String>,
}

/// A decoded layer document.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LayerDoc {
    /// `summary`.
    pub summary: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `services`, in file order.
    pub services: Vec<(String, Service)>,
    /// `checks`, in file order.
    pub checks: Vec<(String, Check)>,
}

/// A field that cannot be decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// Dotted path such as `services.web.startup` (empty for the document itself).
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// 1-based line, 0 when unknown.
    pub line: u64,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)?;
        if self.line > 0 {
            write!(f, " (line {})", self.line)?;
        }
        Ok(())
    }
}

mod decode;

pub use decode::decode;
