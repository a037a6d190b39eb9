//! A small YAML parser for layer files: the block and flow subset Pebble layers use.
//!
//! Supported: block mappings and sequences (including `- key: value` compact mappings and
//! sequences at their key's indentation), flow `[...]` and `{...}` (may span lines), plain,
//! single- and double-quoted scalars (multi-line, folded), `|` and `>` block scalars with
//! chomping and indentation indicators, comments, and `---`/`...` around one document.
//! Anchors, aliases, tags, complex keys and multiple documents are rejected with a clear error.
//! Plain scalars resolve like YAML 1.2's core schema (null, bools, ints, floats, strings).
//!
//! serde-saphyr (what `rockcraft.yaml` loading uses) costs ~340 KB in the static binary; this
//! keeps the worker-server under its 2 MB goal. Values keep their 1-based line for errors.

/// One YAML value.
#[derive(Clone, Debug, PartialEq)]
pub enum Yaml {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(String, Node)>),
}

/// A value and the (1-based) line where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Yaml,
    /// 1-based line, 0 when unknown.
    pub line: u64,
}

impl Node {
    /// The value as YAML would print a scalar (`8000`, `true`, `abc`); `None` for collections
    /// and null.
    pub fn scalar(&self) -> Option<String> {
        match &self.value {
            Yaml::Bool(b) => Some(b.to_string()),
            Yaml::Int(i) => Some(i.to_string()),
            Yaml::Float(f) => Some(f.to_string()),
            Yaml::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// A short name of the value's type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Yaml::Null => "null",
            Yaml::Bool(_) => "a boolean",
            Yaml::Int(_) => "an integer",
            Yaml::Float(_) => "a number",
            Yaml::Str(_) => "a string",
            Yaml::Seq(_) => "a list",
            Yaml::Map(_) => "a mapping",
        }
    }
}

/// A syntax error: what is wrong and on which line.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// 1-based line, 0 when unknown.
    pub line: u64,
}

type R<T> = Result<T, SyntaxError>;

fn fail<T>(line: u64, message: impl Into<String>) -> R<T> {
    Err(SyntaxError {
        message: message.into(),
        line,
    })
}

#[derive(Clone, Debug)]
struct Line {
    indent: usize,
    text: String,
    number: u64,
}

fn is_blank(text: &str) -> bool {
    let t = text.trim();
    t.is_empty() || t.starts_with('#')
}

/// Parses one YAML document; an empty document is `Null`.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut lines = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let number = n as u64 + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        if raw[indent..].starts_with('\t') && !is_blank(raw) {
            return fail(number, "tabs are not allowed for indentation");
        }
        lines.push(Line {
            indent,
            text: raw[indent..].trim_end().to_string(),
            number,
        });
    }
    let mut p = Parser { lines, i: 0 };
    p.skip_blank();
    if p.i < p.lines.len() && p.lines[p.i].indent == 0 && is_marker(&p.lines[p.i].text, "---") {
        let rest = p.lines[p.i].text[3..].trim().to_string();
        if !is_blank(&rest) {
            return fail(p.lines[p.i].number, "content after --- is not supported");
        }
        p.i += 1;
    }
    let node = p.block(-1)?;
    p.skip_blank();
    if p.i < p.lines.len() && p.lines[p.i].indent == 0 && is_marker(&p.lines[p.i].text, "...") {
        p.i += 1;
        p.skip_blank();
    }
    if let Some(line) = p.lines.get(p.i) {
        let what = if is_marker(&line.text, "---") {
            "only one YAML document is supported"
        } else {
            "unexpected content (check the indentation)"
        };
        return fail(line.number, what);
    }
    Ok(node)
}

fn is_marker(text: &str, marker: &str) -> bool {
    text == marker || text.starts_with(&format!("{marker} "))
}

struct Parser {
    lines: Vec<Line>,
    i: usize,
}

impl Parser {
    fn skip_blank(&mut self) {
        while self.i < self.lines.len() && is_blank(&self.lines[self.i].text) {
            self.i += 1;
        }
    }

    /// The block node that starts on the next non-blank line, if indented more than `parent`.
    fn block(&mut self, parent: isize) -> R<Node> {
        self.skip_blank();
        let Some(line) = self.lines.get(self.i).cloned() else {
            return Ok(Node {
                value: Yaml::Null,
                line: 0,
            });
        };
        if line.indent as isize <= parent {
            return Ok(Node {
                value: Yaml::Null,
                line: 0,
            });
        }
        if is_dash(&line.text) {
            return self.seq(line.indent);
        }
        if split_key(&line.text, line.number)?.is_some() {
            return self.map(line.indent);
        }
        self.i += 1;
        self.inline(&line.text, line.number, parent)
    }

    fn map(&mut self, indent: usize) -> R<Node> {
        let first = self.lines[self.i].number;
        let mut entries: Vec<(String, Node)> = Vec::new();
        loop {
            self.skip_blank();
            let Some(line) = self.lines.get(self.i).cloned() else {
                break;
            };
            if line.indent < indent
                || (line.indent == indent && is_dash(&line.text))
                || is_doc_marker(&line)
            {
                break;
            }
            if line.indent > indent {
                return fail(line.number, "unexpected indentation");
            }
            let Some((key, rest)) = split_key(&line.text, line.number)? else {
                return fail(line.number, "expected a `key: value` line");
            };
            self.i += 1;
            let value = if is_blank(&rest) {
                self.skip_blank();
                match self.lines.get(self.i) {
                    Some(next) if next.indent == indent && is_dash(&next.text) => {
                        self.seq(indent)?
                    }
                    _ => self.block(indent as isize)?,
                }
            } else {
                self.inline(&rest, line.number, indent as isize)?
            };
            if entries.iter().any(|(k, _)| *k == key) {
                return fail(line.number, format!("duplicate key {key:?}"));
            }
            let value = if value.value == Yaml::Null && value.line == 0 {
                Node {
                    value: Yaml::Null,
                    line: line.number,
                }
            } else {
                value
            };
            entries.push((key, value));
        }
        Ok(Node {
            value: Yaml::Map(entries),
            line: first,
        })
    }

    fn seq(&mut self, indent: usize) -> R<Node> {
        let first = self.lines[self.i].number;
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            let Some(line) = self.lines.get(self.i).cloned() else {
                break;
            };
            if is_doc_marker(&line) {
                break;
            }
            if line.indent < indent || !is_dash(&line.text) {
                if line.indent > indent {
                    return fail(line.number, "unexpected indentation");
                }
                break;
            }
            if line.indent > indent {
                return fail(line.number, "unexpected indentation");
            }
            let after = &line.text[1..];
            let rest = after.trim_start();
            if is_blank(rest) {
                self.i += 1;
                items.push(self.block(indent as isize)?);
                continue;
            }
            // `- key: v` or `- - x`: the rest is a node indented at its own column.
            let column = indent + 1 + (after.len() - rest.len());
            if is_dash(rest) || split_key(rest, line.number)?.is_some() {
                self.lines[self.i] = Line {
                    indent: column,
                    text: rest.to_string(),
                    number: line.number,
                };
                items.push(if is_dash(rest) {
                    self.seq(column)?
                } else {
                    self.map(column)?
                });
                continue;
            }
            self.i += 1;
            items.push(self.inline(rest, line.number, indent as isize)?);
        }
        Ok(Node {
            value: Yaml::Seq(items),
            line: first,
        })
    }

    /// Continuation lines of a multi-line scalar: those indented more than `parent`.
    fn continuation(&mut self, parent: isize) -> R<Vec<String>> {
        let mut out = Vec::new();
        while let Some(line) = self.lines.get(self.i) {
            if line.text.is_empty() {
                out.push(String::new());
            } else if line.indent as isize > parent && !is_doc_marker(line) {
                if split_key(&line.text, line.number)?.is_some() {
                    return fail(line.number, "unexpected indentation");
                }
                out.push(line.text.clone());
            } else {
                break;
            }
            self.i += 1;
        }
        while out.last().is_some_and(String::is_empty) {
            out.pop();
            self.i -= 1;
        }
        Ok(out)
    }

    /// A value that starts on a line (after `key:` or `-`), possibly continuing below.
    fn inline(&mut self, text: &str, number: u64, parent: isize) -> R<Node> {
        let node = |value| {
            Ok(Node {
                value,
                line: number,
            })
        };
        match text.chars().next() {
            Some('&' | '*' | '!') => fail(number, "anchors, aliases and tags are not supported"),
            Some('|' | '>') => node(Yaml::Str(self.block_scalar(text, number, parent)?)),
            Some('[' | '{') => {
                let mut all = text.to_string();
                let mut extra = Vec::new();
                loop {
                    let mut f = Flow {
                        s: all.chars().collect(),
                        i: 0,
                        line: number,
                    };
                    match f.value() {
                        Ok(v) => {
                            f.ws();
                            if f.i < f.s.len() && f.s[f.i] != '#' {
                                return fail(number, "unexpected text after a flow collection");
                            }
                            return node(v);
                        }
                        Err(e) if e.message == "unterminated flow collection" => {
                            match self.lines.get(self.i) {
                                Some(l) if l.indent as isize > parent || l.text.is_empty() => {
                                    extra.push(l.text.clone());
                                    all = format!("{text} {}", extra.join(" "));
                                    self.i += 1;
                                }
                                _ => return Err(e),
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            Some(q @ ('"' | '\'')) => {
                let mut all = text.to_string();
                loop {
                    if let Some((s, rest)) = quoted(&all, q, number)? {
                        if !is_blank(rest) {
                            return fail(number, "unexpected text after a quoted string");
                        }
                        return node(Yaml::Str(s));
                    }
                    match self.lines.get(self.i) {
                        Some(l) if l.indent as isize > parent || l.text.is_empty() => {
                            all.push('\n');
                            all.push_str(&l.text);
                            self.i += 1;
                        }
                        _ => return fail(number, "unterminated quoted string"),
                    }
                }
            }
            _ => {
                let first = strip_comment(text);
                let more = if first.len() == text.len() {
                    self.continuation(parent)?
                } else {
                    Vec::new()
                };
                if more.is_empty() {
                    return node(resolve(first));
                }
                let mut parts = vec![first.to_string()];
                parts.extend(more.iter().map(|l| strip_comment(l).to_string()));
                node(Yaml::Str(fold(&parts)))
            }
        }
    }

    fn block_scalar(&mut self, header: &str, number: u64, parent: isize) -> R<String> {
        let header = strip_comment(header);
        let literal = header.starts_with('|');
        let mut chomp = ' ';
        let mut explicit = None;
        for c in header[1..].chars() {
            match c {
                '-' | '+' => chomp = c,
                '1'..='9' => explicit = c.to_digit(10),
                _ => return fail(number, format!("invalid block scalar header {header:?}")),
            }
        }
        let mut raw: Vec<(usize, String)> = Vec::new();
        while let Some(line) = self.lines.get(self.i) {
            if !line.text.is_empty() && (line.indent as isize) <= parent {
                break;
            }
            raw.push((line.indent, line.text.clone()));
            self.i += 1;
        }
        let content_indent = match explicit {
            Some(n) => parent.max(0) as usize + n as usize,
            None => raw
                .iter()
                .find(|(_, t)| !t.is_empty())
                .map_or(0, |(i, _)| *i),
        };
        let lines: Vec<String> = raw
            .iter()
            .map(|(i, t)| {
                if t.is_empty() {
                    String::new()
                } else {
                    format!("{}{t}", " ".repeat(i.saturating_sub(content_indent)))
                }
            })
            .collect();
        let trailing = lines.iter().rev().take_while(|l| l.is_empty()).count();
        let body = &lines[..lines.len() - trailing];
        let mut out = if literal {
            body.join("\n")
        } else {
            let mut s = String::new();
            for (n, l) in body.iter().enumerate() {
                if n > 0 {
                    let prev = &body[n - 1];
                    if l.is_empty() || l.starts_with(' ') || prev.starts_with(' ') {
                        s.push('\n');
                    } else if !prev.is_empty() {
                        s.push(' ');
                    }
                }
                s.push_str(l);
            }
            s
        };
        match chomp {
            '-' => {}
            '+' => out.push_str(&"\n".repeat(trailing + usize::from(!body.is_empty()))),
            _ if !body.is_empty() => out.push('\n'),
            _ => {}
        }
        Ok(out)
    }
}

fn is_doc_marker(line: &Line) -> bool {
    line.indent == 0 && (is_marker(&line.text, "...") || is_marker(&line.text, "---"))
}

fn is_dash(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

mod scalar;

use scalar::{Flow, fold, quoted, resolve, split_key, strip_comment};

#[cfg(test)]
mod tests;
