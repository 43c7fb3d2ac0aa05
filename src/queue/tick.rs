//! One merge-queue tick: observe → decide → act → report (DESIGN.md §1).
//!
//! Observe reads protection, the base head (and its statuses when push-required contexts are
//! configured) and the open PRs, then evaluates candidates oldest first in windows of
//! bounded concurrency, stopping at the first window that holds a ready PR. Decide is
//! `policy::decide`. Act merges the first ready PR (re-reading the base head and the PR head
//! first, pinning the merge to the evaluated head), or, when nothing can merge, updates the
//! oldest behind PR. Every decision and effect goes to the ledger; effects carry idempotency
//! keys so a crashed or repeated tick never sends one twice.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;
use serde::Serialize;
use serde_json::json;

use super::github_rules;
use super::policy::{
    self, Action, BaseState, CandidateState, Decision, QueuePolicy, Reason, RequiredContexts,
};
pub use super::settings::QueueSettings;
use crate::error::{Error, ExitCode, Result};
use crate::forge::{
    Commit, ContextName, ContextState, Forge, ForgeError, ForgeKind, Label, MergeRequest,
    NewStatus, PrNumber, Protection, PullRequest, Sha,
};
use crate::ledger::{self, EffectKind, Evidence, Intent, Ledger, NewDecision, NewEffect, Outcome};
use crate::report::{ActionRecord, Progress};

/// The hidden marker every queue comment ends with: an HTML comment naming the effect's
/// idempotency key, so the forge itself tells whether a comment was posted (a lost ledger
/// never repeats one).
pub fn comment_marker(key: &str) -> String {
    format!("<!-- mergeward:effect {key} -->")
}

/// The `mergeward/queue` status description of a candidate: its position and the one thing
/// it waits for, e.g. `2 of 5 · waiting for CI / test (pull_request) (pending)`. At most 140
/// characters (GitHub's limit) once posted.
pub fn queue_line(position: usize, total: usize, d: &Decision, branch: &str) -> String {
    format!("{position} of {total} · {}", waits_for(d, branch))
}

/// The one thing a candidate decided as `d` waits for, in a few words.
pub fn waits_for(d: &Decision, branch: &str) -> String {
    let first = |v: &[(String, String)]| {
        v.first()
            .map(|(c, s)| format!("{c} ({s})"))
            .unwrap_or_default()
    };
    match &d.reason {
        Reason::Ready { .. } => "ready (next)".to_string(),
        Reason::Behind => format!("behind {branch}: waiting for an update"),
        Reason::RequiredNotGreen { contexts } => format!("waiting for {}", first(contexts)),
        Reason::InsufficientApprovals { have, need } => {
            format!("waiting for approvals ({}/{need})", have.len())
        }
        Reason::RequestChanges { by } => format!("changes requested by {}", by.join(", ")),
        Reason::BehindWithRedRequired { contexts } => {
            format!("fix {} first (behind {branch})", first(contexts))
        }
        Reason::MergeabilityUnknown => "waiting for the forge's mergeability check".to_string(),
        Reason::Conflicts => format!("conflicts with {branch}"),
        other => other.text(),
    }
}

/// The ledger's command name for a tick's runs.
pub const RUN_COMMAND: &str = "queue tick";

/// The queue's own status context. Never counted among the required contexts.
pub const QUEUE_CONTEXT: &str = "mergeward/queue";

/// Separates the label from the run id in the discriminator of a re-applied hold label.
const REAPPLY: &str = "#reapply:";

/// What the tick did, as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TickOutcome {
    Merged {
        pr: u64,
    },
    /// The merge this tick would send was already committed by an earlier run (the ledger
    /// says so and the forge agrees): nothing was sent.
    Replayed {
        pr: u64,
    },
    Updated {
        pr: u64,
    },
    /// The base moved (or the PR head moved) between evaluation and merge: next tick.
    Deferred {
        pr: u64,
    },
    /// The base branch is not green.
    Paused,
    /// Candidates were held (permanent merge/update errors) and nothing else could act.
    Held,
    /// Nothing to do: no candidates, or all are waiting.
    Idle,
}

impl TickOutcome {
    pub fn word(&self) -> &'static str {
        match self {
            TickOutcome::Merged { .. } => "merged",
            TickOutcome::Replayed { .. } => "replayed",
            TickOutcome::Updated { .. } => "updated",
            TickOutcome::Deferred { .. } => "deferred",
            TickOutcome::Paused => "paused",
            TickOutcome::Held => "held",
            TickOutcome::Idle => "idle",
        }
    }
}

/// A candidate that could not be evaluated (its reads failed): never merged.
#[derive(Debug, Clone, Serialize)]
pub struct Unevaluated {
    pub pr: u64,
    pub error: String,
    pub exit_label: &'static str,
}

/// The full result of a tick.
#[derive(Debug, Clone, Serialize)]
pub struct TickReport {
    pub outcome: TickOutcome,
    pub base_head: Option<Sha>,
    pub required_contexts: Vec<String>,
    pub required_approvals: u32,
    /// Decisions in queue order (skips last).
    pub decisions: Vec<Decision>,
    pub unevaluated: Vec<Unevaluated>,
    /// Open PRs not read this tick because a ready PR was found earlier in the queue.
    pub not_evaluated: Vec<u64>,
    pub actions: Vec<ActionRecord>,
    pub notes: Vec<String>,
    /// The branch the queue serves.
    pub branch: String,
    /// Genuine approvals counted per evaluated PR.
    pub approvals: BTreeMap<u64, usize>,
    /// Why each PR carrying the hold label was held (from the ledger, or the hold comment).
    pub held: BTreeMap<u64, String>,
    /// Title and link of every open PR listed.
    pub prs: BTreeMap<u64, PrSummary>,
}

/// What the reports show of a PR besides its decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrSummary {
    pub title: String,
    pub url: Option<String>,
}

impl TickReport {
    /// The tick's exit code: could-not-decide when any candidate could not be evaluated
    /// or an effect's outcome is unknown, even if another PR merged.
    pub fn exit_code(&self) -> ExitCode {
        if self
            .unevaluated
            .iter()
            .any(|u| u.exit_label == ExitCode::Auth.label())
        {
            ExitCode::Auth
        } else if !self.unevaluated.is_empty()
            || self.actions.iter().any(|a| a.outcome == "unknown")
        {
            ExitCode::CouldNotDecide
        } else {
            ExitCode::Success
        }
    }
}

/// Everything a tick needs.
pub struct Tick<'a, F: Forge> {
    pub forge: &'a F,
    pub ledger: &'a Ledger,
    pub run_id: &'a str,
    pub settings: &'a QueueSettings,
    pub dry_run: bool,
    pub progress: &'a Progress,
    /// Record decisions and effects (false for the read-only `queue status`).
    pub record: bool,
    /// `queue status`: evaluate every open PR and act on none.
    pub status_only: bool,
}

fn err_label(e: &ForgeError) -> &'static str {
    e.exit_code().label()
}

/// Builds the policy from protection and settings; refuses what cannot be trusted.
pub fn build_policy(kind: ForgeKind, p: &Protection, s: &QueueSettings) -> Result<QueuePolicy> {
    let unusable = |msg: String, hint: &str| Error::ForgeCtx {
        context: format!("queue held: branch protection of {}", s.branch),
        err: Box::new(ForgeError::Decode {
            method: "GET".into(),
            path: format!("protection of {}", s.branch),
            detail: msg,
        }),
        hint: Some(hint.to_string()),
    };
    let mut contexts: Vec<String> = p.required_contexts.clone();
    let before = contexts.len();
    contexts.retain(|c| c != QUEUE_CONTEXT);
    if contexts.len() != before {
        tracing::warn!(
            "branch protection requires {QUEUE_CONTEXT}, the queue's own context; ignoring it (it cannot gate itself)"
        );
    }
    if p.status_checks_enabled && contexts.is_empty() {
        return Err(unusable(
            "status checks are enabled with an empty list of required contexts".into(),
            "list the required contexts in branch protection; mergeward will not guess which statuses gate a merge",
        ));
    }
    if contexts.is_empty() && !s.allow_no_required_contexts {
        return Err(unusable(
            "no required status contexts: nothing would prove a PR green".into(),
            "require status checks in branch protection, or set queue.allow_no_required_contexts = true to merge on approvals alone",
        ));
    }
    let required = match kind {
        ForgeKind::GitHub => RequiredContexts::Exact(contexts),
        _ => RequiredContexts::globs(&contexts).map_err(|m| {
            unusable(
                m,
                "fix the pattern in branch protection (Gitea uses glob patterns)",
            )
        })?,
    };
    let mut opt_out: BTreeSet<String> = s.opt_out_labels.iter().cloned().collect();
    opt_out.insert(s.hold_label.clone());
    let (required_approvals, zero_approvals_note) = required_approvals(p, s);
    Ok(QueuePolicy {
        base_branch: s.branch.clone(),
        required,
        required_approvals,
        zero_approvals_note,
        block_on_rejected_reviews: p.block_on_rejected_reviews == Some(true),
        trusted_status_creators: s.trusted_status_creators.iter().cloned().collect(),
        reviewers: s.reviewers.iter().cloned().collect(),
        push_required_contexts: s.push_required_contexts.clone(),
        green_states: s.green_states.iter().cloned().collect(),
        request_changes_from_anyone_blocks: s.request_changes_from_anyone_blocks,
        allow_force_merge: s.allow_force_merge,
        opt_out_labels: opt_out,
        queue_label: s.queue_label.clone(),
        auto_discover: s.auto_discover,
        github: p.github.clone(),
    })
}

/// The approvals a merge needs: protection's count (the configured fallback when protection
/// does not say), raised to `queue.min_approvals`. When that is 0, a note saying so.
pub fn required_approvals(p: &Protection, s: &QueueSettings) -> (u32, Option<String>) {
    let (from_protection, source) = match p.required_approvals {
        Some(n) => (n, "branch protection requires"),
        None => (
            s.required_approvals_fallback,
            "branch protection does not say and queue.required_approvals is",
        ),
    };
    // GitHub: when a protection source could not be read, queue.required_approvals is a
    // floor (a ruleset's count never stands in for the unknown classic one).
    let from_protection = from_protection
        .max(super::github_rules::required_approvals(p, s.required_approvals_fallback).0);
    let n = from_protection.max(s.min_approvals);
    let note = (n == 0).then(|| {
        format!(
            "no approval required: {source} 0 and queue.min_approvals is 0; set queue.min_approvals to require reviews"
        )
    });
    (n, note)
}

/// Whether the PR head contains `base`: the stored merge base is it, or a PR commit is it
/// or has it as a parent (the boundary commit of a history that contains it).
pub fn contains_base(pr: &PullRequest, commits: &[Commit], base: &Sha) -> bool {
    pr.merge_base.as_ref() == Some(base)
        || commits
            .iter()
            .any(|c| &c.sha == base || c.parents.iter().any(|p| p == base))
}

fn ledger_action(a: Action) -> ledger::Action {
    match a {
        Action::Merge { .. } => ledger::Action::Merge,
        Action::Update => ledger::Action::Update,
        Action::Wait => ledger::Action::Wait,
        Action::Skip => ledger::Action::Skip,
        Action::Pause => ledger::Action::Pause,
    }
}

fn evidence(policy: &QueuePolicy, d: &Decision, c: Option<&CandidateState>) -> Evidence {
    let mut e = Evidence {
        head_sha: Some(d.head.to_string()),
        base_sha: Some(d.base_head.to_string()),
        required_approvals: Some(policy.required_approvals),
        ..Evidence::default()
    };
    if let Some(c) = c {
        e.mergeable = c.pr.mergeable;
        for (name, state) in policy::required_states(policy, &c.statuses) {
            e.contexts.insert(name, state.as_str().to_string());
        }
        let (approvers, _) = policy::genuine_reviews(policy, &c.reviews, &c.pr.head_sha);
        e.approvals = approvers.into_iter().collect();
        e.extra
            .insert("contains_base".into(), json!(c.contains_base));
        if let Some(state) = &c.pr.mergeable_state {
            e.extra.insert("mergeable_state".into(), json!(state));
        }
    }
    github_rules::add_evidence(policy, &mut e.extra);
    e
}

/// The result of one effect attempt.
enum Done {
    Ok,
    /// The forge refused; the error is kept for classification.
    Refused(ForgeError),
}

impl<F: Forge> Tick<'_, F> {
    fn ledger_err(e: ledger::LedgerError) -> Error {
        Error::from(e)
    }

    fn new_decision(
        &self,
        policy: &QueuePolicy,
        d: &Decision,
        c: Option<&CandidateState>,
        action_override: Option<ledger::Action>,
        reason_override: Option<(&str, String)>,
    ) -> Result<NewDecision> {
        self.progress.emit(
            "subject_evaluated",
            json!({ "subject": format!("pr:{}", d.pr.0), "action": d.action.as_str(), "reason": d.reason.code(), "head": d.head.as_str() }),
        );
        let (code, text) = match reason_override {
            Some((c, t)) => (c.to_string(), t),
            None => (d.reason.code().to_string(), d.reason.text()),
        };
        Ok(NewDecision {
            run_id: self.run_id.to_string(),
            subject: ledger::pr_subject(d.pr.0),
            action: action_override.unwrap_or(ledger_action(d.action)),
            reason_code: ledger::ReasonCode::new(code).map_err(Self::ledger_err)?,
            reason_text: text,
            evidence: evidence(policy, d, c),
            dry_run: self.dry_run,
        })
    }

    /// Records one decision on its own (used for holds, between effects).
    async fn record_decision(
        &self,
        policy: &QueuePolicy,
        d: &Decision,
        c: Option<&CandidateState>,
        action_override: Option<ledger::Action>,
        reason_override: Option<(&str, String)>,
    ) -> Result<Option<String>> {
        let nd = self.new_decision(policy, d, c, action_override, reason_override)?;
        if !self.record {
            return Ok(None);
        }
        let rec = self
            .ledger
            .record_decision(&nd)
            .await
            .map_err(Self::ledger_err)?;
        Ok(Some(rec.id().to_string()))
    }

    /// Records the tick's decisions in one transaction (no forge call happens inside it).
    async fn record_decisions(
        &self,
        policy: &QueuePolicy,
        items: &[(&Decision, Option<&CandidateState>)],
    ) -> Result<Vec<Option<String>>> {
        let mut records = Vec::with_capacity(items.len());
        for (d, c) in items {
            records.push(self.new_decision(policy, d, *c, None, None)?);
        }
        if !self.record {
            return Ok(vec![None; items.len()]);
        }
        let mut tx = self.ledger.tick().await.map_err(Self::ledger_err)?;
        let mut ids = Vec::with_capacity(records.len());
        for nd in &records {
            let rec = tx.record_decision(nd).await.map_err(Self::ledger_err)?;
            ids.push(Some(rec.id().to_string()));
        }
        tx.commit().await.map_err(Self::ledger_err)?;
        Ok(ids)
    }

    /// Runs one effect through the ledger: intent first, then the forge call, then the
    /// outcome. A committed key is never sent again; an unresolved one (crash, lost
    /// answer) is resolved by reading the forge before anything is sent.
    #[allow(clippy::too_many_arguments)]
    async fn effect<Fut>(
        &self,
        report: &mut TickReport,
        decision_id: Option<&str>,
        pr: PrNumber,
        kind: EffectKind,
        head: Option<&Sha>,
        base: Option<&Sha>,
        discriminator: &str,
        send: impl Fn() -> Fut,
    ) -> Result<Done>
    where
        Fut: std::future::Future<Output = std::result::Result<(), ForgeError>>,
    {
        let subject = ledger::pr_subject(pr.0);
        let ne = NewEffect {
            run_id: self.run_id.to_string(),
            decision_id: decision_id.map(str::to_string),
            subject: subject.clone(),
            kind,
            head_sha: head.map(Sha::to_string),
            base_sha: base.map(Sha::to_string),
            discriminator: discriminator.to_string(),
            payload: json!({ "discriminator": discriminator }),
        };
        let key = ne.key();
        let mut record = |outcome: &str| {
            report.actions.push(ActionRecord {
                subject: subject.clone(),
                kind: kind.as_str().to_string(),
                sha: head.map(Sha::to_string),
                outcome: outcome.to_string(),
                idempotency_key: Some(key.clone()),
            })
        };
        if self.dry_run || !self.record {
            record("dry_run");
            return Ok(Done::Ok);
        }
        let mut intent = self
            .ledger
            .record_intent(&ne)
            .await
            .map_err(Self::ledger_err)?;
        if let Intent::Unresolved { prior } = &intent {
            let done = self
                .resolve(kind, pr, head, base.map(Sha::as_str), discriminator)
                .await?;
            let outcome = if done {
                Outcome::Committed
            } else {
                Outcome::Failed("not found on the forge after an interrupted attempt".into())
            };
            self.ledger
                .record_outcome(&prior.id, &outcome)
                .await
                .map_err(Self::ledger_err)?;
            intent = self
                .ledger
                .record_intent(&ne)
                .await
                .map_err(Self::ledger_err)?;
        }
        let id = match intent {
            Intent::Proceed(id) if kind == EffectKind::Comment => {
                // The ledger may have been lost (a CI cache gone): the forge itself says
                // whether this comment was posted, by its hidden marker.
                match self.forge.comment_bodies(pr).await {
                    Ok(bodies) if bodies.iter().any(|b| b.contains(&comment_marker(&key))) => {
                        self.ledger
                            .record_outcome(&id, &Outcome::Committed)
                            .await
                            .map_err(Self::ledger_err)?;
                        record("replayed");
                        return Ok(Done::Ok);
                    }
                    Ok(_) => id,
                    Err(e) => {
                        self.ledger
                            .record_outcome(
                                &id,
                                &Outcome::Failed(format!(
                                    "not sent: the PR's comments could not be read to rule out a repeat: {e}"
                                )),
                            )
                            .await
                            .map_err(Self::ledger_err)?;
                        record("failed");
                        return Ok(Done::Refused(e));
                    }
                }
            }
            Intent::Proceed(id) => id,
            Intent::Replayed { .. } => {
                record("replayed");
                return Ok(Done::Ok);
            }
            Intent::Unresolved { .. } => {
                record("unknown");
                return Ok(Done::Ok);
            }
        };
        self.progress.emit(
            "effect_started",
            json!({ "subject": subject, "kind": kind.as_str(), "sha": head.map(Sha::as_str), "idempotency_key": key }),
        );
        let result = send().await;
        let (outcome, word, done) = match result {
            Ok(()) => (Outcome::Committed, "committed", Done::Ok),
            Err(e) if e.outcome_unknown() => {
                (Outcome::Unknown(e.to_string()), "unknown", Done::Refused(e))
            }
            Err(e) => (Outcome::Failed(e.to_string()), "failed", Done::Refused(e)),
        };
        self.ledger
            .record_outcome(&id, &outcome)
            .await
            .map_err(Self::ledger_err)?;
        self.progress.emit(
            "effect_completed",
            json!({ "subject": subject, "kind": kind.as_str(), "outcome": word, "idempotency_key": key }),
        );
        record(word);
        Ok(done)
    }

    /// Whether an interrupted effect took place, read from the forge.
    async fn resolve(
        &self,
        kind: EffectKind,
        pr: PrNumber,
        head: Option<&Sha>,
        base: Option<&str>,
        disc: &str,
    ) -> Result<bool> {
        Ok(match kind {
            EffectKind::Merge => self.forge.pull(pr).await?.merged,
            EffectKind::Update => Some(&self.forge.pull(pr).await?.head_sha) != head,
            EffectKind::Label => {
                let name = disc
                    .strip_prefix("label:")
                    .map(|n| n.split(REAPPLY).next().unwrap_or(n));
                self.forge
                    .pull(pr)
                    .await?
                    .labels
                    .iter()
                    .any(|l| name == Some(l.0.as_str()))
            }
            EffectKind::Status => match head {
                Some(h) => {
                    let st = self.forge.statuses(h).await?;
                    st.latest
                        .get(&ContextName(QUEUE_CONTEXT.into()))
                        .is_some_and(|r| {
                            disc.ends_with(r.description.as_deref().unwrap_or("\u{0}"))
                        })
                }
                None => false,
            },
            // Every comment carries its effect's hidden marker.
            EffectKind::Comment => {
                let key = ledger::effect_key(
                    &ledger::pr_subject(pr.0),
                    kind,
                    head.map(Sha::as_str),
                    base,
                    disc,
                );
                self.forge
                    .comment_bodies(pr)
                    .await?
                    .iter()
                    .any(|b| b.contains(&comment_marker(&key)))
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn comment(
        &self,
        report: &mut TickReport,
        decision_id: Option<&str>,
        pr: PrNumber,
        head: Option<&Sha>,
        base: Option<&Sha>,
        disc: &str,
        body: String,
    ) -> Result<()> {
        let f = self.forge;
        let key = ledger::effect_key(
            &ledger::pr_subject(pr.0),
            EffectKind::Comment,
            head.map(Sha::as_str),
            base.map(Sha::as_str),
            disc,
        );
        let body = format!("{body}\n\n{}", comment_marker(&key));
        let done = self
            .effect(
                report,
                decision_id,
                pr,
                EffectKind::Comment,
                head,
                base,
                disc,
                || f.comment(pr, &body),
            )
            .await?;
        if let Done::Refused(e) = done {
            report
                .notes
                .push(format!("could not comment on #{}: {e}", pr.0));
        }
        Ok(())
    }

    /// Holds a wedged PR: the hold label, then a comment that says why and how to requeue.
    async fn hold(
        &self,
        report: &mut TickReport,
        policy: &QueuePolicy,
        d: &Decision,
        c: Option<&CandidateState>,
        code: &str,
        why: String,
    ) -> Result<()> {
        let hold = &self.settings.hold_label;
        let did = self
            .record_decision(
                policy,
                d,
                c,
                Some(ledger::Action::Hold),
                Some((code, why.clone())),
            )
            .await?;
        annotate("error", &format!("PR #{} held: {why}", d.pr.0));
        self.queue_status(report, d, ContextState::Failure, format!("held: {why}"), c)
            .await?;
        let f = self.forge;
        let label = Label(hold.clone());
        let mut disc = format!("label:{hold}");
        let done = loop {
            let done = self
                .effect(
                    report,
                    did.as_deref(),
                    d.pr,
                    EffectKind::Label,
                    Some(&d.head),
                    Some(&d.base_head),
                    &disc,
                    || f.add_label(d.pr, &label),
                )
                .await?;
            let replayed = report
                .actions
                .last()
                .is_some_and(|a| a.outcome == "replayed");
            if !replayed || disc.contains(REAPPLY) {
                break done;
            }
            // The ledger says the label was applied for this head and base, yet the PR was
            // a candidate, so it does not carry it: a human removed it to requeue the PR
            // and the forge refused again. Apply it again (once per run); the comment
            // keeps its key and is not repeated.
            disc = format!("label:{hold}{REAPPLY}{}", self.run_id);
        };
        let note = match done {
            Done::Ok => String::new(),
            Done::Refused(e)
                if let Some(err) = self.token_problem(&e, &format!("label #{}", d.pr.0)).await =>
            {
                return Err(err);
            }
            Done::Refused(ForgeError::Missing { what, hint }) => {
                return Err(Error::Permission {
                    message: format!(
                        "cannot hold #{}: the hold label is missing ({what}); no PR was held or told",
                        d.pr.0
                    ),
                    hint: Some(format!(
                        "{hint}, or run `mergeward forge check --fix` to create the queue's labels"
                    )),
                });
            }
            Done::Refused(e) => {
                report
                    .notes
                    .push(format!("could not apply {hold:?} to #{}: {e}", d.pr.0));
                // The PR stays a candidate and its refused action would be retried every
                // tick: make the run red so a human applies the label.
                report.unevaluated.push(Unevaluated {
                    pr: d.pr.0,
                    error: format!("the hold label {hold:?} could not be applied: {e}"),
                    exit_label: err_label(&e),
                });
                format!(
                    "\n\n(NOTE: could not apply the hold label automatically: {e}. Please add `{hold}` manually.)"
                )
            }
        };
        let body = format!(
            "mergeward: holding this PR with `{hold}`: {why}.\n\nFix the cause, then remove the `{hold}` label to requeue it.{note}"
        );
        self.comment(
            report,
            did.as_deref(),
            d.pr,
            Some(&d.head),
            Some(&d.base_head),
            &format!("hold:{code}"),
            body,
        )
        .await
    }

    async fn queue_status(
        &self,
        report: &mut TickReport,
        d: &Decision,
        state: ContextState,
        description: String,
        current: Option<&CandidateState>,
    ) -> Result<()> {
        if !self.settings.post_status {
            return Ok(());
        }
        let f = self.forge;
        let status = NewStatus {
            context: ContextName(QUEUE_CONTEXT.into()),
            state: state.clone(),
            description: description.chars().take(140).collect(),
            target_url: None,
        };
        // Posted only when it changed: the head's statuses were read to decide, so the
        // queue's own latest report is known without another request.
        let unchanged = current
            .filter(|c| c.pr.head_sha == d.head)
            .and_then(|c| c.statuses.latest.get(&ContextName(QUEUE_CONTEXT.into())))
            .is_some_and(|r| {
                r.state == state && r.description.as_deref() == Some(status.description.as_str())
            });
        if unchanged {
            return Ok(());
        }
        let disc = format!("status:{}:{}", state.as_str(), status.description);
        let done = self
            .effect(
                report,
                None,
                d.pr,
                EffectKind::Status,
                Some(&d.head),
                Some(&d.base_head),
                &disc,
                || f.post_status(&d.head, &status),
            )
            .await?;
        if let Done::Refused(e) = done {
            report.notes.push(format!(
                "could not post {QUEUE_CONTEXT} on #{}: {e}",
                d.pr.0
            ));
        }
        Ok(())
    }

    /// Reads what `decide` needs about one candidate.
    async fn observe(
        &self,
        listed: &PullRequest,
        base: &Sha,
    ) -> std::result::Result<CandidateState, ForgeError> {
        let f = self.forge;
        // GitHub's list items carry no `mergeable`: read the PR itself. Gitea's list has it.
        let pr = if f.kind() == ForgeKind::GitHub {
            f.pull(listed.number).await?
        } else {
            listed.clone()
        };
        let (statuses, reviews, commits) =
            tokio::try_join!(f.statuses(&pr.head_sha), f.reviews(pr.number), async {
                if pr.merge_base.as_ref() == Some(base) {
                    Ok(None)
                } else {
                    f.pull_commits(pr.number).await.map(Some)
                }
            },)?;
        // An approval of an earlier head may survive the queue's base merges: the PR's
        // complete commit list proves (or disproves) that only base merges followed it.
        let carried = reviews.iter().any(|r| {
            r.state == crate::forge::ReviewState::Approved
                && r.commit_id.as_ref().is_some_and(|c| c != &pr.head_sha)
        });
        let commits = match commits {
            None if carried => Some(f.pull_commits(pr.number).await?),
            other => other,
        };
        let contains = contains_base(&pr, commits.as_deref().unwrap_or_default(), base);
        Ok(CandidateState {
            pr,
            contains_base: contains,
            statuses,
            reviews,
            commits,
        })
    }

    /// Why PR `n` was held: the ledger's latest hold decision, else (a read-only `queue
    /// status`, or a lost ledger) the queue's hold comment on the PR. `None` when neither
    /// says (e.g. a human applied the label).
    async fn hold_reason(&self, n: PrNumber) -> Option<String> {
        if self.record
            && let Ok(chain) = self.ledger.explain(&ledger::pr_subject(n.0)).await
            && let Some(h) = chain.iter().find(|d| d.action == ledger::Action::Hold)
        {
            return Some(h.reason_text.clone());
        }
        let bodies = self.forge.comment_bodies(n).await.ok()?;
        let prefix = format!(
            "mergeward: holding this PR with `{}`: ",
            self.settings.hold_label
        );
        bodies.iter().rev().find_map(|b| {
            let rest = b.strip_prefix(&prefix)?;
            let end = rest.find(".\n\nFix the cause").unwrap_or(rest.len());
            Some(rest[..end].to_string())
        })
    }

    /// Whether PR `n` is gone: closed, merged or deleted (a 404 on the PR itself).
    async fn gone(&self, n: PrNumber) -> std::result::Result<bool, ForgeError> {
        match self.forge.pull(n).await {
            Ok(p) => Ok(p.state != crate::forge::PrState::Open || p.merged),
            Err(e) if e.status() == Some(404) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Whether a refusal of `what` is mergeward's own token lacking a permission. A 401 or
    /// 403 always is (a scope or access the token lacks; the forge's rules answer 405, 409
    /// or 422); a 405 is when the repository's `permissions` say the token cannot push.
    /// Returns the error that ends the tick (exit 3, or 5 when the permissions cannot be
    /// read), or `None` when the refusal is about the PR.
    async fn token_problem(&self, e: &ForgeError, what: &str) -> Option<Error> {
        let status = e.status()?;
        if !matches!(status, 401 | 403 | 405) {
            return None;
        }
        let repo = self.forge.repo().to_string();
        let perms = match self.forge.repository().await {
            Ok(r) => r.and_then(|r| r.permissions),
            Err(re) if status == 405 => {
                return Some(Error::ForgeCtx {
                    context: format!(
                        "the forge refused to {what} (HTTP 405) and the repository's permissions could not be read to tell whether the token lacks one"
                    ),
                    err: Box::new(re),
                    hint: Some("nothing was held; the next tick retries".into()),
                });
            }
            Err(_) => None,
        };
        let cannot_push = perms.as_ref().is_some_and(|p| !p.push && !p.admin);
        if status == 405 && !cannot_push {
            return None;
        }
        let seen = match &perms {
            Some(p) => format!(
                "; the repository reports admin={}, push={}, pull={} for it",
                p.admin, p.push, p.pull
            ),
            None => String::new(),
        };
        Some(Error::Permission {
            message: format!(
                "mergeward's token may not {what} in {repo} (HTTP {status}{seen}); no PR was held or told, this is the bot's configuration"
            ),
            hint: Some(
                "give the token's account write access to the repository (merge, push to PR branches, labels, comments, statuses) and, for scoped tokens, the write:repository and write:issue scopes (GitHub: contents, pull-requests, issues and statuses: write); `mergeward forge check` shows what it has".into(),
            ),
        })
    }

    /// Crash recovery: every effect an earlier `queue tick` on this repository and branch
    /// recorded the intent of without an outcome (killed mid-call) or with an unknown one (the
    /// answer was lost) is resolved by reading the forge, and its outcome recorded, before
    /// this tick decides anything.
    async fn recover(&self, report: &mut TickReport) -> Result<()> {
        if !self.record || self.dry_run {
            return Ok(());
        }
        let repo = self.forge.repo().to_string();
        let open = self
            .ledger
            .unresolved_effects(RUN_COMMAND, &repo, &self.settings.branch, self.run_id)
            .await
            .map_err(Self::ledger_err)?;
        for e in open {
            let Some(pr) = ledger::pr_number(&e.subject) else {
                continue;
            };
            let head = e.head_sha.as_deref().and_then(Sha::parse);
            match self
                .resolve(
                    e.kind,
                    PrNumber(pr),
                    head.as_ref(),
                    e.base_sha.as_deref(),
                    &e.discriminator,
                )
                .await
            {
                Ok(done) => {
                    let outcome = if done {
                        Outcome::Committed
                    } else {
                        Outcome::Failed(
                            "not found on the forge after an interrupted attempt".into(),
                        )
                    };
                    self.ledger
                        .record_outcome(&e.id, &outcome)
                        .await
                        .map_err(Self::ledger_err)?;
                    report.notes.push(format!(
                        "recovered: run {}'s {} on #{pr} ({}) was {} on the forge",
                        e.run_id,
                        e.kind.as_str(),
                        e.discriminator,
                        if done { "done" } else { "not done" }
                    ));
                }
                Err(err) => report.unevaluated.push(Unevaluated {
                    pr,
                    error: format!(
                        "run {}'s interrupted {} could not be resolved from the forge: {err}",
                        e.run_id,
                        e.kind.as_str()
                    ),
                    exit_label: err.exit_code().label(),
                }),
            }
        }
        Ok(())
    }

    /// One tick.
    pub async fn run(&self) -> Result<TickReport> {
        let s = self.settings;
        let f = self.forge;
        // On a terminal, something moves from the first request on.
        let spin = crate::report::ClearOnDrop(self.progress.spinner(&format!(
            "reading {}'s protection, head and open pull requests",
            s.branch
        )));
        let protection = f.protection(&s.branch).await.map_err(|e| {
            let hint = match e.status() {
                Some(401) => "the forge rejected the token; the queue never merges without reading the required contexts".to_string(),
                Some(403) => "the token may not read the branch protection; the queue never merges without the required contexts".to_string(),
                Some(404) => format!(
                    "the repository or the branch {} does not exist, or the token cannot see it: check --repo and --branch",
                    s.branch
                ),
                _ => "the queue never merges without the required contexts; the next tick tries again".to_string(),
            };
            Error::ForgeCtx {
                context: format!(
                    "queue held: cannot read the branch protection of {}",
                    s.branch
                ),
                err: Box::new(e),
                hint: Some(hint),
            }
        })?;
        let policy = build_policy(f.kind(), &protection, s)?;
        github_rules::check_config(&protection, s.merge_method)?;
        let mut report = TickReport {
            outcome: TickOutcome::Idle,
            base_head: None,
            required_contexts: policy.required.names(),
            required_approvals: policy.required_approvals,
            decisions: Vec::new(),
            unevaluated: Vec::new(),
            not_evaluated: Vec::new(),
            actions: Vec::new(),
            notes: protection.gaps.clone(),
            branch: s.branch.clone(),
            approvals: BTreeMap::new(),
            held: BTreeMap::new(),
            prs: BTreeMap::new(),
        };
        if let (_, Some(note)) =
            github_rules::required_approvals(&protection, s.required_approvals_fallback)
        {
            report.notes.push(note);
        }
        if let Some(g) = &protection.github {
            report.notes.extend(g.notes.iter().cloned());
        }
        self.recover(&mut report).await?;
        // GitHub's protection read already returned the base head: not read twice.
        let base_head = match protection.head.clone() {
            Some(h) => h,
            None => f.branch_head(&s.branch).await?,
        };
        report.base_head = Some(base_head.clone());
        let base_statuses = if policy.push_required_contexts.is_empty() {
            crate::forge::CommitStatuses::reduce(base_head.clone(), Vec::new())
        } else {
            f.statuses(&base_head).await?
        };
        let base = BaseState {
            head: base_head.clone(),
            statuses: base_statuses,
        };
        if let Some(reason) = policy::base_gate(&policy, &base) {
            annotate("notice", &format!("queue paused: {}", reason.text()));
            report.notes.push(reason.text());
            report.outcome = TickOutcome::Paused;
            return Ok(report);
        }

        let open = f.open_pulls().await?;
        for pr in &open {
            report.prs.insert(
                pr.number.0,
                PrSummary {
                    title: pr.title.clone(),
                    url: pr.url.clone(),
                },
            );
        }
        let mut candidates = Vec::new();
        let mut skips = Vec::new();
        for pr in &open {
            match policy::ineligible(&policy, pr) {
                Some(reason) => skips.push(Decision {
                    pr: pr.number,
                    head: pr.head_sha.clone(),
                    base_head: base_head.clone(),
                    action: Action::Skip,
                    reason,
                }),
                None => candidates.push(pr.clone()),
            }
        }
        drop(spin);
        // Evaluate in FIFO windows; stop after the window that holds a ready PR.
        let bar = self
            .progress
            .bar(candidates.len() as u64, "evaluating pull requests");
        let mut evaluated: Vec<(Decision, CandidateState)> = Vec::new();
        let window = s.window.max(1);
        let mut found_ready = false;
        for (i, chunk) in candidates.chunks(window).enumerate() {
            if found_ready && !self.status_only {
                report
                    .not_evaluated
                    .extend(candidates[i * window..].iter().map(|p| p.number.0));
                break;
            }
            let observed = join_all(chunk.iter().map(|pr| self.observe(pr, &base_head))).await;
            for (pr, obs) in chunk.iter().zip(observed) {
                bar.inc(1);
                match obs {
                    Ok(c) => {
                        let d =
                            github_rules::refine(&policy, &c, policy::decide(&policy, &base, &c));
                        if matches!(d.action, Action::Merge { .. }) {
                            found_ready = true;
                        }
                        evaluated.push((d, c));
                    }
                    Err(e) if e.exit_code() == ExitCode::NotFound => {
                        // A 404 inside the reads is "gone" only when the PR itself says so.
                        match self.gone(pr.number).await {
                            Ok(true) => report.notes.push(format!(
                                "#{} was closed or deleted while being read: {e}",
                                pr.number.0
                            )),
                            Ok(false) => {
                                annotate(
                                    "error",
                                    &format!("PR #{} could not be evaluated: {e}", pr.number.0),
                                );
                                report.unevaluated.push(Unevaluated {
                                    pr: pr.number.0,
                                    error: format!(
                                        "{e} (the PR is still open: a read inside it failed, so it could not be decided)"
                                    ),
                                    exit_label: ExitCode::CouldNotDecide.label(),
                                });
                            }
                            Err(re) => report.unevaluated.push(Unevaluated {
                                pr: pr.number.0,
                                error: format!("{e}; re-reading the PR failed too: {re}"),
                                exit_label: ExitCode::CouldNotDecide.label(),
                            }),
                        }
                    }
                    Err(e) => {
                        annotate(
                            "error",
                            &format!("PR #{} could not be evaluated: {e}", pr.number.0),
                        );
                        report.unevaluated.push(Unevaluated {
                            pr: pr.number.0,
                            error: e.to_string(),
                            exit_label: err_label(&e),
                        });
                    }
                }
            }
        }
        bar.finish_and_clear();
        for (d, c) in &evaluated {
            let (approvers, _) = policy::genuine_reviews_with(
                &policy,
                &c.reviews,
                &c.pr.head_sha,
                c.commits.as_deref(),
            );
            report.approvals.insert(d.pr.0, approvers.len());
        }
        for d in &skips {
            if let Reason::OptOut { label } = &d.reason
                && *label == s.hold_label
                && let Some(why) = self.hold_reason(d.pr).await
            {
                report.held.insert(d.pr.0, why);
            }
        }
        if report
            .unevaluated
            .iter()
            .any(|u| u.exit_label == ExitCode::Auth.label())
        {
            // Every further call would fail the same way.
            report.decisions = evaluated.into_iter().map(|(d, _)| d).collect();
            return Ok(report);
        }

        if self.status_only {
            let items: Vec<(&Decision, Option<&CandidateState>)> = evaluated
                .iter()
                .map(|(d, c)| (d, Some(c)))
                .chain(skips.iter().map(|d| (d, None)))
                .collect();
            // Nothing is recorded (record is false); this emits the progress events.
            self.record_decisions(&policy, &items).await?;
            report.decisions = evaluated.into_iter().map(|(d, _)| d).collect();
            report.decisions.extend(skips);
            return Ok(report);
        }
        // Every decision of the tick in one ledger transaction, before any effect.
        let items: Vec<(&Decision, Option<&CandidateState>)> = evaluated
            .iter()
            .map(|(d, c)| (d, Some(c)))
            .chain(skips.iter().map(|d| (d, None)))
            .collect();
        let mut ids = self.record_decisions(&policy, &items).await?;
        let skip_ids = ids.split_off(evaluated.len());
        let decision_ids = ids;
        for (d, did) in skips.iter().zip(&skip_ids) {
            // Tell the author once per PR and reason (the effect key has no head SHA).
            let body = match &d.reason {
                Reason::WrongBase { .. } => Some(format!(
                    "mergeward: skipped; the base branch is not `{}`.",
                    s.branch
                )),
                Reason::Fork => Some(
                    "mergeward: skipped; PRs from forks are not supported by the serialized queue."
                        .to_string(),
                ),
                _ => None,
            };
            if let Some(body) = body {
                let disc = format!("skip:{}", d.reason.code());
                self.comment(&mut report, did.as_deref(), d.pr, None, None, &disc, body)
                    .await?;
            }
        }
        let first_ready = evaluated
            .iter()
            .position(|(d, _)| matches!(d.action, Action::Merge { .. }));
        let total = evaluated.len();
        for (position, (d, c)) in evaluated.iter().enumerate() {
            annotate(
                "notice",
                &format!(
                    "PR #{} decision={}: {}",
                    d.pr.0,
                    d.action.as_str(),
                    d.reason.text()
                ),
            );
            // The PR about to be merged gets `success` once merged instead.
            if Some(position) != first_ready {
                self.queue_status(
                    &mut report,
                    d,
                    ContextState::Pending,
                    queue_line(position + 1, total, d, &s.branch),
                    Some(c),
                )
                .await?;
            }
        }

        // Act: merge the first ready PR; otherwise update the oldest behind PR.
        let mut held_any = false;
        let mut acted = false;
        for (idx, (d, c)) in evaluated.iter().enumerate() {
            let Action::Merge { force } = d.action else {
                continue;
            };
            match self
                .merge(
                    &mut report,
                    &policy,
                    d,
                    c,
                    force,
                    decision_ids[idx].as_deref(),
                )
                .await?
            {
                MergeResult::Merged => {
                    report.outcome = TickOutcome::Merged { pr: d.pr.0 };
                    acted = true;
                    break;
                }
                MergeResult::Deferred => {
                    report.outcome = TickOutcome::Deferred { pr: d.pr.0 };
                    acted = true;
                    break;
                }
                MergeResult::Replayed => {
                    report.outcome = TickOutcome::Replayed { pr: d.pr.0 };
                    acted = true;
                    break;
                }
                MergeResult::BaseRed => {
                    report.outcome = TickOutcome::Paused;
                    acted = true;
                    break;
                }
                MergeResult::Held => held_any = true,
                MergeResult::Unknown => {
                    acted = true;
                    break;
                }
            }
        }
        if let TickOutcome::Merged { pr: merged } = report.outcome {
            self.update_after_merge(&mut report, &policy, merged, &evaluated, &decision_ids)
                .await?;
        }
        // A PR that contains the base and only waits for CI to finish is "in flight": it will
        // likely merge next, and updating others now would only churn their CI. CI pending
        // for longer than `stale_pending` is stuck, not in flight: it must not hold back
        // every other PR forever.
        let now = chrono::Utc::now();
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
                        .collect::<Vec<_>>()
                }
                _ => Vec::new(),
            }
        }
        let mut in_flight = None;
        for (d, c) in &evaluated {
            let pending = waits_for_ci(d);
            if pending.is_empty() {
                continue;
            }
            let stale = self.settings.stale_pending.is_some_and(|limit| {
                pending
                    .iter()
                    .all(|ctx| pending_age(c, ctx, now).is_some_and(|age| age > limit))
            });
            if stale {
                report.notes.push(format!(
                    "#{}'s required CI has been pending for more than {} h (queue.stale_pending_hours): stuck, not in flight; it does not hold back updates of other PRs",
                    d.pr.0,
                    self.settings
                        .stale_pending
                        .map(|l| l.num_hours())
                        .unwrap_or_default()
                ));
                continue;
            }
            in_flight = Some((d, c));
            break;
        }
        if !acted && let Some((d, _)) = in_flight {
            report.notes.push(format!(
                "#{} waits for CI on the current base; no other PR is updated meanwhile",
                d.pr.0
            ));
            acted = true;
        }
        if !acted {
            for (idx, (d, c)) in evaluated.iter().enumerate() {
                if d.action != Action::Update {
                    continue;
                }
                match self
                    .update(&mut report, &policy, d, c, decision_ids[idx].as_deref())
                    .await?
                {
                    UpdateResult::Updated => {
                        report.outcome = TickOutcome::Updated { pr: d.pr.0 };
                        acted = true;
                        break;
                    }
                    UpdateResult::Held => held_any = true,
                    UpdateResult::Unknown => {
                        acted = true;
                        break;
                    }
                }
            }
        }
        if !acted && held_any {
            report.outcome = TickOutcome::Held;
        }
        report.decisions = evaluated.into_iter().map(|(d, _)| d).collect();
        report.decisions.extend(skips);
        Ok(report)
    }

    /// Fair serial order (SPEC §8): after a merge, bring the oldest behind candidate that
    /// could merge up to date with the base head that merge produced, so a steady stream of
    /// newer ready PRs never starves it and a conflict shows now, not when the queue idles.
    /// A conflict or refusal holds it and the next one is tried; at most one update.
    async fn update_after_merge(
        &self,
        report: &mut TickReport,
        policy: &QueuePolicy,
        merged: u64,
        evaluated: &[(Decision, CandidateState)],
        decision_ids: &[Option<String>],
    ) -> Result<()> {
        // The merge moved the base: every other candidate is behind it now. A PR held in
        // this tick (the only label the queue applies) is out of the queue.
        let held_now = |pr: u64| {
            let subject = ledger::pr_subject(pr);
            report
                .actions
                .iter()
                .any(|a| a.subject == subject && a.kind == EffectKind::Label.as_str())
        };
        let behind: Vec<usize> = evaluated
            .iter()
            .enumerate()
            .filter(|(_, (d, _))| {
                d.pr.0 != merged && !held_now(d.pr.0) && policy::could_merge_once_current(d)
            })
            .map(|(i, _)| i)
            .collect();
        if behind.is_empty() {
            return Ok(());
        }
        // The base head the merge produced (a dry run merged nothing: the evaluated one).
        let new_base = if self.dry_run {
            evaluated[behind[0]].0.base_head.clone()
        } else {
            match self.forge.branch_head(&self.settings.branch).await {
                Ok(h) => h,
                Err(e) => {
                    report.notes.push(format!(
                        "after merging #{merged}, the base head could not be re-read ({e}); no other PR was updated"
                    ));
                    return Ok(());
                }
            }
        };
        for i in behind {
            let (d, c) = &evaluated[i];
            let d = Decision {
                base_head: new_base.clone(),
                action: Action::Update,
                reason: Reason::Behind,
                ..d.clone()
            };
            // Its own decision (superseding the one made before the merge), so the ledger
            // says why this PR was updated.
            let did = self
                .record_decision(
                    policy,
                    &d,
                    Some(c),
                    None,
                    Some((
                        "behind",
                        format!(
                            "after merging #{merged}, brought up to date with {} so it can merge next",
                            self.settings.branch
                        ),
                    )),
                )
                .await?
                .or_else(|| decision_ids[i].clone());
            match self.update(report, policy, &d, c, did.as_deref()).await? {
                UpdateResult::Updated => {
                    report.notes.push(format!(
                        "after merging #{merged}, updated #{} (the oldest behind PR that could merge) to {} at {}",
                        d.pr.0,
                        self.settings.branch,
                        new_base.short(12)
                    ));
                    break;
                }
                UpdateResult::Held => continue,
                UpdateResult::Unknown => break,
            }
        }
        Ok(())
    }

    async fn merge(
        &self,
        report: &mut TickReport,
        policy: &QueuePolicy,
        d: &Decision,
        c: &CandidateState,
        force: bool,
        decision_id: Option<&str>,
    ) -> Result<MergeResult> {
        let f = self.forge;
        // Re-read what can have moved since the evaluation.
        let now_base = f.branch_head(&self.settings.branch).await?;
        if now_base != d.base_head {
            annotate(
                "notice",
                &format!(
                    "{} moved {} -> {}; deferring #{} to the next tick",
                    self.settings.branch,
                    d.base_head.short(8),
                    now_base.short(8),
                    d.pr.0
                ),
            );
            return Ok(MergeResult::Deferred);
        }
        // The base head is the same commit, but its push-required contexts may have turned
        // red since they were read (a failing push run finishing mid-tick): read them again.
        if !policy.push_required_contexts.is_empty() {
            let statuses = match f.statuses(&now_base).await {
                Ok(st) => st,
                Err(e) => {
                    report.unevaluated.push(Unevaluated {
                        pr: d.pr.0,
                        error: format!(
                            "the base head's required contexts could not be re-read before the merge: {e}"
                        ),
                        exit_label: err_label(&e),
                    });
                    return Ok(MergeResult::Unknown);
                }
            };
            let now = BaseState {
                head: now_base.clone(),
                statuses,
            };
            if let Some(reason) = policy::base_gate(policy, &now) {
                annotate(
                    "notice",
                    &format!("queue paused before merging #{}: {}", d.pr.0, reason.text()),
                );
                report.notes.push(format!(
                    "#{} not merged: the base turned red after it was read ({})",
                    d.pr.0,
                    reason.text()
                ));
                return Ok(MergeResult::BaseRed);
            }
        }
        let now_pr = f.pull(d.pr).await?;
        if now_pr.head_sha != d.head || now_pr.state != crate::forge::PrState::Open {
            annotate(
                "notice",
                &format!(
                    "PR #{} changed since it was evaluated; deferring to the next tick",
                    d.pr.0
                ),
            );
            return Ok(MergeResult::Deferred);
        }
        // The live PR wins over the listing: an opt-out or hold label, a draft flag or a
        // new base set since the listing keeps it out of this merge.
        if let Some(reason) = policy::ineligible(policy, &now_pr) {
            report.notes.push(format!(
                "#{} is no longer eligible ({}); not merged",
                d.pr.0,
                reason.text()
            ));
            return Ok(MergeResult::Deferred);
        }
        // GitHub's own verdict on the re-read PR, before every merge (second line of defence).
        if let Some(rules) = &policy.github
            && let Some(reason) = github_rules::mergeable_state_refusal(rules, policy, c, &now_pr)
        {
            let blocked = Decision {
                action: Action::Wait,
                reason,
                ..d.clone()
            };
            report
                .notes
                .push(format!("#{} not merged: {}", d.pr.0, blocked.reason.text()));
            self.record_decision(policy, &blocked, Some(c), None, None)
                .await?;
            return Ok(MergeResult::Deferred);
        }
        let req = MergeRequest {
            method: self.settings.merge_method,
            title: format!("Merge PR #{} via mergeward", d.pr.0),
            message: format!(
                "Serialized merge by mergeward: {} was current, approvals ({}) and required contexts ({}) were green on {}.",
                self.settings.branch,
                policy::genuine_reviews(policy, &c.reviews, &d.head)
                    .0
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", "),
                policy.required.names().join(", "),
                d.head
            ),
            force,
        };
        annotate(
            "notice",
            &format!(
                "merging PR #{}{}",
                d.pr.0,
                if force {
                    " (force_merge: non-required reds)"
                } else {
                    ""
                }
            ),
        );
        let done = self
            .effect(
                report,
                decision_id,
                d.pr,
                EffectKind::Merge,
                Some(&d.head),
                Some(&d.base_head),
                "merge",
                || f.merge(d.pr, &d.head, &req),
            )
            .await?;
        match done {
            Done::Ok => {
                let last = report.actions.last().map(|a| a.outcome.clone());
                if last.as_deref() == Some("dry_run") {
                    return Ok(MergeResult::Merged);
                }
                if last.as_deref() == Some("replayed") {
                    // The ledger says this merge was done by an earlier run: say so, and
                    // check the forge agrees (never report a fresh merge).
                    return match f.pull(d.pr).await {
                        Ok(p) if p.merged => Ok(MergeResult::Replayed),
                        Ok(_) => {
                            report.unevaluated.push(Unevaluated {
                                pr: d.pr.0,
                                error: "the ledger records this merge as done, but the forge shows the PR unmerged; not merged again".into(),
                                exit_label: ExitCode::CouldNotDecide.label(),
                            });
                            Ok(MergeResult::Unknown)
                        }
                        Err(e) => {
                            report.unevaluated.push(Unevaluated {
                                pr: d.pr.0,
                                error: format!(
                                    "a replayed merge could not be checked on the forge: {e}"
                                ),
                                exit_label: err_label(&e),
                            });
                            Ok(MergeResult::Unknown)
                        }
                    };
                }
                self.queue_status(
                    report,
                    d,
                    ContextState::Success,
                    "merged by mergeward".into(),
                    None,
                )
                .await?;
                Ok(MergeResult::Merged)
            }
            Done::Refused(e) if e.is_rate_limited() => {
                // Nothing was merged and nothing is wrong with the PR: try again later.
                report
                    .notes
                    .push(format!("merging #{} was rate-limited: {e}", d.pr.0));
                report.unevaluated.push(Unevaluated {
                    pr: d.pr.0,
                    error: e.to_string(),
                    exit_label: err_label(&e),
                });
                Ok(MergeResult::Unknown)
            }
            Done::Refused(e)
                if let Some(err) = self.token_problem(&e, &format!("merge #{}", d.pr.0)).await =>
            {
                Err(err)
            }
            Done::Refused(e) => match e.status() {
                Some(403..=405) => {
                    // A refusal may be the forge judging a head or base that moved after the
                    // re-read (Gitea checks protection on the new head before the pin, so a
                    // push during the call is a 405, not a 409). Only a refusal of the
                    // evaluated head on the evaluated base is permanent.
                    match self.moved_since(d).await {
                        Ok(None) => {}
                        Ok(Some(what)) => {
                            report.notes.push(format!(
                                "#{}: the merge was refused (HTTP {}) after {what} moved; next tick",
                                d.pr.0,
                                e.status().unwrap_or(0)
                            ));
                            return Ok(MergeResult::Deferred);
                        }
                        Err(re) => {
                            report.notes.push(format!(
                                "#{}: the merge was refused ({e}) and the PR could not be re-read: {re}",
                                d.pr.0
                            ));
                            report.unevaluated.push(Unevaluated {
                                pr: d.pr.0,
                                error: re.to_string(),
                                exit_label: err_label(&re),
                            });
                            return Ok(MergeResult::Unknown);
                        }
                    }
                    self.hold(
                        report,
                        policy,
                        d,
                        Some(c),
                        "merge_refused",
                        format!(
                            "the forge refused the merge (HTTP {}): {}",
                            e.status().unwrap_or(0),
                            short(&e)
                        ),
                    )
                    .await?;
                    Ok(MergeResult::Held)
                }
                Some(409) => {
                    report.notes.push(format!(
                        "#{}: the head moved before the merge (409); next tick",
                        d.pr.0
                    ));
                    Ok(MergeResult::Deferred)
                }
                _ => {
                    // Unknown or server error: did it merge anyway?
                    match f.pull(d.pr).await {
                        Ok(p) if p.merged => Ok(MergeResult::Merged),
                        _ => {
                            report
                                .notes
                                .push(format!("merging #{} failed: {e}", d.pr.0));
                            report.unevaluated.push(Unevaluated {
                                pr: d.pr.0,
                                error: e.to_string(),
                                exit_label: err_label(&e),
                            });
                            Ok(MergeResult::Unknown)
                        }
                    }
                }
            },
        }
    }

    /// What moved since decision `d` was made: the PR head (or the PR closed) or the base
    /// head; `None` when both are as evaluated.
    async fn moved_since(
        &self,
        d: &Decision,
    ) -> std::result::Result<Option<&'static str>, ForgeError> {
        let f = self.forge;
        let (pr, base) = tokio::try_join!(f.pull(d.pr), f.branch_head(&self.settings.branch))?;
        Ok(
            if pr.head_sha != d.head || pr.state != crate::forge::PrState::Open {
                Some("the PR")
            } else if base != d.base_head {
                Some("the base branch")
            } else {
                None
            },
        )
    }

    async fn update(
        &self,
        report: &mut TickReport,
        policy: &QueuePolicy,
        d: &Decision,
        c: &CandidateState,
        decision_id: Option<&str>,
    ) -> Result<UpdateResult> {
        let f = self.forge;
        let style = self.settings.update_style;
        let done = self
            .effect(
                report,
                decision_id,
                d.pr,
                EffectKind::Update,
                Some(&d.head),
                Some(&d.base_head),
                style.as_str(),
                || f.update(d.pr, &d.head, style),
            )
            .await?;
        match done {
            Done::Ok => {
                if !self.dry_run {
                    let body = format!(
                        "mergeward: updated this branch with `{}` at `{}`. Waiting for CI on the refreshed head.",
                        self.settings.branch,
                        d.base_head.short(12)
                    );
                    self.comment(
                        report,
                        decision_id,
                        d.pr,
                        Some(&d.head),
                        Some(&d.base_head),
                        "updated",
                        body,
                    )
                    .await?;
                }
                Ok(UpdateResult::Updated)
            }
            Done::Refused(e) if e.is_rate_limited() => {
                report.unevaluated.push(Unevaluated {
                    pr: d.pr.0,
                    error: e.to_string(),
                    exit_label: err_label(&e),
                });
                Ok(UpdateResult::Unknown)
            }
            Done::Refused(e)
                if let Some(err) = self
                    .token_problem(&e, &format!("update #{}'s branch", d.pr.0))
                    .await =>
            {
                Err(err)
            }
            Done::Refused(e) => match e.status() {
                Some(409) => {
                    self.hold(report, policy, d, Some(c), "update_conflict", format!("updating the branch with `{}` conflicts (HTTP 409); rebase it onto `{}`", self.settings.branch, self.settings.branch)).await?;
                    Ok(UpdateResult::Held)
                }
                Some(422) => {
                    self.hold(
                        report,
                        policy,
                        d,
                        Some(c),
                        "update_refused",
                        format!(
                            "the forge refused to update the branch (HTTP {}): {}",
                            e.status().unwrap_or(0),
                            short(&e)
                        ),
                    )
                    .await?;
                    Ok(UpdateResult::Held)
                }
                _ => {
                    report.unevaluated.push(Unevaluated {
                        pr: d.pr.0,
                        error: e.to_string(),
                        exit_label: err_label(&e),
                    });
                    Ok(UpdateResult::Unknown)
                }
            },
        }
    }
}

enum MergeResult {
    Merged,
    /// The ledger already had this merge committed (an earlier run), and the forge agrees.
    Replayed,
    Deferred,
    /// The base's push-required contexts turned red before the merge.
    BaseRed,
    Held,
    Unknown,
}

enum UpdateResult {
    Updated,
    Held,
    Unknown,
}

fn short(e: &ForgeError) -> String {
    match e {
        ForgeError::Http { snippet, .. } if !snippet.is_empty() => {
            snippet.chars().take(200).collect()
        }
        other => other.to_string(),
    }
}

/// Whether workflow-command annotations are understood (GitHub or Gitea Actions).
pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
        || std::env::var("GITEA_ACTIONS").is_ok_and(|v| v == "true")
}

/// `::notice::` / `::error::` on stderr (stdout keeps the command's output format).
pub fn annotate(level: &str, msg: &str) {
    if in_actions() {
        let one_line = msg.replace('\n', " ");
        eprintln!("::{level}::{one_line}");
    }
}

/// How long a required context of a candidate has been pending: the age of its freshest
/// pending report. `context` is a name or, under Gitea glob protection, a pattern (then every
/// pending report it matches counts). `None` when no pending report has a readable timestamp:
/// it then counts as fresh, the conservative reading for "in flight".
fn pending_age(
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
            r.state == crate::forge::ContextState::Pending
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
