//! [`WorkDirs`] and [`PartDirs`]: the layout of the lifecycle's work directory, shared by all
//! steps.
//!
//! ```text
//! <work_dir>/
//!   bin/craftctl                 the shim override scripts call (see `craftctl.rs`)
//!   parts/<part>/src/            pulled source            ($CRAFT_PART_SRC)
//!   parts/<part>/build/          copy of src the build runs in ($CRAFT_PART_BUILD)
//!   parts/<part>/install/        build output             ($CRAFT_PART_INSTALL)
//!   parts/<part>/stage_packages/ its unpacked stage-packages (pull), copied into install/ (build)
//!   parts/<part>/run/            the scripts rcraft ran, for debugging
//!   stage/                       all parts' staged files  ($CRAFT_STAGE)
//!   prime/                       the rock's file system   ($CRAFT_PRIME)
//! ```

use std::path::{Path, PathBuf};

use crate::fsops;

/// The directories shared by all parts.
#[derive(Clone, Debug)]
pub struct WorkDirs {
    /// The work directory itself.
    pub root: PathBuf,
    /// `parts/`.
    pub parts: PathBuf,
    /// `stage/`.
    pub stage: PathBuf,
    /// `prime/`.
    pub prime: PathBuf,
    /// `bin/`, holding `craftctl`.
    pub bin: PathBuf,
}

impl WorkDirs {
    /// The layout under `root` (nothing is created).
    pub fn new(root: &Path) -> Self {
        WorkDirs {
            root: root.to_path_buf(),
            parts: root.join("parts"),
            stage: root.join("stage"),
            prime: root.join("prime"),
            bin: root.join("bin"),
        }
    }

    /// Creates `parts/`, `stage/`, `prime/` and `bin/` where missing, keeping what earlier
    /// runs left (steps whose inputs are unchanged are skipped).
    pub fn prepare(&self) -> std::io::Result<()> {
        for dir in [&self.parts, &self.stage, &self.prime, &self.bin] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }

    /// Removes everything (`rcraft clean` without part names).
    pub fn remove_all(&self) -> std::io::Result<()> {
        fsops::remove_tree(&self.root)
    }

    /// The directories of one part; `source_subdir` is the part's (already checked)
    /// `source-subdir`.
    pub fn part(&self, name: &str, source_subdir: Option<&str>) -> PartDirs {
        let base = self.parts.join(name);
        let src = base.join("src");
        let build = base.join("build");
        let (src_work, build_work) = match source_subdir {
            Some(sub) if !sub.is_empty() => (src.join(sub), build.join(sub)),
            _ => (src.clone(), build.clone()),
        };
        PartDirs {
            src,
            src_work,
            build,
            build_work,
            install: base.join("install"),
            packages: base.join("stage_packages"),
            run: base.join("run"),
        }
    }
}

/// The directories of one part.
#[derive(Clone, Debug)]
pub struct PartDirs {
    /// `parts/<p>/src`.
    pub src: PathBuf,
    /// `src/<source-subdir>`.
    pub src_work: PathBuf,
    /// `parts/<p>/build`.
    pub build: PathBuf,
    /// `build/<source-subdir>`.
    pub build_work: PathBuf,
    /// `parts/<p>/install`.
    pub install: PathBuf,
    /// `parts/<p>/stage_packages`.
    pub packages: PathBuf,
    /// `parts/<p>/run`.
    pub run: PathBuf,
}
