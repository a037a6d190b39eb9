//! Packing on a base image (any `base` but `bare`): which pulled base a platform uses, the
//! base's layers reused as they are (hard-linked or copied from the cache, never
//! recompressed), each part's layer pruned against the base ([`crate::base::prune`]), and the
//! rock's own files (run-user, Pebble layer) fitted to what the base already has.

use std::path::Path;

use super::{PackError, history, rootfs};
use crate::base::prune::{PrunedLayer, prune_part};
use crate::base::{Attrs, ResolvedBase};
use crate::lifecycle::PrimedPart;
use crate::oci::{BlobStore, EntryKind, History, Layer, LayerBuilder, LayerEntry};
use crate::project::{Platform, Project, oci_arch};

/// The pulled base for `platform`: `None` for `bare`, else the one whose config matches the
/// platform's architecture (and variant, when both set one), or [`PackError::BaseNotPulled`].
pub(super) fn select<'a>(
    project: &Project,
    platform: &Platform,
    bases: &'a [ResolvedBase],
) -> Result<Option<&'a ResolvedBase>, PackError> {
    if project.base.is_bare() {
        return Ok(None);
    }
    let (arch, variant) = oci_arch(&platform.build_for).unwrap_or(("", None));
    bases
        .iter()
        .find(|b| {
            b.image.architecture() == Some(arch)
                && match (variant, b.image.variant()) {
                    (Some(want), Some(have)) => want == have,
                    _ => true,
                }
        })
        .map(Some)
        .ok_or_else(|| PackError::BaseNotPulled {
            base: project.base.to_string(),
            arch: platform.build_for.clone(),
        })
}

/// The base's layers, made available in `blobs` as they are, with placeholder history (the
/// base's own history replaces it when the config is written).
pub(super) fn base_layers(
    base: &ResolvedBase,
    blobs: &BlobStore,
) -> Result<Vec<(Layer, History)>, PackError> {
    let mut layers = Vec::new();
    for l in &base.image.layers {
        base.cache.link_into(&l.digest, blobs)?;
        let layer = Layer::from_existing(
            l.digest.clone(),
            l.diff_id.clone(),
            l.size,
            l.media_type.clone(),
        );
        layers.push((
            layer,
            history(format!("Base image {}", base.image.reference)),
        ));
    }
    Ok(layers)
}

/// A part's layer on the base: usrmerge rewrites and identical files left out.
pub(super) fn part_layer(
    prime_dir: &Path,
    part: &PrimedPart,
    base: &ResolvedBase,
) -> Result<(LayerBuilder, PrunedLayer), PackError> {
    let pruned = prune_part(prime_dir, &part.files, &base.rootfs)?;
    let mut b = LayerBuilder::new();
    for entry in &pruned.entries {
        b.add(entry.clone())?;
    }
    Ok((b, pruned))
}

/// Adds `etc/passwd`, `etc/group` and (if the prime or the base has one) `etc/shadow` with the
/// `_daemon_` user, starting from the primed files, else the base's.
pub(super) fn add_user_files(
    b: &mut LayerBuilder,
    prime_dir: &Path,
    base: &ResolvedBase,
    created: u64,
) -> Result<(), PackError> {
    let read = |rel: &str| -> Result<Option<(String, Attrs)>, PackError> {
        let primed = prime_dir.join(rel);
        if let Ok(meta) = primed.symlink_metadata()
            && meta.is_file()
        {
            let text = std::fs::read_to_string(&primed).map_err(super::io("read", &primed))?;
            let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777;
            return Ok(Some((
                text,
                Attrs {
                    uid: 0,
                    gid: 0,
                    mode,
                },
            )));
        }
        let attrs = base.rootfs.lookup(rel)?.map(|e| e.attrs);
        Ok(base
            .rootfs
            .read(rel)?
            .zip(attrs)
            .map(|(bytes, attrs)| (String::from_utf8_lossy(&bytes).into_owned(), attrs)))
    };
    let default = Attrs {
        uid: 0,
        gid: 0,
        mode: 0o644,
    };
    let (passwd, passwd_attrs) = read("etc/passwd")?.unwrap_or_else(|| (String::new(), default));
    let (group, group_attrs) = read("etc/group")?.unwrap_or_else(|| (String::new(), default));
    let (passwd, group) = rootfs::daemon_user(&passwd, &group)?;
    add_base_dir(b, base, "etc")?;
    b.add(bytes("etc/passwd", passwd.into_bytes(), passwd_attrs))?;
    b.add(bytes("etc/group", group.into_bytes(), group_attrs))?;
    if let Some((shadow, attrs)) = read("etc/shadow")? {
        let shadow = rootfs::daemon_shadow(&shadow, created / 86_400)?;
        b.add(bytes("etc/shadow", shadow.into_bytes(), attrs))?;
    }
    Ok(())
}

/// The number of rcraft's Pebble layer file: above the base's own layer files.
pub(super) fn pebble_layer_number(base: &ResolvedBase) -> Result<u32, PackError> {
    let names: Vec<String> = match base.rootfs.lookup(rootfs::PEBBLE_LAYERS_DIR)? {
        Some(e) if e.kind == crate::base::BaseKind::Dir => std::fs::read_dir(&e.path)
            .map_err(super::io("read", &e.path))?
            .filter_map(|d| d.ok())
            .map(|d| d.file_name().to_string_lossy().into_owned())
            .collect(),
        _ => Vec::new(),
    };
    Ok(rootfs::next_pebble_layer_number(
        names.iter().map(String::as_str),
    ))
}

/// Adds `path` and its parents as directories with the base's attributes where the base has
/// them (so the layer does not change them), unless already added.
pub(super) fn add_base_parents(
    b: &mut LayerBuilder,
    base: &ResolvedBase,
    path: &str,
) -> Result<(), PackError> {
    let mut p = path;
    while let Some((parent, _)) = p.rsplit_once('/') {
        p = parent;
        add_base_dir(b, base, parent)?;
    }
    Ok(())
}

fn add_base_dir(b: &mut LayerBuilder, base: &ResolvedBase, path: &str) -> Result<(), PackError> {
    if let Some(e) = base.rootfs.lookup(path)?
        && e.kind == crate::base::BaseKind::Dir
    {
        b.add(LayerEntry {
            path: path.to_string(),
            kind: EntryKind::Dir,
            mode: e.attrs.mode,
            uid: e.attrs.uid,
            gid: e.attrs.gid,
        })?;
    }
    Ok(())
}

fn bytes(path: &str, content: Vec<u8>, attrs: Attrs) -> LayerEntry {
    LayerEntry {
        path: path.to_string(),
        kind: EntryKind::Bytes(content),
        mode: attrs.mode,
        uid: attrs.uid,
        gid: attrs.gid,
    }
}
