//! [`TarStream`]: the deterministic GNU tar writer under both the layer tars
//! ([`crate::oci::layer`]) and the `.rock` archive ([`crate::oci::archive`]).
//!
//! Format: every header is a GNU header (`ustar  \0` magic) built here field by field from what
//! the caller passes: path, type, permission bits, uid/gid, one fixed mtime; uname/gname,
//! atime/ctime and device numbers stay zero. Names or link targets longer than the 100-byte
//! header fields get a GNU `././@LongLink` entry (`L` for the name, `K` for the link target)
//! whose own header is fixed too (mode 0644, owner 0:0, mtime 0), so the bytes depend only on
//! the inputs. GNU rather than PAX: one header kind for everything, no per-entry extended records
//! whose contents (and timestamps, with some writers) would need pinning, base-256 numbers for
//! files over 8 GiB and large ids, and it is what the `tar` crate emits by default; Go's
//! `archive/tar` (containerd, Docker, umoci, skopeo) and GNU tar read it.

use std::io::{self, Read, Write};

use tar::{EntryType, Header};

const BLOCK: usize = 512;
/// Size of the GNU header's `name` and `linkname` fields.
const NAME_FIELD: usize = 100;
/// Copy buffer for file contents.
const COPY_BUFFER: usize = 128 * 1024;

/// The type of one tar entry and what it points at.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TarKind<'a> {
    /// A directory (its name gets a trailing `/`).
    Dir,
    /// A regular file of this many bytes.
    File(u64),
    /// A symbolic link to this target, kept verbatim.
    Symlink(&'a str),
    /// A hard link to this earlier entry of the same tar.
    Hardlink(&'a str),
}

/// What one header says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TarHeader<'a> {
    /// Relative path without a trailing `/`.
    pub path: &'a str,
    pub kind: TarKind<'a>,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u64,
}

/// A tar being written to `W`, one entry at a time, ended by [`TarStream::finish`].
#[derive(Debug)]
pub(crate) struct TarStream<W: Write> {
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> TarStream<W> {
    pub(crate) fn new(out: W) -> Self {
        Self {
            out,
            buf: Vec::new(),
        }
    }

    /// Writes one header (plus long-name entries) and, for files, copies the contents from
    /// `data`. Returns the number of content bytes `data` supplied up to the declared size: a
    /// smaller number means the source was short and the stream is now corrupt (the caller
    /// reports it and discards the stream). Bytes beyond the declared size are not read.
    pub(crate) fn append(&mut self, entry: &TarHeader<'_>, data: impl Read) -> io::Result<u64> {
        self.append_with(entry, |stream, size| stream.copy(data.take(size)))
    }

    /// [`TarStream::append`] with the contents written by `write`, given the writer and the
    /// declared size, which returns how many bytes it wrote (at most the size). For writers
    /// that can copy faster than through a buffer (file to file, in the kernel).
    pub(crate) fn append_with(
        &mut self,
        entry: &TarHeader<'_>,
        write: impl FnOnce(&mut Self, u64) -> io::Result<u64>,
    ) -> io::Result<u64> {
        let mut name = entry.path.as_bytes().to_vec();
        let (entry_type, size, link) = match entry.kind {
            TarKind::Dir => {
                name.push(b'/');
                (EntryType::Directory, 0, None)
            }
            TarKind::File(size) => (EntryType::Regular, size, None),
            TarKind::Symlink(target) => (EntryType::Symlink, 0, Some(target)),
            TarKind::Hardlink(target) => (EntryType::Link, 0, Some(target)),
        };
        if name.len() > NAME_FIELD {
            self.long_link(EntryType::GNULongName, &name)?;
        }
        if let Some(target) = link.filter(|t| t.len() > NAME_FIELD) {
            self.long_link(EntryType::GNULongLink, target.as_bytes())?;
        }

        let mut header = Header::new_gnu();
        put_truncated(&mut header.as_old_mut().name, &name);
        if let Some(target) = link {
            put_truncated(&mut header.as_old_mut().linkname, target.as_bytes());
        }
        header.set_mode(entry.mode);
        header.set_uid(u64::from(entry.uid));
        header.set_gid(u64::from(entry.gid));
        header.set_mtime(entry.mtime);
        header.set_size(size);
        header.set_entry_type(entry_type);
        header.set_cksum();
        self.out.write_all(header.as_bytes())?;
        if size == 0 {
            return Ok(0);
        }
        let copied = write(self, size)?;
        pad(&mut self.out, copied)?;
        Ok(copied)
    }

    /// The writer, for [`TarStream::append_with`].
    pub(crate) fn writer(&mut self) -> &mut W {
        &mut self.out
    }

    /// Writes the end-of-archive marker (two zero blocks) and returns the writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0; 2 * BLOCK])?;
        Ok(self.out)
    }

    /// A GNU `././@LongLink` entry carrying `value` NUL-terminated.
    fn long_link(&mut self, kind: EntryType, value: &[u8]) -> io::Result<()> {
        let mut header = Header::new_gnu();
        put_truncated(&mut header.as_old_mut().name, b"././@LongLink");
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        let len = value.len() as u64 + 1;
        header.set_size(len);
        header.set_entry_type(kind);
        header.set_cksum();
        self.out.write_all(header.as_bytes())?;
        self.out.write_all(value)?;
        self.out.write_all(&[0])?;
        pad(&mut self.out, len)
    }

    fn copy(&mut self, mut data: impl Read) -> io::Result<u64> {
        if self.buf.is_empty() {
            self.buf = vec![0; COPY_BUFFER];
        }
        let mut total = 0;
        loop {
            let n = match data.read(&mut self.buf) {
                Ok(0) => return Ok(total),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.out.write_all(&self.buf[..n])?;
            total += n as u64;
        }
    }
}

/// Remembers whether an error came from the source (vs. the tar's writer).
pub(crate) struct TrackedReader<R> {
    inner: R,
    pub(crate) failed: bool,
}

impl<R> TrackedReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            failed: false,
        }
    }
}

impl<R: Read> Read for TrackedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|_| self.failed = true)
    }
}

/// Copies as much of `value` as fits (GNU readers take the full value from the long-link entry).
fn put_truncated(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

fn pad(out: &mut impl Write, len: u64) -> io::Result<()> {
    let rem = (len % BLOCK as u64) as usize;
    if rem != 0 {
        out.write_all(&[0; BLOCK][..BLOCK - rem])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(path: &'a str, kind: TarKind<'a>) -> TarHeader<'a> {
        TarHeader {
            path,
            kind,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 7,
        }
    }

    #[test]
    fn long_names_and_targets_round_trip_through_the_tar_crate() {
        let long = format!("{}/file", "d".repeat(150));
        let target = "t".repeat(150);
        let mut tar = TarStream::new(Vec::new());
        tar.append(&header(&long, TarKind::File(3)), &b"abc"[..])
            .unwrap();
        tar.append(&header("link", TarKind::Symlink(&target)), io::empty())
            .unwrap();
        let bytes = tar.finish().unwrap();
        assert_eq!(bytes.len() % BLOCK, 0);

        let mut archive = tar::Archive::new(&bytes[..]);
        let mut entries = archive.entries().unwrap();
        let mut first = entries.next().unwrap().unwrap();
        assert_eq!(first.path_bytes().as_ref(), long.as_bytes());
        assert_eq!(first.header().mtime().unwrap(), 7);
        let mut content = String::new();
        first.read_to_string(&mut content).unwrap();
        assert_eq!(content, "abc");
        drop(first);
        let second = entries.next().unwrap().unwrap();
        assert_eq!(
            second.link_name_bytes().unwrap().as_ref(),
            target.as_bytes()
        );
        assert!(entries.next().is_none());
    }

    #[test]
    fn short_source_is_reported_by_the_returned_count() {
        let mut tar = TarStream::new(Vec::new());
        let n = tar
            .append(&header("f", TarKind::File(10)), &b"abc"[..])
            .unwrap();
        assert_eq!(n, 3);
    }
}
