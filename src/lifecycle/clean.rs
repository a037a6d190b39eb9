//! `rcraft clean [PART...]`: forgetting parts so the next run redoes them.
//!
//! Without part names the whole work directory goes. With names, each part's directories and
//! state go, and so do the files it staged and primed, except those another part also put
//! there (their states say so).

use std::collections::BTreeSet;

use super::LifecycleError;
use super::dirs::WorkDirs;
use super::state::StateDir;
use crate::fsops;

/// Removes `parts` (all when empty) from the work directory `work_dir`; every other part's
/// `parts` lists `all_parts` (to know which files are still claimed).
pub fn clean(
    work_dir: &std::path::Path,
    parts: &[String],
    all_parts: &[String],
) -> Result<(), LifecycleError> {
    let work = WorkDirs::new(work_dir);
    let err = |source| LifecycleError::WorkDir {
        path: work_dir.to_path_buf(),
        source,
    };
    if parts.is_empty() {
        return work.remove_all().map_err(err);
    }
    let states = StateDir::new(work_dir);
    let others: Vec<_> = all_parts
        .iter()
        .filter(|p| !parts.contains(p))
        .map(|p| states.load(p))
        .collect();
    let claimed_stage: BTreeSet<&String> = others.iter().flat_map(|s| &s.staged).collect();
    let claimed_prime: BTreeSet<&String> = others
        .iter()
        .flat_map(|s| s.primed.iter().map(|p| &p.path))
        .collect();
    for part in parts {
        let state = states.load(part);
        let staged = state
            .staged
            .iter()
            .filter(|p| !claimed_stage.contains(p))
            .cloned()
            .collect();
        super::steps::remove_paths(&work.stage, staged).map_err(err)?;
        let primed = state
            .primed
            .iter()
            .map(|p| &p.path)
            .filter(|p| !claimed_prime.contains(p))
            .cloned()
            .collect();
        super::steps::remove_paths(&work.prime, primed).map_err(err)?;
        fsops::remove_tree(&work.parts.join(part)).map_err(err)?;
        states.remove(part).map_err(err)?;
    }
    Ok(())
}
