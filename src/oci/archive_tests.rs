//! Tests for [`write_rock`]: layout contents, determinism, atomicity, and the external oracles
//! (`umoci unpack`, `skopeo inspect`) plus our own [`crate::oci::validate`].

use std::fs;
use std::path::Path;
use std::process::Command;

use super::*;
use crate::oci::layer::MEDIA_TYPE_LAYER_GZIP;
use crate::oci::{
    EntryKind, History, Image, ImageConfig, Layer, LayerBuilder, LayerEntry, Owner, validate,
};

const REF: &str = "localhost/hello:0.1";

/// A 2-layer image in a fresh blob store under `dir`: a tree from disk (with a 0o4755 file and
/// a hard link) and a generated file owned by 584792.
fn build_image(dir: &Path) -> (BlobStore, WrittenImage) {
    let src = dir.join("src");
    fs::create_dir_all(src.join("usr/bin")).unwrap();
    fs::write(src.join("usr/bin/hello"), b"#!/bin/sh\necho hello\n").unwrap();
    fs::set_permissions(
        src.join("usr/bin/hello"),
        std::os::unix::fs::PermissionsExt::from_mode(0o4755),
    )
    .unwrap();
    fs::hard_link(src.join("usr/bin/hello"), src.join("usr/bin/hi")).unwrap();
    std::os::unix::fs::symlink("hello", src.join("usr/bin/hey")).unwrap();

    let store = BlobStore::new(dir.join("layout")).unwrap();
    let mut base = LayerBuilder::new();
    base.add_dir_all(&src).unwrap();
    let base = base.write(&store, 1_700_000_000).unwrap();
    let mut app = LayerBuilder::new();
    app.add(LayerEntry {
        path: "app/config.yaml".into(),
        kind: EntryKind::Bytes(b"greeting: hi\n".to_vec()),
        mode: 0o640,
        uid: 584792,
        gid: 584792,
    })
    .unwrap();
    app.add_tree(&src, ["usr/bin/hello"], |_, _| Owner::ROOT)
        .unwrap();
    let app = app.write(&store, 1_700_000_000).unwrap();

    let image = Image {
        config: ImageConfig {
            architecture: "amd64".into(),
            os: "linux".into(),
            entrypoint: vec!["/usr/bin/hello".into()],
            env: vec!["PATH=/usr/bin:/bin".into()],
            created: 1_700_000_000,
            ..ImageConfig::default()
        },
        layers: vec![
            (
                base,
                History {
                    created_by: Some("base".into()),
                    comment: None,
                },
            ),
            (
                app,
                History {
                    created_by: Some("app".into()),
                    comment: None,
                },
            ),
        ],
        ..Image::default()
    };
    let written = image.write(&store).unwrap();
    (store, written)
}

fn tar_listing(path: &Path) -> Vec<(String, u32, u64, u64)> {
    let mut archive = tar::Archive::new(fs::File::open(path).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            let name = String::from_utf8(e.path_bytes().into_owned()).unwrap();
            (
                name,
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.mtime().unwrap(),
            )
        })
        .collect()
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn rock_holds_exactly_the_layout_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let (store, image) = build_image(dir.path());
    let out = dir.path().join("hello_0.1_amd64.rock");
    write_rock(&out, &store, &image, REF).unwrap();

    let mut blobs: Vec<_> = [&image.manifest.digest, &image.config.digest]
        .into_iter()
        .chain(image.layers.iter().map(|l| &l.digest))
        .map(|d| format!("blobs/sha256/{}", d.hex()))
        .collect();
    blobs.sort();
    let mut want = vec!["blobs/".to_owned(), "blobs/sha256/".to_owned()];
    want.extend(blobs);
    want.extend(["index.json", "manifest.json", "oci-layout"].map(String::from));
    let listing = tar_listing(&out);
    assert_eq!(
        listing.iter().map(|e| e.0.clone()).collect::<Vec<_>>(),
        want
    );
    for (name, mode, uid, mtime) in &listing {
        let want_mode = if name.ends_with('/') { 0o755 } else { 0o644 };
        assert_eq!(
            (*mode, *uid, *mtime),
            (want_mode, 0, 1_700_000_000),
            "{name}"
        );
    }

    let summary = validate(&out).unwrap();
    assert_eq!(summary.ref_name, REF);
    assert_eq!(&summary.manifest_digest, image.digest());
    assert_eq!(summary.config_digest, image.config.digest);
    assert_eq!(summary.layers, image.layers);
    assert_eq!(summary.platform, image.platform);
    // Only the rock itself was added next to the inputs: no temporary file is left.
    assert_eq!(
        dir_names(dir.path()),
        ["hello_0.1_amd64.rock", "layout", "src"]
    );
}

#[test]
fn index_and_docker_manifest_name_the_image_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let (store, image) = build_image(dir.path());
    let docs = layout_documents(&image, REF).unwrap();
    let index = String::from_utf8(docs[0].1.clone()).unwrap();
    assert_eq!(
        index,
        format!(
            concat!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","#,
                r#""manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","#,
                r#""digest":"{}","size":{},"annotations":{{"io.containerd.image.name":"{REF}","#,
                r#""org.opencontainers.image.ref.name":"{REF}"}},"#,
                r#""platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#
            ),
            image.manifest.digest,
            image.manifest.size,
            REF = REF
        )
    );
    let docker: serde_json::Value = serde_json::from_slice(&docs[1].1).unwrap();
    assert_eq!(docker[0]["RepoTags"], serde_json::json!([REF]));
    assert_eq!(docker[0]["Layers"].as_array().unwrap().len(), 2);
    assert_eq!(
        docs[2],
        ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec())
    );
    drop(store);
}

#[test]
fn same_image_in_two_directories_gives_identical_rock_bytes() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let digests: Vec<_> = [&a, &b]
        .iter()
        .map(|dir| {
            let (store, image) = build_image(dir.path());
            let out = dir.path().join("x.rock");
            write_rock(&out, &store, &image, REF).unwrap();
            Digest::of(&fs::read(&out).unwrap())
        })
        .collect();
    assert_eq!(digests[0], digests[1]);
}

#[test]
fn missing_blob_leaves_no_rock_and_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let (store, image) = build_image(dir.path());
    let out_dir = dir.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("hello.rock");
    fs::remove_file(store.path(&image.layers[1].digest)).unwrap();
    let err = write_rock(&out, &store, &image, REF).unwrap_err();
    assert!(matches!(err, OciError::MissingBlob { .. }), "{err}");
    assert!(dir_names(&out_dir).is_empty(), "{:?}", dir_names(&out_dir));
}

#[test]
fn corrupt_blob_fails_and_keeps_the_previous_rock() {
    let dir = tempfile::tempdir().unwrap();
    let (store, image) = build_image(dir.path());
    let out = dir.path().join("hello.rock");
    fs::write(&out, b"previous build").unwrap();
    // A truncated blob (the store's files are named by digest and never rewritten, so a
    // wrong size is what damage looks like; readers verify digests on load).
    let layer = store.path(&image.layers[0].digest);
    let mut bytes = fs::read(&layer).unwrap();
    bytes.truncate(bytes.len() - 1);
    fs::write(&layer, bytes).unwrap();
    let err = write_rock(&out, &store, &image, REF).unwrap_err();
    assert!(matches!(err, OciError::CorruptBlob { .. }), "{err}");
    assert_eq!(fs::read(&out).unwrap(), b"previous build");
    assert_eq!(dir_names(dir.path()), ["hello.rock", "layout", "src"]);
}

#[test]
fn missing_output_directory_and_bad_names_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (store, image) = build_image(dir.path());
    let out = dir.path().join("nope/hello.rock");
    let err = write_rock(&out, &store, &image, REF).unwrap_err();
    assert!(matches!(err, OciError::NoOutputDir { .. }), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");

    let out = dir.path().join("hello.rock");
    for bad in [
        "",
        "hello",
        "localhost:5000/hello",
        "a b:1",
        "hello:",
        "x@sha256:00:1",
    ] {
        let err = write_rock(&out, &store, &image, bad).unwrap_err();
        assert!(
            matches!(err, OciError::InvalidRefName { .. }),
            "{bad}: {err}"
        );
    }
    assert!(!out.exists());
    assert!(write_rock(&out, &store, &image, "localhost:5000/hello:1.0").is_ok());
}

#[test]
fn validate_rejects_wrong_diff_ids_and_undecodable_layers() {
    let dir = tempfile::tempdir().unwrap();
    let (store, image) = build_image(dir.path());
    let rewrite = |layers: Vec<Layer>, name: &str| {
        let img = Image {
            config: ImageConfig {
                architecture: "amd64".into(),
                os: "linux".into(),
                ..ImageConfig::default()
            },
            layers: layers
                .into_iter()
                .map(|l| (l, History::default()))
                .collect(),
            ..Image::default()
        };
        let written = img.write(&store).unwrap();
        let out = dir.path().join(name);
        write_rock(&out, &store, &written, REF).unwrap();
        validate(&out).unwrap_err().to_string()
    };
    let good = &image.layers[0];
    let wrong_diff = Layer::from_existing(
        good.digest.clone(),
        image.layers[1].diff_id.clone(),
        good.size,
        MEDIA_TYPE_LAYER_GZIP,
    );
    let err = rewrite(vec![wrong_diff], "a.rock");
    assert!(err.contains("layer 0 decompresses to"), "{err}");

    let stray = store.put_bytes(b"not gzip").unwrap();
    let not_gzip = Layer::from_existing(
        stray.digest.clone(),
        stray.digest,
        stray.size,
        MEDIA_TYPE_LAYER_GZIP,
    );
    let err = rewrite(vec![good.clone(), not_gzip], "b.rock");
    assert!(err.contains("cannot decompress layer 1"), "{err}");
}

/// Runs `cmd`, failing the test with its output if it cannot start or exits non-zero.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?}: {e} (install umoci and skopeo: these oracle tests need them)")
    });
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn rock_passes_umoci_and_skopeo() {
    let dir = tempfile::tempdir().unwrap();
    let (store, image) = build_image(dir.path());
    let rock = dir.path().join("hello.rock");
    write_rock(&rock, &store, &image, REF).unwrap();

    // skopeo reads the archive directly, with and without the name.
    for arg in [
        format!("oci-archive:{}", rock.display()),
        format!("oci-archive:{}:{REF}", rock.display()),
    ] {
        let json = run(Command::new("skopeo").args(["inspect", "--raw"]).arg(&arg));
        let manifest: serde_json::Value = serde_json::from_str(&json).unwrap();
        let layers: Vec<_> = manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_owned())
            .collect();
        let want: Vec<_> = image.layers.iter().map(|l| l.digest.to_string()).collect();
        assert_eq!(layers, want, "{arg}");
        assert_eq!(Digest::of(json.as_bytes()), image.manifest.digest);
        let info: serde_json::Value =
            serde_json::from_str(&run(Command::new("skopeo").arg("inspect").arg(&arg))).unwrap();
        assert_eq!(info["Layers"], serde_json::json!(want));
        assert_eq!(info["Architecture"], "amd64");
    }

    // umoci reads a layout directory: extract the archive and unpack the image by its name.
    let layout = dir.path().join("extracted");
    tar::Archive::new(fs::File::open(&rock).unwrap())
        .unpack(&layout)
        .unwrap();
    let bundle = dir.path().join("bundle");
    run(Command::new("umoci")
        .arg("unpack")
        .arg("--image")
        .arg(format!("{}:{REF}", layout.display()))
        .arg(&bundle));
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        fs::read(rootfs.join("usr/bin/hello")).unwrap(),
        b"#!/bin/sh\necho hello\n"
    );
    let meta = fs::symlink_metadata(rootfs.join("app/config.yaml")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid(), meta.gid()),
        (0o640, 584792, 584792)
    );
    assert_eq!(
        fs::read_link(rootfs.join("usr/bin/hey")).unwrap(),
        Path::new("hello")
    );
    assert_eq!(
        fs::symlink_metadata(rootfs.join("usr/bin/hello"))
            .unwrap()
            .mode()
            & 0o7777,
        0o4755
    );
}
