//! Rockcraft's schema for `rockcraft.yaml`. (Stub: filled in by the project work.)

use std::path::Path;

use super::{Diagnostics, Project, yaml::Node};

/// Rewrites deprecated spellings (e.g. `ubuntu:22.04`) before expansion, adding warnings.
pub fn normalise(doc: &mut Node, warnings: &mut Vec<String>) {
    let _ = (doc, warnings);
}

/// Validates the expanded document into a [`Project`], collecting every problem.
pub fn validate(doc: &Node, project_dir: &Path) -> Result<Project, Diagnostics> {
    let _ = (doc, project_dir);
    Err(Diagnostics::default())
}
