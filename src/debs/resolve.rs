//! [`resolve`]: the set of packages to stage for a list of requested names, following
//! `Pre-Depends` and `Depends` (not `Recommends`/`Suggests`) through an [`Index`].
//!
//! Each dependency group is checked in turn: satisfied if any alternative is satisfied by the
//! base image ([`Installed`]) or by a package already selected; otherwise the first
//! alternative that has a candidate is selected. The candidate of a name is its highest
//! version that meets the constraint (on a tie, the one from the earliest suite); failing
//! that, a package that provides it (versioned provides for versioned dependencies), the one
//! with the highest priority, then the first by name. Packages are visited breadth first in
//! request order, so the result is deterministic; it is returned sorted by name.
//! `Conflicts`/`Breaks` are not checked: nothing is installed, files are only unpacked.

use std::collections::{HashMap, HashSet, VecDeque};

use super::deps::{self, Atom, Constraint, Group, Op};
use super::error::DebsError;
use super::index::{Index, Installed, Package};
use super::version::Version;

/// Resolves `requested` (names, optionally `name:arch` or `name=version`) against `index`,
/// skipping what `installed` already satisfies. `archive` describes the index in errors
/// ("debian bookworm (amd64)"). Returns package indices sorted by name.
pub fn resolve(
    index: &Index,
    installed: &Installed,
    requested: &[String],
    archive: &str,
) -> Result<Vec<usize>, DebsError> {
    let mut r = Resolver {
        index,
        installed,
        selected: HashMap::new(),
        selected_ids: HashSet::new(),
        parent: HashMap::new(),
        queue: VecDeque::new(),
    };
    for req in requested {
        let atom = parse_request(req)?;
        if installed.satisfies(&atom) {
            continue;
        }
        let Some(i) = r.request_candidate(&atom, archive)? else {
            continue;
        };
        r.select(i, None);
    }
    while let Some(i) = r.queue.pop_front() {
        let pkg = index.get(i);
        for field in [&pkg.pre_depends, &pkg.depends] {
            let groups =
                deps::parse_relations(field, index.arch()).map_err(|reason| DebsError::Parse {
                    what: format!("the dependencies of {}", pkg.id()),
                    reason,
                })?;
            for group in groups {
                r.satisfy(&group, i)?;
            }
        }
    }
    let mut out: Vec<usize> = r.selected.into_values().collect();
    out.sort_by(|&a, &b| index.get(a).name.cmp(&index.get(b).name));
    Ok(out)
}

/// `name`, `name:arch` or `name=version` as an [`Atom`].
fn parse_request(req: &str) -> Result<Atom, DebsError> {
    let bad = |reason: &str| DebsError::Parse {
        what: format!("stage-packages entry '{req}'"),
        reason: reason.to_string(),
    };
    let (name_part, version) = match req.split_once('=') {
        Some((n, v)) => (n, Some(Version::parse(v).map_err(|e| bad(&e))?)),
        None => (req, None),
    };
    let (name, arch) = match name_part.split_once(':') {
        Some((n, a)) => (n, Some(a.to_string())),
        None => (name_part, None),
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(bad("not a package name"));
    }
    Ok(Atom {
        name: name.to_string(),
        arch,
        constraint: version.map(|version| Constraint {
            op: Op::Eq,
            version,
        }),
    })
}

struct Resolver<'a> {
    index: &'a Index,
    installed: &'a Installed,
    /// Selected package per name.
    selected: HashMap<String, usize>,
    selected_ids: HashSet<usize>,
    /// Who pulled a package in (absent for requested ones).
    parent: HashMap<usize, usize>,
    queue: VecDeque<usize>,
}

impl Resolver<'_> {
    fn select(&mut self, i: usize, parent: Option<usize>) {
        let name = self.index.get(i).name.clone();
        if self.selected.contains_key(&name) {
            return;
        }
        self.selected.insert(name, i);
        self.selected_ids.insert(i);
        if let Some(p) = parent {
            self.parent.insert(i, p);
        }
        self.queue.push_back(i);
    }

    /// The candidate for a requested name; unknown names get suggestions.
    fn request_candidate(&self, atom: &Atom, archive: &str) -> Result<Option<usize>, DebsError> {
        if let Some(i) = self.best_real(atom) {
            return Ok(Some(i));
        }
        if !self.index.versions(&atom.name).is_empty() {
            let versions = self.available(&atom.name);
            return Err(DebsError::UnknownPackage {
                name: atom.to_string(),
                archive: format!("{archive} (available: {versions})"),
                suggestions: Vec::new(),
            });
        }
        let mut providers: Vec<&str> = self
            .index
            .providers(&atom.name)
            .iter()
            .map(|(i, _)| self.index.get(*i).name.as_str())
            .collect();
        providers.sort_unstable();
        providers.dedup();
        match providers.as_slice() {
            [] => Err(DebsError::UnknownPackage {
                name: atom.to_string(),
                archive: archive.to_string(),
                suggestions: suggestions(self.index, &atom.name),
            }),
            [one] => Ok(self.best_real(&Atom {
                name: (*one).to_string(),
                arch: atom.arch.clone(),
                constraint: None,
            })),
            many => Err(DebsError::VirtualPackage {
                name: atom.name.clone(),
                providers: many.iter().map(|s| s.to_string()).collect(),
            }),
        }
    }

    /// Makes sure one alternative of `group` (a dependency of package `from`) is satisfied.
    fn satisfy(&mut self, group: &Group, from: usize) -> Result<(), DebsError> {
        if group
            .iter()
            .any(|a| self.installed.satisfies(a) || self.selected_satisfies(a))
        {
            return Ok(());
        }
        let mut reasons = Vec::new();
        for atom in group {
            match self.candidate(atom) {
                Ok(i) => {
                    let name = &self.index.get(i).name;
                    if let Some(&other) = self.selected.get(name) {
                        reasons.push(format!(
                            "{} {} is already selected",
                            name,
                            self.index.get(other).version
                        ));
                        continue;
                    }
                    self.select(i, Some(from));
                    return Ok(());
                }
                Err(reason) => reasons.push(reason),
            }
        }
        Err(DebsError::Unsatisfiable {
            relation: deps::group_to_string(group),
            chain: self.chain(from),
            reason: reasons.join("; "),
        })
    }

    /// Whether a selected package satisfies `atom`.
    fn selected_satisfies(&self, atom: &Atom) -> bool {
        if let Some(&i) = self.selected.get(&atom.name) {
            let pkg = self.index.get(i);
            if arch_ok(pkg, atom)
                && atom
                    .constraint
                    .as_ref()
                    .is_none_or(|c| c.matches(&pkg.version))
            {
                return true;
            }
        }
        self.index
            .providers(&atom.name)
            .iter()
            .any(|(i, pv)| self.selected_ids.contains(i) && provide_ok(atom, pv.as_ref()))
    }

    /// The package to select for `atom`, or why there is none.
    fn candidate(&self, atom: &Atom) -> Result<usize, String> {
        if let Some(i) = self.best_real(atom) {
            return Ok(i);
        }
        let mut providers: Vec<usize> = self
            .index
            .providers(&atom.name)
            .iter()
            .filter(|(i, pv)| arch_ok(self.index.get(*i), atom) && provide_ok(atom, pv.as_ref()))
            .map(|(i, _)| *i)
            .collect();
        providers.sort_by(|&a, &b| {
            let (pa, pb) = (self.index.get(a), self.index.get(b));
            priority_rank(&pa.priority)
                .cmp(&priority_rank(&pb.priority))
                .then_with(|| pa.name.cmp(&pb.name))
                .then_with(|| pb.version.cmp(&pa.version))
                .then_with(|| a.cmp(&b))
        });
        if let Some(&i) = providers.first() {
            return Ok(i);
        }
        if !self.index.versions(&atom.name).is_empty() {
            Err(format!(
                "{} has only {}",
                atom.name,
                self.available(&atom.name)
            ))
        } else if self.index.knows(&atom.name) {
            Err(format!("no package provides {atom}"))
        } else {
            Err(format!("{} is not in the archive", atom.name))
        }
    }

    /// The highest version of the real package `atom.name` that satisfies `atom`.
    fn best_real(&self, atom: &Atom) -> Option<usize> {
        self.index
            .versions(&atom.name)
            .iter()
            .copied()
            .filter(|&i| {
                let p = self.index.get(i);
                arch_ok(p, atom)
                    && atom
                        .constraint
                        .as_ref()
                        .is_none_or(|c| c.matches(&p.version))
            })
            .max_by(|&a, &b| {
                self.index
                    .get(a)
                    .version
                    .cmp(&self.index.get(b).version)
                    .then_with(|| b.cmp(&a))
            })
    }

    /// The versions of `name` in the archive, for messages.
    fn available(&self, name: &str) -> String {
        let mut versions: Vec<&Version> = self
            .index
            .versions(name)
            .iter()
            .map(|&i| &self.index.get(i).version)
            .collect();
        versions.sort();
        versions.dedup();
        versions
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The requested package down to `i`, by name.
    fn chain(&self, mut i: usize) -> Vec<String> {
        let mut chain = vec![self.index.get(i).name.clone()];
        while let Some(&p) = self.parent.get(&i) {
            chain.push(self.index.get(p).name.clone());
            i = p;
        }
        chain.reverse();
        chain
    }
}

/// Whether `pkg` can satisfy `atom`'s architecture qualifier. The index holds only the
/// build-for architecture and `all`, so `:any`, `:native` and no qualifier all match.
fn arch_ok(pkg: &Package, atom: &Atom) -> bool {
    match atom.arch.as_deref() {
        None | Some("any") | Some("native") => true,
        Some(a) => pkg.arch == a || pkg.arch == "all",
    }
}

/// Whether a provided version satisfies `atom` (an unversioned provide satisfies only
/// unversioned dependencies).
fn provide_ok(atom: &Atom, provided: Option<&Version>) -> bool {
    match (&atom.constraint, provided) {
        (None, _) => true,
        (Some(c), Some(v)) => c.matches(v),
        (Some(_), None) => false,
    }
}

fn priority_rank(priority: &str) -> u8 {
    match priority {
        "required" => 0,
        "important" => 1,
        "standard" => 2,
        "optional" => 3,
        _ => 4,
    }
}

/// The names closest to `name` (up to three, all at the smallest edit distance found).
pub fn suggestions(index: &Index, name: &str) -> Vec<String> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    let mut close: Vec<(usize, &str)> = index
        .names()
        .filter_map(|n| {
            let d = strsim::osa_distance(name, n);
            (d <= limit).then_some((d, n))
        })
        .collect();
    close.sort_unstable();
    let best = close.first().map_or(0, |(d, _)| *d);
    close
        .into_iter()
        .take_while(|(d, _)| *d == best)
        .take(3)
        .map(|(_, n)| n.to_string())
        .collect()
}
