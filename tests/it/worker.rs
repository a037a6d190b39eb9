//! The worker-server binary, run on the host with `PEBBLE=<tempdir>` and small `sh` services.
//!
//! Each test writes layer files, starts `worker-server enter` with its output in files, and
//! waits (with generous timeouts, never asserting speed) for what a container would show:
//! start order, restarts, check actions, signals, reaped orphans, exit codes and messages.
//! A guard kills the worker and every descendant it leaves, even when a test fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The worker-server under test: the static build that ships in images
/// (`$RCRAFT_WORKER_SERVER`, which scripts/test.sh builds and sets), else cargo's own build.
fn bin() -> String {
    std::env::var("RCRAFT_WORKER_SERVER")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_worker-server").to_string())
}
const LONG: Duration = Duration::from_secs(20);

struct Worker {
    dir: tempfile::TempDir,
    child: Option<Child>,
    code: Option<i32>,
}

fn children_of(pid: u32) -> Vec<(u32, char)> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: u32 = f.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        let me: u32 = entry.file_name().to_string_lossy().parse().unwrap_or(0);
        if ppid == pid && me != 0 {
            out.push((me, state));
        }
    }
    out
}

fn descendants(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for (c, _) in children_of(p) {
            all.push(c);
            todo.push(c);
        }
    }
    all
}

fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

impl Worker {
    fn new() -> Worker {
        let dir = tempfile::Builder::new()
            .prefix("rcraft-worker-")
            .tempdir()
            .expect("tempdir");
        Worker {
            dir,
            child: None,
            code: None,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    fn layer(&self, name: &str, yaml: &str) -> &Worker {
        let yaml = yaml.replace("$DIR", &self.path().display().to_string());
        let p = self.path().join("layers").join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, yaml).unwrap();
        self
    }

    fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.file(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env("PEBBLE", self.path())
            .env_remove("PEBBLE_SOCKET")
            .env_remove("WEBSERVER_WORKER_CLASS")
            .env_remove("WEBSERVER_WORKERS");
        cmd
    }

    fn start(&mut self, args: &[&str], env: &[(&str, &str)]) -> u32 {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(fs::File::create(self.file("stdout")).unwrap())
            .stderr(fs::File::create(self.file("stderr")).unwrap());
        let child = cmd.spawn().expect("start worker-server");
        let pid = child.id();
        self.child = Some(child);
        pid
    }

    fn enter(&mut self) -> u32 {
        self.start(&["enter"], &[])
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.file(name)).unwrap_or_default()
    }

    fn logs(&self) -> String {
        format!(
            "--- stdout\n{}--- stderr\n{}",
            self.read("stdout"),
            self.read("stderr")
        )
    }

    fn lines(&self, name: &str) -> Vec<String> {
        self.read(name).lines().map(str::to_string).collect()
    }

    fn wait_for(&self, what: &str, cond: impl FnMut() -> bool) {
        assert!(
            wait_until(LONG, cond),
            "timed out waiting for {what}\n{}",
            self.logs()
        );
    }

    /// Waits for the worker to exit on its own; returns its exit code.
    fn exit_code(&mut self) -> i32 {
        let child = self.child.as_mut().expect("worker started");
        let mut code = None;
        wait_until(LONG, || {
            code = child
                .try_wait()
                .ok()
                .flatten()
                .map(|s| s.code().unwrap_or(-1));
            code.is_some()
        });
        let logs = self.logs();
        let code = code.unwrap_or_else(|| panic!("worker did not exit\n{logs}"));
        self.code = Some(code);
        self.child = None;
        code
    }

    fn signal(&self, sig: i32) {
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(self.pid() as i32, sig) };
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args)
            .envs(env.iter().copied())
            .output()
            .expect("run worker-server")
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            for pid in descendants(child.id()) {
                // SAFETY: plain kill(2).
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn starts_in_order_with_args_env_and_working_dir_and_stops_in_reverse() {
    let mut w = Worker::new();
    fs::create_dir_all(w.file("work")).unwrap();
    w.layer(
        "001-base.yaml",
        r#"
services:
  third:
    override: replace
    startup: enabled
    after: [second]
    requires: [helper]
    command: sh -c 'trap "echo stop-third >> $DIR/stops; exit 0" TERM; echo third >> $DIR/order; sleep 100'
  second:
    override: replace
    startup: enabled
    command: sh -c 'trap "echo stop-second >> $DIR/stops; exit 0" TERM; echo "second $0 $1 $FOO $(pwd)" >> $DIR/order; echo hello from second; sleep 100' [ default args ]
    environment: {FOO: from-layer}
    working-dir: $DIR/work
  first:
    override: replace
    startup: enabled
    before: [second]
    command: sh -c 'trap "echo stop-first >> $DIR/stops; exit 0" TERM; echo first >> $DIR/order; sleep 100'
  helper:
    override: replace
    command: sh -c 'echo helper >> $DIR/order; sleep 100'
  off:
    override: replace
    startup: disabled
    command: sh -c 'echo off >> $DIR/order'
"#,
    );
    w.layer(
        "002-more.yaml",
        "services:\n  second:\n    override: merge\n    environment: {FOO: merged}\n",
    );
    w.start(&["enter", "--args", "second", "x", "y", ";", "-v"], &[]);
    w.wait_for("all three ordered services", || w.lines("order").len() == 4);
    let order = w.lines("order");
    let at = |prefix: &str| order.iter().position(|l| l.starts_with(prefix)).unwrap();
    assert!(
        at("first") < at("second") && at("second") < at("third"),
        "{order:?}"
    );
    assert!(
        order.contains(&"helper".to_string()),
        "required service started: {order:?}"
    );
    let workdir = w.file("work").display().to_string();
    assert_eq!(order[at("second")], format!("second x y merged {workdir}"));
    w.wait_for("prefixed output", || {
        w.read("stdout").contains("[second] hello from second")
    });
    w.signal(libc::SIGTERM);
    assert_eq!(w.exit_code(), 0, "{}", w.logs());
    let stops = w.lines("stops");
    assert_eq!(
        stops,
        ["stop-third", "stop-second", "stop-first"],
        "reverse order"
    );
}

#[test]
fn failed_service_restarts_with_backoff_and_keeps_trying_at_the_limit() {
    let mut w = Worker::new();
    w.layer(
        "001-base.yaml",
        r#"
services:
  flaky:
    override: replace
    startup: enabled
    command: sh -c 'echo run >> $DIR/runs; exit 1'
    backoff-delay: 50ms
    backoff-factor: 2
    backoff-limit: 200ms
"#,
    );
    w.enter();
    w.wait_for("six runs", || w.lines("runs").len() >= 6);
    let log = w.read("stderr");
    assert!(
        log.contains("waiting ~50ms before restart (backoff 1)"),
        "{log}"
    );
    assert!(
        log.contains("waiting ~200ms before restart (backoff 5)"),
        "capped at the limit: {log}"
    );
    w.signal(libc::SIGINT);
    assert_eq!(w.exit_code(), 0);
}

#[test]
fn exit_actions_set_the_exit_code() {
    let table = [
        ("exit 1", "on-failure: shutdown", 10),
        ("exit 0", "on-success: shutdown", 0),
        ("exit 0", "on-success: failure-shutdown", 10),
        ("exit 3", "on-failure: success-shutdown", 0),
        ("sleep 1.5; exit 2", "on-failure: shutdown", 10),
    ];
    for (script, action, want) in table {
        let mut w = Worker::new();
        w.layer(
            "001-base.yaml",
            &format!(
                "services:\n  svc:\n    override: replace\n    startup: enabled\n    command: sh -c '{script}'\n    {action}\n  other:\n    override: replace\n    startup: enabled\n    command: sleep 100\n"
            ),
        );
        w.enter();
        assert_eq!(w.exit_code(), want, "{script} / {action}\n{}", w.logs());
    }
}

#[test]
fn check_failure_restarts_the_service() {
    let mut w = Worker::new();
    w.layer(
        "001-base.yaml",
        r#"
services:
  web:
    override: replace
    startup: enabled
    command: sh -c 'echo start >> $DIR/starts; sleep 100'
    on-check-failure: {alive: restart}
    kill-delay: 1s
checks:
  alive:
    override: replace
    period: 200ms
    threshold: 2
    exec: {command: "test -e $DIR/healthy"}
"#,
    );
    w.enter();
    w.wait_for("a restart after the check failed", || {
        w.lines("starts").len() >= 2
    });
    let out = w.run(&["checks"], &[]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.starts_with("Check  Level  Startup  Status  Failures"),
        "{table}"
    );
    assert!(table.contains("alive  -      enabled  down"), "{table}");
    assert!(
        w.read("stderr")
            .contains("exited after check failure, restarting"),
        "{}",
        w.logs()
    );
    w.signal(libc::SIGTERM);
    assert_eq!(w.exit_code(), 0);
}

#[test]
fn check_failure_shutdown_exits_11() {
    let mut w = Worker::new();
    w.layer(
        "001-base.yaml",
        r#"
services:
  web:
    override: replace
    startup: enabled
    command: sleep 100
    on-check-failure: {port: shutdown}
checks:
  port:
    override: replace
    period: 100ms
    threshold: 1
    tcp: {port: 1}
"#,
    );
    w.enter();
    assert_eq!(w.exit_code(), 11, "{}", w.logs());
}

#[test]
fn sigterm_kills_a_stubborn_service_after_the_kill_delay() {
    let mut w = Worker::new();
    w.layer(
        "001-base.yaml",
        r#"
services:
  stubborn:
    override: replace
    startup: enabled
    command: sh -c "trap '' TERM; echo $$ > $DIR/pid; sleep 100"
    kill-delay: 1s
"#,
    );
    w.enter();
    w.wait_for("the service to run", || !w.read("pid").trim().is_empty());
    std::thread::sleep(Duration::from_millis(1200)); // past the okay delay: running
    let pid: i32 = w.read("pid").trim().parse().unwrap();
    w.signal(libc::SIGTERM);
    assert_eq!(w.exit_code(), 0, "{}", w.logs());
    // SAFETY: kill(pid, 0) only checks existence.
    assert_ne!(
        unsafe { libc::kill(pid, 0) },
        0,
        "service process still exists"
    );
    let log = w.read("stderr");
    assert!(log.contains("Exiting on SIGTERM signal."), "{log}");
}

/// Regression: the worker blocks SIGTERM for its signal thread, and services used to inherit
/// that mask (in the static build), so they never saw SIGTERM and every stop waited the whole
/// kill-delay. `sleep` keeps the mask it is given (a shell's `trap` would reset it).
#[test]
fn services_receive_sigterm_on_stop() {
    let mut w = Worker::new();
    w.layer(
        "001-base.yaml",
        r#"
services:
  sleeper:
    override: replace
    startup: enabled
    command: sleep 3600
    kill-delay: 1h
"#,
    );
    let pid = w.enter();
    w.wait_for("the service to run", || children_of(pid).len() == 1);
    let child = children_of(pid)[0].0;
    let blocked = std::fs::read_to_string(format!("/proc/{child}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    assert_eq!(
        blocked, "0000000000000000",
        "the service starts with signals blocked"
    );
    std::thread::sleep(Duration::from_millis(1200));
    w.signal(libc::SIGTERM);
    // With a kill-delay of an hour, only a delivered SIGTERM lets the worker finish.
    assert_eq!(w.exit_code(), 0, "{}", w.logs());
}

#[test]
fn orphans_are_reaped() {
    let mut w = Worker::new();
    w.layer(
        "001-base.yaml",
        r#"
services:
  parent:
    override: replace
    startup: enabled
    command: sh -c 'for i in 1 2 3 4; do (sleep 0.2 &) ; done; echo spawned > $DIR/spawned; sleep 100'
"#,
    );
    let pid = w.enter();
    w.wait_for("orphans spawned", || !w.read("spawned").is_empty());
    // Orphans are re-parented to the worker (a sub-reaper) and must not stay zombies.
    w.wait_for("no orphan left", || children_of(pid).len() == 1);
    std::thread::sleep(Duration::from_millis(500));
    let zombies: Vec<_> = children_of(pid)
        .into_iter()
        .filter(|(_, s)| *s == 'Z')
        .collect();
    assert!(zombies.is_empty(), "zombies: {zombies:?}\n{}", w.logs());
    w.signal(libc::SIGTERM);
    assert_eq!(w.exit_code(), 0);
}

#[test]
fn services_lists_states_like_pebble() {
    let mut w = Worker::new();
    w.layer(
        "001-base.yaml",
        "services:\n  web:\n    override: replace\n    startup: enabled\n    command: sleep 100\n  idle:\n    override: replace\n    command: sleep 100\n",
    );
    w.enter();
    let mut table = String::new();
    w.wait_for("services to answer", || {
        let out = w.run(&["services"], &[]);
        table = String::from_utf8_lossy(&out.stdout).into_owned();
        out.status.success() && table.contains("web")
    });
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "Service  Startup   Current   Since", "{table}");
    assert!(
        lines[1].starts_with("idle     disabled  inactive  -"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("web      enabled   active    today at"),
        "{table}"
    );
    let one = w.run(&["services", "web"], &[]);
    assert_eq!(String::from_utf8_lossy(&one.stdout).lines().count(), 2);
    w.signal(libc::SIGTERM);
    assert_eq!(w.exit_code(), 0);
    let after = w.run(&["services"], &[]);
    assert!(!after.status.success());
    assert!(
        stderr(&after).contains("cannot connect to the worker-server"),
        "{}",
        stderr(&after)
    );
}

#[test]
fn bad_layer_files_name_the_file_and_field() {
    let table = [
        (
            "001-bad.yaml",
            "services:\n  web:\n    override: replace\n    commnd: x\n",
            "services.web.commnd: unknown field (line 4)",
        ),
        (
            "001-bad.yaml",
            "services:\n  web:\n    command: x\n",
            "services.web.override: layer \"bad\" must define \"override\"",
        ),
        (
            "001-bad.yaml",
            "services:\n  web:\n    override: merge\n    command: x\n    startup: yes\n",
            "services.web.startup: must be one of \"enabled\", \"disabled\", not",
        ),
        (
            "001-bad.yaml",
            "services:\n  web:\n    override: merge\n    command: x\n    kill-delay: 5\n",
            "services.web.kill-delay: invalid duration \"5\"",
        ),
        (
            "001-bad.yaml",
            "services:\n  web:\n    override: merge\n    command: x [ a\n",
            "services.web.command: cannot have unbalanced",
        ),
        ("01-bad.yaml", "{}\n", "invalid layer filename"),
        ("001-bad.yaml", "services: [\n", "001-bad.yaml"),
        (
            "001-bad.yaml",
            "services:\n  web:\n    override: merge\n    command: x\n    after: [db]\n",
            "services.web.after: service \"web\" has unknown dependency \"db\"",
        ),
    ];
    for (file, yaml, want) in table {
        let w = Worker::new();
        w.layer(file, yaml);
        let out = w.run(&["enter"], &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{yaml}\n{err}");
        assert!(err.contains(want), "want {want:?} in:\n{err}");
        if !want.contains("unknown dependency") {
            assert!(err.contains(file), "{err}");
        }
    }
}

#[test]
fn unsupported_subcommands_are_errors() {
    let w = Worker::new();
    let out = w.run(&["enter", "replan"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("enter: subcommand \"replan\" is not supported"),
        "{}",
        stderr(&out)
    );
    let out = w.run(&["enter", "exec", "sh", "-c", "exit 7"], &[]);
    assert_eq!(out.status.code(), Some(7));
}

fn gunicorn_layer(w: &Worker, gevent_importable: bool) {
    let ok = if gevent_importable { 0 } else { 1 };
    let python = w.script(
        "bin/python3",
        &format!(
            "if [ \"$1\" = -c ]; then echo 'ModuleNotFoundError: No module named gevent' >&2; exit {ok}; fi\necho \"ARGS: $*\"\nsleep 100"
        ),
    );
    w.layer(
        "001-flask.yaml",
        &format!(
            "services:\n  flask:\n    override: replace\n    startup: enabled\n    command: {} -m gunicorn -c /flask/gunicorn.conf.py 'app:app' -k [ sync ]\n",
            python.display()
        ),
    );
}

#[test]
fn webserver_settings_rewrite_the_gunicorn_command() {
    let mut w = Worker::new();
    gunicorn_layer(&w, true);
    let env = [
        ("WEBSERVER_WORKER_CLASS", "gevent"),
        ("WEBSERVER_WORKERS", "3"),
        ("WEBSERVER_TIMEOUT", "60"),
    ];
    w.start(&["enter"], &env);
    w.wait_for("gunicorn's argv", || w.read("stdout").contains("ARGS:"));
    assert!(
        w.read("stdout").contains(
            "[flask] ARGS: -m gunicorn -c /flask/gunicorn.conf.py app:app --workers 3 --timeout 60 -k gevent"
        ),
        "{}",
        w.logs()
    );
    w.signal(libc::SIGTERM);
    assert_eq!(w.exit_code(), 0);

    let mut w = Worker::new();
    gunicorn_layer(&w, true);
    w.start(&["enter", "--args", "flask", "gevent"], &[]);
    w.wait_for("default args replaced", || {
        w.read("stdout").contains("app:app -k gevent")
    });
}

#[test]
fn invalid_webserver_settings_stop_the_container() {
    let w = Worker::new();
    gunicorn_layer(&w, true);
    let out = w.run(&["enter"], &[("WEBSERVER_WORKER_CLASS", "eventlet")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("WEBSERVER_WORKER_CLASS must be 'sync' or 'gevent', not \"eventlet\""),
        "{err}"
    );
    let out = w.run(&["enter"], &[("WEBSERVER_THREADS", "many")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("WEBSERVER_THREADS must be a positive integer"),
        "{}",
        stderr(&out)
    );

    let w = Worker::new();
    gunicorn_layer(&w, false);
    let out = w.run(&["enter"], &[("WEBSERVER_WORKER_CLASS", "gevent")]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("gunicorn[gevent] must be installed in the rock"),
        "{err}"
    );
    assert!(err.contains("No module named gevent"), "{err}");
}

#[test]
fn services_run_as_their_user() {
    // SAFETY: getuid cannot fail.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("services_run_as_their_user: needs root to switch users; checked as root in CI");
        return;
    }
    let mut w = Worker::new();
    w.layer(
        "001-base.yaml",
        r#"
services:
  who:
    override: replace
    startup: enabled
    user: nobody
    command: sh -c 'echo "$(id -u) $USER $HOME"; sleep 100'
"#,
    );
    w.enter();
    w.wait_for("id output", || w.read("stdout").contains("[who] "));
    let out = w.read("stdout");
    assert!(out.contains("[who] 65534 nobody "), "{out}");
    w.signal(libc::SIGTERM);
    assert_eq!(w.exit_code(), 0);
}

#[test]
fn http_checks_report_up_and_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut w = Worker::new();
    w.layer(
        "001-base.yaml",
        &format!(
            r#"
services:
  web:
    override: replace
    startup: enabled
    command: python3 -m http.server {port} --bind 127.0.0.1
checks:
  ok:
    override: replace
    period: 200ms
    http: {{url: "http://localhost:{port}/"}}
  missing:
    override: replace
    level: ready
    period: 200ms
    threshold: 1
    http: {{url: "http://127.0.0.1:{port}/nope", headers: {{X-Test: yes}}}}
"#
        ),
    );
    w.enter();
    let mut table = String::new();
    w.wait_for("ok up and missing down", || {
        table = String::from_utf8_lossy(&w.run(&["checks"], &[]).stdout).into_owned();
        table.contains("ok       -      enabled  up      0/3")
            && table.contains("missing  ready  enabled  down")
    });
    assert!(
        w.read("stderr").contains("non-20x status code 404"),
        "{}",
        w.logs()
    );
    w.signal(libc::SIGTERM);
    assert_eq!(w.exit_code(), 0);
}
