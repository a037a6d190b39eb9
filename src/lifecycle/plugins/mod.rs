//! The [`Plugin`] trait: what a part's default build does, and the registry [`lookup`] that
//! maps a part's `plugin` name to an implementation.
//!
//! A plugin only fills the part's install dir from its build dir; pulling, organize, stage and
//! prime are the lifecycle's. To add a plugin (python, go, npm, ...): write a module with a
//! type implementing [`Plugin`], usually by running shell commands with
//! [`BuildContext::run_commands`], and add its name to [`lookup`].

mod dump;
mod nil;

use std::path::Path;

use crate::project::Part;

pub use dump::Dump;
pub use nil::Nil;

use super::StepError;

/// The default build of a part.
pub trait Plugin {
    /// The `plugin` name.
    fn name(&self) -> &'static str;

    /// Builds: reads `ctx.build_work_dir`, writes `ctx.install_dir`. Runs when the part has no
    /// `override-build`, or when it calls `craftctl default`.
    fn build(&self, ctx: &BuildContext<'_>) -> Result<(), StepError>;
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
}

impl BuildContext<'_> {
    /// Runs `commands` as one bash script (`set -euo pipefail`) in the build work dir, with the
    /// part's build environment.
    pub fn run_commands(&self, label: &str, commands: &[String]) -> Result<(), StepError> {
        self.runner.run(label, &commands.join("\n"))
    }
}

/// The plugin named `name`, if rcraft implements it.
pub fn lookup(name: &str) -> Option<Box<dyn Plugin>> {
    match name {
        "nil" => Some(Box::new(Nil)),
        "dump" => Some(Box::new(Dump)),
        _ => None,
    }
}
