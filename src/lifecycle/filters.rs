//! [`Fileset`] (the `stage` and `prime` filters) and [`organize`], the file selection and
//! renaming between a part's build output and the shared stage and prime directories.
//!
//! Both follow craft-parts: `organize` runs in the install dir right after the build; a
//! [`Fileset`] is evaluated against the install dir to decide what the stage step copies into
//! `stage/`, and (combined with the stage filter) what the prime step copies from `stage/` into
//! `prime/`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use super::StepError;
use super::glob::{Hidden, glob};
use crate::fsops::{self, CopyMode};

/// A `stage` or `prime` list: paths or globs to include, `-path` to exclude.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fileset {
    entries: Vec<String>,
}

impl Fileset {
    /// The fileset of a part key; an empty list means everything (`*`).
    pub fn new(entries: &[String]) -> Fileset {
        let entries: Vec<String> = entries.iter().filter(|e| !e.is_empty()).cloned().collect();
        if entries.is_empty() {
            Fileset {
                entries: vec!["*".to_string()],
            }
        } else {
            Fileset { entries }
        }
    }

    fn includes(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| !e.starts_with('-'))
            .map(|e| e.strip_prefix('\\').unwrap_or(e))
            .map(|e| e.trim_start_matches('/'))
            .collect()
    }

    fn excludes(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| e.strip_prefix('-'))
            .map(|e| e.trim_start_matches('/'))
            .collect()
    }

    /// The fileset the prime step uses: a `prime` list that is `*` or only excludes is combined
    /// with the part's `stage` list, so what was filtered out of stage stays out of prime.
    pub fn for_prime(prime: &Fileset, stage: &Fileset) -> Fileset {
        let mut entries = prime.entries.clone();
        let had_wildcard = entries.iter().any(|e| e == "*");
        entries.retain(|e| e != "*");
        let only_excludes = entries.iter().all(|e| e.starts_with('-'));
        if had_wildcard || only_excludes {
            for e in &stage.entries {
                if !entries.contains(e) {
                    entries.push(e.clone());
                }
            }
        }
        Fileset::new(&entries)
    }

    /// The files (including symlinks) and directories under `dir` this fileset selects, as
    /// relative paths. Directories above selected files are selected too; an included directory
    /// brings everything beneath it; an excluded directory removes everything beneath it.
    pub fn select(&self, dir: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut includes = self.includes();
        if includes.is_empty() {
            includes.push("*");
        }
        let mut selected: BTreeSet<String> = BTreeSet::new();
        for include in includes {
            if include.contains('*') {
                selected.extend(glob(dir, include, Hidden::SkipTopLevel));
            } else {
                let path = include.trim_end_matches('/');
                if !path.is_empty() && dir.join(path).symlink_metadata().is_ok() {
                    selected.insert(path.to_string());
                }
            }
        }
        // An included directory brings its whole tree (symlinks are not followed).
        let included_dirs: Vec<String> = selected
            .iter()
            .filter(|p| is_real_dir(&dir.join(p)))
            .cloned()
            .collect();
        for d in included_dirs {
            for entry in walkdir::WalkDir::new(dir.join(&d))
                .follow_links(false)
                .min_depth(1)
                .into_iter()
                .filter_map(|e| e.ok())
            {
                selected.insert(fsops::relative_string(dir, entry.path()));
            }
        }

        let mut excluded: BTreeSet<String> = BTreeSet::new();
        for exclude in self.excludes() {
            excluded.extend(glob(dir, exclude, Hidden::Match));
        }
        let excluded_dirs: Vec<String> = excluded
            .iter()
            .filter(|p| dir.join(p).is_dir())
            .map(|p| format!("{p}/"))
            .collect();
        selected.retain(|p| {
            !excluded.contains(p) && !excluded_dirs.iter().any(|d| p.starts_with(d.as_str()))
        });

        let mut dirs: BTreeSet<String> = BTreeSet::new();
        let mut files: BTreeSet<String> = BTreeSet::new();
        for p in selected {
            if is_real_dir(&dir.join(&p)) {
                dirs.insert(p);
            } else {
                files.insert(p);
            }
        }
        let parents: Vec<String> = files
            .iter()
            .chain(dirs.iter())
            .flat_map(|p| ancestors(p))
            .collect();
        dirs.extend(parents);
        (files, dirs)
    }
}

/// The proper ancestors of a relative path (`a/b/c` -> `a/b`, `a`).
fn ancestors(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut p = path;
    while let Some((parent, _)) = p.rsplit_once('/') {
        out.push(parent.to_string());
        p = parent;
    }
    out
}

fn is_real_dir(path: &Path) -> bool {
    path.symlink_metadata().is_ok_and(|m| m.is_dir())
}

/// Applies a part's `organize` map in its install dir, as craft-parts does: literal keys before
/// globs, each set alphabetically; a directory named literally is merged into the destination;
/// a destination ending in `/` is a directory to move matches into; overwriting an existing
/// file is an error.
pub fn organize(install: &Path, map: &[(String, String)]) -> Result<(), StepError> {
    let mut entries: Vec<&(String, String)> = map.iter().collect();
    entries.sort_by(|a, b| (a.0.contains('*'), &a.0).cmp(&(b.0.contains('*'), &b.0)));
    for (key, value) in entries {
        let fail = |reason: String| StepError::Organize(format!("'{key}' to '{value}': {reason}"));
        let dst_rel = value.trim_start_matches('/');
        let into_dir = dst_rel.ends_with('/') || dst_rel.is_empty();
        let dst_rel = dst_rel.trim_end_matches('/');
        let dst = if dst_rel.is_empty() {
            install.to_path_buf()
        } else {
            install.join(dst_rel)
        };
        let is_glob = key.contains('*');
        // Matched before the destination is made: `"*": django/app/` must not match `django`
        // itself (a directory cannot be moved into itself).
        let sources = glob(install, key.trim_start_matches('/'), Hidden::Skip);
        if into_dir && !dst.exists() {
            fs::create_dir_all(&dst).map_err(|e| StepError::io("create directory", &dst, e))?;
        }
        for (count, src_rel) in sources.iter().enumerate() {
            let src = install.join(src_rel);
            if dst != src && dst.starts_with(&src) {
                return Err(fail(format!("'{src_rel}' cannot be moved into itself")));
            }
            let src_is_dir = is_real_dir(&src);
            if src_is_dir && !is_glob {
                fsops::copy_tree(&src, &dst, CopyMode::Link, &|_| false)?;
                fsops::remove_tree(&src).map_err(|e| StepError::io("remove", &src, e))?;
                continue;
            }
            if !into_dir && dst.is_file() {
                if dst == src {
                    continue;
                }
                if count > 0 {
                    return Err(fail(
                        "several paths match, and the destination is a file; end the \
                         destination with '/' to organize them into a directory"
                            .to_string(),
                    ));
                }
                return Err(fail(format!("'{dst_rel}' already exists")));
            }
            let target = if dst.is_dir() {
                let name = src
                    .file_name()
                    .map(|n| n.to_os_string())
                    .unwrap_or_default();
                let real = dst.join(name);
                if real == src {
                    continue;
                }
                if real.symlink_metadata().is_ok() {
                    return Err(fail(format!(
                        "'{}' already exists",
                        fsops::relative_string(install, &real)
                    )));
                }
                real
            } else {
                dst.clone()
            };
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)
                    .map_err(|e| StepError::io("create directory", parent, e))?;
            }
            fs::rename(&src, &target).map_err(|e| StepError::io("move", &src, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(paths: &[&str]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        for p in paths {
            let full = t.path().join(p);
            if let Some(dir) = p.strip_suffix('/') {
                fs::create_dir_all(t.path().join(dir)).unwrap();
            } else {
                fs::create_dir_all(full.parent().unwrap()).unwrap();
                fs::write(&full, p).unwrap();
            }
        }
        t
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn all(set: (BTreeSet<String>, BTreeSet<String>)) -> (Vec<String>, Vec<String>) {
        (set.0.into_iter().collect(), set.1.into_iter().collect())
    }

    #[test]
    fn empty_fileset_selects_everything_but_top_level_dotfiles() {
        let t = tree(&["a/b/c", "a/.d", ".top", "e/"]);
        let (files, dirs) = all(Fileset::new(&[]).select(t.path()));
        assert_eq!(files, ["a/.d", "a/b/c"]);
        assert_eq!(dirs, ["a", "a/b", "e"]);
    }

    #[test]
    fn includes_and_excludes() {
        let t = tree(&[
            "usr/bin/x",
            "usr/lib/liba.so",
            "usr/lib/liba.a",
            "etc/conf",
            "doc/README",
        ]);
        let fs = Fileset::new(&strs(&["usr", "etc/conf", "-usr/lib/*.a"]));
        let (files, dirs) = all(fs.select(t.path()));
        assert_eq!(files, ["etc/conf", "usr/bin/x", "usr/lib/liba.so"]);
        assert_eq!(dirs, ["etc", "usr", "usr/bin", "usr/lib"]);

        let only_excludes = Fileset::new(&strs(&["-usr/lib", "-doc"]));
        let (files, dirs) = all(only_excludes.select(t.path()));
        assert_eq!(files, ["etc/conf", "usr/bin/x"]);
        assert_eq!(dirs, ["etc", "usr", "usr/bin"]);
    }

    #[test]
    fn prime_combines_with_stage_when_wildcard_or_only_excludes() {
        let stage = Fileset::new(&strs(&["-doc"]));
        let combined = Fileset::for_prime(&Fileset::new(&[]), &stage);
        assert_eq!(combined, Fileset::new(&strs(&["-doc"])));
        let combined = Fileset::for_prime(&Fileset::new(&strs(&["-etc"])), &stage);
        assert_eq!(combined, Fileset::new(&strs(&["-etc", "-doc"])));
        let explicit = Fileset::new(&strs(&["usr"]));
        assert_eq!(Fileset::for_prime(&explicit, &stage), explicit);
    }

    #[test]
    fn organize_renames_merges_and_moves_into_dirs() {
        let t = tree(&[
            "hello.py",
            "lib/a.so",
            "lib/b.so",
            "bin/tool",
            "usr/bin/other",
        ]);
        let map = vec![
            ("hello.py".to_string(), "bin/hello".to_string()),
            ("lib/*.so".to_string(), "usr/lib/".to_string()),
            ("bin".to_string(), "usr/bin".to_string()),
        ];
        organize(t.path(), &map).unwrap();
        let (files, _) = all(Fileset::new(&[]).select(t.path()));
        // "bin" (literal) is merged before "hello.py" is moved to bin/hello.
        assert_eq!(
            files,
            [
                "bin/hello",
                "usr/bin/other",
                "usr/bin/tool",
                "usr/lib/a.so",
                "usr/lib/b.so"
            ]
        );
    }

    #[test]
    fn organize_everything_into_a_new_subdirectory() {
        // django-framework's install-app: the whole project goes under django/app/.
        let t = tree(&["manage.py", "site/wsgi.py", ".env"]);
        let map = vec![
            ("*".to_string(), "django/app/".to_string()),
            (".*".to_string(), "django/app/".to_string()),
        ];
        organize(t.path(), &map).unwrap();
        let (files, _) = all(Fileset::new(&[]).select(t.path()));
        assert_eq!(
            files,
            [
                "django/app/.env",
                "django/app/manage.py",
                "django/app/site/wsgi.py"
            ]
        );

        let t = tree(&["app/x"]);
        let err = organize(t.path(), &[("app".into(), "app/sub/".into())]).unwrap_err();
        assert!(
            err.to_string().contains("cannot be moved into itself"),
            "{err}"
        );
    }

    #[test]
    fn organize_onto_existing_file_is_an_error() {
        let t = tree(&["a", "b"]);
        let err = organize(t.path(), &[("a".into(), "b".into())]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot organize 'a' to 'b': 'b' already exists"
        );

        let t = tree(&["x/1", "x/2"]);
        let err = organize(t.path(), &[("x/*".into(), "one".into())]).unwrap_err();
        assert!(
            err.to_string().contains("end the destination with '/'"),
            "{err}"
        );
    }
}
