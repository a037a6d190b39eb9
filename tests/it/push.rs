//! `rcraft push` against Debian's real `docker-registry`: what skopeo sees is what `oci::validate`
//! computed; a second push uploads nothing and a changed part uploads exactly its layer and the
//! config; credentials from flags and from `DOCKER_CONFIG`; one clear error (and no retry loop)
//! for a wrong password, none, or an unreachable registry; podman pulls and runs the image;
//! dropped connections, 500s and 429s are retried; the bearer token flow upgrades its scopes;
//! no secret is ever printed. Uploads are counted from the registry's access log (see
//! `registry.rs`) or from the fault proxy's record (`faults.rs`).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;

use crate::common::{PodmanImage, TestContext, rcraft_in, require_tool, run};
use crate::faults::{Fault, FaultProxy, Rule};
use crate::registry::{TestRegistry, free_port};

const FIXTURE: &str = r#"name: app
version: '0.1'
summary: Push fixture
description: A tiny rock for the push tests.
base: bare
build-base: debian@12
license: Apache-2.0
platforms:
  amd64:
parts:
  greeting:
    plugin: nil
    override-build: |
      mkdir -p "$CRAFT_PART_INSTALL/etc"
      echo "GREETING" > "$CRAFT_PART_INSTALL/etc/greeting"
  static:
    plugin: nil
    override-build: |
      mkdir -p "$CRAFT_PART_INSTALL/usr/share/app"
      echo static > "$CRAFT_PART_INSTALL/usr/share/app/static"
"#;

const USER: &str = "pusher";
const PASSWORD: &str = "s3cret-Pa55-9f2c";

/// Packs the fixture (with `greeting` as the file's content) in `ctx`, returning the `.rock`.
fn pack_fixture(ctx: &TestContext, greeting: &str) -> PathBuf {
    ctx.write("rockcraft.yaml", FIXTURE.replace("GREETING", greeting));
    let (code, _, stderr) = run(ctx.rcraft().arg("pack"));
    assert_eq!(code, 0, "pack failed:\n{stderr}");
    let rock = ctx.path().join("app_0.1_amd64.rock");
    assert!(rock.is_file(), "no rock at {}", rock.display());
    rock
}

/// `rcraft push ARGS` in `dir`, isolated from the user's credentials: `HOME` and
/// `DOCKER_CONFIG` point into `dir`, podman's auth files are out of reach.
fn push_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = rcraft_in(dir);
    cmd.env("HOME", dir.join("home"))
        .env("DOCKER_CONFIG", dir.join("docker-config"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .arg("push")
        .args(args);
    cmd
}

/// Runs `cmd` with `input` on stdin; returns (exit code, stdout, stderr).
fn run_with_stdin(cmd: &mut Command, input: &str) -> (i32, String, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rcraft");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait rcraft");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The manifest digest skopeo reports for `docker://REF` (plain HTTP).
fn skopeo_digest(reference: &str) -> String {
    require_tool("skopeo");
    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo inspect {reference} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("skopeo JSON");
    info["Digest"].as_str().expect("Digest").to_owned()
}

fn set(items: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    items.into_iter().collect()
}

#[test]
fn push_matches_skopeo_then_skips_present_blobs_and_uploads_only_a_changed_layer() {
    let registry = TestRegistry::start();
    let ctx = TestContext::new();
    let rock = pack_fixture(&ctx, "hello");
    let summary = rcraft::oci::validate(&rock).expect("valid rock");
    let all_blobs = set(summary
        .layers
        .iter()
        .map(|l| l.digest.to_string())
        .chain([summary.config_digest.to_string()]));

    // No tag: the rock's version; no --archive: the newest .rock in the current directory.
    let target = format!("{}/app", registry.host());
    let (code, stdout, stderr) = run(&mut push_cmd(ctx.path(), &[&target]));
    assert_eq!(code, 0, "{stderr}");
    let pushed = format!("{}/app:0.1", registry.host());
    assert_eq!(
        stdout,
        format!("Pushed {pushed}@{}\n", summary.manifest_digest)
    );
    assert!(stderr.contains("uploading sha256:"), "{stderr}");
    assert_eq!(skopeo_digest(&pushed), summary.manifest_digest.to_string());
    let first = registry.requests();
    assert_eq!(set(TestRegistry::blob_uploads(&first, "app")), all_blobs);
    assert_eq!(
        TestRegistry::blob_uploads(&first, "app").len(),
        all_blobs.len()
    );

    // Again: every blob is HEADed and skipped.
    let (code, stdout, stderr) = run(&mut push_cmd(
        ctx.path(),
        &[&pushed, "--archive", "app_0.1_amd64.rock"],
    ));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with(&format!("Pushed {pushed}@")), "{stdout}");
    let second = registry.requests()[first.len()..].to_vec();
    assert_eq!(
        TestRegistry::blob_uploads(&second, "app"),
        Vec::<String>::new()
    );
    assert_eq!(
        stderr.matches("(already present)").count(),
        all_blobs.len(),
        "{stderr}"
    );

    // One part changes: its layer changes, and so does the config (its diff_ids); every other
    // layer is the same. Exactly those two blobs are uploaded.
    let rock = pack_fixture(&ctx, "changed");
    let changed = rcraft::oci::validate(&rock).expect("valid rock");
    let new_layers: Vec<String> = changed
        .layers
        .iter()
        .map(|l| l.digest.to_string())
        .filter(|d| !all_blobs.contains(d))
        .collect();
    assert_eq!(new_layers.len(), 1, "exactly one layer changes");
    assert_ne!(changed.config_digest, summary.config_digest);
    let (code, _, stderr) = run(&mut push_cmd(ctx.path(), &[&format!("{pushed}-b")]));
    assert_eq!(code, 0, "{stderr}");
    let third = registry.requests()[first.len() + second.len()..].to_vec();
    assert_eq!(
        set(TestRegistry::blob_uploads(&third, "app")),
        set([new_layers[0].clone(), changed.config_digest.to_string()])
    );
    assert_eq!(TestRegistry::blob_uploads(&third, "app").len(), 2);
    assert_eq!(
        skopeo_digest(&format!("{pushed}-b")),
        changed.manifest_digest.to_string()
    );
}

#[test]
fn credentials_from_flags_and_docker_config_work_and_wrong_ones_fail_once() {
    let registry = TestRegistry::start_with_auth(USER, PASSWORD);
    let ctx = TestContext::new();
    let rock = pack_fixture(&ctx, "auth");
    let digest = rcraft::oci::validate(&rock).expect("valid").manifest_digest;
    let target = format!("{}/secure/app:1", registry.host());

    // No credentials at all.
    let (code, stdout, stderr) = run(&mut push_cmd(ctx.path(), &[&target]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.lines().last().unwrap_or_default().starts_with(&format!(
            "cannot push to {}/secure/app: unauthorized: authentication required (no credentials found for {}",
            registry.host(),
            registry.host()
        )),
        "{stderr}"
    );

    // A wrong password: one clear error, no retry loop (an anonymous try and one with the
    // credentials).
    let before = registry.requests().len();
    let (code, stdout, stderr) = run_with_stdin(
        &mut push_cmd(
            ctx.path(),
            &[&target, "--username", USER, "--password-stdin"],
        ),
        "wrong\n",
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(
        stderr.lines().last().unwrap_or_default(),
        format!(
            "cannot push to {host}/secure/app: unauthorized: authentication required (check the credentials for {host} from --username/--password-stdin)",
            host = registry.host()
        )
    );
    let during = registry.requests().len() - before;
    assert!(during <= 2, "{during} requests for a wrong password");

    // The right password on stdin.
    let (code, stdout, stderr) = run_with_stdin(
        &mut push_cmd(
            ctx.path(),
            &[&target, "--username", USER, "--password-stdin"],
        ),
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("Pushed {target}@{digest}\n"));

    // From DOCKER_CONFIG's config.json `auths`.
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    ctx.write(
        "docker-config/config.json",
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#,
            registry.host()
        ),
    );
    let other = format!("{}/secure/other:2", registry.host());
    let (code, stdout, stderr) = run(&mut push_cmd(ctx.path(), &[&other, "--verbose"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("Pushed {other}@{digest}\n"));
    assert!(stderr.contains("using credentials for"), "{stderr}");

    // --verbose with the flags: requests are logged, secrets are not.
    let (code, stdout, stderr) = run_with_stdin(
        &mut push_cmd(
            ctx.path(),
            &[&target, "--username", USER, "--password-stdin", "--verbose"],
        ),
        PASSWORD,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("HEAD http://"), "{stderr}");
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!text.contains(PASSWORD), "password in {name}");
        assert!(!text.contains(&auth), "base64 credentials in {name}");
        assert!(!text.contains("_state="), "upload state token in {name}");
    }
}

#[test]
fn unreachable_registry_is_named_and_bad_references_and_missing_rocks_are_clear() {
    let ctx = TestContext::new();
    ctx.write("some.rock", "not an archive");
    let port = free_port();
    let (code, stdout, stderr) = run(&mut push_cmd(
        ctx.path(),
        &[&format!("127.0.0.1:{port}/app:1"), "--archive", "some.rock"],
    ));
    // An invalid archive is caught before any network traffic.
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("some.rock"), "{stderr}");

    let rock = pack_fixture(&ctx, "x");
    let (code, _, stderr) = run(push_cmd(
        ctx.path(),
        &[&format!("127.0.0.1:{port}/app:1"), "--archive"],
    )
    .arg(&rock));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        stderr.lines().last().unwrap_or_default(),
        format!("cannot reach registry 127.0.0.1:{port}: connection refused")
    );

    let (code, _, stderr) = run(&mut push_cmd(ctx.path(), &["localhost:5000/App:1"]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "invalid image reference `localhost:5000/App:1`: repository `App` must be lowercase"
        ),
        "{stderr}"
    );

    let empty = TestContext::new();
    let (code, _, stderr) = run(&mut push_cmd(empty.path(), &["localhost:5000/app"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("no .rock file in"), "{stderr}");
    assert!(stderr.contains("rcraft pack"), "{stderr}");

    // --username needs --password-stdin (a usage error, exit 2).
    let (code, _, _) = run(&mut push_cmd(
        ctx.path(),
        &["localhost:5000/app", "--username", "u"],
    ));
    assert_eq!(code, 2);
}

#[test]
fn podman_pulls_and_runs_the_pushed_busybox_example() {
    require_tool("podman");
    require_tool("busybox");
    let registry = TestRegistry::start();
    let ctx = TestContext::new();
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/busybox/rockcraft.yaml"
    ))
    .expect("example project");
    let name = format!("rcraft-it-push-{}", std::process::id());
    ctx.write(
        "rockcraft.yaml",
        example.replace("name: busybox-hello", &format!("name: {name}")),
    );
    let (code, _, stderr) = run(ctx.rcraft().arg("pack"));
    assert_eq!(code, 0, "{stderr}");

    let reference = format!("{}/{name}:0.1", registry.host());
    let (code, _, stderr) = run(&mut push_cmd(ctx.path(), &[&reference]));
    assert_eq!(code, 0, "{stderr}");

    let image = PodmanImage(reference.clone());
    let (code, _, stderr) =
        run(Command::new("podman").args(["pull", "--tls-verify=false", &image.0]));
    assert_eq!(code, 0, "podman pull failed: {stderr}");
    let (code, stdout, stderr) = run(Command::new("podman").args(["run", "--rm", &image.0]));
    assert_eq!(code, 0, "podman run failed: {stderr}");
    assert_eq!(stdout, "hello from a rock\n");
}

#[test]
fn push_survives_dropped_connections_500s_and_429s() {
    let registry = TestRegistry::start();
    let ctx = TestContext::new();
    let rock = pack_fixture(&ctx, "faults");
    let digest = rcraft::oci::validate(&rock).expect("valid").manifest_digest;
    let rules = vec![
        Rule {
            method: "PUT",
            path_contains: "/blobs/uploads/",
            nth: 1,
            fault: Fault::Drop,
        },
        Rule {
            method: "PUT",
            path_contains: "/blobs/uploads/",
            nth: 3,
            fault: Fault::Status(500),
        },
        Rule {
            method: "HEAD",
            path_contains: "/blobs/",
            nth: 2,
            fault: Fault::Status(503),
        },
        Rule {
            method: "POST",
            path_contains: "/blobs/uploads/",
            nth: 2,
            fault: Fault::TooMany,
        },
        Rule {
            method: "PUT",
            path_contains: "/manifests/",
            nth: 1,
            fault: Fault::Status(500),
        },
    ];
    let proxy = FaultProxy::start(registry.port, rules);
    let target = format!("{}/app:0.1", proxy.host());
    let (code, stdout, stderr) = run(&mut push_cmd(ctx.path(), &[&target, "--verbose"]));
    assert_eq!(code, 0, "{stderr}\n{:#?}", proxy.seen());
    assert_eq!(stdout, format!("Pushed {target}@{digest}\n"));
    assert_eq!(proxy.fired(), vec![true; 5], "{:#?}", proxy.seen());
    assert!(stderr.contains("retrying in"), "{stderr}");
    assert_eq!(
        skopeo_digest(&format!("{}/app:0.1", registry.host())),
        digest.to_string()
    );
}

#[test]
fn bearer_tokens_are_fetched_with_basic_credentials_and_upgraded_to_push() {
    let registry = TestRegistry::start();
    let ctx = TestContext::new();
    let rock = pack_fixture(&ctx, "bearer");
    let digest = rcraft::oci::validate(&rock).expect("valid").manifest_digest;
    let proxy = FaultProxy::with_token_auth(registry.port, USER, PASSWORD);
    let target = format!("{}/team/app:0.1", proxy.host());

    let (code, _, stderr) = run_with_stdin(
        &mut push_cmd(
            ctx.path(),
            &[&target, "--username", USER, "--password-stdin"],
        ),
        "wrong",
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("unauthorized: bad credentials"), "{stderr}");
    assert_eq!(proxy.token_requests().len(), 1, "{:#?}", proxy.seen());

    let (code, stdout, stderr) = run_with_stdin(
        &mut push_cmd(
            ctx.path(),
            &[&target, "--username", USER, "--password-stdin"],
        ),
        PASSWORD,
    );
    assert_eq!(code, 0, "{stderr}\n{:#?}", proxy.seen());
    assert_eq!(stdout, format!("Pushed {target}@{digest}\n"));
    // One token for the HEADs, one upgraded to push for the uploads and the manifest.
    assert_eq!(
        proxy.token_requests()[1..],
        [
            vec!["repository:team/app:pull".to_owned()],
            vec!["repository:team/app:pull,push".to_owned()]
        ],
        "{:#?}",
        proxy.seen()
    );
}

#[test]
fn the_library_client_mounts_fetches_and_verifies() {
    use rcraft::registry::{Client, ClientOptions, CredentialEnv, Reference};
    let registry = TestRegistry::start();
    let ctx = TestContext::new();
    let rock = pack_fixture(&ctx, "library");
    let summary = rcraft::oci::validate(&rock).expect("valid");
    let source = format!("{}/base/app:0.1", registry.host());
    let (code, _, stderr) = run(&mut push_cmd(ctx.path(), &[&source]));
    assert_eq!(code, 0, "{stderr}");

    let client = Client::new(ClientOptions {
        credential_env: CredentialEnv::default(),
        ..ClientOptions::default()
    })
    .expect("client");
    let source = Reference::parse(&source).expect("ref");
    let manifest = client.get_manifest(&source, &[]).expect("manifest");
    assert_eq!(manifest.digest, summary.manifest_digest);
    assert_eq!(
        manifest.media_type,
        rcraft::registry::MEDIA_TYPE_OCI_MANIFEST
    );
    let by_digest = source.with_digest(summary.manifest_digest.clone());
    assert_eq!(
        client
            .get_manifest(&by_digest, &[])
            .expect("by digest")
            .bytes,
        manifest.bytes
    );

    let layer = &summary.layers[0];
    let mut bytes = Vec::new();
    let n = client
        .get_blob_to(&source, &layer.digest, &mut bytes)
        .expect("blob");
    assert_eq!(n, layer.size);
    assert_eq!(rcraft::oci::Digest::of(&bytes), layer.digest);

    let other = source.in_repository("other/app").expect("ref");
    assert!(!client.blob_exists(&other, &layer.digest).expect("head"));
    assert!(
        client
            .mount_blob(&other, &layer.digest, "base/app")
            .expect("mount")
    );
    assert!(client.blob_exists(&other, &layer.digest).expect("head"));
    let absent = rcraft::oci::Digest::of(b"never pushed");
    assert!(
        !client
            .mount_blob(&other, &absent, "base/app")
            .expect("mount")
    );
    let err = client
        .get_blob_to(&other, &absent, &mut Vec::new())
        .expect_err("absent blob");
    assert!(
        err.to_string().starts_with("cannot find blob sha256:"),
        "{err}"
    );
    let err = client
        .get_manifest(&source.with_tag("nope").expect("tag"), &[])
        .expect_err("absent manifest");
    assert!(err.to_string().contains("manifest unknown"), "{err}");
}
