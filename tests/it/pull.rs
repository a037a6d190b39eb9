//! Packing on a real base image pulled from a registry: a Debian rootfs seeded into Debian's
//! `docker-registry` is pulled through the mirror setting, a project is packed on top of it
//! and the result runs under podman.

use std::path::Path;
use std::process::Command;

use crate::common::{PodmanImage, TestContext, require_tool, run};
use crate::registry::TestRegistry;
use crate::seed::seed_debian;

const PROJECT: &str = r#"name: on-debian
version: '0.1'
summary: A part on top of Debian
description: Pulled through a mirror.
base: debian@12
platforms:
  amd64:
entrypoint-command: /bin/sh -c [ "cat /etc/debian_version /usr/share/hello/hello.txt; id -u" ]
run-user: _daemon_
parts:
  hello:
    plugin: nil
    override-build: |
      mkdir -p "$CRAFT_PART_INSTALL/usr/share/hello"
      echo "hello from a part" > "$CRAFT_PART_INSTALL/usr/share/hello/hello.txt"
"#;

fn pack(dir: &Path, cache: &Path, mirror: &str, extra: &[&str]) -> (i32, String, String) {
    run(crate::common::rcraft_in(dir)
        .arg("pack")
        .args(extra)
        .env("RCRAFT_CACHE_DIR", cache)
        .env("RCRAFT_BASE_MIRROR", mirror))
}

#[test]
fn project_on_a_seeded_debian_base_packs_and_runs() {
    require_tool("podman");
    let registry = TestRegistry::start();
    let work = TestContext::new();
    seed_debian(
        work.path(),
        &format!("{}/library/debian:bookworm", registry.host()),
    );

    let ctx = TestContext::new();
    let name = format!("rcraft-it-debian-{}", std::process::id());
    ctx.write(
        "rockcraft.yaml",
        PROJECT.replace("name: on-debian", &format!("name: {name}")),
    );
    let cache = work.path().join("cache");
    let (code, stdout, stderr) = pack(ctx.path(), &cache, &registry.host(), &["--verbose"]);
    assert_eq!(code, 0, "pack failed:\n{stderr}");
    assert!(
        stdout.contains(&format!("Packed {name}_0.1_amd64.rock")),
        "{stdout}"
    );
    let rock = ctx.path().join(format!("{name}_0.1_amd64.rock"));

    // The base layer is reused as it is: same digest as in the registry.
    let remote = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(format!(
            "docker://{}/library/debian:bookworm",
            registry.host()
        ))
        .output()
        .expect("skopeo");
    assert!(remote.status.success());
    let remote: serde_json::Value = serde_json::from_slice(&remote.stdout).expect("json");
    let summary = rcraft::oci::validate(&rock).expect("valid rock");
    let base_layer = remote["Layers"][0].as_str().expect("base layer");
    assert_eq!(summary.layers[0].digest.to_string(), base_layer);
    let remote_digest = remote["Digest"].as_str().expect("digest");
    let local = Command::new("skopeo")
        .args(["inspect"])
        .arg(format!("oci-archive:{}", rock.display()))
        .output()
        .expect("skopeo");
    let local: serde_json::Value = serde_json::from_slice(&local.stdout).expect("json");
    assert_eq!(
        local["Labels"]["org.opencontainers.image.base.digest"],
        remote_digest.trim_start_matches("sha256:"),
        "{local}"
    );

    // It runs: Debian's files, the part's file, as the run-user.
    let image = PodmanImage(format!("localhost/{name}:0.1"));
    let (code, _, stderr) = run(Command::new("podman").arg("load").arg("-i").arg(&rock));
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(Command::new("podman").args(["run", "--rm", &image.0]));
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("12.")),
        "{stdout}"
    );
    assert_eq!(lines.get(1), Some(&"hello from a part"), "{stdout}");
    assert_eq!(lines.get(2), Some(&"584792"), "{stdout}");

    // Pushing to the registry the base came from mounts the base layer instead of uploading it.
    let (code, stdout, stderr) = run(crate::common::rcraft_in(ctx.path())
        .arg("push")
        .arg(format!("{}/apps/{name}:0.1", registry.host()))
        .arg("--archive")
        .arg(&rock));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&summary.manifest_digest.to_string()),
        "{stdout}"
    );
    assert!(stderr.contains("1 mounted"), "{stderr}");

    // A second pack pulls nothing and gives the same image; with the registry gone, the
    // copy pulled before is used (with a warning).
    let before = registry.requests().len();
    let (code, _, stderr) = pack(ctx.path(), &cache, &registry.host(), &["-o", "again"]);
    assert_eq!(code, 0, "{stderr}");
    let blob_gets = registry.requests()[before..]
        .iter()
        .filter(|r| r.method == "GET" && r.uri.contains("/blobs/"))
        .count();
    assert_eq!(blob_gets, 0, "blobs downloaded again");
    let host = registry.host();
    drop(registry);
    let (code, _, stderr) = pack(ctx.path(), &cache, &host, &["-o", "offline"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("using the copy pulled earlier"), "{stderr}");
    let offline = rcraft::oci::validate(&ctx.path().join(format!("offline/{name}_0.1_amd64.rock")))
        .expect("valid");
    assert_eq!(offline.manifest_digest, summary.manifest_digest);
}

#[test]
fn unreachable_mirror_without_a_cached_copy_is_a_clear_error() {
    let ctx = TestContext::new();
    ctx.write("rockcraft.yaml", PROJECT);
    let port = crate::registry::free_port();
    let cache = ctx.path().join("cache");
    let (code, _, stderr) = pack(ctx.path(), &cache, &format!("127.0.0.1:{port}"), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach registry 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("library/debian:bookworm"), "{stderr}");
}
