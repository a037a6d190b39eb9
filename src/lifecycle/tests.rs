//! End-to-end tests of [`super::run`]: projects built in temp dirs, checked by what a user
//! would notice in the prime dir and the [`Outcome`]. Also the helpers other test modules use
//! to build [`Project`] values.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use crate::progress::Silent;
use crate::project::{Base, Part, Permission, Project};

use super::{LifecycleError, LifecycleOptions, Outcome, PrimedFile, run};

/// The umask is per process: the umask test takes this for writing, other runs for reading.
static UMASK: RwLock<()> = RwLock::new(());

/// A part with `plugin` and nothing else.
pub(crate) fn part(plugin: &str) -> Part {
    Part {
        plugin: Some(plugin.to_string()),
        ..Part::default()
    }
}

/// A minimal valid project with `parts` (its directory does not exist).
pub(crate) fn project(parts: Vec<(&str, Part)>) -> Project {
    Project {
        unsupported: Vec::new(),
        project_dir: PathBuf::from("/nonexistent"),
        name: "test".into(),
        title: "test".into(),
        version: "0.1".into(),
        summary: "a summary".into(),
        description: "a description".into(),
        base: Base::Bare,
        build_base: Base::Ubuntu("24.04".into()),
        platforms: Vec::new(),
        license: None,
        contact: Vec::new(),
        issues: Vec::new(),
        source_code: None,
        adopt_info: None,
        environment: Vec::new(),
        run_user: None,
        services: Vec::new(),
        checks: Vec::new(),
        entrypoint_service: None,
        entrypoint_command: None,
        parts: parts.into_iter().map(|(n, p)| (n.to_string(), p)).collect(),
        package_repositories: Vec::new(),
        extensions: Vec::new(),
    }
}

/// A `dump` part with `source`.
fn dump(source: &str) -> Part {
    Part {
        source: Some(source.to_string()),
        ..part("dump")
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A project directory in a temp dir, with the work dir where rcraft puts it.
struct Fixture {
    _tmp: tempfile::TempDir,
    project: Project,
    verbose: bool,
}

impl Fixture {
    fn new(parts: Vec<(&str, Part)>) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("project");
        fs::create_dir(&dir).unwrap();
        let mut project = project(parts);
        project.project_dir = dir;
        Fixture {
            _tmp: tmp,
            project,
            verbose: false,
        }
    }

    fn dir(&self) -> &Path {
        &self.project.project_dir
    }

    /// Writes a project file with `mode`, creating parents (mode 755).
    fn write(&self, rel: &str, content: &str, mode: u32) {
        let path = self.dir().join(rel);
        let parent = path.parent().unwrap();
        fs::create_dir_all(parent).unwrap();
        fs::write(&path, content).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn opts(&self) -> LifecycleOptions {
        LifecycleOptions {
            work_dir: self.dir().join(".rcraft/work/amd64"),
            build_for: "amd64".into(),
            build_on: "amd64".into(),
            parallel_build_count: 2,
            verbose: self.verbose,
            packages: None,
            base_rootfs: None,
        }
    }

    fn run(&self) -> Result<Outcome, LifecycleError> {
        let _guard = UMASK.read().unwrap_or_else(|e| e.into_inner());
        run(&self.project, &self.opts(), &Silent)
    }

    fn prime(&self) -> PathBuf {
        self.opts().work_dir.join("prime")
    }

    fn mode(&self, rel: &str) -> u32 {
        fs::symlink_metadata(self.prime().join(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.prime().join(rel)).unwrap()
    }
}

/// The paths of one part's primed files.
fn paths(outcome: &Outcome, part: &str) -> Vec<String> {
    outcome
        .parts
        .iter()
        .find(|p| p.name == part)
        .unwrap()
        .files
        .iter()
        .map(|f| f.path.clone())
        .collect()
}

fn file<'o>(outcome: &'o Outcome, part: &str, path: &str) -> &'o PrimedFile {
    outcome
        .parts
        .iter()
        .find(|p| p.name == part)
        .unwrap()
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap()
}

#[test]
fn dump_copies_the_project_with_modes_and_symlinks() {
    let f = Fixture::new(vec![("app", dump("."))]);
    f.write("rockcraft.yaml", "name: test\n", 0o644);
    f.write("bin/run.sh", "#!/bin/sh\n", 0o755);
    f.write("etc/secret", "s3cret", 0o600);
    f.write("old_1.0_amd64.rock", "not me", 0o644);
    f.write(".env", "hidden", 0o644);
    f.write("parts/x", "craft-parts dir", 0o644);
    fs::set_permissions(f.dir().join("etc"), fs::Permissions::from_mode(0o750)).unwrap();
    symlink("bin/run.sh", f.dir().join("start")).unwrap();
    fs::create_dir_all(f.dir().join(".rcraft/old")).unwrap();

    let out = f.run().unwrap();
    assert_eq!(out.prime_dir, f.prime());
    assert_eq!(
        paths(&out, "app"),
        [
            "bin",
            "bin/run.sh",
            "etc",
            "etc/secret",
            "rockcraft.yaml",
            "start"
        ]
    );
    assert_eq!(f.mode("bin/run.sh"), 0o755);
    assert_eq!(f.mode("etc/secret"), 0o600);
    assert_eq!(f.mode("etc"), 0o750);
    assert_eq!(
        fs::read_link(f.prime().join("start")).unwrap(),
        Path::new("bin/run.sh")
    );
    // The source copy leaves out rocks, the work dir and craft-parts dirs; top-level dotfiles
    // are pulled but, as in craft-parts, not staged by default.
    let src = f.opts().work_dir.join("parts/app/src");
    assert!(src.join(".env").exists());
    assert!(!src.join("old_1.0_amd64.rock").exists());
    assert!(!src.join(".rcraft").exists());
    assert!(!src.join("parts").exists());
    assert_eq!(file(&out, "app", "etc/secret").mode, None);
    assert_eq!(file(&out, "app", "etc/secret").owner, None);
}

#[test]
fn organize_renames_and_moves_globs_into_a_directory() {
    let mut p = dump("src");
    p.organize = vec![
        ("hello.py".into(), "usr/bin/hello".into()),
        ("lib/*.so".into(), "usr/lib/".into()),
    ];
    let f = Fixture::new(vec![("app", p)]);
    f.write("src/hello.py", "print('hi')", 0o755);
    f.write("src/lib/a.so", "a", 0o644);
    f.write("src/lib/b.so", "b", 0o644);
    f.write("src/lib/keep.txt", "k", 0o644);

    let out = f.run().unwrap();
    assert_eq!(
        paths(&out, "app"),
        [
            "lib",
            "lib/keep.txt",
            "usr",
            "usr/bin",
            "usr/bin/hello",
            "usr/lib",
            "usr/lib/a.so",
            "usr/lib/b.so"
        ]
    );
    assert_eq!(f.mode("usr/bin/hello"), 0o755);
    // The project itself is untouched.
    assert!(f.dir().join("src/hello.py").exists());
}

#[test]
fn stage_and_prime_filters_select_files() {
    let mut p = dump("src");
    p.stage = strs(&["usr", "etc/app.conf", "-usr/share/doc"]);
    p.prime = strs(&["-usr/include"]);
    let f = Fixture::new(vec![("app", p)]);
    for file in [
        "usr/bin/app",
        "usr/include/app.h",
        "usr/share/doc/README",
        "usr/share/app/data",
        "etc/app.conf",
        "etc/other.conf",
        "opt/x",
    ] {
        f.write(&format!("src/{file}"), file, 0o644);
    }

    let out = f.run().unwrap();
    let stage = f.opts().work_dir.join("stage");
    assert!(stage.join("usr/include/app.h").exists());
    assert!(!stage.join("usr/share/doc").exists());
    assert!(!stage.join("opt").exists());
    assert!(!stage.join("etc/other.conf").exists());
    assert_eq!(
        paths(&out, "app"),
        [
            "etc",
            "etc/app.conf",
            "usr",
            "usr/bin",
            "usr/bin/app",
            "usr/share",
            "usr/share/app",
            "usr/share/app/data"
        ]
    );
}

#[test]
fn permissions_are_recorded_and_modes_applied() {
    let mut p = dump("src");
    p.permissions = vec![
        Permission {
            path: "*".into(),
            owner: Some(584792),
            group: Some(584792),
            mode: None,
        },
        Permission {
            path: "bin/*".into(),
            owner: None,
            group: None,
            mode: Some("750".into()),
        },
    ];
    let f = Fixture::new(vec![("app", p)]);
    f.write("src/bin/tool", "x", 0o755);
    f.write("src/data", "d", 0o644);

    let out = f.run().unwrap();
    assert_eq!(
        file(&out, "app", "bin/tool"),
        &PrimedFile {
            path: "bin/tool".into(),
            owner: Some(584792),
            group: Some(584792),
            mode: Some(0o750)
        }
    );
    assert_eq!(file(&out, "app", "data").mode, None);
    assert_eq!(file(&out, "app", "bin").owner, Some(584792));
    assert_eq!(f.mode("bin/tool"), 0o750);
    // The user's file keeps its mode.
    let src_mode = fs::metadata(f.dir().join("src/bin/tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(src_mode & 0o777, 0o755);
}

#[test]
fn each_part_lists_its_own_files_and_shared_identical_files_once() {
    let f = Fixture::new(vec![("one", dump("one")), ("two", dump("two"))]);
    f.write("one/usr/bin/one", "1", 0o755);
    f.write("one/etc/shared", "same", 0o644);
    f.write("two/usr/bin/two", "2", 0o755);
    f.write("two/etc/shared", "same", 0o644);

    let out = f.run().unwrap();
    let names: Vec<&str> = out.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["one", "two"]);
    assert_eq!(
        paths(&out, "one"),
        ["etc", "etc/shared", "usr", "usr/bin", "usr/bin/one"]
    );
    assert_eq!(paths(&out, "two"), ["usr", "usr/bin", "usr/bin/two"]);
}

#[test]
fn staging_different_contents_at_one_path_is_an_error_naming_both_parts() {
    let f = Fixture::new(vec![("one", dump("one")), ("two", dump("two"))]);
    f.write("one/etc/conf", "one", 0o644);
    f.write("one/etc/same", "same", 0o644);
    f.write("two/etc/conf", "two", 0o644);
    f.write("two/etc/same", "same", 0o644);

    let err = f.run().unwrap_err();
    assert_eq!(
        err.to_string(),
        "Failed to stage: parts list the same file with different contents or permissions.\n\
         Parts 'two' and 'one' list the following files, but with different contents or \
         permissions:\n    etc/conf"
    );
}

#[test]
fn after_stages_dependencies_before_building() {
    // "app" comes first in the file but is after "lib", whose staged file it uses.
    let mut app = part("nil");
    app.after = strs(&["lib"]);
    app.override_build =
        Some("cp \"$CRAFT_STAGE/usr/lib/libx.txt\" \"$CRAFT_PART_INSTALL/copied.txt\"\n".into());
    let f = Fixture::new(vec![("app", app), ("lib", dump("lib"))]);
    f.write("lib/usr/lib/libx.txt", "from lib", 0o644);

    let out = f.run().unwrap();
    let names: Vec<&str> = out.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["lib", "app"]);
    assert_eq!(f.read("copied.txt"), "from lib");
}

#[test]
fn cycles_in_after_are_an_error() {
    let mut a = part("nil");
    a.after = strs(&["b"]);
    let mut b = part("nil");
    b.after = strs(&["a"]);
    let f = Fixture::new(vec![("a", a), ("b", b)]);
    let err = f.run().unwrap_err();
    assert!(matches!(err, LifecycleError::Cycle { .. }), "{err}");
}

#[test]
fn override_build_sees_craft_variables_and_runs_the_default() {
    let mut p = dump("src");
    p.build_environment = vec![
        ("GREETING".into(), "hello from $CRAFT_PART_NAME".into()),
        ("OUT".into(), "$CRAFT_PART_INSTALL/out".into()),
    ];
    p.override_build = Some(
        r#"craftctl default
echo -n "$CRAFT_PART_NAME" > "$CRAFT_PART_INSTALL/name.txt"
mkdir -p "$OUT"
echo -n "$GREETING" > "$OUT/greeting"
env | grep -E '^CRAFT_' | sort > "$CRAFT_PART_INSTALL/env.txt"
pwd > "$CRAFT_PART_INSTALL/pwd.txt"
"#
        .into(),
    );
    let f = Fixture::new(vec![("app", p)]);
    f.write("src/data.txt", "data", 0o644);

    let out = f.run().unwrap();
    assert_eq!(f.read("data.txt"), "data");
    assert_eq!(f.read("name.txt"), "app");
    assert_eq!(f.read("out/greeting"), "hello from app");
    let work = f.opts().work_dir;
    assert_eq!(
        f.read("pwd.txt").trim(),
        work.join("parts/app/build")
            .canonicalize()
            .unwrap()
            .to_str()
            .unwrap()
    );
    let env = f.read("env.txt");
    for line in [
        "CRAFT_ARCH_BUILD_FOR=amd64",
        "CRAFT_ARCH_BUILD_ON=amd64",
        "CRAFT_ARCH_TRIPLET_BUILD_FOR=x86_64-linux-gnu",
        "CRAFT_ARCH_TRIPLET_BUILD_ON=x86_64-linux-gnu",
        "CRAFT_PARALLEL_BUILD_COUNT=2",
        "CRAFT_PROJECT_NAME=test",
        "CRAFT_PROJECT_VERSION=0.1",
        "CRAFT_STEP_NAME=BUILD",
        "CRAFT_TARGET_ARCH=amd64",
        &format!(
            "CRAFT_PART_INSTALL={}",
            work.join("parts/app/install").display()
        ),
        &format!("CRAFT_STAGE={}", work.join("stage").display()),
        &format!("CRAFT_PRIME={}", work.join("prime").display()),
        &format!("CRAFT_PROJECT_DIR={}", f.dir().display()),
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing in\n{env}");
    }
    assert!(paths(&out, "app").contains(&"data.txt".to_string()));
}

#[test]
fn craftctl_set_and_get_in_the_adopt_info_part() {
    let mut p = part("nil");
    p.override_pull = Some(
        r#"craftctl set version=1.2
craftctl set "summary=a summary  with spaces" 'description=two
lines'
test "$(craftctl get version)" = 1.2
craftctl get summary > got-summary
"#
        .into(),
    );
    p.override_build = Some(
        "cp \"$CRAFT_PART_SRC/got-summary\" \"$CRAFT_PART_INSTALL/\"\n\
         echo -n \"$CRAFT_PROJECT_VERSION\" > \"$CRAFT_PART_INSTALL/version\"\n"
            .into(),
    );
    let mut f = Fixture::new(vec![("meta", p)]);
    f.project.adopt_info = Some("meta".into());

    let out = f.run().unwrap();
    assert_eq!(
        out.adopted,
        vec![
            ("version".to_string(), "1.2".to_string()),
            ("summary".to_string(), "a summary  with spaces".to_string()),
            ("description".to_string(), "two\nlines".to_string()),
        ]
    );
    assert_eq!(f.read("got-summary"), "a summary  with spaces\n");
    assert_eq!(f.read("version"), "1.2");
}

#[test]
fn craftctl_set_outside_the_adopt_info_part_fails() {
    let mut p = part("nil");
    p.override_build = Some("craftctl set version=2\n".into());
    let f = Fixture::new(vec![("other", p)]);
    let err = f.run().unwrap_err().to_string();
    assert_eq!(
        err,
        "part 'other' failed in step build: 'craftctl set' not allowed for part 'other': the \
         project has no 'adopt-info'"
    );
}

#[test]
fn override_prime_adds_to_the_parts_files() {
    let mut p = dump("src");
    p.override_prime = Some("craftctl default\nmkdir -p var/lib/x\nchmod 777 var/lib/x\n".into());
    let f = Fixture::new(vec![("app", p)]);
    f.write("src/bin/app", "x", 0o755);

    let out = f.run().unwrap();
    assert_eq!(
        paths(&out, "app"),
        ["bin", "bin/app", "var", "var/lib", "var/lib/x"]
    );
    assert_eq!(f.mode("var/lib/x"), 0o777);
}

#[test]
fn files_removed_by_a_later_part_are_not_listed() {
    let mut cleaner = part("nil");
    cleaner.after = strs(&["app"]);
    cleaner.override_prime = Some("rm usr/share/doc/README\n".into());
    let f = Fixture::new(vec![("app", dump("src")), ("cleaner", cleaner)]);
    f.write("src/usr/share/doc/README", "r", 0o644);
    f.write("src/usr/bin/app", "a", 0o755);
    let out = f.run().unwrap();
    assert_eq!(
        paths(&out, "app"),
        [
            "usr",
            "usr/bin",
            "usr/bin/app",
            "usr/share",
            "usr/share/doc"
        ]
    );
    // Removing a file changes no remaining path, so the cleaner lists nothing.
    assert!(paths(&out, "cleaner").is_empty());
}

#[test]
fn failing_script_names_part_step_status_and_output() {
    let mut p = part("nil");
    p.override_build = Some("echo some progress\necho the reason >&2\nexit 2\n".into());
    let f = Fixture::new(vec![("app", p)]);
    let err = f.run().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("part 'app' failed in step build: override-build exited with status 2"),
        "{msg}"
    );
    assert!(msg.contains("    the reason"), "{msg}");
    assert!(msg.contains("+ echo some progress"), "{msg}");
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn failing_craftctl_default_reports_its_cause() {
    let mut p = dump("src");
    // The default build cannot copy into an install dir that is a file.
    p.override_build = Some(
        "rmdir \"$CRAFT_PART_INSTALL\"\ntouch \"$CRAFT_PART_INSTALL\"\ncraftctl default\n".into(),
    );
    let f = Fixture::new(vec![("app", p)]);
    f.write("src/a", "a", 0o644);
    let msg = f.run().unwrap_err().to_string();
    assert!(
        msg.starts_with("part 'app' failed in step build: cannot "),
        "{msg}"
    );
    assert!(!msg.contains("exited with status"), "{msg}");
}

#[test]
fn organize_onto_an_existing_file_fails_the_build() {
    let mut p = dump("src");
    p.organize = vec![("a".into(), "b".into())];
    let f = Fixture::new(vec![("app", p)]);
    f.write("src/a", "a", 0o644);
    f.write("src/b", "b", 0o644);
    let msg = f.run().unwrap_err().to_string();
    assert_eq!(
        msg,
        "part 'app' failed in step build: cannot organize 'a' to 'b': 'b' already exists"
    );
}

#[test]
fn unsupported_plugins_and_sources_are_clear_errors() {
    let f = Fixture::new(vec![("mk", part("make"))]);
    assert_eq!(
        f.run().unwrap_err().to_string(),
        "not supported yet: plugin 'make' (part 'mk')"
    );
    let f = Fixture::new(vec![("g", dump("https://example.invalid/x/y.git"))]);
    assert_eq!(
        f.run().unwrap_err().to_string(),
        "cannot pull 'https://example.invalid/x/y.git': git sources are not supported yet \
         (part 'g')"
    );
    let f = Fixture::new(vec![("m", dump("missing"))]);
    let msg = f.run().unwrap_err().to_string();
    assert!(msg.starts_with("cannot pull 'missing'"), "{msg}");
    assert!(msg.ends_with("(part 'm')"), "{msg}");
}

#[test]
fn source_subdir_is_where_the_build_runs() {
    let mut p = dump("src");
    p.source_subdir = Some("sub".into());
    let f = Fixture::new(vec![("app", p)]);
    f.write("src/sub/inner", "i", 0o644);
    f.write("src/outer", "o", 0o644);
    let out = f.run().unwrap();
    assert_eq!(paths(&out, "app"), ["inner"]);
}

#[test]
fn primed_modes_do_not_depend_on_the_umask() {
    let build = |umask: libc::mode_t| {
        let mut p = dump("src");
        p.organize = vec![("f".into(), "new/dir/f".into())];
        p.override_build = Some(
            "craftctl default\nmkdir -p \"$CRAFT_PART_INSTALL/made\"\n\
             echo x > \"$CRAFT_PART_INSTALL/made/file\"\n"
                .into(),
        );
        let f = Fixture::new(vec![("app", p)]);
        f.write("src/f", "f", 0o644);
        let out = {
            let _guard = UMASK.write().unwrap_or_else(|e| e.into_inner());
            // SAFETY: umask has no preconditions.
            let old = unsafe { libc::umask(umask) };
            let out = run(&f.project, &f.opts(), &Silent);
            // SAFETY: as above.
            unsafe { libc::umask(old) };
            out.unwrap()
        };
        paths(&out, "app")
            .into_iter()
            .map(|p| (f.mode(&p), p))
            .collect::<Vec<_>>()
    };
    let relaxed = build(0o002);
    let strict = build(0o077);
    assert_eq!(relaxed, strict);
    assert!(
        relaxed.contains(&(0o755, "new/dir".to_string())),
        "{relaxed:?}"
    );
    assert!(
        relaxed.contains(&(0o644, "made/file".to_string())),
        "{relaxed:?}"
    );
}

#[test]
fn verbose_scripts_stream_and_still_report_failure() {
    let mut p = part("nil");
    p.override_pull = Some("exit 3\n".into());
    let mut f = Fixture::new(vec![("app", p)]);
    f.verbose = true;
    let msg = f.run().unwrap_err().to_string();
    assert_eq!(
        msg,
        "part 'app' failed in step pull: override-pull exited with status 3"
    );
}

/// Collects status lines.
#[derive(Default)]
struct Lines(std::sync::Mutex<Vec<String>>);

impl crate::progress::Progress for Lines {
    fn info(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_string());
    }
    fn warn(&self, _line: &str) {}
    fn detail(&self, _line: &str) {}
    fn is_verbose(&self) -> bool {
        false
    }
    fn task(&self, _message: &str, _total: Option<u64>) -> Box<dyn crate::progress::Task> {
        Box::new(Silent)
    }
}

/// Runs the fixture collecting the lifecycle's progress lines.
fn run_logged(f: &Fixture) -> (Outcome, Vec<String>) {
    let lines = Lines::default();
    let _guard = UMASK.read().unwrap_or_else(|e| e.into_inner());
    let outcome = run(&f.project, &f.opts(), &lines).expect("lifecycle runs");
    let lines = lines.0.lock().unwrap().clone();
    (outcome, lines)
}

fn ran(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .filter(|l| !l.starts_with("Skipping"))
        .map(String::as_str)
        .collect()
}

#[test]
fn a_second_run_with_nothing_changed_redoes_no_step() {
    let mut app = dump("app");
    app.after = strs(&["base"]);
    let f = Fixture::new(vec![("base", dump("base")), ("app", app)]);
    f.write("base/etc/base.conf", "base\n", 0o644);
    f.write("app/srv/app.py", "print(1)\n", 0o644);
    let (first, lines) = run_logged(&f);
    assert!(lines.contains(&"Building app".to_string()), "{lines:?}");
    let (second, lines) = run_logged(&f);
    assert_eq!(ran(&lines), Vec::<&str>::new(), "{lines:?}");
    assert!(lines.contains(&"Skipping build for app (already ran)".to_string()));
    assert_eq!(
        first, second,
        "a skipped part reports the same primed files"
    );
}

#[test]
fn changing_one_parts_source_redoes_it_and_its_dependents_only() {
    let mut app = dump("app");
    app.after = strs(&["base"]);
    let f = Fixture::new(vec![
        ("base", dump("base")),
        ("app", app),
        ("other", dump("other")),
    ]);
    f.write("base/etc/base.conf", "base\n", 0o644);
    f.write("app/srv/app.py", "print(1)\n", 0o644);
    f.write("other/srv/other.txt", "other\n", 0o644);
    run_logged(&f);

    f.write("base/etc/base.conf", "changed\n", 0o644);
    let (_, lines) = run_logged(&f);
    let ran = ran(&lines);
    assert!(ran.contains(&"Pulling base"), "{lines:?}");
    assert!(
        ran.contains(&"Building app"),
        "dependents rebuild: {lines:?}"
    );
    assert!(!ran.iter().any(|l| l.ends_with(" other")), "{lines:?}");
    assert!(!ran.contains(&"Pulling app"), "{lines:?}");
    assert_eq!(f.read("etc/base.conf"), "changed\n");

    // A file removed from a part's source leaves the rock too.
    fs::remove_file(f.dir().join("other/srv/other.txt")).unwrap();
    f.write("other/srv/new.txt", "new\n", 0o644);
    let (outcome, lines) = run_logged(&f);
    assert_eq!(ran_names(&lines), ["other"], "{lines:?}");
    assert!(!f.prime().join("srv/other.txt").exists());
    assert_eq!(f.read("srv/new.txt"), "new\n");
    assert!(paths(&outcome, "other").contains(&"srv/new.txt".to_string()));
    assert!(paths(&outcome, "app").contains(&"srv/app.py".to_string()));
}

#[test]
fn a_build_that_reads_none_of_the_changed_files_is_kept() {
    // A nil build reads nothing of its source: an edit re-pulls the part but keeps its build,
    // stage and prime, and the run after that has nothing to do.
    let mut deps = part("nil");
    deps.source = Some("app".into());
    let f = Fixture::new(vec![("deps", deps), ("app", dump("app"))]);
    f.write("app/srv/app.py", "print(1)\n", 0o644);
    run_logged(&f);
    f.write("app/srv/app.py", "print(2)\n", 0o644);
    let (_, lines) = run_logged(&f);
    let redone = ran(&lines);
    assert!(redone.contains(&"Pulling deps"), "{lines:?}");
    assert!(!redone.contains(&"Building deps"), "{lines:?}");
    assert!(!redone.contains(&"Staging deps"), "{lines:?}");
    assert!(redone.contains(&"Building app"), "{lines:?}");
    assert_eq!(f.read("srv/app.py"), "print(2)\n");
    let (_, lines) = run_logged(&f);
    assert_eq!(ran(&lines), Vec::<&str>::new(), "{lines:?}");
}

/// The parts that ran any step.
fn ran_names(lines: &[String]) -> Vec<String> {
    let mut names: Vec<String> = ran(lines)
        .iter()
        .filter_map(|l| l.split_once(' ').map(|(_, n)| n.to_string()))
        .collect();
    names.dedup();
    names
}

#[test]
fn a_failed_step_is_redone_next_time_with_the_same_inputs() {
    let mut flaky = part("nil");
    // Fails until a file outside the part's inputs appears.
    flaky.override_build =
        Some("test -f \"$CRAFT_PROJECT_DIR/../go\"\ntouch \"$CRAFT_PART_INSTALL/ok\"".into());
    let f = Fixture::new(vec![("flaky", flaky)]);
    {
        let _guard = UMASK.read().unwrap_or_else(|e| e.into_inner());
        assert!(run(&f.project, &f.opts(), &Silent).is_err());
    }
    fs::write(f.dir().join("../go"), "").unwrap();
    let (_, lines) = run_logged(&f);
    assert!(
        lines.contains(&"Skipping pull for flaky (already ran)".to_string()),
        "{lines:?}"
    );
    assert!(lines.contains(&"Building flaky".to_string()), "{lines:?}");
    assert!(f.prime().join("ok").exists());
}
