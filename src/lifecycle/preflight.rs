//! [`check`]: what the lifecycle can refuse before any work is done.
//!
//! Nothing in `rockcraft.yaml` is silently ignored. Keys the schema accepts but rcraft cannot
//! honour yet (recorded by the project schema as [`Unsupported`]), plugins and source kinds
//! rcraft does not implement, and plugin options it cannot honour all stop `pack` and the
//! lifecycle commands here, every one of them reported at once, before a base image is pulled
//! or a part is touched.

use crate::project::{Project, Unsupported};

use super::LifecycleError;
use super::plugins;
use super::steps::resolve_source;

/// Checks that rcraft can honour every key of `project`; see the module docs.
pub fn check(project: &Project) -> Result<(), LifecycleError> {
    let mut problems: Vec<String> = project
        .unsupported
        .iter()
        .map(Unsupported::to_string)
        .collect();
    for (name, part) in &project.parts {
        let plugin =
            part.plugin
                .as_deref()
                .unwrap_or(if part.source.is_some() { "dump" } else { "nil" });
        if plugins::lookup(plugin).is_none() {
            problems.push(format!(
                "not supported yet: plugin '{plugin}' (part '{name}')"
            ));
        }
        if plugin == "npm"
            && part
                .plugin_properties
                .iter()
                .any(|(k, v)| k == "npm-include-node" && v.as_bool() == Some(true))
        {
            problems.push(format!(
                "not supported yet: npm-include-node (part '{name}')\n  hint: rcraft builds with this machine's Node.js and does not download one into the image; set it to false and stage Node.js (e.g. stage-packages: [nodejs])"
            ));
        }
        if let Err(e) = resolve_source(project, part) {
            problems.push(format!("{e} (part '{name}')"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(LifecycleError::NotSupported { problems })
    }
}
