//! Exit codes through the real binary: 1 for what the user can fix (with a message saying
//! how), 2 for bad usage, never 70 ("internal error") for a user's mistake.

use crate::common::{TestContext, run};

const ON_BASE: &str = "name: on-base
version: '0.1'
summary: s
description: d
base: debian@12
platforms:
  amd64:
parts:
  app:
    plugin: nil
";

const BARE: &str = "name: bare
version: '0.1'
summary: s
description: d
base: bare
build-base: debian@12
platforms:
  amd64:
parts:
  app:
    plugin: nil
";

/// Runs rcraft in `ctx` with `args`, returning (code, stderr).
fn rcraft(ctx: &TestContext, args: &[&str], env_remove: &[&str]) -> (i32, String) {
    let mut cmd = ctx.rcraft();
    cmd.args(args);
    for var in env_remove {
        cmd.env_remove(var);
    }
    let (code, _, stderr) = run(&mut cmd);
    (code, stderr)
}

#[test]
fn no_cache_directory_is_the_users_to_fix() {
    let ctx = TestContext::new();
    ctx.write("rockcraft.yaml", ON_BASE);
    let (code, stderr) = rcraft(
        &ctx,
        &["pack"],
        &["HOME", "XDG_CACHE_HOME", "RCRAFT_CACHE_DIR"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "cannot find a cache directory: set RCRAFT_CACHE_DIR, XDG_CACHE_HOME or HOME"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("internal error"), "{stderr}");
}

#[test]
fn user_mistakes_exit_1_or_2_never_70() {
    let ctx = TestContext::new();
    ctx.write("rockcraft.yaml", BARE);
    ctx.write("a-file", "not a directory");
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["pack", "--project-dir", "missing"],
            1,
            "cannot open project directory",
        ),
        (
            &["pack", "--base-digest", "sha256:nothex"],
            2,
            "invalid --base-digest",
        ),
        (&["pack", "--platform", "s390x"], 1, "s390x"),
        (&["push", "localhost:1/x:1"], 1, "no .rock file in"),
        (
            &["push", "localhost:1/x:1", "--archive", "nope.rock"],
            1,
            "cannot push",
        ),
        (&["push", "UPPER CASE/x"], 1, "UPPER CASE/x"),
        (
            &["build", "nosuchpart"],
            1,
            "part 'nosuchpart' is not defined",
        ),
        (&["init", "--profile", "nosuch"], 1, "nosuch"),
        (&["frobnicate"], 2, "frobnicate"),
    ];
    for (args, expected, needle) in cases {
        let (code, stderr) = rcraft(&ctx, args, &[]);
        assert_eq!(code, *expected, "rcraft {args:?}:\n{stderr}");
        assert!(stderr.contains(needle), "rcraft {args:?}:\n{stderr}");
        assert!(
            !stderr.contains("internal error"),
            "rcraft {args:?}:\n{stderr}"
        );
    }
}
