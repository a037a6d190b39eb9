//! What the Python framework profiles need to know about a Python project, without Python.
//!
//! * Dependencies: the distribution names listed in `requirements.txt` (PEP 508 lines; option
//!   lines such as `-r x.txt`, URLs and comments ignored) and in `pyproject.toml`'s
//!   `[project].dependencies`. Names are normalised as PEP 503 does (lowercase, runs of `-_.` →
//!   `-`), so `Flask`, `flask` and `FLASK` are the same dependency. The TOML side is a small scan,
//!   not a TOML parser: it reads the `dependencies` array of the `[project]` table (or a top-level
//!   `project.dependencies` key), with basic/literal strings, comments and multi-line arrays.
//! * Module scan: the names a module binds at top level (`x = ...`, `from m import x [as y]`)
//!   and the functions it defines (`def f(`), which is what Rockcraft learns from Python's `ast`
//!   to find WSGI/ASGI entrypoints. Strings, comments, brackets and continuation lines are
//!   tokenised; unterminated strings and unbalanced brackets are syntax errors, worded like
//!   Python's.
//! * Entrypoint search: the first candidate file that binds one of the wanted names, turned into
//!   a dotted module path (`src/__init__.py` → `src`, `app/main.py` → `app.main`).

use std::path::Path;

/// A Python source file that cannot be tokenised.
#[derive(Clone, Debug, PartialEq)]
pub struct PySyntaxError {
    /// Python-style message, e.g. `unterminated string literal (detected at line 3)`.
    pub msg: String,
    /// The file's name (no directory), as Rockcraft shows it.
    pub file: String,
}

/// A project dependency as far as the profiles care.
#[derive(Clone, Debug, PartialEq)]
pub struct Requirement {
    /// Normalised distribution name.
    pub name: String,
    /// Normalised extras (`gunicorn[gevent]` → `gevent`).
    pub extras: Vec<String>,
}

/// PEP 503 normalisation: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalise_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.extend(c.to_lowercase());
            in_sep = false;
        }
    }
    out
}

/// Parses one PEP 508 requirement string; `None` for anything that is not one.
pub fn parse_requirement(line: &str) -> Option<Requirement> {
    let line = match line.find(" #").or_else(|| line.find("\t#")) {
        Some(i) => &line[..i],
        None => line,
    };
    let line = line.trim();
    let name_len = line
        .char_indices()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .count();
    let name = &line[..name_len];
    let starts_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let ends_ok = name
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !starts_ok || !ends_ok {
        return None;
    }
    let rest = line[name_len..].trim_start();
    if !(rest.is_empty() || rest.starts_with(['[', '(', '<', '>', '=', '!', '~', ';', '@'])) {
        return None;
    }
    let mut extras = Vec::new();
    if let Some(inner) = rest.strip_prefix('[') {
        let close = inner.find(']')?;
        extras = inner[..close]
            .split(',')
            .map(|e| normalise_name(e.trim()))
            .filter(|e| !e.is_empty())
            .collect();
    }
    Some(Requirement {
        name: normalise_name(name),
        extras,
    })
}

/// The requirements listed in `requirements.txt` text.
pub fn requirements_txt(text: &str) -> Vec<Requirement> {
    text.lines().filter_map(parse_requirement).collect()
}

/// The requirements in `pyproject.toml`'s `[project].dependencies`, or why the file is not
/// valid TOML.
pub fn pyproject_dependencies(text: &str) -> Result<Vec<Requirement>, String> {
    #[derive(serde::Deserialize)]
    struct Doc {
        project: Option<ProjectTable>,
    }
    #[derive(serde::Deserialize)]
    struct ProjectTable {
        #[serde(default)]
        dependencies: Vec<String>,
    }
    let doc: Doc = toml::from_str(text)
        .map_err(|e| format!("cannot parse pyproject.toml: {}", e.message()))?;
    Ok(doc
        .project
        .map(|p| p.dependencies)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| parse_requirement(s))
        .collect())
}

/// The dependencies of the project in `dir`: `requirements.txt` and `pyproject.toml` together.
/// Missing or unreadable files contribute nothing; a `pyproject.toml` that is not TOML is an
/// error.
pub fn project_requirements(dir: &Path) -> Result<Vec<Requirement>, String> {
    let mut reqs = Vec::new();
    if let Ok(text) = std::fs::read_to_string(dir.join("requirements.txt")) {
        reqs.extend(requirements_txt(&text));
    }
    if let Ok(text) = std::fs::read_to_string(dir.join("pyproject.toml")) {
        reqs.extend(pyproject_dependencies(&text)?);
    }
    Ok(reqs)
}

/// What a module defines at top level.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopLevel {
    /// Names bound by plain assignment (`a = b = ...`) or `from m import x [as y]`.
    pub names: Vec<String>,
    /// Names of functions defined with `def` (not `async def`, like Rockcraft).
    pub functions: Vec<String>,
}

/// Scans Python source for its top-level bindings.
pub fn scan_module(src: &str) -> Result<TopLevel, String> {
    let mut top = TopLevel::default();
    for (indented, text) in logical_lines(src)? {
        if indented {
            continue;
        }
        for stmt in split_top_level(&text, ';') {
            scan_statement(stmt.trim(), &mut top);
        }
    }
    Ok(top)
}

/// Splits source into logical lines (joined continuation lines, strings collapsed to `""`,
/// comments dropped), each flagged as indented or not.
fn logical_lines(src: &str) -> Result<Vec<(bool, String)>, String> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    let mut indented: Option<bool> = None;
    let mut brackets: Vec<(char, usize)> = Vec::new();
    let mut line = 1usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if indented.is_none() {
            if c == ' ' || c == '\t' || c == '\x0c' {
                // Leading whitespace: only blank lines may be all whitespace.
                let mut j = i;
                while j < chars.len() && matches!(chars[j], ' ' | '\t' | '\x0c') {
                    j += 1;
                }
                if j < chars.len() && !matches!(chars[j], '\n' | '\r' | '#') {
                    indented = Some(true);
                }
                i = j;
                continue;
            }
            if !matches!(c, '\n' | '\r' | '#') {
                indented = Some(false);
            }
        }
        match c {
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '\\' if matches!(chars.get(i + 1), Some('\n')) => {
                current.push(' ');
                line += 1;
                i += 2;
                continue;
            }
            '\\' if chars.get(i + 1) == Some(&'\r') && chars.get(i + 2) == Some(&'\n') => {
                current.push(' ');
                line += 1;
                i += 3;
                continue;
            }
            '\n' => {
                line += 1;
                if brackets.is_empty() {
                    if let Some(ind) = indented.take() {
                        out.push((ind, std::mem::take(&mut current)));
                    }
                } else {
                    current.push(' ');
                }
            }
            '\r' => {}
            '"' | '\'' => {
                let triple = chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c);
                let start_line = line;
                i += if triple { 3 } else { 1 };
                let mut closed = false;
                while i < chars.len() {
                    let d = chars[i];
                    if d == '\\' {
                        if chars.get(i + 1) == Some(&'\n') {
                            line += 1;
                        }
                        i += 2;
                        continue;
                    }
                    if d == '\n' {
                        if !triple {
                            return Err(format!(
                                "unterminated string literal (detected at line {start_line})"
                            ));
                        }
                        line += 1;
                    }
                    if d == c
                        && (!triple
                            || (chars.get(i + 1) == Some(&c) && chars.get(i + 2) == Some(&c)))
                    {
                        i += if triple { 3 } else { 1 };
                        closed = true;
                        break;
                    }
                    i += 1;
                }
                if !closed {
                    return Err(if triple {
                        format!(
                            "unterminated triple-quoted string literal (detected at line {line})"
                        )
                    } else {
                        format!("unterminated string literal (detected at line {start_line})")
                    });
                }
                current.push_str("\"\"");
                continue;
            }
            '(' | '[' | '{' => {
                brackets.push((c, line));
                current.push(c);
            }
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                match brackets.pop() {
                    None => return Err(format!("unmatched '{c}'")),
                    Some((o, _)) if o != open => {
                        return Err(format!(
                            "closing parenthesis '{c}' does not match opening parenthesis '{o}'"
                        ));
                    }
                    Some(_) => current.push(c),
                }
            }
            _ => current.push(c),
        }
        i += 1;
    }
    if let Some((open, _)) = brackets.last() {
        return Err(format!("'{open}' was never closed"));
    }
    if let Some(ind) = indented {
        out.push((ind, current));
    }
    Ok(out)
}

/// Splits on `sep` outside brackets (strings are already collapsed).
fn split_top_level(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

const COMPOUND_KEYWORDS: &[&str] = &[
    "if", "elif", "else", "for", "while", "with", "try", "except", "finally", "class", "async",
    "match", "case", "return", "del", "global", "nonlocal", "assert", "raise", "import", "lambda",
];

fn scan_statement(stmt: &str, top: &mut TopLevel) {
    let first_word: String = stmt
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if first_word == "from" {
        if let Some((_, names)) = stmt.split_once(" import ") {
            let names = names.trim().trim_start_matches('(').trim_end_matches(')');
            for item in names.split(',') {
                let words: Vec<&str> = item.split_whitespace().collect();
                let bound = match words.as_slice() {
                    [name] => *name,
                    [_, "as", alias] => *alias,
                    _ => continue,
                };
                if is_identifier(bound) {
                    top.names.push(bound.to_string());
                }
            }
        }
        return;
    }
    if first_word == "def" {
        let name: String = stmt[3..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if is_identifier(&name) {
            top.functions.push(name);
        }
        return;
    }
    if stmt.starts_with('@') || COMPOUND_KEYWORDS.contains(&first_word.as_str()) {
        return;
    }
    let segments = split_assignment(stmt);
    if segments.len() < 2 {
        return;
    }
    for target in &segments[..segments.len() - 1] {
        let target = target.trim();
        if is_identifier(target) {
            top.names.push(target.to_string());
        }
    }
}

/// Splits a statement on plain `=` (not `==`, `!=`, `<=`, `>=`, `:=`, `+=`, ...) outside brackets.
fn split_assignment(stmt: &str) -> Vec<&str> {
    let bytes = stmt.as_bytes();
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'=' if depth == 0 => {
                let prev = if i > 0 { bytes[i - 1] } else { b' ' };
                let next = bytes.get(i + 1).copied().unwrap_or(b' ');
                let compound = b"=!<>:+-*/%&|^@".contains(&prev);
                if !compound && next != b'=' {
                    parts.push(&stmt[start..i]);
                    start = i + 1;
                }
            }
            _ => {}
        }
    }
    parts.push(&stmt[start..]);
    parts
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
        && !matches!(s, "None" | "True" | "False")
}

/// `src/__init__.py` → `src`, `app/main.py` → `app.main`, `app.py` → `app`.
pub fn module_path(rel: &str) -> String {
    rel.split('/')
        .filter(|p| *p != "__init__.py" && *p != "." && !p.is_empty())
        .map(|p| p.strip_suffix(".py").unwrap_or(p))
        .collect::<Vec<_>>()
        .join(".")
}

/// What to look for in candidate files.
#[derive(Clone, Copy, Debug)]
pub enum Wanted<'a> {
    /// A top-level name bound to one of these (first listed name wins within a file).
    Variable(&'a [&'a str]),
    /// A top-level `def` of one of these.
    Factory(&'a [&'a str]),
}

/// The first of `candidates` (relative to `dir`, `/`-separated) that exists and binds a wanted
/// name: `(relative path, name)`. A file that cannot be scanned stops the search.
pub fn find_in_files(
    dir: &Path,
    candidates: &[String],
    wanted: Wanted<'_>,
) -> Result<Option<(String, String)>, PySyntaxError> {
    for rel in candidates {
        let path = dir.join(rel);
        if !path.is_file() {
            continue;
        }
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let src = match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                return Err(PySyntaxError {
                    msg: format!("cannot read the file: {e}"),
                    file,
                });
            }
        };
        let top = scan_module(&src).map_err(|msg| PySyntaxError {
            msg,
            file: file.clone(),
        })?;
        let (names, pool) = match wanted {
            Wanted::Variable(names) => (names, &top.names),
            Wanted::Factory(names) => (names, &top.functions),
        };
        if let Some(found) = names.iter().find(|n| pool.iter().any(|p| p == *n)) {
            return Ok(Some((rel.clone(), found.to_string())));
        }
    }
    Ok(None)
}

/// Rockcraft's search locations for a WSGI/ASGI module: `app.py`, `main.py`, then
/// `{app,src,<snake_name>}/{__init__,app,main}.py`.
pub fn entrypoint_locations(snake_name: &str) -> Vec<String> {
    let mut out = vec!["app.py".to_string(), "main.py".to_string()];
    for dir in ["app", "src", snake_name] {
        for file in ["__init__.py", "app.py", "main.py"] {
            out.push(format!("{dir}/{file}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(reqs: &[Requirement]) -> Vec<&str> {
        reqs.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn requirements_are_pep508_names_normalised() {
        let text = "# web\nFlask==3.0\n-r other.txt\ngunicorn[gevent, setproctitle]>=22\n\
                    Zope.Interface ; python_version > '3'\nmy_pkg @ https://x/y.whl\n\
                    git+https://github.com/a/b#egg=c\nrequests  # http\n\n";
        let reqs = requirements_txt(text);
        assert_eq!(
            names(&reqs),
            ["flask", "gunicorn", "zope-interface", "my-pkg", "requests"]
        );
        assert_eq!(reqs[1].extras, ["gevent", "setproctitle"]);
    }

    #[test]
    fn pyproject_dependencies_are_read_from_the_project_table() {
        let text = r#"
[build-system]
requires = ["setuptools", "flask-not-this"]

[project]
name = "demo"
dependencies = [
    "Flask>=3",  # the web framework
    'gevent',
    "a-b[c]",
]
[tool.x]
dependencies = ["nope"]
"#;
        let deps = |text| pyproject_dependencies(text).expect("valid TOML");
        assert_eq!(names(&deps(text)), ["flask", "gevent", "a-b"]);
        assert!(deps("[project]\nname='x'\n").is_empty());
        assert_eq!(
            names(&deps("project.dependencies = [\"flask\"]\n")),
            ["flask"]
        );
        let err = pyproject_dependencies("[project\n").unwrap_err();
        assert!(err.starts_with("cannot parse pyproject.toml: "), "{err}");
    }

    #[test]
    fn scan_finds_top_level_bindings_only() {
        let src = "import os\nfrom flask import Flask\nfrom .x import (a,\n  b as app2)\n\
                   \"\"\"doc = 1\n app = 2\"\"\"\napp = Flask(__name__)\n\
                   x = y = 3\nif True:\n    hidden = 1\nz == 4\nw: int = 5\n\
                   @dec\ndef create_app(cfg=None):\n    inner = 1\nasync def make_app(): pass\n\
                   d = dict(k=1)\nq += 1\n";
        let top = scan_module(src).unwrap();
        assert_eq!(top.names, ["Flask", "a", "app2", "app", "x", "y", "d"]);
        assert_eq!(top.functions, ["create_app"]);
    }

    #[test]
    fn scan_reports_python_like_syntax_errors() {
        assert_eq!(
            scan_module("a = 1\nb = 'oops\n").unwrap_err(),
            "unterminated string literal (detected at line 2)"
        );
        assert_eq!(
            scan_module("a = (1,\n").unwrap_err(),
            "'(' was never closed"
        );
        assert!(scan_module("s = \"\"\"open\n").is_err());
        assert!(scan_module("a = [1)\n").is_err());
    }

    #[test]
    fn module_paths_drop_init_and_suffix() {
        assert_eq!(module_path("app.py"), "app");
        assert_eq!(module_path("src/__init__.py"), "src");
        assert_eq!(module_path("app/main.py"), "app.main");
    }

    #[test]
    fn normalise_collapses_separators() {
        assert_eq!(normalise_name("Foo__Bar.-baz"), "foo-bar-baz");
    }
}
