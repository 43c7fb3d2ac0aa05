//! The acting steps of a tick — merge, update, hold, the fair update after a merge — each
//! a few forge calls whose answers the pure layer (`plan::after_*`) interprets.

use std::collections::BTreeSet;

use super::execute::Done;
use super::messages;
use super::plan::{self, Facts, MergeResult, Moved, Next, PreMerge, TickPlan, UpdateResult};
use super::policy::{self, Action, CandidateState, Decision, QueuePolicy, Reason};
use super::report::TickReport;
use super::tick::{REAPPLY, Tick};
use crate::error::{Error, Result};
use crate::exit::ExitCode;
use crate::forge::{ContextState, Forge, ForgeError, Label, MergeRequest, PrNumber, PrState};
use crate::ledger::{self, EffectKind};
use crate::report::{EffectOutcome, annotate};

impl<F: Forge> Tick<'_, F> {
    /// Holds a wedged PR: the hold label, then a comment that says why and how to requeue.
    pub(super) async fn hold(
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
        self.queue_status(
            report,
            d,
            ContextState::Failure,
            messages::held_status(&why),
            c,
        )
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
            if !matches!(done, Done::Ok(EffectOutcome::Replayed)) || disc.contains(REAPPLY) {
                break done;
            }
            // The ledger says the label was applied for this head and base, yet the PR was
            // a candidate, so it does not carry it: a human removed it to requeue the PR
            // and the forge refused again. Apply it again (once per run); the comment
            // keeps its key and is not repeated.
            disc = format!("label:{hold}{REAPPLY}{}", self.run_id);
        };
        let label_note = match done {
            Done::Ok(_) => None,
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
                report.could_not_decide(
                    d.pr.0,
                    format!("the hold label {hold:?} could not be applied: {e}"),
                    e.exit_code(),
                );
                Some(e.to_string())
            }
        };
        let body = messages::hold_comment(hold, &why, label_note.as_deref());
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

    /// Fair serial order (SPEC §8): after a merge, bring the oldest behind candidate that
    /// could merge up to date with the base head that merge produced, so a steady stream of
    /// newer ready PRs never starves it and a conflict shows now, not when the queue idles.
    /// A conflict or refusal holds it and the next one is tried; at most one update.
    pub(super) async fn update_after_merge(
        &self,
        report: &mut TickReport,
        policy: &QueuePolicy,
        merged: u64,
        tick_plan: &TickPlan,
        candidates: &[CandidateState],
        decision_ids: &[Option<String>],
    ) -> Result<()> {
        // A PR held in this tick (the only label the queue applies) is out of the queue.
        let held: BTreeSet<u64> = report
            .actions
            .iter()
            .filter(|a| a.kind == EffectKind::Label)
            .filter_map(|a| ledger::pr_number(&a.subject))
            .collect();
        let behind = plan::after_merge_updates(tick_plan, merged, &held);
        let Some(&first) = behind.first() else {
            return Ok(());
        };
        // The base head the merge produced (a dry run merged nothing: the evaluated one).
        let new_base = if self.dry_run {
            tick_plan.decisions[first].base_head.clone()
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
            let c = &candidates[i];
            let d = Decision {
                base_head: new_base.clone(),
                action: Action::Update,
                reason: Reason::Behind,
                ..tick_plan.decisions[i].clone()
            };
            // Its own decision (superseding the one made before the merge), so the ledger
            // says why this PR was updated.
            let why = messages::updated_after_merge_reason(merged, &self.settings.branch);
            let did = self
                .record_decision(policy, &d, Some(c), None, Some(("behind", why)))
                .await?
                .or_else(|| decision_ids[i].clone());
            match self.update(report, policy, &d, c, did.as_deref()).await? {
                UpdateResult::Updated => {
                    report.notes.push(messages::updated_after_merge_note(
                        merged,
                        d.pr.0,
                        &self.settings.branch,
                        &new_base,
                    ));
                    break;
                }
                UpdateResult::Held => continue,
                UpdateResult::Unknown => break,
            }
        }
        Ok(())
    }

    /// Merges the PR of decision `d`, pinned to its evaluated head, after re-reading what
    /// can have moved since the evaluation.
    pub(super) async fn merge(
        &self,
        report: &mut TickReport,
        policy: &QueuePolicy,
        d: &Decision,
        c: &CandidateState,
        force: bool,
        decision_id: Option<&str>,
    ) -> Result<MergeResult> {
        let f = self.forge;
        let now_base = f.branch_head(&self.settings.branch).await?;
        // The base head may be the same commit while its push-required contexts turned red
        // since they were read (a failing push run finishing mid-tick): read them again.
        let base_statuses = if now_base == d.base_head && !policy.push_required_contexts.is_empty()
        {
            match f.statuses(&now_base).await {
                Ok(st) => Some(st),
                Err(e) => {
                    report.could_not_decide(
                        d.pr.0,
                        format!(
                            "the base head's required contexts could not be re-read before the merge: {e}"
                        ),
                        e.exit_code(),
                    );
                    return Ok(MergeResult::Unknown);
                }
            }
        } else {
            None
        };
        let verdict = match plan::pre_merge_base(policy, d, &now_base, base_statuses.as_ref()) {
            PreMerge::Go => plan::pre_merge_pr(policy, d, c, &f.pull(d.pr).await?),
            other => other,
        };
        match verdict {
            PreMerge::Go => {}
            PreMerge::Defer { annotation, note } => {
                if let Some(a) = annotation {
                    annotate("notice", &a);
                }
                report.notes.extend(note);
                return Ok(MergeResult::Deferred);
            }
            PreMerge::BaseRed { annotation, note } => {
                annotate("notice", &annotation);
                report.notes.push(note);
                return Ok(MergeResult::BaseRed);
            }
            PreMerge::Blocked { decision, note } => {
                report.notes.push(note);
                self.record_decision(policy, &decision, Some(c), None, None)
                    .await?;
                return Ok(MergeResult::Deferred);
            }
        }
        let approvers: Vec<String> = policy::genuine_reviews(policy, &c.reviews, &d.head)
            .0
            .into_iter()
            .collect();
        let (title, message) = messages::merge_message(d, policy, &approvers);
        let req = MergeRequest {
            method: self.settings.merge_method,
            title,
            message,
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
        let e = match done {
            Done::Ok(EffectOutcome::DryRun) => return Ok(MergeResult::Merged),
            // The ledger says this merge was done by an earlier run: say so, and check the
            // forge agrees (never report a fresh merge).
            Done::Ok(EffectOutcome::Replayed) => return self.replayed_merge(report, d.pr).await,
            Done::Ok(_) => {
                self.queue_status(
                    report,
                    d,
                    ContextState::Success,
                    messages::MERGED_STATUS.into(),
                    None,
                )
                .await?;
                return Ok(MergeResult::Merged);
            }
            Done::Refused(e) => e,
        };
        let refusal = e.merge_refusal();
        let err = e.to_string();
        let mut facts = Facts::default();
        loop {
            match plan::after_merge_refusal(d.pr.0, &refusal, &err, facts) {
                Next::CheckToken => {
                    if let Some(problem) =
                        self.token_problem(&e, &format!("merge #{}", d.pr.0)).await
                    {
                        return Err(problem);
                    }
                    facts.token_cleared = true;
                }
                Next::CheckMoved => match self.moved_since(d).await {
                    Ok(m) => facts.moved = Some(m),
                    Err(re) => {
                        report.notes.push(format!(
                            "#{}: the merge was refused ({e}) and the PR could not be re-read: {re}",
                            d.pr.0
                        ));
                        report.could_not_decide(d.pr.0, re.to_string(), re.exit_code());
                        return Ok(MergeResult::Unknown);
                    }
                },
                Next::CheckMerged { note } => {
                    // Unknown or server error: did it merge anyway?
                    if let Ok(p) = f.pull(d.pr).await
                        && p.merged
                    {
                        return Ok(MergeResult::Merged);
                    }
                    report.notes.push(note);
                    report.could_not_decide(d.pr.0, err, e.exit_code());
                    return Ok(MergeResult::Unknown);
                }
                Next::Hold { code, why } => {
                    self.hold(report, policy, d, Some(c), code, why).await?;
                    return Ok(MergeResult::Held);
                }
                Next::Defer { note } => {
                    report.notes.push(note);
                    return Ok(MergeResult::Deferred);
                }
                Next::Unknown { note } => {
                    report.notes.extend(note);
                    report.could_not_decide(d.pr.0, err, e.exit_code());
                    return Ok(MergeResult::Unknown);
                }
            }
        }
    }

    /// A merge the ledger records as done by an earlier run: replayed when the forge agrees.
    async fn replayed_merge(&self, report: &mut TickReport, pr: PrNumber) -> Result<MergeResult> {
        match self.forge.pull(pr).await {
            Ok(p) if p.merged => Ok(MergeResult::Replayed),
            Ok(_) => {
                report.could_not_decide(
                    pr.0,
                    "the ledger records this merge as done, but the forge shows the PR unmerged; not merged again".into(),
                    ExitCode::CouldNotDecide,
                );
                Ok(MergeResult::Unknown)
            }
            Err(e) => {
                report.could_not_decide(
                    pr.0,
                    format!("a replayed merge could not be checked on the forge: {e}"),
                    e.exit_code(),
                );
                Ok(MergeResult::Unknown)
            }
        }
    }

    /// What moved since decision `d` was made; `None` when the PR head and the base head
    /// are as evaluated.
    async fn moved_since(&self, d: &Decision) -> std::result::Result<Option<Moved>, ForgeError> {
        let f = self.forge;
        let (pr, base) = tokio::try_join!(f.pull(d.pr), f.branch_head(&self.settings.branch))?;
        Ok(if pr.head_sha != d.head || pr.state != PrState::Open {
            Some(Moved::Pr)
        } else if base != d.base_head {
            Some(Moved::Base)
        } else {
            None
        })
    }

    /// Updates the PR's branch with the base (pinned to its evaluated head).
    pub(super) async fn update(
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
        let e = match done {
            Done::Ok(_) => {
                if !self.dry_run {
                    let body = messages::update_comment(&self.settings.branch, &d.base_head);
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
                return Ok(UpdateResult::Updated);
            }
            Done::Refused(e) => e,
        };
        let refusal = e.update_refusal();
        let mut facts = Facts::default();
        loop {
            match plan::after_update_refusal(&self.settings.branch, &refusal, facts) {
                Next::CheckToken => {
                    if let Some(problem) = self
                        .token_problem(&e, &format!("update #{}'s branch", d.pr.0))
                        .await
                    {
                        return Err(problem);
                    }
                    facts.token_cleared = true;
                }
                Next::Hold { code, why } => {
                    self.hold(report, policy, d, Some(c), code, why).await?;
                    return Ok(UpdateResult::Held);
                }
                Next::Defer { note } => {
                    report.notes.push(note);
                    return Ok(UpdateResult::Unknown);
                }
                Next::CheckMoved | Next::CheckMerged { .. } | Next::Unknown { .. } => {
                    report.could_not_decide(d.pr.0, e.to_string(), e.exit_code());
                    return Ok(UpdateResult::Unknown);
                }
            }
        }
    }
}
