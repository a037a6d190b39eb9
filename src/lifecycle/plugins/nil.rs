//! [`Nil`], the `nil` plugin: the default build does nothing (parts that only stage packages,
//! or do everything in override scripts).

use super::{BuildContext, Plugin};
use crate::lifecycle::StepError;

/// The `nil` plugin.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nil;

impl Plugin for Nil {
    fn name(&self) -> &'static str {
        "nil"
    }

    fn build(&self, _ctx: &BuildContext<'_>) -> Result<(), StepError> {
        Ok(())
    }
}
