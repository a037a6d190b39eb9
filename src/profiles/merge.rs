//! Rockcraft's rules for merging an extension's root snippet into the project.
//!
//! For each key of the snippet, the user's value and the extension's value are combined:
//! if the user's value is "empty" in Python's sense (missing, `null`, `false`, `0`, `""`, `[]`,
//! `{}`), the extension's value is taken; two lists give the extension's items followed by the
//! user's (string duplicates removed, first occurrence kept, when every item is a string); two
//! mappings are merged key by key with the same rule; anything else keeps the user's value.
//! This mirrors `_apply_extension_property` in Rockcraft, so users override any generated part
//! key by declaring the same part name.

use crate::yaml::{Key, Node, Value};

/// Merges every top-level key of `snippet` into `doc` (both mappings; otherwise nothing happens).
pub fn merge_root(doc: &mut Node, snippet: Node) {
    let Value::Map(entries) = snippet.value else {
        return;
    };
    for (key, ext_value) in entries {
        match doc.get_mut(&key.name) {
            Some(existing) => {
                let user = std::mem::replace(existing, Node::new(Value::Null));
                *existing = merge_value(Some(user), ext_value);
            }
            None => {
                if let Some(map) = doc.as_map_mut() {
                    map.push((key, ext_value));
                }
            }
        }
    }
}

/// Combines the user's value (if any) with the extension's, per Rockcraft's rules.
pub fn merge_value(user: Option<Node>, ext: Node) -> Node {
    let Some(mut user) = user.filter(is_truthy) else {
        return ext;
    };
    match (&mut user.value, ext.value) {
        (Value::Seq(user_items), Value::Seq(ext_items)) => {
            let mut merged = ext_items;
            merged.append(user_items);
            if merged.iter().all(|n| n.as_str().is_some()) {
                let mut seen = std::collections::HashSet::new();
                merged.retain(|n| seen.insert(n.as_str().unwrap_or_default().to_string()));
            }
            Node {
                value: Value::Seq(merged),
                span: user.span,
            }
        }
        (Value::Map(user_entries), Value::Map(ext_entries)) => {
            for (key, ext_value) in ext_entries {
                match user_entries.iter_mut().find(|(k, _)| k.name == key.name) {
                    Some((_, slot)) => {
                        let old = std::mem::replace(slot, Node::new(Value::Null));
                        *slot = merge_value(Some(old), ext_value);
                    }
                    None => user_entries.push((
                        Key {
                            name: key.name,
                            span: key.span,
                        },
                        ext_value,
                    )),
                }
            }
            user
        }
        _ => user,
    }
}

/// Python truthiness of a loaded YAML value.
fn is_truthy(node: &Node) -> bool {
    match &node.value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(f) => *f != 0.0,
        Value::Str(s) => !s.is_empty(),
        Value::Seq(items) => !items.is_empty(),
        Value::Map(entries) => !entries.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    fn merged(user: &str, ext: &str) -> serde_json::Value {
        let mut doc = parse(user).unwrap();
        merge_root(&mut doc, parse(ext).unwrap());
        doc.to_json()
    }

    #[test]
    fn user_scalars_win_and_missing_keys_come_from_the_extension() {
        let out = merged("run-user: root\n", "run-user: _daemon_\nsummary: x\n");
        assert_eq!(out["run-user"], "root");
        assert_eq!(out["summary"], "x");
    }

    #[test]
    fn lists_put_extension_items_first_without_string_duplicates() {
        let out = merged(
            "parts:\n  p:\n    stage-packages: [b, a, c]\n",
            "parts:\n  p:\n    stage-packages: [a, b]\n",
        );
        assert_eq!(
            out["parts"]["p"]["stage-packages"],
            serde_json::json!(["a", "b", "c"])
        );
    }

    #[test]
    fn lists_of_mappings_keep_duplicates() {
        let out = merged("e:\n  - {A: '1'}\n", "e:\n  - {A: '1'}\n  - {B: '2'}\n");
        assert_eq!(
            out["e"],
            serde_json::json!([{"A": "1"}, {"B": "2"}, {"A": "1"}])
        );
    }

    #[test]
    fn same_part_is_merged_key_by_key_keeping_user_keys() {
        let out = merged(
            "parts:\n  app:\n    plugin: make\n    build-packages: [gcc]\n",
            "parts:\n  app:\n    plugin: dump\n    source: .\n  other:\n    plugin: nil\n",
        );
        assert_eq!(out["parts"]["app"]["plugin"], "make");
        assert_eq!(out["parts"]["app"]["source"], ".");
        assert_eq!(
            out["parts"]["app"]["build-packages"],
            serde_json::json!(["gcc"])
        );
        assert_eq!(out["parts"]["other"]["plugin"], "nil");
    }

    #[test]
    fn empty_user_values_are_replaced_like_python_falsy_values() {
        let out = merged(
            "a: []\nb: ''\nc: null\nd: false\n",
            "a: [x]\nb: v\nc: z\nd: true\n",
        );
        assert_eq!(
            out,
            serde_json::json!({"a": ["x"], "b": "v", "c": "z", "d": true})
        );
    }

    #[test]
    fn mismatched_types_keep_the_user_value() {
        let out = merged("a: text\n", "a: [x]\n");
        assert_eq!(out["a"], "text");
    }

    #[test]
    fn user_positions_are_kept() {
        let mut doc = parse("parts:\n  p:\n    plugin: nil\n").unwrap();
        merge_root(&mut doc, parse("parts:\n  q: {}\n").unwrap());
        let p = doc.get("parts").unwrap().get("p").unwrap();
        assert_eq!(p.get("plugin").unwrap().span.line, 3);
    }
}
