//! Framework profiles through the user journey, one example app per profile
//! (`examples/<profile>/`): the app's files are copied into a fresh project, `rcraft init
//! --profile X --name N` writes `rockcraft.yaml`, the build base is switched to `debian@12`, and
//! the result must equal the example's own `rockcraft.yaml` (so the examples show exactly what
//! `init` writes). Then `rcraft pack`, podman run, the app's answer on its port, every process of
//! the app running as `_daemon_`, and `podman stop` without SIGKILL.
//!
//! Most journeys use `base: bare`; one runs the flask profile on `base: debian@12` pulled from a
//! registry seeded without rcraft (mmdebstrap, umoci, skopeo; the layout `plugins.rs` builds
//! once). The sync/gevent story with the blog's Flask app is in `story.rs`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::{Podman, TestContext, require_tool, run};
use crate::registry::TestRegistry;

/// The `build-base` line `rcraft init` writes for every framework profile.
const INIT_BUILD_BASE: &str = "build-base: ubuntu@24.04 # required when the base is bare\n";

/// What the examples have instead: Ubuntu's archive is not needed to build them.
const EXAMPLE_BUILD_BASE: &str = "# The one change from `rcraft init`: build-base ubuntu@24.04 -> \
                                  debian@12 (an rcraft addition).\nbuild-base: debian@12 # \
                                  required when the base is bare\n";

/// The `base` line `rcraft init` writes.
const INIT_BASE: &str = "base: bare # an ubuntu base such as ubuntu@24.04 works too\n";

/// The five profiles, each with its example's rock name (`rcraft init --name`).
const EXAMPLES: &[(&str, &str)] = &[
    ("flask-framework", "hello-flask"),
    ("django-framework", "hello-django"),
    ("fastapi-framework", "hello-fastapi"),
    ("go-framework", "hello-go"),
    ("expressjs-framework", "hello-expressjs"),
];

fn example_dir(profile: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(profile)
}

/// The rock name of the example of `profile` (as `rcraft init --name` got it).
pub(crate) fn example_name(profile: &str) -> &'static str {
    EXAMPLES
        .iter()
        .find(|(p, _)| *p == profile)
        .map(|(_, name)| *name)
        .unwrap_or_else(|| panic!("no example for {profile}"))
}

/// `name` as the Python package / Django project directory (`-` → `_`, lowercase).
fn snake(name: &str) -> String {
    name.replace('-', "_").to_lowercase()
}

/// Copies the example's tree into `to`, renaming the rock `from_name` to `to_name` (and its
/// snake-case form) in file names and contents. Its README and work files are left out.
fn copy_renamed(from: &Path, to: &Path, from_name: &str, to_name: &str) {
    let rename = |s: &str| {
        s.replace(from_name, to_name)
            .replace(&snake(from_name), &snake(to_name))
    };
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read example") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if [".rcraft", "node_modules", "README.md"].contains(&name.as_str())
            || name.ends_with(".rock")
        {
            continue;
        }
        let dest = to.join(rename(&name));
        if entry.file_type().expect("file type").is_dir() {
            copy_renamed(&entry.path(), &dest, from_name, to_name);
        } else {
            // Copy first (keeps the mode, e.g. manage.py's), then rewrite the text.
            std::fs::copy(entry.path(), &dest).expect("copy");
            let text = std::fs::read_to_string(&dest).expect("example files are text");
            let renamed = rename(&text);
            if renamed != text {
                std::fs::write(&dest, renamed).expect("write");
            }
        }
    }
}

/// Copies the example of `profile` into `to` (without its README), renamed to `name`.
pub(crate) fn copy_example(profile: &str, to: &Path, name: &str) {
    copy_renamed(&example_dir(profile), to, example_name(profile), name);
}

/// A project made from the example of `profile` under the rock name `name`: the app's files,
/// and the `rockcraft.yaml` that `rcraft init` writes with the build base switched to
/// `debian@12`, checked equal to the example's own (renamed). Cheap: no packing.
fn project_from_example(profile: &str, name: &str) -> TestContext {
    let ctx = TestContext::new();
    copy_example(profile, ctx.path(), name);
    let project_file = ctx.path().join("rockcraft.yaml");
    let expected =
        std::fs::read_to_string(&project_file).expect("the example has a rockcraft.yaml");
    std::fs::remove_file(&project_file).expect("remove");
    let (code, _, stderr) = run(ctx
        .rcraft()
        .args(["init", "--profile", profile, "--name", name]));
    assert_eq!(code, 0, "{stderr}");
    let written = std::fs::read_to_string(&project_file).expect("read");
    assert_eq!(
        written.matches(INIT_BUILD_BASE).count(),
        1,
        "init no longer writes {INIT_BUILD_BASE:?}:\n{written}"
    );
    let switched = written.replace(INIT_BUILD_BASE, EXAMPLE_BUILD_BASE);
    assert!(
        switched == expected,
        "examples/{profile}/rockcraft.yaml is not what `rcraft init --profile {profile}` writes \
         (with build-base: debian@12); regenerate it. Written:\n{switched}"
    );
    ctx.write("rockcraft.yaml", switched);
    ctx
}

/// The rock's base.
enum Base<'a> {
    /// `base: bare`, as the examples have it.
    Bare,
    /// `base: debian@12`, pulled from this registry.
    Debian(&'a TestRegistry),
}

/// `GET /` on `port`, retried until the app answers with 200 (a published port accepts
/// connections before the app listens); returns the body.
fn get_body(port: u16, container: &str) -> String {
    for _ in 0..300 {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            let mut response = String::new();
            if s.read_to_string(&mut response).is_ok() && response.starts_with("HTTP/1.1 200") {
                return response
                    .split("\r\n\r\n")
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, out, err) = run(Command::new("podman").args(["logs", container]));
    panic!("no answer on port {port}; container logs:\n{out}{err}");
}

/// The journey for the example of `profile`: project from the example, pack (on `base`), run
/// in podman, the answer on `app_port` contains `expected`, every process is `_daemon_`'s, and
/// `podman stop` ends it without SIGKILL. Returns nothing; everything is cleaned up.
fn journey(profile: &str, base: Base<'_>, app_port: u16, expected: &str) {
    require_tool("podman");
    assert!(
        std::env::var("RCRAFT_WORKER_SERVER").is_ok_and(|v| !v.is_empty()),
        "RCRAFT_WORKER_SERVER is not set: run the README's test command (scripts/test.sh)"
    );
    let short = profile.trim_end_matches("-framework");
    let flavour = match base {
        Base::Bare => "bare",
        Base::Debian(_) => "deb",
    };
    // Unique per run and per test (tests of one binary share the process id).
    let name = format!("rcraft-it-e2e-{short}-{flavour}-{}", std::process::id());
    let ctx = project_from_example(profile, &name);
    let mut pack = ctx.rcraft();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("debs-cache");
    pack.arg("pack").env("RCRAFT_CACHE_DIR", &cache);
    if let Base::Debian(registry) = &base {
        let yaml = std::fs::read_to_string(ctx.path().join("rockcraft.yaml")).expect("read");
        assert!(yaml.contains(INIT_BASE), "{yaml}");
        ctx.write(
            "rockcraft.yaml",
            yaml.replace(INIT_BASE, "base: debian@12\n"),
        );
        pack.args(["--base-mirror", &registry.host()]);
    }
    let (code, _, stderr) = run(&mut pack);
    assert_eq!(code, 0, "{stderr}");
    let rock = ctx.path().join(format!("{name}_0.1_amd64.rock"));
    if let Base::Debian(registry) = &base {
        // The seeded base's layer is the rock's first, as pulled.
        let (code, out, stderr) = run(Command::new("skopeo")
            .args(["inspect", "--tls-verify=false"])
            .arg(format!(
                "docker://{}/library/debian:bookworm",
                registry.host()
            )));
        assert_eq!(code, 0, "{stderr}");
        let remote: serde_json::Value = serde_json::from_str(&out).expect("json");
        let summary = rcraft::oci::validate(&rock).expect("valid rock");
        assert_eq!(
            Some(summary.layers[0].digest.to_string().as_str()),
            remote["Layers"][0].as_str()
        );
    }

    let container = format!("{name}-run");
    let mut podman = Podman {
        image: format!("localhost/{name}:0.1"),
        containers: Vec::new(),
    };
    let (code, _, stderr) = run(Command::new("podman").arg("load").arg("-i").arg(&rock));
    assert_eq!(code, 0, "{stderr}");
    let port = podman.run_detached(&container, app_port, &[]);
    let body = get_body(port, &container);
    assert!(body.contains(expected), "{body}");
    let (code, top, _) = run(Command::new("podman").args(["top", &container, "user", "args"]));
    assert_eq!(code, 0);
    let processes: Vec<&str> = top.lines().skip(1).collect();
    assert!(processes.len() >= 2, "worker-server and the app: {top}");
    assert!(processes.iter().all(|l| l.starts_with("_daemon_")), "{top}");
    let (code, _, stderr) = run(Command::new("podman").args(["stop", "-t", "30", &container]));
    assert_eq!(code, 0, "{stderr}");
    let (_, out, err) = run(Command::new("podman").args(["logs", &container]));
    let logs = out + &err;
    assert!(!logs.contains("SIGKILL"), "the app needed SIGKILL:\n{logs}");
    assert!(logs.contains("Exiting with code 0"), "{logs}");
}

/// Every example's `rockcraft.yaml` is what `init` writes (modulo the build base), and the
/// profile accepts the example (`expand-extensions`). No podman, no packing.
#[test]
fn every_example_is_what_init_writes_and_expands() {
    for (profile, _) in EXAMPLES {
        let name = format!("rcraft-it-init-{}", std::process::id());
        let ctx = project_from_example(profile, &name);
        let (code, stdout, stderr) = run(ctx.rcraft().arg("expand-extensions"));
        assert_eq!(code, 0, "{profile}: {stderr}");
        assert!(stdout.contains("run-user: _daemon_"), "{profile}: {stdout}");
        assert!(
            stdout.contains("build-base: debian@12"),
            "{profile}: {stdout}"
        );
    }
}

#[test]
fn flask_framework_answers_on_8000() {
    journey(
        "flask-framework",
        Base::Bare,
        8000,
        "Hello from a Flask rock!",
    );
}

#[test]
fn django_framework_answers_on_8000() {
    journey(
        "django-framework",
        Base::Bare,
        8000,
        "Hello from a Django rock!",
    );
}

#[test]
fn fastapi_framework_answers_on_8000() {
    journey(
        "fastapi-framework",
        Base::Bare,
        8000,
        "Hello from a FastAPI rock!",
    );
}

#[test]
fn go_framework_answers_on_8080() {
    require_tool("go");
    journey("go-framework", Base::Bare, 8080, "Hello from a Go rock!");
}

#[test]
fn expressjs_framework_answers_on_8080() {
    require_tool("npm");
    journey(
        "expressjs-framework",
        Base::Bare,
        8080,
        "Hello from an Express rock!",
    );
}

/// The flask profile on `base: debian@12`, pulled from a registry seeded with Debian's python3
/// (no rcraft involved in seeding): python3 comes from the base, the rest from the profile.
#[test]
fn flask_framework_on_a_pulled_debian_base_answers_on_8000() {
    require_tool("skopeo");
    let registry = crate::plugins::seeded_registry();
    journey(
        "flask-framework",
        Base::Debian(&registry),
        8000,
        "Hello from a Flask rock!",
    );
}
