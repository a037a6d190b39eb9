//! Users and groups from `/etc/passwd` and `/etc/group`, read directly.
//!
//! A statically linked glibc cannot use NSS (`getpwnam` would need shared libraries the bare
//! image does not have), so the worker parses the files itself. [`resolve`] follows Pebble's
//! `NormalizeUidGid`: a name and an id must agree, a user without a group runs with the user's
//! primary group, and a group alone is an error.

use std::path::Path;

/// One `/etc/passwd` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: String,
}

/// Parses `/etc/passwd` text (`name:x:uid:gid:gecos:home:shell`), skipping malformed lines.
pub fn parse_passwd(text: &str) -> Vec<User> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 6 || line.starts_with('#') {
                return None;
            }
            Some(User {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
        .collect()
}

/// Parses `/etc/group` text (`name:x:gid:members`) into `(name, gid)`.
pub fn parse_group(text: &str) -> Vec<(String, u32)> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 3 || line.starts_with('#') {
                return None;
            }
            Some((f[0].to_string(), f[2].parse().ok()?))
        })
        .collect()
}

/// The user and group databases.
#[derive(Clone, Debug, Default)]
pub struct Db {
    /// `/etc/passwd`.
    pub users: Vec<User>,
    /// `/etc/group`.
    pub groups: Vec<(String, u32)>,
}

impl Db {
    /// Reads `<root>/etc/passwd` and `<root>/etc/group` (missing files are empty).
    pub fn read(root: &Path) -> Db {
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_default();
        Db {
            users: parse_passwd(&read("etc/passwd")),
            groups: parse_group(&read("etc/group")),
        }
    }

    /// The user with this uid.
    pub fn by_uid(&self, uid: u32) -> Option<&User> {
        self.users.iter().find(|u| u.uid == uid)
    }
}

/// Who a process runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ids {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// Resolves `user`/`user-id`/`group`/`group-id` into ids (`None` when none is given).
pub fn resolve(
    db: &Db,
    user: Option<&str>,
    user_id: Option<u32>,
    group: Option<&str>,
    group_id: Option<u32>,
) -> Result<Option<Ids>, String> {
    let mut uid = user_id;
    let mut gid = group_id;
    if let Some(name) = user {
        let Some(u) = db.users.iter().find(|u| u.name == name) else {
            return Err(format!("user {name:?} not found in /etc/passwd"));
        };
        if uid.is_some_and(|id| id != u.uid) {
            return Err(format!(
                "user {name:?} UID ({}) does not match user-id ({})",
                u.uid,
                uid.unwrap_or_default()
            ));
        }
        uid = Some(u.uid);
    }
    if let Some(name) = group {
        let Some((_, g)) = db.groups.iter().find(|(n, _)| n == name) else {
            return Err(format!("group {name:?} not found in /etc/group"));
        };
        if gid.is_some_and(|id| id != *g) {
            return Err(format!(
                "group {name:?} GID ({g}) does not match group-id ({})",
                gid.unwrap_or_default()
            ));
        }
        gid = Some(*g);
    }
    match (uid, gid) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err("must specify user, not just group".into()),
        (Some(uid), Some(gid)) => Ok(Some(Ids { uid, gid })),
        (Some(uid), None) => match db.by_uid(uid) {
            Some(u) => Ok(Some(Ids { uid, gid: u.gid })),
            None => Err(format!(
                "must specify group, not just UID ({uid} is not in /etc/passwd)"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Db {
        Db {
            users: parse_passwd(
                "root:x:0:0:root:/root:/bin/sh\n_daemon_:x:584792:584792::/nonexistent:/usr/bin/false\nbad line\n",
            ),
            groups: parse_group("root:x:0:\n_daemon_:x:584792:\n"),
        }
    }

    #[test]
    fn resolves_like_pebble() {
        let db = db();
        let ids = |uid, gid| Ok(Some(Ids { uid, gid }));
        assert_eq!(resolve(&db, None, None, None, None), Ok(None));
        assert_eq!(
            resolve(&db, Some("_daemon_"), None, None, None),
            ids(584792, 584792)
        );
        assert_eq!(
            resolve(&db, None, Some(0), Some("_daemon_"), None),
            ids(0, 584792)
        );
        assert_eq!(
            resolve(&db, Some("root"), Some(0), None, Some(0)),
            ids(0, 0)
        );
        assert!(
            resolve(&db, Some("root"), Some(5), None, None)
                .unwrap_err()
                .contains("does not match")
        );
        assert!(
            resolve(&db, None, None, Some("root"), None)
                .unwrap_err()
                .contains("not just group")
        );
        assert!(
            resolve(&db, Some("nobody"), None, None, None)
                .unwrap_err()
                .contains("not found")
        );
        assert!(
            resolve(&db, None, Some(7), None, None)
                .unwrap_err()
                .contains("not just UID")
        );
    }
}
