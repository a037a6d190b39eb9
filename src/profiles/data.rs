//! The profile data files (`profiles/<name>.yaml`, embedded in the binary) and how they become
//! a root snippet.
//!
//! Each file holds `experimental` (bool), `bases` (supported `base` values), `snippet` (the
//! static root snippet) and optional `bare-base` / `system-base` overlays laid over `snippet`
//! when the project's base is or is not `bare`: mappings are merged key by key, any other value
//! replaces the snippet's. Strings (values and keys) may hold `{placeholder}`s that the framework
//! code substitutes once it has computed them (see [`substitute`]).

use std::sync::OnceLock;

use crate::yaml::{self, Node, Value};

/// One profile's data, parsed.
#[derive(Clone, Debug)]
pub struct ProfileData {
    /// Extension name, e.g. `flask-framework`.
    pub name: &'static str,
    /// Whether `ROCKCRAFT_ENABLE_EXPERIMENTAL_EXTENSIONS` is needed.
    pub experimental: bool,
    /// Supported `base` values.
    pub bases: Vec<String>,
    /// Common root snippet.
    pub snippet: Node,
    /// Overlay for `base: bare`.
    pub bare_base: Option<Node>,
    /// Overlay for any other base.
    pub system_base: Option<Node>,
}

/// The embedded data files, sorted by name.
const SOURCES: &[(&str, &str)] = &[
    (
        "django-framework",
        include_str!("../../profiles/django-framework.yaml"),
    ),
    (
        "expressjs-framework",
        include_str!("../../profiles/expressjs-framework.yaml"),
    ),
    (
        "fastapi-framework",
        include_str!("../../profiles/fastapi-framework.yaml"),
    ),
    (
        "flask-framework",
        include_str!("../../profiles/flask-framework.yaml"),
    ),
    (
        "go-framework",
        include_str!("../../profiles/go-framework.yaml"),
    ),
];

/// Every profile, parsed once. An entry is `Err` only if an embedded file is broken (a bug that
/// the tests catch); it is reported rather than panicking.
pub fn all() -> &'static [Result<ProfileData, String>] {
    static ALL: OnceLock<Vec<Result<ProfileData, String>>> = OnceLock::new();
    ALL.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(name, text)| parse_profile(name, text))
            .collect()
    })
}

/// Names of all profiles, sorted.
pub fn names() -> impl Iterator<Item = &'static str> {
    SOURCES.iter().map(|(name, _)| *name)
}

fn parse_profile(name: &'static str, text: &str) -> Result<ProfileData, String> {
    // Positions in a profile's file mean nothing in the user's `rockcraft.yaml`.
    let doc = yaml::parse(text)
        .map_err(|e| format!("profiles/{name}.yaml:{}: {}", e.span, e.message))?
        .generated();
    let bad = |what: &str| format!("profiles/{name}.yaml: {what}");
    let experimental = match doc.get("experimental").map(|n| &n.value) {
        Some(Value::Bool(b)) => *b,
        _ => return Err(bad("`experimental` must be true or false")),
    };
    let bases = doc
        .get("bases")
        .and_then(Node::as_seq)
        .ok_or_else(|| bad("`bases` must be a list"))?
        .iter()
        .map(|b| b.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("`bases` must hold strings"))?;
    let snippet = doc
        .get("snippet")
        .filter(|n| n.as_map().is_some())
        .cloned()
        .ok_or_else(|| bad("`snippet` must be a mapping"))?;
    Ok(ProfileData {
        name,
        experimental,
        bases,
        snippet,
        bare_base: doc.get("bare-base").cloned(),
        system_base: doc.get("system-base").cloned(),
    })
}

impl ProfileData {
    /// The snippet for a bare or non-bare base, placeholders not yet substituted.
    pub fn snippet_for(&self, bare: bool) -> Node {
        let mut snippet = self.snippet.clone();
        let overlay_node = if bare {
            &self.bare_base
        } else {
            &self.system_base
        };
        if let Some(o) = overlay_node {
            overlay(&mut snippet, o.clone());
        }
        snippet
    }
}

/// Lays `top` over `base`: mappings merge key by key, anything else replaces.
pub fn overlay(base: &mut Node, top: Node) {
    match (&mut base.value, top.value) {
        (Value::Map(entries), Value::Map(top_entries)) => {
            for (key, value) in top_entries {
                match entries.iter_mut().find(|(k, _)| k.name == key.name) {
                    Some((_, slot)) => overlay(slot, value),
                    None => entries.push((key, value)),
                }
            }
        }
        (_, value) => base.value = value,
    }
}

/// Replaces each `{key}` of `vars` in every string and mapping key under `node`.
pub fn substitute(node: &mut Node, vars: &[(&str, &str)]) {
    let apply = |s: &mut String| {
        if s.contains('{') {
            for (key, value) in vars {
                let pattern = format!("{{{key}}}");
                if s.contains(&pattern) {
                    *s = s.replace(&pattern, value);
                }
            }
        }
    };
    match &mut node.value {
        Value::Str(s) => apply(s),
        Value::Seq(items) => items.iter_mut().for_each(|n| substitute(n, vars)),
        Value::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                apply(&mut key.name);
                substitute(value, vars);
            }
        }
        _ => {}
    }
}

/// Placeholders (`{word}`) left in strings under `node` (tests check none survive).
#[cfg(test)]
pub fn leftover_placeholders(node: &Node) -> Vec<String> {
    fn scan(s: &str, out: &mut Vec<String>) {
        let mut rest = s;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let word = &after[..close];
                    let is_placeholder = !word.is_empty()
                        && word.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                    // `${VAR}` in shell scripts is not a placeholder.
                    let is_shell = open > 0 && rest.as_bytes()[open - 1] == b'$';
                    if is_placeholder && !is_shell {
                        out.push(word.to_string());
                    }
                    rest = &after[close + 1..];
                }
                None => break,
            }
        }
    }
    let mut out = Vec::new();
    match &node.value {
        Value::Str(s) => scan(s, &mut out),
        Value::Seq(items) => items
            .iter()
            .for_each(|n| out.extend(leftover_placeholders(n))),
        Value::Map(entries) => {
            for (k, v) in entries {
                scan(&k.name, &mut out);
                out.extend(leftover_placeholders(v));
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_file_parses() {
        for profile in all() {
            let profile = profile.as_ref().unwrap();
            assert!(
                profile.bases.contains(&"debian@12".to_string()),
                "{}",
                profile.name
            );
            assert!(
                profile.bases.contains(&"bare".to_string()),
                "{}",
                profile.name
            );
            for bare in [true, false] {
                let snippet = profile.snippet_for(bare);
                assert_eq!(
                    snippet.get("run-user").and_then(Node::as_str),
                    Some("_daemon_")
                );
                let parts = snippet.get("parts").and_then(Node::as_map).unwrap();
                for (part, _) in parts {
                    assert!(part.name.starts_with(&format!("{}/", profile.name)));
                }
            }
        }
    }

    #[test]
    fn overlay_merges_maps_and_replaces_the_rest() {
        let mut base = yaml::parse("a: {x: 1, l: [1, 2]}\nb: 2\n").unwrap();
        overlay(&mut base, yaml::parse("a: {l: [3]}\nc: 3\n").unwrap());
        assert_eq!(
            base.to_json(),
            serde_json::json!({"a": {"x": 1, "l": [3]}, "b": 2, "c": 3})
        );
    }

    #[test]
    fn substitute_fills_values_and_keys_but_not_shell_variables() {
        let mut node = yaml::parse("'bin/{name}': 'x {name} ${CRAFT_PART_INSTALL}'\n").unwrap();
        substitute(&mut node, &[("name", "demo")]);
        assert_eq!(
            node.to_json(),
            serde_json::json!({"bin/demo": "x demo ${CRAFT_PART_INSTALL}"})
        );
        assert!(leftover_placeholders(&node).is_empty());
    }
}
