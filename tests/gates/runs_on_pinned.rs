//! `runs-on-pinned` (seed-systems §9; the original had no tests — these pin its rule and
//! the model-based job parsing that replaces its indentation heuristics).

use crate::gate_support;
use gate_support::*;
use mergeward::gates::{GateSettings, LintEnv};

const RULE: &str = "runs-on-pinned";

#[test]
fn docker_job_on_generic_label_fails_at_runs_on() {
    let f = findings(
        RULE,
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: docker build -t x .\n",
    );
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].line, f[0].column), (4, 14));
    assert!(f[0].message.contains("`docker build`") && f[0].message.contains("docker-host"));
}

#[test]
fn pinned_job_passes_including_label_lists() {
    for ro in [
        "docker-host",
        "[docker-host, molecule-core-net]",
        "[self-hosted, publish]",
    ] {
        let text = format!(
            "on: push\njobs:\n  b:\n    runs-on: {ro}\n    steps:\n      - run: docker compose up\n"
        );
        assert!(findings(RULE, &text).is_empty(), "{ro}");
    }
}

#[test]
fn docker_actions_container_and_services_count() {
    let uses = "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: docker/build-push-action@v6\n";
    assert_eq!(findings(RULE, uses).len(), 1);
    let container = "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    container: golang:1.22\n    steps: [{run: go test}]\n";
    assert_eq!(findings(RULE, container).len(), 1);
    let services = "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    services:\n      db: {image: postgres}\n";
    assert_eq!(findings(RULE, services).len(), 1);
}

#[test]
fn non_docker_words_and_comment_lines_do_not_count() {
    let text = "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          # docker build is done elsewhere\n          echo mydocker run\n          docker --version\n";
    assert!(findings(RULE, text).is_empty());
}

#[test]
fn reusable_workflow_calls_and_expressions_are_skipped() {
    let call = "on: push\njobs:\n  b:\n    uses: ./.gitea/workflows/build.yml\n    steps: [{run: docker build .}]\n";
    assert!(findings(RULE, call).is_empty());
    let expr = "on: push\njobs:\n  b:\n    runs-on: ${{ matrix.os }}\n    steps: [{run: docker build .}]\n";
    assert!(findings(RULE, expr).is_empty());
}

#[test]
fn indentation_does_not_matter() {
    // The original's line parser saw only 2/4-space indents; the model sees any.
    let text = "on: push\njobs:\n    build:\n        runs-on: ubuntu-latest\n        steps:\n        -   run: docker push x\n";
    let f = findings(RULE, text);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].line, 4);
    let flow = "on: push\njobs: {build: {runs-on: ubuntu-latest, steps: [{run: docker pull x}]}}\n";
    assert_eq!(findings(RULE, flow).len(), 1);
}

#[test]
fn labels_are_configurable() {
    let s = GateSettings {
        runs_on_labels: vec!["dind".into()],
        ..mergeward::config::gate_defaults()
    };
    let text =
        "on: push\njobs:\n  b:\n    runs-on: docker-host\n    steps: [{run: docker build .}]\n";
    let r = lint_with(RULE, &[("a.yml", text)], &s, &LintEnv::default());
    assert_eq!(r.findings.len(), 1);
    assert!(r.findings[0].message.contains("[dind]"));
}
