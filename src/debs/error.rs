//! [`DebsError`]: everything staging Debian packages can fail with, in rcraft's "cannot X"
//! voice. The lifecycle wraps it so messages read "part 'x' failed in step pull: ...".

use std::path::PathBuf;

use crate::base::BaseError;

/// Why `stage-packages` could not be staged.
#[derive(Debug, thiserror::Error)]
pub enum DebsError {
    /// The part lists Chisel slices (`pkg_slice`).
    #[error(
        "chisel slices are not supported yet: {} (part '{part}')",
        .slices.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
    )]
    ChiselSlices {
        /// The part.
        part: String,
        /// The slice names.
        slices: Vec<String>,
    },
    /// The project's build base has no package archive rcraft knows.
    #[error("cannot stage packages for build-base {base}: {reason}")]
    UnsupportedBase {
        /// The build base, e.g. `devel`.
        base: String,
        /// Why.
        reason: String,
    },
    /// No mirror was given and the machine's apt configuration lists none for the suite.
    #[error(
        "cannot find an apt source for suite '{suite}' in `{}`\n  hint: set {hint} to the archive's URL",
        config.display()
    )]
    NoMirror {
        /// The suite looked for, e.g. `bookworm`.
        suite: String,
        /// The apt configuration directory searched.
        config: PathBuf,
        /// The setting that overrides it.
        hint: &'static str,
    },
    /// A mirror URL is not usable.
    #[error("invalid archive mirror '{url}': {reason}")]
    BadMirror {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A tool or keyring needed to verify the archive is missing.
    #[error("cannot verify the package archive: `{}` does not exist\n  hint: install the '{package}' package", path.display())]
    MissingVerifier {
        /// The missing file (`gpgv`, a keyring).
        path: PathBuf,
        /// The Debian/Ubuntu package that provides it.
        package: &'static str,
    },
    /// The Release file's signature did not verify.
    #[error("cannot verify {url}: {detail}")]
    BadSignature {
        /// The InRelease URL.
        url: String,
        /// What gpgv said.
        detail: String,
    },
    /// A download failed.
    #[error("cannot download {url}: {reason}")]
    Download {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A download does not match the checksum the signed Release (or the lock file) lists.
    #[error("cannot use {url}: its sha256 is {actual}, but the archive lists {expected}")]
    Checksum {
        /// The URL.
        url: String,
        /// The listed sha256 (hex).
        expected: String,
        /// What the bytes hash to (hex).
        actual: String,
    },
    /// A document from the archive (Release, Packages, a .deb) is malformed.
    #[error("cannot parse {what}: {reason}")]
    Parse {
        /// What was parsed.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// A requested package is not in the archive.
    #[error("cannot find package '{name}' in {archive}{}", suggest(.suggestions))]
    UnknownPackage {
        /// The requested name.
        name: String,
        /// The archive searched, e.g. "debian bookworm (amd64)".
        archive: String,
        /// Close names, best first.
        suggestions: Vec<String>,
    },
    /// A requested name is a virtual package with several providers.
    #[error(
        "cannot choose a package for '{name}': it is a virtual package provided by {}; list one of them in stage-packages",
        .providers.join(", ")
    )]
    VirtualPackage {
        /// The requested name.
        name: String,
        /// The packages providing it.
        providers: Vec<String>,
    },
    /// A dependency cannot be satisfied.
    #[error("cannot satisfy '{relation}' (needed by {}): {reason}", .chain.join(" -> "))]
    Unsatisfiable {
        /// The dependency as written, e.g. `libc6 (>= 2.38)`.
        relation: String,
        /// The requested package down to the one that needs it.
        chain: Vec<String>,
        /// Why.
        reason: String,
    },
    /// A package recorded in the lock file can no longer be downloaded.
    #[error(
        "cannot download {name} {version} recorded in `{}`: the archive no longer has it ({reason})\n  hint: run `rcraft pack --update-lock` (or delete the lock file) to resolve the packages again",
        lock.display()
    )]
    LockedGone {
        /// The package.
        name: String,
        /// Its locked version.
        version: String,
        /// The lock file.
        lock: PathBuf,
        /// The download error.
        reason: String,
    },
    /// The lock file is unreadable or malformed.
    #[error("cannot use lock file `{}`: {reason}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A .deb could not be unpacked.
    #[error("cannot unpack {package}: {reason}")]
    Unpack {
        /// The package (`name_version_arch`).
        package: String,
        /// Why.
        reason: String,
    },
    /// A file system operation failed.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What rcraft was doing.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The download cache failed.
    #[error(transparent)]
    Cache(#[from] BaseError),
}

impl DebsError {
    /// Whether the user can fix this (project, settings or machine setup) rather than it
    /// being an I/O failure or a bug.
    pub fn is_user_error(&self) -> bool {
        match self {
            DebsError::ChiselSlices { .. }
            | DebsError::UnsupportedBase { .. }
            | DebsError::NoMirror { .. }
            | DebsError::BadMirror { .. }
            | DebsError::MissingVerifier { .. }
            | DebsError::BadSignature { .. }
            | DebsError::Download { .. }
            | DebsError::Checksum { .. }
            | DebsError::Parse { .. }
            | DebsError::UnknownPackage { .. }
            | DebsError::VirtualPackage { .. }
            | DebsError::Unsatisfiable { .. }
            | DebsError::LockedGone { .. }
            | DebsError::Lock { .. }
            | DebsError::Unpack { .. }
            | DebsError::Io { .. } => true,
            DebsError::Cache(e) => e.is_user_error(),
        }
    }
}

/// Shorthand for [`DebsError::Io`].
pub(crate) fn io(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> DebsError {
    let path = path.into();
    move |source| DebsError::Io {
        action,
        path,
        source,
    }
}

fn suggest(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => format!(": did you mean '{one}'?"),
        many => format!(
            ": did you mean {}?",
            many.iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
