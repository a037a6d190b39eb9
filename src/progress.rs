//! [`Progress`]: how library code tells the user what it is doing, without drawing anything.
//!
//! `pack`, `pull`, `push` and the lifecycle report status lines, warnings, detail and long
//! [`Task`]s (a spinner when the amount of work is unknown, a bar of bytes or items when it is
//! known) through this small interface. The command-line front end implements it
//! (`cli::printer::Printer`: indicatif bars on a terminal, plain lines in logs, nothing with
//! `--quiet`); tests and other library users pass [`Silent`].

/// Where library code reports progress; see the module docs.
pub trait Progress: Send + Sync {
    /// A status line (hidden with `--quiet`).
    fn info(&self, line: &str);
    /// A warning (hidden with `--quiet`).
    fn warn(&self, line: &str);
    /// Detail: commands, digests, timings (shown with `--verbose` only).
    fn detail(&self, line: &str);
    /// Whether detail is shown, to skip building detail nobody will see.
    fn is_verbose(&self) -> bool;
    /// Starts a long piece of work: a spinner when `total` is `None`, else a bar of `total`
    /// units. Where nothing is drawn (not a terminal), `message` is shown as a status line.
    fn task(&self, message: &str, total: Option<u64>) -> Box<dyn Task>;
}

/// A long piece of work started with [`Progress::task`]; it disappears when dropped.
pub trait Task: Send + Sync {
    /// How many units are done so far.
    fn set_position(&self, done: u64);
    /// `n` more units are done.
    fn inc(&self, n: u64);
}

/// Reports nothing: for tests and library callers without a user to tell.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn info(&self, _line: &str) {}
    fn warn(&self, _line: &str) {}
    fn detail(&self, _line: &str) {}
    fn is_verbose(&self) -> bool {
        false
    }
    fn task(&self, _message: &str, _total: Option<u64>) -> Box<dyn Task> {
        Box::new(Silent)
    }
}

impl Task for Silent {
    fn set_position(&self, _done: u64) {}
    fn inc(&self, _n: u64) {}
}
