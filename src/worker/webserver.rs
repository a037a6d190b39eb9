//! Web-server settings at run time: the container's equivalent of paas-charm's
//! `webserver-*` `juju config` options, read from `WEBSERVER_*` environment variables.
//!
//! They apply to every service whose command runs gunicorn (a `gunicorn` or `*/gunicorn`
//! token, e.g. the flask/django profiles' `/bin/python3 -m gunicorn -c /flask/gunicorn.conf.py
//! 'app:app' -k [ sync ]`):
//!
//! * `WEBSERVER_WORKER_CLASS` (`sync` or `gevent`) replaces the token after `-k` (inside the
//!   `[ default args ]` group for `-k [ sync ]`, as paas-charm does). `gevent` is first checked
//!   importable by running `<python> -c "import gevent"` as the service's user.
//! * `WEBSERVER_WORKERS`, `WEBSERVER_THREADS` (positive integers), `WEBSERVER_TIMEOUT`,
//!   `WEBSERVER_KEEPALIVE` (seconds, 0 allowed: gunicorn reads 0 as "off") become `--workers`,
//!   `--threads`, `--timeout` and `--keep-alive`, inserted before a trailing `-k` so the
//!   `[ default args ]` group still ends the command. gunicorn's command line beats its config
//!   file, so they override `gunicorn.conf.py`.
//!
//! Unset or empty variables change nothing (the rock's default worker class, chosen at pack
//! time from the dependencies, stays). Applied after `--args`, so the variables win.

use super::plan::{Plan, render_command};
use crate::project::pebble::parse_command;

/// The `WEBSERVER_*` values, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `WEBSERVER_WORKER_CLASS`.
    pub worker_class: Option<String>,
    /// `WEBSERVER_WORKERS`.
    pub workers: Option<u32>,
    /// `WEBSERVER_THREADS`.
    pub threads: Option<u32>,
    /// `WEBSERVER_TIMEOUT`.
    pub timeout: Option<u32>,
    /// `WEBSERVER_KEEPALIVE`.
    pub keepalive: Option<u32>,
}

impl Settings {
    /// Whether any variable is set.
    pub fn is_empty(&self) -> bool {
        *self == Settings::default()
    }

    /// Reads and validates the variables through `get`.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let int = |k: &str, min: u32, what: &str| -> Result<Option<u32>, String> {
            match get(k) {
                None => Ok(None),
                Some(v) => match v.parse::<u32>() {
                    Ok(n) if n >= min => Ok(Some(n)),
                    _ => Err(format!("{k} must be {what}, not {v:?}")),
                },
            }
        };
        let worker_class = get("WEBSERVER_WORKER_CLASS");
        if let Some(class) = &worker_class
            && class != "sync"
            && class != "gevent"
        {
            return Err(format!(
                "WEBSERVER_WORKER_CLASS must be 'sync' or 'gevent', not {class:?} (only 'gevent' and 'sync' are allowed)"
            ));
        }
        Ok(Settings {
            worker_class,
            workers: int("WEBSERVER_WORKERS", 1, "a positive integer")?,
            threads: int("WEBSERVER_THREADS", 1, "a positive integer")?,
            timeout: int(
                "WEBSERVER_TIMEOUT",
                0,
                "a whole number of seconds (0 or more)",
            )?,
            keepalive: int(
                "WEBSERVER_KEEPALIVE",
                0,
                "a whole number of seconds (0 or more)",
            )?,
        })
    }

    fn options(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (flag, value) in [
            ("--workers", self.workers),
            ("--threads", self.threads),
            ("--timeout", self.timeout),
            ("--keep-alive", self.keepalive),
        ] {
            if let Some(v) = value {
                out.extend([flag.to_string(), v.to_string()]);
            }
        }
        out
    }
}

/// Whether a command's base tokens run gunicorn.
pub fn is_gunicorn(base: &[String]) -> bool {
    base.iter()
        .any(|t| t == "gunicorn" || t.ends_with("/gunicorn"))
}

/// Rewrites one gunicorn command for `settings`.
pub fn rewrite(service: &str, command: &str, settings: &Settings) -> Result<String, String> {
    let parts = parse_command(command).map_err(|e| format!("service {service:?}: {e}"))?;
    let mut base = parts.base;
    let mut group = parts.default_args;
    if let Some(class) = &settings.worker_class {
        let k = base.iter().position(|t| t == "-k");
        match (k, group.as_mut()) {
            (Some(i), Some(g)) if i + 1 == base.len() => match g.first_mut() {
                Some(first) => *first = class.clone(),
                None => g.push(class.clone()),
            },
            (Some(i), _) if i + 1 < base.len() => base[i + 1] = class.clone(),
            _ => {
                return Err(format!(
                    "WEBSERVER_WORKER_CLASS is set but the command of service {service:?} has no `-k` worker class argument: {command}"
                ));
            }
        }
    }
    let at = if base.last().is_some_and(|t| t == "-k") {
        base.len() - 1
    } else {
        base.len()
    };
    base.splice(at..at, settings.options());
    render_command(&base, group.as_deref())
}

/// The Python interpreter of a gunicorn command: `argv[0]` if it is a python, else
/// `python3`.
pub fn python_of(base: &[String]) -> String {
    match base.first() {
        Some(p)
            if p.rsplit('/')
                .next()
                .is_some_and(|n| n.starts_with("python")) =>
        {
            p.clone()
        }
        _ => "python3".to_string(),
    }
}

/// Applies `settings` to every gunicorn service. `gevent_ok(service, python)` checks that
/// gevent imports (as the service would run). Returns the services changed.
pub fn apply(
    plan: &mut Plan,
    settings: &Settings,
    gevent_ok: &mut dyn FnMut(&str, &str) -> Result<(), String>,
) -> Result<Vec<String>, String> {
    if settings.is_empty() {
        return Ok(Vec::new());
    }
    let mut changed = Vec::new();
    let names: Vec<String> = plan.services.keys().cloned().collect();
    for name in names {
        let command = plan.services[&name].command.clone().unwrap_or_default();
        let Ok(parts) = parse_command(&command) else {
            continue;
        };
        if !is_gunicorn(&parts.base) {
            continue;
        }
        if settings.worker_class.as_deref() == Some("gevent") {
            let python = python_of(&parts.base);
            gevent_ok(&name, &python).map_err(|e| {
                format!("WEBSERVER_WORKER_CLASS=gevent: gunicorn[gevent] must be installed in the rock ({python} cannot import gevent for service {name:?}: {e})")
            })?;
        }
        let new = rewrite(&name, &command, settings)?;
        if let Some(svc) = plan.services.get_mut(&name) {
            svc.command = Some(new);
        }
        changed.push(name);
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn validates_variables() {
        let bad = Settings::from_env(env(&[("WEBSERVER_WORKER_CLASS", "eventlet")])).unwrap_err();
        assert!(
            bad.contains("WEBSERVER_WORKER_CLASS") && bad.contains("'sync' or 'gevent'"),
            "{bad}"
        );
        let bad = Settings::from_env(env(&[("WEBSERVER_WORKERS", "0")])).unwrap_err();
        assert!(
            bad.contains("WEBSERVER_WORKERS must be a positive integer"),
            "{bad}"
        );
        let ok = Settings::from_env(env(&[
            ("WEBSERVER_TIMEOUT", "0"),
            ("WEBSERVER_WORKERS", ""),
        ]))
        .unwrap();
        assert_eq!(ok.timeout, Some(0));
        assert_eq!(ok.workers, None);
    }

    #[test]
    fn rewrites_gunicorn_commands() {
        let s = Settings {
            worker_class: Some("gevent".into()),
            workers: Some(3),
            ..Default::default()
        };
        let flask = "/bin/python3 -m gunicorn -c /flask/gunicorn.conf.py 'app:app' -k [ sync ]";
        assert_eq!(
            rewrite("flask", flask, &s).unwrap(),
            "/bin/python3 -m gunicorn -c /flask/gunicorn.conf.py app:app --workers 3 -k [ gevent ]"
        );
        assert_eq!(
            rewrite("x", "gunicorn app:app -k sync --bind :80", &s).unwrap(),
            "gunicorn app:app -k gevent --bind :80 --workers 3"
        );
        assert!(
            rewrite("x", "gunicorn app:app", &s)
                .unwrap_err()
                .contains("-k")
        );
        assert_eq!(python_of(&["/bin/python3".into()]), "/bin/python3");
        assert_eq!(python_of(&["gunicorn".into()]), "python3");
    }
}
