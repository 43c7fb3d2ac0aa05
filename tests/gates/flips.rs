//! `gate flips` (seed-systems §4): flip detection, the failure-marker grep, and the
//! fail-closed verification against the simulated forge (statuses over several pages, job
//! logs through the Gitea API, the Gitea web route and GitHub's redirect, API errors).
//! Mirrors the original's 36 tests (§4.9) and adds what the fail-closed version needs.

use crate::common;

use common::*;
use mergeward::forge::{AnyForge, Forge, ForgeKind};
use mergeward::gates::flips::{
    self, Flip, FlipResult, RunVerdict, Tree, VerifyOptions, fail_markers,
};
use mergeward::sim::{CheckRunSpec, Fault, FaultAction, Permission, Scenario, Sim, StatusSpec};

const CTX: &str = "CI / Build (push)";

fn tree(files: &[(&str, &str)]) -> Tree {
    files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect()
}

fn wf(coe: &str) -> String {
    format!(
        "name: CI\non: [push, pull_request]\njobs:\n  build:\n    name: Build\n    runs-on: ubuntu-latest\n    continue-on-error: {coe}\n    steps:\n      - run: make\n"
    )
}

const P: &str = ".gitea/workflows/ci.yml";

fn detect_one(base: &str, head: &str) -> Vec<Flip> {
    flips::detect(&tree(&[(P, base)]), &tree(&[(P, head)])).0
}

// ---------------------------------------------------------------- coercion (§4.3) ----

fn flips_from(base_value: &str) -> bool {
    !detect_one(&wf(base_value), &wf("false")).is_empty()
}

#[test]
fn python_bool_true() {
    assert!(flips_from("true"));
}

#[test]
fn python_bool_false() {
    assert!(!flips_from("false"));
}

#[test]
fn none_is_false() {
    assert!(!flips_from("null"));
    assert!(!flips_from("~"));
}

#[test]
fn string_true_lowercase() {
    assert!(flips_from("'true'"));
}

#[test]
fn string_true_titlecase() {
    assert!(flips_from("\"True\""));
    assert!(flips_from("True"));
}

#[test]
fn string_yes() {
    assert!(flips_from("'yes'"));
    assert!(flips_from("yes"));
    assert!(flips_from("'1'"));
}

#[test]
fn string_false() {
    assert!(!flips_from("'false'"));
}

#[test]
fn string_random_falsy() {
    assert!(!flips_from("maybe"));
    assert!(!flips_from("${{ matrix.experimental }}"));
}

// ---------------------------------------------------------------- detection -----------

#[test]
fn no_flip_in_diff_passes() {
    assert!(detect_one(&wf("true"), &wf("true  # still masked, mc#1")).is_empty());
    assert!(detect_one(&wf("false"), &wf("false")).is_empty());
}

fn fixture_tree(side: &str) -> Tree {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/workflows/flips")
        .join(side);
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        out.push((
            format!(".gitea/workflows/{name}"),
            std::fs::read_to_string(&p).unwrap(),
        ));
    }
    out
}

#[test]
fn flip_detected_in_one_file() {
    // Fixtures: ci.yml flips 2 of its 3 jobs (one to `false`, one by removing the key),
    // nightly.yml flips one, docs.yml is an identical copy on both sides.
    let (found, warnings) = flips::detect(&fixture_tree("base"), &fixture_tree("head"));
    assert!(warnings.is_empty(), "{warnings:?}");
    let keys: Vec<(&str, &str)> = found
        .iter()
        .map(|f| (f.workflow_path.as_str(), f.job_key.as_str()))
        .collect();
    assert_eq!(
        keys,
        vec![
            (".gitea/workflows/ci.yml", "platform"),
            (".gitea/workflows/ci.yml", "canvas-build"),
            (".gitea/workflows/nightly.yml", "soak"),
        ]
    );
    // Positions: the head's continue-on-error key, else the job key.
    assert_eq!((found[0].pos.line, found[0].pos.col), (10, 5));
    assert_eq!((found[1].pos.line, found[1].pos.col), (13, 3));
    assert!(found[0].pr_blocking && !found[2].pr_blocking);
}

#[test]
fn context_name_render() {
    let yaml = |coe: &str| {
        format!(
            "name: CI\non: push\njobs:\n  go:\n    name: Platform (Go)\n    continue-on-error: {coe}\n"
        )
    };
    let f = detect_one(&yaml("true"), &yaml("false"));
    assert_eq!(f[0].context(ForgeKind::Gitea), "CI / Platform (Go) (push)");
    assert_eq!(
        f[0].context(ForgeKind::Forgejo),
        "CI / Platform (Go) (push)"
    );
    // GitHub Actions posts a check run named after the job.
    assert_eq!(f[0].context(ForgeKind::GitHub), "Platform (Go)");
}

#[test]
fn context_falls_back_to_job_key_when_no_name() {
    let yaml =
        |coe: &str| format!("name: WF\non: push\njobs:\n  foo:\n    continue-on-error: {coe}\n");
    let f = detect_one(&yaml("true"), &yaml("false"));
    assert_eq!(f[0].context(ForgeKind::Gitea), "WF / foo (push)");
}

#[test]
fn workflow_name_falls_back_to_filename() {
    let yaml = |coe: &str| format!("on: push\njobs:\n  foo:\n    continue-on-error: {coe}\n");
    let found = flips::detect(
        &tree(&[(".gitea/workflows/release-train.yaml", &yaml("true"))]),
        &tree(&[(".gitea/workflows/release-train.yaml", &yaml("false"))]),
    )
    .0;
    assert_eq!(
        found[0].context(ForgeKind::Gitea),
        "release-train / foo (push)"
    );
}

#[test]
fn push_event_and_pull_request_event_contexts() {
    // The verifier looks for push runs; the same job's PR runs carry another context.
    use mergeward::workflow::{Limits, Workflow};
    let w = Workflow::parse(P, &wf("true"), Limits::default());
    let job = &w.jobs[0];
    assert_eq!(w.status_context(job, "push"), "CI / Build (push)");
    assert_eq!(
        w.status_context(job, "pull_request"),
        "CI / Build (pull_request)"
    );
    assert_eq!(
        w.status_context(job, "pull_request_target"),
        "CI / Build (pull_request)"
    );
}

#[test]
fn no_flip_when_only_one_side_has_the_file() {
    let (found, _) = flips::detect(&tree(&[]), &tree(&[(P, &wf("false"))]));
    assert!(found.is_empty());
    let (found, _) = flips::detect(&tree(&[(P, &wf("true"))]), &tree(&[]));
    assert!(found.is_empty());
    // A rename is a delete plus an add.
    let (found, _) = flips::detect(
        &tree(&[(P, &wf("true"))]),
        &tree(&[(".gitea/workflows/ci2.yml", &wf("false"))]),
    );
    assert!(found.is_empty());
}

#[test]
fn no_flip_when_job_removed() {
    let head = "name: CI\non: push\njobs:\n  other:\n    runs-on: x\n";
    assert!(detect_one(&wf("true"), head).is_empty());
}

#[test]
fn no_flip_when_job_added_with_false() {
    let base = "name: CI\non: push\njobs:\n  other:\n    runs-on: x\n";
    assert!(detect_one(base, &wf("false")).is_empty());
}

#[test]
fn step_level_continue_on_error_is_not_a_flip() {
    let step = |coe: &str| {
        format!(
            "name: CI\non: push\njobs:\n  b:\n    steps:\n      - run: x\n        continue-on-error: {coe}\n"
        )
    };
    assert!(detect_one(&step("true"), &step("false")).is_empty());
}

#[test]
fn yaml_parse_error_warns_not_raises() {
    let (found, warnings) = flips::detect(
        &tree(&[(P, &wf("true"))]),
        &tree(&[(P, "jobs: [unclosed\n")]),
    );
    assert!(found.is_empty());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(P) && warnings[0].contains("head"),
        "{}",
        warnings[0]
    );
}

// ---------------------------------------------------------------- marker grep ---------

#[test]
fn clean_log_returns_empty() {
    let log = "ok  \tgithub.com/acme/x\t0.1s\nPASS\nall 12 tests passed; 0 FAILED? no\n";
    assert!(fail_markers(log).is_empty());
}

#[test]
fn go_minus_minus_minus_fail_caught() {
    let log = "=== RUN   TestSqlmock\n--- FAIL: TestSqlmock (0.00s)\n";
    assert_eq!(fail_markers(log), vec!["--- FAIL: TestSqlmock (0.00s)"]);
}

#[test]
fn go_package_fail_caught() {
    assert_eq!(
        fail_markers("FAIL\tgithub.com/acme/db\t0.3s\n"),
        vec!["FAIL\tgithub.com/acme/db\t0.3s"]
    );
    assert_eq!(
        fail_markers("FAIL github.com/acme/db [build failed]\n"),
        vec!["FAIL github.com/acme/db [build failed]"]
    );
}

#[test]
fn bash_error_directive_caught() {
    assert_eq!(
        fail_markers("::error::migration 42 failed\n"),
        vec!["::error::migration 42 failed"]
    );
    // GitHub renders the command as ##[error] in downloaded logs.
    assert_eq!(
        fail_markers("##[error]Process completed with exit code 1.\n").len(),
        1
    );
}

#[test]
fn caps_matches_at_max_5() {
    let log: String = (0..9).map(|i| format!("--- FAIL: Test{i}\n")).collect();
    let s = fail_markers(&log);
    assert_eq!(s.len(), 5);
    assert_eq!(s[4], "--- FAIL: Test4");
}

#[test]
fn script_source_in_run_groups_and_echo_lines_is_skipped() {
    let log = "::group::Run if grep -q FAIL out; then\n  echo \"::error::tests failed\"\nFAIL here too\n::endgroup::\nrunning\necho \"::error::not really\"\n  echo '::error::quoted'\n";
    assert!(fail_markers(log).is_empty(), "{:?}", fail_markers(log));
    // After the group, runtime output counts again.
    let log2 = format!("{log}::error::real failure\n");
    assert_eq!(fail_markers(&log2), vec!["::error::real failure"]);
}

#[test]
fn timestamped_lines_and_long_lines() {
    let long = format!(
        "2024-05-01T12:00:00.1234567Z --- FAIL: {}\n",
        "x".repeat(400)
    );
    let s = fail_markers(&long);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].chars().count(), 240);
    assert!(s[0].starts_with("--- FAIL: x"));
    let grouped = "2024-05-01T12:00:00Z ::group::Run go test\n2024-05-01T12:00:00Z echo FAIL \n2024-05-01T12:00:01Z ::endgroup::\n";
    assert!(fail_markers(grouped).is_empty());
}

// ---------------------------------------------------------------- verification --------

fn gitea(version: &str, commits: usize) -> Scenario {
    Scenario::gitea(REPO)
        .version(version)
        .user("bot", TOKEN, Permission::Write)
        .branch("main", None, commits)
}

fn build_flip(pr_blocking: bool) -> Flip {
    let on = if pr_blocking {
        "[push, pull_request]"
    } else {
        "[push]"
    };
    let yaml = |coe: &str| {
        format!(
            "name: CI\non: {on}\njobs:\n  build:\n    name: Build\n    continue-on-error: {coe}\n"
        )
    };
    detect_one(&yaml("true"), &yaml("false")).remove(0)
}

fn opts(recent: usize) -> VerifyOptions {
    VerifyOptions {
        branch: "main".into(),
        recent,
        allow_unproven_non_pr_blocking: false,
        head: None,
        compensation_descriptions: vec![],
    }
}

async fn verify_with(sim: &Sim, kind: ForgeKind, o: &VerifyOptions) -> (FlipResult, AnyForge) {
    let f = client(sim, kind);
    let caps = f.capabilities().await.unwrap();
    let r = flips::verify(&f, &caps, &build_flip(true), o).await;
    (r, f)
}

fn job_url(run: u64, job: u64) -> String {
    format!("/{REPO}/actions/runs/{run}/jobs/{job}")
}

/// `main~k` carries a push run of the flipped job with `state`, its log at run 10+k / job k.
fn run_on(sc: Scenario, k: usize, state: &str, log: &str) -> Scenario {
    let at = if k == 0 {
        "main".to_string()
    } else {
        format!("main~{k}")
    };
    sc.status(StatusSpec::sha(at, CTX, state).target_url(job_url(10 + k as u64, k as u64)))
        .job_log(10 + k as u64, k as u64, log)
}

const CLEAN: &str = "=== RUN TestA\n--- PASS: TestA\nok  \tgithub.com/acme/x\n";

#[tokio::test]
async fn flip_with_clean_history_passes() {
    let mut sc = gitea("1.22.6", 5);
    for k in 0..3 {
        sc = run_on(sc, k, "success", CLEAN);
    }
    let sim = Sim::start(sc).await.unwrap();
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(5)).await;
    assert!(!r.blocked(), "{r:#?}");
    assert_eq!((r.checked_commits, r.clean_runs), (3, 3));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // Gitea 1.22 has no log API: the web route was used, with the token.
    let web = requests_to(
        &sim,
        "GET",
        "/{owner}/{repo}/actions/runs/{run}/jobs/{job}/logs",
    );
    assert_eq!(web.len(), 3);
    assert!(web.iter().all(|r| r.user.as_deref() == Some("bot")));
    sim.shutdown().await;
}

#[tokio::test]
async fn flip_with_recent_fail_blocks() {
    let sc = run_on(
        run_on(gitea("1.22.6", 5), 0, "success", CLEAN),
        1,
        "success",
        "=== RUN TestSqlmock\n--- FAIL: TestSqlmock (0.01s)\nFAIL\tgithub.com/acme/db\t0.2s\n",
    );
    let sim = Sim::start(sc).await.unwrap();
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(5)).await;
    assert!(r.blocked());
    assert_eq!(r.runs.len(), 1, "{r:#?}");
    let m = &r.runs[0];
    assert_eq!(m.verdict, RunVerdict::Masked);
    let main1 = sim.with_state(|s| s.resolve("main~1")).unwrap();
    assert_eq!(m.sha, main1);
    assert!(m.samples[0].contains("TestSqlmock"), "{:?}", m.samples);
    assert_eq!(m.samples.len(), 2);
    assert!(!m.read_error);
    sim.shutdown().await;
}

#[tokio::test]
async fn red_status_alone_blocks() {
    let sc = run_on(gitea("1.22.6", 5), 0, "failure", "compiling...\nexit 2\n");
    let sim = Sim::start(sc).await.unwrap();
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(5)).await;
    assert_eq!(r.runs.len(), 1);
    assert_eq!(r.runs[0].verdict, RunVerdict::Fail);
    assert_eq!(
        r.runs[0].samples,
        vec!["[no FAIL markers found but status is failure]"]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unreadable_log_on_success_blocks() {
    // The status links a job whose log does not exist (expired): 404.
    let sc = gitea("1.22.6", 5)
        .status(StatusSpec::sha("main", CTX, "success").target_url(job_url(7, 0)));
    let sim = Sim::start(sc).await.unwrap();
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(5)).await;
    assert_eq!(r.runs.len(), 1, "{r:#?}");
    assert_eq!(r.runs[0].verdict, RunVerdict::Masked);
    assert!(r.runs[0].samples[0].contains("treat as masked"));
    assert!(!r.runs[0].read_error, "a 404 is decided, not a read error");
    assert!(r.warnings.iter().any(|w| w.contains("log unavailable")));
    sim.shutdown().await;
}

#[tokio::test]
async fn unreadable_log_with_failure_status_still_blocks() {
    let sc = gitea("1.22.6", 5).status(StatusSpec::sha("main", CTX, "error").target_url(""));
    let sim = Sim::start(sc).await.unwrap();
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(5)).await;
    assert_eq!(r.runs.len(), 1);
    assert_eq!(r.runs[0].verdict, RunVerdict::Fail);
    assert_eq!(
        r.runs[0].samples,
        vec!["[log unavailable; status itself is error]"]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn zero_runs_history_blocks() {
    let sc = gitea("1.22.6", 5).status(StatusSpec::sha("main", "CI / Other (push)", "success"));
    let sim = Sim::start(sc).await.unwrap();
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(5)).await;
    assert_eq!(r.runs.len(), 1);
    assert_eq!(r.runs[0].verdict, RunVerdict::Unverified);
    assert!(r.runs[0].samples[0].contains("no completed runs of 'CI / Build (push)'"));
    assert!(!r.undecided());
    sim.shutdown().await;
}

#[tokio::test]
async fn zero_commits_blocks() {
    // A branch filter that matches nothing: the forge answers an empty list.
    let sim = Sim::start(gitea("1.22.6", 3)).await.unwrap();
    sim.inject(Fault::new(
        "/repos/{owner}/{repo}/commits",
        FaultAction::Status {
            code: 200,
            body: Some("[]".into()),
            headers: vec![("X-Total-Count".into(), "0".into())],
        },
    ));
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(5)).await;
    assert_eq!(r.runs.len(), 1);
    assert_eq!(r.runs[0].verdict, RunVerdict::Unverified);
    assert_eq!(
        r.runs[0].samples,
        vec!["no recent commits on main — cannot verify flip"]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn status_api_error_blocks_and_is_undecided() {
    let sc = run_on(gitea("1.22.6", 2), 0, "success", CLEAN);
    let sim = Sim::start(sc).await.unwrap();
    sim.inject(Fault::new(
        "/repos/{owner}/{repo}/commits/{ref}/statuses",
        common::queue::http(500, None),
    ));
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(2)).await;
    // One entry per commit whose statuses could not be read, plus "nothing examined".
    assert_eq!(r.runs.len(), 3, "{r:#?}");
    assert!(
        r.runs[..2]
            .iter()
            .all(|e| e.samples[0].starts_with("status API error"))
    );
    assert!(r.runs[2].samples[0].contains("could be examined"));
    assert!(r.blocked() && r.undecided());
    sim.shutdown().await;
}

#[tokio::test]
async fn commit_list_error_blocks_and_is_undecided() {
    let sim = Sim::start(gitea("1.22.6", 3)).await.unwrap();
    sim.inject(Fault::new(
        "/repos/{owner}/{repo}/commits",
        common::queue::http(503, None),
    ));
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(5)).await;
    assert_eq!(r.runs.len(), 1);
    assert!(r.runs[0].samples[0].contains("cannot list the recent commits of main"));
    assert!(r.undecided());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_run_is_found_on_the_last_of_several_status_pages() {
    // 120 other contexts first, the flipped job's run last: only a complete read finds it,
    // and its log shows a failure.
    let sc = gitea("1.22.6", 2)
        .status(StatusSpec::sha("main", "lint-{n} (push)", "success").count(120))
        .status(StatusSpec::sha("main", CTX, "success").target_url(job_url(9, 1)))
        .job_log(9, 1, "::error::flaky migration\n");
    let sim = Sim::start(sc).await.unwrap();
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(1)).await;
    assert_eq!(r.checked_commits, 1);
    assert_eq!(r.runs[0].verdict, RunVerdict::Masked, "{r:#?}");
    let pages = requests_to(&sim, "GET", "/repos/{owner}/{repo}/commits/{ref}/statuses");
    assert!(pages.len() >= 3, "read {} page(s)", pages.len());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_latest_row_of_the_context_is_examined() {
    // A run re-tried: failure first, then success. Only the latest counts.
    let sc = gitea("1.22.6", 2)
        .status(StatusSpec::sha("main", CTX, "failure").target_url(job_url(5, 0)))
        .status(StatusSpec::sha("main", CTX, "success").target_url(job_url(6, 0)))
        .job_log(5, 0, "--- FAIL: TestA\n")
        .job_log(6, 0, CLEAN);
    let sim = Sim::start(sc).await.unwrap();
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(1)).await;
    assert!(!r.blocked(), "{r:#?}");
    assert_eq!(r.clean_runs, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn pending_skipped_and_compensated_runs_are_not_evidence() {
    let sc = gitea("1.22.6", 4)
        .status(StatusSpec::sha("main", CTX, "pending").target_url(job_url(1, 0)))
        .status(
            StatusSpec::sha("main~1", CTX, "success")
                .description("Has been skipped")
                .target_url(job_url(2, 0)),
        )
        .status(
            StatusSpec::sha("main~2", CTX, "success")
                .description(
                    "Compensated by status-reaper (push run was cancelled/superseded; Gitea 1.22.6 reports cancelled runs as failure statuses)",
                )
                .target_url(job_url(3, 0)),
        )
        .job_log(1, 0, CLEAN)
        .job_log(2, 0, CLEAN)
        .job_log(3, 0, CLEAN);
    let sim = Sim::start(sc).await.unwrap();
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(4)).await;
    assert_eq!(r.checked_commits, 0);
    assert_eq!(r.runs.len(), 1);
    assert_eq!(r.runs[0].verdict, RunVerdict::Unverified);
    assert_eq!(r.warnings.len(), 3, "{:?}", r.warnings);
    assert!(r.warnings.iter().any(|w| w.contains("pending")));
    assert!(r.warnings.iter().any(|w| w.contains("skipped")));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("status-reaper compensation"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn gitea_1_26_reads_the_log_through_the_api() {
    let sc = run_on(gitea("1.26.3", 2), 0, "success", "--- FAIL: TestApi\n");
    let sim = Sim::start(sc).await.unwrap();
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(1)).await;
    assert_eq!(r.runs[0].verdict, RunVerdict::Masked);
    assert_eq!(r.runs[0].samples, vec!["--- FAIL: TestApi"]);
    assert_eq!(
        requests_to(
            &sim,
            "GET",
            "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs"
        )
        .len(),
        1
    );
    assert!(
        requests_to(
            &sim,
            "GET",
            "/{owner}/{repo}/actions/runs/{run}/jobs/{job}/logs"
        )
        .is_empty()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn forgejo_uses_the_web_route() {
    let sc = Scenario::forgejo(REPO)
        .user("bot", TOKEN, Permission::Write)
        .branch("main", None, 2)
        .status(StatusSpec::sha("main", CTX, "success").target_url(job_url(3, 2)))
        .job_log(3, 2, CLEAN);
    let sim = Sim::start(sc).await.unwrap();
    let (r, _) = verify_with(&sim, ForgeKind::Forgejo, &opts(1)).await;
    assert!(!r.blocked(), "{r:#?}");
    assert_eq!(
        requests_to(
            &sim,
            "GET",
            "/{owner}/{repo}/actions/runs/{run}/jobs/{job}/logs"
        )
        .len(),
        1
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_target_url_on_another_host_is_never_fetched_and_blocks() {
    // Anyone who can post a status controls target_url: the token must not go there.
    let sc = gitea("1.22.6", 2).status(
        StatusSpec::sha("main", CTX, "success")
            .target_url("https://evil.example/acme/widgets/actions/runs/1/jobs/0"),
    );
    let sim = Sim::start(sc).await.unwrap();
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(1)).await;
    assert_eq!(r.runs[0].verdict, RunVerdict::Masked);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("not an Actions job link")),
        "{:?}",
        r.warnings
    );
    // Another repository's job link on the same forge is refused too.
    let sim2 = Sim::start(gitea("1.22.6", 2).status(
        StatusSpec::sha("main", CTX, "success").target_url("/other/repo/actions/runs/1/jobs/0"),
    ))
    .await
    .unwrap();
    let (r2, _) = verify_with(&sim2, ForgeKind::Gitea, &opts(1)).await;
    assert_eq!(r2.runs[0].verdict, RunVerdict::Masked);
    assert!(
        sim2.requests()
            .iter()
            .all(|q| !q.path.starts_with("/other/"))
    );
    sim.shutdown().await;
    sim2.shutdown().await;
}

#[tokio::test]
async fn a_log_fetch_error_on_success_blocks_as_undecided() {
    let sc = run_on(gitea("1.22.6", 2), 0, "success", CLEAN);
    let sim = Sim::start(sc).await.unwrap();
    sim.inject(Fault::new(
        "/{owner}/{repo}/actions/runs/{run}/jobs/{job}/logs",
        common::queue::http(502, None),
    ));
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(1)).await;
    assert_eq!(r.runs[0].verdict, RunVerdict::Masked);
    assert!(r.runs[0].read_error && r.undecided());
    sim.shutdown().await;
}

fn github(commits: usize) -> Scenario {
    Scenario::github(REPO)
        .user("bot", TOKEN, Permission::Write)
        .branch("main", None, commits)
}

/// Check runs named `Build` on main and main~1; returns their ids (job ids).
async fn github_runs(logs: [&str; 2]) -> (Sim, Vec<u64>) {
    let mut sc = github(3);
    for at in ["main", "main~1"] {
        let mut c = CheckRunSpec::pr(0, "Build", Some("success"));
        c.pr = None;
        c.sha = Some(at.into());
        sc = sc.check_run(c);
    }
    let sim = Sim::start(sc).await.unwrap();
    let ids: Vec<u64> = sim.with_state(|s| s.check_runs.iter().map(|c| c.id).collect());
    sim.with_state(|s| {
        for (id, text) in ids.iter().zip(logs) {
            s.job_logs.push(mergeward::sim::JobLogSpec {
                run: 0,
                job: *id,
                text: text.to_string(),
            });
        }
    });
    (sim, ids)
}

#[tokio::test]
async fn github_follows_the_log_redirect_without_the_token() {
    let (sim, _) = github_runs([CLEAN, "##[error]Process completed with exit code 1.\n"]).await;
    let (r, _) = verify_with(&sim, ForgeKind::GitHub, &opts(2)).await;
    assert_eq!(r.context, "Build");
    assert_eq!(r.checked_commits, 2);
    assert_eq!(r.clean_runs, 1);
    assert_eq!(r.runs.len(), 1, "{r:#?}");
    assert_eq!(r.runs[0].verdict, RunVerdict::Masked);
    // The API call carried the token; the signed download did not (the simulator refuses
    // an Authorization header there, and records the caller as anonymous).
    let api = requests_to(
        &sim,
        "GET",
        "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs",
    );
    assert_eq!(api.len(), 2);
    assert!(api.iter().all(|q| q.user.as_deref() == Some("bot")));
    let signed = requests_to(&sim, "GET", "/_sim/signed-logs/{job_id}");
    assert_eq!(signed.len(), 2);
    assert!(signed.iter().all(|q| q.user.is_none() && q.status == 200));
    sim.shutdown().await;
}

#[tokio::test]
async fn github_log_redirect_failure_blocks() {
    let (sim, _) = github_runs([CLEAN, CLEAN]).await;
    sim.inject(Fault::new(
        "/_sim/signed-logs/{job_id}",
        common::queue::http(403, Some("expired")),
    ));
    let (r, _) = verify_with(&sim, ForgeKind::GitHub, &opts(2)).await;
    assert_eq!(r.runs.len(), 2);
    assert!(r.runs.iter().all(|e| e.verdict == RunVerdict::Masked));
    sim.shutdown().await;
}

#[tokio::test]
async fn zero_runs_may_pass_only_for_a_workflow_that_cannot_block_a_pr() {
    let sim = Sim::start(gitea("1.22.6", 3)).await.unwrap();
    let f = client(&sim, ForgeKind::Gitea);
    let caps = f.capabilities().await.unwrap();
    let mut o = opts(3);
    o.allow_unproven_non_pr_blocking = true;
    let push_only = flips::verify(&f, &caps, &build_flip(false), &o).await;
    assert!(
        !push_only.blocked() && push_only.allowed_without_runs,
        "{push_only:#?}"
    );
    let pr = flips::verify(&f, &caps, &build_flip(true), &o).await;
    assert!(pr.blocked(), "a PR-triggered workflow still needs runs");
    o.allow_unproven_non_pr_blocking = false;
    let off = flips::verify(&f, &caps, &build_flip(false), &o).await;
    assert!(off.blocked(), "off by default");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_token_never_reaches_a_response_or_the_report() {
    let sc = gitea("1.22.6", 2)
        .status(StatusSpec::sha("main", CTX, "success").target_url(job_url(1, 0)))
        .job_log(1, 0, &format!("::error::login with {TOKEN} refused\n"));
    let sim = Sim::start(sc).await.unwrap();
    let (r, f) = verify_with(&sim, ForgeKind::Gitea, &opts(1)).await;
    let dbg = format!("{r:?} {f:?}");
    // A log line that echoes the token is redacted before it becomes a sample.
    assert_eq!(r.runs[0].samples, vec!["::error::login with *** refused"]);
    assert!(!dbg.contains(TOKEN));
    sim.shutdown().await;
}

// ---------------------------------------------------------------- §4.10 PR-head proof --

fn filtered_flip() -> Flip {
    let yaml = |coe: &str| {
        format!(
            "name: CI\non:\n  push:\n    paths: ['src/**']\n  pull_request:\njobs:\n  build:\n    name: Build\n    continue-on-error: {coe}\n"
        )
    };
    let f = detect_one(&yaml("true"), &yaml("false")).remove(0);
    assert!(f.path_filtered && f.pr_blocking);
    f
}

const PR_CTX: &str = "CI / Build (pull_request)";

async fn verify_filtered(sc: Scenario, flip: &Flip) -> FlipResult {
    let sim = Sim::start(sc).await.unwrap();
    let f = client(&sim, ForgeKind::Gitea);
    let caps = f.capabilities().await.unwrap();
    let mut o = opts(3);
    o.head = Some(pr_head(&sim, 1));
    let r = flips::verify(&f, &caps, flip, &o).await;
    sim.shutdown().await;
    r
}

fn with_pr(sc: Scenario) -> Scenario {
    sc.pr(mergeward::sim::PullSpec::new(1).head("flip"))
}

#[tokio::test]
async fn a_path_filtered_workflow_proves_itself_on_the_pr_head() {
    let sc = with_pr(gitea("1.22.6", 3))
        .status(StatusSpec::pr(1, PR_CTX, "success").target_url(job_url(70, 1)))
        .job_log(70, 1, CLEAN);
    let r = verify_filtered(sc, &filtered_flip()).await;
    assert!(!r.blocked(), "{r:#?}");
    assert!(r.proved_on_head);
    assert_eq!((r.checked_commits, r.clean_runs), (0, 1));
}

#[tokio::test]
async fn a_pr_head_run_with_failure_markers_blocks() {
    let sc = with_pr(gitea("1.22.6", 3))
        .status(StatusSpec::pr(1, PR_CTX, "success").target_url(job_url(70, 1)))
        .job_log(70, 1, "--- FAIL: TestOnHead\n");
    let r = verify_filtered(sc, &filtered_flip()).await;
    assert!(r.blocked());
    assert_eq!(r.runs[0].verdict, RunVerdict::Masked);
    assert_eq!(r.runs[0].samples, vec!["--- FAIL: TestOnHead"]);
}

#[tokio::test]
async fn a_pending_pr_head_run_proves_nothing() {
    let sc = with_pr(gitea("1.22.6", 3))
        .status(StatusSpec::pr(1, PR_CTX, "pending").target_url(job_url(70, 1)));
    let r = verify_filtered(sc, &filtered_flip()).await;
    assert!(r.blocked() && !r.proved_on_head);
    assert_eq!(r.runs[0].verdict, RunVerdict::Unverified);
}

#[tokio::test]
async fn the_pr_head_is_not_consulted_for_an_unfiltered_workflow() {
    let sc = with_pr(gitea("1.22.6", 3))
        .status(StatusSpec::pr(1, PR_CTX, "success").target_url(job_url(70, 1)))
        .job_log(70, 1, CLEAN);
    let r = verify_filtered(sc, &build_flip(true)).await;
    assert!(r.blocked() && !r.proved_on_head, "{r:#?}");
    assert_eq!(r.runs[0].verdict, RunVerdict::Unverified);
}

#[tokio::test]
async fn recent_push_runs_take_precedence_over_the_pr_head() {
    // A masked push run on the base branch blocks even if the PR head is green.
    let sc = run_on(with_pr(gitea("1.22.6", 3)), 0, "success", "::error::boom\n")
        .status(StatusSpec::pr(1, PR_CTX, "success").target_url(job_url(70, 1)))
        .job_log(70, 1, CLEAN);
    let r = verify_filtered(sc, &filtered_flip()).await;
    assert!(r.blocked() && !r.proved_on_head);
    assert_eq!(r.runs[0].verdict, RunVerdict::Masked);
}

// ---------------------------------------------------------------- review fixes --------

#[test]
fn a_step_group_that_is_not_a_run_block_is_still_read() {
    // Only Gitea's `::group::Run <script>` header opens the skipped script source.
    let log = "::group::Running tests\n--- FAIL: TestInGroup\n::endgroup::\n";
    assert_eq!(fail_markers(log), vec!["--- FAIL: TestInGroup"]);
    let gh = "##[group]Running tests\n--- FAIL: TestGh\n##[endgroup]\n";
    assert_eq!(fail_markers(gh), vec!["--- FAIL: TestGh"]);
}

#[test]
fn a_log_that_ends_inside_a_run_block_fails_closed() {
    let log = "::group::Run make test\nmake test\n--- FAIL: hidden?\n";
    let s = fail_markers(log);
    assert_eq!(s.len(), 1, "{s:?}");
    assert!(
        s[0].contains("ends inside a ::group::Run block; 2 line(s)"),
        "{s:?}"
    );
    // A closed block at the end is fine.
    assert!(fail_markers("::group::Run make\nmake\n::endgroup::\n").is_empty());
}

#[tokio::test]
async fn an_empty_or_html_log_is_not_a_clean_run() {
    for (log, why) in [
        ("\n  \n", "the log is empty"),
        ("<html>login</html>", "HTML page"),
    ] {
        let sc = run_on(gitea("1.22.6", 2), 0, "success", log);
        let sim = Sim::start(sc).await.unwrap();
        if log.starts_with("<html>") {
            sim.inject(Fault::new(
                "/{owner}/{repo}/actions/runs/{run}/jobs/{job}/logs",
                FaultAction::Status {
                    code: 200,
                    body: Some(log.into()),
                    headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
                },
            ));
        }
        let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(1)).await;
        assert_eq!(r.runs.len(), 1, "{r:#?}");
        assert_eq!(r.runs[0].verdict, RunVerdict::Masked);
        assert!(
            r.warnings.iter().any(|w| w.contains(why)),
            "{:?}",
            r.warnings
        );
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_state_mergeward_cannot_read_blocks_instead_of_being_skipped() {
    // main has a clean run, main~1 an unknown state: the clean run alone must not pass.
    let sc = run_on(gitea("1.22.6", 3), 0, "success", CLEAN)
        .status(StatusSpec::sha("main~1", CTX, "warning").target_url(job_url(5, 5)));
    let sim = Sim::start(sc).await.unwrap();
    let (r, _) = verify_with(&sim, ForgeKind::Gitea, &opts(2)).await;
    assert!(r.blocked(), "{r:#?}");
    assert_eq!(r.runs[0].verdict, RunVerdict::Unverified);
    assert!(r.runs[0].samples[0].contains("is warning"));
    sim.shutdown().await;
}

#[tokio::test]
async fn github_cannot_attribute_runs_of_a_job_name_shared_by_two_workflows() {
    let a = |coe: &str| {
        format!(
            "name: A\non: [push, pull_request]\njobs:\n  build:\n    name: Build\n    continue-on-error: {coe}\n"
        )
    };
    let b = "name: B\non: push\njobs:\n  compile:\n    name: Build\n    runs-on: x\n";
    let (found, _) = flips::detect(
        &tree(&[
            (".github/workflows/a.yml", &a("true")),
            (".github/workflows/b.yml", b),
        ]),
        &tree(&[
            (".github/workflows/a.yml", &a("false")),
            (".github/workflows/b.yml", b),
        ]),
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].same_named_jobs, 1);
    // B's clean `build` check run must not prove A's flip.
    let (sim, _) = github_runs([CLEAN, CLEAN]).await;
    let f = client(&sim, ForgeKind::GitHub);
    let caps = f.capabilities().await.unwrap();
    let r = flips::verify(&f, &caps, &found[0], &opts(2)).await;
    assert!(r.blocked(), "{r:#?}");
    assert!(r.runs[0].samples[0].contains("cannot be attributed"));
    // On Gitea the context names the workflow: no ambiguity.
    assert_eq!(found[0].context(ForgeKind::Gitea), "A / Build (push)");
    sim.shutdown().await;
}
