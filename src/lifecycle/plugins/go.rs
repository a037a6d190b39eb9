//! [`Go`], the `go` plugin (keys `go-buildtags`, `go-generate`), with the host's `go` as
//! Rockcraft's plugin uses the build instance's:
//!
//! ```text
//! go mod download all
//! go generate <each go-generate entry>
//! go install -p <CRAFT_PARALLEL_BUILD_COUNT> -trimpath [-tags=a,b] ./...   # GOBIN=<install>/bin
//! ```
//!
//! Defaults (each yields to the host's environment and to `build-environment`):
//! `CGO_ENABLED=0` on `bare` (there is no libc to link against), `GOOS=linux`, `GOARCH` from
//! the platform's `build-for`, `GOCACHE`/`GOMODCACHE` under rcraft's cache. `GOFLAGS` gets
//! `-buildvcs=false` (the build dir sits inside the project's checkout, whose state must not
//! change the binary) and `-modcacherw` (a cache rcraft can delete). Cross builds use
//! `go build -o <install>/bin/` since `go install` refuses them with `GOBIN` set.

use super::host::{self, quote};
use super::{BuildContext, Plugin};
use crate::lifecycle::StepError;
use crate::lifecycle::scripts::single_quote;

/// The `go` plugin.
#[derive(Clone, Copy, Debug, Default)]
pub struct Go;

impl Plugin for Go {
    fn name(&self) -> &'static str {
        "go"
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<(), StepError> {
        let go = host::require(
            "go",
            host::find_tool("go"),
            "go",
            "install Go (Debian/Ubuntu: `apt install golang-go`)",
        )?;
        if !ctx.build_work_dir.join("go.mod").is_file() {
            return Err(StepError::Plugin {
                plugin: "go",
                message: format!(
                    "no go.mod in `{}`: the go plugin builds a Go module (run `go mod init`)",
                    ctx.build_work_dir.display()
                ),
            });
        }
        let goarch = go_arch(ctx.build_for)?;
        let tags = ctx.string_list("go-buildtags")?;
        let generate = ctx.string_list("go-generate")?;
        let bin = ctx.install_dir.join("bin");

        let mut defaults = vec![("GOOS", "linux".to_string()), ("GOARCH", goarch)];
        if ctx.build_for == "armhf" {
            defaults.push(("GOARM", "7".to_string()));
        }
        if ctx.bare {
            defaults.push(("CGO_ENABLED", "0".to_string()));
        }
        for (var, sub) in [("GOCACHE", "go/build"), ("GOMODCACHE", "go/mod")] {
            if let Some(dir) = host::cache_dir(sub) {
                defaults.push((var, dir.to_string_lossy().into_owned()));
            }
        }
        let mut script = host::default_exports(&defaults);
        script.push(format!("export GOBIN={}", quote(&bin)));
        script.push(
            "export GOFLAGS=\"-buildvcs=false -modcacherw${GOFLAGS:+ $GOFLAGS}\"".to_string(),
        );
        let go = quote(&go);
        script.push(format!("{go} mod download all"));
        for g in &generate {
            script.push(format!("{go} generate {}", single_quote(g)));
        }
        let tags = if tags.is_empty() {
            String::new()
        } else {
            format!(" {}", single_quote(&format!("-tags={}", tags.join(","))))
        };
        let jobs = ctx.parallel_build_count;
        if ctx.build_for == ctx.build_on {
            script.push(format!("{go} install -p {jobs} -trimpath{tags} ./..."));
        } else {
            script.push(format!("mkdir -p {}", quote(&bin)));
            script.push(format!(
                "{go} build -p {jobs} -trimpath{tags} -o {}/ ./...",
                quote(&bin)
            ));
        }
        ctx.run_commands("go-build", &script)
    }
}

/// Go's `GOARCH` for a Debian architecture.
fn go_arch(debian: &str) -> Result<String, StepError> {
    Ok(match debian {
        "amd64" => "amd64",
        "arm64" => "arm64",
        "armhf" => "arm",
        "i386" => "386",
        "ppc64el" => "ppc64le",
        "riscv64" => "riscv64",
        "s390x" => "s390x",
        other => {
            return Err(StepError::Plugin {
                plugin: "go",
                message: format!("no Go architecture for '{other}'"),
            });
        }
    }
    .to_string())
}
