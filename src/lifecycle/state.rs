//! [`PartState`]: what a part's completed steps were run with, so the next run can skip them.
//!
//! Each step of each part has an input hash: `pull` covers the part's definition, its local
//! source (paths, types, modes, sizes, modification times), the project's identity and the
//! lifecycle options; `build` covers the same, but of the source only what the build reads
//! (the whole source, or the files a plugin names, such as the python plugin's requirements
//! files), and the stage hashes of the parts it is `after`; `stage` covers `build`; `prime`
//! covers `stage` and the prime hashes of its dependencies. A step whose hash matches the
//! recorded one (and, from `stage` on, whose earlier steps are skipped too) is not run again:
//! an edit to `app.py` re-pulls the python part that installs the requirements, but keeps its
//! build. The `stage-packages` a pull unpacked are kept while what they depend on is unchanged. The state also records what the part staged and primed, so a part that is redone
//! can first take its old files out of the shared `stage/` and `prime/` directories, and a
//! skipped part still reports its primed files to the pack.
//!
//! States live in `<work_dir>/state/<part>.json` and are written after every step, so a run
//! that fails or is killed leaves the failing step (and those after it) to be redone.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{PrimedFile, Step};

/// Bumped when the meaning of a state changes, so old states are ignored.
const STATE_VERSION: u32 = 1;

/// The recorded state of one part.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartState {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// Input hash of each completed step, by step name.
    pub steps: BTreeMap<String, String>,
    /// Paths (files and directories) the part put into `stage/`.
    pub staged: Vec<String>,
    /// What the part put into `prime/`.
    pub primed: Vec<PrimedEntry>,
    /// `craftctl set` values (for the `adopt-info` part).
    pub adopted: Vec<(String, String)>,
}

/// A [`PrimedFile`] as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimedEntry {
    /// Path relative to `prime/`.
    pub path: String,
    /// Owner from `permissions:`.
    pub owner: Option<u32>,
    /// Group from `permissions:`.
    pub group: Option<u32>,
    /// Mode from `permissions:`.
    pub mode: Option<u32>,
}

impl From<&PrimedFile> for PrimedEntry {
    fn from(f: &PrimedFile) -> Self {
        PrimedEntry {
            path: f.path.clone(),
            owner: f.owner,
            group: f.group,
            mode: f.mode,
        }
    }
}

impl From<&PrimedEntry> for PrimedFile {
    fn from(e: &PrimedEntry) -> Self {
        PrimedFile {
            path: e.path.clone(),
            owner: e.owner,
            group: e.group,
            mode: e.mode,
        }
    }
}

impl PartState {
    /// The recorded hash of `step`, if it completed.
    pub fn hash(&self, step: Step) -> Option<&str> {
        self.steps.get(step.name()).map(String::as_str)
    }

    /// Forgets `step` and every later step.
    pub fn invalidate_from(&mut self, step: Step) {
        self.invalidate(step, |_| false);
    }

    /// Forgets `step` and the later steps that are not to be `kept` (a build kept over a
    /// redone pull keeps what it staged and primed too).
    pub fn invalidate(&mut self, step: Step, kept: impl Fn(Step) -> bool) {
        for s in Step::ALL.into_iter().filter(|s| *s >= step) {
            if s == step || !kept(s) {
                self.steps.remove(s.name());
                match s {
                    Step::Stage => self.staged.clear(),
                    Step::Prime => self.primed.clear(),
                    _ => {}
                }
            }
        }
    }
}

/// Where part states are stored.
#[derive(Clone, Debug)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// `<work_dir>/state`.
    pub fn new(work_dir: &Path) -> Self {
        StateDir {
            dir: work_dir.join("state"),
        }
    }

    fn path(&self, part: &str) -> PathBuf {
        // Part names may hold `/` (`flask-framework/install-app`).
        self.dir.join(format!(
            "{}.json",
            part.replace('%', "%25").replace('/', "%2F")
        ))
    }

    /// The part's state; a missing, unreadable or outdated state is an empty one.
    pub fn load(&self, part: &str) -> PartState {
        fs::read(self.path(part))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<PartState>(&bytes).ok())
            .filter(|s| s.version == STATE_VERSION)
            .unwrap_or_default()
    }

    /// Writes the part's state atomically.
    pub fn save(&self, part: &str, state: &PartState) -> io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let mut state = state.clone();
        state.version = STATE_VERSION;
        let bytes = serde_json::to_vec_pretty(&state).map_err(io::Error::other)?;
        let path = self.path(part);
        let tmp = path.with_extension("json.tmp");
        fs::write(&tmp, bytes)?;
        fs::rename(&tmp, &path)
    }

    /// Removes the part's state.
    pub fn remove(&self, part: &str) -> io::Result<()> {
        match fs::remove_file(self.path(part)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// A sha256 over labelled inputs, as lowercase hex.
#[derive(Clone)]
pub struct Hasher(Sha256);

impl Hasher {
    /// A hasher for one step.
    pub fn new(step: Step) -> Self {
        let mut h = Sha256::new();
        h.update(format!("rcraft {} {step}\0", env!("CARGO_PKG_VERSION")));
        Hasher(h)
    }

    /// Adds a labelled value.
    pub fn add(&mut self, label: &str, value: impl AsRef<[u8]>) -> &mut Self {
        let value = value.as_ref();
        self.0.update(label.as_bytes());
        self.0.update((value.len() as u64).to_le_bytes());
        self.0.update(value);
        self
    }

    /// The hex digest.
    pub fn finish(&self) -> String {
        hex::encode(self.0.clone().finalize())
    }
}

/// A fingerprint of one path, as [`fingerprint_tree`] takes each ("missing" if absent).
pub fn fingerprint_path(path: &Path) -> String {
    match path.symlink_metadata() {
        Ok(meta) => entry_fingerprint(path, &meta),
        Err(_) => "missing".to_string(),
    }
}

/// Type and mode; for a file its size and modification time, for a symlink its target.
fn entry_fingerprint(path: &Path, meta: &fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    if meta.file_type().is_symlink() {
        format!("link {:?}", fs::read_link(path).unwrap_or_default())
    } else if meta.is_file() {
        format!(
            "{:o} {} {}.{}",
            meta.mode(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec()
        )
    } else {
        format!("{:o}", meta.mode())
    }
}

/// A fingerprint of a source tree: every path's type, mode, size, modification time and link
/// target, in sorted order (`skip` leaves paths out, as the pull does). Contents are not read:
/// editors and tools update modification times, as cargo relies on too.
pub fn fingerprint_tree(root: &Path, skip: &dyn Fn(&Path) -> bool) -> io::Result<String> {
    let mut h = Sha256::new();
    let walker = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !skip(e.path()));
    for entry in walker {
        let entry = entry.map_err(io::Error::other)?;
        let meta = entry.metadata().map_err(io::Error::other)?;
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        h.update(rel.as_os_str().as_encoded_bytes());
        h.update([0]);
        h.update(entry_fingerprint(entry.path(), &meta));
        h.update([0xff]);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_changes_with_content_and_skips_what_it_is_told() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.py"), "one").unwrap();
        fs::create_dir(dir.path().join(".rcraft")).unwrap();
        let skip = |p: &Path| p.ends_with(".rcraft");
        let first = fingerprint_tree(dir.path(), &skip).unwrap();
        assert_eq!(first, fingerprint_tree(dir.path(), &skip).unwrap());
        fs::write(dir.path().join(".rcraft/x"), "ignored").unwrap();
        assert_eq!(first, fingerprint_tree(dir.path(), &skip).unwrap());
        fs::write(dir.path().join("a.py"), "two!").unwrap();
        assert_ne!(first, fingerprint_tree(dir.path(), &skip).unwrap());
    }

    #[test]
    fn states_round_trip_and_invalidate() {
        let dir = tempfile::tempdir().unwrap();
        let states = StateDir::new(dir.path());
        let mut s = PartState::default();
        for step in Step::ALL {
            s.steps.insert(step.name().into(), format!("h-{step}"));
        }
        s.staged = vec!["usr".into()];
        states.save("fw/app", &s).unwrap();
        let mut loaded = states.load("fw/app");
        assert_eq!(loaded.hash(Step::Prime), Some("h-prime"));
        loaded.invalidate_from(Step::Build);
        assert_eq!(loaded.hash(Step::Pull), Some("h-pull"));
        assert_eq!(loaded.hash(Step::Build), None);
        assert!(loaded.staged.is_empty());
        assert_eq!(states.load("missing"), PartState::default());
    }
}
