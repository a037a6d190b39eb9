//! [`Fetcher`]: downloads from a mirror (`http`, `https`, or `file` for local mirrors and
//! tests), with retries on connection errors and `5xx`, and verified downloads into the
//! content-addressed [`BlobCache`] (a file whose sha256 differs from the expected one is never
//! stored).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use super::error::DebsError;
use crate::base::{BaseError, BlobCache};
use crate::oci::Digest;

/// Attempts per request.
const ATTEMPTS: u32 = 4;

/// Why a download failed.
#[derive(Debug)]
pub enum FetchError {
    /// The server answered 404/410 (or the local file is missing).
    NotFound(String),
    /// Anything else (connection, other status, I/O).
    Other(DebsError),
}

impl FetchError {
    /// As a [`DebsError`].
    pub fn into_error(self) -> DebsError {
        match self {
            FetchError::NotFound(url) => DebsError::Download {
                url,
                reason: "not found".to_string(),
            },
            FetchError::Other(e) => e,
        }
    }
}

/// Downloads files; see the module docs.
#[derive(Debug, Clone)]
pub struct Fetcher {
    http: reqwest::blocking::Client,
    cache: BlobCache,
}

impl Fetcher {
    /// A fetcher storing into `cache`.
    pub fn new(cache: BlobCache) -> Result<Fetcher, DebsError> {
        // Err means a provider is already installed: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .user_agent(concat!("rcraft/", env!("CARGO_PKG_VERSION")))
            .timeout(None::<Duration>)
            .connect_timeout(Duration::from_secs(30))
            .tcp_keepalive(Duration::from_secs(30))
            .build()
            .map_err(|e| DebsError::Download {
                url: String::new(),
                reason: format!("cannot set up the HTTP client: {e}"),
            })?;
        Ok(Fetcher { http, cache })
    }

    /// The cache.
    pub fn cache(&self) -> &BlobCache {
        &self.cache
    }

    /// The whole body of `url` (for small files: Release, indexes).
    pub fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let mut body = Vec::new();
        self.stream(url, &mut body)?;
        Ok(body)
    }

    /// Downloads `url` into the cache as the blob `sha256` (hex), unless it is cached already;
    /// a body with another sha256 is rejected with [`DebsError::Checksum`].
    pub fn get_verified(&self, url: &str, sha256: &str) -> Result<PathBuf, FetchError> {
        let digest = Digest::parse(&format!("sha256:{sha256}")).map_err(|e| {
            FetchError::Other(DebsError::Parse {
                what: format!("the checksum of {url}"),
                reason: e.to_string(),
            })
        })?;
        if let Some(path) = self.cache.get(&digest) {
            return Ok(path);
        }
        let mut not_found = false;
        let result = self
            .cache
            .insert_with(&digest, |w| match self.stream(url, w) {
                Ok(()) => Ok(()),
                Err(FetchError::NotFound(_)) => {
                    not_found = true;
                    Err("not found".into())
                }
                Err(FetchError::Other(e)) => Err(Box::new(e)),
            });
        match result {
            Ok(path) => Ok(path),
            Err(_) if not_found => Err(FetchError::NotFound(url.to_string())),
            Err(BaseError::DigestMismatch { expected, actual }) => {
                Err(FetchError::Other(DebsError::Checksum {
                    url: url.to_string(),
                    expected: expected.hex().to_string(),
                    actual: actual.hex().to_string(),
                }))
            }
            Err(BaseError::Fill { source, .. }) => match source.downcast::<DebsError>() {
                Ok(e) => Err(FetchError::Other(*e)),
                Err(other) => Err(FetchError::Other(DebsError::Download {
                    url: url.to_string(),
                    reason: other.to_string(),
                })),
            },
            Err(e) => Err(FetchError::Other(e.into())),
        }
    }

    /// Writes the body of `url` to `out`, retrying failures that happen before any byte was
    /// written.
    fn stream(&self, url: &str, out: &mut dyn Write) -> Result<(), FetchError> {
        if let Some(path) = url.strip_prefix("file://") {
            let mut file = match std::fs::File::open(path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(FetchError::NotFound(url.to_string()));
                }
                Err(e) => return Err(FetchError::Other(download(url, e))),
            };
            std::io::copy(&mut file, out).map_err(|e| FetchError::Other(download(url, e)))?;
            return Ok(());
        }
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(250 << attempt));
            }
            let resp = match self.http.get(url).send() {
                Ok(r) => r,
                Err(e) => {
                    last = root_cause(&e);
                    continue;
                }
            };
            let status = resp.status();
            if status.as_u16() == 404 || status.as_u16() == 410 {
                return Err(FetchError::NotFound(url.to_string()));
            }
            if status.is_server_error() {
                last = format!("the server answered {status}");
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Other(DebsError::Download {
                    url: url.to_string(),
                    reason: format!("the server answered {status}"),
                }));
            }
            let mut resp = resp;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = resp
                    .read(&mut buf)
                    .map_err(|e| FetchError::Other(download(url, e)))?;
                if n == 0 {
                    return Ok(());
                }
                out.write_all(&buf[..n])
                    .map_err(|e| FetchError::Other(download(url, e)))?;
            }
        }
        Err(FetchError::Other(DebsError::Download {
            url: url.to_string(),
            reason: format!("{last} (after {ATTEMPTS} attempts)"),
        }))
    }
}

fn download(url: &str, e: std::io::Error) -> DebsError {
    DebsError::Download {
        url: url.to_string(),
        reason: e.to_string(),
    }
}

/// The innermost cause of an error (reqwest wraps hyper wraps io).
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_a_download_with_the_wrong_sha256_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlobCache::open(dir.path().join("cache")).unwrap();
        let fetcher = Fetcher::new(cache.clone()).unwrap();
        let deb = dir.path().join("hello_1.0_amd64.deb");
        std::fs::write(&deb, b"!<arch>\nnot really a deb").unwrap();
        let url = format!("file://{}", deb.display());
        let wrong = "0".repeat(64);
        let err = fetcher.get_verified(&url, &wrong).unwrap_err().into_error();
        let msg = err.to_string();
        assert!(matches!(err, DebsError::Checksum { .. }), "{msg}");
        assert!(
            msg.contains(&wrong) && msg.contains("hello_1.0_amd64.deb"),
            "{msg}"
        );
        assert!(
            cache
                .get(&Digest::parse(&format!("sha256:{wrong}")).unwrap())
                .is_none()
        );

        let right = Digest::of(b"!<arch>\nnot really a deb");
        let path = fetcher.get_verified(&url, right.hex()).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"!<arch>\nnot really a deb");

        let missing = format!("file://{}", dir.path().join("nope.deb").display());
        assert!(matches!(
            fetcher.get_verified(&missing, &"1".repeat(64)),
            Err(FetchError::NotFound(_))
        ));
    }
}
