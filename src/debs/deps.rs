//! Package relationship fields (`Depends`, `Pre-Depends`, `Provides`) as in Debian policy §7.1:
//! a comma-separated list of groups, each a `|`-separated list of alternatives
//! `name[:archqual] [(op version)] [[arch list]] [<profiles>]`.

use std::fmt;

use super::version::Version;

/// A version relation operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<<`
    Lt,
    /// `<=` (and the obsolete `<`)
    Le,
    /// `=`
    Eq,
    /// `>=` (and the obsolete `>`)
    Ge,
    /// `>>`
    Gt,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "<<" => Op::Lt,
            "<=" | "<" => Op::Le,
            "=" => Op::Eq,
            ">=" | ">" => Op::Ge,
            ">>" => Op::Gt,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">>",
        }
    }
}

/// A version constraint, e.g. `>= 2.36`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    /// The operator.
    pub op: Op,
    /// The version.
    pub version: Version,
}

impl Constraint {
    /// Whether `v` satisfies the constraint.
    pub fn matches(&self, v: &Version) -> bool {
        let ord = v.cmp(&self.version);
        match self.op {
            Op::Lt => ord.is_lt(),
            Op::Le => ord.is_le(),
            Op::Eq => ord.is_eq(),
            Op::Ge => ord.is_ge(),
            Op::Gt => ord.is_gt(),
        }
    }
}

/// One alternative of a dependency: a package name with optional qualifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Atom {
    /// The package (or virtual package) name.
    pub name: String,
    /// The architecture qualifier after `:` (`any`, `native` or an architecture).
    pub arch: Option<String>,
    /// The version constraint.
    pub constraint: Option<Constraint>,
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(a) = &self.arch {
            write!(f, ":{a}")?;
        }
        if let Some(c) = &self.constraint {
            write!(f, " ({} {})", c.op.as_str(), c.version)?;
        }
        Ok(())
    }
}

/// A dependency: alternatives, the first satisfiable one wins.
pub type Group = Vec<Atom>;

/// Formats a group as written in a control file (`a (>= 1) | b`).
pub fn group_to_string(group: &[Atom]) -> String {
    group
        .iter()
        .map(Atom::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Parses a relationship field for architecture `arch`: alternatives restricted to other
/// architectures (`[!amd64]`, `[i386]`) are dropped, build profiles ignored, and groups left
/// empty removed.
pub fn parse_relations(field: &str, arch: &str) -> Result<Vec<Group>, String> {
    let mut groups = Vec::new();
    for group_text in field.split(',') {
        if group_text.trim().is_empty() {
            continue;
        }
        let mut group = Vec::new();
        for alt in group_text.split('|') {
            if let Some(atom) = parse_atom(alt, arch)? {
                group.push(atom);
            }
        }
        if !group.is_empty() {
            groups.push(group);
        }
    }
    Ok(groups)
}

/// Parses one alternative; `None` when an architecture restriction excludes `arch`.
fn parse_atom(text: &str, arch: &str) -> Result<Option<Atom>, String> {
    let mut rest = text.trim();
    // Build profiles `<...>` (outside the parentheses) only matter for build dependencies.
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '<' if depth == 0 => {
                rest = rest[..i].trim();
                break;
            }
            _ => {}
        }
    }
    if let Some(open) = rest.find('[') {
        let close = rest[open..]
            .find(']')
            .map(|c| open + c)
            .ok_or_else(|| format!("unclosed '[' in '{}'", text.trim()))?;
        let list: Vec<&str> = rest[open + 1..close].split_whitespace().collect();
        let negated = list.iter().all(|a| a.starts_with('!'));
        let listed = list.iter().any(|a| a.trim_start_matches('!') == arch);
        if negated == listed {
            return Ok(None);
        }
        rest = rest[..open].trim();
    }
    let (name_part, constraint) = match rest.find('(') {
        Some(open) => {
            let close = rest
                .rfind(')')
                .filter(|&c| c > open)
                .ok_or_else(|| format!("unclosed '(' in '{}'", text.trim()))?;
            let inner = rest[open + 1..close].trim();
            let split = inner
                .find(|c: char| !matches!(c, '<' | '>' | '='))
                .unwrap_or(inner.len());
            let op = Op::parse(&inner[..split])
                .ok_or_else(|| format!("bad version operator in '{}'", text.trim()))?;
            let version = Version::parse(&inner[split..])?;
            (rest[..open].trim(), Some(Constraint { op, version }))
        }
        None => (rest, None),
    };
    if name_part.is_empty() || name_part.contains(char::is_whitespace) {
        return Err(format!("bad package name in '{}'", text.trim()));
    }
    let (name, qual) = match name_part.split_once(':') {
        Some((n, q)) => (n, Some(q.to_string())),
        None => (name_part, None),
    };
    Ok(Some(Atom {
        name: name.to_string(),
        arch: qual,
        constraint,
    }))
}

/// One entry of a `Provides` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provided {
    /// The virtual package name.
    pub name: String,
    /// The provided version (`Provides: foo (= 1.2)`), if any.
    pub version: Option<Version>,
}

/// Parses a `Provides` field (only `=` versions are allowed there).
pub fn parse_provides(field: &str, arch: &str) -> Result<Vec<Provided>, String> {
    let mut out = Vec::new();
    for group in parse_relations(field, arch)? {
        for atom in group {
            let version = match atom.constraint {
                Some(Constraint {
                    op: Op::Eq,
                    version,
                }) => Some(version),
                Some(_) => return Err(format!("Provides '{atom}' must use '='")),
                None => None,
            };
            out.push(Provided {
                name: atom.name,
                version,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atoms(field: &str) -> Vec<Vec<String>> {
        parse_relations(field, "amd64")
            .unwrap()
            .iter()
            .map(|g| g.iter().map(Atom::to_string).collect())
            .collect()
    }

    #[test]
    fn parses_groups_alternatives_and_constraints() {
        assert_eq!(
            atoms(
                "libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any (<< 3.12), zlib1g (>=1:1.1.4)"
            ),
            vec![
                vec!["libc6 (>= 2.34)".to_string()],
                vec!["debconf (>= 0.5)".to_string(), "debconf-2.0".to_string()],
                vec!["python3:any (<< 3.12)".to_string()],
                vec!["zlib1g (>= 1:1.1.4)".to_string()],
            ]
        );
        assert_eq!(
            atoms("a (<< 2), b (> 1), c (< 3)"),
            vec![
                vec!["a (<< 2)".to_string()],
                vec!["b (>= 1)".to_string()],
                vec!["c (<= 3)".to_string()],
            ]
        );
        assert!(atoms("").is_empty());
        assert!(parse_relations("a (>= )", "amd64").is_err());
        assert!(parse_relations("a (~ 1)", "amd64").is_err());
        assert!(parse_relations("a (>= 1", "amd64").is_err());
    }

    #[test]
    fn applies_architecture_restrictions_and_ignores_profiles() {
        assert_eq!(
            atoms("a [amd64], b [!amd64], c [i386 arm64] | d, e [!i386] <!nocheck>"),
            vec![
                vec!["a".to_string()],
                vec!["d".to_string()],
                vec!["e".to_string()]
            ]
        );
    }

    #[test]
    fn constraints_match_versions() {
        let v = |s| Version::parse(s).unwrap();
        let c = |op, s| Constraint { op, version: v(s) };
        assert!(c(Op::Ge, "2.36").matches(&v("2.36-9")));
        assert!(!c(Op::Lt, "2.36").matches(&v("2.36")));
        assert!(c(Op::Lt, "2.36").matches(&v("2.36~rc1")));
        assert!(c(Op::Eq, "1.0").matches(&v("1.0-0")));
        assert!(c(Op::Gt, "1:0").matches(&v("1:0.1")));
        assert!(c(Op::Le, "1").matches(&v("0:1")));
    }

    #[test]
    fn parses_versioned_provides() {
        let p = parse_provides(
            "python3-any (= 3.11.2-1), libfoo-abi-1, x (= 2) [i386]",
            "amd64",
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name, "python3-any");
        assert_eq!(p[0].version.as_ref().unwrap().as_str(), "3.11.2-1");
        assert_eq!(p[1].version, None);
        assert!(parse_provides("x (>= 1)", "amd64").is_err());
    }
}
