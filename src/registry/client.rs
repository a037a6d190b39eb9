//! [`Client`]: the blocking HTTP side of the registry API: scheme choice, authentication
//! (anonymous, Basic, Bearer tokens from the `WWW-Authenticate` challenge) and retries.
//!
//! Every request goes through [`Client::send`]: one *attempt* sends the request, answers a `401`
//! by learning the registry's auth scheme (and fetching a token, or upgrading its scopes) and
//! sending once more; the attempt loop retries connection errors, `429` (honouring a small
//! `Retry-After`) and `5xx` with exponential backoff and jitter (5 tries from 0.2 s by
//! default), and never retries `401`, `403`, `404` or other `4xx`, so a wrong password is one
//! clear error. Plain HTTP is used only for loopback registries (`localhost`, 127.0.0.0/8,
//! `::1`) or with `insecure`; HTTPS is verified against the platform trust store (which honours
//! `SSL_CERT_FILE`). Credentials go only to the registry's own host and its token realm, and
//! never into logs: the `--verbose` log shows method, URL (query values redacted except
//! digests and scopes) and status.
//!
//! The auth handshake itself (credentials, challenges, tokens) is in `handshake.rs`; the
//! endpoints (blobs, uploads, manifests) are in `blobs.rs` and `manifest.rs`.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::blocking::{Body, Response};
use reqwest::header::{AUTHORIZATION, HeaderName, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode, Url};

use super::auth::{self, CredentialEnv};
use super::error::{Action, ApiErrors, root_cause};
use super::handshake::AuthMode;
use super::token::{Scopes, TokenCache, parse_challenges};
use super::{Reference, RegistryError};

/// A sink for log lines (`--verbose` detail, or warnings).
pub type Logger = Arc<dyn Fn(&str) + Send + Sync>;

/// Timeout for requests without a large body.
const SMALL_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest error body read.
const MAX_ERROR_BODY: u64 = 64 << 10;

/// When and how often to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in total (at least 1).
    pub attempts: u32,
    /// Delay before the second attempt; doubled each time, with ±25% jitter.
    pub base_delay: Duration,
    /// `Retry-After` values up to this are honoured; larger ones fall back to the backoff.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base_delay: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

/// How to build a [`Client`].
#[derive(Clone)]
pub struct ClientOptions {
    /// Use plain HTTP for every registry (otherwise only for loopback ones).
    pub insecure: bool,
    /// `(username, password)` from `--username/--password-stdin`; beats every credentials file.
    pub credentials: Option<(String, String)>,
    /// The registry (`Reference::domain`) `credentials` are for; `None` offers them to any.
    pub credentials_for: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Where credentials files and helpers are looked up.
    pub credential_env: CredentialEnv,
    /// Receives one line per HTTP request (`--verbose`); never secrets.
    pub log: Option<Logger>,
    /// Receives warnings (e.g. credentials sent over plain HTTP).
    pub warn: Option<Logger>,
    /// Retry behaviour.
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            insecure: false,
            credentials: None,
            credentials_for: None,
            user_agent: format!("rcraft/{}", env!("CARGO_PKG_VERSION")),
            credential_env: CredentialEnv::from_process(),
            log: None,
            warn: None,
            retry: RetryPolicy::default(),
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("insecure", &self.insecure)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(u, _)| (u, "<redacted>")),
            )
            .field("credentials_for", &self.credentials_for)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// A registry API client; cheap to share between threads (`Send + Sync`).
pub struct Client {
    pub(super) http: reqwest::blocking::Client,
    pub(super) opts: ClientOptions,
    pub(super) modes: Mutex<HashMap<String, AuthMode>>,
    pub(super) tokens: TokenCache,
    /// Held while a token is fetched, so parallel uploads share one token.
    pub(super) token_fetch: Mutex<()>,
    pub(super) creds: Mutex<HashMap<(String, String), Option<auth::Found>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

/// One request, described so it can be sent again (fresh body each time).
pub(crate) struct Req<'a> {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) target: &'a Reference,
    pub(crate) action: Action,
    pub(crate) scopes: Scopes,
    pub(crate) headers: Vec<(HeaderName, String)>,
    pub(crate) body: Option<&'a (dyn Fn() -> Result<Body, RegistryError> + Sync)>,
    pub(crate) timeout: Option<Duration>,
    /// "blob sha256:…", "manifest 0.1": for error messages.
    pub(crate) what: String,
}

/// Why one attempt failed: worth another try, or not.
pub(crate) enum Failure {
    Retry {
        error: Box<RegistryError>,
        after: Option<Duration>,
    },
    Fatal(Box<RegistryError>),
}

impl From<RegistryError> for Failure {
    fn from(e: RegistryError) -> Self {
        Failure::Fatal(Box::new(e))
    }
}

impl Failure {
    /// A failure worth another attempt.
    pub(crate) fn retry(error: RegistryError, after: Option<Duration>) -> Self {
        Failure::Retry {
            error: Box::new(error),
            after,
        }
    }
}

impl Client {
    /// A client; installs rustls' ring provider once per process.
    pub fn new(opts: ClientOptions) -> Result<Client, RegistryError> {
        // Err means a provider is already installed: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .user_agent(opts.user_agent.clone())
            .timeout(None::<Duration>)
            .connect_timeout(Duration::from_secs(30))
            .tcp_keepalive(Duration::from_secs(30))
            .build()
            .map_err(|e| RegistryError::ClientSetup {
                reason: root_cause(&e),
            })?;
        Ok(Client {
            http,
            opts,
            modes: Mutex::new(HashMap::new()),
            tokens: TokenCache::default(),
            token_fetch: Mutex::new(()),
            creds: Mutex::new(HashMap::new()),
        })
    }

    /// `http(s)://host[:port]/v2/<repository>/<rest>`.
    pub(crate) fn url(&self, r: &Reference, rest: &str) -> Result<Url, RegistryError> {
        let text = format!("{}/v2/{}/{rest}", self.base(r), r.repository());
        Url::parse(&text).map_err(|e| RegistryError::InvalidReference {
            reference: r.to_string(),
            reason: format!("it does not make a valid URL: {e}"),
        })
    }

    pub(super) fn base(&self, r: &Reference) -> String {
        let scheme = if self.opts.insecure || r.is_loopback() {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{}", r.registry())
    }

    /// Resolves a `Location` header (relative or absolute) against the registry.
    pub(crate) fn resolve(&self, r: &Reference, location: &str) -> Result<Url, RegistryError> {
        let base = Url::parse(&format!("{}/", self.base(r)))
            .map_err(|e| self.protocol(r, Action::Push, e))?;
        let url = base.join(location).map_err(|e| {
            self.protocol(
                r,
                Action::Push,
                format!("bad Location `{}`: {e}", redact(location)),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(self.protocol(
                r,
                Action::Push,
                format!("the Location `{}` is not http(s)", redact(location)),
            ));
        }
        Ok(url)
    }

    pub(super) fn protocol(
        &self,
        r: &Reference,
        action: Action,
        reason: impl ToString,
    ) -> RegistryError {
        RegistryError::Protocol {
            action,
            registry: r.registry().to_owned(),
            repository: r.repository().to_owned(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn log(&self, line: &str) {
        if let Some(log) = &self.opts.log {
            log(line);
        }
    }

    /// Sends `req`, retrying as described in the module docs.
    pub(crate) fn send(&self, req: &Req<'_>) -> Result<Response, RegistryError> {
        let attempts = self.opts.retry.attempts;
        self.with_retries(
            || self.attempt(req),
            |attempt, delay, error| {
                format!(
                    "retrying in {} ms (attempt {} of {attempts}): {error}",
                    delay.as_millis(),
                    attempt + 1,
                )
            },
        )
    }

    /// Runs `once` until it succeeds, fails for good, or the retry policy's attempts are used
    /// up, pausing between attempts ([`Client::delay`]) and logging `message(attempt, delay,
    /// error)` before each new one.
    pub(crate) fn with_retries<T>(
        &self,
        mut once: impl FnMut() -> Result<T, Failure>,
        message: impl Fn(u32, Duration, &RegistryError) -> String,
    ) -> Result<T, RegistryError> {
        let policy = self.opts.retry;
        let mut attempt = 1;
        loop {
            match once() {
                Ok(value) => return Ok(value),
                Err(Failure::Fatal(e)) => return Err(*e),
                Err(Failure::Retry { error, after }) => {
                    if attempt >= policy.attempts.max(1) {
                        return Err(with_attempts(*error, attempt));
                    }
                    let delay = self.delay(attempt, after);
                    self.log(&message(attempt, delay, &error));
                    std::thread::sleep(delay);
                    attempt += 1;
                }
            }
        }
    }

    /// The pause before attempt `attempt + 1`.
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let policy = self.opts.retry;
        if let Some(after) = retry_after.filter(|a| *a <= policy.max_retry_after) {
            return after;
        }
        let base = policy.base_delay.saturating_mul(1 << (attempt - 1).min(16));
        // ±25% jitter from the std hasher's random keys (no rand dependency).
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let factor = 0.75 + (random % 1000) as f64 / 2000.0;
        base.mul_f64(factor)
    }

    /// One attempt, including up to two rounds of authentication.
    pub(crate) fn attempt(&self, req: &Req<'_>) -> Result<Response, Failure> {
        let mut auth_rounds = 0;
        loop {
            let own_host = same_origin(&req.url, &self.base(req.target));
            let mut sent_auth = None;
            let mut rb = self.http.request(req.method.clone(), req.url.clone());
            rb = rb.timeout(req.timeout.unwrap_or(SMALL_TIMEOUT));
            for (k, v) in &req.headers {
                rb = rb.header(k, v);
            }
            if own_host {
                if let Some(h) = self.auth_header(req)? {
                    sent_auth = Some(h.0);
                    rb = rb.header(AUTHORIZATION, h.1);
                }
            }
            if let Some(body) = req.body {
                rb = rb.body(body()?);
            }
            let resp = match rb.send() {
                Ok(r) => r,
                Err(e) => {
                    self.log(&format!(
                        "{} {} -> {}",
                        req.method,
                        redact(req.url.as_str()),
                        root_cause(&e)
                    ));
                    return Err(Failure::retry(self.connection_error(req, &e), None));
                }
            };
            let status = resp.status();
            self.log(&format!(
                "{} {} -> {}",
                req.method,
                redact(req.url.as_str()),
                status.as_u16()
            ));
            if status == StatusCode::UNAUTHORIZED && own_host && auth_rounds < 2 {
                let challenges: Vec<String> = resp
                    .headers()
                    .get_all(WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_owned))
                    .collect();
                if self.learn(req, &parse_challenges(&challenges), sent_auth)? {
                    auth_rounds += 1;
                    continue;
                }
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                return Err(Failure::from(
                    self.unauthorized(req.target, req.action, resp)?,
                ));
            }
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                let after = resp
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let detail = error_detail(resp);
                return Err(Failure::retry(
                    RegistryError::Server {
                        action: req.action,
                        registry: req.target.registry().to_owned(),
                        repository: req.target.repository().to_owned(),
                        status: status.as_u16(),
                        attempts: 1,
                        detail,
                    },
                    after,
                ));
            }
            return Ok(resp);
        }
    }

    fn connection_error(&self, req: &Req<'_>, e: &reqwest::Error) -> RegistryError {
        let reason = root_cause(e);
        if e.is_connect() || (req.body.is_none() && !e.is_body()) {
            RegistryError::Unreachable {
                registry: req.target.registry().to_owned(),
                reason,
            }
        } else {
            RegistryError::Transfer {
                action: req.action,
                registry: req.target.registry().to_owned(),
                repository: req.target.repository().to_owned(),
                what: req.what.clone(),
                reason,
            }
        }
    }

    /// The error for an unexpected (non-auth, non-retryable) status.
    pub(crate) fn unexpected(&self, req: &Req<'_>, resp: Response) -> RegistryError {
        let status = resp.status();
        let detail = error_detail(resp);
        if status == StatusCode::NOT_FOUND {
            RegistryError::NotFound {
                what: req.what.clone(),
                registry: req.target.registry().to_owned(),
                repository: req.target.repository().to_owned(),
                detail,
            }
        } else {
            RegistryError::Rejected {
                action: req.action,
                registry: req.target.registry().to_owned(),
                repository: req.target.repository().to_owned(),
                what: req.what.clone(),
                status: status.as_u16(),
                detail,
            }
        }
    }
}

/// Sets the attempt count on a retried error.
pub(crate) fn with_attempts(mut e: RegistryError, n: u32) -> RegistryError {
    if let RegistryError::Server { attempts, .. } = &mut e {
        *attempts = n;
    }
    e
}

/// True if `url` is on the same scheme, host and port as `base`.
fn same_origin(url: &Url, base: &str) -> bool {
    match Url::parse(base) {
        Ok(b) => {
            b.scheme() == url.scheme()
                && b.host_str() == url.host_str()
                && b.port_or_known_default() == url.port_or_known_default()
        }
        Err(_) => false,
    }
}

/// The registry's error text from a response (body read up to 64 KiB).
pub(crate) fn error_detail(resp: Response) -> String {
    let status = resp.status();
    let body = read_limited(resp, MAX_ERROR_BODY).unwrap_or_default();
    ApiErrors::describe(&body, status.as_u16(), status.canonical_reason())
}

/// Reads a response body, failing if it is larger than `limit`.
pub(crate) fn read_limited(resp: Response, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut body = Vec::new();
    resp.take(limit + 1).read_to_end(&mut body)?;
    if body.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "the response is larger than {limit} bytes"
        )));
    }
    Ok(body)
}

/// A URL for logs and errors: query values other than digests, mounts and scopes are hidden
/// (upload `Location`s carry opaque state tokens).
pub(crate) fn redact(url: &str) -> String {
    let Some((head, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let shown: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v))
                if matches!(
                    k,
                    "digest" | "mount" | "from" | "service" | "scope" | "tag" | "n" | "last"
                ) =>
            {
                format!("{k}={v}")
            }
            Some((k, _)) => format!("{k}=<redacted>"),
            None => pair.to_owned(),
        })
        .collect();
    format!("{head}?{}", shown.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_query_values_but_keeps_digests() {
        assert_eq!(
            redact("http://h/v2/a/blobs/uploads/u?_state=SECRET&digest=sha256:ab"),
            "http://h/v2/a/blobs/uploads/u?_state=<redacted>&digest=sha256:ab"
        );
        assert_eq!(redact("http://h/v2/"), "http://h/v2/");
    }

    #[test]
    fn schemes_follow_loopback_and_insecure() {
        let opts = ClientOptions {
            credential_env: CredentialEnv::default(),
            ..ClientOptions::default()
        };
        let c = Client::new(opts.clone()).expect("client");
        let url = |s: &str| {
            c.url(&Reference::parse(s).expect("ref"), "tags/list")
                .expect("url")
                .to_string()
        };
        assert_eq!(
            url("localhost:5000/a"),
            "http://localhost:5000/v2/a/tags/list"
        );
        assert_eq!(url("[::1]:5000/a"), "http://[::1]:5000/v2/a/tags/list");
        assert_eq!(url("127.0.0.2/a/b"), "http://127.0.0.2/v2/a/b/tags/list");
        assert_eq!(
            url("10.1.2.3:5000/a"),
            "https://10.1.2.3:5000/v2/a/tags/list"
        );
        assert_eq!(
            url("debian"),
            "https://registry-1.docker.io/v2/library/debian/tags/list"
        );
        let insecure = Client::new(ClientOptions {
            insecure: true,
            ..opts
        })
        .expect("client");
        let r = Reference::parse("reg.example:5000/a").expect("ref");
        assert!(
            insecure
                .url(&r, "x")
                .expect("url")
                .as_str()
                .starts_with("http://")
        );
        // Relative and absolute Locations; other schemes are refused.
        let loc = c
            .resolve(&r, "/v2/a/blobs/uploads/1?_state=x")
            .expect("relative");
        assert_eq!(
            loc.as_str(),
            "https://reg.example:5000/v2/a/blobs/uploads/1?_state=x"
        );
        let abs = c
            .resolve(&r, "https://other.example/up/1")
            .expect("absolute");
        assert_eq!(abs.host_str(), Some("other.example"));
        assert!(c.resolve(&r, "file:///etc/passwd").is_err());
        assert!(same_origin(&loc, "https://reg.example:5000"));
        assert!(!same_origin(&abs, "https://reg.example:5000"));
        // Secrets stay out of Debug output.
        let secret = ClientOptions {
            credentials: Some(("u".into(), "hunter2".into())),
            ..ClientOptions::default()
        };
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_honours_small_retry_after() {
        let c = Client::new(ClientOptions {
            credential_env: CredentialEnv::default(),
            ..ClientOptions::default()
        })
        .expect("client");
        for attempt in 1..=4 {
            let d = c.delay(attempt, None).as_millis();
            let base = 200u128 << (attempt - 1);
            assert!(d >= base * 3 / 4 && d <= base * 5 / 4, "{attempt}: {d}");
        }
        assert_eq!(c.delay(3, Some(Duration::ZERO)), Duration::ZERO);
        assert!(c.delay(1, Some(Duration::from_secs(3600))) < Duration::from_secs(1));
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Client>();
    }
}
