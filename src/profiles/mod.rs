//! Framework profiles ("extensions"): `flask-framework`, `django-framework`,
//! `fastapi-framework`, `go-framework` and `expressjs-framework`, kept as data.
//!
//! A project lists them under `extensions:`. [`expand`] validates the names and the base,
//! checks the project directory for what the framework needs (reporting every problem at once),
//! builds each extension's root snippet — the static data in `profiles/<name>.yaml` ([`data`])
//! plus the few keys computed from the project ([`frameworks`], [`python`]) — and merges it into
//! the project with Rockcraft's rules ([`merge`]), in sorted name order. The `extensions` key is
//! then gone: the rest of rcraft only ever sees plain parts and services.
//!
//! rcraft differences from Rockcraft are listed at the top of each data file; in short: no
//! statsd exporter for flask/django, gunicorn's config written by a build script, `debian@12`
//! accepted by every extension, Go from the host. The experimental `spring-boot-framework` and
//! the `ubuntu@26.04` ("V2") variants are not provided.

mod data;
mod frameworks;
mod merge;
mod python;

use std::path::Path;

use crate::yaml::diag::did_you_mean;
use crate::yaml::{Diagnostic, Diagnostics};
use crate::yaml::{Node, Span, Value};

pub use merge::{merge_root, merge_value};

/// Rockcraft's documentation, which rcraft's messages and templates point to.
pub const DOCS_URL: &str = "https://documentation.ubuntu.com/rockcraft/stable";

/// Set (non-empty) to allow experimental extensions, as in Rockcraft.
pub const EXPERIMENTAL_ENV: &str = "ROCKCRAFT_ENABLE_EXPERIMENTAL_EXTENSIONS";

/// An extension as `rcraft list-extensions` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionInfo {
    /// Its name, e.g. `flask-framework`.
    pub name: &'static str,
    /// The `base` values it supports.
    pub bases: Vec<&'static str>,
    /// Whether it needs `ROCKCRAFT_ENABLE_EXPERIMENTAL_EXTENSIONS`.
    pub experimental: bool,
}

/// All extensions, sorted by name.
pub fn list() -> Vec<ExtensionInfo> {
    data::all()
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .map(|p| ExtensionInfo {
            name: p.name,
            bases: p.bases.iter().map(String::as_str).collect(),
            experimental: p.experimental,
        })
        .collect()
}

/// Expands the `extensions` listed in `doc` into it (removing the key) and runs their project
/// checks. Returns the names of the extensions applied, sorted.
///
/// Absent, `null` or empty `extensions` leave `doc` untouched. An empty document (`null`) is
/// left for the schema to report.
pub fn expand(doc: &mut Node, project_dir: &Path) -> Result<Vec<String>, Diagnostics> {
    let allow_experimental = std::env::var_os(EXPERIMENTAL_ENV).is_some_and(|v| !v.is_empty());
    expand_with(doc, project_dir, allow_experimental)
}

fn expand_with(
    doc: &mut Node,
    project_dir: &Path,
    allow_experimental: bool,
) -> Result<Vec<String>, Diagnostics> {
    let names = match requested(doc)? {
        Some(names) if !names.is_empty() => names,
        _ => return Ok(Vec::new()),
    };
    doc.remove("extensions");
    let mut problems = Diagnostics::default();
    let mut applied = Vec::new();
    for (name, span) in names {
        let Some(profile) = data::all()
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .find(|p| p.name == name)
        else {
            problems.push(Diagnostic::new(
                "extensions",
                span,
                format!("Extension '{name}' could not be loaded (rcraft's data is broken)"),
            ));
            continue;
        };
        if let Err(d) = validate(profile, doc, span, allow_experimental) {
            problems.push(d);
            continue;
        }
        let base = doc.get("base").and_then(Node::scalar_to_string);
        let ctx = frameworks::Ctx {
            doc,
            dir: project_dir,
            profile,
            bare: base.as_deref() == Some("bare"),
            span,
        };
        match frameworks::root_snippet(&ctx) {
            Ok(snippet) if problems.is_empty() => merge_root(doc, snippet),
            Ok(_) => {}
            Err(mut found) => {
                drop_repeated_hints(&mut found);
                found.into_iter().for_each(|d| problems.push(d));
            }
        }
        applied.push(name);
    }
    if problems.is_empty() {
        Ok(applied)
    } else {
        Err(problems)
    }
}

/// The extension names requested in `doc`, sorted and without duplicates, each with the
/// position of its first mention; `None` when there is nothing to expand.
fn requested(doc: &Node) -> Result<Option<Vec<(String, Span)>>, Diagnostics> {
    let one = |d: Diagnostic| Diagnostics(vec![d]);
    match &doc.value {
        Value::Null => return Ok(None),
        Value::Map(_) => {}
        _ => {
            return Err(one(Diagnostic::new(
                "",
                doc.span,
                format!(
                    "the project file must be a mapping of keys to values, not {}",
                    doc.type_name()
                ),
            )));
        }
    }
    let Some(node) = doc.get("extensions") else {
        return Ok(None);
    };
    let items = match &node.value {
        Value::Null => return Ok(None),
        Value::Seq(items) => items,
        _ => {
            return Err(one(Diagnostic::at(
                "extensions",
                node,
                "input should be a valid list",
            )));
        }
    };
    let mut problems = Diagnostics::default();
    let mut names: Vec<(String, Span)> = Vec::new();
    for item in items {
        let Some(name) = item.as_str() else {
            problems.push(Diagnostic::at(
                "extensions",
                item,
                "input should be a valid string",
            ));
            continue;
        };
        if !data::names().any(|n| n == name) {
            let mut d = Diagnostic::new(
                "extensions",
                item.span,
                format!("Extension '{name}' does not exist"),
            );
            if let Some(hint) = did_you_mean(name, data::names()) {
                d = d.with_hint(hint);
            }
            problems.push(d);
            continue;
        }
        if !names.iter().any(|(n, _)| n == name) {
            names.push((name.to_string(), item.span));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Some(names))
}

/// Keeps a hint only on the last problem that has it (one docs pointer per extension).
fn drop_repeated_hints(found: &mut [Diagnostic]) {
    for i in 0..found.len() {
        let repeated = found[i + 1..]
            .iter()
            .any(|later| later.hint.is_some() && later.hint == found[i].hint);
        if repeated {
            found[i].hint = None;
        }
    }
}

/// Rockcraft's extension validation: experimental gating, then the supported bases.
fn validate(
    profile: &data::ProfileData,
    doc: &Node,
    span: Span,
    allow_experimental: bool,
) -> Result<(), Diagnostic> {
    let name = profile.name;
    if profile.experimental && !allow_experimental {
        return Err(Diagnostic::new(
            "extensions",
            span,
            format!("Extension is experimental: '{name}'"),
        )
        .with_hint(format!(
            "Run with {EXPERIMENTAL_ENV}=True to enable experimental extensions."
        )));
    }
    // Without a base there is nothing to check here; the schema reports the missing key.
    let Some(base_node) = doc.get("base") else {
        return Ok(());
    };
    let base = base_node.scalar_to_string().unwrap_or_default();
    if !profile.bases.contains(&base.replace(':', "@")) {
        let supported = profile.bases.join(", ");
        return Err(Diagnostic::new(
            "base",
            base_node.span,
            format!("Extension '{name}' does not support base: '{base}'"),
        )
        .with_hint(format!("'{name}' supports: {supported}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
