//! File tree operations shared by the lifecycle and the package stager: [`copy_tree`] (pull, the build-dir copy, the dump
//! plugin), [`migrate`] (stage and prime), [`remove_tree`] and [`Snapshot`] (which files a part
//! added to the prime dir).
//!
//! Everything preserves permission bits and symlinks (never following them), like
//! `cp --archive --no-dereference`. Directory modes are applied after their contents are in
//! place, so read-only source directories copy fine.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

/// A file operation that failed: what was being done, to which path, and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} `{}`: {source}", path.display())]
pub struct FsError {
    /// What was being done (`copy`, `create directory`, ...).
    pub action: &'static str,
    /// The path it was done to.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

impl FsError {
    /// An error doing `action` to `path`.
    pub fn new(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        FsError {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Whether [`copy_tree`] copies file contents or hard-links files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyMode {
    /// New files with the same contents and mode (used when reading the user's project, so
    /// that nothing rcraft or a script does can change it).
    Copy,
    /// Hard links where possible, copies otherwise (`cp --link`).
    Link,
}

/// Removes `path` (file, symlink or tree) if it exists, making read-only directories writable
/// first if needed.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    let meta = match path.symlink_metadata() {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return fs::remove_file(path);
    }
    if fs::remove_dir_all(path).is_ok() {
        return Ok(());
    }
    for entry in walkdir::WalkDir::new(path).follow_links(false) {
        let entry = entry.map_err(io::Error::other)?;
        if entry.file_type().is_dir() {
            let mode = entry.metadata().map_err(io::Error::other)?.mode();
            fs::set_permissions(
                entry.path(),
                fs::Permissions::from_mode((mode & 0o7777) | 0o700),
            )?;
        }
    }
    fs::remove_dir_all(path)
}

/// Copies the contents of directory `src` into `dst` (created if missing, merged otherwise),
/// preserving modes and symlinks. Paths for which `skip` returns true are left out (with
/// everything beneath them). Existing files in `dst` are replaced; devices, FIFOs and sockets
/// are skipped.
pub fn copy_tree(
    src: &Path,
    dst: &Path,
    mode: CopyMode,
    skip: &dyn Fn(&Path) -> bool,
) -> Result<(), FsError> {
    let mut dir_modes = Vec::new();
    let walker = walkdir::WalkDir::new(src)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !skip(e.path()));
    for entry in walker {
        let entry = entry.map_err(|e| walk_error(src, e))?;
        let rel = entry.path().strip_prefix(src).unwrap_or(Path::new(""));
        let target = dst.join(rel);
        let ft = entry.file_type();
        if ft.is_dir() {
            let meta = entry.metadata().map_err(|e| walk_error(src, e))?;
            make_dir(&target)?;
            dir_modes.push((target, meta.mode()));
        } else if ft.is_symlink() {
            copy_symlink(entry.path(), &target)?;
        } else if ft.is_file() {
            replace_with_file(entry.path(), &target, mode)?;
        }
    }
    apply_dir_modes(dir_modes)
}

/// Moves selected paths of `src_dir` into `dst_dir`, as craft-parts' `migrate_files` does for
/// stage and prime: `dirs` are created with their source modes, `files` (which include
/// symlinks) are hard-linked. A file missing in `src_dir` is skipped; a symlink already at the
/// destination is left alone.
pub fn migrate(
    files: &BTreeSet<String>,
    dirs: &BTreeSet<String>,
    src_dir: &Path,
    dst_dir: &Path,
) -> Result<(), FsError> {
    let mut dir_modes = Vec::new();
    for dir in dirs {
        let src = src_dir.join(dir);
        let Ok(meta) = src.symlink_metadata() else {
            continue;
        };
        let dst = dst_dir.join(dir);
        make_dir(&dst)?;
        if meta.is_dir() {
            dir_modes.push((dst, meta.mode()));
        }
    }
    for file in files {
        let src = src_dir.join(file);
        let Ok(meta) = src.symlink_metadata() else {
            continue;
        };
        let dst = dst_dir.join(file);
        if dst
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            continue;
        }
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent).map_err(|e| FsError::new("create directory", parent, e))?;
        }
        if meta.file_type().is_symlink() {
            copy_symlink(&src, &dst)?;
        } else if meta.is_file() {
            replace_with_file(&src, &dst, CopyMode::Link)?;
        }
    }
    apply_dir_modes(dir_modes)
}

/// Hard-links `src` to `dst`, copying when linking is impossible (other file system, ...).
pub fn link_or_copy(src: &Path, dst: &Path) -> Result<(), FsError> {
    if fs::hard_link(src, dst).is_ok() {
        return Ok(());
    }
    fs::copy(src, dst)
        .map(|_| ())
        .map_err(|e| FsError::new("copy", src, e))
}

/// Makes `path` a file of its own (not a hard link shared with other trees) so its metadata can
/// change without touching the other names.
pub fn unshare(path: &Path) -> Result<(), FsError> {
    let meta = path
        .symlink_metadata()
        .map_err(|e| FsError::new("read", path, e))?;
    if !meta.is_file() || meta.nlink() <= 1 {
        return Ok(());
    }
    let tmp = path.with_file_name(format!(
        ".{}.rcraft-unshare",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    fs::copy(path, &tmp).map_err(|e| FsError::new("copy", path, e))?;
    fs::rename(&tmp, path).map_err(|e| FsError::new("replace", path, e))
}

/// Creates directory `path` and its parents; an existing non-directory there is replaced.
fn make_dir(path: &Path) -> Result<(), FsError> {
    if let Ok(meta) = path.symlink_metadata() {
        if meta.is_dir() || (meta.file_type().is_symlink() && path.is_dir()) {
            return Ok(());
        }
        fs::remove_file(path).map_err(|e| FsError::new("replace", path, e))?;
    }
    fs::create_dir_all(path).map_err(|e| FsError::new("create directory", path, e))
}

/// Puts regular file `src` at `dst` (replacing a file or symlink there) by copy or hard link.
fn replace_with_file(src: &Path, dst: &Path, mode: CopyMode) -> Result<(), FsError> {
    remove_non_dir(dst)?;
    match mode {
        CopyMode::Link => link_or_copy(src, dst),
        CopyMode::Copy => fs::copy(src, dst)
            .map(|_| ())
            .map_err(|e| FsError::new("copy", src, e)),
    }
}

/// Recreates symlink `src` at `dst`.
fn copy_symlink(src: &Path, dst: &Path) -> Result<(), FsError> {
    let target = fs::read_link(src).map_err(|e| FsError::new("read symlink", src, e))?;
    remove_non_dir(dst)?;
    symlink(&target, dst).map_err(|e| FsError::new("create symlink", dst, e))
}

/// Removes a file or symlink at `path`; a directory there is an error.
fn remove_non_dir(path: &Path) -> Result<(), FsError> {
    match path.symlink_metadata() {
        Ok(m) if m.is_dir() => Err(FsError::new(
            "replace",
            path,
            io::Error::other("a directory is in the way of a file"),
        )),
        Ok(_) => fs::remove_file(path).map_err(|e| FsError::new("replace", path, e)),
        Err(_) => Ok(()),
    }
}

/// Sets directory modes, deepest first (so a read-only parent is set last).
fn apply_dir_modes(mut dir_modes: Vec<(PathBuf, u32)>) -> Result<(), FsError> {
    dir_modes.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
    for (dir, mode) in dir_modes {
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode & 0o7777))
            .map_err(|e| FsError::new("set mode of", &dir, e))?;
    }
    Ok(())
}

fn walk_error(root: &Path, e: walkdir::Error) -> FsError {
    let path = e.path().unwrap_or(root).to_path_buf();
    FsError::new("read", path, io::Error::other(e))
}

/// What identifies one entry's state for [`Snapshot::changed_since`].
#[derive(Clone, Debug, PartialEq, Eq)]
struct EntryState {
    kind: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    /// For non-directories: device, inode, size, mtime and link target.
    content: Option<(u64, u64, u64, i64, i64, Option<PathBuf>)>,
}

/// The state of every path under a directory, to find what a step added or changed.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Relative `/`-separated path -> state, for lookups.
    entries: BTreeMap<String, EntryState>,
    /// The paths in walk order (parents before children, names sorted).
    order: Vec<String>,
}

impl Snapshot {
    /// Records the state of everything under `root` (not `root` itself).
    pub fn take(root: &Path) -> Result<Snapshot, FsError> {
        let mut snap = Snapshot::default();
        let walker = walkdir::WalkDir::new(root)
            .follow_links(false)
            .sort_by_file_name()
            .min_depth(1);
        for entry in walker {
            let entry = entry.map_err(|e| walk_error(root, e))?;
            let rel = relative_string(root, entry.path());
            let meta = entry.metadata().map_err(|e| walk_error(root, e))?;
            let kind = meta.mode() & libc::S_IFMT;
            let content = if meta.is_dir() {
                None
            } else {
                let target = if meta.file_type().is_symlink() {
                    fs::read_link(entry.path()).ok()
                } else {
                    None
                };
                Some((
                    meta.dev(),
                    meta.ino(),
                    meta.size(),
                    meta.mtime(),
                    meta.mtime_nsec(),
                    target,
                ))
            };
            let state = EntryState {
                kind,
                mode: meta.mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
                content,
            };
            snap.order.push(rel.clone());
            snap.entries.insert(rel, state);
        }
        Ok(snap)
    }

    /// The paths that are new or changed compared with `before`, plus the directories above
    /// them, in walk order.
    pub fn changed_since(&self, before: &Snapshot) -> Vec<String> {
        let mut wanted: BTreeSet<&str> = BTreeSet::new();
        for (path, state) in &self.entries {
            if before.entries.get(path) != Some(state) {
                wanted.insert(path);
                let mut p = path.as_str();
                while let Some((parent, _)) = p.rsplit_once('/') {
                    wanted.insert(parent);
                    p = parent;
                }
            }
        }
        self.order
            .iter()
            .filter(|p| wanted.contains(p.as_str()))
            .cloned()
            .collect()
    }
}

/// `path` relative to `root`, `/`-separated.
pub fn relative_string(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether two paths staged by different parts conflict, as craft-parts decides it: both must
/// exist; two symlinks conflict if their targets differ; a symlink and a non-symlink, or a
/// directory and a non-directory, conflict; two files conflict if their contents differ.
pub fn paths_collide(a: &Path, b: &Path) -> Result<bool, FsError> {
    let (Ok(ma), Ok(mb)) = (a.symlink_metadata(), b.symlink_metadata()) else {
        return Ok(false);
    };
    let (la, lb) = (ma.file_type().is_symlink(), mb.file_type().is_symlink());
    if la && lb {
        let ta = fs::read_link(a).map_err(|e| FsError::new("read symlink", a, e))?;
        let tb = fs::read_link(b).map_err(|e| FsError::new("read symlink", b, e))?;
        return Ok(ta != tb);
    }
    if la || lb {
        return Ok(true);
    }
    if ma.is_dir() != mb.is_dir() {
        return Ok(true);
    }
    if ma.is_dir() {
        return Ok(false);
    }
    Ok(!same_contents(a, b)?)
}

/// Whether two files hold the same bytes.
fn same_contents(a: &Path, b: &Path) -> Result<bool, FsError> {
    use std::io::Read;
    let (ma, mb) = (
        fs::metadata(a).map_err(|e| FsError::new("read", a, e))?,
        fs::metadata(b).map_err(|e| FsError::new("read", b, e))?,
    );
    if ma.dev() == mb.dev() && ma.ino() == mb.ino() {
        return Ok(true);
    }
    if ma.len() != mb.len() {
        return Ok(false);
    }
    let mut fa = io::BufReader::new(fs::File::open(a).map_err(|e| FsError::new("read", a, e))?);
    let mut fb = io::BufReader::new(fs::File::open(b).map_err(|e| FsError::new("read", b, e))?);
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let na = read_full(&mut fa, &mut ba).map_err(|e| FsError::new("read", a, e))?;
        let nb = read_full(&mut fb, &mut bb).map_err(|e| FsError::new("read", b, e))?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }

    fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match r.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}
