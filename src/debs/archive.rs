//! [`Archive`]: a distribution's package index for one architecture, built from verified
//! sources only: each suite's `InRelease` is checked with gpgv, each `Packages` file against
//! the sha256 its Release lists.
//!
//! A suite's separate `binary-all` index (where the Release does not say `all` packages are in
//! the architecture's index) that fails its checksum is skipped with a note: it only adds
//! choices, and mirrors have been seen serving a stale copy.
//!
//! Downloads are cached: `Packages` files in the blob cache under their sha256 (the
//! uncompressed file when the Release lists it, so a later run neither downloads nor
//! decompresses), and each verified `InRelease` under `debs/releases/` so that, when the
//! mirror cannot be reached, the last verified copy is used instead (with a note; its
//! signature and `Valid-Until` are checked again).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::{DebsError, io};
use super::fetch::{FetchError, Fetcher};
use super::index::Index;
use super::mirror::{Distro, Mirror};
use super::release::{self, Release};
use crate::oci::Digest;

/// How to check signatures.
#[derive(Clone, Debug)]
pub struct Verifier {
    /// The `gpgv` program.
    pub gpgv: PathBuf,
    /// The keyring file.
    pub keyring: PathBuf,
}

/// A loaded archive.
#[derive(Debug)]
pub struct Archive {
    /// "debian bookworm (amd64)", for messages.
    pub description: String,
    /// The packages of all suites.
    pub index: Index,
    /// Things the user may want to know (suites skipped, cached copies used).
    pub notes: Vec<String>,
}

/// Loads the index of `distro` for `arch` from `mirror`. `releases_dir` holds the cached
/// InRelease files.
pub fn load(
    fetcher: &Fetcher,
    distro: &Distro,
    mirror: &Mirror,
    arch: &str,
    verifier: &Verifier,
    releases_dir: &Path,
) -> Result<Archive, DebsError> {
    let mut archive = Archive {
        description: format!("{} {} ({arch})", distro.name, distro.codename),
        index: Index::new(arch),
        notes: Vec::new(),
    };
    for (n, suite) in distro.suites().iter().enumerate() {
        let base = format!("{}/dists/{suite}", mirror.url_for(suite));
        let Some(release) = fetch_release(
            fetcher,
            &base,
            suite,
            verifier,
            releases_dir,
            n == 0,
            &mut archive.notes,
        )?
        else {
            continue;
        };
        let mut arches = vec![arch.to_string()];
        if !release.all_in_arch_indexes {
            arches.push("all".to_string());
        }
        for component in &distro.components {
            for a in &arches {
                let path = format!("{component}/binary-{a}/Packages");
                let text = match fetch_packages(fetcher, &base, &release, &path) {
                    Ok(Some(t)) => t,
                    Ok(None) if a == "all" => continue,
                    // The separate `all` index only adds choices; a mirror serving a stale
                    // copy of it should not stop the build.
                    Err(e @ DebsError::Checksum { .. }) if a == "all" => {
                        archive
                            .notes
                            .push(format!("{path} of '{suite}' skipped: {e}"));
                        continue;
                    }
                    Err(e) => return Err(e),
                    Ok(None) => {
                        return Err(DebsError::Download {
                            url: format!("{base}/{path}"),
                            reason: "the Release file does not list it".to_string(),
                        });
                    }
                };
                archive
                    .index
                    .add_packages_file(&text, suite)
                    .map_err(|reason| DebsError::Parse {
                        what: format!("{base}/{path}"),
                        reason,
                    })?;
            }
        }
    }
    Ok(archive)
}

/// Fetches and verifies `<base>/InRelease`. A missing optional suite (not the first) gives
/// `None` and a note.
fn fetch_release(
    fetcher: &Fetcher,
    base: &str,
    suite: &str,
    verifier: &Verifier,
    releases_dir: &Path,
    required: bool,
    notes: &mut Vec<String>,
) -> Result<Option<Release>, DebsError> {
    let url = format!("{base}/InRelease");
    let cached = releases_dir.join(escape(&url));
    let signed = match fetcher.get(&url) {
        Ok(bytes) => bytes,
        Err(FetchError::NotFound(_)) if !required => {
            notes.push(format!("suite '{suite}' is not at {base}: skipped"));
            return Ok(None);
        }
        Err(FetchError::Other(e @ DebsError::Download { .. })) => match std::fs::read(&cached) {
            Ok(bytes) => {
                notes.push(format!("using the cached {url}: {e}"));
                bytes
            }
            Err(_) => return Err(e),
        },
        Err(e) => return Err(e.into_error()),
    };
    let text = release::verify(&verifier.gpgv, &verifier.keyring, &signed, &url)?;
    let release = Release::parse(&text).map_err(|reason| DebsError::Parse {
        what: url.clone(),
        reason,
    })?;
    if !release.is_for(suite) {
        return Err(DebsError::BadSignature {
            url,
            detail: format!(
                "it is signed for suite '{}' ({}), not '{suite}'",
                release.codename, release.suite
            ),
        });
    }
    if let Some(until) = release.valid_until {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if now > until {
            return Err(DebsError::BadSignature {
                url,
                detail:
                    "the Release file has expired (Valid-Until is past): the mirror is out of date"
                        .to_string(),
            });
        }
    }
    std::fs::create_dir_all(releases_dir).map_err(io("create", releases_dir))?;
    // A temp file of its own: packs running at once share this cache.
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", escape(&url)))
        .suffix(".tmp")
        .tempfile_in(releases_dir)
        .map_err(io("write", releases_dir))?;
    std::io::Write::write_all(&mut temp, signed.as_ref()).map_err(io("write", temp.path()))?;
    temp.persist(&cached)
        .map_err(|e| e.error)
        .map_err(io("write", &cached))?;
    Ok(Some(release))
}

/// The text of the Packages file `path` (e.g. `main/binary-amd64/Packages`) of a suite, in
/// the best compression the Release lists; `None` when it lists none.
fn fetch_packages(
    fetcher: &Fetcher,
    base: &str,
    release: &Release,
    path: &str,
) -> Result<Option<String>, DebsError> {
    let plain = release.files.get(path);
    let cache = fetcher.cache();
    if let Some(plain) = plain
        && let Ok(digest) = Digest::parse(&format!("sha256:{}", plain.sha256))
        && cache.get(&digest).is_some()
    {
        let bytes = cache.read("index", &digest)?;
        return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()));
    }
    for ext in [".xz", ".gz", ""] {
        let name = format!("{path}{ext}");
        let Some(listed) = release.files.get(&name) else {
            continue;
        };
        let plain_url = format!("{base}/{name}");
        let mut url = plain_url.clone();
        if release.by_hash {
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            url = format!("{base}/{dir}/by-hash/SHA256/{}", listed.sha256);
        }
        let file = match fetcher.get_verified(&url, &listed.sha256) {
            Ok(f) => f,
            Err(FetchError::NotFound(_)) if url != plain_url => fetcher
                .get_verified(&plain_url, &listed.sha256)
                .map_err(FetchError::into_error)?,
            Err(FetchError::NotFound(_)) => continue,
            Err(e) => return Err(e.into_error()),
        };
        let raw = std::fs::File::open(&file).map_err(io("open", &file))?;
        let mut reader: Box<dyn Read> = match ext {
            ".xz" => Box::new(lzma_rust2::XzReader::new(raw, true)),
            ".gz" => Box::new(flate2::read::GzDecoder::new(raw)),
            _ => Box::new(raw),
        };
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| DebsError::Parse {
                what: plain_url.clone(),
                reason: format!("cannot decompress: {e}"),
            })?;
        if let Some(plain) = plain {
            let actual = Digest::of(&bytes);
            if actual.hex() != plain.sha256 {
                return Err(DebsError::Checksum {
                    url: plain_url,
                    expected: plain.sha256.clone(),
                    actual: actual.hex().to_string(),
                });
            }
            cache.insert_bytes(&bytes)?;
        }
        return Ok(Some(String::from_utf8_lossy(&bytes).into_owned()));
    }
    Ok(None)
}

/// A URL as a file name.
fn escape(url: &str) -> String {
    url.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
