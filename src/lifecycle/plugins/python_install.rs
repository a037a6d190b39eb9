//! After and around `uv pip install --target`: moving what uv put beside the packages
//! (`bin/`, `include/`, `share/`) to where a `/usr/local` install has them, pointing
//! console-script shebangs at the image's interpreter, and turning uv's resolver errors into a
//! message that names the dependency and why it cannot be installed.

use std::fs;
use std::path::Path;

use crate::lifecycle::StepError;

/// Moves `<site>/bin/*` to `<install>/usr/local/bin/` (shebangs rewritten to `interpreter`),
/// `<site>/include/*` to `usr/local/include/python3.N/` and `<site>/share/*` to
/// `usr/local/share/`. A directory that is a Python package (has `__init__.py`) stays.
pub fn relocate(
    install: &Path,
    site: &Path,
    minor: u32,
    interpreter: &str,
) -> Result<(), StepError> {
    let moves = [
        ("bin", "usr/local/bin".to_string()),
        ("include", format!("usr/local/include/python3.{minor}")),
        ("share", "usr/local/share".to_string()),
    ];
    for (name, dest) in moves {
        let from = site.join(name);
        if !from.symlink_metadata().is_ok_and(|m| m.is_dir()) || from.join("__init__.py").exists() {
            continue;
        }
        let dest = install.join(dest);
        move_children(&from, &dest)?;
        fs::remove_dir(&from).map_err(|e| StepError::io("remove", &from, e))?;
        if name == "bin" {
            rewrite_shebangs(&dest, interpreter)?;
        }
    }
    Ok(())
}

/// Moves every entry of `from` into `to` (created), merging directories that exist.
fn move_children(from: &Path, to: &Path) -> Result<(), StepError> {
    fs::create_dir_all(to).map_err(|e| StepError::io("create directory", to, e))?;
    let entries = fs::read_dir(from).map_err(|e| StepError::io("read", from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StepError::io("read", from, e))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let src_is_dir = src.symlink_metadata().is_ok_and(|m| m.is_dir());
        if src_is_dir && dst.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            move_children(&src, &dst)?;
            fs::remove_dir(&src).map_err(|e| StepError::io("remove", &src, e))?;
        } else {
            fs::rename(&src, &dst).map_err(|e| StepError::io("move", &src, e))?;
        }
    }
    Ok(())
}

/// Points the `#!` line of every Python script in `dir` at `interpreter`.
fn rewrite_shebangs(dir: &Path, interpreter: &str) -> Result<(), StepError> {
    let entries = fs::read_dir(dir).map_err(|e| StepError::io("read", dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| StepError::io("read", dir, e))?.path();
        if !path.symlink_metadata().is_ok_and(|m| m.is_file()) {
            continue;
        }
        let text = fs::read(&path).map_err(|e| StepError::io("read", &path, e))?;
        if let Some(new) = with_shebang(&text, interpreter) {
            // Rewrite in place: the file keeps its mode.
            fs::write(&path, new).map_err(|e| StepError::io("write", &path, e))?;
        }
    }
    Ok(())
}

/// `script` with its Python `#!` line (or the `/bin/sh` + `'''exec'` trick installers use for
/// long interpreter paths) replaced by `#!<interpreter>`; `None` if it is not a Python script.
pub fn with_shebang(script: &[u8], interpreter: &str) -> Option<Vec<u8>> {
    if !script.starts_with(b"#!") {
        return None;
    }
    let mut lines = script.split_inclusive(|&b| b == b'\n');
    let first = lines.next()?;
    let rest_start;
    if first.windows(6).any(|w| w == b"python") {
        rest_start = first.len();
    } else if first.starts_with(b"#!/bin/sh") {
        let second = lines.next()?;
        let third = lines.next()?;
        if !second.starts_with(b"'''exec'") || !third.starts_with(b"' '''") {
            return None;
        }
        rest_start = first.len() + second.len() + third.len();
    } else {
        return None;
    }
    let mut out = format!("#!{interpreter}\n").into_bytes();
    out.extend_from_slice(&script[rest_start..]);
    Some(out)
}

/// Explains uv's failure from its stderr: the dependency and the reason where uv says them,
/// then uv's own `error:`/`cause:`/`hint:` text.
/// `found_in` says where the image's Python was found.
pub fn explain_uv_failure(
    stderr: &str,
    python_version: &str,
    platform: &str,
    found_in: &str,
) -> String {
    let what = format!("CPython {python_version} on {platform}");
    let summary = if let Some(pkg) = between(stderr, "Wheels are required for `", "`")
        .or_else(|| between(stderr, "all versions of ", " have no usable wheels"))
    {
        format!(
            "`{pkg}` has no wheel for {what}, and rcraft installs wheels only (it does not \
             build from source)"
        )
    } else if let Some(pkg) = package_before(stderr, " has no wheels with a matching") {
        format!("`{pkg}` has no wheel for {what} (rcraft installs wheels only)")
    } else if let Some(pkg) = package_before(stderr, " was not found in the package registry") {
        format!("`{pkg}` does not exist in the package index")
    } else if let Some(pkg) = between(stderr, "there is no version of ", " and") {
        format!("no version of `{pkg}` matches")
    } else if stderr.contains("Couldn't parse requirement") || stderr.contains("Failed to parse") {
        "a requirement cannot be parsed".to_string()
    } else {
        format!("uv could not install them for {what}")
    };
    let details: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("error:"))
        .filter(|l| !l.trim().is_empty())
        .collect();
    let details = if details.is_empty() {
        stderr
            .lines()
            .rev()
            .take(10)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    } else {
        details
    };
    let mut msg = format!(
        "cannot install the Python dependencies for the image's Python {python_version} \
         (from {found_in}): {summary}"
    );
    if !details.is_empty() {
        msg.push_str("; uv says:");
        for line in details {
            msg.push_str("\n    ");
            msg.push_str(line);
        }
    }
    msg
}

/// The text between the first `start` and the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len]).filter(|s| !s.is_empty() && !s.contains('\n'))
}

/// The package name (without a version specifier) in the word before the first `marker`.
fn package_before<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let at = text.find(marker)?;
    let word = text[..at].rsplit([' ', '\n']).next()?;
    let end = word
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(word.len());
    Some(&word[..end]).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs_point_at_the_image_python() {
        let script = b"#!/root/.pyenv/versions/3.11.7/bin/python3\nimport sys\n";
        assert_eq!(
            with_shebang(script, "/usr/bin/python3.11").unwrap(),
            b"#!/usr/bin/python3.11\nimport sys\n"
        );
        let long = b"#!/bin/sh\n'''exec' '/very/long/python' \"$0\" \"$@\"\n' '''\nimport x\n";
        assert_eq!(
            with_shebang(long, "/usr/bin/python3").unwrap(),
            b"#!/usr/bin/python3\nimport x\n"
        );
        assert_eq!(with_shebang(b"#!/bin/sh\necho hi\n", "/p"), None);
        assert_eq!(with_shebang(b"\x7fELF", "/p"), None);
    }

    #[test]
    fn uv_errors_name_the_dependency_and_the_reason() {
        let no_wheel = "Using CPython 3.11.2 interpreter at: /usr/bin/python3\n\
            error: No solution found when resolving dependencies\n  \
            cause: Because all versions of pycrypto have no usable wheels and you require \
            pycrypto, we can conclude that your requirements are unsatisfiable.\n\n\
            hint: Wheels are required for `pycrypto` because building from source is disabled";
        let msg = explain_uv_failure(no_wheel, "3.11", "x86_64-manylinux_2_36", "the base");
        assert!(msg.contains("`pycrypto` has no wheel for CPython 3.11 on x86_64-manylinux_2_36"));
        assert!(msg.contains("\n    hint: Wheels are required"), "{msg}");
        assert!(!msg.contains("Using CPython"), "{msg}");

        let platform = "error: No solution found\n  cause: Because pywin32>=303 has no wheels \
            with a matching platform tag (e.g., `manylinux_2_36_x86_64`)";
        let msg = explain_uv_failure(platform, "3.11", "x86_64-manylinux_2_36", "the base");
        assert!(msg.contains("`pywin32` has no wheel"), "{msg}");

        let missing = "error: No solution found\n  cause: Because no-such-pkg was not found in \
            the package registry and you require no-such-pkg";
        let msg = explain_uv_failure(missing, "3.11", "x86_64-manylinux_2_36", "the base");
        assert!(msg.contains("`no-such-pkg` does not exist"), "{msg}");

        let parse = "error: Couldn't parse requirement in `requirements.txt` at position 0\n  \
            cause: Unexpected end of version specifier, expected version\n         flask===";
        let msg = explain_uv_failure(parse, "3.11", "x86_64-manylinux_2_36", "the base");
        assert!(msg.contains("a requirement cannot be parsed"), "{msg}");
        assert!(msg.contains("flask==="), "{msg}");
    }
}
