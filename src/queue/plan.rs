//! The pure planning layer of a tick (SPEC §8): from a [`Snapshot`] to a [`TickPlan`] —
//! every decision, the ordered steps with their wording, the in-flight and stale-pending
//! rules — and what each answer of the forge means for the next step ([`after_merge`],
//! [`after_merge_refusal`], [`pre_merge_base`], …). No I/O, no clock: `tests/queue/plan.rs`
//! drives it with table-driven snapshots.

use std::collections::{BTreeMap, BTreeSet};

use super::github_rules;
use super::messages;
use super::policy::{self, Action, BaseState, CandidateState, Decision, QueuePolicy, Reason};
use super::report::TickOutcome;
use super::settings::QueueSettings;
use super::snapshot::Snapshot;
use crate::exit::ExitCode;
use crate::forge::{
    CommitStatuses, ContextState, MergeRefusal, PrState, PullRequest, Sha, UpdateRefusal,
};

/// One candidate's decision: the per-PR rules, refined by GitHub's own verdict.
pub fn decide(policy: &QueuePolicy, base: &BaseState, c: &CandidateState) -> Decision {
    github_rules::refine(policy, c, policy::decide(policy, base, c))
}

/// A `mergeward/queue` status to post on a candidate's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusStep {
    /// Index into [`TickPlan::decisions`].
    pub index: usize,
    pub state: ContextState,
    pub description: String,
}

/// A comment to post on a skipped PR (once per PR and reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentStep {
    /// Index into [`TickPlan::skips`].
    pub skip: usize,
    pub discriminator: String,
    pub body: String,
}

/// What a tick will do, in order. Merge attempts run first (a held one falls through to
/// the next); when none ends the tick and no PR is in flight, update attempts run.
#[derive(Debug, Clone, Default)]
pub struct TickPlan {
    /// The base gate: the queue is paused and nothing else happens.
    pub paused: Option<Reason>,
    /// One decision per read candidate, in queue order.
    pub decisions: Vec<Decision>,
    /// Decisions for listed PRs that are not candidates.
    pub skips: Vec<Decision>,
    /// Genuine approvals counted per read candidate.
    pub approvals: BTreeMap<u64, usize>,
    /// A token the forge rejected while reading: nothing is recorded or done.
    pub halted: bool,
    /// Whether the tick acts at all (not a read-only `queue status`, not halted).
    pub act: bool,
    /// `::notice::` annotations, one per decision.
    pub annotations: Vec<(&'static str, String)>,
    pub skip_comments: Vec<CommentStep>,
    pub statuses: Vec<StatusStep>,
    /// Merge attempts, in order (indices into `decisions`).
    pub merges: Vec<usize>,
    /// A PR is ready but the forge says the bot may not merge into the base (a merge
    /// whitelist without it): the tick ends with the bot's permission error (exit 3)
    /// before any merge, and no PR is held or told.
    pub merge_forbidden: bool,
    /// Notes the stale-pending rule adds.
    pub notes: Vec<String>,
    /// The candidate whose CI is in flight on the current base: no other PR is updated.
    pub in_flight: Option<usize>,
    /// Update attempts, in order, when nothing merged and nothing is in flight.
    pub updates: Vec<usize>,
}

/// Plans one tick from what was observed.
pub fn plan(snap: &Snapshot, s: &QueueSettings, status_only: bool) -> TickPlan {
    let policy = &snap.policy;
    let mut p = TickPlan {
        paused: policy::base_gate(policy, &snap.base),
        ..TickPlan::default()
    };
    if p.paused.is_some() {
        return p;
    }
    for pr in &snap.open {
        if let Some(reason) = policy::ineligible(policy, pr) {
            p.skips.push(Decision {
                pr: pr.number,
                head: pr.head_sha.clone(),
                base_head: snap.base.head.clone(),
                action: Action::Skip,
                reason,
            });
        }
    }
    for c in &snap.candidates {
        p.decisions.push(decide(policy, &snap.base, c));
        let (approvers, _) =
            policy::genuine_reviews_with(policy, &c.reviews, &c.pr.head_sha, c.commits.as_deref());
        p.approvals.insert(c.pr.number.0, approvers.len());
    }
    // A token the forge rejected while reading: every further call would fail the same way.
    p.halted = snap.token_rejected || snap.unreadable.iter().any(|u| u.exit == ExitCode::Auth);
    p.act = !status_only && !p.halted;
    if !p.act {
        return p;
    }
    for (i, d) in p.skips.iter().enumerate() {
        if let Some(body) = messages::skip_comment(&d.reason, &s.branch) {
            p.skip_comments.push(CommentStep {
                skip: i,
                discriminator: format!("skip:{}", d.reason.code()),
                body,
            });
        }
    }
    p.merges = p
        .decisions
        .iter()
        .enumerate()
        .filter(|(_, d)| matches!(d.action, Action::Merge { .. }))
        .map(|(i, _)| i)
        .collect();
    p.merge_forbidden = !p.merges.is_empty() && snap.bot_can_merge == Some(false);
    let total = p.decisions.len();
    for (i, d) in p.decisions.iter().enumerate() {
        p.annotations
            .push(("notice", messages::decision_annotation(d)));
        // The PR about to be merged gets `success` once merged instead.
        if p.merges.first() != Some(&i) {
            p.statuses.push(StatusStep {
                index: i,
                state: ContextState::Pending,
                description: messages::queue_line(i + 1, total, d, &s.branch),
            });
        }
    }
    let (in_flight, notes) = in_flight(&p.decisions, &snap.candidates, s.stale_pending, snap.now);
    p.in_flight = in_flight;
    p.notes = notes;
    p.updates = p
        .decisions
        .iter()
        .enumerate()
        .filter(|(_, d)| d.action == Action::Update)
        .map(|(i, _)| i)
        .collect();
    p
}

/// The required contexts a decision waits on while they are pending (empty unless the PR
/// only waits for CI to finish: every not-green required context pending or missing).
fn waits_for_ci(d: &Decision) -> Vec<&str> {
    match &d.reason {
        Reason::RequiredNotGreen { contexts }
            if contexts
                .iter()
                .all(|(_, s)| s == "pending" || s == "missing") =>
        {
            contexts
                .iter()
                .filter(|(_, s)| s == "pending")
                .map(|(n, _)| n.as_str())
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The in-flight rule (SPEC §8): a PR that contains the base and only waits for CI to
/// finish will likely merge next, and updating others now would only churn their CI. CI
/// pending for longer than `stale` is stuck, not in flight: it must not hold back every
/// other PR forever. Returns the first in-flight candidate and a note per stuck one before it.
pub fn in_flight(
    decisions: &[Decision],
    candidates: &[CandidateState],
    stale: Option<chrono::Duration>,
    now: chrono::DateTime<chrono::Utc>,
) -> (Option<usize>, Vec<String>) {
    let mut notes = Vec::new();
    for (i, (d, c)) in decisions.iter().zip(candidates).enumerate() {
        let pending = waits_for_ci(d);
        if pending.is_empty() {
            continue;
        }
        let stuck = stale.is_some_and(|limit| {
            pending
                .iter()
                .all(|ctx| pending_age(c, ctx, now).is_some_and(|age| age > limit))
        });
        if stuck {
            notes.push(messages::stale_pending_note(
                d.pr.0,
                stale.map(|l| l.num_hours()).unwrap_or_default(),
            ));
            continue;
        }
        return (Some(i), notes);
    }
    (None, notes)
}

/// How long a required context of a candidate has been pending: the age of its freshest
/// pending report. `context` is a name or, under Gitea glob protection, a pattern (then every
/// pending report it matches counts). `None` when no pending report has a readable timestamp:
/// it then counts as fresh, the conservative reading for "in flight".
pub fn pending_age(
    c: &CandidateState,
    context: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::Duration> {
    let glob = globset::GlobBuilder::new(context)
        .literal_separator(false)
        .build()
        .ok()
        .map(|g| g.compile_matcher());
    c.statuses
        .latest
        .iter()
        .filter(|(name, r)| {
            r.state == ContextState::Pending
                && (name.0 == context || glob.as_ref().is_some_and(|g| g.is_match(&name.0)))
        })
        .map(|(_, r)| {
            let at = r.updated_at.as_deref().or(r.created_at.as_deref())?;
            let at = chrono::DateTime::parse_from_rfc3339(at.trim()).ok()?;
            Some(now - at.with_timezone(&chrono::Utc))
        })
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .min()
}

/// The fair update after PR `merged` merged (SPEC §8): the candidates, oldest first, that
/// could merge once current — every other candidate is behind the new base now. PRs held in
/// this tick are out of the queue. At most one of them is updated (a held one falls through).
pub fn after_merge_updates(plan: &TickPlan, merged: u64, held: &BTreeSet<u64>) -> Vec<usize> {
    plan.decisions
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            d.pr.0 != merged && !held.contains(&d.pr.0) && policy::could_merge_once_current(d)
        })
        .map(|(i, _)| i)
        .collect()
}

/// What became of one merge attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeResult {
    Merged,
    /// The ledger already had this merge committed (an earlier run), and the forge agrees.
    Replayed,
    Deferred,
    /// The base's push-required contexts turned red before the merge.
    BaseRed,
    Held,
    Unknown,
}

/// What became of one update attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateResult {
    Updated,
    Held,
    Unknown,
}

/// After an attempt: stop acting (with the tick's outcome, if it has one), or try the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    Stop(Option<TickOutcome>),
    Next,
}

/// After a merge attempt of PR `pr`: one merge (or one deferral) per tick; a held PR falls
/// through to the next ready one; an undecidable one stops the tick.
pub fn after_merge(pr: u64, r: MergeResult) -> Flow {
    match r {
        MergeResult::Merged => Flow::Stop(Some(TickOutcome::Merged { pr })),
        MergeResult::Replayed => Flow::Stop(Some(TickOutcome::Replayed { pr })),
        MergeResult::Deferred => Flow::Stop(Some(TickOutcome::Deferred { pr })),
        MergeResult::BaseRed => Flow::Stop(Some(TickOutcome::Paused)),
        MergeResult::Unknown => Flow::Stop(None),
        MergeResult::Held => Flow::Next,
    }
}

/// After an update attempt of PR `pr`: one update per tick; a held PR falls through.
pub fn after_update(pr: u64, r: UpdateResult) -> Flow {
    match r {
        UpdateResult::Updated => Flow::Stop(Some(TickOutcome::Updated { pr })),
        UpdateResult::Unknown => Flow::Stop(None),
        UpdateResult::Held => Flow::Next,
    }
}

/// The tick's outcome when no attempt stopped it.
pub fn idle_outcome(held_any: bool) -> TickOutcome {
    if held_any {
        TickOutcome::Held
    } else {
        TickOutcome::Idle
    }
}

/// The verdict of a check made immediately before a merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreMerge {
    Go,
    /// Not this tick: something moved or changed. An annotation and/or a report note.
    Defer {
        annotation: Option<String>,
        note: Option<String>,
    },
    /// The base's push-required contexts turned red since they were read: pause.
    BaseRed {
        annotation: String,
        note: String,
    },
    /// The forge's own verdict blocks it: record this decision instead, and defer.
    Blocked {
        decision: Decision,
        note: String,
    },
}

/// The base head re-read before a merge (and its statuses, when push-required contexts
/// are configured): still the evaluated one, and still green?
pub fn pre_merge_base(
    policy: &QueuePolicy,
    d: &Decision,
    now_base: &Sha,
    statuses: Option<&CommitStatuses>,
) -> PreMerge {
    if now_base != &d.base_head {
        return PreMerge::Defer {
            annotation: Some(format!(
                "{} moved {} -> {}; deferring #{} to the next tick",
                policy.base_branch,
                d.base_head.short(8),
                now_base.short(8),
                d.pr.0
            )),
            note: None,
        };
    }
    if let Some(statuses) = statuses {
        let now = BaseState {
            head: now_base.clone(),
            statuses: statuses.clone(),
        };
        if let Some(reason) = policy::base_gate(policy, &now) {
            return PreMerge::BaseRed {
                annotation: format!("queue paused before merging #{}: {}", d.pr.0, reason.text()),
                note: format!(
                    "#{} not merged: the base turned red after it was read ({})",
                    d.pr.0,
                    reason.text()
                ),
            };
        }
    }
    PreMerge::Go
}

/// The PR re-read before a merge: same head, still open, still eligible, and (GitHub) not
/// blocked by the forge's own verdict.
pub fn pre_merge_pr(
    policy: &QueuePolicy,
    d: &Decision,
    c: &CandidateState,
    now_pr: &PullRequest,
) -> PreMerge {
    if now_pr.head_sha != d.head || now_pr.state != PrState::Open {
        return PreMerge::Defer {
            annotation: Some(format!(
                "PR #{} changed since it was evaluated; deferring to the next tick",
                d.pr.0
            )),
            note: None,
        };
    }
    // The live PR wins over the listing: an opt-out or hold label, a draft flag or a new
    // base set since the listing keeps it out of this merge.
    if let Some(reason) = policy::ineligible(policy, now_pr) {
        return PreMerge::Defer {
            annotation: None,
            note: Some(format!(
                "#{} is no longer eligible ({}); not merged",
                d.pr.0,
                reason.text()
            )),
        };
    }
    // GitHub's own verdict on the re-read PR, before every merge (second line of defence).
    if let Some(rules) = &policy.github
        && let Some(reason) = github_rules::mergeable_state_refusal(rules, policy, c, now_pr)
    {
        let decision = Decision {
            action: Action::Wait,
            reason,
            ..d.clone()
        };
        let note = format!("#{} not merged: {}", d.pr.0, decision.reason.text());
        return PreMerge::Blocked { decision, note };
    }
    PreMerge::Go
}

/// What moved since a decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// The PR head moved, or the PR closed.
    Pr,
    Base,
}

impl Moved {
    fn what(self) -> &'static str {
        match self {
            Moved::Pr => "the PR",
            Moved::Base => "the base branch",
        }
    }
}

/// What is known, so far, about a refusal's circumstances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// The token's permissions were checked and it is not the token's own problem.
    pub token_cleared: bool,
    /// What moved since the decision (`Some(None)`: nothing; `None`: not read yet).
    pub moved: Option<Option<Moved>>,
}

/// What a refusal means for the PR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Read the repository's permissions: a refusal that is the token's own missing
    /// permission ends the tick (exit 3) and no PR is held or told. Then decide again.
    CheckToken,
    /// Re-read the PR and the base head, then decide again with what moved.
    CheckMoved,
    /// Read the PR back: merged anyway counts as merged; else could-not-decide with `note`.
    CheckMerged { note: String },
    /// The refusal is about the PR, on its evaluated head and base: hold it.
    Hold { code: &'static str, why: String },
    /// Not now: something moved.
    Defer { note: String },
    /// Could not decide (the tick exits non-zero with the error's own class, 5 for most):
    /// never merge, never hold.
    Unknown { note: Option<String> },
}

/// What a refused merge of PR `pr` means. `err` is the refusal's text, for notes.
pub fn after_merge_refusal(pr: u64, r: &MergeRefusal, err: &str, facts: Facts) -> Next {
    let (http, detail, token_suspect) = match r {
        MergeRefusal::RateLimited => {
            // Nothing was merged and nothing is wrong with the PR: try again later.
            return Next::Unknown {
                note: Some(format!("merging #{pr} was rate-limited: {err}")),
            };
        }
        MergeRefusal::HeadMoved => {
            return Next::Defer {
                note: format!("#{pr}: the head moved before the merge (409); next tick"),
            };
        }
        MergeRefusal::Other => {
            return Next::CheckMerged {
                note: format!("merging #{pr} failed: {err}"),
            };
        }
        // The token check always ends the tick for these; should it not, never hold a PR on
        // a 401/403: that is the bot's access, not the PR.
        MergeRefusal::Unauthorized { .. } if facts.token_cleared => {
            return Next::Unknown { note: None };
        }
        MergeRefusal::Unauthorized { http } => (*http, err, true),
        MergeRefusal::NotAllowed { http, detail } => (*http, detail.as_str(), true),
        MergeRefusal::NotFound { http, detail } => (*http, detail.as_str(), false),
    };
    if token_suspect && !facts.token_cleared {
        return Next::CheckToken;
    }
    // A refusal may be the forge judging a head or base that moved after the re-read
    // (Gitea checks protection on the new head before the pin, so a push during the call is
    // a 405, not a 409). Only a refusal of the evaluated head on the evaluated base is
    // permanent.
    match facts.moved {
        None => Next::CheckMoved,
        Some(Some(m)) => Next::Defer {
            note: format!(
                "#{pr}: the merge was refused (HTTP {http}) after {} moved; next tick",
                m.what()
            ),
        },
        Some(None) => Next::Hold {
            code: "merge_refused",
            why: messages::merge_refused(http, detail),
        },
    }
}

/// What a refused branch update of PR `pr` means.
pub fn after_update_refusal(branch: &str, r: &UpdateRefusal, facts: Facts) -> Next {
    match r {
        UpdateRefusal::RateLimited | UpdateRefusal::Other => Next::Unknown { note: None },
        UpdateRefusal::Unauthorized { .. } | UpdateRefusal::NotAllowed { .. } => {
            if facts.token_cleared {
                Next::Unknown { note: None }
            } else {
                Next::CheckToken
            }
        }
        UpdateRefusal::Conflict => Next::Hold {
            code: "update_conflict",
            why: messages::update_conflict(branch),
        },
        UpdateRefusal::Refused { http, detail } => Next::Hold {
            code: "update_refused",
            why: messages::update_refused(*http, detail),
        },
    }
}
