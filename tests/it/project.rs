//! `rockcraft.yaml` validation as the user sees it: every bad file is rejected with exit code 1,
//! Rockcraft's message, the field path and the `file:line:column` position.

use crate::common::{TestContext, run};

const VALID: &str = "name: hello
version: '0.1'
summary: A greeting
description: Says hello.
base: bare
build-base: ubuntu@24.04
platforms:
  amd64:
parts:
  hello:
    plugin: nil
";

/// Replaces `from` (which must occur) in the valid project.
fn with(from: &str, to: &str) -> String {
    assert!(VALID.contains(from), "fixture does not contain {from:?}");
    VALID.replacen(from, to, 1)
}

struct Case {
    what: &'static str,
    yaml: Vec<u8>,
    /// Substrings that must all appear on stderr.
    expect: Vec<&'static str>,
}

fn case(what: &'static str, yaml: impl Into<Vec<u8>>, expect: &[&'static str]) -> Case {
    Case {
        what,
        yaml: yaml.into(),
        expect: expect.to_vec(),
    }
}

fn cases() -> Vec<Case> {
    vec![
        case(
            "bad name",
            with("name: hello", "name: Hello_World"),
            &[
                "rockcraft.yaml:1:7: invalid name: Names can only use ASCII lowercase letters",
                "(in field 'name', input: 'Hello_World')",
            ],
        ),
        case(
            "bad version",
            with("version: '0.1'", "version: '0.1.'"),
            &[
                "rockcraft.yaml:2:10: invalid version: Valid versions consist of",
                "(in field 'version'",
            ],
        ),
        case(
            "missing key",
            with("parts:\n  hello:\n    plugin: nil\n", ""),
            &["field 'parts' required in top-level configuration"],
        ),
        case(
            "missing version without adopt-info",
            with("version: '0.1'\n", ""),
            &["'adopt-info' not set and required fields are missing: 'version'"],
        ),
        case(
            "unknown top-level key",
            format!("{VALID}servces: {{}}\n"),
            &[
                "rockcraft.yaml:12:1: extra inputs are not permitted (in field 'servces'",
                "hint: did you mean 'services'?",
            ],
        ),
        case(
            "unknown part key",
            with("plugin: nil", "plugin: nil\n    sourc: ."),
            &[
                "rockcraft.yaml:12:5: extra inputs are not permitted (in field 'parts.hello.sourc', input: '.')",
                "did you mean 'source'?",
            ],
        ),
        case(
            "wrong type",
            with("summary: A greeting", "summary: [a, b]"),
            &[
                "rockcraft.yaml:3:10: input should be a valid string (in field 'summary', input: ['a', 'b'])",
            ],
        ),
        case(
            "bad platform",
            with(
                "  amd64:\n",
                "  amd64:\n    build-on: [amd64]\n    build-for: [arm64]\n",
            ),
            &[
                "Error for platform entry 'amd64': if 'build-for' is provided and the platform entry label corresponds to a valid architecture, then both values must match. amd64 != arm64",
            ],
        ),
        case(
            "unknown architecture label",
            with("  amd64:\n", "  amd65:\n"),
            &[
                "rockcraft.yaml:8:3: Error for platform entry 'amd65': trying to build rock for target architecture amd65, which is not supported.",
            ],
        ),
        case(
            "bare base without build-base",
            with("build-base: ubuntu@24.04\n", ""),
            &["When \"base\" is \"bare\", a build-base must be specified."],
        ),
        case(
            "unknown base",
            with("base: bare", "base: ubuntu@23.04"),
            &[
                "rockcraft.yaml:5:7: input should be 'bare', 'ubuntu@20.04'",
                "'debian@12' (in field 'base'",
            ],
        ),
        case(
            "bad service command",
            format!(
                "{VALID}services:\n  web:\n    override: replace\n    command: \"echo 'unclosed\"\n"
            ),
            &[
                "rockcraft.yaml:15:14: cannot parse command: unbalanced quotes",
                "(in field 'services.web.command'",
            ],
        ),
        case(
            "nested brackets",
            format!(
                "{VALID}services:\n  web:\n    override: replace\n    command: foo [ a [ b ] ]\n"
            ),
            &["rockcraft.yaml:15:14: Cannot nest [ ... ] groups. (in field 'services.web.command'"],
        ),
        case(
            "arguments after the group",
            format!("{VALID}services:\n  web:\n    override: replace\n    command: foo [ a ] b\n"),
            &["Cannot have any arguments after [ ... ] group."],
        ),
        case(
            "service without override",
            format!("{VALID}services:\n  web:\n    command: foo\n"),
            &["rockcraft.yaml:14:5: field 'override' required in 'services.web' configuration"],
        ),
        case(
            "check with two probes",
            format!(
                "{VALID}checks:\n  up:\n    override: replace\n    tcp: {{port: 80}}\n    exec: {{command: true}}\n"
            ),
            &["Must specify exactly one of http, tcp, exec for each check. (in field 'checks.up')"],
        ),
        case(
            "docker-style keys",
            format!("{VALID}cmd: [echo]\n"),
            &["The fields 'entrypoint', 'cmd' and 'env' are not supported in Rockcraft."],
        ),
        case(
            "run-user other than _daemon_",
            format!("{VALID}run-user: root\n"),
            &[
                "rockcraft.yaml:12:11: input should be '_daemon_' (in field 'run-user', input: 'root')",
            ],
        ),
        case(
            "environment interpolation",
            format!("{VALID}environment:\n  A: $HOME/x\n"),
            &["String interpolation not allowed for: $HOME/x"],
        ),
        case(
            "unknown part in after",
            with("plugin: nil", "plugin: nil\n    after: [helo]"),
            &[
                "A part named 'helo' is listed in 'after' for part 'hello' but is not defined.",
                "did you mean 'hello'?",
            ],
        ),
        case(
            "YAML syntax error",
            "name: hello\n  version: [\n",
            &["cannot parse `rockcraft.yaml` at line 2, column 10:"],
        ),
        case(
            "empty file",
            "",
            &["rockcraft.yaml:1:1: the project file is empty"],
        ),
        case(
            "not a mapping",
            "- a\n- b\n",
            &["the project file must be a mapping of keys to values, not a list"],
        ),
        case(
            "binary garbage",
            [
                0x7fu8, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0xff, 0xfe, 0x00, 0x10,
            ],
            &["cannot read", "it is not UTF-8 text", "binary file"],
        ),
        case(
            "duplicate key",
            format!("{VALID}name: again\n"),
            &["cannot parse `rockcraft.yaml` at line 12, column 1: duplicate mapping key: name"],
        ),
    ]
}

#[test]
fn bad_project_files_are_rejected_with_message_and_position() {
    let mut failures = Vec::new();
    for c in cases() {
        let ctx = TestContext::new();
        ctx.write("rockcraft.yaml", &c.yaml);
        let (code, stdout, stderr) = run(ctx.rcraft().arg("expand-extensions"));
        let missing: Vec<_> = c.expect.iter().filter(|e| !stderr.contains(*e)).collect();
        if code != 1 || !missing.is_empty() || !stdout.is_empty() || stderr.contains("panicked") {
            failures.push(format!(
                "case {:?}: exit {code}, missing {missing:?}\nstderr:\n{stderr}",
                c.what
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn several_problems_are_reported_in_one_run() {
    let ctx = TestContext::new();
    let yaml = with("name: hello", "name: Bad_Name")
        .replace("summary: A greeting", "summary: 3")
        .replace("plugin: nil", "plugin: nill");
    ctx.write("rockcraft.yaml", yaml);
    let (code, _, stderr) = run(ctx.rcraft().arg("expand-extensions"));
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("Bad rockcraft.yaml content:\n"),
        "{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("- ")).collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with("- rockcraft.yaml:1:7: invalid name"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("- rockcraft.yaml:3:10: input should be a valid string"),
        "{stderr}"
    );
    assert!(
        lines[2].contains("plugin not registered: 'nill'"),
        "{stderr}"
    );
}

#[test]
fn deprecated_colon_base_is_accepted_with_rockcrafts_warning() {
    let ctx = TestContext::new();
    ctx.write(
        "rockcraft.yaml",
        with("base: bare\nbuild-base: ubuntu@24.04", "base: ubuntu:22.04"),
    );
    let (code, stdout, stderr) = run(ctx.rcraft().arg("expand-extensions"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(
        "Warning: use of \":\" in field \"base\" is deprecated. Prefer \"ubuntu@22.04\" instead."
    ));
    assert!(stdout.contains("base: ubuntu@22.04"), "{stdout}");
}

#[test]
fn debian_base_is_an_rcraft_addition_that_validates() {
    let ctx = TestContext::new();
    ctx.write(
        "rockcraft.yaml",
        with(
            "base: bare\nbuild-base: ubuntu@24.04",
            "base: debian@12\nbuild-base: debian@12",
        ),
    );
    let (code, _, stderr) = run(ctx.rcraft().arg("expand-extensions"));
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn missing_project_file_says_how_to_create_one() {
    let ctx = TestContext::new();
    let (code, _, stderr) = run(ctx.rcraft().arg("expand-extensions"));
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot find"), "{stderr}");
    assert!(stderr.contains("rcraft init"), "{stderr}");
}
