//! Tests of unpacking synthetic `.deb` files (merged `/usr`, links, modes, hostile symlinks,
//! zstd), of [`stage_packages`] from a lock file over a local `file://` mirror, and of
//! signature checking on a real `InRelease` fetched at test time through the host's apt
//! configuration.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::deb::{self, Unpacked};
use super::*;

fn req(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

// --- .deb files ---

/// A tar (gzip or zstd) built from `entries`: (path, kind, mode, data-or-target).
fn tar_bytes(entries: &[(&str, char, u32, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for &(path, kind, mode, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(mode);
        h.set_uid(if path.contains("owned") { 1000 } else { 0 });
        h.set_gid(0);
        h.set_mtime(0);
        match kind {
            'd' => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, path, std::io::empty()).unwrap();
            }
            'l' | 'h' => {
                h.set_entry_type(if kind == 'l' {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                h.set_size(0);
                b.append_link(&mut h, path, data).unwrap();
            }
            _ => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, path, data.as_bytes()).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// An ar archive with the members `(name, bytes)`.
fn ar(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        out.extend(
            format!(
                "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                name,
                0,
                0,
                0,
                100644,
                data.len()
            )
            .as_bytes(),
        );
        out.extend(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

/// A .deb named `name` whose data.tar (gzip, or zstd with `zstd`) holds `data`.
pub(super) fn make_deb(name: &str, data: &[(&str, char, u32, &str)], zstd: bool) -> Vec<u8> {
    let control = tar_bytes(&[
        ("./", 'd', 0o755, ""),
        (
            "./control",
            'f',
            0o644,
            &format!("Package: {name}\nVersion: 1.0\nArchitecture: amd64\n"),
        ),
    ]);
    let data_tar = tar_bytes(data);
    let (data_name, data_bytes) = if zstd {
        (
            "data.tar.zst",
            ruzstd::encoding::compress_to_vec(
                &data_tar[..],
                ruzstd::encoding::CompressionLevel::Fastest,
            ),
        )
    } else {
        ("data.tar.gz", gzip(&data_tar))
    };
    ar(&[
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.gz", gzip(&control)),
        (data_name, data_bytes),
    ])
}

#[test]
fn unpacks_into_a_merged_usr_root_keeping_modes_and_links() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    let deb_path = dir.path().join("a.deb");
    std::fs::write(
        &deb_path,
        make_deb(
            "a",
            &[
                ("./", 'd', 0o755, ""),
                ("./bin/", 'd', 0o755, ""),
                ("./bin/tool", 'f', 0o4755, "#!/bin/sh\n"),
                ("./lib64/", 'd', 0o755, ""),
                (
                    "./lib64/ld-linux-x86-64.so.2",
                    'l',
                    0o777,
                    "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                ),
                (
                    "./lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                    'f',
                    0o755,
                    "ELF",
                ),
                ("./usr/share/doc/a/copyright", 'f', 0o644, "c"),
                (
                    "./usr/share/doc/a/same",
                    'h',
                    0o644,
                    "./usr/share/doc/a/copyright",
                ),
                ("./usr/share/owned", 'f', 0o640, "mine"),
                ("./etc/ro/", 'd', 0o555, ""),
                ("./etc/ro/file", 'f', 0o600, "x"),
                // A hostile package: a symlink out of the root, then a file through it.
                ("./usr/escape", 'l', 0o777, outside.to_str().unwrap()),
                ("./usr/escape/pwned", 'f', 0o644, "no"),
            ],
            false,
        ),
    )
    .unwrap();
    let mut out = Unpacked::default();
    let control = deb::unpack(&deb_path, "a_1.0_amd64", &root, &mut out).unwrap();
    deb::finish(&out).unwrap();
    assert!(control.starts_with("Package: a\n"), "{control}");
    assert_eq!(
        std::fs::read_link(root.join("bin")).unwrap(),
        Path::new("usr/bin")
    );
    assert_eq!(
        std::fs::read_link(root.join("lib")).unwrap(),
        Path::new("usr/lib")
    );
    assert_eq!(
        std::fs::read_link(root.join("lib64")).unwrap(),
        Path::new("usr/lib64")
    );
    let mode = |p: &str| {
        root.join(p)
            .symlink_metadata()
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("usr/bin/tool"), 0o4755);
    assert_eq!(mode("etc/ro"), 0o555);
    assert_eq!(mode("etc/ro/file"), 0o600);
    assert_eq!(
        std::fs::read_link(root.join("usr/lib64/ld-linux-x86-64.so.2")).unwrap(),
        Path::new("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    );
    assert_eq!(
        std::fs::read(root.join("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")).unwrap(),
        b"ELF"
    );
    assert_eq!(
        std::fs::read(root.join("usr/share/doc/a/same")).unwrap(),
        b"c"
    );
    assert!(!outside.exists(), "wrote outside the root");
    assert_eq!(
        std::fs::read(root.join(outside.strip_prefix("/").unwrap()).join("pwned")).unwrap(),
        b"no"
    );
    assert_eq!(out.non_root, [("usr/share/owned".to_string(), 1000, 0)]);
    std::fs::set_permissions(root.join("etc/ro"), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn unpacks_zstd_data_and_rejects_non_debs() {
    let dir = tempfile::tempdir().unwrap();
    let deb_path = dir.path().join("z.deb");
    std::fs::write(
        &deb_path,
        make_deb("z", &[("./usr/bin/z", 'f', 0o755, "zz")], true),
    )
    .unwrap();
    let mut out = Unpacked::default();
    deb::unpack(&deb_path, "z", &dir.path().join("root"), &mut out).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("root/usr/bin/z")).unwrap(),
        b"zz"
    );
    std::fs::write(&deb_path, b"not an archive").unwrap();
    let err = deb::unpack(&deb_path, "z_1_amd64", &dir.path().join("root"), &mut out).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot unpack z_1_amd64: not a .deb"),
        "{err}"
    );
}

// --- stage_packages with a lock file and a local mirror ---

fn sha256_hex(bytes: &[u8]) -> String {
    crate::oci::Digest::of(bytes).hex().to_string()
}

#[test]
fn stages_exactly_what_the_lock_file_lists_and_reports_gone_packages() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = dir.path().join("mirror");
    std::fs::create_dir_all(mirror.join("pool")).unwrap();
    let deb = make_deb("hello", &[("./usr/bin/hello", 'f', 0o755, "hi")], false);
    std::fs::write(mirror.join("pool/hello.deb"), &deb).unwrap();
    let lock_path = dir.path().join(LOCK_FILE);
    let mut lock = LockFile::load(&lock_path).unwrap();
    let entry = LockEntry {
        build_base: "debian@12".into(),
        stage_packages: vec!["hello".into()],
        base_packages: None,
        packages: vec![LockedPackage {
            name: "hello".into(),
            version: "1.0".into(),
            architecture: "amd64".into(),
            suite: "bookworm".into(),
            filename: "pool/hello.deb".into(),
            size: deb.len() as u64,
            sha256: sha256_hex(&deb),
        }],
    };
    lock.set("p", "amd64", entry.clone());
    lock.save(&lock_path).unwrap();

    let mut ctx = PackagesContext::new(dir.path().join("cache"));
    ctx.debian_mirror = Some(Mirror::from_url(&format!("file://{}", mirror.display())).unwrap());
    ctx.lock_path = Some(lock_path.clone());
    // Never consulted: the lock entry matches.
    ctx.apt_config_dir = dir.path().join("no-apt");
    let base = crate::project::Base::Debian("12".into());
    let packages = req(&["hello"]);
    let dest = dir.path().join("out");
    let request = StageRequest {
        part: "p",
        packages: &packages,
        build_base: &base,
        arch: "amd64",
        dest: &dest,
    };
    let staged = stage_packages(&ctx, &request).unwrap();
    assert!(staged.from_lock);
    assert_eq!(staged.packages, entry.packages);
    assert_eq!(std::fs::read(dest.join("usr/bin/hello")).unwrap(), b"hi");
    let status = std::fs::read_to_string(dest.join("var/lib/dpkg/status.d/hello")).unwrap();
    assert!(status.starts_with("Package: hello\n"), "{status}");
    let before = std::fs::read_to_string(&lock_path).unwrap();

    // Cached now: staging again needs no mirror at all.
    ctx.debian_mirror = Some(Mirror::from_url("file:///nonexistent").unwrap());
    stage_packages(
        &ctx,
        &StageRequest {
            dest: &dir.path().join("out2"),
            ..request.clone()
        },
    )
    .unwrap();
    assert_eq!(std::fs::read_to_string(&lock_path).unwrap(), before);
    // ... and unpacks nothing again: the set unpacked once is copied (a changed cache entry
    // shows through, which is how this test tells).
    let unpacked = std::fs::read_dir(dir.path().join("cache/debs/unpacked"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("notes.json").is_file())
        .expect("an unpacked set in the cache");
    std::fs::write(unpacked.join("root/usr/bin/hello"), "from the cache").unwrap();
    stage_packages(
        &ctx,
        &StageRequest {
            dest: &dir.path().join("out2b"),
            ..request.clone()
        },
    )
    .unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("out2b/usr/bin/hello")).unwrap(),
        b"from the cache"
    );
    assert_eq!(std::fs::read(dest.join("usr/bin/hello")).unwrap(), b"hi");

    // A locked package the archive lost, not in the cache.
    let mut gone = entry.clone();
    gone.packages[0].sha256 = "1".repeat(64);
    lock.set("p", "amd64", gone);
    lock.save(&lock_path).unwrap();
    let err = stage_packages(
        &ctx,
        &StageRequest {
            dest: &dir.path().join("out3"),
            ..request.clone()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("cannot download hello 1.0 recorded in"),
        "{err}"
    );
    assert!(err.contains("delete the lock file"), "{err}");

    // A changed request does not use the entry: it resolves, which needs a mirror.
    let more = req(&["hello", "other"]);
    let err = stage_packages(
        &ctx,
        &StageRequest {
            packages: &more,
            ..request.clone()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("nonexistent"), "{err}");
}

#[test]
fn chisel_slices_and_unknown_bases_are_refused() {
    let ctx = PackagesContext::new("/nonexistent-cache");
    let packages = req(&["python3_core", "libc6", "openssl_bins"]);
    let base = crate::project::Base::Debian("12".into());
    let dest = Path::new("/nonexistent");
    let request = StageRequest {
        part: "x",
        packages: &packages,
        build_base: &base,
        arch: "amd64",
        dest,
    };
    assert_eq!(
        stage_packages(&ctx, &request).unwrap_err().to_string(),
        "chisel slices are not supported yet: 'python3_core', 'openssl_bins' (part 'x')"
    );
    let devel = crate::project::Base::Devel;
    let one = req(&["libc6"]);
    let err = stage_packages(
        &ctx,
        &StageRequest {
            packages: &one,
            build_base: &devel,
            ..request
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("cannot stage packages for build-base devel"),
        "{err}"
    );
}

// --- signatures, against the real archive ---

#[test]
fn a_real_inrelease_verifies_and_a_tampered_one_is_rejected() {
    let distro = Distro::for_base(&crate::project::Base::Debian("12".into())).unwrap();
    let mirror = Mirror::from_host_config(&distro.codename)
        .expect("the host's apt configuration lists the Debian archive");
    let dir = tempfile::tempdir().unwrap();
    let fetcher = fetch::Fetcher::new(crate::base::BlobCache::open(dir.path()).unwrap()).unwrap();
    let url = format!("{}/dists/{}/InRelease", mirror.archive, distro.codename);
    let signed = fetcher
        .get(&url)
        .map_err(fetch::FetchError::into_error)
        .unwrap();
    std::fs::write(dir.path().join("InRelease"), &signed).unwrap();
    let keyring = Path::new(mirror::KEYRING_DIR).join(distro.keyring);
    let gpgv = Path::new("gpgv");
    let text = release::verify(gpgv, &keyring, &signed, &url).unwrap();
    let parsed = release::Release::parse(&text).unwrap();
    assert!(parsed.is_for("bookworm"));
    assert!(parsed.files.contains_key("main/binary-amd64/Packages"));

    // Change one byte of the signed text (a digit of the first SHA256 sum).
    let mut tampered = signed.clone();
    let at = find(&tampered, b"SHA256:\n ").unwrap() + 9;
    tampered[at] = if tampered[at] == b'0' { b'1' } else { b'0' };
    let err = release::verify(gpgv, &keyring, &tampered, &url).unwrap_err();
    assert!(matches!(err, DebsError::BadSignature { .. }), "{err}");
    assert!(err.to_string().contains("BAD signature"), "{err}");

    // A keyring without the signing keys, and missing tools, are clear errors.
    let other = Path::new(mirror::KEYRING_DIR).join("debian-archive-removed-keys.gpg");
    if other.is_file() {
        let err = release::verify(gpgv, &other, &signed, &url)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no good signature"), "{err}");
    }
    let err = release::verify(Path::new("/nonexistent/gpgv"), &keyring, &signed, &url)
        .unwrap_err()
        .to_string();
    assert!(err.contains("install the 'gpgv' package"), "{err}");
    let err = release::verify(
        gpgv,
        Path::new("/nonexistent/ubuntu-archive-keyring.gpg"),
        &signed,
        &url,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("install the 'ubuntu-keyring' package"),
        "{err}"
    );
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
