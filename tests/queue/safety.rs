//! Merge safety: what moved between evaluation and merge is never merged, one base-moving
//! action per tick, `--dry-run` sends nothing but records decisions marked dry-run,
//! `queue status` reads only, and ticks are idempotent. Gitea and GitHub.

use crate::common;

use std::time::Duration;

use common::queue::*;
use common::*;
use mergeward::error::ExitCode;
use mergeward::queue::tick::TickOutcome;
use mergeward::sim::{CallMatch, FaultAction, PullSpec};

/// Polls until the ledger holds a decision for PR `n` (the tick has evaluated it and is
/// about to act).
async fn evaluated(w: &World, n: u64) {
    for _ in 0..2000 {
        if !w.explain(n).await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("#{n} was never evaluated");
}

#[tokio::test]
async fn the_base_moving_between_evaluation_and_merge_defers_the_merge() {
    for kind in FLAVORS {
        // The pre-merge re-read of main (its third read this tick on Gitea; its second on
        // GitHub, whose protection read already returned the head) is slow; meanwhile
        // someone pushes to main.
        let nth = if kind == mergeward::forge::ForgeKind::GitHub {
            2
        } else {
            3
        };
        let s = ready(queue_scenario(kind), 1).fault(
            fault(route::branch(kind), FaultAction::Delay { ms: 400 }).calls(CallMatch::From(nth)),
        );
        let w = World::start(kind, s).await;
        let head = w.head(1);
        let push = async {
            evaluated(&w, 1).await;
            w.sim.with_state(|s| s.push_commit("main"));
        };
        let (r, ()) = tokio::join!(w.tick(), push);
        assert_eq!(r.outcome, TickOutcome::Deferred { pr: 1 }, "{kind}");
        assert_eq!(r.exit_code(), ExitCode::Success, "{kind}");
        let (m, rt) = route::merge(kind);
        assert!(
            requests_to(&w.sim, m, rt).is_empty(),
            "{kind}: no merge request"
        );
        w.assert_mutations("deferred", &[]);
        // Next tick: the PR is behind the new main and is brought up to date.
        w.sim.clear_faults();
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Updated { pr: 1 }, "{kind}");
        w.assert_mutations(
            "updated",
            &[updated(1, &head), commented(1, "updated this branch")],
        );
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_head_pushed_before_the_merge_is_never_merged() {
    for kind in FLAVORS {
        // The pre-merge re-read of the PR sees a new push (GitHub also read it once to
        // evaluate).
        let nth = if kind == mergeward::forge::ForgeKind::GitHub {
            2
        } else {
            1
        };
        let s = ready(queue_scenario(kind), 1)
            .fault(fault(route::pull(kind), FaultAction::MoveHead { pr: 1 }).nth(nth));
        let w = World::start(kind, s).await;
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Deferred { pr: 1 }, "{kind}");
        let (m, rt) = route::merge(kind);
        assert!(
            requests_to(&w.sim, m, rt).is_empty(),
            "{kind}: no merge request"
        );
        w.assert_mutations("deferred", &[]);
        // The new head has no CI and no approvals: it waits.
        let r = w.tick().await;
        assert_eq!(
            decision_of(&r, 1),
            ("wait", "insufficient_approvals"),
            "{kind}"
        );
        w.assert_mutations("waits", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_head_pushed_during_the_merge_call_is_refused_by_the_pin_and_not_held() {
    for kind in FLAVORS {
        let s = ready(queue_scenario(kind), 1)
            .fault(fault(route::merge(kind), FaultAction::MoveHead { pr: 1 }).nth(1));
        let w = World::start(kind, s).await;
        let evaluated_head = w.head(1);
        let r = w.tick().await;
        let (m, rt) = route::merge(kind);
        let sent = requests_to(&w.sim, m, rt);
        assert_eq!(sent.len(), 1, "{kind}");
        let body = sent[0].body.clone().unwrap_or_default();
        let pinned = body
            .get("head_commit_id")
            .or_else(|| body.get("sha"))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        assert_eq!(
            pinned, evaluated_head,
            "{kind}: pinned to the evaluated head"
        );
        assert_eq!(r.outcome, TickOutcome::Deferred { pr: 1 }, "{kind}: {r:?}");
        assert!(w.labels(1).is_empty(), "{kind}: not held");
        w.assert_mutations("nothing merged, nothing held", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_merge_with_an_unknown_outcome_ends_the_tick() {
    for kind in FLAVORS {
        let s = ready(ready(queue_scenario(kind), 1), 2)
            .pr(PullSpec::new(3).behind())
            .fault(fault(route::merge(kind), http(502, None)).nth(1));
        let w = World::start(kind, approve(s, 3)).await;
        let r = w.tick().await;
        assert_eq!(r.exit_code(), ExitCode::CouldNotDecide, "{kind}");
        let (m, rt) = route::merge(kind);
        assert_eq!(
            requests_to(&w.sim, m, rt).len(),
            1,
            "{kind}: one merge attempt"
        );
        let (m, rt) = route::update(kind);
        assert!(requests_to(&w.sim, m, rt).is_empty(), "{kind}: no update");
        w.assert_mutations("nothing", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_merge_whose_answer_was_lost_is_checked_on_the_forge_and_sent_once() {
    for kind in FLAVORS {
        // The first merge request never gets an answer: its outcome is unknown.
        let s = ready(queue_scenario(kind), 1)
            .fault(fault(route::merge(kind), FaultAction::Hang).nth(1));
        let w =
            World::start_with(kind, s, |h| h.request_timeout = Duration::from_millis(300)).await;
        let head = w.head(1);
        let r = w.tick().await;
        assert!(
            r.actions
                .iter()
                .any(|a| a.kind == "merge" && a.outcome == "unknown"),
            "{kind}: {:?}",
            r.actions
        );
        assert_eq!(r.exit_code(), ExitCode::CouldNotDecide, "{kind}");
        w.assert_mutations("not merged", &[]);
        // The next tick reads the forge (not merged), records that, and only then merges.
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{kind}");
        assert_eq!(r.exit_code(), ExitCode::Success, "{kind}");
        w.assert_mutations("merged once", &[merged(1, &head)]);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Idle, "{kind}");
        w.assert_mutations("never resent", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn dry_run_sends_nothing_but_records_decisions_marked_dry_run() {
    for kind in FLAVORS {
        let s = queue_scenario(kind).branch("release", Some("main"), 1);
        let s = ready_spec(s, PullSpec::new(1).base("release"));
        let s = ready(s, 2);
        let s = ready_spec(s, PullSpec::new(3).behind());
        let mut w = World::start(kind, s).await;
        w.settings.post_status = true;
        let r = w.dry_tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 2 }, "{kind}");
        assert!(
            r.actions.iter().all(|a| a.outcome == "dry_run"),
            "{kind}: {:?}",
            r.actions
        );
        assert_only_reads(&w.sim, &format!("{kind} dry run"));
        w.assert_mutations("dry run", &[]);
        for n in [1, 2, 3] {
            let chain = w.explain(n).await;
            assert_eq!(chain.len(), 1, "{kind} #{n}");
            assert!(chain[0].dry_run, "{kind} #{n}");
        }
        // A real tick afterwards acts: the dry run consumed no idempotency key.
        let (h2, h3) = (w.head(2), w.head(3));
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 2 }, "{kind}");
        let chain = w.explain(2).await;
        assert!(!chain[0].dry_run && chain[1].dry_run, "{kind}: {chain:?}");
        w.assert_mutations(
            "real tick: merge #2, then #3 onto the result",
            &[
                commented(1, "the base branch is not `main`"),
                status(&h3, "pending"),
                merged(2, &h2),
                status(&h2, "success"),
                updated(3, &h3),
                commented(3, "updated this branch"),
            ],
        );
        w.shutdown().await;
    }
}

#[tokio::test]
async fn queue_status_evaluates_every_pr_and_records_and_sends_nothing() {
    for kind in FLAVORS {
        let s = queue_scenario(kind);
        let s = ready_spec(s, PullSpec::new(1).fork("mallory/widgets"));
        let s = ready(ready(s, 2), 3);
        let s = green(s.pr(PullSpec::new(4)), 4);
        let mut w = World::start(kind, s).await;
        w.settings.post_status = true;
        w.settings.window = 1;
        let r = w.status().await;
        assert!(r.not_evaluated.is_empty(), "{kind}: every PR is evaluated");
        assert_eq!(decision_of(&r, 1), ("skip", "fork"), "{kind}");
        assert_eq!(decision_of(&r, 2), ("merge", "ready"), "{kind}");
        assert_eq!(decision_of(&r, 3), ("merge", "ready"), "{kind}");
        assert_eq!(
            decision_of(&r, 4),
            ("wait", "insufficient_approvals"),
            "{kind}"
        );
        assert_eq!(r.outcome, TickOutcome::Idle, "{kind}");
        assert!(r.actions.is_empty(), "{kind}: {:?}", r.actions);
        assert_only_reads(&w.sim, &format!("{kind} status"));
        assert!(w.ledger.runs(5).await.unwrap().is_empty(), "{kind}");
        for n in 1..=4 {
            assert!(w.explain(n).await.is_empty(), "{kind} #{n}");
        }
        w.assert_mutations("status", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn the_same_tick_on_an_unchanged_state_sends_nothing_new() {
    for kind in FLAVORS {
        let s = queue_scenario(kind).branch("release", Some("main"), 1);
        let s = ready_spec(s, PullSpec::new(1).base("release"));
        let s = green(s.pr(PullSpec::new(2)), 2);
        let s = ready_spec(s, PullSpec::new(3).behind().conflict());
        let mut w = World::start(kind, s).await;
        w.settings.post_status = true;
        let h2 = w.head(2);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Held, "{kind}");
        w.assert_mutations(
            "tick 1",
            &[
                commented(1, "the base branch is not `main`"),
                status(&h2, "pending"),
                status(&w.head(3), "pending"),
                status(&w.head(3), "failure"),
                labeled(3, HOLD),
                commented(3, "holding this PR"),
            ],
        );
        // Tick 2: #3 is out of the queue, so #2 is now "1 of 1": its status changed once.
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Idle, "{kind}");
        w.assert_mutations("tick 2", &[status(&h2, "pending")]);
        let run2 = r.actions.len();
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Idle, "{kind}");
        assert!(
            r.actions.iter().all(|a| a.outcome == "replayed"),
            "{kind}: {:?} (tick 2 had {run2})",
            r.actions
        );
        w.assert_mutations("tick 3 on an unchanged queue", &[]);
        // The waiting PR's decision was reached again, not recorded twice.
        let chain = w.explain(2).await;
        assert_eq!(chain.len(), 1, "{kind}: {chain:?}");
        assert_eq!(
            chain[0].reuse_count, 2,
            "{kind}: reached again in ticks 2 and 3"
        );
        // The held PR: hold, then skipped for its label (a new decision superseding it).
        let chain = w.explain(3).await;
        let actions: Vec<_> = chain
            .iter()
            .map(|d| d.action.as_str().to_string())
            .collect();
        assert_eq!(
            chain[0].reason_code.as_str(),
            "opt_out",
            "{kind}: {actions:?}"
        );
        assert!(
            chain
                .iter()
                .any(|d| d.reason_code.as_str() == "update_conflict"
                    || d.reason_code.as_str() == "update_refused"),
            "{kind}: {actions:?}"
        );
        w.shutdown().await;
    }
}

#[tokio::test]
async fn an_opt_out_label_added_after_the_listing_stops_the_merge() {
    for kind in FLAVORS {
        // The pre-merge re-read of main is slow (main's third read on Gitea, its second on
        // GitHub, whose protection read returns the head); meanwhile someone labels the PR.
        let nth = if kind == mergeward::forge::ForgeKind::GitHub {
            2
        } else {
            3
        };
        let s = ready(queue_scenario(kind), 1)
            .label("do-not-auto-merge", "ededed")
            .fault(
                fault(route::branch(kind), FaultAction::Delay { ms: 400 })
                    .calls(CallMatch::From(nth)),
            );
        let w = World::start(kind, s).await;
        let label = async {
            evaluated(&w, 1).await;
            w.sim.with_state(|s| {
                let id = s.label_by_name("do-not-auto-merge").unwrap().id;
                s.pr_mut(1).labels.push(id);
            });
        };
        let (r, ()) = tokio::join!(w.tick(), label);
        assert_ne!(r.outcome, TickOutcome::Merged { pr: 1 }, "{kind}: {r:?}");
        let (m, rt) = route::merge(kind);
        assert!(
            requests_to(&w.sim, m, rt).is_empty(),
            "{kind}: no merge request"
        );
        w.assert_mutations("not merged", &[]);
        w.sim.clear_faults();
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1), ("skip", "opt_out"), "{kind}");
        w.assert_mutations("skipped", &[]);
        w.shutdown().await;
    }
}
