//! Blob endpoints of [`Client`]: [`Client::blob_exists`] (HEAD), [`Client::get_blob_to`]
//! (streamed, digest-checked download), [`Client::mount_blob`] (cross-repository mount) and
//! [`Client::upload_blob_from_file`] / [`Client::upload_blob_from_file_at`].
//!
//! Uploads are monolithic: `POST /v2/<name>/blobs/uploads/` opens a session (202 and a relative
//! or absolute `Location`), then one `PUT <location>?digest=<d>` carries the whole blob,
//! streamed from the file with a known `Content-Length` (never held in memory), expecting 201.
//! Debian's distribution 2.8 accepts this in two requests, where crane's POST + PATCH + PUT
//! takes three. When the PUT fails in a retryable way (connection dropped mid-body, 5xx, 429),
//! the whole POST + PUT is redone with the retry policy's backoff, since a half-written session
//! cannot be trusted. Progress is reported from the calling thread while the body streams on a
//! scoped helper thread.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::blocking::Body;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};

use super::client::{Failure, Req};
use super::error::{Action, root_cause};
use super::token::Scopes;
use super::{Client, Reference, RegistryError};
use crate::oci::{Digest, HashingWriter};

/// How often upload progress is reported.
const PROGRESS_TICK: Duration = Duration::from_millis(100);
/// Upload timeout: a base plus one second per this many bytes (a 64 KiB/s floor).
const UPLOAD_FLOOR_BYTES_PER_SEC: u64 = 64 << 10;
/// Timeout between reads of a download.
const DOWNLOAD_READ_TIMEOUT: Duration = Duration::from_secs(120);

fn scope(r: &Reference, actions: &str) -> Scopes {
    let mut s = Scopes::default();
    s.add(&format!("repository:{}:{actions}", r.repository()));
    s
}

fn short(d: &Digest) -> String {
    format!("blob {d}")
}

impl Client {
    /// True if `digest` is in `repo`'s repository (`HEAD /v2/<name>/blobs/<digest>`).
    pub fn blob_exists(&self, repo: &Reference, digest: &Digest) -> Result<bool, RegistryError> {
        let req = Req {
            method: Method::HEAD,
            url: self.url(repo, &format!("blobs/{digest}"))?,
            target: repo,
            action: Action::Pull,
            scopes: scope(repo, "pull"),
            headers: Vec::new(),
            body: None,
            timeout: None,
            what: short(digest),
        };
        let resp = self.send(&req)?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.unexpected(&req, resp)),
        }
    }

    /// Downloads `digest` from `repo`'s repository into `dest`, hashing on the way; returns the
    /// byte count. On a digest mismatch (or any error) the bytes already written to `dest`
    /// must be discarded by the caller (write to a temporary file and rename on success).
    pub fn get_blob_to(
        &self,
        repo: &Reference,
        digest: &Digest,
        dest: &mut impl Write,
    ) -> Result<u64, RegistryError> {
        let req = Req {
            method: Method::GET,
            url: self.url(repo, &format!("blobs/{digest}"))?,
            target: repo,
            action: Action::Pull,
            scopes: scope(repo, "pull"),
            headers: Vec::new(),
            body: None,
            timeout: Some(DOWNLOAD_READ_TIMEOUT),
            what: short(digest),
        };
        let mut resp = self.send(&req)?;
        if !resp.status().is_success() {
            return Err(self.unexpected(&req, resp));
        }
        let mut writer = HashingWriter::new(dest);
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = match resp.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(RegistryError::Transfer {
                        action: Action::Pull,
                        registry: repo.registry().to_owned(),
                        repository: repo.repository().to_owned(),
                        what: short(digest),
                        reason: root_cause(&e),
                    });
                }
            };
            writer
                .write_all(&buf[..n])
                .map_err(|e| RegistryError::WriteDest {
                    what: short(digest),
                    registry: repo.registry().to_owned(),
                    repository: repo.repository().to_owned(),
                    source: e,
                })?;
        }
        let (_, actual, len) = writer.finish();
        if &actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: short(digest),
                registry: repo.registry().to_owned(),
                repository: repo.repository().to_owned(),
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(len)
    }

    /// Asks the registry to mount `digest` from `from_repo` into `target`'s repository: true if
    /// it did (201), false if it opened an upload session instead (202, which is cancelled) or
    /// refused the mount with a 4xx other than 401/403.
    pub fn mount_blob(
        &self,
        target: &Reference,
        digest: &Digest,
        from_repo: &str,
    ) -> Result<bool, RegistryError> {
        let mut url = self.url(target, "blobs/uploads/")?;
        url.query_pairs_mut()
            .append_pair("mount", digest.as_str())
            .append_pair("from", from_repo);
        let mut scopes = scope(target, "pull,push");
        scopes.add(&format!("repository:{from_repo}:pull"));
        let req = Req {
            method: Method::POST,
            url,
            target,
            action: Action::Push,
            scopes,
            headers: Vec::new(),
            body: None,
            timeout: None,
            what: short(digest),
        };
        let resp = self.send(&req)?;
        match resp.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => {
                if let Some(loc) = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()) {
                    self.cancel_upload(target, loc);
                }
                Ok(false)
            }
            s if s.is_client_error() => Ok(false),
            _ => Err(self.unexpected(&req, resp)),
        }
    }

    /// Best-effort `DELETE` of an upload session.
    fn cancel_upload(&self, target: &Reference, location: &str) {
        let Ok(url) = self.resolve(target, location) else {
            return;
        };
        let req = Req {
            method: Method::DELETE,
            url,
            target,
            action: Action::Push,
            scopes: scope(target, "pull,push"),
            headers: Vec::new(),
            body: None,
            timeout: None,
            what: "upload session".to_owned(),
        };
        let _ = self.attempt(&req);
    }

    /// Uploads the file at `path` (all `size` bytes of it) as blob `digest`.
    pub fn upload_blob_from_file(
        &self,
        target: &Reference,
        digest: &Digest,
        size: u64,
        path: &Path,
        progress: &dyn Fn(u64),
    ) -> Result<(), RegistryError> {
        self.upload_blob_from_file_at(target, digest, path, 0, size, progress)
    }

    /// Uploads `size` bytes of `path` starting at `offset` (e.g. a blob inside a `.rock` tar)
    /// as blob `digest`. `progress` gets the bytes of this blob sent so far, from this thread;
    /// it starts again at 0 when an attempt is retried.
    pub fn upload_blob_from_file_at(
        &self,
        target: &Reference,
        digest: &Digest,
        path: &Path,
        offset: u64,
        size: u64,
        progress: &dyn Fn(u64),
    ) -> Result<(), RegistryError> {
        let read_err = |source| RegistryError::ReadFile {
            path: path.to_path_buf(),
            source,
        };
        let len = std::fs::metadata(path).map_err(read_err)?.len();
        if offset.checked_add(size).is_none_or(|end| end > len) {
            return Err(read_err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("it has {len} bytes, the blob needs {size} from offset {offset}"),
            )));
        }
        self.with_retries(
            || self.upload_once(target, digest, path, offset, size, progress),
            |_, delay, error| {
                format!(
                    "restarting the upload of {digest} in {} ms: {error}",
                    delay.as_millis()
                )
            },
        )
    }

    /// POST a session, then PUT the whole blob into it.
    fn upload_once(
        &self,
        target: &Reference,
        digest: &Digest,
        path: &Path,
        offset: u64,
        size: u64,
        progress: &dyn Fn(u64),
    ) -> Result<(), Failure> {
        let post = Req {
            method: Method::POST,
            url: self.url(target, "blobs/uploads/")?,
            target,
            action: Action::Push,
            scopes: scope(target, "pull,push"),
            headers: Vec::new(),
            body: None,
            timeout: None,
            what: short(digest),
        };
        let resp = self.send(&post)?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(Failure::from(self.unexpected(&post, resp)));
        }
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Protocol {
                action: Action::Push,
                registry: target.registry().to_owned(),
                repository: target.repository().to_owned(),
                reason: "the upload session has no Location".to_owned(),
            })?
            .to_owned();
        let mut url = self.resolve(target, &location)?;
        url.query_pairs_mut().append_pair("digest", digest.as_str());

        let sent = Arc::new(AtomicU64::new(0));
        let body_sent = Arc::clone(&sent);
        let owned_path = path.to_path_buf();
        let make_body = move || -> Result<Body, RegistryError> {
            let mut file = File::open(&owned_path).map_err(|source| RegistryError::ReadFile {
                path: owned_path.clone(),
                source,
            })?;
            file.seek(SeekFrom::Start(offset))
                .map_err(|source| RegistryError::ReadFile {
                    path: owned_path.clone(),
                    source,
                })?;
            body_sent.store(0, Ordering::Relaxed);
            let reader = Counting {
                inner: file.take(size),
                sent: Arc::clone(&body_sent),
            };
            Ok(Body::sized(reader, size))
        };
        let timeout = Duration::from_secs(120 + size / UPLOAD_FLOOR_BYTES_PER_SEC);
        let put = Req {
            method: Method::PUT,
            url,
            target,
            action: Action::Push,
            scopes: scope(target, "pull,push"),
            headers: vec![(CONTENT_TYPE, "application/octet-stream".to_owned())],
            body: Some(&make_body),
            timeout: Some(timeout),
            what: short(digest),
        };

        let (done_tx, done_rx) = mpsc::channel::<()>();
        let result = std::thread::scope(|s| {
            let put = &put;
            // `move`: a panicking request drops the sender, which ends the progress loop.
            let handle = s.spawn(move || {
                let r = self.attempt(put);
                let _ = done_tx.send(());
                r
            });
            while let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(PROGRESS_TICK) {
                progress(sent.load(Ordering::Relaxed));
            }
            match handle.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        });
        let resp = result?;
        match resp.status() {
            StatusCode::CREATED | StatusCode::NO_CONTENT | StatusCode::OK => {
                progress(size);
                Ok(())
            }
            _ => Err(Failure::from(self.unexpected(&put, resp))),
        }
    }
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    sent: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
