//! Review of batch mode (SPEC §8.2): scenarios that broke the landing invariant or wedged
//! the queue, each stating the behaviour the contract asks for. Against the git-backed
//! simulator, like `batch_sim`.

use std::path::Path;
use std::process::Command;

use chrono::Duration;
use mergeward::forge::{ForgeKind, Sha};
use mergeward::queue::batch::{
    AfterRed, Batch, BatchSettings, BatchSnapshot, BatchStep, Bisect, InFlight, Member, Verdict,
    after_red, plan_batch,
};
use mergeward::queue::settings::QueueMode;
use mergeward::sim::{CallMatch, CiSpec, Fault, FaultAction, ProtectionSpec, PullSpec, Scenario};

use crate::common::queue::{CI, HOLD, World, queue_scenario_unprotected, ready_spec};

const CI_MINUTES: i64 = 20;
const STAGING: &str = "mergeward/staging/main";

/// As `batch_sim::scenario`: CI on every push, `main` protected (CI, 2 approvals, the bot
/// may push), `prs` ready.
fn scenario(kind: ForgeKind, prs: Vec<PullSpec>) -> Scenario {
    let mut p = ProtectionSpec::new("main").contexts(&[CI]).approvals(2);
    p.enable_push = true;
    p.push_whitelist = Some(vec!["bot".into(), "admin".into()]);
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

async fn world(prs: &[u64], size: usize) -> World {
    let specs = prs.iter().map(|n| PullSpec::new(*n)).collect();
    let mut w = World::start(ForgeKind::Gitea, scenario(ForgeKind::Gitea, specs)).await;
    w.settings.mode = QueueMode::Batch;
    w.settings.batch.batch.size = size;
    w.settings.batch.git.timeout = std::time::Duration::from_secs(60);
    w
}

fn ci_done(w: &World) {
    w.sim.advance(Duration::minutes(CI_MINUTES + 1));
}

fn staging_head(w: &World) -> Option<String> {
    w.sim.with_state(|s| s.branch_head(STAGING))
}

fn merged(w: &World, n: u64) -> bool {
    w.sim.with_state(|s| s.pull(n).merged)
}

fn contains(w: &World, branch: &str, commit: &str) -> bool {
    let dir = w.sim.git_dir().expect("git mode");
    Command::new("git")
        .arg("--git-dir")
        .arg(&dir)
        .args([
            "merge-base",
            "--is-ancestor",
            commit,
            &format!("refs/heads/{branch}"),
        ])
        .status()
        .expect("git runs")
        .success()
}

/// Marking a PR merged (Gitea `POST …/pulls/{index}/merge`) fails with a 500 from the
/// `from`-th call on.
fn fail_marks_from(w: &World, from: u64) {
    w.sim.inject(
        Fault::new(
            "/repos/{owner}/{repo}/pulls/{index}/merge",
            FaultAction::Status {
                code: 500,
                body: None,
                headers: Vec::new(),
            },
        )
        .method("POST")
        .calls(CallMatch::From(from)),
    );
}

/// Amends the staging branch's head as `token` (same parents and message — the trailers
/// still claim the batch — one file more) and force-pushes it over the sim's git HTTP.
fn amend_staging(w: &World, token: &str) -> String {
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
        &["clone", "-q", "--branch", STAGING, &w.sim.clone_url(), "c"],
    );
    std::fs::write(dir.join("forged.txt"), "not what was built\n").unwrap();
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "--amend", "--no-edit"]);
    git(
        &dir,
        &[
            "push",
            "-q",
            "-f",
            "origin",
            &format!("HEAD:refs/heads/{STAGING}"),
        ],
    );
    staging_head(w).unwrap()
}

/// A batch member pushed to after its batch landed (the landing stopped before marking it
/// merged) is not marked merged by the staging commit: its new commits are not in the base.
/// And the queue does not report "could not decide" on every later tick for it: the batch
/// did land, the PR is simply open again on its new head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_pushed_after_its_batch_landed_is_not_marked_merged_and_does_not_wedge() {
    let w = world(&[1, 2], 4).await;
    w.tick().await;
    let tested = staging_head(&w).unwrap();
    ci_done(&w);
    // #1 is marked, #2's mark fails: the landing is unfinished.
    fail_marks_from(&w, 2);
    let r = w.tick().await;
    assert_eq!(w.main_head(), tested, "landed: {r:#?}");
    assert!(merged(&w, 1) && !merged(&w, 2));
    w.sim.clear_faults();
    // #2's author pushes before the next tick finishes the landing.
    let new_head = w.sim.with_state(|s| s.push_to_pr(2)).unwrap();
    let r = w.tick().await;
    assert!(
        !merged(&w, 2),
        "#2 is marked merged, yet its head {new_head} is not in main"
    );
    assert!(!contains(&w, "main", &new_head));
    ci_done(&w);
    let r2 = w.tick().await;
    assert_eq!(
        r2.exit_code().code(),
        0,
        "a PR pushed after its batch landed keeps the queue at could-not-decide forever: {:?} (the tick before: {:?})",
        r2.unevaluated,
        r.unevaluated
    );
    w.shutdown().await;
}

/// `queue tick --dry-run` between an unfinished landing and the next real tick must not
/// make the real tick believe the landing was finished: every member ends marked merged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_after_an_unfinished_landing_does_not_stop_the_next_tick_finishing_it() {
    let w = world(&[1, 2], 4).await;
    w.tick().await;
    let tested = staging_head(&w).unwrap();
    ci_done(&w);
    fail_marks_from(&w, 2);
    w.tick().await;
    assert_eq!(w.main_head(), tested);
    assert!(!merged(&w, 2));
    w.sim.clear_faults();
    w.dry_tick().await;
    assert!(!merged(&w, 2), "a dry run marks nothing");
    let r = w.tick().await;
    assert!(
        merged(&w, 2),
        "#2 landed in main but is never marked merged after a dry run: {r:#?}"
    );
    assert_eq!(r.exit_code().code(), 0, "{:?}", r.unevaluated);
    w.shutdown().await;
}

/// The bisection trailer is written by whoever can push to the staging branch: a huge
/// step count must not crash the tick when the batch it names turns red.
#[test]
fn a_red_batch_whose_bisection_step_is_at_its_maximum_does_not_crash_the_planner() {
    let sha = |c: char| Sha::parse(&c.to_string().repeat(40)).unwrap();
    let batch = Batch {
        id: "b".into(),
        base: sha('a'),
        members: vec![
            Member {
                pr: 1,
                head: sha('1'),
            },
            Member {
                pr: 2,
                head: sha('2'),
            },
        ],
        staging: sha('f'),
        rebuilds: 0,
    };
    let bisect = Bisect {
        suspects: vec![1, 2],
        steps: u32::MAX,
    };
    let next = std::panic::catch_unwind(|| after_red(&batch, Some(&bisect)));
    assert!(
        matches!(next, Ok(AfterRed::Split { .. })),
        "a crafted Mergeward-Bisect step crashes the tick"
    );
    let snap = BatchSnapshot {
        base: sha('a'),
        eligible: batch.members.clone(),
        in_flight: Some(InFlight {
            batch: batch.clone(),
            verdict: Verdict::Red(vec![(CI.into(), "failure".into())]),
            land: None,
        }),
        bisect: Some(bisect),
    };
    let settings = BatchSettings {
        size: 4,
        bisect_max_steps: 3,
        adaptive: false,
    };
    let step = std::panic::catch_unwind(|| plan_batch(&snap, &settings));
    assert!(matches!(step, Ok(BatchStep::Split { .. })), "{step:?}");
}

/// A PR whose head is already in the base (pushed there by a person, or a duplicate of a
/// PR that landed) can never be part of a staging commit. With one PR per batch it must not
/// stop every PR behind it from ever being tested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pr_already_contained_in_the_base_does_not_wedge_the_queue() {
    let w = world(&[1, 2], 1).await;
    // A maintainer fast-forwards main to #1's head by hand; #1 stays open.
    let head1 = w.head(1);
    w.sim.with_state(|s| s.set_branch_head("main", &head1));
    // The push ran CI on main (#1's head): let it finish, so #1 is ready and first.
    ci_done(&w);
    for _ in 0..4 {
        w.tick().await;
        ci_done(&w);
    }
    let r = w.tick().await;
    assert!(
        merged(&w, 2) && contains(&w, "main", &w.head(2)),
        "#2 is never tested: every tick builds #1 alone, which merges nothing: {r:#?}"
    );
    w.shutdown().await;
}

/// Anyone who can push to the staging branch can amend the staging commit (the trailers
/// stay). Such a commit is never landed (checked elsewhere) — and it must not get an
/// innocent PR held either: what its CI says is about someone else's content, not the PR's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_red_staging_commit_does_not_get_its_claimed_pr_held() {
    let w = world(&[1], 1).await;
    w.tick().await;
    let forged = amend_staging(&w, "tok-alice");
    ci_done(&w);
    // The forged content fails CI.
    w.sim.with_state(|s| s.add_status(&forged, CI, "failure"));
    let r = w.tick().await;
    assert!(
        !w.labels(1).contains(&HOLD.to_string()),
        "#1 held because of a commit mergeward did not build: {:#?}",
        r.batches
    );
    ci_done(&w);
    for _ in 0..2 {
        w.tick().await;
        ci_done(&w);
    }
    assert!(merged(&w, 1), "#1 lands from a genuine batch");
    w.shutdown().await;
}
