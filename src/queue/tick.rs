//! One merge-queue tick: observe → plan → execute → report (DESIGN.md §1, SPEC §8).
//!
//! `observe` (async, `observe.rs`) reads protection, the base and the queue into a
//! [`Snapshot`]; `plan` (pure, `plan.rs`) turns it into decisions and ordered steps with
//! their wording; `Tick::execute` (here) runs the steps in order — the effects through the
//! ledger in `execute.rs`, merge/update/hold in `act.rs` — asking the pure layer what each
//! refusal means; the [`TickReport`] says what happened.
//! Effects carry idempotency keys so a crashed or repeated tick never sends one twice.

use super::github_rules;
use super::plan::{self, Flow, TickPlan};
use super::policy::{Action, CandidateState, Decision};
use super::protection::build_policy;
use super::snapshot::Snapshot;
use crate::error::Result;
use crate::forge::Forge;
use crate::ledger::Ledger;
use crate::report::{Progress, annotate};

pub use super::messages::{comment_marker, queue_line, waits_for};
pub use super::protection::{contains_base, required_approvals};
pub use super::report::{TickOutcome, TickReport, Unevaluated};
pub use super::settings::QueueSettings;
pub use crate::report::in_actions;

/// The ledger's command name for a tick's runs.
pub const RUN_COMMAND: &str = "queue tick";

pub use super::QUEUE_CONTEXT;

/// Separates the label from the run id in the discriminator of a re-applied hold label.
pub(super) const REAPPLY: &str = "#reapply:";

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

impl<F: Forge> Tick<'_, F> {
    /// One tick.
    pub async fn run(&self) -> Result<TickReport> {
        let s = self.settings;
        let f = self.forge;
        // On a terminal, something moves from the first request on.
        let spin = crate::report::ClearOnDrop(self.progress.spinner(&format!(
            "reading {}'s protection, head and open pull requests",
            s.branch
        )));
        let protection = self.read_protection().await?;
        let policy = build_policy(f.kind(), &protection, s)?;
        github_rules::check_config(&protection, s.merge_method)?;
        let mut report = TickReport::new(&s.branch);
        report.required_contexts = policy.required.names();
        report.required_approvals = policy.required_approvals;
        report.notes = protection.gaps.clone();
        if let (_, Some(note)) =
            github_rules::required_approvals(&protection, s.required_approvals_fallback)
        {
            report.notes.push(note);
        }
        if let Some(g) = &protection.github {
            report.notes.extend(g.notes.iter().cloned());
        }
        self.recover(&mut report).await?;
        let mut snap = self.observe(policy, protection.head.clone(), spin).await?;
        // A token rejected while resolving an earlier run's effects stops the tick as a
        // rejected candidate read does.
        snap.bot_can_merge = protection.bot_can_merge;
        snap.token_rejected = report
            .unevaluated
            .iter()
            .any(|u| u.exit == crate::exit::ExitCode::Auth);
        report.base_head = Some(snap.base.head.clone());
        let tick_plan = plan::plan(&snap, s, self.status_only);
        self.execute(&mut report, &snap, tick_plan).await?;
        Ok(report)
    }

    /// Runs a plan's steps, in order, and fills the report.
    async fn execute(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        tick_plan: TickPlan,
    ) -> Result<()> {
        let policy = &snap.policy;
        if let Some(reason) = &tick_plan.paused {
            annotate("notice", &format!("queue paused: {}", reason.text()));
            report.notes.push(reason.text());
            report.outcome = TickOutcome::Paused;
            return Ok(());
        }
        report.add_listing(snap);
        report.not_evaluated.extend(snap.not_read.iter().copied());
        report.approvals = tick_plan.approvals.clone();
        report.held = snap.held.clone();
        let candidates = &snap.candidates;
        if tick_plan.halted {
            // A token failure while reading: every further call would fail the same way.
            report.decisions = tick_plan.decisions;
            return Ok(());
        }
        if !tick_plan.act {
            {
                // Nothing is recorded (record is false); this emits the progress events.
                self.record_decisions(policy, &items(&tick_plan, candidates))
                    .await?;
                report.decisions = tick_plan.decisions;
                report.decisions.extend(tick_plan.skips);
            }
            return Ok(());
        }
        // Every decision of the tick in one ledger transaction, before any effect.
        let mut ids = self
            .record_decisions(policy, &items(&tick_plan, candidates))
            .await?;
        let skip_ids = ids.split_off(tick_plan.decisions.len());
        let decision_ids = ids;
        for step in &tick_plan.skip_comments {
            // Told once per PR and reason (the effect key has no head SHA).
            let d = &tick_plan.skips[step.skip];
            self.comment(
                report,
                skip_ids[step.skip].as_deref(),
                d.pr,
                None,
                None,
                &step.discriminator,
                step.body.clone(),
            )
            .await?;
        }
        // Each decision's annotation, then its queue status (if any), in queue order.
        for (i, (level, text)) in tick_plan.annotations.iter().enumerate() {
            annotate(level, text);
            for step in tick_plan.statuses.iter().filter(|s| s.index == i) {
                self.queue_status(
                    report,
                    &tick_plan.decisions[i],
                    step.state.clone(),
                    step.description.clone(),
                    Some(&candidates[i]),
                )
                .await?;
            }
        }
        if tick_plan.merge_forbidden {
            let first = tick_plan
                .merges
                .first()
                .map(|&i| tick_plan.decisions[i].pr.0);
            return Err(self.merge_forbidden(first.unwrap_or_default()).await);
        }
        // Act: merge the first ready PR; otherwise update the oldest behind PR.
        let mut held_any = false;
        let mut acted = false;
        for &i in &tick_plan.merges {
            let d = &tick_plan.decisions[i];
            let Action::Merge { force } = d.action else {
                continue;
            };
            let result = self
                .merge(
                    report,
                    policy,
                    d,
                    &candidates[i],
                    force,
                    decision_ids[i].as_deref(),
                )
                .await?;
            if settle(report, plan::after_merge(d.pr.0, result), &mut held_any) {
                acted = true;
                break;
            }
        }
        if let TickOutcome::Merged { pr: merged } = report.outcome {
            self.update_after_merge(
                report,
                policy,
                merged,
                &tick_plan,
                candidates,
                &decision_ids,
            )
            .await?;
        }
        report.notes.extend(tick_plan.notes.iter().cloned());
        if !acted && let Some(i) = tick_plan.in_flight {
            report
                .notes
                .push(super::messages::in_flight_note(tick_plan.decisions[i].pr.0));
            acted = true;
        }
        if !acted {
            for &i in &tick_plan.updates {
                let d = &tick_plan.decisions[i];
                let result = self
                    .update(
                        report,
                        policy,
                        d,
                        &candidates[i],
                        decision_ids[i].as_deref(),
                    )
                    .await?;
                if settle(report, plan::after_update(d.pr.0, result), &mut held_any) {
                    acted = true;
                    break;
                }
            }
        }
        if !acted {
            report.outcome = plan::idle_outcome(held_any);
        }
        report.decisions = tick_plan.decisions;
        report.decisions.extend(tick_plan.skips);
        Ok(())
    }
}

/// Applies what follows an attempt to the report: `true` when the tick stops acting (with
/// the outcome, if the flow names one); a held PR falls through and is remembered.
fn settle(report: &mut TickReport, flow: Flow, held_any: &mut bool) -> bool {
    match flow {
        Flow::Next => {
            *held_any = true;
            false
        }
        Flow::Stop(outcome) => {
            if let Some(o) = outcome {
                report.outcome = o;
            }
            true
        }
    }
}

/// The decisions to record, candidates first (with what was read), then the skips.
fn items<'p>(
    p: &'p TickPlan,
    candidates: &'p [CandidateState],
) -> Vec<(&'p Decision, Option<&'p CandidateState>)> {
    p.decisions
        .iter()
        .zip(candidates)
        .map(|(d, c)| (d, Some(c)))
        .chain(p.skips.iter().map(|d| (d, None)))
        .collect()
}
