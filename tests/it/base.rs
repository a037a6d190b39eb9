//! Packing on a base image through the library API, with a fake base seeded into a temporary
//! cache (no registry): base layers reused byte for byte, usrmerge rewrites, identical files
//! pruned, run-user from the base's passwd, base digest recorded; then podman runs it.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use rcraft::base::testing::seed_from_dir;
use rcraft::base::{BaseImage, BlobCache, ResolvedBase};
use rcraft::pack::{PackError, PackOptions, Packed, pack, pack_with_bases};
use rcraft::progress::Silent;

use crate::common::{PodmanImage, TestContext, require_tool, run};

const PROJECT: &str = r#"name: NAME
version: '1.0'
summary: On a base
description: Parts on top of a seeded debian@12 base.
base: debian@12
run-user: _daemon_
platforms:
  PLATFORM:
services:
  web:
    override: replace
    command: /usr/bin/foo
    startup: enabled
parts:
  files:
    plugin: dump
    source: files
"#;

const SHARED: &str = "shipped by the base and by the part\n";

/// A fake Debian-like base: usrmerge symlinks, passwd/group/shadow, a static busybox.
fn fake_base(dir: &Path) {
    for d in ["usr/bin", "usr/lib", "usr/share/doc", "etc", "var/lib"] {
        std::fs::create_dir_all(dir.join(d)).expect("mkdir");
    }
    std::os::unix::fs::symlink("usr/bin", dir.join("bin")).expect("symlink");
    std::os::unix::fs::symlink("usr/lib", dir.join("lib")).expect("symlink");
    std::fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").expect("write");
    std::fs::write(dir.join("etc/group"), "root:x:0:\n").expect("write");
    std::fs::write(dir.join("etc/shadow"), "root:*:19000:0:99999:7:::\n").expect("write");
    std::fs::set_permissions(
        dir.join("etc/shadow"),
        std::fs::Permissions::from_mode(0o640),
    )
    .expect("chmod");
    std::fs::write(dir.join("usr/share/doc/shared.txt"), SHARED).expect("write");
    std::fs::copy("/bin/busybox", dir.join("usr/bin/busybox")).expect("copy busybox");
    for tool in ["sh", "cat", "id", "ls"] {
        std::os::unix::fs::symlink("busybox", dir.join("usr/bin").join(tool)).expect("symlink");
    }
}

struct Setup {
    ctx: TestContext,
    cache: BlobCache,
    image: BaseImage,
    name: String,
}

fn setup() -> Setup {
    require_tool("busybox");
    let ctx = TestContext::new();
    fake_base(&ctx.path().join("base"));
    let cache = BlobCache::open(ctx.path().join("cache")).expect("cache");
    let image = seed_from_dir(&cache, &ctx.path().join("base")).expect("seed");
    let name = format!("rcraft-it-base-{}", std::process::id());
    let platform = rcraft::project::host_arch();
    ctx.write(
        "project/rockcraft.yaml",
        PROJECT.replace("NAME", &name).replace("PLATFORM", platform),
    );
    let tool = ctx.write("project/files/bin/foo", "#!/bin/sh\necho foo from a part\n");
    std::fs::set_permissions(tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    ctx.write("project/files/usr/share/doc/shared.txt", SHARED);
    ctx.write("project/files/etc/app.conf", "x=1\n");
    Setup {
        ctx,
        cache,
        image,
        name,
    }
}

fn pack_in(s: &Setup, bases: &[ResolvedBase], out: &str) -> Result<Vec<Packed>, PackError> {
    let dir = s.ctx.path().join("project");
    let loaded = rcraft::project::load_str(
        &std::fs::read_to_string(dir.join("rockcraft.yaml")).expect("read"),
        &dir,
    )
    .expect("project");
    let output_dir = s.ctx.path().join(out);
    std::fs::create_dir_all(&output_dir).expect("out");
    let opts = PackOptions {
        output_dir,
        platform: None,
        build_for: None,
        source_date_epoch: 1_700_000_000,
        archive_mirror: None,
        update_lock: false,
        worker_server: None,
    };
    if bases.is_empty() {
        pack(&loaded.project, &opts, &Silent)
    } else {
        pack_with_bases(&loaded.project, &opts, bases, &Silent)
    }
}

/// Every file of the `.rock` archive by name.
fn archive_files(rock: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut ar = tar::Archive::new(std::fs::File::open(rock).expect("open rock"));
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let name = e.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("read");
        files.insert(name, data);
    }
    files
}

/// A layer's entries: path -> (type, mode, uid, gid, content).
fn layer_entries(blob: &[u8]) -> BTreeMap<String, (tar::EntryType, u32, u64, u64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(blob));
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let h = e.header().clone();
        let path = e
            .path()
            .expect("path")
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("read");
        let kind = h.entry_type();
        let mode = h.mode().expect("mode");
        out.insert(
            path,
            (
                kind,
                mode,
                h.uid().expect("uid"),
                h.gid().expect("gid"),
                data,
            ),
        );
    }
    out
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("json")
}

#[test]
fn a_project_on_a_base_reuses_its_layers_and_follows_rockcrafts_rules() {
    let s = setup();
    let base = ResolvedBase::prepare(&s.cache, s.image.clone()).expect("prepare");
    let packed = pack_in(&s, std::slice::from_ref(&base), "out").expect("pack");
    let rock = &packed[0].path;
    let summary = rcraft::oci::validate(rock).expect("valid rock");

    // Base layer first, byte for byte (same digest, size and diff_id as the seed's).
    let seed = &s.image.layers[0];
    assert_eq!(summary.layers[0].digest, seed.digest);
    assert_eq!(summary.layers[0].diff_id, seed.diff_id);
    assert_eq!(summary.layers[0].size, seed.size);
    // base, part, run-user, pebble, metadata.
    assert_eq!(summary.layers.len(), 5);

    let files = archive_files(rock);
    let blob = |d: &rcraft::oci::Digest| &files[&format!("blobs/sha256/{}", d.hex())];
    let part = layer_entries(blob(&summary.layers[1].digest));
    let paths: Vec<&str> = part.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        ["etc", "etc/app.conf", "usr", "usr/bin", "usr/bin/foo"]
    );
    assert_eq!(part["usr/bin/foo"].1, 0o755);

    let user = layer_entries(blob(&summary.layers[2].digest));
    let passwd = String::from_utf8(user["etc/passwd"].4.clone()).expect("utf8");
    assert!(
        passwd.starts_with("root:x:0:0:root:/root:/bin/sh\n"),
        "{passwd}"
    );
    assert!(passwd.contains("\n_daemon_:x:584792:584792:"), "{passwd}");
    let shadow = String::from_utf8(user["etc/shadow"].4.clone()).expect("utf8");
    assert!(shadow.ends_with(&format!("_daemon_:!:{}::::::\n", 1_700_000_000 / 86_400)));
    assert_eq!(user["etc/shadow"].1, 0o640);

    let pebble = layer_entries(blob(&summary.layers[3].digest));
    assert!(pebble.contains_key(&format!(
        "var/lib/pebble/default/layers/001-rockcraft-{}.yaml",
        s.name
    )));
    let metadata = layer_entries(blob(&summary.layers[4].digest));
    let metadata = String::from_utf8(metadata[".rock/metadata.yaml"].4.clone()).expect("utf8");
    let hex = s.image.manifest_digest.hex();
    assert!(
        metadata.contains(&format!("base-digest: {hex}")),
        "{metadata}"
    );
    assert!(metadata.contains("base: debian@12"), "{metadata}");

    let manifest = json(blob(&summary.manifest_digest));
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.base.digest"],
        hex
    );
    let config = json(blob(&summary.config_digest));
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.base.digest"],
        hex
    );
    assert_eq!(config["config"]["Env"][0], rcraft::base::testing::SEED_PATH);
    let history = config["history"].as_array().expect("history");
    // The base's own entries first (one per layer plus its empty CMD), then ours.
    assert_eq!(history[0]["created_by"], "seed layer 0");
    assert_eq!(history[1]["empty_layer"], true);
    assert_eq!(history.len(), 2 + 4 + 1);

    // Same inputs, same digest (the unpacked base comes from the cache the second time).
    let again = pack_in(&s, &[base], "out2").expect("pack again");
    assert_eq!(again[0].digest, packed[0].digest);
}

#[test]
fn a_non_bare_project_without_its_base_fails_clearly() {
    let s = setup();
    let err = pack_in(&s, &[], "out").expect_err("no base");
    assert!(matches!(err, PackError::BaseNotPulled { .. }), "{err}");
    assert!(err.is_user_error());
    assert!(
        err.to_string()
            .starts_with("base image debian@12 was not pulled"),
        "{err}"
    );
}

#[test]
fn a_rock_on_a_base_runs_in_podman() {
    require_tool("podman");
    let s = setup();
    let base = ResolvedBase::prepare(&s.cache, s.image.clone()).expect("prepare");
    let packed = pack_in(&s, &[base], "out").expect("pack");
    let image = PodmanImage(packed[0].ref_name.clone());
    let (code, _, stderr) = run(Command::new("podman")
        .arg("load")
        .arg("-i")
        .arg(&packed[0].path));
    assert_eq!(code, 0, "podman load failed: {stderr}");
    let script = "/bin/foo && cat /etc/app.conf /usr/share/doc/shared.txt && id && ls -ld /bin";
    let (code, stdout, stderr) =
        run(Command::new("podman").args(["run", "--rm", &image.0, "/bin/sh", "-c", script]));
    assert_eq!(code, 0, "podman run failed: {stderr}");
    assert!(stdout.starts_with("foo from a part\nx=1\n"), "{stdout}");
    assert!(stdout.contains(SHARED), "{stdout}");
    assert!(
        stdout.contains("uid=584792(_daemon_) gid=584792(_daemon_)"),
        "{stdout}"
    );
    assert!(stdout.contains("/bin -> usr/bin"), "{stdout}");
}
