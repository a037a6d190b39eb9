//! Tests for [`LayerBuilder`]: ordering, determinism, modes, path checks, long names, links and
//! adding from disk. Layers are read back with the `tar` crate and `flate2`.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use flate2::read::GzDecoder;
use tar::EntryType;

use super::*;
use crate::oci::Owner;

/// One tar entry as read back.
#[derive(Debug, PartialEq)]
struct Seen {
    path: String,
    kind: EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    link: Option<String>,
    data: Vec<u8>,
}

fn new_store() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::new(dir.path()).unwrap();
    (dir, store)
}

/// Decompresses a layer blob, checks both digests, and lists its entries.
fn read_layer(store: &BlobStore, layer: &Layer) -> Vec<Seen> {
    let blob = fs::read(store.path(&layer.digest)).unwrap();
    assert_eq!(Digest::of(&blob), layer.digest);
    assert_eq!(blob.len() as u64, layer.size);
    // gzip header: no flags (no file name), mtime 0, OS byte 255.
    assert_eq!(&blob[..4], &[0x1f, 0x8b, 8, 0]);
    assert_eq!(&blob[4..8], &[0, 0, 0, 0]);
    assert_eq!(blob[9], 255);
    let mut tar = Vec::new();
    GzDecoder::new(&blob[..]).read_to_end(&mut tar).unwrap();
    assert_eq!(Digest::of(&tar), layer.diff_id);
    let mut archive = tar::Archive::new(&tar[..]);
    let mut seen = Vec::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        assert_eq!(h.username_bytes(), Some(&b""[..]));
        assert_eq!(h.groupname_bytes(), Some(&b""[..]));
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        seen.push(Seen {
            path: String::from_utf8(e.path_bytes().into_owned()).unwrap(),
            kind: h.entry_type(),
            mode: h.mode().unwrap(),
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            mtime: h.mtime().unwrap(),
            link: e
                .link_name_bytes()
                .map(|l| String::from_utf8(l.into_owned()).unwrap()),
            data,
        });
    }
    seen
}

fn entry(path: &str, kind: EntryKind, mode: u32) -> LayerEntry {
    LayerEntry {
        path: path.to_owned(),
        kind,
        mode,
        uid: 0,
        gid: 0,
    }
}

fn sample_entries() -> Vec<LayerEntry> {
    vec![
        entry(
            "usr/bin/tool",
            EntryKind::Bytes(b"#!/bin/sh\n".to_vec()),
            0o4755,
        ),
        entry("etc", EntryKind::Dir, 0o755),
        entry("a.txt", EntryKind::Bytes(b"dot".to_vec()), 0o644),
        entry("a-b", EntryKind::Bytes(b"dash".to_vec()), 0o644),
        entry("a/b/c.txt", EntryKind::Bytes(b"nested".to_vec()), 0o600),
        entry("etc/secret", EntryKind::Dir, 0o700),
        entry("tmp", EntryKind::Dir, 0o1777),
        entry(
            "usr/lib/link",
            EntryKind::Symlink("../bin/tool".into()),
            0o777,
        ),
    ]
}

fn build(entries: impl IntoIterator<Item = LayerEntry>, store: &BlobStore, mtime: u64) -> Layer {
    let mut b = LayerBuilder::new();
    for e in entries {
        b.add(e).unwrap();
    }
    b.write(store, mtime).unwrap()
}

#[test]
fn insertion_order_does_not_change_the_digests() {
    let (_d, store) = new_store();
    let forward = build(sample_entries(), &store, 10);
    let backward = build(sample_entries().into_iter().rev(), &store, 10);
    assert_eq!(forward, backward);
    let (_d2, other_store) = new_store();
    assert_eq!(build(sample_entries(), &other_store, 10), forward);
}

#[test]
fn mtime_changes_the_digest_and_is_set_on_every_entry() {
    let (_d, store) = new_store();
    let a = build(sample_entries(), &store, 10);
    let b = build(sample_entries(), &store, 11);
    assert_ne!(a.digest, b.digest);
    assert_ne!(a.diff_id, b.diff_id);
    assert!(read_layer(&store, &b).iter().all(|e| e.mtime == 11));
}

#[test]
fn entries_are_sorted_parents_first_and_missing_parents_are_added() {
    let (_d, store) = new_store();
    let layer = build(sample_entries(), &store, 0);
    let seen = read_layer(&store, &layer);
    let paths: Vec<_> = seen.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "a/",
            "a/b/",
            "a/b/c.txt",
            "a-b",
            "a.txt",
            "etc/",
            "etc/secret/",
            "tmp/",
            "usr/",
            "usr/bin/",
            "usr/bin/tool",
            "usr/lib/",
            "usr/lib/link",
        ]
    );
    let auto = seen.iter().find(|e| e.path == "usr/lib/").unwrap();
    assert_eq!(
        (auto.kind, auto.mode, auto.uid, auto.gid),
        (EntryType::Directory, 0o755, 0, 0)
    );
}

#[test]
fn modes_owners_and_contents_are_kept() {
    let (_d, store) = new_store();
    let mut entries = sample_entries();
    entries.push(LayerEntry {
        path: "home/app".into(),
        kind: EntryKind::Dir,
        mode: 0o750,
        uid: 584792,
        gid: 584793,
    });
    let seen = read_layer(&store, &build(entries, &store, 0));
    let get = |p: &str| seen.iter().find(|e| e.path == p).unwrap();
    assert_eq!(get("usr/bin/tool").mode, 0o4755);
    assert_eq!(get("usr/bin/tool").data, b"#!/bin/sh\n");
    assert_eq!(get("etc/secret/").mode, 0o700);
    assert_eq!(get("tmp/").mode, 0o1777);
    assert_eq!(get("a/b/c.txt").mode, 0o600);
    let home = get("home/app/");
    assert_eq!((home.mode, home.uid, home.gid), (0o750, 584792, 584793));
    let link = get("usr/lib/link");
    assert_eq!(link.kind, EntryType::Symlink);
    assert_eq!(link.link.as_deref(), Some("../bin/tool"));
}

#[test]
fn unclean_paths_bad_modes_and_duplicates_are_rejected() {
    let mut b = LayerBuilder::new();
    for bad in [
        "",
        "/etc/passwd",
        "../x",
        "a/../b",
        "a/..",
        "./a",
        "a/./b",
        "a//b",
        "a/",
    ] {
        let err = b.add(entry(bad, EntryKind::Dir, 0o755)).unwrap_err();
        assert!(matches!(err, OciError::InvalidPath { .. }), "{bad}: {err}");
    }
    let err = b
        .add(entry("x", EntryKind::Bytes(vec![]), 0o100644))
        .unwrap_err();
    assert!(
        matches!(err, OciError::InvalidMode { mode: 0o100644, .. }),
        "{err}"
    );
    let err = b
        .add(entry("x", EntryKind::Hardlink("../y".into()), 0o644))
        .unwrap_err();
    assert!(matches!(err, OciError::InvalidPath { .. }), "{err}");

    b.add(entry("f", EntryKind::Bytes(b"1".to_vec()), 0o644))
        .unwrap();
    let err = b
        .add(entry("f", EntryKind::Bytes(b"1".to_vec()), 0o644))
        .unwrap_err();
    assert!(
        matches!(&err, OciError::DuplicatePath { path } if path == "f"),
        "{err}"
    );
    assert_eq!(err.to_string(), "cannot add `f` to a layer twice");

    b.add(entry("d", EntryKind::Dir, 0o755)).unwrap();
    b.add(entry("d", EntryKind::Dir, 0o755)).unwrap(); // identical dir: no-op
    let err = b.add(entry("d", EntryKind::Dir, 0o700)).unwrap_err();
    assert!(matches!(err, OciError::DuplicatePath { .. }), "{err}");
    assert_eq!(b.len(), 2);
}

#[test]
fn an_entry_below_a_file_is_rejected_at_write_time() {
    let (_d, store) = new_store();
    let mut b = LayerBuilder::new();
    b.add(entry("a", EntryKind::Bytes(vec![]), 0o644)).unwrap();
    b.add(entry("a/b", EntryKind::Bytes(vec![]), 0o644))
        .unwrap();
    let err = b.write(&store, 0).unwrap_err();
    assert!(
        matches!(&err, OciError::ParentNotDirectory { parent, .. } if parent == "a"),
        "{err}"
    );
}

#[test]
fn explicit_directory_wins_over_implied_parent_in_any_order() {
    let (_d, store) = new_store();
    let dir = entry("x", EntryKind::Dir, 0o700);
    let file = entry("x/y", EntryKind::Bytes(vec![]), 0o644);
    let a = build([dir.clone(), file.clone()], &store, 0);
    let b = build([file, dir], &store, 0);
    assert_eq!(a, b);
    assert_eq!(read_layer(&store, &a)[0].mode, 0o700);
}

#[test]
fn long_paths_and_long_symlink_targets_round_trip() {
    let (_d, store) = new_store();
    let long_path = format!("{}/{}", "p".repeat(120), "f".repeat(79));
    assert_eq!(long_path.len(), 200);
    let target = format!("/{}", "t".repeat(149));
    let long_dir = format!("{}/{}", "q".repeat(100), "d".repeat(50));
    let layer = build(
        [
            entry(&long_path, EntryKind::Bytes(b"long".to_vec()), 0o644),
            entry("ln", EntryKind::Symlink(target.clone()), 0o777),
            entry(&long_dir, EntryKind::Dir, 0o755),
        ],
        &store,
        5,
    );
    let seen = read_layer(&store, &layer);
    let file = seen.iter().find(|e| e.path == long_path).unwrap();
    assert_eq!(file.data, b"long");
    let link = seen.iter().find(|e| e.path == "ln").unwrap();
    assert_eq!(link.link.as_deref(), Some(target.as_str()));
    assert!(seen.iter().any(|e| e.path == format!("{long_dir}/")));
    // Same again: the long-name extension headers are deterministic too.
    let again = build(
        [
            entry("ln", EntryKind::Symlink(target), 0o777),
            entry(&long_dir, EntryKind::Dir, 0o755),
            entry(&long_path, EntryKind::Bytes(b"long".to_vec()), 0o644),
        ],
        &store,
        5,
    );
    assert_eq!(again, layer);
}

#[test]
fn empty_layer_is_an_empty_tar() {
    let (_d, store) = new_store();
    let layer = LayerBuilder::new().write(&store, 0).unwrap();
    assert!(read_layer(&store, &layer).is_empty());
    assert_eq!(layer.diff_id, Digest::of(&[0; 1024]));
    assert_eq!(layer.media_type, MEDIA_TYPE_LAYER_GZIP);
}

#[test]
fn explicit_hardlink_must_follow_its_target() {
    let (_d, store) = new_store();
    let target = entry("a", EntryKind::Bytes(b"x".to_vec()), 0o644);
    let link = entry("b", EntryKind::Hardlink("a".into()), 0o644);
    let seen = read_layer(&store, &build([link.clone(), target], &store, 0));
    assert_eq!(seen[1].kind, EntryType::Link);
    assert_eq!(seen[1].link.as_deref(), Some("a"));

    let mut b = LayerBuilder::new();
    b.add(entry("a", EntryKind::Hardlink("z".into()), 0o644))
        .unwrap();
    b.add(entry("z", EntryKind::Bytes(vec![]), 0o644)).unwrap();
    let err = b.write(&store, 0).unwrap_err();
    assert!(matches!(err, OciError::BadHardlink { .. }), "{err}");
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A small tree: `usr/bin/app` (4755) hard-linked as `usr/bin/app2`, a symlink, a 0700 dir.
fn disk_tree() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    fs::create_dir_all(r.join("usr/bin")).unwrap();
    fs::create_dir_all(r.join("var/private")).unwrap();
    fs::write(r.join("usr/bin/app"), b"binary").unwrap();
    chmod(&r.join("usr/bin/app"), 0o4755);
    fs::hard_link(r.join("usr/bin/app"), r.join("usr/bin/app2")).unwrap();
    std::os::unix::fs::symlink("app", r.join("usr/bin/alias")).unwrap();
    chmod(&r.join("usr"), 0o750);
    chmod(&r.join("var/private"), 0o700);
    root
}

#[test]
fn add_dir_all_takes_kinds_and_modes_from_disk_and_links_hardlinks() {
    let root = disk_tree();
    let (_d, store) = new_store();
    let mut b = LayerBuilder::new();
    b.add_dir_all(root.path()).unwrap();
    let seen = read_layer(&store, &b.write(&store, 1).unwrap());
    let summary: Vec<_> = seen
        .iter()
        .map(|e| (e.path.as_str(), e.kind, e.mode, e.link.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("usr/", EntryType::Directory, 0o750, None),
            ("usr/bin/", EntryType::Directory, 0o755, None),
            ("usr/bin/alias", EntryType::Symlink, 0o777, Some("app")),
            ("usr/bin/app", EntryType::Regular, 0o4755, None),
            ("usr/bin/app2", EntryType::Link, 0o4755, Some("usr/bin/app")),
            ("var/", EntryType::Directory, 0o755, None),
            ("var/private/", EntryType::Directory, 0o700, None),
        ]
    );
    assert_eq!(seen[3].data, b"binary");
    assert!(seen.iter().all(|e| e.uid == 0 && e.gid == 0));

    // Bytes with the same content and metadata give the same layer as files from disk.
    let mut from_bytes = LayerBuilder::new();
    for e in &seen {
        let path = e.path.trim_end_matches('/').to_owned();
        let kind = match e.kind {
            EntryType::Directory => EntryKind::Dir,
            EntryType::Symlink => EntryKind::Symlink(e.link.clone().unwrap()),
            EntryType::Link => EntryKind::Hardlink(e.link.clone().unwrap()),
            _ => EntryKind::Bytes(e.data.clone()),
        };
        from_bytes.add(entry(&path, kind, e.mode)).unwrap();
    }
    let mut again = LayerBuilder::new();
    again.add_dir_all(root.path()).unwrap();
    assert_eq!(
        from_bytes.write(&store, 1).unwrap(),
        again.write(&store, 1).unwrap()
    );
}

#[test]
fn add_tree_uses_the_callers_owner_and_disk_parents() {
    let root = disk_tree();
    let (_d, store) = new_store();
    let mut b = LayerBuilder::new();
    b.add_tree(
        root.path(),
        ["usr/bin/app", "var/private"],
        |rel, _| match rel {
            "usr/bin/app" => Owner {
                uid: 584792,
                gid: 584792,
                mode: Some(0o755),
            },
            _ => Owner::ROOT,
        },
    )
    .unwrap();
    let seen = read_layer(&store, &b.write(&store, 1).unwrap());
    let summary: Vec<_> = seen
        .iter()
        .map(|e| (e.path.as_str(), e.kind, e.mode, e.uid))
        .collect();
    assert_eq!(
        summary,
        [
            ("usr/", EntryType::Directory, 0o750, 0),
            ("usr/bin/", EntryType::Directory, 0o755, 0),
            ("usr/bin/app", EntryType::Regular, 0o755, 584792),
            ("var/", EntryType::Directory, 0o755, 0),
            ("var/private/", EntryType::Directory, 0o700, 0),
        ]
    );
}

#[test]
fn hardlinks_with_different_owners_stay_separate_files() {
    let root = disk_tree();
    let (_d, store) = new_store();
    let mut b = LayerBuilder::new();
    b.add_tree(root.path(), ["usr/bin/app", "usr/bin/app2"], |rel, _| {
        Owner {
            uid: u32::from(rel.ends_with('2')),
            ..Owner::ROOT
        }
    })
    .unwrap();
    let seen = read_layer(&store, &b.write(&store, 1).unwrap());
    assert!(
        seen.iter()
            .filter(|e| e.path.starts_with("usr/bin/app"))
            .all(|e| { e.kind == EntryType::Regular && e.data == b"binary" })
    );
}

#[test]
fn sockets_and_missing_files_are_errors_naming_the_path() {
    let root = tempfile::tempdir().unwrap();
    let sock = root.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let mut b = LayerBuilder::new();
    let err = b.add_dir_all(root.path()).unwrap_err();
    assert!(
        matches!(&err, OciError::UnsupportedFileType { path, kind: "socket" } if *path == sock)
    );
    assert!(err.to_string().contains("sock"), "{err}");

    let err = b
        .add_tree(root.path(), ["nope"], |_, _| Owner::ROOT)
        .unwrap_err();
    assert!(matches!(err, OciError::Read { .. }), "{err}");
}

#[test]
fn a_file_removed_before_write_is_a_read_error() {
    let root = tempfile::tempdir().unwrap();
    fs::write(root.path().join("f"), b"x").unwrap();
    let (_d, store) = new_store();
    let mut b = LayerBuilder::new();
    b.add_dir_all(root.path()).unwrap();
    fs::remove_file(root.path().join("f")).unwrap();
    let err = b.write(&store, 0).unwrap_err();
    assert!(
        matches!(&err, OciError::Read { path, .. } if path.ends_with("f")),
        "{err}"
    );
    // The failed layer left nothing in the store.
    assert_eq!(
        fs::read_dir(store.path(&Digest::of(b"")).parent().unwrap())
            .unwrap()
            .count(),
        0
    );
}
