//! A YAML document as a tree of [`Node`]s that remember where they came from.
//!
//! `rockcraft.yaml` is first read into this tree (with `serde-saphyr`, whose `Spanned` wrapper
//! gives every node its line and column), then profiles expand it and the schema in
//! [`crate::project::schema`] turns it into a typed [`crate::project::Project`]. Keeping the tree lets validation
//! report *every* problem at once, each with its position and field path, which a direct
//! `serde` deserialisation into structs (stopping at the first error) cannot do.
//!
//! Nodes made by rcraft itself (profile expansion) carry [`Span::GENERATED`].

pub mod diag;

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

pub use diag::{Diagnostic, Diagnostics};

/// A 1-based line and column in the project file; `0:0` for generated nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub column: u32,
}

impl Span {
    /// The span of nodes that rcraft generated (no position in the user's file).
    pub const GENERATED: Span = Span { line: 0, column: 0 };

    /// Whether this span points into the user's file.
    pub fn is_known(&self) -> bool {
        self.line > 0
    }

    fn from_location(loc: &serde_saphyr::Location) -> Span {
        Span {
            line: loc.line() as u32,
            column: loc.column() as u32,
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One YAML value with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the value starts in the file.
    pub span: Span,
}

/// A mapping key with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key as a string (non-string keys are rendered as YAML would print them).
    pub name: String,
    /// Where the key starts in the file.
    pub span: Span,
}

/// The value of a [`Node`]. Mappings keep their key order.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty value.
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
    Map(Vec<(Key, Node)>),
}

impl Node {
    /// A generated node (no file position).
    pub fn new(value: Value) -> Node {
        Node {
            value,
            span: Span::GENERATED,
        }
    }

    /// A generated string node.
    pub fn str(s: impl Into<String>) -> Node {
        Node::new(Value::Str(s.into()))
    }

    /// A generated sequence of strings.
    pub fn str_seq<I, S>(items: I) -> Node
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Node::new(Value::Seq(items.into_iter().map(Node::str).collect()))
    }

    /// A generated empty mapping.
    pub fn map() -> Node {
        Node::new(Value::Map(Vec::new()))
    }

    /// This node with every position (its own, its keys' and its children's) forgotten: for
    /// text that is not the user's file, such as a profile's data, so that no diagnostic
    /// points into `rockcraft.yaml` at a line the user never wrote.
    pub fn generated(mut self) -> Node {
        fn forget(node: &mut Node) {
            node.span = Span::GENERATED;
            match &mut node.value {
                Value::Seq(items) => items.iter_mut().for_each(forget),
                Value::Map(entries) => {
                    for (key, value) in entries {
                        key.span = Span::GENERATED;
                        forget(value);
                    }
                }
                _ => {}
            }
        }
        forget(&mut self);
        self
    }

    /// The YAML type name used in messages (`a string`, `a mapping`, ...).
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The entries, mutably, if this is a mapping.
    pub fn as_map_mut(&mut self) -> Option<&mut Vec<(Key, Node)>> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Looks a key up in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    /// Looks a key up in a mapping, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut()?
            .iter_mut()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }

    /// Sets `key` in a mapping (replacing an existing entry in place, else appending).
    /// Does nothing if this node is not a mapping.
    pub fn insert(&mut self, key: &str, value: Node) {
        if let Some(map) = self.as_map_mut() {
            if let Some(slot) = map.iter_mut().find(|(k, _)| k.name == key) {
                slot.1 = value;
            } else {
                map.push((
                    Key {
                        name: key.to_string(),
                        span: Span::GENERATED,
                    },
                    value,
                ));
            }
        }
    }

    /// Removes `key` from a mapping, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Node> {
        let map = self.as_map_mut()?;
        let idx = map.iter().position(|(k, _)| k.name == key)?;
        Some(map.remove(idx).1)
    }

    /// The scalar rendered as Python's `str()` would render the loaded value, so that numbers
    /// coerced to strings (e.g. `version: 1.0`) match Rockcraft's behaviour.
    pub fn scalar_to_string(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(python_float(*f)),
            Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
            _ => None,
        }
    }

    /// Renders the value compactly for `input: ...` in messages (Python-like repr).
    pub fn repr(&self) -> String {
        match &self.value {
            Value::Null => "None".to_string(),
            Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => python_float(*f),
            Value::Str(s) => format!("'{s}'"),
            Value::Seq(items) => {
                let inner: Vec<String> = items.iter().map(Node::repr).collect();
                format!("[{}]", inner.join(", "))
            }
            Value::Map(entries) => {
                let inner: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("'{}': {}", k.name, v.repr()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }

    /// Converts to a `serde_json::Value` (positions dropped), e.g. for printing.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => i64::try_from(*i)
                .map(J::from)
                .unwrap_or_else(|_| J::String(i.to_string())),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Python's `str(float)` for the common cases: `1.0`, `0.1`, `1e+20`.
fn python_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// A YAML syntax error, with its position when known.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// What is wrong, as the YAML parser says it.
    pub message: String,
    /// Where, when known.
    pub span: Span,
}

/// Parses one YAML document into a [`Node`] tree. An empty document gives a `Null` node.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    if text.trim().is_empty() {
        return Ok(Node {
            value: Value::Null,
            span: Span { line: 1, column: 1 },
        });
    }
    let options = serde_saphyr::options! {};
    match serde_saphyr::from_str_with_options::<Spanned<NodeValue>>(text, options) {
        Ok(spanned) => Ok(Node {
            value: spanned.value.0,
            span: Span::from_location(&spanned.referenced),
        }),
        Err(err) => {
            let span = err
                .location()
                .map(|l| Span::from_location(&l))
                .unwrap_or_default();
            Err(SyntaxError {
                message: clean_parser_message(&err.to_string()),
                span,
            })
        }
    }
}

/// serde-saphyr renders a source snippet and position into its `Display`; keep the first line
/// (the message itself) since rcraft prints its own position.
fn clean_parser_message(message: &str) -> String {
    static POSITION: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(error: )?line \d+ column \d+: ").expect("valid regex"));
    let first = message.lines().next().unwrap_or(message).trim();
    let first = POSITION.replace(first, "");
    let first = first
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(&first);
    first.to_string()
}

/// The value part of a node, deserialised through serde so that children can be `Spanned`.
struct NodeValue(Value);

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

/// A mapping key, which YAML allows to be any scalar.
struct KeyValue(String);

impl<'de> Deserialize<'de> for KeyValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = NodeValue::deserialize(deserializer)?;
        let node = Node::new(v.0);
        match node.scalar_to_string() {
            Some(s) => Ok(KeyValue(s)),
            None if node.value == Value::Null => Ok(KeyValue("null".to_string())),
            None => Err(de::Error::custom("mapping keys must be scalars")),
        }
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue(Value::Int(v.into())))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeValue, E> {
        Ok(NodeValue(Value::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(NodeValue(Value::Int(v.into())))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeValue, E> {
        i128::try_from(v)
            .map(|i| NodeValue(Value::Int(i)))
            .or_else(|_| Ok(NodeValue(Value::Str(v.to_string()))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue(Value::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue(Value::Str(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue(Value::Str(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<NodeValue>>()? {
            items.push(Node {
                value: item.value.0,
                span: Span::from_location(&item.referenced),
            });
        }
        Ok(NodeValue(Value::Seq(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyValue>>()? {
            let value = map.next_value::<Spanned<NodeValue>>()?;
            let key = Key {
                name: key.value.0,
                span: Span::from_location(&key.referenced),
            };
            if entries.iter().any(|(k, _)| k.name == key.name) {
                return Err(de::Error::custom(format!("duplicate key '{}'", key.name)));
            }
            entries.push((
                key,
                Node {
                    value: value.value.0,
                    span: Span::from_location(&value.referenced),
                },
            ));
        }
        Ok(NodeValue(Value::Map(entries)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_and_order() {
        let doc =
            parse("name: foo\nversion: 1.0\nparts:\n  b: {}\n  a:\n    plugin: nil\n").unwrap();
        let name = doc.get("name").unwrap();
        assert_eq!(name.as_str(), Some("foo"));
        assert_eq!(name.span, Span { line: 1, column: 7 });
        assert_eq!(
            doc.get("version").unwrap().scalar_to_string().as_deref(),
            Some("1.0")
        );
        let parts = doc.get("parts").unwrap().as_map().unwrap();
        assert_eq!(parts[0].0.name, "b");
        assert_eq!(parts[1].0.name, "a");
        assert_eq!(parts[1].0.span, Span { line: 5, column: 3 });
        let plugin = doc.get("parts").unwrap().get("a").unwrap().get("plugin");
        assert_eq!(plugin.unwrap().span.line, 6);
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse("name: foo\n  bad: [\n").unwrap_err();
        assert!(err.span.is_known(), "{err:?}");
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        assert!(parse("a: 1\na: 2\n").is_err());
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(parse("  \n").unwrap().value, Value::Null);
    }
}
