//! Unit tests of the YAML tree: positions, duplicate keys, bounds.
use std::collections::HashMap;

use super::parse::first_of_same_key;
use super::*;

fn p(text: &str) -> Document {
    match parse(text, Limits::default()) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn positions_are_one_based() {
    let d = p("a: 1\nb:\n  c: x\n");
    let root = d.root.unwrap();
    let b = root.entry("b").unwrap();
    assert_eq!(b.key.pos, Pos { line: 2, col: 1 });
    let c = b.value.entry("c").unwrap();
    assert_eq!(c.key.pos, Pos { line: 3, col: 3 });
    assert_eq!(c.value.pos, Pos { line: 3, col: 6 });
}

#[test]
fn duplicates_keep_both_positions_and_yaml11_key_identity() {
    let d = p("on: push\ntrue: pull_request\nx: 1\nx: 2\n");
    assert_eq!(d.duplicates.len(), 2, "{:?}", d.duplicates);
    assert_eq!(d.duplicates[0].first, Pos { line: 1, col: 1 });
    assert_eq!(d.duplicates[0].second, Pos { line: 2, col: 1 });
    assert_eq!(d.duplicates[1].key, "x");
}

/// The duplicates of one mapping by the original string identity of a key.
fn duplicates_by_string_identity(entries: &[Entry]) -> Vec<Option<Pos>> {
    let identity = |key: &Node| match &key.kind {
        Kind::Scalar(s, Style::Plain) => match yaml11_bool(s) {
            Some(b) => format!("bool:{b}"),
            None => format!("str:{s}"),
        },
        Kind::Scalar(s, _) => format!("str:{s}"),
        other => format!("node:{other:?}"),
    };
    let mut seen: HashMap<String, Pos> = HashMap::new();
    entries
        .iter()
        .map(|e| {
            let id = identity(&e.key);
            let first = seen.get(&id).copied();
            seen.entry(id).or_insert(e.key.pos);
            first
        })
        .collect()
}

#[test]
fn key_identity_in_small_and_large_mappings() {
    let small = "on: 1\ntrue: 2\n'true': 3\n\"x\": 4\nx: 5\nYes: 6\n? [a, b]\n: 7\n? [a, b]\n: 8\n? {k: v}\n: 9\nnull: 10\n~: 11\nx: 12\n";
    let mut large = String::from(small);
    for i in 0..40 {
        large.push_str(&format!("k{}: {i}\n", i % 25));
    }
    large.push_str("? [a, b]\n: 99\nOFF: 1\nno: 2\n");
    for text in [small.to_string(), large] {
        let root = p(&text).root.unwrap();
        let entries = root.entries();
        assert_eq!(
            first_of_same_key(entries),
            duplicates_by_string_identity(entries),
            "{text}"
        );
    }
}

#[test]
fn alias_expansion_is_bounded() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = i - 1;
        text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
    }
    let e = parse(&text, Limits::default()).unwrap_err();
    assert_eq!(e.kind, YamlErrorKind::Limit);
    assert!(e.message.contains("YAML bomb"), "{e}");
}
