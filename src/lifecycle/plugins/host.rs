//! What the toolchain plugins need from the host: finding a tool on rcraft's own `PATH` (not
//! the build environment's, which puts the part's and the stage's `bin/` dirs first, where the
//! image's binaries are), a clear error when it is missing, rcraft's cache directory for the
//! tools' caches, and script lines for the plugins' default environment.

use std::path::{Path, PathBuf};

use crate::lifecycle::StepError;
use crate::lifecycle::scripts::single_quote;

/// The executable `name` on the host's `PATH`, if any.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// The tool named by environment variable `var` (an absolute path or a name on `PATH`), else
/// `name` on `PATH`; `None` if neither exists.
pub fn find_tool_or_env(var: &str, name: &str) -> Option<PathBuf> {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(v) if Path::new(&v).components().count() > 1 => {
            let p = PathBuf::from(v);
            is_executable(&p).then_some(p)
        }
        Some(v) => find_tool(&v.to_string_lossy()),
        None => find_tool(name),
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `tool`, or a plugin error saying it is missing and how to get it.
pub fn require(
    plugin: &'static str,
    found: Option<PathBuf>,
    tool: &str,
    how: &str,
) -> Result<PathBuf, StepError> {
    found.ok_or_else(|| StepError::Plugin {
        plugin,
        message: format!(
            "`{tool}` is not installed on this machine (rcraft builds with the host's {tool}): {how}"
        ),
    })
}

/// `<rcraft cache>/<sub>` (`$RCRAFT_CACHE_DIR`, `$XDG_CACHE_HOME/rcraft` or
/// `~/.cache/rcraft`), or `None` when there is no cache dir (the tool then uses its own).
pub fn cache_dir(sub: &str) -> Option<PathBuf> {
    crate::base::cache::default_dir()
        .ok()
        .and_then(|d| std::path::absolute(d).ok())
        .map(|d| d.join(sub))
}

/// Script lines exporting the plugin's defaults for variables that neither the host's
/// environment nor the part's `build-environment` set (to a non-empty value).
pub fn default_exports(vars: &[(&str, String)]) -> Vec<String> {
    vars.iter()
        .map(|(k, v)| format!("[ -n \"${{{k}:-}}\" ] || export {k}={}", single_quote(v)))
        .collect()
}

/// A path quoted for the plugin's bash script.
pub fn quote(p: &Path) -> String {
    single_quote(&p.to_string_lossy())
}
