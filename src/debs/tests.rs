//! Tests of the resolver on fixture indexes (Debian- and Ubuntu-shaped: alternatives, virtual
//! and versioned provides, pockets, conflicts, skipping what the base has) and of reading a
//! base's dpkg status. Unpacking, staging and signatures are in `stage_tests.rs`.

use super::index::{Index, Installed};
use super::resolve::resolve;
use super::version::Version;

/// A Debian-shaped fixture index.
const PACKAGES: &str = "\
Package: app
Version: 1.0-1
Architecture: amd64
Depends: libc6 (>= 2.36), python3:any (>= 3.11~), mta | exim4, awk, libssl3 (>= 3.0) | libssl-old, debconf (>= 0.5) | debconf-2.0
Filename: pool/main/a/app/app_1.0-1_amd64.deb
Size: 10
SHA256: 0000000000000000000000000000000000000000000000000000000000000001

Package: libc6
Version: 2.36-9
Architecture: amd64
Priority: required
Filename: pool/main/g/glibc/libc6_2.36-9_amd64.deb
Size: 10
SHA256: 0000000000000000000000000000000000000000000000000000000000000002

Package: libc6
Version: 2.36-9+deb12u4
Architecture: amd64
Priority: required
Filename: pool/main/g/glibc/libc6_2.36-9+deb12u4_amd64.deb
Size: 10
SHA256: 0000000000000000000000000000000000000000000000000000000000000003

Package: python3
Version: 3.11.2-1+b1
Architecture: amd64
Multi-Arch: allowed
Pre-Depends: python3-minimal (= 3.11.2-1+b1)
Filename: pool/main/p/python3/python3_3.11.2-1+b1_amd64.deb
Size: 10
SHA256: 0000000000000000000000000000000000000000000000000000000000000004

Package: python3-minimal
Version: 3.11.2-1+b1
Architecture: amd64
Depends: dpkg (>= 1.13.20)
Filename: pool/main/p/python3/python3-minimal_3.11.2-1+b1_amd64.deb
Size: 10
SHA256: 0000000000000000000000000000000000000000000000000000000000000005

Package: dpkg
Version: 1.21.22
Architecture: amd64
Essential: yes
Filename: pool/main/d/dpkg/dpkg_1.21.22_amd64.deb
Size: 10
SHA256: 0000000000000000000000000000000000000000000000000000000000000006

Package: exim4
Version: 4.96-15
Architecture: all
Provides: mail-transport-agent
Filename: pool/main/e/exim4/exim4_4.96-15_all.deb
Size: 10
SHA256: 0000000000000000000000000000000000000000000000000000000000000007

Package: mawk
Version: 1.3.4-1
Architecture: amd64
Priority: required
Provides: awk
Filename: pool/main/m/mawk/mawk_1.3.4-1_amd64.deb
Size: 10
SHA256: 0000000000000000000000000000000000000000000000000000000000000008

Package: gawk
Version: 1:5.2.1-2
Architecture: amd64
Priority: optional
Provides: awk
Filename: pool/main/g/gawk/gawk_5.2.1-2_amd64.deb
Size: 10
SHA256: 0000000000000000000000000000000000000000000000000000000000000009

Package: libssl-old
Version: 1.1-1
Architecture: amd64
Filename: pool/main/o/openssl/libssl-old_1.1-1_amd64.deb
Size: 10
SHA256: 000000000000000000000000000000000000000000000000000000000000000a

Package: cdebconf
Version: 0.270
Architecture: amd64
Provides: debconf-2.0
Filename: pool/main/c/cdebconf/cdebconf_0.270_amd64.deb
Size: 10
SHA256: 000000000000000000000000000000000000000000000000000000000000000b

Package: needs-new-libc
Version: 1
Architecture: amd64
Depends: libc6 (>= 2.40)
Filename: pool/main/n/n/needs-new-libc_1_amd64.deb
Size: 10
SHA256: 000000000000000000000000000000000000000000000000000000000000000c

Package: wants-virtual-version
Version: 1
Architecture: all
Depends: python3-abi (>= 3.11)
Filename: pool/main/w/w/wants_1_all.deb
Size: 10
SHA256: 000000000000000000000000000000000000000000000000000000000000000d

Package: abi-provider
Version: 2
Architecture: amd64
Provides: python3-abi (= 3.11), python3-abi-unversioned
Filename: pool/main/a/a/abi_2_amd64.deb
Size: 10
SHA256: 000000000000000000000000000000000000000000000000000000000000000e

Package: other-arch
Version: 1
Architecture: arm64
Filename: pool/main/o/o/other_1_arm64.deb
Size: 10
SHA256: 000000000000000000000000000000000000000000000000000000000000000f
";

/// What `bookworm-security` adds: a newer libc6.
const SECURITY: &str = "\
Package: libc6
Version: 2.36-9+deb12u10
Architecture: amd64
Filename: pool/updates/main/g/glibc/libc6_2.36-9+deb12u10_amd64.deb
Size: 10
SHA256: 00000000000000000000000000000000000000000000000000000000000000ff
";

fn fixture() -> Index {
    let mut index = Index::new("amd64");
    index.add_packages_file(PACKAGES, "bookworm").unwrap();
    index
        .add_packages_file(SECURITY, "bookworm-security")
        .unwrap();
    index
}

fn names(index: &Index, ids: &[usize]) -> Vec<String> {
    ids.iter()
        .map(|&i| format!("{}={}", index.get(i).name, index.get(i).version))
        .collect()
}

fn req(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn resolves_alternatives_virtuals_and_versions_deterministically() {
    let index = fixture();
    assert_eq!(index.len(), 15, "the arm64 package is left out");
    let ids = resolve(
        &index,
        &Installed::none(),
        &req(&["app"]),
        "debian bookworm (amd64)",
    )
    .unwrap();
    assert_eq!(
        names(&index, &ids),
        [
            "app=1.0-1",
            // debconf is unknown: the virtual debconf-2.0 is provided by cdebconf.
            "cdebconf=0.270",
            "dpkg=1.21.22",
            // mta is unknown, so the second alternative.
            "exim4=4.96-15",
            // The newest version, from the security suite.
            "libc6=2.36-9+deb12u10",
            // libssl3 is unknown, the alternative is used.
            "libssl-old=1.1-1",
            // Both provide awk: the required one wins.
            "mawk=1.3.4-1",
            "python3=3.11.2-1+b1",
            "python3-minimal=3.11.2-1+b1",
        ]
    );
    let again = resolve(&index, &Installed::none(), &req(&["app"]), "x").unwrap();
    assert_eq!(ids, again);
}

#[test]
fn skips_what_the_base_has_when_it_is_new_enough() {
    let index = fixture();
    let mut installed = Installed::none();
    installed.add_status(
        "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u10\n\n\
         Package: dpkg\nStatus: deinstall ok config-files\nVersion: 1.21.22\n\n\
         Package: original-awk\nStatus: install ok installed\nVersion: 1\nProvides: awk\n",
        "amd64",
        true,
    );
    let ids = resolve(&index, &installed, &req(&["python3", "app"]), "x").unwrap();
    let got = names(&index, &ids);
    assert!(!got.iter().any(|n| n.starts_with("libc6=")), "{got:?}");
    assert!(!got.iter().any(|n| n.starts_with("mawk=")), "{got:?}");
    assert!(
        got.contains(&"dpkg=1.21.22".to_string()),
        "config-files is not installed: {got:?}"
    );

    // A base libc6 older than needed does not count.
    let mut old = Installed::none();
    old.insert("libc6", Version::parse("2.30-1").unwrap());
    let ids = resolve(&index, &old, &req(&["app"]), "x").unwrap();
    assert!(names(&index, &ids).contains(&"libc6=2.36-9+deb12u10".to_string()));

    // A requested package the base already has is not staged.
    let mut has = Installed::none();
    has.insert("dpkg", Version::parse("1.21.22").unwrap());
    assert!(
        resolve(&index, &has, &req(&["dpkg"]), "x")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn versioned_provides_satisfy_versioned_dependencies() {
    let index = fixture();
    let ids = resolve(
        &index,
        &Installed::none(),
        &req(&["wants-virtual-version"]),
        "x",
    )
    .unwrap();
    assert_eq!(
        names(&index, &ids),
        ["abi-provider=2", "wants-virtual-version=1"]
    );
}

#[test]
fn unknown_and_ambiguous_names_and_unsatisfiable_chains_are_clear_errors() {
    let index = fixture();
    let archive = "debian bookworm (amd64)";
    let err = resolve(&index, &Installed::none(), &req(&["pyhton3"]), archive)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "cannot find package 'pyhton3' in debian bookworm (amd64): did you mean 'python3'?"
    );
    let err = resolve(&index, &Installed::none(), &req(&["awk"]), archive)
        .unwrap_err()
        .to_string();
    assert!(err.contains("'awk'") && err.contains("gawk, mawk"), "{err}");
    let err = resolve(
        &index,
        &Installed::none(),
        &req(&["needs-new-libc"]),
        archive,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("cannot satisfy 'libc6 (>= 2.40)' (needed by needs-new-libc)"),
        "{err}"
    );
    assert!(
        err.contains("2.36-9+deb12u10"),
        "lists what is available: {err}"
    );
    let err = resolve(&index, &Installed::none(), &req(&["python3=9.9"]), archive)
        .unwrap_err()
        .to_string();
    assert!(err.contains("available: 3.11.2-1+b1"), "{err}");
    // A single provider of a virtual name is used; pinned versions are honoured.
    let ids = resolve(
        &index,
        &Installed::none(),
        &req(&["mail-transport-agent"]),
        archive,
    )
    .unwrap();
    assert_eq!(names(&index, &ids), ["exim4=4.96-15"]);
    let ids = resolve(&index, &Installed::none(), &req(&["libc6=2.36-9"]), archive).unwrap();
    assert_eq!(names(&index, &ids), ["libc6=2.36-9"]);
}

#[test]
fn conflicting_versions_name_the_chain() {
    let mut index = Index::new("amd64");
    index
        .add_packages_file(
            "Package: top\nVersion: 1\nArchitecture: all\nDepends: mid, lib (>= 2)\n\
             Filename: t.deb\nSize: 1\nSHA256: 0000000000000000000000000000000000000000000000000000000000000001\n\n\
             Package: mid\nVersion: 1\nArchitecture: all\nDepends: lib (<< 2)\n\
             Filename: m.deb\nSize: 1\nSHA256: 0000000000000000000000000000000000000000000000000000000000000002\n\n\
             Package: lib\nVersion: 1\nArchitecture: amd64\n\
             Filename: l1.deb\nSize: 1\nSHA256: 0000000000000000000000000000000000000000000000000000000000000003\n\n\
             Package: lib\nVersion: 2\nArchitecture: amd64\n\
             Filename: l2.deb\nSize: 1\nSHA256: 0000000000000000000000000000000000000000000000000000000000000004\n",
            "s",
        )
        .unwrap();
    let err = resolve(&index, &Installed::none(), &req(&["top"]), "x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot satisfy 'lib (<< 2)' (needed by top -> mid): lib 2 is already selected"
    );
}

#[test]
fn ubuntu_shaped_indexes_merge_components_and_pockets() {
    let main = "Package: libpython3.12t64\nVersion: 3.12.3-1\nArchitecture: amd64\nProvides: libpython3.12 (= 3.12.3-1)\n\
                Depends: libc6 (>= 2.38)\nFilename: pool/main/p/python3.12/a.deb\nSize: 1\n\
                SHA256: 0000000000000000000000000000000000000000000000000000000000000001\n\n\
                Package: libc6\nVersion: 2.39-0ubuntu8\nArchitecture: amd64\nFilename: pool/main/g/glibc/b.deb\nSize: 1\n\
                SHA256: 0000000000000000000000000000000000000000000000000000000000000002\n";
    let universe = "Package: tool\nVersion: 1.0-1build2\nArchitecture: amd64\nDepends: libpython3.12 (>= 3.12)\n\
                    Filename: pool/universe/t/tool/c.deb\nSize: 1\n\
                    SHA256: 0000000000000000000000000000000000000000000000000000000000000003\n";
    let updates = "Package: libc6\nVersion: 2.39-0ubuntu8.4\nArchitecture: amd64\nFilename: pool/main/g/glibc/d.deb\nSize: 1\n\
                   SHA256: 0000000000000000000000000000000000000000000000000000000000000004\n";
    let mut index = Index::new("amd64");
    index.add_packages_file(main, "noble").unwrap();
    index.add_packages_file(universe, "noble").unwrap();
    index.add_packages_file(updates, "noble-updates").unwrap();
    let ids = resolve(
        &index,
        &Installed::none(),
        &req(&["tool"]),
        "ubuntu noble (amd64)",
    )
    .unwrap();
    assert_eq!(
        names(&index, &ids),
        [
            "libc6=2.39-0ubuntu8.4",
            "libpython3.12t64=3.12.3-1",
            "tool=1.0-1build2"
        ]
    );
    assert_eq!(index.get(ids[0]).suite, "noble-updates");
}

#[test]
fn reads_installed_packages_from_a_rootfs() {
    let dir = tempfile::tempdir().unwrap();
    let dpkg = dir.path().join("var/lib/dpkg");
    std::fs::create_dir_all(dpkg.join("status.d")).unwrap();
    std::fs::write(
        dpkg.join("status"),
        "Package: base-files\nStatus: install ok installed\nVersion: 12.4\n",
    )
    .unwrap();
    std::fs::write(
        dpkg.join("status.d/libc6"),
        "Package: libc6\nVersion: 2.36-9\n",
    )
    .unwrap();
    let installed = Installed::from_rootfs(dir.path(), "amd64").unwrap();
    assert_eq!(installed.len(), 2);
    let empty = Installed::from_rootfs(&dir.path().join("nothing"), "amd64").unwrap();
    assert!(empty.is_empty());
}
