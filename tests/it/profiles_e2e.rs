//! Framework profiles through the user journey: `rcraft init --profile X` in a directory that
//! holds a small real app, `rcraft pack` (`base: bare`, `build-base: debian@12`), podman run,
//! the app's answer on its port, the app running as `_daemon_`, and `podman stop`.
//! (flask-framework is in `story.rs`.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::common::{Podman, TestContext, require_tool, run};

/// GET / on `port`, retried until the app answers; returns the body.
fn get_body(port: u16) -> String {
    for _ in 0..150 {
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
    panic!("no answer on port {port}");
}

/// Inits `profile` in a project holding `files` (`{name}` in them becomes the project name), packs it, runs it and checks the answer on
/// `app_port` contains `expected`, with every process of the app running as `_daemon_`.
fn journey(profile: &str, files: &[(&str, &str)], app_port: u16, expected: &str) {
    require_tool("podman");
    assert!(
        std::env::var("RCRAFT_WORKER_SERVER").is_ok_and(|v| !v.is_empty()),
        "RCRAFT_WORKER_SERVER is not set: run the README's test command (scripts/test.sh)"
    );
    let ctx = TestContext::new();
    let name = format!(
        "rcraft-it-{}-{}",
        profile.trim_end_matches("-framework"),
        std::process::id()
    );
    for (rel, text) in files {
        ctx.write(rel, text.replace("{name}", &name));
    }
    let (code, _, stderr) = run(ctx
        .rcraft()
        .args(["init", "--profile", profile, "--name", &name]));
    assert_eq!(code, 0, "{stderr}");
    let yaml = std::fs::read_to_string(ctx.path().join("rockcraft.yaml")).expect("read");
    ctx.write(
        "rockcraft.yaml",
        yaml.replace("build-base: ubuntu@24.04", "build-base: debian@12"),
    );
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("debs-cache");
    let (code, _, stderr) = run(ctx.rcraft().arg("pack").env("RCRAFT_CACHE_DIR", &cache));
    assert_eq!(code, 0, "{stderr}");
    let container = format!("{name}-run");
    let podman = Podman {
        image: format!("localhost/{name}:0.1"),
        containers: vec![container.clone()],
    };
    let rock = ctx.path().join(format!("{name}_0.1_amd64.rock"));
    let (code, _, stderr) = run(Command::new("podman").arg("load").arg("-i").arg(&rock));
    assert_eq!(code, 0, "{stderr}");
    let port = crate::registry::free_port();
    let (code, _, stderr) = run(Command::new("podman").args([
        "run",
        "-d",
        "--name",
        &container,
        "-p",
        &format!("127.0.0.1:{port}:{app_port}"),
        &podman.image,
    ]));
    assert_eq!(code, 0, "{stderr}");
    let body = get_body(port);
    assert!(body.contains(expected), "{body}");
    let (code, top, _) = run(Command::new("podman").args(["top", &container, "user", "args"]));
    assert_eq!(code, 0);
    let processes: Vec<&str> = top.lines().skip(1).collect();
    assert!(!processes.is_empty(), "{top}");
    assert!(processes.iter().all(|l| l.starts_with("_daemon_")), "{top}");
    let (code, _, stderr) = run(Command::new("podman").args(["stop", "-t", "30", &container]));
    assert_eq!(code, 0, "{stderr}");
    let (_, out, err) = run(Command::new("podman").args(["logs", &container]));
    assert!(!(out + &err).contains("SIGKILL"), "the app needed SIGKILL");
}

#[test]
fn go_framework_answers_on_8080() {
    require_tool("go");
    journey(
        "go-framework",
        &[
            // The profile runs the binary named after the project, as Rockcraft's does.
            ("go.mod", "module {name}\n\ngo 1.19\n"),
            ("main.go", include_str!("../../examples/go-hello/main.go")),
        ],
        8080,
        "Hello from a Go rock!",
    );
}

#[test]
fn fastapi_framework_answers_on_8000() {
    journey(
        "fastapi-framework",
        &[
            ("requirements.txt", "fastapi\nuvicorn\n"),
            (
                "app.py",
                "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get(\"/\")\ndef root():\n    return {\"message\": \"hello from fastapi\"}\n",
            ),
        ],
        8000,
        "hello from fastapi",
    );
}

#[test]
fn expressjs_framework_answers_on_8080() {
    require_tool("npm");
    journey(
        "expressjs-framework",
        &[
            (
                "app/package.json",
                include_str!("../../examples/express-hello/app/package.json"),
            ),
            (
                "app/server.js",
                include_str!("../../examples/express-hello/app/server.js"),
            ),
        ],
        8080,
        "Hello from an Express rock!",
    );
}
