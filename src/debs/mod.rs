//! `stage-packages` without apt: resolve Debian/Ubuntu packages and their dependencies from
//! the build base's archive, verify, download and unpack them into a directory.
//!
//! [`stage_packages`] does the whole job for one part, given a [`PackagesContext`] (mirrors,
//! cache, base image, lock file) and a [`StageRequest`]:
//!
//! 1. refuse Chisel slices (`pkg_slice`), which are not supported yet;
//! 2. read what the base image already has (its dpkg status; nothing for `bare`);
//! 3. take the part's packages from the lock file when its entry matches the request
//!    ([`lock`]), else load the archive ([`archive`]: gpgv-verified `InRelease`, sha256-checked
//!    `Packages`) and [`resolve`] the request;
//!    and record the exact packages in the lock file ([`lock_packages`] does only this much);
//! 4. download each `.deb` into the blob cache, checked against its sha256 ([`fetch`]);
//! 5. unpack them in order ([`deb`], merged `/usr`), with a dpkg status fragment
//!    `var/lib/dpkg/status.d/<package>` so scanners see what is there, into the cache once per
//!    set of packages (`debs/unpacked/`), and copy that into the destination.
//!
//! Modules: [`version`] (dpkg version order), [`deps`] (relationship fields), [`control`]
//! (deb822), [`index`], [`release`], [`mirror`].

pub mod archive;
pub mod control;
pub mod deb;
pub mod deps;
mod error;
pub mod fetch;
pub mod index;
pub mod lock;
pub mod mirror;
pub mod release;
pub mod resolve;
pub mod version;

#[cfg(test)]
mod stage_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use error::DebsError;
pub use lock::{LOCK_FILE, LockEntry, LockFile, LockedPackage};
pub use mirror::{Distro, Mirror};

use crate::base::BlobCache;
use crate::fsops::CopyMode;
use crate::oci::Digest;
use crate::project::Base;
use archive::{Archive, Verifier};
use error::io;
use fetch::{FetchError, Fetcher};
use index::Installed;

/// Everything staging packages needs besides the part itself. Cloning shares the loaded
/// archives, so each suite's `InRelease` is fetched at most once per run.
#[derive(Clone)]
pub struct PackagesContext {
    /// The rcraft cache root (`.debs` and indexes go into its blob store).
    pub cache_dir: PathBuf,
    /// Debian's mirror; `None`: the machine's apt configuration.
    pub debian_mirror: Option<Mirror>,
    /// Ubuntu's mirror; `None`: the machine's apt configuration.
    pub ubuntu_mirror: Option<Mirror>,
    /// The base image's root filesystem (its installed packages are not staged); `None`
    /// for `base: bare`.
    pub base_rootfs: Option<PathBuf>,
    /// The lock file to use and update (usually `<project>/rcraft.lock`); `None`: no lock.
    pub lock_path: Option<PathBuf>,
    /// Ignore the lock file's entries and resolve again (the lock is rewritten).
    pub update: bool,
    /// The apt configuration directory mirrors are looked up in.
    pub apt_config_dir: PathBuf,
    /// The directory holding the distributions' keyrings.
    pub keyring_dir: PathBuf,
    /// The `gpgv` program.
    pub gpgv: PathBuf,
    archives: Arc<Mutex<HashMap<String, Arc<Archive>>>>,
}

impl fmt::Debug for PackagesContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackagesContext")
            .field("cache_dir", &self.cache_dir)
            .field("debian_mirror", &self.debian_mirror)
            .field("ubuntu_mirror", &self.ubuntu_mirror)
            .field("base_rootfs", &self.base_rootfs)
            .field("lock_path", &self.lock_path)
            .field("update", &self.update)
            .finish_non_exhaustive()
    }
}

impl PackagesContext {
    /// A context with the cache at `cache_dir`, mirrors from the host's apt configuration,
    /// no base image and no lock file.
    pub fn new(cache_dir: impl Into<PathBuf>) -> PackagesContext {
        PackagesContext {
            cache_dir: cache_dir.into(),
            debian_mirror: None,
            ubuntu_mirror: None,
            base_rootfs: None,
            lock_path: None,
            update: false,
            apt_config_dir: PathBuf::from(mirror::APT_CONFIG_DIR),
            keyring_dir: PathBuf::from(mirror::KEYRING_DIR),
            gpgv: PathBuf::from("gpgv"),
            archives: Arc::default(),
        }
    }

    /// The usual context for a project: the default cache (`$RCRAFT_CACHE_DIR`, ...), the
    /// lock file `<project_dir>/rcraft.lock`, and mirrors from `RCRAFT_ARCHIVE_MIRROR`
    /// (Debian; `RCRAFT_ARCHIVE_SECURITY_MIRROR` for its security suite) and
    /// `RCRAFT_UBUNTU_MIRROR` when set, else from the host's apt configuration.
    pub fn from_env(project_dir: &Path) -> Result<PackagesContext, DebsError> {
        let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut ctx = PackagesContext::new(crate::base::cache::default_dir()?);
        if let Some(url) = var("RCRAFT_ARCHIVE_MIRROR") {
            let mut m = Mirror::from_url(&url)?;
            if let Some(sec) = var("RCRAFT_ARCHIVE_SECURITY_MIRROR") {
                m = m.with_security(&sec)?;
            }
            ctx.debian_mirror = Some(m);
        }
        if let Some(url) = var("RCRAFT_UBUNTU_MIRROR") {
            ctx.ubuntu_mirror = Some(Mirror::from_url(&url)?);
        }
        ctx.lock_path = Some(project_dir.join(LOCK_FILE));
        Ok(ctx)
    }

    /// The mirror for `distro`: the explicit one, else the host's.
    fn mirror(&self, distro: &Distro) -> Result<Mirror, DebsError> {
        let explicit = match distro.name {
            "ubuntu" => &self.ubuntu_mirror,
            _ => &self.debian_mirror,
        };
        if let Some(m) = explicit {
            return Ok(m.clone());
        }
        Mirror::from_apt_config(&self.apt_config_dir, &distro.codename).map_err(|e| match e {
            DebsError::NoMirror { suite, config, .. } => DebsError::NoMirror {
                suite,
                config,
                hint: distro.mirror_setting(),
            },
            other => other,
        })
    }

    /// The archive of `distro` for `arch`, loaded once per context.
    fn archive(
        &self,
        fetcher: &Fetcher,
        distro: &Distro,
        arch: &str,
    ) -> Result<Arc<Archive>, DebsError> {
        let mirror = self.mirror(distro)?;
        let key = format!(
            "{}|{}|{:?}|{arch}",
            distro.codename, mirror.archive, mirror.security
        );
        let mut archives = self.archives.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = archives.get(&key) {
            return Ok(a.clone());
        }
        let verifier = Verifier {
            gpgv: self.gpgv.clone(),
            keyring: self.keyring_dir.join(distro.keyring),
        };
        let releases = self.cache_dir.join("debs").join("releases");
        let loaded = Arc::new(archive::load(
            fetcher, distro, &mirror, arch, &verifier, &releases,
        )?);
        archives.insert(key, loaded.clone());
        Ok(loaded)
    }
}

/// One part's packages.
#[derive(Clone, Debug)]
pub struct StageRequest<'a> {
    /// The part's name (lock file key, messages).
    pub part: &'a str,
    /// Its `stage-packages`.
    pub packages: &'a [String],
    /// The project's build base, whose archive is used.
    pub build_base: &'a Base,
    /// The Debian architecture to stage for (`build-for`).
    pub arch: &'a str,
    /// Where to unpack (created if missing; usually empty).
    pub dest: &'a Path,
}

/// What [`stage_packages`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staged {
    /// The packages unpacked, sorted by name.
    pub packages: Vec<LockedPackage>,
    /// Whether they came from the lock file rather than a fresh resolution.
    pub from_lock: bool,
    /// Notes worth showing (suites skipped, cached files used, owners not kept).
    pub notes: Vec<String>,
}

/// The packages `req` resolves to, as [`stage_packages`] would unpack them: the lock file's
/// entry when it matches, else a fresh resolution, which is written to the lock file. The
/// lifecycle calls it before hashing its steps, so a lock written by a first pack does not make
/// the next one redo the pull.
pub fn lock_packages(ctx: &PackagesContext, req: &StageRequest<'_>) -> Result<(), DebsError> {
    if ctx.lock_path.is_some() && !req.packages.is_empty() {
        resolve_locked(ctx, req)?;
    }
    Ok(())
}

/// What [`resolve_locked`] found.
struct Resolved {
    distro: Distro,
    packages: Vec<LockedPackage>,
    from_lock: bool,
    lock_path: Option<PathBuf>,
    notes: Vec<String>,
}

/// Resolves `req.packages` (after checking for slices), from the lock when it matches; a fresh
/// resolution is saved to the lock file.
fn resolve_locked(ctx: &PackagesContext, req: &StageRequest<'_>) -> Result<Resolved, DebsError> {
    let slices: Vec<String> = req
        .packages
        .iter()
        .filter(|p| p.contains('_'))
        .cloned()
        .collect();
    if !slices.is_empty() {
        return Err(DebsError::ChiselSlices {
            part: req.part.to_string(),
            slices,
        });
    }
    let distro = Distro::for_base(req.build_base)?;
    let build_base = req.build_base.to_string();
    let base_digest = match &ctx.base_rootfs {
        Some(root) => Some(status_digest(root)?),
        None => None,
    };
    let mut lock = match &ctx.lock_path {
        Some(path) => Some((LockFile::load(path)?, path.clone())),
        None => None,
    };
    let locked = lock
        .as_ref()
        .filter(|_| !ctx.update)
        .and_then(|(l, _)| l.entry(req.part, req.arch))
        .filter(|e| e.matches(&build_base, req.packages, base_digest.as_deref()))
        .map(|e| e.packages.clone());
    let mut notes = Vec::new();
    let from_lock = locked.is_some();
    let packages = match locked {
        Some(p) => p,
        None => {
            // Only a fresh resolution needs the network and the base's installed packages.
            let installed = match &ctx.base_rootfs {
                Some(root) => Installed::from_rootfs(root, req.arch)?,
                None => Installed::none(),
            };
            let fetcher = Fetcher::new(BlobCache::open(&ctx.cache_dir)?)?;
            let archive = ctx.archive(&fetcher, &distro, req.arch)?;
            notes.extend(archive.notes.iter().cloned());
            let ids = resolve::resolve(
                &archive.index,
                &installed,
                req.packages,
                &archive.description,
            )?;
            ids.iter()
                .map(|&i| {
                    let p = archive.index.get(i);
                    LockedPackage {
                        name: p.name.clone(),
                        version: p.version.to_string(),
                        architecture: p.arch.clone(),
                        suite: p.suite.clone(),
                        filename: p.filename.clone(),
                        size: p.size,
                        sha256: p.sha256.clone(),
                    }
                })
                .collect()
        }
    };
    if let Some((lock, path)) = lock.as_mut()
        && !from_lock
    {
        let entry = LockEntry {
            build_base,
            stage_packages: req.packages.to_vec(),
            base_packages: base_digest,
            packages: packages.clone(),
        };
        // Saved only when it changes, so the file (and the steps hashing it) stay put.
        if lock.entry(req.part, req.arch) != Some(&entry) {
            lock.set(req.part, req.arch, entry);
            lock.save(path)?;
        }
    }
    Ok(Resolved {
        distro,
        packages,
        from_lock,
        lock_path: lock.map(|(_, path)| path),
        notes,
    })
}

/// Resolves, downloads and unpacks `req.packages` into `req.dest`; see the module docs.
pub fn stage_packages(ctx: &PackagesContext, req: &StageRequest<'_>) -> Result<Staged, DebsError> {
    if req.packages.is_empty() {
        return Ok(Staged {
            packages: Vec::new(),
            from_lock: false,
            notes: Vec::new(),
        });
    }
    let Resolved {
        distro,
        packages,
        from_lock,
        lock_path,
        mut notes,
    } = resolve_locked(ctx, req)?;
    let fetcher = Fetcher::new(BlobCache::open(&ctx.cache_dir)?)?;

    let mut mirror = None;
    let mut files = Vec::with_capacity(packages.len());
    for p in &packages {
        let digest =
            Digest::parse(&format!("sha256:{}", p.sha256)).map_err(|e| DebsError::Parse {
                what: format!("the sha256 of {}", p.name),
                reason: e.to_string(),
            })?;
        if let Some(path) = fetcher.cache().get(&digest) {
            files.push(path);
            continue;
        }
        if mirror.is_none() {
            mirror = Some(ctx.mirror(&distro)?);
        }
        let Some(m) = &mirror else { continue };
        let url = format!("{}/{}", m.url_for(&p.suite), p.filename);
        match fetcher.get_verified(&url, &p.sha256) {
            Ok(path) => files.push(path),
            Err(FetchError::NotFound(_)) if from_lock => {
                return Err(DebsError::LockedGone {
                    name: p.name.clone(),
                    version: p.version.clone(),
                    lock: lock_path.clone().unwrap_or_default(),
                    reason: format!("{url} was not found"),
                });
            }
            Err(e) => return Err(e.into_error()),
        }
    }

    let (root, unpacked) = unpacked_set(&ctx.cache_dir, &packages, &files)?;
    std::fs::create_dir_all(req.dest).map_err(io("create", req.dest))?;
    crate::fsops::copy_tree(&root, req.dest, CopyMode::Copy, &|_| false).map_err(|e| {
        DebsError::Io {
            action: e.action,
            path: e.path,
            source: e.source,
        }
    })?;
    if !unpacked.non_root.is_empty() {
        notes.push(format!(
            "ownership not kept (files are owned by root): {}",
            unpacked
                .non_root
                .iter()
                .map(|(p, u, g)| format!("{p} ({u}:{g})"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !unpacked.skipped.is_empty() {
        notes.push(format!(
            "device files skipped: {}",
            unpacked.skipped.join(", ")
        ));
    }
    Ok(Staged {
        packages,
        from_lock,
        notes,
    })
}

/// The root filesystem `packages` (downloaded as `files`) unpack to, in that order, with
/// each package's control paragraph in `var/lib/dpkg/status.d/`: unpacked once into
/// `<cache>/debs/unpacked/<key>/root` (the key covers the packages' hashes and rcraft's
/// version) and reused by later pulls of the same set, which only copy it. What unpacking
/// reported is kept next to it in `notes.json`, written last: its presence marks a complete
/// entry. Entries are made in a temporary directory and renamed into place.
fn unpacked_set(
    cache_dir: &Path,
    packages: &[LockedPackage],
    files: &[PathBuf],
) -> Result<(PathBuf, deb::Unpacked), DebsError> {
    let mut key = format!("rcraft {} unpack 1\n", env!("CARGO_PKG_VERSION"));
    for p in packages {
        key.push_str(&format!("{} {}\n", p.name, p.sha256));
    }
    let parent = cache_dir.join("debs").join("unpacked");
    let dir = parent.join(Digest::of(key.as_bytes()).hex());
    let read_notes = |dir: &Path| -> Option<deb::Unpacked> {
        let notes: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("notes.json")).ok()?).ok()?;
        Some(deb::Unpacked {
            dir_modes: Vec::new(),
            non_root: serde_json::from_value(notes["non_root"].clone()).ok()?,
            skipped: serde_json::from_value(notes["skipped"].clone()).ok()?,
        })
    };
    if let Some(unpacked) = read_notes(&dir) {
        return Ok((dir.join("root"), unpacked));
    }
    std::fs::create_dir_all(&parent).map_err(io("create", &parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempdir_in(&parent)
        .map_err(io("create a directory in", &parent))?;
    let root = tmp.path().join("root");
    let mut unpacked = deb::Unpacked::default();
    let status_dir = root.join("var/lib/dpkg/status.d");
    std::fs::create_dir_all(&status_dir).map_err(io("create", &status_dir))?;
    for (p, file) in packages.iter().zip(files) {
        let id = format!("{}_{}_{}", p.name, p.version, p.architecture);
        let mut control = deb::unpack(file, &id, &root, &mut unpacked)?;
        if !control.ends_with('\n') {
            control.push('\n');
        }
        let path = status_dir.join(&p.name);
        std::fs::write(&path, control).map_err(io("write", &path))?;
    }
    deb::finish(&unpacked)?;
    let notes = serde_json::json!({
        "non_root": unpacked.non_root,
        "skipped": unpacked.skipped,
    });
    let notes_path = tmp.path().join("notes.json");
    std::fs::write(&notes_path, notes.to_string()).map_err(io("write", &notes_path))?;
    let made = tmp.keep();
    if let Err(e) = std::fs::rename(&made, &dir) {
        // Another pack made the same entry first: use it.
        let _ = crate::fsops::remove_tree(&made);
        if read_notes(&dir).is_none() {
            return Err(io("rename into", &dir)(e));
        }
    }
    Ok((dir.join("root"), unpacked))
}

/// sha256 over the base's dpkg status and status.d fragments (names and contents), so a lock
/// entry is used only with the base it was made for.
fn status_digest(root: &Path) -> Result<String, DebsError> {
    let dpkg = root.join("var/lib/dpkg");
    let mut bytes = Vec::new();
    let status = dpkg.join("status");
    if status.is_file() {
        bytes.extend(std::fs::read(&status).map_err(io("read", &status))?);
    }
    if let Ok(entries) = std::fs::read_dir(dpkg.join("status.d")) {
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths.iter().filter(|p| p.is_file()) {
            bytes.extend(
                p.file_name()
                    .map(|n| n.as_encoded_bytes())
                    .unwrap_or_default(),
            );
            bytes.push(0);
            bytes.extend(std::fs::read(p).map_err(io("read", p))?);
        }
    }
    Ok(Digest::of(&bytes).hex().to_string())
}
