//! A suite's `InRelease` file: its signature checked with `gpgv` against the distribution's
//! keyring ([`verify`]) and the signed text parsed ([`Release`]). Only what a good signature
//! covers is ever parsed: gpgv writes the signed text out, and that is what rcraft reads.
//!
//! A signature counts when gpgv reports `GOODSIG` (a valid signature by a key in the keyring,
//! neither expired nor revoked) and no `BADSIG`; other signatures by keys missing from the
//! keyring (archives are signed by several keys) are ignored, as apt does.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::control;
use super::error::{DebsError, io};

/// One file listed in a Release file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseFile {
    /// sha256 (hex, lowercase).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The parts of a Release file rcraft uses.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Release {
    /// `Suite` (e.g. `oldstable`).
    pub suite: String,
    /// `Codename` (e.g. `bookworm`, `bookworm-security`).
    pub codename: String,
    /// `Valid-Until` as Unix seconds, if set.
    pub valid_until: Option<i64>,
    /// `Acquire-By-Hash: yes`.
    pub by_hash: bool,
    /// `No-Support-for-Architecture-all: Packages`: `all` packages are in each
    /// architecture's Packages file.
    pub all_in_arch_indexes: bool,
    /// The `SHA256` list: path -> checksum and size.
    pub files: BTreeMap<String, ReleaseFile>,
}

impl Release {
    /// Parses the (verified) text of a Release file.
    pub fn parse(text: &str) -> Result<Release, String> {
        let para = control::paragraphs(text)
            .next()
            .ok_or_else(|| "empty Release file".to_string())?;
        let mut release = Release {
            suite: para.get_or_empty("Suite").to_string(),
            codename: para.get_or_empty("Codename").to_string(),
            by_hash: para.get("Acquire-By-Hash") == Some("yes"),
            all_in_arch_indexes: para
                .get("No-Support-for-Architecture-all")
                .is_some_and(|v| v.split_whitespace().any(|w| w == "Packages")),
            ..Release::default()
        };
        if let Some(v) = para.get("Valid-Until") {
            release.valid_until =
                Some(parse_date(v).ok_or_else(|| format!("bad Valid-Until date '{v}'"))?);
        }
        let sums = para
            .get("SHA256")
            .ok_or_else(|| "the Release file has no SHA256 list".to_string())?;
        for line in control::value_lines(sums) {
            let mut words = line.split_whitespace();
            let (Some(sha), Some(size), Some(path), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Err(format!("bad SHA256 line '{line}'"));
            };
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("bad sha256 in line '{line}'"));
            }
            let size = size
                .parse()
                .map_err(|_| format!("bad size in line '{line}'"))?;
            release.files.insert(
                path.to_string(),
                ReleaseFile {
                    sha256: sha.to_ascii_lowercase(),
                    size,
                },
            );
        }
        Ok(release)
    }

    /// Whether the file is for `suite` (its `Codename` or `Suite`), so a mirror cannot
    /// answer with another suite's signed file.
    pub fn is_for(&self, suite: &str) -> bool {
        self.codename == suite || self.suite == suite
    }
}

/// Verifies the clear-signed `signed` bytes (an `InRelease` file fetched from `url`) with
/// `gpgv` and `keyring`; returns the signed text.
pub fn verify(gpgv: &Path, keyring: &Path, signed: &[u8], url: &str) -> Result<String, DebsError> {
    if !keyring.is_file() {
        return Err(DebsError::MissingVerifier {
            path: keyring.to_path_buf(),
            package: keyring_package(keyring),
        });
    }
    let dir =
        tempfile::tempdir().map_err(io("create a temporary directory in", std::env::temp_dir()))?;
    let input = dir.path().join("InRelease");
    let output = dir.path().join("Release");
    std::fs::write(&input, signed).map_err(io("write", &input))?;
    let result = Command::new(gpgv)
        .arg("--status-fd")
        .arg("1")
        .arg("--keyring")
        .arg(keyring)
        .arg("--output")
        .arg(&output)
        .arg(&input)
        .env("LC_ALL", "C")
        .output();
    let out = match result {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DebsError::MissingVerifier {
                path: gpgv.to_path_buf(),
                package: "gpgv",
            });
        }
        Err(e) => return Err(io("run", gpgv)(e)),
    };
    let status = String::from_utf8_lossy(&out.stdout);
    let tokens: Vec<&str> = status
        .lines()
        .filter_map(|l| l.strip_prefix("[GNUPG:] "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let good = tokens.contains(&"GOODSIG");
    let bad = tokens.contains(&"BADSIG");
    if !good || bad {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let detail = stderr
            .lines()
            .map(|l| l.trim_start_matches("gpgv: ").trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(DebsError::BadSignature {
            url: url.to_string(),
            detail: if bad {
                format!("BAD signature ({detail})")
            } else {
                format!(
                    "no good signature by a key in `{}` ({detail})",
                    keyring.display()
                )
            },
        });
    }
    let text = std::fs::read(&output).map_err(io("read", &output))?;
    String::from_utf8(text).map_err(|_| DebsError::Parse {
        what: url.to_string(),
        reason: "not UTF-8".to_string(),
    })
}

/// The package that ships a keyring, for hints.
fn keyring_package(keyring: &Path) -> &'static str {
    if keyring.to_string_lossy().contains("ubuntu") {
        "ubuntu-keyring"
    } else {
        "debian-archive-keyring"
    }
}

/// Parses an RFC 2822 date as used in Release files (`Sat, 18 Jul 2026 10:16:37 UTC`) into Unix
/// seconds. Only `UTC`/`GMT`/`+0000` zones are accepted, as archives write them.
pub fn parse_date(text: &str) -> Option<i64> {
    let text = text.split_once(',').map_or(text, |(_, rest)| rest);
    let words: Vec<&str> = text.split_whitespace().collect();
    let [day, month, year, time, zone] = words.as_slice() else {
        return None;
    };
    if !matches!(*zone, "UTC" | "GMT" | "+0000" | "Z") {
        return None;
    }
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as i64
        + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASE: &str = "Origin: Debian\nSuite: oldstable\nCodename: bookworm\n\
        Date: Sat, 11 Jul 2026 10:16:37 UTC\nValid-Until: Sat, 18 Jul 2026 10:16:37 UTC\n\
        Acquire-By-Hash: yes\nNo-Support-for-Architecture-all: Packages\n\
        MD5Sum:\n 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all\n\
        SHA256:\n 515e692f2c4121c6fcec444ef100cc18f79a991910615f3a88c8b7becfc94d2f 50060337 main/binary-amd64/Packages\n \
        743228b0bd99db92c91c5c133952cea0ff0c93a2b5b47a058973f3cab40d6481  4231936 main/binary-all/Packages.xz\n";

    #[test]
    fn parses_release_fields_and_sha256_list() {
        let r = Release::parse(RELEASE).unwrap();
        assert_eq!(
            (r.suite.as_str(), r.codename.as_str()),
            ("oldstable", "bookworm")
        );
        assert!(r.by_hash && r.all_in_arch_indexes);
        assert!(r.is_for("bookworm") && r.is_for("oldstable") && !r.is_for("trixie"));
        assert_eq!(r.files.len(), 2);
        assert_eq!(r.files["main/binary-amd64/Packages"].size, 50060337);
        assert_eq!(
            r.files["main/binary-all/Packages.xz"].sha256[..8],
            *"743228b0"
        );
        assert_eq!(r.valid_until, Some(1784369797));
    }

    #[test]
    fn rejects_bad_release_files() {
        assert!(Release::parse("").is_err());
        assert!(Release::parse("Suite: x\n").is_err());
        assert!(Release::parse("Suite: x\nSHA256:\n abc 12 main/x\n").is_err());
        assert!(Release::parse("Suite: x\nValid-Until: someday\nSHA256:\n").is_err());
    }

    #[test]
    fn parses_dates() {
        assert_eq!(parse_date("Thu, 01 Jan 1970 00:00:00 UTC"), Some(0));
        assert_eq!(
            parse_date("Sat, 10 Jun 2023 09:55:03 UTC"),
            Some(1686390903)
        );
        assert_eq!(parse_date("29 Feb 2024 12:00:00 GMT"), Some(1709208000));
        assert_eq!(parse_date("Sat, 10 Jun 2023 09:55:03 +0200"), None);
        assert_eq!(parse_date("nonsense"), None);
    }
}
