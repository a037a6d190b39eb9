//! craft-parts' part schema: the keys a part may have, per plugin, and cross-part rules.
//!
//! [`parts`] validates the `parts` mapping into [`Part`]s: common keys, the plugin's own
//! properties (`python-requirements`, `go-buildtags`, ...), `build-environment`, `organize`,
//! `permissions`, overlay keys on bare bases, and `after` references and cycles.

use super::fields::{Fields, expect_str, expect_str_map, join};
use super::model::{Base, Part, Permission, Unsupported};
use crate::yaml::diag::{Diagnostic, Diagnostics, did_you_mean};
use crate::yaml::{Node, Value};

const PART_KEYS: &[&str] = &[
    "plugin",
    "source",
    "source-type",
    "source-subdir",
    "source-checksum",
    "source-branch",
    "source-tag",
    "source-commit",
    "source-depth",
    "source-submodules",
    "disable-parallel",
    "after",
    "build-packages",
    "stage-packages",
    "overlay-packages",
    "build-snaps",
    "stage-snaps",
    "build-environment",
    "build-attributes",
    "organize",
    "overlay",
    "stage",
    "prime",
    "override-pull",
    "overlay-script",
    "override-build",
    "override-stage",
    "override-prime",
    "permissions",
];

/// Plugins and their own properties (craft-parts names).
pub const PLUGINS: &[(&str, &[&str])] = &[
    ("nil", &[]),
    ("dump", &[]),
    (
        "python",
        &[
            "python-requirements",
            "python-constraints",
            "python-packages",
        ],
    ),
    ("go", &["go-buildtags", "go-generate"]),
    ("npm", &["npm-include-node", "npm-node-version"]),
    ("make", &["make-parameters"]),
    (
        "autotools",
        &[
            "autotools-configure-parameters",
            "autotools-bootstrap-parameters",
        ],
    ),
    ("cmake", &["cmake-parameters", "cmake-generator"]),
    ("meson", &["meson-parameters"]),
    (
        "rust",
        &[
            "rust-path",
            "rust-features",
            "rust-no-default-features",
            "rust-channel",
            "rust-use-global-lto",
            "rust-ignore-toolchain-file",
            "rust-cargo-parameters",
            "rust-inherit-ldflags",
        ],
    ),
    ("maven", &["maven-parameters", "maven-use-wrapper"]),
    (
        "gradle",
        &[
            "gradle-task",
            "gradle-init-script",
            "gradle-parameters",
            "gradle-use-wrapper",
        ],
    ),
    (
        "jlink",
        &[
            "jlink-java-version",
            "jlink-jars",
            "jlink-extra-modules",
            "jlink-multi-release",
        ],
    ),
    ("uv", &["uv-extras", "uv-groups", "uv-no-default-groups"]),
    (
        "poetry",
        &[
            "poetry-with",
            "poetry-export-extra-args",
            "poetry-pip-extra-args",
        ],
    ),
];

/// Validates the `parts` mapping (file order kept).
/// Keys rcraft accepts but cannot honour yet go to `unsupported` (see [`unsupported_keys`]).
pub fn parts(
    node: &Node,
    base: Option<&Base>,
    diags: &mut Diagnostics,
    unsupported: &mut Vec<Unsupported>,
) -> Vec<(String, Part)> {
    let Some(all) = Fields::of("parts", node, diags) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Part)> = Vec::new();
    for (key, value) in all.entries {
        let path = join("parts", &key.name);
        if key.name.trim().is_empty() {
            diags.push(Diagnostic::new(
                &path,
                key.span,
                "part names cannot be empty",
            ));
            continue;
        }
        if let Some(part) = part(&path, &key.name, value, base, diags, unsupported) {
            out.push((key.name.clone(), part));
        }
    }
    after_references(&out, node, diags);
    out
}

fn part(
    path: &str,
    name: &str,
    node: &Node,
    base: Option<&Base>,
    diags: &mut Diagnostics,
    unsupported: &mut Vec<Unsupported>,
) -> Option<Part> {
    let f = Fields::of(path, node, diags)?;
    unsupported.extend(unsupported_keys(name, &f, base));
    let plugin = f.str("plugin", diags);
    let plugin_keys: &[&str] = match &plugin {
        Some(p) => match PLUGINS.iter().find(|(n, _)| n == p) {
            Some((_, keys)) => keys,
            None => {
                if let Some(node) = f.get("plugin") {
                    let mut d = Diagnostic::at(
                        f.path_of("plugin"),
                        node,
                        format!("plugin not registered: '{p}'"),
                    );
                    if let Some(h) = did_you_mean(p, PLUGINS.iter().map(|(n, _)| *n)) {
                        d = d.with_hint(h);
                    }
                    diags.push(d);
                }
                &[]
            }
        },
        None => &[],
    };
    let mut allowed: Vec<&str> = PART_KEYS.to_vec();
    allowed.extend_from_slice(plugin_keys);
    f.deny_unknown(&allowed, diags);

    if matches!(base, Some(Base::Bare)) {
        for key in ["overlay-packages", "overlay-script", "overlay"] {
            if f.get(key).is_some_and(|n| n.value != Value::Null) {
                diags.push(Diagnostic::new(
                    f.path_of(key),
                    f.span,
                    format!("Part '{name}' cannot use overlays with a 'bare' base (there is no system to overlay)."),
                ));
                break;
            }
        }
    }

    let stage_packages = f.str_list("stage-packages", diags);
    let plugin_properties = plugin_keys
        .iter()
        .filter_map(|k| f.get(k).map(|n| (k.to_string(), n.to_json())))
        .collect();
    f.uint("source-depth", diags);
    for k in [
        "source-checksum",
        "source-branch",
        "source-tag",
        "source-commit",
    ] {
        f.str(k, diags);
    }
    f.str_list("build-attributes", diags);
    f.str_list("overlay-packages", diags);
    f.str_list("overlay", diags);
    f.str("overlay-script", diags);

    Some(Part {
        plugin,
        source: f.str("source", diags),
        source_type: f.choice(
            "source-type",
            &[
                "local", "git", "tar", "zip", "deb", "rpm", "7z", "file", "snap",
            ],
            diags,
        ),
        source_subdir: f.str("source-subdir", diags),
        after: f.str_list("after", diags),
        build_packages: f.str_list("build-packages", diags),
        stage_packages,
        build_snaps: f.str_list("build-snaps", diags),
        stage_snaps: f.str_list("stage-snaps", diags),
        build_environment: build_environment(&f, diags),
        organize: f.str_map("organize", diags),
        stage: f.str_list("stage", diags),
        prime: f.str_list("prime", diags),
        override_pull: f.str("override-pull", diags),
        override_build: f.str("override-build", diags),
        override_stage: f.str("override-stage", diags),
        override_prime: f.str("override-prime", diags),
        permissions: permissions(&f, diags),
        plugin_properties,
    })
}

/// The part's keys that rcraft accepts but cannot honour yet (each one makes `pack` stop before
/// any work). Values an extension added (no position in the file) keep today's behaviour: the
/// expressjs extension's `build-packages` are the host's Node.js and npm.
fn unsupported_keys(name: &str, f: &Fields, base: Option<&Base>) -> Vec<Unsupported> {
    let mut out = Vec::new();
    let mut push = |key: &str, node: &Node, hint: Option<&str>| {
        out.push(Unsupported {
            key: key.to_string(),
            part: Some(name.to_string()),
            span: node.span,
            hint: hint.map(str::to_string),
        });
    };
    let present = |node: &Node| match &node.value {
        Value::Null => false,
        Value::Seq(items) => !items.is_empty(),
        Value::Map(items) => !items.is_empty(),
        Value::Str(s) => !s.is_empty(),
        _ => true,
    };
    for (key, _) in f.entries {
        let key = key.name.as_str();
        let Some(node) = f.get(key).filter(|n| present(n)) else {
            continue;
        };
        match key {
            "build-packages" => {
                // Only what the user wrote: an extension's own packages keep working.
                let user_written = match &node.value {
                    Value::Seq(items) => items.iter().find(|i| i.span.is_known()),
                    _ => Some(node),
                };
                if let Some(item) = user_written {
                    push(
                        key,
                        item,
                        Some("rcraft runs parts on this machine (no build environment yet): install the packages here and remove the key"),
                    );
                }
            }
            "build-snaps" | "stage-snaps" => push(key, node, None),
            "overlay-packages" | "overlay-script" | "overlay"
                if !matches!(base, Some(Base::Bare)) =>
            {
                push(key, node, None)
            }
            "build-attributes" => push(key, node, None),
            "source-checksum" | "source-branch" | "source-tag" | "source-commit"
            | "source-depth" | "source-submodules" => push(
                key,
                node,
                Some("rcraft supports only local `source` directories so far"),
            ),
            "organize" => {
                if let Some(target) = node
                    .as_map()
                    .into_iter()
                    .flatten()
                    .map(|(_, v)| v)
                    .find(|v| matches!(&v.value, Value::Str(s) if s.contains("$CRAFT_") || s.contains("${CRAFT_")))
                {
                    push(
                        key,
                        target,
                        Some("project variables such as ${CRAFT_PART_INSTALL} in `organize` targets are not expanded yet; write the path relative to the part's install directory"),
                    );
                }
            }
            _ => {}
        }
    }
    out
}

/// `build-environment`: a list of one-key mappings, kept in order.
fn build_environment(f: &Fields, diags: &mut Diagnostics) -> Vec<(String, String)> {
    let Some(node) = f.get("build-environment") else {
        return Vec::new();
    };
    let path = f.path_of("build-environment");
    let items = match &node.value {
        Value::Null => return Vec::new(),
        Value::Seq(items) => items,
        _ => {
            diags.push(Diagnostic::at(path, node, "input should be a valid list"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let pairs = expect_str_map(&item_path, item, diags);
        if item.as_map().is_some_and(|m| m.len() != 1) {
            diags.push(Diagnostic::at(
                &item_path,
                item,
                "each build-environment entry must be a mapping with exactly one key",
            ));
        }
        out.extend(pairs);
    }
    out
}

fn permissions(f: &Fields, diags: &mut Diagnostics) -> Vec<Permission> {
    let Some(node) = f.get("permissions") else {
        return Vec::new();
    };
    let path = f.path_of("permissions");
    let Some(items) = (match &node.value {
        Value::Null => return Vec::new(),
        Value::Seq(items) => Some(items),
        _ => {
            diags.push(Diagnostic::at(&path, node, "input should be a valid list"));
            None
        }
    }) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(p) = Fields::of(&format!("{path}[{i}]"), item, diags) else {
            continue;
        };
        p.deny_unknown(&["path", "owner", "group", "mode"], diags);
        let owner = p.uint("owner", diags);
        let group = p.uint("group", diags);
        if owner.is_some() != group.is_some() {
            diags.push(Diagnostic::new(
                &p.path,
                p.span,
                "If either 'owner' or 'group' is defined, both must be defined",
            ));
        }
        let mode = p.str_coerced("mode", diags);
        if let (Some(m), Some(n)) = (&mode, p.get("mode"))
            && u32::from_str_radix(m, 8).map_or(true, |v| v > 0o7777)
        {
            diags.push(Diagnostic::at(
                p.path_of("mode"),
                n,
                "mode must be an octal number such as \"755\"",
            ));
        }
        out.push(Permission {
            path: p
                .get("path")
                .and_then(|n| expect_str(&p.path_of("path"), n, diags))
                .unwrap_or_else(|| "*".to_string()),
            owner,
            group,
            mode,
        });
    }
    out
}

/// `after` must name defined parts and must not form a cycle.
fn after_references(parts: &[(String, Part)], node: &Node, diags: &mut Diagnostics) {
    let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
    let span_of = |name: &str| node.get(name).map(|n| n.span).unwrap_or(node.span);
    for (name, part) in parts {
        for dep in &part.after {
            if !names.contains(&dep.as_str()) {
                let mut d = Diagnostic::new(
                    format!("parts.{name}.after"),
                    span_of(name),
                    format!(
                        "A part named '{dep}' is listed in 'after' for part '{name}' but is not defined."
                    ),
                );
                if let Some(h) = did_you_mean(dep, names.iter().copied()) {
                    d = d.with_hint(h);
                }
                diags.push(d);
            }
        }
    }
    // Depth-first search for a cycle, reporting the chain once.
    fn visit<'a>(
        n: &'a str,
        parts: &'a [(String, Part)],
        stack: &mut Vec<&'a str>,
        done: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(pos) = stack.iter().position(|s| *s == n) {
            let mut chain = stack[pos..].to_vec();
            chain.push(n);
            return Some(chain);
        }
        if done.contains(&n) {
            return None;
        }
        stack.push(n);
        let deps = parts.iter().find(|(p, _)| p == n).map(|(_, p)| &p.after);
        for dep in deps.into_iter().flatten() {
            if let Some(c) = visit(dep, parts, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.push(n);
        None
    }
    let mut done = Vec::new();
    for (name, _) in parts {
        if let Some(chain) = visit(name, parts, &mut Vec::new(), &mut done) {
            diags.push(Diagnostic::new(
                format!("parts.{}.after", chain[0]),
                span_of(chain[0]),
                format!(
                    "A circular dependency chain was detected: {}",
                    chain.join(" -> ")
                ),
            ));
            break;
        }
    }
}
