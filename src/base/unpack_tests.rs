//! Tests for unpacking: whiteouts, opaque directories, replacement, hard links, attributes,
//! refused entries and the rootfs cache.

use super::*;
use crate::base::testing::{SeedLayer, seed_from_tars, seed_layers};
use crate::oci::Digest;
use std::os::unix::fs::MetadataExt;

/// A tar entry written with a raw name (so unsafe names can be built).
enum E<'a> {
    Dir(&'a str, u32),
    File(&'a str, &'a [u8]),
    Owned(&'a str, &'a [u8], u64, u64, u32),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    Fifo(&'a str),
}

fn tar(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        let (name, data): (&str, &[u8]) = match e {
            E::Dir(n, m) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*m);
                (n, b"")
            }
            E::File(n, d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                (n, d)
            }
            E::Owned(n, d, uid, gid, m) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*m);
                h.set_uid(*uid);
                h.set_gid(*gid);
                (n, d)
            }
            E::Symlink(n, t) | E::Hardlink(n, t) => {
                let kind = if matches!(e, E::Symlink(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                };
                h.set_entry_type(kind);
                h.set_mode(0o777);
                let link = &mut h.as_old_mut().linkname;
                link[..t.len()].copy_from_slice(t.as_bytes());
                (n, b"")
            }
            E::Fifo(n) => {
                h.set_entry_type(tar::EntryType::Fifo);
                h.set_mode(0o644);
                (n, b"")
            }
        };
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

struct Fixture {
    dir: tempfile::TempDir,
    cache: BlobCache,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlobCache::open(dir.path().join("cache")).unwrap();
        Fixture { dir, cache }
    }

    /// Unpacks `layers` into a fresh `out/root`; returns the result and the root.
    fn unpack(&self, layers: &[Vec<u8>]) -> (Result<Unpacked, BaseError>, PathBuf) {
        let image = seed_from_tars(&self.cache, layers).unwrap();
        let root = self
            .dir
            .path()
            .join("out")
            .join(image.manifest_digest.hex());
        (unpack_layers(&self.cache, &image, &root), root)
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn whiteouts_remove_lower_files_only() {
    let f = Fixture::new();
    let lower = tar(&[
        E::Dir("etc/", 0o755),
        E::File("etc/a", b"a"),
        E::File("etc/b", b"b"),
    ]);
    let upper = tar(&[
        E::File("etc/c", b"c"),
        E::File("etc/.wh.a", b""),
        // A whiteout for a file this same layer adds does not remove it.
        E::File("etc/.wh.c", b""),
    ]);
    let (res, root) = f.unpack(&[lower, upper]);
    res.unwrap();
    assert_eq!(names(&root.join("etc")), ["b", "c"]);
}

#[test]
fn an_opaque_directory_hides_lower_content_but_keeps_its_own() {
    let f = Fixture::new();
    let lower = tar(&[
        E::Dir("d/", 0o755),
        E::File("d/old", b"o"),
        E::Dir("d/sub/", 0o755),
        E::File("d/sub/x", b"x"),
        E::File("keep", b"k"),
    ]);
    let upper = tar(&[
        E::Dir("d/", 0o750),
        E::File("d/new", b"n"),
        E::File("d/.wh..wh..opq", b""),
    ]);
    let (res, root) = f.unpack(&[lower, upper]);
    res.unwrap();
    assert_eq!(names(&root.join("d")), ["new"]);
    assert_eq!(names(&root), ["d", "keep"]);
}

#[test]
fn later_entries_replace_earlier_ones_and_links_are_recreated() {
    let f = Fixture::new();
    let lower = tar(&[
        E::Dir("./usr/", 0o755),
        E::Dir("usr/bin/", 0o755),
        E::File("usr/bin/tool", b"v1"),
        E::Dir("x/", 0o755),
        E::File("x/inner", b"i"),
    ]);
    let upper = tar(&[
        E::File("usr/bin/tool", b"v2"),
        E::Hardlink("usr/bin/tool2", "./usr/bin/tool"),
        E::Symlink("bin", "usr/bin"),
        E::File("x", b"now a file"),
        E::Fifo("usr/fifo"),
    ]);
    let (res, root) = f.unpack(&[lower, upper]);
    let out = res.unwrap();
    assert_eq!(fs::read(root.join("usr/bin/tool")).unwrap(), b"v2");
    let a = fs::metadata(root.join("usr/bin/tool")).unwrap();
    let b = fs::metadata(root.join("usr/bin/tool2")).unwrap();
    assert_eq!(a.ino(), b.ino());
    assert_eq!(
        fs::read_link(root.join("bin")).unwrap(),
        Path::new("usr/bin")
    );
    assert_eq!(fs::read(root.join("x")).unwrap(), b"now a file");
    assert_eq!(out.skipped, ["usr/fifo (fifo)"]);
    assert!(!root.join("usr/fifo").exists());
}

#[test]
fn image_owners_and_modes_are_recorded_not_trusted_to_disk() {
    let f = Fixture::new();
    let layer = tar(&[
        E::Dir("ro/", 0o555),
        E::Owned("ro/shadow", b"root:*:1::::::\n", 0, 42, 0o640),
        E::Owned("secret", b"s", 1000, 1000, 0o000),
        E::File("plain", b"p"),
        E::Owned("su", b"x", 0, 0, 0o4755),
    ]);
    let (res, root) = f.unpack(&[layer]);
    let out = res.unwrap();
    assert_eq!(
        fs::metadata(root.join("su")).unwrap().mode() & 0o7777,
        0o4755
    );
    assert!(!out.attrs.contains_key("su"));
    assert_eq!(
        out.attrs["ro"],
        Attrs {
            uid: 0,
            gid: 0,
            mode: 0o555
        }
    );
    assert_eq!(
        out.attrs["ro/shadow"],
        Attrs {
            uid: 0,
            gid: 42,
            mode: 0o640
        }
    );
    assert_eq!(
        out.attrs["secret"],
        Attrs {
            uid: 1000,
            gid: 1000,
            mode: 0
        }
    );
    assert!(!out.attrs.contains_key("plain"));
    // Readable and removable on disk whatever the image says.
    assert_eq!(fs::metadata(root.join("ro")).unwrap().mode() & 0o777, 0o755);
    assert_eq!(fs::read(root.join("secret")).unwrap(), b"s");
    let rootfs = Rootfs::new(&root, out.attrs);
    let shadow = rootfs.lookup("ro/shadow").unwrap().unwrap();
    assert_eq!(shadow.attrs.gid, 42);
    assert_eq!(rootfs.lookup("plain").unwrap().unwrap().attrs.mode, 0o644);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn entries_escaping_the_root_are_refused() {
    let cases: Vec<(&str, Vec<Vec<u8>>, &str)> = vec![
        ("dotdot", vec![tar(&[E::File("../x", b"evil")])], "`..`"),
        (
            "nested dotdot",
            vec![tar(&[E::File("a/../../x", b"evil")])],
            "`..`",
        ),
        (
            "absolute",
            vec![tar(&[E::File("/abs", b"evil")])],
            "absolute",
        ),
        (
            "through a symlink",
            vec![tar(&[
                E::Symlink("a", "/etc"),
                E::File("a/passwd", b"evil"),
            ])],
            "symlink",
        ),
        (
            "through a symlink of a lower layer",
            vec![
                tar(&[E::Symlink("a", "../../../../../tmp")]),
                tar(&[E::File("a/evil", b"evil")]),
            ],
            "symlink",
        ),
        (
            "hard link outside",
            vec![tar(&[E::Hardlink("h", "../../../etc/passwd")])],
            "hard link",
        ),
        (
            "absolute hard link",
            vec![tar(&[E::Hardlink("h", "/etc/passwd")])],
            "hard link",
        ),
        (
            "hard link through a symlink",
            vec![tar(&[
                E::Symlink("s", "/etc"),
                E::Hardlink("h", "s/passwd"),
            ])],
            "hard link",
        ),
        (
            "whiteout through a symlink",
            vec![tar(&[
                E::Symlink("s", "/etc"),
                E::File("s/.wh.passwd", b""),
            ])],
            "symlink",
        ),
    ];
    for (name, layers, needle) in cases {
        let f = Fixture::new();
        let (res, root) = f.unpack(&layers);
        let err = res.expect_err(name);
        assert!(
            matches!(err, BaseError::UnsafeEntry { .. }),
            "{name}: {err}"
        );
        assert!(err.to_string().contains(needle), "{name}: {err}");
        // Nothing appeared next to the root.
        let out = root.parent().unwrap();
        assert_eq!(names(out).len(), 1, "{name}");
        assert!(!f.dir.path().join("x").exists() && !f.dir.path().join("evil").exists());
    }
}

#[test]
fn a_layer_whose_content_does_not_match_its_diff_id_is_refused() {
    let f = Fixture::new();
    let bytes = tar(&[E::File("a", b"1")]);
    let layer = SeedLayer {
        diff_id: Digest::of(b"not this"),
        ..SeedLayer::tar(bytes)
    };
    let image = seed_layers(&f.cache, "r", vec![layer], false).unwrap();
    let err = unpack_layers(&f.cache, &image, &f.dir.path().join("root")).unwrap_err();
    assert!(err.to_string().contains("diff_id"), "{err}");
}

#[test]
fn the_rootfs_is_cached_per_manifest_and_redone_when_incomplete() {
    let f = Fixture::new();
    let image = seed_from_tars(&f.cache, &[tar(&[E::Owned("f", b"1", 0, 7, 0o600)])]).unwrap();
    let rootfs = cached_rootfs(&f.cache, &image).unwrap();
    assert_eq!(fs::read(rootfs.dir().join("f")).unwrap(), b"1");
    let top = rootfs.dir().parent().unwrap().to_path_buf();
    assert!(top.join("complete").is_file());
    // A marker file keeps it: a modification is seen (nothing is unpacked again).
    fs::write(rootfs.dir().join("extra"), b"").unwrap();
    let again = cached_rootfs(&f.cache, &image).unwrap();
    assert_eq!(again, rootfs);
    assert!(again.dir().join("extra").exists());
    assert_eq!(again.lookup("f").unwrap().unwrap().attrs.gid, 7);
    // Without the marker (a crash), it is unpacked again from scratch.
    fs::remove_file(top.join("complete")).unwrap();
    let redone = cached_rootfs(&f.cache, &image).unwrap();
    assert!(!redone.dir().join("extra").exists());
    assert_eq!(fs::read_dir(f.cache.temp_dir()).unwrap().count(), 0);
}

#[test]
fn resolve_parents_follows_base_symlinks_inside_the_root() {
    let f = Fixture::new();
    let (res, root) = f.unpack(&[tar(&[
        E::Dir("usr/", 0o755),
        E::Dir("usr/bin/", 0o755),
        E::Dir("usr/lib/", 0o755),
        E::Symlink("bin", "usr/bin"),
        E::Symlink("lib", "/usr/lib"),
        E::Symlink("up", "../../../.."),
        E::Symlink("loop", "loop"),
        E::File("file", b""),
    ])]);
    let rootfs = Rootfs::new(root, res.unwrap().attrs);
    let r = |p: &str| rootfs.resolve_parents(p).unwrap();
    assert_eq!(r("bin/foo").as_deref(), Some("usr/bin/foo"));
    assert_eq!(r("lib/x/y.so").as_deref(), Some("usr/lib/x/y.so"));
    assert_eq!(r("bin").as_deref(), Some("bin"));
    assert_eq!(r("up/etc/passwd").as_deref(), Some("etc/passwd"));
    assert_eq!(r("new/dir/f").as_deref(), Some("new/dir/f"));
    assert_eq!(r("loop/x"), None);
    assert_eq!(r("file/x"), None);
}
