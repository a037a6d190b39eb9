//! [`Nil`], the `nil` plugin: the default build does nothing (parts that only stage packages,
//! or do everything in override scripts).

use std::path::Path;

use super::{BuildContext, BuildInputs, Plugin};
use crate::lifecycle::StepError;
use crate::project::Part;

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

    fn build_inputs(&self, _part: &Part, _source: &Path) -> BuildInputs {
        BuildInputs::Files(Vec::new())
    }
}
