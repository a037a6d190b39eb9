//! [`BlobStore`]: the content-addressed `blobs/sha256/<hex>` directory of the OCI image layout
//! being built, and [`BlobWriter`], the streaming way to add a blob to it.
//!
//! Layers are written into the store by [`crate::oci::layer`], the config and manifest by
//! [`crate::oci::image`], and [`crate::oci::archive`] copies the referenced blobs from it into the
//! `.rock`. Every write goes to a temporary file in the store's root and is renamed to its digest
//! only once complete and synced, so a crash never leaves a blob whose name does not match its
//! bytes (a stray `.blob-*` temporary file at worst).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::{Digest, HashingWriter, OciError};

/// Buffer between the hashers/compressor and the blob file.
const WRITE_BUFFER: usize = 256 * 1024;

/// The digest and size of a stored blob: the two facts a descriptor needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    /// `sha256:` of the blob's bytes.
    pub digest: Digest,
    /// The blob's length in bytes.
    pub size: u64,
}

/// An OCI image layout directory under construction: blobs live in `blobs/sha256/<hex>`.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// Opens (creating if needed) a blob store rooted at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, OciError> {
        let root = dir.into();
        let sha = root.join("blobs").join("sha256");
        fs::create_dir_all(&sha).map_err(|e| OciError::write(&sha, e))?;
        Ok(Self { root })
    }

    /// The layout directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with this digest lives (whether or not it exists).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest.hex())
    }

    /// True if a blob with this digest is present.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// Stores `bytes` as a blob.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<BlobRef, OciError> {
        let mut writer = self.writer()?;
        writer
            .write_all(bytes)
            .map_err(|e| OciError::write(writer.temp_path(), e))?;
        writer.finish()
    }

    /// Starts a streaming blob; its name is decided by [`BlobWriter::finish`].
    pub fn writer(&self) -> Result<BlobWriter, OciError> {
        let temp = tempfile::Builder::new()
            .prefix(".blob-")
            .tempfile_in(&self.root)
            .map_err(|e| OciError::write(&self.root, e))?;
        let temp_path = temp.path().to_path_buf();
        Ok(BlobWriter {
            inner: HashingWriter::new(BufWriter::with_capacity(WRITE_BUFFER, temp)),
            temp_path,
            store: self.clone(),
        })
    }

    /// Opens a stored blob and returns it with its size, or [`OciError::MissingBlob`].
    pub(crate) fn open(&self, digest: &Digest) -> Result<(File, u64), OciError> {
        let path = self.path(digest);
        let missing = |source| OciError::MissingBlob {
            digest: digest.to_string(),
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(missing)?;
        let size = file.metadata().map_err(missing)?.len();
        Ok((file, size))
    }
}

/// A blob being streamed into a [`BlobStore`]; hashes and counts as it goes.
///
/// Dropping it without calling [`BlobWriter::finish`] deletes the temporary file.
#[derive(Debug)]
pub struct BlobWriter {
    inner: HashingWriter<BufWriter<NamedTempFile>>,
    temp_path: PathBuf,
    store: BlobStore,
}

impl BlobWriter {
    /// The temporary file being written (for error messages).
    pub fn temp_path(&self) -> &Path {
        &self.temp_path
    }

    /// Flushes, syncs and renames the blob to `blobs/sha256/<hex>`.
    pub fn finish(self) -> Result<BlobRef, OciError> {
        let (buffered, digest, size) = self.inner.finish();
        let temp = buffered
            .into_inner()
            .map_err(|e| OciError::write(&self.temp_path, e.into_error()))?;
        temp.as_file()
            .sync_data()
            .map_err(|e| OciError::write(&self.temp_path, e))?;
        let dest = self.store.path(&digest);
        temp.persist(&dest)
            .map_err(|e| OciError::write(&dest, e.error))?;
        Ok(BlobRef { digest, size })
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_bytes_names_the_blob_by_its_content_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path()).unwrap();
        let blob = store.put_bytes(b"{}").unwrap();
        assert_eq!(blob.digest, Digest::of(b"{}"));
        assert_eq!(blob.size, 2);
        assert_eq!(fs::read(store.path(&blob.digest)).unwrap(), b"{}");
        assert!(store.contains(&blob.digest));
        // Only `blobs/` remains in the root: no temporary file.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["blobs"]);
    }

    #[test]
    fn dropped_writer_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path()).unwrap();
        let mut w = store.writer().unwrap();
        w.write_all(b"partial").unwrap();
        let temp = w.temp_path().to_path_buf();
        assert!(temp.exists());
        drop(w);
        assert!(!temp.exists());
        assert_eq!(
            fs::read_dir(dir.path().join("blobs/sha256"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn open_reports_missing_blobs_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path()).unwrap();
        let err = store.open(&Digest::of(b"nope")).unwrap_err();
        assert!(matches!(err, OciError::MissingBlob { .. }));
        assert!(err.to_string().contains(Digest::of(b"nope").hex()));
    }
}
