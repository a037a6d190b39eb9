//! [`validate`]: reads a `.rock` back and checks it end to end, returning a [`RockSummary`]; the
//! test oracle for [`crate::oci::archive`] (the idea of go-containerregistry's `validate`), and
//! usable on any OCI archive with one image.
//!
//! Checks: only the expected entries, no duplicates; every blob hashes to its name; `oci-layout`
//! is version 1.0.0; `index.json` has exactly one manifest, with a platform and equal
//! `org.opencontainers.image.ref.name` / `io.containerd.image.name`; descriptor sizes match the
//! blobs; the config's `rootfs.diff_ids` match the decompressed layers one for one; Docker's
//! `manifest.json` names the same config, layers and image; no blob is unreferenced. Documents are
//! parsed with `oci-spec`'s types, independent of the serde shapes rcraft writes with.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};

use super::archive::{ANNOTATION_CONTAINERD_NAME, ANNOTATION_REF_NAME};
use super::layer::{MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_TAR};
use super::{Digest, HashingReader, Layer, OciError, Platform};

/// Largest JSON document read into memory.
const MAX_DOC: u64 = 16 << 20;

/// What a valid `.rock` contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RockSummary {
    /// The image name from `index.json`.
    pub ref_name: String,
    /// The manifest digest (the image digest).
    pub manifest_digest: Digest,
    /// The config digest (the image id).
    pub config_digest: Digest,
    /// The layers, bottom first.
    pub layers: Vec<Layer>,
    /// The platform from `index.json`.
    pub platform: Platform,
}

/// A blob found in the archive: where its bytes start and how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobPos {
    /// Offset of the first byte in the archive.
    pub offset: u64,
    /// Length in bytes.
    pub size: u64,
}

/// How deep [`check`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// Everything in the module docs.
    Full,
    /// Everything but the layers' contents: layer blobs are neither hashed nor decompressed
    /// (their sizes are checked; the config's diff_ids are taken as they are).
    Structure,
}

/// Validates the OCI archive at `path`; see the module docs for what is checked.
pub fn validate(path: &Path) -> Result<RockSummary, OciError> {
    check(path, Depth::Full).map(|(summary, _)| summary)
}

/// Checks the structure of the OCI archive at `path` as [`validate`] does, and the manifest's
/// and config's digests, but reads no layer: for `push`, where the registry checks each
/// uploaded blob's digest. Returns where each blob is in the archive too.
pub fn validate_structure(
    path: &Path,
) -> Result<(RockSummary, BTreeMap<Digest, BlobPos>), OciError> {
    check(path, Depth::Structure)
}

fn check(path: &Path, depth: Depth) -> Result<(RockSummary, BTreeMap<Digest, BlobPos>), OciError> {
    let bad = |reason: String| OciError::InvalidRock {
        path: path.to_path_buf(),
        reason,
    };
    let (docs, blobs) = scan(path, depth)?;
    let doc = |name: &str| {
        docs.get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| bad(format!("it has no `{name}`")))
    };

    let layout: serde_json::Value = serde_json::from_slice(doc("oci-layout")?)
        .map_err(|e| bad(format!("`oci-layout` is not JSON: {e}")))?;
    if layout["imageLayoutVersion"] != "1.0.0" {
        return Err(bad("`oci-layout` is not version 1.0.0".to_owned()));
    }
    let index = ImageIndex::from_reader(doc("index.json")?)
        .map_err(|e| bad(format!("cannot parse `index.json`: {e}")))?;
    let [desc] = index.manifests().as_slice() else {
        return Err(bad(format!(
            "`index.json` lists {} manifests, not 1",
            index.manifests().len()
        )));
    };
    let notes = desc.annotations().clone().unwrap_or_default();
    let ref_name = notes
        .get(ANNOTATION_REF_NAME)
        .ok_or_else(|| bad(format!("the manifest has no `{ANNOTATION_REF_NAME}`")))?;
    if notes.get(ANNOTATION_CONTAINERD_NAME) != Some(ref_name) {
        return Err(bad(format!(
            "`{ANNOTATION_CONTAINERD_NAME}` differs from `{ANNOTATION_REF_NAME}`"
        )));
    }
    let platform = desc
        .platform()
        .as_ref()
        .ok_or_else(|| bad("the manifest descriptor has no platform".to_owned()))?;
    let platform = Platform {
        architecture: platform.architecture().to_string(),
        os: platform.os().to_string(),
        variant: platform.variant().clone(),
    };

    let mut reader = Reader::open(path)?;
    let mut used = BTreeSet::new();
    let mut fetch = |d: &Descriptor, what: &str| -> Result<(Digest, &BlobPos), OciError> {
        let digest = Digest::parse(d.digest().as_ref())
            .map_err(|_| bad(format!("the {what} digest `{}` is not sha256", d.digest())))?;
        let pos = blobs
            .get(&digest)
            .ok_or_else(|| bad(format!("the {what} blob `{digest}` is missing")))?;
        if pos.size != d.size() {
            return Err(bad(format!(
                "the {what} blob `{digest}` has {} bytes, its descriptor says {}",
                pos.size,
                d.size()
            )));
        }
        used.insert(digest.clone());
        Ok((digest, pos))
    };

    let (manifest_digest, pos) = fetch(desc, "manifest")?;
    let bytes = reader.document(pos, &manifest_digest)?;
    let manifest = ImageManifest::from_reader(&bytes[..])
        .map_err(|e| bad(format!("cannot parse the manifest: {e}")))?;
    let (config_digest, pos) = fetch(manifest.config(), "config")?;
    let bytes = reader.document(pos, &config_digest)?;
    let config = ImageConfiguration::from_reader(&bytes[..])
        .map_err(|e| bad(format!("cannot parse the config: {e}")))?;
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != manifest.layers().len() {
        return Err(bad(format!(
            "the manifest has {} layers but the config has {} diff_ids",
            manifest.layers().len(),
            diff_ids.len()
        )));
    }
    let mut layers = Vec::new();
    for (i, (d, diff_id)) in manifest.layers().iter().zip(diff_ids).enumerate() {
        let (digest, pos) = fetch(d, "layer")?;
        let media_type = d.media_type().to_string();
        if depth == Depth::Structure {
            let diff_id = Digest::parse(diff_id)
                .map_err(|_| bad(format!("diff_id `{diff_id}` of layer {i} is not sha256")))?;
            layers.push(Layer::from_existing(digest, diff_id, pos.size, media_type));
            continue;
        }
        let raw = reader.slice(pos, u64::MAX)?;
        let actual = match media_type.as_str() {
            MEDIA_TYPE_LAYER_GZIP => hash_all(MultiGzDecoder::new(raw)),
            MEDIA_TYPE_LAYER_TAR => hash_all(raw),
            other => {
                return Err(bad(format!(
                    "layer {i} has unsupported media type `{other}`"
                )));
            }
        }
        .map_err(|e| bad(format!("cannot decompress layer {i} (`{digest}`): {e}")))?;
        if actual.as_str() != diff_id {
            return Err(bad(format!(
                "layer {i} decompresses to {actual}, the config says {diff_id}"
            )));
        }
        layers.push(Layer::from_existing(digest, actual, pos.size, media_type));
    }
    if let Some(extra) = blobs.keys().find(|d| !used.contains(*d)) {
        return Err(bad(format!(
            "blob `{extra}` is not referenced by the image"
        )));
    }
    check_docker_manifest(doc("manifest.json")?, ref_name, &config_digest, &layers).map_err(bad)?;

    let summary = RockSummary {
        ref_name: ref_name.clone(),
        manifest_digest,
        config_digest,
        layers,
        platform,
    };
    Ok((summary, blobs))
}

/// Checks Docker's `manifest.json` against the OCI side.
fn check_docker_manifest(
    bytes: &[u8],
    ref_name: &str,
    config: &Digest,
    layers: &[Layer],
) -> Result<(), String> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("`manifest.json` is not JSON: {e}"))?;
    let path = |d: &Digest| serde_json::Value::from(format!("blobs/sha256/{}", d.hex()));
    let expected = serde_json::json!([{
        "Config": path(config),
        "RepoTags": [ref_name],
        "Layers": layers.iter().map(|l| path(&l.digest)).collect::<Vec<_>>(),
    }]);
    if doc != expected {
        return Err(format!("`manifest.json` is {doc}, expected {expected}"));
    }
    Ok(())
}

fn hash_all(mut r: impl Read) -> io::Result<Digest> {
    let mut h = HashingReader::new(&mut r);
    io::copy(&mut h, &mut io::sink())?;
    Ok(h.finish().1)
}

/// One pass over the archive: small documents into memory, blobs hashed against their names.
type Scan = (BTreeMap<String, Vec<u8>>, BTreeMap<Digest, BlobPos>);

fn scan(path: &Path, depth: Depth) -> Result<Scan, OciError> {
    let bad = |reason: String| OciError::InvalidRock {
        path: path.to_path_buf(),
        reason,
    };
    let rd = |e| OciError::read(path, e);
    let file = File::open(path).map_err(rd)?;
    // Seeking past contents that are not read (`Structure`) instead of reading them.
    let mut archive = tar::Archive::new(file);
    let mut docs = BTreeMap::new();
    let mut blobs = BTreeMap::new();
    let mut dirs = 0;
    for entry in archive.entries_with_seek().map_err(rd)? {
        let mut entry = entry.map_err(rd)?;
        let name = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| bad("an entry name is not UTF-8".to_owned()))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() && matches!(name.as_str(), "blobs/" | "blobs/sha256/") {
            dirs += 1;
            continue;
        }
        if !kind.is_file() {
            return Err(bad(format!("unexpected entry `{name}` of type {kind:?}")));
        }
        let size = entry.size();
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            let digest = Digest::parse(&format!("{}{hex}", Digest::PREFIX))
                .map_err(|_| bad(format!("unexpected entry `{name}`")))?;
            let offset = entry.raw_file_position();
            if depth == Depth::Full {
                let actual = hash_all(BufReader::with_capacity(1 << 20, &mut entry)).map_err(rd)?;
                if actual != digest {
                    return Err(bad(format!("blob `{name}` hashes to {actual}")));
                }
            }
            if blobs.insert(digest, BlobPos { offset, size }).is_some() {
                return Err(bad(format!("duplicate entry `{name}`")));
            }
        } else if matches!(name.as_str(), "oci-layout" | "index.json" | "manifest.json") {
            if size > MAX_DOC {
                return Err(bad(format!("`{name}` is too large ({size} bytes)")));
            }
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(rd)?;
            if docs.insert(name.clone(), bytes).is_some() {
                return Err(bad(format!("duplicate entry `{name}`")));
            }
        } else {
            return Err(bad(format!("unexpected entry `{name}`")));
        }
    }
    if dirs != 2 {
        return Err(bad(
            "it lacks the `blobs/` or `blobs/sha256/` directory entries".to_owned(),
        ));
    }
    Ok((docs, blobs))
}

/// Random access to blob bytes inside the archive.
struct Reader<'a> {
    path: &'a Path,
    file: File,
}

impl<'a> Reader<'a> {
    fn open(path: &'a Path) -> Result<Self, OciError> {
        let file = File::open(path).map_err(|e| OciError::read(path, e))?;
        Ok(Self { path, file })
    }

    /// A JSON document's bytes, checked against its digest.
    fn document(&mut self, pos: &BlobPos, digest: &Digest) -> Result<Vec<u8>, OciError> {
        let path = self.path;
        let mut bytes = Vec::new();
        self.slice(pos, MAX_DOC)?
            .read_to_end(&mut bytes)
            .map_err(|e| OciError::read(path, e))?;
        let actual = hash_all(&bytes[..]).map_err(|e| OciError::read(self.path, e))?;
        if &actual != digest {
            return Err(OciError::InvalidRock {
                path: self.path.to_path_buf(),
                reason: format!("blob `{digest}` hashes to {actual}"),
            });
        }
        Ok(bytes)
    }

    /// The blob's bytes (at most `limit`), as a reader.
    fn slice(&mut self, pos: &BlobPos, limit: u64) -> Result<impl Read + '_, OciError> {
        if pos.size > limit {
            return Err(OciError::InvalidRock {
                path: self.path.to_path_buf(),
                reason: format!("a JSON blob is too large ({} bytes)", pos.size),
            });
        }
        self.file
            .seek(SeekFrom::Start(pos.offset))
            .map_err(|e| OciError::read(self.path, e))?;
        Ok(BufReader::new(Read::by_ref(&mut self.file).take(pos.size)))
    }
}
