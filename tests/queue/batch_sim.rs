//! Batch mode end to end (SPEC §8.2): the batch tick against the simulated forge in git mode
//! — real commits in a bare repository served over git's smart HTTP, simulated CI on every
//! push, a logical clock — with mergeward's own git builder and landing.

use std::path::Path;
use std::process::Command;

use chrono::Duration;
use mergeward::forge::ForgeKind;
use mergeward::queue::batch::parse_staging_meta;
use mergeward::queue::settings::QueueMode;
use mergeward::queue::tick::{TickOutcome, TickReport};
use mergeward::sim::{CiSpec, Mutation, ProtectionSpec, PullSpec, Scenario};

use crate::common::queue::{CI, HOLD, World, queue_scenario_unprotected, ready_spec};
use crate::common::{ADMIN_TOKEN, TOKEN};

/// Logical minutes simulated CI takes.
const CI_MINUTES: i64 = 20;
const STAGING: &str = "mergeward/staging/main";

/// A git-backed `acme/widgets` with CI posting `CI` on every push (20 logical minutes),
/// `main` protected (CI required, 2 approvals, pushes allowed for the bot and the admin),
/// and `prs` ready (approved, their own CI green).
fn scenario(kind: ForgeKind, prs: Vec<PullSpec>) -> Scenario {
    let mut p = ProtectionSpec::new("main").contexts(&[CI]).approvals(2);
    p.enable_push = true;
    p.push_whitelist = Some(vec!["bot".into(), "admin".into()]);
    // GitHub: the bot lands by pushing; it is exempt as a listed bypass actor.
    p.push_bypass = vec!["bot".into(), "admin".into()];
    let mut s = queue_scenario_unprotected(kind)
        .git()
        .ci(CiSpec {
            push_contexts: vec![CI.into()],
            duration_secs: (CI_MINUTES * 60) as u64,
            ..CiSpec::default()
        })
        .protect(p);
    for spec in prs {
        s = ready_spec(s, spec);
    }
    s
}

async fn world(kind: ForgeKind, prs: Vec<PullSpec>, size: usize) -> World {
    let mut w = World::start(kind, scenario(kind, prs)).await;
    w.settings.mode = QueueMode::Batch;
    w.settings.batch.batch.size = size;
    w.settings.batch.git.timeout = std::time::Duration::from_secs(60);
    w
}

fn prs(ns: &[u64]) -> Vec<PullSpec> {
    ns.iter().map(|n| PullSpec::new(*n)).collect()
}

/// Lets simulated CI finish.
fn ci_done(w: &World) {
    w.sim.advance(Duration::minutes(CI_MINUTES + 1));
}

fn staging_head(w: &World) -> Option<String> {
    w.sim.with_state(|s| s.branch_head(STAGING))
}

fn merged(w: &World, n: u64) -> bool {
    w.sim.with_state(|s| s.pull(n).merged)
}

/// The members of the staging commit now (from its trailers).
fn staging_members(w: &World) -> Vec<u64> {
    let head = staging_head(w).expect("a staging branch");
    let msg = w
        .sim
        .with_state(|s| s.commits.get(&head).map(|c| c.message.clone()))
        .expect("the staging commit is known");
    let (_, _, members) = parse_staging_meta(&msg).expect("a mergeward staging message");
    members.iter().map(|m| m.pr).collect()
}

/// Every PR whose head is in `main` (`git merge-base --is-ancestor`).
fn in_main(w: &World, n: u64) -> bool {
    let dir = w.sim.git_dir().expect("git mode");
    let head = w.head(n);
    Command::new("git")
        .arg("--git-dir")
        .arg(&dir)
        .args(["merge-base", "--is-ancestor", &head, "refs/heads/main"])
        .status()
        .expect("git runs")
        .success()
}

fn outcome(r: &TickReport) -> &TickOutcome {
    &r.outcome
}

/// Pushes a commit writing `path` to `branch` as the user with `token`, over the sim's git
/// HTTP (the token in a header, as mergeward sends it).
fn push_commit(w: &World, token: &str, branch: &str, path: &str, content: &str) {
    push_edit(w, token, branch, path, content, false);
}

/// [`push_commit`], or with `amend` the branch's head commit amended (same parents, same
/// message, one more file) and force-pushed.
fn push_edit(w: &World, token: &str, branch: &str, path: &str, content: &str, amend: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let header = format!("Authorization: token {token}");
    let git = |cwd: &Path, args: &[&str]| {
        let out = Command::new("git")
            .current_dir(cwd)
            .env("HOME", tmp.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(["-c", &format!("http.extraHeader={header}")])
            .args(["-c", "user.name=dev", "-c", "user.email=dev@example.com"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(
        tmp.path(),
        &["clone", "-q", "--branch", branch, &w.sim.clone_url(), "c"],
    );
    std::fs::write(dir.join(path), content).unwrap();
    git(&dir, &["add", "-A"]);
    if amend {
        git(&dir, &["commit", "-q", "--amend", "--no-edit"]);
        git(
            &dir,
            &[
                "push",
                "-q",
                "-f",
                "origin",
                &format!("HEAD:refs/heads/{branch}"),
            ],
        );
    } else {
        git(&dir, &["commit", "-q", "-m", &format!("edit {path}")]);
        git(
            &dir,
            &["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")],
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_staging_commit_is_never_landed_even_when_its_ci_is_green() {
    let w = world(ForgeKind::Gitea, prs(&[1, 2]), 4).await;
    w.tick().await;
    let base = w.main_head();
    // A writer amends the staging commit: same trailers, one unreviewed file more.
    push_edit(&w, "tok-alice", STAGING, "backdoor.txt", "evil\n", true);
    let forged = staging_head(&w).unwrap();
    assert_eq!(
        staging_members(&w),
        vec![1, 2],
        "the trailers still claim the batch"
    );
    ci_done(&w);
    let r = w.tick().await;
    assert_eq!(w.main_head(), base, "not landed: {r:#?}");
    let b = r
        .batches
        .iter()
        .find(|b| b.state == "rebuilt")
        .expect("rebuilt");
    assert!(
        b.why
            .iter()
            .any(|w| w.contains("is not the base with #1, #2 merged")),
        "{:?}",
        b.why
    );
    assert_ne!(
        staging_head(&w).unwrap(),
        forged,
        "a genuine batch replaced it"
    );
    ci_done(&w);
    let r = w.tick().await;
    assert_eq!(outcome(&r), &TickOutcome::Landed { prs: vec![1, 2] });
    let main = w.main_head();
    let dir = w.sim.git_dir().unwrap();
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(&dir)
        .args(["cat-file", "-e", &format!("{main}:backdoor.txt")])
        .status()
        .unwrap();
    assert!(!out.success(), "the forged file is not on main");
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_green_batch_lands_exactly_the_tested_commit_and_marks_every_pr_merged() {
    for kind in [ForgeKind::Gitea, ForgeKind::GitHub] {
        let w = world(kind, prs(&[1, 2, 3]), 4).await;
        let base = w.main_head();
        let r = w.tick().await;
        assert!(
            matches!(outcome(&r), TickOutcome::Testing { .. }),
            "{kind}: {r:?}"
        );
        assert_eq!(staging_members(&w), vec![1, 2, 3], "{kind}");
        let tested = staging_head(&w).unwrap();
        assert_eq!(w.main_head(), base, "{kind}: nothing lands before CI");
        // CI still running: the next tick waits.
        let r = w.tick().await;
        assert!(matches!(outcome(&r), TickOutcome::Testing { .. }), "{kind}");
        assert_eq!(w.main_head(), base, "{kind}");
        ci_done(&w);
        let r = w.tick().await;
        assert_eq!(
            outcome(&r),
            &TickOutcome::Landed { prs: vec![1, 2, 3] },
            "{kind}: {:#?} {:#?} {:#?}",
            r.notes,
            r.batches,
            r.decisions
        );
        assert_eq!(w.main_head(), tested, "{kind}: main is the tested commit");
        for n in [1, 2, 3] {
            assert!(merged(&w, n), "{kind}: #{n} merged");
        }
        if kind == ForgeKind::Gitea {
            let marked: Vec<u64> = w
                .sim
                .mutations()
                .iter()
                .filter_map(|m| match m {
                    Mutation::Merged {
                        pr,
                        method,
                        merge_sha,
                        ..
                    } if method == "manually-merged" && *merge_sha == tested => Some(*pr),
                    _ => None,
                })
                .collect();
            assert_eq!(marked, vec![1, 2, 3], "Gitea: marked by the tested commit");
        }
        assert_eq!(r.exit_code().code(), 0, "{kind}: {:?}", r.unevaluated);
        // Nothing left: idle.
        let r = w.tick().await;
        assert_eq!(outcome(&r), &TickOutcome::Idle, "{kind}");
        w.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pr_that_conflicts_with_an_earlier_one_is_left_out_and_held_the_rest_goes_on() {
    let w = world(
        ForgeKind::Gitea,
        vec![
            PullSpec::new(1).file("shared.txt", "one\n"),
            PullSpec::new(2).file("shared.txt", "two\n"),
            PullSpec::new(3),
        ],
        4,
    )
    .await;
    let r = w.tick().await;
    assert_eq!(staging_members(&w), vec![1, 3]);
    assert!(w.labels(2).contains(&HOLD.to_string()), "{r:#?}");
    let b = r.batches.last().unwrap();
    assert_eq!(b.left_out.len(), 1);
    assert!(b.left_out[0].1.contains("shared.txt"), "{:?}", b.left_out);
    ci_done(&w);
    let r = w.tick().await;
    assert_eq!(outcome(&r), &TickOutcome::Landed { prs: vec![1, 3] });
    assert!(!merged(&w, 2));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_red_batch_of_one_holds_its_pr_with_the_failing_context_and_the_next_is_built() {
    let w = world(
        ForgeKind::Gitea,
        vec![PullSpec::new(1).breaking(), PullSpec::new(2)],
        1,
    )
    .await;
    w.tick().await;
    assert_eq!(staging_members(&w), vec![1]);
    ci_done(&w);
    let r = w.tick().await;
    assert!(w.labels(1).contains(&HOLD.to_string()));
    let comment = w
        .sim
        .mutations()
        .iter()
        .find_map(|m| match m {
            Mutation::Commented { pr: 1, body } => Some(body.clone()),
            _ => None,
        })
        .expect("a hold comment on #1");
    assert!(comment.contains("CI: failure"), "{comment}");
    assert!(comment.contains("/actions/runs/"), "the link: {comment}");
    // The next PR is built in the same tick.
    assert_eq!(staging_members(&w), vec![2], "{r:#?}");
    ci_done(&w);
    let r = w.tick().await;
    assert_eq!(outcome(&r), &TickOutcome::Landed { prs: vec![2] });
    assert!(!merged(&w, 1) && !in_main(&w, 1));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_red_batch_is_bisected_to_its_culprit_and_the_innocent_land() {
    let w = world(
        ForgeKind::Gitea,
        vec![
            PullSpec::new(1),
            PullSpec::new(2),
            PullSpec::new(3).breaking(),
            PullSpec::new(4),
        ],
        4,
    )
    .await;
    w.tick().await;
    assert_eq!(staging_members(&w), vec![1, 2, 3, 4]);
    let mut ticks = 0;
    while ticks < 12
        && w.sim.with_state(|s| {
            s.pulls.values().any(|p| {
                p.state == "open" && !s.pr_label_names(p.number).contains(&HOLD.to_string())
            })
        })
    {
        ci_done(&w);
        w.tick().await;
        ticks += 1;
    }
    for n in [1, 2, 4] {
        assert!(merged(&w, n), "#{n} innocent, landed");
    }
    assert!(w.labels(3).contains(&HOLD.to_string()), "#3 is the culprit");
    assert!(!in_main(&w, 3));
    // Red batch → [1,2] green → [3] red → [4] green: four CI rounds.
    assert!(ticks <= 5, "bisected in {ticks} rounds");
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_base_moving_during_the_test_rebuilds_on_the_new_base() {
    let w = world(ForgeKind::Gitea, prs(&[1, 2]), 4).await;
    w.tick().await;
    let first = staging_head(&w).unwrap();
    push_commit(&w, ADMIN_TOKEN, "main", "hotfix.txt", "fix\n");
    let moved = w.main_head();
    ci_done(&w);
    let r = w.tick().await;
    let rebuilt = staging_head(&w).unwrap();
    assert_ne!(rebuilt, first, "{r:#?}");
    assert_ne!(w.main_head(), first, "the stale batch did not land");
    let b = r
        .batches
        .iter()
        .find(|b| b.state == "rebuilt")
        .expect("rebuilt");
    assert!(
        b.why.iter().any(|w| w.contains("base moved")),
        "{:?}",
        b.why
    );
    let (_, base, _) = parse_staging_meta(
        &w.sim
            .with_state(|s| s.commits.get(&rebuilt).map(|c| c.message.clone()))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(base.as_str(), moved);
    ci_done(&w);
    let r = w.tick().await;
    assert_eq!(outcome(&r), &TickOutcome::Landed { prs: vec![1, 2] });
    assert!(in_main(&w, 1) && in_main(&w, 2));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pr_pushed_during_the_test_is_rebuilt_without_it() {
    let w = world(ForgeKind::Gitea, prs(&[1, 2]), 4).await;
    w.tick().await;
    assert_eq!(staging_members(&w), vec![1, 2]);
    // #2's author pushes: its approvals were for the old head.
    push_commit(&w, TOKEN, "pr-2", "late.txt", "late\n");
    ci_done(&w);
    let r = w.tick().await;
    assert_eq!(staging_members(&w), vec![1], "{r:#?}");
    assert!(r.batches.iter().any(|b| b.state == "rebuilt"));
    ci_done(&w);
    let r = w.tick().await;
    assert_eq!(outcome(&r), &TickOutcome::Landed { prs: vec![1] });
    assert!(!in_main(&w, 2));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_withdrawn_during_the_test_is_not_landed() {
    let w = world(ForgeKind::Gitea, prs(&[1, 2]), 4).await;
    w.tick().await;
    let tested = staging_head(&w).unwrap();
    ci_done(&w);
    w.sim
        .with_state(|s| s.add_review(2, "carol", "REQUEST_CHANGES"));
    let r = w.tick().await;
    assert_ne!(w.main_head(), tested, "not landed: {r:#?}");
    assert!(!merged(&w, 2));
    assert_eq!(staging_members(&w), vec![1]);
    ci_done(&w);
    let r = w.tick().await;
    assert_eq!(outcome(&r), &TickOutcome::Landed { prs: vec![1] });
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_landing_interrupted_before_the_prs_are_marked_merged_is_finished_next_tick() {
    use mergeward::sim::{Fault, FaultAction};
    let w = world(ForgeKind::Gitea, prs(&[1, 2]), 4).await;
    w.tick().await;
    let tested = staging_head(&w).unwrap();
    ci_done(&w);
    // The forge fails the first mark-merged call: the base moved, the PRs still look open.
    w.sim.inject(
        Fault::new(
            "/repos/{owner}/{repo}/pulls/{index}/merge",
            FaultAction::Status {
                code: 500,
                body: None,
                headers: Vec::new(),
            },
        )
        .method("POST"),
    );
    let r = w.tick().await;
    assert_eq!(w.main_head(), tested, "landed");
    assert_ne!(
        r.exit_code().code(),
        0,
        "a PR not marked merged is not a clean tick"
    );
    w.sim.clear_faults();
    let r = w.tick().await;
    assert!(merged(&w, 1) && merged(&w, 2), "{r:#?}");
    assert_eq!(w.main_head(), tested, "nothing new pushed");
    assert_eq!(r.exit_code().code(), 0, "{:?}", r.unevaluated);
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_ledger_resumes_from_the_staging_commit_trailers() {
    let mut w = world(ForgeKind::Gitea, prs(&[1, 2]), 4).await;
    w.tick().await;
    let tested = staging_head(&w).unwrap();
    ci_done(&w);
    w.fresh_ledger().await;
    let r = w.tick().await;
    assert_eq!(
        outcome(&r),
        &TickOutcome::Landed { prs: vec![1, 2] },
        "{r:#?}"
    );
    assert_eq!(w.main_head(), tested);
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_builds_nothing_and_says_what_it_would_test() {
    let w = world(ForgeKind::Gitea, prs(&[1, 2]), 4).await;
    let r = w.dry_tick().await;
    assert!(staging_head(&w).is_none());
    let b = r.batches.last().expect("a batch");
    assert_eq!(b.state, "would_build");
    assert_eq!(b.members, vec![1, 2]);
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_refused_the_push_to_the_base_lands_nothing_and_says_so() {
    let mut s = scenario(ForgeKind::Gitea, prs(&[1]));
    for p in &mut s.protections {
        p.push_whitelist = Some(vec!["admin".into()]);
    }
    let mut w = World::start(ForgeKind::Gitea, s).await;
    w.settings.mode = QueueMode::Batch;
    let base = w.main_head();
    w.tick().await;
    ci_done(&w);
    let err = w.try_tick(false).await.unwrap_err().to_string();
    assert_eq!(w.main_head(), base);
    assert!(!merged(&w, 1));
    assert!(err.contains("push"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_appears_in_no_report_ledger_row_or_commit_of_a_batch() {
    let w = world(
        ForgeKind::Gitea,
        vec![
            PullSpec::new(1).file("shared.txt", "one\n"),
            PullSpec::new(2).file("shared.txt", "two\n"),
            PullSpec::new(3).breaking(),
            PullSpec::new(4),
        ],
        4,
    )
    .await;
    let mut reports = Vec::new();
    for _ in 0..8 {
        reports.push(w.tick().await);
        ci_done(&w);
    }
    let json = serde_json::to_string(
        &reports
            .iter()
            .map(|r| (&r.batches, &r.notes, &r.actions, &r.unevaluated))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(json.contains("batch"), "the batches were reported");
    assert!(!json.contains(TOKEN), "the token leaked into a report");
    w.ledger.close().await;
    for entry in std::fs::read_dir(w.ledger_dir()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes
                .windows(TOKEN.len())
                .any(|win| win == TOKEN.as_bytes()),
            "the token is in a ledger file"
        );
    }
    let messages: Vec<String> = w
        .sim
        .with_state(|s| s.commits.values().map(|c| c.message.clone()).collect());
    assert!(messages.iter().any(|m| m.contains("Mergeward-Batch")));
    assert!(messages.iter().all(|m| !m.contains(TOKEN)));
    w.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_api_landing_merges_in_batch_order_and_checks_the_tested_tree() {
    use mergeward::queue::settings::BatchLanding;
    // The bot may not push to main: it lands through the merge API instead.
    let mut s = scenario(ForgeKind::Gitea, prs(&[1, 2, 3]));
    for p in &mut s.protections {
        p.push_whitelist = Some(vec!["admin".into()]);
    }
    let mut w = World::start(ForgeKind::Gitea, s).await;
    w.settings.mode = QueueMode::Batch;
    w.settings.batch.landing = BatchLanding::MergeApi;
    w.tick().await;
    let tested = staging_head(&w).unwrap();
    ci_done(&w);
    let r = w.tick().await;
    assert_eq!(
        outcome(&r),
        &TickOutcome::Landed { prs: vec![1, 2, 3] },
        "{r:#?}"
    );
    let merged_in_order: Vec<u64> = w
        .sim
        .mutations()
        .iter()
        .filter_map(|m| match m {
            Mutation::Merged { pr, method, .. } if method == "merge" => Some(*pr),
            _ => None,
        })
        .collect();
    assert_eq!(merged_in_order, vec![1, 2, 3]);
    let dir = w.sim.git_dir().unwrap();
    let tree = |rev: &str| {
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(&dir)
            .args(["rev-parse", &format!("{rev}^{{tree}}")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        tree("refs/heads/main"),
        tree(&tested),
        "main holds the tested tree"
    );
    assert_eq!(r.exit_code().code(), 0, "{:?}", r.unevaluated);
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_staging_commit_is_rebuilt_once_then_its_prs_are_held() {
    let mut w = world(ForgeKind::Gitea, prs(&[1, 2]), 4).await;
    // CI never finishes (the clock is not advanced); stuck after a second of real time.
    w.settings.stale_pending = Some(Duration::seconds(1));
    w.tick().await;
    let first = staging_head(&w).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = w.tick().await;
    let rebuilt = staging_head(&w).unwrap();
    assert_ne!(rebuilt, first, "{r:#?}");
    let msg = w
        .sim
        .with_state(|s| s.commits.get(&rebuilt).map(|c| c.message.clone()))
        .unwrap();
    assert!(msg.contains("Mergeward-Rebuilds: 1"), "{msg}");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = w.tick().await;
    assert!(r.batches.iter().any(|b| b.state == "stuck"), "{r:#?}");
    for n in [1, 2] {
        assert!(w.labels(n).contains(&HOLD.to_string()), "#{n} held");
    }
    assert!(!merged(&w, 1) && !merged(&w, 2));
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_status_and_the_queue_page_name_the_batch_in_flight() {
    use mergeward::cli::queue_page::{QueuePage, markdown};
    let w = world(ForgeKind::Gitea, prs(&[1, 2]), 4).await;
    w.tick().await;
    let staging = staging_head(&w).unwrap();
    let r = w.status().await;
    let b = r.batches.first().expect("the batch in flight");
    assert_eq!(b.members, vec![1, 2]);
    assert_eq!(b.verdict, "pending");
    assert_eq!(
        b.staging.as_ref().map(|s| s.as_str()),
        Some(staging.as_str())
    );
    let page = markdown(&QueuePage::build(&r, "acme/widgets", "now", None));
    assert!(page.contains("**In flight:** batch"), "{page}");
    assert!(page.contains(&staging[..12]), "{page}");
    w.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_that_dies_between_the_staging_push_and_the_landing_is_resumed() {
    use mergeward::sim::{Fault, FaultAction};
    let w = world(ForgeKind::Gitea, prs(&[1, 2]), 4).await;
    let base = w.main_head();
    w.tick().await;
    let tested = staging_head(&w).unwrap();
    ci_done(&w);
    // The next tick dies reading the batch in flight (the forge fails, as a crash would
    // stop it): nothing lands, and the tick says it could not finish.
    w.sim.inject(Fault::new(
        "/repos/{owner}/{repo}/git/commits/{sha}",
        FaultAction::Status {
            code: 500,
            body: None,
            headers: Vec::new(),
        },
    ));
    assert!(w.try_tick(false).await.is_err());
    assert_eq!(w.main_head(), base, "nothing landed");
    w.sim.clear_faults();
    // The next tick picks the same batch up from the staging branch and lands it.
    let r = w.tick().await;
    assert_eq!(
        outcome(&r),
        &TickOutcome::Landed { prs: vec![1, 2] },
        "{r:#?}"
    );
    assert_eq!(w.main_head(), tested);
    w.shutdown().await;
}
