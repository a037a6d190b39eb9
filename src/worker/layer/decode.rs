//! Strict decoding of a layer document into [`super::LayerDoc`]: every key must be known,
//! every value of the right type, durations in Go syntax, actions among those the field
//! allows; the first problem becomes a [`FieldError`] with the dotted field path and line.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{
    Action, Check, ExecCheck, FieldError, HttpCheck, LayerDoc, Level, Override, Service, Startup,
    TcpCheck,
};
use crate::project::pebble::{parse_command, parse_duration};
use crate::worker::yaml::{Node, Yaml};

type R<T> = Result<T, FieldError>;

fn err<T>(field: &str, node: &Node, message: impl Into<String>) -> R<T> {
    Err(FieldError {
        field: field.to_string(),
        message: message.into(),
        line: node.line,
    })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn map<'a>(path: &str, node: &'a Node) -> R<&'a [(String, Node)]> {
    match &node.value {
        Yaml::Map(entries) => Ok(entries),
        Yaml::Null => Ok(&[]),
        _ => err(
            path,
            node,
            format!("must be a mapping, not {}", node.kind()),
        ),
    }
}

/// A scalar as a string; empty strings and null count as unset (as in Pebble).
fn string(path: &str, node: &Node) -> R<Option<String>> {
    if node.value == Yaml::Null {
        return Ok(None);
    }
    match node.scalar() {
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => Ok(Some(s)),
        None => err(path, node, format!("must be a string, not {}", node.kind())),
    }
}

fn list(path: &str, node: &Node) -> R<Vec<String>> {
    match &node.value {
        Yaml::Null => Ok(Vec::new()),
        Yaml::Seq(items) => items
            .iter()
            .map(|n| match n.scalar() {
                Some(s) => Ok(s),
                None => err(path, n, format!("items must be strings, not {}", n.kind())),
            })
            .collect(),
        _ => err(path, node, format!("must be a list, not {}", node.kind())),
    }
}

fn str_map(path: &str, node: &Node) -> R<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in map(path, node)? {
        let value = match &v.value {
            Yaml::Null => String::new(),
            _ => match v.scalar() {
                Some(s) => s,
                None => {
                    return err(
                        &join(path, k),
                        v,
                        format!("must be a string, not {}", v.kind()),
                    );
                }
            },
        };
        out.insert(k.clone(), value);
    }
    Ok(out)
}

fn uint(path: &str, node: &Node) -> R<Option<u32>> {
    match &node.value {
        Yaml::Null => Ok(None),
        Yaml::Int(i) => match u32::try_from(*i) {
            Ok(v) => Ok(Some(v)),
            Err(_) => err(
                path,
                node,
                format!("must be a non-negative integer, not {i}"),
            ),
        },
        _ => err(
            path,
            node,
            format!("must be an integer, not {}", node.kind()),
        ),
    }
}

fn duration(path: &str, node: &Node) -> R<Option<Duration>> {
    let Some(text) = string(path, node)? else {
        return Ok(None);
    };
    match parse_duration(&text) {
        Some(secs) if secs >= 0.0 => Ok(Some(Duration::from_secs_f64(secs))),
        _ => err(
            path,
            node,
            format!("invalid duration {text:?} (use Go syntax such as 500ms, 30s or 1m30s)"),
        ),
    }
}

fn choice<T: Copy>(path: &str, node: &Node, options: &[(&str, T)]) -> R<Option<T>> {
    let Some(text) = string(path, node)? else {
        return Ok(None);
    };
    match options.iter().find(|(name, _)| *name == text) {
        Some((_, v)) => Ok(Some(*v)),
        None => {
            let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
            err(
                path,
                node,
                format!("must be one of {}, not {text:?}", names.join(", ")),
            )
        }
    }
}

fn actions(path: &str, node: &Node, allowed: &[&str]) -> R<Option<Action>> {
    let options: Vec<(&str, Action)> = allowed
        .iter()
        .filter_map(|a| Action::parse(a).map(|v| (*a, v)))
        .collect();
    choice(path, node, &options)
}

const ON_SUCCESS: &[&str] = &["restart", "shutdown", "failure-shutdown", "ignore"];
const ON_FAILURE: &[&str] = &["restart", "shutdown", "success-shutdown", "ignore"];
const ON_CHECK: &[&str] = &["restart", "shutdown", "success-shutdown", "ignore"];
const OVERRIDE: &[(&str, Override)] = &[("merge", Override::Merge), ("replace", Override::Replace)];
const STARTUP: &[(&str, Startup)] = &[
    ("enabled", Startup::Enabled),
    ("disabled", Startup::Disabled),
];

/// Decodes a whole layer document. `label` is used in Pebble's "must define override" message.
pub fn decode(doc: &Node, label: &str) -> R<LayerDoc> {
    let mut out = LayerDoc::default();
    for (key, value) in map("", doc)? {
        match key.as_str() {
            "summary" => out.summary = string(key, value)?,
            "description" => out.description = string(key, value)?,
            "services" => {
                for (name, node) in map(key, value)? {
                    let path = join("services", name);
                    if name.is_empty() || name == "pebble" || name.starts_with('-') {
                        return err(&path, node, format!("invalid service name {name:?}"));
                    }
                    let svc = service(&path, node)?;
                    if svc.override_.is_none() {
                        return err(
                            &join(&path, "override"),
                            node,
                            format!(
                                "layer {label:?} must define \"override\" for service {name:?}"
                            ),
                        );
                    }
                    out.services.push((name.clone(), svc));
                }
            }
            "checks" => {
                for (name, node) in map(key, value)? {
                    let path = join("checks", name);
                    let chk = check(&path, node)?;
                    if chk.override_.is_none() {
                        return err(
                            &join(&path, "override"),
                            node,
                            format!("layer {label:?} must define \"override\" for check {name:?}"),
                        );
                    }
                    out.checks.push((name.clone(), chk));
                }
            }
            // Log forwarding is accepted (so Rockcraft/charm layers load) but not performed.
            "log-targets" => {
                map(key, value)?;
            }
            _ => return err(key, value, "unknown field"),
        }
    }
    Ok(out)
}

fn service(path: &str, node: &Node) -> R<Service> {
    let mut s = Service::default();
    for (key, v) in map(path, node)? {
        let p = join(path, key);
        let p = p.as_str();
        match key.as_str() {
            "override" => s.override_ = choice(p, v, OVERRIDE)?,
            "summary" => s.summary = string(p, v)?,
            "description" => s.description = string(p, v)?,
            "command" => {
                s.command = string(p, v)?;
                if let Some(c) = &s.command
                    && let Err(e) = parse_command(c)
                {
                    return err(p, v, e.to_string());
                }
            }
            "startup" => s.startup = choice(p, v, STARTUP)?,
            "after" => s.after = list(p, v)?,
            "before" => s.before = list(p, v)?,
            "requires" => s.requires = list(p, v)?,
            "environment" => s.environment = str_map(p, v)?,
            "user" => s.user = string(p, v)?,
            "user-id" => s.user_id = uint(p, v)?,
            "group" => s.group = string(p, v)?,
            "group-id" => s.group_id = uint(p, v)?,
            "working-dir" => s.working_dir = string(p, v)?,
            "on-success" => s.on_success = actions(p, v, ON_SUCCESS)?,
            "on-failure" => s.on_failure = actions(p, v, ON_FAILURE)?,
            "on-check-failure" => {
                for (check, a) in map(p, v)? {
                    let cp = join(p, check);
                    if let Some(action) = actions(&cp, a, ON_CHECK)? {
                        s.on_check_failure.insert(check.clone(), action);
                    }
                }
            }
            "backoff-delay" => s.backoff_delay = duration(p, v)?,
            "backoff-factor" => {
                s.backoff_factor = match &v.value {
                    Yaml::Null => None,
                    Yaml::Int(i) => Some(*i as f64),
                    Yaml::Float(f) => Some(*f),
                    _ => return err(p, v, format!("must be a number, not {}", v.kind())),
                };
                if s.backoff_factor.is_some_and(|f| f < 1.0) {
                    return err(p, v, "must be 1.0 or greater");
                }
            }
            "backoff-limit" => s.backoff_limit = duration(p, v)?,
            "kill-delay" => s.kill_delay = duration(p, v)?,
            _ => return err(p, v, "unknown field"),
        }
    }
    Ok(s)
}

fn check(path: &str, node: &Node) -> R<Check> {
    let mut c = Check::default();
    for (key, v) in map(path, node)? {
        let p = join(path, key);
        let p = p.as_str();
        match key.as_str() {
            "override" => c.override_ = choice(p, v, OVERRIDE)?,
            "level" => c.level = choice(p, v, &[("alive", Level::Alive), ("ready", Level::Ready)])?,
            "startup" => c.startup = choice(p, v, STARTUP)?,
            "period" => c.period = duration(p, v)?,
            "timeout" => c.timeout = duration(p, v)?,
            "threshold" => c.threshold = uint(p, v)?,
            "http" if v.value != Yaml::Null => c.http = Some(http(p, v)?),
            "tcp" if v.value != Yaml::Null => c.tcp = Some(tcp(p, v)?),
            "exec" if v.value != Yaml::Null => c.exec = Some(exec(p, v)?),
            "http" | "tcp" | "exec" => {}
            _ => return err(p, v, "unknown field"),
        }
    }
    Ok(c)
}

fn http(path: &str, node: &Node) -> R<HttpCheck> {
    let mut h = HttpCheck::default();
    for (key, v) in map(path, node)? {
        let p = join(path, key);
        match key.as_str() {
            "url" => h.url = string(&p, v)?,
            "headers" => h.headers = str_map(&p, v)?,
            _ => return err(&p, v, "unknown field"),
        }
    }
    Ok(h)
}

fn tcp(path: &str, node: &Node) -> R<TcpCheck> {
    let mut t = TcpCheck::default();
    for (key, v) in map(path, node)? {
        let p = join(path, key);
        match key.as_str() {
            "port" => {
                t.port = match uint(&p, v)? {
                    None => None,
                    Some(n) => match u16::try_from(n) {
                        Ok(port) if port > 0 => Some(port),
                        _ => return err(&p, v, format!("must be a port from 1 to 65535, not {n}")),
                    },
                }
            }
            "host" => t.host = string(&p, v)?,
            _ => return err(&p, v, "unknown field"),
        }
    }
    Ok(t)
}

fn exec(path: &str, node: &Node) -> R<ExecCheck> {
    let mut e = ExecCheck::default();
    for (key, v) in map(path, node)? {
        let p = join(path, key);
        let p = p.as_str();
        match key.as_str() {
            "command" => {
                e.command = string(p, v)?;
                if let Some(c) = &e.command
                    && shlex::split(c).is_none_or(|t| t.is_empty())
                {
                    return err(p, v, "cannot parse command (unbalanced quotes?)");
                }
            }
            "service-context" => e.service_context = string(p, v)?,
            "environment" => e.environment = str_map(p, v)?,
            "user" => e.user = string(p, v)?,
            "user-id" => e.user_id = uint(p, v)?,
            "group" => e.group = string(p, v)?,
            "group-id" => e.group_id = uint(p, v)?,
            "working-dir" => e.working_dir = string(p, v)?,
            _ => return err(p, v, "unknown field"),
        }
    }
    Ok(e)
}
