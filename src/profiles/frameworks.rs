//! Per-framework project checks and the snippet keys that must be computed from the project.
//!
//! Each framework reads the project (the YAML as it stands, and the files in the project
//! directory), reports every problem it finds (one [`Diagnostic`] each, in Rockcraft's wording),
//! and otherwise returns its root snippet: the profile data for the project's base with the
//! computed keys filled in and the placeholders substituted. Merging is done by the caller.

use std::path::Path;

use regex::Regex;

use super::data::{ProfileData, substitute};
use super::python::{self, Wanted};
use crate::yaml::Diagnostic;
use crate::yaml::{Node, Span, Value};

/// What a framework needs to build its snippet.
pub struct Ctx<'a> {
    /// The project as it stands (user data plus extensions applied before this one).
    pub doc: &'a Node,
    /// The project directory.
    pub dir: &'a Path,
    /// The profile being applied.
    pub profile: &'a ProfileData,
    /// Whether the project's base is `bare`.
    pub bare: bool,
    /// Where the extension is named in `extensions` (for check messages).
    pub span: Span,
}

type Outcome = Result<Node, Vec<Diagnostic>>;

/// Checks the project for `ctx.profile` and computes its root snippet.
pub fn root_snippet(ctx: &Ctx<'_>) -> Outcome {
    match ctx.profile.name {
        "flask-framework" => flask(ctx),
        "django-framework" => django(ctx),
        "fastapi-framework" => fastapi(ctx),
        "go-framework" => go(ctx),
        "expressjs-framework" => expressjs(ctx),
        other => Err(vec![Diagnostic::new(
            "extensions",
            ctx.span,
            format!("Extension '{other}' has no implementation in rcraft"),
        )]),
    }
}

impl Ctx<'_> {
    /// A project-check problem, pointing at the extension's entry, with the docs as hint.
    fn problem(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new("", self.span, message).with_hint(format!(
            "see {}/reference/extensions/{}/#project-requirements",
            super::DOCS_URL,
            self.profile.name
        ))
    }

    /// The user's part of that name, if declared as a mapping.
    fn user_part(&self, part: &str) -> Option<&Node> {
        self.doc
            .get("parts")
            .and_then(|p| p.get(part))
            .filter(|p| p.as_map().is_some())
    }

    /// Whether the user set a (non-empty) command for that service.
    fn user_sets_command(&self, service: &str) -> bool {
        self.doc
            .get("services")
            .and_then(|s| s.get(service))
            .and_then(|s| s.get("command"))
            .is_some_and(|c| !matches!(&c.value, Value::Null) && c.as_str() != Some(""))
    }

    /// The project name, or a problem if there is none.
    fn name(&self) -> Result<String, Diagnostic> {
        match self.doc.get("name").and_then(Node::scalar_to_string) {
            Some(name) => Ok(name),
            None => Err(Diagnostic::new(
                "name",
                Span::GENERATED,
                "field 'name' required in top-level configuration",
            )),
        }
    }

    /// The name with `-` turned into `_`, lowercased (the Python package / Django project).
    fn snake_name(&self) -> Result<String, Diagnostic> {
        Ok(self.name()?.replace('-', "_").to_lowercase())
    }

    /// The Python minor version of the build base (bare only), as `3.X`.
    fn python_version(&self) -> Result<String, Diagnostic> {
        let Some(build_base) = self.doc.get("build-base") else {
            return Err(Diagnostic::new(
                "build-base",
                Span::GENERATED,
                "When \"base\" is \"bare\", a build-base must be specified.",
            ));
        };
        let text = build_base.scalar_to_string().unwrap_or_default();
        match text.replace(':', "@").as_str() {
            "ubuntu@22.04" => Ok("3.10".to_string()),
            "ubuntu@24.04" => Ok("3.12".to_string()),
            "debian@12" => Ok("3.11".to_string()),
            _ => Err(Diagnostic::new(
                "build-base",
                build_base.span,
                format!("Unable to determine the Python version for the build-base {text}"),
            )),
        }
    }
}

/// Looks up a part in a snippet, mutably.
fn part_mut<'n>(snippet: &'n mut Node, part: &str) -> Option<&'n mut Node> {
    snippet.get_mut("parts")?.get_mut(part)
}

/// Drops `services.<service>.command` from the snippet (the user's command is kept).
fn drop_command(snippet: &mut Node, service: &str) {
    if let Some(svc) = snippet.get_mut("services").and_then(|s| s.get_mut(service)) {
        svc.remove("command");
    }
}

/// A generated mapping from string pairs.
fn str_map(pairs: &[(String, String)]) -> Node {
    let mut map = Node::map();
    for (k, v) in pairs {
        map.insert(k, Node::str(v.clone()));
    }
    map
}

/// Files and directories at the top of the project, sorted, as Rockcraft lists them.
fn top_level_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// Never organized into the application: Rockcraft's list plus rcraft's work directory.
fn never_organized(name: &str) -> bool {
    matches!(name, "node_modules" | ".git" | ".yarn" | ".rcraft") || name.ends_with(".rock")
}

/// The application files of an install-app style part.
struct AppFiles {
    /// The prime (or stage) list: the user's, or the defaults that exist.
    list: Vec<String>,
    /// `organize` pairs (source → destination) and so `stage`.
    organize: Vec<(String, String)>,
}

/// Where an install-app style list lives and what it must look like.
struct ListSpec<'a> {
    /// The part, e.g. `flask-framework/install-app`.
    part: &'a str,
    /// The list key: `prime` (flask, fastapi) or `stage` (go's assets).
    key: &'a str,
    /// Where the application goes in the rock, e.g. `flask/app`.
    prefix: &'a str,
    /// What user entries must match (Rockcraft's regex).
    pattern: &'a str,
    /// How the message names the required start.
    shown: &'a str,
    /// Project files used by default, when they exist.
    defaults: &'a [&'a str],
}

/// Keeps `result`'s value, or records its problem (so checks go on and report everything).
fn collect<T>(result: Result<T, Diagnostic>, errors: &mut Vec<Diagnostic>) -> Option<T> {
    match result {
        Ok(v) if errors.is_empty() => Some(v),
        Ok(_) => None,
        Err(d) => {
            errors.push(d);
            None
        }
    }
}

/// Fills an `install-app` part's `organize` and `stage` (and `prime`, when asked) from the
/// app files found.
fn set_install_app(snippet: &mut Node, part: &str, files: AppFiles, prime: bool) {
    if let Some(part) = part_mut(snippet, part) {
        part.insert("organize", str_map(&files.organize));
        part.insert(
            "stage",
            Node::str_seq(files.organize.iter().map(|(_, d)| d.clone())),
        );
        if prime {
            part.insert("prime", Node::str_seq(files.list));
        }
    }
}

/// Rockcraft's prime-list logic for flask/fastapi (and the stage list of go's assets):
/// the user's list must start with the prefix; when it is empty the defaults that exist are used
/// (plus `extra`); a list in include mode defines `organize`, otherwise every top-level file is
/// organized under the prefix.
fn app_files(
    ctx: &Ctx<'_>,
    spec: &ListSpec<'_>,
    extra: Option<String>,
) -> Result<AppFiles, Diagnostic> {
    let user_node = ctx.user_part(spec.part).and_then(|p| p.get(spec.key));
    let user_items: Vec<&Node> = user_node
        .and_then(Node::as_seq)
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    let re = Regex::new(spec.pattern).map_err(|e| Diagnostic::new("", ctx.span, e.to_string()))?;
    if let Some(bad) = user_items
        .iter()
        .find(|n| !n.as_str().is_some_and(|s| re.is_match(s)))
    {
        return Err(Diagnostic::at(
            format!("parts.{}.{}", spec.part, spec.key),
            bad,
            format!(
                "{} extension requires the '{}' entry in the {} part to start with {}",
                ctx.profile.name, spec.key, spec.part, spec.shown
            ),
        ));
    }
    let mut list: Vec<String> = user_items
        .iter()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    if list.is_empty() {
        list = spec
            .defaults
            .iter()
            .filter(|f| ctx.dir.join(f).exists())
            .map(|f| join(spec.prefix, f))
            .collect();
        list.extend(extra);
    }
    let organize = if include_mode(&list) {
        list.iter()
            .filter(|f| !f.starts_with('-'))
            .map(|f| (relative_to(f.trim_start(), spec.prefix), f.clone()))
            .collect()
    } else {
        top_level_files(ctx.dir)
            .into_iter()
            .filter(|f| !never_organized(f))
            .map(|f| {
                let dest = join(spec.prefix, &f);
                (f, dest)
            })
            .collect()
    };
    Ok(AppFiles { list, organize })
}

/// A filter list whose first entry is not an exclusion (`-path`) lists what to take.
fn include_mode(list: &[String]) -> bool {
    list.first()
        .is_some_and(|f| !f.is_empty() && !f.starts_with('-'))
}

fn join(prefix: &str, file: &str) -> String {
    format!("{}/{file}", prefix.trim_end_matches('/'))
}

/// `flask/app/x` relative to `flask/app` is `x`; the prefix itself is `.`.
fn relative_to(path: &str, prefix: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    match path.strip_prefix(prefix) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let rest = rest.trim_start_matches('/');
            if rest.is_empty() { "." } else { rest }.to_string()
        }
        _ => path.to_string(),
    }
}

/// The gunicorn worker class: `gevent` when gevent is a dependency, else `sync`.
fn worker_class(dir: &Path) -> &'static str {
    let reqs = python::project_requirements(dir).unwrap_or_default();
    let gevent = reqs.iter().any(|r| {
        r.name == "gevent" || (r.name == "gunicorn" && r.extras.iter().any(|e| e == "gevent"))
    });
    if gevent { "gevent" } else { "sync" }
}

/// The profile data for the project's base, with `{python_version}` filled on bare bases.
fn python_snippet(ctx: &Ctx<'_>, errors: &mut Vec<Diagnostic>) -> Node {
    let mut snippet = ctx.profile.snippet_for(ctx.bare);
    if ctx.bare {
        match ctx.python_version() {
            Ok(v) => substitute(&mut snippet, &[("python_version", &v)]),
            Err(d) => errors.push(d),
        }
    }
    snippet
}

fn flask(ctx: &Ctx<'_>) -> Outcome {
    let mut errors = Vec::new();
    let has_requirements = ctx.dir.join("requirements.txt").exists();
    let has_pyproject = ctx.dir.join("pyproject.toml").exists();
    let reqs = match python::project_requirements(ctx.dir) {
        Ok(reqs) => reqs,
        Err(message) => {
            errors.push(ctx.problem(&message));
            Vec::new()
        }
    };
    if !has_requirements && !has_pyproject {
        errors.push(ctx.problem(
            "missing a requirements file (requirements.txt or pyproject.toml). The \
             flask-framework extension requires one of these files with 'flask' specified as a \
             dependency.",
        ));
    } else if errors.is_empty() && !reqs.iter().any(|r| r.name == "flask") {
        errors.push(ctx.problem("missing flask package dependency in requirements file."));
    }
    let snake = ctx.snake_name().unwrap_or_default();
    let user_command = ctx.user_sets_command("flask");
    let mut wsgi_path = None;
    if !user_command {
        let locations = python::entrypoint_locations(&snake);
        let found = python::find_in_files(
            ctx.dir,
            &locations,
            Wanted::Variable(&["app", "application"]),
        )
        .and_then(|found| match found {
            Some(f) => Ok(Some((f.0, f.1))),
            None => python::find_in_files(
                ctx.dir,
                &locations,
                Wanted::Factory(&["create_app", "make_app"]),
            )
            .map(|f| f.map(|(file, factory)| (file, format!("{factory}()")))),
        });
        match found {
            Ok(Some((file, object))) => {
                wsgi_path = Some(format!("{}:{object}", python::module_path(&file)))
            }
            Ok(None) => {
                errors.push(ctx.problem("Missing WSGI entrypoint in default search locations"))
            }
            Err(e) => errors.push(ctx.problem(format!("error parsing {}: {}", e.file, e.msg))),
        }
    }
    let mut snippet = python_snippet(ctx, &mut errors);
    let spec = ListSpec {
        part: "flask-framework/install-app",
        key: "prime",
        prefix: "flask/app",
        pattern: r"^-? *flask/app(/|$)",
        shown: "flask/app",
        defaults: &[
            "app",
            "app.py",
            "main.py",
            "src",
            "migrate",
            "migrate.sh",
            "migrate.py",
            "static",
            "templates",
        ],
    };
    let files = app_files(ctx, &spec, None);
    let Some(files) = collect(files, &mut errors) else {
        return Err(errors);
    };
    set_install_app(&mut snippet, "flask-framework/install-app", files, true);
    python_requirements(ctx, &mut snippet, "flask-framework/dependencies");
    match wsgi_path {
        Some(path) => substitute(
            &mut snippet,
            &[
                ("wsgi_path", &path),
                ("worker_class", worker_class(ctx.dir)),
            ],
        ),
        None => drop_command(&mut snippet, "flask"),
    }
    Ok(snippet)
}

/// `python-requirements: [requirements.txt]` only when the file exists.
fn python_requirements(ctx: &Ctx<'_>, snippet: &mut Node, part: &str) {
    if let Some(part) = part_mut(snippet, part) {
        let list: Vec<&str> = if ctx.dir.join("requirements.txt").exists() {
            vec!["requirements.txt"]
        } else {
            vec![]
        };
        part.insert("python-requirements", Node::str_seq(list));
    }
}

fn django(ctx: &Ctx<'_>) -> Outcome {
    let mut errors = Vec::new();
    if !ctx.dir.join("requirements.txt").exists() {
        errors.push(ctx.problem(
            "missing requirements.txt file, django-framework extension requires this file with \
             Django specified as a dependency",
        ));
    }
    let snake = match ctx.snake_name() {
        Ok(s) => s,
        Err(d) => {
            errors.push(d);
            return Err(errors);
        }
    };
    let mut wsgi_path = None;
    if !ctx.user_sets_command("django") {
        let candidates = [format!("{snake}/wsgi.py"), "mysite/wsgi.py".to_string()];
        let project = ctx.dir.join(&snake);
        match python::find_in_files(&project, &candidates, Wanted::Variable(&["application"])) {
            Ok(Some((file, _))) => {
                wsgi_path = Some(format!("{}:application", python::module_path(&file)))
            }
            Ok(None) => {
                let places: Vec<String> = candidates
                    .iter()
                    .map(|c| project.join(c).display().to_string())
                    .collect();
                errors.push(ctx.problem(format!(
                    "django application can not be imported, unable to locate a wsgi.py with an \
                     'application' callable in the default discovery locations ({}).",
                    places.join(", ")
                )));
            }
            Err(e) => errors.push(ctx.problem(format!("error parsing {}: {}", e.file, e.msg))),
        }
    }
    let mut snippet = python_snippet(ctx, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    if ctx.user_part("django-framework/install-app").is_some()
        && let Some(part) = part_mut(&mut snippet, "django-framework/install-app")
    {
        // The user's own install-app part only gets the ownership from the extension.
        let permissions = part.get("permissions").cloned();
        *part = Node::map();
        if let Some(p) = permissions {
            part.insert("permissions", p);
        }
    }
    python_requirements(ctx, &mut snippet, "django-framework/dependencies");
    substitute(&mut snippet, &[("snake_name", &snake)]);
    match wsgi_path {
        Some(path) => substitute(
            &mut snippet,
            &[
                ("wsgi_path", &path),
                ("worker_class", worker_class(ctx.dir)),
            ],
        ),
        None => drop_command(&mut snippet, "django"),
    }
    Ok(snippet)
}

fn fastapi(ctx: &Ctx<'_>) -> Outcome {
    let mut errors = Vec::new();
    match std::fs::read_to_string(ctx.dir.join("requirements.txt")) {
        Err(_) => errors.push(ctx.problem(
            "missing a requirements.txt file. The fastapi-framework extension requires this file \
             with 'fastapi'/'starlette' specified as a dependency.",
        )),
        Ok(text) => {
            let lower = text.to_lowercase();
            if !lower
                .lines()
                .any(|l| l.contains("fastapi") || l.contains("starlette"))
            {
                errors.push(ctx.problem(
                    "missing fastapi or starlette package dependency in requirements.txt file.",
                ));
            }
        }
    }
    let snake = ctx.snake_name().unwrap_or_default();
    let user_command = ctx.user_sets_command("fastapi");
    let mut asgi_file = None;
    if !user_command {
        let locations = python::entrypoint_locations(&snake);
        match python::find_in_files(ctx.dir, &locations, Wanted::Variable(&["app"])) {
            Ok(Some((file, _))) => asgi_file = Some(file),
            Ok(None) => errors.push(ctx.problem(
                "missing ASGI entrypoint\n  Cannot find 'app' global variable in the following \
                 places:\n  1. app.py.\n  2. In files __init__.py, and main.py in the 'app', \
                 'src', and root project directories.",
            )),
            Err(e) => errors.push(ctx.problem(format!(
                "Syntax error in python file in ASGI search path: {} ({})",
                e.msg, e.file
            ))),
        }
    }
    let mut snippet = python_snippet(ctx, &mut errors);
    let extra = asgi_file.as_ref().and_then(|f| {
        f.split('/')
            .find(|p| !p.is_empty() && *p != ".")
            .map(|top| format!("app/{top}"))
    });
    let spec = ListSpec {
        part: "fastapi-framework/install-app",
        key: "prime",
        prefix: "app",
        pattern: r"^-? *app/",
        shown: "app/",
        defaults: &["migrate", "migrate.sh", "migrate.py", "static", "templates"],
    };
    let files = app_files(ctx, &spec, extra);
    let Some(files) = collect(files, &mut errors) else {
        return Err(errors);
    };
    // As in Rockcraft, fastapi's install-app gets organize and stage but no prime list.
    set_install_app(&mut snippet, "fastapi-framework/install-app", files, false);
    match asgi_file {
        Some(file) => {
            let path = format!("{}:app", python::module_path(&file));
            substitute(&mut snippet, &[("asgi_path", &path)]);
        }
        None => drop_command(&mut snippet, "fastapi"),
    }
    Ok(snippet)
}

fn go(ctx: &Ctx<'_>) -> Outcome {
    let mut errors = Vec::new();
    if !ctx.dir.join("go.mod").exists() {
        errors.push(
            ctx.problem("missing go.mod file, it should be present in the project directory"),
        );
    }
    let has_go_source = walkdir::WalkDir::new(ctx.dir)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !never_organized(&e.file_name().to_string_lossy()))
        .filter_map(|e| e.ok())
        .any(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "go"));
    if !has_go_source {
        errors.push(ctx.problem(
            "No Go source files found. The go-framework extension requires at least one Go \
             source file (typically with a main package).",
        ));
    }
    let name = match ctx.name() {
        Ok(n) => n,
        Err(d) => {
            errors.push(d);
            return Err(errors);
        }
    };
    let spec = ListSpec {
        part: "go-framework/assets",
        key: "stage",
        prefix: "app",
        pattern: r"^-? *app/",
        shown: "app",
        defaults: &["migrate", "migrate.sh", "static", "templates"],
    };
    let assets = app_files(ctx, &spec, None);
    let assets = match assets {
        Ok(a) => Some(a),
        Err(d) => {
            errors.push(d);
            None
        }
    };
    let (Some(assets), true) = (assets, errors.is_empty()) else {
        return Err(errors);
    };
    let mut snippet = ctx.profile.snippet_for(ctx.bare);
    let user_install = ctx.user_part("go-framework/install-app");
    let user_targets: Vec<String> = user_install
        .and_then(|p| p.get("organize"))
        .and_then(Node::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(_, v)| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let binary = format!("usr/local/bin/{name}");
    let mut organize = Vec::new();
    if !user_targets.contains(&binary) && !ctx.user_sets_command("go") {
        organize.push((format!("bin/{name}"), binary));
    }
    let user_sets_cgo = user_install
        .and_then(|p| p.get("build-environment"))
        .and_then(Node::as_seq)
        .is_some_and(|envs| envs.iter().any(|e| e.get("CGO_ENABLED").is_some()));
    if let Some(part) = part_mut(&mut snippet, "go-framework/install-app") {
        let stage: Vec<String> = user_targets
            .into_iter()
            .chain(organize.iter().map(|(_, d)| d.clone()))
            .collect();
        part.insert("organize", str_map(&organize));
        part.insert("stage", Node::str_seq(stage));
        if user_sets_cgo {
            part.remove("build-environment");
        }
    }
    if include_mode(&assets.list)
        && let Some(parts) = snippet.get_mut("parts")
    {
        let mut part = Node::map();
        part.insert("plugin", Node::str("dump"));
        part.insert("source", Node::str("."));
        part.insert("organize", str_map(&assets.organize));
        part.insert("stage", Node::str_seq(assets.list));
        parts.insert("go-framework/assets", part);
    }
    substitute(&mut snippet, &[("name", &name)]);
    Ok(snippet)
}

fn expressjs(ctx: &Ctx<'_>) -> Outcome {
    let path = ctx.dir.join("app").join("package.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) => {
            return Err(vec![
                ctx.problem("missing package.json file in 'app' directory"),
            ]);
        }
    };
    let package: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) => {
            return Err(vec![ctx.problem(
                "failed to parse package.json; it might contain invalid JSON",
            )]);
        }
    };
    let Some(package) = package.as_object() else {
        return Err(vec![ctx.problem("invalid package.json file")]);
    };
    let mut errors = Vec::new();
    let has_start = package
        .get("scripts")
        .and_then(|s| s.as_object())
        .is_some_and(|s| s.contains_key("start"));
    if !has_start {
        errors.push(ctx.problem("missing 'scripts.start' field in package.json"));
    }
    let app_name = package.get("name").and_then(|n| n.as_str());
    if app_name.is_none() {
        errors.push(ctx.problem("missing 'name' field in package.json"));
    }
    let (Some(app_name), true) = (app_name, errors.is_empty()) else {
        return Err(errors);
    };
    let mut snippet = ctx.profile.snippet_for(ctx.bare);
    let user_install = ctx.user_part("expressjs-framework/install-app");
    let include_node = user_install
        .and_then(|p| p.get("npm-include-node"))
        .is_some_and(|v| matches!(v.value, Value::Bool(true)));
    if include_node {
        // Node.js comes with the npm plugin: no distribution nodejs/npm.
        if let Some(part) = part_mut(&mut snippet, "expressjs-framework/install-app") {
            part.remove("build-packages");
            remove_items(part, "stage-packages", &["nodejs"]);
            part.insert("npm-include-node", Node::new(Value::Bool(true)));
            let version = user_install
                .and_then(|p| p.get("npm-node-version"))
                .cloned()
                .unwrap_or_else(|| Node::new(Value::Null));
            part.insert("npm-node-version", version);
        }
        let runtime_empty = match part_mut(&mut snippet, "expressjs-framework/runtime") {
            Some(runtime) => {
                remove_items(runtime, "stage-packages", &["npm"]);
                runtime
                    .get("stage-packages")
                    .and_then(Node::as_seq)
                    .is_none_or(|s| s.is_empty())
            }
            None => false,
        };
        if runtime_empty && let Some(parts) = snippet.get_mut("parts") {
            parts.remove("expressjs-framework/runtime");
        }
    }
    if ctx.user_sets_command("expressjs") {
        drop_command(&mut snippet, "expressjs");
    }
    substitute(&mut snippet, &[("app_name", app_name)]);
    Ok(snippet)
}

/// Removes the given strings from the list under `key`.
fn remove_items(node: &mut Node, key: &str, items: &[&str]) {
    if let Some(Value::Seq(list)) = node.get_mut(key).map(|n| &mut n.value) {
        list.retain(|n| !n.as_str().is_some_and(|s| items.contains(&s)));
    }
}
