//! The tick-level rules of SPEC §8, table-driven over snapshots: no forge, no ledger, no
//! clock — `plan` and the `after_*` functions are pure, so each case runs in microseconds.

use std::collections::{BTreeMap, BTreeSet};

use mergeward::exit::ExitCode;
use mergeward::forge::{
    CommitStatuses, ContextName, ContextState, Label, MergeRefusal, PrNumber, PrState, PullRequest,
    ReportKind, Review, ReviewState, Sha, StatusReport, UpdateRefusal,
};
use mergeward::queue::messages;
use mergeward::queue::plan::{
    self, Facts, Flow, MergeResult, Moved, Next, PreMerge, TickPlan, UpdateResult,
};
use mergeward::queue::policy::{
    Action, BaseState, CandidateState, Decision, QueuePolicy, Reason, RequiredContexts,
};
use mergeward::queue::report::{TickOutcome, Unevaluated};
use mergeward::queue::settings::QueueSettings;
use mergeward::queue::snapshot::Snapshot;

const NOW: &str = "2026-06-01T12:00:00Z";

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(NOW)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default()
}

fn sha(seed: u8) -> Sha {
    Sha::parse(&format!("{seed:02x}").repeat(20)).unwrap_or_else(|| panic!("sha {seed}"))
}

fn settings() -> QueueSettings {
    mergeward::config::queue_defaults("main")
}

fn policy() -> QueuePolicy {
    QueuePolicy {
        base_branch: "main".into(),
        required: RequiredContexts::globs(&["CI / test (pull_request)".into()])
            .unwrap_or_else(|e| panic!("{e}")),
        required_approvals: 1,
        zero_approvals_note: None,
        block_on_rejected_reviews: false,
        trusted_status_creators: BTreeSet::new(),
        reviewers: BTreeSet::new(),
        push_required_contexts: vec![],
        green_states: ["success".to_string()].into_iter().collect(),
        request_changes_from_anyone_blocks: true,
        allow_force_merge: false,
        opt_out_labels: ["wip", "merge-queue-hold"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        queue_label: "merge-queue".into(),
        auto_discover: true,
        github: None,
    }
}

fn report(context: &str, state: &str, at: Option<&str>) -> StatusReport {
    StatusReport {
        id: 1,
        context: ContextName(context.into()),
        state: ContextState::from_status(state),
        kind: ReportKind::CommitStatus,
        target_url: None,
        description: None,
        created_at: at.map(str::to_string),
        updated_at: None,
        app: None,
        creator: Some("ci".into()),
    }
}

fn base() -> BaseState {
    BaseState {
        head: sha(0xb0),
        statuses: CommitStatuses::reduce(sha(0xb0), vec![]),
    }
}

fn pr(n: u64) -> PullRequest {
    PullRequest {
        number: PrNumber(n),
        title: format!("PR {n}"),
        state: PrState::Open,
        draft: false,
        merged: false,
        merged_by: None,
        merge_commit_sha: None,
        head_sha: sha(n as u8),
        head_ref: format!("topic-{n}"),
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
    }
}

/// What a candidate looks like, in the words of the table.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Approved, current, CI green: merge.
    Ready,
    /// Approved, CI green, behind the base: update.
    Behind,
    /// Current, approved, CI pending since `hours` ago (None: no timestamp).
    Pending(Option<i64>),
    /// Current, not approved: wait.
    Unapproved,
}

fn candidate(n: u64, shape: Shape) -> CandidateState {
    let p = pr(n);
    let head = p.head_sha.clone();
    let (ci, at) = match shape {
        Shape::Pending(h) => (
            "pending",
            h.map(|h| (now() - chrono::Duration::hours(h)).to_rfc3339()),
        ),
        _ => ("success", None),
    };
    let reviews = match shape {
        Shape::Unapproved => vec![],
        _ => vec![Review {
            id: n,
            user: Some("alice".into()),
            state: ReviewState::Approved,
            commit_id: Some(head.clone()),
            official: true,
            stale: false,
            dismissed: false,
            submitted_at: None,
        }],
    };
    CandidateState {
        contains_base: !matches!(shape, Shape::Behind),
        pr: PullRequest {
            merge_base: (!matches!(shape, Shape::Behind)).then(|| sha(0xb0)),
            ..p
        },
        statuses: CommitStatuses::reduce(
            head,
            vec![report("CI / test (pull_request)", ci, at.as_deref())],
        ),
        reviews,
        commits: Some(vec![]),
    }
}

fn snapshot(candidates: &[(u64, Shape)]) -> Snapshot {
    let mut s = Snapshot::new(policy(), base(), now());
    for (n, shape) in candidates {
        let c = candidate(*n, *shape);
        s.open.push(c.pr.clone());
        s.candidates.push(c);
    }
    s
}

fn prs_at(p: &TickPlan, idx: &[usize]) -> Vec<u64> {
    idx.iter().map(|&i| p.decisions[i].pr.0).collect()
}

#[test]
fn plans_over_snapshots() {
    use Shape::*;
    struct Case {
        name: &'static str,
        queue: Vec<(u64, Shape)>,
        merges: Vec<u64>,
        in_flight: Option<u64>,
        updates: Vec<u64>,
        /// PRs that get a pending `mergeward/queue` status.
        statuses: Vec<u64>,
        stale_notes: usize,
    }
    let cases = vec![
        Case {
            name: "empty queue: nothing to do",
            queue: vec![],
            merges: vec![],
            in_flight: None,
            updates: vec![],
            statuses: vec![],
            stale_notes: 0,
        },
        Case {
            name: "ready PRs are tried in queue order; the first gets no pending status",
            queue: vec![(1, Unapproved), (2, Ready), (3, Ready)],
            merges: vec![2, 3],
            in_flight: None,
            updates: vec![],
            statuses: vec![1, 3],
            stale_notes: 0,
        },
        Case {
            name: "behind PRs are updated oldest first",
            queue: vec![(4, Behind), (2, Behind), (3, Unapproved)],
            merges: vec![],
            in_flight: None,
            updates: vec![4, 2],
            statuses: vec![4, 2, 3],
            stale_notes: 0,
        },
        Case {
            name: "a PR whose CI is in flight holds back updates",
            queue: vec![(1, Pending(Some(1))), (2, Behind)],
            merges: vec![],
            in_flight: Some(1),
            updates: vec![2],
            statuses: vec![1, 2],
            stale_notes: 0,
        },
        Case {
            name: "CI pending past queue.stale_pending_hours is stuck, not in flight",
            queue: vec![(1, Pending(Some(7))), (2, Behind)],
            merges: vec![],
            in_flight: None,
            updates: vec![2],
            statuses: vec![1, 2],
            stale_notes: 1,
        },
        Case {
            name: "a stuck PR before an in-flight one: a note, and the later one is in flight",
            queue: vec![(1, Pending(Some(30))), (2, Pending(Some(2))), (3, Behind)],
            merges: vec![],
            in_flight: Some(2),
            updates: vec![3],
            statuses: vec![1, 2, 3],
            stale_notes: 1,
        },
        Case {
            name: "a pending report without a timestamp counts as fresh",
            queue: vec![(1, Pending(None)), (2, Behind)],
            merges: vec![],
            in_flight: Some(1),
            updates: vec![2],
            statuses: vec![1, 2],
            stale_notes: 0,
        },
    ];
    for case in cases {
        let snap = snapshot(&case.queue);
        let p = plan::plan(&snap, &settings(), false);
        let name = case.name;
        assert!(p.act && !p.halted && p.paused.is_none(), "{name}");
        assert_eq!(prs_at(&p, &p.merges), case.merges, "{name}: merges");
        assert_eq!(
            p.in_flight.map(|i| p.decisions[i].pr.0),
            case.in_flight,
            "{name}: in flight"
        );
        assert_eq!(prs_at(&p, &p.updates), case.updates, "{name}: updates");
        let statused: Vec<u64> = p
            .statuses
            .iter()
            .map(|s| p.decisions[s.index].pr.0)
            .collect();
        assert_eq!(statused, case.statuses, "{name}: statuses");
        assert_eq!(
            p.notes.len(),
            case.stale_notes,
            "{name}: notes {:?}",
            p.notes
        );
        assert_eq!(
            p.annotations.len(),
            case.queue.len(),
            "{name}: one annotation each"
        );
    }
}

#[test]
fn stale_pending_off_means_never_stuck() {
    let snap = snapshot(&[(1, Shape::Pending(Some(500))), (2, Shape::Behind)]);
    let s = QueueSettings {
        stale_pending: None,
        ..settings()
    };
    let p = plan::plan(&snap, &s, false);
    assert_eq!(p.in_flight, Some(0));
    assert!(p.notes.is_empty());
}

#[test]
fn pending_age_matches_glob_patterns_and_takes_the_freshest() {
    let mut c = candidate(1, Shape::Ready);
    c.statuses = CommitStatuses::reduce(
        c.pr.head_sha.clone(),
        vec![
            StatusReport {
                id: 1,
                ..report(
                    "lint / a (pull_request)",
                    "pending",
                    Some("2026-06-01T02:00:00Z"),
                )
            },
            StatusReport {
                id: 2,
                ..report(
                    "lint / b (pull_request)",
                    "pending",
                    Some("2026-06-01T10:00:00Z"),
                )
            },
        ],
    );
    assert_eq!(
        plan::pending_age(&c, "lint / *", now()),
        Some(chrono::Duration::hours(2))
    );
    assert_eq!(plan::pending_age(&c, "other", now()), None);
}

#[test]
fn a_red_base_pauses_the_whole_tick() {
    let mut snap = snapshot(&[(1, Shape::Ready)]);
    snap.policy.push_required_contexts = vec!["CI / all (push)".into()];
    snap.base.statuses =
        CommitStatuses::reduce(sha(0xb0), vec![report("CI / all (push)", "failure", None)]);
    let p = plan::plan(&snap, &settings(), false);
    assert_eq!(p.paused.as_ref().map(Reason::code), Some("base_not_green"));
    assert!(p.decisions.is_empty() && p.merges.is_empty() && p.statuses.is_empty());
}

#[test]
fn skipped_prs_get_one_comment_only_for_wrong_base_and_forks() {
    let mut snap = snapshot(&[]);
    let wrong = PullRequest {
        base_ref: "release".into(),
        ..pr(5)
    };
    let fork = PullRequest {
        is_fork: true,
        ..pr(6)
    };
    let wip = PullRequest {
        labels: vec![Label("wip".into())],
        ..pr(7)
    };
    let draft = PullRequest {
        draft: true,
        ..pr(8)
    };
    snap.open = vec![wrong, fork, wip, draft];
    let p = plan::plan(&snap, &settings(), false);
    let codes: Vec<&str> = p.skips.iter().map(|d| d.reason.code()).collect();
    assert_eq!(codes, ["wrong_base", "fork", "opt_out", "draft"]);
    let comments: Vec<(u64, &str)> = p
        .skip_comments
        .iter()
        .map(|c| (p.skips[c.skip].pr.0, c.discriminator.as_str()))
        .collect();
    assert_eq!(comments, [(5, "skip:wrong_base"), (6, "skip:fork")]);
    insta::assert_snapshot!(
        "skip_comments",
        p.skip_comments
            .iter()
            .map(|c| c.body.as_str())
            .collect::<Vec<_>>()
            .join("\n---\n")
    );
}

#[test]
fn queue_status_and_auth_failures_act_on_nothing() {
    let snap = snapshot(&[(1, Shape::Ready), (2, Shape::Behind)]);
    let p = plan::plan(&snap, &settings(), true);
    assert!(!p.act && !p.halted);
    assert_eq!(p.decisions.len(), 2);
    assert!(p.merges.is_empty() && p.updates.is_empty() && p.statuses.is_empty());

    let mut snap = snapshot(&[(1, Shape::Ready)]);
    snap.unreadable.push(Unevaluated {
        pr: 9,
        error: "401".into(),
        exit: ExitCode::Auth,
    });
    let p = plan::plan(&snap, &settings(), false);
    assert!(p.halted && !p.act);
    assert!(p.merges.is_empty());

    // A token rejected while resolving an earlier run's effects halts the tick too.
    let mut snap = snapshot(&[(1, Shape::Ready)]);
    snap.token_rejected = true;
    let p = plan::plan(&snap, &settings(), false);
    assert!(p.halted && !p.act && p.merges.is_empty());

    // The forge says the bot may not merge into the base: only a tick with a ready PR
    // stops (with the bot's permission error); others still update.
    let mut snap = snapshot(&[(1, Shape::Ready)]);
    snap.bot_can_merge = Some(false);
    assert!(plan::plan(&snap, &settings(), false).merge_forbidden);
    let mut snap = snapshot(&[(1, Shape::Behind)]);
    snap.bot_can_merge = Some(false);
    let p = plan::plan(&snap, &settings(), false);
    assert!(!p.merge_forbidden && p.updates == [0]);

    // Another unreadable PR does not stop the rest.
    let mut snap = snapshot(&[(1, Shape::Ready)]);
    snap.unreadable.push(Unevaluated {
        pr: 9,
        error: "timeout".into(),
        exit: ExitCode::CouldNotDecide,
    });
    let p = plan::plan(&snap, &settings(), false);
    assert!(p.act);
    assert_eq!(prs_at(&p, &p.merges), [1]);
}

#[test]
fn queue_lines_name_position_and_what_each_waits_for() {
    let snap = snapshot(&[
        (1, Shape::Ready),
        (2, Shape::Unapproved),
        (3, Shape::Behind),
        (4, Shape::Pending(Some(1))),
    ]);
    let p = plan::plan(&snap, &settings(), false);
    let lines: Vec<String> = p
        .statuses
        .iter()
        .map(|s| format!("#{}: {}", p.decisions[s.index].pr.0, s.description))
        .collect();
    insta::assert_snapshot!("queue_lines", lines.join("\n"));
    assert!(
        p.statuses
            .iter()
            .all(|s| s.description.chars().count() <= 140)
    );
}

#[test]
fn after_merge_updates_skip_the_merged_and_the_held() {
    let snap = snapshot(&[
        (1, Shape::Ready),
        (2, Shape::Behind),
        (3, Shape::Unapproved),
        (4, Shape::Pending(Some(1))),
        (5, Shape::Ready),
    ]);
    let p = plan::plan(&snap, &settings(), false);
    let held: BTreeSet<u64> = [5].into_iter().collect();
    let order = plan::after_merge_updates(&p, 1, &held);
    assert_eq!(prs_at(&p, &order), [2, 4]);
}

#[test]
fn flows_after_attempts() {
    let table = [
        (
            MergeResult::Merged,
            Flow::Stop(Some(TickOutcome::Merged { pr: 3 })),
        ),
        (
            MergeResult::Replayed,
            Flow::Stop(Some(TickOutcome::Replayed { pr: 3 })),
        ),
        (
            MergeResult::Deferred,
            Flow::Stop(Some(TickOutcome::Deferred { pr: 3 })),
        ),
        (MergeResult::BaseRed, Flow::Stop(Some(TickOutcome::Paused))),
        (MergeResult::Unknown, Flow::Stop(None)),
        (MergeResult::Held, Flow::Next),
    ];
    for (r, flow) in table {
        assert_eq!(plan::after_merge(3, r), flow, "{r:?}");
    }
    assert_eq!(
        plan::after_update(3, UpdateResult::Updated),
        Flow::Stop(Some(TickOutcome::Updated { pr: 3 }))
    );
    assert_eq!(plan::after_update(3, UpdateResult::Held), Flow::Next);
    assert_eq!(
        plan::after_update(3, UpdateResult::Unknown),
        Flow::Stop(None)
    );
    assert_eq!(plan::idle_outcome(true), TickOutcome::Held);
    assert_eq!(plan::idle_outcome(false), TickOutcome::Idle);
}

fn kind(n: &Next) -> String {
    match n {
        Next::CheckToken => "check-token".into(),
        Next::CheckMoved => "check-moved".into(),
        Next::CheckMerged { .. } => "check-merged".into(),
        Next::Hold { code, .. } => format!("hold:{code}"),
        Next::Defer { .. } => "defer".into(),
        Next::Unknown { .. } => "unknown".into(),
    }
}

#[test]
fn what_a_refused_merge_means() {
    let not_allowed = MergeRefusal::NotAllowed {
        http: 405,
        detail: "not mergeable".into(),
    };
    let not_found = MergeRefusal::NotFound {
        http: 404,
        detail: "gone".into(),
    };
    let fresh = Facts::default();
    let cleared = Facts {
        token_cleared: true,
        moved: None,
    };
    let still = |moved| Facts {
        token_cleared: true,
        moved: Some(moved),
    };
    let table: Vec<(&str, MergeRefusal, Facts, &str)> = vec![
        ("rate limited", MergeRefusal::RateLimited, fresh, "unknown"),
        (
            "401/403: is it our token?",
            MergeRefusal::Unauthorized { http: 403 },
            fresh,
            "check-token",
        ),
        (
            "401/403 is never held, even past the token check",
            MergeRefusal::Unauthorized { http: 401 },
            still(None),
            "unknown",
        ),
        (
            "405: is it our token?",
            not_allowed.clone(),
            fresh,
            "check-token",
        ),
        (
            "405, token fine: what moved?",
            not_allowed.clone(),
            cleared,
            "check-moved",
        ),
        (
            "405 after the PR moved",
            not_allowed.clone(),
            still(Some(Moved::Pr)),
            "defer",
        ),
        (
            "405 after the base moved",
            not_allowed.clone(),
            still(Some(Moved::Base)),
            "defer",
        ),
        (
            "405 on the evaluated head and base",
            not_allowed.clone(),
            still(None),
            "hold:merge_refused",
        ),
        (
            "404 is never the token",
            not_found.clone(),
            fresh,
            "check-moved",
        ),
        (
            "404, nothing moved",
            not_found,
            Facts {
                token_cleared: false,
                moved: Some(None),
            },
            "hold:merge_refused",
        ),
        (
            "409: the head moved",
            MergeRefusal::HeadMoved,
            fresh,
            "defer",
        ),
        (
            "5xx or transport: did it merge?",
            MergeRefusal::Other,
            fresh,
            "check-merged",
        ),
    ];
    for (name, r, facts, want) in table {
        assert_eq!(
            kind(&plan::after_merge_refusal(7, &r, "E", facts)),
            want,
            "{name}"
        );
    }
    let Next::Hold { why, .. } = plan::after_merge_refusal(7, &not_allowed, "E", still(None))
    else {
        panic!("hold expected");
    };
    assert_eq!(why, "the forge refused the merge (HTTP 405): not mergeable");
}

#[test]
fn what_a_refused_update_means() {
    let fresh = Facts::default();
    let cleared = Facts {
        token_cleared: true,
        moved: None,
    };
    let refused = UpdateRefusal::Refused {
        http: 422,
        detail: "protected branch".into(),
    };
    let table: Vec<(&str, UpdateRefusal, Facts, &str)> = vec![
        (
            "409 conflicts",
            UpdateRefusal::Conflict,
            fresh,
            "hold:update_conflict",
        ),
        ("422 refused", refused.clone(), fresh, "hold:update_refused"),
        (
            "403: our token?",
            UpdateRefusal::Unauthorized { http: 403 },
            fresh,
            "check-token",
        ),
        (
            "405: our token?",
            UpdateRefusal::NotAllowed { http: 405 },
            fresh,
            "check-token",
        ),
        (
            "405, token can push",
            UpdateRefusal::NotAllowed { http: 405 },
            cleared,
            "unknown",
        ),
        ("rate limited", UpdateRefusal::RateLimited, fresh, "unknown"),
        ("anything else", UpdateRefusal::Other, fresh, "unknown"),
    ];
    for (name, r, facts, want) in table {
        assert_eq!(
            kind(&plan::after_update_refusal("main", &r, facts)),
            want,
            "{name}"
        );
    }
    let reasons: Vec<String> = [UpdateRefusal::Conflict, refused]
        .iter()
        .filter_map(|r| match plan::after_update_refusal("main", r, fresh) {
            Next::Hold { why, .. } => Some(why),
            _ => None,
        })
        .collect();
    insta::assert_snapshot!("update_hold_reasons", reasons.join("\n"));
}

fn ready_decision() -> (Decision, CandidateState) {
    let c = candidate(1, Shape::Ready);
    let d = plan::decide(&policy(), &base(), &c);
    assert_eq!(d.action, Action::Merge { force: false });
    (d, c)
}

#[test]
fn checks_right_before_a_merge() {
    let (d, c) = ready_decision();
    let p = policy();
    assert_eq!(plan::pre_merge_base(&p, &d, &sha(0xb0), None), PreMerge::Go);
    assert!(matches!(
        plan::pre_merge_base(&p, &d, &sha(0xb1), None),
        PreMerge::Defer {
            annotation: Some(_),
            note: None
        }
    ));
    let mut pushed = p.clone();
    pushed.push_required_contexts = vec!["CI / all (push)".into()];
    let red = CommitStatuses::reduce(sha(0xb0), vec![report("CI / all (push)", "failure", None)]);
    assert!(matches!(
        plan::pre_merge_base(&pushed, &d, &sha(0xb0), Some(&red)),
        PreMerge::BaseRed { .. }
    ));
    let green = CommitStatuses::reduce(sha(0xb0), vec![report("CI / all (push)", "success", None)]);
    assert_eq!(
        plan::pre_merge_base(&pushed, &d, &sha(0xb0), Some(&green)),
        PreMerge::Go
    );

    assert_eq!(plan::pre_merge_pr(&p, &d, &c, &c.pr), PreMerge::Go);
    let moved = PullRequest {
        head_sha: sha(0x99),
        ..c.pr.clone()
    };
    let closed = PullRequest {
        state: PrState::Closed,
        ..c.pr.clone()
    };
    let held = PullRequest {
        labels: vec![Label("merge-queue-hold".into())],
        ..c.pr.clone()
    };
    for (name, now_pr) in [
        ("head moved", moved),
        ("closed", closed),
        ("hold label added", held),
    ] {
        assert!(
            matches!(
                plan::pre_merge_pr(&p, &d, &c, &now_pr),
                PreMerge::Defer { .. }
            ),
            "{name}"
        );
    }
}

#[test]
fn github_mergeable_state_is_rechecked_right_before_a_merge() {
    let (d, c) = ready_decision();
    let mut p = policy();
    p.github = Some(mergeward::forge::github_protection::GitHubRules::default());
    let with = |state: &str| PullRequest {
        mergeable_state: Some(state.to_string()),
        ..c.pr.clone()
    };
    assert_eq!(plan::pre_merge_pr(&p, &d, &c, &with("clean")), PreMerge::Go);
    for (state, code) in [
        ("blocked", "forge_blocked"),
        ("behind", "forge_blocked"),
        ("dirty", "conflicts"),
        ("unknown", "mergeability_unknown"),
    ] {
        match plan::pre_merge_pr(&p, &d, &c, &with(state)) {
            PreMerge::Blocked { decision, note } => {
                assert_eq!(decision.action, Action::Wait, "{state}");
                assert_eq!(decision.reason.code(), code, "{state}");
                assert!(note.starts_with("#1 not merged: "), "{state}: {note}");
            }
            other => panic!("{state}: {other:?}"),
        }
    }
}

#[test]
fn what_the_queue_says_to_people() {
    let (d, _) = ready_decision();
    let approvers = vec!["alice".to_string()];
    let (title, message) = messages::merge_message(&d, &policy(), &approvers);
    let words = [
        ("merge title", title),
        ("merge message", message),
        (
            "hold comment",
            messages::hold_comment(
                "merge-queue-hold",
                "the forge refused the merge (HTTP 405): not mergeable",
                None,
            ),
        ),
        (
            "hold comment, label not applied",
            messages::hold_comment(
                "merge-queue-hold",
                "updating the branch conflicts",
                Some("HTTP 500"),
            ),
        ),
        (
            "update comment",
            messages::update_comment("main", &sha(0xb0)),
        ),
        ("held status", messages::held_status("conflicts")),
        ("stale note", messages::stale_pending_note(4, 6)),
        ("in-flight note", messages::in_flight_note(4)),
        (
            "after-merge note",
            messages::updated_after_merge_note(1, 2, "main", &sha(0xb0)),
        ),
        ("comment marker", messages::with_marker("body", "k123")),
    ];
    let text = words
        .iter()
        .map(|(k, v)| format!("## {k}\n{v}"))
        .collect::<Vec<_>>()
        .join("\n\n");
    insta::assert_snapshot!("what_the_queue_says", text);
    // A hold reason reads back from its own comment.
    let body = messages::hold_comment("merge-queue-hold", "why it is held", None);
    assert_eq!(
        messages::parse_hold_comment("merge-queue-hold", &body).as_deref(),
        Some("why it is held")
    );
    assert_eq!(messages::parse_hold_comment("other-label", &body), None);
}

#[test]
fn decisions_count_genuine_approvals() {
    let snap = snapshot(&[(1, Shape::Ready), (2, Shape::Unapproved)]);
    let p = plan::plan(&snap, &settings(), false);
    let want: BTreeMap<u64, usize> = [(1, 1), (2, 0)].into_iter().collect();
    assert_eq!(p.approvals, want);
}

mod property {
    use super::*;
    use proptest::prelude::*;

    fn shape() -> impl Strategy<Value = Shape> {
        prop_oneof![
            Just(Shape::Ready),
            Just(Shape::Behind),
            Just(Shape::Unapproved),
            (0i64..20).prop_map(|h| Shape::Pending(Some(h))),
            Just(Shape::Pending(None)),
        ]
    }

    proptest! {
        /// Whatever the queue holds: only `merge` decisions are merge attempts, only
        /// `update` decisions are update attempts, each in queue order; the first merge
        /// attempt gets no pending status and every other candidate gets exactly one.
        #[test]
        fn steps_follow_decisions(shapes in proptest::collection::vec(shape(), 0..12)) {
            let queue: Vec<(u64, Shape)> =
                shapes.into_iter().enumerate().map(|(i, s)| (i as u64 + 1, s)).collect();
            let snap = snapshot(&queue);
            let p = plan::plan(&snap, &settings(), false);
            prop_assert!(p.merges.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(p.updates.windows(2).all(|w| w[0] < w[1]));
            for &i in &p.merges {
                let is_merge = matches!(p.decisions[i].action, Action::Merge { .. });
                prop_assert!(is_merge, "merge attempt on a {:?} decision", p.decisions[i].action);
            }
            for &i in &p.updates {
                prop_assert_eq!(p.decisions[i].action, Action::Update);
            }
            let expect = p.decisions.len() - usize::from(!p.merges.is_empty());
            prop_assert_eq!(p.statuses.len(), expect);
            let first = p.merges.first().copied();
            prop_assert!(p.statuses.iter().all(|s| Some(s.index) != first));
            if let Some(i) = p.in_flight {
                let waits = matches!(p.decisions[i].reason, Reason::RequiredNotGreen { .. });
                prop_assert!(waits, "in flight: {:?}", p.decisions[i].reason);
            }
        }
    }
}
