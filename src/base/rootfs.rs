//! [`Rootfs`]: an unpacked base root filesystem and the queries pruning and packing need,
//! all without following a symlink out of the root: [`Rootfs::lookup`] (kind plus the image's
//! owner and mode, see [`Attrs`]), [`Rootfs::read`] and [`Rootfs::resolve_parents`] (the
//! usrmerge rewrite `bin/foo` -> `usr/bin/foo`).
//!
//! The tree on disk is owned by whoever unpacked it and may have extra owner permission bits;
//! the image's real owners and modes, where they differ, come from the map that
//! [`super::unpack`] recorded while unpacking.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{BaseError, io};

/// Owner and permission bits of an entry in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attrs {
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
}

/// An unpacked base root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rootfs {
    dir: PathBuf,
    attrs: BTreeMap<String, Attrs>,
}

/// The kind of a [`BaseEntry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseKind {
    /// A directory.
    Dir,
    /// A regular file of this size.
    File(u64),
    /// A symbolic link with this target.
    Symlink(PathBuf),
}

/// One path of a [`Rootfs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseEntry {
    /// Where it is on disk.
    pub path: PathBuf,
    /// What it is.
    pub kind: BaseKind,
    /// Its owner and mode in the image.
    pub attrs: Attrs,
}

impl Rootfs {
    /// A rootfs at `dir` with recorded attributes.
    pub fn new(dir: impl Into<PathBuf>, attrs: BTreeMap<String, Attrs>) -> Self {
        Self {
            dir: dir.into(),
            attrs,
        }
    }

    /// The root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry at `rel` (a clean relative path), never following a symlink: `None` if it is
    /// absent, if a parent is not a real directory, or if it is not a file, directory or link.
    pub fn lookup(&self, rel: &str) -> Result<Option<BaseEntry>, BaseError> {
        let mut abs = self.dir.clone();
        let parts: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
        for (i, c) in parts.iter().enumerate() {
            abs.push(c);
            let meta = match abs.symlink_metadata() {
                Ok(m) => m,
                Err(e) if is_absent(&e) => return Ok(None),
                Err(e) => return Err(io("inspect", &abs)(e)),
            };
            let last = i + 1 == parts.len();
            if !last {
                if !meta.is_dir() {
                    return Ok(None);
                }
                continue;
            }
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                BaseKind::Dir
            } else if ft.is_file() {
                BaseKind::File(meta.len())
            } else if ft.is_symlink() {
                BaseKind::Symlink(fs::read_link(&abs).map_err(io("read link", &abs))?)
            } else {
                return Ok(None);
            };
            let attrs = self.attrs.get(rel).copied().unwrap_or(Attrs {
                uid: 0,
                gid: 0,
                mode: if ft.is_symlink() {
                    0o777
                } else {
                    meta.mode() & 0o7777
                },
            });
            return Ok(Some(BaseEntry {
                path: abs,
                kind,
                attrs,
            }));
        }
        Ok(None)
    }

    /// The content of the regular file at `rel`, or `None` if there is none.
    pub fn read(&self, rel: &str) -> Result<Option<Vec<u8>>, BaseError> {
        match self.lookup(rel)? {
            Some(BaseEntry {
                path,
                kind: BaseKind::File(_),
                ..
            }) => fs::read(&path).map(Some).map_err(io("read", &path)),
            _ => Ok(None),
        }
    }

    /// `rel` with every symlinked directory among its parents replaced by the symlink's target
    /// (resolved inside the root: absolute targets start at the root, `..` stops there), e.g.
    /// `bin/foo` -> `usr/bin/foo` when `bin -> usr/bin`. `None` when a parent resolves to
    /// something that is not a directory or links loop.
    pub fn resolve_parents(&self, rel: &str) -> Result<Option<String>, BaseError> {
        let mut todo: Vec<String> = rel.split('/').map(str::to_string).collect();
        let Some(last) = todo.pop() else {
            return Ok(Some(rel.to_string()));
        };
        todo.reverse(); // a stack: next component at the end
        let mut out: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(c) = todo.pop() {
            match c.as_str() {
                "" | "." => continue,
                ".." => {
                    out.pop();
                    continue;
                }
                _ => out.push(c),
            }
            let abs = self.dir.join(out.join("/"));
            let meta = match abs.symlink_metadata() {
                Ok(m) => m,
                Err(e) if is_absent(&e) => {
                    // Not in the base: the rest is new, kept as it is.
                    todo.reverse();
                    out.extend(todo);
                    break;
                }
                Err(e) => return Err(io("inspect", &abs)(e)),
            };
            if meta.is_dir() {
                continue;
            }
            if !meta.file_type().is_symlink() {
                return Ok(None);
            }
            hops += 1;
            if hops > 40 {
                return Ok(None);
            }
            let target = fs::read_link(&abs).map_err(io("read link", &abs))?;
            let Some(target) = target.to_str() else {
                return Ok(None);
            };
            out.pop();
            if target.starts_with('/') {
                out.clear();
            }
            todo.extend(target.split('/').rev().map(str::to_string));
        }
        out.push(last);
        Ok(Some(out.join("/")))
    }
}

fn is_absent(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
}
