//! The workflow model: positions, YAML 1.1 readings, duplicates, bounds, status contexts.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mergeward::workflow::{Limits, Pos, Workflow, YamlErrorKind, discover, parse_context};

fn wf(text: &str) -> Workflow {
    Workflow::parse("ci.yml", text, Limits::default())
}

const CI: &str = "\
name: CI
on:
  push:
    branches: [main]
  pull_request:
    paths:
      - 'src/**'
    paths-ignore: ['docs/**']
jobs:
  build:
    name: Platform (Go)
    runs-on: [self-hosted, docker-host]
    continue-on-error: true  # mc#12
    if: github.event_name == 'push'
    needs: [lint]
    container: golang:1.22
    services:
      db:
        image: postgres
    steps:
      - uses: actions/checkout@v4
      - name: Test
        run: go test ./...
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: echo hi
";

#[test]
fn every_key_and_value_has_a_one_based_position() {
    let w = wf(CI);
    assert!(w.error.is_none(), "{:?}", w.error);
    assert_eq!(w.name.as_ref().unwrap().pos, Pos { line: 1, col: 7 });
    let on = w.on.as_ref().unwrap();
    assert_eq!(on.pos, Pos { line: 2, col: 1 });
    let pr = on.event("pull_request").unwrap();
    assert_eq!(pr.pos, Pos { line: 5, col: 3 });
    let paths = pr.filter("paths").unwrap();
    assert_eq!(paths.pos, Pos { line: 6, col: 5 });
    assert_eq!(paths.values[0].value, "src/**");
    assert_eq!(paths.values[0].pos, Pos { line: 7, col: 9 });
    assert_eq!(pr.filter("paths-ignore").unwrap().pos.line, 8);
    assert_eq!(
        on.event("push").unwrap().filter("branches").unwrap().values[0].value,
        "main"
    );
    let b = w.job("build").unwrap();
    assert_eq!(b.key.pos, Pos { line: 10, col: 3 });
    assert_eq!(b.display_name(), "Platform (Go)");
    let ro = b.runs_on.as_ref().unwrap();
    assert_eq!(
        ro.labels
            .iter()
            .map(|l| l.value.as_str())
            .collect::<Vec<_>>(),
        ["self-hosted", "docker-host"]
    );
    assert_eq!(ro.labels[1].pos, Pos { line: 12, col: 28 });
    let coe = b.continue_on_error.as_ref().unwrap();
    assert_eq!(coe.key_pos, Pos { line: 13, col: 5 });
    assert_eq!(coe.value_pos, Pos { line: 13, col: 24 });
    assert!(coe.is_yaml11_true());
    assert_eq!(b.if_cond.as_ref().unwrap().pos.line, 14);
    assert_eq!(b.needs[0].value, "lint");
    assert!(b.container.is_some() && b.services.is_some());
    assert_eq!(b.steps.len(), 2);
    assert_eq!(
        b.steps[0].uses.as_ref().unwrap().value,
        "actions/checkout@v4"
    );
    assert_eq!(
        b.steps[1].run.as_ref().unwrap().pos,
        Pos { line: 23, col: 14 }
    );
    assert_eq!(b.steps[1].name.as_ref().unwrap().value, "Test");
    assert_eq!(w.job("lint").unwrap().display_name(), "lint");
}

#[test]
fn trigger_key_on_true_yes_and_quoted_on_are_all_found() {
    for key in ["on", "\"on\"", "true", "True", "yes", "ON"] {
        let w = wf(&format!(
            "name: W\n{key}: [push, pull_request]\njobs: {{}}\n"
        ));
        let on =
            w.on.as_ref()
                .unwrap_or_else(|| panic!("no trigger for {key}"));
        assert_eq!(on.events.len(), 2, "{key}");
        assert_eq!(
            on.events[1].pos,
            Pos {
                line: 2,
                col: key.len() as u32 + 10
            }
        );
    }
    // `off:` is the boolean false: not a trigger key.
    assert!(wf("off: push\n").on.is_none());
}

#[test]
fn trigger_shorthands() {
    let w = wf("on: push\n");
    assert_eq!(w.on.unwrap().events[0].event, "push");
    let w = wf("on:\n  pull_request:\n  push: ~\n");
    let on = w.on.unwrap();
    assert_eq!(on.events.len(), 2);
    assert!(on.events[0].body.is_none() && on.events[0].filters.is_empty());
    let w = wf("on:\n  paths: [x]\n  push:\n");
    assert_eq!(w.on.unwrap().top_level_filters[0].key, "paths");
}

fn coe(v: &str) -> mergeward::workflow::Coe {
    let w = wf(&format!(
        "on: push\njobs:\n  j:\n    continue-on-error: {v}\n"
    ));
    w.jobs[0].continue_on_error.clone().unwrap()
}

// Mirrors §4.9's coercion tests (the pre-flip reading) and §5's tracking reading.
#[test]
fn python_bool_true() {
    assert!(coe("true").flip_truth() && coe("true").is_yaml11_true());
}
#[test]
fn python_bool_false() {
    assert!(!coe("false").flip_truth() && !coe("false").is_yaml11_true());
}
#[test]
fn none_is_false() {
    assert!(!coe("").flip_truth() && !coe("~").flip_truth() && !coe("null").flip_truth());
}
#[test]
fn string_true_lowercase() {
    assert!(coe("'true'").flip_truth() && coe("'true'").is_yaml11_true());
}
#[test]
fn string_true_titlecase() {
    assert!(coe("\"True\"").flip_truth() && coe("\" True \"").is_yaml11_true());
}
#[test]
fn string_yes() {
    assert!(coe("'yes'").flip_truth());
    // The tracking lint's string rule counts only "true"; a plain `yes` is a YAML 1.1 bool.
    assert!(!coe("'yes'").is_yaml11_true());
    assert!(coe("yes").is_yaml11_true() && coe("on").is_yaml11_true());
}
#[test]
fn string_false() {
    assert!(!coe("'false'").flip_truth() && !coe("off").flip_truth() && !coe("no").flip_truth());
}
#[test]
fn string_random_falsy() {
    assert!(!coe("maybe").flip_truth() && !coe("${{ matrix.experimental }}").flip_truth());
    assert!(!coe("[true]").flip_truth());
}

#[test]
fn duplicate_keys_are_reported_with_both_positions() {
    let w = wf("on: push\njobs:\n  a:\n    runs-on: x\n    runs-on: y\n");
    assert_eq!(w.duplicates.len(), 1);
    let d = &w.duplicates[0];
    assert_eq!(d.key, "runs-on");
    assert_eq!(
        (d.first, d.second),
        (Pos { line: 4, col: 5 }, Pos { line: 5, col: 5 })
    );
    // The last value wins, as a YAML 1.1 loader keeps it.
    assert_eq!(w.jobs[0].runs_on.as_ref().unwrap().labels[0].value, "y");
    // `on` and `true` are one key for a YAML 1.1 loader.
    assert_eq!(wf("on: push\ntrue: pull_request\n").duplicates.len(), 1);
}

#[test]
fn syntax_errors_carry_a_position() {
    let w = wf("on: push\njobs:\n  a: [unclosed\n");
    let e = w.error.unwrap();
    assert_eq!(e.kind, YamlErrorKind::Syntax);
    assert!(e.pos.line >= 3, "{e}");
    let w = wf("- a\n- b\n");
    assert!(w.error.unwrap().message.contains("mapping"));
    assert!(wf("").error.unwrap().message.contains("empty"));
    assert!(
        wf("a: 1\n---\nb: 2\n")
            .error
            .unwrap()
            .message
            .contains("more than one")
    );
}

/// A billion-laughs file is refused quickly with a clear error naming the cause.
#[test]
fn billion_laughs_is_rejected_quickly() {
    let mut text = String::from("name: lol\nl0: &l0 \"lol\"\n");
    for i in 1..=9 {
        let p = i - 1;
        text.push_str(&format!(
            "l{i}: &l{i} [*l{p},*l{p},*l{p},*l{p},*l{p},*l{p},*l{p},*l{p},*l{p},*l{p}]\n"
        ));
    }
    let started = Instant::now();
    let w = wf(&text);
    let took = started.elapsed();
    let e = w.error.expect("a bomb must be refused");
    assert_eq!(e.kind, YamlErrorKind::Limit);
    assert!(e.message.contains("YAML bomb"), "{e}");
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn deep_nesting_and_huge_files_are_refused() {
    let deep = format!("a: {}{}\n", "[".repeat(500), "]".repeat(500));
    let e = wf(&deep).error.unwrap();
    assert!(
        e.message.contains("nesting") || e.message.contains("recursion"),
        "{e}"
    );
    let limits = Limits {
        max_bytes: 10,
        ..Limits::default()
    };
    let w = Workflow::parse("x.yml", "name: much too long\n", limits);
    assert!(w.error.unwrap().message.contains("bytes"));
}

// Mirrors §4.9's context tests.
#[test]
fn context_name_render() {
    let w = wf("name: CI\non: push\njobs:\n  go:\n    name: Platform (Go)\n");
    assert_eq!(
        w.status_context(&w.jobs[0], "push"),
        "CI / Platform (Go) (push)"
    );
}
#[test]
fn context_falls_back_to_job_key_when_no_name() {
    let w = wf("name: WF\non: push\njobs:\n  foo:\n    runs-on: x\n");
    assert_eq!(w.status_context(&w.jobs[0], "push"), "WF / foo (push)");
}
#[test]
fn pull_request_event() {
    let w = wf("name: WF\non: pull_request_target\njobs:\n  foo: {}\n");
    assert_eq!(
        w.status_context(&w.jobs[0], "pull_request"),
        "WF / foo (pull_request)"
    );
    assert_eq!(
        w.emitted_contexts()
            .into_iter()
            .map(|c| c.0)
            .collect::<Vec<_>>(),
        ["WF / foo (pull_request)"]
    );
}
#[test]
fn workflow_name_falls_back_to_filename() {
    let w = Workflow::parse(
        "dir/lint-x.yaml",
        "on: [push, schedule]\njobs:\n  j: {}\n",
        Limits::default(),
    );
    assert_eq!(
        w.emitted_contexts()
            .into_iter()
            .map(|c| c.0)
            .collect::<Vec<_>>(),
        ["lint-x / j (push)"]
    );
}

#[test]
fn context_parsing() {
    assert_eq!(
        parse_context("CI / build (push)"),
        Some(("CI", "build", "push"))
    );
    assert_eq!(parse_context("*"), None);
}

#[test]
fn discover_prefers_forge_directories_and_sorts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for p in [
        ".gitea/workflows/b.yml",
        ".gitea/workflows/a.yaml",
        ".github/workflows/c.yml",
        "other/x.yml",
    ] {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, "on: push\n").unwrap();
    }
    std::fs::write(root.join(".gitea/workflows/readme.md"), "x").unwrap();
    let found = discover(&[root.to_path_buf()]).unwrap();
    let rel: Vec<PathBuf> = found
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
        .collect();
    assert_eq!(
        rel,
        [
            ".gitea/workflows/a.yaml",
            ".gitea/workflows/b.yml",
            ".github/workflows/c.yml"
        ]
        .map(PathBuf::from)
    );
    // A plain directory: every YAML file below it.
    let found = discover(&[root.join("other")]).unwrap();
    assert_eq!(found.len(), 1);
    assert!(discover(&[root.join("missing")]).is_err());
}

#[test]
fn a_string_tag_makes_a_plain_scalar_a_string_and_core_tags_do_not() {
    use mergeward::workflow::Style;
    // `!!str yes` is the string "yes" (PyYAML): no longer the YAML 1.1 boolean.
    assert_eq!(coe("!!str yes").style, Some(Style::Quoted));
    assert!(!coe("!!str yes").is_yaml11_true());
    assert!(
        coe("!!str yes").flip_truth(),
        "the pre-flip string rule: 'yes' is true"
    );
    // Core scalar tags keep the plain reading.
    assert_eq!(coe("!!bool yes").style, Some(Style::Plain));
    assert!(coe("!!bool yes").is_yaml11_true());
    // A quoted `on` key is the string "on" as before; `!!str on` too.
    let w = wf("!!str on: push\njobs: {}\n");
    assert!(w.on.is_some_and(|t| t.event("push").is_some()));
}
