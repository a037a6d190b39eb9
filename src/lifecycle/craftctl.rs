//! [`Channel`]: how an override script's `craftctl` calls reach rcraft while the script runs.
//!
//! Design (the one craft-parts uses): for each script run rcraft creates two FIFOs, *call* and
//! *feedback*, and passes their paths in `RCRAFT_CALL_FIFO` / `RCRAFT_FEEDBACK_FIFO`. The
//! `craftctl` shim ([`SHIM`], a POSIX sh script on the script's `PATH`) writes its argument
//! count and arguments, each terminated by a NUL byte, to the call FIFO, then reads the reply
//! from the feedback FIFO until EOF. The reply's first byte is `0` (success; the rest is printed
//! to stdout) or `1` (failure; the rest is printed to stderr and the shim exits 1).
//!
//! [`Channel::serve`] runs in rcraft's thread while the script runs: it holds the call FIFO
//! open read-write (so opening it never blocks the shim and reading never sees EOF), polls it
//! with a short timeout, and checks whether the script has exited between polls, so a script
//! that never calls `craftctl` cannot hang rcraft. Replies are written by opening the feedback
//! FIFO non-blocking, retrying until the shim opens it or the script is gone. Requests run
//! in-process (e.g. `craftctl default` runs the step's default action), one at a time.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::Duration;

/// The `craftctl` shim installed in the work dir's `bin/`.
pub const SHIM: &str = r#"#!/bin/sh
# craftctl for rcraft step scripts: sends the command to rcraft and prints its reply.
if [ -z "${RCRAFT_CALL_FIFO:-}" ] || [ -z "${RCRAFT_FEEDBACK_FIFO:-}" ]; then
    echo "craftctl: can only be used in the override scripts rcraft runs" >&2
    exit 1
fi
{
    printf '%s\0' "$#"
    if [ "$#" -gt 0 ]; then printf '%s\0' "$@"; fi
} > "$RCRAFT_CALL_FIFO" || exit 1
reply=$(cat "$RCRAFT_FEEDBACK_FIFO") || exit 1
status=${reply%"${reply#?}"}
message=${reply#?}
if [ "$status" = 0 ]; then
    if [ -n "$message" ]; then printf '%s\n' "$message"; fi
    exit 0
fi
printf 'craftctl: %s\n' "$message" >&2
exit 1
"#;

/// Environment variable holding the call FIFO's path.
pub const CALL_ENV: &str = "RCRAFT_CALL_FIFO";
/// Environment variable holding the feedback FIFO's path.
pub const FEEDBACK_ENV: &str = "RCRAFT_FEEDBACK_FIFO";

/// How long [`Channel::serve`] waits for a call before checking whether the script exited.
const POLL_INTERVAL_MS: libc::c_int = 20;

/// Writes the shim to `bin_dir/craftctl` (mode 755).
pub fn install_shim(bin_dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = bin_dir.join("craftctl");
    std::fs::write(&path, SHIM)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
}

/// The FIFO pair of one script run (removed with `dir` when dropped).
pub struct Channel {
    _dir: tempfile::TempDir,
    call: PathBuf,
    feedback: PathBuf,
}

impl Channel {
    /// Creates the FIFOs in a fresh directory under `parent`.
    pub fn new(parent: &Path) -> io::Result<Channel> {
        let dir = tempfile::Builder::new()
            .prefix("craftctl-")
            .tempdir_in(parent)?;
        let call = dir.path().join("call");
        let feedback = dir.path().join("feedback");
        mkfifo(&call)?;
        mkfifo(&feedback)?;
        Ok(Channel {
            _dir: dir,
            call,
            feedback,
        })
    }

    /// The environment variables the shim needs.
    pub fn env(&self) -> [(&'static str, &Path); 2] {
        [(CALL_ENV, &self.call), (FEEDBACK_ENV, &self.feedback)]
    }

    /// Opens the call FIFO; must happen before the script starts.
    pub fn open(&self) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.call)
    }

    /// Answers the script's `craftctl` calls with `handler` until `child` exits, and returns its
    /// exit status. `handler` gets the arguments and returns what to print, or an error message.
    pub fn serve(
        &self,
        call: &mut File,
        child: &mut Child,
        handler: &mut dyn FnMut(&[String]) -> Result<String, String>,
    ) -> io::Result<ExitStatus> {
        let mut buf: Vec<u8> = Vec::new();
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if !wait_readable(call)? {
                continue;
            }
            read_available(call, &mut buf)?;
            while let Some(request) = take_request(&mut buf) {
                let reply = match request {
                    Ok(args) => match handler(&args) {
                        Ok(out) => format!("0{out}"),
                        Err(msg) => format!("1{msg}"),
                    },
                    Err(msg) => format!("1{msg}"),
                };
                if let Some(status) = self.reply(child, reply.as_bytes())? {
                    return Ok(status);
                }
            }
        }
    }

    /// Sends `reply` once the shim opens the feedback FIFO. Returns the child's status if it
    /// exited before that (nobody is left to read the reply).
    fn reply(&self, child: &mut Child, reply: &[u8]) -> io::Result<Option<ExitStatus>> {
        let mut file = loop {
            match OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&self.feedback)
            {
                Ok(f) => break f,
                Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                    if let Some(status) = child.try_wait()? {
                        return Ok(Some(status));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(e),
            }
        };
        set_blocking(&file)?;
        match file.write_all(reply) {
            // The shim went away (killed): the script sees that itself.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(None),
            other => other.map(|_| None),
        }
    }
}

fn mkfifo(path: &Path) -> io::Result<()> {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: `c` is a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn set_blocking(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is an open descriptor owned by `file`.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above; only clears O_NONBLOCK.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Waits up to [`POLL_INTERVAL_MS`] for `file` to have data.
fn wait_readable(file: &File) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: file.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, POLL_INTERVAL_MS) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(e)
        };
    }
    Ok(n > 0 && pfd.revents & libc::POLLIN != 0)
}

/// Appends everything readable now (the file is non-blocking).
fn read_available(file: &mut File, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0u8; 4096];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Removes one complete request (`count\0arg\0...`) from the front of `buf`; `None` if it is
/// not complete yet; `Some(Err)` for garbage (the buffer is then cleared).
fn take_request(buf: &mut Vec<u8>) -> Option<Result<Vec<String>, String>> {
    let fields: Vec<&[u8]> = buf.split(|&b| b == 0).collect();
    // The last piece is what follows the last NUL (incomplete or empty).
    let complete = fields.len() - 1;
    if complete == 0 {
        return None;
    }
    let count: usize = match std::str::from_utf8(fields[0])
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(n) => n,
        None => {
            buf.clear();
            return Some(Err("malformed request".to_string()));
        }
    };
    if complete < 1 + count {
        return None;
    }
    let args: Vec<String> = fields[1..=count]
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let used: usize = fields[..=count].iter().map(|f| f.len() + 1).sum();
    buf.drain(..used);
    Some(Ok(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_framed_by_count_and_nul() {
        let mut buf = b"2\0set\0summary=a b\0".to_vec();
        buf.extend_from_slice(b"1\0def");
        assert_eq!(
            take_request(&mut buf),
            Some(Ok(vec!["set".to_string(), "summary=a b".to_string()]))
        );
        assert_eq!(take_request(&mut buf), None);
        buf.extend_from_slice(b"ault\0");
        assert_eq!(
            take_request(&mut buf),
            Some(Ok(vec!["default".to_string()]))
        );
        assert!(buf.is_empty());
        let mut bad = b"x\0".to_vec();
        assert!(matches!(take_request(&mut bad), Some(Err(_))));
    }
}
