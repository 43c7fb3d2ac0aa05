//! What people read, as snapshots (insta): the tick's text table with positions, the
//! outcome line that names the PR and the action (and its dry-run form), and the hold
//! comment. Gitea; the simulator's SHAs are deterministic, its port is replaced.

use crate::common;

use common::queue::*;
use mergeward::cli::queue_cmd::{outcome_line, report_table};
use mergeward::forge::ForgeKind;
use mergeward::sim::{Mutation, PullSpec, ReviewSpec};

/// #1 behind and conflicting (held on the fair update), #2 ready, #3 waiting for approvals,
/// #4 ready too, #5 with changes requested, #6 from a fork.
fn scenario() -> mergeward::sim::Scenario {
    let kind = ForgeKind::Gitea;
    let s = ready_spec(queue_scenario(kind), PullSpec::new(1).behind().conflict());
    let s = ready(s, 2);
    let s = green(s.pr(PullSpec::new(3)), 3);
    let s = ready(s, 4);
    let s = ready(s, 5).review(ReviewSpec::new(5, "carol", "REQUEST_CHANGES"));
    ready_spec(s, PullSpec::new(6).fork("someone/widgets"))
}

#[tokio::test]
async fn the_tick_text_names_the_pr_the_action_and_the_hold() {
    let w = World::start(ForgeKind::Gitea, scenario()).await;
    let dry = w.dry_tick().await;
    insta::assert_snapshot!("dry_run_outcome", outcome_line(&dry, true));
    let r = w.tick().await;
    insta::assert_snapshot!("tick_table", report_table(&r));
    insta::assert_snapshot!("tick_outcome", outcome_line(&r, false));
    let url = w.sim.url();
    let hold = w
        .sim
        .take_mutations()
        .into_iter()
        .find_map(|m| match m {
            Mutation::Commented { pr: 1, body } => Some(body.replace(&url, "http://forge")),
            _ => None,
        })
        .expect("#1 was held with a comment");
    insta::assert_snapshot!("hold_comment", hold);
    // The next tick: the held PR keeps its reason in the table.
    let r = w.tick().await;
    insta::assert_snapshot!("next_tick_table", report_table(&r));
    w.shutdown().await;
}
