//! `coe-tracking` (seed-systems §5; mirrors the original's 14 tests with the issue lookup
//! stubbed, then the real lookup through the simulator, failing closed).

use crate::gate_support;
use gate_support::*;
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use mergeward::forge::ForgeKind;
use mergeward::gates::{GateSettings, IssueLookup, LintEnv, LintReport};
use mergeward::sim::issues::SimIssue;
use mergeward::sim::{Fault, FaultAction, Permission, Scenario, Sim};

const RULE: &str = "coe-tracking";
const REPO: &str = "acme/core";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-20T12:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn ago(d: Duration) -> String {
    (now() - d).to_rfc3339()
}

fn settings() -> GateSettings {
    let mut s = mergeward::config::gate_defaults();
    s.coe_trackers.insert("mc".into(), REPO.into());
    s.coe_trackers
        .insert("internal".into(), "acme/internal".into());
    s
}

fn run(text: &str, issues: &[((&str, u64), IssueLookup)]) -> LintReport {
    let env = LintEnv {
        now: now(),
        repo: Some(REPO.into()),
        forge: Some(ForgeKind::Gitea),
        issues: issues
            .iter()
            .map(|((r, n), l)| ((r.to_string(), *n), l.clone()))
            .collect::<BTreeMap<_, _>>(),
        ..LintEnv::default()
    };
    lint_with(RULE, &[("ci.yml", text)], &settings(), &env)
}

fn open(age: Duration) -> IssueLookup {
    IssueLookup::Found {
        state: "open".into(),
        created_at: Some(ago(age)),
    }
}

fn job(coe: &str) -> String {
    format!(
        "on: push\njobs:\n  flaky:\n    runs-on: x\n    continue-on-error: {coe}\n    steps:\n      - run: make test\n"
    )
}

#[test]
fn coe_false_is_ignored() {
    assert!(run(&job("false"), &[]).findings.is_empty());
}

#[test]
fn coe_true_with_open_recent_mc_passes() {
    let r = run(
        &job("true  # mc#12 flaky upload"),
        &[((REPO, 12), open(Duration::days(5)))],
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn coe_true_with_open_recent_internal() {
    let r = run(
        &job("true  # internal#45"),
        &[(("acme/internal", 45), open(Duration::days(1)))],
    );
    assert!(r.findings.is_empty());
}

#[test]
fn bare_and_slug_references() {
    let r = run(&job("true  # #7"), &[((REPO, 7), open(Duration::days(1)))]);
    assert!(r.findings.is_empty());
    let r = run(
        &job("true  # other/repo#8"),
        &[(("other/repo", 8), open(Duration::days(1)))],
    );
    assert!(r.findings.is_empty());
    // An unknown prefix is not a tracker.
    let r = run(&job("true  # foo#9"), &[]);
    assert!(r.findings[0].message.contains("no tracker reference"));
}

#[test]
fn coe_true_no_comment_fails() {
    let r = run(&job("true"), &[]);
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!((f.file.as_str(), f.line, f.column), ("ci.yml", 5, 5));
    assert!(
        f.message.contains("flaky") && f.message.contains("line 5") && f.message.contains("mc#123")
    );
}

#[test]
fn coe_true_comment_too_far_away_fails() {
    let text = "on: push\njobs:\n  flaky:\n    runs-on: x\n    continue-on-error: true\n    steps:\n      - run: a\n      - run: b\n      - run: c\n      # mc#12\n";
    let r = run(text, &[((REPO, 12), open(Duration::days(1)))]);
    assert_eq!(r.findings.len(), 1);
}

#[test]
fn coe_true_closed_issue_fails() {
    let r = run(
        &job("true # mc#12"),
        &[(
            (REPO, 12),
            IssueLookup::Found {
                state: "closed".into(),
                created_at: Some(ago(Duration::days(1))),
            },
        )],
    );
    assert!(r.findings[0].message.contains("state is 'closed'"));
}

#[test]
fn coe_true_too_old_issue_fails() {
    let r = run(
        &job("true # mc#12"),
        &[((REPO, 12), open(Duration::days(20)))],
    );
    assert!(r.findings[0].message.contains("20 days old (>14d cap)"));
}

#[test]
fn coe_true_at_14d_passes() {
    let r = run(
        &job("true # mc#12"),
        &[((REPO, 12), open(Duration::days(14) + Duration::minutes(5)))],
    );
    assert!(r.findings.is_empty());
}

#[test]
fn coe_true_at_15d_fails() {
    let r = run(
        &job("true # mc#12"),
        &[((REPO, 12), open(Duration::days(15)))],
    );
    assert_eq!(r.findings.len(), 1);
}

#[test]
fn max_age_is_configurable() {
    let mut s = settings();
    s.coe_max_age_days = 30;
    let env = LintEnv {
        now: now(),
        issues: [((REPO.to_string(), 12), open(Duration::days(20)))]
            .into_iter()
            .collect(),
        ..LintEnv::default()
    };
    assert!(
        lint_with(RULE, &[("ci.yml", &job("true # mc#12"))], &s, &env)
            .findings
            .is_empty()
    );
}

#[test]
fn coe_true_api_404_fails() {
    let r = run(&job("true # mc#12"), &[((REPO, 12), IssueLookup::NotFound)]);
    assert!(r.findings[0].message.contains("does not exist (404)"));
    assert_eq!(r.decided_errors(), 1);
}

/// The original passed on 403 ("fix the token, not the lint"); mergeward fails closed.
#[test]
fn coe_true_api_403_fails_closed_naming_the_scope() {
    let r = run(
        &job("true # mc#12"),
        &[(
            (REPO, 12),
            IssueLookup::Forbidden {
                detail: "HTTP 403".into(),
            },
        )],
    );
    assert_eq!(r.findings.len(), 1);
    assert!(r.findings[0].message.contains("read:issue") && r.findings[0].message.contains("403"));
    assert_eq!((r.decided_errors(), r.unverified()), (0, 1));
}

#[test]
fn coe_true_api_error_fails_closed() {
    let r = run(
        &job("true # mc#12"),
        &[(
            (REPO, 12),
            IssueLookup::Failed {
                detail: "HTTP 502".into(),
            },
        )],
    );
    assert!(r.findings[0].message.contains("failing closed"));
    assert_eq!(r.unverified(), 1);
}

#[test]
fn two_coe_true_one_violating() {
    let text = "on: push\njobs:\n  a:\n    continue-on-error: true # mc#1\n    runs-on: x\n    timeout-minutes: 5\n  b:\n    runs-on: x\n    continue-on-error: true # mc#2\n";
    let r = run(
        text,
        &[
            ((REPO, 1), open(Duration::days(1))),
            ((REPO, 2), IssueLookup::NotFound),
        ],
    );
    assert_eq!(lines(&r), [9]);
    // Each job's own line comes first: a neighbour's reference within ±2 lines is not
    // its tracker (the original checked every reference in the window).
    let close = "on: push\njobs:\n  a:\n    continue-on-error: true # mc#1\n  b:\n    continue-on-error: true # mc#2\n";
    let r = run(
        close,
        &[
            ((REPO, 1), open(Duration::days(1))),
            ((REPO, 2), IssueLookup::NotFound),
        ],
    );
    assert_eq!(lines(&r), [6]);
}

/// Issue 15 point 1: only the tracker is checked, history around it is prose.
#[test]
fn tracker_plus_historic_references_passes_on_the_tracker_alone() {
    // The tracker above the directive; history on the same comment line.
    let above = "on: push\njobs:\n  upload:\n    runs-on: x\n    # Flaky mirror upload, tracked in mc#4123 (was #3089, see RFC #219)\n    continue-on-error: true\n";
    let only_tracker = [((REPO, 4123), open(Duration::days(3)))];
    let r = run(above, &only_tracker);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    // The same with #3089 and #219 closed/missing: still not consulted.
    let mut more = only_tracker.to_vec();
    more.push(((REPO, 3089), IssueLookup::NotFound));
    more.push((
        (REPO, 219),
        IssueLookup::Found {
            state: "closed".into(),
            created_at: Some(ago(Duration::days(400))),
        },
    ));
    assert!(run(above, &more).findings.is_empty());
    // A bare #N opening the inline comment is the tracker; `was #3089` after it is prose.
    let inline = job("true  # #412 flaky on arm64; was #3089, see RFC #219");
    let r = run(&inline, &[((REPO, 412), open(Duration::days(1)))]);
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    // `wanted` asks the forge for the tracker only.
    let files = [wf("ci.yml", above), wf("inline.yml", &inline)];
    let wanted = mergeward::gates::rules::coe_tracking::wanted(&files, &settings(), Some(REPO));
    assert_eq!(
        wanted.into_iter().collect::<Vec<_>>(),
        [(REPO.to_string(), 412), (REPO.to_string(), 4123)]
    );
}

#[test]
fn history_alone_is_not_a_tracker() {
    for comment in [
        "# was #3089, see RFC #219",
        "# see #12",
        "# PR #5 flaky",
        "# foo#9",
    ] {
        let text = format!(
            "on: push\njobs:\n  a:\n    runs-on: x\n    {comment}\n    continue-on-error: true\n"
        );
        let r = run(&text, &[((REPO, 3089), open(Duration::days(1)))]);
        assert_eq!(r.findings.len(), 1, "{comment}: {:?}", r.findings);
        assert!(
            r.findings[0].message.contains("no tracker reference"),
            "{comment}"
        );
        assert!(!r.findings[0].unverified);
    }
    // A tracker word makes a bare #N the tracker.
    for comment in [
        "# tracker: #12",
        "# tracked in #12 (was #3)",
        "# issue #12",
        "# Tracking #12",
        "#12 flaky",
    ] {
        let text = format!(
            "on: push\njobs:\n  a:\n    runs-on: x\n    {comment}\n    continue-on-error: true\n"
        );
        let r = run(&text, &[((REPO, 12), open(Duration::days(1)))]);
        assert!(r.findings.is_empty(), "{comment}: {:?}", r.findings);
    }
}

#[test]
fn directive_line_comes_before_the_lines_above_and_below() {
    // Line above: a closed tracker; own line: an open one → the own line decides.
    let text = "on: push\njobs:\n  a:\n    # tracker: mc#1\n    continue-on-error: true # mc#2\n    # mc#3\n";
    let closed = IssueLookup::Found {
        state: "closed".into(),
        created_at: Some(ago(Duration::days(1))),
    };
    let r = run(
        text,
        &[
            ((REPO, 1), closed.clone()),
            ((REPO, 2), open(Duration::days(1))),
            ((REPO, 3), closed.clone()),
        ],
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    // Above (nearest first) before below.
    let text =
        "on: push\njobs:\n  a:\n    # mc#1\n    # mc#2\n    continue-on-error: true\n    # mc#3\n";
    let r = run(
        text,
        &[
            ((REPO, 1), closed.clone()),
            ((REPO, 2), open(Duration::days(1))),
            ((REPO, 3), closed),
        ],
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn unreadable_tracker_fails_closed_even_next_to_live_history() {
    let text =
        "on: push\njobs:\n  a:\n    runs-on: x\n    continue-on-error: true # mc#7 (was mc#6)\n";
    let r = run(
        text,
        &[
            (
                (REPO, 7),
                IssueLookup::Forbidden {
                    detail: "HTTP 403".into(),
                },
            ),
            ((REPO, 6), open(Duration::days(1))),
        ],
    );
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert!(r.findings[0].unverified);
    assert!(r.findings[0].message.contains("acme/core#7"));
    assert_eq!(r.unverified(), 1);
}

#[test]
fn coe_true_with_comment_after_directive() {
    let text = "on: push\njobs:\n  a:\n    continue-on-error: true\n    # tracked in mc#1\n    runs-on: x\n";
    let r = run(text, &[((REPO, 1), open(Duration::days(1)))]);
    assert!(r.findings.is_empty());
}

#[test]
fn coe_value_quoted_string_true_caught() {
    assert_eq!(run(&job("\"true\""), &[]).findings.len(), 1);
    assert_eq!(run(&job("' TRUE '"), &[]).findings.len(), 1);
    // YAML 1.1: a plain `yes` is the boolean true; a quoted "yes" is a string.
    assert_eq!(run(&job("yes"), &[]).findings.len(), 1);
    assert!(run(&job("'yes'"), &[]).findings.is_empty());
    assert!(
        run(&job("${{ matrix.experimental }}"), &[])
            .findings
            .is_empty()
    );
}

#[test]
fn step_level_coe_is_not_job_level() {
    let text =
        "on: push\njobs:\n  a:\n    steps:\n      - run: x\n        continue-on-error: true\n";
    assert!(run(text, &[]).findings.is_empty());
}

// Through the binary and the simulator: the real issue read, failing closed.

async fn sim() -> Sim {
    let sc = Scenario::gitea(REPO)
        .user("bot", "tok-gate-bot", Permission::Write)
        .branch("main", None, 1);
    let sim = Sim::start(sc).await.expect("sim");
    let created = (Utc::now() - Duration::days(3)).to_rfc3339();
    sim.with_state(|st| {
        st.issues.push(SimIssue::new(REPO, 12, "open", &created));
        st.issues.push(SimIssue::new(REPO, 13, "closed", &created));
    });
    sim
}

async fn lint_via_sim(sim: &Sim, coe: &str) -> std::process::Output {
    let dir = checkout(&[("ci.yml", &job(coe))]);
    let args = s(&[
        "gate",
        "lint",
        "--url",
        &sim.url(),
        "--repo",
        REPO,
        "--format",
        "json",
        "--token-env",
        "TOK",
        "--required-contexts",
        "",
    ]);
    let envs = vec![
        ("TOK", "tok-gate-bot".to_string()),
        ("MERGEWARD_GATES_COE_TRACKERS", format!("mc={REPO}")),
        ("MERGEWARD_MAX_RETRIES", "0".to_string()),
    ];
    run_cli(args, envs, dir.path().to_path_buf()).await
}

fn findings_json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "stdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn open_tracker_read_from_the_forge_passes() {
    let sim = sim().await;
    let out = lint_via_sim(&sim, "true  # mc#12").await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.path == "/api/v1/repos/acme/core/issues/12")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_and_missing_trackers_are_violations() {
    let sim = sim().await;
    let out = lint_via_sim(&sim, "true  # mc#13").await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        findings_json(&out)["findings"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("closed")
    );
    let out = lint_via_sim(&sim, "true  # mc#99").await;
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn forbidden_tracker_fails_closed_with_exit_5() {
    let sim = sim().await;
    sim.inject(Fault::new(
        "/repos/{owner}/{repo}/issues/{index}",
        FaultAction::Status {
            code: 403,
            body: None,
            headers: Vec::new(),
        },
    ));
    let out = lint_via_sim(&sim, "true  # mc#12").await;
    assert_eq!(out.status.code(), Some(5));
    let msg = findings_json(&out)["findings"][0]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        msg.contains("read:issue") && msg.contains("failing closed"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn server_error_on_tracker_fails_closed_with_exit_5() {
    let sim = sim().await;
    sim.inject(Fault::new(
        "/repos/{owner}/{repo}/issues/{index}",
        FaultAction::Status {
            code: 503,
            body: None,
            headers: Vec::new(),
        },
    ));
    let out = lint_via_sim(&sim, "true  # mc#12").await;
    assert_eq!(out.status.code(), Some(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_run_cannot_verify_and_says_so() {
    let dir = checkout(&[("ci.yml", &job("true # #12"))]);
    let out = run_cli(
        s(&["gate", "lint", "--offline", "--format", "text"]),
        vec![],
        dir.path().to_path_buf(),
    )
    .await;
    assert_eq!(out.status.code(), Some(5));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("could not be verified") || text.contains("names no repository"),
        "{text}"
    );
}
