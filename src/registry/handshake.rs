//! The authentication handshake of [`Client`]: which credentials apply to a registry, what
//! `Authorization` header a request gets, what a `401` challenge teaches (Basic, or Bearer with
//! a realm and scopes), fetching bearer tokens (with Basic credentials when there are some),
//! and the `unauthorized` error with a hint about where the credentials came from.
//!
//! A registry starts unknown: requests go out anonymously until a `401` names the scheme.
//! With Basic, the credentials are sent from then on; with Bearer, a token is fetched for the
//! request's scopes (merged with those of the cached token, so a push after a pull upgrades
//! `pull` to `pull,push`) and cached per registry and repository. Token fetches are serialised
//! so that parallel uploads share one token. A `401` that brings nothing new ends the
//! handshake: a wrong password is one error, not a loop.

use base64::Engine as _;
use reqwest::StatusCode;
use reqwest::Url;
use reqwest::blocking::Response;
use reqwest::header::AUTHORIZATION;

use super::auth::{self, Credentials};
use super::client::{Client, Failure, Req, error_detail, read_limited, redact};
use super::error::{Action, root_cause};
use super::token::{CachedToken, Challenge, Scopes, TokenResponse};
use super::{Reference, RegistryError};

/// Requests get this timeout when talking to the token service.
const TOKEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// What a registry told us about its authentication.
#[derive(Debug, Clone)]
pub(super) enum AuthMode {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

impl Client {
    /// The credentials for `r`'s registry, and where they came from.
    pub(super) fn credentials(&self, r: &Reference) -> Result<Option<auth::Found>, RegistryError> {
        if let Some((u, p)) = &self.opts.credentials {
            if self
                .opts
                .credentials_for
                .as_deref()
                .is_none_or(|d| d == r.domain())
            {
                return Ok(Some((
                    Credentials {
                        username: u.clone(),
                        password: p.clone(),
                    },
                    "--username/--password-stdin".to_owned(),
                )));
            }
        }
        let key = (r.domain().to_owned(), r.repository().to_owned());
        if let Some(found) = self
            .creds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(found.clone());
        }
        let found = auth::lookup(r.domain(), r.repository(), &self.opts.credential_env)?;
        if let Some((_, source)) = &found {
            self.log(&format!(
                "using credentials for {} from {source}",
                r.domain()
            ));
        }
        self.creds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, found.clone());
        Ok(found)
    }

    fn mode(&self, registry: &str) -> Option<AuthMode> {
        self.modes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(registry)
            .cloned()
    }

    /// The `Authorization` header for `req`, if the registry wants one: `(kind, value)`.
    pub(super) fn auth_header(
        &self,
        req: &Req<'_>,
    ) -> Result<Option<(&'static str, String)>, Failure> {
        let r = req.target;
        match self.mode(r.registry()) {
            None => Ok(None),
            Some(AuthMode::Basic) => Ok(self.credentials(r)?.map(|(c, _)| ("basic", basic(&c)))),
            Some(AuthMode::Bearer { realm, service }) => {
                let covering = || {
                    self.tokens
                        .get(r.registry(), r.repository())
                        .filter(|t| t.scopes.covers(&req.scopes))
                };
                let token = match covering() {
                    Some(t) => t,
                    None => {
                        // One thread fetches; the others wait and find it in the cache.
                        let _guard = self.token_fetch.lock().unwrap_or_else(|p| p.into_inner());
                        match covering() {
                            Some(t) => t,
                            None => {
                                let want = self
                                    .tokens
                                    .get(r.registry(), r.repository())
                                    .map(|t| t.scopes.union(&req.scopes))
                                    .unwrap_or_else(|| req.scopes.clone());
                                self.fetch_token(req, &realm, service.as_deref(), want)?
                            }
                        }
                    }
                };
                Ok(Some(("bearer", format!("Bearer {}", token.token))))
            }
        }
    }

    /// Learns from a 401's challenges; true if sending again can succeed.
    pub(super) fn learn(
        &self,
        req: &Req<'_>,
        challenges: &[Challenge],
        sent: Option<&'static str>,
    ) -> Result<bool, Failure> {
        let r = req.target;
        let bearer = challenges.iter().find_map(|c| match c {
            Challenge::Bearer {
                realm,
                service,
                scopes,
            } => Some((realm, service, scopes)),
            _ => None,
        });
        if let Some((realm, service, scopes)) = bearer {
            self.set_mode(
                r.registry(),
                AuthMode::Bearer {
                    realm: realm.clone(),
                    service: service.clone(),
                },
            );
            let mut want = req.scopes.clone();
            for s in scopes {
                want.add(s);
            }
            let _guard = self.token_fetch.lock().unwrap_or_else(|p| p.into_inner());
            let cached = self.tokens.get(r.registry(), r.repository());
            if let Some(t) = &cached {
                if sent != Some("bearer") && t.scopes.covers(&want) {
                    // Another thread fetched a good token meanwhile: use it.
                    return Ok(true);
                }
                if sent == Some("bearer") && t.scopes.covers(&want) {
                    // The token we sent already had all of it: no progress possible.
                    return Ok(false);
                }
                want = t.scopes.union(&want);
            }
            self.fetch_token(req, realm, service.as_deref(), want)?;
            return Ok(true);
        }
        if challenges.contains(&Challenge::Basic) {
            self.set_mode(r.registry(), AuthMode::Basic);
            if let Some((_, _)) = self.credentials(r)? {
                if sent != Some("basic") {
                    self.warn_plain_http(req);
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn set_mode(&self, registry: &str, mode: AuthMode) {
        self.modes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(registry.to_owned(), mode);
    }

    fn warn_plain_http(&self, req: &Req<'_>) {
        if req.url.scheme() == "http" && !req.target.is_loopback() {
            if let Some(warn) = &self.opts.warn {
                warn(&format!(
                    "warning: sending credentials for {} over plain HTTP (--insecure)",
                    req.target.domain()
                ));
            }
        }
    }

    /// `GET realm?service=…&scope=…`, with Basic credentials when there are some.
    fn fetch_token(
        &self,
        req: &Req<'_>,
        realm: &str,
        service: Option<&str>,
        scopes: Scopes,
    ) -> Result<CachedToken, Failure> {
        let r = req.target;
        let mut url = Url::parse(realm).map_err(|e| {
            self.protocol(
                r,
                req.action,
                format!("the token realm `{}` is not a URL: {e}", redact(realm)),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(self
                .protocol(
                    r,
                    req.action,
                    format!("the token realm `{}` is not http(s)", redact(realm)),
                )
                .into());
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            for s in scopes.to_strings() {
                q.append_pair("scope", &s);
            }
        }
        let mut rb = self.http.get(url.clone()).timeout(TOKEN_TIMEOUT);
        if let Some((c, _)) = self.credentials(r)? {
            rb = rb.header(AUTHORIZATION, basic(&c));
        }
        let resp = rb.send().map_err(|e| {
            Failure::retry(
                RegistryError::Unreachable {
                    registry: url.host_str().unwrap_or(realm).to_owned(),
                    reason: root_cause(&e),
                },
                None,
            )
        })?;
        let status = resp.status();
        self.log(&format!(
            "GET {} -> {}",
            redact(url.as_str()),
            status.as_u16()
        ));
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(Failure::from(self.unauthorized(r, req.action, resp)?));
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(Failure::retry(
                RegistryError::Server {
                    action: req.action,
                    registry: r.registry().to_owned(),
                    repository: r.repository().to_owned(),
                    status: status.as_u16(),
                    attempts: 1,
                    detail: format!("token service: {}", error_detail(resp)),
                },
                None,
            ));
        }
        if !status.is_success() {
            return Err(self
                .protocol(
                    r,
                    req.action,
                    format!("the token service answered {status}"),
                )
                .into());
        }
        let body = read_limited(resp, 1 << 20)
            .map_err(|e| self.protocol(r, req.action, format!("cannot read the token: {e}")))?;
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| self.protocol(r, req.action, "the token service did not answer JSON"))?;
        let expires_in = parsed.expires_in;
        let token = parsed
            .into_token()
            .ok_or_else(|| self.protocol(r, req.action, "the token service sent no token"))?;
        let cached = CachedToken::new(token, scopes, expires_in);
        self.tokens
            .put(r.registry(), r.repository(), cached.clone());
        Ok(cached)
    }

    /// The error for a 401/403 response.
    pub(super) fn unauthorized(
        &self,
        r: &Reference,
        action: Action,
        resp: Response,
    ) -> Result<RegistryError, Failure> {
        let status = resp.status();
        let detail = error_detail(resp);
        let hint = match (status, self.credentials(r)?) {
            (StatusCode::FORBIDDEN, Some(_)) => {
                format!("the credentials for {} do not allow this", r.domain())
            }
            (_, Some((_, source))) => {
                format!("check the credentials for {} from {source}", r.domain())
            }
            (_, None) => format!(
                "no credentials found for {}: use --username with --password-stdin, or `docker login`/`podman login`",
                r.domain()
            ),
        };
        Ok(RegistryError::Unauthorized {
            action,
            registry: r.registry().to_owned(),
            repository: r.repository().to_owned(),
            detail,
            hint,
        })
    }
}

fn basic(c: &Credentials) -> String {
    let raw = format!("{}:{}", c.username, c.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}
