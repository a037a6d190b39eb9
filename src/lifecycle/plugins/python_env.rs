//! [`TargetPython`]: which Python the image will run the part's packages with, and the wheel
//! platform (`x86_64-manylinux_2_36`, ...) for its glibc: never the host's.
//!
//! The interpreter is `PARTS_PYTHON_INTERPRETER` from the part's `build-environment` when it
//! names a version (`python3.12`, as the framework profiles set on bare), else the first of the
//! part's install dir (its own stage-packages), the stage dir (earlier parts') and the base's
//! root filesystem that has `usr/bin/python3.N` (where `usr/bin/python3` points, else the
//! highest N). glibc's version comes from `libc.so.6` in the same places (its "release version"
//! banner, else its highest `GLIBC_2.N` symbol version).

use std::fs;
use std::path::{Path, PathBuf};

use super::BuildContext;
use crate::lifecycle::StepError;
use crate::lifecycle::scripts::arch_triplet;

/// The highest manylinux minor version uv (0.13) accepts in `--python-platform`.
const MAX_MANYLINUX: u32 = 40;

/// The glibc minor version assumed when no `libc.so.6` is found (the oldest manylinux uv
/// knows, so the wheels run on any glibc).
const FALLBACK_GLIBC: u32 = 17;

/// The image's Python, as the install needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetPython {
    /// The minor version: 11 for Python 3.11.
    pub minor: u32,
    /// The interpreter's absolute path in the image, for console-script shebangs.
    pub interpreter: String,
    /// uv's `--python-platform`, e.g. `x86_64-manylinux_2_36`.
    pub platform: String,
    /// Where the version was found, for messages.
    pub found_in: String,
}

impl TargetPython {
    /// `3.11`.
    pub fn version(&self) -> String {
        format!("3.{}", self.minor)
    }

    /// `usr/local/lib/python3.11/dist-packages`: where Debian's and Ubuntu's Python look for
    /// packages not installed by dpkg (`site-packages` is not on their path).
    pub fn site_dir(&self) -> String {
        format!("usr/local/lib/python3.{}/dist-packages", self.minor)
    }

    /// Finds the image's Python for the part in `ctx`.
    pub fn detect(ctx: &BuildContext<'_>) -> Result<TargetPython, StepError> {
        let roots = search_roots(ctx);
        let explicit = ctx
            .part
            .build_environment
            .iter()
            .rev()
            .find(|(k, _)| k == "PARTS_PYTHON_INTERPRETER")
            .and_then(|(_, v)| interpreter_minor(v).map(|m| (m, v.clone())));
        let (minor, interpreter, found_in) = match explicit {
            Some((minor, value)) => {
                let path = if value.starts_with('/') {
                    value
                } else {
                    format!("/usr/bin/python3.{minor}")
                };
                (
                    minor,
                    path,
                    "PARTS_PYTHON_INTERPRETER in build-environment".to_string(),
                )
            }
            None => roots
                .iter()
                .find_map(|(label, root)| {
                    python_minor(root).map(|m| (m, format!("/usr/bin/python3.{m}"), label.clone()))
                })
                .ok_or_else(|| StepError::Plugin {
                    plugin: "python",
                    message: format!(
                        "cannot tell which Python the image has: no usr/bin/python3.N in {}; \
                         stage `python3` (stage-packages), use a base with Python, or set \
                         PARTS_PYTHON_INTERPRETER (e.g. python3.12) in build-environment",
                        roots
                            .iter()
                            .map(|(l, _)| l.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?,
        };
        let triplet = arch_triplet(ctx.build_for);
        let glibc = roots
            .iter()
            .find_map(|(_, root)| glibc_minor(root, &triplet))
            .unwrap_or(FALLBACK_GLIBC);
        let platform = wheel_platform(ctx.build_for, glibc)?;
        Ok(TargetPython {
            minor,
            interpreter,
            platform,
            found_in,
        })
    }
}

/// The places the image's files are, labelled for messages, in search order.
fn search_roots(ctx: &BuildContext<'_>) -> Vec<(String, PathBuf)> {
    let mut roots = vec![
        ("the part's install dir".to_string(), ctx.install_dir.into()),
        ("the stage dir".to_string(), ctx.stage_dir.into()),
    ];
    if let Some(base) = ctx.base_rootfs {
        roots.push(("the base image".to_string(), base.into()));
    }
    roots
}

/// N from `python3.N` or a path ending in it.
fn interpreter_minor(value: &str) -> Option<u32> {
    let name = value.rsplit('/').next()?;
    name.strip_prefix("python3.")?.parse().ok()
}

/// The Python 3 minor version installed under `root`, if any.
fn python_minor(root: &Path) -> Option<u32> {
    for dir in ["usr/bin", "bin"] {
        let dir = root.join(dir);
        if !dir.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let present = |m: u32| dir.join(format!("python3.{m}")).symlink_metadata().is_ok();
        if let Some(m) = fs::read_link(dir.join("python3"))
            .ok()
            .and_then(|t| interpreter_minor(&t.to_string_lossy()))
            .filter(|&m| present(m))
        {
            return Some(m);
        }
        let highest = fs::read_dir(&dir)
            .ok()?
            .flatten()
            .filter_map(|e| interpreter_minor(&e.file_name().to_string_lossy()))
            .max();
        if highest.is_some() {
            return highest;
        }
    }
    None
}

/// glibc's minor version from `libc.so.6` under `root`, if there is one.
fn glibc_minor(root: &Path, triplet: &str) -> Option<u32> {
    [
        format!("usr/lib/{triplet}/libc.so.6"),
        format!("lib/{triplet}/libc.so.6"),
    ]
    .iter()
    .map(|rel| root.join(rel))
    .find(|p| p.symlink_metadata().is_ok_and(|m| m.is_file()))
    .and_then(|p| fs::read(p).ok())
    .and_then(|bytes| glibc_minor_in(&bytes))
}

/// The minor version in libc's banner ("release version 2.36"), else its highest `GLIBC_2.N`.
pub fn glibc_minor_in(bytes: &[u8]) -> Option<u32> {
    let number_after = |at: usize| -> Option<u32> {
        let digits: Vec<u8> = bytes[at..]
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_digit())
            .copied()
            .collect();
        std::str::from_utf8(&digits).ok()?.parse().ok()
    };
    let find_all = |needle: &[u8]| -> Vec<usize> {
        bytes
            .windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle)
            .map(|(i, _)| i + needle.len())
            .collect()
    };
    if let Some(m) = find_all(b"release version 2.")
        .into_iter()
        .find_map(number_after)
    {
        return Some(m);
    }
    find_all(b"GLIBC_2.")
        .into_iter()
        .filter_map(number_after)
        .max()
}

/// uv's `--python-platform` for a Debian architecture and glibc 2.`glibc`.
pub fn wheel_platform(build_for: &str, glibc: u32) -> Result<String, StepError> {
    let arch = match build_for {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        other => {
            return Err(StepError::Plugin {
                plugin: "python",
                message: format!(
                    "cannot install wheels for '{other}': rcraft knows the manylinux platforms \
                     of amd64 and arm64 only"
                ),
            });
        }
    };
    let minor = match glibc.min(MAX_MANYLINUX) {
        m if m >= 31 => m,
        m if m >= 28 => 28,
        _ => 17,
    };
    Ok(format!("{arch}-manylinux_2_{minor}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_follows_glibc_within_what_uv_knows() {
        assert_eq!(
            wheel_platform("amd64", 36).unwrap(),
            "x86_64-manylinux_2_36"
        );
        assert_eq!(
            wheel_platform("arm64", 39).unwrap(),
            "aarch64-manylinux_2_39"
        );
        assert_eq!(
            wheel_platform("amd64", 42).unwrap(),
            "x86_64-manylinux_2_40"
        );
        assert_eq!(
            wheel_platform("amd64", 30).unwrap(),
            "x86_64-manylinux_2_28"
        );
        assert_eq!(
            wheel_platform("amd64", 24).unwrap(),
            "x86_64-manylinux_2_17"
        );
        assert!(wheel_platform("s390x", 36).is_err());
    }

    #[test]
    fn glibc_version_from_banner_or_symbol_versions() {
        let banner = b"\0GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.\0";
        assert_eq!(glibc_minor_in(banner), Some(36));
        assert_eq!(
            glibc_minor_in(b"GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.9\0"),
            Some(34)
        );
        assert_eq!(glibc_minor_in(b"nothing here"), None);
    }

    #[test]
    fn python_version_from_the_python3_link_or_the_highest() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("usr/bin");
        fs::create_dir_all(&bin).unwrap();
        assert_eq!(python_minor(dir.path()), None);
        fs::write(bin.join("python3.11"), "").unwrap();
        fs::write(bin.join("python3.12"), "").unwrap();
        fs::write(bin.join("python3.12-config"), "").unwrap();
        assert_eq!(python_minor(dir.path()), Some(12));
        std::os::unix::fs::symlink("python3.11", bin.join("python3")).unwrap();
        assert_eq!(python_minor(dir.path()), Some(11));
        assert_eq!(interpreter_minor("/usr/bin/python3.13"), Some(13));
        assert_eq!(interpreter_minor("python3"), None);
    }
}
