//! The queue when the forge says no, or cannot answer: holds on permanent refusals
//! (classified by HTTP status, never by message text), fail-closed reads, unusable branch
//! protection, a red base branch, and the latest status by id rather than list order.
//! Each story on Gitea and GitHub where the behaviour exists on both; each ends by
//! asserting every mutation the simulator recorded.

use crate::common;

use common::queue::*;
use common::*;
use mergeward::error::ExitCode;
use mergeward::forge::ForgeKind;
use mergeward::ledger::Action as LAction;
use mergeward::queue::tick::TickOutcome;
use mergeward::sim::{CallMatch, FaultAction, Permission, ProtectionSpec, PullSpec, StatusSpec};

#[tokio::test]
async fn a_permanent_merge_refusal_holds_the_pr_and_the_queue_moves_on() {
    for kind in FLAVORS {
        // (403 is the token's own problem: tests/queue/fail_closed.rs.)
        for code in [404, 405] {
            let s = ready(ready(queue_scenario(kind), 1), 2)
                .fault(fault(route::merge(kind), http(code, None)).nth(1));
            let w = World::start(kind, s).await;
            let h2 = w.head(2);
            let r = w.tick().await;
            let ctx = format!("{kind} HTTP {code}");
            assert_eq!(r.outcome, TickOutcome::Merged { pr: 2 }, "{ctx}");
            assert_eq!(r.exit_code(), ExitCode::Success, "{ctx}");
            w.assert_mutations(
                &format!("HTTP {code}: hold #1, merge #2"),
                &[
                    labeled(1, HOLD),
                    commented(1, &format!("the forge refused the merge (HTTP {code})")),
                    merged(2, &h2),
                ],
            );
            let chain = w.explain(1).await;
            assert_eq!(chain[0].action, LAction::Hold, "{ctx}: {chain:?}");
            assert_eq!(chain[0].reason_code.as_str(), "merge_refused", "{ctx}");
            // Held: the next tick skips it and sends nothing.
            let r = w.tick().await;
            assert_eq!(decision_of(&r, 1), ("skip", "opt_out"), "{ctx}");
            w.assert_mutations("nothing on the next tick", &[]);
            w.shutdown().await;
        }
    }
}

#[tokio::test]
async fn a_bot_that_may_not_merge_ends_the_tick_with_exit_3_and_tells_no_pr() {
    for kind in FLAVORS {
        let w = World::start(kind, ready(queue_scenario(kind), 1)).await;
        w.sim.with_state(|s| {
            let bot = s.users.iter_mut().find(|u| u.login == "bot").unwrap();
            bot.permission = Permission::Read;
        });
        // Gitea answers 405 to a reader, GitHub 403: either way the bot lacks a
        // permission, which is the operator's to fix, not the author's.
        let err = w.try_tick(false).await.expect_err("the tick must fail");
        assert_eq!(err.exit_code(), ExitCode::Auth, "{kind}: {err}");
        let msg = err.to_string();
        assert!(msg.contains("token may not merge #1"), "{kind}: {msg}");
        // Gitea's 405 is read as the token's because the repository says push=false;
        // GitHub's 403 is the token's by itself.
        let why = if kind == ForgeKind::GitHub {
            "HTTP 403"
        } else {
            "push=false"
        };
        assert!(msg.contains(why), "{kind}: {msg}");
        // No hold, no comment: nothing the author could act on.
        w.assert_mutations("nothing sent to the PR", &[]);
        let chain = w.explain(1).await;
        assert!(
            chain.iter().all(|d| d.action != LAction::Hold),
            "{kind}: {chain:?}"
        );
        // The next tick says the same, and still tells no one.
        let err = w.try_tick(false).await.expect_err("still failing");
        assert_eq!(err.exit_code(), ExitCode::Auth, "{kind}");
        w.assert_mutations("tick 2 sends nothing", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn an_update_conflict_holds_the_pr_and_the_queue_keeps_scanning() {
    for kind in FLAVORS {
        let s = ready_spec(queue_scenario(kind), PullSpec::new(1).behind().conflict());
        let s = ready_spec(s, PullSpec::new(2).behind().conflict());
        let s = ready_spec(s, PullSpec::new(3).behind());
        let w = World::start(kind, s).await;
        let h3 = w.head(3);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Updated { pr: 3 }, "{kind}");
        // Gitea answers 409 (conflict); GitHub 422 (refused).
        let why = match kind {
            ForgeKind::GitHub => "the forge refused to update the branch (HTTP 422)",
            _ => "conflicts (HTTP 409)",
        };
        w.assert_mutations(
            "hold 1 and 2, update 3",
            &[
                labeled(1, HOLD),
                commented(1, why),
                labeled(2, HOLD),
                commented(2, why),
                updated(3, &h3),
                commented(3, "updated this branch"),
            ],
        );
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1), ("skip", "opt_out"), "{kind}");
        assert_eq!(decision_of(&r, 2), ("skip", "opt_out"), "{kind}");
        w.assert_mutations("nothing on the next tick", &[]);
        w.shutdown().await;
    }
}

/// A body that names every status the original matched in message text.
const TRAP: &str = "{\"message\":\"internal error on /pulls/1409 (HTTP 403 404 405) -> HTTP 409\"}";

#[tokio::test]
async fn an_http_500_on_merge_is_not_a_refusal_even_for_pr_1409() {
    for kind in FLAVORS {
        let s = ready(queue_scenario(kind), 1409)
            .fault(fault(route::merge(kind), http(500, Some(TRAP))));
        let w = World::start(kind, s).await;
        let r = w.tick().await;
        assert_eq!(r.exit_code(), ExitCode::CouldNotDecide, "{kind}");
        assert_eq!(
            r.unevaluated.iter().map(|u| u.pr).collect::<Vec<_>>(),
            vec![1409],
            "{kind}"
        );
        assert!(w.labels(1409).is_empty(), "{kind}");
        w.assert_mutations("not held, not merged", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn an_http_500_on_update_is_not_a_conflict_even_for_pr_1409() {
    for kind in FLAVORS {
        let s = ready_spec(queue_scenario(kind), PullSpec::new(1409).behind())
            .fault(fault(route::update(kind), http(500, Some(TRAP))));
        let w = World::start(kind, s).await;
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1409), ("update", "behind"), "{kind}");
        assert_eq!(r.exit_code(), ExitCode::CouldNotDecide, "{kind}");
        assert!(w.labels(1409).is_empty(), "{kind}");
        w.assert_mutations("not held, not updated", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_pr_whose_statuses_or_reviews_cannot_be_read_never_merges() {
    for kind in FLAVORS {
        for (what, f) in [
            (
                "statuses 502",
                fault(route::statuses(kind), http(502, None)),
            ),
            (
                "reviews malformed",
                fault(route::reviews(kind), FaultAction::MalformedJson),
            ),
            (
                "commits not a list",
                fault(route::commits(kind), FaultAction::NonArrayPage),
            ),
        ] {
            let ctx = format!("{kind} {what}");
            // Behind, so that the PR's commits are read too.
            let s = ready_spec(queue_scenario(kind), PullSpec::new(1).behind());
            let w = World::start(kind, s.fault(f)).await;
            let r = w.tick().await;
            assert_eq!(r.exit_code(), ExitCode::CouldNotDecide, "{ctx}");
            assert_eq!(r.unevaluated.len(), 1, "{ctx}");
            assert_eq!(r.unevaluated[0].pr, 1, "{ctx}");
            assert!(r.decisions.is_empty(), "{ctx}");
            assert!(w.explain(1).await.is_empty(), "{ctx}: no decision recorded");
            w.assert_mutations(&ctx, &[]);
            w.shutdown().await;
        }
    }
}

#[tokio::test]
async fn an_unreadable_pr_does_not_stop_a_ready_one_but_the_tick_could_not_decide() {
    for kind in FLAVORS {
        // The first status read (and its one retry) fail: that is PR 1's.
        let s = ready(ready(queue_scenario(kind), 1), 2)
            .fault(fault(route::statuses(kind), http(502, None)).calls(CallMatch::Range(1, 2)));
        let mut w = World::start(kind, s).await;
        w.settings.window = 1;
        let h2 = w.head(2);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 2 }, "{kind}");
        assert_eq!(r.unevaluated[0].pr, 1, "{kind}");
        assert_eq!(r.exit_code(), ExitCode::CouldNotDecide, "{kind}");
        w.assert_mutations("only the evaluated PR merges", &[merged(2, &h2)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn unusable_branch_protection_holds_the_whole_tick() {
    for kind in FLAVORS {
        let cases: Vec<(&str, mergeward::sim::Scenario)> = vec![
            (
                "branch read 503",
                ready(queue_scenario(kind), 1).fault(fault(route::branch(kind), http(503, None))),
            ),
            (
                "branch read malformed",
                ready(queue_scenario(kind), 1)
                    .fault(fault(route::branch(kind), FaultAction::MalformedJson)),
            ),
            (
                "status checks without contexts",
                ready(queue_scenario_unprotected(kind), 1).protect(
                    ProtectionSpec::new("main")
                        .enable_status_check(true)
                        .approvals(2),
                ),
            ),
            (
                "no required contexts at all",
                ready(queue_scenario_unprotected(kind), 1)
                    .protect(ProtectionSpec::new("main").approvals(2)),
            ),
        ];
        for (what, s) in cases {
            let ctx = format!("{kind} {what}");
            let w = World::start(kind, s).await;
            let err = w.try_tick(false).await.expect_err(&ctx);
            assert_eq!(err.exit_code(), ExitCode::CouldNotDecide, "{ctx}: {err}");
            let runs = w.ledger.runs(5).await.unwrap();
            assert_eq!(runs.len(), 1, "{ctx}");
            assert_eq!(runs[0].state, mergeward::ledger::RunState::Failed, "{ctx}");
            assert_only_reads(&w.sim, &ctx);
            w.assert_mutations(&ctx, &[]);
            w.shutdown().await;
        }
    }
}

#[tokio::test]
async fn a_red_base_branch_pauses_the_queue() {
    for kind in FLAVORS {
        let s = ready(queue_scenario(kind), 1).status(StatusSpec::branch(
            "main",
            "CI / all (push)",
            "failure",
        ));
        let mut w = World::start(kind, s).await;
        w.settings.push_required_contexts = vec!["CI / all (push)".into()];
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Paused, "{kind}");
        assert!(r.decisions.is_empty(), "{kind}");
        w.assert_mutations("paused", &[]);
        let main = w.main_head();
        w.sim
            .with_state(|s| s.add_status(&main, "CI / all (push)", "success"));
        let head = w.head(1);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{kind}");
        w.assert_mutations("green again", &[merged(1, &head)]);
        w.shutdown().await;
    }
}

/// Gives the two status rows each other's ids (the simulator keeps its rows in creation
/// order; Gitea lists them newest-created first, GitHub in reverse creation order).
fn swap_ids(w: &World, a: u64, b: u64) {
    w.sim.with_state(|s| {
        for st in s.statuses.iter_mut() {
            if st.id == a {
                st.id = b;
            } else if st.id == b {
                st.id = a;
            }
        }
    });
}

#[tokio::test]
async fn the_latest_status_is_the_one_with_the_highest_id_not_the_first_listed() {
    for kind in FLAVORS {
        // The list shows `success` first, but the row with the highest id says `failure`.
        let w = World::start(kind, approve(queue_scenario(kind).pr(PullSpec::new(1)), 1)).await;
        let head = w.head(1);
        let (fail, ok) = w.sim.with_state(|s| {
            (
                s.add_status(&head, CI, "failure"),
                s.add_status(&head, CI, "success"),
            )
        });
        swap_ids(&w, fail, ok);
        let listed = w.forge_statuses_first(&head).await;
        assert_eq!(listed, "success", "{kind}: the list shows success first");
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1), ("wait", "required_not_green"), "{kind}");
        w.assert_mutations("no merge on a failed latest", &[]);
        w.shutdown().await;
    }
    // Gitea sorts by creation time: a newer-created row can carry a lower id. The row
    // with the highest id says `success` (as the forge itself sees it): the PR merges.
    let kind = ForgeKind::Gitea;
    let w = World::start(kind, approve(queue_scenario(kind).pr(PullSpec::new(1)), 1)).await;
    let head = w.head(1);
    w.sim.with_state(|s| {
        let fail = s.add_status(&head, CI, "failure");
        s.add_status(&head, CI, "success");
        let later = s.now() + chrono::Duration::hours(1);
        let row = s.statuses.iter_mut().find(|x| x.id == fail).unwrap();
        row.created_at = later;
        row.updated_at = later;
    });
    assert_eq!(w.forge_statuses_first(&head).await, "failure");
    let r = w.tick().await;
    assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{kind}");
    w.assert_mutations("merged on the latest success", &[merged(1, &head)]);
    w.shutdown().await;
}

#[tokio::test]
async fn a_pr_requeued_without_a_fix_is_held_again_without_a_second_comment() {
    for kind in FLAVORS {
        let s = ready(queue_scenario(kind), 1).fault(fault(route::merge(kind), http(405, None)));
        let w = World::start(kind, s).await;
        w.tick().await;
        w.assert_mutations(
            "held",
            &[
                labeled(1, HOLD),
                commented(1, "the forge refused the merge (HTTP 405)"),
            ],
        );
        // A human removes the label without fixing anything.
        w.sim.with_state(|s| {
            let id = s.label_by_name(HOLD).unwrap().id;
            s.pr_mut(1).labels.retain(|l| *l != id);
        });
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Held, "{kind}");
        w.assert_mutations("held again, no second comment", &[labeled(1, HOLD)]);
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1), ("skip", "opt_out"), "{kind}");
        w.assert_mutations("then skipped", &[]);
        w.shutdown().await;
    }
}
