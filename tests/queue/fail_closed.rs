//! Fail-closed holes found by randomized fault injection (issue 11), one story each, on
//! Gitea and GitHub where the behaviour exists on both: approvals that name no commit,
//! approvals carried across the queue's own base merges (and only those), a base that turns
//! red after it was read, a 404 inside a candidate's reads, the forge's stricter review
//! rules, the bot's own missing permission, crash recovery, fair serial order and trusted
//! status creators. Each story ends by asserting every mutation the simulator recorded.

use crate::common;

use std::time::Duration;

use common::queue::*;
use common::*;
use mergeward::error::ExitCode;
use mergeward::forge::{Commit, ForgeKind, Sha};
use mergeward::ledger::{EffectKind, NewEffect, NewRun, OutcomeKind, RunState};
use mergeward::queue::policy::only_base_merges_since;
use mergeward::queue::tick::TickOutcome;
use mergeward::sim::{CallMatch, FaultAction, ProtectionSpec, PullSpec, ReviewSpec, StatusSpec};

/// Polls until the ledger holds a decision for PR `n` (the tick is about to act).
async fn evaluated(w: &World, n: u64) {
    for _ in 0..2000 {
        if !w.explain(n).await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("#{n} was never evaluated");
}

/// Sets the `commit_id` of `user`'s reviews on PR `n` (an empty string is what Gitea
/// answers for a review on no commit; the GitHub dialect answers `null`).
fn set_review_commit(w: &World, n: u64, user: &str, commit: &str) {
    w.sim.with_state(|s| {
        for r in s.reviews.iter_mut().filter(|r| r.pr == n && r.user == user) {
            r.commit_id = commit.to_string();
        }
    });
}

// ------------------------------------------------------------------ 1. approvals name a commit

#[tokio::test]
async fn an_approval_that_names_no_commit_never_counts() {
    for kind in FLAVORS {
        for commit in ["", "not-a-sha"] {
            let w = World::start(kind, ready(queue_scenario(kind), 1)).await;
            set_review_commit(&w, 1, "bob", commit);
            let r = w.tick().await;
            let ctx = format!("{kind} commit_id {commit:?}");
            assert_eq!(
                decision_of(&r, 1),
                ("wait", "insufficient_approvals"),
                "{ctx}"
            );
            assert_eq!(r.outcome, TickOutcome::Idle, "{ctx}");
            w.assert_mutations(&ctx, &[]);
            w.shutdown().await;
        }
    }
}

#[tokio::test]
async fn a_request_changes_that_names_no_commit_still_blocks() {
    for kind in FLAVORS {
        let s =
            ready(queue_scenario(kind), 1).review(ReviewSpec::new(1, "carol", "REQUEST_CHANGES"));
        let w = World::start(kind, s).await;
        set_review_commit(&w, 1, "carol", "");
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1), ("wait", "request_changes"), "{kind}");
        w.assert_mutations("blocked", &[]);
        w.shutdown().await;
    }
}

// ------------------------------------------------------------------ 2. approvals survive base merges

#[tokio::test]
async fn an_approval_survives_the_queues_own_base_merge() {
    for kind in FLAVORS {
        let s = ready_spec(queue_scenario(kind), PullSpec::new(1).behind());
        let w = World::start(kind, s).await;
        let h1 = w.head(1);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Updated { pr: 1 }, "{kind}");
        w.assert_mutations(
            "updated",
            &[updated(1, &h1), commented(1, "updated this branch")],
        );
        // CI passes on the refreshed head; nobody approves again.
        let new_head = w.head(1);
        w.sim.with_state(|s| {
            s.add_status(&new_head, CI, "success");
        });
        let r = w.tick().await;
        assert_eq!(
            r.outcome,
            TickOutcome::Merged { pr: 1 },
            "{kind}: {:?}",
            decisions(&r)
        );
        w.assert_mutations("merged without re-approval", &[merged(1, &new_head)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn an_approval_does_not_survive_a_new_commit() {
    for kind in FLAVORS {
        let w = World::start(kind, ready(queue_scenario(kind), 1)).await;
        // The author pushes after the approvals; CI is green on the new head.
        let new_head = w.sim.with_state(|s| {
            let h = s.push_to_pr(1).unwrap();
            s.add_status(&h, CI, "success");
            h
        });
        let r = w.tick().await;
        assert_eq!(
            decision_of(&r, 1),
            ("wait", "insufficient_approvals"),
            "{kind}: {new_head}"
        );
        w.assert_mutations("nothing", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn github_dismissing_stale_reviews_on_update_means_a_new_approval_is_needed() {
    let kind = ForgeKind::GitHub;
    let s = queue_scenario_unprotected(kind).protect(
        ProtectionSpec::new("main")
            .contexts(&[CI])
            .approvals(2)
            .dismiss_stale_approvals(),
    );
    let s = ready_spec(s, PullSpec::new(1).behind());
    let w = World::start(kind, s).await;
    let h1 = w.head(1);
    w.tick().await;
    w.assert_mutations(
        "updated",
        &[updated(1, &h1), commented(1, "updated this branch")],
    );
    let new_head = w.head(1);
    w.sim.with_state(|s| {
        s.add_status(&new_head, CI, "success");
    });
    let r = w.tick().await;
    assert_eq!(decision_of(&r, 1), ("wait", "insufficient_approvals"));
    w.assert_mutations("the forge dismissed them: no merge", &[]);
    w.shutdown().await;
}

fn sha(seed: u8) -> Sha {
    Sha::parse(&format!("{seed:02x}").repeat(20)).unwrap()
}

fn commit(s: u8, parents: &[u8]) -> Commit {
    Commit {
        sha: sha(s),
        parents: parents.iter().map(|p| sha(*p)).collect(),
        message: None,
        created: None,
    }
}

#[test]
fn only_base_merges_count_as_the_queues_updates() {
    // PR commits: 1 (approved) ← 2 = merge(1, base b0) ← 3 = merge(2, base b1).
    let two_base_merges = [
        commit(1, &[0xb0]),
        commit(2, &[1, 0xb1]),
        commit(3, &[2, 0xb2]),
    ];
    assert!(only_base_merges_since(&two_base_merges, &sha(3), &sha(1)));
    assert!(only_base_merges_since(&two_base_merges, &sha(2), &sha(1)));
    // A plain commit after the approval.
    let new_commit = [commit(1, &[0xb0]), commit(2, &[1])];
    assert!(!only_base_merges_since(&new_commit, &sha(2), &sha(1)));
    // A merge whose other parent is a PR commit (another branch of the PR), not the base.
    let side_merge = [commit(1, &[0xb0]), commit(4, &[0xb0]), commit(2, &[1, 4])];
    assert!(!only_base_merges_since(&side_merge, &sha(2), &sha(1)));
    // The approved commit is not among the PR's commits (rebased away, or unknown).
    assert!(!only_base_merges_since(&two_base_merges, &sha(3), &sha(9)));
    // A merge with the base as *first* parent (base merged into nothing of the PR's).
    let reversed = [commit(1, &[0xb0]), commit(2, &[0xb1, 1])];
    assert!(!only_base_merges_since(&reversed, &sha(2), &sha(1)));
    // An octopus merge.
    let octopus = [commit(1, &[0xb0]), commit(2, &[1, 0xb1, 0xb2])];
    assert!(!only_base_merges_since(&octopus, &sha(2), &sha(1)));
}

// ------------------------------------------------------------------ 3. a base that turns red

#[tokio::test]
async fn a_base_that_turns_red_after_the_read_is_not_merged_onto() {
    const PUSH: &str = "CI / all (push)";
    for kind in FLAVORS {
        // The pre-merge re-read of main is slow: its third read on Gitea, its second on
        // GitHub (whose protection read already returned the head).
        let nth = if kind == ForgeKind::GitHub { 2 } else { 3 };
        let s = ready(queue_scenario(kind), 1)
            .status(StatusSpec::branch("main", PUSH, "success"))
            .fault(
                fault(route::branch(kind), FaultAction::Delay { ms: 400 })
                    .calls(CallMatch::From(nth)),
            );
        let mut w = World::start(kind, s).await;
        w.settings.push_required_contexts = vec![PUSH.into()];
        let turn_red = async {
            evaluated(&w, 1).await;
            w.sim.with_state(|s| {
                let main = s.branch_head("main").unwrap();
                s.add_status(&main, PUSH, "failure");
            });
        };
        let (r, ()) = tokio::join!(w.tick(), turn_red);
        assert_eq!(r.outcome, TickOutcome::Paused, "{kind}: {:?}", r.notes);
        assert!(
            r.notes.iter().any(|n| n.contains("the base turned red")),
            "{kind}: {:?}",
            r.notes
        );
        let (m, rt) = route::merge(kind);
        assert!(requests_to(&w.sim, m, rt).is_empty(), "{kind}: no merge");
        w.assert_mutations("nothing merged onto red", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_base_still_green_at_the_merge_is_merged_onto() {
    const PUSH: &str = "CI / all (push)";
    for kind in FLAVORS {
        let s = ready(queue_scenario(kind), 1).status(StatusSpec::branch("main", PUSH, "success"));
        let mut w = World::start(kind, s).await;
        w.settings.push_required_contexts = vec![PUSH.into()];
        let h = w.head(1);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{kind}");
        w.assert_mutations("merged", &[merged(1, &h)]);
        w.shutdown().await;
    }
}

// ------------------------------------------------------------------ 4. a 404 inside the reads

#[tokio::test]
async fn a_404_inside_an_open_prs_reads_is_could_not_decide() {
    for kind in FLAVORS {
        let s = ready(ready(queue_scenario(kind), 1), 2)
            .fault(fault(route::reviews(kind), http(404, None)).nth(1));
        let w = World::start(kind, s).await;
        let r = w.tick().await;
        assert_eq!(
            r.exit_code(),
            ExitCode::CouldNotDecide,
            "{kind}: {:?}",
            r.notes
        );
        assert!(
            r.unevaluated
                .iter()
                .any(|u| u.pr == 1 && u.error.contains("still open")),
            "{kind}: {:?}",
            r.unevaluated
        );
        // #1 was never merged; #2, proven ready, still is (one stuck PR blocks no other).
        let h2 = w.head(2);
        w.assert_mutations("only #2", &[merged(2, &h2)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_pr_closed_while_it_is_read_is_a_note() {
    for kind in FLAVORS {
        let w = World::start(kind, ready(queue_scenario(kind), 1)).await;
        // Every read about #1 answers 404, as for a PR deleted mid-tick.
        w.sim.inject(fault(route::reviews(kind), http(404, None)));
        w.sim.inject(fault(route::pull(kind), http(404, None)));
        let r = w.tick().await;
        assert_eq!(
            r.exit_code(),
            ExitCode::Success,
            "{kind}: {:?}",
            r.unevaluated
        );
        assert!(
            r.notes.iter().any(|n| n.contains("closed or deleted")),
            "{kind}: {:?}",
            r.notes
        );
        w.assert_mutations("nothing", &[]);
        w.shutdown().await;
    }
}

// ------------------------------------------------------------------ 5. the forge's stricter rules

/// Gitea: the bot may read the full rule (its flags need repo admin).
fn gitea_admin_bot(w: &World) {
    w.sim.with_state(|s| {
        let bot = s.users.iter_mut().find(|u| u.login == "bot").unwrap();
        bot.permission = mergeward::sim::Permission::Admin;
    });
}

#[tokio::test]
async fn gitea_block_on_rejected_reviews_waits_for_any_official_rejection() {
    for kind in [ForgeKind::Gitea, ForgeKind::Forgejo] {
        for block in [false, true] {
            let mut p = ProtectionSpec::new("main").contexts(&[CI]).approvals(2);
            if block {
                p = p.block_on_rejected_reviews();
            }
            // carol rejected an earlier commit; alice and bob approve the head.
            let s = queue_scenario_unprotected(kind)
                .protect(p)
                .pr(PullSpec::new(1).commits(2))
                .review(ReviewSpec::new(1, "carol", "REQUEST_CHANGES").commit("pr-1~1"));
            let s = approve(green(s, 1), 1);
            let w = World::start(kind, s).await;
            gitea_admin_bot(&w);
            let h = w.head(1);
            let r = w.tick().await;
            let ctx = format!("{kind} block_on_rejected_reviews={block}");
            if block {
                assert_eq!(decision_of(&r, 1), ("wait", "request_changes"), "{ctx}");
                let (m, rt) = route::merge(kind);
                assert!(
                    requests_to(&w.sim, m, rt).is_empty(),
                    "{ctx}: no attempt, no 405"
                );
                w.assert_mutations(&ctx, &[]);
            } else {
                assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{ctx}");
                w.assert_mutations(&ctx, &[merged(1, &h)]);
            }
            w.shutdown().await;
        }
    }
}

#[tokio::test]
async fn the_reviewer_roster_matches_logins_case_insensitively() {
    for kind in FLAVORS {
        let mut w = World::start(kind, ready(queue_scenario(kind), 1)).await;
        w.settings.reviewers = vec!["ALICE".into(), "Bob".into()];
        let h = w.head(1);
        let r = w.tick().await;
        assert_eq!(
            r.outcome,
            TickOutcome::Merged { pr: 1 },
            "{kind}: {:?}",
            decisions(&r)
        );
        w.assert_mutations("merged", &[merged(1, &h)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn min_approvals_is_a_floor_over_protection() {
    for kind in FLAVORS {
        for floor in [0, 1] {
            let s = queue_scenario_unprotected(kind)
                .protect(ProtectionSpec::new("main").contexts(&[CI]).approvals(0));
            let s = green(s.pr(PullSpec::new(1)), 1);
            let mut w = World::start(kind, s).await;
            w.settings.min_approvals = floor;
            // GitHub protection without a review rule does not say: the configured
            // queue.required_approvals stands in (0 here).
            w.settings.required_approvals_fallback = 0;
            let h = w.head(1);
            let r = w.tick().await;
            let ctx = format!("{kind} min_approvals={floor}");
            if floor == 0 {
                assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{ctx}");
                let d = r.decisions.iter().find(|d| d.pr.0 == 1).unwrap();
                assert!(
                    d.reason.text().contains("no approval required"),
                    "{ctx}: {}",
                    d.reason.text()
                );
                w.assert_mutations(&ctx, &[merged(1, &h)]);
            } else {
                assert_eq!(
                    decision_of(&r, 1),
                    ("wait", "insufficient_approvals"),
                    "{ctx}"
                );
                assert_eq!(r.required_approvals, 1, "{ctx}");
                w.assert_mutations(&ctx, &[]);
            }
            w.shutdown().await;
        }
    }
}

// ------------------------------------------------------------------ 6. the bot's own permission

#[tokio::test]
async fn a_403_merge_refusal_is_the_bots_problem_not_the_authors() {
    for kind in FLAVORS {
        let s = ready(ready(queue_scenario(kind), 1), 2)
            .fault(fault(route::merge(kind), http(403, None)).nth(1));
        let w = World::start(kind, s).await;
        let err = w.try_tick(false).await.expect_err("exit 3");
        assert_eq!(err.exit_code(), ExitCode::Auth, "{kind}: {err}");
        assert!(
            err.to_string().contains("token may not merge #1"),
            "{kind}: {err}"
        );
        w.assert_mutations("no hold, no comment", &[]);
        w.shutdown().await;
    }
}

/// `main` protected as in every story, with a Gitea merge whitelist of `who`.
fn whitelisted(kind: ForgeKind, who: &[&str]) -> mergeward::sim::Scenario {
    queue_scenario_unprotected(kind).protect(ProtectionSpec {
        merge_whitelist: Some(who.iter().map(|w| w.to_string()).collect()),
        ..ProtectionSpec::new("main").contexts(&[CI]).approvals(2)
    })
}

#[tokio::test]
async fn a_merge_whitelist_without_the_bot_is_the_bots_problem_not_a_hold_per_pr() {
    // Gitea answers every merge with 405 then, PR after PR: the branch's user_can_merge
    // says so before any merge is tried.
    for kind in [ForgeKind::Gitea, ForgeKind::Forgejo] {
        let w = World::start(
            kind,
            ready(ready(whitelisted(kind, &["release-manager"]), 1), 2),
        )
        .await;
        let err = w.try_tick(false).await.expect_err("exit 3");
        assert_eq!(err.exit_code(), ExitCode::Auth, "{kind}: {err}");
        assert!(
            err.to_string().contains("may not merge #1 into main"),
            "{kind}: {err}"
        );
        assert!(err.to_string().contains("merge whitelist"), "{kind}: {err}");
        if kind == ForgeKind::Gitea {
            insta::assert_snapshot!("merge_whitelist_error", format!("{err}"));
        }
        w.assert_mutations("no merge, no hold, no comment", &[]);
        w.shutdown().await;
        // The legitimate counterpart: the bot on the whitelist (any case) merges.
        let w = World::start(kind, ready(whitelisted(kind, &["Bot"]), 1)).await;
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{kind}");
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_missing_hold_label_ends_the_tick_instead_of_asking_the_author() {
    // GitHub creates a label on first use; Gitea refuses unknown label names.
    for kind in [ForgeKind::Gitea, ForgeKind::Forgejo] {
        let s = queue_scenario(kind);
        let s = mergeward::sim::Scenario {
            labels: s.labels.into_iter().filter(|l| l.name != HOLD).collect(),
            ..s
        };
        let s = ready_spec(s, PullSpec::new(1).behind().conflict());
        let w = World::start(kind, s).await;
        let err = w
            .try_tick(false)
            .await
            .expect_err("the hold cannot be applied");
        let msg = err.to_string();
        assert!(msg.contains("hold label is missing"), "{kind}: {msg}");
        assert!(msg.contains("forge check --fix"), "{kind}: {msg}");
        w.assert_mutations("no comment asking anyone for a label", &[]);
        w.shutdown().await;
    }
}

// ------------------------------------------------------------------ 7. crash recovery

/// A `queue tick` run that died after recording the intent of `kind` on PR `n`.
async fn killed_run(w: &World, kind: EffectKind, n: u64, head: &str, disc: &str) -> String {
    let run = w
        .ledger
        .start_run(&NewRun::new("queue tick", w.kind.as_str(), REPO, "main"))
        .await
        .unwrap();
    let base = w.main_head();
    let e = NewEffect {
        run_id: run.id.clone(),
        decision_id: None,
        subject: format!("pr:{n}"),
        kind,
        head_sha: Some(head.to_string()),
        base_sha: Some(base),
        discriminator: disc.to_string(),
        payload: serde_json::json!({ "discriminator": disc }),
    };
    w.ledger.record_intent(&e).await.unwrap();
    run.id
}

#[tokio::test]
async fn a_killed_run_is_marked_crashed_and_its_open_effects_resolved_from_the_forge() {
    for kind in FLAVORS {
        for merged_on_forge in [true, false] {
            let w = World::start(kind, ready(queue_scenario(kind), 1)).await;
            let h = w.head(1);
            let dead = killed_run(&w, EffectKind::Merge, 1, &h, "merge").await;
            if merged_on_forge {
                // The merge reached the forge before the process died.
                w.sim.with_state(|s| {
                    s.do_merge(1, "merge", "t", "m", "bot");
                });
                w.sim.take_mutations();
            }
            let r = w.tick().await;
            let ctx = format!("{kind} merged on the forge: {merged_on_forge}");
            let run = w.ledger.run(&dead).await.unwrap().unwrap();
            assert_eq!(run.state, RunState::Crashed, "{ctx}");
            let detail = w.ledger.show(&dead).await.unwrap().unwrap();
            let outcome = detail.effects[0].outcome;
            assert!(
                r.notes.iter().any(|n| n.starts_with("recovered:")),
                "{ctx}: {:?}",
                r.notes
            );
            if merged_on_forge {
                assert_eq!(outcome, Some(OutcomeKind::Committed), "{ctx}");
                w.assert_mutations(&ctx, &[]);
            } else {
                // Not done: recorded as failed, and this tick merges it for real.
                assert_eq!(outcome, Some(OutcomeKind::Failed), "{ctx}");
                assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{ctx}");
                w.assert_mutations(&ctx, &[merged(1, &h)]);
            }
            w.shutdown().await;
        }
    }
}

#[tokio::test]
async fn a_merge_the_ledger_holds_as_done_is_never_reported_as_a_fresh_merge() {
    for kind in FLAVORS {
        let w = World::start(kind, ready(queue_scenario(kind), 1)).await;
        let h = w.head(1);
        // An earlier run committed the merge of this head on this base, yet the forge still
        // shows the PR open (a lost or undone merge): never merge it again, never say
        // "merged".
        let run = killed_run(&w, EffectKind::Merge, 1, &h, "merge").await;
        let detail = w.ledger.show(&run).await.unwrap().unwrap();
        w.ledger
            .record_outcome(
                &detail.effects[0].id,
                &mergeward::ledger::Outcome::Committed,
            )
            .await
            .unwrap();
        let r = w.tick().await;
        assert_ne!(r.outcome, TickOutcome::Merged { pr: 1 }, "{kind}");
        assert_eq!(r.exit_code(), ExitCode::CouldNotDecide, "{kind}");
        assert!(
            r.actions
                .iter()
                .any(|a| a.kind == "merge" && a.outcome == "replayed"),
            "{kind}: {:?}",
            r.actions
        );
        let (m, rt) = route::merge(kind);
        assert!(
            requests_to(&w.sim, m, rt).is_empty(),
            "{kind}: no merge sent"
        );
        w.assert_mutations("nothing", &[]);
        w.shutdown().await;
    }
}

// ------------------------------------------------------------------ 8. fair serial order

#[tokio::test]
async fn after_a_merge_the_oldest_behind_pr_is_updated_in_the_same_tick() {
    for kind in FLAVORS {
        let s = ready_spec(queue_scenario(kind), PullSpec::new(1).behind());
        let s = ready(s, 2);
        let w = World::start(kind, s).await;
        let (h1, h2) = (w.head(1), w.head(2));
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 2 }, "{kind}");
        w.assert_mutations(
            "merge #2, then update #1 onto the new main",
            &[
                merged(2, &h2),
                updated(1, &h1),
                commented(1, "updated this branch"),
            ],
        );
        // #1 now contains the merge of #2: up to date, not behind.
        assert!(!w.sim.with_state(|s| s.is_behind(1)), "{kind}");
        w.shutdown().await;
    }
}

#[tokio::test]
async fn after_a_merge_a_conflicting_behind_pr_is_held_and_the_next_one_updated() {
    for kind in FLAVORS {
        let s = ready_spec(queue_scenario(kind), PullSpec::new(1).behind().conflict());
        let s = ready_spec(s, PullSpec::new(2).behind());
        let s = ready(s, 3);
        let w = World::start(kind, s).await;
        let (h2, h3) = (w.head(2), w.head(3));
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 3 }, "{kind}");
        let why = match kind {
            ForgeKind::GitHub => "the forge refused to update the branch (HTTP 422)",
            _ => "conflicts (HTTP 409)",
        };
        w.assert_mutations(
            "merge #3, hold #1, update #2",
            &[
                merged(3, &h3),
                labeled(1, HOLD),
                commented(1, why),
                updated(2, &h2),
                commented(2, "updated this branch"),
            ],
        );
        w.shutdown().await;
    }
}

// ------------------------------------------------------------------ 9. trusted status creators

#[tokio::test]
async fn a_required_status_counts_only_from_a_trusted_creator_when_configured() {
    for kind in FLAVORS {
        for poster in ["ci-bot", "mallory"] {
            let s = queue_scenario(kind).user(
                "mallory",
                "tok-mallory",
                mergeward::sim::Permission::Write,
            );
            let s = approve(s.pr(PullSpec::new(1)), 1)
                .status(StatusSpec::pr(1, CI, "success").creator(poster));
            let mut w = World::start(kind, s).await;
            w.settings.trusted_status_creators = vec!["CI-Bot".into()];
            let h = w.head(1);
            let r = w.tick().await;
            let ctx = format!("{kind} posted by {poster}");
            if poster == "ci-bot" {
                assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{ctx}");
                w.assert_mutations(&ctx, &[merged(1, &h)]);
            } else {
                assert_eq!(decision_of(&r, 1), ("wait", "required_not_green"), "{ctx}");
                let d = r.decisions.iter().find(|d| d.pr.0 == 1).unwrap();
                assert!(d.reason.text().contains("untrusted_creator"), "{ctx}");
                w.assert_mutations(&ctx, &[]);
            }
            w.shutdown().await;
        }
    }
}

// ------------------------------------------------------------------ a lost ledger (issue 13.5)

#[tokio::test]
async fn losing_the_ledger_never_repeats_a_comment() {
    for kind in FLAVORS {
        let s = queue_scenario(kind).pr(PullSpec::new(1).fork("someone/widgets"));
        let mut w = World::start(kind, s).await;
        w.tick().await;
        let got = w.sim.take_mutations();
        let [mergeward::sim::Mutation::Commented { pr: 1, body }] = got.as_slice() else {
            panic!("{kind}: one skip comment expected: {got:?}");
        };
        assert!(body.contains("<!-- mergeward:effect "), "{kind}: {body}");
        // The CI cache holding the ledger is gone: a fresh, empty ledger.
        let dir = tempfile::tempdir().unwrap();
        let fresh = mergeward::ledger::Ledger::open(&dir.path().join("l.db").display().to_string())
            .await
            .unwrap();
        let old = std::mem::replace(&mut w.ledger, fresh);
        old.close().await;
        let r = w.tick().await;
        assert!(
            r.actions
                .iter()
                .any(|a| a.kind == "comment" && a.outcome == "replayed"),
            "{kind}: {:?}",
            r.actions
        );
        w.assert_mutations("the forge's marker says it was posted", &[]);
        w.shutdown().await;
    }
}

// ------------------------------------------------------------------ GitHub: who can approve

#[tokio::test]
async fn github_counts_no_approval_from_a_reviewer_without_write_access() {
    let kind = ForgeKind::GitHub;
    // alice (write) and dave (read: GitHub calls him a CONTRIBUTOR) approve; 2 are needed.
    let s = green(queue_scenario(kind).pr(PullSpec::new(1)), 1)
        .review(ReviewSpec::new(1, "alice", "APPROVED"))
        .review(ReviewSpec::new(1, "dave", "APPROVED"));
    let w = World::start(kind, s).await;
    let r = w.tick().await;
    assert_eq!(
        decision_of(&r, 1),
        ("wait", "insufficient_approvals"),
        "{:?}",
        r.decisions
    );
    w.assert_mutations("no merge on a reader's approval", &[]);
    // bob (write) approves too: now it merges.
    let h = w.head(1);
    w.sim.with_state(|s| {
        s.add_review(1, "bob", "APPROVED");
    });
    let r = w.tick().await;
    assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 });
    w.assert_mutations("merged", &[merged(1, &h)]);
    w.shutdown().await;
}
