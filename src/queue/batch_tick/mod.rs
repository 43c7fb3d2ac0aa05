//! Batch mode's tick (SPEC §8.2): observe → plan ([`batch::plan_batch`], pure) → execute,
//! one transition at a time, until the tick reaches a step that waits (a batch under test,
//! a batch just built, nothing eligible).
//!
//! The batch in flight is read from the forge: the staging branch's head and the trailers of
//! its message (id, base, members, rebuilds, bisection), and its statuses. The ledger adds
//! what the forge cannot say: that a batch was already finished (landed, held, split,
//! abandoned), so a lost ledger only costs a repeated, idempotent transition. Every
//! transition is a decision on the subject `batch:<id>`; the git pushes are effects of kind
//! `push` with idempotency keys, and landing marks each PR merged through the ledger.

use serde_json::json;

use super::batch::{
    self, Batch, BatchStep, Bisect, InFlight, LandCheck, Member, StagingMeta, Verdict,
};
use super::messages;
use super::policy::{self, Action, CandidateState, Decision, QueuePolicy};
use super::protection::build_policy;
use super::report::{BatchReport, TickOutcome, TickReport};
use super::settings::BatchLanding;
use super::snapshot::Snapshot;
use super::staging::{self, LandRequest, Landed, PR_HEAD_REF, Staged, StagingRequest};
use super::tick::Tick;
use crate::error::{Error, Result};
use crate::exit::ExitCode;
use crate::forge::{
    CommitInfo, ContextState, Forge, ForgeBatch, ForgeHistory, ForgeKind, MergeMethod,
    MergeRequest, PrNumber, PrState, Sha,
};
use crate::ledger::{self, EffectKind, Evidence, Intent, NewDecision, NewEffect, Outcome};
use crate::report::{ActionRecord, EffectOutcome, annotate};

mod build;
mod land;
mod record;

use land::land_effect;
use record::PushDone;

/// Reason codes of the decisions on a batch subject.
pub mod codes {
    pub const BUILT: &str = "batch_built";
    pub const TESTING: &str = "batch_testing";
    pub const LANDED: &str = "batch_landed";
    pub const HELD: &str = "batch_held";
    pub const STUCK: &str = "batch_stuck";
    pub const SPLIT: &str = "batch_split";
    pub const REBUILT: &str = "batch_rebuilt";
    /// Codes after which the batch is over (its staging commit is not in flight).
    pub const FINISHED: &[&str] = &[LANDED, HELD, STUCK, SPLIT, REBUILT];
}

/// The ledger subject of a batch.
pub fn batch_subject(id: &str) -> String {
    format!("batch:{id}")
}

/// At most this many transitions per tick (land, then build the next batch, …).
const MAX_STEPS: usize = 6;

/// A batch id: the build time and the members, unique per build and readable.
fn new_batch_id(now: chrono::DateTime<chrono::Utc>, members: &[Member]) -> String {
    let prs: Vec<String> = members.iter().map(|m| m.pr.to_string()).collect();
    format!("{}-{}", now.format("%Y%m%dT%H%M%S%3fZ"), prs.join("."))
}

/// What the tick found on the staging branch.
struct Staging {
    meta: StagingMeta,
    batch: Batch,
    commit: CommitInfo,
}

/// Batch-mode decision for one candidate: everything serial mode requires except being up
/// to date with the base (SPEC §8.2 point 1).
pub fn batch_decide(
    policy: &QueuePolicy,
    base: &policy::BaseState,
    c: &CandidateState,
) -> Decision {
    let current = CandidateState {
        contains_base: true,
        ..c.clone()
    };
    policy::decide(policy, base, &current)
}

/// The eligible members, oldest first, with every candidate's decision.
pub fn eligible(snap: &Snapshot) -> (Vec<Decision>, Vec<Member>) {
    let mut decisions = Vec::new();
    let mut members = Vec::new();
    for c in &snap.candidates {
        let d = batch_decide(&snap.policy, &snap.base, c);
        if matches!(d.action, Action::Merge { .. }) {
            members.push(Member {
                pr: c.pr.number.0,
                head: c.pr.head_sha.clone(),
            });
        }
        decisions.push(d);
    }
    (decisions, members)
}

impl<F: Forge + ForgeBatch + ForgeHistory> Tick<'_, F> {
    /// One tick in the configured mode (`queue.mode`).
    pub async fn run_configured(&self) -> Result<TickReport> {
        match self.settings.mode {
            super::settings::QueueMode::Serial => self.run().await,
            super::settings::QueueMode::Batch => self.run_batch().await,
        }
    }

    /// One batch-mode tick.
    pub async fn run_batch(&self) -> Result<TickReport> {
        let s = self.settings;
        let f = self.forge;
        let spin = crate::report::ClearOnDrop(self.progress.spinner(&format!(
            "reading {}'s protection, head, pull requests and staging branch",
            s.branch
        )));
        let protection = self.read_protection().await?;
        let policy = build_policy(f.kind(), &protection, s)?;
        let mut report = TickReport::new(&s.branch);
        report.required_contexts = policy.required.names();
        report.required_approvals = policy.required_approvals;
        report.notes = protection.gaps.clone();
        let contexts = self.staging_contexts(&policy)?;
        self.recover(&mut report).await?;
        self.recover_pushes(&mut report).await?;
        let mut snap = self.observe(policy, protection.head.clone(), spin).await?;
        snap.token_rejected = report.unevaluated.iter().any(|u| u.exit == ExitCode::Auth);
        report.base_head = Some(snap.base.head.clone());
        if let Some(reason) = policy::base_gate(&snap.policy, &snap.base) {
            annotate("notice", &format!("queue paused: {}", reason.text()));
            report.notes.push(reason.text());
            report.outcome = TickOutcome::Paused;
            return Ok(report);
        }
        report.add_listing(&snap);
        report.held = snap.held.clone();
        let (decisions, eligible) = eligible(&snap);
        for c in &snap.candidates {
            let (approvers, _) = policy::genuine_reviews(&snap.policy, &c.reviews, &c.pr.head_sha);
            report.approvals.insert(c.pr.number.0, approvers.len());
        }
        let items: Vec<(&Decision, Option<&CandidateState>)> = decisions
            .iter()
            .map(|d| (d, snap.candidates.iter().find(|c| c.pr.number == d.pr)))
            .collect();
        if self.record {
            self.record_decisions(&snap.policy, &items).await?;
        }
        report.decisions = decisions.clone();
        for pr in &snap.open {
            if let Some(reason) = policy::ineligible(&snap.policy, pr) {
                report.decisions.push(Decision {
                    pr: pr.number,
                    head: pr.head_sha.clone(),
                    base_head: snap.base.head.clone(),
                    action: Action::Skip,
                    reason,
                });
            }
        }
        if snap.token_rejected || report.unevaluated.iter().any(|u| u.exit == ExitCode::Auth) {
            return Ok(report);
        }
        if self.status_only {
            if let Some(st) = self.read_staging(&mut report).await? {
                let verdict = self.verdict(&contexts, &st, &snap).await?;
                report.batches.push(self.batch_report(
                    &st.batch,
                    verdict_state(&verdict),
                    &contexts,
                    &verdict,
                    st.meta.bisect.as_ref(),
                ));
            }
            return Ok(report);
        }
        self.drive(&mut report, &snap, &decisions, eligible, &contexts)
            .await?;
        Ok(report)
    }

    /// The contexts a staging commit must carry (SPEC §8.2 point 3). None, or patterns that
    /// cannot name a context, is a configuration error: nothing could prove a batch green.
    fn staging_contexts(&self, policy: &QueuePolicy) -> Result<Vec<String>> {
        let s = &self.settings.batch;
        let names = policy.required.names();
        if s.staging_contexts.is_empty() && names.iter().any(|n| n.contains(['*', '?', '[', '{'])) {
            return Err(Error::usage_hint(
                format!(
                    "batch mode: the required contexts of {} are patterns ({}), which cannot name the statuses a staging commit must carry",
                    self.settings.branch,
                    names.join(", ")
                ),
                "set queue.staging_contexts to the exact contexts your CI posts on a push to the staging branch",
            ));
        }
        let contexts = batch::staging_contexts(self.forge.kind(), &names, &s.staging_contexts);
        if contexts.is_empty() {
            return Err(Error::usage_hint(
                format!(
                    "batch mode: nothing would prove a staging commit green: {} requires no status contexts and queue.staging_contexts is empty",
                    self.settings.branch
                ),
                "set queue.staging_contexts to the contexts your CI posts on a push to the staging branch (a batch never lands on no evidence)",
            ));
        }
        Ok(contexts)
    }

    /// The batch on the staging branch, when there is one that is still in flight.
    async fn read_staging(&self, report: &mut TickReport) -> Result<Option<Staging>> {
        let branch = &self.settings.batch.staging_branch;
        let head = match self.forge.branch_head(branch).await {
            Ok(h) => h,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => {
                return Err(Error::ForgeCtx {
                    context: format!("batch mode: cannot read the staging branch {branch}"),
                    err: Box::new(e),
                    hint: Some(
                        "no batch is built or landed without knowing the batch in flight; the next tick tries again".into(),
                    ),
                });
            }
        };
        let commit = self.forge.commit(&head).await?;
        let Some((meta, base, members)) = batch::parse_staging_meta(&commit.message) else {
            report.notes.push(format!(
                "the staging branch {branch} points at {}, which is not a mergeward staging commit (no complete Mergeward-* trailers); the next batch replaces it",
                head.short(12)
            ));
            return Ok(None);
        };
        let batch = Batch {
            id: meta.id.clone(),
            base,
            members,
            staging: head,
            rebuilds: meta.rebuilds,
        };
        Ok(Some(Staging {
            meta,
            batch,
            commit,
        }))
    }

    /// What the staging commit's contexts say.
    async fn verdict(&self, contexts: &[String], st: &Staging, snap: &Snapshot) -> Result<Verdict> {
        let mut statuses = self.forge.statuses(&st.batch.staging).await?;
        if !snap.policy.trusted_status_creators.is_empty() {
            statuses = policy::trusted_only(&snap.policy.trusted_status_creators, &statuses);
        }
        let age = st
            .commit
            .committed_at
            .map_or(chrono::Duration::zero(), |t| snap.now - t);
        let green = snap.policy.green_states.iter().cloned().collect();
        Ok(batch::staging_verdict(
            contexts,
            &green,
            &statuses,
            age,
            self.settings.stale_pending,
        ))
    }

    /// The latest decision's reason code on a batch, from the ledger (`None`: none, or no
    /// ledger kept).
    async fn batch_state(&self, id: &str) -> Result<Option<String>> {
        if !self.record {
            return Ok(None);
        }
        let chain = self
            .ledger
            .explain(&batch_subject(id))
            .await
            .map_err(Error::from)?;
        // A dry run's decisions say what it would have done, not what happened: a dry run
        // that "finished" a landing marked nothing.
        Ok(chain
            .iter()
            .find(|d| !d.dry_run)
            .map(|d| d.reason_code.as_str().to_string()))
    }

    /// Why the staging commit is not this batch as mergeward built it (`None`: it is). The
    /// ledger's build record names the staging commit; without one (a lost ledger, another
    /// instance's batch), git checks that it is the base with its PRs merged.
    async fn not_this_batch(&self, st: &Staging) -> Result<Option<String>> {
        if self.record {
            let chain = self
                .ledger
                .explain(&batch_subject(&st.batch.id))
                .await
                .map_err(Error::from)?;
            if let Some(built) = chain
                .iter()
                .find(|d| !d.dry_run && d.reason_code.as_str() == codes::BUILT)
                && let Some(sha) = built.evidence.head_sha.as_deref()
            {
                return Ok((sha != st.batch.staging.as_str()).then(|| {
                    format!(
                        "batch {} was built as {}, but the staging branch holds {}",
                        st.batch.id,
                        &sha[..sha.len().min(12)],
                        st.batch.staging.short(12)
                    )
                }));
            }
        }
        let req = LandRequest {
            remote: self.git_remote().await?,
            token: self.forge.git_token(),
            base_branch: self.settings.branch.clone(),
            batch_base: st.batch.base.clone(),
            staging_branch: self.settings.batch.staging_branch.clone(),
            staging: st.batch.staging.clone(),
            batch_id: st.batch.id.clone(),
            members: st.batch.members.clone(),
        };
        let git = self.settings.batch.git.clone();
        tokio::task::spawn_blocking(move || staging::check(&git, &req))
            .await
            .map_err(|e| Error::Internal(format!("the staging check task failed: {e}")))?
    }

    /// Whether the ledger holds a committed landing of this batch.
    async fn landed_in_ledger(&self, b: &Batch) -> Result<bool> {
        if !self.record {
            return Ok(false);
        }
        let key = land_effect(self.run_id, b, &self.settings.branch).key();
        let recent = self
            .ledger
            .recent_effects(
                crate::queue::tick::RUN_COMMAND,
                &self.forge.repo().to_string(),
                &self.settings.branch,
                &[EffectKind::Push],
                200,
            )
            .await
            .map_err(Error::from)?;
        Ok(recent
            .iter()
            .any(|e| e.idempotency_key == key && e.outcome == Some(ledger::OutcomeKind::Committed)))
    }

    /// Runs batch transitions until one waits.
    async fn drive(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        decisions: &[Decision],
        mut eligible: Vec<Member>,
        contexts: &[String],
    ) -> Result<()> {
        let mut base = snap.base.head.clone();
        let mut bisect: Option<Bisect> = None;
        let mut in_flight: Option<InFlight> = None;
        let mut rebuilds = 0;
        let max = self.settings.batch.batch.batch_size();
        let adaptive = self.settings.batch.batch.adaptive;
        // The adaptive size: from the batch in flight, else the maximum.
        let mut size = max;
        if let Some(st) = self.read_staging(report).await? {
            let state = self.batch_state(&st.batch.id).await?;
            let landed = st.batch.staging == base || self.landed_in_ledger(&st.batch).await?;
            if landed && state.as_deref() != Some(codes::LANDED) {
                // Landed by an earlier run that stopped before marking its PRs merged.
                report.notes.push(format!(
                    "batch {} is on {} already: finishing its landing",
                    st.batch.id, self.settings.branch
                ));
                self.finish_landing(report, snap, &st.batch).await?;
                bisect = batch::after_green(&st.batch, st.meta.bisect.as_ref());
                eligible.retain(|m| !st.batch.members.iter().any(|b| b.pr == m.pr));
            } else if state
                .as_deref()
                .is_some_and(|c| codes::FINISHED.contains(&c))
            {
                bisect = None;
            } else if !landed {
                let verdict = self.verdict(contexts, &st, snap).await?;
                // A red or stuck verdict holds or splits PRs: act on it only for a staging
                // commit that is this batch (anyone who may push can write its branch).
                let forged = if matches!(verdict, Verdict::Red(_) | Verdict::Stuck) {
                    self.not_this_batch(&st).await?
                } else {
                    None
                };
                if let Some(why) = forged {
                    let text = format!(
                        "batch {}: its staging commit {} is not acted on: {why}; the next batch replaces it",
                        st.batch.id,
                        st.batch.staging.short(12)
                    );
                    annotate("error", &text);
                    report.notes.push(text.clone());
                    let mut r = self.batch_report(&st.batch, "rebuilt", contexts, &verdict, None);
                    r.why = vec![text];
                    report.batches.push(r);
                } else if matches!(verdict, Verdict::Pending) {
                    self.record_batch(
                        &st.batch,
                        ledger::Action::Wait,
                        codes::TESTING,
                        format!(
                            "batch {}: waiting for {} on the staging commit {}",
                            st.batch.id,
                            contexts.join(", "),
                            st.batch.staging.short(12)
                        ),
                        json!({}),
                    )
                    .await?;
                }
                if report.batches.iter().all(|b| b.id != st.batch.id) {
                    bisect = st.meta.bisect.clone();
                    size = st.meta.size.unwrap_or(max).clamp(1, max);
                    in_flight = Some(InFlight {
                        batch: st.batch.clone(),
                        verdict,
                        land: None,
                    });
                }
            }
        }
        for _ in 0..MAX_STEPS {
            let bs = batch::BatchSnapshot {
                base: base.clone(),
                eligible: eligible.clone(),
                in_flight: in_flight.clone(),
                bisect: bisect.clone(),
            };
            let settings = batch::BatchSettings {
                size: if adaptive { size } else { max },
                ..self.settings.batch.batch.clone()
            };
            let step = batch::plan_batch(&bs, &settings);
            match step {
                BatchStep::Idle => {
                    if report.batches.is_empty() {
                        report.outcome = TickOutcome::Idle;
                    }
                    return Ok(());
                }
                BatchStep::Wait => {
                    if let Some(f) = &in_flight {
                        report.batches.push(self.batch_report(
                            &f.batch,
                            "testing",
                            contexts,
                            &f.verdict,
                            bisect.as_ref(),
                        ));
                        report.outcome = TickOutcome::Testing {
                            batch: f.batch.id.clone(),
                        };
                    }
                    return Ok(());
                }
                BatchStep::CheckLand => {
                    let Some(f) = in_flight.as_mut() else {
                        return Ok(());
                    };
                    f.land = Some(self.land_check(snap, &f.batch).await?);
                }
                BatchStep::Land => {
                    let Some(f) = in_flight.take() else {
                        return Ok(());
                    };
                    if self.dry_run {
                        report.batches.push(self.batch_report(
                            &f.batch,
                            "would_land",
                            contexts,
                            &f.verdict,
                            bisect.as_ref(),
                        ));
                        report.outcome = TickOutcome::Testing {
                            batch: f.batch.id.clone(),
                        };
                        return Ok(());
                    }
                    match self.land(report, snap, &f.batch).await? {
                        None => {
                            let mut r = self.batch_report(
                                &f.batch,
                                "landed",
                                contexts,
                                &f.verdict,
                                bisect.as_ref(),
                            );
                            r.staging = Some(f.batch.staging.clone());
                            report.batches.push(r);
                            report.outcome = TickOutcome::Landed {
                                prs: f.batch.members.iter().map(|m| m.pr).collect(),
                            };
                            bisect = batch::after_green(&f.batch, bisect.as_ref());
                            eligible.retain(|m| !f.batch.members.iter().any(|b| b.pr == m.pr));
                            // A push lands the staging commit itself; merges through the
                            // API make commits of their own (same tree, checked).
                            base = if self.settings.batch.landing == BatchLanding::MergeApi {
                                self.forge.branch_head(&self.settings.branch).await?
                            } else {
                                f.batch.staging.clone()
                            };
                            rebuilds = 0;
                            size = batch::adapt_size(size, true, max);
                        }
                        Some(why) => {
                            self.abandon(report, &f, contexts, bisect.as_ref(), why)
                                .await?;
                            rebuilds = 0;
                        }
                    }
                }
                BatchStep::Rebuild { why } => {
                    let Some(f) = in_flight.take() else {
                        return Ok(());
                    };
                    rebuilds = if matches!(f.verdict, Verdict::Stuck) {
                        f.batch.rebuilds.saturating_add(1)
                    } else {
                        0
                    };
                    if self.dry_run {
                        let mut r = self.batch_report(
                            &f.batch,
                            "would_rebuild",
                            contexts,
                            &f.verdict,
                            bisect.as_ref(),
                        );
                        r.why = why;
                        report.batches.push(r);
                        return Ok(());
                    }
                    self.abandon(report, &f, contexts, bisect.as_ref(), why)
                        .await?;
                }
                BatchStep::HoldStuck { prs } => {
                    let Some(f) = in_flight.take() else {
                        return Ok(());
                    };
                    let why = format!(
                        "its batch {}'s staging commit {} stayed pending past {} hours, also after a rebuild: {} never finished",
                        f.batch.id,
                        f.batch.staging.short(12),
                        self.settings.stale_pending.map_or(0, |d| d.num_hours()),
                        contexts.join(", ")
                    );
                    for pr in &prs {
                        self.hold_member(report, snap, decisions, *pr, "batch_stuck", why.clone())
                            .await?;
                    }
                    self.record_batch(&f.batch, ledger::Action::Hold, codes::STUCK, why, json!({}))
                        .await?;
                    report.batches.push(self.batch_report(
                        &f.batch,
                        "stuck",
                        contexts,
                        &f.verdict,
                        bisect.as_ref(),
                    ));
                    report.outcome = TickOutcome::Held;
                    eligible.retain(|m| !prs.contains(&m.pr));
                    bisect = None;
                    rebuilds = 0;
                    if self.dry_run {
                        return Ok(());
                    }
                }
                BatchStep::Hold { pr, failing } => {
                    let Some(f) = in_flight.take() else {
                        return Ok(());
                    };
                    let links = self.failing_links(&f.batch, &failing).await;
                    let why = messages::batch_red(&f.batch.id, &f.batch.staging, &failing, &links);
                    self.hold_member(report, snap, decisions, pr, "batch_failed", why.clone())
                        .await?;
                    self.record_batch(
                        &f.batch,
                        ledger::Action::Hold,
                        codes::HELD,
                        format!("#{pr} held: {why}"),
                        json!({ "failing": failing }),
                    )
                    .await?;
                    let mut r =
                        self.batch_report(&f.batch, "held", contexts, &f.verdict, bisect.as_ref());
                    r.failing = failing;
                    report.batches.push(r);
                    report.outcome = TickOutcome::Held;
                    eligible.retain(|m| m.pr != pr);
                    // The culprit is found: the other suspects go back to the queue.
                    bisect = None;
                    rebuilds = 0;
                    size = batch::adapt_size(size, false, max);
                    if self.dry_run {
                        return Ok(());
                    }
                }
                BatchStep::Split { bisect: b } => {
                    let Some(f) = in_flight.take() else {
                        return Ok(());
                    };
                    let failing = match &f.verdict {
                        Verdict::Red(fl) => fl.clone(),
                        _ => Vec::new(),
                    };
                    let text = format!(
                        "batch {} failed on {} ({}): bisecting #{} (split {})",
                        f.batch.id,
                        f.batch.staging.short(12),
                        failing
                            .iter()
                            .map(|(c, s)| format!("{c}: {s}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        b.suspects
                            .iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", #"),
                        b.steps
                    );
                    annotate("warning", &text);
                    if self.dry_run {
                        let mut r = self.batch_report(
                            &f.batch,
                            "would_split",
                            contexts,
                            &f.verdict,
                            Some(&b),
                        );
                        r.failing = failing;
                        report.batches.push(r);
                        return Ok(());
                    }
                    self.record_batch(
                        &f.batch,
                        ledger::Action::Skip,
                        codes::SPLIT,
                        text,
                        json!({ "failing": failing, "suspects": b.suspects, "steps": b.steps }),
                    )
                    .await?;
                    let mut r =
                        self.batch_report(&f.batch, "split", contexts, &f.verdict, Some(&b));
                    r.failing = failing;
                    report.batches.push(r);
                    bisect = Some(b);
                    rebuilds = 0;
                    size = batch::adapt_size(size, false, max);
                }
                BatchStep::Build { members } => {
                    let meta = StagingMeta {
                        id: new_batch_id(chrono::Utc::now(), &members),
                        rebuilds,
                        bisect: bisect.clone(),
                        size: adaptive.then_some(size),
                    };
                    let left_out = self
                        .build(report, snap, decisions, &base, members, meta, contexts)
                        .await?;
                    if left_out.is_empty() {
                        return Ok(());
                    }
                    // Nothing merged: none of these can be in a staging commit on this base
                    // this tick (held for a conflict, already in the base, pushed meanwhile).
                    // Build from the others, or a PR already in the base would stand first
                    // in every tick's batch and nothing behind it would ever be tested.
                    eligible.retain(|m| !left_out.contains(&m.pr));
                }
            }
        }
        Ok(())
    }

    /// Abandons a batch that is not landed (base moved, member changed, stuck once): the
    /// next step builds again.
    async fn abandon(
        &self,
        report: &mut TickReport,
        f: &InFlight,
        contexts: &[String],
        bisect: Option<&Bisect>,
        why: Vec<String>,
    ) -> Result<()> {
        let text = format!(
            "batch {} not landed, rebuilding: {}",
            f.batch.id,
            why.join("; ")
        );
        annotate("notice", &text);
        self.record_batch(
            &f.batch,
            ledger::Action::Skip,
            codes::REBUILT,
            text,
            json!({ "why": why }),
        )
        .await?;
        let mut r = self.batch_report(&f.batch, "rebuilt", contexts, &f.verdict, bisect);
        r.why = why;
        report.batches.push(r);
        Ok(())
    }
}

fn verdict_state(v: &Verdict) -> &'static str {
    match v {
        Verdict::Green => "green",
        Verdict::Red(_) => "red",
        Verdict::Pending => "pending",
        Verdict::Stuck => "stuck",
    }
}

fn members_text(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| format!("#{}", m.pr))
        .collect::<Vec<_>>()
        .join(", ")
}
