//! [`Owner`] and the [`LayerBuilder`] methods that add entries from a directory on disk
//! ([`LayerBuilder::add_tree`], [`LayerBuilder::add_dir_all`]).
//!
//! `pack` calls these with a part's prime directory and the list of files it primed. Kind and
//! permission bits come from `symlink_metadata` (links are never followed); ownership does not
//! come from disk, because on-disk owners are machine-specific: the caller supplies it (the
//! lifecycle records it from `permissions:`), and the default is 0:0. Files with several links
//! are remembered by `(dev, ino)` so that [`LayerBuilder::write`] turns all but the first (in
//! layer order) into hard-link entries.

use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use walkdir::WalkDir;

use super::OciError;
use super::layer::{EntryKind, LayerBuilder, LayerEntry, PathKey, check_path};

/// Ownership (and an optional permission override) for an entry added from disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Permission bits to use instead of the on-disk ones.
    pub mode: Option<u32>,
}

impl Owner {
    /// root:root, on-disk permission bits.
    pub const ROOT: Owner = Owner {
        uid: 0,
        gid: 0,
        mode: None,
    };
}

impl Default for Owner {
    fn default() -> Self {
        Self::ROOT
    }
}

impl LayerBuilder {
    /// Adds `root/<rel>` for each relative path in `rel_paths` (files, directories, symlinks),
    /// with kind and permission bits from disk and owner from `owner(rel, metadata)`.
    ///
    /// Parent directories that are not listed are recorded from disk too (their on-disk mode,
    /// with `owner` consulted for them as well); a listed or explicitly added entry for the same
    /// path takes precedence. Sockets, fifos and device nodes are errors.
    pub fn add_tree<I>(
        &mut self,
        root: &Path,
        rel_paths: I,
        mut owner: impl FnMut(&str, &Metadata) -> Owner,
    ) -> Result<(), OciError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        for rel in rel_paths {
            let rel = rel.as_ref();
            check_path(rel)?;
            let abs = root.join(rel);
            let meta = abs
                .symlink_metadata()
                .map_err(|e| OciError::read(&abs, e))?;
            let kind = entry_kind(&abs, &meta)?;
            let inode = (meta.is_file() && meta.nlink() > 1).then(|| (meta.dev(), meta.ino()));
            let own = owner(rel, &meta);
            self.insert(
                LayerEntry {
                    path: rel.to_owned(),
                    kind,
                    mode: own.mode.unwrap_or(meta.mode() & 0o7777),
                    uid: own.uid,
                    gid: own.gid,
                },
                inode,
            )?;
            self.record_disk_parents(root, rel, &mut owner)?;
        }
        Ok(())
    }

    /// Adds everything below `root` (not `root` itself), walked in sorted order, owned by 0:0
    /// with on-disk permission bits.
    pub fn add_dir_all(&mut self, root: &Path) -> Result<(), OciError> {
        let mut rels = Vec::new();
        for item in WalkDir::new(root)
            .min_depth(1)
            .follow_links(false)
            .sort_by_file_name()
        {
            let item = item.map_err(|e| {
                let path = e.path().unwrap_or(root).to_path_buf();
                OciError::read(path, e.into())
            })?;
            let rel = item.path().strip_prefix(root).unwrap_or(item.path());
            let Some(rel) = rel.to_str() else {
                return Err(OciError::InvalidPath {
                    path: rel.to_string_lossy().into_owned(),
                    reason: "the path is not valid UTF-8",
                });
            };
            rels.push(rel.to_owned());
        }
        self.add_tree(root, &rels, |_, _| Owner::ROOT)
    }

    fn record_disk_parents(
        &mut self,
        root: &Path,
        rel: &str,
        owner: &mut impl FnMut(&str, &Metadata) -> Owner,
    ) -> Result<(), OciError> {
        let mut path = rel;
        while let Some((parent, _)) = path.rsplit_once('/') {
            path = parent;
            let key = PathKey(parent.to_owned());
            if self.disk_parents.contains_key(&key) {
                break;
            }
            let abs = root.join(parent);
            let meta = match abs.symlink_metadata() {
                Ok(meta) if meta.is_dir() => meta,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(OciError::read(&abs, e)),
            };
            let own = owner(parent, &meta);
            let entry = LayerEntry {
                path: parent.to_owned(),
                kind: EntryKind::Dir,
                mode: own.mode.unwrap_or(meta.mode() & 0o7777),
                uid: own.uid,
                gid: own.gid,
            };
            self.disk_parents.insert(key, entry);
        }
        Ok(())
    }
}

/// The layer kind of a file on disk, or an error for what layers cannot hold.
fn entry_kind(abs: &Path, meta: &Metadata) -> Result<EntryKind, OciError> {
    let ft = meta.file_type();
    let unsupported = |kind| {
        Err(OciError::UnsupportedFileType {
            path: abs.to_path_buf(),
            kind,
        })
    };
    if ft.is_dir() {
        Ok(EntryKind::Dir)
    } else if ft.is_file() {
        Ok(EntryKind::File(abs.to_path_buf()))
    } else if ft.is_symlink() {
        let target = std::fs::read_link(abs).map_err(|e| OciError::read(abs, e))?;
        match target.into_os_string().into_string() {
            Ok(t) => Ok(EntryKind::Symlink(t)),
            Err(_) => Err(OciError::InvalidPath {
                path: abs.display().to_string(),
                reason: "the symlink target is not valid UTF-8",
            }),
        }
    } else if ft.is_socket() {
        unsupported("socket")
    } else if ft.is_fifo() {
        unsupported("fifo")
    } else if ft.is_block_device() {
        unsupported("block device")
    } else if ft.is_char_device() {
        unsupported("character device")
    } else {
        unsupported("file of unknown type")
    }
}
