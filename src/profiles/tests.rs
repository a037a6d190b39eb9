//! Tests of [`super::expand`]: each framework on tiny projects in temporary directories, the
//! merge rules as users see them, and the validation messages.

use std::path::Path;

use serde_json::{Value as J, json};

use super::*;
use crate::yaml::parse;

/// A temporary project directory holding `files` (a trailing `/` makes a directory).
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let full = dir.path().join(path);
        if path.ends_with('/') {
            std::fs::create_dir_all(&full).unwrap();
        } else {
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, content).unwrap();
        }
    }
    dir
}

fn run(yaml: &str, dir: &Path) -> Result<J, Vec<String>> {
    let mut doc = parse(yaml).unwrap();
    match expand_with(&mut doc, dir, false) {
        Ok(_) => {
            assert!(
                data::leftover_placeholders(&doc).is_empty(),
                "{:?}",
                data::leftover_placeholders(&doc)
            );
            Ok(doc.to_json())
        }
        Err(d) => Err(d.0.into_iter().map(|d| d.message).collect()),
    }
}

fn ok(yaml: &str, dir: &Path) -> J {
    run(yaml, dir).unwrap_or_else(|e| panic!("expansion failed: {e:#?}"))
}

fn err(yaml: &str, dir: &Path) -> Vec<String> {
    match run(yaml, dir) {
        Ok(doc) => panic!("expected errors, got {doc:#}"),
        Err(e) => e,
    }
}

fn yaml_for(ext: &str, base: &str, extra: &str) -> String {
    let build_base = if base == "bare" {
        "build-base: ubuntu@24.04\n"
    } else {
        ""
    };
    format!("name: my-app\nbase: {base}\n{build_base}extensions: [{ext}]\n{extra}")
}

const FLASK_APP: &str = "from flask import Flask\n\napp = Flask(__name__)\n";

fn flask_project() -> tempfile::TempDir {
    project(&[
        ("requirements.txt", "Flask==3.0\n"),
        ("app.py", FLASK_APP),
        ("static/", ""),
        ("README.md", "hi"),
    ])
}

// ----- flask-framework -----

#[test]
fn flask_minimal_project() {
    let dir = flask_project();
    let doc = ok(&yaml_for("flask-framework", "ubuntu@22.04", ""), dir.path());
    assert!(doc.get("extensions").is_none());
    assert_eq!(doc["run-user"], "_daemon_");
    let flask = &doc["services"]["flask"];
    assert_eq!(
        flask["command"],
        "/bin/python3 -m gunicorn -c /flask/gunicorn.conf.py 'app:app' -k [ sync ]"
    );
    assert_eq!(flask["override"], "replace");
    assert_eq!(flask["startup"], "enabled");
    assert_eq!(flask["user"], "_daemon_");
    assert!(flask.get("after").is_none());
    assert!(doc["services"].get("statsd-exporter").is_none());
    let parts = &doc["parts"];
    assert!(parts.get("flask-framework/statsd-exporter").is_none());
    let app = &parts["flask-framework/install-app"];
    assert_eq!(app["plugin"], "dump");
    assert_eq!(
        app["prime"],
        json!(["flask/app/app.py", "flask/app/static"])
    );
    assert_eq!(
        app["organize"],
        json!({"app.py": "flask/app/app.py", "static": "flask/app/static"})
    );
    assert_eq!(
        app["stage"],
        json!(["flask/app/app.py", "flask/app/static"])
    );
    assert_eq!(
        app["permissions"],
        json!([{"owner": 584792, "group": 584792}])
    );
    let deps = &parts["flask-framework/dependencies"];
    assert_eq!(deps["plugin"], "python");
    assert_eq!(deps["stage-packages"], json!(["python3-venv"]));
    assert_eq!(deps["python-packages"], json!(["gunicorn~=23.0"]));
    assert_eq!(deps["python-requirements"], json!(["requirements.txt"]));
    assert_eq!(deps["stage"], json!(["-etc/ssl/certs/ca-certificates.crt"]));
    assert_eq!(
        parts["flask-framework/runtime"]["stage-packages"],
        json!(["ca-certificates"])
    );
    let config = parts["flask-framework/config-files"]["override-build"]
        .as_str()
        .unwrap();
    assert!(config.contains("$CRAFT_PART_INSTALL/flask/gunicorn.conf.py"));
    assert!(config.contains("bind = [\"0.0.0.0:8000\"]"));
    assert!(config.contains("chdir = \"/flask/app\""));
    assert!(!config.contains("statsd"));
    assert!(
        parts["flask-framework/logging"]["override-build"]
            .as_str()
            .unwrap()
            .contains("var/log/flask")
    );
}

#[test]
fn the_docs_hint_is_given_once_per_extension() {
    let dir = project(&[("README.md", "")]);
    let mut doc = parse(&yaml_for("flask-framework", "ubuntu@22.04", "")).unwrap();
    let errors = expand_with(&mut doc, dir.path(), false).unwrap_err();
    let hints: Vec<_> = errors.0.iter().map(|d| d.hint.clone()).collect();
    assert_eq!(
        hints,
        [
            None,
            Some(format!(
                "see {DOCS_URL}/reference/extensions/flask-framework/#project-requirements"
            ))
        ]
    );
    assert_eq!(errors.0[0].span.line, 3);
}

#[test]
fn flask_worker_is_gevent_when_gevent_is_a_dependency() {
    let dir = project(&[
        ("requirements.txt", "flask\ngevent>=24\n"),
        ("app.py", FLASK_APP),
    ]);
    let doc = ok(&yaml_for("flask-framework", "ubuntu@24.04", ""), dir.path());
    assert_eq!(
        doc["services"]["flask"]["command"],
        "/bin/python3 -m gunicorn -c /flask/gunicorn.conf.py 'app:app' -k [ gevent ]"
    );

    let pyproject =
        "[project]\nname = \"x\"\ndependencies = [\n  \"flask\",\n  \"gunicorn[gevent]\",\n]\n";
    let dir = project(&[("pyproject.toml", pyproject), ("app.py", FLASK_APP)]);
    let doc = ok(&yaml_for("flask-framework", "ubuntu@24.04", ""), dir.path());
    assert!(
        doc["services"]["flask"]["command"]
            .as_str()
            .unwrap()
            .ends_with("-k [ gevent ]")
    );
    // No requirements.txt: nothing to install with -r.
    assert_eq!(
        doc["parts"]["flask-framework/dependencies"]["python-requirements"],
        json!([])
    );
}

#[test]
fn flask_on_bare_uses_the_build_base_python() {
    let dir = flask_project();
    let doc = ok(&yaml_for("flask-framework", "bare", ""), dir.path());
    let deps = &doc["parts"]["flask-framework/dependencies"];
    assert_eq!(deps["stage-packages"], json!(["python3"]));
    assert_eq!(
        deps["build-environment"],
        json!([{"PARTS_PYTHON_INTERPRETER": "python3.12"}])
    );
    assert!(deps.get("stage").is_none());
    let runtime = &doc["parts"]["flask-framework/runtime"];
    assert_eq!(
        runtime["stage-packages"],
        json!(["bash", "coreutils", "ca-certificates"])
    );
    assert_eq!(
        doc["parts"]["flask-framework/runtime-libs"]["stage-packages"],
        json!(["libstdc++6"])
    );

    let debian = "name: my-app\nbase: bare\nbuild-base: debian@12\nextensions: [flask-framework]\n";
    let doc = ok(debian, dir.path());
    assert_eq!(
        doc["parts"]["flask-framework/dependencies"]["stage-packages"],
        json!(["python3"])
    );

    let old = "name: my-app\nbase: bare\nbuild-base: ubuntu@20.04\nextensions: [flask-framework]\n";
    assert_eq!(
        err(old, dir.path()),
        ["Unable to determine the Python version for the build-base ubuntu@20.04"]
    );
}

#[test]
fn flask_reports_every_problem_at_once() {
    let dir = project(&[("README.md", "")]);
    assert_eq!(
        err(&yaml_for("flask-framework", "ubuntu@22.04", ""), dir.path()),
        [
            "missing a requirements file (requirements.txt or pyproject.toml). The \
             flask-framework extension requires one of these files with 'flask' specified as a \
             dependency.",
            "Missing WSGI entrypoint in default search locations",
        ]
    );
    let dir = project(&[
        ("requirements.txt", "django\n# flask\n"),
        ("app.py", FLASK_APP),
    ]);
    assert_eq!(
        err(&yaml_for("flask-framework", "ubuntu@22.04", ""), dir.path()),
        ["missing flask package dependency in requirements file."]
    );
    let dir = project(&[("requirements.txt", "flask\n"), ("app.py", "x = 'oops\n")]);
    assert_eq!(
        err(&yaml_for("flask-framework", "ubuntu@22.04", ""), dir.path()),
        ["error parsing app.py: unterminated string literal (detected at line 1)"]
    );
}

#[test]
fn flask_finds_entrypoints_like_rockcraft() {
    let cases = [
        ("main.py", "application = make()\n", "main:application"),
        ("app/__init__.py", "from .views import app\n", "app:app"),
        (
            "src/main.py",
            "def create_app():\n    return 1\n",
            "src.main:create_app()",
        ),
        (
            "my_app/app.py",
            "def make_app():\n    pass\n",
            "my_app.app:make_app()",
        ),
    ];
    for (file, content, expected) in cases {
        let dir = project(&[("requirements.txt", "flask\n"), (file, content)]);
        let doc = ok(&yaml_for("flask-framework", "ubuntu@24.04", ""), dir.path());
        let command = doc["services"]["flask"]["command"].as_str().unwrap();
        assert!(
            command.contains(&format!(" '{expected}' ")),
            "{file}: {command}"
        );
    }
}

#[test]
fn flask_user_command_skips_entrypoint_discovery() {
    let dir = project(&[("requirements.txt", "flask\n"), ("server.py", "")]);
    let yaml = yaml_for(
        "flask-framework",
        "ubuntu@22.04",
        "services:\n  flask:\n    command: /bin/python3 -m gunicorn server:wsgi\n",
    );
    let doc = ok(&yaml, dir.path());
    let flask = &doc["services"]["flask"];
    assert_eq!(flask["command"], "/bin/python3 -m gunicorn server:wsgi");
    assert_eq!(flask["override"], "replace");
}

#[test]
fn flask_prime_entries_must_start_with_flask_app() {
    let dir = flask_project();
    let yaml = yaml_for(
        "flask-framework",
        "ubuntu@22.04",
        "parts:\n  flask-framework/install-app:\n    prime: [flask/app/app.py, app/static]\n",
    );
    assert_eq!(
        err(&yaml, dir.path()),
        [
            "flask-framework extension requires the 'prime' entry in the \
          flask-framework/install-app part to start with flask/app"
        ]
    );
    let yaml = yaml_for(
        "flask-framework",
        "ubuntu@22.04",
        "parts:\n  flask-framework/install-app:\n    prime: [flask/app/app.py, flask/app/README.md]\n",
    );
    let app = &ok(&yaml, dir.path())["parts"]["flask-framework/install-app"];
    assert_eq!(
        app["prime"],
        json!(["flask/app/app.py", "flask/app/README.md"])
    );
    assert_eq!(
        app["organize"],
        json!({"app.py": "flask/app/app.py", "README.md": "flask/app/README.md"})
    );
}

#[test]
fn flask_without_default_files_organizes_everything_but_vcs_and_rocks() {
    let dir = project(&[
        ("requirements.txt", "flask\n"),
        ("my_app/__init__.py", "app = 1\n"),
        (".git/", ""),
        ("node_modules/", ""),
        (".rcraft/", ""),
        ("old_1.0_amd64.rock", ""),
        ("rockcraft.yaml", "name: my-app\n"),
    ]);
    let doc = ok(&yaml_for("flask-framework", "ubuntu@22.04", ""), dir.path());
    let app = &doc["parts"]["flask-framework/install-app"];
    assert_eq!(app["prime"], json!([]));
    assert_eq!(
        app["organize"],
        json!({
            "my_app": "flask/app/my_app",
            "requirements.txt": "flask/app/requirements.txt",
            "rockcraft.yaml": "flask/app/rockcraft.yaml",
        })
    );
    assert!(
        doc["services"]["flask"]["command"]
            .as_str()
            .unwrap()
            .contains("'my_app:app'")
    );
}

// ----- merge rules, through expand -----

#[test]
fn user_values_merge_with_the_extension() {
    let dir = flask_project();
    let user = "services:\n  flask:\n    startup: disabled\n\
                parts:\n  flask-framework/dependencies:\n    \
                stage-packages: [libpq5, python3-venv]\n    build-packages: [gcc]\n  \
                mine:\n    plugin: nil\n";
    let doc = ok(
        &yaml_for("flask-framework", "ubuntu@22.04", user),
        dir.path(),
    );
    let flask = &doc["services"]["flask"];
    assert_eq!(flask["startup"], "disabled");
    assert!(flask["command"].as_str().unwrap().contains("'app:app'"));
    let deps = &doc["parts"]["flask-framework/dependencies"];
    assert_eq!(deps["stage-packages"], json!(["python3-venv", "libpq5"]));
    assert_eq!(deps["build-packages"], json!(["gcc"]));
    assert_eq!(deps["plugin"], "python");
    assert_eq!(doc["parts"]["mine"]["plugin"], "nil");
    // The user's parts come first, the extension's are appended.
    let names: Vec<&String> = doc["parts"].as_object().unwrap().keys().collect();
    assert_eq!(names[0], "flask-framework/dependencies");
    assert_eq!(names[1], "mine");
}

// ----- django-framework -----

const WSGI: &str = "import os\nfrom django.core.wsgi import get_wsgi_application\n\
                    application = get_wsgi_application()\n";

#[test]
fn django_minimal_project() {
    let dir = project(&[
        ("requirements.txt", "Django\n"),
        ("my_app/my_app/wsgi.py", WSGI),
        ("my_app/manage.py", ""),
    ]);
    let doc = ok(
        &yaml_for("django-framework", "ubuntu@22.04", ""),
        dir.path(),
    );
    assert_eq!(doc["run-user"], "_daemon_");
    assert_eq!(
        doc["services"]["django"]["command"],
        "/bin/python3 -m gunicorn -c /django/gunicorn.conf.py 'my_app.wsgi:application' -k [ sync ]"
    );
    let app = &doc["parts"]["django-framework/install-app"];
    assert_eq!(app["source"], "my_app");
    assert_eq!(
        app["organize"],
        json!({"*": "django/app/", ".*": "django/app/"})
    );
    assert_eq!(app["stage"], json!(["-django/app/db.sqlite3"]));
    assert!(
        doc["parts"]["django-framework/config-files"]["override-build"]
            .as_str()
            .unwrap()
            .contains("chdir = \"/django/app\"")
    );
}

#[test]
fn django_tutorial_layout_and_user_install_app() {
    let dir = project(&[
        ("requirements.txt", "django\ngevent\n"),
        ("my_app/mysite/wsgi.py", WSGI),
    ]);
    let user = "parts:\n  django-framework/install-app:\n    plugin: dump\n    source: src\n";
    let doc = ok(
        &yaml_for("django-framework", "ubuntu@24.04", user),
        dir.path(),
    );
    assert!(
        doc["services"]["django"]["command"]
            .as_str()
            .unwrap()
            .ends_with("'mysite.wsgi:application' -k [ gevent ]")
    );
    let app = &doc["parts"]["django-framework/install-app"];
    assert_eq!(app["source"], "src");
    assert!(app.get("organize").is_none());
    assert_eq!(
        app["permissions"],
        json!([{"owner": 584792, "group": 584792}])
    );
}

#[test]
fn django_reports_missing_requirements_and_wsgi() {
    let dir = project(&[("my_app/", "")]);
    let errors = err(
        &yaml_for("django-framework", "ubuntu@22.04", ""),
        dir.path(),
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0],
        "missing requirements.txt file, django-framework extension requires this file with \
         Django specified as a dependency"
    );
    assert!(errors[1].starts_with(
        "django application can not be imported, unable to locate a wsgi.py with an \
         'application' callable in the default discovery locations ("
    ));
    assert!(errors[1].contains("my_app/my_app/wsgi.py"));
    assert!(errors[1].contains("my_app/mysite/wsgi.py"));
}

// ----- fastapi-framework -----

#[test]
fn fastapi_minimal_project() {
    let dir = project(&[
        ("requirements.txt", "fastapi[standard]\n"),
        (
            "app/main.py",
            "from fastapi import FastAPI\napp = FastAPI()\n",
        ),
        ("templates/", ""),
    ]);
    let doc = ok(&yaml_for("fastapi-framework", "bare", ""), dir.path());
    let svc = &doc["services"]["fastapi"];
    assert_eq!(svc["command"], "/bin/python3 -m uvicorn app.main:app");
    assert_eq!(svc["working-dir"], "/app");
    assert_eq!(svc["environment"], json!({"UVICORN_HOST": "0.0.0.0"}));
    assert_eq!(svc["user"], "_daemon_");
    let app = &doc["parts"]["fastapi-framework/install-app"];
    assert_eq!(
        app["organize"],
        json!({"templates": "app/templates", "app": "app/app"})
    );
    assert_eq!(app["stage"], json!(["app/templates", "app/app"]));
    assert_eq!(
        doc["parts"]["fastapi-framework/dependencies"]["stage-packages"],
        json!(["python3"])
    );
}

#[test]
fn fastapi_checks() {
    let dir = project(&[("main.py", "print('no app')\n")]);
    let errors = err(
        &yaml_for("fastapi-framework", "ubuntu@24.04", ""),
        dir.path(),
    );
    assert_eq!(errors.len(), 2);
    assert!(errors[0].starts_with("missing a requirements.txt file."));
    assert!(errors[1].starts_with("missing ASGI entrypoint\n"));
    let dir = project(&[("requirements.txt", "flask\n"), ("app.py", "app = 1\n")]);
    assert_eq!(
        err(
            &yaml_for("fastapi-framework", "ubuntu@24.04", ""),
            dir.path()
        ),
        ["missing fastapi or starlette package dependency in requirements.txt file."]
    );
    let errors = err(
        &yaml_for("fastapi-framework", "ubuntu@22.04", ""),
        dir.path(),
    );
    assert_eq!(
        errors,
        ["Extension 'fastapi-framework' does not support base: 'ubuntu@22.04'"]
    );
}

// ----- go-framework -----

#[test]
fn go_minimal_project() {
    let dir = project(&[
        ("go.mod", "module example.com/hello\n"),
        ("main.go", "package main\n"),
        ("static/", ""),
    ]);
    let yaml = "name: hello\nbase: bare\nbuild-base: ubuntu@24.04\nextensions: [go-framework]\n";
    let doc = ok(yaml, dir.path());
    let svc = &doc["services"]["go"];
    assert_eq!(svc["command"], "hello");
    assert_eq!(svc["working-dir"], "/app");
    let app = &doc["parts"]["go-framework/install-app"];
    assert_eq!(app["plugin"], "go");
    assert_eq!(app["organize"], json!({"bin/hello": "usr/local/bin/hello"}));
    assert_eq!(app["stage"], json!(["usr/local/bin/hello"]));
    assert_eq!(app["build-environment"], json!([{"CGO_ENABLED": "0"}]));
    assert!(app.get("build-snaps").is_none());
    let assets = &doc["parts"]["go-framework/assets"];
    assert_eq!(assets["organize"], json!({"static": "app/static"}));
    assert_eq!(assets["stage"], json!(["app/static"]));
    assert_eq!(
        doc["parts"]["go-framework/runtime"]["stage-packages"],
        json!(["ca-certificates", "bash", "coreutils"])
    );

    // Non-bare: no CGO override, no assets part without asset files.
    let dir = project(&[("go.mod", ""), ("cmd/x/main.go", "")]);
    let yaml = "name: hello\nbase: ubuntu@24.04\nextensions: [go-framework]\n";
    let doc = ok(yaml, dir.path());
    assert!(
        doc["parts"]["go-framework/install-app"]
            .get("build-environment")
            .is_none()
    );
    assert!(doc["parts"].get("go-framework/assets").is_none());
}

#[test]
fn go_checks() {
    let dir = project(&[("README.md", "")]);
    let yaml = "name: hello\nbase: ubuntu@24.04\nextensions: [go-framework]\n";
    assert_eq!(
        err(yaml, dir.path()),
        [
            "missing go.mod file, it should be present in the project directory",
            "No Go source files found. The go-framework extension requires at least one Go \
             source file (typically with a main package).",
        ]
    );
}

// ----- expressjs-framework -----

#[test]
fn expressjs_minimal_project() {
    let dir = project(&[(
        "app/package.json",
        r#"{"name": "web", "scripts": {"start": "node ./bin/www"}}"#,
    )]);
    let doc = ok(
        &yaml_for("expressjs-framework", "ubuntu@24.04", ""),
        dir.path(),
    );
    let svc = &doc["services"]["expressjs"];
    assert_eq!(svc["command"], "npm start");
    assert_eq!(svc["working-dir"], "/app");
    assert_eq!(svc["environment"], json!({"NODE_ENV": "production"}));
    let app = &doc["parts"]["expressjs-framework/install-app"];
    assert_eq!(app["plugin"], "npm");
    assert_eq!(app["source"], "app/");
    assert_eq!(app["build-packages"], json!(["nodejs", "npm"]));
    assert_eq!(app["stage-packages"], json!(["ca-certificates", "nodejs"]));
    let script = app["override-build"].as_str().unwrap();
    assert!(script.contains("ln -s /lib/node_modules/web ${CRAFT_PART_INSTALL}/app"));
    assert_eq!(
        doc["parts"]["expressjs-framework/runtime"]["stage-packages"],
        json!(["npm"])
    );
}

#[test]
fn expressjs_with_npm_included_node() {
    let dir = project(&[(
        "app/package.json",
        r#"{"name": "web", "scripts": {"start": "node ./bin/www"}}"#,
    )]);
    let user = "parts:\n  expressjs-framework/install-app:\n    npm-include-node: true\n    \
                npm-node-version: '22'\n";
    let doc = ok(
        &yaml_for("expressjs-framework", "ubuntu@24.04", user),
        dir.path(),
    );
    let app = &doc["parts"]["expressjs-framework/install-app"];
    assert!(app.get("build-packages").is_none());
    assert_eq!(app["stage-packages"], json!(["ca-certificates"]));
    assert_eq!(app["npm-node-version"], "22");
    assert!(doc["parts"].get("expressjs-framework/runtime").is_none());
}

#[test]
fn expressjs_checks() {
    let dir = project(&[("package.json", "{}")]);
    let yaml = yaml_for("expressjs-framework", "bare", "");
    assert_eq!(
        err(&yaml, dir.path()),
        ["missing package.json file in 'app' directory"]
    );
    let dir = project(&[("app/package.json", r#"{"name": 3, "scripts": {}}"#)]);
    assert_eq!(
        err(&yaml, dir.path()),
        [
            "missing 'scripts.start' field in package.json",
            "missing 'name' field in package.json"
        ]
    );
}

// ----- validation -----

#[test]
fn unknown_extension_gets_a_suggestion() {
    let dir = flask_project();
    let mut doc = parse(&yaml_for("flask-framwork", "ubuntu@22.04", "")).unwrap();
    let errors = expand_with(&mut doc, dir.path(), false).unwrap_err();
    assert_eq!(errors.0.len(), 1);
    let d = &errors.0[0];
    assert_eq!(d.message, "Extension 'flask-framwork' does not exist");
    assert_eq!(d.hint.as_deref(), Some("did you mean 'flask-framework'?"));
    assert_eq!(d.span.line, 3);
}

#[test]
fn unsupported_base_is_reported_and_debian_is_accepted() {
    let dir = flask_project();
    let mut doc = parse(&yaml_for("flask-framework", "ubuntu@20.04", "")).unwrap();
    let errors = expand_with(&mut doc, dir.path(), false).unwrap_err();
    assert_eq!(
        errors.0[0].message,
        "Extension 'flask-framework' does not support base: 'ubuntu@20.04'"
    );
    assert_eq!(errors.0[0].field, "base");
    assert_eq!(errors.0[0].span.line, 2);

    let doc = ok(&yaml_for("flask-framework", "debian@12", ""), dir.path());
    assert_eq!(
        doc["parts"]["flask-framework/dependencies"]["stage-packages"],
        json!(["python3-venv"])
    );
}

#[test]
fn experimental_profiles_need_the_environment_variable() {
    let mut profile = data::all()[0].clone().unwrap();
    profile.experimental = true;
    let doc = parse("base: ubuntu@22.04\n").unwrap();
    let d = validate(&profile, &doc, Span::GENERATED, false).unwrap_err();
    assert_eq!(d.message, "Extension is experimental: 'django-framework'");
    assert!(validate(&profile, &doc, Span::GENERATED, true).is_ok());
}

#[test]
fn malformed_documents_are_reported_not_panicking() {
    let dir = flask_project();
    assert!(err("- a\n- b\n", dir.path())[0].contains("must be a mapping"));
    assert_eq!(
        err("extensions: flask-framework\n", dir.path()),
        ["input should be a valid list"]
    );
    assert_eq!(
        err("extensions: [{a: 1}]\n", dir.path()),
        ["input should be a valid string"]
    );
    assert_eq!(ok("name: x\n", dir.path()), json!({"name": "x"}));
    assert_eq!(
        ok("name: x\nextensions: []\n", dir.path()),
        json!({"name": "x", "extensions": []})
    );
    assert!(ok("", dir.path()).is_null());
}

#[test]
fn several_extensions_apply_in_name_order() {
    let dir = project(&[
        ("requirements.txt", "flask\n"),
        ("app.py", FLASK_APP),
        ("go.mod", ""),
        ("main.go", ""),
    ]);
    let mut doc = parse(
        "name: both\nbase: ubuntu@24.04\nextensions: [go-framework, flask-framework, go-framework]\n",
    )
    .unwrap();
    let applied = expand_with(&mut doc, dir.path(), false).unwrap();
    assert_eq!(applied, ["flask-framework", "go-framework"]);
    let services = doc.get("services").unwrap().as_map().unwrap();
    let names: Vec<&str> = services.iter().map(|(k, _)| k.name.as_str()).collect();
    assert_eq!(names, ["flask", "go"]);
}

#[test]
fn list_shows_every_extension_sorted() {
    let all = list();
    let names: Vec<&str> = all.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "django-framework",
            "expressjs-framework",
            "fastapi-framework",
            "flask-framework",
            "go-framework"
        ]
    );
    assert_eq!(
        all[3].bases,
        ["bare", "ubuntu@22.04", "ubuntu@24.04", "debian@12"]
    );
    assert!(all.iter().all(|e| !e.experimental));
}
