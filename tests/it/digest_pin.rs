//! Pinned image digests: the same inputs must give the same bytes release after release, not
//! only run after run. A change to how layers, configs, manifests or archives are written shows
//! here first; if it is intended, the pins change in the same commit, and the commit says why.
//!
//! The worker-server bundled in every rock is replaced by a fixed 129-byte static ELF (through
//! `RCRAFT_WORKER_SERVER`), so the pins do not depend on the compiler that built rcraft.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rcraft::base::BlobCache;
use rcraft::base::testing::seed_from_dir;

use crate::common::{TestContext, run};

/// A bare rock: dump and nil parts, organize, permissions, run-user, a service and a check.
const BARE: &str = r#"name: pinned
version: '1.0'
summary: Digest pin
description: Packed with fixed inputs; its digest must never change by accident.
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
"#;

/// The same parts on a seeded `debian@12` base (its history, `Env` and layers come first).
const ON_BASE: &str = r#"name: pinned-base
version: '1.0'
summary: Digest pin on a base
description: Packed on a seeded base with fixed inputs.
base: debian@12
license: Apache-2.0
run-user: _daemon_
platforms:
  amd64:
services:
  web:
    override: replace
    command: /usr/bin/tool
    startup: enabled
parts:
  files:
    plugin: dump
    source: files
    organize:
      'bin/*': usr/bin/
"#;

const PIN_BARE: &str = "sha256:c69684296ba6e783071391fe2a4419105eeb8be8aff890fb31373126fb068d24";
const PIN_ON_BASE: &str = "sha256:df81af6451a4ad43412f8dbb5ac4c137b9ebe4aee74b76f29e2537cf3b6eee7d";

/// A minimal static x86-64 executable (ELF header, one PT_LOAD, `exit(0)`).
fn tiny_static_elf() -> Vec<u8> {
    let code: &[u8] = &[0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05];
    let total = (64 + 56 + code.len()) as u64;
    let mut elf = Vec::new();
    elf.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    elf.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf.extend_from_slice(&0x3eu16.to_le_bytes()); // x86-64
    elf.extend_from_slice(&1u32.to_le_bytes());
    elf.extend_from_slice(&(0x40_0000u64 + 120).to_le_bytes()); // entry
    elf.extend_from_slice(&64u64.to_le_bytes()); // phoff
    elf.extend_from_slice(&0u64.to_le_bytes()); // shoff
    elf.extend_from_slice(&0u32.to_le_bytes());
    for v in [64u16, 56, 1, 0, 0, 0] {
        elf.extend_from_slice(&v.to_le_bytes());
    }
    elf.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    elf.extend_from_slice(&5u32.to_le_bytes()); // R+X
    for v in [0u64, 0x40_0000, 0x40_0000, total, total, 0x1000] {
        elf.extend_from_slice(&v.to_le_bytes());
    }
    elf.extend_from_slice(code);
    elf
}

/// Writes the parts' files under `dir/files` and the fixed worker-server, returning its path.
fn write_inputs(ctx: &TestContext, dir: &str) -> PathBuf {
    let tool = ctx.write(&format!("{dir}/files/bin/tool"), "#!/bin/sh\necho tool\n");
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = ctx.write(&format!("{dir}/files/srv/data.txt"), "data\n");
    std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let worker = ctx.write("worker-server", tiny_static_elf());
    std::fs::set_permissions(&worker, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    worker
}

/// Sets directories and executables under `root` to 0755 and other files to 0644, so the
/// inputs do not depend on the umask.
fn fix_modes(root: &Path) {
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        let entry = entry.expect("walk");
        let meta = entry.metadata().expect("stat");
        let mode = match () {
            _ if entry.file_type().is_symlink() => continue,
            _ if meta.is_dir() || meta.permissions().mode() & 0o100 != 0 => 0o755,
            _ => 0o644,
        };
        std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode))
            .expect("chmod");
    }
}

/// The manifest digest of the one rock `rcraft pack` printed.
fn packed_digest(
    ctx: &TestContext,
    project: &Path,
    extra: &[(&str, &Path)],
    args: &[&str],
) -> String {
    fix_modes(ctx.path());
    let out = ctx.path().join("out");
    let mut cmd = crate::common::rcraft_in(project);
    cmd.args(["pack", "-o"]).arg(&out).args(args);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let (code, stdout, stderr) = run(&mut cmd);
    assert_eq!(code, 0, "pack failed:\n{stderr}");
    let rock = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Packed "))
        .map(|p| out.join(Path::new(p).file_name().expect("file name")))
        .expect("a Packed line");
    let summary = rcraft::oci::validate(&rock).expect("valid rock");
    summary.manifest_digest.to_string()
}

#[test]
fn a_bare_rock_keeps_its_pinned_digest() {
    let ctx = TestContext::new();
    let worker = write_inputs(&ctx, "project");
    ctx.write("project/rockcraft.yaml", BARE);
    let digest = packed_digest(
        &ctx,
        &ctx.path().join("project"),
        &[("RCRAFT_WORKER_SERVER", &worker)],
        &[],
    );
    assert_eq!(digest, PIN_BARE);
}

#[test]
fn a_rock_on_a_base_keeps_its_pinned_digest() {
    let ctx = TestContext::new();
    let worker = write_inputs(&ctx, "project");
    ctx.write("project/rockcraft.yaml", ON_BASE);
    // A small Debian-like base with fixed contents, seeded into a cache of its own.
    ctx.write("base/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    ctx.write("base/etc/group", "root:x:0:\n");
    ctx.write("base/usr/bin/.keep", "");
    std::os::unix::fs::symlink("usr/bin", ctx.path().join("base/bin")).expect("symlink");
    let cache_dir = ctx.path().join("cache");
    fix_modes(&ctx.path().join("base"));
    let cache = BlobCache::open(&cache_dir).expect("cache");
    let image = seed_from_dir(&cache, &ctx.path().join("base")).expect("seed");
    let pin = image.manifest_digest.to_string();
    let digest = packed_digest(
        &ctx,
        &ctx.path().join("project"),
        &[
            ("RCRAFT_WORKER_SERVER", &worker),
            ("RCRAFT_CACHE_DIR", &cache_dir),
        ],
        &["--base-digest", &pin],
    );
    assert_eq!(digest, PIN_ON_BASE);
}
