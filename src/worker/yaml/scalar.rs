//! Scalars and flow collections for [`super`]: quoted strings with escapes, folding of
//! multi-line scalars, YAML 1.2 core-schema resolution of plain scalars, `key:` splitting and
//! the `[...]`/`{...}` flow parser.

use super::{Node, R, Yaml, fail};

/// Strips a trailing ` # comment` from a plain scalar.
pub(super) fn strip_comment(text: &str) -> &str {
    let mut prev_space = true;
    for (i, c) in text.char_indices() {
        if c == '#' && prev_space {
            return text[..i].trim_end();
        }
        prev_space = c == ' ' || c == '\t';
    }
    text.trim_end()
}

/// Folds the lines of a multi-line plain or quoted scalar: line breaks become spaces, empty
/// lines become newlines.
pub(super) fn fold(parts: &[String]) -> String {
    let mut out = String::new();
    let mut pending_newlines = 0;
    for (n, p) in parts.iter().enumerate() {
        let p = if n == 0 { p.trim_end() } else { p.trim() };
        if p.is_empty() && n > 0 {
            pending_newlines += 1;
            continue;
        }
        if n > 0 {
            if pending_newlines > 0 {
                out.push_str(&"\n".repeat(pending_newlines));
            } else {
                out.push(' ');
            }
        }
        pending_newlines = 0;
        out.push_str(p);
    }
    out
}

/// Splits `key: rest` (key plain or quoted); `None` if the line is not a mapping entry.
pub(super) fn split_key(text: &str, number: u64) -> R<Option<(String, String)>> {
    if let Some(q @ ('"' | '\'')) = text.chars().next() {
        if let Some((key, rest)) = quoted(text, q, number)? {
            let rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix(':')
                && (after.is_empty() || after.starts_with(' '))
            {
                return Ok(Some((key, after.trim_start().to_string())));
            }
        }
        return Ok(None);
    }
    if text.starts_with(['[', '{', '#', '|', '>', '&', '*', '!']) || text.starts_with("- ") {
        return Ok(None);
    }
    if text.starts_with("? ") {
        return fail(number, "complex mapping keys are not supported");
    }
    let bytes = text.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' && i > 0 && bytes[i - 1] == b' ' {
            return Ok(None);
        }
        if *b == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ') {
            let key = text[..i].trim_end().to_string();
            return Ok(Some((key, text[i + 1..].trim_start().to_string())));
        }
    }
    Ok(None)
}

/// Reads a quoted scalar at the start of `text`: `Some((value, rest))`, `None` if it does not
/// end in `text`.
pub(super) fn quoted(text: &str, q: char, number: u64) -> R<Option<(String, &str)>> {
    let mut out = String::new();
    let mut chars = text.char_indices().skip(1).peekable();
    let mut lines: Vec<String> = Vec::new();
    while let Some((i, c)) = chars.next() {
        if c == q {
            if q == '\'' && chars.peek().map(|(_, c)| *c) == Some('\'') {
                chars.next();
                out.push('\'');
                continue;
            }
            lines.push(out);
            return Ok(Some((fold(&lines), &text[i + 1..])));
        }
        if c == '\n' {
            lines.push(std::mem::take(&mut out));
            continue;
        }
        if c == '\\' && q == '"' {
            let Some((_, e)) = chars.next() else {
                return Ok(None);
            };
            let hex = |n: usize, chars: &mut std::iter::Peekable<_>| -> R<char> {
                let s: String = (0..n)
                    .filter_map(|_| chars.next().map(|(_, c): (usize, char)| c))
                    .collect();
                u32::from_str_radix(&s, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .map_or_else(|| fail(number, format!("invalid escape \\{e}{s}")), Ok)
            };
            out.push(match e {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                'e' => '\x1b',
                ' ' | '"' | '\\' | '/' => e,
                'x' => hex(2, &mut chars)?,
                'u' => hex(4, &mut chars)?,
                'U' => hex(8, &mut chars)?,
                '\n' => continue,
                _ => return fail(number, format!("invalid escape \\{e}")),
            });
            continue;
        }
        out.push(c);
    }
    Ok(None)
}

/// Resolves a plain scalar (YAML 1.2 core schema).
pub(super) fn resolve(s: &str) -> Yaml {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Yaml::Null,
        "true" | "True" | "TRUE" => return Yaml::Bool(true),
        "false" | "False" | "FALSE" => return Yaml::Bool(false),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = s.parse() {
            return Yaml::Int(i);
        }
    }
    let looks_float = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_float && let Ok(f) = s.parse::<f64>() {
        return Yaml::Float(f);
    }
    Yaml::Str(s.to_string())
}

/// A flow collection (`[a, b]`, `{k: v}`), parsed from its characters.
pub(super) struct Flow {
    pub(super) s: Vec<char>,
    pub(super) i: usize,
    pub(super) line: u64,
}

impl Flow {
    pub(super) fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i] == ' ' {
            self.i += 1;
        }
    }

    fn unterminated<T>(&self) -> R<T> {
        fail(self.line, "unterminated flow collection")
    }

    pub(super) fn value(&mut self) -> R<Yaml> {
        self.ws();
        match self.s.get(self.i) {
            None => self.unterminated(),
            Some('[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    match self.s.get(self.i) {
                        None => return self.unterminated(),
                        Some(']') => {
                            self.i += 1;
                            return Ok(Yaml::Seq(items));
                        }
                        _ => {}
                    }
                    items.push(Node {
                        value: self.value()?,
                        line: self.line,
                    });
                    self.ws();
                    match self.s.get(self.i) {
                        Some(',') => self.i += 1,
                        Some(']') => {}
                        None => return self.unterminated(),
                        Some(c) => {
                            return fail(self.line, format!("unexpected {c:?} in a flow sequence"));
                        }
                    }
                }
            }
            Some('{') => {
                self.i += 1;
                let mut entries: Vec<(String, Node)> = Vec::new();
                loop {
                    self.ws();
                    match self.s.get(self.i) {
                        None => return self.unterminated(),
                        Some('}') => {
                            self.i += 1;
                            return Ok(Yaml::Map(entries));
                        }
                        _ => {}
                    }
                    let key = match self.value()? {
                        Yaml::Null => "null".to_string(),
                        Yaml::Seq(_) | Yaml::Map(_) => {
                            return fail(self.line, "mapping keys must be scalars");
                        }
                        other => Node {
                            value: other,
                            line: 0,
                        }
                        .scalar()
                        .unwrap_or_default(),
                    };
                    self.ws();
                    let value = if self.s.get(self.i) == Some(&':') {
                        self.i += 1;
                        self.ws();
                        match self.s.get(self.i) {
                            Some(',' | '}') => Yaml::Null,
                            _ => self.value()?,
                        }
                    } else {
                        Yaml::Null
                    };
                    if entries.iter().any(|(k, _)| *k == key) {
                        return fail(self.line, format!("duplicate key {key:?}"));
                    }
                    entries.push((
                        key,
                        Node {
                            value,
                            line: self.line,
                        },
                    ));
                    self.ws();
                    match self.s.get(self.i) {
                        Some(',') => self.i += 1,
                        Some('}') => {}
                        None => return self.unterminated(),
                        Some(c) => {
                            return fail(self.line, format!("unexpected {c:?} in a flow mapping"));
                        }
                    }
                }
            }
            Some(q @ ('"' | '\'')) => {
                let q = *q;
                let rest: String = self.s[self.i..].iter().collect();
                match quoted(&rest, q, self.line)? {
                    Some((v, after)) => {
                        self.i = self.s.len() - after.chars().count();
                        Ok(Yaml::Str(v))
                    }
                    None => self.unterminated(),
                }
            }
            Some('&' | '*' | '!') => fail(self.line, "anchors, aliases and tags are not supported"),
            Some(_) => {
                let start = self.i;
                while let Some(c) = self.s.get(self.i) {
                    let next_space = self.s.get(self.i + 1).is_none_or(|n| *n == ' ');
                    if matches!(c, ',' | ']' | '}') || (*c == ':' && next_space) {
                        break;
                    }
                    self.i += 1;
                }
                let text: String = self.s[start..self.i].iter().collect();
                Ok(resolve(text.trim()))
            }
        }
    }
}
