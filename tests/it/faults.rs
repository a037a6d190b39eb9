//! [`FaultProxy`]: a small in-process HTTP/1.1 proxy (std `TcpListener` + threads) in front of
//! a real registry, which injects faults into chosen requests and can play a bearer-token
//! auth server.
//!
//! Each client connection carries one request: the proxy forwards it upstream with
//! `Connection: close` and streams the answer back with `Connection: close`, keeping the
//! `Host` header so the registry's absolute `Location`s point back at the proxy. A [`Rule`]
//! fires on the nth request matching a method and path fragment and then: drops the
//! connection after half the request body ([`Fault::Drop`]), or drains the body and answers
//! 500 or 429 with `Retry-After: 0`. With [`FaultProxy::with_token_auth`] every `/v2/` request
//! must carry `Bearer tok|<scopes>` with the actions its method needs (pull for GET/HEAD, push
//! otherwise), else it gets a `401` with a `Bearer realm=…/token` challenge; `/token` issues such
//! tokens for the right Basic credentials. The `Authorization` header is stripped before
//! forwarding, since the registry behind is open.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use base64::Engine as _;

/// What to do to a matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Read half the body, then close the connection without an answer.
    Drop,
    /// Drain the body and answer with this status (`{"errors":[…]}` body).
    Status(u16),
    /// Drain the body and answer 429 with `Retry-After: 0`.
    TooMany,
}

/// Fires `fault` on the `nth` (1-based) request whose method is `method` and whose path
/// contains `path_contains`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub method: &'static str,
    pub path_contains: &'static str,
    pub nth: usize,
    pub fault: Fault,
}

struct State {
    rules: Vec<(Rule, usize)>,
    /// "METHOD path -> what happened" for every request seen.
    seen: Vec<String>,
    /// The `scope` values of every token request.
    token_requests: Vec<Vec<String>>,
    token_auth: Option<(String, String)>,
    port: u16,
}

/// A running proxy; stopped on drop.
pub struct FaultProxy {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// A proxy to `127.0.0.1:upstream` applying `rules`.
    pub fn start(upstream: u16, rules: Vec<Rule>) -> FaultProxy {
        Self::start_inner(upstream, rules, None)
    }

    /// A proxy that also demands bearer tokens, issued for `user`/`password`.
    pub fn with_token_auth(upstream: u16, user: &str, password: &str) -> FaultProxy {
        Self::start_inner(upstream, Vec::new(), Some((user.into(), password.into())))
    }

    fn start_inner(
        upstream: u16,
        rules: Vec<Rule>,
        token_auth: Option<(String, String)>,
    ) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State {
            rules: rules.into_iter().map(|r| (r, 0)).collect(),
            seen: Vec::new(),
            token_requests: Vec::new(),
            token_auth,
            port,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let state = Arc::clone(&state);
                    std::thread::spawn(move || {
                        let _ = handle(conn, upstream, &state);
                    });
                }
            })
        };
        FaultProxy {
            port,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Every request seen, as "METHOD path -> outcome".
    pub fn seen(&self) -> Vec<String> {
        self.state.lock().expect("state").seen.clone()
    }

    /// The scopes of every token request, in order.
    pub fn token_requests(&self) -> Vec<Vec<String>> {
        self.state.lock().expect("state").token_requests.clone()
    }

    /// How often each rule fired (a rule fires at most once).
    pub fn fired(&self) -> Vec<bool> {
        let st = self.state.lock().expect("state");
        st.rules.iter().map(|(r, n)| *n >= r.nth).collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Io = std::io::Result<()>;

fn handle(mut client: TcpStream, upstream: u16, state: &Mutex<State>) -> Io {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let end = line == "\r\n";
        head.push(line);
        if end {
            break;
        }
    }
    let request_line = head[0].trim_end().to_owned();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let header = |name: &str| {
        head.iter().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let length: u64 = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        header("transfer-encoding").is_none(),
        "the proxy does not handle chunked requests: {request_line}"
    );
    let record = |what: &str| {
        let mut st = state.lock().expect("state");
        st.seen.push(format!("{method} {path} -> {what}"));
    };

    // Token service and gate.
    let token_auth = state.lock().expect("state").token_auth.clone();
    if let Some((user, password)) = token_auth {
        if path.starts_with("/token") {
            drain(&mut reader, length)?;
            let scopes: Vec<String> = path
                .split_once('?')
                .map(|(_, q)| q)
                .unwrap_or("")
                .split('&')
                .filter_map(|kv| kv.strip_prefix("scope="))
                .map(|s| {
                    s.replace("%3A", ":")
                        .replace("%2C", ",")
                        .replace("%2F", "/")
                })
                .collect();
            state
                .lock()
                .expect("state")
                .token_requests
                .push(scopes.clone());
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            );
            if header("authorization").as_deref() != Some(expected.as_str()) {
                record("token 401");
                return answer(
                    &mut client,
                    401,
                    &[],
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#,
                );
            }
            record("token 200");
            let body = format!(r#"{{"token":"tok|{}","expires_in":300}}"#, scopes.join(" "));
            return answer(&mut client, 200, &[], &body);
        }
        if let Some(repo) = repository_of(&path) {
            let action = if matches!(method.as_str(), "GET" | "HEAD") {
                "pull"
            } else {
                "push"
            };
            let granted = header("authorization")
                .and_then(|a| a.strip_prefix("Bearer tok|").map(str::to_owned))
                .unwrap_or_default();
            let ok = granted.split(' ').any(|s| {
                s.strip_prefix(&format!("repository:{repo}:"))
                    .is_some_and(|acts| acts.split(',').any(|a| a == action))
            });
            if !ok {
                drain(&mut reader, length)?;
                record("gate 401");
                let port = state.lock().expect("state").port;
                let wanted = if action == "pull" {
                    "pull"
                } else {
                    "pull,push"
                };
                let challenge = format!(
                    r#"Bearer realm="http://127.0.0.1:{port}/token",service="fault-proxy",scope="repository:{repo}:{wanted}""#
                );
                return answer(
                    &mut client,
                    401,
                    &[("WWW-Authenticate", challenge.as_str())],
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                );
            }
        }
    }

    // Faults.
    let fault = {
        let mut st = state.lock().expect("state");
        st.rules.iter_mut().find_map(|(rule, count)| {
            if rule.method == method && path.contains(rule.path_contains) && *count < rule.nth {
                *count += 1;
                (*count == rule.nth).then_some(rule.fault)
            } else {
                None
            }
        })
    };
    match fault {
        Some(Fault::Drop) => {
            drain(&mut reader, length / 2)?;
            record("dropped");
            let _ = client.shutdown(Shutdown::Both);
            return Ok(());
        }
        Some(Fault::Status(code)) => {
            drain(&mut reader, length)?;
            record(&format!("injected {code}"));
            return answer(
                &mut client,
                code,
                &[],
                r#"{"errors":[{"code":"UNKNOWN","message":"injected fault"}]}"#,
            );
        }
        Some(Fault::TooMany) => {
            drain(&mut reader, length)?;
            record("injected 429");
            return answer(
                &mut client,
                429,
                &[("Retry-After", "0")],
                r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#,
            );
        }
        None => {}
    }

    // Forward.
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    let mut out = String::new();
    for line in &head[..head.len() - 1] {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if matches!(name.as_str(), "connection" | "authorization" | "keep-alive") {
            continue;
        }
        out.push_str(line);
    }
    out.push_str("Connection: close\r\n\r\n");
    up.write_all(out.as_bytes())?;
    std::io::copy(&mut (&mut reader).take(length), &mut up)?;
    let mut up_reader = BufReader::new(up);
    let mut status = String::new();
    let mut response_head = String::new();
    loop {
        let mut line = String::new();
        if up_reader.read_line(&mut line)? == 0 {
            break;
        }
        if status.is_empty() {
            status = line.trim_end().to_owned();
        }
        if line == "\r\n" {
            break;
        }
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if name != "connection" && name != "keep-alive" {
            response_head.push_str(&line);
        }
    }
    response_head.push_str("Connection: close\r\n\r\n");
    client.write_all(response_head.as_bytes())?;
    std::io::copy(&mut up_reader, &mut client)?;
    record(status.split(' ').nth(1).unwrap_or("?"));
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// `/v2/<repo>/blobs/…` or `/v2/<repo>/manifests/…` -> `<repo>`.
fn repository_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/v2/")?;
    for marker in ["/blobs/", "/manifests/", "/tags/"] {
        if let Some(i) = rest.find(marker) {
            return Some(rest[..i].to_owned());
        }
    }
    None
}

fn drain(reader: &mut impl Read, n: u64) -> Io {
    std::io::copy(&mut reader.take(n), &mut std::io::sink())?;
    Ok(())
}

fn answer(client: &mut TcpStream, code: u16, headers: &[(&str, &str)], body: &str) -> Io {
    let mut text = format!(
        "HTTP/1.1 {code} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    client.write_all(text.as_bytes())?;
    let _ = client.shutdown(Shutdown::Write);
    Ok(())
}
