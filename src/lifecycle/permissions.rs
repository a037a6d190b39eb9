//! [`Permissions`]: a part's `permissions` list, compiled; decides the owner, group and mode
//! recorded for each path the part primes (see [`super::PrimedFile`]) and applies modes to the
//! install dir after the build.
//!
//! As in craft-parts, an entry's `path` is an `fnmatch` pattern (where `*` also matches `/`)
//! relative to the install dir, entries apply in order, and a later entry overrides the fields
//! it sets.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::project::Permission;

use super::StepError;
use super::glob::Pattern;
use crate::fsops;

/// The owner, group and mode a part sets on one path (`None` = unchanged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attributes {
    /// Numeric owner.
    pub owner: Option<u32>,
    /// Numeric group.
    pub group: Option<u32>,
    /// Permission bits.
    pub mode: Option<u32>,
}

/// A compiled `permissions` list.
#[derive(Clone, Debug, Default)]
pub struct Permissions {
    rules: Vec<(Pattern, Attributes)>,
}

impl Permissions {
    /// Compiles the list; a `mode` that is not octal (`755`, `0755` or `0o755`) is an error.
    pub fn new(list: &[Permission]) -> Result<Permissions, StepError> {
        let mut rules = Vec::with_capacity(list.len());
        for p in list {
            let mode = match &p.mode {
                None => None,
                Some(m) => Some(parse_mode(m).ok_or_else(|| StepError::BadValue {
                    key: "permissions",
                    value: m.clone(),
                    reason: "a mode is an octal number such as \"755\"".to_string(),
                })?),
            };
            let path = if p.path.is_empty() { "*" } else { &p.path };
            rules.push((
                Pattern::fnmatch(path.trim_start_matches('/')),
                Attributes {
                    owner: p.owner,
                    group: p.group,
                    mode,
                },
            ));
        }
        Ok(Permissions { rules })
    }

    /// What the rules that match `path` (relative, `/`-separated) set, or `None` when no rule
    /// matches.
    pub fn for_path(&self, path: &str) -> Option<Attributes> {
        let mut out: Option<Attributes> = None;
        for (pattern, attrs) in &self.rules {
            if pattern.matches(path) {
                let cur = out.get_or_insert_with(Attributes::default);
                cur.owner = attrs.owner.or(cur.owner);
                cur.group = attrs.group.or(cur.group);
                cur.mode = attrs.mode.or(cur.mode);
            }
        }
        out
    }

    /// Sets the modes the rules give to files and directories under `dir` (symlinks are left
    /// alone). Hard-linked files are copied first so no other tree (the source) changes.
    pub fn apply_modes(&self, dir: &Path) -> Result<(), StepError> {
        if self.rules.iter().all(|(_, a)| a.mode.is_none()) {
            return Ok(());
        }
        let mut dirs = Vec::new();
        for entry in walkdir::WalkDir::new(dir).follow_links(false).min_depth(1) {
            let entry = entry.map_err(|e| {
                StepError::io("read", e.path().unwrap_or(dir).to_path_buf(), e.into())
            })?;
            let rel = fsops::relative_string(dir, entry.path());
            let Some(mode) = self.for_path(&rel).and_then(|a| a.mode) else {
                continue;
            };
            if entry.file_type().is_dir() {
                dirs.push((entry.path().to_path_buf(), mode));
            } else if entry.file_type().is_file() {
                fsops::unshare(entry.path())?;
                set_mode(entry.path(), mode)?;
            }
        }
        // Deepest first, so a read-only directory is set after what it holds.
        for (path, mode) in dirs.into_iter().rev() {
            set_mode(&path, mode)?;
        }
        Ok(())
    }
}

/// Whether two parts' permissions for one path conflict, as craft-parts decides it: no conflict
/// when either part sets nothing for it; otherwise every field must agree.
pub fn conflict(a: Option<Attributes>, b: Option<Attributes>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<(), StepError> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| StepError::io("set mode of", path, e))
}

/// Parses `755`, `0755` or `0o755`.
fn parse_mode(s: &str) -> Option<u32> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    let mode = u32::from_str_radix(digits, 8).ok()?;
    (mode <= 0o7777 && !digits.is_empty()).then_some(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(path: &str, owner: Option<u32>, mode: Option<&str>) -> Permission {
        Permission {
            path: path.to_string(),
            owner,
            group: owner,
            mode: mode.map(str::to_string),
        }
    }

    #[test]
    fn later_rules_override_fields_and_star_crosses_slashes() {
        let p = Permissions::new(&[
            perm("*", Some(584792), None),
            perm("usr/bin/*", None, Some("0o750")),
        ])
        .unwrap();
        assert_eq!(
            p.for_path("usr/bin/sub/tool"),
            Some(Attributes {
                owner: Some(584792),
                group: Some(584792),
                mode: Some(0o750)
            })
        );
        assert_eq!(p.for_path("etc").and_then(|a| a.mode), None);
        assert_eq!(Permissions::new(&[]).unwrap().for_path("x"), None);
    }

    #[test]
    fn bad_mode_is_an_error() {
        let err = Permissions::new(&[perm("*", None, Some("rwx"))]).unwrap_err();
        assert!(err.to_string().contains("'rwx'"), "{err}");
        assert!(Permissions::new(&[perm("*", None, Some("17777"))]).is_err());
    }
}
