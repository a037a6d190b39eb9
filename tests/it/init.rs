//! `rcraft init`: every profile writes a project file that loads back, names follow
//! Rockcraft's rules, and an existing project file is never overwritten.

use crate::common::{TestContext, run};

/// A minimal app for each profile, so that the profile's project checks pass.
fn app_files(profile: &str) -> Vec<(&'static str, &'static str)> {
    match profile {
        "flask-framework" => vec![
            ("requirements.txt", "Flask\ngunicorn[gevent]\n"),
            (
                "app.py",
                "from flask import Flask\n\napp = Flask(__name__)\n",
            ),
        ],
        "django-framework" => vec![
            ("requirements.txt", "Django\n"),
            (
                "web_app/web_app/wsgi.py",
                "from django.core.wsgi import get_wsgi_application\n\napplication = get_wsgi_application()\n",
            ),
        ],
        "fastapi-framework" => vec![
            ("requirements.txt", "fastapi\nuvicorn\n"),
            ("app.py", "from fastapi import FastAPI\n\napp = FastAPI()\n"),
        ],
        "go-framework" => vec![
            ("go.mod", "module example.com/web-app\n\ngo 1.19\n"),
            ("main.go", "package main\n\nfunc main() {}\n"),
        ],
        "expressjs-framework" => vec![(
            "app/package.json",
            r#"{"name": "web-app", "scripts": {"start": "node ./bin/www"}}"#,
        )],
        _ => vec![],
    }
}

const PROFILES: &[&str] = &[
    "simple",
    "flask-framework",
    "django-framework",
    "fastapi-framework",
    "go-framework",
    "expressjs-framework",
];

#[test]
fn every_profile_writes_a_project_that_loads_back() {
    for profile in PROFILES {
        let ctx = TestContext::new();
        let dir = ctx.path().join("web-app");
        for (rel, content) in app_files(profile) {
            ctx.write(&format!("web-app/{rel}"), content);
        }
        let (code, stdout, stderr) =
            run(ctx.rcraft().args(["init", "web-app", "--profile", profile]));
        assert_eq!(code, 0, "{profile}: {stderr}");
        assert!(
            stdout.contains("Successfully initialised project."),
            "{stdout}"
        );
        let text = std::fs::read_to_string(dir.join("rockcraft.yaml")).expect("written");
        assert!(
            text.starts_with("name: web-app\n") || text.contains("\nname: web-app\n"),
            "{text}"
        );

        let (code, stdout, stderr) = run(crate::common::rcraft_in(&dir).arg("expand-extensions"));
        assert_eq!(code, 0, "{profile} does not load back:\n{stderr}\n{text}");
        if *profile != "simple" {
            assert!(stdout.contains("run-user: _daemon_"), "{profile}: {stdout}");
            assert!(!stdout.contains("extensions:"), "{profile}: {stdout}");
        }
    }
}

#[test]
fn flask_profile_expands_to_gunicorn_with_the_worker_class_from_requirements() {
    let ctx = TestContext::new();
    for (rel, content) in app_files("flask-framework") {
        ctx.write(rel, content);
    }
    let (code, _, stderr) =
        run(ctx
            .rcraft()
            .args(["init", "--profile", "flask-framework", "--name", "blog"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(ctx.rcraft().arg("expand-extensions"));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            "/bin/python3 -m gunicorn -c /flask/gunicorn.conf.py 'app:app' -k [ gevent ]"
        ),
        "{stdout}"
    );
}

#[test]
fn refuses_to_overwrite_with_exit_code_73() {
    let ctx = TestContext::new();
    ctx.write("rockcraft.yaml", "name: mine\n");
    let (code, _, stderr) = run(ctx.rcraft().arg("init"));
    assert_eq!(code, 73, "{stderr}");
    assert!(
        stderr.contains("because it would overwrite existing files"),
        "{stderr}"
    );
    assert!(stderr.contains("- rockcraft.yaml"), "{stderr}");
    let kept = std::fs::read_to_string(ctx.path().join("rockcraft.yaml")).expect("still there");
    assert_eq!(kept, "name: mine\n");
}

#[test]
fn name_comes_from_the_directory_or_falls_back() {
    let ctx = TestContext::new();
    let (code, _, stderr) = run(ctx.rcraft().args(["init", "Not_A_Name"]));
    assert_eq!(code, 0, "{stderr}");
    let text =
        std::fs::read_to_string(ctx.path().join("Not_A_Name/rockcraft.yaml")).expect("written");
    assert!(text.contains("name: my-rock-name"), "{text}");

    let (code, _, stderr) = run(ctx.rcraft().args(["init", "x", "--name", "Bad_Name"]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("invalid name: Names can only use ASCII lowercase letters"),
        "{stderr}"
    );
    assert!(!ctx.path().join("x/rockcraft.yaml").exists());
}

#[test]
fn unknown_profile_is_a_usage_error_with_a_suggestion() {
    let ctx = TestContext::new();
    let (code, _, stderr) = run(ctx.rcraft().args(["init", "--profile", "flask"]));
    assert_ne!(code, 0);
    assert!(stderr.contains("flask-framework"), "{stderr}");
    assert!(!ctx.path().join("rockcraft.yaml").exists());
}

#[test]
fn list_extensions_shows_every_framework_and_debian() {
    let ctx = TestContext::new();
    let (code, stdout, stderr) = run(ctx.rcraft().arg("list-extensions"));
    assert_eq!(code, 0, "{stderr}");
    for name in [
        "django-framework",
        "expressjs-framework",
        "fastapi-framework",
        "flask-framework",
        "go-framework",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{stdout}"));
        assert!(line.contains("debian@12"), "{line}");
        assert!(line.contains("bare"), "{line}");
    }
}

#[test]
fn framework_project_checks_report_rockcraft_messages() {
    let ctx = TestContext::new();
    ctx.write("app.py", "import os\n");
    let (code, _, stderr) =
        run(ctx
            .rcraft()
            .args(["init", "--profile", "flask-framework", "--name", "blog"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(ctx.rcraft().arg("expand-extensions"));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("missing a requirements file (requirements.txt or pyproject.toml)"),
        "{stderr}"
    );
}
