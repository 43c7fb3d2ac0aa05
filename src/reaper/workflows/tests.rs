//! Unit tests of the trigger map: YAML 1.1 readings, push classification, workflow names,
//! directories and limits.
use super::*;

fn push(text: &str) -> PushTrigger {
    parse_workflow(text).expect("parses").push
}

fn file(path: &str, text: &str) -> SourceFile {
    SourceFile {
        path: path.into(),
        stem: stem_of(path),
        text: Ok(text.into()),
    }
}

// --- trigger classifier (test_has_push_trigger_*) ---

#[test]
fn has_push_trigger_true_dict() {
    assert_eq!(
        push("on:\n  push:\n    branches: [main]\n"),
        PushTrigger::Yes
    );
}

#[test]
fn has_push_trigger_true_dict_with_paths() {
    assert_eq!(
        push("on:\n  push:\n    paths: ['src/**']\n  pull_request: {}\n"),
        PushTrigger::Yes
    );
}

#[test]
fn has_push_trigger_true_list() {
    assert_eq!(push("on: [push, pull_request]\n"), PushTrigger::Yes);
}

#[test]
fn has_push_trigger_true_str() {
    assert_eq!(push("on: push\n"), PushTrigger::Yes);
}

#[test]
fn has_push_trigger_false_schedule_only() {
    assert_eq!(
        push("on:\n  schedule:\n    - cron: '0 * * * *'\n"),
        PushTrigger::No
    );
}

#[test]
fn has_push_trigger_false_dispatch_only() {
    assert_eq!(push("on:\n  workflow_dispatch:\n"), PushTrigger::No);
    assert_eq!(push("on: workflow_dispatch\n"), PushTrigger::No);
}

#[test]
fn has_push_trigger_false_pull_request_only() {
    assert_eq!(push("on:\n  pull_request:\n"), PushTrigger::No);
}

#[test]
fn has_push_trigger_false_workflow_run_only() {
    assert_eq!(
        push("on:\n  workflow_run:\n    workflows: [CI]\n"),
        PushTrigger::No
    );
}

#[test]
fn has_push_trigger_false_list_no_push() {
    assert_eq!(push("on: [pull_request, schedule]\n"), PushTrigger::No);
}

#[test]
fn has_push_trigger_ambiguous_preserves() {
    let p = push("on: 42\n");
    assert!(p.has_push());
    assert_eq!(
        p,
        PushTrigger::Ambiguous {
            value: "42".into(),
            kind: "number"
        }
    );
}

#[test]
fn has_push_trigger_none_preserves() {
    assert!(matches!(
        push("on:\n"),
        PushTrigger::Ambiguous { kind: "null", .. }
    ));
    assert!(matches!(
        push("name: x\n"),
        PushTrigger::Ambiguous { kind: "null", .. }
    ));
}

// --- YAML 1.1 semantics ---

#[test]
fn bare_on_key_is_boolean_true_and_still_found() {
    // PyYAML reads `on:` as True; both lookups must find it.
    assert_eq!(push("on:\n  push: {}\n"), PushTrigger::Yes);
    assert_eq!(push("\"on\":\n  push: {}\n"), PushTrigger::Yes);
    assert_eq!(push("'on': [push]\n"), PushTrigger::Yes);
    assert_eq!(push("On: push\n"), PushTrigger::Yes);
    assert_eq!(push("true: push\n"), PushTrigger::Yes);
    assert_eq!(
        push("yes: push\n"),
        PushTrigger::Yes,
        "YAML 1.1: yes is True"
    );
    // A quoted 'yes' is a string key, not the trigger block.
    assert!(matches!(
        push("'yes': push\n"),
        PushTrigger::Ambiguous { .. }
    ));
    // The string key wins over a boolean one (the original's lookup order).
    assert_eq!(push("\"on\": push\ntrue: schedule\n"), PushTrigger::Yes);
}

#[test]
fn boolean_and_quoted_values() {
    // `on: yes` is a boolean in YAML 1.1: ambiguous, preserved.
    assert!(matches!(
        push("on: yes\n"),
        PushTrigger::Ambiguous { kind: "bool", .. }
    ));
    assert_eq!(push("on: 'push'\n"), PushTrigger::Yes);
    assert_eq!(push("on: !!str push\n"), PushTrigger::Yes);
}

#[test]
fn publish_workspace_server_image_preserved() {
    let text = "name: publish-workspace-server-image\non:\n  push:\n    branches: [main]\n    paths:\n      - 'workspace-server/**'\n  workflow_dispatch:\n";
    let p = parse_workflow(text).unwrap();
    assert_eq!(p.name.as_deref(), Some("publish-workspace-server-image"));
    assert_eq!(p.push, PushTrigger::Yes);
}

// --- scan / ids ---

#[test]
fn workflow_with_name_field() {
    let m = scan(
        "t".into(),
        vec![file("a/ci.yml", "name: CI\non: push\n")],
        vec![],
    )
    .unwrap();
    assert_eq!(m.push_trigger("CI"), Some(true));
    assert_eq!(m.push_trigger("ci"), None);
}

#[test]
fn workflow_without_name_field() {
    let m = scan(
        "t".into(),
        vec![file(
            "a/nightly.yml",
            "on:\n  schedule: [{cron: '0 0 * * *'}]\n",
        )],
        vec![],
    )
    .unwrap();
    assert_eq!(m.push_trigger("nightly"), Some(false));
}

#[test]
fn workflow_empty_name_falls_back_to_stem() {
    let m = scan(
        "t".into(),
        vec![file("a/x.yaml", "name: '  '\non: push\n")],
        vec![],
    )
    .unwrap();
    assert_eq!(m.push_trigger("x"), Some(true));
    // YAML 1.1: `name: yes` is a boolean, not a string: the stem is used.
    let m = scan(
        "t".into(),
        vec![file("a/y.yml", "name: yes\non: push\n")],
        vec![],
    )
    .unwrap();
    assert_eq!(m.push_trigger("y"), Some(true));
}

#[test]
fn workflow_name_collision_fails_loud() {
    let err = scan(
        "t".into(),
        vec![
            file("d/a.yml", "name: CI\non: push\n"),
            file("d/b.yml", "name: CI\non: schedule\n"),
        ],
        vec![],
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), crate::error::ExitCode::Usage);
    let msg = err.to_string();
    assert!(
        msg.contains("workflow name collision detected: CI (files: d/a.yml + d/b.yml)"),
        "{msg}"
    );
}

#[test]
fn workflow_name_with_slash_fails_loud() {
    let err = scan(
        "t".into(),
        vec![file("d/a.yml", "name: build/test\non: push\n")],
        vec![],
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), crate::error::ExitCode::Usage);
    assert!(err.to_string().contains("build/test"), "{err}");
    assert!(err.to_string().contains("d/a.yml"), "{err}");
}

#[test]
fn workflow_name_with_slash_via_filename_stem_is_impossible() {
    // A file name cannot contain '/', so a stem never does (the original's documentation
    // no-op): the stem of a path is its last component.
    assert_eq!(stem_of(".gitea/workflows/ci.yml"), "ci");
}

#[test]
fn parse_errors_and_non_mappings_warn_and_skip() {
    let m = scan(
        "t".into(),
        vec![
            file("d/bad.yml", "on: [push\n"),
            file("d/list.yml", "- a\n- b\n"),
            file("d/two.yml", "on: push\n---\non: push\n"),
            file("d/ok.yml", "on: push\n"),
        ],
        vec![],
    )
    .unwrap();
    assert_eq!(m.workflows.len(), 1);
    let msgs: Vec<&str> = m.notes.iter().map(|n| n.message.as_str()).collect();
    assert!(
        msgs[0].starts_with("yaml parse failed for d/bad.yml"),
        "{msgs:?}"
    );
    assert_eq!(msgs[1], "workflow d/list.yml not a dict; skip");
    assert!(
        msgs[2].starts_with("yaml parse failed for d/two.yml"),
        "{msgs:?}"
    );
}

#[test]
fn scan_workflows_missing_dir_returns_empty() {
    let dir = tempfile::tempdir().unwrap();
    let m = from_dir(dir.path()).unwrap();
    assert!(m.workflows.is_empty());
    assert!(m.notes[0].message.starts_with("workflows dir not found"));
    assert!(from_dir(&dir.path().join("absent")).is_err());
}

#[test]
fn gitea_dir_wins_and_both_extensions_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join(".gitea/workflows");
    let h = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&g).unwrap();
    std::fs::create_dir_all(&h).unwrap();
    std::fs::write(g.join("ci.yml"), "name: CI\non: push\n").unwrap();
    std::fs::write(g.join("nightly.yaml"), "on: schedule\n").unwrap();
    std::fs::write(g.join("README.md"), "not a workflow").unwrap();
    std::fs::write(h.join("ci.yml"), "name: CI\non: push\n").unwrap();
    let m = from_dir(dir.path()).unwrap();
    assert_eq!(m.push_trigger("CI"), Some(true));
    assert_eq!(m.push_trigger("nightly"), Some(false));
    assert_eq!(m.workflows.len(), 2);
    assert!(
        m.notes
            .iter()
            .any(|n| n.message.contains(".github/workflows ignored"))
    );
    // The original's WORKFLOWS_DIR (the workflow directory itself) works too.
    let m = from_dir(&g).unwrap();
    assert_eq!(m.workflows.len(), 2);
}

#[test]
fn huge_files_are_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join(".gitea/workflows");
    std::fs::create_dir_all(&g).unwrap();
    let big = format!("on: push\n#{}\n", "x".repeat(MAX_WORKFLOW_BYTES as usize));
    std::fs::write(g.join("big.yml"), big).unwrap();
    let m = from_dir(dir.path()).unwrap();
    assert!(m.workflows.is_empty());
    assert!(m.notes[0].message.contains("byte limit"), "{:?}", m.notes);
}
