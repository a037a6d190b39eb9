//! [`Printer`]: where rcraft's output goes and how much of it.
//!
//! Results (what a script would capture, e.g. `Packed hello_0.1_amd64.rock`) go to stdout;
//! progress, warnings and detail go to stderr. `--quiet` keeps only results and errors,
//! `--verbose` adds detail (commands run, digests, timings). Progress bars are drawn only when
//! stderr is a terminal and the printer is not quiet, so CI logs stay readable.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How much to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Results and errors only.
    Quiet,
    /// Plus progress and warnings.
    Normal,
    /// Plus detail.
    Verbose,
}

/// Prints to the user according to the verbosity and whether stderr is a terminal.
#[derive(Clone, Debug)]
pub struct Printer {
    verbosity: Verbosity,
    tty: bool,
}

impl Printer {
    /// A printer for the given verbosity, detecting whether stderr is a terminal.
    pub fn new(verbosity: Verbosity) -> Printer {
        Printer {
            verbosity,
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// The verbosity.
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// Whether `--verbose` is on.
    pub fn is_verbose(&self) -> bool {
        self.verbosity >= Verbosity::Verbose
    }

    /// A result line, on stdout (always printed).
    pub fn result(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        // A closed stdout (e.g. `| head`) is not an error worth failing for.
        let _ = writeln!(out, "{line}");
    }

    /// A progress or status line, on stderr (not when quiet).
    pub fn info(&self, line: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{line}");
        }
    }

    /// A warning, on stderr (not when quiet).
    pub fn warn(&self, line: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{line}");
        }
    }

    /// Detail, on stderr, only with `--verbose`.
    pub fn detail(&self, line: &str) {
        if self.is_verbose() {
            eprintln!("{line}");
        }
    }

    /// A spinner for a step of unknown length; hidden when not on a terminal or quiet. When
    /// hidden, `message` is printed once as a plain line instead (not when quiet).
    pub fn spinner(&self, message: &str) -> ProgressBar {
        if self.tty && self.verbosity == Verbosity::Normal {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(message.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        } else {
            self.info(message);
            ProgressBar::hidden()
        }
    }
}
