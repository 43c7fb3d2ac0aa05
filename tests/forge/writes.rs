//! Mutations through the forge layer, and protection reads, against the simulated forge.
//! Each test asserts every mutation the simulator recorded.

use crate::common;

use common::*;
use mergeward::error::ExitCode;
use mergeward::forge::{
    ContextName, ContextState, Forge, ForgeKind, Label, MergeMethod, MergeRequest, NewStatus,
    PrNumber, ProtectionSource, Sha, UpdateStyle,
};
use mergeward::sim::{
    CheckRunSpec, Mutation, Permission, ProtectionSpec, PullSpec, Sim, StatusSpec,
};

fn merge_req() -> MergeRequest {
    MergeRequest {
        method: MergeMethod::Merge,
        title: "Merge PR #1 via mergeward".into(),
        message: "Serialized merge.".into(),
        force: false,
    }
}

#[tokio::test]
async fn a_merge_is_pinned_to_the_evaluated_head() {
    for kind in FLAVORS {
        let sim = Sim::start(base(kind).pr(PullSpec::new(2).head("other")))
            .await
            .unwrap();
        let forge = client(&sim, kind);
        let head = pr_head(&sim, 1);
        let base_before = sim.with_state(|s| s.branch_head("main")).unwrap();

        // A stale expected head is refused by the forge: nothing merges.
        let stale = pr_head(&sim, 2);
        let err = forge
            .merge(PrNumber(1), &stale, &merge_req())
            .await
            .expect_err("409");
        assert_eq!(err.status(), Some(409), "{kind}: {err}");
        assert!(sim.take_mutations().is_empty(), "{kind}");

        forge
            .merge(PrNumber(1), &head, &merge_req())
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let muts = sim.take_mutations();
        assert_eq!(muts.len(), 1, "{kind}: {muts:?}");
        match &muts[0] {
            Mutation::Merged {
                pr,
                head_sha,
                force,
                ..
            } => {
                assert_eq!(*pr, 1);
                assert_eq!(head_sha, head.as_str());
                assert!(!force);
            }
            other => panic!("{kind}: {other:?}"),
        }
        let base_after = sim.with_state(|s| s.branch_head("main")).unwrap();
        assert_ne!(base_before, base_after, "{kind}: the base advanced");
        let after = forge.pull(PrNumber(1)).await.unwrap();
        assert!(after.merged, "{kind}");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn an_update_gives_the_pr_a_new_head_without_statuses() {
    for kind in FLAVORS {
        let sim = Sim::start(
            base(kind)
                .pr(PullSpec::new(3).head("behind").behind())
                .status(StatusSpec::pr(3, "CI", "success")),
        )
        .await
        .unwrap();
        let forge = client(&sim, kind);
        let old = pr_head(&sim, 3);
        forge
            .update(PrNumber(3), &old, UpdateStyle::Merge)
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let new = pr_head(&sim, 3);
        assert_ne!(old, new);
        let muts = sim.take_mutations();
        assert!(
            matches!(muts.as_slice(), [Mutation::Updated { pr: 3, old_head, new_head, .. }] if old_head == old.as_str() && new_head == new.as_str()),
            "{kind}: {muts:?}"
        );
        let st = forge.statuses(&new).await.unwrap();
        assert_eq!(st.rows_read, 0, "{kind}: the new head has no statuses");
        assert_eq!(st.state_of("CI"), ContextState::Missing);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn labels_comments_and_statuses_are_written() {
    for kind in FLAVORS {
        let sim = Sim::start(base(kind).label("merge-queue-hold", "ff0000"))
            .await
            .unwrap();
        let forge = client(&sim, kind);
        let head = pr_head(&sim, 1);
        forge
            .add_label(PrNumber(1), &Label("merge-queue-hold".into()))
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        forge.comment(PrNumber(1), "held: conflict").await.unwrap();
        forge
            .post_status(
                &head,
                &NewStatus {
                    context: ContextName("mergeward/queue".into()),
                    state: ContextState::Pending,
                    description: "position 1".into(),
                    target_url: None,
                },
            )
            .await
            .unwrap();
        let muts = sim.take_mutations();
        assert_eq!(muts.len(), 3, "{kind}: {muts:?}");
        assert!(
            matches!(&muts[0], Mutation::LabelAdded { pr: 1, label } if label == "merge-queue-hold"),
            "{kind}: {muts:?}"
        );
        assert!(
            matches!(&muts[1], Mutation::Commented { pr: 1, body } if body == "held: conflict"),
            "{kind}"
        );
        assert!(
            matches!(&muts[2], Mutation::StatusPosted { sha, context, state, .. } if sha == head.as_str() && context == "mergeward/queue" && state == "pending"),
            "{kind}"
        );
        let st = forge.statuses(&head).await.unwrap();
        assert_eq!(st.state_of("mergeward/queue"), ContextState::Pending);
        // A label the repository does not have: Gitea/Forgejo refuse by name (nothing
        // changes); GitHub creates it as it adds it.
        let res = forge
            .add_label(PrNumber(1), &Label("no-such-label".into()))
            .await;
        if kind == ForgeKind::GitHub {
            res.unwrap_or_else(|e| panic!("{e}"));
            assert!(
                matches!(sim.take_mutations().as_slice(), [Mutation::LabelAdded { pr: 1, label }] if label == "no-such-label")
            );
        } else {
            let err = res.expect_err("missing label");
            assert_eq!(err.exit_code(), ExitCode::NotFound, "{err}");
            assert!(err.to_string().contains("no-such-label"));
            assert!(sim.take_mutations().is_empty());
        }
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn gitea_protection_without_admin_comes_from_the_branch_and_names_the_gap() {
    for kind in [ForgeKind::Gitea, ForgeKind::Forgejo] {
        let sc = base(kind).protect(
            ProtectionSpec::new("main")
                .contexts(&["CI / test (pull_request)", "lint / *"])
                .approvals(2)
                .block_on_rejected_reviews(),
        );
        let sim = Sim::start(sc).await.unwrap();
        let p = client(&sim, kind)
            .protection("main")
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(p.protected && p.status_checks_enabled);
        assert_eq!(
            p.required_contexts,
            vec!["CI / test (pull_request)", "lint / *"]
        );
        assert_eq!(p.required_approvals, Some(2));
        assert_eq!(p.source, ProtectionSource::GiteaBranch);
        assert_eq!(
            p.block_on_rejected_reviews, None,
            "unknown without admin, not guessed"
        );
        assert_eq!(p.gaps.len(), 1, "{:?}", p.gaps);
        assert!(p.gaps[0].contains("admin"));

        let admin = client_with(&sim, kind, Some(ADMIN_TOKEN), |_| {});
        let p = admin.protection("main").await.unwrap();
        assert!(
            matches!(p.source, ProtectionSource::GiteaRule { .. }),
            "{:?}",
            p.source
        );
        assert_eq!(p.block_on_rejected_reviews, Some(true));
        assert!(p.gaps.is_empty());
        assert!(sim.mutations().is_empty());
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn github_required_checks_are_the_union_of_classic_protection_and_rulesets() {
    use mergeward::sim::{CheckSpec, RulesetSpec};
    let sc = base(ForgeKind::GitHub)
        .protect(
            ProtectionSpec::new("main")
                .contexts(&["build"])
                .approvals(1),
        )
        .ruleset(RulesetSpec {
            required_status_checks: vec![CheckSpec::Name("lint".into())],
            required_approving_review_count: Some(2),
            ..RulesetSpec::new("main rules", &["main"])
        });
    let sim = Sim::start(sc).await.unwrap();
    let admin = client_with(&sim, ForgeKind::GitHub, Some(ADMIN_TOKEN), |_| {});
    let p = admin.protection("main").await.unwrap();
    assert_eq!(p.required_contexts, vec!["build", "lint"]);
    assert_eq!(
        p.required_approvals,
        Some(2),
        "the stricter of classic and rulesets"
    );
    assert_eq!(
        p.source,
        ProtectionSource::GitHub {
            classic: true,
            rulesets: true
        }
    );
    // Without admin the classic rule is unreadable: a named gap, and checks still found.
    let bot = client(&sim, ForgeKind::GitHub);
    let p = bot.protection("main").await.unwrap();
    assert!(
        p.required_contexts.contains(&"lint".to_string())
            && p.required_contexts.contains(&"build".to_string()),
        "{:?}",
        p.required_contexts
    );
    assert_eq!(p.gaps.len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn github_check_runs_and_statuses_fold_by_name() {
    let sc = base(ForgeKind::GitHub)
        .status(StatusSpec::pr(1, "build", "success"))
        .check_run(CheckRunSpec::pr(1, "build", Some("failure")))
        .check_run(CheckRunSpec::pr(1, "lint", Some("success")))
        .check_run(CheckRunSpec::pr(1, "docs", Some("skipped")));
    let sim = Sim::start(sc).await.unwrap();
    let st = client(&sim, ForgeKind::GitHub)
        .statuses(&pr_head(&sim, 1))
        .await
        .unwrap();
    assert_eq!(
        st.state_of("build"),
        ContextState::Failure,
        "a failing check run beats a green status"
    );
    assert_eq!(st.state_of("lint"), ContextState::Success);
    assert_eq!(st.state_of("docs"), ContextState::Skipped);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_read_only_token_cannot_merge() {
    for kind in FLAVORS {
        let sim = Sim::start(base(kind).user("reader", "tok-reader-1234", Permission::Read))
            .await
            .unwrap();
        let reader = client_with(&sim, kind, Some("tok-reader-1234"), |_| {});
        let head: Sha = pr_head(&sim, 1);
        let err = reader
            .merge(PrNumber(1), &head, &merge_req())
            .await
            .expect_err("refused");
        // Real Gitea answers 405 "User not allowed to merge PR"; GitHub 403.
        let expected = if kind == ForgeKind::GitHub { 403 } else { 405 };
        assert_eq!(err.status(), Some(expected), "{kind}: {err}");
        assert!(sim.mutations().is_empty());
        sim.shutdown().await;
    }
}
