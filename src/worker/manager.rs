//! The service manager: one thread, one event loop, every state change in one place.
//!
//! [`Manager::run`] starts the default services in dependency order (a service starts once
//! everything it comes `after` has survived its okay delay), then waits for [`Event`]s: child
//! exits from the reaper, termination signals, check results and `services`/`checks` queries.
//! Timers (okay delay, backoff, kill-delay, fail delay, backoff reset) are deadlines on the
//! services; the loop sleeps until the nearest one. A shutdown (signal or a `shutdown` action)
//! stops services in reverse dependency order, SIGTERM then SIGKILL after `kill-delay`, and
//! `run` returns the exit code: 0, 10 (failure shutdown) or 11 (check failure shutdown).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

use super::api::{CheckInfo, Query, Reply, ServiceInfo};
use super::layer::{Action, Level, Startup};
use super::log::{notice, rfc3339};
use super::plan::{self, Plan};
use super::reaper::{self, Spec, Waiter};
use super::service::{
    FAIL_DELAY, OKAY_DELAY, Outcome, ServiceData, State, Timer, exit_action, exit_outcome,
    next_backoff,
};
use super::users::{self, Db};
use super::{Event, env_vars};
use crate::project::pebble::parse_command;

mod health;

/// How to start service `name`: its command (base + default args), the worker's environment
/// overlaid with the service's (plus `HOME`/`USER` for its user), its user and working dir.
pub fn service_spec(plan: &Plan, db: &Db, name: &str) -> Result<Spec, String> {
    let svc = plan
        .services
        .get(name)
        .ok_or_else(|| format!("service {name:?} not found in plan"))?;
    let parts =
        parse_command(svc.command.as_deref().unwrap_or_default()).map_err(|e| e.to_string())?;
    let mut argv = parts.base;
    argv.extend(parts.default_args.unwrap_or_default());
    let ids = users::resolve(
        db,
        svc.user.as_deref(),
        svc.user_id,
        svc.group.as_deref(),
        svc.group_id,
    )?;
    let env = env_vars(&svc.environment, ids.as_ref().map(|i| i.uid), db);
    Ok(Spec {
        argv,
        env,
        dir: svc.working_dir.clone(),
        ids,
        capture: true,
    })
}

/// A check's running tally.
#[derive(Clone, Debug)]
struct CheckState {
    failures: u32,
    successes: u64,
    threshold: u32,
    down: bool,
}

/// The service manager.
pub struct Manager {
    plan: Plan,
    db: Db,
    services: BTreeMap<String, ServiceData>,
    checks: BTreeMap<String, CheckState>,
    pending: Vec<String>,
    autostart: BTreeSet<String>,
    started: BTreeMap<String, bool>,
    shutdown: Option<i32>,
    tx: Sender<Event>,
    rx: Receiver<Event>,
    seed: u64,
}

impl Manager {
    /// A manager for `plan`; `tx`/`rx` are the event channel the other threads feed.
    pub fn new(plan: Plan, db: Db, tx: Sender<Event>, rx: Receiver<Event>) -> Manager {
        let services = plan
            .services
            .keys()
            .map(|n| (n.clone(), ServiceData::new(n)))
            .collect();
        let checks = plan
            .checks
            .iter()
            .map(|(n, c)| {
                let state = CheckState {
                    failures: 0,
                    successes: 0,
                    threshold: c.threshold.unwrap_or(3),
                    down: false,
                };
                (n.clone(), state)
            })
            .collect();
        let seed = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1;
        Manager {
            plan,
            db,
            services,
            checks,
            pending: Vec::new(),
            autostart: BTreeSet::new(),
            started: BTreeMap::new(),
            shutdown: None,
            tx,
            rx,
            seed,
        }
    }

    /// Starts the checks and (unless `hold`) the default services, then handles events until a
    /// shutdown completes; returns the exit code.
    pub fn run(mut self, hold: bool) -> i32 {
        self.start_checks();
        if !hold {
            let names = self.plan.default_services();
            self.pending = self.plan.order(&names).unwrap_or(names);
            self.autostart = self.pending.iter().cloned().collect();
        }
        loop {
            self.drive();
            if let Some(code) = self.shutdown
                && self.services.values().all(|s| !s.state.is_active())
            {
                notice(&format!("Exiting with code {code}."));
                return code;
            }
            let now = Instant::now();
            let next = self
                .services
                .values()
                .flat_map(|s| [s.timer.map(|t| t.0), s.reset_at])
                .flatten()
                .min();
            let wait = next.map_or(Duration::from_secs(3600), |t| {
                t.saturating_duration_since(now)
            });
            match self.rx.recv_timeout(wait) {
                Ok(event) => self.handle(event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return 1,
            }
            self.fire_timers();
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Exited { pid, status } => self.exited(pid, status),
            Event::Signal(sig) => {
                let name = match sig {
                    libc::SIGINT => "SIGINT",
                    libc::SIGQUIT => "SIGQUIT",
                    _ => "SIGTERM",
                };
                notice(&format!("Exiting on {name} signal."));
                self.begin_shutdown(0);
            }
            Event::Check { name, result } => self.check_result(&name, result),
            Event::Query(query, reply) => {
                let _ = reply.send(self.answer(query));
            }
        }
    }

    fn begin_shutdown(&mut self, code: i32) {
        if self.shutdown.is_none() {
            self.shutdown = Some(code);
            self.pending.clear();
        }
    }

    /// Starts pending services whose dependencies have started; during a shutdown, stops
    /// services nothing active depends on.
    fn drive(&mut self) {
        if self.shutdown.is_some() {
            loop {
                let active: Vec<String> = self
                    .services
                    .values()
                    .filter(|s| s.state.is_active())
                    .map(|s| s.name.clone())
                    .collect();
                let mut changed = false;
                for name in &active {
                    let dependents_active = active
                        .iter()
                        .any(|other| other != name && self.plan.deps(other).contains(name));
                    let state = self.services[name].state;
                    if !dependents_active
                        && matches!(state, State::Starting | State::Running | State::Backoff)
                    {
                        self.stop(name);
                        changed |= self.services[name].state != state;
                    }
                }
                if !changed {
                    return;
                }
            }
        }
        let mut i = 0;
        while i < self.pending.len() {
            let name = self.pending[i].clone();
            let deps: Vec<String> = self
                .plan
                .deps(&name)
                .into_iter()
                .filter(|d| self.autostart.contains(d))
                .collect();
            if let Some(failed) = deps.iter().find(|d| self.started.get(*d) == Some(&false)) {
                notice(&format!(
                    "Cannot start service {name:?}: service {failed:?} failed to start"
                ));
                self.started.insert(name.clone(), false);
                self.pending.remove(i);
                i = 0;
                continue;
            }
            if deps.iter().all(|d| self.started.contains_key(d)) {
                self.pending.remove(i);
                self.start(&name);
                i = 0;
                continue;
            }
            i += 1;
        }
    }

    /// `startInternal`: spawns the process and arms the backoff reset.
    fn launch(&mut self, name: &str) -> Result<(), String> {
        let spec = service_spec(&self.plan, &self.db, name)?;
        let command = self.plan.services[name].command.clone().unwrap_or_default();
        notice(&format!("Service {name:?} starting: {command}"));
        let (pid, reader) = reaper::spawn(&spec, Waiter::Events(self.tx.clone()))
            .map_err(|e| format!("cannot start service: {e}"))?;
        if let Some(reader) = reader {
            super::log::forward(name.to_string(), reader);
        }
        let limit = self.plan.services[name]
            .backoff_limit
            .unwrap_or(plan::BACKOFF_LIMIT);
        let s = self.svc(name);
        s.pid = Some(pid);
        s.starts += 1;
        s.reset_at = Some(Instant::now() + limit);
        Ok(())
    }

    fn start(&mut self, name: &str) {
        match self.launch(name) {
            Ok(()) => {
                let s = self.svc(name);
                s.transition(State::Starting, false);
                s.after(OKAY_DELAY, Timer::Okay);
            }
            Err(e) => {
                notice(&format!("Cannot start service {name:?}: {e}"));
                self.svc(name).transition(State::Stopped, false);
                self.started.insert(name.to_string(), false);
            }
        }
    }

    fn stop(&mut self, name: &str) {
        let kill_delay = self.kill_delay(name);
        let s = self.svc(name);
        match s.state {
            State::Starting | State::Running => {
                if let Some(pid) = s.pid
                    && let Err(e) = reaper::kill_group(pid, libc::SIGTERM)
                {
                    notice(&format!("Cannot send SIGTERM to process: {e}"));
                }
                s.transition(State::Terminating, false);
                s.after(kill_delay, Timer::Kill);
            }
            State::Backoff => {
                notice(&format!(
                    "Service {name:?} stopped while waiting for backoff"
                ));
                s.transition(State::Stopped, false);
            }
            _ => {}
        }
    }

    fn kill_delay(&self, name: &str) -> Duration {
        self.plan.services[name]
            .kill_delay
            .unwrap_or(plan::KILL_DELAY)
    }

    fn svc(&mut self, name: &str) -> &mut ServiceData {
        self.services
            .entry(name.to_string())
            .or_insert_with(|| ServiceData::new(name))
    }

    fn exited(&mut self, pid: i32, status: i32) {
        let Some(name) = self
            .services
            .values()
            .find(|s| s.pid == Some(pid))
            .map(|s| s.name.clone())
        else {
            return;
        };
        let code = reaper::exit_code(status);
        let success = code == 0;
        let (action, on) = exit_action(&self.plan.services[&name], success);
        let shutting_down = self.shutdown.is_some();
        let s = self.svc(&name);
        s.pid = None;
        s.reset_at = None;
        match s.state {
            State::Starting | State::Running => {
                if s.state == State::Starting {
                    self.started.insert(name.clone(), false);
                }
                notice(&format!(
                    "Service {name:?} stopped unexpectedly with {}",
                    reaper::describe(status)
                ));
                if shutting_down {
                    self.svc(&name).transition(State::Stopped, false);
                    return;
                }
                match exit_outcome(action, success) {
                    Outcome::Restart => self.backoff(&name, action, on),
                    Outcome::Ignore => {
                        notice(&format!(
                            "Service {name:?} {on} action is {:?}, not doing anything further",
                            action.as_str()
                        ));
                        let state = if success {
                            State::Stopped
                        } else {
                            State::Exited
                        };
                        self.svc(&name).transition(state, false);
                    }
                    Outcome::Shutdown(exit) => {
                        notice(&format!(
                            "Service {name:?} {on} action is {:?}, triggering shutdown (exit code {exit})",
                            action.as_str()
                        ));
                        self.svc(&name).transition(State::Exited, false);
                        self.begin_shutdown(exit);
                    }
                }
            }
            State::Terminating | State::Killing => {
                if s.restarting && !shutting_down {
                    notice(&format!(
                        "Service {name:?} exited after check failure, restarting"
                    ));
                    self.backoff(&name, Action::Restart, "on-check-failure");
                } else {
                    notice(&format!("Service {name:?} stopped"));
                    s.transition(State::Stopped, false);
                }
            }
            _ => {}
        }
    }

    fn backoff(&mut self, name: &str, action: Action, on: &str) {
        let svc = &self.plan.services[name];
        let (delay, factor, limit) = (
            svc.backoff_delay.unwrap_or(plan::BACKOFF_DELAY),
            svc.backoff_factor.unwrap_or(plan::BACKOFF_FACTOR),
            svc.backoff_limit.unwrap_or(plan::BACKOFF_LIMIT),
        );
        // xorshift: 0-10% jitter, as Pebble adds.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let unit = (self.seed % 1000) as f64 / 1000.0;
        let s = self.svc(name);
        s.backoff_num += 1;
        s.backoff_time = next_backoff(s.backoff_time, delay, factor, limit);
        notice(&format!(
            "Service {name:?} {on} action is {:?}, waiting ~{:?} before restart (backoff {})",
            action.as_str(),
            s.backoff_time,
            s.backoff_num
        ));
        let wait = s.backoff_time + s.backoff_time.mul_f64(0.1 * unit);
        s.transition(State::Backoff, false);
        s.after(wait, Timer::Backoff);
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        let names: Vec<String> = self.services.keys().cloned().collect();
        for name in names {
            let s = self.svc(&name);
            if s.reset_at.is_some_and(|t| t <= now) {
                s.reset_at = None;
                if s.state == State::Running {
                    s.backoff_num = 0;
                    s.backoff_time = Duration::ZERO;
                }
            }
            let Some((at, timer)) = s.timer else { continue };
            if at > now {
                continue;
            }
            s.timer = None;
            match (timer, s.state) {
                (Timer::Okay, State::Starting) => {
                    s.transition(State::Running, false);
                    self.started.insert(name.clone(), true);
                }
                (Timer::Backoff, State::Backoff) => match self.launch(&name) {
                    Ok(()) => self.svc(&name).transition(State::Running, false),
                    Err(e) => {
                        notice(&format!("Cannot restart service {name:?}: {e}"));
                        self.svc(&name).transition(State::Exited, false);
                    }
                },
                (Timer::Kill, State::Terminating) => {
                    if let Some(pid) = s.pid
                        && let Err(e) = reaper::kill_group(pid, libc::SIGKILL)
                    {
                        notice(&format!("Cannot send SIGKILL to process: {e}"));
                    }
                    let restarting = s.restarting;
                    s.transition(State::Killing, restarting);
                    s.after(FAIL_DELAY, Timer::Fail);
                }
                (Timer::Fail, State::Killing) => {
                    notice(&format!(
                        "Service {name:?} still running after SIGTERM and SIGKILL"
                    ));
                    s.transition(State::Stopped, false);
                }
                _ => {}
            }
        }
    }

    fn answer(&self, query: Query) -> Reply {
        match query {
            Query::Services => Reply::Services(
                self.services
                    .values()
                    .map(|s| ServiceInfo {
                        name: s.name.clone(),
                        startup: self.plan.services[&s.name]
                            .startup
                            .unwrap_or(Startup::Disabled)
                            .as_str()
                            .into(),
                        current: s.state.status().into(),
                        current_since: (s.state != State::Initial).then(|| rfc3339(s.since, false)),
                    })
                    .collect(),
            ),
            Query::Checks => Reply::Checks(
                self.plan
                    .checks
                    .iter()
                    .map(|(name, c)| {
                        let st = &self.checks[name];
                        let enabled = c.startup != Some(Startup::Disabled);
                        CheckInfo {
                            name: name.clone(),
                            level: match c.level {
                                Some(Level::Alive) => "alive",
                                Some(Level::Ready) => "ready",
                                None => "",
                            }
                            .into(),
                            startup: if enabled { "enabled" } else { "disabled" }.into(),
                            status: if !enabled {
                                "inactive"
                            } else if st.down {
                                "down"
                            } else {
                                "up"
                            }
                            .into(),
                            failures: st.failures,
                            threshold: st.threshold,
                            successes: st.successes,
                        }
                    })
                    .collect(),
            ),
        }
    }
}
