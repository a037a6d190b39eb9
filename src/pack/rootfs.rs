//! The files rcraft adds to every rock besides the primed parts, as Rockcraft lays them out.
//!
//! * the Pebble layer `/var/lib/pebble/default/layers/NNN-rockcraft-NAME.yaml` (`NNN` is
//!   `001` unless a base image already has layers there) with the project's `summary`,
//!   `description`, `services` and `checks`;
//! * `/etc/passwd` and `/etc/group` (and, on a base image that has it, `/etc/shadow`) with the
//!   `_daemon_` user (584792) when `run-user` is set;
//! * `/.rock/metadata.yaml` describing the rock.
//!
//! Everything here is a pure function of the project (plus existing passwd/group contents),
//! so the bytes, and therefore the layer digests, are reproducible.

use serde_json::{Map, Value, json};

use crate::project::{Check, CheckKind, DAEMON_UID, DAEMON_USER, Project, Service};

/// Directory Pebble (and the worker-server) reads layers from.
pub const PEBBLE_DIR: &str = "var/lib/pebble/default";
/// Directory of Pebble layer files.
pub const PEBBLE_LAYERS_DIR: &str = "var/lib/pebble/default/layers";

/// A generated file: path (relative, no leading `/`), content and mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path inside the image, without a leading `/`.
    pub path: String,
    /// Content.
    pub content: Vec<u8>,
    /// Permission bits.
    pub mode: u32,
}

/// The Pebble layer file's path for a rock named `name` on a base without Pebble layers.
pub fn pebble_layer_path(name: &str) -> String {
    pebble_layer_path_numbered(name, 1)
}

/// The Pebble layer file's path with prefix `number` (`NNN-rockcraft-NAME.yaml`).
pub fn pebble_layer_path_numbered(name: &str, number: u32) -> String {
    format!("{PEBBLE_LAYERS_DIR}/{number:03}-rockcraft-{name}.yaml")
}

/// The prefix for rcraft's Pebble layer: one above the highest `NNN-` prefix among the file
/// names already in the base's layers directory (1 when there are none).
pub fn next_pebble_layer_number<'a>(existing: impl IntoIterator<Item = &'a str>) -> u32 {
    existing
        .into_iter()
        .filter_map(|name| {
            let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
            let rest = &name[digits.len()..];
            (!digits.is_empty() && rest.starts_with('-'))
                .then(|| digits.parse::<u32>().ok())
                .flatten()
        })
        .max()
        .map_or(1, |n| n.saturating_add(1))
}

/// The Pebble layer YAML (`summary`, `description`, `services`, `checks`), or `None` when the
/// project has neither services nor checks (Rockcraft then writes no layer file).
pub fn pebble_layer(project: &Project) -> Option<String> {
    if project.services.is_empty() && project.checks.is_empty() {
        return None;
    }
    let mut layer = Map::new();
    layer.insert("summary".into(), json!(project.summary));
    layer.insert("description".into(), json!(project.description));
    if !project.services.is_empty() {
        let services: Map<String, Value> = project
            .services
            .iter()
            .map(|(name, s)| (name.clone(), service_json(s)))
            .collect();
        layer.insert("services".into(), Value::Object(services));
    }
    if !project.checks.is_empty() {
        let checks: Map<String, Value> = project
            .checks
            .iter()
            .map(|(name, c)| (name.clone(), check_json(c)))
            .collect();
        layer.insert("checks".into(), Value::Object(checks));
    }
    serde_saphyr::to_string(&Value::Object(layer)).ok()
}

fn pairs(items: &[(String, String)]) -> Value {
    Value::Object(items.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

/// Inserts `key: value` when the value is set (non-empty), keeping kebab-case keys.
fn put(map: &mut Map<String, Value>, key: &str, value: Value) {
    let empty = match &value {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    if !empty {
        map.insert(key.to_string(), value);
    }
}

fn service_json(s: &Service) -> Value {
    let mut m = Map::new();
    put(&mut m, "override", json!(s.override_.as_str()));
    put(&mut m, "command", json!(s.command));
    put(&mut m, "summary", json!(s.summary));
    put(&mut m, "description", json!(s.description));
    put(&mut m, "startup", json!(s.startup));
    put(&mut m, "after", json!(s.after));
    put(&mut m, "before", json!(s.before));
    put(&mut m, "requires", json!(s.requires));
    put(&mut m, "environment", pairs(&s.environment));
    put(&mut m, "user", json!(s.user));
    put(&mut m, "user-id", json!(s.user_id));
    put(&mut m, "group", json!(s.group));
    put(&mut m, "group-id", json!(s.group_id));
    put(&mut m, "working-dir", json!(s.working_dir));
    put(&mut m, "on-success", json!(s.on_success));
    put(&mut m, "on-failure", json!(s.on_failure));
    put(&mut m, "on-check-failure", pairs(&s.on_check_failure));
    put(&mut m, "backoff-delay", json!(s.backoff_delay));
    put(&mut m, "backoff-factor", json!(s.backoff_factor));
    put(&mut m, "backoff-limit", json!(s.backoff_limit));
    put(&mut m, "kill-delay", json!(s.kill_delay));
    Value::Object(m)
}

fn check_json(c: &Check) -> Value {
    let mut m = Map::new();
    put(&mut m, "override", json!(c.override_.as_str()));
    put(&mut m, "level", json!(c.level));
    put(&mut m, "startup", json!(c.startup));
    put(&mut m, "period", json!(c.period));
    put(&mut m, "timeout", json!(c.timeout));
    put(&mut m, "threshold", json!(c.threshold));
    match &c.kind {
        CheckKind::Http { url, headers } => {
            let mut h = Map::new();
            put(&mut h, "url", json!(url));
            put(&mut h, "headers", pairs(headers));
            m.insert("http".into(), Value::Object(h));
        }
        CheckKind::Tcp { port, host } => {
            let mut t = Map::new();
            put(&mut t, "port", json!(port));
            put(&mut t, "host", json!(host));
            m.insert("tcp".into(), Value::Object(t));
        }
        CheckKind::Exec {
            command,
            service_context,
            environment,
            user,
            user_id,
            group,
            group_id,
            working_dir,
        } => {
            let mut e = Map::new();
            put(&mut e, "command", json!(command));
            put(&mut e, "service-context", json!(service_context));
            put(&mut e, "environment", pairs(environment));
            put(&mut e, "user", json!(user));
            put(&mut e, "user-id", json!(user_id));
            put(&mut e, "group", json!(group));
            put(&mut e, "group-id", json!(group_id));
            put(&mut e, "working-dir", json!(working_dir));
            m.insert("exec".into(), Value::Object(e));
        }
    }
    Value::Object(m)
}

/// Why the `_daemon_` user cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// The name or id is already taken in the image's passwd/group.
    #[error(
        "cannot add the run-user `{DAEMON_USER}`: {file} already has an entry named `{DAEMON_USER}` or with id {DAEMON_UID}"
    )]
    Conflict {
        /// `etc/passwd`, `etc/group` or `etc/shadow`.
        file: &'static str,
    },
}

/// `etc/passwd` and `etc/group` with the `_daemon_` user appended to the existing contents
/// (from the primed parts, or empty on a bare base), as Rockcraft does.
pub fn daemon_user(passwd: &str, group: &str) -> Result<(String, String), UserError> {
    let taken = |text: &str| {
        text.lines().any(|l| {
            let mut fields = l.split(':');
            let name = fields.next().unwrap_or_default();
            let id = fields.nth(1).unwrap_or_default();
            name == DAEMON_USER || id == DAEMON_UID.to_string()
        })
    };
    if taken(passwd) {
        return Err(UserError::Conflict { file: "etc/passwd" });
    }
    if taken(group) {
        return Err(UserError::Conflict { file: "etc/group" });
    }
    let with_newline = |s: &str| {
        if s.is_empty() || s.ends_with('\n') {
            s.to_string()
        } else {
            format!("{s}\n")
        }
    };
    let passwd = format!(
        "{}{DAEMON_USER}:x:{DAEMON_UID}:{DAEMON_UID}::/{PEBBLE_DIR}:/usr/bin/false\n",
        with_newline(passwd)
    );
    let group = format!("{}{DAEMON_USER}:x:{DAEMON_UID}:\n", with_newline(group));
    Ok((passwd, group))
}

/// `etc/shadow` with a locked `_daemon_` entry appended (`_daemon_:!:DAYS::::::`, DAYS being
/// the days since the epoch of the image's creation), as Rockcraft does when shadow exists.
pub fn daemon_shadow(shadow: &str, days: u64) -> Result<String, UserError> {
    if shadow
        .lines()
        .any(|l| l.split(':').next() == Some(DAEMON_USER))
    {
        return Err(UserError::Conflict { file: "etc/shadow" });
    }
    let mut out = shadow.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("{DAEMON_USER}:!:{days}::::::\n"));
    Ok(out)
}

/// What `/.rock/metadata.yaml` records.
#[derive(Clone, Debug)]
pub struct Metadata<'a> {
    /// The project.
    pub project: &'a Project,
    /// Debian architecture of the image.
    pub architecture: &'a str,
    /// Creation time as RFC 3339.
    pub created: &'a str,
    /// Base image digest (non-bare bases).
    pub base_digest: Option<&'a str>,
}

/// `/.rock/metadata.yaml` (keys sorted, as Rockcraft writes it).
pub fn metadata_yaml(m: &Metadata) -> String {
    // serde_json::Map keeps insertion order here (preserve_order), so insert sorted.
    let mut entries: Vec<(&str, String)> = vec![
        ("architecture", m.architecture.to_string()),
        ("base", m.project.base.to_string()),
        ("created", m.created.to_string()),
        ("name", m.project.name.clone()),
        ("summary", m.project.summary.clone()),
        ("title", m.project.title.clone()),
        ("version", m.project.version.clone()),
    ];
    if let Some(d) = m.base_digest {
        entries.push(("base-digest", d.to_string()));
    }
    if m.project.build_base == crate::project::Base::Devel {
        entries.push(("grade", "devel".to_string()));
    }
    entries.sort_by_key(|(k, _)| *k);
    let map: Map<String, Value> = entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v)))
        .collect();
    serde_saphyr::to_string(&Value::Object(map)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_user_is_appended_and_conflicts_are_refused() {
        let (p, g) = daemon_user("root:x:0:0:root:/root:/bin/sh", "").unwrap();
        assert_eq!(
            p,
            "root:x:0:0:root:/root:/bin/sh\n_daemon_:x:584792:584792::/var/lib/pebble/default:/usr/bin/false\n"
        );
        assert_eq!(g, "_daemon_:x:584792:\n");
        assert!(daemon_user("x:x:584792:1::/:/bin/sh\n", "").is_err());
        assert!(daemon_user("", "_daemon_:x:1:\n").is_err());
    }

    #[test]
    fn shadow_gets_a_locked_daemon_entry() {
        assert_eq!(
            daemon_shadow("root:*:19000:0:99999:7:::", 19800).unwrap(),
            "root:*:19000:0:99999:7:::\n_daemon_:!:19800::::::\n"
        );
        assert!(daemon_shadow("_daemon_:!:1::::::\n", 2).is_err());
    }

    #[test]
    fn pebble_layer_numbers_follow_the_base() {
        assert_eq!(next_pebble_layer_number([]), 1);
        assert_eq!(
            next_pebble_layer_number(["001-base.yaml", "010-x.yaml", "notes", "7x-y"]),
            11
        );
        assert_eq!(
            pebble_layer_path_numbered("web", 2),
            "var/lib/pebble/default/layers/002-rockcraft-web.yaml"
        );
    }

    #[test]
    fn pebble_layer_round_trips_through_yaml() {
        let dir = tempfile::tempdir().unwrap();
        let text = "name: web\nversion: '1'\nsummary: 'S: s'\ndescription: d\nbase: bare\nbuild-base: ubuntu@24.04\nplatforms: {amd64: }\nparts: {a: {plugin: nil}}\nservices:\n  flask:\n    override: replace\n    command: /bin/python3 -m gunicorn 'app:app' -k [ sync ]\n    startup: enabled\n    user: _daemon_\n    environment: {A: '1'}\nchecks:\n  up:\n    override: replace\n    tcp: {port: 8000}\n";
        let project = crate::project::load_str(text, dir.path()).unwrap().project;
        let layer = pebble_layer(&project).unwrap();
        let doc = crate::yaml::parse(&layer).unwrap();
        let flask = doc.get("services").and_then(|s| s.get("flask")).unwrap();
        assert_eq!(
            flask.get("command").and_then(|c| c.as_str()),
            Some("/bin/python3 -m gunicorn 'app:app' -k [ sync ]")
        );
        assert_eq!(flask.get("user").and_then(|c| c.as_str()), Some("_daemon_"));
        assert_eq!(doc.get("summary").and_then(|c| c.as_str()), Some("S: s"));
        let keys: Vec<&str> = doc
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.name.as_str())
            .collect();
        assert_eq!(keys, ["summary", "description", "services", "checks"]);
        assert!(layer.contains("port: 8000"), "{layer}");
    }
}
