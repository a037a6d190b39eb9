//! The project file: `rockcraft.yaml` read, expanded and validated into a [`Project`].
//!
//! Pipeline: the file's text is parsed into a position-aware tree ([`yaml::Node`]), the
//! `extensions` it lists are expanded by [`crate::profiles`], and [`schema`] validates the result
//! against Rockcraft's schema, collecting every problem as a [`yaml::diag::Diagnostic`]. Rockcraft's
//! error wording is kept; rcraft adds `file:line:column`, the field path and hints.

pub mod fields;
pub mod model;
pub mod parts;
pub mod pebble;
pub mod schema;

use std::path::{Path, PathBuf};

use crate::yaml;
use crate::yaml::diag::Diagnostics;
pub use model::*;

/// The project file name; Rockcraft accepts no other.
pub const PROJECT_FILE: &str = "rockcraft.yaml";

/// Why a project could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// No `rockcraft.yaml` in the directory.
    #[error("cannot find `{}`: no such file\n  hint: run `rcraft init` to create one, or run rcraft from the project directory", .0.display())]
    NotFound(PathBuf),
    /// The file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not UTF-8 text (binary garbage, wrong encoding).
    #[error("cannot read `{}`: it is not UTF-8 text (invalid byte at offset {offset}); is it a binary file?", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The YAML itself is malformed.
    #[error("cannot parse `{file}`{}: {message}\n  hint: check the indentation and quoting there; YAML uses spaces, not tabs", position(*span))]
    Syntax {
        /// File name as shown to the user.
        file: String,
        /// Parser message.
        message: String,
        /// Position.
        span: yaml::Span,
    },
    /// The YAML is well-formed but does not match the schema.
    #[error("Bad {file} content:\n{}", diagnostics.render(file))]
    Invalid {
        /// File name as shown to the user.
        file: String,
        /// Every problem found.
        diagnostics: Diagnostics,
    },
}

fn position(span: yaml::Span) -> String {
    if span.is_known() {
        format!(" at line {}, column {}", span.line, span.column)
    } else {
        String::new()
    }
}

/// A loaded project plus the warnings to show the user (e.g. deprecated spellings).
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The validated project.
    pub project: Project,
    /// Warnings, already worded for display.
    pub warnings: Vec<String>,
}

/// Reads `rockcraft.yaml` from `project_dir`, expands its extensions and validates it.
pub fn load(project_dir: &Path) -> Result<Loaded, ProjectError> {
    let path = project_dir.join(PROJECT_FILE);
    let text = read_text(&path)?;
    load_str(&text, project_dir)
}

/// Reads the project file's text, with clear errors for missing and non-text files.
pub fn read_text(path: &Path) -> Result<String, ProjectError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ProjectError::NotFound(path.to_path_buf()));
        }
        Err(source) => {
            return Err(ProjectError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if let Some(offset) = bytes.iter().position(|b| *b == 0) {
        return Err(ProjectError::NotText {
            path: path.to_path_buf(),
            offset,
        });
    }
    String::from_utf8(bytes).map_err(|e| ProjectError::NotText {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// Parses the YAML text of a project file into its node tree.
pub fn parse_str(text: &str) -> Result<yaml::Node, ProjectError> {
    if text.contains('\0') {
        let offset = text.find('\0').unwrap_or(0);
        let line = text[..offset].matches('\n').count() as u32 + 1;
        return Err(ProjectError::Syntax {
            file: PROJECT_FILE.to_string(),
            message: "the file contains a NUL byte: it is binary, not YAML".to_string(),
            span: yaml::Span { line, column: 1 },
        });
    }
    yaml::parse(text).map_err(|e| ProjectError::Syntax {
        file: PROJECT_FILE.to_string(),
        message: e.message,
        span: e.span,
    })
}

/// Loads a project from its text (the file's directory is used for extension checks and
/// sources).
pub fn load_str(text: &str, project_dir: &Path) -> Result<Loaded, ProjectError> {
    let mut doc = parse_str(text)?;
    let mut warnings = Vec::new();
    schema::normalise(&mut doc, &mut warnings);
    let extensions = crate::profiles::expand(&mut doc, project_dir).map_err(|diagnostics| {
        ProjectError::Invalid {
            file: PROJECT_FILE.to_string(),
            diagnostics,
        }
    })?;
    let mut project =
        schema::validate(&doc, project_dir).map_err(|diagnostics| ProjectError::Invalid {
            file: PROJECT_FILE.to_string(),
            diagnostics,
        })?;
    project.extensions = extensions;
    Ok(Loaded { project, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEEDS: &[&str] = &[
        "name: hello\nversion: '0.1'\nsummary: s\ndescription: d\nbase: bare\nbuild-base: ubuntu@24.04\nplatforms:\n  amd64:\nparts:\n  a:\n    plugin: dump\n    source: .\n    organize: {x: y/}\n    permissions: [{path: y, owner: 1, group: 1, mode: '755'}]\nservices:\n  web:\n    override: replace\n    command: /bin/web [ --port 80 ]\n    after: [db]\n    backoff-delay: 1s\nchecks:\n  up:\n    override: replace\n    http: {url: 'http://localhost/'}\nextensions: [flask-framework]\n",
        "name: x\nplatforms: {foo: {build-on: [amd64], build-for: amd64}}\nentrypoint-service: web\nenvironment: {A: b}\nrun-user: _daemon_\n",
    ];

    /// A tiny deterministic generator (xorshift) so the test needs no extra crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// No input makes loading panic: mutate valid files byte- and token-wise and load them.
    #[test]
    fn mutated_project_files_never_panic() {
        let dir = tempfile::tempdir().expect("temp dir");
        let tokens = [
            "[", "]", "{", "}", ":", "- ", "\n", "  ", "'", "\"", "&a ", "*a", "!!str ", "~",
            "null", "1e999", "-1", "0x10", "[ ]", "#", "|", ">", "? ", ",", "\t", "\u{feff}", "é",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for i in 0..3000 {
            let seed = SEEDS[i % SEEDS.len()];
            let mut text: Vec<u8> = seed.as_bytes().to_vec();
            for _ in 0..1 + rng.below(4) {
                let pos = rng.below(text.len());
                match rng.below(3) {
                    0 => {
                        let t = tokens[rng.below(tokens.len())].as_bytes();
                        text.splice(pos..pos, t.iter().copied());
                    }
                    1 => {
                        let end = (pos + rng.below(12)).min(text.len());
                        text.drain(pos..end);
                    }
                    _ => text[pos] = (rng.next() & 0x7f) as u8,
                }
            }
            let text = String::from_utf8_lossy(&text);
            let _ = load_str(&text, dir.path());
        }
    }
}
