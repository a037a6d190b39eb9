//! [`Python`], the `python` plugin (Rockcraft's v1 keys: `python-requirements`,
//! `python-constraints`, `python-packages`), without a venv and without running the image's
//! Python: the host's `uv` resolves and installs wheels for the image's Python version and
//! platform ([`TargetPython`]) into `usr/local/lib/python3.N/dist-packages`, where Debian's and
//! Ubuntu's Python find them, as
//!
//! ```text
//! uv pip install --target <install>/usr/local/lib/python3.N/dist-packages \
//!     --python-version 3.N --python-platform x86_64-manylinux_2_NN --only-binary :all: \
//!     --python <host python3> --no-python-downloads --link-mode copy \
//!     [-c <constraints>]... [-r <requirements>]... [<packages>]... [<project wheel>]
//! ```
//!
//! then console scripts go to `usr/local/bin` with `#!/usr/bin/python3.N`. A project with
//! `setup.py` or a `pyproject.toml` declaring `[project]`/`[build-system]` is built into a
//! wheel first (`uv build --wheel`; pure-Python projects only). uv's cache is rcraft's
//! (`<cache>/uv`) unless `UV_CACHE_DIR` is set; `PIP_INDEX_URL`/`PIP_EXTRA_INDEX_URL` are
//! passed on as uv's when uv's own are not set; TLS trusts `SSL_CERT_FILE` as uv does.
//!
//! Deviations from Rockcraft: no venv (so no `pip`, `setuptools`, `wheel` unless listed in
//! `python-packages`, whose default is empty here), wheels only (no sdist builds), no `.pyc`
//! files (Python writes them where it may).

use std::path::{Path, PathBuf};

use super::host::{self, quote};
use super::python_env::TargetPython;
use super::python_install::{explain_uv_failure, relocate};
use super::{BuildContext, BuildInputs, Plugin, string_list};
use crate::lifecycle::StepError;
use crate::lifecycle::scripts::single_quote;
use crate::project::Part;

/// The `python` plugin.
#[derive(Clone, Copy, Debug, Default)]
pub struct Python;

/// What to install.
struct Wanted {
    requirements: Vec<String>,
    constraints: Vec<String>,
    packages: Vec<String>,
    /// The source is a Python project to build and install too.
    project: bool,
}

impl Plugin for Python {
    fn name(&self) -> &'static str {
        "python"
    }

    /// The requirements and constraints files, and the files that would make the source a
    /// Python project. Requirement lines or `python-packages` that may point into the source
    /// (`-r`, `-e`, paths, `file:` URLs) make it the whole source.
    fn build_inputs(&self, part: &Part, source: &Path) -> BuildInputs {
        if is_python_project(source) {
            return BuildInputs::WholeSource;
        }
        let (Ok(requirements), Ok(constraints), Ok(packages)) = (
            string_list(part, "python-requirements"),
            string_list(part, "python-constraints"),
            string_list(part, "python-packages"),
        ) else {
            return BuildInputs::WholeSource;
        };
        if !packages.iter().all(|p| names_only_an_index_package(p)) {
            return BuildInputs::WholeSource;
        }
        let mut files = vec!["setup.py".to_string(), "pyproject.toml".to_string()];
        for file in requirements.into_iter().chain(constraints) {
            let text = std::fs::read_to_string(source.join(&file)).unwrap_or_default();
            if !text.lines().all(names_only_an_index_package) {
                return BuildInputs::WholeSource;
            }
            files.push(file);
        }
        BuildInputs::Files(files)
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<(), StepError> {
        let wanted = Wanted {
            requirements: ctx.string_list("python-requirements")?,
            constraints: ctx.string_list("python-constraints")?,
            packages: ctx.string_list("python-packages")?,
            project: is_python_project(ctx.build_work_dir),
        };
        if wanted.requirements.is_empty() && wanted.packages.is_empty() && !wanted.project {
            return Ok(());
        }
        let target = TargetPython::detect(ctx)?;
        let uv = host::require(
            "python",
            host::find_tool_or_env("UV", "uv"),
            "uv",
            "install it (e.g. `python3 -m pip install uv` or `pipx install uv`), or set UV to its path",
        )?;
        let host_python = host::require(
            "python",
            host::find_tool("python3"),
            "python3",
            "uv runs the install with a host Python 3 (any version); install python3",
        )?;
        let uv_env = uv_environment();
        let common = format!(
            "--python {} --no-python-downloads --color never",
            quote(&host_python)
        );
        let wheel = if wanted.project {
            Some(build_project_wheel(ctx, &uv, &common, &uv_env)?)
        } else {
            None
        };
        let site = ctx.install_dir.join(target.site_dir());
        let err_file = ctx.run_dir.join("uv-install.stderr");
        let mut args = vec![
            format!("--target {}", quote(&site)),
            format!("--python-version {}", target.version()),
            format!("--python-platform {}", target.platform),
            "--only-binary :all: --link-mode copy".to_string(),
            common,
        ];
        args.extend(
            wanted
                .constraints
                .iter()
                .map(|c| format!("-c {}", single_quote(c))),
        );
        args.extend(
            wanted
                .requirements
                .iter()
                .map(|r| format!("-r {}", single_quote(r))),
        );
        args.extend(wanted.packages.iter().map(|p| single_quote(p)));
        args.extend(wheel.iter().map(|w| quote(w)));
        let mut script = uv_env;
        script.push(format!("rm -rf {}", quote(&site)));
        script.push(format!(
            "{} pip install {} 2>{err} || {{ status=$?; cat {err} >&2; exit $status; }}",
            quote(&uv),
            args.join(" "),
            err = quote(&err_file)
        ));
        script.push(format!("cat {} >&2", quote(&err_file)));
        if let Err(e) = ctx.run_commands("python-install", &script) {
            let stderr = std::fs::read_to_string(&err_file).unwrap_or_default();
            if !stderr.contains("error:") {
                return Err(e);
            }
            return Err(StepError::Plugin {
                plugin: "python",
                message: explain_uv_failure(
                    &stderr,
                    &target.version(),
                    &target.platform,
                    &target.found_in,
                ),
            });
        }
        relocate(ctx.install_dir, &site, target.minor, &target.interpreter)
    }
}

/// Lines setting uv's cache and index from rcraft's cache and pip's settings.
fn uv_environment() -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(cache) = host::cache_dir("uv") {
        lines.extend(host::default_exports(&[(
            "UV_CACHE_DIR",
            cache.to_string_lossy().into_owned(),
        )]));
    }
    lines.push(
        "[ -z \"${PIP_INDEX_URL:-}\" ] || [ -n \"${UV_INDEX_URL:-}${UV_DEFAULT_INDEX:-}\" ] \
         || export UV_INDEX_URL=\"$PIP_INDEX_URL\""
            .to_string(),
    );
    lines.push(
        "[ -z \"${PIP_EXTRA_INDEX_URL:-}\" ] || [ -n \"${UV_EXTRA_INDEX_URL:-}${UV_INDEX:-}\" ] \
         || export UV_EXTRA_INDEX_URL=\"$PIP_EXTRA_INDEX_URL\""
            .to_string(),
    );
    lines
}

/// Whether `dir` holds a Python project pip would install (`setup.py`, or a `pyproject.toml`
/// with a `[project]` or `[build-system]` table; one holding only tool settings is not).
/// A requirements line that cannot refer to a file of the source: blank, a comment, or a
/// requirement naming a package (with extras, versions, markers) rather than a path or URL.
fn names_only_an_index_package(line: &str) -> bool {
    let line = line.split(" #").next().unwrap_or_default().trim();
    line.is_empty()
        || line.starts_with('#')
        || !(line.starts_with('-')
            || line.starts_with('.')
            || line.contains('/')
            || line.contains(':')
            || line.contains('@'))
}

fn is_python_project(dir: &Path) -> bool {
    if dir.join("setup.py").is_file() {
        return true;
    }
    // A pyproject.toml that is not TOML is left for `uv build` to report.
    std::fs::read_to_string(dir.join("pyproject.toml")).is_ok_and(|text| {
        text.parse::<toml::Table>().map_or(true, |doc| {
            doc.contains_key("project") || doc.contains_key("build-system")
        })
    })
}

/// Builds the source into a pure-Python wheel with `uv build` and returns its path.
fn build_project_wheel(
    ctx: &BuildContext<'_>,
    uv: &Path,
    common: &str,
    uv_env: &[String],
) -> Result<PathBuf, StepError> {
    let out = ctx.run_dir.join("wheel");
    let mut script = uv_env.to_vec();
    script.push(format!("rm -rf {}", quote(&out)));
    script.push(format!(
        "{} build --wheel --out-dir {} {common} .",
        quote(uv),
        quote(&out)
    ));
    ctx.run_commands("python-build-wheel", &script)?;
    let wheels: Vec<PathBuf> = std::fs::read_dir(&out)
        .map_err(|e| StepError::io("read", &out, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    let [wheel] = wheels.as_slice() else {
        return Err(StepError::Plugin {
            plugin: "python",
            message: format!(
                "`uv build --wheel` made {} wheels in `{}`, expected one",
                wheels.len(),
                out.display()
            ),
        });
    };
    let name = wheel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.ends_with("-none-any.whl") {
        return Err(StepError::Plugin {
            plugin: "python",
            message: format!(
                "the project builds a platform-specific wheel ({name}): rcraft builds only \
                 pure-Python projects, with the host's Python; ship the compiled part as a \
                 wheel for the image's Python instead"
            ),
        });
    }
    Ok(wheel.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_lines_that_may_point_into_the_source_are_told_apart() {
        for line in [
            "",
            "# pinned",
            "Flask",
            "gunicorn[gevent]>=23",
            "uvicorn ; python_version >= '3.8'",
            "Django>=4.2,<6  # LTS",
        ] {
            assert!(names_only_an_index_package(line), "{line}");
        }
        for line in [
            "-r other.txt",
            "-e .",
            "./wheels/x.whl",
            "pkg @ file:///tmp/x",
            "lib/pkg",
            "--hash=sha256:00",
        ] {
            assert!(!names_only_an_index_package(line), "{line}");
        }
    }

    #[test]
    fn build_inputs_are_the_requirements_files_unless_the_source_is_a_project() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("requirements.txt"), "Flask\n").unwrap();
        let part = Part {
            plugin_properties: vec![(
                "python-requirements".to_string(),
                serde_json::json!(["requirements.txt"]),
            )],
            ..Part::default()
        };
        assert_eq!(
            Python.build_inputs(&part, dir.path()),
            BuildInputs::Files(vec![
                "setup.py".into(),
                "pyproject.toml".into(),
                "requirements.txt".into()
            ])
        );
        std::fs::write(dir.path().join("requirements.txt"), "-r base.txt\n").unwrap();
        assert_eq!(
            Python.build_inputs(&part, dir.path()),
            BuildInputs::WholeSource
        );
        let mut local = part.clone();
        local.plugin_properties.push((
            "python-packages".to_string(),
            serde_json::json!(["./vendored/pkg"]),
        ));
        std::fs::write(dir.path().join("requirements.txt"), "Flask\n").unwrap();
        assert_eq!(
            Python.build_inputs(&local, dir.path()),
            BuildInputs::WholeSource
        );
        std::fs::write(dir.path().join("requirements.txt"), "Flask\n").unwrap();
        std::fs::write(dir.path().join("setup.py"), "").unwrap();
        assert_eq!(
            Python.build_inputs(&part, dir.path()),
            BuildInputs::WholeSource
        );
    }
}
