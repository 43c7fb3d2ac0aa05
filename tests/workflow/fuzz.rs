//! Fuzzing the workflow model with proptest: arbitrary bytes, YAML-ish text and generated
//! nested documents with anchors and aliases. The property: parsing returns (a tree or an
//! error with a position) and every gate rule runs over the result, without panicking and
//! with 1-based positions on every finding, within a time bound.
//!
//! `MERGEWARD_FUZZ_CASES` raises the number of cases per property (default 1,000 in CI);
//! the recorded runs are in `docs/benchmarks.md`.

use std::time::{Duration, Instant};

use mergeward::gates::{self, LintEnv};
use mergeward::workflow::yaml::{self, Limits};
use mergeward::workflow::{Pos, Workflow};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("MERGEWARD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

/// Each parse must finish well within this (debug build, slow CI machine).
const BOUND: Duration = Duration::from_secs(2);

fn check(text: &str) {
    let started = Instant::now();
    // The raw parser, without the model's panic guard: a panic here fails the property.
    match yaml::parse(text, Limits::default()) {
        Ok(doc) => {
            for d in &doc.duplicates {
                assert!(d.first.line >= 1 && d.second.line >= 1);
            }
        }
        Err(e) => {
            assert!(e.pos.line >= 1 && e.pos.col >= 1, "{e}");
            assert!(!e.message.is_empty());
        }
    }
    let w = Workflow::parse("fuzz.yml", text, Limits::default());
    for j in &w.jobs {
        assert!(j.key.pos >= Pos { line: 1, col: 1 });
        let _ = w.status_context(j, "push");
    }
    let _ = w.emitted_contexts();
    // Every rule over whatever came out (protection `*`, a base tree: all rules active).
    let env = LintEnv {
        required_contexts: Some(vec!["*".into()]),
        base: Some(vec![w.clone()]),
        ..LintEnv::default()
    };
    let report = gates::lint(
        std::slice::from_ref(&w),
        &mergeward::config::gate_defaults(),
        &env,
    );
    for f in &report.findings {
        assert!(f.line >= 1 && f.column >= 1, "{f:?}");
    }
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
}

/// Fragments that exercise the YAML grammar's corners.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("- ".to_string()),
        Just(": ".to_string()),
        Just("? ".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just(", ".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("&b ".to_string()),
        Just("*b".to_string()),
        Just("<<: *a".to_string()),
        Just("|\n  ".to_string()),
        Just(">-\n  ".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("# c".to_string()),
        Just("---\n".to_string()),
        Just("...\n".to_string()),
        Just("!!str ".to_string()),
        Just("%YAML 1.1\n".to_string()),
        Just("\t".to_string()),
        Just("on".to_string()),
        Just("jobs".to_string()),
        Just("continue-on-error".to_string()),
        Just("runs-on".to_string()),
        Just("yes".to_string()),
        "[a-z]{1,6}",
        "\\PC{1,4}",
    ]
}

/// A generated document: nested mappings and sequences with anchors and aliases.
fn doc() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "[a-z]{1,5}".prop_map(|s| s),
        Just("*x".to_string()),
        Just("*y".to_string()),
        Just("yes".to_string()),
        Just("~".to_string()),
        Just("'q'".to_string()),
    ];
    leaf.prop_recursive(8, 200, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(("[a-z]{1,4}", inner.clone()), 0..6).prop_map(|v| {
                let body: Vec<String> = v.into_iter().map(|(k, x)| format!("{k}: {x}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
            inner.clone().prop_map(|x| format!("&x {x}")),
            inner.prop_map(|x| format!("&y {x}")),
        ]
    })
    .prop_map(|body| {
        format!("on: push\njobs:\n  a: &x {{runs-on: x}}\n  b: {body}\n  c: [*x, *x]\n")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn yaml_fragments_never_panic(parts in prop::collection::vec(token(), 0..64)) {
        check(&parts.concat());
    }

    #[test]
    fn nested_documents_with_aliases_never_panic(text in doc()) {
        check(&text);
    }
}

/// Aliases of aliases (the shape of every YAML bomb) at many widths and depths: either
/// within the bounds or refused with the bomb message, always quickly.
#[test]
fn alias_ladders_are_bounded() {
    for width in [2usize, 5, 10, 30] {
        for levels in [1usize, 3, 6, 12] {
            let mut text = String::from("l0: &l0 [lol]\n");
            for i in 1..=levels {
                let refs = vec![format!("*l{}", i - 1); width].join(",");
                text.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
            }
            let started = Instant::now();
            let r = yaml::parse(&text, Limits::default());
            assert!(started.elapsed() < BOUND);
            let expanded = (0..=levels).fold(1usize, |acc, _| acc.saturating_mul(width));
            if expanded > 1_000_000 {
                let e = r.expect_err("must be refused");
                assert!(e.message.contains("YAML bomb"), "{e}");
            }
        }
    }
}
