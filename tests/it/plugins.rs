//! The python, go and npm plugins end to end, with the real toolchains and indexes: each
//! example under `examples/` is copied, packed and run under podman (the Flask app on a seeded
//! Debian 12 with python3, the Go server on bare, the Express app on the seeded Debian with the
//! host's node copied in), and broken Python requirements fail the build clearly.
//!
//! The seeded Debian image (mmdebstrap, about a minute) is built once into cargo's test scratch
//! dir (`CARGO_TARGET_TMPDIR`) and reused by later runs; each test pushes it to its own
//! registry, which is stopped when the test ends. Podman images and containers are removed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::{TestContext, require_tool, run};
use crate::registry::{TestRegistry, free_port};
use crate::seed::{debian_layout, push_layout};

/// Packages the seeded base has beyond `essential`: the Flask app's Python, the host node's
/// C++ runtime.
const SEED_INCLUDE: &[&str] = &["python3", "libstdc++6"];

/// The seeded Debian image's `umoci` reference, built on first use.
fn debian_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("plugins-seed-{}", SEED_INCLUDE.join("-")));
        let image = format!("{}:base", dir.join("layout").display());
        if dir.join("complete").exists() {
            return image;
        }
        let _ = std::fs::remove_dir_all(&dir);
        let scratch = tempfile::Builder::new()
            .prefix("plugins-seed-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("scratch dir");
        debian_layout(scratch.path(), SEED_INCLUDE);
        std::fs::write(scratch.path().join("complete"), "").expect("marker");
        let built = scratch.keep();
        std::fs::rename(&built, &dir).expect("move the seed in place");
        image
    })
}

/// A registry serving the seeded image as `library/debian:bookworm` (also used by
/// `profiles_e2e`, so that one mmdebstrap serves both).
pub(crate) fn seeded_registry() -> TestRegistry {
    let image = debian_image();
    let registry = TestRegistry::start();
    push_layout(
        image,
        &format!("{}/library/debian:bookworm", registry.host()),
    );
    registry
}

/// Copies `examples/<name>` into `ctx` (without its work dir), renamed to a name unique to
/// this run; returns the project dir and the new name.
fn example(ctx: &TestContext, name: &str) -> (PathBuf, String) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    let to = ctx.path().join(name);
    copy_dir(&from, &to);
    let unique = format!("rcraft-it-{name}-{}", std::process::id());
    let yaml = to.join("rockcraft.yaml");
    let text = std::fs::read_to_string(&yaml).expect("read rockcraft.yaml");
    let text = text.replacen(&format!("name: {name}\n"), &format!("name: {unique}\n"), 1);
    std::fs::write(&yaml, text).expect("write rockcraft.yaml");
    (to, unique)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read example") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == ".rcraft" || name == "node_modules" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy");
        }
    }
}

/// `rcraft pack` in `dir` with a cache in `cache` and, for a non-bare base, the mirror.
fn pack(dir: &Path, cache: &Path, mirror: Option<&str>) -> (i32, String, String) {
    let mut cmd = crate::common::rcraft_in(dir);
    cmd.arg("pack").env("RCRAFT_CACHE_DIR", cache);
    if let Some(m) = mirror {
        cmd.env("RCRAFT_BASE_MIRROR", m);
    }
    run(&mut cmd)
}

/// A podman image loaded from a rock; removed (with its containers) on drop.
struct Loaded(String);

impl Loaded {
    fn load(rock: &Path, name: &str) -> Loaded {
        let (code, _, stderr) = run(Command::new("podman").arg("load").arg("-i").arg(rock));
        assert_eq!(code, 0, "podman load: {stderr}");
        Loaded(format!("localhost/{name}:0.1"))
    }

    /// `podman run --rm [args] IMAGE [cmd]`, returning stdout; fails the test on error.
    fn run(&self, args: &[&str], cmd: &[&str]) -> String {
        let (code, stdout, stderr) = run(Command::new("podman")
            .args(["run", "--rm"])
            .args(args)
            .arg(&self.0)
            .args(cmd));
        assert_eq!(code, 0, "podman run {args:?} {cmd:?}: {stderr}");
        stdout
    }

    /// Runs the image's entrypoint detached with `port` published to `host_port`; the
    /// container is removed on drop.
    fn serve(&self, port: u16, host_port: u16) -> Container {
        let name = format!("{}-{host_port}", self.0.replace(['/', ':'], "-"));
        let (code, _, stderr) = run(Command::new("podman").args([
            "run",
            "-d",
            "--name",
            &name,
            "-p",
            &format!("127.0.0.1:{host_port}:{port}"),
            &self.0,
        ]));
        assert_eq!(code, 0, "podman run -d: {stderr}");
        Container(name)
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        let _ = Command::new("podman").args(["rmi", "-f", &self.0]).output();
    }
}

/// A running container; stopped and removed on drop.
struct Container(String);

impl Container {
    fn logs(&self) -> String {
        let (_, stdout, stderr) = run(Command::new("podman").args(["logs", &self.0]));
        format!("{stdout}{stderr}")
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-t", "2", &self.0])
            .output();
    }
}

/// The body of `GET /` on `127.0.0.1:port`, retrying until the server answers (a published
/// port accepts connections before the app listens) or 60 s pass.
fn http_get(port: u16, container: &Container) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(body) = try_get(port) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "no HTTP answer on port {port}; container logs:\n{}",
            container.logs()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn try_get(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .ok()?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then(|| body.to_string())
}

fn rock_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}_0.1_amd64.rock"))
}

#[test]
fn flask_app_with_gunicorn_and_gevent_packs_on_debian_and_serves() {
    for tool in ["uv", "python3", "podman"] {
        require_tool(tool);
    }
    let registry = seeded_registry();
    let ctx = TestContext::new();
    let (dir, name) = example(&ctx, "python-flask");
    let cache = ctx.path().join("cache");
    let (code, _, stderr) = pack(&dir, &cache, Some(&registry.host()));
    assert_eq!(code, 0, "pack failed:\n{stderr}");

    // Wheels for the image's Python 3.11, never the host's interpreter in the shebang.
    let prime = dir.join(".rcraft/work/amd64/prime");
    let site = prime.join("usr/local/lib/python3.11/dist-packages");
    assert!(site.join("flask/__init__.py").is_file());
    let gunicorn = std::fs::read_to_string(prime.join("usr/local/bin/gunicorn")).expect("script");
    assert!(
        gunicorn.starts_with("#!/usr/bin/python3.11\n"),
        "{gunicorn}"
    );

    let image = Loaded::load(&rock_path(&dir, &name), &name);
    let out = image.run(
        &["--entrypoint", "/usr/bin/python3"],
        &["-c", "import flask, gunicorn, gevent; print('ok')"],
    );
    assert_eq!(out.trim(), "ok");
    let out = image.run(&["--entrypoint", "/usr/local/bin/gunicorn"], &["--version"]);
    assert!(out.contains("gunicorn"), "{out}");

    let port = free_port();
    let container = image.serve(8000, port);
    assert_eq!(http_get(port, &container), "ok\n");

    // An edit to app.py re-pulls the python part but keeps its build (uv is not run again:
    // requirements.txt did not change); the app's part is redone and the rock has the edit.
    let app = std::fs::read_to_string(dir.join("app.py")).expect("read app.py");
    std::fs::write(dir.join("app.py"), app.replace("ok\\n", "edited\\n")).expect("edit");
    let (code, _, stderr) = pack(&dir, &cache, Some(&registry.host()));
    assert_eq!(code, 0, "repack failed:\n{stderr}");
    assert!(stderr.contains("Pulling flask-dependencies"), "{stderr}");
    assert!(
        stderr.contains("Skipping build for flask-dependencies (already ran)"),
        "{stderr}"
    );
    assert!(stderr.contains("Building flask-app"), "{stderr}");
    let primed = std::fs::read_to_string(prime.join("flask/app/app.py")).expect("primed app");
    assert!(primed.contains("edited\\n"), "{primed}");
    assert!(site.join("flask/__init__.py").is_file());

    // An edit to requirements.txt rebuilds it.
    let reqs = std::fs::read_to_string(dir.join("requirements.txt")).expect("read");
    std::fs::write(
        dir.join("requirements.txt"),
        format!("{reqs}# pinned later\n"),
    )
    .expect("edit");
    let (code, _, stderr) = pack(&dir, &cache, Some(&registry.host()));
    assert_eq!(code, 0, "repack failed:\n{stderr}");
    assert!(stderr.contains("Building flask-dependencies"), "{stderr}");
}

#[test]
fn broken_python_requirements_fail_the_build_naming_the_part_and_the_package() {
    require_tool("uv");
    let ctx = TestContext::new();
    // A stand-in for the image's Python: the plugin only looks for usr/bin/python3.N.
    ctx.write(
        "rockcraft.yaml",
        r#"name: broken-reqs
version: '0.1'
summary: Requirements that cannot be installed
description: Each case must fail in the build step.
base: bare
build-base: debian@12
platforms:
  amd64:
parts:
  fake-python:
    plugin: nil
    override-build: |
      mkdir -p "$CRAFT_PART_INSTALL/usr/bin"
      touch "$CRAFT_PART_INSTALL/usr/bin/python3.11"
  deps:
    plugin: python
    source: .
    after: [fake-python]
    python-requirements: [requirements.txt]
"#,
    );
    let cache = ctx.path().join("cache");
    let cases = [
        (
            "flask===\n",
            vec!["a requirement cannot be parsed", "flask==="],
        ),
        (
            "flask\nrcraft-no-such-package-xyz\n",
            vec!["`rcraft-no-such-package-xyz` does not exist"],
        ),
        (
            "pycrypto\n",
            vec!["`pycrypto` has no wheel for CPython 3.11", "wheels only"],
        ),
    ];
    for (requirements, expected) in cases {
        ctx.write("requirements.txt", requirements);
        let (code, _, stderr) = pack(ctx.path(), &cache, None);
        assert_eq!(code, 1, "{requirements}: {stderr}");
        assert!(
            stderr.contains("part 'deps' failed in step build: python plugin: "),
            "{stderr}"
        );
        for text in expected {
            assert!(
                stderr.contains(text),
                "{requirements}: wanted {text:?}:\n{stderr}"
            );
        }
        assert!(!rock_path(ctx.path(), "broken-reqs").exists());
    }

    // No uv: the error names it and how to get it.
    ctx.write("requirements.txt", "flask\n");
    let (code, _, stderr) = run(crate::common::rcraft_in(ctx.path())
        .arg("pack")
        .env("RCRAFT_CACHE_DIR", &cache)
        .env("UV", ctx.path().join("no-uv-here")));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("`uv` is not installed"), "{stderr}");
}

#[test]
fn go_server_packs_on_bare_and_answers_http() {
    for tool in ["go", "podman"] {
        require_tool(tool);
    }
    let ctx = TestContext::new();
    let (dir, name) = example(&ctx, "go-hello");
    let cache = ctx.path().join("cache");
    let (code, _, stderr) = pack(&dir, &cache, None);
    assert_eq!(code, 0, "pack failed:\n{stderr}");

    let image = Loaded::load(&rock_path(&dir, &name), &name);
    let port = free_port();
    let container = image.serve(8080, port);
    assert_eq!(http_get(port, &container), "Hello from a Go rock!\n");
}

#[test]
fn express_app_packs_on_debian_with_production_dependencies_and_answers_http() {
    for tool in ["node", "npm", "podman"] {
        require_tool(tool);
    }
    let registry = seeded_registry();
    let ctx = TestContext::new();
    let (dir, name) = example(&ctx, "express-hello");
    let cache = ctx.path().join("cache");
    let (code, _, stderr) = pack(&dir, &cache, Some(&registry.host()));
    assert_eq!(code, 0, "pack failed:\n{stderr}");

    let app = dir.join(".rcraft/work/amd64/prime/lib/node_modules/express-hello");
    assert!(app.join("node_modules/express/package.json").is_file());
    assert!(
        !app.join("node_modules/left-pad").exists(),
        "a devDependency was installed"
    );

    let image = Loaded::load(&rock_path(&dir, &name), &name);
    let port = free_port();
    let container = image.serve(8080, port);
    assert_eq!(http_get(port, &container), "Hello from an Express rock!\n");
}
