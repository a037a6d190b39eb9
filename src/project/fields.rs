//! Typed reads from a YAML mapping that record a [`Diagnostic`] instead of failing.
//!
//! [`Fields`] wraps one mapping of the [`Node`] tree together with its field path
//! (`parts.foo`). Schema code asks it for typed values (`str`, `str_list`, `str_map`, ...);
//! a value of the wrong type becomes a pydantic-worded diagnostic at the value's position
//! and reads as absent, so validation goes on and reports every problem in one run.

use crate::yaml::diag::{Diagnostic, Diagnostics, did_you_mean};
use crate::yaml::{Key, Node, Span, Value};

/// Joins a field path and a key the way Rockcraft prints them (`parts.foo.plugin`).
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A mapping being validated.
pub struct Fields<'a> {
    /// Field path of the mapping itself (empty for the top level).
    pub path: String,
    /// The mapping's entries.
    pub entries: &'a [(Key, Node)],
    /// Where the mapping is (for "field required" messages).
    pub span: Span,
}

impl<'a> Fields<'a> {
    /// Wraps `node` if it is a mapping; otherwise records "input should be a valid dictionary".
    pub fn of(path: &str, node: &'a Node, diags: &mut Diagnostics) -> Option<Fields<'a>> {
        match &node.value {
            Value::Map(entries) => Some(Fields {
                path: path.to_string(),
                entries,
                span: node.span,
            }),
            _ => {
                diags.push(Diagnostic::at(
                    path,
                    node,
                    "input should be a valid dictionary",
                ));
                None
            }
        }
    }

    /// The field path of `key` in this mapping.
    pub fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The raw node of `key`.
    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    /// Whether `key` is present (even if null).
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Reports keys not in `allowed` ("extra inputs are not permitted", with a hint).
    pub fn deny_unknown(&self, allowed: &[&str], diags: &mut Diagnostics) {
        for (key, value) in self.entries {
            if !allowed.contains(&key.name.as_str()) {
                let mut d = Diagnostic::at(
                    self.path_of(&key.name),
                    value,
                    "extra inputs are not permitted",
                );
                d.span = key.span;
                if let Some(hint) = did_you_mean(&key.name, allowed.iter().copied()) {
                    d = d.with_hint(hint);
                }
                diags.push(d);
            }
        }
    }

    /// Records "field 'x' required in ... configuration".
    pub fn missing(&self, key: &str, diags: &mut Diagnostics) {
        let place = if self.path.is_empty() {
            "top-level configuration".to_string()
        } else {
            format!("'{}' configuration", self.path)
        };
        // The message already names the field and where it belongs.
        diags.push(Diagnostic::new(
            "",
            self.span,
            format!("field '{key}' required in {place}"),
        ));
    }

    /// An optional string (null counts as absent).
    pub fn str(&self, key: &str, diags: &mut Diagnostics) -> Option<String> {
        let node = self.get(key)?;
        expect_str(&self.path_of(key), node, diags)
    }

    /// A required string.
    pub fn req_str(&self, key: &str, diags: &mut Diagnostics) -> Option<String> {
        if !self.has(key) {
            self.missing(key, diags);
            return None;
        }
        self.str(key, diags)
    }

    /// An optional string where numbers are accepted and coerced (like `version: 1.0`).
    pub fn str_coerced(&self, key: &str, diags: &mut Diagnostics) -> Option<String> {
        let node = self.get(key)?;
        match &node.value {
            Value::Null => None,
            Value::Int(_) | Value::Float(_) | Value::Str(_) => node.scalar_to_string(),
            _ => {
                diags.push(Diagnostic::at(
                    self.path_of(key),
                    node,
                    "input should be a valid string",
                ));
                None
            }
        }
    }

    /// An optional list of strings (null or absent = empty).
    pub fn str_list(&self, key: &str, diags: &mut Diagnostics) -> Vec<String> {
        match self.get(key) {
            Some(node) => expect_str_list(&self.path_of(key), node, diags),
            None => Vec::new(),
        }
    }

    /// A string or a list of strings (like `contact`), duplicates rejected.
    pub fn str_or_list(&self, key: &str, diags: &mut Diagnostics) -> Vec<String> {
        let Some(node) = self.get(key) else {
            return Vec::new();
        };
        let path = self.path_of(key);
        match &node.value {
            Value::Null => Vec::new(),
            Value::Str(s) => vec![s.clone()],
            Value::Seq(_) => {
                let items = expect_str_list(&path, node, diags);
                let mut seen = std::collections::HashSet::new();
                if items.iter().any(|i| !seen.insert(i)) {
                    diags.push(Diagnostic::at(path, node, "duplicate values in list"));
                }
                items
            }
            _ => {
                diags.push(Diagnostic::at(
                    path,
                    node,
                    "input should be a valid string or a list of strings",
                ));
                Vec::new()
            }
        }
    }

    /// An optional mapping of strings to strings, in file order.
    pub fn str_map(&self, key: &str, diags: &mut Diagnostics) -> Vec<(String, String)> {
        let Some(node) = self.get(key) else {
            return Vec::new();
        };
        expect_str_map(&self.path_of(key), node, diags)
    }

    /// An optional non-negative integer.
    pub fn uint(&self, key: &str, diags: &mut Diagnostics) -> Option<u32> {
        let node = self.get(key)?;
        match node.value {
            Value::Null => None,
            Value::Int(i) if (0..=i128::from(u32::MAX)).contains(&i) => Some(i as u32),
            Value::Int(_) => {
                diags.push(Diagnostic::at(
                    self.path_of(key),
                    node,
                    "input should be greater than or equal to 0",
                ));
                None
            }
            _ => {
                diags.push(Diagnostic::at(
                    self.path_of(key),
                    node,
                    "input should be a valid integer",
                ));
                None
            }
        }
    }

    /// An optional number (int or float).
    pub fn number(&self, key: &str, diags: &mut Diagnostics) -> Option<f64> {
        let node = self.get(key)?;
        match node.value {
            Value::Null => None,
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => Some(f),
            _ => {
                diags.push(Diagnostic::at(
                    self.path_of(key),
                    node,
                    "input should be a valid number",
                ));
                None
            }
        }
    }

    /// An optional string that must be one of `choices`.
    pub fn choice(&self, key: &str, choices: &[&str], diags: &mut Diagnostics) -> Option<String> {
        let value = self.str(key, diags)?;
        if choices.contains(&value.as_str()) {
            return Some(value);
        }
        let node = self.get(key)?;
        let mut d = Diagnostic::at(self.path_of(key), node, one_of(choices));
        if let Some(hint) = did_you_mean(&value, choices.iter().copied()) {
            d = d.with_hint(hint);
        }
        diags.push(d);
        None
    }
}

/// Pydantic's literal message: `input should be 'a', 'b' or 'c'`.
pub fn one_of(choices: &[&str]) -> String {
    let quoted: Vec<String> = choices.iter().map(|c| format!("'{c}'")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("input should be {} or {last}", rest.join(", "))
        }
        Some((last, _)) => format!("input should be {last}"),
        None => "input should be empty".to_string(),
    }
}

/// A string node (null = absent); anything else is reported.
pub fn expect_str(path: &str, node: &Node, diags: &mut Diagnostics) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Null => None,
        _ => {
            diags.push(Diagnostic::at(path, node, "input should be a valid string"));
            None
        }
    }
}

/// A list-of-strings node (null = empty); bad items are reported one by one.
pub fn expect_str_list(path: &str, node: &Node, diags: &mut Diagnostics) -> Vec<String> {
    match &node.value {
        Value::Null => Vec::new(),
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| expect_str(&format!("{path}[{i}]"), item, diags))
            .collect(),
        _ => {
            diags.push(Diagnostic::at(path, node, "input should be a valid list"));
            Vec::new()
        }
    }
}

/// A mapping of strings to strings (null = empty); numbers and booleans as values are
/// reported, since Rockcraft takes environment values as strings only.
pub fn expect_str_map(path: &str, node: &Node, diags: &mut Diagnostics) -> Vec<(String, String)> {
    let Some(fields) = (match node.value {
        Value::Null => return Vec::new(),
        _ => Fields::of(path, node, diags),
    }) else {
        return Vec::new();
    };
    fields
        .entries
        .iter()
        .filter_map(|(k, v)| {
            expect_str(&join(path, &k.name), v, diags).map(|s| (k.name.clone(), s))
        })
        .collect()
}
