//! Unit tests of the workflow model (line index, positions, comments, contexts, loading).

use super::*;

#[test]
fn comments_skip_quoted_hashes() {
    assert_eq!(comment_of("a: 1 # x"), Some(" x"));
    assert_eq!(comment_of("a: \"#1\" # y"), Some(" y"));
    assert_eq!(comment_of("a: b#c"), None);
    assert_eq!(comment_of("# top"), Some(" top"));
}

#[test]
fn line_index_reads_lines_like_str_lines() {
    let texts = [
        "",
        "\n",
        "\n\n",
        "a",
        "a\n",
        "a\nb",
        "a\nb\n",
        "a\r\nb\r\n",
        "a\r\n\r\nb",
        "a\r",
        "a\rb\n\r",
        "é\nü\r\n€",
        "\r\n",
        "x\n\n\ny",
    ];
    for t in texts {
        let wf = Workflow::parse("t.yml", t, Limits::default());
        let want: Vec<&str> = t.lines().collect();
        for n in 0..=want.len() as u32 + 2 {
            let expected = n.checked_sub(1).and_then(|i| want.get(i as usize).copied());
            assert_eq!(wf.line(n), expected, "text {t:?}, line {n}");
        }
    }
    // A text changed after parsing is still read correctly.
    let mut wf = Workflow::parse("t.yml", "a\nb\n", Limits::default());
    wf.text.push_str("c\nd");
    assert_eq!(wf.line(4), Some("d"));
}

#[test]
fn pos_at_counts_lines_and_characters() {
    // The definition: newlines before the offset, characters since the last one.
    fn reference(text: &str, offset: usize) -> Pos {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[start..].chars().count() + 1;
        Pos {
            line: line as u32,
            col: col as u32,
        }
    }
    let texts = [
        "",
        "\n",
        "a",
        "ab\ncd\n",
        "ab\ncd",
        "é\n\n€x\r\ny",
        "\n\nz\n\n",
    ];
    for t in texts {
        let mut wf = Workflow::parse("t.yml", t, Limits::default());
        for off in 0..=t.len() + 2 {
            assert_eq!(wf.pos_at(off), reference(t, off), "{t:?} at {off}");
        }
        wf.text.push_str("\nmore é");
        let t = wf.text.clone();
        for off in 0..=t.len() + 1 {
            assert_eq!(
                wf.pos_at(off),
                reference(&t, off),
                "{t:?} at {off} (changed)"
            );
        }
    }
}

#[test]
fn job_and_step_nodes_come_from_the_tree() {
    let text = "on: push\njobs:\n  1: not a job\n  a:\n    runs-on: x\n    steps:\n      - run: one\n      - uses: b@c\n        with: {k: v}\n  b: {runs-on: y}\n";
    let wf = Workflow::parse("w.yml", text, Limits::default());
    let a = wf.job("a").unwrap();
    let node = wf.job_node(a).unwrap();
    assert_eq!(node.pos, Pos { line: 5, col: 5 });
    assert_eq!(node.get("runs-on").and_then(Node::str), Some("x"));
    let step = wf.step_node(a, &a.steps[1]).unwrap();
    assert_eq!(
        step.get("with")
            .and_then(|w| w.get("k"))
            .and_then(Node::str),
        Some("v")
    );
    let b = wf.job("b").unwrap();
    assert_eq!(
        wf.job_node(b)
            .and_then(|n| n.get("runs-on"))
            .and_then(Node::str),
        Some("y")
    );
    assert!(wf.step_node(b, &a.steps[0]).is_none());
    // A job of another workflow is not looked up by index alone.
    let other = Workflow::parse("o.yml", "jobs:\n  a: {}\n", Limits::default());
    assert!(wf.job_node(&other.jobs[0]).is_none());
}

#[test]
fn load_all_matches_load_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for i in 0..40 {
        let p = dir.path().join(format!("w{i:02}.yml"));
        let jobs = "  j:\n    runs-on: x\n".repeat(1 + i % 7);
        let text = match i % 5 {
            0 => "on: [".to_string(), // a YAML error is a value, not an I/O error
            _ => format!("name: w{i}\non: push\njobs:\n{jobs}"),
        };
        std::fs::write(&p, text).unwrap();
        paths.push(p);
    }
    paths.insert(17, dir.path().join("missing.yml"));
    let all = load_all(&paths, Limits::default());
    assert_eq!(all.len(), paths.len());
    for (p, got) in paths.iter().zip(&all) {
        match (Workflow::load(p, Limits::default()), got) {
            (Ok(want), Ok(got)) => assert_eq!(&want, got),
            (Err(want), Err(got)) => assert_eq!(want.kind(), got.kind()),
            (want, got) => panic!("{}: {want:?} vs {got:?}", p.display()),
        }
    }
    assert!(all[17].is_err());
    assert!(load_all(&[], Limits::default()).is_empty());
}

#[test]
fn parse_context_splits_at_first_slash() {
    assert_eq!(
        parse_context("ci / setup / install-deps (pull_request)"),
        Some(("ci", "setup / install-deps", "pull_request"))
    );
    assert_eq!(parse_context("nonsense"), None);
}
