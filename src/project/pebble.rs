//! Pebble services and checks as Rockcraft accepts them, and Pebble's command syntax.
//!
//! Rockcraft validates `services` and `checks` against a strict subset of Pebble's layer
//! specification; this module does the same, producing [`Service`] and [`Check`] values. It also
//! owns [`parse_command`], the `command [ default args ]` splitter shared with the worker-server,
//! and [`parse_duration`] for Go-style durations (`500ms`, `1m30s`).

use super::fields::{Fields, expect_str_map, join};
use super::model::{Check, CheckKind, Command, Override, Service};
use crate::yaml::diag::{Diagnostic, Diagnostics};
use crate::yaml::{Node, Value};

const SERVICE_KEYS: &[&str] = &[
    "override",
    "command",
    "summary",
    "description",
    "startup",
    "after",
    "before",
    "requires",
    "environment",
    "user",
    "user-id",
    "group",
    "group-id",
    "working-dir",
    "on-success",
    "on-failure",
    "on-check-failure",
    "backoff-delay",
    "backoff-factor",
    "backoff-limit",
    "kill-delay",
];

const CHECK_KEYS: &[&str] = &[
    "override",
    "level",
    "startup",
    "period",
    "timeout",
    "threshold",
    "http",
    "tcp",
    "exec",
];

const ACTIONS_SUCCESS: &[&str] = &["restart", "shutdown", "failure-shutdown", "ignore"];
const ACTIONS_FAILURE: &[&str] = &["restart", "shutdown", "success-shutdown", "ignore"];
const ACTIONS_CHECK: &[&str] = &["restart", "shutdown", "success-shutdown", "ignore"];

/// Why a command cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Unbalanced quotes or a trailing escape.
    #[error("cannot parse command: unbalanced quotes or trailing backslash")]
    Lex,
    /// Empty command.
    #[error("cannot use an empty command")]
    Empty,
    /// `[` as the first token.
    #[error("cannot start command with [ ... ] group")]
    StartsWithGroup,
    /// `[` inside a group.
    #[error("Cannot nest [ ... ] groups.")]
    Nested,
    /// Tokens after `]`.
    #[error("Cannot have any arguments after [ ... ] group.")]
    AfterGroup,
    /// `]` without `[`, or `[` without `]`.
    #[error("cannot have unbalanced [ ... ] group")]
    Unbalanced,
}

/// Splits a service command with shell-like lexing into its base tokens and `[ default args ]`.
pub fn parse_command(command: &str) -> Result<Command, CommandError> {
    let tokens = shlex::split(command).ok_or(CommandError::Lex)?;
    let mut base = Vec::new();
    let mut group: Option<Vec<String>> = None;
    let mut closed = false;
    for token in tokens {
        if closed {
            return Err(CommandError::AfterGroup);
        }
        match (token.as_str(), group.as_mut()) {
            ("[", None) if base.is_empty() => return Err(CommandError::StartsWithGroup),
            ("[", None) => group = Some(Vec::new()),
            ("[", Some(_)) => return Err(CommandError::Nested),
            ("]", None) => return Err(CommandError::Unbalanced),
            ("]", Some(_)) => closed = true,
            (_, Some(args)) => args.push(token),
            (_, None) => base.push(token),
        }
    }
    if group.is_some() && !closed {
        return Err(CommandError::Unbalanced);
    }
    if base.is_empty() {
        return Err(CommandError::Empty);
    }
    Ok(Command {
        base,
        default_args: group,
    })
}

/// Parses a Go duration (`300ms`, `1.5h`, `2h45m`, `0`) into seconds.
pub fn parse_duration(s: &str) -> Option<f64> {
    if s == "0" {
        return Some(0.0);
    }
    let mut rest = s;
    let mut total = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    Some(total)
}

fn override_of(fields: &Fields, diags: &mut Diagnostics) -> Option<Override> {
    if !fields.has("override") {
        fields.missing("override", diags);
        return None;
    }
    match fields
        .choice("override", &["merge", "replace"], diags)?
        .as_str()
    {
        "merge" => Some(Override::Merge),
        _ => Some(Override::Replace),
    }
}

fn duration(fields: &Fields, key: &str, diags: &mut Diagnostics) -> Option<String> {
    let value = fields.str_coerced(key, diags)?;
    if parse_duration(&value).is_none() {
        if let Some(node) = fields.get(key) {
            diags.push(
                Diagnostic::at(fields.path_of(key), node, "invalid duration")
                    .with_hint("use Go duration syntax such as `500ms`, `30s` or `1m30s`"),
            );
        }
        return None;
    }
    Some(value)
}

/// Validates `services` into [`Service`]s (file order).
pub fn services(node: &Node, diags: &mut Diagnostics) -> Vec<(String, Service)> {
    let Some(all) = map_or_null("services", node, diags) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in all.entries {
        let path = join("services", &key.name);
        if key.name.is_empty() || key.name == "pebble" || key.name.starts_with('-') {
            diags.push(Diagnostic::new(
                &path,
                key.span,
                format!("invalid service name '{}'", key.name),
            ));
        }
        if let Some(service) = service(&path, value, diags) {
            out.push((key.name.clone(), service));
        }
    }
    out
}

fn service(path: &str, node: &Node, diags: &mut Diagnostics) -> Option<Service> {
    let f = Fields::of(path, node, diags)?;
    f.deny_unknown(SERVICE_KEYS, diags);
    let override_ = override_of(&f, diags);
    let command = f.req_str("command", diags);
    let command_parts = command.as_ref().and_then(|c| match parse_command(c) {
        Ok(parts) => Some(parts),
        Err(e) => {
            if let Some(node) = f.get("command") {
                diags.push(Diagnostic::at(f.path_of("command"), node, e.to_string()));
            }
            None
        }
    });
    let backoff_factor = f.number("backoff-factor", diags);
    if let (Some(factor), Some(node)) = (backoff_factor, f.get("backoff-factor"))
        && factor < 1.0
    {
        diags.push(Diagnostic::at(
            f.path_of("backoff-factor"),
            node,
            "input should be greater than or equal to 1",
        ));
    }
    let on_check_failure = f.str_map("on-check-failure", diags);
    for (check, action) in &on_check_failure {
        if !ACTIONS_CHECK.contains(&action.as_str()) {
            let node = f.get("on-check-failure").and_then(|n| n.get(check));
            if let Some(node) = node {
                diags.push(Diagnostic::at(
                    join(&f.path_of("on-check-failure"), check),
                    node,
                    super::fields::one_of(ACTIONS_CHECK),
                ));
            }
        }
    }
    let service = Service {
        override_: override_.unwrap_or(Override::Replace),
        command: command.clone().unwrap_or_default(),
        command_parts: command_parts.clone().unwrap_or_default(),
        summary: f.str("summary", diags),
        description: f.str("description", diags),
        startup: f.choice("startup", &["enabled", "disabled"], diags),
        after: f.str_list("after", diags),
        before: f.str_list("before", diags),
        requires: f.str_list("requires", diags),
        environment: f.str_map("environment", diags),
        user: f.str("user", diags),
        user_id: f.uint("user-id", diags),
        group: f.str("group", diags),
        group_id: f.uint("group-id", diags),
        working_dir: f.str("working-dir", diags),
        on_success: f.choice("on-success", ACTIONS_SUCCESS, diags),
        on_failure: f.choice("on-failure", ACTIONS_FAILURE, diags),
        on_check_failure,
        backoff_delay: duration(&f, "backoff-delay", diags),
        backoff_factor,
        backoff_limit: duration(&f, "backoff-limit", diags),
        kill_delay: duration(&f, "kill-delay", diags),
    };
    (override_.is_some() && command_parts.is_some()).then_some(service)
}

/// Validates `checks` into [`Check`]s (file order).
pub fn checks(node: &Node, diags: &mut Diagnostics) -> Vec<(String, Check)> {
    let Some(all) = map_or_null("checks", node, diags) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in all.entries {
        let path = join("checks", &key.name);
        if let Some(check) = check(&path, value, diags) {
            out.push((key.name.clone(), check));
        }
    }
    out
}

fn check(path: &str, node: &Node, diags: &mut Diagnostics) -> Option<Check> {
    let f = Fields::of(path, node, diags)?;
    f.deny_unknown(CHECK_KEYS, diags);
    let override_ = override_of(&f, diags);
    let threshold = f.uint("threshold", diags);
    if let (Some(0), Some(node)) = (threshold, f.get("threshold")) {
        diags.push(Diagnostic::at(
            f.path_of("threshold"),
            node,
            "input should be greater than or equal to 1",
        ));
    }
    let present: Vec<&str> = ["http", "tcp", "exec"]
        .into_iter()
        .filter(|k| f.get(k).is_some_and(|n| n.value != Value::Null))
        .collect();
    if present.len() != 1 {
        diags.push(Diagnostic::new(
            path,
            f.span,
            "Must specify exactly one of http, tcp, exec for each check.",
        ));
        return None;
    }
    let kind = match present[0] {
        "http" => http(&f, diags),
        "tcp" => tcp(&f, diags),
        _ => exec(&f, diags),
    };
    let check = Check {
        override_: override_?,
        level: f.choice("level", &["alive", "ready"], diags),
        startup: f.choice("startup", &["enabled", "disabled"], diags),
        period: duration(&f, "period", diags),
        timeout: duration(&f, "timeout", diags),
        threshold,
        kind: kind?,
    };
    Some(check)
}

fn http(f: &Fields, diags: &mut Diagnostics) -> Option<CheckKind> {
    let node = f.get("http")?;
    let g = Fields::of(&f.path_of("http"), node, diags)?;
    g.deny_unknown(&["url", "headers"], diags);
    Some(CheckKind::Http {
        url: g.req_str("url", diags)?,
        headers: g.str_map("headers", diags),
    })
}

fn tcp(f: &Fields, diags: &mut Diagnostics) -> Option<CheckKind> {
    let node = f.get("tcp")?;
    let g = Fields::of(&f.path_of("tcp"), node, diags)?;
    g.deny_unknown(&["port", "host"], diags);
    if !g.has("port") {
        g.missing("port", diags);
        return None;
    }
    let port = g.uint("port", diags)?;
    let Ok(port) = u16::try_from(port) else {
        if let Some(n) = g.get("port") {
            diags.push(Diagnostic::at(
                g.path_of("port"),
                n,
                "input should be less than or equal to 65535",
            ));
        }
        return None;
    };
    Some(CheckKind::Tcp {
        port,
        host: g.str("host", diags),
    })
}

fn exec(f: &Fields, diags: &mut Diagnostics) -> Option<CheckKind> {
    let node = f.get("exec")?;
    let g = Fields::of(&f.path_of("exec"), node, diags)?;
    g.deny_unknown(
        &[
            "command",
            "service-context",
            "environment",
            "user",
            "user-id",
            "group",
            "group-id",
            "working-dir",
        ],
        diags,
    );
    let command = g.req_str("command", diags)?;
    if shlex::split(&command).is_none_or(|t| t.is_empty()) {
        if let Some(n) = g.get("command") {
            diags.push(Diagnostic::at(
                g.path_of("command"),
                n,
                CommandError::Lex.to_string(),
            ));
        }
        return None;
    }
    Some(CheckKind::Exec {
        command,
        service_context: g.str("service-context", diags),
        environment: g
            .get("environment")
            .map(|n| expect_str_map(&g.path_of("environment"), n, diags))
            .unwrap_or_default(),
        user: g.str("user", diags),
        user_id: g.uint("user-id", diags),
        group: g.str("group", diags),
        group_id: g.uint("group-id", diags),
        working_dir: g.str("working-dir", diags),
    })
}

fn map_or_null<'a>(path: &str, node: &'a Node, diags: &mut Diagnostics) -> Option<Fields<'a>> {
    if node.value == Value::Null {
        return None;
    }
    Fields::of(path, node, diags)
}

/// Cross-checks services and checks: references in `after`/`before`/`requires` and
/// `on-check-failure`, and ordering cycles.
pub fn cross_check(
    services: &[(String, Service)],
    checks: &[(String, super::model::Check)],
    doc: &Node,
    diags: &mut Diagnostics,
) {
    let names: Vec<&str> = services.iter().map(|(n, _)| n.as_str()).collect();
    for (name, svc) in services {
        let span = doc
            .get("services")
            .and_then(|s| s.get(name))
            .map(|n| n.span)
            .unwrap_or_default();
        for (field, list) in [
            ("after", &svc.after),
            ("before", &svc.before),
            ("requires", &svc.requires),
        ] {
            for other in list {
                if !names.contains(&other.as_str()) {
                    let mut d = Diagnostic::new(
                        format!("services.{name}.{field}"),
                        span,
                        format!("service {name:?} has unknown dependency {other:?}"),
                    );
                    if let Some(h) = crate::yaml::diag::did_you_mean(other, names.iter().copied()) {
                        d = d.with_hint(h);
                    }
                    diags.push(d);
                }
            }
        }
        for (check, _) in &svc.on_check_failure {
            if !checks.iter().any(|(c, _)| c == check) {
                diags.push(Diagnostic::new(
                    format!("services.{name}.on-check-failure"),
                    span,
                    format!(
                        "service {name:?} has on-check-failure action for unknown check {check:?}"
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_like_pebble() {
        let c = parse_command("/bin/python3 -m gunicorn 'app:app' -k [ sync ]").unwrap();
        assert_eq!(c.base, ["/bin/python3", "-m", "gunicorn", "app:app", "-k"]);
        assert_eq!(c.default_args, Some(vec!["sync".to_string()]));
        assert_eq!(parse_command("echo hi").unwrap().default_args, None);
        assert_eq!(parse_command("a [ b [ c ] ]"), Err(CommandError::Nested));
        assert_eq!(parse_command("a [ b ] c"), Err(CommandError::AfterGroup));
        assert_eq!(parse_command("[ a ]"), Err(CommandError::StartsWithGroup));
        assert_eq!(parse_command("a [ b"), Err(CommandError::Unbalanced));
        assert_eq!(parse_command("a 'b"), Err(CommandError::Lex));
        assert_eq!(parse_command("  "), Err(CommandError::Empty));
    }

    #[test]
    fn durations_follow_go_syntax() {
        assert_eq!(parse_duration("500ms"), Some(0.5));
        assert_eq!(parse_duration("1m30s"), Some(90.0));
        assert_eq!(parse_duration("1.5h"), Some(5400.0));
        assert_eq!(parse_duration("0"), Some(0.0));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("5 s"), None);
        assert_eq!(parse_duration(""), None);
    }
}
