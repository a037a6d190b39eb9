//! Unpacking a `.deb` without dpkg: the `ar` container ([`members`]), its `control.tar.*` (for
//! the control paragraph) and `data.tar.{xz,zst,gz}` extracted into a root directory, keeping
//! modes and symlinks. Maintainer scripts are not run.
//!
//! The root is laid out as a merged-`/usr` system, as Debian 12 and Ubuntu install: the first
//! package shipping something under `/bin`, `/sbin`, `/lib`, `/lib32`, `/lib64` or `/libx32`
//! creates that directory as a symlink into `usr/`, and its files land in `usr/…`. (A bare
//! rootfs has no such links, but ELF interpreters are `/lib64/ld-linux-x86-64.so.2`.)
//!
//! Every path is resolved inside the root as if the root were `/` (symlinks followed, `..`
//! clamped), so a package's symlink can never make rcraft write outside the root.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use super::error::{DebsError, io};

/// Top-level directories that are symlinks into `usr/` on a merged-`/usr` system.
pub const MERGED_DIRS: [&str; 6] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// What unpacking found that the caller may need to report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// Directories and their modes, applied by [`finish`] once every package is unpacked (a
    /// read-only directory would block later packages).
    pub dir_modes: Vec<(PathBuf, u32)>,
    /// Paths (relative to the root) owned by someone other than root, with uid and gid;
    /// their ownership is not kept.
    pub non_root: Vec<(String, u64, u64)>,
    /// Device nodes and FIFOs, skipped.
    pub skipped: Vec<String>,
}

/// Unpacks the `.deb` at `deb` (called `id` in errors) into `root`; returns its control
/// paragraph (the `control` file of `control.tar.*`).
pub fn unpack(deb: &Path, id: &str, root: &Path, out: &mut Unpacked) -> Result<String, DebsError> {
    let fail = |reason: String| DebsError::Unpack {
        package: id.to_string(),
        reason,
    };
    let file = File::open(deb).map_err(io("open", deb))?;
    let mut reader = BufReader::new(file);
    let mut control = None;
    let mut data_done = false;
    let mut magic = [0u8; 8];
    reader
        .read_exact(&mut magic)
        .map_err(|e| fail(format!("not a .deb: {e}")))?;
    if &magic != b"!<arch>\n" {
        return Err(fail("not a .deb (no ar header)".to_string()));
    }
    while let Some((name, size)) = next_member(&mut reader).map_err(|e| fail(e.to_string()))? {
        let mut member = (&mut reader).take(size);
        if let Some(ext) = name.strip_prefix("control.tar") {
            let mut tar = tar::Archive::new(decoder(ext, &mut member).map_err(&fail)?);
            control = Some(read_control(&mut tar).map_err(|e| fail(format!("control.tar: {e}")))?);
        } else if let Some(ext) = name.strip_prefix("data.tar") {
            let mut tar = tar::Archive::new(decoder(ext, &mut member).map_err(&fail)?);
            extract(&mut tar, root, out).map_err(|e| fail(format!("data.tar: {e}")))?;
            data_done = true;
        }
        // Skip what the decoder left (trailing padding) and the ar padding byte.
        io::copy(&mut member, &mut io::sink()).map_err(|e| fail(e.to_string()))?;
        if size % 2 == 1 {
            let mut pad = [0u8; 1];
            let _ = reader.read(&mut pad).map_err(|e| fail(e.to_string()))?;
        }
    }
    if !data_done {
        return Err(fail("no data.tar member".to_string()));
    }
    control.ok_or_else(|| fail("no control.tar member".to_string()))
}

/// Applies the directory modes collected while unpacking.
pub fn finish(out: &Unpacked) -> Result<(), DebsError> {
    for (dir, mode) in out.dir_modes.iter().rev() {
        fs::set_permissions(dir, fs::Permissions::from_mode(*mode))
            .map_err(io("set permissions of", dir))?;
    }
    Ok(())
}

/// Reads the next ar member header: (name, size).
fn next_member(r: &mut impl Read) -> io::Result<Option<(String, u64)>> {
    let mut header = [0u8; 60];
    let mut got = 0;
    while got < header.len() {
        let n = r.read(&mut header[got..])?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "truncated ar header",
            ));
        }
        got += n;
    }
    if &header[58..60] != b"`\n" {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad ar member header",
        ));
    }
    let name = String::from_utf8_lossy(&header[..16])
        .trim_end()
        .trim_end_matches('/')
        .to_string();
    let size = String::from_utf8_lossy(&header[48..58])
        .trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad ar member size"))?;
    Ok(Some((name, size)))
}

/// A decompressing reader for a `*.tar<ext>` member.
fn decoder<'a>(ext: &str, r: impl Read + 'a) -> Result<Box<dyn Read + 'a>, String> {
    Ok(match ext {
        ".xz" => Box::new(lzma_rust2::XzReader::new(r, true)),
        ".zst" => Box::new(
            ruzstd::decoding::StreamingDecoder::new(r)
                .map_err(|e| format!("bad zstd stream: {e}"))?,
        ),
        ".gz" => Box::new(flate2::read::GzDecoder::new(r)),
        "" => Box::new(r),
        other => return Err(format!("unsupported compression 'tar{other}'")),
    })
}

/// The `control` file of a control archive.
fn read_control<R: Read>(tar: &mut tar::Archive<R>) -> io::Result<String> {
    for entry in tar.entries()? {
        let mut entry = entry?;
        if normalize(&entry.path()?).is_some_and(|p| p == Path::new("control")) {
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            return Ok(text);
        }
    }
    Err(io::Error::new(io::ErrorKind::NotFound, "no control file"))
}

/// Extracts a data archive into `root`.
fn extract<R: Read>(tar: &mut tar::Archive<R>, root: &Path, out: &mut Unpacked) -> io::Result<()> {
    for entry in tar.entries()? {
        let mut entry = entry?;
        let Some(rel) = normalize(&entry.path()?) else {
            continue;
        };
        ensure_merged(root, &rel)?;
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode()? & 0o7777;
        let (uid, gid) = (header.uid().unwrap_or(0), header.gid().unwrap_or(0));
        let shown = rel.to_string_lossy().into_owned();
        if uid != 0 || gid != 0 {
            out.non_root.push((shown.clone(), uid, gid));
        }
        if kind.is_dir() {
            let dest = resolve(root, &rel, true)?;
            if dest.symlink_metadata().is_ok_and(|m| !m.is_dir()) {
                fs::remove_file(&dest)?;
            }
            fs::create_dir_all(&dest)?;
            out.dir_modes.push((dest, mode));
            continue;
        }
        let dest = resolve(root, &rel, false)?;
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        let existing = dest.symlink_metadata().ok();
        if kind.is_symlink() {
            let target = entry
                .link_name()?
                .ok_or_else(|| invalid(format!("symlink {shown} has no target")))?
                .into_owned();
            match existing {
                Some(m) if m.is_symlink() && fs::read_link(&dest)? == target => continue,
                // dpkg keeps a directory a package wants to turn into a symlink.
                Some(m) if m.is_dir() => continue,
                Some(_) => fs::remove_file(&dest)?,
                None => {}
            }
            std::os::unix::fs::symlink(&target, &dest)?;
            continue;
        }
        if existing.as_ref().is_some_and(|m| m.is_dir()) {
            return Err(invalid(format!("{shown}: a directory is in the way")));
        }
        if existing.is_some() {
            fs::remove_file(&dest)?;
        }
        if kind.is_hard_link() {
            let target = entry
                .link_name()?
                .and_then(|t| normalize(&t))
                .ok_or_else(|| invalid(format!("hard link {shown} has no target")))?;
            let source = resolve(root, &target, false)?;
            if fs::hard_link(&source, &dest).is_err() {
                fs::copy(&source, &dest)?;
            }
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            let mut file = File::create(&dest)?;
            io::copy(&mut entry, &mut file)?;
            file.set_permissions(fs::Permissions::from_mode(mode))?;
        } else {
            out.skipped.push(shown);
        }
    }
    Ok(())
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// `./usr/bin/x` -> `usr/bin/x`; `None` for the root itself; `..` components are refused.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Makes `<dir> -> usr/<dir>` when `rel` starts with one of [`MERGED_DIRS`] and `<dir>` does
/// not exist yet.
fn ensure_merged(root: &Path, rel: &Path) -> io::Result<()> {
    let Some(Component::Normal(first)) = rel.components().next() else {
        return Ok(());
    };
    let Some(dir) = MERGED_DIRS.iter().find(|d| first == **d) else {
        return Ok(());
    };
    let link = root.join(dir);
    if link.symlink_metadata().is_ok() {
        return Ok(());
    }
    fs::create_dir_all(root.join("usr").join(dir))?;
    std::os::unix::fs::symlink(Path::new("usr").join(dir), &link)
}

/// The real path of `rel` inside `root`, resolving symlinks as if `root` were `/` (the last
/// component only when `follow_last`).
pub fn resolve(root: &Path, rel: &Path, follow_last: bool) -> io::Result<PathBuf> {
    let mut done: Vec<OsString> = Vec::new();
    let mut pending: VecDeque<OsString> = components(rel);
    let mut links = 0;
    while let Some(c) = pending.pop_front() {
        if c == ".." {
            done.pop();
            continue;
        }
        let here: PathBuf = root.join(done.iter().collect::<PathBuf>()).join(&c);
        let last = pending.is_empty();
        if (!last || follow_last) && here.symlink_metadata().is_ok_and(|m| m.is_symlink()) {
            links += 1;
            if links > 40 {
                return Err(invalid(format!("too many symlinks in {}", rel.display())));
            }
            let target = fs::read_link(&here)?;
            if target.is_absolute() {
                done.clear();
            }
            let mut next = components(&target);
            next.extend(pending);
            pending = next;
            continue;
        }
        done.push(c);
    }
    Ok(root.join(done.iter().collect::<PathBuf>()))
}

fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}
