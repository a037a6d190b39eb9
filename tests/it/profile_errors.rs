//! A framework profile's project checks through the CLI: `rcraft pack` in a copy of a profile's
//! example (`examples/<profile>/`) with its required file or dependency taken away fails with
//! exit code 1 and Rockcraft's message, pointing at the extension in `rockcraft.yaml`, before
//! anything is built. One table, one row per missing thing; no podman, no network.

use std::path::Path;

use crate::common::{TestContext, run};
use crate::profiles_e2e::{copy_example, example_name};

/// What a row does to the example before packing.
enum Break {
    /// Deletes the file (relative to the project).
    Remove(&'static str),
    /// Replaces the file's contents.
    Write(&'static str, &'static str),
}

/// The table: profile, what is broken, Rockcraft's message (or, when it names paths of this
/// machine, its start).
const CASES: &[(&str, Break, &str)] = &[
    (
        "flask-framework",
        Break::Remove("requirements.txt"),
        "missing a requirements file (requirements.txt or pyproject.toml). The flask-framework \
         extension requires one of these files with 'flask' specified as a dependency.",
    ),
    (
        "flask-framework",
        Break::Write("requirements.txt", "requests\ngunicorn\n"),
        "missing flask package dependency in requirements file.",
    ),
    (
        "django-framework",
        Break::Remove("requirements.txt"),
        "missing requirements.txt file, django-framework extension requires this file with \
         Django specified as a dependency",
    ),
    (
        "django-framework",
        Break::Remove("hello_django/hello_django/wsgi.py"),
        "django application can not be imported, unable to locate a wsgi.py with an \
         'application' callable in the default discovery locations (",
    ),
    (
        "fastapi-framework",
        Break::Remove("requirements.txt"),
        "missing a requirements.txt file. The fastapi-framework extension requires this file \
         with 'fastapi'/'starlette' specified as a dependency.",
    ),
    (
        "fastapi-framework",
        Break::Write("requirements.txt", "uvicorn\n"),
        "missing fastapi or starlette package dependency in requirements.txt file.",
    ),
    (
        "go-framework",
        Break::Remove("go.mod"),
        "missing go.mod file, it should be present in the project directory",
    ),
    (
        "expressjs-framework",
        Break::Remove("app/package.json"),
        "missing package.json file in 'app' directory",
    ),
    (
        "expressjs-framework",
        Break::Write(
            "app/package.json",
            r#"{"name": "hello-expressjs", "version": "0.1.0", "scripts": {"test": "true"}}"#,
        ),
        "missing 'scripts.start' field in package.json",
    ),
];

#[test]
fn a_project_missing_what_its_profile_needs_fails_to_pack_with_rockcrafts_message() {
    for (profile, broken, message) in CASES {
        let ctx = TestContext::new();
        let name = example_name(profile);
        copy_example(profile, ctx.path(), name);
        let what = match broken {
            Break::Remove(rel) => {
                std::fs::remove_file(ctx.path().join(rel)).expect("remove");
                format!("without {rel}")
            }
            Break::Write(rel, text) => {
                ctx.write(rel, text);
                format!("with {rel} = {text:?}")
            }
        };
        let (code, stdout, stderr) = run(ctx.rcraft().arg("pack"));
        assert_eq!(code, 1, "{profile} {what}: {stderr}");
        assert!(stdout.is_empty(), "{profile} {what}: {stdout}");
        // One problem, reported once, at the extension's entry in rockcraft.yaml.
        let line = format!(": {message}");
        assert_eq!(
            stderr.matches(&line).count(),
            1,
            "{profile} {what}: {stderr}"
        );
        let reported = stderr
            .lines()
            .find(|l| l.contains(&line))
            .unwrap_or_default();
        assert!(
            reported.starts_with("- rockcraft.yaml:"),
            "{profile} {what}: {stderr}"
        );
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("- ")).count(),
            1,
            "{profile} {what}: only this problem: {stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "reference/extensions/{profile}/#project-requirements"
            )),
            "{profile} {what}: {stderr}"
        );
        // Nothing was built.
        assert!(!built_anything(ctx.path()), "{profile} {what}");
    }
}

/// Whether `pack` left a rock or a work directory in `dir`.
fn built_anything(dir: &Path) -> bool {
    dir.join(".rcraft").exists()
        || std::fs::read_dir(dir)
            .expect("read dir")
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".rock"))
}
