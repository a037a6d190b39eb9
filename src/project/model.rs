//! The typed, validated project: what the rest of rcraft consumes.
//!
//! [`Project`] is produced by [`super::load`] (file -> [`super::yaml::Node`] -> profile expansion
//! -> schema validation). Every value here has already been checked against Rockcraft's rules, so
//! the lifecycle and the OCI writer never re-validate. Maps keep the user's order (`Vec` of
//! pairs) because part order and service order are visible in the output.

use std::fmt;
use std::path::PathBuf;

/// The `_daemon_` user's UID and GID, as in Rockcraft.
pub const DAEMON_UID: u32 = 584792;
/// The only value `run-user` accepts.
pub const DAEMON_USER: &str = "_daemon_";

/// A validated `rockcraft.yaml`.
#[derive(Clone, Debug, PartialEq)]
pub struct Project {
    /// Directory holding `rockcraft.yaml` (sources are relative to it).
    pub project_dir: PathBuf,
    /// `name`.
    pub name: String,
    /// `title`, defaults to `name`.
    pub title: String,
    /// `version` (numbers coerced to strings).
    pub version: String,
    /// `summary`.
    pub summary: String,
    /// `description`.
    pub description: String,
    /// `base`.
    pub base: Base,
    /// `build-base`, defaulting to `base` when that is not bare.
    pub build_base: Base,
    /// `platforms`, in file order.
    pub platforms: Vec<(String, Platform)>,
    /// `license`.
    pub license: Option<String>,
    /// `contact`.
    pub contact: Vec<String>,
    /// `issues`.
    pub issues: Vec<String>,
    /// `source-code`.
    pub source_code: Option<String>,
    /// `adopt-info`.
    pub adopt_info: Option<String>,
    /// `environment`, in file order.
    pub environment: Vec<(String, String)>,
    /// `run-user` (only `_daemon_` exists).
    pub run_user: Option<String>,
    /// `services`, in file order.
    pub services: Vec<(String, Service)>,
    /// `checks`, in file order.
    pub checks: Vec<(String, Check)>,
    /// `entrypoint-service`.
    pub entrypoint_service: Option<String>,
    /// `entrypoint-command`.
    pub entrypoint_command: Option<String>,
    /// `parts`, in file order (lifecycle order also honours `after`).
    pub parts: Vec<(String, Part)>,
    /// Keys the schema accepts but rcraft cannot honour yet, in file order: `pack` and the
    /// lifecycle commands refuse the project up front (see [`Unsupported`]).
    pub unsupported: Vec<Unsupported>,
    /// `package-repositories`, kept as JSON (validated only for shape here).
    pub package_repositories: Vec<serde_json::Value>,
    /// Extensions that were applied (already expanded into parts/services).
    pub extensions: Vec<String>,
}

impl Project {
    /// Looks a part up by name.
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|(n, _)| n == name).map(|(_, p)| p)
    }

    /// Looks a service up by name.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }
}

/// A `base` or `build-base` value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Base {
    /// `bare`: an empty root filesystem.
    Bare,
    /// `ubuntu@X.Y`.
    Ubuntu(String),
    /// `debian@12` (an rcraft addition).
    Debian(String),
    /// `devel` (build-base only).
    Devel,
}

impl Base {
    /// Parses the `name@version` spelling (and `bare`, `devel`). Does not accept `:`; the
    /// deprecated colon form is rewritten by the schema before this is called.
    pub fn parse(s: &str) -> Option<Base> {
        match s {
            "bare" => Some(Base::Bare),
            "devel" => Some(Base::Devel),
            _ => {
                let (os, ver) = s.split_once('@')?;
                match os {
                    "ubuntu" => Some(Base::Ubuntu(ver.to_string())),
                    "debian" => Some(Base::Debian(ver.to_string())),
                    _ => None,
                }
            }
        }
    }

    /// Whether this is `bare`.
    pub fn is_bare(&self) -> bool {
        matches!(self, Base::Bare)
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base::Bare => f.write_str("bare"),
            Base::Devel => f.write_str("devel"),
            Base::Ubuntu(v) => write!(f, "ubuntu@{v}"),
            Base::Debian(v) => write!(f, "debian@{v}"),
        }
    }
}

/// One `platforms` entry, after Rockcraft's shorthand expansion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    /// Debian architectures this may be built on.
    pub build_on: Vec<String>,
    /// The Debian architecture the rock is for.
    pub build_for: String,
}

/// A Debian architecture name mapped to OCI `architecture` and `variant`.
pub fn oci_arch(debian_arch: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match debian_arch {
        "amd64" => ("amd64", None),
        "arm64" => ("arm64", Some("v8")),
        "armhf" => ("arm", Some("v7")),
        "i386" => ("386", None),
        "ppc64el" => ("ppc64le", None),
        "riscv64" => ("riscv64", None),
        "s390x" => ("s390x", None),
        _ => return None,
    })
}

/// The Debian architecture of the machine rcraft runs on.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "armhf",
        "x86" => "i386",
        "powerpc64" => "ppc64el",
        "riscv64" => "riscv64",
        "s390x" => "s390x",
        other => other,
    }
}

/// A part (craft-parts keys). Plugin-specific keys are in [`Part::plugin_properties`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Part {
    /// `plugin` (defaults to `nil` when absent and no source, else `dump`-like per craft-parts).
    pub plugin: Option<String>,
    /// `source`.
    pub source: Option<String>,
    /// `source-type`.
    pub source_type: Option<String>,
    /// `source-subdir`.
    pub source_subdir: Option<String>,
    /// `after`.
    pub after: Vec<String>,
    /// `build-packages`.
    pub build_packages: Vec<String>,
    /// `stage-packages`.
    pub stage_packages: Vec<String>,
    /// `build-snaps`.
    pub build_snaps: Vec<String>,
    /// `stage-snaps`.
    pub stage_snaps: Vec<String>,
    /// `build-environment`: ordered `NAME=value` pairs.
    pub build_environment: Vec<(String, String)>,
    /// `organize`: source path (glob) -> destination, in file order.
    pub organize: Vec<(String, String)>,
    /// `stage` filter (empty = everything).
    pub stage: Vec<String>,
    /// `prime` filter (empty = everything).
    pub prime: Vec<String>,
    /// `override-pull`.
    pub override_pull: Option<String>,
    /// `override-build`.
    pub override_build: Option<String>,
    /// `override-stage`.
    pub override_stage: Option<String>,
    /// `override-prime`.
    pub override_prime: Option<String>,
    /// `permissions`.
    pub permissions: Vec<Permission>,
    /// Plugin-specific keys (e.g. `python-requirements`), as JSON, in file order.
    pub plugin_properties: Vec<(String, serde_json::Value)>,
}

/// A key rcraft accepts in `rockcraft.yaml` but cannot honour yet. Nothing is silently
/// ignored: `pack` and the lifecycle commands stop before any work with
/// `not supported yet: KEY (part 'NAME')`; `expand-extensions` still shows the project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// The key as written (`build-packages`, `organize`, ...).
    pub key: String,
    /// The part it belongs to (`None` for top-level keys).
    pub part: Option<String>,
    /// Where it is in the file (unknown for values an extension added).
    pub span: crate::yaml::Span,
    /// What to do instead, when there is something useful to say.
    pub hint: Option<String>,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.span.is_known() {
            write!(f, "{}:{}: ", super::PROJECT_FILE, self.span)?;
        }
        write!(f, "not supported yet: {}", self.key)?;
        if let Some(part) = &self.part {
            write!(f, " (part '{part}')")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// One `permissions` entry of a part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Permission {
    /// Glob of paths (relative to the part's install dir); `*` when absent.
    pub path: String,
    /// Numeric owner.
    pub owner: Option<u32>,
    /// Numeric group.
    pub group: Option<u32>,
    /// Octal mode as written (e.g. `"755"`).
    pub mode: Option<String>,
}

/// `override` of a Pebble service or check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Override {
    /// `merge`.
    Merge,
    /// `replace`.
    Replace,
}

impl Override {
    /// The YAML spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Override::Merge => "merge",
            Override::Replace => "replace",
        }
    }
}

/// A Pebble service as Rockcraft accepts it. Optional fields stay `None` so that the Pebble
/// layer written into the image holds exactly what the user wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    /// `override`.
    pub override_: Override,
    /// `command` as written.
    pub command: String,
    /// `command` split: the base tokens and the `[ default args ]`, if any.
    pub command_parts: Command,
    /// `summary`.
    pub summary: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `startup`: `enabled` or `disabled`.
    pub startup: Option<String>,
    /// `after`.
    pub after: Vec<String>,
    /// `before`.
    pub before: Vec<String>,
    /// `requires`.
    pub requires: Vec<String>,
    /// `environment`, in file order.
    pub environment: Vec<(String, String)>,
    /// `user`.
    pub user: Option<String>,
    /// `user-id`.
    pub user_id: Option<u32>,
    /// `group`.
    pub group: Option<String>,
    /// `group-id`.
    pub group_id: Option<u32>,
    /// `working-dir`.
    pub working_dir: Option<String>,
    /// `on-success`.
    pub on_success: Option<String>,
    /// `on-failure`.
    pub on_failure: Option<String>,
    /// `on-check-failure`: check name -> action.
    pub on_check_failure: Vec<(String, String)>,
    /// `backoff-delay` as written (Go duration).
    pub backoff_delay: Option<String>,
    /// `backoff-factor`.
    pub backoff_factor: Option<f64>,
    /// `backoff-limit` as written.
    pub backoff_limit: Option<String>,
    /// `kill-delay` as written.
    pub kill_delay: Option<String>,
}

/// A service command split by Pebble's rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    /// Tokens before `[`.
    pub base: Vec<String>,
    /// Tokens inside `[ ... ]`, if the group is present.
    pub default_args: Option<Vec<String>>,
}

/// A Pebble check.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// `override`.
    pub override_: Override,
    /// `level`: `alive` or `ready`.
    pub level: Option<String>,
    /// `startup`.
    pub startup: Option<String>,
    /// `period` as written.
    pub period: Option<String>,
    /// `timeout` as written.
    pub timeout: Option<String>,
    /// `threshold`.
    pub threshold: Option<u32>,
    /// The one probe.
    pub kind: CheckKind,
}

/// The probe of a [`Check`].
#[derive(Clone, Debug, PartialEq)]
pub enum CheckKind {
    /// `http: {url, headers}`.
    Http {
        /// `url`.
        url: String,
        /// `headers`, in file order.
        headers: Vec<(String, String)>,
    },
    /// `tcp: {port, host}`.
    Tcp {
        /// `port`.
        port: u16,
        /// `host`.
        host: Option<String>,
    },
    /// `exec: {command, ...}`.
    Exec {
        /// `command`.
        command: String,
        /// `service-context`.
        service_context: Option<String>,
        /// `environment`.
        environment: Vec<(String, String)>,
        /// `user`.
        user: Option<String>,
        /// `user-id`.
        user_id: Option<u32>,
        /// `group`.
        group: Option<String>,
        /// `group-id`.
        group_id: Option<u32>,
        /// `working-dir`.
        working_dir: Option<String>,
    },
}
