//! Tests for the blob cache: atomic inserts, digest checks, concurrency, refs, verification.

use super::*;

fn cache() -> (tempfile::TempDir, BlobCache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = BlobCache::open(dir.path().join("cache")).unwrap();
    (dir, cache)
}

fn temp_files(cache: &BlobCache) -> usize {
    fs::read_dir(cache.temp_dir()).unwrap().count()
}

#[test]
fn insert_names_the_blob_by_its_digest_and_leaves_no_temp_file() {
    let (_d, cache) = cache();
    let digest = Digest::of(b"layer bytes");
    assert_eq!(cache.get(&digest), None);
    let path = cache
        .insert_with(&digest, |w| Ok(w.write_all(b"layer bytes")?))
        .unwrap();
    assert_eq!(path, cache.path(&digest));
    assert_eq!(cache.get(&digest), Some(path.clone()));
    assert_eq!(fs::read(&path).unwrap(), b"layer bytes");
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o444
    );
    assert_eq!(temp_files(&cache), 0);
    cache.verify(&digest).unwrap();
    // Already cached: the filler is not called.
    cache
        .insert_with(&digest, |_| panic!("filler called for a cached blob"))
        .unwrap();
}

#[test]
fn content_that_does_not_match_the_digest_is_never_stored() {
    let (_d, cache) = cache();
    let digest = Digest::of(b"expected");
    let err = cache
        .insert_with(&digest, |w| Ok(w.write_all(b"something else")?))
        .unwrap_err();
    assert!(matches!(err, BaseError::DigestMismatch { .. }), "{err}");
    assert!(err.to_string().contains(digest.as_str()), "{err}");
    assert_eq!(cache.get(&digest), None);
    assert_eq!(temp_files(&cache), 0);
    let names: Vec<_> = fs::read_dir(cache.root().join("blobs/sha256"))
        .unwrap()
        .collect();
    assert!(names.is_empty());
}

#[test]
fn a_failing_filler_stores_nothing_and_reports_its_error() {
    let (_d, cache) = cache();
    let digest = Digest::of(b"x");
    let err = cache
        .insert_with(&digest, |w| {
            w.write_all(b"x")?;
            Err("connection reset".into())
        })
        .unwrap_err();
    assert!(err.to_string().contains("connection reset"), "{err}");
    assert_eq!(cache.get(&digest), None);
    assert_eq!(temp_files(&cache), 0);
}

#[test]
fn concurrent_inserts_of_one_blob_both_succeed() {
    let (_d, cache) = cache();
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::of(&data);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    // Bypass the "already cached" shortcut's race by writing slowly.
                    cache.insert_with(&digest, |w| {
                        for chunk in data.chunks(64 * 1024) {
                            w.write_all(chunk)?;
                        }
                        Ok(())
                    })
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
    });
    cache.verify(&digest).unwrap();
    assert_eq!(temp_files(&cache), 0);
}

#[test]
fn verify_removes_a_corrupt_blob() {
    let (_d, cache) = cache();
    let digest = cache.insert_bytes(b"{\"a\":1}").unwrap();
    let path = cache.path(&digest);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(&path, b"{\"a\":2}").unwrap();
    let err = cache.verify(&digest).unwrap_err();
    assert!(matches!(err, BaseError::Corrupt { .. }), "{err}");
    assert_eq!(cache.get(&digest), None);
    assert!(matches!(
        cache.verify(&digest).unwrap_err(),
        BaseError::MissingBlob { .. }
    ));
}

#[test]
fn refs_are_per_reference_and_platform() {
    let (_d, cache) = cache();
    let d = Digest::of(b"m");
    let r = "docker.io/library/debian:bookworm";
    assert_eq!(cache.get_ref(r, "amd64").unwrap(), None);
    cache.set_ref(r, "amd64", &d).unwrap();
    assert_eq!(cache.get_ref(r, "amd64").unwrap(), Some(d));
    assert_eq!(cache.get_ref(r, "arm64/v8").unwrap(), None);
    assert_eq!(temp_files(&cache), 0);
}

#[test]
fn link_into_puts_the_same_bytes_in_a_blob_store() {
    let (d, cache) = cache();
    let digest = cache.insert_bytes(b"gzip bytes").unwrap();
    let store = BlobStore::new(d.path().join("oci")).unwrap();
    cache.link_into(&digest, &store).unwrap();
    assert_eq!(fs::read(store.path(&digest)).unwrap(), b"gzip bytes");
    cache.link_into(&digest, &store).unwrap();
    let missing = Digest::of(b"absent");
    assert!(matches!(
        cache.link_into(&missing, &store).unwrap_err(),
        BaseError::MissingBlob { .. }
    ));
}

#[test]
fn ref_file_names_keep_only_safe_bytes() {
    assert_eq!(escape("a/b:c#amd64"), "a%2Fb%3Ac%23amd64");
}
