//! The lock file (`rcraft.lock`, next to `rockcraft.yaml`): the exact packages each part
//! staged, so a rebuild stages the same bytes even after the archive moved on.
//!
//! It is JSON, written with sorted keys and a trailing newline, so it diffs well and is the
//! same for the same content:
//!
//! ```json
//! {
//!   "lock-version": 1,
//!   "parts": {
//!     "<part>": {
//!       "<build-for arch>": {
//!         "build-base": "debian@12",
//!         "stage-packages": ["python3"],
//!         "base-packages": null,
//!         "packages": [
//!           {"name": "libc6", "version": "2.36-9+deb12u10", "architecture": "amd64",
//!            "suite": "bookworm", "filename": "pool/main/g/glibc/libc6_...deb",
//!            "size": 2757936, "sha256": "..."}
//!         ]
//!       }
//!     }
//!   }
//! }
//! ```
//!
//! An entry is used when its `build-base`, `stage-packages` and `base-packages` (the sha256 of
//! the base image's dpkg status, `null` for none) equal the request; each package is then
//! fetched by `filename` from the mirror of its `suite` and checked against `sha256`, without
//! resolving again. Otherwise the part is resolved again and its entry replaced.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{DebsError, io};

/// The lock file format version this code writes and reads.
pub const LOCK_VERSION: u32 = 1;
/// The lock file's name.
pub const LOCK_FILE: &str = "rcraft.lock";

/// The whole lock file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LockFile {
    /// Always [`LOCK_VERSION`].
    pub lock_version: u32,
    /// Part name -> build-for architecture -> entry.
    pub parts: BTreeMap<String, BTreeMap<String, LockEntry>>,
}

/// What one part staged for one architecture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LockEntry {
    /// The build base whose archive was used, e.g. `debian@12`.
    pub build_base: String,
    /// The part's `stage-packages`, as written.
    pub stage_packages: Vec<String>,
    /// sha256 of the base image's dpkg status (what was skipped), `None` for none.
    pub base_packages: Option<String>,
    /// The packages staged, sorted by name.
    pub packages: Vec<LockedPackage>,
}

/// One staged package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LockedPackage {
    /// Package name.
    pub name: String,
    /// Exact version.
    pub version: String,
    /// `amd64`, `all`, ...
    pub architecture: String,
    /// The suite it came from (selects the mirror URL).
    pub suite: String,
    /// Path below the mirror URL.
    pub filename: String,
    /// Size in bytes.
    pub size: u64,
    /// sha256 of the .deb (hex).
    pub sha256: String,
}

impl LockFile {
    /// Reads `path`; a missing file is an empty lock.
    pub fn load(path: &Path) -> Result<LockFile, DebsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(LockFile {
                    lock_version: LOCK_VERSION,
                    parts: BTreeMap::new(),
                });
            }
            Err(e) => return Err(io("read", path)(e)),
        };
        let bad = |reason: String| DebsError::Lock {
            path: path.to_path_buf(),
            reason,
        };
        let lock: LockFile = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if lock.lock_version != LOCK_VERSION {
            return Err(bad(format!(
                "unsupported lock-version {} (this rcraft writes {LOCK_VERSION}); delete it to resolve again",
                lock.lock_version
            )));
        }
        Ok(lock)
    }

    /// The entry for `part` and `arch`.
    pub fn entry(&self, part: &str, arch: &str) -> Option<&LockEntry> {
        self.parts.get(part)?.get(arch)
    }

    /// Sets the entry for `part` and `arch`.
    pub fn set(&mut self, part: &str, arch: &str, entry: LockEntry) {
        self.parts
            .entry(part.to_string())
            .or_default()
            .insert(arch.to_string(), entry);
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Writes the lock atomically (temporary file in the same directory, then rename);
    /// leaves an identical file untouched.
    pub fn save(&self, path: &Path) -> Result<(), DebsError> {
        let text = self.to_text();
        if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
            return Ok(());
        }
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let mut temp = tempfile::Builder::new()
            .prefix(".rcraft.lock-")
            .tempfile_in(&dir)
            .map_err(io("create a temporary file in", &dir))?;
        std::io::Write::write_all(&mut temp, text.as_bytes()).map_err(io("write", temp.path()))?;
        // A project file like any other, not a secret.
        temp.as_file()
            .set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .map_err(io("set permissions of", temp.path()))?;
        temp.persist(path).map_err(|e| io("write", path)(e.error))?;
        Ok(())
    }
}

impl LockEntry {
    /// Whether this entry was made for the same request.
    pub fn matches(&self, build_base: &str, stage_packages: &[String], base: Option<&str>) -> bool {
        self.build_base == build_base
            && self.stage_packages == stage_packages
            && self.base_packages.as_deref() == base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_deterministically_and_rejects_other_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let mut lock = LockFile::load(&path).unwrap();
        assert!(lock.parts.is_empty());
        let pkg = LockedPackage {
            name: "hello".into(),
            version: "2.10-3".into(),
            architecture: "amd64".into(),
            suite: "bookworm".into(),
            filename: "pool/main/h/hello/hello_2.10-3_amd64.deb".into(),
            size: 10,
            sha256: "a".repeat(64),
        };
        let entry = LockEntry {
            build_base: "debian@12".into(),
            stage_packages: vec!["hello".into()],
            base_packages: None,
            packages: vec![pkg],
        };
        lock.set("zpart", "amd64", entry.clone());
        lock.set("apart", "amd64", entry.clone());
        lock.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.find("apart").unwrap() < text.find("zpart").unwrap());
        assert!(text.contains("\"lock-version\": 1") && text.ends_with("}\n"));
        let again = LockFile::load(&path).unwrap();
        assert_eq!(again, lock);
        assert_eq!(again.to_text(), text);
        let e = again.entry("apart", "amd64").unwrap();
        assert!(e.matches("debian@12", &["hello".into()], None));
        assert!(!e.matches("debian@12", &["hello".into(), "x".into()], None));
        assert!(!e.matches("debian@12", &["hello".into()], Some("abc")));

        std::fs::write(
            &path,
            text.replace("\"lock-version\": 1", "\"lock-version\": 9"),
        )
        .unwrap();
        let err = LockFile::load(&path).unwrap_err().to_string();
        assert!(err.contains("unsupported lock-version 9"), "{err}");
        std::fs::write(&path, "{").unwrap();
        assert!(LockFile::load(&path).is_err());
    }
}
