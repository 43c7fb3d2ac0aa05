//! The merge queue's decision rules: pure functions, no I/O, no clock.
//!
//! `decide` takes what was observed about the base branch and one candidate and returns a
//! [`Decision`] with a typed reason. Rule order (first failing rule wins):
//!
//! 1. eligibility — not open, draft, opt-out label, fork, wrong base, missing opt-in label → skip
//! 2. base gate — a push-required context not green on the base head → pause
//! 3. an official REQUEST_CHANGES on the current head → wait
//! 4. too few genuine approvals on the current head → wait
//! 5. behind the base and a required context is red (not merely pending/missing) → wait
//! 6. behind the base → update
//! 7. a required context not green → wait (`required_skipped` when every such context is
//!    only skipped/neutral)
//! 8. mergeability unknown → wait; conflicting → wait
//! 9. otherwise → merge (pinned to the evaluated head)

use std::collections::BTreeSet;

use globset::{Glob, GlobMatcher};
use serde::Serialize;

pub use super::reviews::{genuine_reviews, genuine_reviews_with, only_base_merges_since};
use crate::forge::{
    Commit, CommitStatuses, ContextState, PrNumber, PrState, PullRequest, ReportKind, Review, Sha,
};

/// How required contexts are named: Gitea/Forgejo use glob patterns, GitHub exact names.
#[derive(Debug, Clone)]
pub enum RequiredContexts {
    Globs(Vec<(String, GlobMatcher)>),
    Exact(Vec<String>),
}

impl RequiredContexts {
    /// Compiles Gitea glob patterns. An invalid pattern is an error, never dropped.
    pub fn globs(patterns: &[String]) -> Result<RequiredContexts, String> {
        patterns
            .iter()
            .map(|p| {
                Glob::new(p)
                    .map(|g| (p.clone(), g.compile_matcher()))
                    .map_err(|e| format!("required context pattern {p:?} is not a valid glob: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(RequiredContexts::Globs)
    }

    pub fn names(&self) -> Vec<String> {
        match self {
            RequiredContexts::Globs(g) => g.iter().map(|(p, _)| p.clone()).collect(),
            RequiredContexts::Exact(e) => e.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            RequiredContexts::Globs(g) => g.is_empty(),
            RequiredContexts::Exact(e) => e.is_empty(),
        }
    }

    /// Whether a posted context is one of the required ones.
    pub fn covers(&self, context: &str) -> bool {
        match self {
            RequiredContexts::Globs(g) => g.iter().any(|(_, m)| m.is_match(context)),
            RequiredContexts::Exact(e) => e.iter().any(|c| c == context),
        }
    }
}

/// Everything the rules need to know about configuration and protection.
#[derive(Debug, Clone)]
pub struct QueuePolicy {
    pub base_branch: String,
    pub required: RequiredContexts,
    pub required_approvals: u32,
    /// Why `required_approvals` is 0, when it is (shown with every merge decision).
    pub zero_approvals_note: Option<String>,
    /// Logins whose approvals count; empty means any official reviewer. Compared
    /// case-insensitively (forge logins are).
    pub reviewers: BTreeSet<String>,
    /// Gitea's `block_on_rejected_reviews`: any official, undismissed REQUEST_CHANGES blocks,
    /// whichever commit it was given on (the forge refuses the merge otherwise).
    pub block_on_rejected_reviews: bool,
    /// Logins allowed to post required commit statuses; empty means anyone (Gitea has no
    /// app binding). Compared case-insensitively.
    pub trusted_status_creators: BTreeSet<String>,
    pub push_required_contexts: Vec<String>,
    /// States that count as green. By default only `success`.
    pub green_states: BTreeSet<String>,
    /// Any official REQUEST_CHANGES blocks, not only one from the roster.
    pub request_changes_from_anyone_blocks: bool,
    pub allow_force_merge: bool,
    /// Labels that keep a PR out of the queue (the hold label is always among them).
    pub opt_out_labels: BTreeSet<String>,
    pub queue_label: String,
    pub auto_discover: bool,
    /// GitHub's own rules (app pins, unmodelled requirements) that a merge must also
    /// satisfy (`queue::github_rules`); `None` on Gitea/Forgejo.
    pub github: Option<crate::forge::github_protection::GitHubRules>,
}

impl QueuePolicy {
    pub fn is_green(&self, s: &ContextState) -> bool {
        self.green_states.contains(s.as_str())
    }
}

/// What happens to a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Merge { force: bool },
    Update,
    Wait,
    Skip,
    Pause,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Merge { .. } => "merge",
            Action::Update => "update",
            Action::Wait => "wait",
            Action::Skip => "skip",
            Action::Pause => "pause",
        }
    }
}

/// Why. Each reason has a stable code (for the ledger and envelopes) and a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "code")]
pub enum Reason {
    Ready {
        forced_past: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    NotOpen,
    Draft,
    OptOut {
        label: String,
    },
    NotQueued {
        queue_label: String,
    },
    Fork,
    WrongBase {
        base: String,
    },
    BaseNotGreen {
        contexts: Vec<(String, String)>,
    },
    RequestChanges {
        by: Vec<String>,
    },
    InsufficientApprovals {
        have: Vec<String>,
        need: u32,
    },
    BehindWithRedRequired {
        contexts: Vec<(String, String)>,
    },
    Behind,
    RequiredNotGreen {
        contexts: Vec<(String, String)>,
    },
    MergeabilityUnknown,
    Conflicts,
    /// Required checks only skipped/neutral (GitHub would accept them; mergeward does not
    /// unless `queue.green_states` says so).
    RequiredSkipped {
        contexts: Vec<(String, String)>,
    },
    /// Required checks pinned to a GitHub App were not reported green by that app:
    /// (context, expected and seen sources).
    RequiredWrongSource {
        checks: Vec<(String, String)>,
    },
    /// GitHub's own `mergeable_state` does not allow the merge without a bypass.
    ForgeBlocked {
        mergeable_state: String,
        unmodelled: Vec<String>,
    },
}

impl Reason {
    /// Every reason code `code()` can return (documented in SPEC.md §8).
    pub const CODES: &'static [&'static str] = &[
        "ready",
        "not_open",
        "draft",
        "opt_out",
        "not_queued",
        "fork",
        "wrong_base",
        "base_not_green",
        "request_changes",
        "insufficient_approvals",
        "behind_with_red_required",
        "behind",
        "required_not_green",
        "mergeability_unknown",
        "conflicts",
        "required_skipped",
        "required_wrong_source",
        "forge_blocked",
    ];

    pub fn code(&self) -> &'static str {
        match self {
            Reason::Ready { .. } => "ready",
            Reason::NotOpen => "not_open",
            Reason::Draft => "draft",
            Reason::OptOut { .. } => "opt_out",
            Reason::NotQueued { .. } => "not_queued",
            Reason::Fork => "fork",
            Reason::WrongBase { .. } => "wrong_base",
            Reason::BaseNotGreen { .. } => "base_not_green",
            Reason::RequestChanges { .. } => "request_changes",
            Reason::InsufficientApprovals { .. } => "insufficient_approvals",
            Reason::BehindWithRedRequired { .. } => "behind_with_red_required",
            Reason::Behind => "behind",
            Reason::RequiredNotGreen { .. } => "required_not_green",
            Reason::MergeabilityUnknown => "mergeability_unknown",
            Reason::Conflicts => "conflicts",
            Reason::RequiredSkipped { .. } => "required_skipped",
            Reason::RequiredWrongSource { .. } => "required_wrong_source",
            Reason::ForgeBlocked { .. } => "forge_blocked",
        }
    }

    pub fn text(&self) -> String {
        let list = |v: &[(String, String)]| {
            v.iter()
                .map(|(c, s)| format!("{c}={s}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Reason::Ready { forced_past, note } => {
                let mut t = String::from("ready");
                if !forced_past.is_empty() {
                    t.push_str(&format!(
                        " (force_merge past non-required: {})",
                        forced_past.join(", ")
                    ));
                }
                if let Some(n) = note {
                    t.push_str(&format!(" ({n})"));
                }
                t
            }
            Reason::NotOpen => "the PR is not open".into(),
            Reason::Draft => "the PR is a draft".into(),
            Reason::OptOut { label } => format!("the PR carries the opt-out label {label:?}"),
            Reason::NotQueued { queue_label } => {
                format!("auto-discover is off and the PR lacks the label {queue_label:?}")
            }
            Reason::Fork => "PRs from forks are not supported by the queue".into(),
            Reason::WrongBase { base } => {
                format!("the PR targets {base:?}, not the queue's branch")
            }
            Reason::BaseNotGreen { contexts } => {
                format!(
                    "base branch required contexts not green: {}",
                    list(contexts)
                )
            }
            Reason::RequestChanges { by } => {
                format!(
                    "open REQUEST_CHANGES from: {} (the reviewer must approve, or the review be dismissed)",
                    by.join(", ")
                )
            }
            Reason::InsufficientApprovals { have, need } => format!(
                "insufficient genuine approvals on the current head: have {} ({}), need {need}",
                have.len(),
                if have.is_empty() {
                    "none".to_string()
                } else {
                    have.join(", ")
                }
            ),
            Reason::BehindWithRedRequired { contexts } => format!(
                "behind the base, but required contexts are red on the head: {} (fix them first; an update would only churn CI)",
                list(contexts)
            ),
            Reason::Behind => "the PR head does not contain the current base head".into(),
            Reason::RequiredNotGreen { contexts } => {
                format!("required contexts not green: {}", list(contexts))
            }
            Reason::MergeabilityUnknown => {
                "the forge has not computed mergeability yet (mergeable is not true)".into()
            }
            Reason::Conflicts => "the PR is not mergeable (conflicts)".into(),
            Reason::RequiredSkipped { contexts } => format!(
                "required checks were skipped or neutral, not run green: {}; GitHub counts skipped/neutral as passing, mergeward does not by default (a required job skipped on the queue's branch leaves the code untested); to accept them add the state to queue.green_states",
                list(contexts)
            ),
            Reason::RequiredWrongSource { checks } => format!(
                "required checks not reported green by the app they are pinned to: {}",
                checks
                    .iter()
                    .map(|(c, s)| format!("{c} ({s})"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Reason::ForgeBlocked {
                mergeable_state,
                unmodelled,
            } => format!(
                "GitHub's mergeable_state is {mergeable_state:?}: GitHub would not merge this PR without bypassing its rules; {}",
                if unmodelled.is_empty() {
                    "mergeward evaluates every requirement it read, so GitHub sees something it does not (check the PR page)".to_string()
                } else {
                    format!(
                        "requirements mergeward does not evaluate itself: {}",
                        unmodelled.join("; ")
                    )
                }
            ),
        }
    }
}

/// A decision about one PR, pinned to the SHAs it was made on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub pr: PrNumber,
    pub head: Sha,
    pub base_head: Sha,
    pub action: Action,
    pub reason: Reason,
}

/// The base branch as observed.
#[derive(Debug, Clone)]
pub struct BaseState {
    pub head: Sha,
    pub statuses: CommitStatuses,
}

/// One candidate as observed.
#[derive(Debug, Clone)]
pub struct CandidateState {
    pub pr: PullRequest,
    /// Whether the PR head contains the base head (merge base or commit list).
    pub contains_base: bool,
    pub statuses: CommitStatuses,
    pub reviews: Vec<Review>,
    /// The PR's commits, read to completion, when they were read (they prove that an
    /// approval given on an earlier head survives the queue's base merges).
    pub commits: Option<Vec<Commit>>,
}

/// Why a PR is not even a candidate, from its listing alone (cheap: no further reads).
pub fn ineligible(policy: &QueuePolicy, pr: &PullRequest) -> Option<Reason> {
    if pr.state != PrState::Open || pr.merged {
        return Some(Reason::NotOpen);
    }
    if let Some(l) = pr
        .labels
        .iter()
        .find(|l| policy.opt_out_labels.contains(&l.0))
    {
        return Some(Reason::OptOut { label: l.0.clone() });
    }
    if pr.draft {
        return Some(Reason::Draft);
    }
    if !policy.auto_discover && !pr.labels.iter().any(|l| l.0 == policy.queue_label) {
        return Some(Reason::NotQueued {
            queue_label: policy.queue_label.clone(),
        });
    }
    if pr.base_ref != policy.base_branch {
        return Some(Reason::WrongBase {
            base: pr.base_ref.clone(),
        });
    }
    if pr.is_fork {
        return Some(Reason::Fork);
    }
    None
}

/// The state of each required context: a glob that matches nothing is `missing`; several
/// matches are green only if all are.
pub fn required_states(policy: &QueuePolicy, st: &CommitStatuses) -> Vec<(String, ContextState)> {
    if policy.trusted_status_creators.is_empty() {
        return states_of(&policy.required, &policy.green_states, st);
    }
    states_of(
        &policy.required,
        &policy.green_states,
        &trusted_only(&policy.trusted_status_creators, st),
    )
}

/// The state a required context shows when its latest commit status was posted by someone
/// outside `queue.trusted_status_creators`.
pub const UNTRUSTED_STATE: &str = "untrusted_creator";

/// `st` with every commit status whose creator is not trusted turned into the non-green
/// state [`UNTRUSTED_STATE`] (check runs are bound to their app by the forge, not here).
pub fn trusted_only(trusted: &BTreeSet<String>, st: &CommitStatuses) -> CommitStatuses {
    let mut out = st.clone();
    for r in out.latest.values_mut() {
        if r.kind != ReportKind::CommitStatus {
            continue;
        }
        let ok = r
            .creator
            .as_deref()
            .is_some_and(|c| trusted.iter().any(|t| t.eq_ignore_ascii_case(c)));
        if !ok {
            r.state = ContextState::Unknown(UNTRUSTED_STATE.into());
        }
    }
    out
}

/// The state of each required context under a green policy (also used by `audit merge`).
pub fn states_of(
    required: &RequiredContexts,
    green: &BTreeSet<String>,
    st: &CommitStatuses,
) -> Vec<(String, ContextState)> {
    let is_green = |s: &ContextState| green.contains(s.as_str());
    let fold = |matched: Vec<&ContextState>| -> ContextState {
        if matched.is_empty() {
            return ContextState::Missing;
        }
        match matched.iter().find(|s| !is_green(s)) {
            None => (*matched[0]).clone(),
            Some(_) => matched
                .into_iter()
                .filter(|s| !is_green(s))
                .cloned()
                .reduce(ContextState::worst)
                .unwrap_or(ContextState::Missing),
        }
    };
    match required {
        RequiredContexts::Exact(names) => {
            names.iter().map(|n| (n.clone(), st.state_of(n))).collect()
        }
        RequiredContexts::Globs(globs) => globs
            .iter()
            .map(|(pattern, m)| {
                let matched: Vec<&ContextState> = st
                    .latest
                    .iter()
                    .filter(|(name, _)| m.is_match(&name.0))
                    .map(|(_, r)| &r.state)
                    .collect();
                (pattern.clone(), fold(matched))
            })
            .collect(),
    }
}

fn not_green(policy: &QueuePolicy, states: &[(String, ContextState)]) -> Vec<(String, String)> {
    states
        .iter()
        .filter(|(_, s)| !policy.is_green(s))
        .map(|(c, s)| (c.clone(), s.as_str().to_string()))
        .collect()
}

/// The base gate: push-required contexts green on the base head.
pub fn base_gate(policy: &QueuePolicy, base: &BaseState) -> Option<Reason> {
    let states: Vec<(String, ContextState)> = policy
        .push_required_contexts
        .iter()
        .map(|c| (c.clone(), base.statuses.state_of(c)))
        .collect();
    let red = not_green(policy, &states);
    (!red.is_empty()).then_some(Reason::BaseNotGreen { contexts: red })
}

/// Whether a candidate decided as `d` could merge once it is up to date with the base:
/// it is behind and would be updated, ready, or waits only for CI that is pending or not yet
/// posted. (After a merge every candidate is behind the new base; these are the ones an
/// update helps.)
pub fn could_merge_once_current(d: &Decision) -> bool {
    match (&d.action, &d.reason) {
        (Action::Update, _) | (Action::Merge { .. }, _) => true,
        (Action::Wait, Reason::RequiredNotGreen { contexts }) => contexts
            .iter()
            .all(|(_, s)| s == "pending" || s == "missing"),
        _ => false,
    }
}

/// Decides one candidate. Pure.
pub fn decide(policy: &QueuePolicy, base: &BaseState, c: &CandidateState) -> Decision {
    let verdict = |action: Action, reason: Reason| Decision {
        pr: c.pr.number,
        head: c.pr.head_sha.clone(),
        base_head: base.head.clone(),
        action,
        reason,
    };
    if let Some(reason) = ineligible(policy, &c.pr) {
        return verdict(Action::Skip, reason);
    }
    if let Some(reason) = base_gate(policy, base) {
        return verdict(Action::Pause, reason);
    }
    let (approvers, blockers) =
        genuine_reviews_with(policy, &c.reviews, &c.pr.head_sha, c.commits.as_deref());
    if !blockers.is_empty() {
        return verdict(
            Action::Wait,
            Reason::RequestChanges {
                by: blockers.into_iter().collect(),
            },
        );
    }
    if (approvers.len() as u64) < u64::from(policy.required_approvals) {
        return verdict(
            Action::Wait,
            Reason::InsufficientApprovals {
                have: approvers.into_iter().collect(),
                need: policy.required_approvals,
            },
        );
    }
    let required = required_states(policy, &c.statuses);
    if !c.contains_base {
        let red: Vec<(String, String)> = required
            .iter()
            .filter(|(_, s)| {
                !policy.is_green(s) && !matches!(s, ContextState::Pending | ContextState::Missing)
            })
            .map(|(n, s)| (n.clone(), s.as_str().to_string()))
            .collect();
        if !red.is_empty() {
            return verdict(
                Action::Wait,
                Reason::BehindWithRedRequired { contexts: red },
            );
        }
        return verdict(Action::Update, Reason::Behind);
    }
    let not_green_required = not_green(policy, &required);
    if !not_green_required.is_empty()
        && not_green_required
            .iter()
            .all(|(_, s)| s == "skipped" || s == "neutral")
    {
        return verdict(
            Action::Wait,
            Reason::RequiredSkipped {
                contexts: not_green_required,
            },
        );
    }
    if !not_green_required.is_empty() {
        return verdict(
            Action::Wait,
            Reason::RequiredNotGreen {
                contexts: not_green_required,
            },
        );
    }
    match c.pr.mergeable {
        None => return verdict(Action::Wait, Reason::MergeabilityUnknown),
        Some(false) => return verdict(Action::Wait, Reason::Conflicts),
        Some(true) => {}
    }
    let forced_past: Vec<String> = if policy.allow_force_merge {
        c.statuses
            .latest
            .iter()
            .filter(|(name, r)| !policy.required.covers(&name.0) && !policy.is_green(&r.state))
            .map(|(name, _)| name.0.clone())
            .collect()
    } else {
        Vec::new()
    };
    verdict(
        Action::Merge {
            force: !forced_past.is_empty(),
        },
        Reason::Ready {
            forced_past,
            note: policy.zero_approvals_note.clone(),
        },
    )
}
