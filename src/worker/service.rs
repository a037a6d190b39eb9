//! A service's state machine, as Pebble's `servstate` names it, and its pure decisions.
//!
//! States: `initial -> starting -> running`, `running -> backoff -> running` (restarts),
//! `starting|running -> terminating -> killing -> stopped` (stops), `exited` (gave up or
//! ignored a failure). All changes go through [`ServiceData::transition`], which keeps the
//! `Since` time of the *status* (`active`/`inactive`/`backoff`/`error`) that `services` shows.
//! [`next_backoff`] and [`exit_outcome`] are pure so they can be unit-tested; the
//! [`super::manager`] performs the side effects.

use std::time::{Duration, Instant, SystemTime};

use super::layer::{Action, Service};

/// Pebble's named service states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Created, not started.
    Initial,
    /// Started, within the 1 s okay delay.
    Starting,
    /// Running.
    Running,
    /// SIGTERM sent, waiting up to the kill-delay.
    Terminating,
    /// SIGKILL sent, waiting up to the fail delay.
    Killing,
    /// Stopped (on request or after a success that is ignored).
    Stopped,
    /// Waiting to restart.
    Backoff,
    /// Exited and not restarting (failure ignored or a shutdown action).
    Exited,
}

impl State {
    /// The status `services` reports: `active`, `inactive`, `backoff` or `error`.
    pub fn status(self) -> &'static str {
        match self {
            State::Starting | State::Running | State::Terminating | State::Killing => "active",
            State::Backoff => "backoff",
            State::Exited => "error",
            State::Initial | State::Stopped => "inactive",
        }
    }

    /// Whether a process may be alive (or about to be restarted).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            State::Starting | State::Running | State::Terminating | State::Killing | State::Backoff
        )
    }
}

/// What a pending timer does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The okay delay: `starting -> running`.
    Okay,
    /// Backoff over: restart.
    Backoff,
    /// kill-delay over: SIGKILL.
    Kill,
    /// SIGKILL did not help: give up.
    Fail,
}

/// Time a service must survive after starting to count as started.
pub const OKAY_DELAY: Duration = Duration::from_secs(1);
/// Time given to a process after SIGKILL.
pub const FAIL_DELAY: Duration = Duration::from_secs(5);

/// The next backoff: the delay first, then times the factor, capped at the limit.
pub fn next_backoff(current: Duration, delay: Duration, factor: f64, limit: Duration) -> Duration {
    if current.is_zero() {
        return delay;
    }
    if current >= limit {
        return limit;
    }
    let next = current.as_secs_f64() * factor;
    if !next.is_finite() || next >= limit.as_secs_f64() {
        return limit;
    }
    Duration::from_secs_f64(next)
}

/// The action for an exit: `on-success` or `on-failure` (default `restart`), and which field.
pub fn exit_action(svc: &Service, success: bool) -> (Action, &'static str) {
    if success {
        (svc.on_success.unwrap_or(Action::Restart), "on-success")
    } else {
        (svc.on_failure.unwrap_or(Action::Restart), "on-failure")
    }
}

/// What the manager does after an unexpected exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Restart after a backoff.
    Restart,
    /// Leave it (stopped after success, exited after failure).
    Ignore,
    /// Stop everything and exit with this code.
    Shutdown(i32),
}

/// Pebble's exit handling: `shutdown` exits 0 after success and 10 after failure,
/// `failure-shutdown` 10, `success-shutdown` 0.
pub fn exit_outcome(action: Action, success: bool) -> Outcome {
    match action {
        Action::Restart => Outcome::Restart,
        Action::Ignore => Outcome::Ignore,
        Action::Shutdown if success => Outcome::Shutdown(0),
        Action::Shutdown | Action::FailureShutdown => Outcome::Shutdown(10),
        Action::SuccessShutdown => Outcome::Shutdown(0),
    }
}

/// A service under the manager's control.
#[derive(Clone, Debug)]
pub struct ServiceData {
    /// Its name.
    pub name: String,
    /// Its state.
    pub state: State,
    /// The process (and process group) id while one exists.
    pub pid: Option<i32>,
    /// How many backoffs in a row.
    pub backoff_num: u32,
    /// The current backoff duration (zero: none yet).
    pub backoff_time: Duration,
    /// Terminating because a check failed: restart when it exits.
    pub restarting: bool,
    /// When the status last changed.
    pub since: SystemTime,
    /// The pending state timer.
    pub timer: Option<(Instant, Timer)>,
    /// When the backoff resets if the service is still running.
    pub reset_at: Option<Instant>,
    /// How many times it was started.
    pub starts: u64,
}

impl ServiceData {
    /// A service that has not started yet.
    pub fn new(name: &str) -> ServiceData {
        ServiceData {
            name: name.to_string(),
            state: State::Initial,
            pid: None,
            backoff_num: 0,
            backoff_time: Duration::ZERO,
            restarting: false,
            since: SystemTime::now(),
            timer: None,
            reset_at: None,
            starts: 0,
        }
    }

    /// The one place states change; `restarting` is kept only when asked.
    pub fn transition(&mut self, state: State, restarting: bool) {
        if self.state.status() != state.status() {
            self.since = SystemTime::now();
        }
        self.state = state;
        self.restarting = restarting;
        self.timer = None;
    }

    /// Sets the state timer.
    pub fn after(&mut self, delay: Duration, timer: Timer) {
        self.timer = Some((Instant::now() + delay, timer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_factor_and_caps_at_limit() {
        let ms = Duration::from_millis;
        let table = [
            (ms(0), ms(500), 2.0, ms(30_000), ms(500)),
            (ms(500), ms(500), 2.0, ms(30_000), ms(1000)),
            (ms(1000), ms(500), 2.0, ms(30_000), ms(2000)),
            (ms(20_000), ms(500), 2.0, ms(30_000), ms(30_000)),
            (ms(30_000), ms(500), 2.0, ms(30_000), ms(30_000)),
            (ms(100), ms(100), 1.5, ms(1000), ms(150)),
            (ms(100), ms(100), 1.0, ms(1000), ms(100)),
            (ms(900), ms(100), 3.0, ms(1000), ms(1000)),
        ];
        for (current, delay, factor, limit, want) in table {
            assert_eq!(
                next_backoff(current, delay, factor, limit),
                want,
                "{current:?} x{factor}"
            );
        }
    }

    #[test]
    fn exit_outcomes_follow_pebble() {
        use Action::*;
        assert_eq!(exit_outcome(Restart, false), Outcome::Restart);
        assert_eq!(exit_outcome(Shutdown, true), Outcome::Shutdown(0));
        assert_eq!(exit_outcome(Shutdown, false), Outcome::Shutdown(10));
        assert_eq!(exit_outcome(FailureShutdown, true), Outcome::Shutdown(10));
        assert_eq!(exit_outcome(SuccessShutdown, false), Outcome::Shutdown(0));
        assert_eq!(exit_outcome(Ignore, false), Outcome::Ignore);
        let svc = Service::default();
        assert_eq!(exit_action(&svc, true), (Restart, "on-success"));
        assert_eq!(exit_action(&svc, false), (Restart, "on-failure"));
    }

    #[test]
    fn since_changes_with_status_only() {
        let mut s = ServiceData::new("a");
        s.transition(State::Starting, false);
        let since = s.since;
        std::thread::sleep(Duration::from_millis(5));
        s.transition(State::Running, false);
        assert_eq!(s.since, since, "starting and running are both active");
        s.transition(State::Backoff, false);
        assert_ne!(s.since, since);
        assert_eq!(s.state.status(), "backoff");
    }
}
