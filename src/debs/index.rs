//! [`Index`]: the packages of an archive (all suites' `Packages` files merged), looked up by
//! name and by what they provide; and [`Installed`]: what a base image already has, from its
//! dpkg status (`var/lib/dpkg/status`, plus `status.d/*` fragments as chiselled and distroless
//! images keep them).

use std::collections::HashMap;
use std::path::Path;

use super::control::{self, Paragraph};
use super::deps::{self, Atom, Provided};
use super::error::{DebsError, io};
use super::version::Version;

/// One binary package of the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// `Package`.
    pub name: String,
    /// `Version`.
    pub version: Version,
    /// `Architecture` (the build-for architecture or `all`).
    pub arch: String,
    /// `Multi-Arch` (`same`, `foreign`, `allowed`), if set.
    pub multi_arch: Option<String>,
    /// `Pre-Depends`, unparsed (parsed when the package is selected).
    pub pre_depends: String,
    /// `Depends`, unparsed.
    pub depends: String,
    /// `Provides`.
    pub provides: Vec<Provided>,
    /// `Priority`.
    pub priority: String,
    /// `Filename`: the path of the .deb below the mirror URL.
    pub filename: String,
    /// `Size`.
    pub size: u64,
    /// `SHA256` (hex).
    pub sha256: String,
    /// The suite it came from, e.g. `bookworm-security`.
    pub suite: String,
}

impl Package {
    /// `name_version_arch`, as in .deb file names.
    pub fn id(&self) -> String {
        format!("{}_{}_{}", self.name, self.version, self.arch)
    }

    /// Reads a package from a `Packages` paragraph; `None` for paragraphs of other
    /// architectures.
    pub fn from_paragraph(
        p: &Paragraph<'_>,
        arch: &str,
        suite: &str,
    ) -> Result<Option<Package>, String> {
        let field = |k: &str| p.get(k).ok_or_else(|| format!("a package without '{k}'"));
        let name = field("Package")?;
        let pkg_arch = field("Architecture")?;
        if pkg_arch != arch && pkg_arch != "all" {
            return Ok(None);
        }
        let bad = |e: String| format!("package '{name}': {e}");
        let size = field("Size")?
            .parse::<u64>()
            .map_err(|_| bad("bad Size".to_string()))?;
        let sha256 = field("SHA256")?;
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("bad SHA256".to_string()));
        }
        Ok(Some(Package {
            name: name.to_string(),
            version: Version::parse(field("Version")?).map_err(bad)?,
            arch: pkg_arch.to_string(),
            multi_arch: p.get("Multi-Arch").map(str::to_string),
            pre_depends: p.get_or_empty("Pre-Depends").to_string(),
            depends: p.get_or_empty("Depends").to_string(),
            provides: deps::parse_provides(p.get_or_empty("Provides"), arch).map_err(bad)?,
            priority: p.get_or_empty("Priority").to_string(),
            filename: field("Filename")?.to_string(),
            size,
            sha256: sha256.to_ascii_lowercase(),
            suite: suite.to_string(),
        }))
    }
}

/// The packages of one archive for one architecture.
#[derive(Debug, Default)]
pub struct Index {
    /// The build-for architecture.
    arch: String,
    packages: Vec<Package>,
    by_name: HashMap<String, Vec<usize>>,
    /// Virtual name -> (package index, provided version).
    providers: HashMap<String, Vec<(usize, Option<Version>)>>,
}

impl Index {
    /// An empty index for architecture `arch`.
    pub fn new(arch: &str) -> Index {
        Index {
            arch: arch.to_string(),
            ..Index::default()
        }
    }

    /// The build-for architecture.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    /// Adds the packages of a `Packages` file from `suite`. A package (name, version,
    /// architecture) already added from an earlier suite is kept as it was.
    pub fn add_packages_file(&mut self, text: &str, suite: &str) -> Result<(), String> {
        for para in control::paragraphs(text) {
            if let Some(pkg) = Package::from_paragraph(&para, &self.arch, suite)? {
                self.add(pkg);
            }
        }
        Ok(())
    }

    /// Adds one package (ignored if the same name, version and architecture is present).
    pub fn add(&mut self, pkg: Package) {
        let same = self.by_name.get(&pkg.name).is_some_and(|ids| {
            ids.iter().any(|&i| {
                self.packages[i].version == pkg.version && self.packages[i].arch == pkg.arch
            })
        });
        if same {
            return;
        }
        let i = self.packages.len();
        self.by_name.entry(pkg.name.clone()).or_default().push(i);
        for p in &pkg.provides {
            self.providers
                .entry(p.name.clone())
                .or_default()
                .push((i, p.version.clone()));
        }
        self.packages.push(pkg);
    }

    /// The package with index `i`.
    pub fn get(&self, i: usize) -> &Package {
        &self.packages[i]
    }

    /// Indices of the real packages called `name`.
    pub fn versions(&self, name: &str) -> &[usize] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// The packages providing `name`, with the version they provide.
    pub fn providers(&self, name: &str) -> &[(usize, Option<Version>)] {
        self.providers.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether any package is called or provides `name`.
    pub fn knows(&self, name: &str) -> bool {
        self.by_name.contains_key(name) || self.providers.contains_key(name)
    }

    /// All real package names (unordered).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// Number of packages.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }
}

/// The packages installed in a base image.
#[derive(Debug, Default, Clone)]
pub struct Installed {
    versions: HashMap<String, Version>,
    provides: HashMap<String, Vec<Option<Version>>>,
}

impl Installed {
    /// Nothing installed (`base: bare`).
    pub fn none() -> Installed {
        Installed::default()
    }

    /// Reads `var/lib/dpkg/status` and `var/lib/dpkg/status.d/*` below `rootfs` (missing
    /// files mean nothing installed). Only `install ok installed` packages count in `status`.
    pub fn from_rootfs(rootfs: &Path, arch: &str) -> Result<Installed, DebsError> {
        let mut installed = Installed::none();
        let dpkg = rootfs.join("var/lib/dpkg");
        let status = dpkg.join("status");
        match std::fs::read_to_string(&status) {
            Ok(text) => installed.add_status(&text, arch, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("read", &status)(e)),
        }
        let dir = dpkg.join("status.d");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for path in paths.iter().filter(|p| p.is_file()) {
                let text = std::fs::read_to_string(path).map_err(io("read", path))?;
                installed.add_status(&text, arch, false);
            }
        }
        Ok(installed)
    }

    /// Adds the packages of a status file; `need_status`: only those whose `Status` is
    /// `install ok installed` (fragments in `status.d` have no `Status`).
    pub fn add_status(&mut self, text: &str, arch: &str, need_status: bool) {
        for para in control::paragraphs(text) {
            let (Some(name), Some(version)) = (para.get("Package"), para.get("Version")) else {
                continue;
            };
            if need_status && para.get("Status") != Some("install ok installed") {
                continue;
            }
            let Ok(version) = Version::parse(version) else {
                continue;
            };
            let provides =
                deps::parse_provides(para.get_or_empty("Provides"), arch).unwrap_or_default();
            for p in provides {
                self.provides.entry(p.name).or_default().push(p.version);
            }
            self.versions.insert(name.to_string(), version);
        }
    }

    /// Marks `name` at `version` installed (tests, fixtures).
    pub fn insert(&mut self, name: &str, version: Version) {
        self.versions.insert(name.to_string(), version);
    }

    /// Whether an installed package satisfies `atom` (by name or by what it provides).
    pub fn satisfies(&self, atom: &Atom) -> bool {
        if let Some(v) = self.versions.get(&atom.name)
            && atom.constraint.as_ref().is_none_or(|c| c.matches(v))
        {
            return true;
        }
        self.provides.get(&atom.name).is_some_and(|vs| {
            vs.iter().any(|pv| match (&atom.constraint, pv) {
                (None, _) => true,
                (Some(c), Some(v)) => c.matches(v),
                (Some(_), None) => false,
            })
        })
    }

    /// Number of installed packages.
    pub fn len(&self) -> usize {
        self.versions.len()
    }

    /// Whether nothing is installed.
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }
}
