//! The queue's pure decision rules, one behaviour per test (the original's decision tests
//! plus the fixed defects), and a property test of the merge invariant.

use std::collections::BTreeSet;

use mergeward::forge::{
    CommitStatuses, ContextName, ContextState, Label, PrNumber, PrState, PullRequest, ReportKind,
    Review, ReviewState, Sha, StatusReport,
};
use mergeward::queue::policy::*;
use proptest::prelude::*;

fn sha(seed: u8) -> Sha {
    Sha::parse(&format!("{seed:02x}").repeat(20)).unwrap()
}

fn policy() -> QueuePolicy {
    QueuePolicy {
        base_branch: "main".into(),
        required: RequiredContexts::globs(&["CI / test (pull_request)".into(), "lint / *".into()])
            .unwrap(),
        required_approvals: 2,
        zero_approvals_note: None,
        block_on_rejected_reviews: false,
        trusted_status_creators: BTreeSet::new(),
        reviewers: ["alice", "bob", "carol"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        push_required_contexts: vec!["CI / all (push)".into()],
        green_states: ["success".to_string()].into_iter().collect(),
        request_changes_from_anyone_blocks: true,
        allow_force_merge: false,
        opt_out_labels: ["do-not-merge", "merge-queue-hold"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        queue_label: "merge-queue".into(),
        auto_discover: true,
        github: None,
    }
}

fn statuses(head: &Sha, pairs: &[(&str, &str)]) -> CommitStatuses {
    let rows = pairs
        .iter()
        .enumerate()
        .map(|(i, (c, s))| StatusReport {
            id: i as u64 + 1,
            context: ContextName(c.to_string()),
            state: ContextState::from_status(s),
            kind: ReportKind::CommitStatus,
            target_url: None,
            description: None,
            created_at: None,
            updated_at: None,
            app: None,
            creator: Some("ci-bot".into()),
        })
        .collect();
    CommitStatuses::reduce(head.clone(), rows)
}

fn review(id: u64, user: &str, state: ReviewState, commit: &Sha) -> Review {
    Review {
        id,
        user: Some(user.into()),
        state,
        commit_id: Some(commit.clone()),
        official: true,
        stale: false,
        dismissed: false,
        submitted_at: None,
    }
}

fn base() -> BaseState {
    BaseState {
        head: sha(0xb0),
        statuses: statuses(&sha(0xb0), &[("CI / all (push)", "success")]),
    }
}

/// A PR that is ready in every respect.
fn ready() -> CandidateState {
    let head = sha(0x11);
    CandidateState {
        pr: PullRequest {
            number: PrNumber(7),
            title: "t".into(),
            state: PrState::Open,
            draft: false,
            merged: false,
            merged_by: None,
            merge_commit_sha: None,
            head_sha: head.clone(),
            head_ref: "topic".into(),
            head_repo: Some("acme/widgets".into()),
            base_ref: "main".into(),
            is_fork: false,
            mergeable: Some(true),
            mergeable_state: None,
            merge_base: Some(sha(0xb0)),
            labels: vec![],
            author: Some("dev".into()),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: None,
            url: None,
        },
        contains_base: true,
        statuses: statuses(
            &head,
            &[
                ("CI / test (pull_request)", "success"),
                ("lint / fmt (pull_request)", "success"),
                ("lint / clippy (pull_request)", "success"),
            ],
        ),
        reviews: vec![
            review(1, "alice", ReviewState::Approved, &head),
            review(2, "bob", ReviewState::Approved, &head),
        ],
        commits: None,
    }
}

fn decide_(c: &CandidateState) -> Decision {
    decide(&policy(), &base(), c)
}

#[test]
fn a_ready_pr_merges_without_force() {
    let d = decide_(&ready());
    assert_eq!(d.action, Action::Merge { force: false });
    assert_eq!(d.reason.code(), "ready");
    assert_eq!(d.head, sha(0x11));
    assert_eq!(d.base_head, sha(0xb0));
}

#[test]
fn a_red_base_pauses() {
    let b = BaseState {
        head: sha(0xb0),
        statuses: statuses(&sha(0xb0), &[("CI / all (push)", "failure")]),
    };
    let d = decide(&policy(), &b, &ready());
    assert_eq!(d.action, Action::Pause);
    assert_eq!(
        d.reason,
        Reason::BaseNotGreen {
            contexts: vec![("CI / all (push)".into(), "failure".into())]
        }
    );
    let b = BaseState {
        head: sha(0xb0),
        statuses: statuses(&sha(0xb0), &[]),
    };
    assert_eq!(
        decide(&policy(), &b, &ready()).action,
        Action::Pause,
        "missing on base is not green"
    );
}

#[test]
fn a_behind_pr_that_could_merge_is_updated() {
    let mut c = ready();
    c.contains_base = false;
    assert_eq!(decide_(&c).action, Action::Update);
    // Pending CI on the stale head does not stop the update.
    c.statuses = statuses(&c.pr.head_sha, &[("CI / test (pull_request)", "pending")]);
    assert_eq!(decide_(&c).action, Action::Update);
}

#[test]
fn a_behind_pr_that_could_not_merge_anyway_is_not_updated() {
    let mut c = ready();
    c.contains_base = false;
    c.reviews.pop();
    assert_eq!(decide_(&c).reason.code(), "insufficient_approvals");
    let mut c = ready();
    c.contains_base = false;
    c.reviews.push(review(
        3,
        "carol",
        ReviewState::RequestChanges,
        &c.pr.head_sha,
    ));
    assert_eq!(decide_(&c).reason.code(), "request_changes");
    let mut c = ready();
    c.contains_base = false;
    c.statuses = statuses(&c.pr.head_sha, &[("CI / test (pull_request)", "failure")]);
    let d = decide_(&c);
    assert_eq!(d.action, Action::Wait);
    assert_eq!(d.reason.code(), "behind_with_red_required");
}

#[test]
fn request_changes_on_the_current_head_blocks_even_from_outside_the_roster() {
    let mut c = ready();
    c.reviews.push(review(
        3,
        "mallory",
        ReviewState::RequestChanges,
        &c.pr.head_sha,
    ));
    let d = decide_(&c);
    assert_eq!(d.action, Action::Wait);
    assert_eq!(
        d.reason,
        Reason::RequestChanges {
            by: vec!["mallory".into()]
        }
    );
    let mut p = policy();
    p.request_changes_from_anyone_blocks = false;
    assert_eq!(
        decide(&p, &base(), &c).action,
        Action::Merge { force: false },
        "configurable"
    );
}

#[test]
fn request_changes_on_an_old_head_or_dismissed_does_not_block() {
    let mut c = ready();
    let mut rc = review(3, "carol", ReviewState::RequestChanges, &sha(0x99));
    c.reviews.push(rc.clone());
    assert_eq!(decide_(&c).action, Action::Merge { force: false });
    rc.commit_id = Some(c.pr.head_sha.clone());
    rc.dismissed = true;
    c.reviews.push(rc);
    assert_eq!(decide_(&c).action, Action::Merge { force: false });
}

#[test]
fn approvals_must_be_genuine() {
    let head = sha(0x11);
    let p = policy();
    let mk = |f: &dyn Fn(&mut Review)| {
        let mut r = review(1, "alice", ReviewState::Approved, &head);
        f(&mut r);
        genuine_reviews(&p, &[r], &head).0
    };
    assert_eq!(mk(&|_| {}).len(), 1);
    assert!(mk(&|r| r.stale = true).is_empty(), "stale");
    assert!(mk(&|r| r.dismissed = true).is_empty(), "dismissed");
    assert!(mk(&|r| r.official = false).is_empty(), "unofficial");
    assert!(
        mk(&|r| r.commit_id = Some(sha(0x22))).is_empty(),
        "wrong head"
    );
    assert!(
        mk(&|r| r.user = Some("outsider".into())).is_empty(),
        "not in the roster"
    );
    assert!(
        mk(&|r| r.commit_id = None).is_empty(),
        "an approval that names no commit never counts (issue 11)"
    );
}

#[test]
fn a_reviewers_latest_verdict_wins() {
    let head = sha(0x11);
    let reviews = vec![
        review(1, "alice", ReviewState::Approved, &head),
        review(5, "alice", ReviewState::RequestChanges, &head),
    ];
    let (approvers, blockers) = genuine_reviews(&policy(), &reviews, &head);
    assert!(approvers.is_empty());
    assert_eq!(blockers, BTreeSet::from(["alice".to_string()]));
    // Comments do not reset a verdict.
    let reviews = vec![
        review(1, "alice", ReviewState::Approved, &head),
        review(5, "alice", ReviewState::Comment, &head),
    ];
    assert_eq!(genuine_reviews(&policy(), &reviews, &head).0.len(), 1);
}

#[test]
fn two_distinct_approvals_are_needed() {
    let mut c = ready();
    c.reviews = vec![
        review(1, "alice", ReviewState::Approved, &c.pr.head_sha),
        review(2, "alice", ReviewState::Approved, &c.pr.head_sha),
    ];
    let d = decide_(&c);
    assert_eq!(
        d.reason,
        Reason::InsufficientApprovals {
            have: vec!["alice".into()],
            need: 2
        }
    );
    assert!(
        d.reason.text().contains("have 1 (alice), need 2"),
        "{}",
        d.reason.text()
    );
}

#[test]
fn a_failing_pending_or_missing_required_context_blocks() {
    for (state, shown) in [
        ("failure", "failure"),
        ("pending", "pending"),
        ("error", "error"),
    ] {
        let mut c = ready();
        c.statuses = statuses(
            &c.pr.head_sha,
            &[
                ("CI / test (pull_request)", state),
                ("lint / fmt (pull_request)", "success"),
            ],
        );
        let d = decide_(&c);
        assert_eq!(d.action, Action::Wait, "{state}");
        assert_eq!(
            d.reason,
            Reason::RequiredNotGreen {
                contexts: vec![("CI / test (pull_request)".into(), shown.into())]
            }
        );
    }
    let mut c = ready();
    c.statuses = statuses(&c.pr.head_sha, &[("CI / test (pull_request)", "success")]);
    assert_eq!(
        decide_(&c).reason,
        Reason::RequiredNotGreen {
            contexts: vec![("lint / *".into(), "missing".into())]
        },
        "a glob that matches nothing is missing"
    );
}

#[test]
fn one_red_match_of_a_glob_makes_it_red() {
    let mut c = ready();
    c.statuses = statuses(
        &c.pr.head_sha,
        &[
            ("CI / test (pull_request)", "success"),
            ("lint / fmt (pull_request)", "success"),
            ("lint / clippy (pull_request)", "failure"),
        ],
    );
    assert_eq!(
        decide_(&c).reason,
        Reason::RequiredNotGreen {
            contexts: vec![("lint / *".into(), "failure".into())]
        }
    );
}

#[test]
fn skipped_and_neutral_are_green_only_if_policy_says_so() {
    let mut c = ready();
    c.statuses = statuses(
        &c.pr.head_sha,
        &[
            ("CI / test (pull_request)", "skipped"),
            ("lint / fmt (pull_request)", "success"),
        ],
    );
    assert_eq!(decide_(&c).action, Action::Wait);
    let mut p = policy();
    p.green_states.insert("skipped".into());
    assert_eq!(
        decide(&p, &base(), &c).action,
        Action::Merge { force: false }
    );
}

#[test]
fn a_non_required_red_does_not_block_and_force_needs_opt_in() {
    let mut c = ready();
    let head = c.pr.head_sha.clone();
    c.statuses = statuses(
        &head,
        &[
            ("CI / test (pull_request)", "success"),
            ("lint / fmt (pull_request)", "success"),
            ("docs / build (pull_request)", "failure"),
        ],
    );
    assert_eq!(decide_(&c).action, Action::Merge { force: false });
    let mut p = policy();
    p.allow_force_merge = true;
    let d = decide(&p, &base(), &c);
    assert_eq!(d.action, Action::Merge { force: true });
    assert_eq!(
        d.reason,
        Reason::Ready {
            forced_past: vec!["docs / build (pull_request)".into()],
            note: None,
        }
    );
}

#[test]
fn mergeable_must_be_literally_true() {
    let mut c = ready();
    c.pr.mergeable = None;
    assert_eq!(decide_(&c).reason, Reason::MergeabilityUnknown);
    c.pr.mergeable = Some(false);
    assert_eq!(decide_(&c).reason, Reason::Conflicts);
}

#[test]
fn ineligible_prs_are_skipped() {
    type Mutate = Box<dyn Fn(&mut CandidateState)>;
    let cases: Vec<(Mutate, &str)> = vec![
        (Box::new(|c| c.pr.draft = true), "draft"),
        (
            Box::new(|c| c.pr.labels.push(Label("merge-queue-hold".into()))),
            "opt_out",
        ),
        (
            Box::new(|c| c.pr.labels.push(Label("do-not-merge".into()))),
            "opt_out",
        ),
        (Box::new(|c| c.pr.is_fork = true), "fork"),
        (Box::new(|c| c.pr.base_ref = "release".into()), "wrong_base"),
        (Box::new(|c| c.pr.state = PrState::Closed), "not_open"),
    ];
    for (mutate, code) in cases {
        let mut c = ready();
        mutate(&mut c);
        let d = decide_(&c);
        assert_eq!(d.action, Action::Skip, "{code}");
        assert_eq!(d.reason.code(), code);
    }
}

#[test]
fn opt_in_mode_requires_the_queue_label_and_still_honours_opt_out() {
    let mut p = policy();
    p.auto_discover = false;
    let mut c = ready();
    assert_eq!(decide(&p, &base(), &c).reason.code(), "not_queued");
    c.pr.labels.push(Label("merge-queue".into()));
    assert_eq!(
        decide(&p, &base(), &c).action,
        Action::Merge { force: false }
    );
    c.pr.labels.push(Label("merge-queue-hold".into()));
    assert_eq!(decide(&p, &base(), &c).reason.code(), "opt_out");
}

#[test]
fn an_invalid_glob_is_an_error_not_dropped() {
    assert!(RequiredContexts::globs(&["CI / [unclosed".into()]).is_err());
}

fn arb_state() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "success", "pending", "failure", "error", "skipped", "warning",
    ])
}

proptest! {
    /// Whatever the state, a merge decision implies: every required context green on the
    /// evaluated head, enough genuine approvals, mergeable, and the base head contained.
    #[test]
    fn merge_implies_proven_ready(
        ci in prop::option::of(arb_state()),
        fmt in prop::option::of(arb_state()),
        extra in prop::option::of(arb_state()),
        base_state in arb_state(),
        approvals in prop::collection::vec((0usize..4, any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()), 0..5),
        mergeable in prop::option::of(any::<bool>()),
        contains_base in any::<bool>(),
        draft in any::<bool>(),
        force in any::<bool>(),
    ) {
        let users = ["alice", "bob", "carol", "mallory"];
        let mut c = ready();
        let head = c.pr.head_sha.clone();
        let mut pairs = vec![];
        if let Some(s) = ci { pairs.push(("CI / test (pull_request)", s)); }
        if let Some(s) = fmt { pairs.push(("lint / fmt (pull_request)", s)); }
        if let Some(s) = extra { pairs.push(("docs (pull_request)", s)); }
        c.statuses = statuses(&head, &pairs);
        c.reviews = approvals.iter().enumerate().map(|(i, (u, on_head, official, stale, rc))| Review {
            id: i as u64 + 1,
            user: Some(users[*u].into()),
            state: if *rc { ReviewState::RequestChanges } else { ReviewState::Approved },
            commit_id: Some(if *on_head { head.clone() } else { sha(0x77) }),
            official: *official,
            stale: *stale,
            dismissed: false,
            submitted_at: None,
        }).collect();
        c.pr.mergeable = mergeable;
        c.contains_base = contains_base;
        c.pr.draft = draft;
        let mut p = policy();
        p.allow_force_merge = force;
        let b = BaseState { head: sha(0xb0), statuses: statuses(&sha(0xb0), &[("CI / all (push)", base_state)]) };
        let d = decide(&p, &b, &c);
        if let Action::Merge { .. } = d.action {
            prop_assert_eq!(ci, Some("success"));
            prop_assert_eq!(fmt, Some("success"));
            prop_assert_eq!(base_state, "success");
            prop_assert_eq!(mergeable, Some(true));
            prop_assert!(contains_base && !draft);
            prop_assert_eq!(&d.head, &head);
            let (approvers, blockers) = genuine_reviews(&p, &c.reviews, &head);
            prop_assert!(approvers.len() >= 2 && blockers.is_empty());
        }
        if d.action == Action::Update {
            prop_assert!(!contains_base);
            let (approvers, blockers) = genuine_reviews(&p, &c.reviews, &head);
            prop_assert!(approvers.len() >= 2 && blockers.is_empty(), "an update only when the PR could otherwise merge");
        }
    }
}

#[test]
fn every_reason_code_is_listed() {
    let reasons = [
        Reason::Ready {
            forced_past: vec![],
            note: None,
        },
        Reason::NotOpen,
        Reason::Draft,
        Reason::OptOut { label: "x".into() },
        Reason::NotQueued {
            queue_label: "q".into(),
        },
        Reason::Fork,
        Reason::WrongBase { base: "b".into() },
        Reason::BaseNotGreen { contexts: vec![] },
        Reason::RequestChanges { by: vec![] },
        Reason::InsufficientApprovals {
            have: vec![],
            need: 1,
        },
        Reason::BehindWithRedRequired { contexts: vec![] },
        Reason::Behind,
        Reason::RequiredNotGreen { contexts: vec![] },
        Reason::MergeabilityUnknown,
        Reason::Conflicts,
        Reason::RequiredSkipped { contexts: vec![] },
        Reason::RequiredWrongSource { checks: vec![] },
        Reason::ForgeBlocked {
            mergeable_state: "blocked".into(),
            unmodelled: vec![],
        },
    ];
    let codes: Vec<&str> = reasons.iter().map(|r| r.code()).collect();
    assert_eq!(codes, Reason::CODES);
}
