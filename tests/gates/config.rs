//! `gates.*` configuration: rule ids checked with suggestions, severities, labels, and
//! `--base` through the binary.

use crate::gate_support;
use gate_support::*;

fn lint_in(dir: &std::path::Path, extra: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"));
    cmd.env_clear()
        .current_dir(dir)
        .args(["gate", "lint", "--offline", "--format", "json"])
        .args(extra);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("spawn")
}

const DOCKER_JOB: &str = "name: CI\non: [pull_request]\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps: [{run: docker build .}]\n";

#[test]
fn unknown_rule_id_is_a_usage_error_with_a_suggestion() {
    let dir = checkout(&[("ci.yml", DOCKER_JOB)]);
    std::fs::write(
        dir.path().join(".mergeward.toml"),
        "[gates]\ndisable = [\"runs-on-pined\"]\n",
    )
    .expect("write");
    let out = lint_in(dir.path(), &[], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gates.disable") && err.contains("did you mean \"runs-on-pinned\""),
        "{err}"
    );
    std::fs::write(
        dir.path().join(".mergeward.toml"),
        "[gates]\ndisabel = [\"x\"]\n",
    )
    .expect("write");
    let err = String::from_utf8_lossy(&lint_in(dir.path(), &[], &[]).stderr).into_owned();
    assert!(err.contains("did you mean gates.disable?"), "{err}");
}

#[test]
fn disable_and_severity_overrides() {
    let dir = checkout(&[("ci.yml", DOCKER_JOB)]);
    assert_eq!(lint_in(dir.path(), &[], &[]).status.code(), Some(1));
    let out = lint_in(
        dir.path(),
        &[],
        &[("MERGEWARD_GATES_DISABLE", "runs-on-pinned")],
    );
    assert_eq!(out.status.code(), Some(0));
    std::fs::write(
        dir.path().join(".mergeward.toml"),
        "[gates]\nseverity = [\"runs-on-pinned=warning\"]\n",
    )
    .expect("write");
    let out = lint_in(dir.path(), &[], &[]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["findings"][0]["severity"], "warning");
    std::fs::write(
        dir.path().join(".mergeward.toml"),
        "[gates]\nseverity = [\"runs-on-pinned=loud\"]\n",
    )
    .expect("write");
    assert_eq!(lint_in(dir.path(), &[], &[]).status.code(), Some(2));
}

#[test]
fn runs_on_labels_from_config() {
    let dir = checkout(&[("ci.yml", DOCKER_JOB)]);
    std::fs::write(
        dir.path().join(".mergeward.toml"),
        "[gates]\nruns_on_labels = [\"ubuntu-latest\"]\n",
    )
    .expect("write");
    assert_eq!(lint_in(dir.path(), &[], &[]).status.code(), Some(0));
    std::fs::write(
        dir.path().join(".mergeward.toml"),
        "[gates]\nruns_on_labels = []\n",
    )
    .expect("write");
    assert_eq!(lint_in(dir.path(), &[], &[]).status.code(), Some(2));
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git");
    assert!(
        ok.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn base_ref_makes_new_contexts_need_a_declaration() {
    let base = "name: CI\non: [pull_request]\njobs:\n  build:\n    runs-on: x\n";
    let dir = checkout(&[("ci.yml", base)]);
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "base"]);
    let head = format!("{base}  lint:\n    runs-on: x\n");
    std::fs::write(dir.path().join(".gitea/workflows/ci.yml"), head).expect("write");
    let out = lint_in(
        dir.path(),
        &["--base", "HEAD", "--required-contexts", ""],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["findings"][0]["rule"], "context-in-protection");
    assert_eq!(v["findings"][0]["line"], 6);
    let out = lint_in(dir.path(), &["--base", "no-such-ref"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn context_events_and_external_contexts_from_the_environment() {
    let ci = "name: CI\non: [pull_request]\njobs:\n  b:\n    runs-on: docker-host\n";
    let dir = checkout(&[("ci.yml", ci)]);
    // The staging push added to the events: CI posts nothing on push.
    let out = lint_in(
        dir.path(),
        &["--required-contexts", "CI / b (*)"],
        &[("MERGEWARD_GATES_CONTEXT_EVENTS", "pull_request,push")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("on `push`"));
    let out = lint_in(dir.path(), &["--required-contexts", "CI / b (*)"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // An external system's context is not a finding.
    let out = lint_in(
        dir.path(),
        &["--required-contexts", "CI / b (pull_request),ci/circleci"],
        &[("MERGEWARD_GATES_EXTERNAL_CONTEXTS", "ci/circleci")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A bad event name is a configuration error naming the key.
    let out = lint_in(
        dir.path(),
        &[],
        &[("MERGEWARD_GATES_CONTEXT_EVENTS", "Pull Request")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("gates.context_events"));
}
