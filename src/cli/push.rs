//! `rcraft push`: args -> [`crate::registry::ClientOptions`] and the archive to push ->
//! [`crate::push::push`], then the result line `Pushed REF:TAG@sha256:…` on stdout.
//!
//! The archive defaults to the newest `.rock` in the current directory. The password comes
//! only from stdin (`--password-stdin`), never from an argument, so it stays out of shell
//! history and process listings.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::PushArgs;
use super::printer::Printer;
use crate::error::Error;
use crate::progress::Progress;
use crate::push::push;
use crate::registry::{Client, ClientOptions, Reference};

/// Runs `rcraft push`.
pub fn run(args: PushArgs, printer: &Printer) -> Result<(), Error> {
    let target = Reference::parse(&args.reference)?;
    let cwd = super::current_dir()?;
    let rock = match &args.archive {
        Some(path) => {
            let path = cwd.join(path);
            if !path.is_file() {
                return Err(Error::Setting(format!(
                    "cannot push `{}`: no such file",
                    path.display()
                )));
            }
            path
        }
        None => newest_rock(&cwd)?,
    };
    let credentials = match (&args.username, args.password_stdin) {
        (Some(user), true) => Some((user.clone(), read_password()?)),
        _ => None,
    };
    let log: Option<crate::registry::Logger> = if printer.is_verbose() {
        Some(Arc::new(|line: &str| eprintln!("{line}")))
    } else {
        None
    };
    let warn_printer = printer.clone();
    let opts = ClientOptions {
        insecure: args.insecure,
        credentials,
        credentials_for: Some(target.domain().to_owned()),
        log,
        warn: Some(Arc::new(move |line: &str| warn_printer.warn(line))),
        ..ClientOptions::default()
    };
    let client = Client::new(opts)?;
    let outcome = push(&rock, &target, &client, printer)?;
    printer.result(&format!("Pushed {}@{}", outcome.reference, outcome.digest));
    Ok(())
}

/// The password from stdin, without the trailing newline.
fn read_password() -> Result<String, Error> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|source| Error::Process {
            action: "read the password from stdin",
            source,
        })?;
    let password = text.strip_suffix('\n').unwrap_or(&text);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(Error::Setting(
            "the password read from stdin is empty".to_owned(),
        ));
    }
    Ok(password.to_owned())
}

/// The most recently modified `*.rock` in `dir`.
fn newest_rock(dir: &Path) -> Result<PathBuf, Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::UserPath {
        action: "list",
        path: dir.to_path_buf(),
        source,
    })?;
    let newest = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.ends_with(".rock") && !name.starts_with('.')
        })
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            meta.is_file()
                .then(|| (meta.modified().ok(), e.file_name(), e.path()))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    match newest {
        Some((_, _, path)) => Ok(path),
        None => Err(Error::Setting(format!(
            "no .rock file in `{}`: run `rcraft pack` first, or pass --archive FILE",
            dir.display()
        ))),
    }
}
