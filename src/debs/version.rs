//! [`Version`]: a Debian package version (`[epoch:]upstream[-revision]`) ordered exactly as
//! dpkg orders them (`dpkg --compare-versions`), implemented from dpkg's `verrevcmp`: runs of
//! non-digits compare character by character, letters before other characters, `~` before
//! everything (even the end of the string); runs of digits compare numerically.

use std::cmp::Ordering;
use std::fmt;

/// A parsed Debian version. Equality and order follow dpkg (`1.0` == `1.0-0` == `0:1.0`).
#[derive(Clone, Debug)]
pub struct Version {
    epoch: u64,
    upstream: String,
    revision: String,
    text: String,
}

impl Version {
    /// Parses a version. dpkg's syntax checks are relaxed: anything that is not empty and has
    /// no whitespace is accepted, and a non-numeric "epoch" is kept as part of the upstream
    /// version.
    pub fn parse(text: &str) -> Result<Version, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty version".to_string());
        }
        if text.contains(char::is_whitespace) {
            return Err(format!("version '{text}' contains whitespace"));
        }
        let (epoch, rest) = match text.split_once(':') {
            Some((e, rest)) => match e.parse::<u64>() {
                Ok(e) => (e, rest),
                Err(_) => return Err(format!("version '{text}' has a non-numeric epoch")),
            },
            None => (0, text),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((u, r)) => (u, r),
            None => (rest, ""),
        };
        Ok(Version {
            epoch,
            upstream: upstream.to_string(),
            revision: revision.to_string(),
            text: text.to_string(),
        })
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// dpkg's weight of one character of a non-digit run (`None`: the end, or a digit).
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(|c| c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        Version::parse(a).unwrap().cmp(&Version::parse(b).unwrap())
    }

    #[test]
    fn compares_like_dpkg() {
        use Ordering::*;
        let table = [
            ("1.0", "1.0", Equal),
            ("1.0", "1.0-0", Equal),
            ("0:1.0", "1.0", Equal),
            ("1.0", "1.1", Less),
            ("1.10", "1.9", Greater),
            ("1.001", "1.1", Equal),
            ("1:0.1", "2.0", Greater),
            ("2:1", "10:0", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0~~", "1.0~", Less),
            ("1.0~", "1.0", Less),
            ("1.0", "1.0+b1", Less),
            ("1.0a", "1.0", Greater),
            ("1.0a", "1.0+", Less),
            ("1.0.", "1.0a", Greater),
            ("2.36-9+deb12u4", "2.36-9", Greater),
            ("2.36-9+deb12u10", "2.36-9+deb12u9", Greater),
            ("3.11.2-6+deb12u6", "3.11.2-6", Greater),
            ("1.2-3", "1.2-3ubuntu1", Less),
            ("1.2-3ubuntu1", "1.2-4", Less),
            ("7.6-1ubuntu0.1", "7.6-1build1", Greater),
            ("1:2.0~beta", "1:2.0", Less),
            ("a", "b", Less),
            ("1-1-1", "1-1-2", Less),
        ];
        for (a, b, want) in table {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn splits_epoch_upstream_revision() {
        let v = Version::parse("1:2.3-4-5").unwrap();
        assert_eq!(
            (v.epoch, v.upstream.as_str(), v.revision.as_str()),
            (1, "2.3-4", "5")
        );
        assert_eq!(v.to_string(), "1:2.3-4-5");
        assert!(Version::parse("").is_err());
        assert!(Version::parse("x:1").is_err());
        assert!(Version::parse("1 2").is_err());
    }
}
