//! [`BaseError`]: the one error type of the `base` module (cache, manifests, unpacking,
//! pruning). Messages follow the project's lowercase "cannot X" voice and name the path or
//! digest they are about; I/O causes are kept as `#[source]`.

use std::path::{Path, PathBuf};

use crate::oci::{Digest, OciError};

/// Why a base-image operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    /// A file or directory of the cache (or an unpacked rootfs) could not be used.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What rcraft was doing (`read`, `create`, ...).
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No cache directory could be found from the environment.
    #[error("cannot find a cache directory: set RCRAFT_CACHE_DIR, XDG_CACHE_HOME or HOME")]
    NoCacheDir,
    /// The code filling a cache entry failed (e.g. a download).
    #[error("cannot store blob {digest} in the cache: {source}")]
    Fill {
        /// The blob being stored.
        digest: Digest,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The bytes given for a blob do not hash to its digest; nothing was stored.
    #[error("cannot store blob {expected} in the cache: its content hashes to {actual}")]
    DigestMismatch {
        /// The digest the caller expected.
        expected: Digest,
        /// What the bytes hash to.
        actual: Digest,
    },
    /// A cached blob no longer matches its name (disk corruption, manual edits); it was removed.
    #[error(
        "cannot use cached blob {digest} at `{}`: its content hashes to {actual}; it was removed, pull the base again",
        path.display()
    )]
    Corrupt {
        /// The blob.
        digest: Digest,
        /// Its file.
        path: PathBuf,
        /// What the file hashes to.
        actual: Digest,
    },
    /// A blob the base image needs is not in the cache.
    #[error("cannot find {what} {digest} in the cache `{}`; pull the base again", path.display())]
    MissingBlob {
        /// `manifest`, `config` or `layer`.
        what: &'static str,
        /// The blob.
        digest: Digest,
        /// Where it was expected.
        path: PathBuf,
    },
    /// A manifest or config document is not what rcraft can use.
    #[error("cannot use {what} {digest}: {reason}")]
    BadDocument {
        /// `manifest` or `config`.
        what: &'static str,
        /// The document's digest.
        digest: Digest,
        /// What is wrong.
        reason: String,
    },
    /// A layer entry that would land outside the root or go through a symlink.
    #[error("cannot unpack `{path}` from layer {layer}: {reason}")]
    UnsafeEntry {
        /// The layer.
        layer: Digest,
        /// The entry's path as written in the tar.
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A layer could not be read or applied.
    #[error("cannot unpack layer {layer}: {source}")]
    Unpack {
        /// The layer.
        layer: Digest,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing a layer or blob with the `oci` module failed.
    #[error(transparent)]
    Oci(#[from] OciError),
}

/// A `map_err` helper: `BaseError::Io` for `path`.
pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BaseError {
    let path = path.to_path_buf();
    move |source| BaseError::Io {
        action,
        path,
        source,
    }
}

impl BaseError {
    /// Whether the user can fix this: the cache directory, the machine, or a base image that
    /// rcraft cannot use (a registry served it); bugs only where rcraft's own image writing
    /// broke an invariant.
    pub fn is_user_error(&self) -> bool {
        match self {
            BaseError::Io { .. }
            | BaseError::NoCacheDir
            | BaseError::Fill { .. }
            | BaseError::DigestMismatch { .. }
            | BaseError::Corrupt { .. }
            | BaseError::MissingBlob { .. }
            | BaseError::BadDocument { .. }
            | BaseError::UnsafeEntry { .. }
            | BaseError::Unpack { .. } => true,
            BaseError::Oci(e) => e.is_user_error(),
        }
    }
}
