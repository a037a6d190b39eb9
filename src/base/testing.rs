//! Building a base image into a [`BlobCache`] without a registry: from a directory
//! ([`seed_from_dir`]), from tar files ([`seed_from_tars`]) or from ready blobs
//! ([`seed_layers`]). Used by rcraft's tests, and handy to try a base made by hand.
//!
//! The image gets the host's architecture, `Env` with the usual `PATH`, `Cmd ["bash"]`, one
//! history entry per layer plus an empty-layer `CMD` entry (as Docker Hub images have), and is
//! recorded as what its reference resolves to for the host platform.

use serde_json::{Value, json};

use super::{
    BaseError, BaseImage, BlobCache, MEDIA_TYPE_DOCKER_CONFIG, MEDIA_TYPE_DOCKER_LAYER_GZIP,
};
use super::{MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_OCI_CONFIG, MEDIA_TYPE_OCI_MANIFEST};
use crate::oci::layer::{MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_TAR};
use crate::oci::{BlobStore, Digest, LayerBuilder};
use crate::project::{host_arch, oci_arch};

/// The reference seeded images are recorded under unless told otherwise.
pub const SEED_REFERENCE: &str = "localhost/rcraft-seed:latest";

/// The `PATH` seeded images set.
pub const SEED_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A layer blob to seed.
#[derive(Debug, Clone)]
pub struct SeedLayer {
    /// The blob's bytes (gzip or plain tar).
    pub blob: Vec<u8>,
    /// Its media type as the manifest lists it.
    pub media_type: String,
    /// The digest of the uncompressed tar.
    pub diff_id: Digest,
}

impl SeedLayer {
    /// A plain (uncompressed) tar layer.
    pub fn tar(bytes: Vec<u8>) -> Self {
        Self {
            diff_id: Digest::of(&bytes),
            blob: bytes,
            media_type: MEDIA_TYPE_LAYER_TAR.to_string(),
        }
    }
}

/// The host platform as `architecture[/variant]` (the ref key [`BlobCache::set_ref`] uses).
pub fn host_platform() -> String {
    match oci_arch(host_arch()) {
        Some((arch, Some(v))) => format!("{arch}/{v}"),
        Some((arch, None)) => arch.to_string(),
        None => host_arch().to_string(),
    }
}

/// Seeds one gzip layer holding everything below `dir` (owned 0:0, on-disk modes) as an OCI
/// image named [`SEED_REFERENCE`].
pub fn seed_from_dir(cache: &BlobCache, dir: &std::path::Path) -> Result<BaseImage, BaseError> {
    let store_dir = tempfile::tempdir_in(cache.temp_dir()).map_err(super::error::io(
        "create a temporary directory in",
        &cache.temp_dir(),
    ))?;
    let store = BlobStore::new(store_dir.path())?;
    let mut b = LayerBuilder::new();
    b.add_dir_all(dir)?;
    let layer = b.write(&store, 0)?;
    let path = store.path(&layer.digest);
    let blob = std::fs::read(&path).map_err(super::error::io("read", &path))?;
    let seed = SeedLayer {
        blob,
        media_type: MEDIA_TYPE_LAYER_GZIP.to_string(),
        diff_id: layer.diff_id,
    };
    seed_layers(cache, SEED_REFERENCE, vec![seed], false)
}

/// Seeds one plain tar layer per tar file, bottom first, as an OCI image named
/// [`SEED_REFERENCE`].
pub fn seed_from_tars(cache: &BlobCache, tars: &[Vec<u8>]) -> Result<BaseImage, BaseError> {
    let layers = tars.iter().cloned().map(SeedLayer::tar).collect();
    seed_layers(cache, SEED_REFERENCE, layers, false)
}

/// Stores `layers`, a config and a manifest (OCI, or Docker schema 2 when `docker`, with
/// gzip layers listed under Docker's media type) and records `reference` for the host.
pub fn seed_layers(
    cache: &BlobCache,
    reference: &str,
    layers: Vec<SeedLayer>,
    docker: bool,
) -> Result<BaseImage, BaseError> {
    let (arch, variant) = oci_arch(host_arch()).unwrap_or(("amd64", None));
    let created = "2024-01-01T00:00:00Z";
    let mut history: Vec<Value> = (0..layers.len())
        .map(|i| json!({"created": created, "created_by": format!("seed layer {i}")}))
        .collect();
    history.push(json!({"created": created, "created_by": "CMD [\"bash\"]", "empty_layer": true}));
    let mut config = json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Env": [SEED_PATH], "Cmd": ["bash"]},
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>(),
        },
        "history": history,
    });
    if let Some(v) = variant {
        config["variant"] = json!(v);
    }
    let config_bytes = serde_json::to_vec(&config).map_err(|e| BaseError::Io {
        action: "serialise the seed config for",
        path: cache.root().to_path_buf(),
        source: e.into(),
    })?;
    let config_digest = cache.insert_bytes(&config_bytes)?;
    let mut descs = Vec::new();
    for layer in &layers {
        let digest = cache.insert_bytes(&layer.blob)?;
        let media_type = if docker && layer.media_type == MEDIA_TYPE_LAYER_GZIP {
            MEDIA_TYPE_DOCKER_LAYER_GZIP
        } else {
            layer.media_type.as_str()
        };
        descs.push(json!({"mediaType": media_type, "digest": digest.to_string(), "size": layer.blob.len()}));
    }
    let (manifest_type, config_type) = if docker {
        (MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_DOCKER_CONFIG)
    } else {
        (MEDIA_TYPE_OCI_MANIFEST, MEDIA_TYPE_OCI_CONFIG)
    };
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "digest": config_digest.to_string(), "size": config_bytes.len()},
        "layers": descs,
    });
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| BaseError::Io {
        action: "serialise the seed manifest for",
        path: cache.root().to_path_buf(),
        source: e.into(),
    })?;
    let manifest_digest = cache.insert_bytes(&manifest_bytes)?;
    cache.set_ref(reference, &host_platform(), &manifest_digest)?;
    BaseImage::from_cache(cache, reference, &manifest_digest)
}
