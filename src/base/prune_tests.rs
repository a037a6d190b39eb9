//! Tests for pruning a part's files against a base: usrmerge rewrites, identical files left
//! out, changed files kept, parents taken from the base.

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::base::BlobCache;
use crate::base::testing::seed_from_dir;
use crate::base::unpack::cached_rootfs;

struct Fixture {
    _dir: tempfile::TempDir,
    prime: PathBuf,
    base: Rootfs,
}

/// A base with `usr/bin/`, `bin -> usr/bin`, `lib -> usr/lib`, `etc/os-release`, a symlink,
/// and a prime dir to fill.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("base");
    for d in ["usr/bin", "usr/lib", "etc", "opt"] {
        std::fs::create_dir_all(src.join(d)).unwrap();
    }
    std::fs::set_permissions(src.join("opt"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink("usr/bin", src.join("bin")).unwrap();
    std::os::unix::fs::symlink("usr/lib", src.join("lib")).unwrap();
    std::fs::write(src.join("etc/os-release"), "ID=debian\n").unwrap();
    std::fs::write(src.join("usr/bin/sh"), "#!shell\n").unwrap();
    std::os::unix::fs::symlink("os-release", src.join("etc/release")).unwrap();
    let cache = BlobCache::open(dir.path().join("cache")).unwrap();
    let image = seed_from_dir(&cache, &src).unwrap();
    let base = cached_rootfs(&cache, &image).unwrap();
    let prime = dir.path().join("prime");
    std::fs::create_dir_all(&prime).unwrap();
    Fixture {
        _dir: dir,
        prime,
        base,
    }
}

impl Fixture {
    fn dir(&self, rel: &str) {
        std::fs::create_dir_all(self.prime.join(rel)).unwrap();
    }

    fn file(&self, rel: &str, content: &str) {
        let p = self.prime.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }

    fn prune(&self, files: &[&str]) -> PrunedLayer {
        let files: Vec<PrimedFile> = files.iter().map(|p| primed(p)).collect();
        prune_part(&self.prime, &files, &self.base).unwrap()
    }
}

fn primed(path: &str) -> PrimedFile {
    PrimedFile {
        path: path.to_string(),
        owner: None,
        group: None,
        mode: None,
    }
}

fn paths(layer: &PrunedLayer) -> Vec<&str> {
    layer.entries.iter().map(|e| e.path.as_str()).collect()
}

#[test]
fn files_under_a_base_symlink_move_to_its_target() {
    let f = fixture();
    f.dir("bin");
    f.file("bin/foo", "foo\n");
    f.dir("lib/x");
    f.file("lib/x/libfoo.so", "elf\n");
    let layer = f.prune(&["bin", "bin/foo", "lib", "lib/x", "lib/x/libfoo.so"]);
    assert_eq!(
        paths(&layer),
        [
            "usr",
            "usr/bin",
            "usr/bin/foo",
            "usr/lib",
            "usr/lib/x",
            "usr/lib/x/libfoo.so"
        ]
    );
    let foo = &layer.entries[2];
    assert_eq!(foo.kind, EntryKind::File(f.prime.join("bin/foo")));
    assert_eq!((foo.mode, foo.uid, foo.gid), (0o644, 0, 0));
    assert_eq!(layer.rewritten, 5);
}

#[test]
fn identical_files_links_and_directories_are_left_out() {
    let f = fixture();
    f.dir("etc");
    f.file("etc/os-release", "ID=debian\n");
    std::os::unix::fs::symlink("os-release", f.prime.join("etc/release")).unwrap();
    f.dir("usr/bin");
    f.file("usr/bin/sh", "#!shell\n");
    let layer = f.prune(&[
        "etc",
        "etc/os-release",
        "etc/release",
        "usr",
        "usr/bin",
        "usr/bin/sh",
    ]);
    assert!(layer.entries.is_empty(), "{:?}", paths(&layer));
    assert_eq!(layer.pruned, 6);
}

#[test]
fn changed_content_mode_or_owner_is_kept_with_its_parents() {
    let f = fixture();
    f.dir("etc");
    f.file("etc/os-release", "ID=rcraft\n");
    let layer = f.prune(&["etc", "etc/os-release"]);
    assert_eq!(paths(&layer), ["etc", "etc/os-release"]);
    assert_eq!(layer.pruned, 0);

    f.file("etc/os-release", "ID=debian\n");
    std::fs::set_permissions(
        f.prime.join("etc/os-release"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    assert_eq!(
        paths(&f.prune(&["etc", "etc/os-release"])),
        ["etc", "etc/os-release"]
    );

    std::fs::set_permissions(
        f.prime.join("etc/os-release"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let owned = vec![
        primed("etc"),
        PrimedFile {
            owner: Some(584792),
            ..primed("etc/os-release")
        },
    ];
    let layer = prune_part(&f.prime, &owned, &f.base).unwrap();
    assert_eq!(paths(&layer), ["etc", "etc/os-release"]);
    assert_eq!(layer.entries[1].uid, 584792);
}

#[test]
fn unlisted_parents_keep_the_base_attributes() {
    let f = fixture();
    f.file("opt/app/run", "run\n");
    let layer = f.prune(&["opt/app/run"]);
    assert_eq!(paths(&layer), ["opt", "opt/app", "opt/app/run"]);
    assert_eq!(layer.entries[0].mode, 0o700, "opt keeps the base's mode");
    assert_eq!(layer.entries[1].mode, 0o755);
}

#[test]
fn a_direct_path_wins_over_a_rewritten_one_and_hard_links_are_kept() {
    let f = fixture();
    f.file("bin/tool", "from bin\n");
    f.file("usr/bin/tool", "from usr\n");
    std::fs::hard_link(f.prime.join("usr/bin/tool"), f.prime.join("usr/bin/tool2")).unwrap();
    let layer = f.prune(&["bin/tool", "usr/bin/tool", "usr/bin/tool2"]);
    assert_eq!(
        paths(&layer),
        ["usr", "usr/bin", "usr/bin/tool", "usr/bin/tool2"]
    );
    assert_eq!(
        layer.entries[2].kind,
        EntryKind::File(f.prime.join("usr/bin/tool"))
    );
    assert_eq!(
        layer.entries[3].kind,
        EntryKind::Hardlink("usr/bin/tool".into())
    );
}
