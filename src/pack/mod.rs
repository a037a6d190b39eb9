//! The pack façade: a validated [`Project`] in, one `NAME_VERSION_PLATFORM.rock` per platform out.
//!
//! For each platform that can be built on this machine, [`pack`] runs the parts lifecycle
//! ([`crate::lifecycle::run`]), turns what each part primed into its own layer, adds the rock's
//! own files ([`rootfs`]: run-user, Pebble layer, metadata), assembles the image config and
//! writes the archive atomically with [`crate::oci`]. Every timestamp comes from
//! `SOURCE_DATE_EPOCH` (or the epoch), so the same inputs give the same digest.
//!
//! On a base image ([`pack_with_bases`], `on_base.rs`) the base's layers come first, reused as
//! they are, and each part's layer follows Rockcraft's rules against the unpacked base
//! ([`crate::base::prune`]). Bare packs do not touch any of that and are byte-identical to
//! what they were before bases existed.

pub mod image;
mod layer_cache;
mod on_base;
pub mod rootfs;
pub mod worker;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::base::{BaseError, ResolvedBase};
use crate::lifecycle::{self, LifecycleOptions, PrimedPart};
use crate::oci::{self, BlobStore, Digest, History, Layer, LayerBuilder, LayerEntry, Owner};
use crate::progress::Progress;
use crate::project::{Platform, Project, host_arch};

/// Name of rcraft's work directory inside the project.
pub const WORK_DIR: &str = ".rcraft";

/// What to pack and where.
#[derive(Clone, Debug)]
pub struct PackOptions {
    /// Directory to write `.rock` files into.
    pub output_dir: PathBuf,
    /// Only this platform label.
    pub platform: Option<String>,
    /// Only platforms building for this architecture.
    pub build_for: Option<String>,
    /// Timestamp for files and the image (`SOURCE_DATE_EPOCH`), 0 when unset.
    pub source_date_epoch: u64,
    /// Debian archive mirror for `stage-packages` (default: this machine's apt sources).
    pub archive_mirror: Option<String>,
    /// Resolve `stage-packages` again and rewrite `rcraft.lock`.
    pub update_lock: bool,
    /// The static worker-server binary to put in the image as its entrypoint (see
    /// [`worker::locate`]); `None` leaves it out.
    pub worker_server: Option<PathBuf>,
}

/// One rock written.
#[derive(Clone, Debug)]
pub struct Packed {
    /// The `.rock` file.
    pub path: PathBuf,
    /// The image's manifest digest.
    pub digest: Digest,
    /// The name it loads under, e.g. `localhost/hello:0.1`.
    pub ref_name: String,
}

/// Why a pack failed.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// No platform matches this machine or the filters.
    #[error("{0}")]
    NoBuild(String),
    /// A part failed.
    #[error(transparent)]
    Lifecycle(#[from] lifecycle::LifecycleError),
    /// The `stage-packages` settings are invalid.
    #[error(transparent)]
    Packages(Box<crate::debs::DebsError>),
    /// The `_daemon_` user could not be added.
    #[error(transparent)]
    RunUser(#[from] rootfs::UserError),
    /// A value set with `craftctl set` is invalid.
    #[error("the version set by part '{part}' with `craftctl set` is invalid: {value:?}")]
    AdoptedVersion {
        /// The adopt-info part.
        part: String,
        /// The value.
        value: String,
    },
    /// `adopt-info` was set but the part did not set a required field.
    #[error("'adopt-info' part '{part}' did not set {field} with `craftctl set {field}=...`")]
    NotAdopted {
        /// The adopt-info part.
        part: String,
        /// The missing field.
        field: &'static str,
    },
    /// The project's base image was not handed to pack (the CLI pulls it first).
    #[error("base image {base} was not pulled for {arch}")]
    BaseNotPulled {
        /// The project's `base`, e.g. `debian@12`.
        base: String,
        /// The Debian architecture it was needed for.
        arch: String,
    },
    /// Reading, unpacking or pruning against the base image failed.
    #[error(transparent)]
    Base(#[from] BaseError),
    /// Writing the image failed.
    #[error(transparent)]
    Oci(#[from] oci::OciError),
    /// Work directory I/O.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What rcraft was doing.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl PackError {
    /// Whether the user can fix this (exit code 1) rather than it being a bug.
    pub fn is_user_error(&self) -> bool {
        match self {
            PackError::NoBuild(_)
            | PackError::RunUser(_)
            | PackError::AdoptedVersion { .. }
            | PackError::NotAdopted { .. }
            | PackError::BaseNotPulled { .. } => true,
            PackError::Base(e) => e.is_user_error(),
            PackError::Lifecycle(e) => e.is_user_error(),
            PackError::Packages(e) => e.is_user_error(),
            PackError::Oci(e) => e.is_user_error(),
            // The work directory, on the user's machine.
            PackError::Io { .. } => true,
        }
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PackError {
    let path = path.to_path_buf();
    move |source| PackError::Io {
        action,
        path,
        source,
    }
}

/// The platforms to build here: those whose `build-on` includes this machine, filtered by
/// `--platform`/`--build-for`.
pub fn build_plan<'a>(
    project: &'a Project,
    opts: &PackOptions,
) -> Result<Vec<&'a (String, Platform)>, PackError> {
    let labels: Vec<&str> = project.platforms.iter().map(|(l, _)| l.as_str()).collect();
    if let Some(p) = &opts.platform
        && !labels.contains(&p.as_str())
    {
        return Err(PackError::NoBuild(format!(
            "platform '{p}' is not in the project's platforms ({})",
            labels.join(", ")
        )));
    }
    let host = host_arch();
    let plan: Vec<_> = project
        .platforms
        .iter()
        .filter(|(label, _)| opts.platform.as_ref().is_none_or(|p| p == label))
        .filter(|(_, p)| opts.build_for.as_ref().is_none_or(|a| *a == p.build_for))
        .filter(|(_, p)| p.build_on.iter().any(|a| a == host))
        .collect();
    if plan.is_empty() {
        return Err(PackError::NoBuild(format!(
            "No build matches the current execution environment: this machine is {host}, and no selected platform builds on it (platforms: {})\n  hint: add `{host}` to a platform's `build-on`, or pack on a machine of that architecture",
            labels.join(", ")
        )));
    }
    Ok(plan)
}

/// Packs every platform of the build plan. Only for `base: bare`; other bases need
/// [`pack_with_bases`] (this fails with [`PackError::BaseNotPulled`] for them).
pub fn pack(
    project: &Project,
    opts: &PackOptions,
    progress: &dyn Progress,
) -> Result<Vec<Packed>, PackError> {
    pack_with_bases(project, opts, &[], progress)
}

/// Packs every platform of the build plan on the pulled base images `bases` (one per
/// architecture; each platform uses the one whose config matches its `build-for`). `bases` is
/// ignored for `base: bare`.
pub fn pack_with_bases(
    project: &Project,
    opts: &PackOptions,
    bases: &[ResolvedBase],
    progress: &dyn Progress,
) -> Result<Vec<Packed>, PackError> {
    let plan = build_plan(project, opts)?;
    std::fs::create_dir_all(&opts.output_dir).map_err(io("create", &opts.output_dir))?;
    let work_root = project.project_dir.join(WORK_DIR);
    std::fs::create_dir_all(&work_root).map_err(io("create", &work_root))?;
    // Keep the work dir out of version control, as cargo does with target/.
    let ignore = work_root.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "*\n").map_err(io("write", &ignore))?;
    }
    let mut out = Vec::new();
    for (label, platform) in plan {
        let base = on_base::select(project, platform, bases)?;
        out.push(pack_platform(
            project, label, platform, base, opts, progress,
        )?);
    }
    Ok(out)
}

/// How the parts' `stage-packages` are fetched (`None` when no part has any): settings from
/// the environment (see [`crate::debs::PackagesContext::from_env`]), the lock file next to the
/// project, and the platform's base image as what is already installed.
fn packages_context(
    project: &Project,
    opts: &PackOptions,
    base: Option<&ResolvedBase>,
) -> Result<Option<crate::debs::PackagesContext>, PackError> {
    if project
        .parts
        .iter()
        .all(|(_, p)| p.stage_packages.is_empty())
    {
        return Ok(None);
    }
    let mut ctx = crate::debs::PackagesContext::from_env(&project.project_dir)
        .map_err(|e| PackError::Packages(Box::new(e)))?;
    ctx.base_rootfs = base.map(|b| b.rootfs.dir().to_path_buf());
    ctx.update = opts.update_lock;
    if let Some(url) = &opts.archive_mirror {
        ctx.debian_mirror =
            Some(crate::debs::Mirror::from_url(url).map_err(|e| PackError::Packages(Box::new(e)))?);
    }
    Ok(Some(ctx))
}

fn pack_platform(
    project: &Project,
    label: &str,
    platform: &Platform,
    base: Option<&ResolvedBase>,
    opts: &PackOptions,
    progress: &dyn Progress,
) -> Result<Packed, PackError> {
    let work_dir = work_dir(project, label);
    let task = progress.task(&format!("Running the parts lifecycle for {label}"), None);
    let outcome = lifecycle::run(
        project,
        &lifecycle_options(project, label, platform, opts, base, progress.is_verbose())?,
        progress,
    );
    drop(task);
    let outcome = outcome?;
    let project = adopt(project, &outcome.adopted)?;

    let task = progress.task("Writing the image", None);
    // The blob store persists between packs so unchanged part layers are reused.
    let blobs = BlobStore::new(work_dir.join("oci"))?;
    let layer_cache = layer_cache::LayerCache::new(&work_dir);
    let mtime = opts.source_date_epoch;
    let cache_context = format!(
        "mtime {mtime} base {}",
        base.map(|b| b.image.manifest_digest.to_string())
            .unwrap_or_else(|| "bare".to_string())
    );
    let mut layers: Vec<(Layer, History)> = match base {
        Some(base) => on_base::base_layers(base, &blobs)?,
        None => Vec::new(),
    };
    // The worker-server has a layer of its own, right above the base, so images share it.
    if let Some(binary) = &opts.worker_server {
        let bytes = std::fs::read(binary).map_err(io("read", binary))?;
        let key = layer_cache::LayerCache::key_of_bytes(&bytes, &cache_context);
        let layer = match layer_cache.get(WORKER_LAYER, &key, &blobs) {
            Some(layer) => layer,
            None => {
                let layer = worker::layer(binary)?.write(&blobs, mtime)?;
                layer_cache.put(WORKER_LAYER, &key, &layer);
                layer
            }
        };
        progress.detail(&format!("layer {} for the worker-server", layer.digest));
        layers.push((layer, history("Add worker-server (rcraft's Pebble)".into())));
    }
    for part in &outcome.parts {
        if part.files.is_empty() {
            continue;
        }
        let key = layer_cache::LayerCache::key(&outcome.prime_dir, part, &cache_context);
        if let Some(layer) = layer_cache.get(&part.name, &key, &blobs) {
            progress.detail(&format!(
                "layer {} for part '{}' (unchanged)",
                layer.digest, part.name
            ));
            layers.push((layer, history(format!("Part '{}'", part.name))));
            continue;
        }
        let builder = match base {
            None => part_layer(&outcome.prime_dir, part)?,
            Some(base) => {
                let (builder, pruned) = on_base::part_layer(&outcome.prime_dir, part, base)?;
                progress.detail(&format!(
                    "part '{}': {} paths identical to the base left out, {} moved under base symlinks",
                    part.name, pruned.pruned, pruned.rewritten
                ));
                if builder.is_empty() {
                    continue;
                }
                builder
            }
        };
        let layer = builder.write(&blobs, mtime)?;
        layer_cache.put(&part.name, &key, &layer);
        progress.detail(&format!("layer {} for part '{}'", layer.digest, part.name));
        layers.push((layer, history(format!("Part '{}'", part.name))));
    }
    if let (Some(base), Some(_)) = (base, &project.run_user) {
        let mut b = LayerBuilder::new();
        on_base::add_user_files(&mut b, &outcome.prime_dir, base, mtime)?;
        layers.push((
            b.write(&blobs, mtime)?,
            history("Add run-user _daemon_".into()),
        ));
    } else if project.run_user.is_some() {
        let read =
            |rel: &str| std::fs::read_to_string(outcome.prime_dir.join(rel)).unwrap_or_default();
        let (passwd, group) = rootfs::daemon_user(&read("etc/passwd"), &read("etc/group"))?;
        let mut b = LayerBuilder::new();
        b.add(dir("etc", 0o755))?;
        b.add(file("etc/passwd", passwd.into_bytes(), 0o644))?;
        b.add(file("etc/group", group.into_bytes(), 0o644))?;
        layers.push((
            b.write(&blobs, mtime)?,
            history("Add run-user _daemon_".into()),
        ));
    }
    if let Some(yaml) = rootfs::pebble_layer(&project) {
        let mut b = LayerBuilder::new();
        b.add(dir(rootfs::PEBBLE_DIR, 0o777))?;
        b.add(dir(rootfs::PEBBLE_LAYERS_DIR, 0o755))?;
        let number = match base {
            Some(base) => {
                on_base::add_base_parents(&mut b, base, rootfs::PEBBLE_DIR)?;
                on_base::pebble_layer_number(base)?
            }
            None => 1,
        };
        b.add(file(
            &rootfs::pebble_layer_path_numbered(&project.name, number),
            yaml.into_bytes(),
            0o644,
        ))?;
        layers.push((
            b.write(&blobs, mtime)?,
            history("Add Pebble layer file".into()),
        ));
    }
    let created = oci::image::rfc3339(mtime)?;
    let metadata = rootfs::metadata_yaml(&rootfs::Metadata {
        project: &project,
        architecture: &platform.build_for,
        created: &created,
        base_digest: base.map(|b| b.image.manifest_digest.hex()),
    });
    let mut b = LayerBuilder::new();
    b.add(dir(".rock", 0o755))?;
    b.add(file(".rock/metadata.yaml", metadata.into_bytes(), 0o644))?;
    layers.push((
        b.write(&blobs, mtime)?,
        history("Add rock control metadata".into()),
    ));

    let (img, warnings) = image::image(
        &project,
        platform,
        layers,
        mtime,
        base.map(|b| &b.image),
        opts.worker_server.is_some(),
    )?;
    for w in warnings {
        progress.warn(&w);
    }
    let written = match base {
        Some(base) => image::write_on_base(&img, &base.image, &blobs)?,
        None => img.write(&blobs)?,
    };
    let file_name = format!("{}_{}_{}.rock", project.name, project.version, label);
    let path = opts.output_dir.join(&file_name);
    remove_stale_temp_files(&opts.output_dir, &file_name);
    let ref_name = format!("localhost/{}:{}", project.name, project.version);
    oci::write_rock(&path, &blobs, &written, &ref_name)?;
    let keep = written
        .layers
        .iter()
        .map(|l| l.digest.clone())
        .chain([
            written.manifest.digest.clone(),
            written.config.digest.clone(),
        ])
        .collect();
    layer_cache::remove_unreferenced(&blobs, &keep);
    drop(task);
    Ok(Packed {
        path,
        digest: written.digest().clone(),
        ref_name,
    })
}

/// The worker-server layer's name in the layer cache (no part can be named so).
const WORKER_LAYER: &str = "(worker-server)";

/// The lifecycle's work directory for a platform: `<project>/.rcraft/work/<label>`.
pub fn work_dir(project: &Project, label: &str) -> PathBuf {
    project.project_dir.join(WORK_DIR).join("work").join(label)
}

/// Lifecycle options for a platform.
pub fn lifecycle_options(
    project: &Project,
    label: &str,
    platform: &Platform,
    opts: &PackOptions,
    base: Option<&ResolvedBase>,
    verbose: bool,
) -> Result<LifecycleOptions, PackError> {
    Ok(LifecycleOptions {
        work_dir: work_dir(project, label),
        build_for: platform.build_for.clone(),
        build_on: host_arch().to_string(),
        parallel_build_count: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        verbose,
        packages: packages_context(project, opts, base)?,
        base_rootfs: base.map(|b| b.rootfs.dir().to_path_buf()),
    })
}

/// Removes `.NAME.rock.*.tmp` files that a killed pack (SIGKILL, power loss) left behind; the
/// archive writer names its temp file that way and renames it only when complete.
fn remove_stale_temp_files(dir: &Path, file_name: &str) {
    let prefix = format!(".{file_name}.");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The layer for one part's primed files, with ownership and modes from `permissions:`.
fn part_layer(prime_dir: &Path, part: &PrimedPart) -> Result<LayerBuilder, PackError> {
    let by_path: HashMap<&str, &lifecycle::PrimedFile> =
        part.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut b = LayerBuilder::new();
    b.add_tree(
        prime_dir,
        part.files.iter().map(|f| f.path.as_str()),
        |path, _meta| match by_path.get(path) {
            Some(f) => Owner {
                uid: f.owner.unwrap_or(0),
                gid: f.group.unwrap_or(0),
                mode: f.mode,
            },
            None => Owner::ROOT,
        },
    )?;
    Ok(b)
}

/// Applies `craftctl set` values from the `adopt-info` part to a copy of the project.
fn adopt(project: &Project, adopted: &[(String, String)]) -> Result<Project, PackError> {
    let mut p = project.clone();
    let Some(part) = &project.adopt_info else {
        return Ok(p);
    };
    for (key, value) in adopted {
        match key.as_str() {
            "version" => p.version = value.clone(),
            "summary" => p.summary = value.clone(),
            "description" => p.description = value.clone(),
            "title" => p.title = value.clone(),
            _ => {}
        }
    }
    for (field, value) in [
        ("version", &p.version),
        ("summary", &p.summary),
        ("description", &p.description),
    ] {
        if value.is_empty() {
            return Err(PackError::NotAdopted {
                part: part.clone(),
                field,
            });
        }
    }
    if !crate::project::schema::is_valid_version(&p.version) {
        return Err(PackError::AdoptedVersion {
            part: part.clone(),
            value: p.version.clone(),
        });
    }
    Ok(p)
}

fn history(comment: String) -> History {
    History {
        created_by: Some(format!("rcraft {}", env!("CARGO_PKG_VERSION"))),
        comment: Some(comment),
    }
}

fn dir(path: &str, mode: u32) -> LayerEntry {
    LayerEntry {
        path: path.to_string(),
        kind: oci::EntryKind::Dir,
        mode,
        uid: 0,
        gid: 0,
    }
}

fn file(path: &str, content: Vec<u8>, mode: u32) -> LayerEntry {
    LayerEntry {
        path: path.to_string(),
        kind: oci::EntryKind::Bytes(content),
        mode,
        uid: 0,
        gid: 0,
    }
}
