//! Unpacking a base image's layers into a directory, as an overlay would show them, and the
//! per-manifest cache of that directory ([`cached_rootfs`]).
//!
//! Layers are applied in order (gzip or plain tar): `.wh.NAME` removes `NAME` from lower
//! layers, `.wh..wh..opq` empties its directory of lower content, a later entry replaces an
//! earlier one (a directory over a directory only updates its attributes), hard links are
//! recreated. Every entry is refused unless it stays inside the root: no absolute paths, no
//! `..`, no parent directory that is a symlink (so `a -> /etc` then `a/passwd` is refused), no
//! hard link to a path that is not a regular file inside the root. Device nodes and fifos are
//! skipped (rcraft may not be root) and listed in [`Unpacked::skipped`]. Each layer's
//! uncompressed bytes are checked against its `diff_id`.
//!
//! Ownership and exact modes are not trusted to the disk: files are written owned by the
//! current user with at least `u+rw` (directories `u+rwx`, so the tree can always be read and
//! removed), and the image's real `uid`, `gid` and `mode` are recorded in [`Attrs`] for every
//! entry where they differ from `0:0` and the on-disk mode. [`Rootfs::lookup`] merges the two.
//! When running as root the owners are also applied on disk.
//!
//! The cache keeps one unpacked tree per base manifest: `rootfs/<hex>/{root/,attrs.json,
//! complete}`, built in `tmp/` and renamed into place, so a crash mid-unpack never looks done.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use tar::EntryType;

use super::error::{BaseError, io};
use super::rootfs::{Attrs, Rootfs};
use super::{BaseImage, BaseLayer, BlobCache};
use crate::oci::HashingReader;
use crate::oci::layer::MEDIA_TYPE_LAYER_GZIP;

/// What [`unpack_layers`] produced besides the tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unpacked {
    /// Image attributes that the disk does not show (see the module docs).
    pub attrs: BTreeMap<String, Attrs>,
    /// Entries not created (device nodes, fifos), as `path (kind)`.
    pub skipped: Vec<String>,
}

/// The unpacked root filesystem of `image`, from the cache or unpacked into it now.
pub fn cached_rootfs(cache: &BlobCache, image: &BaseImage) -> Result<Rootfs, BaseError> {
    let dir = cache.rootfs_root().join(image.manifest_digest.hex());
    if let Some(rootfs) = load_cached(&dir)? {
        return Ok(rootfs);
    }
    if dir.exists() {
        // Not marked complete: left by an older or broken run.
        fs::remove_dir_all(&dir).map_err(io("remove incomplete", &dir))?;
    }
    let tmp_dir = cache.temp_dir();
    let temp = tempfile::Builder::new()
        .prefix(".rootfs-")
        .tempdir_in(&tmp_dir)
        .map_err(io("create a temporary directory in", &tmp_dir))?;
    let unpacked = unpack_layers(cache, image, &temp.path().join("root"))?;
    let attrs_path = temp.path().join("attrs.json");
    let json =
        serde_json::to_vec(&unpacked.attrs).map_err(|e| io("write", &attrs_path)(e.into()))?;
    fs::write(&attrs_path, json).map_err(io("write", &attrs_path))?;
    let marker = temp.path().join("complete");
    fs::write(&marker, format!("{}\n", image.manifest_digest)).map_err(io("write", &marker))?;
    let temp = temp.keep();
    if let Err(e) = fs::rename(&temp, &dir) {
        // Another pack finished first (the target is a non-empty directory): use its copy.
        let _ = fs::remove_dir_all(&temp);
        if let Some(rootfs) = load_cached(&dir)? {
            return Ok(rootfs);
        }
        return Err(io("store unpacked base", &dir)(e));
    }
    Ok(Rootfs::new(dir.join("root"), unpacked.attrs))
}

fn load_cached(dir: &Path) -> Result<Option<Rootfs>, BaseError> {
    if !dir.join("complete").is_file() {
        return Ok(None);
    }
    let attrs_path = dir.join("attrs.json");
    let bytes = fs::read(&attrs_path).map_err(io("read", &attrs_path))?;
    let attrs = serde_json::from_slice(&bytes).map_err(|e| io("read", &attrs_path)(e.into()))?;
    Ok(Some(Rootfs::new(dir.join("root"), attrs)))
}

/// Applies `image`'s layers, bottom first, into `dest` (created; must not exist or be empty).
pub fn unpack_layers(
    cache: &BlobCache,
    image: &BaseImage,
    dest: &Path,
) -> Result<Unpacked, BaseError> {
    fs::create_dir_all(dest).map_err(io("create", dest))?;
    let mut state = State {
        root: dest.to_path_buf(),
        out: Unpacked::default(),
        as_root: running_as_root(),
    };
    for layer in &image.layers {
        let path = cache.path(&layer.digest);
        let file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => BaseError::MissingBlob {
                what: "layer",
                digest: layer.digest.clone(),
                path: path.clone(),
            },
            _ => io("open", &path)(e),
        })?;
        let raw = BufReader::with_capacity(256 * 1024, file);
        if layer.media_type == MEDIA_TYPE_LAYER_GZIP {
            state.apply(layer, MultiGzDecoder::new(raw))?;
        } else {
            state.apply(layer, raw)?;
        }
    }
    Ok(state.out)
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

struct State {
    root: PathBuf,
    out: Unpacked,
    as_root: bool,
}

impl State {
    fn apply(&mut self, layer: &BaseLayer, reader: impl Read) -> Result<(), BaseError> {
        let unpack = |source| BaseError::Unpack {
            layer: layer.digest.clone(),
            source,
        };
        let mut archive = tar::Archive::new(HashingReader::new(reader));
        let mut created: HashSet<String> = HashSet::new();
        for entry in archive.entries().map_err(unpack)? {
            let entry = entry.map_err(unpack)?;
            self.apply_entry(layer, entry, &mut created)?;
        }
        let mut rest = archive.into_inner();
        io::copy(&mut rest, &mut io::sink()).map_err(unpack)?;
        let (_, diff_id, _) = rest.finish();
        if diff_id != layer.diff_id {
            return Err(BaseError::BadDocument {
                what: "layer",
                digest: layer.digest.clone(),
                reason: format!(
                    "its uncompressed content hashes to {diff_id}, not its diff_id {}",
                    layer.diff_id
                ),
            });
        }
        Ok(())
    }

    fn apply_entry<R: Read>(
        &mut self,
        layer: &BaseLayer,
        mut entry: tar::Entry<'_, R>,
        created: &mut HashSet<String>,
    ) -> Result<(), BaseError> {
        let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let refuse = |reason| BaseError::UnsafeEntry {
            layer: layer.digest.clone(),
            path: raw_path.clone(),
            reason,
        };
        if std::str::from_utf8(&entry.path_bytes()).is_err() {
            return Err(refuse("the path is not valid UTF-8"));
        }
        let Some(rel) = clean(&raw_path).map_err(refuse)? else {
            return Ok(()); // the root directory itself
        };
        let (parent, name) = match rel.rsplit_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, rel.as_str()),
        };
        if let Some(parent) = parent {
            self.ensure_parents(parent).map_err(|e| match e {
                Refusal::Unsafe(reason) => refuse(reason),
                Refusal::Io(e) => e,
            })?;
        }
        let unpack = |source| BaseError::Unpack {
            layer: layer.digest.clone(),
            source,
        };
        let join = |p: Option<&str>, n: &str| match p {
            Some(p) => format!("{p}/{n}"),
            None => n.to_string(),
        };

        // Whiteouts apply to lower layers only: what this layer created stays.
        if let Some(hidden) = name.strip_prefix(".wh.") {
            if hidden == ".wh..opq" {
                let dir = parent.map_or(self.root.clone(), |p| self.root.join(p));
                for child in fs::read_dir(&dir).map_err(io("read", &dir))? {
                    let child = child.map_err(io("read", &dir))?;
                    let child_rel = join(parent, &child.file_name().to_string_lossy());
                    if !created.contains(&child_rel) {
                        self.remove(&child_rel)?;
                    }
                }
            } else if hidden.starts_with(".wh.") {
                // Other AUFS metadata (`.wh..wh.plnk`, ...): nothing to apply.
            } else if hidden.is_empty() || hidden == "." || hidden == ".." {
                return Err(refuse("the whiteout names no file"));
            } else {
                let target = join(parent, hidden);
                if !created.contains(&target) {
                    self.remove(&target)?;
                }
            }
            return Ok(());
        }

        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode().map_err(unpack)? & 0o7777;
        let uid = u32::try_from(header.uid().map_err(unpack)?).unwrap_or(u32::MAX);
        let gid = u32::try_from(header.gid().map_err(unpack)?).unwrap_or(u32::MAX);
        let abs = self.root.join(&rel);
        let existing = abs.symlink_metadata().ok();

        if matches!(kind, EntryType::Char | EntryType::Block | EntryType::Fifo) {
            let what = match kind {
                EntryType::Char => "character device",
                EntryType::Block => "block device",
                _ => "fifo",
            };
            self.out.skipped.push(format!("{rel} ({what})"));
            return Ok(());
        }
        // A directory over a directory keeps the contents; anything else replaces.
        let keep_dir =
            kind == EntryType::Directory && existing.as_ref().is_some_and(|m| m.is_dir());
        if existing.is_some() && !keep_dir {
            self.remove(&rel)?;
        }
        let disk_mode;
        match kind {
            EntryType::Directory => {
                if !keep_dir {
                    fs::create_dir(&abs).map_err(io("create", &abs))?;
                }
                disk_mode = mode | 0o700;
                // chown clears setuid/setgid bits, so it goes first.
                self.chown(&abs, uid, gid)?;
                set_mode(&abs, disk_mode)?;
            }
            EntryType::Regular | EntryType::Continuous => {
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&abs)
                    .map_err(io("create", &abs))?;
                io::copy(&mut entry, &mut file).map_err(unpack)?;
                disk_mode = mode | 0o600;
                self.chown(&abs, uid, gid)?;
                set_mode(&abs, disk_mode)?;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse("the symlink has no target"))?;
                let target = std::ffi::OsStr::from_bytes(&target).to_owned();
                std::os::unix::fs::symlink(&target, &abs).map_err(io("create symlink", &abs))?;
                disk_mode = 0o777;
                self.record(
                    &rel,
                    Attrs {
                        uid,
                        gid,
                        mode: 0o777,
                    },
                    disk_mode,
                );
                created.insert(rel.clone());
                return self.chown(&abs, uid, gid);
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| refuse("the hard link has no target"))?;
                let target = String::from_utf8_lossy(&target).into_owned();
                let target = clean(&target)
                    .map_err(|_| refuse("the hard link target leaves the root"))?
                    .ok_or_else(|| refuse("the hard link target is the root"))?;
                let src = self.regular_file(&target).map_err(|e| match e {
                    Refusal::Unsafe(_) => {
                        refuse("the hard link target is not a regular file inside the root")
                    }
                    Refusal::Io(e) => e,
                })?;
                fs::hard_link(&src, &abs).map_err(io("create hard link", &abs))?;
                // Same inode, so same attributes as the target.
                if let Some(a) = self.out.attrs.get(&target).copied() {
                    self.out.attrs.insert(rel.clone(), a);
                }
                created.insert(rel);
                return Ok(());
            }
            _ => {
                self.out
                    .skipped
                    .push(format!("{rel} (tar entry type {:?})", kind));
                return Ok(());
            }
        }
        self.record(&rel, Attrs { uid, gid, mode }, disk_mode);
        created.insert(rel);
        Ok(())
    }

    /// Creates missing parent directories of an entry (0755), refusing symlinks and files.
    fn ensure_parents(&mut self, parent: &str) -> Result<(), Refusal> {
        let mut abs = self.root.clone();
        for c in parent.split('/') {
            abs.push(c);
            match abs.symlink_metadata() {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Refusal::Unsafe("a parent directory is a symlink"));
                }
                Ok(_) => return Err(Refusal::Unsafe("a parent is not a directory")),
                Err(e) if is_absent(&e) => {
                    fs::create_dir(&abs).map_err(|e| Refusal::Io(io("create", &abs)(e)))?;
                }
                Err(e) => return Err(Refusal::Io(io("inspect", &abs)(e))),
            }
        }
        Ok(())
    }

    /// The on-disk path of the regular file `rel`, reached without following symlinks.
    fn regular_file(&self, rel: &str) -> Result<PathBuf, Refusal> {
        let mut abs = self.root.clone();
        let parts: Vec<&str> = rel.split('/').collect();
        for (i, c) in parts.iter().enumerate() {
            abs.push(c);
            let meta = abs
                .symlink_metadata()
                .map_err(|_| Refusal::Unsafe("missing"))?;
            let ok = if i + 1 == parts.len() {
                meta.is_file()
            } else {
                meta.is_dir()
            };
            if !ok {
                return Err(Refusal::Unsafe("not a regular file"));
            }
        }
        Ok(abs)
    }

    /// Removes `rel` (recursively) and its recorded attributes.
    fn remove(&mut self, rel: &str) -> Result<(), BaseError> {
        let abs = self.root.join(rel);
        match abs.symlink_metadata() {
            Ok(m) if m.is_dir() => fs::remove_dir_all(&abs).map_err(io("remove", &abs))?,
            Ok(_) => fs::remove_file(&abs).map_err(io("remove", &abs))?,
            Err(e) if is_absent(&e) => {}
            Err(e) => return Err(io("inspect", &abs)(e)),
        }
        self.out.attrs.remove(rel);
        let prefix = format!("{rel}/");
        let below: Vec<String> = self
            .out
            .attrs
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in below {
            self.out.attrs.remove(&k);
        }
        Ok(())
    }

    fn record(&mut self, rel: &str, attrs: Attrs, disk_mode: u32) {
        if attrs.uid != 0 || attrs.gid != 0 || attrs.mode != disk_mode {
            self.out.attrs.insert(rel.to_string(), attrs);
        } else {
            self.out.attrs.remove(rel);
        }
    }

    fn chown(&self, abs: &Path, uid: u32, gid: u32) -> Result<(), BaseError> {
        if self.as_root {
            std::os::unix::fs::lchown(abs, Some(uid), Some(gid)).map_err(io("chown", abs))?;
        }
        Ok(())
    }
}

enum Refusal {
    Unsafe(&'static str),
    Io(BaseError),
}

fn set_mode(abs: &Path, mode: u32) -> Result<(), BaseError> {
    fs::set_permissions(abs, fs::Permissions::from_mode(mode))
        .map_err(io("set permissions of", abs))
}

fn is_absent(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

/// A tar path made relative and clean (`./a//b/` -> `a/b`); `None` for the root itself.
fn clean(raw: &str) -> Result<Option<String>, &'static str> {
    if raw.starts_with('/') {
        return Err("the path is absolute");
    }
    let mut parts = Vec::new();
    for c in raw.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err("the path has a `..` component"),
            c => parts.push(c),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

#[cfg(test)]
#[path = "unpack_tests.rs"]
mod tests;
