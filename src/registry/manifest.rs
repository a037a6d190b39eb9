//! Manifest endpoints of [`Client`]: [`Client::get_manifest`] returns a [`Manifest`] whose
//! bytes are checked against the reference's `@digest` and the registry's
//! `Docker-Content-Digest`, and [`Client::put_manifest`] uploads one and checks the digest the
//! registry computed. The media types rcraft understands are the OCI index and manifest and
//! Docker's manifest list and schema 2 manifest.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode};

use super::client::{Req, read_limited};
use super::error::{Action, root_cause};
use super::token::Scopes;
use super::{Client, Reference, RegistryError};
use crate::oci::Digest;

/// OCI image index.
pub const MEDIA_TYPE_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest.
pub const MEDIA_TYPE_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker manifest list.
pub const MEDIA_TYPE_DOCKER_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image manifest, schema 2.
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Every manifest media type rcraft accepts.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    MEDIA_TYPE_OCI_INDEX,
    MEDIA_TYPE_OCI_MANIFEST,
    MEDIA_TYPE_DOCKER_LIST,
    MEDIA_TYPE_DOCKER_MANIFEST,
];

/// The registry's digest header.
const DIGEST_HEADER: &str = "Docker-Content-Digest";
/// Distribution's own limit for manifests.
const MAX_MANIFEST: u64 = 4 << 20;

/// A manifest as fetched: its exact bytes, media type and (verified) digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The bytes, exactly as served.
    pub bytes: Vec<u8>,
    /// From `Content-Type`, or the document's `mediaType` when the header is generic.
    pub media_type: String,
    /// sha256 of `bytes`.
    pub digest: Digest,
}

fn manifest_scope(r: &Reference, actions: &str) -> Scopes {
    let mut s = Scopes::default();
    s.add(&format!("repository:{}:{actions}", r.repository()));
    s
}

impl Client {
    /// Fetches the manifest `r` names (by digest if it has one, else by tag). `accept` lists
    /// the media types wanted; empty means [`MANIFEST_MEDIA_TYPES`].
    pub fn get_manifest(&self, r: &Reference, accept: &[&str]) -> Result<Manifest, RegistryError> {
        let reference = r.manifest_ref();
        let what = format!("manifest {reference}");
        let accept = if accept.is_empty() {
            MANIFEST_MEDIA_TYPES.join(", ")
        } else {
            accept.join(", ")
        };
        let req = Req {
            method: Method::GET,
            url: self.url(r, &format!("manifests/{reference}"))?,
            target: r,
            action: Action::Pull,
            scopes: manifest_scope(r, "pull"),
            headers: vec![(ACCEPT, accept)],
            body: None,
            timeout: None,
            what: what.clone(),
        };
        let resp = self.send(&req)?;
        if resp.status() != StatusCode::OK {
            return Err(self.unexpected(&req, resp));
        }
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(CONTENT_TYPE.as_str());
        let announced = header(DIGEST_HEADER);
        let bytes = read_limited(resp, MAX_MANIFEST).map_err(|e| RegistryError::Transfer {
            action: Action::Pull,
            registry: r.registry().to_owned(),
            repository: r.repository().to_owned(),
            what: what.clone(),
            reason: root_cause(&e),
        })?;
        let digest = Digest::of(&bytes);
        let mismatch = |expected: &str| RegistryError::DigestMismatch {
            what: what.clone(),
            registry: r.registry().to_owned(),
            repository: r.repository().to_owned(),
            expected: expected.to_owned(),
            actual: digest.to_string(),
        };
        if let Some(want) = r.digest() {
            if want != &digest {
                return Err(mismatch(want.as_str()));
            }
        }
        if let Some(announced) = announced.filter(|a| a.starts_with(Digest::PREFIX)) {
            if announced != digest.as_str() {
                return Err(mismatch(&announced));
            }
        }
        let media_type = media_type_of(content_type.as_deref(), &bytes).ok_or_else(|| {
            RegistryError::Protocol {
                action: Action::Pull,
                registry: r.registry().to_owned(),
                repository: r.repository().to_owned(),
                reason: format!(
                    "{what} has media type `{}`, which is not a manifest rcraft understands",
                    content_type.as_deref().unwrap_or("")
                ),
            }
        })?;
        Ok(Manifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// Uploads a manifest under `r`'s tag (or digest, or `latest`) and returns its digest,
    /// checking that the registry's `Docker-Content-Digest` (when sent) agrees.
    pub fn put_manifest(
        &self,
        r: &Reference,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, RegistryError> {
        let digest = Digest::of(bytes);
        let reference = match (r.tag(), r.digest()) {
            (Some(t), _) => t.to_owned(),
            (None, Some(d)) => d.to_string(),
            (None, None) => super::reference::DEFAULT_TAG.to_owned(),
        };
        let what = format!("manifest {reference}");
        if let Some(want) = r.digest() {
            if want != &digest {
                return Err(RegistryError::DigestMismatch {
                    what,
                    registry: r.registry().to_owned(),
                    repository: r.repository().to_owned(),
                    expected: want.to_string(),
                    actual: digest.to_string(),
                });
            }
        }
        let owned = bytes.to_vec();
        let body = move || Ok(reqwest::blocking::Body::from(owned.clone()));
        let req = Req {
            method: Method::PUT,
            url: self.url(r, &format!("manifests/{reference}"))?,
            target: r,
            action: Action::Push,
            scopes: manifest_scope(r, "pull,push"),
            headers: vec![(CONTENT_TYPE, media_type.to_owned())],
            body: Some(&body),
            timeout: None,
            what: what.clone(),
        };
        let resp = self.send(&req)?;
        if !matches!(resp.status(), StatusCode::CREATED | StatusCode::OK) {
            return Err(self.unexpected(&req, resp));
        }
        if let Some(got) = resp
            .headers()
            .get(DIGEST_HEADER)
            .and_then(|v| v.to_str().ok())
        {
            if got != digest.as_str() {
                return Err(RegistryError::DigestMismatch {
                    what,
                    registry: r.registry().to_owned(),
                    repository: r.repository().to_owned(),
                    expected: digest.to_string(),
                    actual: got.to_owned(),
                });
            }
        }
        Ok(digest)
    }
}

/// The manifest media type from `Content-Type` (parameters dropped), falling back to the
/// document's own `mediaType` when the header is missing or generic JSON.
fn media_type_of(content_type: Option<&str>, bytes: &[u8]) -> Option<String> {
    let header = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|c| MANIFEST_MEDIA_TYPES.contains(&c.as_str()));
    if header.is_some() {
        return header;
    }
    #[derive(serde::Deserialize)]
    struct Peek {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Peek>(bytes)
        .ok()
        .and_then(|p| p.media_type)
        .filter(|m| MANIFEST_MEDIA_TYPES.contains(&m.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_from_header_or_document() {
        let doc = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}"#;
        assert_eq!(
            media_type_of(
                Some("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8"),
                b"{}"
            ),
            Some(MEDIA_TYPE_DOCKER_MANIFEST.to_owned())
        );
        assert_eq!(
            media_type_of(Some("application/json"), doc),
            Some(MEDIA_TYPE_OCI_INDEX.to_owned())
        );
        assert_eq!(
            media_type_of(None, doc),
            Some(MEDIA_TYPE_OCI_INDEX.to_owned())
        );
        assert_eq!(media_type_of(Some("text/html"), b"<html>"), None);
        assert_eq!(
            media_type_of(
                Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
                b"{}"
            ),
            None
        );
    }
}
