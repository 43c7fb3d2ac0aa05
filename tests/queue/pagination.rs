//! Pagination in anger: every list the queue reads is read to the end, and a page that
//! cannot be read makes the tick could-not-decide instead of a partial (green-looking)
//! answer. Gitea and GitHub, with the clients' default page sizes.

use crate::common;

use common::queue::*;
use common::*;
use mergeward::error::ExitCode;
use mergeward::forge::ForgeKind;
use mergeward::queue::tick::TickOutcome;
use mergeward::sim::{CallMatch, PullSpec, ReviewSpec, Scenario, StatusSpec};

/// Items per page the client asks for (and the simulator serves).
fn page(kind: ForgeKind) -> usize {
    match kind {
        ForgeKind::GitHub => 100,
        _ => 50,
    }
}

/// PR 1, approved; its only `CI` row is the oldest status, followed by two pages and a bit
/// of newer (green, non-required) rows: newest first, `CI = success` is on page 3.
fn ci_on_page_three(kind: ForgeKind) -> Scenario {
    approve(queue_scenario(kind).pr(PullSpec::new(1)), 1)
        .status(StatusSpec::pr(1, CI, "success"))
        .status(StatusSpec::pr(1, "other/{n}", "success").count(2 * page(kind) + 5))
}

fn status_pages_read(w: &World) -> Vec<String> {
    let (m, r) = route::statuses(w.kind);
    requests_to(&w.sim, m, r)
        .iter()
        .map(|q| query_value(q, "page").unwrap_or_else(|| "1".into()))
        .collect()
}

#[tokio::test]
async fn a_required_success_on_the_third_status_page_merges() {
    for kind in FLAVORS {
        let w = World::start(kind, ci_on_page_three(kind)).await;
        let head = w.head(1);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{kind}");
        assert_eq!(r.exit_code(), ExitCode::Success, "{kind}");
        assert!(
            status_pages_read(&w).contains(&"3".to_string()),
            "{kind}: {:?}",
            status_pages_read(&w)
        );
        w.assert_mutations("merged", &[merged(1, &head)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_502_on_the_third_status_page_beyond_the_retry_budget_does_not_merge() {
    for kind in FLAVORS {
        let (m, r) = route::statuses(kind);
        let s = ci_on_page_three(kind).fault(fault((m, r), http(502, None)).query("page", "3"));
        let w = World::start(kind, s).await;
        let rep = w.tick().await;
        assert_eq!(rep.exit_code(), ExitCode::CouldNotDecide, "{kind}");
        assert_eq!(rep.outcome, TickOutcome::Idle, "{kind}");
        assert_eq!(rep.unevaluated.len(), 1, "{kind}");
        assert!(rep.decisions.is_empty(), "{kind}");
        // One attempt and the one retry the client allows.
        let third = status_pages_read(&w).iter().filter(|p| *p == "3").count();
        assert_eq!(third, 2, "{kind}");
        w.assert_mutations("nothing merged", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_502_on_the_third_status_page_within_the_retry_budget_merges() {
    for kind in FLAVORS {
        let (m, r) = route::statuses(kind);
        let s =
            ci_on_page_three(kind).fault(fault((m, r), http(502, None)).query("page", "3").nth(1));
        let w = World::start(kind, s).await;
        let head = w.head(1);
        let rep = w.tick().await;
        assert_eq!(rep.outcome, TickOutcome::Merged { pr: 1 }, "{kind}");
        assert_eq!(rep.exit_code(), ExitCode::Success, "{kind}");
        w.assert_mutations("merged after a retry", &[merged(1, &head)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_ready_pr_on_page_2_of_75_open_prs_is_found_and_merged() {
    for kind in FLAVORS {
        // The simulator serves at most 50 per page, whatever the client asks for.
        let mut s = queue_scenario(kind).paging(30, 50);
        for n in 1..=75 {
            s = if n == 60 {
                ready(s, n)
            } else {
                green(s.pr(PullSpec::new(n)), n)
            };
        }
        let w = World::start(kind, s).await;
        let head = w.head(60);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 60 }, "{kind}");
        for n in 1..60 {
            assert_eq!(
                decision_of(&r, n),
                ("wait", "insufficient_approvals"),
                "{kind} #{n}"
            );
        }
        // Evaluated in windows of 4: nothing after #60's window is read.
        assert_eq!(r.not_evaluated, (61..=75).collect::<Vec<u64>>(), "{kind}");
        let (m, rt) = route::pulls(kind);
        let pages: Vec<String> = requests_to(&w.sim, m, rt)
            .iter()
            .filter_map(|q| query_value(q, "page"))
            .collect();
        assert!(pages.contains(&"2".to_string()), "{kind}: {pages:?}");
        w.assert_mutations("#60 merged", &[merged(60, &head)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_request_changes_on_the_second_page_of_reviews_blocks() {
    for kind in FLAVORS {
        let mut s = ready(queue_scenario(kind), 1);
        for _ in 0..page(kind) + 5 {
            s = s.review(ReviewSpec::new(1, "dave", "COMMENT"));
        }
        let s = s.review(ReviewSpec::new(1, "carol", "REQUEST_CHANGES"));
        let w = World::start(kind, s).await;
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1), ("wait", "request_changes"), "{kind}");
        let (m, rt) = route::reviews(kind);
        assert!(
            requests_to(&w.sim, m, rt)
                .iter()
                .any(|q| query_value(q, "page").as_deref() == Some("2")),
            "{kind}"
        );
        w.assert_mutations("not merged", &[]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn the_hold_label_on_the_second_page_of_repo_labels_is_found() {
    // Gitea adds labels by id, so the queue looks the hold label up in the repo's labels.
    let kind = ForgeKind::Gitea;
    let s = ready(ready(queue_scenario(kind), 1), 2)
        .fault(fault(route::merge(kind), http(405, None)).nth(1));
    let w = World::start(kind, s).await;
    w.sim.with_state(|s| {
        let pos = s.labels.iter().position(|l| l.name == HOLD).unwrap();
        let hold = s.labels.remove(pos);
        for i in 0..page(kind) + 10 {
            s.create_label(&format!("area/{i:03}"), "ededed", "");
        }
        s.labels.push(hold);
    });
    let h2 = w.head(2);
    let r = w.tick().await;
    assert_eq!(r.outcome, TickOutcome::Merged { pr: 2 }, "{kind}");
    let (m, rt) = route::labels(kind);
    assert!(
        requests_to(&w.sim, m, rt)
            .iter()
            .any(|q| query_value(q, "page").as_deref() == Some("2")),
        "{kind}"
    );
    w.assert_mutations(
        "held with the label from page 2",
        &[
            labeled(1, HOLD),
            commented(1, "holding this PR"),
            merged(2, &h2),
        ],
    );
    w.shutdown().await;
}

#[tokio::test]
async fn a_shifted_or_failing_page_of_the_pr_list_merges_nothing() {
    use mergeward::sim::FaultAction;
    for kind in FLAVORS {
        for (what, action) in [
            ("shifted page 2", FaultAction::ShiftPage),
            ("502 on page 2", http(502, None)),
        ] {
            let mut s = queue_scenario(kind).paging(30, 50);
            for n in 1..=60 {
                s = ready(s, n);
            }
            let (m, rt) = route::pulls(kind);
            let s = s.fault(
                fault((m, rt), action)
                    .query("page", "2")
                    .calls(CallMatch::Always),
            );
            let w = World::start(kind, s).await;
            let ctx = format!("{kind} {what}");
            let err = w.try_tick(false).await.expect_err(&ctx);
            assert_eq!(err.exit_code(), ExitCode::CouldNotDecide, "{ctx}: {err}");
            w.assert_mutations(&ctx, &[]);
            w.shutdown().await;
        }
    }
}
