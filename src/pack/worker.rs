//! Finding the worker-server binary that goes into every rock, and its layer.
//!
//! The worker-server (rcraft's Pebble-compatible PID 1, `src/bin/worker-server.rs`) must be a
//! static executable, since it runs on `bare` images with no libc. rcraft looks for it, with
//! no network, in `$RCRAFT_WORKER_SERVER`, then next to its own executable (where
//! `scripts/install.sh` puts it). A dynamically linked build (what a plain `cargo build`
//! makes) is refused with the command that builds a static one.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::oci::{EntryKind, LayerBuilder, LayerEntry, OciError};

use super::image::WORKER_SERVER_PATH;
use super::rootfs::{PEBBLE_DIR, PEBBLE_LAYERS_DIR};

/// How to build a static worker-server, for messages.
pub const BUILD_HINT: &str = "build it with `RUSTFLAGS=\"-C target-feature=+crt-static\" cargo build --profile worker --bin worker-server --target x86_64-unknown-linux-gnu` and point `RCRAFT_WORKER_SERVER` at target/x86_64-unknown-linux-gnu/worker/worker-server (scripts/install.sh does both)";

/// Where the worker-server was (or was not) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// A static executable.
    Found(PathBuf),
    /// An executable that needs a dynamic loader: it would not run on a bare image.
    Dynamic(PathBuf),
    /// `RCRAFT_WORKER_SERVER` names no file.
    Missing(PathBuf),
    /// Nowhere to be found.
    NotFound,
}

/// Looks for the worker-server: `$RCRAFT_WORKER_SERVER`, then next to the running `rcraft`.
pub fn locate() -> Located {
    let candidate = match std::env::var_os("RCRAFT_WORKER_SERVER").filter(|v| !v.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => match std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
        {
            Some(dir) if dir.join("worker-server").is_file() => dir.join("worker-server"),
            _ => return Located::NotFound,
        },
    };
    match is_static_elf(&candidate) {
        Ok(true) => Located::Found(candidate),
        Ok(false) => Located::Dynamic(candidate),
        Err(_) => Located::Missing(candidate),
    }
}

/// Whether `path` is an ELF executable without a program interpreter (`PT_INTERP`).
pub fn is_static_elf(path: &Path) -> std::io::Result<bool> {
    let mut head = Vec::new();
    std::fs::File::open(path)?
        .take(64 * 1024)
        .read_to_end(&mut head)?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not a 64-bit ELF file");
    if head.len() < 64 || &head[..4] != b"\x7fELF" || head[4] != 2 || head[5] != 1 {
        return Err(bad());
    }
    let u16_at = |o: usize| u16::from_le_bytes([head[o], head[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(head[0x20..0x28].try_into().map_err(|_| bad())?) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        let Some(p_type) = head.get(at..at + 4) else {
            return Err(bad());
        };
        if u32::from_le_bytes([p_type[0], p_type[1], p_type[2], p_type[3]]) == 3 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The worker-server's own layer: the binary at [`WORKER_SERVER_PATH`], `usr/bin/pebble`
/// linking to it (for operators and tools that call `pebble`), and Pebble's directories.
pub fn layer(binary: &Path) -> Result<LayerBuilder, OciError> {
    let dir = |path: &str, mode| LayerEntry {
        path: path.to_string(),
        kind: EntryKind::Dir,
        mode,
        uid: 0,
        gid: 0,
    };
    let rel = WORKER_SERVER_PATH.trim_start_matches('/');
    let mut b = LayerBuilder::new();
    b.add(dir("usr", 0o755))?;
    b.add(dir("usr/bin", 0o755))?;
    b.add(LayerEntry {
        path: rel.to_string(),
        kind: EntryKind::File(binary.to_path_buf()),
        mode: 0o755,
        uid: 0,
        gid: 0,
    })?;
    b.add(LayerEntry {
        path: "usr/bin/pebble".to_string(),
        kind: EntryKind::Symlink("worker-server".to_string()),
        mode: 0o777,
        uid: 0,
        gid: 0,
    })?;
    b.add(dir(PEBBLE_DIR, 0o777))?;
    b.add(dir(PEBBLE_LAYERS_DIR, 0o755))?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_static_from_dynamic_executables() {
        // /bin/sh is dynamically linked on every Debian/Ubuntu.
        assert_eq!(is_static_elf(Path::new("/bin/sh")).ok(), Some(false));
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("script");
        std::fs::write(&text, "#!/bin/sh\n").unwrap();
        assert!(is_static_elf(&text).is_err());
    }
}
