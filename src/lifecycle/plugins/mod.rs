//! The [`Plugin`] trait: what a part's default build does, and the registry [`lookup`] that
//! maps a part's `plugin` name to an implementation.
//!
//! A plugin only fills the part's install dir from its build dir; pulling, organize, stage and
//! prime are the lifecycle's. To add a plugin (python, go, npm, ...): write a module with a
//! type implementing [`Plugin`], usually by running shell commands with
//! [`BuildContext::run_commands`], and add its name to [`lookup`].
//!
//! `python`, `go` and `npm` use the host's toolchains (`uv`, `go`, `node`/`npm`), as Rockcraft's
//! plugins use whatever the build instance has; [`host`] finds them and rcraft's cache for them.

mod dump;
mod go;
mod host;
mod nil;
mod npm;
mod python;
mod python_env;
mod python_install;

use std::path::Path;

use crate::project::Part;

pub use dump::Dump;
pub use go::Go;
pub use nil::Nil;
pub use npm::Npm;
pub use python::Python;

use super::StepError;

/// The default build of a part.
pub trait Plugin {
    /// The `plugin` name.
    fn name(&self) -> &'static str;

    /// Builds: reads `ctx.build_work_dir`, writes `ctx.install_dir`. Runs when the part has no
    /// `override-build`, or when it calls `craftctl default`.
    fn build(&self, ctx: &BuildContext<'_>) -> Result<(), StepError>;

    /// What the default build reads of the source (`source` is the source dir, or its
    /// `source-subdir`), so that the step cache can keep a build whose inputs did not change
    /// when other files of the source did. The default is the whole source.
    fn build_inputs(&self, _part: &Part, _source: &Path) -> BuildInputs {
        BuildInputs::WholeSource
    }
}

/// The part of a source a plugin's build depends on (see [`Plugin::build_inputs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildInputs {
    /// Every file of the source.
    WholeSource,
    /// Only these paths, relative to the source (missing ones count as missing).
    Files(Vec<String>),
}

/// Runs shell commands for a plugin, in the part's build environment.
pub trait CommandRunner {
    /// Runs `commands` (one bash script) in the build work dir; `label` names it in messages.
    fn run(&self, label: &str, commands: &str) -> Result<(), StepError>;
}

/// What a plugin's build sees.
pub struct BuildContext<'a> {
    /// The part's name.
    pub part_name: &'a str,
    /// The part (for plugin properties such as `python-requirements`).
    pub part: &'a Part,
    /// `$CRAFT_PART_BUILD_WORK`: the build dir, or its `source-subdir`.
    pub build_work_dir: &'a Path,
    /// `$CRAFT_PART_INSTALL`.
    pub install_dir: &'a Path,
    /// Runs commands with the step environment.
    pub runner: &'a dyn CommandRunner,
    /// `$CRAFT_STAGE`: what the parts this one is `after` staged.
    pub stage_dir: &'a Path,
    /// The part's `run/` dir, where scripts and their logs go (plugins keep tool output there).
    pub run_dir: &'a Path,
    /// The base image's unpacked root filesystem (`None` for `bare`, or when not known).
    pub base_rootfs: Option<&'a Path>,
    /// Whether the project's base is `bare`.
    pub bare: bool,
    /// Debian architecture the rock is for, e.g. `amd64`.
    pub build_for: &'a str,
    /// Debian architecture of the host.
    pub build_on: &'a str,
    /// `$CRAFT_PARALLEL_BUILD_COUNT` (at least 1).
    pub parallel_build_count: usize,
}

impl BuildContext<'_> {
    /// Runs `commands` as one bash script (`set -euo pipefail`) in the build work dir, with the
    /// part's build environment.
    pub fn run_commands(&self, label: &str, commands: &[String]) -> Result<(), StepError> {
        self.runner.run(label, &commands.join("\n"))
    }

    /// Whether the part's `build-environment` sets `name` (a plugin's default then yields).
    pub fn sets_env(&self, name: &str) -> bool {
        self.part.build_environment.iter().any(|(k, _)| k == name)
    }

    /// The value of the plugin property `key` (e.g. `python-requirements`), if set.
    pub fn property(&self, key: &str) -> Option<&serde_json::Value> {
        property(self.part, key)
    }

    /// The plugin property `key` as a list of strings (absent or null: empty).
    pub fn string_list(&self, key: &'static str) -> Result<Vec<String>, StepError> {
        string_list(self.part, key)
    }
}

/// The value of `part`'s plugin property `key`, if set.
fn property<'p>(part: &'p Part, key: &str) -> Option<&'p serde_json::Value> {
    part.plugin_properties
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The plugin property `key` of `part` as a list of strings (absent or null: empty).
pub fn string_list(part: &Part, key: &'static str) -> Result<Vec<String>, StepError> {
    let bad = |reason: &str| StepError::BadValue {
        key,
        value: property(part, key)
            .map(|v| v.to_string())
            .unwrap_or_default(),
        reason: reason.to_string(),
    };
    match property(part, key) {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s.clone()),
                _ => Err(bad("expected a list of strings")),
            })
            .collect(),
        Some(_) => Err(bad("expected a list of strings")),
    }
}

/// The plugin named `name`, if rcraft implements it.
pub fn lookup(name: &str) -> Option<Box<dyn Plugin>> {
    match name {
        "nil" => Some(Box::new(Nil)),
        "dump" => Some(Box::new(Dump)),
        "python" => Some(Box::new(Python)),
        "go" => Some(Box::new(Go)),
        "npm" => Some(Box::new(Npm)),
        _ => None,
    }
}
