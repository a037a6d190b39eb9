//! [`write_rock`]: the last step of `pack`, which turns a [`WrittenImage`] in a [`BlobStore`] into
//! the `.rock` file: a deterministic, uncompressed tar of an OCI image layout.
//!
//! The archive holds exactly `blobs/`, `blobs/sha256/`, the config, manifest and layer blobs,
//! `index.json`, `manifest.json` and `oci-layout`, sorted, with mode 0644/0755, owner 0:0 and the
//! image's `created` time as every mtime. `index.json` points straight at the one manifest, with
//! its platform and the full image name in both `org.opencontainers.image.ref.name` (skopeo,
//! podman, umoci) and `io.containerd.image.name` (containerd, Docker's containerd store);
//! `manifest.json` is Docker's classic `docker load` format. Blobs are copied from the store
//! file to file (`copy_file_range`), never recompressed.
//!
//! The file is written to a temporary file in the output directory, synced, and renamed over
//! the final name only when complete; on any error the temporary file is removed.

use std::collections::BTreeMap;
use std::fs::{File, Permissions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::json::{
    self, DockerManifestJson, IndexEntryJson, IndexJson, OciLayoutJson, PlatformJson,
};
use super::tarstream::{TarHeader, TarKind, TarStream};
use tempfile::NamedTempFile;

use super::{BlobStore, Digest, OciError, WrittenImage, image};

/// Media type of `index.json`.
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The annotation skopeo, podman and umoci read the image name (or tag) from.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The annotation containerd (and Docker's containerd store) reads the image name from.
pub const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";

const FILE_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;
const WRITE_BUFFER: usize = 256 * 1024;

/// Writes `image` (whose blobs are in `blobs`) as an OCI archive at `out`, named `ref_name`
/// (a full `name:tag` such as `localhost/hello:0.1`). Atomic: `out` is either the complete
/// archive or untouched.
pub fn write_rock(
    out: &Path,
    blobs: &BlobStore,
    image: &WrittenImage,
    ref_name: &str,
) -> Result<(), OciError> {
    check_ref_name(ref_name)?;
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(OciError::NoOutputDir {
            path: out.to_path_buf(),
            dir: dir.to_path_buf(),
        });
    }
    let docs = layout_documents(image, ref_name)?;

    let file_name = out.file_name().map(|n| n.to_string_lossy().into_owned());
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name.as_deref().unwrap_or("rock")))
        .suffix(".tmp")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| OciError::write(dir, e))?;
    let temp_path = temp.path().to_path_buf();
    let wr = |e| OciError::write(&temp_path, e);

    let mut tar = TarStream::new(BufWriter::with_capacity(WRITE_BUFFER, temp));
    let mtime = image.created;
    for dir in ["blobs", "blobs/sha256"] {
        tar.append(&entry(dir, TarKind::Dir, DIR_MODE, mtime), io::empty())
            .map_err(wr)?;
    }
    for (digest, size) in referenced_blobs(image) {
        let path = format!("blobs/sha256/{}", digest.hex());
        append_blob(
            &mut tar,
            blobs,
            &digest,
            size,
            &entry(&path, TarKind::File(size), FILE_MODE, mtime),
            &temp_path,
        )?;
    }
    for (name, bytes) in &docs {
        let header = entry(name, TarKind::File(bytes.len() as u64), FILE_MODE, mtime);
        tar.append(&header, &bytes[..]).map_err(wr)?;
    }

    let temp = tar
        .finish()
        .map_err(wr)?
        .into_inner()
        .map_err(|e| wr(e.into_error()))?;
    temp.as_file().sync_all().map_err(wr)?;
    temp.persist(out)
        .map_err(|e| OciError::write(out, e.error))?;
    // Make the rename itself durable; failure here is not worth failing the build over.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A header owned by root with the archive's one mtime.
fn entry<'a>(path: &'a str, kind: TarKind<'a>, mode: u32, mtime: u64) -> TarHeader<'a> {
    TarHeader {
        path,
        kind,
        mode,
        uid: 0,
        gid: 0,
        mtime,
    }
}

/// `index.json`, `manifest.json` and `oci-layout`, in archive (sorted) order.
fn layout_documents(
    image: &WrittenImage,
    ref_name: &str,
) -> Result<Vec<(&'static str, Vec<u8>)>, OciError> {
    let index = IndexJson {
        schema_version: 2,
        media_type: MEDIA_TYPE_INDEX,
        manifests: vec![IndexEntryJson {
            media_type: image::MEDIA_TYPE_MANIFEST,
            digest: image.manifest.digest.clone(),
            size: image.manifest.size,
            annotations: BTreeMap::from([
                (ANNOTATION_CONTAINERD_NAME, ref_name.to_owned()),
                (ANNOTATION_REF_NAME, ref_name.to_owned()),
            ]),
            platform: PlatformJson {
                architecture: image.platform.architecture.clone(),
                os: image.platform.os.clone(),
                variant: image.platform.variant.clone(),
            },
        }],
    };
    let blob_path = |d: &Digest| format!("blobs/sha256/{}", d.hex());
    let docker = [DockerManifestJson {
        config: blob_path(&image.config.digest),
        repo_tags: vec![ref_name.to_owned()],
        layers: image.layers.iter().map(|l| blob_path(&l.digest)).collect(),
    }];
    let layout = OciLayoutJson {
        image_layout_version: "1.0.0",
    };
    Ok(vec![
        ("index.json", json::to_vec("index.json", &index)?),
        ("manifest.json", json::to_vec("manifest.json", &docker)?),
        ("oci-layout", json::to_vec("oci-layout", &layout)?),
    ])
}

/// Every blob the image references, once each, sorted by digest.
fn referenced_blobs(image: &WrittenImage) -> BTreeMap<Digest, u64> {
    let mut blobs = BTreeMap::new();
    blobs.insert(image.manifest.digest.clone(), image.manifest.size);
    blobs.insert(image.config.digest.clone(), image.config.size);
    for layer in &image.layers {
        blobs.insert(layer.digest.clone(), layer.size);
    }
    blobs
}

/// Copies one blob into the archive, file to file (in the kernel where it can), checking its
/// size. Blobs are not hashed again: the store only holds blobs verified or hashed as they
/// were written, under their digest.
fn append_blob(
    tar: &mut TarStream<BufWriter<NamedTempFile>>,
    blobs: &BlobStore,
    digest: &Digest,
    size: u64,
    header: &TarHeader<'_>,
    temp_path: &Path,
) -> Result<(), OciError> {
    let (file, actual) = blobs.open(digest)?;
    let path: PathBuf = blobs.path(digest);
    let corrupt = |reason| OciError::CorruptBlob {
        path: path.clone(),
        reason,
    };
    if actual != size {
        return Err(corrupt(format!(
            "its size is {actual} bytes, the image says {size}"
        )));
    }
    // `io::copy` from a `Take<File>` to a `File` is `copy_file_range` on Linux. (A read error
    // of the blob is reported as a write error of the archive: both name a file to look at.)
    let mut source = file.take(size);
    let copied = tar
        .append_with(header, |stream, size| {
            let out = stream.writer();
            out.flush()?;
            let copied = io::copy(&mut source, out.get_mut().as_file_mut())?;
            Ok(copied.min(size))
        })
        .map_err(|e| OciError::write(temp_path, e))?;
    if copied != size {
        return Err(corrupt(format!(
            "it ended after {copied} of its {size} bytes"
        )));
    }
    Ok(())
}

/// A full image name with a tag: non-empty, printable, no spaces, `name:tag` form.
fn check_ref_name(name: &str) -> Result<(), OciError> {
    let bad = |reason| {
        Err(OciError::InvalidRefName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("the name is empty");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("the name contains whitespace or control characters");
    }
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((repo, tag)) if !repo.is_empty() && !tag.is_empty() && !name.contains('@') => Ok(()),
        _ => bad("expected a `name:tag` reference such as `localhost/hello:0.1`"),
    }
}

#[cfg(test)]
#[path = "archive_tests.rs"]
mod tests;
