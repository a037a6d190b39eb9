//! Rockcraft's schema for `rockcraft.yaml`: top-level keys, bases and platforms.
//!
//! [`validate`] walks the expanded [`Node`] tree and builds a [`Project`], recording every
//! problem as a [`Diagnostic`] (Rockcraft's wording, the field path, the position) instead of
//! stopping at the first. Parts are checked in [`super::parts`], services and checks in
//! [`super::pebble`]. [`normalise`] runs before extension expansion and rewrites deprecated
//! spellings with Rockcraft's warning.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::fields::{Fields, one_of};
use super::model::{Base, DAEMON_USER, Platform, Project, Unsupported, oci_arch};
use super::{parts, pebble};
use crate::yaml::diag::{Diagnostic, Diagnostics, did_you_mean};
use crate::yaml::{Node, Value};

const TOP_LEVEL_KEYS: &[&str] = &[
    "name",
    "title",
    "version",
    "summary",
    "description",
    "base",
    "build-base",
    "platforms",
    "license",
    "contact",
    "issues",
    "source-code",
    "adopt-info",
    "environment",
    "run-user",
    "services",
    "checks",
    "entrypoint-service",
    "entrypoint-command",
    "parts",
    "package-repositories",
    "extensions",
];

/// Bases accepted for `base`; `debian@12` is an rcraft addition.
pub const BASES: &[&str] = &[
    "bare",
    "ubuntu@20.04",
    "ubuntu@22.04",
    "ubuntu@24.04",
    "ubuntu@25.10",
    "ubuntu@26.04",
    "ubuntu@26.10",
    "debian@12",
];

/// Bases accepted for `build-base`; `debian@12` is an rcraft addition.
pub const BUILD_BASES: &[&str] = &[
    "ubuntu@20.04",
    "ubuntu@22.04",
    "ubuntu@24.04",
    "ubuntu@25.10",
    "ubuntu@26.04",
    "devel",
    "debian@12",
];

/// Interim releases that need `build-base: devel`.
const DEVEL_ONLY_BASES: &[&str] = &["ubuntu@26.10"];

/// Debian architectures a rock can target.
pub const ARCHITECTURES: &[&str] = &[
    "amd64", "arm64", "armhf", "i386", "ppc64el", "riscv64", "s390x",
];

const NAME_MESSAGE: &str = "invalid name: Names can only use ASCII lowercase letters, numbers, and hyphens. They must have at least one letter, may not start or end with a hyphen, and may not have two hyphens in a row.";
const VERSION_MESSAGE: &str = "invalid version: Valid versions consist of upper- and lower-case alphanumeric characters, as well as periods, colons, plus signs, tildes, and hyphens. They cannot begin with a period, colon, plus sign, tilde, or hyphen. They cannot end with a period, colon, or hyphen.";

static NAME_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([a-z0-9][a-z0-9-]?)*[a-z]+([a-z0-9-]?[a-z0-9])*$").expect("valid regex")
});
static VERSION_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-zA-Z0-9](?:[a-zA-Z0-9:.+~-]*[a-zA-Z0-9+~])?$").expect("valid regex")
});
static SPDX_ID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(LicenseRef-)?[A-Za-z0-9][A-Za-z0-9.+-]*$").expect("valid regex")
});

/// Whether `name` is a valid rock name (Rockcraft's regex, 1 to 40 characters).
pub fn is_valid_name(name: &str) -> bool {
    (1..=40).contains(&name.len()) && NAME_RE.is_match(name)
}

/// Whether `version` is a valid rock version (Rockcraft's regex, at most 32 characters).
pub fn is_valid_version(version: &str) -> bool {
    version.chars().count() <= 32 && VERSION_RE.is_match(version)
}

/// The message for an invalid rock name, in Rockcraft's wording.
pub fn invalid_name_message() -> &'static str {
    NAME_MESSAGE
}

/// Rewrites the deprecated `ubuntu:22.04` spelling of `base`/`build-base`, with Rockcraft's
/// warning.
pub fn normalise(doc: &mut Node, warnings: &mut Vec<String>) {
    for key in ["base", "build-base"] {
        let Some(node) = doc.get_mut(key) else {
            continue;
        };
        let Value::Str(value) = &node.value else {
            continue;
        };
        if let Some((os, ver)) = value.split_once(':')
            && os == "ubuntu"
        {
            let fixed = format!("{os}@{ver}");
            warnings.push(format!(
                "Warning: use of \":\" in field \"{key}\" is deprecated. Prefer \"{fixed}\" instead."
            ));
            node.value = Value::Str(fixed);
        }
    }
}

/// Validates the expanded document into a [`Project`], collecting every problem.
pub fn validate(doc: &Node, project_dir: &Path) -> Result<Project, Diagnostics> {
    let mut diags = Diagnostics::default();
    let project = validate_into(doc, project_dir, &mut diags);
    match project {
        Some(p) if diags.is_empty() => Ok(p),
        _ => {
            if diags.is_empty() {
                diags.push(Diagnostic::new("", doc.span, "invalid project file"));
            }
            diags.sort();
            Err(diags)
        }
    }
}

fn validate_into(doc: &Node, project_dir: &Path, diags: &mut Diagnostics) -> Option<Project> {
    if doc.value == Value::Null {
        diags.push(
            Diagnostic::new("", doc.span, "the project file is empty")
                .with_hint("run `rcraft init` to create a project file"),
        );
        return None;
    }
    let Some(f) = Fields::of("", doc, diags) else {
        if let Some(d) = diags.0.last_mut() {
            d.message = format!(
                "the project file must be a mapping of keys to values, not {}",
                doc.type_name()
            );
            d.field = String::new();
        }
        return None;
    };
    unsupported_keys(&f, diags);
    let allowed: Vec<&str> = TOP_LEVEL_KEYS.to_vec();
    f.deny_unknown(&allowed, diags);

    let name = f.req_str("name", diags);
    if let (Some(n), Some(node)) = (&name, f.get("name"))
        && !is_valid_name(n)
    {
        diags.push(Diagnostic::at("name", node, NAME_MESSAGE));
    }
    let title = f.str("title", diags);
    if let (Some(t), Some(node)) = (&title, f.get("title"))
        && !(2..=40).contains(&t.chars().count())
    {
        diags.push(Diagnostic::at(
            "title",
            node,
            "string should have between 2 and 40 characters",
        ));
    }
    let adopt_info = f.str("adopt-info", diags);
    let version = f.str_coerced("version", diags);
    if let (Some(v), Some(node)) = (&version, f.get("version")) {
        if v.chars().count() > 32 {
            diags.push(Diagnostic::at(
                "version",
                node,
                "string should have at most 32 characters",
            ));
        } else if !VERSION_RE.is_match(v) {
            diags.push(Diagnostic::at("version", node, VERSION_MESSAGE));
        }
    }
    let summary = f.str("summary", diags);
    let description = f.str("description", diags);
    if adopt_info.is_none() {
        let missing: Vec<&str> = [
            ("version", version.is_none() && !f.has("version")),
            ("summary", summary.is_none() && !f.has("summary")),
            (
                "description",
                description.is_none() && !f.has("description"),
            ),
        ]
        .into_iter()
        .filter_map(|(k, m)| m.then_some(k))
        .collect();
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|k| format!("'{k}'")).collect();
            diags.push(
                Diagnostic::new(
                    "",
                    doc.span,
                    format!(
                        "'adopt-info' not set and required fields are missing: {}",
                        list.join(", ")
                    ),
                )
                .with_hint("add the missing keys, or set `adopt-info` to a part that sets them with `craftctl set`"),
            );
        }
    }

    let (base, build_base) = bases(&f, diags);
    let platforms = platforms(&f, diags);
    let license = license(&f, diags);
    let contact = f.str_or_list("contact", diags);
    let issues = f.str_or_list("issues", diags);
    let source_code = f.str("source-code", diags);
    let environment = f.str_map("environment", diags);
    let interpolated: Vec<&str> = environment
        .iter()
        .filter(|(_, v)| v.contains('$'))
        .map(|(_, v)| v.as_str())
        .collect();
    if let (false, Some(node)) = (interpolated.is_empty(), f.get("environment")) {
        diags.push(
            Diagnostic::at(
                "environment",
                node,
                format!(
                    "String interpolation not allowed for: {}",
                    interpolated.join(", ")
                ),
            )
            .without_input(),
        );
    }
    let run_user = f.str("run-user", diags);
    if let (Some(u), Some(node)) = (&run_user, f.get("run-user"))
        && u != DAEMON_USER
    {
        diags.push(Diagnostic::at("run-user", node, one_of(&[DAEMON_USER])));
    }
    let services = f
        .get("services")
        .map(|n| pebble::services(n, diags))
        .unwrap_or_default();
    let checks = f
        .get("checks")
        .map(|n| pebble::checks(n, diags))
        .unwrap_or_default();
    pebble::cross_check(&services, &checks, doc, diags);
    let entrypoint_service = f.str("entrypoint-service", diags);
    let entrypoint_command = f.str("entrypoint-command", diags);
    entrypoints(
        &f,
        &entrypoint_service,
        &entrypoint_command,
        &services,
        diags,
    );

    let mut unsupported = Vec::new();
    let parts = match f.get("parts") {
        Some(node) => parts::parts(node, base.as_ref(), diags, &mut unsupported),
        None => {
            f.missing("parts", diags);
            Vec::new()
        }
    };
    if let (Some(info), Some(node)) = (&adopt_info, f.get("adopt-info"))
        && !parts.iter().any(|(n, _)| n == info)
    {
        diags.push(Diagnostic::at(
            "adopt-info",
            node,
            format!("'adopt-info' refers to part '{info}', which is not defined in 'parts'"),
        ));
    }
    let package_repositories = match f.get("package-repositories") {
        None => Vec::new(),
        Some(node) => match &node.value {
            Value::Null => Vec::new(),
            Value::Seq(items) => {
                if !items.is_empty() {
                    unsupported.push(Unsupported {
                        key: "package-repositories".to_string(),
                        part: None,
                        span: node.span,
                        hint: Some(
                            "stage what you need from the build base's own archive, or build it in a part"
                                .to_string(),
                        ),
                    });
                }
                items.iter().map(Node::to_json).collect()
            }
            _ => {
                diags.push(Diagnostic::at(
                    "package-repositories",
                    node,
                    "input should be a valid list",
                ));
                Vec::new()
            }
        },
    };

    let name = name?;
    Some(Project {
        project_dir: project_dir.to_path_buf(),
        title: title.unwrap_or_else(|| name.clone()),
        name,
        version: version.unwrap_or_default(),
        summary: summary.unwrap_or_default(),
        description: description.unwrap_or_default(),
        build_base: build_base?,
        base: base?,
        platforms,
        license,
        contact,
        issues,
        source_code,
        adopt_info,
        environment,
        run_user,
        services,
        checks,
        entrypoint_service,
        entrypoint_command,
        parts,
        unsupported,
        package_repositories,
        extensions: Vec::new(),
    })
}

/// Rockcraft's dedicated message for Docker-style keys.
fn unsupported_keys(f: &Fields, diags: &mut Diagnostics) {
    let found: Vec<_> = ["entrypoint", "cmd", "env"]
        .into_iter()
        .filter(|k| f.has(k))
        .collect();
    if let Some(first) = found.first() {
        let span = f
            .entries
            .iter()
            .find(|(k, _)| k.name == *first)
            .map(|(k, _)| k.span)
            .unwrap_or(f.span);
        diags.push(Diagnostic::new(
            "",
            span,
            "The fields 'entrypoint', 'cmd' and 'env' are not supported in Rockcraft. All rocks have Pebble as their entrypoint, so you must use 'services' to define your container application and respective entrypoints.",
        ));
    }
}

fn base_value(f: &Fields, key: &str, allowed: &[&str], diags: &mut Diagnostics) -> Option<Base> {
    let value = f.str(key, diags)?;
    if allowed.contains(&value.as_str()) {
        return Base::parse(&value);
    }
    let node = f.get(key)?;
    let mut d = Diagnostic::at(key, node, one_of(allowed));
    if let Some(h) = did_you_mean(&value, allowed.iter().copied()) {
        d = d.with_hint(h);
    }
    diags.push(d);
    None
}

fn bases(f: &Fields, diags: &mut Diagnostics) -> (Option<Base>, Option<Base>) {
    if !f.has("base") {
        f.missing("base", diags);
    }
    let base = base_value(f, "base", BASES, diags);
    let build_base = base_value(f, "build-base", BUILD_BASES, diags);
    let build_base = match (&base, build_base) {
        (_, Some(bb)) => Some(bb),
        (Some(Base::Bare), None) => {
            if !f.has("build-base") {
                diags.push(
                    Diagnostic::new(
                        "build-base",
                        f.span,
                        "When \"base\" is \"bare\", a build-base must be specified.",
                    )
                    .with_hint("add e.g. `build-base: ubuntu@24.04`"),
                );
            }
            None
        }
        (Some(b), None) if DEVEL_ONLY_BASES.contains(&b.to_string().as_str()) => {
            diags.push(Diagnostic::new(
                "build-base",
                f.span,
                format!(
                    "To build a rock with the unstable base '{b}', 'build-base' must be 'devel'."
                ),
            ));
            None
        }
        (Some(b), None) => Some(b.clone()),
        (None, None) => None,
    };
    if let (Some(b), Some(bb)) = (&base, &build_base)
        && DEVEL_ONLY_BASES.contains(&b.to_string().as_str())
        && *bb != Base::Devel
        && let Some(node) = f.get("build-base")
    {
        diags.push(Diagnostic::at(
            "build-base",
            node,
            format!("To build a rock with the unstable base '{b}', 'build-base' must be 'devel'."),
        ));
    }
    (base, build_base)
}

fn platforms(f: &Fields, diags: &mut Diagnostics) -> Vec<(String, Platform)> {
    let Some(node) = f.get("platforms") else {
        f.missing("platforms", diags);
        return Vec::new();
    };
    let Some(all) = Fields::of("platforms", node, diags) else {
        return Vec::new();
    };
    if all.entries.is_empty() {
        diags.push(
            Diagnostic::at("platforms", node, "at least one platform must be defined")
                .without_input(),
        );
    }
    let mut out = Vec::new();
    for (key, value) in all.entries {
        let label = &key.name;
        let path = format!("platforms.{label}");
        let err = |msg: String| {
            Diagnostic::new(
                &path,
                key.span,
                format!("Error for platform entry '{label}': {msg}"),
            )
        };
        if label == "*" || label == "any" || label.contains('/') {
            diags.push(err(
                "platform labels may not be '*' or 'any' and may not contain '/'".into(),
            ));
            continue;
        }
        let is_arch = ARCHITECTURES.contains(&label.as_str());
        if value.value == Value::Null {
            if is_arch {
                out.push((
                    label.clone(),
                    Platform {
                        build_on: vec![label.clone()],
                        build_for: label.clone(),
                    },
                ));
            } else {
                diags.push(err(format!(
                    "trying to build rock for target architecture {label}, which is not supported. Supported architectures: {}",
                    ARCHITECTURES.join(", ")
                )).with_hint("use an architecture name as the label, or give `build-on` and `build-for`"));
            }
            continue;
        }
        let Some(p) = Fields::of(&path, value, diags) else {
            continue;
        };
        p.deny_unknown(&["build-on", "build-for"], diags);
        let build_on = match p.get("build-on") {
            None => {
                p.missing("build-on", diags);
                None
            }
            Some(n) => Some(match &n.value {
                Value::Str(s) => vec![s.clone()],
                _ => super::fields::expect_str_list(&p.path_of("build-on"), n, diags),
            }),
        };
        let build_for = match p.get("build-for") {
            None => {
                p.missing("build-for", diags);
                None
            }
            Some(n) => match &n.value {
                Value::Str(s) => Some(s.clone()),
                Value::Seq(items) if items.len() == 1 => {
                    super::fields::expect_str(&p.path_of("build-for"), &items[0], diags)
                }
                _ => {
                    diags.push(Diagnostic::at(
                        p.path_of("build-for"),
                        n,
                        "input should be a valid string or a list of exactly one string",
                    ));
                    None
                }
            },
        };
        let (Some(build_on), Some(build_for)) = (build_on, build_for) else {
            continue;
        };
        let mut ok = true;
        for arch in build_on.iter().chain(std::iter::once(&build_for)) {
            if oci_arch(arch).is_none() {
                diags.push(err(format!(
                    "trying to build rock for target architecture {arch}, which is not supported. Supported architectures: {}",
                    ARCHITECTURES.join(", ")
                )));
                ok = false;
            }
        }
        if is_arch && build_for != *label {
            diags.push(err(format!(
                "if 'build-for' is provided and the platform entry label corresponds to a valid architecture, then both values must match. {label} != {build_for}"
            )));
            ok = false;
        }
        if build_on.is_empty() {
            diags.push(err("'build-on' must name at least one architecture".into()));
            ok = false;
        }
        if ok {
            out.push((
                label.clone(),
                Platform {
                    build_on,
                    build_for,
                },
            ));
        }
    }
    out
}

fn license(f: &Fields, diags: &mut Diagnostics) -> Option<String> {
    let value = f.str("license", diags)?;
    if value == "proprietary" || is_spdx_expression(&value) {
        return Some(value);
    }
    if let Some(node) = f.get("license") {
        diags.push(
            Diagnostic::at(
                "license",
                node,
                format!(
                    "License {value} not valid. It must be either 'proprietary' or in SPDX format."
                ),
            )
            .without_input(),
        );
    }
    None
}

/// SPDX expression syntax (identifiers joined by AND/OR/WITH, parentheses). The identifier list
/// itself is not checked: rcraft does not embed the SPDX licence list.
fn is_spdx_expression(s: &str) -> bool {
    let spaced = s.replace('(', " ( ").replace(')', " ) ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut depth = 0i32;
    let mut expect_id = true;
    for t in &tokens {
        match *t {
            "(" if expect_id => depth += 1,
            ")" if !expect_id => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            "AND" | "OR" | "WITH" if !expect_id => expect_id = true,
            id if expect_id && SPDX_ID_RE.is_match(id.trim_end_matches('+')) => expect_id = false,
            _ => return false,
        }
    }
    !tokens.is_empty() && depth == 0 && !expect_id
}

fn entrypoints(
    f: &Fields,
    service: &Option<String>,
    command: &Option<String>,
    services: &[(String, super::model::Service)],
    diags: &mut Diagnostics,
) {
    if let (Some(_), Some(_), Some(node)) = (service, command, f.get("entrypoint-command")) {
        diags.push(Diagnostic::at(
            "entrypoint-command",
            node,
            "'entrypoint-service' and 'entrypoint-command' are mutually exclusive",
        ));
    }
    if let (Some(name), Some(node)) = (service, f.get("entrypoint-service")) {
        match services.iter().find(|(n, _)| n == name) {
            None => diags.push(Diagnostic::at(
                "entrypoint-service",
                node,
                format!("The provided entrypoint-service '{name}' is not a valid Pebble service."),
            )),
            Some((_, svc)) if svc.command_parts.default_args.is_none() => {
                diags.push(Diagnostic::at(
                    "entrypoint-service",
                    node,
                    format!("The Pebble service '{name}' has a command {} without default arguments and thus cannot be used as the entrypoint-service.", svc.command),
                ).with_hint("end the service's command with a `[ default args ]` group"));
            }
            Some(_) => {}
        }
    }
    if let (Some(cmd), Some(node)) = (command, f.get("entrypoint-command"))
        && let Err(e) = pebble::parse_command(cmd)
    {
        diags.push(Diagnostic::at("entrypoint-command", node, e.to_string()));
    }
}
