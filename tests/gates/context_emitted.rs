//! `context-emitted` (issue 15 point 4): every required context (exact or glob) must be
//! posted by a workflow of the tree on the events the queue needs; Gitea/Forgejo contexts
//! and GitHub check names, matrix expansions, local reusable workflows; offline with
//! `--required-contexts` and against the forge's branch protection.

use crate::gate_support;
use gate_support::*;
use mergeward::forge::ForgeKind;
use mergeward::gates::{GateSettings, LintEnv, LintReport};
use mergeward::sim::{Permission, ProtectionSpec, Scenario, Sim};

const RULE: &str = "context-emitted";

fn env(required: &[&str], forge: ForgeKind) -> LintEnv {
    LintEnv {
        required_contexts: Some(s(required)),
        required_source: "branch protection of main".into(),
        forge: Some(forge),
        ..LintEnv::default()
    }
}

fn gitea(files: &[(&str, &str)], required: &[&str]) -> LintReport {
    lint_only(RULE, files, &env(required, ForgeKind::Gitea))
}

const CI: &str = "name: CI\non:\n  pull_request:\n  push:\n    branches: [main]\njobs:\n  build:\n    name: Build\n    runs-on: x\n  test:\n    strategy:\n      matrix:\n        os: [linux, mac]\n    runs-on: x\n";
const NIGHTLY: &str =
    "name: Nightly\non:\n  schedule:\n    - cron: '0 3 * * *'\njobs:\n  soak: {runs-on: x}\n";

#[test]
fn every_required_context_posted_is_clean() {
    let r = gitea(
        &[(".gitea/workflows/ci.yml", CI)],
        &[
            "CI / Build (pull_request)",
            "CI / test (linux) (pull_request)",
            "CI / test (mac) (pull_request)",
            "CI / *",
        ],
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn a_required_context_nobody_posts_is_a_repository_finding_with_did_you_mean() {
    let r = gitea(
        &[
            (".gitea/workflows/ci.yml", CI),
            (".gitea/workflows/nightly.yml", NIGHTLY),
        ],
        &["CI / build (pull_request)", "Nightly / soak (schedule)"],
    );
    assert_eq!(r.findings.len(), 2, "{:?}", r.findings);
    let f = &r.findings[0];
    assert!(f.repository);
    assert_eq!(
        (f.file.as_str(), f.line, f.column),
        (".gitea/workflows", 1, 1)
    );
    // Names the protection rule, the context, the event, and the closest posted context.
    assert!(
        f.message
            .contains("branch protection of main requires \"CI / build (pull_request)\"")
            && f.message.contains("`pull_request`")
            && f.message
                .contains("did you mean \"CI / Build (pull_request)\"?"),
        "{}",
        f.message
    );
    // A schedule-only workflow posts nothing on the PR's event.
    assert!(r.findings[1].message.contains("Nightly / soak (schedule)"));
}

#[test]
fn a_glob_matching_nothing_posted_on_the_pr_event_is_a_finding() {
    // The push context exists, but the PR event posts no `(push)` context.
    let r = gitea(&[(".gitea/workflows/ci.yml", CI)], &["CI / * (push)"]);
    assert_eq!(r.findings.len(), 1);
    assert!(r.findings[0].message.contains("matches no context"));
    // `*` is satisfied by any posted context.
    assert!(
        gitea(&[(".gitea/workflows/ci.yml", CI)], &["*"])
            .findings
            .is_empty()
    );
    // An empty tree posts nothing: `*` is a finding at `.`.
    let r = lint_only(RULE, &[], &env(&["*"], ForgeKind::Gitea));
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].file, ".");
}

#[test]
fn the_event_set_is_configurable_for_batch_mode() {
    let s = GateSettings {
        context_events: vec!["pull_request".into(), "push".into()],
        ..mergeward::config::gate_defaults()
    };
    // On Gitea the event is part of the context: a `(pull_request)` context is never
    // posted by the staging push, a glob over the event is.
    let r = lint_with(
        RULE,
        &[(".gitea/workflows/ci.yml", CI)],
        &s,
        &env(
            &["CI / Build (pull_request)", "CI / Build (*)"],
            ForgeKind::Gitea,
        ),
    );
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert!(r.findings[0].message.contains("on `push`"));
    // On GitHub a check name is the same on both events.
    let r = lint_with(
        RULE,
        &[(".github/workflows/ci.yml", CI)],
        &s,
        &env(&["Build", "test (linux)"], ForgeKind::GitHub),
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn github_check_names_matrix_and_reusable_workflows() {
    let caller = "name: PR\non: pull_request\njobs:\n  lint:\n    uses: ./.github/workflows/lint.yml\n  remote:\n    uses: acme/shared/.github/workflows/x.yml@v1\n  unit:\n    name: unit ${{ matrix.py }}\n    strategy:\n      matrix:\n        py: ['3.11', '3.12']\n        include:\n          - py: '3.13'\n    runs-on: x\n";
    let callee = "name: lint\non: workflow_call\njobs:\n  ruff: {runs-on: x}\n  mypy:\n    name: types\n    runs-on: x\n";
    let files = [
        (".github/workflows/pr.yml", caller),
        (".github/workflows/lint.yml", callee),
    ];
    let r = lint_only(
        RULE,
        &files,
        &env(
            &["lint / ruff", "lint / types", "unit 3.11", "unit 3.13"],
            ForgeKind::GitHub,
        ),
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    let r = lint_only(
        RULE,
        &files,
        &env(&["lint / mypy", "unit 3.10"], ForgeKind::GitHub),
    );
    assert_eq!(r.findings.len(), 2, "{:?}", r.findings);
    assert!(
        r.findings[0]
            .message
            .contains("did you mean \"lint / types\"?")
    );
    // A remote reusable workflow's jobs are unknown: a name that fits is a note.
    let r = lint_only(RULE, &files, &env(&["remote / deploy"], ForgeKind::GitHub));
    assert!(r.findings.is_empty());
    assert!(
        r.notes.iter().any(|n| n.contains("not statically known")),
        "{:?}",
        r.notes
    );
}

#[test]
fn external_contexts_are_not_findings_and_missing_protection_is_a_note() {
    let s = GateSettings {
        external_contexts: vec!["ci/circleci: *".into()],
        ..mergeward::config::gate_defaults()
    };
    let r = lint_with(
        RULE,
        &[(".gitea/workflows/ci.yml", CI)],
        &s,
        &env(&["ci/circleci: build"], ForgeKind::Gitea),
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    let r = lint_only(
        RULE,
        &[(".gitea/workflows/ci.yml", CI)],
        &LintEnv::default(),
    );
    assert!(r.findings.is_empty());
    assert!(r.notes[0].contains("skipped"));
}

#[test]
fn offline_cli_with_required_contexts_exits_1() {
    let dir = checkout(&[("ci.yml", CI)]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .env_clear()
        .current_dir(dir.path())
        .args([
            "gate",
            "lint",
            "--offline",
            "--required-contexts",
            "CI / Build (pull_request),CI / Biuld (pull_request)",
            "--format",
            "json",
        ])
        .output()
        .expect("spawn");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let f: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == RULE)
        .collect();
    assert_eq!(f.len(), 1, "{v}");
    assert_eq!(f[0]["scope"], "repository");
    assert_eq!(f[0]["file"], ".gitea/workflows");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("--required-contexts requires \"CI / Biuld (pull_request)\"")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn protection_read_from_the_forge_names_the_rule() {
    let sc = Scenario::gitea("acme/widgets")
        .user("bot", "tok-gate-bot", Permission::Write)
        .branch("main", None, 1)
        .protect(
            ProtectionSpec::new("main")
                .contexts(&["CI / Build (pull_request)", "gates / lint (pull_request)"]),
        );
    let sim = Sim::start(sc).await.expect("sim");
    let dir = checkout(&[("ci.yml", CI)]);
    let out = run_cli(
        s(&[
            "gate",
            "lint",
            "--url",
            &sim.url(),
            "--repo",
            "acme/widgets",
            "--format",
            "text",
            "--token-env",
            "TOK",
        ]),
        vec![("TOK", "tok-gate-bot".into())],
        dir.path().to_path_buf(),
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(".gitea/workflows: error[context-emitted] branch protection of main requires \"gates / lint (pull_request)\""),
        "{text}"
    );
    assert!(
        !text.contains("requires \"CI / Build (pull_request)\""),
        "{text}"
    );
}
