//! [`Error`]: every way an rcraft command can fail, and [`ExitStatus`]: the one mapping from
//! errors to exit codes.
//!
//! Each layer has its own error type (`ProjectError`, `LifecycleError`, `PackError`,
//! `RegistryError`, ...), and each says, with an exhaustive `match` (no catch-all arm, so a new
//! variant must be classified when it is added), whether the user can fix it. `Error` wraps
//! them, and [`Error::exit_status`] is the only place exit codes are decided:
//!
//! | exit | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | a problem the user can fix: the project, the machine's setup, the network, a registry |
//! | 2 | bad command-line usage (clap's own errors, and flag values rcraft checks itself) |
//! | 70 | a bug in rcraft (`EX_SOFTWARE`): the message starts with `internal error:` |
//! | 73 | `init` would overwrite a file (`EX_CANTCREAT`, as Rockcraft) |

use std::path::PathBuf;

use crate::base::BaseError;
use crate::debs::DebsError;
use crate::init::InitError;
use crate::lifecycle::LifecycleError;
use crate::oci::OciError;
use crate::pack::PackError;
use crate::project::ProjectError;
use crate::pull::PullError;
use crate::push::PushError;
use crate::registry::RegistryError;

/// How a command ended, as a process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0.
    Success,
    /// 1: a problem the user can fix.
    User,
    /// 2: bad command-line usage.
    Usage,
    /// 70: a bug in rcraft.
    Internal,
    /// 73: `init` would overwrite a file.
    CantCreate,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::User => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Internal => 70,
            ExitStatus::CantCreate => 73,
        }
    }

    fn user_or_internal(user: bool) -> ExitStatus {
        if user {
            ExitStatus::User
        } else {
            ExitStatus::Internal
        }
    }
}

/// Every way a command can fail; see the module docs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The project file.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// `rcraft init`.
    #[error(transparent)]
    Init(#[from] InitError),
    /// The parts lifecycle.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// `rcraft pack`.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// Pulling a base image.
    #[error(transparent)]
    Pull(#[from] PullError),
    /// `rcraft push`.
    #[error(transparent)]
    Push(#[from] PushError),
    /// A registry.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Reading or writing an image.
    #[error(transparent)]
    Oci(#[from] OciError),
    /// Base images and the cache.
    #[error(transparent)]
    Base(#[from] BaseError),
    /// `stage-packages` and the archives.
    #[error(transparent)]
    Debs(#[from] DebsError),
    /// A setting (flag, environment variable) has a value rcraft cannot use, or a setting
    /// rcraft needs has none; the message says which and how to fix it.
    #[error("{0}")]
    Setting(String),
    /// A flag value that is not what the flag takes (exit 2, like clap's own errors).
    #[error("{0}")]
    Usage(String),
    /// A file or directory the user named cannot be used.
    #[error("cannot {action} `{}`: {source}", path.display())]
    UserPath {
        /// What rcraft was doing (`open project directory`, `read`, ...).
        action: &'static str,
        /// The path the user gave.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The process itself cannot go on (no current directory, stdin unreadable, ...).
    #[error("cannot {action}: {source}")]
    Process {
        /// What rcraft was doing.
        action: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing the expanded project as YAML failed.
    #[error("cannot write the expanded project as YAML: {0}")]
    Yaml(String),
}

impl Error {
    /// The exit status this error ends the command with; see the module docs.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Project(_) => ExitStatus::User,
            Error::Init(e) => match e.exit_code() {
                73 => ExitStatus::CantCreate,
                _ => ExitStatus::User,
            },
            Error::Lifecycle(e) => ExitStatus::user_or_internal(e.is_user_error()),
            Error::Pack(e) => ExitStatus::user_or_internal(e.is_user_error()),
            Error::Pull(e) => ExitStatus::user_or_internal(e.is_user_error()),
            Error::Push(e) => ExitStatus::user_or_internal(e.is_user_error()),
            Error::Registry(e) => ExitStatus::user_or_internal(e.is_user_error()),
            Error::Oci(e) => ExitStatus::user_or_internal(e.is_user_error()),
            Error::Base(e) => ExitStatus::user_or_internal(e.is_user_error()),
            Error::Debs(e) => ExitStatus::user_or_internal(e.is_user_error()),
            Error::Setting(_) | Error::UserPath { .. } | Error::Process { .. } => ExitStatus::User,
            Error::Usage(_) => ExitStatus::Usage,
            Error::Yaml(_) => ExitStatus::Internal,
        }
    }

    /// The message with its chain of causes, one per line (causes already in the message are
    /// not repeated); `internal error: ` first for bugs.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.exit_status() == ExitStatus::Internal {
            out.push_str("internal error: ");
        }
        out.push_str(&self.to_string());
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            let text = c.to_string();
            if !out.contains(&text) {
                out.push_str(&format!("\n  caused by: {text}"));
            }
            cause = c.source();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::PermissionDenied)
    }

    #[test]
    fn every_kind_of_error_has_its_exit_code() {
        let cases: Vec<(Error, ExitStatus)> = vec![
            (
                ProjectError::NotFound(PathBuf::from("rockcraft.yaml")).into(),
                ExitStatus::User,
            ),
            (
                InitError::WouldOverwrite {
                    dir: PathBuf::from("."),
                    files: vec![PathBuf::from("rockcraft.yaml")],
                }
                .into(),
                ExitStatus::CantCreate,
            ),
            (
                InitError::UnknownProfile {
                    profile: "x".into(),
                    hint: None,
                }
                .into(),
                ExitStatus::User,
            ),
            (
                LifecycleError::NotSupported {
                    problems: vec!["not supported yet: build-snaps (part 'a')".into()],
                }
                .into(),
                ExitStatus::User,
            ),
            (
                LifecycleError::Step {
                    part: "a".into(),
                    step: crate::lifecycle::Step::Build,
                    source: crate::lifecycle::StepError::NoPackages,
                }
                .into(),
                ExitStatus::Internal,
            ),
            (
                PackError::NoBuild("no platform".into()).into(),
                ExitStatus::User,
            ),
            (
                PackError::Oci(OciError::Json {
                    what: "image config",
                    source: serde_json::from_str::<u8>("x").unwrap_err(),
                })
                .into(),
                ExitStatus::Internal,
            ),
            (PullError::NoImage("bare".into()).into(), ExitStatus::User),
            (BaseError::NoCacheDir.into(), ExitStatus::User),
            (
                PullError::Cache(BaseError::NoCacheDir).into(),
                ExitStatus::User,
            ),
            (
                RegistryError::InvalidReference {
                    reference: "A:B:C".into(),
                    reason: "bad".into(),
                }
                .into(),
                ExitStatus::User,
            ),
            (
                OciError::CorruptBlob {
                    path: PathBuf::from("blobs/sha256/00"),
                    reason: "its digest differs".into(),
                }
                .into(),
                ExitStatus::Internal,
            ),
            (
                DebsError::NoMirror {
                    suite: "bookworm".into(),
                    config: PathBuf::from("/etc/apt"),
                    hint: "RCRAFT_ARCHIVE_MIRROR",
                }
                .into(),
                ExitStatus::User,
            ),
            (Error::Setting("bad".into()), ExitStatus::User),
            (Error::Usage("bad flag".into()), ExitStatus::Usage),
            (
                Error::UserPath {
                    action: "open project directory",
                    path: PathBuf::from("/nope"),
                    source: io(),
                },
                ExitStatus::User,
            ),
            (Error::Yaml("x".into()), ExitStatus::Internal),
        ];
        for (err, expected) in cases {
            assert_eq!(err.exit_status(), expected, "{err}");
            let rendered = err.render();
            assert_eq!(
                rendered.starts_with("internal error: "),
                expected == ExitStatus::Internal,
                "{rendered}"
            );
        }
    }

    #[test]
    fn render_adds_causes_not_already_in_the_message() {
        let err = Error::UserPath {
            action: "read",
            path: PathBuf::from("/x"),
            source: io(),
        };
        assert_eq!(err.render(), "cannot read `/x`: permission denied");
    }
}
