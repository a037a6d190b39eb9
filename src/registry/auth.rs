//! Where registry credentials come from: [`lookup`] reads Docker's and podman's files and runs
//! credential helpers, in this order (the first source that has credentials wins):
//!
//! 1. `credHelpers[<registry>]`, then `credsStore`, then `auths` in `$DOCKER_CONFIG/config.json`
//!    (or `~/.docker/config.json`); helpers are `docker-credential-<name> get`, fed the server
//!    URL on stdin, answering `{"Username","Secret"}`;
//! 2. the same keys in `$REGISTRY_AUTH_FILE`;
//! 3. podman's `${XDG_RUNTIME_DIR}/containers/auth.json`, then `~/.config/containers/auth.json`.
//!
//! (Explicit `--username/--password-stdin` credentials beat all of these; the client checks
//! them first.) `auths` keys may be `host`, `https://host`, `https://host/v1/` or podman's
//! `host/namespace[/repo]` (the longest matching one wins); Docker Hub is keyed as
//! `https://index.docker.io/v1/` (also `docker.io`, `index.docker.io`, `registry-1.docker.io`).
//! The environment is passed in as a [`CredentialEnv`] rather than read here, so tests can point
//! it at temporary files without touching the process environment. Secrets never appear in
//! errors or `Debug` output.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;

use super::RegistryError;
use super::reference::{DOCKER_HUB, DOCKER_HUB_AUTH_KEY};

/// A username and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or token (never printed).
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The environment credential lookup reads: explicit, so tests need not mutate the process.
#[derive(Debug, Clone, Default)]
pub struct CredentialEnv {
    /// `$DOCKER_CONFIG` (a directory holding `config.json`).
    pub docker_config: Option<PathBuf>,
    /// `$HOME`.
    pub home: Option<PathBuf>,
    /// `$REGISTRY_AUTH_FILE`.
    pub registry_auth_file: Option<PathBuf>,
    /// `$XDG_RUNTIME_DIR`.
    pub xdg_runtime_dir: Option<PathBuf>,
    /// `$PATH`, searched for `docker-credential-*` helpers.
    pub path: Option<OsString>,
}

impl CredentialEnv {
    /// Reads the variables from the process environment (empty values count as unset).
    pub fn from_process() -> Self {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        Self {
            docker_config: var("DOCKER_CONFIG").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
            registry_auth_file: var("REGISTRY_AUTH_FILE").map(PathBuf::from),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR").map(PathBuf::from),
            path: var("PATH"),
        }
    }

    /// The files to read, in order.
    fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        match (&self.docker_config, &self.home) {
            (Some(dir), _) => files.push(dir.join("config.json")),
            (None, Some(home)) => files.push(home.join(".docker/config.json")),
            (None, None) => {}
        }
        files.extend(self.registry_auth_file.clone());
        if let Some(dir) = &self.xdg_runtime_dir {
            files.push(dir.join("containers/auth.json"));
        }
        if let Some(home) = &self.home {
            files.push(home.join(".config/containers/auth.json"));
        }
        files
    }
}

/// Credentials found, and a description of where (for `--verbose`; never the secret).
pub type Found = (Credentials, String);

/// Finds credentials for `domain` (as in [`super::Reference::domain`]) and `repository`.
pub fn lookup(
    domain: &str,
    repository: &str,
    env: &CredentialEnv,
) -> Result<Option<Found>, RegistryError> {
    for file in env.files() {
        if let Some(found) = lookup_in_file(&file, domain, repository, env)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

#[derive(serde::Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: std::collections::BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

fn lookup_in_file(
    file: &Path,
    domain: &str,
    repository: &str,
    env: &CredentialEnv,
) -> Result<Option<Found>, RegistryError> {
    let bad = |reason: String| RegistryError::Credentials {
        registry: domain.to_owned(),
        source_name: format!("`{}`", file.display()),
        reason,
    };
    let text = match std::fs::read(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    let config: ConfigFile =
        serde_json::from_slice(&text).map_err(|e| bad(format!("it is not valid JSON: {e}")))?;

    let helper = config
        .cred_helpers
        .iter()
        .filter_map(|(k, v)| key_match(k, domain, repository).map(|len| (len, v)))
        .max_by_key(|(len, _)| *len)
        .map(|(_, v)| v.clone());
    for name in helper.iter().chain(config.creds_store.iter()) {
        if let Some(found) = run_helper(name, domain, env)? {
            return Ok(Some(found));
        }
    }

    let best = config
        .auths
        .iter()
        .filter_map(|(k, v)| key_match(k, domain, repository).map(|len| (len, k, v)))
        .max_by_key(|(len, _, _)| *len);
    let Some((_, key, entry)) = best else {
        return Ok(None);
    };
    let creds = match (&entry.auth, &entry.username, &entry.password) {
        (Some(auth), _, _) if !auth.is_empty() => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad(format!("the `auth` of `{key}` is not base64")))?;
            let decoded = String::from_utf8(decoded)
                .map_err(|_| bad(format!("the `auth` of `{key}` is not UTF-8")))?;
            let (user, pass) = decoded
                .split_once(':')
                .ok_or_else(|| bad(format!("the `auth` of `{key}` is not `user:password`")))?;
            Credentials {
                username: user.to_owned(),
                password: pass.to_owned(),
            }
        }
        (_, Some(user), Some(pass)) => Credentials {
            username: user.clone(),
            password: pass.clone(),
        },
        // An entry with only an identity token or nothing: not usable here.
        _ => return Ok(None),
    };
    Ok(Some((creds, format!("`{}`", file.display()))))
}

/// If the `auths`/`credHelpers` key names this registry (and a prefix of the repository, for
/// podman's namespaced keys), how specific it is; `None` if it does not match.
fn key_match(key: &str, domain: &str, repository: &str) -> Option<usize> {
    let bare = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let bare = bare.trim_end_matches('/');
    let bare = bare
        .strip_suffix("/v1")
        .or_else(|| bare.strip_suffix("/v2"))
        .unwrap_or(bare);
    let (host, path) = match bare.split_once('/') {
        Some((h, p)) => (h, Some(p)),
        None => (bare, None),
    };
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
        h => h,
    };
    if !host.eq_ignore_ascii_case(domain) {
        return None;
    }
    match path {
        None => Some(0),
        Some(p) if repository == p || repository.starts_with(&format!("{p}/")) => Some(p.len()),
        Some(_) => None,
    }
}

/// What a credential helper prints.
#[derive(serde::Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Runs `docker-credential-<name> get`. A helper that is not installed, or that has nothing
/// for this registry, gives `None`.
fn run_helper(
    name: &str,
    domain: &str,
    env: &CredentialEnv,
) -> Result<Option<Found>, RegistryError> {
    let program = format!("docker-credential-{name}");
    let bad = |reason: String| RegistryError::Credentials {
        registry: domain.to_owned(),
        source_name: format!("`{program}`"),
        reason,
    };
    let Some(exe) = find_on_path(&program, env.path.as_ref()) else {
        return Ok(None);
    };
    let server = if domain == DOCKER_HUB {
        DOCKER_HUB_AUTH_KEY
    } else {
        domain
    };
    let mut cmd = Command::new(&exe);
    cmd.arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = &env.path {
        cmd.env("PATH", path);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| bad(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading stdin is fine: ignore a broken pipe.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| bad(format!("cannot run it: {e}")))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if text.to_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        let first = text.lines().next().unwrap_or("").trim();
        let first: String = first.chars().take(200).collect();
        return Err(bad(format!("it failed ({}): {first}", out.status)));
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout)
        .map_err(|_| bad("it did not print {\"Username\",\"Secret\"} JSON".to_owned()))?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some((
        Credentials {
            username: answer.username,
            password: answer.secret,
        },
        format!("`{program}`"),
    )))
}

fn find_on_path(program: &str, path: Option<&OsString>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = path?;
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// A fake `docker-credential-test` that answers for `helper.example:5000` only.
    fn fake_helper(dir: &Path) {
        let script = dir.join("docker-credential-test");
        write(
            &script,
            "#!/bin/sh\nread server\ncase \"$server\" in\n  helper.example:5000) echo '{\"ServerURL\":\"x\",\"Username\":\"hu\",\"Secret\":\"hs\"}' ;;\n  https://index.docker.io/v1/) echo '{\"Username\":\"hub\",\"Secret\":\"hubs\"}' ;;\n  broken.example) echo 'boom: keychain locked' >&2; exit 3 ;;\n  *) echo 'credentials not found in native keychain'; exit 1 ;;\nesac\n",
        );
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    fn user(found: Option<Found>) -> Option<(String, String, String)> {
        found.map(|(c, src)| (c.username, c.password, src))
    }

    #[test]
    fn lookup_order_helpers_then_auths_then_other_files() {
        let tmp = tempfile::tempdir().expect("tmp");
        let bin = tmp.path().join("bin");
        fake_helper(&bin);
        let docker = tmp.path().join("docker");
        write(
            &docker.join("config.json"),
            &format!(
                r#"{{"auths":{{
                    "helper.example:5000":{{"auth":"{}"}},
                    "https://files.example":{{"auth":"{}"}},
                    "https://index.docker.io/v1/":{{"auth":"{}"}},
                    "store.example":{{}}
                }},
                "credHelpers":{{"helper.example:5000":"test","broken.example":"test"}},
                "credsStore":"test"}}"#,
                b64("shadowed:x"),
                b64("fu:fp"),
                b64("shadowedhub:x"),
            ),
        );
        let podman = tmp.path().join("run");
        write(
            &podman.join("containers/auth.json"),
            &format!(
                r#"{{"auths":{{"podman.example":{{"auth":"{}"}},"podman.example/team":{{"auth":"{}"}},
                 "files.example":{{"auth":"{}"}}}}}}"#,
                b64("pu:pp"),
                b64("tu:tp"),
                b64("late:x")
            ),
        );
        let authfile = tmp.path().join("authfile.json");
        write(
            &authfile,
            r#"{"auths":{"authfile.example":{"username":"au","password":"ap"}}}"#,
        );
        let env = CredentialEnv {
            docker_config: Some(docker.clone()),
            home: Some(tmp.path().join("home")),
            registry_auth_file: Some(authfile),
            xdg_runtime_dir: Some(podman),
            path: Some(bin.into_os_string()),
        };
        let get = |d: &str, r: &str| user(lookup(d, r, &env).expect("lookup"));
        let cfg = format!("`{}`", docker.join("config.json").display());

        // credHelpers beats auths for the same registry.
        assert_eq!(
            get("helper.example:5000", "app"),
            Some(("hu".into(), "hs".into(), "`docker-credential-test`".into()))
        );
        // credsStore answers for Docker Hub before `auths`.
        assert_eq!(
            get("docker.io", "library/debian"),
            Some((
                "hub".into(),
                "hubs".into(),
                "`docker-credential-test`".into()
            ))
        );
        // The store has nothing: `auths` of the docker config, before podman's file.
        assert_eq!(
            get("files.example", "app"),
            Some(("fu".into(), "fp".into(), cfg.clone()))
        );
        // An empty `auths` entry (a credsStore marker) is skipped.
        assert_eq!(get("store.example", "app"), None);
        // $REGISTRY_AUTH_FILE, with username/password fields.
        assert_eq!(get("authfile.example", "x").map(|u| u.0), Some("au".into()));
        // podman's auth.json, most specific key wins.
        assert_eq!(
            get("podman.example", "team/app").map(|u| u.0),
            Some("tu".into())
        );
        assert_eq!(
            get("podman.example", "teams/app").map(|u| u.0),
            Some("pu".into())
        );
        assert_eq!(get("nowhere.example", "app"), None);
        // A failing helper is an error naming it, without any secret.
        let err = lookup("broken.example", "app", &env).expect_err("broken helper");
        let text = err.to_string();
        assert!(text.contains("docker-credential-test"), "{text}");
        assert!(text.contains("keychain locked"), "{text}");

        // Without the helper on PATH, the docker config's `auths` is used.
        let no_helper = CredentialEnv {
            path: Some(OsString::from("/nonexistent")),
            ..env.clone()
        };
        assert_eq!(
            user(lookup("helper.example:5000", "app", &no_helper).expect("lookup")),
            Some(("shadowed".into(), "x".into(), cfg))
        );
    }

    #[test]
    fn home_docker_config_is_used_without_docker_config_and_bad_json_is_an_error() {
        let tmp = tempfile::tempdir().expect("tmp");
        let home = tmp.path().join("home");
        write(
            &home.join(".docker/config.json"),
            &format!(
                r#"{{"auths":{{"localhost:5000":{{"auth":"{}"}}}}}}"#,
                b64("u:p:q")
            ),
        );
        write(
            &home.join(".config/containers/auth.json"),
            &format!(
                r#"{{"auths":{{"podhome.example":{{"auth":"{}"}}}}}}"#,
                b64("h:p")
            ),
        );
        let env = CredentialEnv {
            home: Some(home.clone()),
            ..CredentialEnv::default()
        };
        let found = lookup("localhost:5000", "app", &env).expect("lookup");
        assert_eq!(
            found.map(|(c, _)| (c.username, c.password)),
            Some(("u".into(), "p:q".into()))
        );
        let found = lookup("podhome.example", "app", &env).expect("lookup");
        assert_eq!(found.map(|(c, _)| c.username), Some("h".into()));

        write(&home.join(".docker/config.json"), "{not json");
        let err = lookup("localhost:5000", "app", &env).expect_err("bad json");
        assert!(err.to_string().contains("not valid JSON"), "{err}");
        write(
            &home.join(".docker/config.json"),
            r#"{"auths":{"localhost:5000":{"auth":"!!!"}}}"#,
        );
        let err = lookup("localhost:5000", "app", &env).expect_err("bad base64");
        assert!(err.to_string().contains("not base64"), "{err}");
    }

    #[test]
    fn keys_match_hosts_schemes_and_hub_aliases() {
        assert_eq!(key_match("localhost:5000", "localhost:5000", "a"), Some(0));
        assert_eq!(
            key_match("https://localhost:5000/v2/", "localhost:5000", "a"),
            Some(0)
        );
        assert_eq!(
            key_match("http://localhost:5000", "localhost:5000", "a"),
            Some(0)
        );
        assert_eq!(key_match("localhost:5001", "localhost:5000", "a"), None);
        assert_eq!(
            key_match(DOCKER_HUB_AUTH_KEY, DOCKER_HUB, "library/x"),
            Some(0)
        );
        assert_eq!(
            key_match("registry-1.docker.io", DOCKER_HUB, "x/y"),
            Some(0)
        );
        assert_eq!(key_match("docker.io/x", DOCKER_HUB, "x/y"), Some(1));
        assert_eq!(key_match("docker.io/x", DOCKER_HUB, "xy/z"), None);
        let c = Credentials {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
