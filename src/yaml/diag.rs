//! Diagnostics: what is wrong in the project file, where, and how to fix it.
//!
//! Validation never stops at the first problem: it collects [`Diagnostic`]s (message, field path,
//! file position, optional hint) and [`crate::project::ProjectError::Invalid`] prints them all in
//! Rockcraft's `Bad rockcraft.yaml content:` list, each prefixed with `file:line:column`.

use std::fmt;

use super::{Node, Span};

/// One problem in the project file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// What is wrong, in Rockcraft's wording where it has one.
    pub message: String,
    /// Field path such as `parts.foo.plugin` (empty for whole-file problems).
    pub field: String,
    /// The offending input rendered Python-style, when Rockcraft shows it.
    pub input: Option<String>,
    /// Where in the file.
    pub span: Span,
    /// How to fix it, when there is something useful to say.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A problem at `span` in `field`.
    pub fn new(field: impl Into<String>, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            field: field.into(),
            input: None,
            span,
            hint: None,
        }
    }

    /// A problem with a node's value (records the node's position and input).
    pub fn at(field: impl Into<String>, node: &Node, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            input: Some(node.repr()),
            ..Diagnostic::new(field, node.span, message)
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    /// Drops the `input: ...` part (for messages that already show the value).
    pub fn without_input(mut self) -> Diagnostic {
        self.input = None;
        self
    }

    /// Renders the diagnostic as one list item, prefixed with `file:line:column` when known.
    pub fn render(&self, file: &str) -> String {
        let mut out = String::from("- ");
        if self.span.is_known() {
            out.push_str(&format!("{file}:{}: ", self.span));
        }
        out.push_str(&self.message);
        match (&self.field.is_empty(), &self.input) {
            (false, Some(input)) => {
                out.push_str(&format!(" (in field '{}', input: {input})", self.field))
            }
            (false, None) => out.push_str(&format!(" (in field '{}')", self.field)),
            (true, _) => {}
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!("\n  hint: {hint}"));
        }
        out
    }
}

/// A list of diagnostics in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Adds one.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sorts by position (generated nodes last), keeping insertion order for ties.
    pub fn sort(&mut self) {
        self.0
            .sort_by_key(|d| (!d.span.is_known(), d.span.line, d.span.column));
    }

    /// Renders all, one list item each.
    pub fn render(&self, file: &str) -> String {
        self.0
            .iter()
            .map(|d| d.render(file))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render("rockcraft.yaml"))
    }
}

/// "did you mean" for an unknown name among `candidates` (Jaro-Winkler, like cargo).
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean '{c}'?"))
}
