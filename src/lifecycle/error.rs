//! [`LifecycleError`], everything [`super::run`] can fail with, and [`StepError`], the cause of
//! a failure inside one part's step.
//!
//! Errors that happen while a part runs a step are wrapped as [`LifecycleError::Step`], which
//! names the part and the step, so every message reads like
//! "part 'app' failed in step build: override-build exited with status 2".

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::Step;

/// Why the parts lifecycle failed.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// An `after` entry names a part that does not exist.
    #[error("cannot order parts: part '{part}' is after unknown part '{after}'")]
    UnknownAfter {
        /// The part whose `after` is wrong.
        part: String,
        /// The unknown name.
        after: String,
    },
    /// The `after` relations form a cycle.
    #[error("cannot order parts: circular dependency in 'after': {}", .cycle.join(" -> "))]
    Cycle {
        /// The parts of the cycle, the first repeated at the end.
        cycle: Vec<String>,
    },
    /// A part named on the command line does not exist.
    #[error("part '{part}' is not defined in the project (parts: {})", .known.join(", "))]
    UnknownPart {
        /// The name given.
        part: String,
        /// The project's parts.
        known: Vec<String>,
    },
    /// The part uses a plugin rcraft does not implement (yet).
    #[error("plugin '{plugin}' is not supported yet (part '{part}')")]
    UnsupportedPlugin {
        /// The part.
        part: String,
        /// The plugin name.
        plugin: String,
    },
    /// The project uses keys, plugins or sources rcraft cannot honour yet (see
    /// [`super::preflight`]); one line per problem.
    #[error("{}", .problems.join("\n"))]
    NotSupported {
        /// Each problem, worded for the user.
        problems: Vec<String>,
    },
    /// The work directory could not be prepared.
    #[error("cannot prepare work directory `{}`: {source}", path.display())]
    WorkDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Two parts stage the same path with different contents or permissions.
    #[error(
        "Failed to stage: parts list the same file with different contents or permissions.\n\
         Parts '{part}' and '{other_part}' list the following files, but with different contents \
         or permissions:\n{}",
        .paths.iter().map(|p| format!("    {p}")).collect::<Vec<_>>().join("\n")
    )]
    StageConflict {
        /// The part being staged.
        part: String,
        /// The part staged earlier.
        other_part: String,
        /// The conflicting paths, sorted.
        paths: Vec<String>,
    },
    /// A part failed while running a step.
    #[error("part '{part}' failed in step {step}: {source}")]
    Step {
        /// The part.
        part: String,
        /// The step.
        step: Step,
        /// What went wrong.
        #[source]
        source: StepError,
    },
}

impl LifecycleError {
    /// Whether the user can fix this (a project or script problem) rather than it being a bug
    /// or a machine problem.
    ///
    /// File system errors count as the user's: they come from the machine (permissions, a full
    /// disk, a file in the way), not from a bug in rcraft.
    pub fn is_user_error(&self) -> bool {
        match self {
            LifecycleError::UnknownAfter { .. }
            | LifecycleError::Cycle { .. }
            | LifecycleError::UnknownPart { .. }
            | LifecycleError::UnsupportedPlugin { .. }
            | LifecycleError::NotSupported { .. }
            | LifecycleError::WorkDir { .. }
            | LifecycleError::StageConflict { .. } => true,
            LifecycleError::Step { source, .. } => source.is_user_error(),
        }
    }
}

/// What went wrong inside one step of one part.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A file system operation failed.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What rcraft was doing, e.g. "copy".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The `source` kind is not implemented yet.
    #[error("cannot pull '{source_}': {kind} sources are not supported yet")]
    UnsupportedSource {
        /// The `source` value.
        source_: String,
        /// What it looks like ("git", "tarball", "remote", ...).
        kind: String,
    },
    /// A local `source` does not exist.
    #[error("cannot pull '{source_}': `{}` does not exist", path.display())]
    MissingSource {
        /// The `source` value.
        source_: String,
        /// The path it resolves to.
        path: PathBuf,
    },
    /// A key of the part holds a value rcraft cannot use.
    #[error("invalid '{key}' value '{value}': {reason}")]
    BadValue {
        /// The part key, e.g. `source-subdir`.
        key: &'static str,
        /// The value.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// `organize` could not move a file; the text names the entry and the reason.
    #[error("cannot organize {0}")]
    Organize(String),
    /// A script (override or plugin commands) exited unsuccessfully.
    #[error("{script} {status}{}", OutputTail(.output_tail))]
    ScriptFailed {
        /// The script, e.g. `override-build`.
        script: String,
        /// "exited with status 2" or "was killed by signal 9".
        status: String,
        /// The last lines of its output (empty when the output was streamed).
        output_tail: Vec<String>,
    },
    /// A script could not be started or supervised.
    #[error("cannot run {script}: {source}")]
    Spawn {
        /// The script.
        script: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A `craftctl` call was rejected; the message names the command.
    #[error("{0}")]
    Craftctl(String),
    /// `stage-packages` could not be staged.
    #[error(transparent)]
    Packages(Box<crate::debs::DebsError>),
    /// The part has `stage-packages` but the run was given no way to fetch them.
    #[error("cannot stage packages: this command was not given package settings (mirror, cache)")]
    NoPackages,
    /// A plugin cannot build the part: a missing host tool, a project it cannot handle, or its
    /// tool's failure explained (e.g. which Python dependency has no wheel for the image).
    #[error("{plugin} plugin: {message}")]
    Plugin {
        /// The plugin name.
        plugin: &'static str,
        /// What went wrong and, where rcraft knows, what to do.
        message: String,
    },
}

impl From<crate::debs::DebsError> for StepError {
    fn from(e: crate::debs::DebsError) -> Self {
        StepError::Packages(Box::new(e))
    }
}

impl From<crate::fsops::FsError> for StepError {
    fn from(e: crate::fsops::FsError) -> Self {
        StepError::Io {
            action: e.action,
            path: e.path,
            source: e.source,
        }
    }
}

impl StepError {
    /// Whether the user can fix this; see [`LifecycleError::is_user_error`].
    pub fn is_user_error(&self) -> bool {
        match self {
            StepError::Io { .. }
            | StepError::UnsupportedSource { .. }
            | StepError::MissingSource { .. }
            | StepError::BadValue { .. }
            | StepError::Organize(_)
            | StepError::ScriptFailed { .. }
            | StepError::Spawn { .. }
            | StepError::Craftctl(_)
            | StepError::Plugin { .. } => true,
            StepError::Packages(e) => e.is_user_error(),
            // The lifecycle was run without the packages context that pack always gives it.
            StepError::NoPackages => false,
        }
    }

    /// Shorthand for [`StepError::Io`].
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StepError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Formats the captured output of a failed script under the status line.
struct OutputTail<'a>(&'a [String]);

impl fmt::Display for OutputTail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        write!(f, "; last {} lines of its output:", self.0.len())?;
        for line in self.0 {
            write!(f, "\n    {line}")?;
        }
        Ok(())
    }
}
