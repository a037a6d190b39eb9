//! [`Npm`], the `npm` plugin (keys `npm-include-node`, `npm-node-version`), with the host's
//! `node` and `npm` as Rockcraft's plugin uses the build instance's:
//!
//! ```text
//! npm install -g --prefix <install> --omit=dev $(npm pack . | tail -1)
//! ```
//!
//! so the package lands in `<install>/lib/node_modules/<name>` with its production
//! dependencies, and its `bin` entries in `<install>/bin`. npm's cache is rcraft's
//! (`<cache>/npm`) unless `npm_config_cache` is set; the registry, proxy and CA come from the
//! user's npm configuration. `npm-include-node: true` (download Node.js into the image) is not
//! supported yet: the image's Node.js must come from another part or the base.

use super::host::{self, quote};
use super::{BuildContext, Plugin};
use crate::lifecycle::StepError;

/// The `npm` plugin.
#[derive(Clone, Copy, Debug, Default)]
pub struct Npm;

impl Plugin for Npm {
    fn name(&self) -> &'static str {
        "npm"
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<(), StepError> {
        // `npm-include-node: true` is refused up front (see `lifecycle::preflight`).
        let how = "install Node.js with npm (Debian/Ubuntu: `apt install nodejs npm`)";
        host::require("npm", host::find_tool("node"), "node", how)?;
        let npm = host::require("npm", host::find_tool("npm"), "npm", how)?;
        if !ctx.build_work_dir.join("package.json").is_file() {
            return Err(StepError::Plugin {
                plugin: "npm",
                message: format!(
                    "no package.json in `{}` (set `source` or `source-subdir` to the package)",
                    ctx.build_work_dir.display()
                ),
            });
        }
        let mut script = Vec::new();
        if let Some(cache) = host::cache_dir("npm") {
            script.extend(host::default_exports(&[(
                "npm_config_cache",
                cache.to_string_lossy().into_owned(),
            )]));
        }
        let npm = quote(&npm);
        script.push(format!("tarball=\"$({npm} pack . | tail -1)\""));
        script.push(format!(
            "{npm} install -g --prefix {} --omit=dev --no-audit --no-fund \"$tarball\"",
            quote(ctx.install_dir)
        ));
        ctx.run_commands("npm-build", &script)
    }
}
