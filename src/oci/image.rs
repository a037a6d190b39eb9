//! [`Image`]: an image config plus its layers, serialised as the OCI image config and manifest
//! blobs; [`Image::write`] returns a [`WrittenImage`] for [`crate::oci::archive`].
//!
//! In the pipeline this sits between the layer writer and the archive: `pack` fills an
//! [`ImageConfig`] (entrypoint, env, labels, `created` from `SOURCE_DATE_EPOCH`), pairs each
//! [`Layer`] with its [`History`], and writes the image into the same [`BlobStore`].
//!
//! The JSON is produced from the private serde structs in `json.rs` rather than `oci-spec`'s
//! types, because `oci-spec` 0.10 keeps labels and annotations in `HashMap`s whose iteration
//! order changes from run to run; ours have a fixed field order and `BTreeMap`s, are written
//! compactly, and are parsed back with `oci-spec` in tests and in `validate.rs`. Empty
//! `Entrypoint`, `Cmd`, `Env`, `Labels`, ... are omitted (Rockcraft clears `Cmd`; a missing field
//! is what every consumer reads as "none").

use std::collections::BTreeMap;

use super::json::{self, ConfigJson, DescriptorJson, HistoryJson, ManifestJson, RootFsJson};
use super::{BlobRef, BlobStore, Digest, Layer, OciError};

/// Media type of the image manifest.
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of the image config.
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// The platform an image runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// OCI/Go architecture name (`amd64`, `arm64`, ...).
    pub architecture: String,
    /// `linux`.
    pub os: String,
    /// CPU variant (`v7` for armhf, `v8` for arm64 if wanted).
    pub variant: Option<String>,
}

/// The runtime configuration and metadata of an image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageConfig {
    /// OCI/Go architecture name.
    pub architecture: String,
    /// CPU variant.
    pub variant: Option<String>,
    /// Operating system (`linux`).
    pub os: String,
    /// `Entrypoint`; omitted when empty.
    pub entrypoint: Vec<String>,
    /// `Cmd`; omitted when empty.
    pub cmd: Vec<String>,
    /// `Env` as `KEY=value`; omitted when empty.
    pub env: Vec<String>,
    /// `User`.
    pub user: Option<String>,
    /// `WorkingDir`.
    pub working_dir: Option<String>,
    /// `Labels` (sorted by key in the JSON).
    pub labels: BTreeMap<String, String>,
    /// `ExposedPorts` such as `8000/tcp`.
    pub exposed_ports: Vec<String>,
    /// `StopSignal`.
    pub stop_signal: Option<String>,
    /// Creation time, unix seconds (written as RFC 3339 UTC), also used for history entries.
    pub created: u64,
}

impl ImageConfig {
    /// The platform part of the config.
    pub fn platform(&self) -> Platform {
        Platform {
            architecture: self.architecture.clone(),
            os: self.os.clone(),
            variant: self.variant.clone(),
        }
    }
}

/// One history entry of the image config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct History {
    /// What made the layer (e.g. `rcraft pack: part flask-framework/dependencies`).
    pub created_by: Option<String>,
    /// Free-form comment.
    pub comment: Option<String>,
}

/// An image to write: config, layers in order (bottom first) and manifest annotations.
#[derive(Debug, Clone, Default)]
pub struct Image {
    /// Runtime config and metadata.
    pub config: ImageConfig,
    /// Layers, bottom first, each with its history entry.
    pub layers: Vec<(Layer, History)>,
    /// History entries of steps that made no layer, written after the layers' entries with
    /// `empty_layer: true`.
    pub empty_layer_history: Vec<History>,
    /// Manifest annotations.
    pub annotations: BTreeMap<String, String>,
}

/// What [`Image::write`] put in the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenImage {
    /// The manifest blob (its digest is the image digest).
    pub manifest: BlobRef,
    /// The config blob.
    pub config: BlobRef,
    /// The layers, bottom first.
    pub layers: Vec<Layer>,
    /// The image's platform, for `index.json`.
    pub platform: Platform,
    /// The image's creation time (unix seconds), used as the archive's mtime.
    pub created: u64,
}

impl Image {
    /// The config JSON bytes (exactly what [`Image::write`] stores).
    pub fn config_json(&self) -> Result<Vec<u8>, OciError> {
        let c = &self.config;
        if c.architecture.is_empty() || c.os.is_empty() {
            return Err(OciError::InvalidImage {
                reason: "the architecture and os must not be empty".to_owned(),
            });
        }
        let created = rfc3339(c.created)?;
        let history = self
            .layers
            .iter()
            .map(|(_, h)| (h, false))
            .chain(self.empty_layer_history.iter().map(|h| (h, true)))
            .map(|(h, empty)| HistoryJson {
                created: created.clone(),
                created_by: h.created_by.clone(),
                comment: h.comment.clone(),
                empty_layer: empty.then_some(true),
            })
            .collect();
        let doc = ConfigJson {
            created: created.clone(),
            architecture: c.architecture.clone(),
            os: c.os.clone(),
            variant: c.variant.clone(),
            config: json::RuntimeJson {
                user: c.user.clone(),
                exposed_ports: c
                    .exposed_ports
                    .iter()
                    .map(|p| (p.clone(), json::Empty {}))
                    .collect(),
                env: c.env.clone(),
                entrypoint: c.entrypoint.clone(),
                cmd: c.cmd.clone(),
                working_dir: c.working_dir.clone(),
                labels: c.labels.clone(),
                stop_signal: c.stop_signal.clone(),
            },
            rootfs: RootFsJson {
                kind: "layers",
                diff_ids: self.layers.iter().map(|(l, _)| l.diff_id.clone()).collect(),
            },
            history,
        };
        json::to_vec("image config", &doc)
    }

    /// The manifest JSON bytes for a config blob `config`.
    pub fn manifest_json(&self, config: &BlobRef) -> Result<Vec<u8>, OciError> {
        let doc = ManifestJson {
            schema_version: 2,
            media_type: MEDIA_TYPE_MANIFEST,
            config: DescriptorJson {
                media_type: MEDIA_TYPE_CONFIG.to_owned(),
                digest: config.digest.clone(),
                size: config.size,
            },
            layers: self
                .layers
                .iter()
                .map(|(l, _)| DescriptorJson {
                    media_type: l.media_type.clone(),
                    digest: l.digest.clone(),
                    size: l.size,
                })
                .collect(),
            annotations: self.annotations.clone(),
        };
        json::to_vec("image manifest", &doc)
    }

    /// Writes the config and manifest blobs (the layer blobs must already be in `blobs`).
    pub fn write(&self, blobs: &BlobStore) -> Result<WrittenImage, OciError> {
        let config = blobs.put_bytes(&self.config_json()?)?;
        let manifest = blobs.put_bytes(&self.manifest_json(&config)?)?;
        Ok(WrittenImage {
            manifest,
            config,
            layers: self.layers.iter().map(|(l, _)| l.clone()).collect(),
            platform: self.config.platform(),
            created: self.config.created,
        })
    }
}

impl WrittenImage {
    /// The image digest (the manifest's digest).
    pub fn digest(&self) -> &Digest {
        &self.manifest.digest
    }
}

/// Formats unix seconds as RFC 3339 UTC (`1970-01-01T00:00:00Z`).
pub fn rfc3339(secs: u64) -> Result<String, OciError> {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    if y > 9999 {
        return Err(OciError::InvalidImage {
            reason: format!("the creation time {secs} is after the year 9999"),
        });
    }
    Ok(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`, restricted to non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
