use super::*;

fn one(text: &str) -> Node {
    let s = parse_stream(text);
    assert!(s.error.is_none(), "{:?}", s.error);
    assert_eq!(s.documents.len(), 1);
    s.documents.into_iter().next().unwrap().root
}

#[test]
fn nodes_keep_their_lines() {
    let doc = one(
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    securityContext:\n      privileged: true\n",
    );
    let (key, value) = doc.path(&["spec", "containers"]).unwrap().items()[0]
        .path(&["securityContext"])
        .unwrap()
        .entry("privileged")
        .unwrap();
    assert_eq!(key.span.start_line, 7);
    assert_eq!(key.span.start_col, 7);
    assert_eq!(value.as_bool(), Some(true));
    assert_eq!(doc.span.start_line, 1);
    assert_eq!(doc.span.end_line, 7);
}

#[test]
fn scalars_are_typed_like_kubernetes_reads_them() {
    let doc =
        one("a: true\nb: \"true\"\nc: 8080\nd: yes\ne: ~\nf: 1.5\ng: 0x1F\nh: '0'\ni: v1.2\n");
    assert_eq!(doc.get("a").unwrap().as_bool(), Some(true));
    assert_eq!(doc.get("b").unwrap().as_bool(), None);
    assert_eq!(doc.get("b").unwrap().as_str(), Some("true"));
    assert_eq!(doc.get("c").unwrap().as_i64(), Some(8080));
    assert_eq!(doc.get("d").unwrap().as_bool(), Some(true));
    assert!(doc.get("e").unwrap().is_null());
    assert_eq!(
        doc.get("f").unwrap().value,
        Value::Scalar("1.5".into(), ScalarKind::Float)
    );
    assert_eq!(doc.get("g").unwrap().as_i64(), Some(31));
    assert_eq!(doc.get("h").unwrap().as_str(), Some("0"));
    assert_eq!(doc.get("i").unwrap().as_str(), Some("v1.2"));
    assert_eq!(doc.get("c").unwrap().scalar_text(), Some("8080"));
}

#[test]
fn multi_document_streams_and_json() {
    let s =
        parse_stream("---\nkind: A\n---\nkind: B\n...\n---\n{\"kind\": \"C\",\n \"x\": [1, 2]}\n");
    assert!(s.error.is_none());
    let kinds: Vec<_> = s
        .documents
        .iter()
        .map(|d| d.root.get("kind").unwrap().as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["A", "B", "C"]);
    let x = s.documents[2].root.get("x").unwrap();
    assert_eq!(x.span.start_line, 8);
    assert_eq!(x.items()[1].as_i64(), Some(2));
}

#[test]
fn broken_yaml_keeps_earlier_documents_and_names_the_line() {
    let s = parse_stream("kind: A\n---\nkind: B\n  bad: [\n");
    assert_eq!(s.documents.len(), 1);
    let err = s.error.unwrap();
    assert!(err.line() >= 3, "{err}");
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let text = "[".repeat(100_000);
    let s = parse_stream(&text);
    assert!(
        matches!(
            s.error,
            Some(Error::TooDeep { .. }) | Some(Error::Syntax { .. })
        ),
        "{:?}",
        s.error
    );
    let text = (0..500)
        .map(|i| format!("{}k:\n", "  ".repeat(i)))
        .collect::<String>();
    let s = parse_stream(&text);
    assert!(
        matches!(s.error, Some(Error::TooDeep { .. })),
        "{:?}",
        s.error
    );
}

#[test]
fn alias_bombs_are_stopped() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for name in 'b'..='k' {
        text.push_str(&format!("{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        prev = name;
    }
    let s = parse_stream(&text);
    assert!(
        matches!(s.error, Some(Error::AliasBudget { .. })),
        "{:?}",
        s.error
    );
}

#[test]
fn aliases_and_merge_keys_expand() {
    let doc = one("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nref: *b\n");
    let use_ = doc.get("use").unwrap();
    assert_eq!(use_.get("x").unwrap().as_i64(), Some(1));
    assert_eq!(use_.get("y").unwrap().as_i64(), Some(3));
    assert_eq!(doc.get("ref").unwrap().get("y").unwrap().as_i64(), Some(2));
    assert_eq!(doc.get("ref").unwrap().span.start_line, 5);
}

#[test]
fn block_scalars_end_on_their_last_line() {
    let doc = one("a: |\n  one\n  two\nb: 1\n");
    let a = doc.get("a").unwrap();
    // The value starts on its first content line; the key stays on line 1.
    assert_eq!((a.span.start_line, a.span.end_line), (2, 3));
    let doc = one("data:\n  config: |\n    a=1\n\n    password=x\n\n  next: 1\nother: |-\n  z\n");
    let c = doc.get("data").unwrap().get("config").unwrap();
    assert_eq!((c.span.start_line, c.span.end_line), (3, 5));
    let o = doc.get("other").unwrap();
    assert_eq!((o.span.start_line, o.span.end_line), (9, 9));
}

#[test]
fn to_json_round_trips_types() {
    let doc = one("a: [1, 'x', true, null, 2.5]\nb: {c: \"q\\\"\"}\n");
    assert_eq!(
        doc.to_json(),
        r#"{"a":[1,"x",true,null,2.5],"b":{"c":"q\""}}"#
    );
}

#[test]
fn empty_stream_has_no_documents() {
    let s = parse_stream("");
    assert!(s.error.is_none());
    assert!(s.documents.is_empty());
    let s = parse_stream("# only a comment\n");
    assert!(s.documents.is_empty());
}

#[test]
fn integers_as_kubernetes_reads_them() {
    let doc = one("a: 0_0\nb: 010000\nc: 0b101\nd: 1_000\ne: 0o17\nf: _1\ng: 08\n");
    assert_eq!(doc.get("a").unwrap().as_i64(), Some(0));
    assert_eq!(doc.get("b").unwrap().as_i64(), Some(4096));
    assert_eq!(doc.get("c").unwrap().as_i64(), Some(5));
    assert_eq!(doc.get("d").unwrap().as_i64(), Some(1000));
    assert_eq!(doc.get("e").unwrap().as_i64(), Some(15));
    assert_eq!(doc.get("f").unwrap().as_str(), Some("_1"));
    assert_eq!(doc.get("g").unwrap().as_i64(), None);
}

#[test]
fn merge_keys_apply_in_document_order() {
    // go-yaml v2: a merge after a key overrides it; a key after a merge overrides the merge.
    let doc = one(
        "a:\n  privileged: false\n  <<: {privileged: true, x: 1}\nb:\n  <<: {privileged: true}\n  privileged: false\nc:\n  <<: [{k: first}, {k: second}]\n",
    );
    assert_eq!(
        doc.path(&["a", "privileged"]).unwrap().as_bool(),
        Some(true)
    );
    assert_eq!(doc.path(&["a", "x"]).unwrap().as_i64(), Some(1));
    assert_eq!(
        doc.path(&["b", "privileged"]).unwrap().as_bool(),
        Some(false)
    );
    assert_eq!(doc.path(&["c", "k"]).unwrap().as_str(), Some("first"));
}

#[test]
fn nested_anchors_are_charged_to_the_budget() {
    let depth = 150;
    let mut text = String::from("data: ");
    for i in 0..depth {
        text.push_str(&format!("&a{i} ["));
    }
    text.push_str(&"x,".repeat(3000));
    text.push('x');
    text.push_str(&"]".repeat(depth));
    text.push('\n');
    let s = parse_stream(&text);
    assert!(
        matches!(
            s.error,
            Some(Error::AliasBudget { .. }) | Some(Error::TooDeep { .. })
        ),
        "{:?}",
        s.error
    );
}

#[test]
fn alias_copies_point_at_the_use() {
    let doc = one("base: &c\n  name: c\n  image: x\nlist:\n  - *c\n");
    let item = &doc.get("list").unwrap().items()[0];
    assert_eq!(item.get("image").unwrap().span.start_line, 5);
}
