//! The merge queue as users see it: one story per behaviour, each on Gitea and on GitHub,
//! against the simulated forge over real HTTP, with a real SQLite ledger. Every story ends
//! by asserting every mutation the simulator recorded.

use crate::common;

use common::queue::*;
use common::*;
use mergeward::error::ExitCode;
use mergeward::forge::ForgeKind;
use mergeward::queue::tick::TickOutcome;

#[tokio::test]
async fn a_pr_approved_twice_and_green_on_a_green_main_merges_in_one_tick() {
    for kind in FLAVORS {
        let w = World::start(kind, ready(queue_scenario(kind), 7)).await;
        let head = w.head(7);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 7 }, "{kind}");
        assert_eq!(r.exit_code(), ExitCode::Success, "{kind}");
        assert_eq!(decision_of(&r, 7), ("merge", "ready"), "{kind}");
        w.assert_mutations("merge", &[merged(7, &head)]);
        let chain = w.explain(7).await;
        assert_eq!(chain.len(), 1, "{kind}: {chain:?}");
        assert_eq!(chain[0].evidence.head_sha.as_deref(), Some(head.as_str()));
        assert_eq!(chain[0].evidence.approvals, vec!["alice", "bob"]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_behind_pr_that_could_merge_is_updated_then_merges_once_green_again() {
    for kind in FLAVORS {
        let w = World::start(
            kind,
            ready_spec(
                queue_scenario(kind),
                mergeward::sim::PullSpec::new(3).behind(),
            ),
        )
        .await;
        let old = w.head(3);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Updated { pr: 3 }, "{kind}");
        assert_eq!(decision_of(&r, 3), ("update", "behind"), "{kind}");
        w.assert_mutations(
            "update",
            &[
                updated(3, &old),
                commented(3, "updated this branch with `main`"),
            ],
        );
        // The refreshed head has no CI yet; its approvals survive the queue's own base
        // merge (SPEC §8): it waits for CI only.
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 3), ("wait", "required_not_green"), "{kind}");
        w.assert_mutations("nothing while the new head waits", &[]);
        // CI passes on the new head: it merges, with no second round of reviews.
        let new = w.head(3);
        w.sim.with_state(|s| {
            s.add_status(&new, CI, "success");
        });
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 3 }, "{kind}");
        w.assert_mutations("merge at the refreshed head", &[merged(3, &new)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_behind_pr_that_could_not_merge_anyway_is_not_updated() {
    use mergeward::sim::{PullSpec, ReviewSpec, StatusSpec};
    for kind in FLAVORS {
        let s = queue_scenario(kind)
            // 1: behind, green, one approval.
            .pr(PullSpec::new(1).behind())
            .status(StatusSpec::pr(1, CI, "success"))
            .review(ReviewSpec::new(1, "alice", "APPROVED"));
        // 2: behind, green, approved, but carol requests changes.
        let s = ready_spec(s, PullSpec::new(2).behind()).review(ReviewSpec::new(
            2,
            "carol",
            "REQUEST_CHANGES",
        ));
        // 3: behind, approved, CI red on its head (not a staleness problem).
        let s =
            approve(s.pr(PullSpec::new(3).behind()), 3).status(StatusSpec::pr(3, CI, "failure"));
        // 4: behind, approved, CI not run yet: the only one worth updating.
        let s = approve(s.pr(PullSpec::new(4).behind()), 4);
        let w = World::start(kind, s).await;
        let old4 = w.head(4);
        let r = w.tick().await;
        assert_eq!(
            decision_of(&r, 1),
            ("wait", "insufficient_approvals"),
            "{kind}"
        );
        assert_eq!(decision_of(&r, 2), ("wait", "request_changes"), "{kind}");
        assert_eq!(
            decision_of(&r, 3),
            ("wait", "behind_with_red_required"),
            "{kind}"
        );
        assert_eq!(decision_of(&r, 4), ("update", "behind"), "{kind}");
        assert_eq!(r.outcome, TickOutcome::Updated { pr: 4 }, "{kind}");
        w.assert_mutations(
            "only #4 is updated",
            &[updated(4, &old4), commented(4, "updated this branch")],
        );
        w.shutdown().await;
    }
}

#[tokio::test]
async fn only_genuine_approvals_on_the_current_head_count() {
    use mergeward::sim::{PullSpec, ReviewSpec};
    for kind in FLAVORS {
        let one = |s: mergeward::sim::Scenario, n: u64| {
            green(s.pr(PullSpec::new(n).commits(2)), n)
                .review(ReviewSpec::new(n, "alice", "APPROVED"))
        };
        // 1: a single approval.
        let s = one(queue_scenario(kind), 1);
        // 2: the second approval is from dave, who cannot write (not official).
        let s = one(s, 2).review(ReviewSpec::new(2, "dave", "APPROVED"));
        // 3: the second approval is from carol, outside the roster.
        let s = one(s, 3).review(ReviewSpec::new(3, "carol", "APPROVED"));
        // 4: bob approved an earlier head.
        let s = one(s, 4).review(ReviewSpec::new(4, "bob", "APPROVED").commit("pr-4~1"));
        // 5: bob's approval was dismissed.
        let s = one(s, 5).review(ReviewSpec::new(5, "bob", "APPROVED").dismissed());
        // 6: alice and bob on the current head.
        let s = ready(s, 6);
        let mut w = World::start(kind, s).await;
        w.settings.reviewers = vec!["alice".into(), "bob".into()];
        let head6 = w.head(6);
        let r = w.tick().await;
        for n in 1..=5 {
            assert_eq!(
                decision_of(&r, n),
                ("wait", "insufficient_approvals"),
                "{kind} #{n}"
            );
        }
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 6 }, "{kind}");
        w.assert_mutations("only #6 merges", &[merged(6, &head6)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_reviewers_latest_verdict_wins_and_request_changes_from_anyone_blocks() {
    use mergeward::sim::{PullSpec, ReviewSpec};
    for kind in FLAVORS {
        // 1: alice approved, then requested changes.
        let s = green(queue_scenario(kind).pr(PullSpec::new(1)), 1)
            .review(ReviewSpec::new(1, "alice", "APPROVED"))
            .review(ReviewSpec::new(1, "bob", "APPROVED"))
            .review(ReviewSpec::new(1, "alice", "REQUEST_CHANGES"));
        // 2: approved by the roster, changes requested by carol (outside the roster).
        let s = ready(s, 2).review(ReviewSpec::new(2, "carol", "REQUEST_CHANGES"));
        // 3: alice requested changes, then approved.
        let s = green(s.pr(PullSpec::new(3)), 3)
            .review(ReviewSpec::new(3, "alice", "REQUEST_CHANGES"))
            .review(ReviewSpec::new(3, "alice", "APPROVED"))
            .review(ReviewSpec::new(3, "bob", "APPROVED"));
        let mut w = World::start(kind, s).await;
        w.settings.reviewers = vec!["alice".into(), "bob".into()];
        let head3 = w.head(3);
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1), ("wait", "request_changes"), "{kind}");
        assert_eq!(decision_of(&r, 2), ("wait", "request_changes"), "{kind}");
        assert_eq!(
            r.outcome,
            TickOutcome::Merged { pr: 3 },
            "{kind}: {:?} {:?}",
            decisions(&r),
            r.unevaluated
        );
        w.assert_mutations("only #3 merges", &[merged(3, &head3)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_red_pending_or_missing_required_context_blocks_the_merge() {
    use mergeward::sim::{PullSpec, StatusSpec};
    for kind in FLAVORS {
        let s = approve(queue_scenario(kind).pr(PullSpec::new(1)), 1)
            .status(StatusSpec::pr(1, CI, "failure"));
        let s = approve(s.pr(PullSpec::new(2)), 2).status(StatusSpec::pr(2, CI, "pending"));
        let s = approve(s.pr(PullSpec::new(3)), 3);
        // 4: CI succeeded, then failed on a re-run: the latest counts.
        let s = approve(s.pr(PullSpec::new(4)), 4)
            .status(StatusSpec::pr(4, CI, "success"))
            .status(StatusSpec::pr(4, CI, "error"));
        let w = World::start(kind, s).await;
        let r = w.tick().await;
        for n in 1..=4 {
            assert_eq!(
                decision_of(&r, n),
                ("wait", "required_not_green"),
                "{kind} #{n}"
            );
        }
        assert_eq!(r.outcome, TickOutcome::Idle, "{kind}");
        assert_eq!(r.exit_code(), ExitCode::Success, "{kind}");
        w.assert_mutations("nothing merges", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_red_non_required_context_does_not_block_and_force_is_never_sent() {
    use mergeward::sim::StatusSpec;
    for kind in FLAVORS {
        let s = ready(queue_scenario(kind), 1).status(StatusSpec::pr(1, "lint", "failure"));
        let w = World::start(kind, s).await;
        let head = w.head(1);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{kind}");
        let merge_bodies: Vec<_> = w
            .sim
            .requests()
            .into_iter()
            .filter(|q| q.method != "GET" && q.path.ends_with("/merge"))
            .map(|q| q.body.unwrap_or_default())
            .collect();
        assert_eq!(merge_bodies.len(), 1, "{kind}");
        assert!(
            merge_bodies[0].get("force_merge").is_none(),
            "{kind}: {:?}",
            merge_bodies[0]
        );
        w.assert_mutations("merged without force", &[merged(1, &head)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn mergeability_must_be_literally_true() {
    use mergeward::sim::PullSpec;
    for kind in FLAVORS {
        let s = ready_spec(
            queue_scenario(kind),
            PullSpec::new(1).mergeable(Some(false)),
        );
        // Still being computed. GitHub says null (and its list has no `mergeable` at all:
        // the tick reads the PR); Gitea's field is a boolean and says false meanwhile.
        let s = ready_spec(s, PullSpec::new(2).mergeable(None));
        let w = World::start(kind, s).await;
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1), ("wait", "conflicts"), "{kind}");
        let unknown = match kind {
            ForgeKind::GitHub => "mergeability_unknown",
            _ => "conflicts",
        };
        assert_eq!(decision_of(&r, 2), ("wait", unknown), "{kind}");
        assert_eq!(r.outcome, TickOutcome::Idle, "{kind}");
        w.assert_mutations("no merge, no hold, no update", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn ineligible_prs_are_skipped_and_wrong_base_and_fork_are_told_once() {
    use mergeward::sim::PullSpec;
    for kind in FLAVORS {
        let s = queue_scenario(kind).branch("release", Some("main"), 1);
        let s = ready_spec(
            s,
            PullSpec::new(1)
                .label("do-not-auto-merge")
                .label(QUEUE_LABEL),
        );
        let s = ready_spec(s, PullSpec::new(2).label("wip"));
        let s = ready_spec(s, PullSpec::new(3).label("draft"));
        let s = ready_spec(s, PullSpec::new(4).draft());
        let s = ready_spec(s, PullSpec::new(5).fork("mallory/widgets"));
        let s = ready_spec(s, PullSpec::new(6).base("release"));
        let s = ready_spec(s, PullSpec::new(7).label(HOLD));
        let w = World::start(kind, s).await;
        for tick in 1..=2 {
            let r = w.tick().await;
            let want = [
                (1, "opt_out"),
                (2, "opt_out"),
                (3, "opt_out"),
                (4, "draft"),
                (5, "fork"),
                (6, "wrong_base"),
                (7, "opt_out"),
            ];
            for (n, code) in want {
                assert_eq!(
                    decision_of(&r, n),
                    ("skip", code),
                    "{kind} tick {tick} #{n}"
                );
            }
            assert_eq!(r.outcome, TickOutcome::Idle, "{kind}");
            let expected = if tick == 1 {
                vec![
                    commented(5, "PRs from forks are not supported"),
                    commented(6, "the base branch is not `main`"),
                ]
            } else {
                vec![]
            };
            w.assert_mutations(&format!("tick {tick}"), &expected);
        }
        w.shutdown().await;
    }
}

#[tokio::test]
async fn opt_in_mode_requires_the_queue_label_and_still_honours_opt_out() {
    use mergeward::sim::PullSpec;
    for kind in FLAVORS {
        let s = ready(queue_scenario(kind), 1);
        let s = ready_spec(s, PullSpec::new(2).label(QUEUE_LABEL).label("wip"));
        let s = ready_spec(s, PullSpec::new(3).label(QUEUE_LABEL));
        let mut w = World::start(kind, s).await;
        w.settings.auto_discover = false;
        let head3 = w.head(3);
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1), ("skip", "not_queued"), "{kind}");
        assert_eq!(decision_of(&r, 2), ("skip", "opt_out"), "{kind}");
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 3 }, "{kind}");
        w.assert_mutations("the labelled PR merges", &[merged(3, &head3)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn the_oldest_ready_pr_merges_and_only_one_action_per_tick() {
    for kind in FLAVORS {
        let s = ready(ready(ready(queue_scenario(kind), 1), 2), 3);
        let mut w = World::start(kind, s).await;
        w.settings.window = 1;
        let (h1, h2) = (w.head(1), w.head(2));
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{kind}");
        assert_eq!(
            r.not_evaluated,
            vec![2, 3],
            "{kind}: read no further than needed"
        );
        w.assert_mutations("one merge", &[merged(1, &h1)]);
        // main moved: 2 and 3 are behind; only the oldest is updated.
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Updated { pr: 2 }, "{kind}");
        assert_eq!(decision_of(&r, 3), ("update", "behind"), "{kind}");
        w.assert_mutations(
            "one update",
            &[updated(2, &h2), commented(2, "updated this branch")],
        );
        w.shutdown().await;
    }
}

#[tokio::test]
async fn unready_older_prs_never_block_a_ready_newer_one() {
    use mergeward::sim::{PullSpec, ReviewSpec, StatusSpec};
    for kind in FLAVORS {
        // 1: no approvals.
        let s = green(queue_scenario(kind).pr(PullSpec::new(1)), 1);
        // 2: red required CI.
        let s = approve(s.pr(PullSpec::new(2)), 2).status(StatusSpec::pr(2, CI, "failure"));
        // 3: looks ready, but conflicts.
        let s = ready_spec(s, PullSpec::new(3).mergeable(Some(false)));
        // 4: looks ready, but its approvals are on an older head (a false candidate).
        let s = green(s.pr(PullSpec::new(4).commits(2)), 4)
            .review(ReviewSpec::new(4, "alice", "APPROVED").commit("pr-4~1"))
            .review(ReviewSpec::new(4, "bob", "APPROVED").commit("pr-4~1"));
        let s = ready(s, 5);
        let w = World::start(kind, s).await;
        let head5 = w.head(5);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 5 }, "{kind}");
        w.assert_mutations("the ready newer PR merges", &[merged(5, &head5)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn after_a_merge_the_older_behind_pr_is_updated_onto_the_result_in_the_same_tick() {
    // Fair serial order (SPEC §8, issue 11): a newer ready PR merges, and the older behind
    // one is brought up to date with that merge at once instead of waiting for an idle tick.
    use mergeward::sim::PullSpec;
    for kind in FLAVORS {
        let s = ready_spec(queue_scenario(kind), PullSpec::new(1).behind());
        let w = World::start(kind, ready(s, 2)).await;
        let (h1, h2) = (w.head(1), w.head(2));
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1), ("update", "behind"), "{kind}");
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 2 }, "{kind}");
        w.assert_mutations(
            "merge, then the update onto the merge",
            &[
                merged(2, &h2),
                updated(1, &h1),
                commented(1, "updated this branch"),
            ],
        );
        let main = w.main_head();
        let contains = w
            .sim
            .with_state(|s| s.is_ancestor(&main, &s.pull(1).head_sha));
        assert!(contains, "{kind}: #1 contains the merge of #2");
        // Next tick: #1 waits for CI on its refreshed head; nothing else happens.
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1), ("wait", "required_not_green"), "{kind}");
        w.assert_mutations("nothing", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn no_pr_is_updated_while_a_current_one_waits_for_its_ci() {
    use mergeward::sim::{PullSpec, StatusSpec};
    for kind in FLAVORS {
        // The pending status was posted 30 minutes ago: CI in flight.
        let recent = chrono::Utc::now() - chrono::Duration::minutes(30);
        let s = approve(queue_scenario(kind).epoch(recent).pr(PullSpec::new(1)), 1)
            .status(StatusSpec::pr(1, CI, "pending"));
        let s = ready_spec(s, PullSpec::new(2).behind());
        let w = World::start(kind, s).await;
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 2), ("update", "behind"), "{kind}");
        assert_eq!(r.outcome, TickOutcome::Idle, "{kind}");
        assert!(
            r.notes.iter().any(|n| n.contains("#1 waits for CI")),
            "{kind}: {:?}",
            r.notes
        );
        w.assert_mutations("no churn", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn ci_stuck_pending_does_not_hold_back_the_other_prs_forever() {
    use mergeward::sim::{PullSpec, StatusSpec};
    for kind in FLAVORS {
        // The pending status is a day old (the simulator's default clock): stuck, as Gitea
        // leaves some cancelled runs. #2 is updated; #1 still never merges.
        let s = approve(queue_scenario(kind).pr(PullSpec::new(1)), 1)
            .status(StatusSpec::pr(1, CI, "pending"));
        let s = ready_spec(s, PullSpec::new(2).behind());
        let w = World::start(kind, s).await;
        let h2 = w.head(2);
        let r = w.tick().await;
        assert_eq!(
            r.outcome,
            TickOutcome::Updated { pr: 2 },
            "{kind}: {:?}",
            r.notes
        );
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("#1's required CI has been pending for more than 6 h")),
            "{kind}: {:?}",
            r.notes
        );
        assert_eq!(decision_of(&r, 1).0, "wait", "{kind}");
        w.assert_mutations(
            "the update only",
            &[updated(2, &h2), commented(2, "updated this branch")],
        );
        w.shutdown().await;
    }
}

#[tokio::test]
async fn stuck_ci_under_glob_protection_is_aged_by_the_contexts_the_glob_matches() {
    use mergeward::sim::{ProtectionSpec, PullSpec, StatusSpec};
    // Gitea protection with a glob: the pending context's age is read from the statuses
    // the pattern matches (a day old here), not from the pattern itself.
    let s = queue_scenario_unprotected(ForgeKind::Gitea)
        .protect(ProtectionSpec::new("main").contexts(&["C*"]).approvals(2));
    let s = approve(s.pr(PullSpec::new(1)), 1).status(StatusSpec::pr(1, "CI / test", "pending"));
    let s = ready_spec(s, PullSpec::new(2).behind());
    let w = World::start(ForgeKind::Gitea, s).await;
    let r = w.tick().await;
    assert_eq!(r.outcome, TickOutcome::Updated { pr: 2 }, "{:?}", r.notes);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("#1's required CI has been pending"))
    );
    w.shutdown().await;
}
