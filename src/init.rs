//! `rcraft init`: writes a starter `rockcraft.yaml` from a template, like `rockcraft init`.
//!
//! Templates live in `templates/<profile>/rockcraft.yaml` (embedded in the binary) and use
//! `{{name}}`, `{{snake_name}}`, `{{versioned_url}}` and `{{version}}`. The rock name is `--name`
//! (which must be valid) or the directory's name, falling back to `my-rock-name` when that is not
//! a valid rock name. An existing `rockcraft.yaml` is never overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::yaml::diag::did_you_mean;

/// The profiles `init` offers; `simple` is the default.
pub const PROFILES: &[&str] = &[
    "simple",
    "django-framework",
    "expressjs-framework",
    "fastapi-framework",
    "flask-framework",
    "go-framework",
];

/// The name used when the directory's name is not a valid rock name.
pub const FALLBACK_NAME: &str = "my-rock-name";

/// The file `init` writes.
const PROJECT_FILE: &str = "rockcraft.yaml";

/// `EX_CANTCREAT`, Rockcraft's exit code when init would overwrite files.
pub const EXIT_WOULD_OVERWRITE: i32 = 73;

/// The embedded templates, by profile.
const TEMPLATES: &[(&str, &str)] = &[
    ("simple", include_str!("../templates/simple/rockcraft.yaml")),
    (
        "django-framework",
        include_str!("../templates/django-framework/rockcraft.yaml"),
    ),
    (
        "expressjs-framework",
        include_str!("../templates/expressjs-framework/rockcraft.yaml"),
    ),
    (
        "fastapi-framework",
        include_str!("../templates/fastapi-framework/rockcraft.yaml"),
    ),
    (
        "flask-framework",
        include_str!("../templates/flask-framework/rockcraft.yaml"),
    ),
    (
        "go-framework",
        include_str!("../templates/go-framework/rockcraft.yaml"),
    ),
];

/// What to initialise.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The project directory (created if missing).
    pub dir: PathBuf,
    /// `--name`; defaults to the directory's name.
    pub name: Option<String>,
    /// `--profile`, one of [`PROFILES`].
    pub profile: String,
}

/// What `init` did.
#[derive(Clone, Debug, PartialEq)]
pub struct InitOutcome {
    /// Files written.
    pub written: Vec<PathBuf>,
    /// Lines to show the user.
    pub messages: Vec<String>,
}

/// Why `init` failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// `--name` is not a valid rock name.
    #[error(
        "invalid name: Names can only use ASCII lowercase letters, numbers, and hyphens. They \
         must have at least one letter, may not start or end with a hyphen, and may not have two \
         hyphens in a row.{}",
        if name.chars().count() > 40 { "\n  hint: names are at most 40 characters long" } else { "" }
    )]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// `--profile` is not one of [`PROFILES`].
    #[error(
        "argument --profile: invalid choice: '{profile}' (choose from {}){}",
        PROFILES.iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(", "),
        hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default()
    )]
    UnknownProfile {
        /// The profile given.
        profile: String,
        /// A did-you-mean suggestion.
        hint: Option<String>,
    },
    /// The directory already holds files the template would write (exit code 73).
    #[error(
        "Cannot initialise project in '{}' because it would overwrite existing files.\n\
         Existing files are:\n{}\n  \
         hint: initialise the project in an empty directory or remove the existing files.",
        dir.display(),
        files.iter().map(|f| format!("  - {}", f.display())).collect::<Vec<_>>().join("\n")
    )]
    WouldOverwrite {
        /// The project directory.
        dir: PathBuf,
        /// The existing files, relative to `dir`.
        files: Vec<PathBuf>,
    },
    /// Creating the directory or writing the file failed.
    #[error("cannot write `{}`: {source}", path.display())]
    Io {
        /// The path being created or written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl InitError {
    /// The process exit code Rockcraft uses for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            InitError::WouldOverwrite { .. } => EXIT_WOULD_OVERWRITE,
            InitError::InvalidName { .. }
            | InitError::UnknownProfile { .. }
            | InitError::Io { .. } => 1,
        }
    }
}

/// Rockcraft's rule for rock names: lowercase letters, digits and single hyphens, at least one
/// letter, no hyphen at either end, 1 to 40 characters.
pub fn is_valid_name(name: &str) -> bool {
    crate::project::schema::is_valid_name(name)
}

/// Writes `rockcraft.yaml` for `opts.profile` into `opts.dir`.
pub fn init(opts: &InitOptions) -> Result<InitOutcome, InitError> {
    let Some(template) = TEMPLATES
        .iter()
        .find(|(p, _)| *p == opts.profile)
        .map(|(_, t)| *t)
    else {
        return Err(InitError::UnknownProfile {
            profile: opts.profile.clone(),
            hint: did_you_mean(&opts.profile, PROFILES.iter().copied()),
        });
    };
    if let Some(name) = &opts.name
        && !is_valid_name(name)
    {
        return Err(InitError::InvalidName { name: name.clone() });
    }
    std::fs::create_dir_all(&opts.dir).map_err(|source| InitError::Io {
        path: opts.dir.clone(),
        source,
    })?;
    let dir = std::fs::canonicalize(&opts.dir).unwrap_or_else(|_| opts.dir.clone());
    let name = match &opts.name {
        Some(name) => name.clone(),
        None => default_name(&dir),
    };
    let target = opts.dir.join(PROJECT_FILE);
    let would_overwrite = || InitError::WouldOverwrite {
        dir: dir.clone(),
        files: vec![PathBuf::from(PROJECT_FILE)],
    };
    if target.symlink_metadata().is_ok() {
        return Err(would_overwrite());
    }
    let text = render(template, &name);
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(would_overwrite()),
        Err(source) => {
            return Err(InitError::Io {
                path: target,
                source,
            });
        }
    };
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| InitError::Io {
            path: target.clone(),
            source,
        })?;
    let mut messages = vec!["Successfully initialised project.".to_string()];
    if opts.profile != "simple" {
        messages.push(format!(
            "Go to {}/reference/extensions/{p} to read more about the '{p}' profile.",
            crate::profiles::DOCS_URL,
            p = opts.profile
        ));
    }
    Ok(InitOutcome {
        written: vec![target],
        messages,
    })
}

/// The directory's name when it is a valid rock name, else [`FALLBACK_NAME`].
fn default_name(dir: &Path) -> String {
    dir.file_name()
        .and_then(|n| n.to_str())
        .filter(|n| is_valid_name(n))
        .unwrap_or(FALLBACK_NAME)
        .to_string()
}

/// Fills the template variables.
fn render(template: &str, name: &str) -> String {
    template
        .replace("{{name}}", name)
        .replace("{{snake_name}}", &name.replace('-', "_").to_lowercase())
        .replace("{{versioned_url}}", crate::profiles::DOCS_URL)
        .replace("{{version}}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    fn opts(dir: &Path, name: Option<&str>, profile: &str) -> InitOptions {
        InitOptions {
            dir: dir.to_path_buf(),
            name: name.map(str::to_string),
            profile: profile.to_string(),
        }
    }

    #[test]
    fn every_profile_writes_valid_yaml_with_the_name() {
        for profile in PROFILES {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("hello-rock");
            let out = init(&opts(&dir, None, profile)).unwrap();
            assert_eq!(out.written, [dir.join("rockcraft.yaml")]);
            let text = std::fs::read_to_string(dir.join("rockcraft.yaml")).unwrap();
            assert!(!text.contains("{{"), "{profile}: unrendered variable");
            let doc = parse(&text).unwrap();
            assert_eq!(doc.get("name").unwrap().as_str(), Some("hello-rock"));
            assert_eq!(out.messages[0], "Successfully initialised project.");
            if *profile == "simple" {
                assert_eq!(doc.get("base").unwrap().as_str(), Some("ubuntu@24.04"));
                assert!(doc.get("parts").is_some());
                assert_eq!(out.messages.len(), 1);
            } else {
                assert_eq!(doc.get("base").unwrap().as_str(), Some("bare"));
                assert_eq!(
                    doc.get("build-base").unwrap().as_str(),
                    Some("ubuntu@24.04")
                );
                let exts = doc.get("extensions").unwrap().as_seq().unwrap();
                assert_eq!(exts[0].as_str(), Some(*profile));
                assert!(doc.get("platforms").unwrap().get("amd64").is_some());
                assert_eq!(
                    out.messages[1],
                    format!(
                        "Go to {}/reference/extensions/{profile} to read more about the \
                         '{profile}' profile.",
                        crate::profiles::DOCS_URL
                    )
                );
            }
        }
    }

    #[test]
    fn commented_parts_blocks_are_valid_yaml_once_uncommented() {
        for profile in PROFILES.iter().filter(|p| **p != "simple") {
            let text = render(
                TEMPLATES.iter().find(|(p, _)| p == profile).unwrap().1,
                "demo",
            );
            let start = text.find("# parts:").unwrap();
            let (head, tail) = text.split_at(start);
            let uncommented: String = tail
                .lines()
                .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
                .collect::<Vec<_>>()
                .join("\n");
            let doc = parse(&format!("{head}{uncommented}\n"))
                .unwrap_or_else(|e| panic!("{profile}: {e:?}"));
            let parts = doc.get("parts").and_then(|p| p.as_map()).unwrap();
            assert!(!parts.is_empty(), "{profile}");
        }
    }

    #[test]
    fn invalid_directory_name_falls_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("My_Dir");
        init(&opts(&dir, None, "simple")).unwrap();
        let doc = parse(&std::fs::read_to_string(dir.join("rockcraft.yaml")).unwrap()).unwrap();
        assert_eq!(doc.get("name").unwrap().as_str(), Some("my-rock-name"));
    }

    #[test]
    fn name_and_snake_name_are_filled() {
        let tmp = tempfile::tempdir().unwrap();
        init(&opts(tmp.path(), Some("my-app"), "django-framework")).unwrap();
        let text = std::fs::read_to_string(tmp.path().join("rockcraft.yaml")).unwrap();
        assert!(text.contains("name: my-app\n"));
        assert!(text.contains("# +-- my_app/"));
    }

    #[test]
    fn invalid_name_is_refused_without_creating_anything() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("new");
        let err = init(&opts(&dir, Some("Bad_Name"), "simple")).unwrap_err();
        assert!(matches!(err, InitError::InvalidName { .. }));
        assert!(
            err.to_string()
                .starts_with("invalid name: Names can only use ASCII lowercase letters")
        );
        assert!(!dir.exists());
    }

    #[test]
    fn unknown_profile_suggests_one() {
        let tmp = tempfile::tempdir().unwrap();
        let err = init(&opts(tmp.path(), None, "flask")).unwrap_err();
        let InitError::UnknownProfile { hint, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(hint.as_deref(), Some("did you mean 'flask-framework'?"));
        assert!(err.to_string().contains("invalid choice: 'flask'"));
    }

    #[test]
    fn second_init_refuses_and_keeps_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        init(&opts(tmp.path(), Some("first"), "simple")).unwrap();
        let before = std::fs::read_to_string(tmp.path().join("rockcraft.yaml")).unwrap();
        let err = init(&opts(tmp.path(), Some("second"), "flask-framework")).unwrap_err();
        assert_eq!(err.exit_code(), 73);
        let message = err.to_string();
        let dir = std::fs::canonicalize(tmp.path()).unwrap();
        assert!(message.starts_with(&format!(
            "Cannot initialise project in '{}' because it would overwrite existing files.\n\
             Existing files are:\n  - rockcraft.yaml",
            dir.display()
        )));
        let after = std::fs::read_to_string(tmp.path().join("rockcraft.yaml")).unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn name_rule_matches_rockcraft() {
        for good in ["a", "my-rock", "1a", "a1-b2", &"a".repeat(40)] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "123",
            "My",
            "a_b",
            "a.b",
            &"a".repeat(41),
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
