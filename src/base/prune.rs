//! Rockcraft's rules for a part's primed files on top of a base image, applied before the
//! part's layer is written:
//!
//! * **usrmerge**: a primed path below a directory that is a symlink in the base (`bin ->
//!   usr/bin`, `lib`, `lib64`, `sbin`) is rewritten into the symlink's target (`bin/foo` ->
//!   `usr/bin/foo`), and the primed directory `bin` itself is dropped, so the base's symlink
//!   is not replaced by a directory. If both `bin/foo` and `usr/bin/foo` are primed, the
//!   latter wins.
//! * **identical files are left out**: a file whose content, mode, uid and gid equal the base's
//!   at the same (rewritten) path, a symlink with the same target and owner, and a directory
//!   with the same mode and owner are not put in the layer. A directory is still written when
//!   something below it is (with its primed attributes, equal to the base's), and parents the
//!   part did not list get the base's attributes, so the layer never changes a base directory.
//!
//! [`prune_part`] is a function of the prime dir, the part's file list and the unpacked base;
//! it returns the layer entries (file contents still read from the prime dir when written).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::error::{BaseError, io};
use super::rootfs::{Attrs, BaseEntry, BaseKind, Rootfs};
use crate::lifecycle::PrimedFile;
use crate::oci::layer::DEFAULT_DIR_MODE;
use crate::oci::{EntryKind, LayerEntry, OciError};

/// A part's layer after pruning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrunedLayer {
    /// The entries to write, sorted parents first; hard-linked files are link entries.
    pub entries: Vec<LayerEntry>,
    /// Primed paths left out because the base already has them.
    pub pruned: usize,
    /// Primed paths moved under a base symlink's target (or dropped for being that symlink).
    pub rewritten: usize,
}

struct Candidate {
    path: String,
    rewritten: bool,
    kind: EntryKind,
    attrs: Attrs,
    size: u64,
    inode: Option<(u64, u64)>,
}

/// Applies the module's rules to one part's primed `files` (paths relative to `prime_dir`).
pub fn prune_part(
    prime_dir: &Path,
    files: &[PrimedFile],
    base: &Rootfs,
) -> Result<PrunedLayer, BaseError> {
    let mut out = PrunedLayer::default();
    let mut chosen: BTreeMap<String, Candidate> = BTreeMap::new();
    for f in files {
        let abs = prime_dir.join(&f.path);
        let meta = abs.symlink_metadata().map_err(io("inspect", &abs))?;
        let kind = entry_kind(&abs, &meta)?;
        let attrs = Attrs {
            uid: f.owner.unwrap_or(0),
            gid: f.group.unwrap_or(0),
            mode: f.mode.unwrap_or(meta.mode() & 0o7777),
        };
        let path = base
            .resolve_parents(&f.path)?
            .unwrap_or_else(|| f.path.clone());
        let rewritten = path != f.path;
        if kind == EntryKind::Dir && is_symlink_to_dir(base, &path)? {
            out.rewritten += 1;
            continue;
        }
        if rewritten {
            out.rewritten += 1;
        }
        if let Some(existing) = chosen.get(&path)
            && (rewritten || !existing.rewritten)
        {
            continue;
        }
        let inode = (meta.is_file() && meta.nlink() > 1).then(|| (meta.dev(), meta.ino()));
        chosen.insert(
            path.clone(),
            Candidate {
                path,
                rewritten,
                kind,
                attrs,
                size: meta.len(),
                inode,
            },
        );
    }

    let mut keep: BTreeMap<String, Candidate> = BTreeMap::new();
    let mut same_dirs: BTreeMap<String, Candidate> = BTreeMap::new();
    for (path, c) in chosen {
        let base_entry = base.lookup(&path)?;
        match (&c.kind, base_entry) {
            (EntryKind::Dir, Some(b)) if b.kind == BaseKind::Dir && b.attrs == c.attrs => {
                same_dirs.insert(path, c);
            }
            (kind, Some(b)) if identical(kind, &c, &b)? => out.pruned += 1,
            _ => {
                keep.insert(path, c);
            }
        }
    }
    // Parents of what is kept: the part's own (identical) directory, else the base's.
    let kept: Vec<String> = keep.keys().cloned().collect();
    for path in kept {
        let mut p = path.as_str();
        while let Some((parent, _)) = p.rsplit_once('/') {
            p = parent;
            if keep.contains_key(parent) {
                break;
            }
            let c = match same_dirs.remove(parent) {
                Some(c) => c,
                None => {
                    let attrs = match base.lookup(parent)? {
                        Some(b) if b.kind == BaseKind::Dir => b.attrs,
                        _ => Attrs {
                            uid: 0,
                            gid: 0,
                            mode: DEFAULT_DIR_MODE,
                        },
                    };
                    Candidate {
                        path: parent.to_string(),
                        rewritten: false,
                        kind: EntryKind::Dir,
                        attrs,
                        size: 0,
                        inode: None,
                    }
                }
            };
            keep.insert(parent.to_string(), c);
        }
    }
    out.pruned += same_dirs.len();

    let mut kept: Vec<Candidate> = keep.into_values().collect();
    kept.sort_by(|a, b| layer_order(&a.path, &b.path));
    let mut first_link: HashMap<(u64, u64), (String, Attrs)> = HashMap::new();
    for c in kept {
        let mut kind = c.kind;
        if let Some(inode) = c.inode {
            match first_link.get(&inode) {
                Some((first, attrs)) if *attrs == c.attrs => {
                    kind = EntryKind::Hardlink(first.clone());
                }
                Some(_) => {}
                None => {
                    first_link.insert(inode, (c.path.clone(), c.attrs));
                }
            }
        }
        out.entries.push(LayerEntry {
            path: c.path,
            kind,
            mode: c.attrs.mode,
            uid: c.attrs.uid,
            gid: c.attrs.gid,
        });
    }
    Ok(out)
}

/// Layer order: component by component, so parents precede children.
fn layer_order(a: &str, b: &str) -> Ordering {
    a.split('/')
        .map(str::as_bytes)
        .cmp(b.split('/').map(str::as_bytes))
}

/// Whether `path` is, in the base, a symlink that leads to a directory.
fn is_symlink_to_dir(base: &Rootfs, path: &str) -> Result<bool, BaseError> {
    if !matches!(
        base.lookup(path)?,
        Some(BaseEntry {
            kind: BaseKind::Symlink(_),
            ..
        })
    ) {
        return Ok(false);
    }
    let Some(inside) = base.resolve_parents(&format!("{path}/x"))? else {
        return Ok(false);
    };
    let target = inside.rsplit_once('/').map_or("", |(p, _)| p);
    Ok(!target.is_empty()
        && matches!(
            base.lookup(target)?,
            Some(BaseEntry {
                kind: BaseKind::Dir,
                ..
            })
        ))
}

fn identical(kind: &EntryKind, c: &Candidate, b: &BaseEntry) -> Result<bool, BaseError> {
    Ok(match (kind, &b.kind) {
        (EntryKind::File(src), BaseKind::File(size)) => {
            b.attrs == c.attrs && *size == c.size && same_content(src, &b.path)?
        }
        (EntryKind::Symlink(target), BaseKind::Symlink(base_target)) => {
            Path::new(target) == base_target
                && (b.attrs.uid, b.attrs.gid) == (c.attrs.uid, c.attrs.gid)
        }
        _ => false,
    })
}

/// Compares two files byte by byte.
fn same_content(a: &Path, b: &Path) -> Result<bool, BaseError> {
    let mut fa = File::open(a).map_err(io("open", a))?;
    let mut fb = File::open(b).map_err(io("open", b))?;
    let mut ba = vec![0u8; 64 * 1024];
    let mut bb = vec![0u8; 64 * 1024];
    loop {
        let na = read_full(&mut fa, &mut ba).map_err(io("read", a))?;
        let nb = read_full(&mut fb, &mut bb).map_err(io("read", b))?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn entry_kind(abs: &Path, meta: &std::fs::Metadata) -> Result<EntryKind, BaseError> {
    let ft = meta.file_type();
    if ft.is_dir() {
        Ok(EntryKind::Dir)
    } else if ft.is_file() {
        Ok(EntryKind::File(abs.to_path_buf()))
    } else if ft.is_symlink() {
        let target: PathBuf = std::fs::read_link(abs).map_err(io("read link", abs))?;
        target
            .into_os_string()
            .into_string()
            .map(EntryKind::Symlink)
            .map_err(|_| {
                BaseError::Oci(OciError::InvalidPath {
                    path: abs.display().to_string(),
                    reason: "the symlink target is not valid UTF-8",
                })
            })
    } else {
        Err(BaseError::Oci(OciError::UnsupportedFileType {
            path: abs.to_path_buf(),
            kind: "special file",
        }))
    }
}

#[cfg(test)]
#[path = "prune_tests.rs"]
mod tests;
