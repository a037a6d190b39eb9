//! Base images: what a `base` means ([`source`]), the user-wide blob cache the puller fills
//! ([`cache`]), the pulled image as data ([`BaseImage`]), its root filesystem unpacked with
//! whiteouts and without ever leaving the root ([`unpack`], queried through [`rootfs`]), and
//! Rockcraft's rules for the parts' files on top of it ([`prune`]: usrmerge rewrites,
//! identical files left out).
//!
//! ```text
//! Base --source::base_reference--> "docker.io/library/debian:bookworm"
//!   --(registry pull, elsewhere)--> BlobCache: manifest, config and layer blobs + ref
//!   --BaseImage::from_cache--> BaseImage --ResolvedBase::prepare (unpack, cached)--> rootfs
//!   --pack::pack_with_bases--> base layers reused as they are + pruned part layers
//! ```
//!
//! Nothing here touches the network. [`testing`] seeds a cache from a directory or tars, so
//! tests (and offline experiments) need no registry.

pub mod cache;
mod error;
pub mod prune;
pub mod rootfs;
pub mod source;
pub mod testing;
pub mod unpack;

use serde_json::Value;

use crate::oci::Digest;
use crate::oci::layer::{MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_TAR};

pub use cache::BlobCache;
pub use error::BaseError;
pub use rootfs::{Attrs, BaseEntry, BaseKind, Rootfs};
pub use source::{base_reference, pinned_reference};
pub use unpack::{Unpacked, cached_rootfs, unpack_layers};

/// OCI image manifest media type.
pub const MEDIA_TYPE_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker schema 2 image manifest media type.
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// OCI image config media type.
pub const MEDIA_TYPE_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Docker image config media type.
pub const MEDIA_TYPE_DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker's gzip layer media type (same bytes as the OCI gzip layer).
pub const MEDIA_TYPE_DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// A pulled base image for one platform, read from the cache.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseImage {
    /// The reference it was pulled as (e.g. `docker.io/library/debian:bookworm`).
    pub reference: String,
    /// Digest of the platform's image manifest (what `base-digest` records).
    pub manifest_digest: Digest,
    /// Digest of the image config blob.
    pub config_digest: Digest,
    /// The image config JSON.
    pub config: Value,
    /// The layers, bottom first.
    pub layers: Vec<BaseLayer>,
}

/// One layer of a [`BaseImage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseLayer {
    /// Digest of the blob as stored (compressed).
    pub digest: Digest,
    /// Digest of the uncompressed tar (`rootfs.diff_ids`).
    pub diff_id: Digest,
    /// Size of the blob.
    pub size: u64,
    /// The OCI media type to list it under: Docker's gzip type is mapped to the OCI gzip type
    /// (identical bytes), because an OCI manifest must use OCI layer types.
    pub media_type: String,
}

impl BaseImage {
    /// Reads the image whose manifest `manifest_digest` is cached, with its config, and checks
    /// that every layer blob is cached. Accepts OCI and Docker schema 2 manifests and configs;
    /// refuses indexes (the puller stores the platform's manifest) and zstd layers.
    pub fn from_cache(
        cache: &BlobCache,
        reference: &str,
        manifest_digest: &Digest,
    ) -> Result<Self, BaseError> {
        let bad = |what: &'static str, digest: &Digest, reason: String| BaseError::BadDocument {
            what,
            digest: digest.clone(),
            reason,
        };
        let bytes = cache.read("manifest", manifest_digest)?;
        let manifest: Value = serde_json::from_slice(&bytes)
            .map_err(|e| bad("manifest", manifest_digest, format!("invalid JSON: {e}")))?;
        let m_bad = |reason: String| bad("manifest", manifest_digest, reason);
        match manifest.get("mediaType").and_then(Value::as_str) {
            None | Some(MEDIA_TYPE_OCI_MANIFEST | MEDIA_TYPE_DOCKER_MANIFEST) => {}
            Some(other) => {
                return Err(m_bad(format!(
                    "it is a `{other}`, not an image manifest (store the platform's manifest)"
                )));
            }
        }
        if manifest.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
            return Err(m_bad("schemaVersion is not 2".into()));
        }
        let config_desc = manifest
            .get("config")
            .ok_or_else(|| m_bad("it has no config".into()))?;
        let config_digest = descriptor_digest(config_desc).map_err(|r| m_bad(r.into()))?;
        match config_desc.get("mediaType").and_then(Value::as_str) {
            Some(MEDIA_TYPE_OCI_CONFIG | MEDIA_TYPE_DOCKER_CONFIG) => {}
            other => {
                return Err(m_bad(format!(
                    "unsupported config media type {}",
                    other.unwrap_or("(none)")
                )));
            }
        }
        let config_bytes = cache.read("config", &config_digest)?;
        let config: Value = serde_json::from_slice(&config_bytes)
            .map_err(|e| bad("config", &config_digest, format!("invalid JSON: {e}")))?;
        let diff_ids = config
            .pointer("/rootfs/diff_ids")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("config", &config_digest, "it has no rootfs.diff_ids".into()))?;
        let descs = manifest
            .get("layers")
            .and_then(Value::as_array)
            .ok_or_else(|| m_bad("it has no layers".into()))?;
        if descs.len() != diff_ids.len() {
            return Err(m_bad(format!(
                "it lists {} layers but its config {} has {} diff_ids",
                descs.len(),
                config_digest,
                diff_ids.len()
            )));
        }
        let mut layers = Vec::with_capacity(descs.len());
        for (i, (desc, diff_id)) in descs.iter().zip(diff_ids).enumerate() {
            let digest = descriptor_digest(desc).map_err(|r| m_bad(format!("layer {i}: {r}")))?;
            let raw_type = desc.get("mediaType").and_then(Value::as_str).unwrap_or("");
            let media_type = oci_layer_media_type(raw_type).ok_or_else(|| {
                m_bad(format!("layer {i} has unsupported media type `{raw_type}`"))
            })?;
            let diff_id = diff_id
                .as_str()
                .and_then(|d| Digest::parse(d).ok())
                .ok_or_else(|| bad("config", &config_digest, format!("diff_id {i} is invalid")))?;
            let size = desc
                .get("size")
                .and_then(Value::as_u64)
                .ok_or_else(|| m_bad(format!("layer {i} has no size")))?;
            if cache.get(&digest).is_none() {
                return Err(BaseError::MissingBlob {
                    what: "layer",
                    path: cache.path(&digest),
                    digest,
                });
            }
            layers.push(BaseLayer {
                digest,
                diff_id,
                size,
                media_type: media_type.to_string(),
            });
        }
        Ok(BaseImage {
            reference: reference.to_string(),
            manifest_digest: manifest_digest.clone(),
            config_digest,
            config,
            layers,
        })
    }

    /// Reads the image `reference` last resolved to for `platform` (see
    /// [`BlobCache::set_ref`]), or `None` if it was never pulled.
    pub fn from_cache_ref(
        cache: &BlobCache,
        reference: &str,
        platform: &str,
    ) -> Result<Option<Self>, BaseError> {
        match cache.get_ref(reference, platform)? {
            Some(digest) => Self::from_cache(cache, reference, &digest).map(Some),
            None => Ok(None),
        }
    }

    /// The config's OCI `architecture` (e.g. `amd64`).
    pub fn architecture(&self) -> Option<&str> {
        self.config.get("architecture").and_then(Value::as_str)
    }

    /// The config's `variant` (e.g. `v8`), if any.
    pub fn variant(&self) -> Option<&str> {
        self.config.get("variant").and_then(Value::as_str)
    }

    /// The config's `Env` (`KEY=value` strings).
    pub fn env(&self) -> Vec<String> {
        self.config
            .pointer("/config/Env")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The config's `history` entries, verbatim.
    pub fn history(&self) -> Vec<Value> {
        self.config
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }
}

/// A base image ready to pack on: the image, the cache holding its blobs and its unpacked
/// root filesystem.
#[derive(Debug, Clone)]
pub struct ResolvedBase {
    /// The image.
    pub image: BaseImage,
    /// The cache its blobs are in.
    pub cache: BlobCache,
    /// Its root filesystem (unpacked into the cache).
    pub rootfs: Rootfs,
}

impl ResolvedBase {
    /// Unpacks `image` (or reuses its unpacked copy in the cache).
    pub fn prepare(cache: &BlobCache, image: BaseImage) -> Result<Self, BaseError> {
        let rootfs = unpack::cached_rootfs(cache, &image)?;
        Ok(Self {
            image,
            cache: cache.clone(),
            rootfs,
        })
    }
}

/// The OCI media type to list a base layer under, or `None` if rcraft cannot use it.
pub fn oci_layer_media_type(media_type: &str) -> Option<&'static str> {
    match media_type {
        MEDIA_TYPE_LAYER_GZIP | MEDIA_TYPE_DOCKER_LAYER_GZIP => Some(MEDIA_TYPE_LAYER_GZIP),
        MEDIA_TYPE_LAYER_TAR => Some(MEDIA_TYPE_LAYER_TAR),
        _ => None,
    }
}

fn descriptor_digest(desc: &Value) -> Result<Digest, &'static str> {
    desc.get("digest")
        .and_then(Value::as_str)
        .and_then(|d| Digest::parse(d).ok())
        .ok_or("a descriptor has no valid sha256 digest")
}

#[cfg(test)]
mod tests;
