//! Pebble's combine rules, validation and ordering, table-driven over small YAML layers.

use super::*;
use crate::worker::layer::Action;

fn plan_of(layers: &[&str]) -> Plan {
    let docs: Vec<layer::LayerDoc> = layers
        .iter()
        .enumerate()
        .map(|(n, text)| {
            let node = yaml::parse(text).unwrap_or_else(|e| panic!("layer {n}: {e:?}"));
            layer::decode(&node, "test").unwrap_or_else(|e| panic!("layer {n}: {e}"))
        })
        .collect();
    combine(&docs)
}

const BASE: &str = "services:
  web:
    override: replace
    command: run a
    startup: enabled
    user: alice
    after: [db]
    environment: {A: '1', B: '2'}
    on-check-failure: {up: restart}
  db:
    override: replace
    command: db
checks:
  up:
    override: replace
    period: 1s
    http: {url: 'http://localhost/', headers: {X: a}}
";

#[test]
fn combine_rules() {
    type Case = (&'static str, &'static str, fn(&Plan));
    let table: [Case; 7] = [
        (
            "merge: scalars win only when set",
            "services:\n  web:\n    override: merge\n    command: run b\n",
            |p| {
                let web = &p.services["web"];
                assert_eq!(web.command.as_deref(), Some("run b"));
                assert_eq!(web.startup, Some(Startup::Enabled));
                assert_eq!(web.user.as_deref(), Some("alice"));
            },
        ),
        (
            "replace: old fields are gone",
            "services:\n  web:\n    override: replace\n    command: run b\n",
            |p| {
                let web = &p.services["web"];
                assert_eq!(web.startup, None);
                assert!(web.environment.is_empty() && web.after.is_empty());
            },
        ),
        (
            "merge: maps overlay key by key",
            "services:\n  web:\n    override: merge\n    environment: {B: '3', C: '4'}\n    on-check-failure: {up: shutdown}\n",
            |p| {
                let env: Vec<_> = p.services["web"]
                    .environment
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                assert_eq!(env, ["A=1", "B=3", "C=4"]);
                assert_eq!(p.services["web"].on_check_failure["up"], Action::Shutdown);
            },
        ),
        (
            "merge: lists append",
            "services:\n  web:\n    override: merge\n    after: [cache]\n    requires: [db]\n  cache:\n    override: replace\n    command: c\n",
            |p| {
                assert_eq!(p.services["web"].after, ["db", "cache"]);
                assert_eq!(p.services["web"].requires, ["db"]);
            },
        ),
        (
            "merge of a new service copies it",
            "services:\n  cache:\n    override: merge\n    command: c\n",
            |p| {
                assert_eq!(p.services["cache"].command.as_deref(), Some("c"));
                assert_eq!(p.services.len(), 3);
            },
        ),
        (
            "checks merge field-wise, sub-objects too",
            "checks:\n  up:\n    override: merge\n    threshold: 5\n    http: {headers: {Y: b}}\n",
            |p| {
                let up = &p.checks["up"];
                assert_eq!(
                    (up.period, up.threshold),
                    (Some(Duration::from_secs(1)), Some(5))
                );
                let http = up.http.as_ref().unwrap();
                assert_eq!(http.url.as_deref(), Some("http://localhost/"));
                assert_eq!(http.headers.len(), 2);
            },
        ),
        (
            "replace of a check drops its old type",
            "checks:\n  up:\n    override: replace\n    tcp: {port: 80}\n",
            |p| {
                assert!(p.checks["up"].http.is_none() && p.checks["up"].tcp.is_some());
            },
        ),
    ];
    for (summary, layer, check) in table {
        let plan = plan_of(&[BASE, layer]);
        check(&plan);
        assert!(
            plan.validate().is_ok(),
            "{summary}: {:?}",
            plan.validate().err()
        );
    }
}

#[test]
fn validation_errors_name_the_field() {
    let table = [
        (
            "services:\n  x:\n    override: replace\n    startup: enabled\n",
            "services.x.command: service \"x\" has no command",
        ),
        (
            "services:\n  x:\n    override: replace\n    command: a\n    requires: [nope]\n",
            "services.x.requires: service \"x\" has unknown dependency \"nope\"",
        ),
        (
            "services:\n  x:\n    override: replace\n    command: a\n    on-check-failure: {nope: restart}\n",
            "unknown check \"nope\"",
        ),
        (
            "services:\n  x:\n    override: replace\n    command: a\n    after: [y]\n  y:\n    override: replace\n    command: b\n    after: [x]\n",
            "before/after loop: x, y",
        ),
        (
            "checks:\n  c:\n    override: replace\n    tcp: {port: 1}\n    exec: {command: 'true'}\n",
            "checks.c: must have exactly one of http, tcp or exec",
        ),
        (
            "checks:\n  c:\n    override: replace\n    threshold: 0\n    tcp: {port: 1}\n",
            "checks.c.threshold",
        ),
    ];
    for (layer, want) in table {
        let err = plan_of(&[layer]).validate().unwrap_err().to_string();
        assert!(err.contains(want), "want {want:?} in {err:?}");
    }
}

#[test]
fn order_and_default_services() {
    let plan = plan_of(&["services:
  c: {override: replace, command: c, startup: enabled, after: [b], requires: [helper]}
  b: {override: replace, command: b, startup: enabled}
  a: {override: replace, command: a, startup: enabled, before: [b]}
  helper: {override: replace, command: h}
  off: {override: replace, command: o, startup: disabled}
"]);
    let names = plan.default_services();
    assert_eq!(names, ["a", "b", "c", "helper"]);
    assert_eq!(plan.order(&names).unwrap(), ["a", "helper", "b", "c"]);
    assert_eq!(plan.deps("b").into_iter().collect::<Vec<_>>(), ["a"]);
}

#[test]
fn args_replace_default_args() {
    let mut plan = plan_of(&[
        "services:\n  s: {override: replace, command: \"echo 'a b' [ x ]\"}\n  t: {override: replace, command: echo}\n",
    ]);
    plan.set_args("s", &["1 2".into(), "3".into()]).unwrap();
    plan.set_args("t", &["z".into()]).unwrap();
    assert_eq!(
        plan.services["s"].command.as_deref(),
        Some("echo 'a b' [ '1 2' 3 ]")
    );
    assert_eq!(plan.services["t"].command.as_deref(), Some("echo [ z ]"));
    assert!(
        plan.set_args("nope", &[])
            .unwrap_err()
            .contains("not found")
    );
}

#[test]
fn layer_file_names() {
    let table = [
        ("001-base.yaml", Some((1, "base"))),
        (
            "123-rockcraft-my-rock.yaml",
            Some((123, "rockcraft-my-rock")),
        ),
        ("001-ab.yaml", None),
        ("01-base.yaml", None),
        ("001-Base.yaml", None),
        ("001-a--b.yaml", None),
        ("001-base-.yaml", None),
        ("001-9ab.yaml", None),
    ];
    for (name, want) in table {
        let got = parse_layer_name(name, ".yaml");
        assert_eq!(got, want.map(|(n, l)| (n, l.to_string())), "{name}");
    }
}

#[test]
fn layers_dir_with_subdirectory() {
    let dir = tempfile::tempdir().unwrap();
    let layers = dir.path().join("layers");
    std::fs::create_dir_all(layers.join("002-extra.d")).unwrap();
    std::fs::write(
        layers.join("001-base.yaml"),
        "services:\n  s: {override: replace, command: a}\n",
    )
    .unwrap();
    std::fs::write(
        layers.join("002-extra.d/001-more.yaml"),
        "services:\n  s: {override: merge, command: b}\n",
    )
    .unwrap();
    std::fs::write(layers.join("README"), "ignored").unwrap();
    let found = read_layers(&layers).unwrap();
    let labels: Vec<_> = found.iter().map(|l| (l.order, l.label.as_str())).collect();
    assert_eq!(labels, [(1000, "base"), (2001, "extra/more")]);
    assert_eq!(
        load(dir.path()).unwrap().services["s"].command.as_deref(),
        Some("b")
    );
    std::fs::write(layers.join("003-base.yaml"), "{}\n").unwrap();
    assert!(
        read_layers(&layers)
            .unwrap_err()
            .to_string()
            .contains("duplicate layer label")
    );
}

/// The layer rcraft's packer writes (serde-saphyr's emitter) reads back identically here.
#[test]
fn reads_the_layer_rcraft_writes() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"name: web
version: '1'
summary: 'S: s # not a comment'
description: |
  Line one: with a colon.
    indented line
  "quoted" and 'single' and a \ backslash

  after a blank line
base: bare
build-base: ubuntu@24.04
platforms: {amd64: }
parts: {a: {plugin: nil}}
services:
  flask:
    override: replace
    command: /bin/python3 -m gunicorn -c /flask/gunicorn.conf.py 'app:app' -k [ sync ]
    startup: enabled
    user: _daemon_
    after: [statsd]
    environment: {A: '1', B: 'yes', C: 'x: y', D: '#hash', E: '', F: "tab\tend", G: '[ x ]', H: 'null'}
    backoff-factor: 1.5
    kill-delay: 10s
    on-check-failure: {up: restart}
  statsd:
    override: merge
    command: /bin/statsd_exporter --statsd.listen-udp=localhost:9125
    startup: enabled
checks:
  up:
    override: replace
    period: 5s
    threshold: 4
    http: {url: 'http://localhost:8000/', headers: {X-Y: 'a, b'}}
"#;
    let project = crate::project::load_str(text, dir.path()).unwrap().project;
    let written = crate::pack::rootfs::pebble_layer(&project).unwrap();
    let node = yaml::parse(&written).unwrap_or_else(|e| panic!("{e:?}\n{written}"));
    let doc = layer::decode(&node, "rockcraft-web").unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(doc.summary.as_deref(), Some(project.summary.as_str()));
    assert_eq!(
        doc.description.as_deref(),
        Some(project.description.as_str()),
        "{written}"
    );
    let plan = combine([&doc]);
    plan.validate().unwrap();
    for (name, svc) in &project.services {
        let got = &plan.services[name];
        assert_eq!(
            got.command.as_deref(),
            Some(svc.command.as_str()),
            "{written}"
        );
        let env: Vec<(String, String)> = got.environment.clone().into_iter().collect();
        let mut want = svc.environment.clone();
        want.sort();
        assert_eq!(env, want, "{written}");
    }
    assert_eq!(plan.services["flask"].backoff_factor, Some(1.5));
    assert_eq!(
        plan.services["flask"].kill_delay,
        Some(Duration::from_secs(10))
    );
    let http = plan.checks["up"].http.as_ref().unwrap();
    assert_eq!(http.headers["X-Y"], "a, b");
}
