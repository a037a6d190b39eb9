//! Incremental packs and the lifecycle commands: a pack with nothing changed redoes no step and
//! gives the same digest; editing one part's files redoes that part only and changes only its
//! layer; `rcraft build PART` and `rcraft clean PART` work on single parts.

use crate::common::{TestContext, run};

const PROJECT: &str = r#"name: steps
version: '1.0'
summary: Two parts
description: One holds the app, one holds the config.
base: bare
build-base: debian@12
platforms:
  amd64:
parts:
  config:
    plugin: dump
    source: config
  app:
    plugin: dump
    source: app
    after: [config]
"#;

fn fixture() -> TestContext {
    let ctx = TestContext::new();
    ctx.write("rockcraft.yaml", PROJECT);
    ctx.write("config/etc/app.conf", "port = 8000\n");
    ctx.write("app/srv/app.py", "print('hello')\n");
    ctx
}

/// Packs into `out` and returns (stderr, layer digests).
fn pack(ctx: &TestContext, out: &str) -> (String, Vec<String>) {
    pack_with(ctx, out, &[])
}

fn pack_with(ctx: &TestContext, out: &str, extra: &[&str]) -> (String, Vec<String>) {
    // Layer positions below assume no worker-server layer.
    let (code, _, stderr) = run(ctx
        .rcraft()
        .env_remove("RCRAFT_WORKER_SERVER")
        .args(["pack", "-o", out])
        .args(extra));
    assert_eq!(code, 0, "{stderr}");
    let rock = ctx.path().join(out).join("steps_1.0_amd64.rock");
    let summary = rcraft::oci::validate(&rock).expect("valid rock");
    let layers = summary
        .layers
        .iter()
        .map(|l| l.digest.to_string())
        .collect();
    (stderr, layers)
}

fn ran(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| {
            ["Pulling ", "Building ", "Staging ", "Priming "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect()
}

#[test]
fn repacking_redoes_only_what_changed() {
    let ctx = fixture();
    let (first, layers1) = pack(&ctx, "one");
    assert_eq!(ran(&first).len(), 8, "{first}");

    let (second, layers2) = pack(&ctx, "two");
    assert_eq!(ran(&second), Vec::<&str>::new(), "{second}");
    assert!(
        second.contains("Skipping build for app (already ran)"),
        "{second}"
    );
    assert_eq!(layers1, layers2);

    ctx.write("app/srv/app.py", "print('hello, world')\n");
    let (third, layers3) = pack_with(&ctx, "three", &["--verbose"]);
    // Only the app's layer is written again; the config part's layer is reused as it is.
    assert!(third.contains("for part 'config' (unchanged)"), "{third}");
    assert!(!third.contains("for part 'app' (unchanged)"), "{third}");
    assert_eq!(
        ran(&third),
        ["Pulling app", "Building app", "Staging app", "Priming app"],
        "{third}"
    );
    // Layers: config part, app part, metadata. Only the app's layer changed.
    assert_eq!(layers3.len(), 3);
    assert_eq!(layers3[0], layers1[0], "config layer rewritten");
    assert_ne!(layers3[1], layers1[1], "app layer not updated");
    assert_eq!(layers3[2], layers1[2]);

    // The same project packed from scratch elsewhere gives the same image.
    let fresh = TestContext::new();
    for (rel, text) in [
        ("rockcraft.yaml", PROJECT),
        ("config/etc/app.conf", "port = 8000\n"),
        ("app/srv/app.py", "print('hello, world')\n"),
    ] {
        fresh.write(rel, text);
    }
    let (_, layers_fresh) = pack(&fresh, "out");
    assert_eq!(layers_fresh, layers3);
}

#[test]
fn step_commands_work_on_single_parts_and_clean_forgets_them() {
    let ctx = fixture();
    let (code, stdout, stderr) = run(ctx.rcraft().args(["build", "app"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Built app"), "{stdout}");
    // app is after config, so config was staged for it; app itself was not.
    let ran_build = ran(&stderr);
    assert!(ran_build.contains(&"Staging config"), "{stderr}");
    assert!(!ran_build.contains(&"Staging app"), "{stderr}");

    let (pack_log, _) = pack(&ctx, "out");
    assert!(
        pack_log.contains("Skipping build for app (already ran)"),
        "{pack_log}"
    );
    assert!(ran(&pack_log).contains(&"Staging app"), "{pack_log}");

    let (code, stdout, stderr) = run(ctx.rcraft().args(["clean", "app"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Cleaned app"), "{stdout}");
    let (after_clean, _) = pack(&ctx, "again");
    assert_eq!(
        ran(&after_clean),
        ["Pulling app", "Building app", "Staging app", "Priming app"],
        "{after_clean}"
    );

    let (code, _, stderr) = run(ctx.rcraft().arg("clean"));
    assert_eq!(code, 0, "{stderr}");
    let (all, _) = pack(&ctx, "all");
    assert_eq!(ran(&all).len(), 8, "{all}");

    let (code, _, stderr) = run(ctx.rcraft().args(["build", "nope"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("part 'nope' is not defined in the project (parts: config, app)"),
        "{stderr}"
    );
}
