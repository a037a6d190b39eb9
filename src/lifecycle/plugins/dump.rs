//! [`Dump`], the `dump` plugin: the default build copies the build work dir into the install
//! dir as `cp --archive --link --no-dereference . "$CRAFT_PART_INSTALL"` does (hard links,
//! modes and symlinks kept).

use super::{BuildContext, Plugin};
use crate::fsops::{self, CopyMode};
use crate::lifecycle::StepError;

/// The `dump` plugin.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dump;

impl Plugin for Dump {
    fn name(&self) -> &'static str {
        "dump"
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<(), StepError> {
        if !ctx.build_work_dir.is_dir() {
            return Err(StepError::io(
                "dump",
                ctx.build_work_dir,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        fsops::copy_tree(ctx.build_work_dir, ctx.install_dir, CopyMode::Link, &|_| {
            false
        })?;
        Ok(())
    }
}
