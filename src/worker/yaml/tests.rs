//! The YAML subset parser against the shapes layer files take (Rockcraft's PyYAML dumps,
//! hand-written layers), and its errors.

use super::*;

fn map(n: &Node) -> &[(String, Node)] {
    match &n.value {
        Yaml::Map(m) => m,
        other => panic!("not a map: {other:?}"),
    }
}

fn get<'a>(n: &'a Node, path: &str) -> &'a Node {
    path.split('.').fold(n, |n, k| match &n.value {
        Yaml::Seq(items) => &items[k.parse::<usize>().unwrap()],
        _ => {
            &map(n)
                .iter()
                .find(|(key, _)| key == k)
                .unwrap_or_else(|| panic!("no {k}"))
                .1
        }
    })
}

fn s(v: &str) -> Yaml {
    Yaml::Str(v.to_string())
}

#[test]
fn block_and_flow_collections() {
    let doc = parse(
        "# layer\n---\nsummary: a rock\nservices:\n  web:\n    override: replace  # comment\n    command: /bin/python3 -m gunicorn 'app:app' -k [ sync ]\n    after: [db, \"cache\"]\n    requires:\n    - db\n    environment: {PORT: 8000, DEBUG: false, EMPTY: }\n    backoff-factor: 1.5\n    user-id: 584792\n  db:\n    override: merge\n    before:\n      - web\n      - 'x y'\nchecks: {}\n",
    )
    .unwrap();
    assert_eq!(get(&doc, "services.web.override").value, s("replace"));
    assert_eq!(
        get(&doc, "services.web.command").value,
        s("/bin/python3 -m gunicorn 'app:app' -k [ sync ]")
    );
    assert_eq!(get(&doc, "services.web.command").line, 7);
    assert_eq!(get(&doc, "services.web.after.1").value, s("cache"));
    assert_eq!(get(&doc, "services.web.requires.0").value, s("db"));
    assert_eq!(
        get(&doc, "services.web.environment.PORT").value,
        Yaml::Int(8000)
    );
    assert_eq!(
        get(&doc, "services.web.environment.DEBUG").value,
        Yaml::Bool(false)
    );
    assert_eq!(
        get(&doc, "services.web.environment.EMPTY").value,
        Yaml::Null
    );
    assert_eq!(
        get(&doc, "services.web.backoff-factor").value,
        Yaml::Float(1.5)
    );
    assert_eq!(get(&doc, "services.web.user-id").value, Yaml::Int(584792));
    assert_eq!(get(&doc, "services.db.before.1").value, s("x y"));
    assert_eq!(get(&doc, "checks").value, Yaml::Map(vec![]));
}

#[test]
fn sequences_of_mappings_and_nested_flow() {
    let doc = parse("items:\n- name: a\n  port: 1\n- name: b\n-\n  name: c\n- - x\n  - y\nflow: {a: [1, {b: c}], 'd': \"e, f\"}\n").unwrap();
    assert_eq!(get(&doc, "items.0.port").value, Yaml::Int(1));
    assert_eq!(get(&doc, "items.1.name").value, s("b"));
    assert_eq!(get(&doc, "items.2.name").value, s("c"));
    assert_eq!(get(&doc, "items.3.1").value, s("y"));
    assert_eq!(get(&doc, "flow.a.1.b").value, s("c"));
    assert_eq!(get(&doc, "flow.d").value, s("e, f"));
}

#[test]
fn scalars_multiline_quoted_and_block() {
    let doc = parse(concat!(
        "plain: a long command\n  that wraps   # not a comment? yes it is\n",
        "folded: >\n  one\n  two\n\n  three\n",
        "literal: |\n  #!/bin/sh\n    indented\n  end\n",
        "strip: |-\n  x\n\n",
        "keep: |+\n  x\n\n",
        "dq: \"a\\tb \\\"q\\\" \\u00e9\n  next\"\n",
        "sq: 'it''s # here'\n",
        "url: http://localhost:8000/x\n",
        "ver: 1.0\n",
        "colon: a:b\n",
        "last: end\n",
    ))
    .unwrap();
    assert_eq!(get(&doc, "plain").value, s("a long command that wraps"));
    assert_eq!(get(&doc, "folded").value, s("one two\nthree\n"));
    assert_eq!(
        get(&doc, "literal").value,
        s("#!/bin/sh\n  indented\nend\n")
    );
    assert_eq!(get(&doc, "strip").value, s("x"));
    assert_eq!(get(&doc, "keep").value, s("x\n\n"));
    assert_eq!(get(&doc, "dq").value, s("a\tb \"q\" é next"));
    assert_eq!(get(&doc, "sq").value, s("it's # here"));
    assert_eq!(get(&doc, "url").value, s("http://localhost:8000/x"));
    assert_eq!(get(&doc, "ver").value, Yaml::Float(1.0));
    assert_eq!(get(&doc, "colon").value, s("a:b"));
    assert_eq!(get(&doc, "last").value, s("end"));
}

#[test]
fn empty_values_and_documents() {
    assert_eq!(parse("\n# only a comment\n").unwrap().value, Yaml::Null);
    let doc = parse("a:\nb: ~\nc: null\n...\n").unwrap();
    assert_eq!(get(&doc, "a").value, Yaml::Null);
    assert_eq!(get(&doc, "a").line, 1);
    assert_eq!(get(&doc, "b").value, Yaml::Null);
}

#[test]
fn errors_have_lines() {
    let table = [
        ("a: 1\na: 2\n", 2, "duplicate key"),
        ("a: [1, 2\n", 1, "unterminated flow"),
        ("a:\n  b: 1\n   c: 2\n", 3, "unexpected indentation"),
        ("a: &x 1\n", 1, "anchors"),
        ("a: 1\n---\nb: 2\n", 2, "one YAML document"),
        ("a: 'open\n", 1, "unterminated quoted"),
        ("a:\n\tb: 1\n", 2, "tabs"),
        ("a: 1\nplain line\n", 2, "expected a `key: value`"),
    ];
    for (text, line, want) in table {
        let err = parse(text).unwrap_err();
        assert_eq!(err.line, line, "{text:?}: {err:?}");
        assert!(err.message.contains(want), "{text:?}: {err:?}");
    }
}
