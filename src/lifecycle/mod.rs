//! The parts lifecycle: [`run`] takes a [`Project`] through pull -> build -> stage -> prime on
//! the host and returns an [`Outcome`] (the prime dir and which files each part primed), which
//! the `pack` module turns into one OCI layer per part.
//!
//! It sits between `project::load` (which produced the validated [`Project`]) and `pack`.
//! Modules, in the order a run uses them:
//! * [`order`]: part order from `after`;
//! * [`dirs`]: the work dir layout;
//! * [`steps`]: the four steps, one function each, and `craftctl` requests;
//! * [`plugins`]: what a part's default build does (`nil`, `dump`, `python`, `go`, `npm`);
//! * [`filters`], [`glob`], [`permissions`]: `organize`, `stage`/`prime` filesets, `permissions`;
//! * [`scripts`], [`craftctl`]: override scripts, their environment and `craftctl`;

pub mod clean;
pub mod craftctl;
pub mod dirs;
mod error;
pub mod filters;
pub mod glob;
pub mod order;
pub mod permissions;
pub mod plugins;
pub mod preflight;
pub mod scripts;
pub mod state;
pub mod steps;

#[cfg(test)]
pub(crate) mod tests;

use std::fmt;
use std::path::PathBuf;

use crate::progress::Progress;
use crate::project::Project;

pub use error::{LifecycleError, StepError};

/// How to run the lifecycle.
#[derive(Clone, Debug)]
pub struct LifecycleOptions {
    /// Holds `parts/<name>/{src,build,install}`, `stage/`, `prime/`; e.g.
    /// `<project>/.rcraft/work/<platform>`.
    pub work_dir: PathBuf,
    /// Debian architecture the rock is for, e.g. `amd64`.
    pub build_for: String,
    /// Debian architecture of the host.
    pub build_on: String,
    /// `$CRAFT_PARALLEL_BUILD_COUNT`.
    pub parallel_build_count: usize,
    /// Stream script output to stderr; when false it is captured and shown only on failure.
    pub verbose: bool,
    /// The base image's unpacked root filesystem (`None` for `bare`): plugins look there for
    /// what the image already has (the python plugin: its Python and glibc).
    pub base_rootfs: Option<PathBuf>,
    /// How to fetch `stage-packages` (mirrors, cache, base image, lock file); `None` makes a
    /// part with `stage-packages` fail.
    pub packages: Option<crate::debs::PackagesContext>,
}

/// What a run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The prime dir: the rock's file system.
    pub prime_dir: PathBuf,
    /// What each part contributed to the prime dir, in lifecycle order.
    pub parts: Vec<PrimedPart>,
    /// Values set with `craftctl set key=value` (version, summary, ...), in the order first
    /// set, each with its last value.
    pub adopted: Vec<(String, String)>,
}

/// The paths one part put into the prime dir.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrimedPart {
    /// The part's name.
    pub name: String,
    /// Its files and directories (parents before children). A path an earlier part already
    /// primed with the same content is listed only under that part; directories above a listed
    /// path are listed too.
    pub files: Vec<PrimedFile>,
}

/// One path a part primed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrimedFile {
    /// Relative to the prime dir, `/`-separated, no leading `/`.
    pub path: String,
    /// Owner from `permissions:` (`None`: root).
    pub owner: Option<u32>,
    /// Group from `permissions:` (`None`: root).
    pub group: Option<u32>,
    /// Mode from `permissions:` (`None`: the mode on disk).
    pub mode: Option<u32>,
}

/// A lifecycle step, in execution order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// Fetch the source into `parts/<p>/src`.
    Pull,
    /// Build into `parts/<p>/install`.
    Build,
    /// Copy the install dir into the shared `stage/`.
    Stage,
    /// Copy from `stage/` into `prime/`.
    Prime,
}

impl Step {
    /// All steps in order.
    pub const ALL: [Step; 4] = [Step::Pull, Step::Build, Step::Stage, Step::Prime];

    /// The step before this one.
    pub fn previous(self) -> Option<Step> {
        match self {
            Step::Pull => None,
            Step::Build => Some(Step::Pull),
            Step::Stage => Some(Step::Build),
            Step::Prime => Some(Step::Stage),
        }
    }

    /// Lowercase name, as in `override-<name>`.
    pub fn name(self) -> &'static str {
        match self {
            Step::Pull => "pull",
            Step::Build => "build",
            Step::Stage => "stage",
            Step::Prime => "prime",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Runs pull, build, stage and prime for every part of `project` in `opts.work_dir`, starting
/// from empty part, stage and prime directories.
///
/// Sets the process umask to `022` first and leaves it so: files rcraft and the scripts create
/// (directories in stage and prime, files written by override scripts) must get the same modes
/// whatever umask the user has, or the same project would give different layers.
/// Progress lines (`Building app`, `Skipping pull for app (already ran)`) go to `progress`.
pub fn run(
    project: &Project,
    opts: &LifecycleOptions,
    progress: &dyn Progress,
) -> Result<Outcome, LifecycleError> {
    run_to(project, opts, Step::Prime, &[], progress)
}

/// Runs the steps up to `target` for the named parts (all when empty) and what they need of
/// the parts they are `after`, like `rcraft build app`. Unknown names are an error.
pub fn run_to(
    project: &Project,
    opts: &LifecycleOptions,
    target: Step,
    parts: &[String],
    progress: &dyn Progress,
) -> Result<Outcome, LifecycleError> {
    preflight::check(project)?;
    // SAFETY: umask has no memory-safety preconditions.
    unsafe {
        libc::umask(0o022);
    }
    let order = order::part_order(project)?;
    let names: Vec<&str> = order.iter().map(|&i| project.parts[i].0.as_str()).collect();
    let mut only = Vec::new();
    for name in parts {
        match names.iter().position(|n| n == name) {
            Some(i) => only.push(i),
            None => {
                return Err(LifecycleError::UnknownPart {
                    part: name.clone(),
                    known: names.iter().map(|n| n.to_string()).collect(),
                });
            }
        }
    }
    let only = (!parts.is_empty()).then_some(only.as_slice());
    steps::Lifecycle::new(project, opts, &order, progress)?.run_to(target, only)
}
