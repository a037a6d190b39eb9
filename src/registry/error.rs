//! [`RegistryError`]: the one error type of the `registry` module, with the distribution-spec
//! error body parser ([`ApiErrors`]) that turns `{"errors":[{"code","message"}]}` into text.
//!
//! Every variant names the registry and, where there is one, the repository and digest, in the
//! project's lowercase "cannot X: ..." voice. No variant ever carries a password, token or
//! `Authorization` header: causes from the HTTP stack are reduced to their innermost message
//! (e.g. "connection refused"), which holds no URL.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// What the caller was doing, for the first words of an error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Reading (manifest, blob, HEAD).
    Pull,
    /// Writing (upload, mount, manifest PUT), or checking blobs before a push.
    Push,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Pull => "pull from",
            Action::Push => "push to",
        })
    }
}

/// Why talking to a registry failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The image reference does not parse.
    #[error("invalid image reference `{reference}`: {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No TCP/TLS connection could be made (after retries).
    #[error("cannot reach registry {registry}: {reason}")]
    Unreachable {
        /// `host[:port]`.
        registry: String,
        /// The innermost cause, e.g. "connection refused".
        reason: String,
    },
    /// 401/403 from the registry or its token service (never retried).
    #[error("cannot {action} {registry}/{repository}: {detail} ({hint})")]
    Unauthorized {
        /// Pull or push.
        action: Action,
        /// `host[:port]`.
        registry: String,
        /// The repository.
        repository: String,
        /// The registry's own words, e.g. "unauthorized: authentication required".
        detail: String,
        /// What to check.
        hint: String,
    },
    /// A manifest or blob that is not there.
    #[error("cannot find {what} in {registry}/{repository}: {detail}")]
    NotFound {
        /// "manifest 0.1", "blob sha256:...".
        what: String,
        /// `host[:port]`.
        registry: String,
        /// The repository.
        repository: String,
        /// The registry's words.
        detail: String,
    },
    /// Any other 4xx, e.g. a manifest the registry rejects.
    #[error("cannot {action} {registry}/{repository}: {what} was rejected with {status}: {detail}")]
    Rejected {
        /// Pull or push.
        action: Action,
        /// `host[:port]`.
        registry: String,
        /// The repository.
        repository: String,
        /// "manifest 0.1", "blob sha256:...".
        what: String,
        /// The HTTP status.
        status: u16,
        /// The registry's words.
        detail: String,
    },
    /// 5xx or 429 that persisted through every retry.
    #[error(
        "cannot {action} {registry}/{repository}: the registry answered {status} {attempts} times: {detail}"
    )]
    Server {
        /// Pull or push.
        action: Action,
        /// `host[:port]`.
        registry: String,
        /// The repository.
        repository: String,
        /// The last HTTP status.
        status: u16,
        /// How many attempts were made.
        attempts: u32,
        /// The registry's words.
        detail: String,
    },
    /// Content whose digest is not the one asked for or announced.
    #[error("cannot trust {what} from {registry}/{repository}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// "manifest 0.1", "blob sha256:...".
        what: String,
        /// `host[:port]`.
        registry: String,
        /// The repository.
        repository: String,
        /// The digest we wanted.
        expected: String,
        /// The digest we got (or the registry claimed).
        actual: String,
    },
    /// The registry broke the protocol (missing `Location`, bad token JSON, huge manifest...).
    #[error("cannot {action} {registry}/{repository}: {reason}")]
    Protocol {
        /// Pull or push.
        action: Action,
        /// `host[:port]`.
        registry: String,
        /// The repository.
        repository: String,
        /// What was wrong.
        reason: String,
    },
    /// The connection broke while a body was being transferred (after retries).
    #[error("cannot {action} {registry}/{repository}: the transfer of {what} failed: {reason}")]
    Transfer {
        /// Pull or push.
        action: Action,
        /// `host[:port]`.
        registry: String,
        /// The repository.
        repository: String,
        /// "blob sha256:...".
        what: String,
        /// The innermost cause.
        reason: String,
    },
    /// A credentials file or helper could not be used.
    #[error("cannot get credentials for {registry} from {source_name}: {reason}")]
    Credentials {
        /// `host[:port]`.
        registry: String,
        /// The file or `docker-credential-<helper>`.
        source_name: String,
        /// What went wrong (never the secret).
        reason: String,
    },
    /// A local file (blob to upload) could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The destination of a download could not be written.
    #[error("cannot write {what} from {registry}/{repository}: {source}")]
    WriteDest {
        /// "blob sha256:...".
        what: String,
        /// `host[:port]`.
        registry: String,
        /// The repository.
        repository: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The HTTP client itself could not be built (TLS setup).
    #[error(
        "cannot set up the HTTP client: {reason}\n  hint: HTTPS is checked against the system's trust store; check `SSL_CERT_FILE` and `SSL_CERT_DIR` if they are set"
    )]
    ClientSetup {
        /// The innermost cause.
        reason: String,
    },
}

impl RegistryError {
    /// True for problems the user can fix or that lie outside rcraft (bad reference, wrong
    /// credentials, unreachable or failing registry, rejected manifest, a trust store that cannot
    /// be loaded).
    pub fn is_user_error(&self) -> bool {
        match self {
            RegistryError::InvalidReference { .. }
            | RegistryError::Unreachable { .. }
            | RegistryError::Unauthorized { .. }
            | RegistryError::NotFound { .. }
            | RegistryError::Rejected { .. }
            | RegistryError::Server { .. }
            | RegistryError::DigestMismatch { .. }
            | RegistryError::Protocol { .. }
            | RegistryError::Transfer { .. }
            | RegistryError::Credentials { .. }
            | RegistryError::ReadFile { .. }
            | RegistryError::WriteDest { .. }
            // Client set-up fails for outside reasons (no CA certificates found).
            | RegistryError::ClientSetup { .. } => true,
        }
    }

    /// Whether the registry could not be reached at all (so a cached copy may stand in).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, RegistryError::Unreachable { .. })
    }

    /// The same error, reported as part of `action` (e.g. the blob HEADs of a push).
    pub fn during(mut self, new: Action) -> Self {
        match &mut self {
            RegistryError::Unauthorized { action, .. }
            | RegistryError::Rejected { action, .. }
            | RegistryError::Server { action, .. }
            | RegistryError::Protocol { action, .. }
            | RegistryError::Transfer { action, .. } => *action = new,
            _ => {}
        }
        self
    }
}

/// The distribution-spec error body, `{"errors":[{"code","message","detail"}]}`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ApiErrors {
    #[serde(default)]
    errors: Vec<ApiError>,
}

#[derive(Debug, serde::Deserialize)]
struct ApiError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

impl ApiErrors {
    /// Renders a response body as "code: message; ..." (e.g. "unauthorized: authentication
    /// required"), falling back to the HTTP reason phrase when the body is not the error JSON.
    pub(crate) fn describe(body: &[u8], status: u16, reason: Option<&str>) -> String {
        let parsed: Option<ApiErrors> = serde_json::from_slice(body).ok();
        let parts: Vec<String> = parsed
            .map(|p| p.errors)
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                let code = e.code.to_lowercase().replace('_', " ");
                match (code.is_empty(), e.message.is_empty()) {
                    (false, false) if e.message.to_lowercase() != code => {
                        format!("{code}: {}", e.message)
                    }
                    (false, _) => code,
                    (true, false) => e.message,
                    (true, true) => String::new(),
                }
            })
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            // HEAD answers have no body: use distribution's wording for the common cases.
            match status {
                401 => return "unauthorized: authentication required".to_owned(),
                403 => return "denied: requested access to the resource is denied".to_owned(),
                404 => return "not found".to_owned(),
                _ => {}
            }
            match reason {
                Some(r) => format!("HTTP {status} {}", r.to_lowercase()),
                None => format!("HTTP {status}"),
            }
        } else {
            parts.join("; ")
        }
    }
}

/// The innermost message of an error chain, lowercased for the common I/O kinds, so that
/// messages read "connection refused" rather than a URL-bearing wrapper.
pub(crate) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current: &(dyn std::error::Error + 'static) = err;
    let mut io_kind = None;
    loop {
        if let Some(io) = current.downcast_ref::<io::Error>() {
            if io.kind() != io::ErrorKind::Other {
                io_kind = Some(io.kind());
            }
            if let Some(inner) = io.get_ref() {
                if let Some(inner_io) = inner.downcast_ref::<io::Error>() {
                    io_kind = Some(inner_io.kind());
                }
            }
        }
        match current.source() {
            Some(next) => current = next,
            None => break,
        }
    }
    match io_kind {
        Some(io::ErrorKind::ConnectionRefused) => "connection refused".to_owned(),
        Some(io::ErrorKind::ConnectionReset) => "connection reset".to_owned(),
        Some(io::ErrorKind::ConnectionAborted) => "connection aborted".to_owned(),
        Some(io::ErrorKind::BrokenPipe) => "connection closed (broken pipe)".to_owned(),
        Some(io::ErrorKind::TimedOut) => "timed out".to_owned(),
        Some(io::ErrorKind::UnexpectedEof) => "connection closed early".to_owned(),
        _ => current.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_distribution_error_bodies() {
        let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#;
        assert_eq!(
            ApiErrors::describe(body, 401, Some("Unauthorized")),
            "unauthorized: authentication required"
        );
        let two = br#"{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"},{"code":"DENIED","message":"no"}]}"#;
        assert_eq!(
            ApiErrors::describe(two, 400, None),
            "manifest invalid; denied: no"
        );
        assert_eq!(
            ApiErrors::describe(b"<html>oops</html>", 502, Some("Bad Gateway")),
            "HTTP 502 bad gateway"
        );
        assert_eq!(ApiErrors::describe(b"", 500, None), "HTTP 500");
        assert_eq!(
            ApiErrors::describe(b"", 401, Some("Unauthorized")),
            "unauthorized: authentication required"
        );
    }

    #[test]
    fn root_cause_names_the_io_kind() {
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request for url (http://x/)")]
        struct Wrapper(#[source] io::Error);
        let inner = io::Error::new(io::ErrorKind::ConnectionRefused, "refused (os error 111)");
        assert_eq!(root_cause(&Wrapper(inner)), "connection refused");
        let other = Wrapper(io::Error::other("tls handshake eof"));
        assert_eq!(root_cause(&other), "tls handshake eof");
    }
}
