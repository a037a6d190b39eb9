//! Health checks: `http` (GET, 2xx is up), `tcp` (connect) and `exec` (exit 0).
//!
//! Each enabled check runs in its own small thread: every `period` it performs the check with
//! its `timeout` and sends the result to the manager as [`Event::Check`]; the manager counts
//! consecutive failures against the `threshold` and runs the `on-check-failure` actions.
//! The HTTP client is a minimal HTTP/1.1 one over `TcpStream` (`http://` only). Host names are
//! resolved without NSS (the binary is static): IP literals, `localhost`, then `/etc/hosts`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

use super::Event;
use super::reaper::{self, Spec, Waiter};

/// What a check does.
#[derive(Clone, Debug)]
pub enum Kind {
    /// `GET url`, 2xx is success.
    Http {
        /// `http://host[:port]/path`.
        url: String,
        /// Extra request headers.
        headers: BTreeMap<String, String>,
    },
    /// Connect to `host:port`.
    Tcp {
        /// Host (default `localhost`).
        host: String,
        /// Port.
        port: u16,
    },
    /// Run a command, exit 0 is success.
    Exec(Spec),
}

/// A check ready to run.
#[derive(Clone, Debug)]
pub struct Runner {
    /// Check name.
    pub name: String,
    /// Time between checks.
    pub period: Duration,
    /// Time allowed for one check.
    pub timeout: Duration,
    /// What to do.
    pub kind: Kind,
}

/// Starts the check's thread.
pub fn start(runner: Runner, events: Sender<Event>) {
    let name = runner.name.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("check-{name}"))
        .stack_size(128 * 1024)
        .spawn(move || {
            loop {
                std::thread::sleep(runner.period);
                let result = perform(&runner.kind, runner.timeout);
                let event = Event::Check {
                    name: runner.name.clone(),
                    result,
                };
                if events.send(event).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        super::log::notice(&format!("Cannot start check {name:?}: {e}"));
    }
}

/// Performs a check once.
pub fn perform(kind: &Kind, timeout: Duration) -> Result<(), String> {
    match kind {
        Kind::Http { url, headers } => http(url, headers, timeout),
        Kind::Tcp { host, port } => {
            let addr = resolve(host, *port)?;
            TcpStream::connect_timeout(&addr, timeout)
                .map(drop)
                .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))
        }
        Kind::Exec(spec) => exec(spec, timeout),
    }
}

fn exec(spec: &Spec, timeout: Duration) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    let (pid, _) = reaper::spawn(spec, Waiter::Status(tx))
        .map_err(|e| format!("cannot start {:?}: {e}", spec.argv.join(" ")))?;
    match rx.recv_timeout(timeout) {
        Ok(0) => Ok(()),
        Ok(status) => Err(format!("exited with {}", reaper::describe(status))),
        Err(_) => {
            let _ = reaper::kill_group(pid, libc::SIGKILL);
            Err(format!("timed out after {timeout:?}"))
        }
    }
}

/// Resolves `host` without NSS: an IP literal, `localhost`, or a line of `/etc/hosts`.
pub fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if host == "localhost" {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok()) else {
            continue;
        };
        if words.any(|w| w == host) {
            return Ok(SocketAddr::new(ip, port));
        }
    }
    Err(format!(
        "cannot resolve host {host:?} (only IP addresses, localhost and /etc/hosts names are supported)"
    ))
}

/// Splits `http://host[:port]/path` into host, port and path.
pub fn split_url(url: &str) -> Result<(String, u16, String), String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!(
            "unsupported URL {url:?}: only http:// is supported"
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (
            h,
            p.parse()
                .map_err(|_| format!("invalid port in URL {url:?}"))?,
        ),
        _ => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("no host in URL {url:?}"));
    }
    Ok((host.to_string(), port, path.to_string()))
}

fn http(url: &str, headers: &BTreeMap<String, String>, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let (host, port, path) = split_url(url)?;
    let addr = resolve(&host, port)?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    let _ = stream.set_read_timeout(Some(left));
    let _ = stream.set_write_timeout(Some(left));
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: worker-server\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send request: {e}"))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < 8192 {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("cannot read response: {e}")),
        }
    }
    let status_line = String::from_utf8_lossy(&head);
    let code: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| "invalid HTTP response".to_string())?;
    if (200..300).contains(&code) {
        Ok(())
    } else {
        Err(format!("non-20x status code {code}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split() {
        assert_eq!(
            split_url("http://localhost:8000/health").unwrap(),
            ("localhost".into(), 8000, "/health".into())
        );
        assert_eq!(
            split_url("http://10.0.0.1").unwrap(),
            ("10.0.0.1".into(), 80, "/".into())
        );
        assert_eq!(
            split_url("http://[::1]:81/x").unwrap(),
            ("[::1]".into(), 81, "/x".into())
        );
        assert!(split_url("https://x/").is_err());
        assert_eq!(resolve("[::1]", 1).unwrap().port(), 1);
        assert!(resolve("localhost", 80).unwrap().ip().is_loopback());
    }
}
