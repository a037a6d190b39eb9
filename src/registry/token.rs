//! Registry authentication state: `WWW-Authenticate` challenge parsing ([`parse_challenges`]),
//! scope sets ([`Scopes`]) and the bearer token cache ([`TokenCache`]).
//!
//! The token flow is distribution's (`docs/spec/auth/token.md`): a request answered `401` with
//! `Bearer realm="…",service="…",scope="repository:app:pull"` makes the client fetch
//! `GET realm?service=…&scope=…` (with Basic credentials when it has some) and retry with
//! `Authorization: Bearer <token>`. Tokens are cached per registry and repository together with
//! the scopes they were requested for; when a later challenge asks for more (a push after a
//! pull asks for `pull,push`, a mount also for `repository:<from>:pull`), the scopes are
//! merged and a new token is fetched. Tokens never appear in logs or errors.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tokens without `expires_in` live this long (the spec's default).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// A token this close to expiry is fetched again.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

/// One challenge from a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm="…"`.
    Basic,
    /// `Bearer realm="…",service="…",scope="…"`.
    Bearer {
        /// The token endpoint.
        realm: String,
        /// The `service` parameter, passed back to the realm.
        service: Option<String>,
        /// The scopes the registry wants (space-separated in the header).
        scopes: Vec<String>,
    },
    /// Any other scheme (not supported).
    Other(String),
}

/// Parses the challenges in one or more `WWW-Authenticate` header values, e.g.
/// `Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull"`.
pub(crate) fn parse_challenges(headers: &[String]) -> Vec<Challenge> {
    let mut out = Vec::new();
    for header in headers {
        for (scheme, params) in split_challenges(header) {
            let get = |k: &str| {
                params
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(k))
                    .map(|(_, v)| v.clone())
            };
            let challenge = if scheme.eq_ignore_ascii_case("basic") {
                Challenge::Basic
            } else if scheme.eq_ignore_ascii_case("bearer") {
                match get("realm") {
                    Some(realm) => Challenge::Bearer {
                        realm,
                        service: get("service"),
                        scopes: get("scope")
                            .map(|s| s.split_whitespace().map(str::to_owned).collect())
                            .unwrap_or_default(),
                    },
                    None => Challenge::Other(scheme),
                }
            } else {
                Challenge::Other(scheme)
            };
            out.push(challenge);
        }
    }
    out
}

type Params = Vec<(String, String)>;

/// Splits a header into `(scheme, params)`; a bare token followed by whitespace (rather than
/// `=`) starts a new challenge.
fn split_challenges(header: &str) -> Vec<(String, Params)> {
    let chars: Vec<char> = header.chars().collect();
    let mut i = 0;
    let mut out: Vec<(String, Params)> = Vec::new();
    let skip = |i: &mut usize, pred: &dyn Fn(char) -> bool| {
        while *i < chars.len() && pred(chars[*i]) {
            *i += 1;
        }
    };
    let is_token = |c: char| !c.is_whitespace() && c != ',' && c != '=' && c != '"';
    while i < chars.len() {
        skip(&mut i, &|c| c.is_whitespace() || c == ',');
        let start = i;
        skip(&mut i, &is_token);
        if start == i {
            // A stray character (e.g. `=` or `"`): skip it.
            i += 1;
            continue;
        }
        let word: String = chars[start..i].iter().collect();
        let mut j = i;
        skip(&mut j, &|c| c.is_whitespace());
        if j < chars.len() && chars[j] == '=' && !out.is_empty() {
            // `name=value` of the current challenge.
            i = j + 1;
            skip(&mut i, &|c| c.is_whitespace());
            let value = if i < chars.len() && chars[i] == '"' {
                i += 1;
                let mut v = String::new();
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    v.push(chars[i]);
                    i += 1;
                }
                i += 1;
                v
            } else {
                let s = i;
                skip(&mut i, &|c| c != ',' && !c.is_whitespace());
                chars[s..i].iter().collect()
            };
            if let Some((_, params)) = out.last_mut() {
                params.push((word, value));
            }
        } else {
            out.push((word, Vec::new()));
        }
    }
    out
}

/// A set of token scopes, `type:name:action,action`, merged per `(type, name)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Scopes(BTreeMap<(String, String), BTreeSet<String>>);

impl Scopes {
    /// Adds `repository:app:pull,push` style scopes; malformed ones are kept verbatim.
    pub(crate) fn add(&mut self, scope: &str) {
        // The name may itself contain `:` (a registry with a port is never in it, but be safe):
        // type is before the first `:`, actions after the last.
        match (scope.split_once(':'), scope.rsplit_once(':')) {
            (Some((kind, _)), Some((head, actions))) if head.len() > kind.len() => {
                let name = &head[kind.len() + 1..];
                let set = self
                    .0
                    .entry((kind.to_owned(), name.to_owned()))
                    .or_default();
                set.extend(
                    actions
                        .split(',')
                        .filter(|a| !a.is_empty())
                        .map(str::to_owned),
                );
            }
            _ => {
                self.0.entry((scope.to_owned(), String::new())).or_default();
            }
        }
    }

    /// True if every scope in `other` is already covered.
    pub(crate) fn covers(&self, other: &Scopes) -> bool {
        other
            .0
            .iter()
            .all(|(key, actions)| self.0.get(key).is_some_and(|have| actions.is_subset(have)))
    }

    /// The union of both.
    pub(crate) fn union(&self, other: &Scopes) -> Scopes {
        let mut out = self.clone();
        for (key, actions) in &other.0 {
            out.0
                .entry(key.clone())
                .or_default()
                .extend(actions.iter().cloned());
        }
        out
    }

    /// The scopes as query values, e.g. `repository:app:pull,push`.
    pub(crate) fn to_strings(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|((kind, name), actions)| {
                if name.is_empty() && actions.is_empty() {
                    kind.clone()
                } else {
                    let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
                    format!("{kind}:{name}:{}", actions.join(","))
                }
            })
            .collect()
    }
}

/// A bearer token and what it was requested for.
#[derive(Clone)]
pub(crate) struct CachedToken {
    /// The token itself (never printed).
    pub(crate) token: String,
    /// The scopes it was requested with.
    pub(crate) scopes: Scopes,
    expires: Instant,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("token", &"<redacted>")
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl CachedToken {
    /// A token valid for `expires_in` seconds (60 when absent).
    pub(crate) fn new(token: String, scopes: Scopes, expires_in: Option<u64>) -> Self {
        let life = expires_in.map_or(DEFAULT_LIFETIME, Duration::from_secs);
        Self {
            token,
            scopes,
            expires: Instant::now() + life.saturating_sub(EXPIRY_MARGIN),
        }
    }

    fn fresh(&self) -> bool {
        Instant::now() < self.expires
    }
}

/// Bearer tokens per `(registry, repository)`; shared by the threads of one client.
#[derive(Debug, Default)]
pub(crate) struct TokenCache(Mutex<HashMap<(String, String), CachedToken>>);

impl TokenCache {
    /// The fresh token for this registry and repository, if any.
    pub(crate) fn get(&self, registry: &str, repository: &str) -> Option<CachedToken> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(registry.to_owned(), repository.to_owned()))
            .filter(|t| t.fresh())
            .cloned()
    }

    /// Stores a token, replacing the previous one.
    pub(crate) fn put(&self, registry: &str, repository: &str, token: CachedToken) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert((registry.to_owned(), repository.to_owned()), token);
    }
}

/// The JSON a token endpoint answers with.
#[derive(serde::Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    pub(crate) expires_in: Option<u64>,
}

impl TokenResponse {
    /// `token`, or `access_token` (OAuth2 spelling).
    pub(crate) fn into_token(self) -> Option<String> {
        self.token
            .filter(|t| !t.is_empty())
            .or(self.access_token.filter(|t| !t.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(header: &str) -> Vec<Challenge> {
        parse_challenges(&[header.to_owned()])
    }

    #[test]
    fn parses_bearer_and_basic_challenges() {
        assert_eq!(
            one(
                r#"Bearer realm="https://auth.example.io/token",service="registry.example.io",scope="repository:library/debian:pull""#
            ),
            vec![Challenge::Bearer {
                realm: "https://auth.example.io/token".into(),
                service: Some("registry.example.io".into()),
                scopes: vec!["repository:library/debian:pull".into()],
            }]
        );
        assert_eq!(one(r#"Basic realm="rcraft-test""#), vec![Challenge::Basic]);
        // Two scopes, unquoted service, odd spacing and case, escaped quote.
        assert_eq!(
            one(
                r#"bearer  realm = "http://127.0.0.1:1/t\"x" , service=reg,scope="repository:a:pull,push repository:b:pull""#
            ),
            vec![Challenge::Bearer {
                realm: "http://127.0.0.1:1/t\"x".into(),
                service: Some("reg".into()),
                scopes: vec!["repository:a:pull,push".into(), "repository:b:pull".into()],
            }]
        );
        // Two challenges in one header; a bearer without realm is unusable.
        assert_eq!(
            one(r#"Basic realm="r", Bearer realm="http://x/t",service="s""#),
            vec![
                Challenge::Basic,
                Challenge::Bearer {
                    realm: "http://x/t".into(),
                    service: Some("s".into()),
                    scopes: vec![],
                }
            ]
        );
        assert_eq!(
            one(r#"Bearer service="s""#),
            vec![Challenge::Other("Bearer".into())]
        );
        assert_eq!(
            one("Negotiate abc"),
            vec![
                Challenge::Other("Negotiate".into()),
                Challenge::Other("abc".into())
            ]
        );
        assert!(one("").is_empty());
    }

    #[test]
    fn scopes_merge_and_cover() {
        let mut pull = Scopes::default();
        pull.add("repository:app:pull");
        let mut push = Scopes::default();
        push.add("repository:app:push,pull");
        push.add("repository:base/img:pull");
        assert!(!pull.covers(&push));
        let merged = pull.union(&push);
        assert!(merged.covers(&push) && merged.covers(&pull));
        assert_eq!(
            merged.to_strings(),
            vec!["repository:app:pull,push", "repository:base/img:pull"]
        );
        let mut odd = Scopes::default();
        odd.add("registry:catalog:*");
        odd.add("weird");
        assert_eq!(odd.to_strings(), vec!["registry:catalog:*", "weird"]);
    }

    #[test]
    fn token_cache_is_per_repository_and_expires() {
        let cache = TokenCache::default();
        let mut s = Scopes::default();
        s.add("repository:app:pull");
        cache.put(
            "r",
            "app",
            CachedToken::new("t1".into(), s.clone(), Some(300)),
        );
        assert_eq!(cache.get("r", "app").map(|t| t.token), Some("t1".into()));
        assert!(cache.get("r", "other").is_none());
        cache.put("r", "app", CachedToken::new("t2".into(), s, Some(1)));
        assert!(cache.get("r", "app").is_none(), "within the expiry margin");
        let parsed: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","expires_in":10}"#).expect("json");
        assert_eq!(parsed.into_token(), Some("a".into()));
        assert!(
            format!(
                "{:?}",
                CachedToken::new("secret".into(), Scopes::default(), None)
            )
            .contains("redacted")
        );
    }
}
