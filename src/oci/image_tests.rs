//! Tests for [`Image`]: exact config/manifest bytes, stability, RFC 3339 times, and that
//! `oci-spec` parses what we write.

use std::fs;

use oci_spec::image::{ImageConfiguration, ImageManifest};

use super::*;
use crate::oci::layer::MEDIA_TYPE_LAYER_GZIP;

fn layer(n: u8) -> Layer {
    Layer::from_existing(
        Digest::of(&[n]),
        Digest::of(&[n, n]),
        100 + u64::from(n),
        MEDIA_TYPE_LAYER_GZIP,
    )
}

fn image(labels: &[(&str, &str)]) -> Image {
    Image {
        config: ImageConfig {
            architecture: "amd64".into(),
            os: "linux".into(),
            entrypoint: vec!["/usr/bin/pebble".into(), "enter".into()],
            env: vec!["PATH=/usr/bin".into()],
            user: Some("584792".into()),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            exposed_ports: vec!["8000/tcp".into()],
            created: 1_700_000_000,
            ..ImageConfig::default()
        },
        layers: vec![
            (
                layer(1),
                History {
                    created_by: Some("base".into()),
                    comment: None,
                },
            ),
            (
                layer(2),
                History {
                    created_by: None,
                    comment: Some("part app".into()),
                },
            ),
        ],
        empty_layer_history: vec![History {
            created_by: Some("config".into()),
            comment: None,
        }],
        annotations: [(
            "org.opencontainers.image.version".to_owned(),
            "0.1".to_owned(),
        )]
        .into(),
    }
}

#[test]
fn rfc3339_formats_unix_seconds_in_utc() {
    for (secs, want) in [
        (0, "1970-01-01T00:00:00Z"),
        (951_782_400, "2000-02-29T00:00:00Z"),
        (1_700_000_000, "2023-11-14T22:13:20Z"),
        (4_107_542_399, "2100-02-28T23:59:59Z"),
        (253_402_300_799, "9999-12-31T23:59:59Z"),
    ] {
        assert_eq!(rfc3339(secs).unwrap(), want);
    }
    assert!(matches!(
        rfc3339(253_402_300_800),
        Err(OciError::InvalidImage { .. })
    ));
}

#[test]
fn config_json_has_a_fixed_shape() {
    let json = String::from_utf8(image(&[("b", "2"), ("a", "1")]).config_json().unwrap()).unwrap();
    let t = "2023-11-14T22:13:20Z";
    let want = format!(
        concat!(
            r#"{{"created":"{t}","architecture":"amd64","os":"linux","#,
            r#""config":{{"User":"584792","ExposedPorts":{{"8000/tcp":{{}}}},"Env":["PATH=/usr/bin"],"#,
            r#""Entrypoint":["/usr/bin/pebble","enter"],"Labels":{{"a":"1","b":"2"}}}},"#,
            r#""rootfs":{{"type":"layers","diff_ids":["{d1}","{d2}"]}},"#,
            r#""history":[{{"created":"{t}","created_by":"base"}},{{"created":"{t}","comment":"part app"}},"#,
            r#"{{"created":"{t}","created_by":"config","empty_layer":true}}]}}"#
        ),
        t = t,
        d1 = Digest::of(&[1, 1]),
        d2 = Digest::of(&[2, 2]),
    );
    assert_eq!(json, want);
}

#[test]
fn label_insertion_order_does_not_change_the_bytes() {
    let a = image(&[("x", "1"), ("y", "2"), ("z", "3")]);
    let b = image(&[("z", "3"), ("x", "1"), ("y", "2")]);
    assert_eq!(a.config_json().unwrap(), b.config_json().unwrap());
    let cfg = BlobRef {
        digest: Digest::of(b"c"),
        size: 1,
    };
    assert_eq!(
        a.manifest_json(&cfg).unwrap(),
        b.manifest_json(&cfg).unwrap()
    );
}

#[test]
fn written_image_is_content_addressed_and_parses_with_oci_spec() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::new(dir.path()).unwrap();
    let img = image(&[("org.opencontainers.image.title", "hello")]);
    let written = img.write(&store).unwrap();

    let manifest_bytes = fs::read(store.path(written.digest())).unwrap();
    assert_eq!(Digest::of(&manifest_bytes), written.manifest.digest);
    assert_eq!(manifest_bytes.len() as u64, written.manifest.size);
    let manifest = ImageManifest::from_reader(&manifest_bytes[..]).unwrap();
    assert_eq!(manifest.schema_version(), 2);
    assert_eq!(
        manifest.config().digest().to_string(),
        written.config.digest.to_string()
    );
    assert_eq!(manifest.config().size(), written.config.size);
    let layers: Vec<_> = manifest
        .layers()
        .iter()
        .map(|l| (l.digest().to_string(), l.size()))
        .collect();
    assert_eq!(
        layers,
        [
            (layer(1).digest.to_string(), 101),
            (layer(2).digest.to_string(), 102)
        ]
    );
    assert_eq!(
        manifest.annotations().as_ref().unwrap()["org.opencontainers.image.version"],
        "0.1"
    );

    let config =
        ImageConfiguration::from_reader(&fs::read(store.path(&written.config.digest)).unwrap()[..])
            .unwrap();
    assert_eq!(
        config.rootfs().diff_ids(),
        &[
            Digest::of(&[1, 1]).to_string(),
            Digest::of(&[2, 2]).to_string()
        ]
    );
    let runtime = config.config().as_ref().unwrap();
    assert_eq!(runtime.cmd(), &None);
    assert_eq!(
        runtime.entrypoint().as_deref(),
        Some(&["/usr/bin/pebble".to_owned(), "enter".to_owned()][..])
    );
    assert_eq!(config.history().as_ref().unwrap().len(), 3);

    // Writing again (another store) gives the same digests.
    let dir2 = tempfile::tempdir().unwrap();
    assert_eq!(
        img.write(&BlobStore::new(dir2.path()).unwrap()).unwrap(),
        written
    );
}

#[test]
fn empty_architecture_is_rejected() {
    let mut img = image(&[]);
    img.config.architecture.clear();
    assert!(matches!(
        img.config_json(),
        Err(OciError::InvalidImage { .. })
    ));
}
