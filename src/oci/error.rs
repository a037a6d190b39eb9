//! [`OciError`]: the one error type of the `oci` module, shared by the layer writer, the blob
//! store, the image/manifest serialiser, the `.rock` archive writer and the validator.
//!
//! Every variant names the path (on disk or inside a layer) it is about, and I/O causes are kept
//! as `#[source]` so callers can walk the chain; messages follow the project's lowercase
//! "cannot X: ..." voice.

use std::io;
use std::path::PathBuf;

/// Why building a layer, an image or a `.rock` failed.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// A file or directory on disk could not be read (or stat-ed).
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file or directory on disk could not be created or written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A path given for a layer entry is not a clean relative path.
    #[error("cannot add `{path}` to a layer: {reason}")]
    InvalidPath {
        /// The offending layer path, as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The same layer path was added twice with different content.
    #[error("cannot add `{path}` to a layer twice")]
    DuplicatePath {
        /// The layer path.
        path: String,
    },
    /// Permission bits outside `0o7777`.
    #[error("cannot add `{path}` to a layer: mode {mode:#o} has bits outside 0o7777")]
    InvalidMode {
        /// The layer path.
        path: String,
        /// The rejected mode.
        mode: u32,
    },
    /// A socket, fifo or device node on disk.
    #[error(
        "cannot add `{}` to a layer: it is a {kind}; only files, directories and symlinks are supported",
        path.display()
    )]
    UnsupportedFileType {
        /// The file on disk.
        path: PathBuf,
        /// "socket", "fifo", "block device" or "character device".
        kind: &'static str,
    },
    /// An entry sits below a layer path that is not a directory.
    #[error("cannot add `{path}` to a layer: its parent `{parent}` is not a directory")]
    ParentNotDirectory {
        /// The layer path.
        path: String,
        /// The ancestor that is a file or link.
        parent: String,
    },
    /// A hard link whose target is not an earlier regular file of the same layer.
    #[error(
        "cannot add hard link `{path}` to a layer: its target `{target}` is not a regular file that sorts before it in the layer"
    )]
    BadHardlink {
        /// The link's layer path.
        path: String,
        /// The target's layer path.
        target: String,
    },
    /// A file changed size between being stat-ed and being copied into a tar.
    #[error("cannot add `{}` to a tar: the file changed size while it was being read", path.display())]
    FileChanged {
        /// The file on disk.
        path: PathBuf,
    },
    /// A string that is not `sha256:` followed by 64 lowercase hex digits.
    #[error(
        "cannot parse digest `{value}`: expected `sha256:` followed by 64 lowercase hex digits"
    )]
    InvalidDigest {
        /// The rejected string.
        value: String,
    },
    /// A blob referenced by the image is not in the blob store.
    #[error("cannot find blob `{digest}` at `{}`: {source}", path.display())]
    MissingBlob {
        /// The blob's digest.
        digest: String,
        /// Where it should be.
        path: PathBuf,
        /// The cause (usually "not found").
        #[source]
        source: io::Error,
    },
    /// A blob whose bytes do not match its name or its descriptor.
    #[error("cannot use blob `{}`: {reason}", path.display())]
    CorruptBlob {
        /// The blob file.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },
    /// JSON serialisation failed (should not happen for our own types).
    #[error("cannot serialise {what}: {source}")]
    Json {
        /// The document ("image config", "manifest", ...).
        what: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The image description itself is inconsistent.
    #[error("cannot write image: {reason}")]
    InvalidImage {
        /// What is inconsistent.
        reason: String,
    },
    /// The image reference for the archive is unusable.
    #[error("cannot use image name `{name}`: {reason}")]
    InvalidRefName {
        /// The rejected name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// The directory the `.rock` should go to does not exist.
    #[error("cannot write `{}`: the output directory `{}` does not exist", path.display(), dir.display())]
    NoOutputDir {
        /// The requested `.rock` path.
        path: PathBuf,
        /// Its (missing) parent directory.
        dir: PathBuf,
    },
    /// A `.rock` (or OCI layout) failed validation.
    #[error("invalid rock `{}`: {reason}", path.display())]
    InvalidRock {
        /// The archive.
        path: PathBuf,
        /// The first problem found.
        reason: String,
    },
}

impl OciError {
    /// Shorthand for [`OciError::Read`].
    pub(crate) fn read(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Read {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`OciError::Write`].
    pub(crate) fn write(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Write {
            path: path.into(),
            source,
        }
    }
}

impl OciError {
    /// Whether the user can fix this: the files being packed, the `.rock` being read, the
    /// machine (I/O); the rest are broken invariants of rcraft's own writing (bugs).
    pub fn is_user_error(&self) -> bool {
        match self {
            OciError::Read { .. }
            | OciError::Write { .. }
            | OciError::InvalidPath { .. }
            | OciError::DuplicatePath { .. }
            | OciError::InvalidMode { .. }
            | OciError::UnsupportedFileType { .. }
            | OciError::ParentNotDirectory { .. }
            | OciError::BadHardlink { .. }
            | OciError::FileChanged { .. }
            | OciError::InvalidRefName { .. }
            | OciError::NoOutputDir { .. }
            | OciError::InvalidRock { .. } => true,
            OciError::InvalidDigest { .. }
            | OciError::MissingBlob { .. }
            | OciError::CorruptBlob { .. }
            | OciError::Json { .. }
            | OciError::InvalidImage { .. } => false,
        }
    }
}
