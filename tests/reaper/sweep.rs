//! The status reaper against the simulated forge (library level): the behaviours pinned by
//! the original's tests (seed-systems §3.9) and mergeward's fixes. Every test asserts every
//! mutation the simulator recorded.

use crate::common;

use common::*;
use mergeward::config::{DEFAULT_CANCELLED, DEFAULT_PR_SHADOW, DEFAULT_PUSH_SUFFIX};
use mergeward::error::ExitCode;
use mergeward::forge::{ForgeHistory, ForgeKind, Sha};
use mergeward::ledger::{Ledger, NewRun};
use mergeward::reaper::policy::CANCELLED_DESCRIPTION;
use mergeward::reaper::{ReapReport, ReapSettings, Reaper, workflows};
use mergeward::report::Progress;
use mergeward::sim::{
    CallMatch, Fault, FaultAction, FileSpec, Mutation, Permission, Scenario, Sim, StatusSpec,
};

const CI: &str = "name: CI\non:\n  push:\n    branches: [main]\n  pull_request:\n";
const WATCHDOG: &str =
    "name: main-red-watchdog\non:\n  schedule:\n    - cron: '*/15 * * * *'\n  workflow_dispatch:\n";
const SECRET_SCAN: &str = "name: Secret scan\non: [pull_request]\n";

const STATUSES: &str = "/repos/{owner}/{repo}/commits/{ref}/statuses";
const POST_STATUS: &str = "/repos/{owner}/{repo}/statuses/{sha}";
const COMMITS: &str = "/repos/{owner}/{repo}/commits";

/// `acme/widgets`, `main` with `n` commits, three workflows in `.gitea/workflows`.
fn repo(n: usize) -> Scenario {
    Scenario::gitea(REPO)
        .user("bot", TOKEN, Permission::Write)
        .branch("main", None, n)
        .file(FileSpec::new(".gitea/workflows/ci.yml", CI))
        .file(FileSpec::new(".gitea/workflows/watchdog.yaml", WATCHDOG))
        .file(FileSpec::new(
            ".gitea/workflows/secret-scan.yml",
            SECRET_SCAN,
        ))
}

fn st(at: &str, context: &str, state: &str) -> StatusSpec {
    StatusSpec::sha(at, context, state)
}

fn sha_of(sim: &Sim, expr: &str) -> String {
    sim.with_state(|s| s.resolve(expr)).expect("ref resolves")
}

async fn ledger() -> Ledger {
    Ledger::open("sqlite::memory:").await.expect("ledger")
}

/// One sweep (settings tweakable); `local` is a `--workflows-dir` map, `None` reads the forge.
async fn sweep(
    sim: &Sim,
    ledger: &Ledger,
    local: Option<workflows::TriggerMap>,
    tweak: impl FnOnce(&mut ReapSettings),
) -> mergeward::error::Result<ReapReport> {
    let f = client_with(sim, ForgeKind::Gitea, Some(TOKEN), |s| s.max_retries = 1);
    let mut settings = mergeward::config::reap_defaults("main");
    tweak(&mut settings);
    let progress = Progress::silent();
    let run_id = start(ledger).await;
    Reaper {
        forge: &f,
        ledger,
        run_id: &run_id,
        settings: &settings,
        progress: &progress,
    }
    .run(local)
    .await
}

async fn reap_with(
    sim: &Sim,
    ledger: &Ledger,
    tweak: impl FnOnce(&mut ReapSettings),
) -> ReapReport {
    sweep(sim, ledger, None, tweak).await.expect("sweep runs")
}

/// A run row for the effects to belong to.
async fn start(ledger: &Ledger) -> String {
    let r = NewRun::new("reap", "gitea", REPO, "main");
    ledger.start_run(&r).await.expect("run").id
}

async fn reap(sim: &Sim) -> ReapReport {
    reap_with(sim, &ledger().await, |_| {}).await
}

/// The posted statuses, as (sha, context, description, target_url); fails on any other mutation.
fn posted(sim: &Sim) -> Vec<(String, String, String, String)> {
    sim.take_mutations()
        .into_iter()
        .map(|m| match m {
            Mutation::StatusPosted {
                sha,
                context,
                state,
                description,
                target_url,
            } => {
                assert_eq!(state, "success");
                (sha, context, description, target_url)
            }
            other => panic!("unexpected mutation {other:?}"),
        })
        .collect()
}

fn notes(r: &ReapReport) -> Vec<String> {
    r.notes
        .iter()
        .map(|n| format!("{}: {}", n.level, n.message))
        .collect()
}

#[tokio::test]
async fn class_o_is_compensated_with_the_target_url_and_real_push_stays_red() {
    let sim = Sim::start(
        repo(3)
            .status(
                st("main~1", "main-red-watchdog / check (push)", "failure")
                    .target_url("https://git.example/acme/widgets/actions/runs/7/jobs/0"),
            )
            .status(st("main~1", "CI / test (push)", "failure"))
            .status(st("main~2", "main-red-watchdog / check (push)", "failure")),
    )
    .await
    .unwrap();
    let r = reap(&sim).await;
    // Commits are swept concurrently: compare in a fixed order.
    let mut p = posted(&sim);
    p.sort_by_key(|x| (x.0 != sha_of(&sim, "main~1"), x.1.clone()));
    assert_eq!(
        p,
        vec![
            (
                sha_of(&sim, "main~1"),
                "main-red-watchdog / check (push)".into(),
                DEFAULT_PUSH_SUFFIX.into(),
                "https://git.example/acme/widgets/actions/runs/7/jobs/0".into()
            ),
            (
                sha_of(&sim, "main~2"),
                "main-red-watchdog / check (push)".into(),
                DEFAULT_PUSH_SUFFIX.into(),
                String::new()
            ),
        ]
    );
    let c = &r.counters;
    assert_eq!(c.scanned_shas, 3);
    assert_eq!(c.compensated, 2);
    assert_eq!(c.preserved_real_push, 1);
    assert_eq!(c.compensated_per_sha.len(), 2);
    assert_eq!(
        c.compensated_per_sha[&sha_of(&sim, "main~1")],
        ["main-red-watchdog / check (push)"]
    );
    assert_eq!(r.exit_code(), ExitCode::Success);
    assert_eq!(r.workflows, 3);
    assert_eq!(r.push_triggered, 1);
    assert!(
        notes(&r).contains(
            &"notice: scanned 3 workflows; push-triggered=1, class-O candidates=2".to_string()
        ),
        "{:?}",
        notes(&r)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_push_status_on_the_head_is_not_compensated_on_an_older_sha_it_is() {
    let cancelled = |at: &str| {
        st(at, "CI / test (push)", "failure")
            .description(CANCELLED_DESCRIPTION)
            .target_url("https://git.example/acme/widgets/actions/runs/3/jobs/0")
    };
    let sim = Sim::start(
        repo(3)
            .status(cancelled("main"))
            .status(cancelled("main~1")),
    )
    .await
    .unwrap();
    let r = reap(&sim).await;
    assert_eq!(
        posted(&sim),
        vec![(
            sha_of(&sim, "main~1"),
            "CI / test (push)".into(),
            DEFAULT_CANCELLED.into(),
            "https://git.example/acme/widgets/actions/runs/3/jobs/0".into()
        )]
    );
    assert_eq!(r.counters.compensated_cancelled_push, 1);
    assert_eq!(r.counters.preserved_cancelled_on_head, 1);
    assert_eq!(r.counters.compensated, 1);
    assert_eq!(r.head.as_deref(), Some(sha_of(&sim, "main").as_str()));
    assert_eq!(
        r.compensations[0].because.map(|b| format!("{b:?}")),
        Some("NotHead".into())
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_status_on_the_head_whose_context_later_succeeded_is_compensated() {
    // Run 12 succeeded first; run 11's cancellation was recorded after it (the latest row).
    let sim = Sim::start(
        repo(2)
            .status(
                st("main", "CI / test (push)", "success")
                    .target_url("https://git.example/acme/widgets/actions/runs/12/jobs/0"),
            )
            .status(
                st("main", "CI / test (push)", "failure")
                    .description(CANCELLED_DESCRIPTION)
                    .target_url("https://git.example/acme/widgets/actions/runs/11/jobs/0"),
            )
            // An earlier run succeeded, the latest one was cancelled: not compensated.
            .status(
                st("main", "CI / lint (push)", "success")
                    .target_url("https://git.example/acme/widgets/actions/runs/10/jobs/1"),
            )
            .status(
                st("main", "CI / lint (push)", "failure")
                    .description(CANCELLED_DESCRIPTION)
                    .target_url("https://git.example/acme/widgets/actions/runs/11/jobs/1"),
            ),
    )
    .await
    .unwrap();
    let r = reap(&sim).await;
    assert_eq!(
        posted(&sim),
        vec![(
            sha_of(&sim, "main"),
            "CI / test (push)".into(),
            DEFAULT_CANCELLED.into(),
            "https://git.example/acme/widgets/actions/runs/11/jobs/0".into()
        )]
    );
    assert_eq!(r.counters.compensated_cancelled_push, 1);
    assert_eq!(r.counters.preserved_cancelled_on_head, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failing_status_on_page_two_is_found_and_compensated() {
    // The failing row is the oldest of 61 on that commit: page 2 of the status list.
    let sim = Sim::start(
        repo(2)
            .status(st(
                "main~1",
                "main-red-watchdog / nightly (push)",
                "failure",
            ))
            .status(st("main~1", "load {n} (push)", "success").count(60)),
    )
    .await
    .unwrap();
    let r = reap(&sim).await;
    assert_eq!(
        posted(&sim),
        vec![(
            sha_of(&sim, "main~1"),
            "main-red-watchdog / nightly (push)".into(),
            DEFAULT_PUSH_SUFFIX.into(),
            String::new()
        )]
    );
    let pages: Vec<_> = requests_to(&sim, "GET", STATUSES)
        .into_iter()
        .filter(|q| q.path.contains(&sha_of(&sim, "main~1")))
        .map(|q| query_value(&q, "page"))
        .collect();
    assert_eq!(pages, [Some("1".into()), Some("2".into())]);
    assert_eq!(r.counters.compensated, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn pr_shadows_are_compensated_in_order_and_pr_contexts_without_a_push_success_stay() {
    let sim = Sim::start(
        repo(2)
            .status(st("main", "CI / test (pull_request)", "failure"))
            .status(st("main", "CI / test (push)", "success"))
            .status(st("main", "CI / lint (pull_request)", "failure"))
            .status(st("main", "CI / lint (push)", "success"))
            .status(st("main", "Secret scan / scan (pull_request)", "failure"))
            .status(st("main", "CI / build (pull_request)", "failure"))
            .status(st("main", "CI / build (push)", "failure")),
    )
    .await
    .unwrap();
    let r = reap(&sim).await;
    let head = sha_of(&sim, "main");
    assert_eq!(
        posted(&sim),
        vec![
            (
                head.clone(),
                "CI / lint (pull_request)".into(),
                DEFAULT_PR_SHADOW.into(),
                String::new()
            ),
            (
                head,
                "CI / test (pull_request)".into(),
                DEFAULT_PR_SHADOW.into(),
                String::new()
            ),
        ]
    );
    let c = &r.counters;
    assert_eq!(c.compensated_pr_shadowed_by_push_success, 2);
    assert_eq!(c.preserved_pr_without_push_success, 2);
    assert_eq!(c.preserved_real_push, 1);
    assert_eq!(c.preserved_non_failure, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_workflows_non_failures_and_odd_contexts_are_preserved() {
    let sim = Sim::start(
        repo(1)
            .status(st("main", "Retired / job (push)", "failure"))
            .status(st("main", "main-red-watchdog / a (push)", "pending"))
            .status(st("main", "main-red-watchdog / b (push)", "error"))
            .status(st("main", "lonely (push)", "failure"))
            .status(st("main", "ci/legacy", "failure")),
    )
    .await
    .unwrap();
    let r = reap(&sim).await;
    assert!(posted(&sim).is_empty());
    let c = &r.counters;
    assert_eq!(c.preserved_unknown, 1);
    assert_eq!(c.preserved_non_failure, 2);
    assert_eq!(c.preserved_unparseable, 1);
    assert_eq!(c.preserved_non_push_suffix, 1);
    assert!(notes(&r).contains(&"notice: unknown workflow 'Retired'; skip".to_string()));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_repeated_sweep_posts_nothing_new() {
    let sim = Sim::start(
        repo(3)
            .status(st("main~1", "main-red-watchdog / check (push)", "failure"))
            .status(st("main", "CI / test (pull_request)", "failure"))
            .status(st("main", "CI / test (push)", "success")),
    )
    .await
    .unwrap();
    let l = ledger().await;
    let first = reap_with(&sim, &l, |_| {}).await;
    assert_eq!(first.counters.compensated, 2);
    assert_eq!(posted(&sim).len(), 2);
    let second = reap_with(&sim, &l, |_| {}).await;
    assert!(posted(&sim).is_empty(), "the second sweep posted");
    assert_eq!(second.counters.compensated, 0);
    assert_eq!(second.exit_code(), ExitCode::Success);
    // A new failure of the same context on the same SHA is a new compensation.
    let sha = sha_of(&sim, "main~1");
    sim.with_state(|s| s.add_status(&sha, "main-red-watchdog / check (push)", "failure"));
    let third = reap_with(&sim, &l, |_| {}).await;
    assert_eq!(third.counters.compensated, 1);
    assert_eq!(posted(&sim).len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_committed_compensation_is_not_posted_again_even_if_the_forge_shows_red() {
    let sim = Sim::start(repo(2).status(st("main~1", "main-red-watchdog / x (push)", "failure")))
        .await
        .unwrap();
    let l = ledger().await;
    assert_eq!(reap_with(&sim, &l, |_| {}).await.counters.compensated, 1);
    assert_eq!(posted(&sim).len(), 1);
    // The forge loses the compensation (the same failing row is the latest again).
    sim.with_state(|s| s.statuses.retain(|r| r.state != "success"));
    let again = reap_with(&sim, &l, |_| {}).await;
    assert!(posted(&sim).is_empty());
    assert_eq!(again.counters.already_compensated, 1);
    assert_eq!(again.compensations[0].outcome, "replayed");
    sim.shutdown().await;
}

#[tokio::test]
async fn dry_run_sends_only_gets() {
    let sim = Sim::start(
        repo(3)
            .status(st("main~1", "main-red-watchdog / check (push)", "failure"))
            .status(st("main~2", "CI / test (push)", "failure").description(CANCELLED_DESCRIPTION)),
    )
    .await
    .unwrap();
    let r = reap_with(&sim, &ledger().await, |s| s.dry_run = true).await;
    assert!(posted(&sim).is_empty());
    assert!(sim.requests().iter().all(|q| q.method == "GET"));
    assert_eq!(r.counters.compensated, 2);
    assert!(r.compensations.iter().all(|c| c.outcome == "dry_run"));
    assert!(
        notes(&r).iter().any(|n| n.starts_with(
            "notice: [dry-run] would compensate 'main-red-watchdog / check (push)' on "
        )),
        "{:?}",
        notes(&r)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unreadable_commit_list_skips_the_sweep_and_could_not_decide() {
    let sim = Sim::start(repo(2).fault(Fault::new(
        COMMITS,
        FaultAction::Status {
            code: 502,
            body: None,
            headers: vec![],
        },
    )))
    .await
    .unwrap();
    let r = reap(&sim).await;
    assert!(posted(&sim).is_empty());
    assert_eq!(r.counters.skipped, Some(true));
    assert_eq!(
        r.counters.skip_reason.as_deref(),
        Some("commit-list-api-error")
    );
    assert_eq!(r.counters.scanned_shas, 0);
    assert_eq!(r.exit_code(), ExitCode::CouldNotDecide);
    assert!(
        notes(&r)[0].starts_with("error: status-reaper cannot run: commit-list API failed"),
        "{:?}",
        notes(&r)
    );
    // Two attempts (one retry), then give up.
    assert_eq!(requests_to(&sim, "GET", COMMITS).len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn one_unreadable_sha_does_not_stop_the_others_but_exits_could_not_decide() {
    // Sequential reads: calls 2 and 3 to the status list are the second commit's attempts.
    let sim = Sim::start(
        repo(3)
            .status(st("main~2", "main-red-watchdog / check (push)", "failure"))
            .status(st("main~1", "main-red-watchdog / check (push)", "failure"))
            .fault(
                Fault::new(
                    STATUSES,
                    FaultAction::Status {
                        code: 502,
                        body: Some("bad gateway".into()),
                        headers: vec![],
                    },
                )
                .calls(CallMatch::Range(2, 3)),
            ),
    )
    .await
    .unwrap();
    let r = reap_with(&sim, &ledger().await, |s| s.concurrency = 1).await;
    assert_eq!(
        posted(&sim),
        vec![(
            sha_of(&sim, "main~2"),
            "main-red-watchdog / check (push)".into(),
            DEFAULT_PUSH_SUFFIX.into(),
            String::new()
        )]
    );
    assert_eq!(r.counters.sha_api_errors, 1);
    assert_eq!(r.counters.scanned_shas, 3);
    assert_eq!(r.exit_code(), ExitCode::CouldNotDecide);
    let failed = sha_of(&sim, "main~1");
    assert!(
        notes(&r)
            .iter()
            .any(|n| n.starts_with(&format!("error: statuses of {} could not", &failed[..10]))),
        "{:?}",
        notes(&r)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_transient_status_error_is_retried() {
    let sim = Sim::start(
        repo(1)
            .status(st("main", "main-red-watchdog / check (push)", "failure"))
            .fault(
                Fault::new(
                    STATUSES,
                    FaultAction::Status {
                        code: 503,
                        body: None,
                        headers: vec![],
                    },
                )
                .nth(1),
            ),
    )
    .await
    .unwrap();
    let r = reap(&sim).await;
    assert_eq!(posted(&sim).len(), 1);
    assert_eq!(r.counters.sha_api_errors, 0);
    assert_eq!(r.exit_code(), ExitCode::Success);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_failed_compensation_exits_could_not_decide_after_the_rest() {
    let sim = Sim::start(
        repo(3)
            .status(st("main", "main-red-watchdog / check (push)", "failure"))
            .status(st("main~1", "main-red-watchdog / check (push)", "failure"))
            .status(st("main~2", "main-red-watchdog / check (push)", "failure"))
            .fault(
                Fault::new(
                    POST_STATUS,
                    FaultAction::Status {
                        code: 500,
                        body: None,
                        headers: vec![],
                    },
                )
                .method("POST")
                .nth(2),
            ),
    )
    .await
    .unwrap();
    let r = reap_with(&sim, &ledger().await, |s| s.concurrency = 1).await;
    let p = posted(&sim);
    assert_eq!(
        p.iter().map(|x| x.0.clone()).collect::<Vec<_>>(),
        [sha_of(&sim, "main"), sha_of(&sim, "main~2")]
    );
    assert_eq!(r.counters.compensated, 2);
    assert_eq!(r.counters.compensation_errors, 1);
    assert_eq!(r.exit_code(), ExitCode::CouldNotDecide);
    let failed: Vec<_> = r
        .compensations
        .iter()
        .filter(|c| c.outcome == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].sha, sha_of(&sim, "main~1"));
    assert!(
        failed[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("HTTP 500")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn green_commits_are_read_once_and_the_window_is_the_limit() {
    // 35 commits, all green but one failure at depth 20: the default window (30) catches it.
    let mut sc = repo(35).status(st("main~20", "main-red-watchdog / late (push)", "failure"));
    for i in 0..35 {
        sc = sc.status(st(&format!("main~{i}"), "CI / test (push)", "success"));
    }
    let sim = Sim::start(sc).await.unwrap();
    let r = reap(&sim).await;
    assert_eq!(r.counters.scanned_shas, 30);
    assert_eq!(
        posted(&sim),
        vec![(
            sha_of(&sim, "main~20"),
            "main-red-watchdog / late (push)".into(),
            DEFAULT_PUSH_SUFFIX.into(),
            String::new()
        )]
    );
    let listing = requests_to(&sim, "GET", COMMITS);
    assert_eq!(listing.len(), 1);
    assert_eq!(query_value(&listing[0], "limit").as_deref(), Some("30"));
    assert_eq!(query_value(&listing[0], "sha").as_deref(), Some("main"));
    assert_eq!(query_value(&listing[0], "stat").as_deref(), Some("false"));
    // Each SHA's statuses read exactly once; green ones only add to scanned_shas.
    assert_eq!(requests_to(&sim, "GET", STATUSES).len(), 30);
    assert_eq!(
        r.counters.preserved_non_failure, 1,
        "only main~20's green row"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_window_larger_than_a_page_reads_only_the_pages_it_needs() {
    let sim = Sim::start(repo(120)).await.unwrap();
    let f = client(&sim, ForgeKind::Gitea);
    let commits = f.recent_commits("main", 75).await.unwrap();
    assert_eq!(commits.len(), 75);
    let head = sim.with_state(|s| s.branch_head("main")).unwrap();
    assert_eq!(commits[0].sha, Sha::parse(&head).unwrap());
    assert_eq!(requests_to(&sim, "GET", COMMITS).len(), 2, "50 + 25 of 120");
    // A short history ends early.
    let short = f.recent_commits("main", 500).await.unwrap();
    assert_eq!(short.len(), 120);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_broken_commit_page_fails_the_read() {
    let sim = Sim::start(
        repo(80).fault(Fault::new(COMMITS, FaultAction::NonArrayPage).query("page", "2")),
    )
    .await
    .unwrap();
    let f = client(&sim, ForgeKind::Gitea);
    let err = f.recent_commits("main", 60).await.unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::CouldNotDecide, "{err}");
    sim.shutdown().await;
}

#[tokio::test]
async fn workflows_come_from_the_forge_at_the_head_or_from_a_checkout() {
    // Only .gitea/workflows counts when it exists (as in Gitea); .github/workflows is noted.
    let sim = Sim::start(
        repo(2)
            .file(FileSpec::new(
                ".github/workflows/other.yml",
                "name: Other\non: push\n",
            ))
            .file(FileSpec::new(".gitea/workflows/notes.md", "not a workflow"))
            .status(st("main", "Other / x (push)", "failure")),
    )
    .await
    .unwrap();
    let r = reap(&sim).await;
    assert!(posted(&sim).is_empty());
    assert_eq!(r.counters.preserved_unknown, 1);
    let head = sha_of(&sim, "main");
    assert_eq!(
        r.workflows_source.as_deref(),
        Some(format!("forge:.gitea/workflows@{head}").as_str())
    );
    assert!(
        notes(&r)
            .iter()
            .any(|n| n.contains(".github/workflows ignored"))
    );
    let contents = requests_to(&sim, "GET", "/repos/{owner}/{repo}/contents/{filepath}");
    assert!(
        contents
            .iter()
            .all(|q| query_value(q, "ref").as_deref() == Some(head.as_str()))
    );
    // 2 directory listings + 3 files.
    assert_eq!(contents.len(), 5, "{contents:?}");

    // From a checkout instead: no contents request at all.
    sim.clear_requests();
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::write(wf.join("other.yml"), "name: Other\non: schedule\n").unwrap();
    let local = workflows::from_dir(dir.path()).unwrap();
    let r = sweep(&sim, &ledger().await, Some(local), |_| {})
        .await
        .unwrap();
    assert_eq!(r.counters.compensated, 1);
    assert_eq!(posted(&sim).len(), 1);
    assert!(requests_to(&sim, "GET", "/repos/{owner}/{repo}/contents/{filepath}").is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn no_workflow_directory_means_no_known_workflows() {
    let sim = Sim::start(
        Scenario::gitea(REPO)
            .user("bot", TOKEN, Permission::Write)
            .branch("main", None, 1)
            .status(st("main", "main-red-watchdog / check (push)", "failure")),
    )
    .await
    .unwrap();
    let r = reap(&sim).await;
    assert!(posted(&sim).is_empty());
    assert_eq!(r.counters.preserved_unknown, 1);
    assert!(
        notes(&r)
            .iter()
            .any(|n| n.starts_with("warning: workflows dir not found"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_name_collision_in_the_forge_workflows_is_a_usage_error() {
    let sim = Sim::start(repo(1).file(FileSpec::new(
        ".gitea/workflows/ci-copy.yml",
        "name: CI\non: push\n",
    )))
    .await
    .unwrap();
    let err = sweep(&sim, &ledger().await, None, |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Usage);
    let msg = err.to_string();
    assert!(
        msg.contains(".gitea/workflows/ci-copy.yml") && msg.contains(".gitea/workflows/ci.yml"),
        "{msg}"
    );
    assert!(posted(&sim).is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn github_cannot_list_workflow_files_and_says_what_to_do() {
    let sim = Sim::start(
        Scenario::github(REPO)
            .user("bot", TOKEN, Permission::Write)
            .branch("main", None, 2),
    )
    .await
    .unwrap();
    let f = client(&sim, ForgeKind::GitHub);
    let commits = f.recent_commits("main", 5).await.unwrap();
    assert_eq!(commits.len(), 2);
    let err = f.workflow_files("main").await.unwrap_err();
    assert!(err.to_string().contains("--workflows-dir"), "{err}");
    sim.shutdown().await;
}

#[tokio::test]
async fn every_request_of_a_sweep_exists_in_the_gitea_and_forgejo_contract() {
    use common::contract::{Contract, FORGEJO_11, GITEA_1_22};
    let contract = Contract::load();
    for (sc, spec) in [
        (Scenario::gitea(REPO), GITEA_1_22),
        (Scenario::forgejo(REPO), FORGEJO_11),
    ] {
        let sc = sc
            .user("bot", TOKEN, Permission::Write)
            .branch("main", None, 2)
            .file(FileSpec::new(".gitea/workflows/watchdog.yml", WATCHDOG))
            .status(st("main~1", "main-red-watchdog / x (push)", "failure"));
        let sim = Sim::start(sc).await.unwrap();
        let r = reap(&sim).await;
        assert_eq!(r.counters.compensated, 1);
        assert_eq!(posted(&sim).len(), 1);
        let requests = sim.requests();
        for q in &requests {
            // Templates: a file path spans several segments of a concrete request.
            let route = q
                .route
                .as_deref()
                .unwrap_or_else(|| panic!("unserved {}", q.path));
            assert!(
                contract.allows(spec, &q.method, route),
                "{} {route} not in {spec} (contract/forge-api.toml)",
                q.method
            );
        }
        let routes: std::collections::BTreeSet<&str> =
            requests.iter().filter_map(|q| q.route.as_deref()).collect();
        assert!(routes.contains("/repos/{owner}/{repo}/contents/{filepath}"));
        assert!(
            routes.contains(COMMITS) && routes.contains(STATUSES) && routes.contains(POST_STATUS)
        );
        sim.shutdown().await;
    }
}
