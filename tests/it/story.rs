//! The blog's experiment, end to end: the Flask app of `examples/python-flask`, packed by
//! rcraft on a bare base (python3 from the Debian archive, Flask and gunicorn[gevent] from
//! PyPI), run under podman with rcraft's worker-server as PID 1. Five concurrent requests to
//! the 2-second route are served one after another with `WEBSERVER_WORKER_CLASS=sync` and
//! together with `gevent`. The pattern of finish times is asserted, not a wall-clock bound.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{Podman, TestContext, require_tool, run};

/// One GET; returns the seconds from `start` until the whole response was read.
fn get(port: u16, start: Instant) -> f64 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    start.elapsed().as_secs_f64()
}

fn wait_for_port(port: u16) {
    for _ in 0..300 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("nothing listens on {port}");
}

/// Finish times of 5 concurrent requests, sorted.
fn five_concurrent(port: u16) -> Vec<f64> {
    let start = Instant::now();
    let handles: Vec<_> = (0..5)
        .map(|_| std::thread::spawn(move || get(port, start)))
        .collect();
    let mut times: Vec<f64> = handles
        .into_iter()
        .map(|h| h.join().expect("request"))
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

/// Checks the tools the story needs and copies the example's files into a new project dir.
fn project_with(files: &[&str]) -> TestContext {
    require_tool("podman");
    let worker = std::env::var("RCRAFT_WORKER_SERVER").unwrap_or_default();
    assert!(
        !worker.is_empty(),
        "RCRAFT_WORKER_SERVER is not set: run the README's test command (scripts/test.sh), which builds the static worker-server"
    );
    let ctx = TestContext::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/python-flask");
    for file in files {
        let text = std::fs::read_to_string(format!("{example}/{file}")).expect("example");
        ctx.write(file, text);
    }
    ctx
}

/// Packs the project (sharing the package download cache) and loads `NAME_0.1_amd64.rock`
/// into podman; the returned guard removes the image and its containers.
fn pack_and_load(ctx: &TestContext, name: &str) -> Podman {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("debs-cache");
    let (code, _, stderr) = run(ctx.rcraft().arg("pack").env("RCRAFT_CACHE_DIR", &cache));
    assert_eq!(code, 0, "{stderr}");
    let podman = Podman {
        image: format!("localhost/{name}:0.1"),
        containers: Vec::new(),
    };
    let rock = ctx.path().join(format!("{name}_0.1_amd64.rock"));
    let (code, _, stderr) = run(Command::new("podman").arg("load").arg("-i").arg(&rock));
    assert_eq!(code, 0, "{stderr}");
    podman
}

#[test]
fn sync_serves_one_request_at_a_time_and_gevent_serves_them_together() {
    let ctx = project_with(&["rockcraft.yaml", "app.py", "requirements.txt"]);
    let name = format!("rcraft-it-flask-{}", std::process::id());
    let yaml = std::fs::read_to_string(ctx.path().join("rockcraft.yaml")).expect("read");
    ctx.write(
        "rockcraft.yaml",
        yaml.replace("name: python-flask", &format!("name: {name}")),
    );
    let mut podman = pack_and_load(&ctx, &name);

    for class in ["sync", "gevent"] {
        let container = format!("{name}-{class}");
        let port = podman.run_detached(
            &container,
            8000,
            &[format!("WEBSERVER_WORKER_CLASS={class}")],
        );
        wait_for_port(port);
        // The port opens before gunicorn's worker is ready; one request makes sure it is.
        get(port, Instant::now());
        let times = five_concurrent(port);
        let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        if class == "sync" {
            // One at a time: each answer comes a full request (2 s) after the previous one.
            assert!(gaps.iter().all(|g| *g > 1.5), "sync finish times {times:?}");
        } else {
            // Together: all five answers arrive within a fraction of one request.
            assert!(times[4] - times[0] < 1.0, "gevent finish times {times:?}");
        }
        let (code, stdout, _) =
            run(Command::new("podman").args(["exec", &container, "worker-server", "services"]));
        assert_eq!(code, 0);
        assert!(
            stdout.contains("flask") && stdout.contains("active"),
            "{stdout}"
        );

        // `podman stop` returns once the worker-server has stopped gunicorn.
        let (code, _, stderr) = run(Command::new("podman").args(["stop", "-t", "30", &container]));
        assert_eq!(code, 0, "{stderr}");
        // podman replays the container's stdout and stderr on its own.
        let (_, out, err) = run(Command::new("podman").args(["logs", &container]));
        let logs = out + &err;
        assert!(logs.contains("Exiting on SIGTERM signal."), "{logs}");
        assert!(
            !logs.contains("SIGKILL"),
            "gunicorn needed SIGKILL:\n{logs}"
        );
    }
}

/// The same app through the user journey: `rcraft init --profile flask-framework`, `pack`
/// (bare, `build-base: debian@12`), podman: the app answers on 8000 as `_daemon_`, and the
/// profile's default worker class is gevent because `gunicorn[gevent]` is a dependency.
#[test]
fn flask_profile_project_answers_as_the_daemon_user() {
    let ctx = project_with(&["app.py", "requirements.txt"]);
    let name = format!("rcraft-it-profile-{}", std::process::id());
    let (code, _, stderr) =
        run(ctx
            .rcraft()
            .args(["init", "--profile", "flask-framework", "--name", &name]));
    assert_eq!(code, 0, "{stderr}");
    let yaml = std::fs::read_to_string(ctx.path().join("rockcraft.yaml")).expect("read");
    assert!(yaml.contains("build-base: ubuntu@24.04"), "{yaml}");
    ctx.write(
        "rockcraft.yaml",
        yaml.replace("build-base: ubuntu@24.04", "build-base: debian@12"),
    );
    let mut podman = pack_and_load(&ctx, &name);
    let container = format!("{name}-run");
    let port = podman.run_detached(&container, 8000, &[]);
    wait_for_port(port);
    get(port, Instant::now());
    let (code, top, stderr) = run(Command::new("podman").args(["top", &container, "user", "args"]));
    assert_eq!(code, 0, "{stderr}");
    let gunicorn: Vec<&str> = top.lines().filter(|l| l.contains("gunicorn")).collect();
    assert!(!gunicorn.is_empty(), "{top}");
    assert!(gunicorn.iter().all(|l| l.starts_with("_daemon_")), "{top}");
    assert!(gunicorn.iter().all(|l| l.contains("-k gevent")), "{top}");
    let (code, _, stderr) = run(Command::new("podman").args(["stop", "-t", "30", &container]));
    assert_eq!(code, 0, "{stderr}");
}
