//! [`Mirror`]: where a distribution's packages are downloaded from, and [`Distro`]: which
//! suites, components and keyring a build base uses.
//!
//! No archive host is built in: a mirror is given explicitly ([`Mirror::from_url`]) or taken
//! from the machine's own apt configuration ([`Mirror::from_host_config`]): the `deb` entries
//! of `sources.list`, `sources.list.d/*.list` (one-line format) and
//! `sources.list.d/*.sources` (deb822), the first one listing the wanted suite.

use std::path::{Path, PathBuf};

use super::control;
use super::error::{DebsError, io};
use crate::project::Base;

/// The default apt configuration directory.
pub const APT_CONFIG_DIR: &str = "/etc/apt";
/// The default keyring directory.
pub const KEYRING_DIR: &str = "/usr/share/keyrings";

/// Archive URLs for one distribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirror {
    /// The archive (holds `dists/<suite>` and `pool/`), without a trailing `/`.
    pub archive: String,
    /// The archive of the `-security` suite, when it is not `archive` (Debian's is separate).
    /// `None`: the security suite is looked up in `archive`.
    pub security: Option<String>,
}

impl Mirror {
    /// A mirror at `url` (`http`, `https` or `file`), which also serves the security suite.
    pub fn from_url(url: &str) -> Result<Mirror, DebsError> {
        Ok(Mirror {
            archive: check_url(url)?,
            security: None,
        })
    }

    /// The same mirror with the security suite at `url`.
    pub fn with_security(self, url: &str) -> Result<Mirror, DebsError> {
        Ok(Mirror {
            security: Some(check_url(url)?),
            ..self
        })
    }

    /// The mirror the machine's apt uses for `suite` (e.g. `bookworm`), with the security
    /// archive of `<suite>-security` if apt lists one.
    pub fn from_host_config(suite: &str) -> Result<Mirror, DebsError> {
        Mirror::from_apt_config(Path::new(APT_CONFIG_DIR), suite)
    }

    /// [`Mirror::from_host_config`] reading the apt configuration in `dir`.
    pub fn from_apt_config(dir: &Path, suite: &str) -> Result<Mirror, DebsError> {
        let sources = read_sources(dir)?;
        let find = |s: &str| {
            sources
                .iter()
                .find(|(_, suites)| suites.iter().any(|x| x == s))
                .map(|(uri, _)| uri.clone())
        };
        let archive = find(suite).ok_or_else(|| DebsError::NoMirror {
            suite: suite.to_string(),
            config: dir.to_path_buf(),
            hint: "RCRAFT_ARCHIVE_MIRROR",
        })?;
        let mut mirror = Mirror::from_url(&archive)?;
        if let Some(sec) = find(&format!("{suite}-security")) {
            if sec.trim_end_matches('/') != mirror.archive {
                mirror = mirror.with_security(&sec)?;
            }
        }
        Ok(mirror)
    }

    /// The URL serving `suite`.
    pub fn url_for(&self, suite: &str) -> &str {
        match &self.security {
            Some(sec) if suite.ends_with("-security") => sec,
            _ => &self.archive,
        }
    }
}

fn check_url(url: &str) -> Result<String, DebsError> {
    let url = url.trim().trim_end_matches('/');
    let bad = |reason: &str| DebsError::BadMirror {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https" | "file") {
        return Err(bad("only http, https and file URLs are supported"));
    }
    Ok(url.to_string())
}

/// The `deb` sources of the apt configuration in `dir`: (URI, suites), in apt's order.
fn read_sources(dir: &Path) -> Result<Vec<(String, Vec<String>)>, DebsError> {
    let mut out = Vec::new();
    let main = dir.join("sources.list");
    if main.is_file() {
        let text = std::fs::read_to_string(&main).map_err(io("read", &main))?;
        out.extend(one_line_sources(&text));
    }
    let parts = dir.join("sources.list.d");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&parts) {
        Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    for path in files {
        let ext = path.extension().and_then(|e| e.to_str());
        if !matches!(ext, Some("list" | "sources")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(io("read", &path))?;
        if ext == Some("list") {
            out.extend(one_line_sources(&text));
        } else {
            out.extend(deb822_sources(&text));
        }
    }
    Ok(out)
}

/// `deb [options] uri suite [component...]` lines.
fn one_line_sources(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line
            .strip_prefix("deb ")
            .or_else(|| line.strip_prefix("deb\t"))
        else {
            continue;
        };
        let mut rest = rest.trim();
        if rest.starts_with('[') {
            match rest.find(']') {
                Some(end) => rest = rest[end + 1..].trim(),
                None => continue,
            }
        }
        let mut words = rest.split_whitespace();
        if let (Some(uri), Some(suite)) = (words.next(), words.next()) {
            out.push((uri.to_string(), vec![suite.to_string()]));
        }
    }
    out
}

/// deb822 `.sources` paragraphs of type `deb` that are not disabled.
fn deb822_sources(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for para in control::paragraphs(text) {
        let types = para.get_or_empty("Types");
        if !types.split_whitespace().any(|t| t == "deb") || para.get("Enabled") == Some("no") {
            continue;
        }
        let suites: Vec<String> = para
            .get_or_empty("Suites")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        for uri in para.get_or_empty("URIs").split_whitespace() {
            out.push((uri.to_string(), suites.clone()));
        }
    }
    out
}

/// What a build base's archive looks like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Distro {
    /// `debian` or `ubuntu`.
    pub name: &'static str,
    /// The release codename, e.g. `bookworm`.
    pub codename: String,
    /// Components to read, e.g. `main`.
    pub components: Vec<&'static str>,
    /// The keyring file name under the keyring directory.
    pub keyring: &'static str,
}

impl Distro {
    /// The distribution of a build base.
    pub fn for_base(base: &Base) -> Result<Distro, DebsError> {
        let unsupported = |reason: &str| DebsError::UnsupportedBase {
            base: base.to_string(),
            reason: reason.to_string(),
        };
        match base {
            Base::Debian(v) => {
                let codename = match v.as_str() {
                    "11" => "bullseye",
                    "12" => "bookworm",
                    "13" => "trixie",
                    _ => return Err(unsupported("unknown Debian release")),
                };
                Ok(Distro {
                    name: "debian",
                    codename: codename.to_string(),
                    components: vec!["main"],
                    keyring: "debian-archive-keyring.gpg",
                })
            }
            Base::Ubuntu(v) => {
                let codename = match v.as_str() {
                    "20.04" => "focal",
                    "22.04" => "jammy",
                    "24.04" => "noble",
                    "24.10" => "oracular",
                    "25.04" => "plucky",
                    "25.10" => "questing",
                    _ => return Err(unsupported("unknown Ubuntu release")),
                };
                Ok(Distro {
                    name: "ubuntu",
                    codename: codename.to_string(),
                    components: vec!["main", "universe"],
                    keyring: "ubuntu-archive-keyring.gpg",
                })
            }
            Base::Bare => Err(unsupported("a bare build base has no package archive")),
            Base::Devel => Err(unsupported("the devel base's archive is not supported")),
        }
    }

    /// The suites to read, in preference order for equal versions.
    pub fn suites(&self) -> Vec<String> {
        let c = &self.codename;
        vec![c.clone(), format!("{c}-updates"), format!("{c}-security")]
    }

    /// The environment variable that overrides this distribution's mirror.
    pub fn mirror_setting(&self) -> &'static str {
        if self.name == "ubuntu" {
            "RCRAFT_UBUNTU_MIRROR"
        } else {
            "RCRAFT_ARCHIVE_MIRROR"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_deb822_and_one_line_sources() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sources.list.d")).unwrap();
        std::fs::write(
            dir.path().join("sources.list"),
            "# comment\ndeb-src http://src.example/debian bookworm main\n\
             deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian trixie main\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sources.list.d/debian.sources"),
            "Types: deb\n# a comment\nURIs: http://two.example/debian/\nSuites: bookworm bookworm-updates\n\
             Components: main\n\nTypes: deb\nURIs: http://sec.example/debian-security\n\
             Suites: bookworm-security\nComponents: main\n\nTypes: deb\nEnabled: no\n\
             URIs: http://off.example/x\nSuites: noble\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sources.list.d/x.disabled"),
            "deb http://no/ noble main\n",
        )
        .unwrap();
        let m = Mirror::from_apt_config(dir.path(), "bookworm").unwrap();
        assert_eq!(m.archive, "http://two.example/debian");
        assert_eq!(
            m.security.as_deref(),
            Some("http://sec.example/debian-security")
        );
        assert_eq!(
            m.url_for("bookworm-security"),
            "http://sec.example/debian-security"
        );
        assert_eq!(m.url_for("bookworm-updates"), "http://two.example/debian");
        let t = Mirror::from_apt_config(dir.path(), "trixie").unwrap();
        assert_eq!(
            (t.archive.as_str(), t.security),
            ("http://one.example/debian", None)
        );
        let err = Mirror::from_apt_config(dir.path(), "noble")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot find an apt source for suite 'noble'"),
            "{err}"
        );
        assert!(err.contains("RCRAFT_ARCHIVE_MIRROR"), "{err}");
    }

    #[test]
    fn checks_mirror_urls() {
        assert!(Mirror::from_url("ftp://x/debian").is_err());
        assert!(Mirror::from_url("not a url").is_err());
        let m = Mirror::from_url("https://m.example/ubuntu/").unwrap();
        assert_eq!(m.url_for("noble-security"), "https://m.example/ubuntu");
    }

    #[test]
    fn maps_build_bases_to_distributions() {
        let d = Distro::for_base(&Base::Debian("12".into())).unwrap();
        assert_eq!(
            d.suites(),
            ["bookworm", "bookworm-updates", "bookworm-security"]
        );
        assert_eq!(d.components, ["main"]);
        let u = Distro::for_base(&Base::Ubuntu("24.04".into())).unwrap();
        assert_eq!(
            (u.codename.as_str(), u.keyring),
            ("noble", "ubuntu-archive-keyring.gpg")
        );
        assert_eq!(u.components, ["main", "universe"]);
        assert!(Distro::for_base(&Base::Bare).is_err());
        assert!(Distro::for_base(&Base::Ubuntu("9.10".into())).is_err());
    }
}
