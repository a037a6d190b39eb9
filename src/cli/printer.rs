//! [`Printer`]: where rcraft's output goes and how much of it; the command line's
//! [`Progress`].
//!
//! Results (what a script would capture, e.g. `Packed hello_0.1_amd64.rock`) go to stdout;
//! progress, warnings and detail go to stderr. `--quiet` keeps only results and errors,
//! `--verbose` adds detail (commands run, digests, timings). Spinners and bars are drawn only
//! when stderr is a terminal and the verbosity is normal, so CI logs stay readable: there, each
//! task is one plain line. Lines printed while bars are drawn appear above them.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::{Progress, Task};

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
    /// The bars' home, when they are drawn (stderr is a terminal, normal verbosity).
    bars: Option<MultiProgress>,
}

impl Printer {
    /// A printer for the given verbosity, detecting whether stderr is a terminal.
    pub fn new(verbosity: Verbosity) -> Printer {
        let draw = verbosity == Verbosity::Normal && std::io::stderr().is_terminal();
        Printer {
            verbosity,
            bars: draw.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    /// A result line, on stdout (always printed).
    pub fn result(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        // A closed stdout (e.g. `| head`) is not an error worth failing for.
        let _ = writeln!(out, "{line}");
    }

    fn line(&self, line: &str) {
        match &self.bars {
            Some(bars) if bars.println(line).is_ok() => {}
            _ => eprintln!("{line}"),
        }
    }
}

impl Progress for Printer {
    fn info(&self, line: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.line(line);
        }
    }

    fn warn(&self, line: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.line(line);
        }
    }

    fn detail(&self, line: &str) {
        if self.is_verbose() {
            self.line(line);
        }
    }

    fn is_verbose(&self) -> bool {
        self.verbosity >= Verbosity::Verbose
    }

    fn task(&self, message: &str, total: Option<u64>) -> Box<dyn Task> {
        let Some(bars) = &self.bars else {
            self.info(message);
            return Box::new(Bar(ProgressBar::hidden()));
        };
        let bar = bars.add(ProgressBar::new(total.unwrap_or(0)));
        let template = match total {
            None => "{spinner} {msg} {elapsed}",
            Some(_) => "{msg:>20} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(message.to_string());
        if total.is_none() {
            bar.enable_steady_tick(Duration::from_millis(100));
        }
        Box::new(Bar(bar))
    }
}

/// A drawn (or hidden) indicatif bar; cleared when dropped.
struct Bar(ProgressBar);

impl Task for Bar {
    fn set_position(&self, done: u64) {
        self.0.set_position(done);
    }

    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
