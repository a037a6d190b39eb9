//! [`BlobCache`]: the user-wide, content-addressed store of pulled base-image blobs (layers,
//! configs, manifests), plus the small ref files that remember which manifest a tag resolved
//! to, and the unpacked root filesystems (see [`super::unpack`]).
//!
//! Layout under the cache root (`$RCRAFT_CACHE_DIR`, else `$XDG_CACHE_HOME/rcraft`, else
//! `~/.cache/rcraft`):
//!
//! ```text
//! blobs/sha256/<hex>      every blob, named by the sha256 of its bytes, read-only
//! refs/<escaped ref>      "sha256:<hex>\n": the manifest a reference resolved to, per platform
//! rootfs/<hex>/           unpacked base image whose manifest digest is <hex> (see unpack.rs)
//! tmp/                    temporary files and directories (never look like blobs)
//! ```
//!
//! A blob is written to a temporary file in `tmp/`, hashed as it is written, synced and only
//! then renamed to `blobs/sha256/<hex>`, and only if the hash equals the expected digest. So a
//! crash leaves at most a stray temporary file, content that does not match is never stored,
//! and two packs storing the same blob at once are harmless (the second rename replaces the
//! file with identical bytes).

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::error::{BaseError, io};
use crate::oci::{BlobStore, Digest, HashingReader, HashingWriter};

/// The error a [`BlobCache::insert_with`] filler may return (anything, boxed).
pub type FillError = Box<dyn std::error::Error + Send + Sync>;

/// Temporary files older than this are left-overs of a killed process and are removed.
const STALE_TEMP_AGE: Duration = Duration::from_secs(24 * 3600);

/// The content-addressed blob cache; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobCache {
    root: PathBuf,
}

impl BlobCache {
    /// Opens (creating if needed) the cache at `root`, removing stale temporary files.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, BaseError> {
        let cache = Self { root: root.into() };
        for dir in [
            cache.root.join("blobs").join("sha256"),
            cache.root.join("refs"),
            cache.rootfs_root(),
            cache.temp_dir(),
        ] {
            fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        }
        cache.sweep_temp();
        Ok(cache)
    }

    /// Opens the user's cache: `$RCRAFT_CACHE_DIR`, else `$XDG_CACHE_HOME/rcraft`, else
    /// `$HOME/.cache/rcraft`.
    pub fn open_default() -> Result<Self, BaseError> {
        Self::open(default_dir()?)
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with this digest lives (whether or not it exists).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest.hex())
    }

    /// The blob's file, if it is cached.
    pub fn get(&self, digest: &Digest) -> Option<PathBuf> {
        let path = self.path(digest);
        path.is_file().then_some(path)
    }

    /// Stores the blob `digest` with the bytes `fill` writes, unless it is already cached
    /// (then `fill` is not called). The bytes go to a temporary file and are renamed into place
    /// only if they hash to `digest`; otherwise nothing is stored and
    /// [`BaseError::DigestMismatch`] is returned. Returns the blob's path.
    pub fn insert_with(
        &self,
        digest: &Digest,
        fill: impl FnOnce(&mut dyn Write) -> Result<(), FillError>,
    ) -> Result<PathBuf, BaseError> {
        if let Some(path) = self.get(digest) {
            return Ok(path);
        }
        let tmp_dir = self.temp_dir();
        let temp = tempfile::Builder::new()
            .prefix(".blob-")
            .suffix(".tmp")
            .tempfile_in(&tmp_dir)
            .map_err(io("create a temporary file in", &tmp_dir))?;
        let temp_path = temp.path().to_path_buf();
        let mut writer = HashingWriter::new(BufWriter::with_capacity(256 * 1024, temp));
        fill(&mut writer).map_err(|source| BaseError::Fill {
            digest: digest.clone(),
            source,
        })?;
        let (buffered, actual, _) = writer.finish();
        if actual != *digest {
            return Err(BaseError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        let temp = buffered
            .into_inner()
            .map_err(|e| io("write", &temp_path)(e.into_error()))?;
        temp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o444))
            .map_err(io("set permissions of", &temp_path))?;
        temp.as_file().sync_data().map_err(io("sync", &temp_path))?;
        let dest = self.path(digest);
        temp.persist(&dest)
            .map_err(|e| io("store blob", &dest)(e.error))?;
        Ok(dest)
    }

    /// Stores `bytes` (a manifest, a config) and returns their digest.
    pub fn insert_bytes(&self, bytes: &[u8]) -> Result<Digest, BaseError> {
        let digest = Digest::of(bytes);
        self.insert_with(&digest, |w| Ok(w.write_all(bytes)?))?;
        Ok(digest)
    }

    /// Reads a whole cached blob (for small documents: manifests, configs).
    pub fn read(&self, what: &'static str, digest: &Digest) -> Result<Vec<u8>, BaseError> {
        let path = self.path(digest);
        match fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(BaseError::MissingBlob {
                what,
                digest: digest.clone(),
                path,
            }),
            Err(e) => Err(io("read", &path)(e)),
        }
    }

    /// Re-hashes a cached blob. A blob whose bytes no longer match its name is removed (so the
    /// next pull fetches it again) and reported as [`BaseError::Corrupt`].
    pub fn verify(&self, digest: &Digest) -> Result<(), BaseError> {
        let path = self.path(digest);
        let file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => BaseError::MissingBlob {
                what: "blob",
                digest: digest.clone(),
                path: path.clone(),
            },
            _ => io("open", &path)(e),
        })?;
        let mut reader = HashingReader::new(file);
        io::copy(&mut reader, &mut io::sink()).map_err(io("read", &path))?;
        let (_, actual, _) = reader.finish();
        if actual == *digest {
            return Ok(());
        }
        fs::remove_file(&path).map_err(io("remove corrupt blob", &path))?;
        Err(BaseError::Corrupt {
            digest: digest.clone(),
            path,
            actual,
        })
    }

    /// Records that `reference` (e.g. `docker.io/library/debian:bookworm`) resolved to the
    /// manifest `digest` for `platform` (OCI `architecture[/variant]`, e.g. `amd64`).
    pub fn set_ref(
        &self,
        reference: &str,
        platform: &str,
        digest: &Digest,
    ) -> Result<(), BaseError> {
        let path = self.ref_path(reference, platform);
        let tmp_dir = self.temp_dir();
        let mut temp = tempfile::Builder::new()
            .prefix(".ref-")
            .suffix(".tmp")
            .tempfile_in(&tmp_dir)
            .map_err(io("create a temporary file in", &tmp_dir))?;
        writeln!(temp, "{digest}").map_err(io("write", temp.path()))?;
        temp.persist(&path)
            .map_err(|e| io("write", &path)(e.error))?;
        Ok(())
    }

    /// The manifest digest `reference` resolved to for `platform` when it was last pulled.
    pub fn get_ref(&self, reference: &str, platform: &str) -> Result<Option<Digest>, BaseError> {
        let path = self.ref_path(reference, platform);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("read", &path)(e)),
        };
        Ok(Digest::parse(text.trim()).ok())
    }

    /// Makes the cached blob `digest` available in `store` without recompressing it: a hard
    /// link when the two are on one file system, else a verified copy.
    pub fn link_into(&self, digest: &Digest, store: &BlobStore) -> Result<(), BaseError> {
        let src = self.path(digest);
        let dest = store.path(digest);
        if dest.is_file() {
            return Ok(());
        }
        if !src.is_file() {
            return Err(BaseError::MissingBlob {
                what: "layer",
                digest: digest.clone(),
                path: src,
            });
        }
        match fs::hard_link(&src, &dest) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
            Err(_) => {}
        }
        let mut file = File::open(&src).map_err(io("open", &src))?;
        let mut writer = store.writer()?;
        let mut buf = vec![0; 256 * 1024];
        loop {
            let n = file.read(&mut buf).map_err(io("read", &src))?;
            if n == 0 {
                break;
            }
            writer.write_all(&buf[..n]).map_err(io("write", &dest))?;
        }
        let written = writer.finish()?;
        if written.digest != *digest {
            // The copy was stored under its real name; the layer is still missing.
            return Err(BaseError::Corrupt {
                digest: digest.clone(),
                path: src,
                actual: written.digest,
            });
        }
        Ok(())
    }

    /// The directory holding unpacked root filesystems.
    pub(crate) fn rootfs_root(&self) -> PathBuf {
        self.root.join("rootfs")
    }

    /// The directory for temporary files and directories.
    pub(crate) fn temp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn ref_path(&self, reference: &str, platform: &str) -> PathBuf {
        self.root
            .join("refs")
            .join(escape(&format!("{reference}#{platform}")))
    }

    /// Removes temporary files and directories left by processes killed long ago.
    fn sweep_temp(&self) {
        let Ok(entries) = fs::read_dir(self.temp_dir()) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > STALE_TEMP_AGE);
            if old {
                let path = entry.path();
                let _ = fs::remove_file(&path).or_else(|_| fs::remove_dir_all(&path));
            }
        }
    }
}

/// The default cache root from the environment.
pub fn default_dir() -> Result<PathBuf, BaseError> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("RCRAFT_CACHE_DIR") {
        return Ok(dir);
    }
    // The XDG spec says relative values are invalid and must be ignored.
    if let Some(dir) = var("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return Ok(dir.join("rcraft"));
    }
    var("HOME")
        .map(|home| home.join(".cache").join("rcraft"))
        .ok_or(BaseError::NoCacheDir)
}

/// A file name for any string: `[A-Za-z0-9._-]` kept, everything else `%XX`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
