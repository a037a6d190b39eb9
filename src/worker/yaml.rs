//! A minimal YAML tree for layer files: values with their line numbers.
//!
//! Layer files are read with `serde-saphyr` into this tree (not straight into structs) so that
//! [`super::layer`] can name the exact field that is wrong (`services.web.startup`) and its line.
//! This is deliberately separate from `crate::project::yaml`, which links `regex` for its error
//! messages; the worker-server binary must stay small.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

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

/// A syntax error: the parser's message and line.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntaxError {
    /// The first line of the parser's message.
    pub message: String,
    /// 1-based line, 0 when unknown.
    pub line: u64,
}

/// Parses one YAML document; an empty document is `Null`.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    if text.trim().is_empty() {
        return Ok(Node {
            value: Yaml::Null,
            line: 1,
        });
    }
    match serde_saphyr::from_str::<Spanned<Value>>(text) {
        Ok(v) => Ok(Node {
            value: v.value.0,
            line: v.referenced.line(),
        }),
        Err(err) => {
            let line = err.location().map(|l| l.line()).unwrap_or(0);
            let text = err.to_string();
            let first = text.lines().next().unwrap_or("invalid YAML").trim();
            let message = match first.split_once(": ") {
                Some((pos, rest)) if pos.contains("line ") => rest,
                _ => first,
            };
            Err(SyntaxError {
                message: message.trim_start_matches("error: ").to_string(),
                line,
            })
        }
    }
}

struct Value(Yaml);

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

fn node(v: Spanned<Value>) -> Node {
    Node {
        value: v.value.0,
        line: v.referenced.line(),
    }
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value(Yaml::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value(Yaml::Int(v.into())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value(Yaml::Int(v.into())))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value(Yaml::Int(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value(Yaml::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value(Yaml::Str(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value(Yaml::Str(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value(Yaml::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value(Yaml::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Value>>()? {
            items.push(node(item));
        }
        Ok(Value(Yaml::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Value>>()? {
            let key = node(key);
            let name = match key.scalar() {
                Some(s) => s,
                None if key.value == Yaml::Null => "null".to_string(),
                None => return Err(de::Error::custom("mapping keys must be scalars")),
            };
            let value = node(map.next_value::<Spanned<Value>>()?);
            if entries.iter().any(|(k, _)| *k == name) {
                return Err(de::Error::custom(format!("duplicate key {name:?}")));
            }
            entries.push((name, value));
        }
        Ok(Value(Yaml::Map(entries)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_lines() {
        let doc = parse("services:\n  web:\n    command: x\n    kill-delay: 5s\n").unwrap();
        let Yaml::Map(top) = &doc.value else {
            panic!("{doc:?}")
        };
        let Yaml::Map(svcs) = &top[0].1.value else {
            panic!()
        };
        let Yaml::Map(web) = &svcs[0].1.value else {
            panic!()
        };
        assert_eq!(web[1].0, "kill-delay");
        assert_eq!(web[1].1.line, 4);
    }

    #[test]
    fn syntax_errors_and_duplicates() {
        assert!(parse("a: [\n").is_err());
        assert!(parse("a: 1\na: 2\n").is_err());
        assert_eq!(parse("\n").unwrap().value, Yaml::Null);
    }
}
