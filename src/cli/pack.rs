//! `rcraft pack`: args -> [`crate::pack::PackOptions`] -> [`crate::pack::pack`].

use anyhow::Context;

use super::{PackArgs, UserError};
use crate::pack::{PackOptions, pack};
use crate::printer::Printer;
use crate::project;

/// Runs `rcraft pack`.
pub fn run(args: PackArgs, printer: &Printer) -> anyhow::Result<()> {
    let cwd = std::env::current_dir()?;
    let project_dir = cwd.join(&args.project_dir);
    let project_dir = project_dir
        .canonicalize()
        .with_context(|| format!("cannot open project directory `{}`", project_dir.display()))
        .map_err(|e| UserError(format!("{e:#}")))?;
    let output_dir = cwd.join(args.output.unwrap_or_else(|| cwd.clone()));
    let source_date_epoch = source_date_epoch()?;

    let loaded = project::load(&project_dir)?;
    for warning in &loaded.warnings {
        printer.warn(warning);
    }
    let opts = PackOptions {
        output_dir,
        platform: args.platform,
        build_for: args.build_for,
        source_date_epoch,
    };
    for packed in pack(&loaded.project, &opts, printer)? {
        printer.detail(&format!("{} {}", packed.ref_name, packed.digest));
        let shown = packed
            .path
            .strip_prefix(&cwd)
            .unwrap_or(&packed.path)
            .display()
            .to_string();
        printer.result(&format!("Packed {shown}"));
    }
    Ok(())
}

/// `SOURCE_DATE_EPOCH` as seconds (unset or empty = 0).
fn source_date_epoch() -> anyhow::Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| {
            UserError(format!(
                "SOURCE_DATE_EPOCH must be a number of seconds since 1970-01-01, not {v:?}"
            ))
            .into()
        }),
        _ => Ok(0),
    }
}
