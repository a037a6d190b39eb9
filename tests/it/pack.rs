//! `rcraft pack`: the same project gives the same digest wherever and whenever it is packed;
//! the archive passes umoci and skopeo and runs under podman; a failed or interrupted pack
//! leaves no `.rock` behind.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{PodmanImage, TestContext, require_tool, run};

const FIXTURE: &str = r#"name: repro
version: '1.0'
summary: Reproducibility fixture
description: Packed from different copies, at different times, under different umasks.
base: bare
build-base: debian@12
license: Apache-2.0
run-user: _daemon_
platforms:
  amd64:
services:
  web:
    override: replace
    command: /usr/bin/tool --port 8000 [ --verbose ]
    startup: enabled
    user: _daemon_
checks:
  up:
    override: replace
    tcp: {port: 8000}
parts:
  files:
    plugin: dump
    source: files
    organize:
      'bin/*': usr/bin/
    permissions:
      - path: srv
        owner: 584792
        group: 584792
        mode: "750"
  generated:
    plugin: nil
    after: [files]
    override-build: |
      mkdir -p "$CRAFT_PART_INSTALL/etc"
      echo "generated for $CRAFT_PROJECT_NAME" > "$CRAFT_PART_INSTALL/etc/generated.conf"
      touch "$CRAFT_PART_INSTALL/etc/empty"
"#;

/// Writes the fixture project into `dir`.
fn write_fixture(ctx: &TestContext) {
    ctx.write("rockcraft.yaml", FIXTURE);
    let tool = ctx.write("files/bin/tool", "#!/bin/sh\necho tool\n");
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = ctx.write("files/srv/data.txt", "data\n");
    std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::create_dir_all(ctx.path().join("files/lib")).expect("mkdir");
    std::os::unix::fs::symlink("../srv/data.txt", ctx.path().join("files/lib/link"))
        .expect("symlink");
}

/// Runs `rcraft pack -o OUT` in `dir` under `umask`, returning the `.rock` path.
fn pack(dir: &Path, out: &Path, umask: &str, extra_env: &[(&str, &str)]) -> PathBuf {
    std::fs::create_dir_all(out).expect("out dir");
    let mut cmd = Command::new("sh");
    cmd.current_dir(dir)
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" pack -o \"$1\""))
        .arg(env!("CARGO_BIN_EXE_rcraft"))
        .arg(out)
        .env_remove("SOURCE_DATE_EPOCH");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let (code, stdout, stderr) = run(&mut cmd);
    assert_eq!(code, 0, "pack failed:\n{stderr}");
    let rock = out.join("repro_1.0_amd64.rock");
    assert!(stdout.contains("Packed "), "{stdout}");
    assert!(rock.is_file(), "no rock at {}", rock.display());
    rock
}

fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `skopeo inspect` of an archive, as JSON.
fn skopeo_inspect(rock: &Path, raw: bool) -> serde_json::Value {
    require_tool("skopeo");
    let mut cmd = Command::new("skopeo");
    cmd.arg("inspect");
    if raw {
        cmd.arg("--raw");
    }
    let out = cmd
        .arg(format!("oci-archive:{}", rock.display()))
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo inspect failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("skopeo prints JSON")
}

#[test]
fn same_project_gives_the_same_digest_across_copies_paths_times_and_umasks() {
    let a = TestContext::new();
    write_fixture(&a);
    // A second copy at another path, with other file timestamps.
    let b = TestContext::new();
    let copy = b.path().join("elsewhere/project");
    std::fs::create_dir_all(&copy).expect("mkdir");
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", a.path().display()))
        .arg(&copy)
        .status()
        .expect("cp");
    assert!(status.success());
    let status = Command::new("sh")
        .current_dir(&copy)
        .args(["-c", "find . -exec touch -h -d '2001-02-03 04:05:06' {} +"])
        .status()
        .expect("touch");
    assert!(status.success());

    let rock_a = pack(a.path(), &a.path().join("out"), "022", &[]);
    let rock_b = pack(&copy, &b.path().join("out"), "077", &[]);

    let digest_a = rcraft::oci::validate(&rock_a)
        .expect("valid rock")
        .manifest_digest;
    let digest_b = rcraft::oci::validate(&rock_b)
        .expect("valid rock")
        .manifest_digest;
    assert_eq!(digest_a, digest_b, "manifest digests differ");
    assert_eq!(
        sha256_file(&rock_a),
        sha256_file(&rock_b),
        "archives differ"
    );

    // Packing again in place changes nothing either.
    let again = pack(a.path(), &a.path().join("out2"), "002", &[]);
    assert_eq!(sha256_file(&rock_a), sha256_file(&again));

    // SOURCE_DATE_EPOCH is the only clock: it changes the digest and shows in the image.
    let dated = pack(
        a.path(),
        &a.path().join("out3"),
        "022",
        &[("SOURCE_DATE_EPOCH", "1700000000")],
    );
    let digest_dated = rcraft::oci::validate(&dated)
        .expect("valid")
        .manifest_digest;
    assert_ne!(digest_a, digest_dated);
    let info = skopeo_inspect(&dated, false);
    assert_eq!(info["Created"], "2023-11-14T22:13:20Z", "{info}");
}

#[test]
fn archive_passes_umoci_and_skopeo_with_rockcraft_layout() {
    require_tool("umoci");
    let ctx = TestContext::new();
    write_fixture(&ctx);
    let rock = pack(ctx.path(), &ctx.path().join("out"), "022", &[]);

    // skopeo: the digest we computed, the config Rockcraft sets.
    let summary = rcraft::oci::validate(&rock).expect("valid rock");
    let info = skopeo_inspect(&rock, false);
    assert_eq!(
        info["Digest"],
        summary.manifest_digest.to_string(),
        "{info}"
    );
    let layers = info["Layers"].as_array().expect("layers");
    // [worker-server,] files part, generated part, run-user, Pebble layer, metadata.
    let worker = std::env::var_os("RCRAFT_WORKER_SERVER").is_some_and(|v| !v.is_empty());
    assert_eq!(layers.len(), 5 + usize::from(worker), "{info}");
    assert_eq!(info["Labels"]["org.opencontainers.image.version"], "1.0");
    assert_eq!(
        info["Labels"]["org.opencontainers.image.licenses"],
        "Apache-2.0"
    );
    assert_eq!(
        info["Labels"]["org.opencontainers.image.description"],
        "Reproducibility fixture\n\nPacked from different copies, at different times, under different umasks."
    );
    let raw = skopeo_inspect(&rock, true);
    assert_eq!(
        raw["annotations"]["org.opencontainers.image.title"], "repro",
        "{raw}"
    );
    let config = {
        let out = Command::new("skopeo")
            .args(["inspect", "--config"])
            .arg(format!("oci-archive:{}", rock.display()))
            .output()
            .expect("skopeo");
        assert!(out.status.success());
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")
    };
    assert_eq!(config["config"]["User"], "584792", "{config}");
    if worker {
        assert_eq!(
            config["config"]["Entrypoint"],
            serde_json::json!(["/usr/bin/worker-server", "enter"]),
            "{config}"
        );
    }

    // umoci: unpack the layout and look at the root filesystem.
    let layout = ctx.path().join("layout");
    std::fs::create_dir_all(&layout).expect("mkdir");
    let status = Command::new("tar")
        .arg("-xf")
        .arg(&rock)
        .arg("-C")
        .arg(&layout)
        .status()
        .expect("tar");
    assert!(status.success());
    let bundle = ctx.path().join("bundle");
    let out = Command::new("umoci")
        .arg("unpack")
        .arg("--image")
        .arg(format!("{}:localhost/repro:1.0", layout.display()))
        .arg(&bundle)
        .output()
        .expect("run umoci");
    assert!(
        out.status.success(),
        "umoci unpack failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = bundle.join("rootfs");
    let meta = |rel: &str| {
        std::fs::symlink_metadata(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    use std::os::unix::fs::MetadataExt;
    assert_eq!(meta("usr/bin/tool").mode() & 0o7777, 0o755);
    assert_eq!(meta("srv").mode() & 0o7777, 0o750);
    assert_eq!((meta("srv").uid(), meta("srv").gid()), (584792, 584792));
    assert_eq!(
        (meta("usr/bin/tool").uid(), meta("usr/bin/tool").gid()),
        (0, 0)
    );
    assert_eq!(
        std::fs::read_link(root.join("lib/link")).expect("symlink"),
        PathBuf::from("../srv/data.txt")
    );
    let read = |rel: &str| {
        std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    assert_eq!(read("etc/generated.conf"), "generated for repro\n");
    assert_eq!(meta("etc/empty").mode() & 0o7777, 0o644);
    assert!(
        read("etc/passwd")
            .contains("_daemon_:x:584792:584792::/var/lib/pebble/default:/usr/bin/false")
    );
    assert!(read("etc/group").contains("_daemon_:x:584792:"));
    let layer = read("var/lib/pebble/default/layers/001-rockcraft-repro.yaml");
    assert!(
        layer.contains("command: /usr/bin/tool --port 8000 [ --verbose ]"),
        "{layer}"
    );
    assert!(layer.contains("port: 8000"), "{layer}");
    assert_eq!(meta("var/lib/pebble/default").mode() & 0o7777, 0o777);
    let metadata = read(".rock/metadata.yaml");
    for line in [
        "architecture: amd64",
        "base: bare",
        "name: repro",
        "version: \"1.0\"",
    ] {
        assert!(metadata.contains(line), "{line} not in:\n{metadata}");
    }
}

#[test]
fn busybox_example_loads_and_runs_in_podman() {
    require_tool("podman");
    require_tool("busybox");
    let ctx = TestContext::new();
    // The README's example, renamed so the test never touches a user's image.
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/busybox/rockcraft.yaml"
    ))
    .expect("example project");
    let name = format!("rcraft-it-busybox-{}", std::process::id());
    ctx.write(
        "rockcraft.yaml",
        example.replace("name: busybox-hello", &format!("name: {name}")),
    );
    let (code, stdout, stderr) = run(ctx.rcraft().arg("pack"));
    assert_eq!(code, 0, "{stderr}");
    let rock = ctx.path().join(format!("{name}_0.1_amd64.rock"));
    assert!(
        stdout.contains(&format!("Packed {name}_0.1_amd64.rock")),
        "{stdout}"
    );

    let image = PodmanImage(format!("localhost/{name}:0.1"));
    let (code, stdout, stderr) = run(Command::new("podman").arg("load").arg("-i").arg(&rock));
    assert_eq!(code, 0, "podman load failed: {stderr}");
    assert!(
        stdout.contains(&format!("Loaded image: {}", image.0)),
        "{stdout}"
    );

    let (code, stdout, stderr) = run(Command::new("podman").args(["run", "--rm", &image.0]));
    assert_eq!(code, 0, "podman run failed: {stderr}");
    assert_eq!(stdout, "hello from a rock\n");
    let (code, stdout, _) =
        run(Command::new("podman").args(["run", "--rm", &image.0, "other", "words"]));
    assert_eq!(code, 0);
    assert_eq!(stdout, "other words\n");
}

fn files_in(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn failing_override_script_names_part_and_step_and_writes_no_rock() {
    let ctx = TestContext::new();
    write_fixture(&ctx);
    ctx.write(
        "rockcraft.yaml",
        FIXTURE.replace(
            "touch \"$CRAFT_PART_INSTALL/etc/empty\"",
            "echo about to fail\n      exit 3",
        ),
    );
    let out = ctx.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let (code, stdout, stderr) = run(ctx.rcraft().arg("pack").arg("-o").arg(&out));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("part 'generated' failed in step build"),
        "{stderr}"
    );
    assert!(stderr.contains("status 3"), "{stderr}");
    assert!(
        stderr.contains("about to fail"),
        "script output is shown on failure: {stderr}"
    );
    assert_eq!(files_in(&out), Vec::<String>::new());
}

#[test]
fn invalid_project_writes_no_rock() {
    let ctx = TestContext::new();
    write_fixture(&ctx);
    ctx.write(
        "rockcraft.yaml",
        FIXTURE.replace("version: '1.0'", "version: '-1'"),
    );
    let (code, _, stderr) = run(ctx.rcraft().arg("pack"));
    assert_eq!(code, 1);
    assert!(stderr.contains("invalid version"), "{stderr}");
    assert!(!files_in(ctx.path()).iter().any(|f| f.contains(".rock")));
}

#[test]
fn killed_pack_leaves_no_rock_and_the_next_pack_cleans_up() {
    let ctx = TestContext::new();
    write_fixture(&ctx);
    // A build that blocks until the test kills rcraft.
    ctx.write(
        "rockcraft.yaml",
        FIXTURE.replace(
            "touch \"$CRAFT_PART_INSTALL/etc/empty\"",
            "touch \"$CRAFT_PROJECT_DIR/started\"\n      sleep 60",
        ),
    );
    // What a pack killed while writing the archive would leave.
    let stale = ctx.write(".repro_1.0_amd64.rock.AbC123.tmp", "half an archive");
    let mut child = ctx
        .rcraft()
        .arg("pack")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn rcraft");
    let started = ctx.path().join("started");
    for _ in 0..600 {
        if started.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(started.exists(), "the build never started");
    child.kill().expect("kill rcraft");
    child.wait().expect("reap rcraft");
    // Stop the orphaned `sleep` of the script.
    let _ = Command::new("pkill").args(["-f", "sleep 60"]).status();
    assert!(!ctx.path().join("repro_1.0_amd64.rock").exists());

    ctx.write("rockcraft.yaml", FIXTURE);
    let (code, _, stderr) = run(ctx.rcraft().arg("pack"));
    assert_eq!(code, 0, "{stderr}");
    assert!(ctx.path().join("repro_1.0_amd64.rock").is_file());
    assert!(!stale.exists(), "stale temp file was not removed");
}

#[test]
fn no_platform_for_this_machine_is_a_clear_error() {
    let ctx = TestContext::new();
    write_fixture(&ctx);
    ctx.write(
        "rockcraft.yaml",
        FIXTURE.replace("  amd64:\n", "  s390x:\n"),
    );
    let (code, _, stderr) = run(ctx.rcraft().arg("pack"));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("No build matches the current execution environment"),
        "{stderr}"
    );
}
