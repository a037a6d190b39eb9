//! [`Script`]: running a step's bash script (an `override-*` scriptlet, or a plugin's build
//! commands) with Rockcraft's `CRAFT_*` environment, serving its `craftctl` calls, and turning a
//! failure into a [`StepError`].
//!
//! The script file is written to `parts/<part>/run/<name>.sh` (kept for debugging) as
//!
//! ```text
//! #!/bin/bash
//! set -euo pipefail
//! export CRAFT_PART_NAME='app' ...        # literal values
//! export NAME="value" ...                 # build-environment, expanded by bash, in order
//! set -x
//! <script>
//! ```
//!
//! and run with `bash` in the step's working directory, inheriting rcraft's environment and
//! umask. Its output goes to rcraft's stderr when verbose, else to a log file whose last lines
//! are put in the error if the script fails.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use super::StepError;
use super::craftctl::Channel;

/// How many lines of a failed script's output the error shows.
const TAIL_LINES: usize = 20;

/// One script to run.
pub struct Script<'a> {
    /// Its name in messages and file names, e.g. `override-build`.
    pub name: &'a str,
    /// The script text.
    pub body: &'a str,
    /// Working directory.
    pub cwd: &'a Path,
    /// Where the script file, its log and the craftctl FIFOs go.
    pub run_dir: &'a Path,
    /// Variables exported with their literal values, in order.
    pub env: &'a [(String, String)],
    /// Variables exported as `NAME="value"` after `env`, so values can use earlier variables.
    pub expanded_env: &'a [(String, String)],
    /// Stream output to stderr instead of capturing it.
    pub verbose: bool,
}

impl Script<'_> {
    /// Runs the script to completion, answering `craftctl` calls with `handler`. If the script
    /// fails after a `craftctl` call failed, the handler's error is returned (it is the cause).
    pub fn run(
        &self,
        handler: &mut dyn FnMut(&[String]) -> Result<String, StepError>,
    ) -> Result<(), StepError> {
        let spawn_err = |source| StepError::Spawn {
            script: self.name.to_string(),
            source,
        };
        fs::create_dir_all(self.run_dir)
            .map_err(|e| StepError::io("create directory", self.run_dir, e))?;
        let script_path = self.run_dir.join(format!("{}.sh", self.name));
        fs::write(&script_path, self.text())
            .map_err(|e| StepError::io("write", &script_path, e))?;
        let log_path = self.run_dir.join(format!("{}.log", self.name));

        let channel = Channel::new(self.run_dir).map_err(spawn_err)?;
        let mut call = channel.open().map_err(spawn_err)?;
        let (stdout, stderr) = self.output(&log_path).map_err(spawn_err)?;
        let mut cmd = Command::new("bash");
        cmd.arg(&script_path)
            .current_dir(self.cwd)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        for (k, v) in channel.env() {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().map_err(spawn_err)?;

        let mut first_error: Option<StepError> = None;
        let mut serve = |args: &[String]| match handler(args) {
            Ok(out) => Ok(out),
            Err(e) => {
                let msg = e.to_string();
                first_error.get_or_insert(e);
                Err(msg)
            }
        };
        let status = match channel.serve(&mut call, &mut child, &mut serve) {
            Ok(status) => status,
            Err(e) => {
                // Do not leave the script running unsupervised.
                let _ = child.kill();
                let _ = child.wait();
                return Err(spawn_err(e));
            }
        };
        if status.success() {
            return Ok(());
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        Err(StepError::ScriptFailed {
            script: self.name.to_string(),
            status: describe(status),
            output_tail: if self.verbose {
                Vec::new()
            } else {
                tail(&log_path)
            },
        })
    }

    /// The script file's text.
    fn text(&self) -> String {
        let mut s = String::from("#!/bin/bash\nset -euo pipefail\n");
        for (k, v) in self.env {
            s.push_str(&format!("export {k}={}\n", single_quote(v)));
        }
        for (k, v) in self.expanded_env {
            s.push_str(&format!("export {k}=\"{}\"\n", v.replace('"', "\\\"")));
        }
        s.push_str("set -x\n");
        s.push_str(self.body);
        if !self.body.ends_with('\n') {
            s.push('\n');
        }
        s
    }

    /// Where the script's stdout and stderr go.
    fn output(&self, log_path: &Path) -> std::io::Result<(Stdio, Stdio)> {
        if self.verbose {
            let err = std::io::stderr().as_fd().try_clone_to_owned()?;
            let out = err.try_clone()?;
            Ok((Stdio::from(out), Stdio::from(err)))
        } else {
            let log = File::create(log_path)?;
            let log2 = log.try_clone()?;
            Ok((Stdio::from(log), Stdio::from(log2)))
        }
    }
}

/// Quotes `s` for bash with single quotes.
pub fn single_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// "exited with status 2" / "was killed by signal 9".
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "failed".to_string(),
    }
}

/// The last [`TAIL_LINES`] lines of the log.
fn tail(path: &Path) -> Vec<String> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    let mut lines: Vec<String> = Vec::new();
    for line in BufReader::new(file).split(b'\n').map_while(Result::ok) {
        if lines.len() == TAIL_LINES {
            lines.remove(0);
        }
        lines.push(String::from_utf8_lossy(&line).into_owned());
    }
    lines
}

/// The Debian architecture's GNU triplet, as in `CRAFT_ARCH_TRIPLET_BUILD_{ON,FOR}`.
pub fn arch_triplet(debian_arch: &str) -> String {
    match debian_arch {
        "amd64" => "x86_64-linux-gnu",
        "arm64" => "aarch64-linux-gnu",
        "armhf" => "arm-linux-gnueabihf",
        "i386" => "i386-linux-gnu",
        "ppc64el" => "powerpc64le-linux-gnu",
        "riscv64" => "riscv64-linux-gnu",
        "s390x" => "s390x-linux-gnu",
        other => return format!("{other}-linux-gnu"),
    }
    .to_string()
}
