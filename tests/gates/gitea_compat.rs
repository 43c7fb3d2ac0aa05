//! `gitea-compat` (seed-systems §8, rules 1–6, 10, 11; mirrors the original's detect/pass pairs).

use crate::gate_support;
use gate_support::*;
use mergeward::forge::ForgeKind;
use mergeward::gates::{GateSettings, LintEnv, Severity};

const RULE: &str = "gitea-compat";

fn one(text: &str) -> Vec<mergeward::gates::Finding> {
    findings(RULE, text)
}

#[test]
fn rule1_workflow_dispatch_inputs_detects_violation() {
    let f = one("on:\n  workflow_dispatch:\n    inputs:\n      tag: {required: true}\njobs: {}\n");
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].line, f[0].column), (3, 5));
    assert!(f[0].message.contains("rule 1"));
}

#[test]
fn rule1_workflow_dispatch_inputs_passes_when_absent() {
    assert!(one("on:\n  workflow_dispatch:\njobs: {}\n").is_empty());
    assert!(one("on:\n  workflow_dispatch:\n    inputs: {}\njobs: {}\n").is_empty());
}

#[test]
fn rule1_depends_on_the_gitea_version() {
    let text = "on:\n  workflow_dispatch:\n    inputs:\n      tag: {}\n";
    let s = GateSettings {
        gitea_version: Some("1.23.1".into()),
        ..mergeward::config::gate_defaults()
    };
    assert!(
        lint_with(RULE, &[("a.yml", text)], &s, &LintEnv::default())
            .findings
            .is_empty()
    );
    let env = LintEnv {
        forge_version: Some("1.22.6".into()),
        ..LintEnv::default()
    };
    assert_eq!(lint_only(RULE, &[("a.yml", text)], &env).findings.len(), 1);
}

#[test]
fn rule1_catches_the_bare_on_key_read_as_yaml11_true() {
    // `True:` is how PyYAML saw `on:`; the trigger block is found either way.
    let f = one("True:\n  workflow_dispatch:\n    inputs:\n      x: {}\n");
    assert_eq!(f.len(), 1);
}

#[test]
fn rule2_workflow_run_detects_violation() {
    assert_eq!(one("on:\n  workflow_run:\n    workflows: [CI]\n").len(), 1);
    let f = one("on: [push, workflow_run]\n");
    assert_eq!((f[0].line, f[0].column), (1, 12));
}

#[test]
fn rule2_passes_when_absent() {
    assert!(one("on: [push, pull_request]\n").is_empty());
}

#[test]
fn rule3_slash_in_name_detects_violation() {
    let f = one("name: CI / lint\non: push\n");
    assert_eq!((f.len(), f[0].line, f[0].column), (1, 1, 7));
}

#[test]
fn rule3_passes_without_slash() {
    assert!(one("name: CI lint\non: push\n").is_empty());
}

#[test]
fn rule4_name_collision_across_two_files_detects_violation() {
    let r = lint_only(
        RULE,
        &[
            ("a.yml", "name: CI\non: push\n"),
            ("b.yml", "name: CI\non: push\n"),
        ],
        &LintEnv::default(),
    );
    assert_eq!(r.findings.len(), 2);
    assert!(r.findings[0].message.contains("[a.yml, b.yml]"));
}

#[test]
fn rule4_passes_when_names_distinct() {
    let r = lint_only(
        RULE,
        &[
            ("a.yml", "name: A\non: push\n"),
            ("b.yml", "name: B\non: push\n"),
        ],
        &LintEnv::default(),
    );
    assert!(r.findings.is_empty());
}

#[test]
fn rule5_cross_repo_uses_detects_violation() {
    let f = one(
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: acme/actions/setup/go@v1\n  b:\n    uses: acme/wf/.github/workflows/x.yml@main\n",
    );
    assert_eq!(f.len(), 2);
    assert_eq!((f[0].line, f[0].column), (6, 15));
}

#[test]
fn rule5_passes_when_only_actions_org() {
    let f = one(
        "on: push\njobs:\n  a:\n    steps:\n      - uses: actions/checkout@v4\n      - uses: ./.gitea/actions/x\n      - uses: docker://alpine:3\n",
    );
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn rule6_github_server_url_missing_is_warning_not_fatal() {
    let f =
        one("on: push\njobs:\n  a:\n    steps:\n      - run: curl https://api.github.com/repos\n");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!((f[0].line, f[0].column), (5, 19));
}

#[test]
fn rule6_github_server_url_present_no_warning() {
    let f = one(
        "on: push\nenv:\n  GITHUB_SERVER_URL: https://git.example.com\njobs:\n  a:\n    steps:\n      - run: curl https://api.github.com/repos\n",
    );
    assert!(f.is_empty());
}

#[test]
fn rule10_docker_info_head_under_pipefail_detects_violation() {
    let f = one(
        "on: push\njobs:\n  a:\n    steps:\n      - run: |\n          set -euo pipefail\n          docker info | head -n 5\n",
    );
    assert_eq!(f.len(), 1);
    // A block scalar's position is its first content line.
    assert_eq!(f[0].line, 6);
}

#[test]
fn rule10_docker_info_capture_passes() {
    let f = one(
        "on: push\njobs:\n  a:\n    steps:\n      - run: |\n          set -euo pipefail\n          info=$(docker info)\n          printf '%s' \"$info\" | head -n 5\n",
    );
    assert!(f.is_empty());
}

#[test]
fn rule10_docker_info_head_in_separate_step_without_pipefail_passes() {
    let f = one(
        "on: push\njobs:\n  a:\n    steps:\n      - run: set -euo pipefail\n      - run: docker info | head -n 5\n",
    );
    assert!(f.is_empty());
}

#[test]
fn rule11_duplicate_keys_detects_violation() {
    let f = one("on: push\njobs:\n  a:\n    runs-on: x\n    runs-on: y\n");
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].line, f[0].column), (5, 5));
    assert!(f[0].message.contains("first at line 4, column 5"));
}

#[test]
fn all_violations_aggregated_single_file() {
    let f = one(
        "name: a/b\non:\n  workflow_run: {}\n  workflow_dispatch:\n    inputs: {x: {}}\njobs:\n  a:\n    steps:\n      - uses: o/r/p@v1\n",
    );
    assert_eq!(f.len(), 4, "{f:?}");
}

#[test]
fn skipped_on_github() {
    let env = LintEnv {
        forge: Some(ForgeKind::GitHub),
        ..LintEnv::default()
    };
    let r = lint_only(RULE, &[("a.yml", "on: [workflow_run]\n")], &env);
    assert!(r.findings.is_empty());
    assert!(r.notes.iter().any(|n| n.contains("GitHub")));
}

#[test]
fn vendor_truth_publish_runtime_regression() {
    // The shape of the 2026-05-11 regression: a dispatch input added to a publish workflow.
    let text = "name: publish-runtime\non:\n  push:\n    tags: ['v*']\n  workflow_dispatch:\n    inputs:\n      version:\n        description: version to publish\n        required: true\njobs:\n  publish:\n    runs-on: publish\n    steps:\n      - run: make publish\n";
    let f = one(text);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].line, 6);
}
