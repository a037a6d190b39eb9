//! The operator's view: a tiny subset of Pebble's HTTP API on a unix socket, and its client.
//!
//! The daemon listens on `$PEBBLE_SOCKET` or `$PEBBLE/.pebble.socket` (Pebble's paths) and
//! answers `GET /v1/services` and `GET /v1/checks` (optionally `?names=a,b`) with Pebble's JSON
//! envelope (`{"type":"sync","status-code":200,"status":"OK","result":[...]}`) and field names
//! (`name`, `startup`, `current`, `current-since`; `name`, `level`, `startup`, `status`,
//! `failures`, `threshold`, `successes`). Anything else gets a Pebble-style error envelope.
//! One request per connection (`Connection: close`). `worker-server services|checks` is the
//! client and prints the tables `pebble services|checks` prints.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::Event;

/// What the client asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    /// All services.
    Services,
    /// All checks.
    Checks,
}

/// The manager's answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Service states.
    Services(Vec<ServiceInfo>),
    /// Check states.
    Checks(Vec<CheckInfo>),
}

/// One service, as `GET /v1/services` returns it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ServiceInfo {
    /// Name.
    pub name: String,
    /// `enabled` / `disabled`.
    pub startup: String,
    /// `active`, `inactive`, `backoff` or `error`.
    pub current: String,
    /// When `current` last changed (RFC 3339), absent if never started.
    #[serde(
        rename = "current-since",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub current_since: Option<String>,
}

/// One check, as `GET /v1/checks` returns it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CheckInfo {
    /// Name.
    pub name: String,
    /// `alive`, `ready` or empty.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub level: String,
    /// `enabled` / `disabled`.
    pub startup: String,
    /// `up`, `down` or `inactive`.
    pub status: String,
    /// Consecutive failures.
    pub failures: u32,
    /// Failures before `down`.
    pub threshold: u32,
    /// Successful runs.
    #[serde(default)]
    pub successes: u64,
}

/// Binds the socket (replacing a stale one) and serves queries in a thread.
pub fn serve(socket: &Path, events: Sender<Event>) -> io::Result<()> {
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket)?;
    std::thread::Builder::new()
        .name("api".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = handle(stream, &events);
            }
        })?;
    Ok(())
}

fn handle(mut stream: UnixStream, events: &Sender<Event>) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut words = request_line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let names: Vec<&str> = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("names="))
        .flat_map(|v| v.split(','))
        .filter(|n| !n.is_empty())
        .collect();
    let wanted = |n: &str| names.is_empty() || names.contains(&n);
    let (code, body) = match (method, path) {
        ("GET", "/v1/services") | ("GET", "/v1/checks") => {
            let q = if path == "/v1/services" {
                Query::Services
            } else {
                Query::Checks
            };
            let (tx, rx) = mpsc::channel();
            let answer = events
                .send(Event::Query(q, tx))
                .ok()
                .and_then(|()| rx.recv_timeout(Duration::from_secs(5)).ok());
            match answer {
                Some(Reply::Services(mut list)) => {
                    list.retain(|s| wanted(&s.name));
                    (200, sync(serde_json::to_value(list)))
                }
                Some(Reply::Checks(mut list)) => {
                    list.retain(|c| wanted(&c.name));
                    (200, sync(serde_json::to_value(list)))
                }
                None => (
                    500,
                    error(500, "Internal Server Error", "daemon is not answering"),
                ),
            }
        }
        ("GET", _) => (404, error(404, "Not Found", "not found")),
        _ => (405, error(405, "Method Not Allowed", "method not allowed")),
    };
    let reason = match code {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    };
    let response = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())
}

fn sync(result: Result<serde_json::Value, serde_json::Error>) -> String {
    serde_json::json!({
        "type": "sync",
        "status-code": 200,
        "status": "OK",
        "result": result.unwrap_or(serde_json::Value::Null),
    })
    .to_string()
}

fn error(code: u16, status: &str, message: &str) -> String {
    serde_json::json!({
        "type": "error",
        "status-code": code,
        "status": status,
        "result": {"message": message},
    })
    .to_string()
}

/// `GET path` over the socket; returns the envelope's `result`.
pub fn get(socket: &Path, path: &str) -> Result<serde_json::Value, String> {
    let mut stream = UnixStream::connect(socket).map_err(|e| {
        format!(
            "cannot connect to the worker-server at {}: {e} (is `worker-server enter` running?)",
            socket.display()
        )
    })?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send request: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| format!("cannot read response: {e}"))?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let envelope: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("invalid response: {e}"))?;
    if envelope["type"] == "error" {
        return Err(envelope["result"]["message"]
            .as_str()
            .unwrap_or("error")
            .to_string());
    }
    Ok(envelope["result"].clone())
}

/// Aligns rows into columns separated by two spaces (like Pebble's tabwriter).
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Pebble's "today at 15:04 UTC" style for a RFC 3339 time.
pub fn human_time(rfc3339: &str, now: SystemTime) -> String {
    let today = super::log::rfc3339(now, false);
    let yesterday = super::log::rfc3339(now - Duration::from_secs(86_400), false);
    let (date, time) = rfc3339.split_once('T').unwrap_or((rfc3339, ""));
    let hhmm = time.get(..5).unwrap_or(time);
    if today.starts_with(date) {
        format!("today at {hhmm} UTC")
    } else if yesterday.starts_with(date) {
        format!("yesterday at {hhmm} UTC")
    } else {
        format!("{date} at {hhmm} UTC")
    }
}

/// Renders `GET /v1/services` results as `pebble services` does.
pub fn services_table(list: &[ServiceInfo], now: SystemTime) -> String {
    let mut rows = vec![vec![
        "Service".into(),
        "Startup".into(),
        "Current".into(),
        "Since".into(),
    ]];
    for s in list {
        let since = s
            .current_since
            .as_deref()
            .map_or("-".to_string(), |t| human_time(t, now));
        rows.push(vec![
            s.name.clone(),
            s.startup.clone(),
            s.current.clone(),
            since,
        ]);
    }
    table(&rows)
}

/// Renders `GET /v1/checks` results as `pebble checks` does.
pub fn checks_table(list: &[CheckInfo]) -> String {
    let mut rows = vec![vec![
        "Check".into(),
        "Level".into(),
        "Startup".into(),
        "Status".into(),
        "Failures".into(),
    ]];
    for c in list {
        let level = if c.level.is_empty() { "-" } else { &c.level };
        rows.push(vec![
            c.name.clone(),
            level.into(),
            c.startup.clone(),
            c.status.clone(),
            format!("{}/{}", c.failures, c.threshold),
        ]);
    }
    table(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn tables_align_like_pebble() {
        let now = UNIX_EPOCH + Duration::from_secs(1_714_557_600);
        let list = vec![ServiceInfo {
            name: "web".into(),
            startup: "enabled".into(),
            current: "active".into(),
            current_since: Some("2024-05-01T09:30:00Z".into()),
        }];
        assert_eq!(
            services_table(&list, now),
            "Service  Startup  Current  Since\nweb      enabled  active   today at 09:30 UTC\n"
        );
        assert_eq!(
            human_time("2024-04-30T23:00:00Z", now),
            "yesterday at 23:00 UTC"
        );
    }
}
