//! Framework profiles ("extensions") as data. (Stub: filled in by the profiles work.)

use std::path::Path;

use crate::project::{Diagnostics, yaml::Node};

/// Expands the `extensions` listed in `doc` into it (removing the key) and runs their project
/// checks. Returns the names of the extensions applied.
pub fn expand(doc: &mut Node, project_dir: &Path) -> Result<Vec<String>, Diagnostics> {
    let _ = (doc, project_dir);
    Ok(Vec::new())
}

/// A profile as listed by `rcraft list-extensions`.
pub struct ExtensionInfo {
    /// Name.
    pub name: &'static str,
    /// Supported bases.
    pub bases: Vec<&'static str>,
    /// Needs ROCKCRAFT_ENABLE_EXPERIMENTAL_EXTENSIONS.
    pub experimental: bool,
}

/// The available profiles.
pub fn list() -> Vec<ExtensionInfo> {
    Vec::new()
}
