//! Signals, child processes and the reaper: the PID-1 chores.
//!
//! [`start`] blocks SIGCHLD, SIGTERM, SIGINT and SIGQUIT in the calling thread (call it before
//! any other thread exists, so every thread inherits the mask) and starts a thread that
//! `sigwait`s for them. Termination signals become [`Event::Signal`]s; on SIGCHLD the thread
//! reaps *every* exited child with `waitpid(-1, WNOHANG)`: children started through [`spawn`]
//! have their status delivered to whoever registered them, orphans that were re-parented to
//! the worker (PID 1 or a sub-reaper) are simply discarded, so no zombie stays behind.
//!
//! [`spawn`] holds the registry lock while it forks, so a child that exits at once cannot be
//! reaped before it is registered (and std's own `waitpid` after a failed `exec` cannot race).

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::Sender;

use super::Event;
use super::users::Ids;

/// Who gets a child's wait status.
pub enum Waiter {
    /// The manager, as [`Event::Exited`].
    Events(Sender<Event>),
    /// A plain channel (exec checks).
    Status(Sender<i32>),
}

static REGISTRY: Mutex<BTreeMap<i32, Waiter>> = Mutex::new(BTreeMap::new());

/// How to start a process.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// The complete environment.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub dir: Option<String>,
    /// Credentials to switch to (none: stay as the worker).
    pub ids: Option<Ids>,
    /// Capture stdout+stderr in one pipe (else they go to /dev/null).
    pub capture: bool,
}

fn sigset(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set; sigaddset only writes into it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in signals {
            libc::sigaddset(&mut set, *s);
        }
        set
    }
}

/// Makes the worker a child sub-reaper (orphans of its services are re-parented to it).
pub fn become_subreaper() {
    // SAFETY: plain prctl call with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Blocks the handled signals in this thread and starts the signal/reaper thread.
pub fn start(events: Sender<Event>) -> io::Result<()> {
    let set = sigset(&[libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGQUIT]);
    // SAFETY: `set` is a valid, initialised sigset.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    std::thread::Builder::new()
        .name("signals".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            loop {
                let mut sig = 0;
                // SAFETY: `set` is valid and `sig` is a valid out-pointer.
                if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                    continue;
                }
                if sig == libc::SIGCHLD {
                    reap();
                } else if events.send(Event::Signal(sig)).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}

/// Reaps every exited child, delivering statuses to registered waiters.
pub fn reap() {
    let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return;
        }
        match registry.remove(&pid) {
            Some(Waiter::Events(tx)) => {
                let _ = tx.send(Event::Exited { pid, status });
            }
            Some(Waiter::Status(tx)) => {
                let _ = tx.send(status);
            }
            None => {} // an orphan: reaped, nothing else to do
        }
    }
}

/// The exit code Pebble reports: the exit status, or -1 when killed by a signal.
pub fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    }
}

/// Describes a wait status ("exit code 3", "signal 9").
pub fn describe(status: i32) -> String {
    if libc::WIFSIGNALED(status) {
        format!("signal {}", libc::WTERMSIG(status))
    } else {
        format!("code {}", exit_code(status))
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn command(spec: &Spec) -> io::Result<Command> {
    let Some((program, args)) = spec.argv.split_first() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .process_group(0)
        .stdin(Stdio::null());
    if let Some(dir) = &spec.dir {
        cmd.current_dir(dir);
    }
    // The worker blocks SIGTERM, SIGINT, SIGQUIT and SIGCHLD for its `sigwait` thread, and a
    // signal mask survives exec: without this, services would never see SIGTERM and every
    // stop would wait the whole kill-delay for SIGKILL.
    // SAFETY: the closure only calls async-signal-safe functions (sigemptyset, sigprocmask).
    unsafe {
        cmd.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            if libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    if let Some(ids) = &spec.ids {
        // SAFETY: getuid/getgid cannot fail.
        let current = unsafe { (libc::getuid(), libc::getgid()) };
        if (ids.uid, ids.gid) != current {
            // std drops supplementary groups (setgroups(0)), then setgid, then setuid.
            cmd.uid(ids.uid).gid(ids.gid);
        }
    }
    Ok(cmd)
}

/// Runs a process to completion before the reaper exists (start-up checks); returns its
/// status and combined output.
pub fn run_to_end(spec: &Spec) -> io::Result<(std::process::ExitStatus, String)> {
    let out = command(spec)?.output()?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok((out.status, text))
}

/// Starts a process in its own process group and registers it with the reaper. Returns its
/// pid and, with `capture`, the read end of its output pipe.
pub fn spawn(spec: &Spec, waiter: Waiter) -> io::Result<(i32, Option<File>)> {
    let mut cmd = command(spec)?;
    let mut reader = None;
    if spec.capture {
        let (r, w) = pipe()?;
        cmd.stdout(Stdio::from(w.try_clone()?))
            .stderr(Stdio::from(w));
        reader = Some(File::from(r));
    } else {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
    }
    let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    let child = cmd.spawn()?;
    let pid = child.id() as i32;
    registry.insert(pid, waiter);
    drop(registry);
    drop(cmd); // closes our copies of the pipe's write end
    Ok((pid, reader))
}

/// Sends `sig` to the process group `pgid`.
pub fn kill_group(pgid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: plain kill(2).
    if unsafe { libc::kill(-pgid, sig) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
