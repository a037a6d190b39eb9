//! [`glob`] and [`Pattern`]: Python's `glob.iglob(recursive=True)` and `fnmatch`, which
//! craft-parts uses for `organize`, `stage`/`prime` filesets and `permissions`.
//!
//! Differences from shell globs that users notice, kept on purpose:
//! * a wildcard does not match a name starting with `.` unless the pattern component starts
//!   with `.`; [`Hidden`] says at which depth (craft-parts' `iglob` skips hidden names
//!   everywhere, its stage filesets only at the top level, so top-level dotfiles are not staged
//!   by default);
//! * `**` matches zero or more directories (recursive glob);
//! * [`Pattern::fnmatch`] (used for `permissions`) lets `*` match `/` too.

use std::path::Path;

use regex::Regex;

/// One compiled `fnmatch` pattern (`*`, `?`, `[seq]`, `[!seq]`).
#[derive(Clone, Debug)]
pub struct Pattern {
    /// `None` when the translation was rejected (cannot happen); such a pattern matches nothing.
    regex: Option<Regex>,
}

impl Pattern {
    /// A pattern where wildcards do not cross `/` (one path component, as in `glob`).
    pub fn component(pattern: &str) -> Pattern {
        Pattern {
            regex: translate(pattern, "[^/]"),
        }
    }

    /// A pattern with Python `fnmatch` semantics: `*` and `?` match `/` too.
    pub fn fnmatch(pattern: &str) -> Pattern {
        Pattern {
            regex: translate(pattern, "."),
        }
    }

    /// Whether the whole of `s` matches.
    pub fn matches(&self, s: &str) -> bool {
        self.regex.as_ref().is_some_and(|r| r.is_match(s))
    }
}

/// Whether `s` holds glob magic characters.
pub fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Translates an fnmatch pattern to an anchored regex; `any` is the class one wildcard
/// character matches.
fn translate(pattern: &str, any: &str) -> Option<Regex> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("(?s)^");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                re.push_str(any);
                re.push('*');
            }
            '?' => re.push_str(any),
            '[' => {
                // Find the closing bracket as Python does: a ']' right after '[' or '[!' is
                // literal.
                let mut j = i;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    re.push_str("\\[");
                } else {
                    let mut class = String::from("[");
                    let mut k = i;
                    if chars[k] == '!' {
                        class.push('^');
                        k += 1;
                    }
                    for &ch in &chars[k..j] {
                        if matches!(ch, '\\' | '[' | ']' | '^' | '&' | '~') {
                            class.push('\\');
                        }
                        class.push(ch);
                    }
                    class.push(']');
                    re.push_str(&class);
                    i = j + 1;
                }
            }
            _ => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).ok()
}

/// Where wildcards skip names starting with `.`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hidden {
    /// At every level (Python's `glob.iglob`).
    Skip,
    /// Only in the first path component (craft-parts' fileset includes).
    SkipTopLevel,
    /// Nowhere (`pathlib.Path.glob`, craft-parts' fileset excludes).
    Match,
}

/// Expands `pattern` (relative, `/`-separated) against `base` like Python's
/// `glob.iglob(os.path.join(base, pattern), recursive=True)`, returning matching paths relative
/// to `base`, sorted, without duplicates. Literal patterns yield the path if it exists (even as
/// a dangling symlink).
pub fn glob(base: &Path, pattern: &str, hidden: Hidden) -> Vec<String> {
    let components: Vec<&str> = pattern
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if components.is_empty() {
        return Vec::new();
    }
    let mut current: Vec<String> = vec![String::new()];
    for (n, comp) in components.iter().enumerate() {
        let last = n + 1 == components.len();
        let skip_hidden = match hidden {
            Hidden::Skip => true,
            Hidden::SkipTopLevel => n == 0,
            Hidden::Match => false,
        };
        let mut next = Vec::new();
        for prefix in &current {
            let dir = if prefix.is_empty() {
                base.to_path_buf()
            } else {
                base.join(prefix)
            };
            if *comp == "**" {
                // Zero or more directories (and, as the last component, files too).
                if !prefix.is_empty() || !last {
                    next.push(prefix.clone());
                }
                descendants(&dir, prefix, !last, skip_hidden, &mut next);
            } else if has_magic(comp) {
                let pat = Pattern::component(comp);
                let show_hidden = comp.starts_with('.') || !skip_hidden;
                for name in list_dir(&dir) {
                    if name.starts_with('.') && !show_hidden {
                        continue;
                    }
                    if pat.matches(&name) {
                        let path = join(prefix, &name);
                        if last || base.join(&path).is_dir() {
                            next.push(path);
                        }
                    }
                }
            } else {
                let path = join(prefix, comp);
                let full = base.join(&path);
                if full.symlink_metadata().is_ok() && (last || full.is_dir()) {
                    next.push(path);
                }
            }
        }
        current = next;
    }
    current.retain(|p| !p.is_empty());
    current.sort();
    current.dedup();
    current
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

/// The names in `dir` (following a symlink to a directory, as `os.scandir` does); empty when it
/// is not a readable directory.
fn list_dir(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// Appends the descendants (without hidden names when `skip_hidden`) of `dir` (as paths under `prefix`), not following
/// symlinks; only directories when `dirs_only`.
fn descendants(
    dir: &Path,
    prefix: &str,
    dirs_only: bool,
    skip_hidden: bool,
    out: &mut Vec<String>,
) {
    for name in list_dir(dir) {
        if skip_hidden && name.starts_with('.') {
            continue;
        }
        let path = join(prefix, &name);
        let full = dir.join(&name);
        let is_real_dir = full.symlink_metadata().map(|m| m.is_dir()).unwrap_or(false);
        if is_real_dir {
            out.push(path.clone());
            descendants(&full, &path, dirs_only, skip_hidden, out);
        } else if !dirs_only {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn fnmatch_star_crosses_slashes_but_component_does_not() {
        assert!(Pattern::fnmatch("*").matches("usr/bin/x"));
        assert!(Pattern::fnmatch("usr/*").matches("usr/bin/x"));
        assert!(!Pattern::component("*").matches("usr/bin"));
        assert!(Pattern::component("*.so.[0-9]").matches("libx.so.1"));
        assert!(Pattern::component("[!a]b").matches("cb"));
        assert!(!Pattern::component("[!a]b").matches("ab"));
        assert!(Pattern::component("a+b(c)").matches("a+b(c)"));
    }

    #[test]
    fn glob_follows_python_rules() {
        let t = tempfile::tempdir().unwrap();
        let b = t.path();
        fs::create_dir_all(b.join("usr/bin")).unwrap();
        fs::create_dir_all(b.join("usr/lib/x")).unwrap();
        fs::write(b.join("usr/bin/a"), "").unwrap();
        fs::write(b.join("usr/lib/x/libz.so"), "").unwrap();
        fs::write(b.join(".hidden"), "").unwrap();
        fs::write(b.join("top"), "").unwrap();

        fs::write(b.join("usr/.keep"), "").unwrap();
        let g = |p: &str| glob(b, p, Hidden::Skip);
        assert_eq!(g("*"), ["top", "usr"]);
        assert_eq!(g(".*"), [".hidden"]);
        assert_eq!(g("usr/*/a"), ["usr/bin/a"]);
        assert_eq!(g("**/*.so"), ["usr/lib/x/libz.so"]);
        assert_eq!(
            g("usr/**"),
            [
                "usr",
                "usr/bin",
                "usr/bin/a",
                "usr/lib",
                "usr/lib/x",
                "usr/lib/x/libz.so"
            ]
        );
        assert_eq!(g("top"), ["top"]);
        assert!(g("nope").is_empty());
        assert!(g("top/*").is_empty());
        assert_eq!(
            glob(b, "usr/*", Hidden::SkipTopLevel),
            ["usr/.keep", "usr/bin", "usr/lib"]
        );
        assert_eq!(glob(b, "*", Hidden::Match), [".hidden", "top", "usr"]);
    }
}
