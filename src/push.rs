//! [`push`]: uploads a `.rock` to a registry, the way crane does: every blob is checked with a
//! HEAD and skipped when present (so a push interrupted and run again uploads only what is
//! missing), missing layers are mounted from the base image's repository when it is on the same
//! registry, the rest are uploaded 4 at a time, and the manifest goes last.
//!
//! The archive's structure is checked with [`oci::validate_structure`] first (entries, index,
//! manifest and config with their digests, descriptor sizes; layers are not read: the registry
//! checks the digest of every blob uploaded), which also records where each blob's bytes start,
//! and uploads stream `take()`n slices of the `.rock` itself: nothing is extracted to disk or
//! held in memory except the manifest. The tag defaults to the rock's version (from its
//! `org.opencontainers.image.ref.name`, e.g. `localhost/app:0.1`), else `latest`.
//!
//! Progress goes through [`Progress`]: a task for the total and one per blob being uploaded
//! (`uploading sha256:abcd… (4.1 MB)`), lines for blobs skipped or mounted; the caller prints
//! the result.

use std::collections::{BTreeSet, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::oci::{self, Digest, OciError};
use crate::progress::{Progress, Task};
use crate::registry::{
    Action, Client, DEFAULT_TAG, DOCKER_HUB, MEDIA_TYPE_OCI_MANIFEST, Reference, RegistryError,
};

/// Blobs uploaded at the same time.
pub const PARALLEL_UPLOADS: usize = 4;
/// The manifest annotation naming the base image (OCI image spec).
pub const ANNOTATION_BASE_NAME: &str = "org.opencontainers.image.base.name";
/// Largest manifest read.
const MAX_MANIFEST: u64 = 4 << 20;

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    /// Where the image went, with the tag actually used.
    pub reference: Reference,
    /// The manifest digest (the image digest).
    pub digest: Digest,
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Blobs already present.
    pub skipped: usize,
    /// Blobs mounted from another repository.
    pub mounted: usize,
    /// Bytes uploaded.
    pub bytes_uploaded: u64,
}

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The `.rock` is not a valid OCI archive.
    #[error(transparent)]
    Rock(#[from] OciError),
    /// The `.rock` could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The archive.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The registry side failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl PushError {
    /// True for errors the user can fix or that lie outside rcraft.
    pub fn is_user_error(&self) -> bool {
        match self {
            PushError::Rock(e) => e.is_user_error(),
            PushError::Read { .. } => true,
            PushError::Registry(e) => e.is_user_error(),
        }
    }
}

/// One blob to push: where its bytes are in the archive.
#[derive(Debug, Clone)]
struct Blob {
    digest: Digest,
    offset: u64,
    size: u64,
    /// Layers may be mounted from the base image's repository; the config may not.
    mountable: bool,
}

/// Pushes the `.rock` at `rock` to `target` (see the module docs).
pub fn push(
    rock: &Path,
    target: &Reference,
    client: &Client,
    progress: &dyn Progress,
) -> Result<PushOutcome, PushError> {
    let (summary, positions) = oci::validate_structure(rock)?;
    let position = |d: &Digest| {
        positions.get(d).map(|p| (p.offset, p.size)).ok_or_else(|| {
            PushError::Rock(OciError::InvalidRock {
                path: rock.to_path_buf(),
                reason: format!("blob `{d}` is missing"),
            })
        })
    };
    let (offset, size) = position(&summary.manifest_digest)?;
    if size > MAX_MANIFEST {
        return Err(PushError::Rock(OciError::InvalidRock {
            path: rock.to_path_buf(),
            reason: format!("the manifest is too large ({size} bytes)"),
        }));
    }
    let manifest = read_range(rock, offset, size)?;
    let doc: serde_json::Value = serde_json::from_slice(&manifest).unwrap_or_default();
    let media_type = doc["mediaType"]
        .as_str()
        .unwrap_or(MEDIA_TYPE_OCI_MANIFEST)
        .to_owned();

    let target = match (target.tag(), target.digest()) {
        (None, None) => {
            let tag = default_tag(&summary.ref_name);
            target.with_tag(&tag).or_else(|_| {
                progress.warn(&format!(
                    "the rock's version `{tag}` is not a valid tag; pushing as `{DEFAULT_TAG}`"
                ));
                target.with_tag(DEFAULT_TAG)
            })?
        }
        _ => target.clone(),
    };
    let mount_from = mount_source(&doc, &target);
    let file_name = rock.file_name().unwrap_or(rock.as_os_str());
    progress.info(&format!(
        "Pushing {} to {target}",
        Path::new(file_name).display()
    ));

    let mut blobs = Vec::new();
    let mut seen = BTreeSet::new();
    let (offset, size) = position(&summary.config_digest)?;
    seen.insert(summary.config_digest.clone());
    blobs.push(Blob {
        digest: summary.config_digest.clone(),
        offset,
        size,
        mountable: false,
    });
    for layer in &summary.layers {
        if seen.insert(layer.digest.clone()) {
            let (offset, size) = position(&layer.digest)?;
            blobs.push(Blob {
                digest: layer.digest.clone(),
                offset,
                size,
                mountable: true,
            });
        }
    }

    // HEAD every blob: the first alone (so a wrong password fails once, here), the rest in
    // parallel. A missing layer is mounted only if the base's repository has it.
    let from_repo = match mount_from.as_deref() {
        Some(repo) => Some(target.in_repository(repo)?),
        None => None,
    };
    let check = |blob: Blob| -> Result<Option<Blob>, RegistryError> {
        if client.blob_exists(&target, &blob.digest)? {
            return Ok(None);
        }
        let mountable = match (&from_repo, blob.mountable) {
            (Some(repo), true) => client.blob_exists(repo, &blob.digest).unwrap_or(false),
            _ => false,
        };
        Ok(Some(Blob { mountable, ..blob }))
    };
    let mut checked = Vec::with_capacity(blobs.len());
    let mut rest = blobs.into_iter();
    if let Some(first) = rest.next() {
        let digest = first.digest.clone();
        checked.push((
            digest,
            Ok(check(first).map_err(|e| e.during(Action::Push))?),
        ));
    }
    let rest: Vec<Blob> = rest.collect();
    checked.extend(parallel_map(rest, PARALLEL_UPLOADS, |blob| {
        (blob.digest.clone(), check(blob))
    }));
    let mut missing = Vec::new();
    let mut skipped = 0;
    for (digest, result) in checked {
        match result.map_err(|e| e.during(Action::Push))? {
            None => {
                progress.info(&format!("skipped {} (already present)", short(&digest)));
                skipped += 1;
            }
            Some(blob) => missing.push(blob),
        }
    }

    let total_bytes: u64 = missing.iter().map(|b| b.size).sum();
    let total = (!missing.is_empty()).then(|| {
        progress.task(
            &format!(
                "Uploading {} ({})",
                plural_blobs(missing.len()),
                human(total_bytes)
            ),
            Some(total_bytes),
        )
    });
    let stats = upload_all(
        rock,
        &target,
        client,
        progress,
        total.as_deref(),
        missing,
        mount_from.as_deref(),
    )?;
    drop(total);

    progress.detail(&format!("pushing manifest {}", summary.manifest_digest));
    let digest = client.put_manifest(&target, &manifest, &media_type)?;
    progress.info(&format!(
        "{} uploaded ({}), {skipped} already present, {} mounted",
        plural_blobs(stats.uploaded),
        human(stats.bytes),
        stats.mounted
    ));
    Ok(PushOutcome {
        reference: target,
        digest,
        uploaded: stats.uploaded,
        skipped,
        mounted: stats.mounted,
        bytes_uploaded: stats.bytes,
    })
}

/// `f` applied to every item with up to `threads` threads, results in the items' order.
fn parallel_map<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let n = items.len();
    let queue = Mutex::new(items.into_iter().enumerate().collect::<VecDeque<_>>());
    let results = Mutex::new((0..n).map(|_| None).collect::<Vec<Option<R>>>());
    std::thread::scope(|s| {
        for _ in 0..threads.min(n) {
            s.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some((i, item)) = next else { break };
                    let r = f(item);
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

#[derive(Default)]
struct Stats {
    uploaded: usize,
    mounted: usize,
    bytes: u64,
}

/// Mounts or uploads `missing` with [`PARALLEL_UPLOADS`] threads; the first error wins (blobs
/// not started by then are left alone).
fn upload_all(
    rock: &Path,
    target: &Reference,
    client: &Client,
    progress: &dyn Progress,
    total: Option<&dyn Task>,
    missing: Vec<Blob>,
    mount_from: Option<&str>,
) -> Result<Stats, PushError> {
    let failed = AtomicBool::new(false);
    let results = parallel_map(missing, PARALLEL_UPLOADS, |blob: Blob| {
        if failed.load(Ordering::Relaxed) {
            return None;
        }
        let result = push_blob(rock, target, client, progress, total, &blob, mount_from);
        if result.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        Some((blob.size, result))
    });
    let mut stats = Stats::default();
    for (size, result) in results.into_iter().flatten() {
        if result? {
            stats.mounted += 1;
        } else {
            stats.uploaded += 1;
            stats.bytes += size;
        }
    }
    Ok(stats)
}

/// Mounts (when possible) or uploads one blob; true if it was mounted.
fn push_blob(
    rock: &Path,
    target: &Reference,
    client: &Client,
    progress: &dyn Progress,
    total: Option<&dyn Task>,
    blob: &Blob,
    mount_from: Option<&str>,
) -> Result<bool, RegistryError> {
    if let Some(from) = mount_from.filter(|_| blob.mountable) {
        if client.mount_blob(target, &blob.digest, from)? {
            progress.info(&format!(
                "mounted {} from {}/{from}",
                short(&blob.digest),
                target.domain()
            ));
            if let Some(total) = total {
                total.inc(blob.size);
            }
            return Ok(true);
        }
    }
    let bar = progress.task(
        &format!("uploading {} ({})", short(&blob.digest), human(blob.size)),
        Some(blob.size),
    );
    // A retried upload starts again from 0, so the total moves by the difference.
    let last = AtomicU64::new(0);
    let sent = |now: u64| {
        bar.set_position(now);
        let before = last.swap(now, Ordering::Relaxed);
        if let Some(total) = total {
            total.inc(now.saturating_sub(before));
        }
    };
    client.upload_blob_from_file_at(target, &blob.digest, rock, blob.offset, blob.size, &sent)?;
    Ok(false)
}

/// The tag a rock pushes under by default: the tag part of its ref name, else `latest`.
fn default_tag(ref_name: &str) -> String {
    match ref_name.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') && !name.is_empty() => tag.to_owned(),
        _ => DEFAULT_TAG.to_owned(),
    }
}

/// The repository to mount layers from: the base image's, when the manifest names one on the
/// same registry (never Docker Hub, where cross-repository mounts are unreliable).
fn mount_source(manifest: &serde_json::Value, target: &Reference) -> Option<String> {
    let base = manifest["annotations"][ANNOTATION_BASE_NAME].as_str()?;
    let base = Reference::parse(base).ok()?;
    // The base may have come through a mirror, so its repository is tried on the target
    // registry whatever registry the annotation names; a registry without it answers 202 and
    // the blob is uploaded as usual. Docker Hub refuses cross-repository mounts too often.
    (target.domain() != DOCKER_HUB && base.repository() != target.repository())
        .then(|| base.repository().to_owned())
}

fn read_range(rock: &Path, offset: u64, size: u64) -> Result<Vec<u8>, PushError> {
    let read = |source| PushError::Read {
        path: rock.to_path_buf(),
        source,
    };
    let mut file = File::open(rock).map_err(read)?;
    file.seek(SeekFrom::Start(offset)).map_err(read)?;
    let mut bytes = Vec::new();
    file.take(size).read_to_end(&mut bytes).map_err(read)?;
    Ok(bytes)
}

/// `1 blob`, `3 blobs`.
fn plural_blobs(n: usize) -> String {
    match n {
        1 => "1 blob".to_owned(),
        n => format!("{n} blobs"),
    }
}

/// `sha256:` and the first 12 hex digits.
fn short(d: &Digest) -> String {
    format!("{}{}…", Digest::PREFIX, &d.hex()[..12])
}

/// A byte count in decimal units, e.g. `4.1 MB`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tag_is_the_ref_names_tag() {
        assert_eq!(default_tag("localhost/app:0.1"), "0.1");
        assert_eq!(default_tag("localhost:5000/app"), "latest");
        assert_eq!(default_tag("app"), "latest");
    }

    #[test]
    fn mount_source_needs_the_same_registry_and_another_repository() {
        let target = Reference::parse("localhost:5000/app:1").expect("ref");
        let doc = |base: &str| serde_json::json!({"annotations": {ANNOTATION_BASE_NAME: base}});
        assert_eq!(
            mount_source(&doc("localhost:5000/base/img:2"), &target),
            Some("base/img".to_owned())
        );
        assert_eq!(
            mount_source(&doc("docker.io/library/debian:bookworm"), &target),
            Some("library/debian".to_owned())
        );
        assert_eq!(mount_source(&doc("localhost:5000/app:0"), &target), None);
        assert_eq!(mount_source(&serde_json::json!({}), &target), None);
        let hub = Reference::parse("user/app").expect("ref");
        assert_eq!(mount_source(&doc("debian:12"), &hub), None);
    }

    #[test]
    fn sizes_and_digests_read_well() {
        assert_eq!(human(999), "999 B");
        assert_eq!(human(4_100_000), "4.1 MB");
        assert_eq!(human(1_500_000_000), "1.5 GB");
        let d = Digest::of(b"");
        assert_eq!(short(&d), "sha256:e3b0c44298fc…");
    }
}
