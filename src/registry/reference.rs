//! [`Reference`]: an image reference `[host[:port]/]repo[:tag][@sha256:...]`, parsed and
//! normalised the way Docker does it.
//!
//! The first path component is a registry host when it contains a `.` or a `:`, is
//! `localhost`, or is a bracketed IPv6 address (`[::1]:5000`); otherwise the reference is a
//! Docker Hub short name: `debian:bookworm` is `docker.io/library/debian:bookworm` and
//! `user/app` is `docker.io/user/app:latest`, talked to at `registry-1.docker.io`. Repository
//! components are lowercase `[a-z0-9]` runs joined by `.`, `_`, `__` or dashes; tags are
//! `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; digests must be `sha256:` plus 64 lowercase hex digits.
//! A reference with neither tag nor digest keeps `tag() == None` (so `push` can default the tag
//! to the rock's version) and displays and resolves as `:latest`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::RegistryError;
use crate::oci::Digest;

/// Docker Hub's name in references and credentials files' `auths`.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API lives.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// The key Docker and podman use for Docker Hub in `config.json` / `auth.json`.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";
/// The tag used when a reference has neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";

const MAX_REPOSITORY: usize = 255;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses `[host[:port]/]repo[:tag][@sha256:<hex>]`; see the module docs.
    pub fn parse(input: &str) -> Result<Reference, RegistryError> {
        let bad = |reason: String| RegistryError::InvalidReference {
            reference: input.to_owned(),
            reason,
        };
        if input.is_empty() {
            return Err(bad("it is empty".to_owned()));
        }
        if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("it contains whitespace".to_owned()));
        }
        if input.contains("://") {
            return Err(bad(
                "a reference has no scheme; write `host:port/repo:tag`".to_owned()
            ));
        }
        let (rest, digest) = match input.rsplit_once('@') {
            Some((rest, d)) => {
                let digest = if d.starts_with("sha256:") {
                    Digest::parse(d).map_err(|_| {
                        bad(format!(
                            "digest `{d}` is not `sha256:` followed by 64 lowercase hex digits"
                        ))
                    })?
                } else {
                    return Err(bad(format!(
                        "digest `{d}` is not supported: only sha256 digests are"
                    )));
                };
                (rest, Some(digest))
            }
            None => (input, None),
        };
        let (domain, path) = match rest.split_once('/') {
            Some((first, path)) if looks_like_host(first) => (Some(first), path),
            _ => (None, rest),
        };
        let (path, tag) = match path.rsplit_once(':') {
            Some((p, t)) => (p, Some(t)),
            None => (path, None),
        };
        if let Some(tag) = tag {
            check_tag(tag).map_err(bad)?;
        }
        let domain = match domain {
            Some(d) => {
                check_host(d).map_err(bad)?;
                if d == "index.docker.io" || d == DOCKER_HUB_API {
                    DOCKER_HUB.to_owned()
                } else {
                    d.to_owned()
                }
            }
            None => DOCKER_HUB.to_owned(),
        };
        let repository = if domain == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_owned()
        };
        check_repository(&repository).map_err(bad)?;
        Ok(Reference {
            domain,
            repository,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// The host (and port) the registry API is served from: `registry-1.docker.io` for Docker
    /// Hub, otherwise the host as written (`localhost:32000`, `[::1]:5000`).
    pub fn registry(&self) -> &str {
        if self.domain == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.domain
        }
    }

    /// The registry as shown to users and as keyed in credentials files (`docker.io` for Hub).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path, e.g. `library/debian` or `app`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if one was written.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if one was written.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What goes after `/manifests/` when fetching: the digest if any, else the tag, else
    /// `latest`.
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_owned(),
        }
    }

    /// The same reference with `tag` (keeping any digest).
    pub fn with_tag(&self, tag: &str) -> Result<Reference, RegistryError> {
        check_tag(tag).map_err(|reason| RegistryError::InvalidReference {
            reference: format!("{}/{}:{tag}", self.domain, self.repository),
            reason,
        })?;
        Ok(Reference {
            tag: Some(tag.to_owned()),
            ..self.clone()
        })
    }

    /// The same repository, pinned to `digest` (keeping the tag, for display).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// Another repository on the same registry.
    pub fn in_repository(&self, repository: &str) -> Result<Reference, RegistryError> {
        check_repository(repository).map_err(|reason| RegistryError::InvalidReference {
            reference: format!("{}/{repository}", self.domain),
            reason,
        })?;
        Ok(Reference {
            domain: self.domain.clone(),
            repository: repository.to_owned(),
            tag: None,
            digest: None,
        })
    }

    /// True for hosts that get plain HTTP without `--insecure`: `localhost`, 127.0.0.0/8, `::1`.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.domain)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.repository)?;
        match (&self.tag, &self.digest) {
            (Some(t), _) => write!(f, ":{t}")?,
            (None, None) => write!(f, ":{DEFAULT_TAG}")?,
            (None, Some(_)) => {}
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = RegistryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Docker's rule: a first component is a host if it has a `.` or `:`, is `localhost`, or is
/// a bracketed IPv6 address.
fn looks_like_host(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost" || first.starts_with('[')
}

/// Splits `host[:port]` / `[v6][:port]` into the bare host and the port text.
fn split_host(host: &str) -> (&str, Option<&str>) {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, tail)) => (ip, tail.strip_prefix(':')),
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host, None),
    }
}

/// True for `localhost`, 127.0.0.0/8 and `::1` (with or without a port).
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let (bare, _) = split_host(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || bare.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_host(host: &str) -> Result<(), String> {
    let (bare, port) = split_host(host);
    if host.starts_with('[') {
        if !host.contains(']') || bare.parse::<Ipv6Addr>().is_err() {
            return Err(format!(
                "`{host}` is not a valid IPv6 host; write `[::1]:5000`"
            ));
        }
        let tail = &host[bare.len() + 2..];
        if !tail.is_empty() && !tail.starts_with(':') {
            return Err(format!("unexpected `{tail}` after the IPv6 host"));
        }
    } else if bare.is_empty()
        || (bare.parse::<IpAddr>().is_err()
            && !bare.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            }))
    {
        return Err(format!("`{host}` is not a valid registry host name"));
    }
    if let Some(port) = port {
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!(
                "`{port}` in `{host}` is not a port number (1-65535)"
            ));
        }
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<(), String> {
    let bytes = tag.as_bytes();
    let ok_char = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
    if tag.is_empty() {
        return Err("the tag after `:` is empty".to_owned());
    }
    if tag.contains('/') {
        return Err(format!("tag `{tag}` contains `/`"));
    }
    if bytes.len() > 128 {
        return Err(format!("tag `{tag}` is longer than 128 characters"));
    }
    if !(bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_') || !bytes.iter().all(ok_char) {
        return Err(format!(
            "tag `{tag}` may only hold letters, digits, `_`, `.` and `-`, and not start with `.` or `-`"
        ));
    }
    Ok(())
}

fn check_repository(repo: &str) -> Result<(), String> {
    if repo.is_empty() {
        return Err("the repository name is empty".to_owned());
    }
    if repo.len() > MAX_REPOSITORY {
        return Err(format!(
            "the repository name is longer than {MAX_REPOSITORY} characters"
        ));
    }
    if repo.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!("repository `{repo}` must be lowercase"));
    }
    for component in repo.split('/') {
        if !valid_component(component) {
            return Err(format!(
                "repository component `{component}` must be lowercase letters and digits, \
                 separated by `.`, `_`, `__` or dashes"
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = c.as_bytes();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_normalises_references() {
        // input, registry(), repository, tag, display
        type Row<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, &'a str);
        let table: &[Row] = &[
            (
                "debian:bookworm",
                "registry-1.docker.io",
                "library/debian",
                Some("bookworm"),
                "docker.io/library/debian:bookworm",
            ),
            (
                "user/app",
                "registry-1.docker.io",
                "user/app",
                None,
                "docker.io/user/app:latest",
            ),
            (
                "docker.io/library/debian",
                "registry-1.docker.io",
                "library/debian",
                None,
                "docker.io/library/debian:latest",
            ),
            (
                "index.docker.io/debian",
                "registry-1.docker.io",
                "library/debian",
                None,
                "docker.io/library/debian:latest",
            ),
            (
                "localhost:32000/app:0.1",
                "localhost:32000",
                "app",
                Some("0.1"),
                "localhost:32000/app:0.1",
            ),
            (
                "localhost/app",
                "localhost",
                "app",
                None,
                "localhost/app:latest",
            ),
            (
                "127.0.0.1:5000/a/b-c/d__e:v1.2-rc_3",
                "127.0.0.1:5000",
                "a/b-c/d__e",
                Some("v1.2-rc_3"),
                "127.0.0.1:5000/a/b-c/d__e:v1.2-rc_3",
            ),
            (
                "[::1]:5000/app:0.1",
                "[::1]:5000",
                "app",
                Some("0.1"),
                "[::1]:5000/app:0.1",
            ),
            (
                "public.ecr.aws/ubuntu/ubuntu:22.04",
                "public.ecr.aws",
                "ubuntu/ubuntu",
                Some("22.04"),
                "public.ecr.aws/ubuntu/ubuntu:22.04",
            ),
        ];
        for (input, registry, repo, tag, display) in table {
            let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.registry(), *registry, "{input}");
            assert_eq!(r.repository(), *repo, "{input}");
            assert_eq!(r.tag(), *tag, "{input}");
            assert_eq!(r.digest(), None, "{input}");
            assert_eq!(r.to_string(), *display, "{input}");
            // Display output parses back to the same reference (modulo the implicit tag).
            let again = Reference::parse(&r.to_string()).expect("reparse");
            assert_eq!(again.repository(), r.repository());
            assert_eq!(again.registry(), r.registry());
        }
    }

    #[test]
    fn digests_and_manifest_refs() {
        let r = Reference::parse(&format!("localhost:5000/app@{D}")).expect("parse");
        assert_eq!(r.digest().map(Digest::as_str), Some(D));
        assert_eq!(r.tag(), None);
        assert_eq!(r.manifest_ref(), D);
        assert_eq!(r.to_string(), format!("localhost:5000/app@{D}"));
        let both = Reference::parse(&format!("localhost:5000/app:0.1@{D}")).expect("parse");
        assert_eq!(both.tag(), Some("0.1"));
        assert_eq!(both.manifest_ref(), D);
        assert_eq!(both.to_string(), format!("localhost:5000/app:0.1@{D}"));
        let plain = Reference::parse("localhost:5000/app").expect("parse");
        assert_eq!(plain.manifest_ref(), "latest");
        assert_eq!(plain.with_tag("1.0").expect("tag").tag(), Some("1.0"));
        assert!(plain.with_tag("-bad").is_err());
    }

    #[test]
    fn rejects_bad_references_saying_why() {
        let table: &[(&str, &str)] = &[
            ("", "empty"),
            ("Debian", "must be lowercase"),
            ("localhost:5000/App:1", "must be lowercase"),
            ("localhost:5000/app:", "tag after `:` is empty"),
            ("localhost:5000/app:-x", "may only hold"),
            ("localhost:5000/app:a+b", "may only hold"),
            ("localhost:5000/", "repository name is empty"),
            ("localhost:5000/app//x", "repository component ``"),
            ("localhost:5000/-app", "repository component `-app`"),
            ("localhost:5000/a..b", "repository component `a..b`"),
            ("localhost:5000/a___b", "repository component `a___b`"),
            ("localhost:99999/app", "not a port number"),
            ("localhost:0/app", "not a port number"),
            ("localhost:/app", "not a port number"),
            ("[::1/app", "not a valid IPv6 host"),
            ("[zz]:5000/app", "not a valid IPv6 host"),
            ("bad_host.io/app", "not a valid registry host"),
            ("app@sha256:abc", "64 lowercase hex"),
            ("app@sha512:abc", "only sha256"),
            ("http://localhost/app", "no scheme"),
            ("my app", "whitespace"),
        ];
        for (input, needle) in table {
            let err = Reference::parse(input).expect_err(input).to_string();
            assert!(err.contains(needle), "{input}: {err}");
            assert!(err.starts_with("invalid image reference"), "{err}");
        }
        let long = format!("localhost/{}", "a".repeat(256));
        assert!(Reference::parse(&long).is_err());
        let long_tag = format!("localhost/app:{}", "a".repeat(129));
        assert!(Reference::parse(&long_tag).is_err());
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost:5000",
            "LOCALHOST",
            "127.0.0.1:1",
            "127.9.9.9",
            "[::1]:5",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "10.0.0.1:5000",
            "example.com",
            "[::2]:5",
            "localhost.example.com",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
