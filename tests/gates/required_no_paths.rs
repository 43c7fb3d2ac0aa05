//! `required-no-paths` (seed-systems §6; mirrors the original's 22 tests, plus `*`).

use crate::gate_support;
use gate_support::*;
use mergeward::gates::LintEnv;
use mergeward::gates::rules::required_no_paths::{path_filters, required_workflows};
use mergeward::sim::{Fault, FaultAction, Permission, ProtectionSpec, Scenario, Sim};
use mergeward::workflow::parse_context;

const RULE: &str = "required-no-paths";

fn env(required: &[&str]) -> LintEnv {
    LintEnv {
        required_contexts: Some(s(required)),
        required_source: "test".into(),
        ..LintEnv::default()
    }
}

const CLEAN: &str =
    "name: CI\non:\n  pull_request:\n  push:\n    branches: [main]\njobs:\n  build: {runs-on: x}\n";
const PR_PATHS: &str =
    "name: Docs\non:\n  pull_request:\n    paths: ['docs/**']\njobs:\n  check: {runs-on: x}\n";

#[test]
fn parse_context_standard_shape() {
    assert_eq!(
        parse_context("CI / build (pull_request)"),
        Some(("CI", "build", "pull_request"))
    );
}

#[test]
fn parse_context_with_slash_in_job_name() {
    assert_eq!(
        parse_context("ci / setup / install-deps (pull_request)"),
        Some(("ci", "setup / install-deps", "pull_request"))
    );
}

#[test]
fn parse_context_unparseable_returns_none() {
    assert_eq!(parse_context("just-a-name"), None);
    assert_eq!(parse_context("CI / build"), None);
}

#[test]
fn resolve_workflow_file_matches_name_attr() {
    let a = wf("a.yml", CLEAN);
    let b = wf("b.yml", PR_PATHS);
    let (hit, notes) = required_workflows(&[&a, &b], &s(&["Docs / other-job (pull_request)"]));
    assert_eq!(hit.into_iter().collect::<Vec<_>>(), [1]);
    assert!(notes.is_empty());
}

#[test]
fn resolve_workflow_file_returns_none_when_missing() {
    let a = wf("a.yml", CLEAN);
    let (hit, notes) = required_workflows(&[&a], &s(&["Nope / x (pull_request)"]));
    assert!(hit.is_empty());
    assert!(notes[0].contains("no workflow here has `name: Nope`"));
}

#[test]
fn workflow_has_no_paths_filter_clean() {
    assert!(path_filters(&wf("a.yml", CLEAN)).is_empty());
}

#[test]
fn workflow_with_pull_request_paths_filter_detected() {
    let w = wf("a.yml", PR_PATHS);
    let f = path_filters(&w);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].0, "on.pull_request.paths");
}

#[test]
fn workflow_with_paths_ignore_filter_detected() {
    let w = wf(
        "a.yml",
        "on:\n  pull_request:\n    paths-ignore: ['*.md']\n",
    );
    assert_eq!(path_filters(&w)[0].0, "on.pull_request.paths-ignore");
}

#[test]
fn workflow_with_push_paths_filter_detected() {
    let w = wf("a.yml", "on:\n  push:\n    paths: [src]\n");
    assert_eq!(path_filters(&w)[0].0, "on.push.paths");
}

#[test]
fn workflow_with_both_paths_and_paths_ignore_two_findings() {
    let text =
        "name: CI\non:\n  pull_request:\n    paths: [a]\n    paths-ignore: [b]\njobs:\n  j: {}\n";
    let r = lint_only(RULE, &[("ci.yml", text)], &env(&["CI / j (pull_request)"]));
    assert_eq!(lines(&r), [4, 5]);
}

#[test]
fn workflow_with_on_shorthand_string_passes() {
    assert!(path_filters(&wf("a.yml", "on: pull_request\n")).is_empty());
}

#[test]
fn workflow_with_on_list_shorthand_passes() {
    assert!(path_filters(&wf("a.yml", "on: [push, pull_request]\n")).is_empty());
}

#[test]
fn workflow_on_event_with_null_value_passes() {
    assert!(path_filters(&wf("a.yml", "on:\n  pull_request: ~\n  push:\n")).is_empty());
}

#[test]
fn malformed_top_level_paths_detected() {
    let w = wf("a.yml", "on:\n  paths: [x]\n  push:\n");
    assert_eq!(path_filters(&w)[0].0, "on.paths");
}

#[test]
fn no_required_workflows_succeeds() {
    let r = lint_only(RULE, &[("d.yml", PR_PATHS)], &env(&[]));
    assert!(r.findings.is_empty());
    assert!(r.notes[0].contains("requires no status contexts"));
}

#[test]
fn required_workflow_no_paths_passes() {
    let r = lint_only(
        RULE,
        &[("ci.yml", CLEAN)],
        &env(&["CI / build (pull_request)"]),
    );
    assert!(r.findings.is_empty());
}

#[test]
fn required_workflow_with_paths_filter_fails() {
    let r = lint_only(
        RULE,
        &[("d.yml", PR_PATHS)],
        &env(&["Docs / check (pull_request)"]),
    );
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!((f.line, f.column), (4, 5));
    assert!(
        f.message.contains("required workflow 'Docs'") && f.message.contains("pending forever")
    );
    assert!(f.fix.contains("remove the filter"));
}

#[test]
fn required_workflow_with_paths_ignore_fails() {
    let text =
        "name: Docs\non:\n  pull_request:\n    paths-ignore: ['src/**']\njobs:\n  check: {}\n";
    let r = lint_only(
        RULE,
        &[("d.yml", text)],
        &env(&["Docs / check (pull_request)"]),
    );
    assert!(
        r.findings[0]
            .message
            .contains("on.pull_request.paths-ignore")
    );
}

#[test]
fn unknown_required_context_warns_not_fails() {
    let r = lint_only(
        RULE,
        &[("ci.yml", CLEAN)],
        &env(&["Gone / x (pull_request)", "garbage"]),
    );
    assert!(r.findings.is_empty());
    assert_eq!(r.notes.len(), 2);
    assert!(r.notes[1].contains("could not parse"));
}

#[test]
fn multi_required_one_bad_one_good_fails() {
    let r = lint_only(
        RULE,
        &[("ci.yml", CLEAN), ("docs.yml", PR_PATHS)],
        &env(&["CI / build (pull_request)", "Docs / check (pull_request)"]),
    );
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].file, "docs.yml");
    assert!(r.findings.iter().all(|f| f.file != "ci.yml"));
}

/// The original's defect: `*` resolved nothing and the lint printed OK. The queue's
/// reading (issue 15 point 3): `*` is satisfied by any posted match, so a path-filtered
/// workflow strands a PR only when no unfiltered workflow posts a match on the PR event.
#[test]
fn wildcard_protection_follows_the_queues_reading() {
    // CI runs on every PR: `*` always has a match, Docs' filter strands nothing.
    let r = lint_only(
        RULE,
        &[("ci.yml", CLEAN), ("docs.yml", PR_PATHS)],
        &env(&["*"]),
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    // Only path-filtered workflows run on PRs: a PR touching none of their paths has no
    // match at all. Both filtered workflows are findings.
    let push_only =
        "name: Release\non:\n  push:\n    paths: ['release/**']\njobs:\n  r: {runs-on: x}\n";
    let src = "name: Src\non:\n  pull_request:\n    paths-ignore: ['docs/**']\njobs:\n  t: {runs-on: x}\n";
    let r = lint_only(
        RULE,
        &[
            ("docs.yml", PR_PATHS),
            ("src.yml", src),
            ("release.yml", push_only),
        ],
        &env(&["*"]),
    );
    let files: Vec<&str> = r.findings.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, ["docs.yml", "src.yml"], "{:?}", r.findings);
    assert!(
        r.findings[0]
            .message
            .contains("only by path-filtered workflows")
    );
    // A push-only workflow never posts on PRs: its filter is not a PR's problem.
    assert!(files.iter().all(|f| *f != "release.yml"));
    // A glob matched by an unfiltered workflow's job is safe; one matched only by the
    // filtered workflow is not.
    let r = lint_only(
        RULE,
        &[("ci.yml", CLEAN), ("docs.yml", PR_PATHS)],
        &env(&["CI / *", "Docs / *"]),
    );
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].file, "docs.yml");
    assert!(r.findings[0].message.contains("\"Docs / *\""));
    // With both `pull_request` and `pull_request_target` triggers, one unfiltered is enough.
    let both = "name: Docs\non:\n  pull_request:\n    paths: ['docs/**']\n  pull_request_target:\njobs:\n  check: {runs-on: x}\n";
    assert!(
        lint_only(RULE, &[("d.yml", both)], &env(&["*"]))
            .findings
            .is_empty()
    );
}

#[test]
fn glob_protection_selects_matching_workflows_only() {
    let r = lint_only(RULE, &[("docs.yml", PR_PATHS)], &env(&["CI / *"]));
    assert!(r.findings.is_empty());
    assert!(r.notes[0].contains("matches no context"));
    let r = lint_only(
        RULE,
        &[("docs.yml", PR_PATHS)],
        &env(&["Docs / * (pull_request)"]),
    );
    assert_eq!(r.findings.len(), 1);
}

#[test]
fn no_protection_source_skips_with_a_note() {
    let r = lint_only(RULE, &[("docs.yml", PR_PATHS)], &LintEnv::default());
    assert!(r.findings.is_empty());
    assert!(r.notes[0].contains("skipped"));
}

async fn sim_with_protection(contexts: &[&str]) -> Sim {
    let sc = Scenario::gitea("acme/widgets")
        .user("bot", "tok-gate-bot", Permission::Write)
        .branch("main", None, 1)
        .protect(ProtectionSpec::new("main").contexts(contexts));
    Sim::start(sc).await.expect("sim")
}

fn cli_args(sim: &Sim) -> Vec<String> {
    s(&[
        "gate",
        "lint",
        "--url",
        &sim.url(),
        "--repo",
        "acme/widgets",
        "--format",
        "json",
        "--token-env",
        "TOK",
    ])
}

#[tokio::test(flavor = "multi_thread")]
async fn protection_read_from_the_forge_fails_the_bad_workflow() {
    let sim = sim_with_protection(&["Docs / check (pull_request)"]).await;
    let dir = checkout(&[("docs.yml", PR_PATHS), ("ci.yml", CLEAN)]);
    let out = run_cli(
        cli_args(&sim),
        vec![("TOK", "tok-gate-bot".into())],
        dir.path().to_path_buf(),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["findings"][0]["rule"], "required-no-paths");
    assert_eq!(v["findings"][0]["file"], ".gitea/workflows/docs.yml");
}

#[tokio::test(flavor = "multi_thread")]
async fn protection_403_fails_closed() {
    let sim = sim_with_protection(&["Docs / check (pull_request)"]).await;
    sim.inject(Fault::new(
        "/repos/{owner}/{repo}/branches/{branch}",
        FaultAction::Status {
            code: 403,
            body: None,
            headers: Vec::new(),
        },
    ));
    let dir = checkout(&[("ci.yml", CLEAN)]);
    let out = run_cli(
        cli_args(&sim),
        vec![("TOK", "tok-gate-bot".into())],
        dir.path().to_path_buf(),
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("403") && err.contains("branch protection"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn protection_5xx_could_not_decide() {
    let sim = sim_with_protection(&["*"]).await;
    sim.inject(Fault::new(
        "/repos/{owner}/{repo}/branches/{branch}",
        FaultAction::Status {
            code: 502,
            body: None,
            headers: Vec::new(),
        },
    ));
    let dir = checkout(&[("ci.yml", CLEAN)]);
    let mut args = cli_args(&sim);
    args.extend(s(&[]));
    let out = run_cli(
        args,
        vec![
            ("TOK", "tok-gate-bot".into()),
            ("MERGEWARD_MAX_RETRIES", "0".into()),
        ],
        dir.path().to_path_buf(),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unprotected_branch_skips_gracefully() {
    let sc = Scenario::gitea("acme/widgets")
        .user("bot", "tok-gate-bot", Permission::Write)
        .branch("main", None, 1);
    let sim = Sim::start(sc).await.expect("sim");
    let dir = checkout(&[("docs.yml", PR_PATHS)]);
    let out = run_cli(
        cli_args(&sim),
        vec![("TOK", "tok-gate-bot".into())],
        dir.path().to_path_buf(),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
