//! Seeds a real Debian base image into a test registry, with tools independent of rcraft:
//! `mmdebstrap` builds a bookworm root filesystem from the machine's own apt mirror, `umoci`
//! wraps it as a one-layer OCI image and `skopeo` pushes it. [`debian_layout`] builds the
//! image (optionally with extra packages) without pushing, for tests that push one image to
//! several registries.

use std::path::Path;
use std::process::Command;

use crate::common::require_tool;

/// The first apt mirror of this machine's own configuration (deb822 `URIs:` or a `deb` line).
fn host_apt_mirror() -> String {
    let mut text = String::new();
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut files: Vec<_> = dir.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            if f.extension().is_some_and(|e| e == "sources") {
                text.push_str(&std::fs::read_to_string(&f).unwrap_or_default());
            }
        }
    }
    for line in text.lines() {
        if let Some(uri) = line.strip_prefix("URIs:") {
            if let Some(first) = uri.split_whitespace().next() {
                return first.to_string();
            }
        }
    }
    let list = std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    list.lines()
        .filter_map(|l| l.strip_prefix("deb "))
        .filter_map(|l| l.split_whitespace().find(|w| w.contains("://")))
        .map(str::to_string)
        .next()
        .expect("no apt mirror in /etc/apt/sources.list(.d): the seed needs one")
}

fn check(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds a Debian bookworm `essential` image and pushes it to `dest` (e.g.
/// `127.0.0.1:PORT/library/debian:bookworm`, plain HTTP). `work` is a scratch directory.
pub fn seed_debian(work: &Path, dest: &str) {
    push_layout(&debian_layout(work, &[]), dest);
}

/// Pushes the image `layout` (as [`debian_layout`] returns it) to `dest`.
pub fn push_layout(image: &str, dest: &str) {
    require_tool("skopeo");
    check(
        Command::new("skopeo")
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{image}"))
            .arg(format!("docker://{dest}")),
        "skopeo copy",
    );
}

/// Builds a Debian bookworm `essential` image with the packages `include` in an OCI layout
/// under `work` and returns its `umoci` image reference (`<layout>:base`).
pub fn debian_layout(work: &Path, include: &[&str]) -> String {
    for tool in ["mmdebstrap", "umoci"] {
        require_tool(tool);
    }
    let rootfs = work.join("rootfs.tar");
    let mut mmdebstrap = Command::new("mmdebstrap");
    mmdebstrap.args(["--variant=essential", "--quiet"]);
    if !include.is_empty() {
        mmdebstrap.arg(format!("--include={}", include.join(",")));
    }
    check(
        mmdebstrap
            .arg("bookworm")
            .arg(&rootfs)
            .arg(host_apt_mirror())
            .stdin(std::process::Stdio::null()),
        "mmdebstrap",
    );
    let layout = work.join("layout");
    let image = format!("{}:base", layout.display());
    check(
        Command::new("umoci")
            .args(["init", "--layout"])
            .arg(&layout),
        "umoci init",
    );
    check(
        Command::new("umoci").args(["new", "--image", &image]),
        "umoci new",
    );
    check(
        Command::new("umoci")
            .args(["raw", "add-layer", "--image", &image])
            .arg(&rootfs),
        "umoci raw add-layer",
    );
    check(
        Command::new("umoci").args([
            "config",
            "--image",
            &image,
            "--os",
            "linux",
            "--architecture",
            "amd64",
            "--config.env",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--history.comment",
            "mmdebstrap bookworm essential (rcraft test seed)",
        ]),
        "umoci config",
    );
    check(
        Command::new("umoci").args(["gc", "--layout"]).arg(&layout),
        "umoci gc",
    );
    let _ = std::fs::remove_file(&rootfs);
    image
}
