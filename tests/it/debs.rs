//! `stage-packages` against the real Debian archive (the mirror from the host's apt
//! configuration): python3 staged on a bare base runs in podman, the lock file makes a rebuild
//! identical (and needs no network once the cache has the packages), and bad package names
//! fail naming the part, the step and close names, with no `.rock` written.
//!
//! Downloads go to a cache under the system temp dir shared by these tests (never the user's
//! cache), so only the first run downloads python3's closure (~15 MB).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{PodmanImage, TestContext, require_tool, run};

fn project(name: &str, packages: &str) -> String {
    format!(
        r#"name: {name}
version: '0.1'
summary: python3 from Debian packages
description: stage-packages on a bare base.
base: bare
build-base: debian@12
license: Apache-2.0
platforms:
  amd64:
entrypoint-command: /usr/bin/python3 -c [ "import ssl, sqlite3, json; print('ok')" ]
parts:
  py:
    plugin: nil
    stage-packages: {packages}
"#
    )
}

/// The download cache these tests share.
fn cache_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("debs-cache")
}

/// `rcraft pack` in `dir` with the test cache; `env` adds variables.
fn pack(dir: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = crate::common::rcraft_in(dir);
    cmd.arg("pack")
        .env("RCRAFT_CACHE_DIR", cache_dir())
        .env_remove("RCRAFT_ARCHIVE_MIRROR")
        .env_remove("RCRAFT_ARCHIVE_SECURITY_MIRROR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

fn rocks_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".rock"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn python3_from_debian_runs_on_bare_and_the_lock_makes_rebuilds_identical() {
    require_tool("podman");
    let ctx = TestContext::new();
    let name = format!("rcraft-it-debs-{}", std::process::id());
    ctx.write("rockcraft.yaml", project(&name, "[python3]"));
    let (code, stdout, stderr) = pack(ctx.path(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("Packed {name}_0.1_amd64.rock")),
        "{stdout}"
    );
    let rock = ctx.path().join(format!("{name}_0.1_amd64.rock"));
    let first = std::fs::read(&rock).expect("rock");

    // The lock file lists the closure with exact versions and hashes.
    let lock_path = ctx.path().join("rcraft.lock");
    let lock_text = std::fs::read_to_string(&lock_path).expect("rcraft.lock written");
    let lock: serde_json::Value = serde_json::from_str(&lock_text).expect("lock is JSON");
    let entry = &lock["parts"]["py"]["amd64"];
    assert_eq!(entry["build-base"], "debian@12");
    assert_eq!(entry["stage-packages"], serde_json::json!(["python3"]));
    let packages = entry["packages"].as_array().expect("packages");
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    for wanted in ["python3", "libc6", "libssl3", "libsqlite3-0"] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "packages are sorted by name");
    assert!(
        packages
            .iter()
            .all(|p| p["sha256"].as_str().is_some_and(|s| s.len() == 64))
    );

    let image = PodmanImage(format!("localhost/{name}:0.1"));
    let (code, _, stderr) = run(Command::new("podman").arg("load").arg("-i").arg(&rock));
    assert_eq!(code, 0, "podman load failed: {stderr}");
    let (code, stdout, stderr) = run(Command::new("podman").args(["run", "--rm", &image.0]));
    assert_eq!(code, 0, "podman run failed: {stderr}");
    assert_eq!(stdout, "ok\n");

    // Rebuild from the lock file with an unreachable mirror: everything comes from the lock
    // and the cache, and the rock is byte-identical.
    std::fs::remove_file(&rock).expect("remove rock");
    let (code, _, stderr) = pack(
        ctx.path(),
        &[("RCRAFT_ARCHIVE_MIRROR", "file:///nonexistent-mirror")],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        std::fs::read(&rock).expect("rock") == first,
        "rebuild differs"
    );
    assert_eq!(
        std::fs::read_to_string(&lock_path).expect("lock"),
        lock_text
    );
}

#[test]
fn an_unknown_package_names_part_step_and_a_close_name_and_writes_no_rock() {
    let ctx = TestContext::new();
    ctx.write("rockcraft.yaml", project("typo", "[pyhton3]"));
    let (code, stdout, stderr) = pack(ctx.path(), &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "part 'py' failed in step pull: cannot find package 'pyhton3' in debian bookworm (amd64): did you mean 'python3'?"
        ),
        "{stderr}"
    );
    assert!(rocks_in(ctx.path()).is_empty());
    assert!(!ctx.path().join("rcraft.lock").exists());
}

#[test]
fn chisel_slices_are_reported_as_not_supported_yet() {
    let ctx = TestContext::new();
    ctx.write("rockcraft.yaml", project("slices", "[python3_core]"));
    let (code, _, stderr) = pack(ctx.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "part 'py' failed in step pull: chisel slices are not supported yet: 'python3_core' (part 'py')"
        ),
        "{stderr}"
    );
    assert!(rocks_in(ctx.path()).is_empty());
}
