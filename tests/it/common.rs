//! Shared test helpers: a temp project dir and a way to run `rcraft` in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary directory to run rcraft in; removed on drop.
pub struct TestContext {
    pub dir: tempfile::TempDir,
}

impl TestContext {
    pub fn new() -> TestContext {
        TestContext {
            dir: tempfile::Builder::new()
                .prefix("rcraft-it-")
                .tempdir()
                .expect("create temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `rel` (creating parent dirs).
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&p, contents).expect("write file");
        p
    }

    /// An `rcraft` command running in the project dir, with a clean, predictable environment.
    pub fn rcraft(&self) -> Command {
        rcraft_in(self.path())
    }
}

/// An `rcraft` command running in `dir`.
pub fn rcraft_in(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rcraft"));
    cmd.current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("ROCKCRAFT_ENABLE_EXPERIMENTAL_EXTENSIONS");
    cmd
}

/// Runs and returns (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run rcraft");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Fails with a clear message when an external tool the test needs is missing.
pub fn require_tool(name: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{name}` is not installed: run the README's test command (scripts/test.sh), which installs it"
    );
}

/// Removes a podman image when dropped, so a failing test leaves nothing behind.
pub struct PodmanImage(pub String);

impl Drop for PodmanImage {
    fn drop(&mut self) {
        let _ = Command::new("podman").args(["rmi", "-f", &self.0]).output();
    }
}

/// Removes podman containers (with no grace period) and then their image when dropped.
pub struct Podman {
    pub image: String,
    pub containers: Vec<String>,
}

impl Podman {
    /// `podman run -d --name NAME [-e ENV]... -p 127.0.0.1:PORT:APP_PORT IMAGE` on a free
    /// host port, which it returns; the container goes with the guard.
    pub fn run_detached(&mut self, name: &str, app_port: u16, env: &[String]) -> u16 {
        let port = crate::registry::free_port();
        self.containers.push(name.to_string());
        let mut cmd = Command::new("podman");
        cmd.args(["run", "-d", "--name", name]);
        for e in env {
            cmd.args(["-e", e]);
        }
        cmd.args(["-p", &format!("127.0.0.1:{port}:{app_port}"), &self.image]);
        let (code, _, stderr) = run(&mut cmd);
        assert_eq!(code, 0, "podman run {name}: {stderr}");
        port
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = Command::new("podman")
                .args(["rm", "-f", "-t", "0", c])
                .output();
        }
        let _ = Command::new("podman")
            .args(["rmi", "-f", &self.image])
            .output();
    }
}
