//! [`LayerCache`]: reusing a part's layer when what it primed has not changed.
//!
//! Tar and gzip are the slow part of a re-pack. Each part's layer is stored in the pack's
//! blob store (`.rcraft/work/<platform>/oci`) under a key that covers everything the layer's
//! bytes depend on: the primed paths with their on-disk type, mode, size, modification time
//! and link target, the `permissions:` overrides, the timestamp (`SOURCE_DATE_EPOCH`), the
//! gzip level, the base image and rcraft's version. A part the lifecycle skipped keeps its
//! primed files untouched, so its key matches and the blob is reused as it is. Blobs no image
//! refers to any more are removed after each pack.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::lifecycle::PrimedPart;
use crate::oci::{BlobStore, Digest, GZIP_LEVEL, Layer};

/// What is remembered of one part's layer.
#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    digest: String,
    diff_id: String,
    size: u64,
    media_type: String,
}

/// Layer records of one platform's pack.
pub struct LayerCache {
    dir: PathBuf,
}

impl LayerCache {
    /// Records live in `<work_dir>/layers`.
    pub fn new(work_dir: &Path) -> Self {
        LayerCache {
            dir: work_dir.join("layers"),
        }
    }

    fn path(&self, part: &str) -> PathBuf {
        self.dir.join(format!(
            "{}.json",
            part.replace('%', "%25").replace('/', "%2F")
        ))
    }

    /// The key of `part`'s layer built from `prime_dir` (see the module docs). `context`
    /// holds what else the bytes depend on (timestamp, base image).
    pub fn key(prime_dir: &Path, part: &PrimedPart, context: &str) -> String {
        let mut h = Self::hasher(context);
        for f in &part.files {
            h.update(f.path.as_bytes());
            h.update(format!("\0{:?}{:?}{:?}\0", f.owner, f.group, f.mode));
            let path = prime_dir.join(&f.path);
            match path.symlink_metadata() {
                Ok(m) => {
                    h.update(m.mode().to_le_bytes());
                    h.update(m.size().to_le_bytes());
                    h.update(m.mtime().to_le_bytes());
                    h.update(m.mtime_nsec().to_le_bytes());
                    if m.file_type().is_symlink()
                        && let Ok(target) = fs::read_link(&path)
                    {
                        h.update(target.as_os_str().as_encoded_bytes());
                    }
                }
                Err(_) => h.update(b"missing"),
            }
            h.update([0xff]);
        }
        hex::encode(h.finalize())
    }

    /// The key of a layer made from one file's `bytes` (the worker-server's).
    pub fn key_of_bytes(bytes: &[u8], context: &str) -> String {
        let mut h = Self::hasher(context);
        h.update(bytes);
        hex::encode(h.finalize())
    }

    /// A hasher primed with what every layer's bytes depend on besides their files.
    fn hasher(context: &str) -> Sha256 {
        let mut h = Sha256::new();
        h.update(format!(
            "rcraft {} gzip {GZIP_LEVEL} {context}\0",
            env!("CARGO_PKG_VERSION")
        ));
        h
    }

    /// The stored layer of `part` if its key is `key` and its blob is still in `blobs`.
    pub fn get(&self, part: &str, key: &str, blobs: &BlobStore) -> Option<Layer> {
        let entry: Entry = serde_json::from_slice(&fs::read(self.path(part)).ok()?).ok()?;
        if entry.key != key {
            return None;
        }
        let digest = Digest::parse(&entry.digest).ok()?;
        let diff_id = Digest::parse(&entry.diff_id).ok()?;
        let on_disk = fs::metadata(blobs.path(&digest)).ok()?;
        (on_disk.len() == entry.size)
            .then(|| Layer::from_existing(digest, diff_id, entry.size, entry.media_type))
    }

    /// Remembers `layer` as `part`'s layer for `key` (best effort: a failure only costs a
    /// rebuild next time).
    pub fn put(&self, part: &str, key: &str, layer: &Layer) {
        let entry = Entry {
            key: key.to_string(),
            digest: layer.digest.to_string(),
            diff_id: layer.diff_id.to_string(),
            size: layer.size,
            media_type: layer.media_type.clone(),
        };
        let Ok(bytes) = serde_json::to_vec(&entry) else {
            return;
        };
        let path = self.path(part);
        let tmp = path.with_extension("json.tmp");
        let _ = fs::create_dir_all(&self.dir)
            .and_then(|()| fs::write(&tmp, bytes))
            .and_then(|()| fs::rename(&tmp, &path));
    }
}

/// Removes the blobs of `blobs` that are not in `keep` (best effort).
pub fn remove_unreferenced(blobs: &BlobStore, keep: &BTreeSet<Digest>) {
    let dir = blobs.root().join("blobs").join("sha256");
    let Ok(entries) = fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let keep_it = Digest::parse(&format!("sha256:{}", name.to_string_lossy()))
            .is_ok_and(|d| keep.contains(&d));
        if !keep_it {
            let _ = fs::remove_file(entry.path());
        }
    }
}
