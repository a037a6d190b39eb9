//! The plan: layer files found in `$PEBBLE/layers`, combined by Pebble's rules, validated.
//!
//! Files are named `NNN-label.yaml` (or `NNN-label.d/MMM-sub.yaml`, one level deep) and applied
//! in order. For each service or check a layer either `replace`s the previous definition or
//! `merge`s into it: scalars win when set, maps are overlaid key by key, lists are appended
//! ([`merge_service`], [`merge_check`]). The combined plan must give every service a command,
//! every check exactly one of `http`/`tcp`/`exec`, and its `after`/`before`/`requires` must name
//! known services without cycles. [`Plan::start_order`] turns those into a start order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::layer::{self, Check, Override, Service, Startup};
use super::yaml;
use crate::project::pebble::parse_command;

/// Default `backoff-delay`.
pub const BACKOFF_DELAY: Duration = Duration::from_millis(500);
/// Default `backoff-factor`.
pub const BACKOFF_FACTOR: f64 = 2.0;
/// Default `backoff-limit`.
pub const BACKOFF_LIMIT: Duration = Duration::from_secs(30);
/// Default `kill-delay`.
pub const KILL_DELAY: Duration = Duration::from_secs(5);

/// One layer file, decoded.
#[derive(Clone, Debug)]
pub struct Layer {
    /// `NNN` (times 1000, plus `MMM` for files in a `.d` directory).
    pub order: u32,
    /// `label` or `label/sub`.
    pub label: String,
    /// The file it came from.
    pub path: PathBuf,
    /// Its content.
    pub doc: layer::LayerDoc,
}

/// Why the plan cannot be loaded.
#[derive(Debug)]
pub enum PlanError {
    /// A file or directory cannot be read or is misnamed.
    Io(PathBuf, String),
    /// A layer file has a syntax or field error.
    Layer(PathBuf, String),
    /// The combined plan is invalid.
    Invalid(String),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Io(p, m) => write!(f, "{}: {m}", p.display()),
            PlanError::Layer(p, m) => write!(f, "cannot load layer file {}: {m}", p.display()),
            PlanError::Invalid(m) => write!(f, "invalid plan: {m}"),
        }
    }
}

/// The combined plan.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Services by name.
    pub services: BTreeMap<String, Service>,
    /// Checks by name.
    pub checks: BTreeMap<String, Check>,
}

/// Splits `NNN-label.yaml` / `NNN-label.d` into the order and label; `None` if the name does not
/// match Pebble's pattern `^([0-9]{3})-([a-z](?:-?[a-z0-9]){2,})(\.yaml|\.d)$`.
pub fn parse_layer_name(name: &str, ext: &str) -> Option<(u32, String)> {
    let stem = name.strip_suffix(ext)?;
    let (num, label) = stem.split_at_checked(3)?;
    let label = label.strip_prefix('-')?;
    if !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bytes = label.as_bytes();
    let ok = bytes.len() >= 3
        && bytes[0].is_ascii_lowercase()
        && !label.ends_with('-')
        && !label.contains("--")
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && label.chars().filter(|c| *c != '-').count() >= 3;
    ok.then(|| (num.parse().unwrap_or(0), label.to_string()))
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<(String, PathBuf)>, PlanError> {
    let entries = std::fs::read_dir(dir).map_err(|e| PlanError::Io(dir.into(), e.to_string()))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| PlanError::Io(dir.into(), e.to_string()))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push((name.to_string(), entry.path()));
        }
    }
    names.sort();
    Ok(names)
}

fn read_layer(path: &Path, order: u32, label: String) -> Result<Layer, PlanError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| PlanError::Io(path.into(), format!("cannot read: {e}")))?;
    let node = yaml::parse(&text)
        .map_err(|e| PlanError::Layer(path.into(), format!("{} (line {})", e.message, e.line)))?;
    let doc =
        layer::decode(&node, &label).map_err(|e| PlanError::Layer(path.into(), e.to_string()))?;
    Ok(Layer {
        order,
        label,
        path: path.into(),
        doc,
    })
}

/// Reads the layer files of `layers_dir` (a missing directory means no layers).
pub fn read_layers(layers_dir: &Path) -> Result<Vec<Layer>, PlanError> {
    if !layers_dir.exists() {
        return Ok(Vec::new());
    }
    let mut layers = Vec::new();
    let mut seen_orders = BTreeMap::new();
    for (name, path) in read_dir_sorted(layers_dir)? {
        let is_dir = path.is_dir();
        let ext = if is_dir { ".d" } else { ".yaml" };
        if !name.ends_with(ext) {
            continue;
        }
        let Some((order, label)) = parse_layer_name(&name, ext) else {
            return Err(PlanError::Io(
                path,
                "invalid layer filename: want NNN-label.yaml (three digits, a lowercase label of at least 3 characters)".into(),
            ));
        };
        if let Some(other) = seen_orders.insert(order, name.clone()) {
            return Err(PlanError::Io(
                path,
                format!("invalid layer filename: order {order:03} is also used by {other}"),
            ));
        }
        if !is_dir {
            layers.push(read_layer(&path, order * 1000, label)?);
            continue;
        }
        for (sub, sub_path) in read_dir_sorted(&path)? {
            if !sub.ends_with(".yaml") || sub_path.is_dir() {
                continue;
            }
            let Some((sub_order, sub_label)) = parse_layer_name(&sub, ".yaml") else {
                return Err(PlanError::Io(sub_path, "invalid layer filename".into()));
            };
            if sub_order == 0 {
                return Err(PlanError::Io(
                    sub_path,
                    "invalid layer order 000 in a .d directory".into(),
                ));
            }
            layers.push(read_layer(
                &sub_path,
                order * 1000 + sub_order,
                format!("{label}/{sub_label}"),
            )?);
        }
    }
    let mut labels = BTreeSet::new();
    for l in &layers {
        if l.label.starts_with("pebble-") {
            return Err(PlanError::Io(
                l.path.clone(),
                "the label prefix \"pebble-\" is reserved".into(),
            ));
        }
        if !labels.insert(l.label.clone()) {
            return Err(PlanError::Io(
                l.path.clone(),
                format!("duplicate layer label {:?}", l.label),
            ));
        }
    }
    Ok(layers)
}

fn set<T: Clone>(old: &mut Option<T>, new: &Option<T>) {
    if new.is_some() {
        old.clone_from(new);
    }
}

/// Merges `new` into `old` field by field (Pebble's `Service.Merge`).
pub fn merge_service(old: &mut Service, new: &Service) {
    set(&mut old.summary, &new.summary);
    set(&mut old.description, &new.description);
    set(&mut old.command, &new.command);
    set(&mut old.startup, &new.startup);
    old.after.extend(new.after.iter().cloned());
    old.before.extend(new.before.iter().cloned());
    old.requires.extend(new.requires.iter().cloned());
    old.environment.extend(new.environment.clone());
    set(&mut old.user, &new.user);
    set(&mut old.user_id, &new.user_id);
    set(&mut old.group, &new.group);
    set(&mut old.group_id, &new.group_id);
    set(&mut old.working_dir, &new.working_dir);
    set(&mut old.on_success, &new.on_success);
    set(&mut old.on_failure, &new.on_failure);
    old.on_check_failure.extend(new.on_check_failure.clone());
    set(&mut old.backoff_delay, &new.backoff_delay);
    set(&mut old.backoff_factor, &new.backoff_factor);
    set(&mut old.backoff_limit, &new.backoff_limit);
    set(&mut old.kill_delay, &new.kill_delay);
}

/// Merges `new` into `old` field by field, including the `http`/`tcp`/`exec` sub-objects.
pub fn merge_check(old: &mut Check, new: &Check) {
    set(&mut old.level, &new.level);
    set(&mut old.startup, &new.startup);
    set(&mut old.period, &new.period);
    set(&mut old.timeout, &new.timeout);
    set(&mut old.threshold, &new.threshold);
    if let Some(n) = &new.http {
        let o = old.http.get_or_insert_with(Default::default);
        set(&mut o.url, &n.url);
        o.headers.extend(n.headers.clone());
    }
    if let Some(n) = &new.tcp {
        let o = old.tcp.get_or_insert_with(Default::default);
        set(&mut o.port, &n.port);
        set(&mut o.host, &n.host);
    }
    if let Some(n) = &new.exec {
        let o = old.exec.get_or_insert_with(Default::default);
        set(&mut o.command, &n.command);
        set(&mut o.service_context, &n.service_context);
        o.environment.extend(n.environment.clone());
        set(&mut o.user, &n.user);
        set(&mut o.user_id, &n.user_id);
        set(&mut o.group, &n.group);
        set(&mut o.group_id, &n.group_id);
        set(&mut o.working_dir, &n.working_dir);
    }
}

/// Combines layers in order (Pebble's `CombineLayers`), without validating the result.
pub fn combine<'a>(layers: impl IntoIterator<Item = &'a layer::LayerDoc>) -> Plan {
    let mut plan = Plan::default();
    for doc in layers {
        for (name, svc) in &doc.services {
            match (svc.override_, plan.services.get_mut(name)) {
                (Some(Override::Merge), Some(old)) => merge_service(old, svc),
                _ => {
                    plan.services.insert(name.clone(), svc.clone());
                }
            }
        }
        for (name, chk) in &doc.checks {
            match (chk.override_, plan.checks.get_mut(name)) {
                (Some(Override::Merge), Some(old)) => merge_check(old, chk),
                _ => {
                    plan.checks.insert(name.clone(), chk.clone());
                }
            }
        }
    }
    plan
}

/// Loads, combines and validates the layers in `pebble_dir/layers`.
pub fn load(pebble_dir: &Path) -> Result<Plan, PlanError> {
    let layers = read_layers(&pebble_dir.join("layers"))?;
    let plan = combine(layers.iter().map(|l| &l.doc));
    plan.validate()?;
    Ok(plan)
}

impl Plan {
    /// Checks the combined plan: commands, check types, references, ordering cycles.
    pub fn validate(&self) -> Result<(), PlanError> {
        let bad = |m: String| Err(PlanError::Invalid(m));
        for (name, svc) in &self.services {
            let Some(command) = &svc.command else {
                return bad(format!(
                    "services.{name}.command: service {name:?} has no command"
                ));
            };
            if let Err(e) = parse_command(command) {
                return bad(format!("services.{name}.command: {e}"));
            }
            for (field, list) in [
                ("after", &svc.after),
                ("before", &svc.before),
                ("requires", &svc.requires),
            ] {
                if let Some(other) = list.iter().find(|o| !self.services.contains_key(*o)) {
                    return bad(format!(
                        "services.{name}.{field}: service {name:?} has unknown dependency {other:?}"
                    ));
                }
            }
            if let Some(check) = svc
                .on_check_failure
                .keys()
                .find(|c| !self.checks.contains_key(*c))
            {
                return bad(format!(
                    "services.{name}.on-check-failure: service {name:?} has on-check-failure action for unknown check {check:?}"
                ));
            }
        }
        for (name, chk) in &self.checks {
            let kinds = [chk.http.is_some(), chk.tcp.is_some(), chk.exec.is_some()];
            if kinds.iter().filter(|k| **k).count() != 1 {
                return bad(format!(
                    "checks.{name}: must have exactly one of http, tcp or exec"
                ));
            }
            if chk.http.as_ref().is_some_and(|h| h.url.is_none()) {
                return bad(format!("checks.{name}.http.url: required"));
            }
            if chk.tcp.as_ref().is_some_and(|t| t.port.is_none()) {
                return bad(format!("checks.{name}.tcp.port: required"));
            }
            if let Some(e) = &chk.exec {
                if e.command.is_none() {
                    return bad(format!("checks.{name}.exec.command: required"));
                }
                if let Some(s) = e
                    .service_context
                    .as_ref()
                    .filter(|s| !self.services.contains_key(*s))
                {
                    return bad(format!(
                        "checks.{name}.exec.service-context: unknown service {s:?}"
                    ));
                }
            }
            if chk.period == Some(Duration::ZERO) || chk.timeout == Some(Duration::ZERO) {
                return bad(format!(
                    "checks.{name}: period and timeout must not be zero"
                ));
            }
            if chk.threshold == Some(0) {
                return bad(format!("checks.{name}.threshold: must be at least 1"));
            }
        }
        let all: Vec<String> = self.services.keys().cloned().collect();
        if let Err(cycle) = self.order(&all) {
            return bad(format!(
                "services in before/after loop: {}",
                cycle.join(", ")
            ));
        }
        Ok(())
    }

    /// Services that must have started before `name` starts: its `after` plus every service
    /// listing it in `before`.
    pub fn deps(&self, name: &str) -> BTreeSet<String> {
        let mut deps: BTreeSet<String> = self
            .services
            .get(name)
            .map(|s| s.after.iter().cloned().collect())
            .unwrap_or_default();
        for (other, svc) in &self.services {
            if svc.before.iter().any(|b| b == name) {
                deps.insert(other.clone());
            }
        }
        deps
    }

    /// The `startup: enabled` services plus everything they (transitively) require.
    pub fn default_services(&self) -> Vec<String> {
        let mut set = BTreeSet::new();
        let mut todo: Vec<String> = self
            .services
            .iter()
            .filter(|(_, s)| s.startup == Some(Startup::Enabled))
            .map(|(n, _)| n.clone())
            .collect();
        while let Some(n) = todo.pop() {
            if set.insert(n.clone())
                && let Some(s) = self.services.get(&n)
            {
                todo.extend(s.requires.iter().cloned());
            }
        }
        set.into_iter().collect()
    }

    /// Orders `names` so that each comes after its [`Plan::deps`] (ties by name); `Err` with the
    /// services in a cycle.
    pub fn order(&self, names: &[String]) -> Result<Vec<String>, Vec<String>> {
        let wanted: BTreeSet<&String> = names.iter().collect();
        let mut left: BTreeMap<&String, BTreeSet<String>> = wanted
            .iter()
            .map(|n| {
                let deps = self
                    .deps(n)
                    .into_iter()
                    .filter(|d| wanted.contains(d))
                    .collect();
                (*n, deps)
            })
            .collect();
        let mut out = Vec::new();
        while !left.is_empty() {
            let ready: Vec<&String> = left
                .iter()
                .filter(|(_, d)| d.is_empty())
                .map(|(n, _)| *n)
                .collect();
            if ready.is_empty() {
                return Err(left.keys().map(|s| s.to_string()).collect());
            }
            for n in ready {
                left.remove(n);
                for deps in left.values_mut() {
                    deps.remove(n.as_str());
                }
                out.push(n.clone());
            }
        }
        Ok(out)
    }

    /// `--args SERVICE args...`: replaces the service's `[ default args ]` (or appends them).
    pub fn set_args(&mut self, service: &str, args: &[String]) -> Result<(), String> {
        let Some(svc) = self.services.get_mut(service) else {
            return Err(format!(
                "cannot use --args: service {service:?} not found in plan"
            ));
        };
        let command = svc.command.as_deref().unwrap_or_default();
        let parts = parse_command(command).map_err(|e| format!("service {service:?}: {e}"))?;
        svc.command = Some(render_command(&parts.base, Some(args))?);
        Ok(())
    }
}

/// Renders `base [ group ]` back into a command string (shell-quoted).
pub fn render_command(base: &[String], group: Option<&[String]>) -> Result<String, String> {
    let quote = |words: &[String]| {
        shlex::try_join(words.iter().map(String::as_str))
            .map_err(|e| format!("cannot quote command: {e}"))
    };
    let mut out = quote(base)?;
    if let Some(group) = group {
        out.push_str(" [ ");
        if !group.is_empty() {
            out.push_str(&quote(group)?);
            out.push(' ');
        }
        out.push(']');
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
