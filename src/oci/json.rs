//! The serde shapes of every JSON document rcraft writes (image config, manifest, `index.json`,
//! Docker `manifest.json`, `oci-layout`), with a fixed field order and sorted maps so the bytes,
//! and so the digests, depend only on the values. Used by [`crate::oci::image`] and
//! [`crate::oci::archive`]; serialised compactly by [`to_vec`].

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Digest, OciError};

/// Serialises `doc` as compact JSON.
pub(crate) fn to_vec(what: &'static str, doc: &impl Serialize) -> Result<Vec<u8>, OciError> {
    serde_json::to_vec(doc).map_err(|source| OciError::Json { what, source })
}

/// `{}` (the value type of `ExposedPorts`).
#[derive(Serialize)]
pub(crate) struct Empty {}

#[derive(Serialize)]
pub(crate) struct ConfigJson {
    pub created: String,
    pub architecture: String,
    pub os: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub config: RuntimeJson,
    pub rootfs: RootFsJson,
    pub history: Vec<HistoryJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RuntimeJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, Empty>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct RootFsJson {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub diff_ids: Vec<Digest>,
}

#[derive(Serialize)]
pub(crate) struct HistoryJson {
    pub created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub empty_layer: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ManifestJson {
    pub schema_version: u32,
    pub media_type: &'static str,
    pub config: DescriptorJson,
    pub layers: Vec<DescriptorJson>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescriptorJson {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IndexJson {
    pub schema_version: u32,
    pub media_type: &'static str,
    pub manifests: Vec<IndexEntryJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IndexEntryJson {
    pub media_type: &'static str,
    pub digest: Digest,
    pub size: u64,
    pub annotations: BTreeMap<&'static str, String>,
    pub platform: PlatformJson,
}

#[derive(Serialize)]
pub(crate) struct PlatformJson {
    pub architecture: String,
    pub os: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// One entry of Docker's `manifest.json` (the classic `docker load` format).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DockerManifestJson {
    pub config: String,
    pub repo_tags: Vec<String>,
    pub layers: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OciLayoutJson {
    pub image_layout_version: &'static str,
}
