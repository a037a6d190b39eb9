//! Pulling a project's base image into the shared blob cache.
//!
//! [`pull_base`] resolves the image a `base:` names ([`crate::base::source`], optionally through
//! a mirror and pinned by digest), fetches its manifest (picking this platform's entry from an
//! index), then the config and every layer that the [`BlobCache`] does not hold yet, each
//! verified against its digest while it streams to disk. The cache remembers which manifest a
//! tag resolved to, so a pack with the registry unreachable falls back to the image pulled
//! before (with a warning) instead of failing.

use serde::Deserialize;

use crate::base::cache::BlobCache;
use crate::base::{BaseError, BaseImage, source};
use crate::oci::Digest;
use crate::progress::Progress;
use crate::project::{Base, oci_arch};
use crate::registry::{Client, Reference, RegistryError};

/// Where and what to pull.
#[derive(Clone, Debug, Default)]
pub struct PullOptions {
    /// Registry (and optional path prefix) replacing the base's own, e.g. `localhost:32000`.
    pub mirror: Option<String>,
    /// Pin: the manifest digest the base must resolve to.
    pub digest: Option<Digest>,
}

/// Why a base image could not be pulled.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The base has no image (bare) or is unknown.
    #[error("base {0} has no image to pull")]
    NoImage(String),
    /// The registry failed.
    #[error("cannot pull base image {reference}: {source}")]
    Registry {
        /// The image.
        reference: String,
        /// The cause (boxed: registry errors are large).
        #[source]
        source: Box<RegistryError>,
    },
    /// The image has no manifest for this platform.
    #[error("base image {reference} has no image for {platform} (it has: {available})")]
    NoPlatform {
        /// The image.
        reference: String,
        /// Wanted platform.
        platform: String,
        /// Platforms in the index.
        available: String,
    },
    /// A document did not parse.
    #[error("cannot read the manifest of base image {reference}: {message}")]
    BadManifest {
        /// The image.
        reference: String,
        /// What is wrong.
        message: String,
    },
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] BaseError),
}

impl PullError {
    /// Whether the user can fix this (wrong mirror, missing image, unreachable registry).
    pub fn is_user_error(&self) -> bool {
        match self {
            PullError::Registry { source, .. } => source.is_user_error(),
            PullError::Cache(e) => e.is_user_error(),
            PullError::NoImage(_)
            | PullError::NoPlatform { .. }
            | PullError::BadManifest { .. } => true,
        }
    }
}

#[derive(Deserialize)]
struct IndexDoc {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

#[derive(Deserialize)]
struct IndexEntry {
    digest: String,
    #[serde(default)]
    platform: Option<PlatformDoc>,
}

#[derive(Deserialize)]
struct PlatformDoc {
    architecture: String,
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Deserialize)]
struct ManifestDoc {
    config: BlobDoc,
    #[serde(default)]
    layers: Vec<BlobDoc>,
}

#[derive(Deserialize)]
struct BlobDoc {
    digest: String,
}

/// The cache key of a Debian architecture: `amd64`, `arm64/v8`, ...
fn platform_key(build_for: &str) -> String {
    match oci_arch(build_for) {
        Some((arch, Some(variant))) => format!("{arch}/{variant}"),
        Some((arch, None)) => arch.to_string(),
        None => build_for.to_string(),
    }
}

/// Pulls `base` for the Debian architecture `build_for` into `cache` and returns it.
pub fn pull_base(
    base: &Base,
    build_for: &str,
    opts: &PullOptions,
    client: &Client,
    cache: &BlobCache,
    progress: &dyn Progress,
) -> Result<BaseImage, PullError> {
    let name = match &opts.digest {
        Some(d) => source::pinned_reference(base, opts.mirror.as_deref(), d),
        None => source::base_reference(base, opts.mirror.as_deref()),
    }
    .ok_or_else(|| PullError::NoImage(base.to_string()))?;
    let key = platform_key(build_for);
    // A pinned image already in the cache needs no network at all.
    if let Some(d) = &opts.digest
        && cache.get(d).is_some()
        && let Ok(image) = BaseImage::from_cache(cache, &name, d)
    {
        progress.detail(&format!("base image {name} is in the cache"));
        return Ok(image);
    }
    let reference = Reference::parse(&name).map_err(|source| PullError::Registry {
        reference: name.clone(),
        source: Box::new(source),
    })?;
    let task = progress.task(&format!("Pulling base image {name}"), None);
    let result = fetch(&reference, &name, build_for, client, cache, progress);
    drop(task);
    let digest = match result {
        Ok(d) => d,
        Err(PullError::Registry { source, .. })
            if source.is_unreachable() && opts.digest.is_none() =>
        {
            match cache.get_ref(&name, &key)? {
                Some(d) => {
                    progress.warn(&format!(
                        "Warning: cannot reach the registry of {name} ({source}); using the copy pulled earlier ({d})"
                    ));
                    d
                }
                None => {
                    return Err(PullError::Registry {
                        reference: name,
                        source,
                    });
                }
            }
        }
        Err(e) => return Err(e),
    };
    cache.set_ref(&name, &key, &digest)?;
    Ok(BaseImage::from_cache(cache, &name, &digest)?)
}

/// Fetches the platform manifest, config and layers; returns the manifest digest.
fn fetch(
    reference: &Reference,
    name: &str,
    build_for: &str,
    client: &Client,
    cache: &BlobCache,
    progress: &dyn Progress,
) -> Result<Digest, PullError> {
    let registry = |source| PullError::Registry {
        reference: name.to_string(),
        source: Box::new(source),
    };
    let bad = |message: String| PullError::BadManifest {
        reference: name.to_string(),
        message,
    };
    let mut manifest = client.get_manifest(reference, &[]).map_err(registry)?;
    if manifest.media_type.contains("index") || manifest.media_type.contains("list") {
        let index: IndexDoc =
            serde_json::from_slice(&manifest.bytes).map_err(|e| bad(e.to_string()))?;
        let (arch, variant) = oci_arch(build_for).unwrap_or(("amd64", None));
        let entry = index.manifests.iter().find(|m| {
            m.platform.as_ref().is_some_and(|p| {
                p.os == "linux"
                    && p.architecture == arch
                    && (variant.is_none() || p.variant.is_none() || p.variant.as_deref() == variant)
            })
        });
        let Some(entry) = entry else {
            let available: Vec<String> = index
                .manifests
                .iter()
                .filter_map(|m| m.platform.as_ref())
                .map(|p| match &p.variant {
                    Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                    None => format!("{}/{}", p.os, p.architecture),
                })
                .collect();
            return Err(PullError::NoPlatform {
                reference: name.to_string(),
                platform: platform_key(build_for),
                available: available.join(", "),
            });
        };
        let digest = Digest::parse(&entry.digest).map_err(|e| bad(e.to_string()))?;
        progress.detail(&format!(
            "{name}: {} manifest {digest}",
            platform_key(build_for)
        ));
        manifest = client
            .get_manifest(&reference.with_digest(digest), &[])
            .map_err(registry)?;
    }
    let stored = cache.insert_bytes(&manifest.bytes)?;
    if stored != manifest.digest {
        return Err(bad(format!(
            "served manifest hashes to {stored}, not {}",
            manifest.digest
        )));
    }
    let doc: ManifestDoc =
        serde_json::from_slice(&manifest.bytes).map_err(|e| bad(e.to_string()))?;
    let blobs = std::iter::once(&doc.config).chain(doc.layers.iter());
    for blob in blobs {
        let digest = Digest::parse(&blob.digest).map_err(|e| bad(e.to_string()))?;
        if cache.get(&digest).is_some() {
            progress.detail(&format!("{digest} is in the cache"));
            continue;
        }
        progress.detail(&format!("downloading {digest}"));
        cache.insert_with(&digest, |w| {
            client
                .get_blob_to(reference, &digest, &mut WriteRef(w))
                .map(|_| ())
                .map_err(|e| Box::new(e) as crate::base::cache::FillError)
        })?;
    }
    Ok(manifest.digest)
}

/// Adapts `&mut dyn Write` to the `impl Write` the client takes.
struct WriteRef<'a>(&'a mut dyn std::io::Write);

impl std::io::Write for WriteRef<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
