//! The image config and annotations of a rock, as Rockcraft sets them.
//!
//! [`image`] turns the project and the written layers into an [`oci::Image`]: architecture
//! from the platform, `Env` (bare bases get a default `PATH`, other bases start from the base
//! image's `Env`), `User` 584792 for `run-user`, the entrypoint, and the
//! `org.opencontainers.image.*` labels, which double as manifest annotations (on a base,
//! `org.opencontainers.image.base.digest` is the base manifest digest's hex, as Rockcraft
//! writes it). The entrypoint is the bundled worker-server (rcraft's Pebble) unless
//! `entrypoint-command` replaces it; see [`WORKER_SERVER_PATH`].
//!
//! [`write_on_base`] writes an image whose first layers are a base image's: its config starts
//! the history with the base's own entries (kept verbatim, empty-layer ones included).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::base::BaseImage;
use crate::oci::{self, BlobStore, History, Image, ImageConfig, Layer, WrittenImage};
use crate::project::{DAEMON_UID, Platform, Project, oci_arch, pebble::parse_command};

/// Where the worker-server (rcraft's Pebble-compatible PID 1) lives in every image (see
/// [`super::worker`]); when no static worker-server is found, images that
/// rely on it get no entrypoint and `pack` warns.
pub const WORKER_SERVER_PATH: &str = "/usr/bin/worker-server";

const BARE_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Builds the image (config, layers, annotations) and the warnings to show.
pub fn image(
    project: &Project,
    platform: &Platform,
    layers: Vec<(Layer, History)>,
    created: u64,
    base: Option<&BaseImage>,
    worker: bool,
) -> Result<(Image, Vec<String>), oci::OciError> {
    let mut warnings = Vec::new();
    let (architecture, variant) = oci_arch(&platform.build_for).unwrap_or(("amd64", None));
    let mut env = match base {
        Some(base) => base.env(),
        None if project.base.is_bare() => vec![BARE_PATH.to_string()],
        None => Vec::new(),
    };
    for (k, v) in &project.environment {
        // A project value replaces the base's value of the same variable in place.
        let entry = format!("{k}={v}");
        match env
            .iter_mut()
            .find(|e| e.split_once('=').map_or(e.as_str(), |(n, _)| n) == k)
        {
            Some(existing) => *existing = entry,
            None => env.push(entry),
        }
    }

    let (entrypoint, cmd) = entrypoint(project, worker, &mut warnings);
    let mut labels = labels(project, created)?;
    if let Some(base) = base {
        labels.insert(
            "org.opencontainers.image.base.digest".to_string(),
            base.manifest_digest.hex().to_string(),
        );
    }
    let config = ImageConfig {
        architecture: architecture.to_string(),
        variant: variant.map(str::to_string),
        os: "linux".to_string(),
        entrypoint,
        cmd,
        env,
        user: project.run_user.as_ref().map(|_| DAEMON_UID.to_string()),
        working_dir: None,
        labels: labels.clone(),
        exposed_ports: Vec::new(),
        stop_signal: None,
        created,
    };
    let img = Image {
        config,
        layers,
        empty_layer_history: vec![History {
            created_by: Some(format!("rcraft {}", env!("CARGO_PKG_VERSION"))),
            comment: Some("Set entrypoint".to_string()),
        }],
        annotations: annotations(project, labels),
    };
    Ok((img, warnings))
}

/// The manifest annotations: the labels, plus (on a base) `org.opencontainers.image.base.name`
/// with the base's canonical name, never the mirror it came through, so that the digest does
/// not depend on where the base was pulled from. `rcraft push` mounts base layers from that
/// repository when the target registry has it.
fn annotations(project: &Project, labels: BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut annotations = labels;
    if let Some(name) = crate::base::source::base_reference(&project.base, None) {
        annotations.insert("org.opencontainers.image.base.name".to_string(), name);
    }
    annotations
}

/// Entrypoint and Cmd: `entrypoint-command` splits into both; otherwise the worker-server
/// (`enter`, plus `--args SERVICE` with the service's default args as Cmd for
/// `entrypoint-service`).
fn entrypoint(
    project: &Project,
    worker: bool,
    warnings: &mut Vec<String>,
) -> (Vec<String>, Vec<String>) {
    if let Some(command) = &project.entrypoint_command {
        // Validated by the schema, so this split succeeds.
        let parts = parse_command(command).unwrap_or_default();
        return (parts.base, parts.default_args.unwrap_or_default());
    }
    if !worker {
        if !project.services.is_empty() {
            warnings.push(
                "Warning: no worker-server was found, so the image has no entrypoint and its services will not start; set `entrypoint-command` to run a program directly".to_string(),
            );
        }
        return (Vec::new(), Vec::new());
    }
    let mut entrypoint = vec![WORKER_SERVER_PATH.to_string(), "enter".to_string()];
    let mut cmd = Vec::new();
    if let Some(name) = &project.entrypoint_service {
        entrypoint.extend(["--args".to_string(), name.clone()]);
        if let Some(service) = project.service(name) {
            cmd = service
                .command_parts
                .default_args
                .clone()
                .unwrap_or_default();
        }
    }
    (entrypoint, cmd)
}

/// The `org.opencontainers.image.*` labels (also the manifest annotations).
fn labels(project: &Project, created: u64) -> Result<BTreeMap<String, String>, oci::OciError> {
    let mut labels = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        labels.insert(format!("org.opencontainers.image.{k}"), v);
    };
    put("version", project.version.clone());
    put("title", project.title.clone());
    put("created", oci::image::rfc3339(created)?);
    put(
        "description",
        format!("{}\n\n{}", project.summary, project.description),
    );
    if let Some(license) = &project.license {
        put("licenses", license.clone());
    }
    if let Some(url) = &project.source_code {
        put("source", url.clone());
    }
    Ok(labels)
}

/// Writes `img`, whose first `base.layers.len()` layers are `base`'s, into `blobs`: like
/// [`Image::write`], but the config's history starts with the base's own entries (when they
/// match its layers) instead of one generated entry per base layer.
pub fn write_on_base(
    img: &Image,
    base: &BaseImage,
    blobs: &BlobStore,
) -> Result<WrittenImage, oci::OciError> {
    let invalid = |reason: String| oci::OciError::InvalidImage { reason };
    let mut doc: Value = serde_json::from_slice(&img.config_json()?)
        .map_err(|e| invalid(format!("cannot re-read the image config: {e}")))?;
    let base_history = base.history();
    let non_empty = base_history
        .iter()
        .filter(|h| h.get("empty_layer").and_then(Value::as_bool) != Some(true))
        .count();
    let n = base.layers.len();
    if let Some(Value::Array(ours)) = doc.get_mut("history")
        && non_empty == n
        && ours.len() >= n
    {
        let rest = ours.split_off(n);
        *ours = base_history;
        ours.extend(rest);
    }
    let config_bytes = serde_json::to_vec(&doc)
        .map_err(|e| invalid(format!("cannot serialise the image config: {e}")))?;
    let config = blobs.put_bytes(&config_bytes)?;
    let manifest = blobs.put_bytes(&img.manifest_json(&config)?)?;
    Ok(WrittenImage {
        manifest,
        config,
        layers: img.layers.iter().map(|(l, _)| l.clone()).collect(),
        platform: img.config.platform(),
        created: img.config.created,
    })
}
