//! [`TestRegistry`]: Debian's `docker-registry` (distribution 2.8) on a free loopback port,
//! with its config, storage and log in a temp dir, optional htpasswd (bcrypt) auth, and
//! stopped (killed and reaped) on drop.
//!
//! Requests are counted from the registry's access log, which it writes for every request as
//! `127.0.0.1 - - [date] "PUT /v2/app/blobs/uploads/<uuid>?_state=…&digest=sha256%3A… HTTP/1.1"
//! 201 …`. A blob upload is a `PUT` to `/v2/<repo>/blobs/uploads/…` with `digest=` answered
//! 201 (rcraft uploads monolithically, so one per blob); see [`TestRegistry::blob_uploads`].

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::require_tool;

/// A running registry; killed on drop.
pub struct TestRegistry {
    child: Child,
    dir: tempfile::TempDir,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

/// One access-log line.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub uri: String,
    pub status: u16,
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

impl TestRegistry {
    /// An open registry.
    pub fn start() -> TestRegistry {
        Self::start_inner(None)
    }

    /// A registry with htpasswd auth for one user.
    pub fn start_with_auth(user: &str, password: &str) -> TestRegistry {
        Self::start_inner(Some((user, password)))
    }

    fn start_inner(auth: Option<(&str, &str)>) -> TestRegistry {
        require_tool("docker-registry");
        let dir = tempfile::Builder::new()
            .prefix("rcraft-it-registry-")
            .tempdir()
            .expect("temp dir");
        let mut auth_yaml = String::new();
        if let Some((user, password)) = auth {
            require_tool("htpasswd");
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect("run htpasswd");
            assert!(out.status.success(), "htpasswd failed");
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, &out.stdout).expect("write htpasswd");
            auth_yaml = format!(
                "auth:\n  htpasswd:\n    realm: rcraft-test\n    path: {}\n",
                htpasswd.display()
            );
        }
        // The port is found by binding port 0; another process could take it before the
        // registry binds it, so try a few times.
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth_yaml}",
                    dir.path().join("data").display()
                ),
            )
            .expect("write config");
            let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup log"))
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            if wait_ready(&mut child, port) {
                return TestRegistry { child, dir, port };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "docker-registry did not start; its log:\n{}",
            std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
        );
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("registry.log")
    }

    /// Every request in the access log so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.log().lines().filter_map(parse_access_line).collect()
    }

    /// The digests of completed blob uploads to `repo` among `requests`.
    pub fn blob_uploads(requests: &[Request], repo: &str) -> Vec<String> {
        let prefix = format!("/v2/{repo}/blobs/uploads/");
        requests
            .iter()
            .filter(|r| r.method == "PUT" && r.status == 201 && r.uri.starts_with(&prefix))
            .filter_map(|r| {
                let query = r.uri.split_once('?')?.1;
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("digest="))
                    .map(|d| d.replace("%3A", ":").replace("%3a", ":"))
            })
            .collect()
    }
}

/// Polls `/v2/` until it answers 200 or 401 (10 s at most).
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: x\r\n\r\n");
            let mut buf = [0u8; 16];
            if s.read(&mut buf).is_ok() {
                let head = String::from_utf8_lossy(&buf);
                if head.contains(" 200") || head.contains(" 401") {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Parses `IP - - [date] "METHOD URI PROTO" STATUS SIZE "ref" "ua"`.
fn parse_access_line(line: &str) -> Option<Request> {
    if !line.starts_with("127.0.0.1 ") {
        return None;
    }
    let (_, rest) = line.split_once('"')?;
    let (request, rest) = rest.split_once('"')?;
    let mut parts = request.split(' ');
    let method = parts.next()?.to_owned();
    let uri = parts.next()?.to_owned();
    let status = rest.split_whitespace().next()?.parse().ok()?;
    Some(Request {
        method,
        uri,
        status,
    })
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
