//! Health checks as the manager sees them: starting the check threads, counting
//! consecutive failures against each check's threshold and running the services'
//! `on-check-failure` actions when a check goes down.

use std::time::Duration;

use super::Manager;
use crate::worker::checks::{self, Kind, Runner};
use crate::worker::env_vars;
use crate::worker::layer::{Action, Startup};
use crate::worker::log::notice;
use crate::worker::reaper::{self, Spec};
use crate::worker::service::{State, Timer};
use crate::worker::users;

impl Manager {
    pub(super) fn start_checks(&mut self) {
        let names: Vec<String> = self.plan.checks.keys().cloned().collect();
        for name in names {
            let chk = &self.plan.checks[&name];
            if chk.startup == Some(Startup::Disabled) {
                continue;
            }
            let period = chk.period.unwrap_or(Duration::from_secs(10));
            let timeout = chk.timeout.unwrap_or(Duration::from_secs(3)).min(period);
            let kind = match self.check_kind(&name) {
                Ok(kind) => kind,
                Err(e) => {
                    notice(&format!("Cannot start check {name:?}: {e}"));
                    continue;
                }
            };
            let runner = Runner {
                name,
                period,
                timeout,
                kind,
            };
            checks::start(runner, self.tx.clone());
        }
    }

    fn check_kind(&self, name: &str) -> Result<Kind, String> {
        let chk = &self.plan.checks[name];
        if let Some(h) = &chk.http {
            return Ok(Kind::Http {
                url: h.url.clone().unwrap_or_default(),
                headers: h.headers.clone(),
            });
        }
        if let Some(t) = &chk.tcp {
            return Ok(Kind::Tcp {
                host: t.host.clone().unwrap_or_else(|| "localhost".into()),
                port: t.port.unwrap_or_default(),
            });
        }
        let e = chk.exec.clone().unwrap_or_default();
        let argv = shlex::split(e.command.as_deref().unwrap_or_default()).unwrap_or_default();
        let ctx = e
            .service_context
            .as_ref()
            .and_then(|s| self.plan.services.get(s));
        let mut environment = ctx.map(|s| s.environment.clone()).unwrap_or_default();
        environment.extend(e.environment.clone());
        let user = e.user.or_else(|| ctx.and_then(|s| s.user.clone()));
        let user_id = e.user_id.or_else(|| ctx.and_then(|s| s.user_id));
        let group = e.group.or_else(|| ctx.and_then(|s| s.group.clone()));
        let group_id = e.group_id.or_else(|| ctx.and_then(|s| s.group_id));
        let ids = users::resolve(
            &self.db,
            user.as_deref(),
            user_id,
            group.as_deref(),
            group_id,
        )?;
        let env = env_vars(&environment, ids.as_ref().map(|i| i.uid), &self.db);
        let dir = e
            .working_dir
            .or_else(|| ctx.and_then(|s| s.working_dir.clone()));
        Ok(Kind::Exec(Spec {
            argv,
            env,
            dir,
            ids,
            capture: false,
        }))
    }

    pub(super) fn check_result(&mut self, name: &str, result: Result<(), String>) {
        let Some(state) = self.checks.get_mut(name) else {
            return;
        };
        match result {
            Ok(()) => {
                if state.down {
                    notice(&format!(
                        "Check {name:?} succeeded after {} failure(s)",
                        state.failures
                    ));
                }
                state.failures = 0;
                state.down = false;
                state.successes += 1;
            }
            Err(e) => {
                state.failures += 1;
                notice(&format!(
                    "Check {name:?} failure {}/{}: {e}",
                    state.failures, state.threshold
                ));
                if state.failures != state.threshold {
                    return;
                }
                state.down = true;
                notice(&format!(
                    "Check {name:?} threshold {} hit, triggering action",
                    state.threshold
                ));
                let actions: Vec<(String, Action)> = self
                    .plan
                    .services
                    .iter()
                    .filter_map(|(s, svc)| svc.on_check_failure.get(name).map(|a| (s.clone(), *a)))
                    .collect();
                for (service, action) in actions {
                    self.check_failed(&service, action);
                }
            }
        }
    }

    fn check_failed(&mut self, name: &str, action: Action) {
        let kill_delay = self.kill_delay(name);
        let mut state = self.services[name].state;
        // Pebble ignores check failures during the 1 s okay delay; here a failure then acts as
        // if the service were running (its start counts as done), so a short check period
        // cannot lose the action.
        if state == State::Starting {
            self.started.insert(name.to_string(), true);
            state = State::Running;
        }
        if !matches!(state, State::Running | State::Backoff | State::Exited) {
            return;
        }
        match action {
            Action::Ignore => {}
            Action::Shutdown | Action::FailureShutdown => {
                notice(&format!(
                    "Service {name:?} on-check-failure action is \"shutdown\", triggering failure shutdown"
                ));
                self.begin_shutdown(11);
            }
            Action::SuccessShutdown => {
                notice(&format!(
                    "Service {name:?} on-check-failure action is \"success-shutdown\", triggering success shutdown"
                ));
                self.begin_shutdown(0);
            }
            Action::Restart => match state {
                State::Running => {
                    notice(&format!(
                        "Service {name:?} on-check-failure action is \"restart\", terminating process before restarting"
                    ));
                    let s = self.svc(name);
                    if let Some(pid) = s.pid {
                        let _ = reaper::kill_group(pid, libc::SIGTERM);
                    }
                    s.transition(State::Terminating, true);
                    s.after(kill_delay, Timer::Kill);
                }
                State::Exited => self.backoff(name, action, "on-check-failure"),
                _ => {}
            },
        }
    }
}
