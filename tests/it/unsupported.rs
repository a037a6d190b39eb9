//! Nothing is silently ignored: every key rcraft accepts but cannot honour yet makes `rcraft
//! pack` (and the lifecycle commands) stop before any work, naming the key, the part and the
//! position, with exit code 1; `expand-extensions` still accepts the project.

use crate::common::{TestContext, run};

/// A project with one `nil` part `app`; `PART_EXTRA` lines go into the part, `TOP_EXTRA`
/// lines at the top level.
const PROJECT: &str = "name: unsupported
version: '0.1'
summary: s
description: d
base: BASE
build-base: debian@12
platforms:
  amd64:
TOP_EXTRA
parts:
  app:
    plugin: PLUGIN
PART_EXTRA
";

struct Case {
    /// What the project adds to the part (indented 4 spaces) or at the top level.
    part: &'static str,
    top: &'static str,
    base: &'static str,
    plugin: &'static str,
    /// The message expected on stderr.
    expected: &'static str,
}

const fn case(part: &'static str, expected: &'static str) -> Case {
    Case {
        part,
        top: "",
        base: "bare",
        plugin: "nil",
        expected,
    }
}

const CASES: &[Case] = &[
    case(
        "    build-packages: [gcc]",
        "rockcraft.yaml:13:22: not supported yet: build-packages (part 'app')",
    ),
    case(
        "    build-snaps: [go/1.22/stable]",
        "rockcraft.yaml:13:18: not supported yet: build-snaps (part 'app')",
    ),
    case(
        "    stage-snaps: [hello]",
        "rockcraft.yaml:13:18: not supported yet: stage-snaps (part 'app')",
    ),
    case(
        "    build-attributes: [enable-patchelf]",
        "rockcraft.yaml:13:23: not supported yet: build-attributes (part 'app')",
    ),
    case(
        "    source: .\n    source-tag: v1",
        "rockcraft.yaml:14:17: not supported yet: source-tag (part 'app')",
    ),
    case(
        "    source: .\n    source-branch: main",
        "not supported yet: source-branch (part 'app')",
    ),
    case(
        "    source: .\n    source-commit: 0123abc",
        "not supported yet: source-commit (part 'app')",
    ),
    case(
        "    source: .\n    source-depth: 1",
        "not supported yet: source-depth (part 'app')",
    ),
    case(
        "    source: .\n    source-checksum: sha256/00",
        "not supported yet: source-checksum (part 'app')",
    ),
    case(
        "    source: .\n    source-submodules: []\n    source-depth: 1",
        "not supported yet: source-depth (part 'app')",
    ),
    case(
        "    organize:\n      a: ${CRAFT_PART_INSTALL}/b",
        "rockcraft.yaml:14:10: not supported yet: organize (part 'app')",
    ),
    Case {
        part: "    overlay-packages: [hello]",
        base: "debian@12",
        ..case(
            "",
            "rockcraft.yaml:13:23: not supported yet: overlay-packages (part 'app')",
        )
    },
    Case {
        part: "    overlay-script: touch $CRAFT_OVERLAY/x",
        base: "debian@12",
        ..case("", "not supported yet: overlay-script (part 'app')")
    },
    Case {
        part: "    overlay: [usr]",
        base: "debian@12",
        ..case("", "not supported yet: overlay (part 'app')")
    },
    Case {
        top: "package-repositories:\n  - type: apt\n    ppa: deadsnakes/ppa",
        ..case(
            "",
            "rockcraft.yaml:10:3: not supported yet: package-repositories",
        )
    },
    Case {
        plugin: "make",
        ..case("", "not supported yet: plugin 'make' (part 'app')")
    },
    Case {
        plugin: "npm",
        ..case(
            "    source: .\n    npm-include-node: true\n    npm-node-version: 20.0.0",
            "not supported yet: npm-include-node (part 'app')",
        )
    },
    case(
        "    source: https://example.invalid/app.git",
        "git sources are not supported yet (part 'app')",
    ),
];

fn project(c: &Case) -> String {
    PROJECT
        .replace("BASE", c.base)
        .replace("PLUGIN", c.plugin)
        .replace("TOP_EXTRA\n", &format!("{}\n", c.top))
        .replace("PART_EXTRA\n", &format!("{}\n", c.part))
}

#[test]
fn every_key_rcraft_cannot_honour_stops_pack_before_any_work() {
    for c in CASES {
        let ctx = TestContext::new();
        ctx.write("rockcraft.yaml", project(c));
        // A base pull would fail with a registry error, not the expected message.
        let (code, stdout, stderr) = run(ctx
            .rcraft()
            .arg("pack")
            .env("RCRAFT_BASE_MIRROR", "127.0.0.1:9")
            .env("RCRAFT_CACHE_DIR", ctx.path().join("cache")));
        assert_eq!(code, 1, "{}:\n{stderr}", c.expected);
        assert!(stdout.is_empty(), "{stdout}");
        assert!(
            stderr.contains(c.expected),
            "expected `{}` in:\n{stderr}",
            c.expected
        );
        assert!(!stderr.contains("internal error"), "{stderr}");
        for made in [".rcraft", "cache", "unsupported_0.1_amd64.rock"] {
            assert!(
                !ctx.path().join(made).exists(),
                "{made} exists after `{}`",
                c.expected
            );
        }
        // The lifecycle commands refuse it too; expand-extensions still shows it.
        let (code, _, stderr) = run(ctx.rcraft().arg("build"));
        assert_eq!(code, 1, "build: {stderr}");
        assert!(stderr.contains(c.expected), "build: {stderr}");
        let (code, _, stderr) = run(ctx.rcraft().arg("expand-extensions"));
        assert_eq!(
            code, 0,
            "expand-extensions refused `{}`: {stderr}",
            c.expected
        );
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let ctx = TestContext::new();
    let c = Case {
        plugin: "cmake",
        ..case("    build-packages: [gcc]\n    stage-snaps: [hello]", "")
    };
    ctx.write("rockcraft.yaml", project(&c));
    let (code, _, stderr) = run(ctx.rcraft().arg("pack"));
    assert_eq!(code, 1, "{stderr}");
    for expected in [
        "not supported yet: build-packages (part 'app')",
        "not supported yet: stage-snaps (part 'app')",
        "not supported yet: plugin 'cmake' (part 'app')",
    ] {
        assert!(stderr.contains(expected), "`{expected}` in:\n{stderr}");
    }
}

#[test]
fn every_example_passes_the_check_including_what_extensions_add() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples).expect("examples") {
        let dir = entry.expect("entry").path();
        if !dir.join("rockcraft.yaml").is_file() {
            continue;
        }
        let loaded = rcraft::project::load(&dir).expect("example loads");
        if let Err(e) = rcraft::lifecycle::preflight::check(&loaded.project) {
            panic!("{}: {e}", dir.display());
        }
        checked += 1;
    }
    // flask, django, fastapi, go and expressjs (whose extension adds build-packages), busybox,
    // python-flask, go-hello, express-hello.
    assert!(checked >= 9, "only {checked} examples");
}
