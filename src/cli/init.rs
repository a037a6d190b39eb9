//! `rcraft init`: args -> [`crate::init::InitOptions`] -> [`crate::init::init`].

use super::InitArgs;
use super::printer::Printer;
use crate::error::Error;
use crate::init::{InitOptions, init};
use crate::progress::Progress;

/// Runs `rcraft init`.
pub fn run(args: InitArgs, printer: &Printer) -> Result<(), Error> {
    let dir = match args.dir {
        Some(d) => d,
        None => super::current_dir()?,
    };
    let outcome = init(&InitOptions {
        dir,
        name: args.name,
        profile: args.profile,
    })?;
    for path in &outcome.written {
        printer.detail(&format!("wrote {}", path.display()));
    }
    for message in &outcome.messages {
        printer.result(message);
    }
    Ok(())
}
