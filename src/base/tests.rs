//! Tests for [`BaseImage::from_cache`]: OCI and Docker manifests, media type mapping, errors.

use super::testing::{SeedLayer, seed_from_tars, seed_layers};
use super::*;

fn cache() -> (tempfile::TempDir, BlobCache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = BlobCache::open(dir.path().join("cache")).unwrap();
    (dir, cache)
}

fn tar_with(path: &str, content: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, path, content).unwrap();
    b.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn an_oci_image_reads_back_with_its_layers_and_env() {
    let (_d, cache) = cache();
    let seeded = seed_from_tars(&cache, &[tar_with("a", b"1"), tar_with("b", b"2")]).unwrap();
    let again = BaseImage::from_cache(&cache, "x", &seeded.manifest_digest).unwrap();
    assert_eq!(again.layers, seeded.layers);
    assert_eq!(again.layers.len(), 2);
    assert_eq!(again.layers[0].media_type, MEDIA_TYPE_LAYER_TAR);
    assert_eq!(again.env(), [testing::SEED_PATH]);
    assert_eq!(again.history().len(), 3);
    let by_ref =
        BaseImage::from_cache_ref(&cache, testing::SEED_REFERENCE, &testing::host_platform())
            .unwrap()
            .unwrap();
    assert_eq!(by_ref.manifest_digest, seeded.manifest_digest);
}

#[test]
fn docker_gzip_layers_are_listed_under_the_oci_gzip_type() {
    let (_d, cache) = cache();
    let tar = tar_with("a", b"1");
    let layer = SeedLayer {
        blob: gzip(&tar),
        media_type: MEDIA_TYPE_LAYER_GZIP.into(),
        diff_id: Digest::of(&tar),
    };
    let img = seed_layers(
        &cache,
        "docker.io/library/debian:bookworm",
        vec![layer.clone()],
        true,
    )
    .unwrap();
    let manifest: Value =
        serde_json::from_slice(&cache.read("manifest", &img.manifest_digest).unwrap()).unwrap();
    assert_eq!(manifest["mediaType"], MEDIA_TYPE_DOCKER_MANIFEST);
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        MEDIA_TYPE_DOCKER_LAYER_GZIP
    );
    assert_eq!(img.layers[0].media_type, MEDIA_TYPE_LAYER_GZIP);
    assert_eq!(img.layers[0].digest, Digest::of(&layer.blob));
}

#[test]
fn indexes_unknown_layers_and_missing_blobs_are_refused() {
    let (_d, cache) = cache();
    let index = cache
        .insert_bytes(br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#)
        .unwrap();
    let err = BaseImage::from_cache(&cache, "x", &index).unwrap_err();
    assert!(err.to_string().contains("not an image manifest"), "{err}");

    let config = cache.insert_bytes(br#"{"rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}"#).unwrap();
    let zstd = format!(
        r#"{{"schemaVersion":2,"config":{{"mediaType":"{MEDIA_TYPE_OCI_CONFIG}","digest":"{config}","size":1}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"{config}","size":1}}]}}"#
    );
    let m = cache.insert_bytes(zstd.as_bytes()).unwrap();
    let err = BaseImage::from_cache(&cache, "x", &m).unwrap_err();
    assert!(err.to_string().contains("unsupported media type"), "{err}");

    let absent = Digest::of(b"absent layer");
    let missing = zstd
        .replace(
            "application/vnd.oci.image.layer.v1.tar+zstd",
            MEDIA_TYPE_LAYER_GZIP,
        )
        .replacen(
            &format!("\"digest\":\"{config}\",\"size\":1}}]"),
            &format!("\"digest\":\"{absent}\",\"size\":1}}]"),
            1,
        );
    let m = cache.insert_bytes(missing.as_bytes()).unwrap();
    let err = BaseImage::from_cache(&cache, "x", &m).unwrap_err();
    assert!(
        matches!(err, BaseError::MissingBlob { what: "layer", .. }),
        "{err}"
    );

    let err = BaseImage::from_cache(&cache, "x", &Digest::of(b"nothing")).unwrap_err();
    assert!(
        matches!(
            err,
            BaseError::MissingBlob {
                what: "manifest",
                ..
            }
        ),
        "{err}"
    );
}
