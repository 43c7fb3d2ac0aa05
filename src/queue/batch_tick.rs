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
                super::tick::RUN_COMMAND,
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

    /// Re-reads, right before landing, what [`batch::may_land`] checks.
    async fn land_check(&self, snap: &Snapshot, b: &Batch) -> Result<LandCheck> {
        let base = self.forge.branch_head(&self.settings.branch).await?;
        let mut members = Vec::with_capacity(b.members.len());
        for m in &b.members {
            let pr = self.forge.pull(PrNumber(m.pr)).await?;
            if pr.state != PrState::Open || pr.merged {
                members.push((m.pr, None, false));
                continue;
            }
            let ok = match self.read_candidate(&pr, &base).await {
                Ok(c) => {
                    policy::ineligible(&snap.policy, &c.pr).is_none()
                        && matches!(
                            batch_decide(&snap.policy, &snap.base, &c).action,
                            Action::Merge { .. }
                        )
                }
                Err(e) if e.is_not_found() => false,
                Err(e) => return Err(e.into()),
            };
            members.push((m.pr, Some(pr.head_sha.clone()), ok));
        }
        Ok(LandCheck { base, members })
    }

    /// Lands a green batch; `Some(why)` when it was not landed (rebuild).
    async fn land(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        b: &Batch,
    ) -> Result<Option<Vec<String>>> {
        if self.settings.batch.landing == BatchLanding::MergeApi {
            return self.land_by_merge_api(report, snap, b).await;
        }
        let remote = self.git_remote().await?;
        let req = LandRequest {
            remote,
            token: self.forge.git_token(),
            base_branch: self.settings.branch.clone(),
            batch_base: b.base.clone(),
            staging_branch: self.settings.batch.staging_branch.clone(),
            staging: b.staging.clone(),
            batch_id: b.id.clone(),
            members: b.members.clone(),
        };
        let git = self.settings.batch.git.clone();
        let ne = land_effect(self.run_id, b, &self.settings.branch);
        let landed = self
            .push_effect(report, ne, move || {
                let git = git.clone();
                let req = req.clone();
                async move {
                    tokio::task::spawn_blocking(move || staging::land(&git, &req))
                        .await
                        .map_err(|e| Error::Internal(format!("the landing task failed: {e}")))?
                }
            })
            .await?;
        match landed {
            PushDone::Replayed | PushDone::Done(Landed::Landed) => {}
            PushDone::Done(Landed::BaseMoved { now }) => {
                return Ok(Some(vec![format!(
                    "the base moved to {} before the landing",
                    now.map_or("nothing (deleted)".into(), |s| s.short(12).to_string())
                )]));
            }
            PushDone::Done(Landed::NotTheBatch { why }) => {
                let text = format!(
                    "batch {}: not landed: {why}; the staging branch {} is mergeward's own, and what it holds is landed only when it is exactly the base with the batch's PRs merged",
                    b.id, self.settings.batch.staging_branch
                );
                annotate("error", &text);
                return Ok(Some(vec![text]));
            }
            PushDone::Done(Landed::StagingMoved { now }) => {
                return Ok(Some(vec![format!(
                    "the staging branch moved to {} before the landing: what was tested is not what would land",
                    now.map_or("nothing (deleted)".into(), |s| s.short(12).to_string())
                )]));
            }
        }
        annotate(
            "notice",
            &format!(
                "batch {} landed on {}: {}",
                b.id,
                self.settings.branch,
                members_text(&b.members)
            ),
        );
        self.finish_landing(report, snap, b).await?;
        Ok(None)
    }

    /// `queue.batch_landing = "merge-api"`: each member merged through the API pinned to its
    /// head, in batch order, only while the base is what the previous step left; then the
    /// base's tree must be the tested tree.
    async fn land_by_merge_api(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        b: &Batch,
    ) -> Result<Option<Vec<String>>> {
        let f = self.forge;
        let mut expected = b.base.clone();
        for (i, m) in b.members.iter().enumerate() {
            let now = f.branch_head(&self.settings.branch).await?;
            if now != expected {
                if i == 0 {
                    return Ok(Some(vec![format!(
                        "the base moved from {} to {} before the landing",
                        expected.short(12),
                        now.short(12)
                    )]));
                }
                return Err(Error::usage_hint(
                    format!(
                        "batch {}: the base moved to {} while its PRs were merged one by one ({} of {} merged): the base now holds a combination that was not tested",
                        b.id,
                        now.short(12),
                        i,
                        b.members.len()
                    ),
                    "look at the base branch now; mergeward stops here and merges nothing more until a person has checked it",
                ));
            }
            let d = Decision {
                pr: PrNumber(m.pr),
                head: m.head.clone(),
                base_head: expected.clone(),
                action: Action::Merge { force: false },
                reason: policy::Reason::Ready {
                    forced_past: Vec::new(),
                    note: None,
                },
            };
            let did = self
                .record_decision(&snap.policy, &d, None, None, None)
                .await?;
            let req = MergeRequest {
                method: MergeMethod::Merge,
                title: format!("Merge #{} (mergeward batch {})", m.pr, b.id),
                message: format!(
                    "Tested in the staging commit {} of batch {}.",
                    b.staging, b.id
                ),
                force: false,
            };
            let done = self
                .effect(
                    report,
                    did.as_deref(),
                    d.pr,
                    EffectKind::Merge,
                    Some(&m.head),
                    Some(&expected),
                    "batch-merge-api",
                    || f.merge(d.pr, &m.head, &req),
                )
                .await?;
            if let super::execute::Done::Refused(e) = done {
                return Err(Error::ForgeCtx {
                    context: format!(
                        "batch {}: merging #{} through the API was refused after {} of {} PRs merged",
                        b.id,
                        m.pr,
                        i,
                        b.members.len()
                    ),
                    err: Box::new(e),
                    hint: Some(
                        "look at the base branch; the rest of the batch is not merged".into(),
                    ),
                });
            }
            expected = f.branch_head(&self.settings.branch).await?;
        }
        let landed = f.commit(&expected).await?;
        let tested = f.commit(&b.staging).await?;
        match (&landed.tree, &tested.tree) {
            (Some(a), Some(t)) if a == t => {}
            (a, t) => {
                return Err(Error::usage_hint(
                    format!(
                        "batch {}: after merging {} through the API, the base's tree ({}) is not the tested staging commit's tree ({}): the base holds something that was not tested",
                        b.id,
                        members_text(&b.members),
                        a.as_ref()
                            .map_or("unknown".into(), |s| s.short(12).to_string()),
                        t.as_ref()
                            .map_or("unknown".into(), |s| s.short(12).to_string()),
                    ),
                    "check the base branch by hand (a merge method other than a merge commit, or a server-side change); mergeward stops here",
                ));
            }
        }
        self.record_batch(
            b,
            ledger::Action::Merge,
            codes::LANDED,
            format!(
                "batch {} merged through the API onto {}; the base's tree is the tested tree",
                b.id, self.settings.branch
            ),
            json!({ "base": expected.as_str() }),
        )
        .await?;
        Ok(None)
    }

    /// After the base reached the staging commit: each member marked merged (Gitea/Forgejo:
    /// `manually-merged`; GitHub does it by itself) and the batch recorded as landed.
    async fn finish_landing(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        b: &Batch,
    ) -> Result<()> {
        let f = self.forge;
        // Recorded as landed only once every PR is merged on the forge: otherwise the next
        // tick finishes it (the base already is the staging commit).
        let mut all_marked = true;
        for m in &b.members {
            let n = PrNumber(m.pr);
            let pr = match f.pull(n).await {
                Ok(p) => p,
                Err(e) => {
                    all_marked = false;
                    report.could_not_decide(
                        m.pr,
                        format!(
                            "batch {} landed, but #{} could not be read to mark it merged: {e}",
                            b.id, m.pr
                        ),
                        ExitCode::CouldNotDecide,
                    );
                    continue;
                }
            };
            if pr.merged {
                continue;
            }
            if pr.head_sha != m.head {
                // Pushed to after the landing: the tested head is in the base, the new
                // commits are not. Marking it merged would close it without them; it stays
                // open and is queued again on its new head.
                report.notes.push(format!(
                    "#{} landed in batch {} on its head {}, but was pushed to since ({}): not marked merged; the new commits go through the queue again",
                    m.pr,
                    b.id,
                    m.head.short(12),
                    pr.head_sha.short(12)
                ));
                continue;
            }
            if f.kind() == ForgeKind::GitHub {
                report.notes.push(format!(
                    "#{} is in {} (batch {}); GitHub marks it merged once it sees the push",
                    m.pr, self.settings.branch, b.id
                ));
                continue;
            }
            let d = Decision {
                pr: n,
                head: m.head.clone(),
                base_head: b.staging.clone(),
                action: Action::Merge { force: false },
                reason: policy::Reason::Ready {
                    forced_past: Vec::new(),
                    note: None,
                },
            };
            let did = self
                .record_decision(
                    &snap.policy,
                    &d,
                    None,
                    None,
                    Some((
                        codes::LANDED,
                        format!(
                            "landed in batch {} by the tested staging commit {}",
                            b.id, b.staging
                        ),
                    )),
                )
                .await?;
            let disc = format!("manually-merged:{}", b.staging);
            let done = self
                .effect(
                    report,
                    did.as_deref(),
                    n,
                    EffectKind::Merge,
                    Some(&m.head),
                    Some(&b.staging),
                    &disc,
                    || f.mark_merged(n, &b.staging),
                )
                .await?;
            if let super::execute::Done::Refused(e) = done {
                match f.pull(n).await {
                    Ok(p) if p.merged => {}
                    _ => {
                        all_marked = false;
                        report.could_not_decide(
                        m.pr,
                        format!(
                            "batch {} landed on {} (its head is in the base), but the forge refused to mark #{} merged: {e}; the next tick tries again",
                            b.id, self.settings.branch, m.pr
                        ),
                        ExitCode::CouldNotDecide,
                    );
                    }
                }
            }
        }
        if !all_marked {
            return Ok(());
        }
        self.record_batch(
            b,
            ledger::Action::Merge,
            codes::LANDED,
            format!(
                "batch {} landed: {} fast-forwarded to the tested staging commit {} ({})",
                b.id,
                self.settings.branch,
                b.staging,
                members_text(&b.members)
            ),
            json!({}),
        )
        .await?;
        Ok(())
    }

    /// Builds and pushes the next staging commit. Returns the PRs left out when no member
    /// merged (nothing pushed), else nothing.
    #[allow(clippy::too_many_arguments)]
    async fn build(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        decisions: &[Decision],
        base: &Sha,
        members: Vec<Member>,
        meta: StagingMeta,
        contexts: &[String],
    ) -> Result<Vec<u64>> {
        let planned = Batch {
            id: meta.id.clone(),
            base: base.clone(),
            members: members.clone(),
            staging: base.clone(),
            rebuilds: meta.rebuilds,
        };
        if self.dry_run {
            let mut r = self.batch_report(
                &planned,
                "would_build",
                contexts,
                &Verdict::Pending,
                meta.bisect.as_ref(),
            );
            r.staging = None;
            report.batches.push(r);
            report.outcome = TickOutcome::Testing { batch: meta.id };
            return Ok(Vec::new());
        }
        let remote = self.git_remote().await?;
        let req = StagingRequest {
            remote,
            token: self.forge.git_token(),
            base_branch: self.settings.branch.clone(),
            base_head: base.clone(),
            members: members.clone(),
            pr_ref: PR_HEAD_REF.to_string(),
            staging_branch: self.settings.batch.staging_branch.clone(),
            batch_id: meta.id.clone(),
            extra_trailers: batch::meta_trailers(&meta),
        };
        let git = self.settings.batch.git.clone();
        let ne = NewEffect {
            run_id: self.run_id.to_string(),
            decision_id: None,
            subject: batch_subject(&meta.id),
            kind: EffectKind::Push,
            head_sha: None,
            base_sha: Some(base.to_string()),
            discriminator: format!("stage:{}", self.settings.batch.staging_branch),
            payload: json!({ "members": members.iter().map(|m| json!({"pr": m.pr, "head": m.head.as_str()})).collect::<Vec<_>>() }),
        };
        let staged = self
            .push_effect(report, ne, move || {
                let git = git.clone();
                let req = req.clone();
                async move { staging::build_async(git, req).await }
            })
            .await?;
        let staged = match staged {
            PushDone::Done(s) => s,
            // A build is never replayed: its id is new.
            PushDone::Replayed => return Ok(Vec::new()),
        };
        match staged {
            Staged::Built {
                staging,
                included,
                left_out,
            } => {
                let b = Batch {
                    staging: staging.clone(),
                    members: included.clone(),
                    ..planned
                };
                self.record_batch(
                    &b,
                    ledger::Action::Wait,
                    codes::BUILT,
                    format!(
                        "batch {} built: {} on {} as the staging commit {}",
                        b.id,
                        members_text(&included),
                        base.short(12),
                        staging
                    ),
                    json!({ "staging": staging.as_str(), "members": included.iter().map(|m| m.pr).collect::<Vec<_>>() }),
                )
                .await?;
                annotate(
                    "notice",
                    &format!(
                        "batch {} built: {} → {} on {}",
                        b.id,
                        members_text(&included),
                        staging.short(12),
                        self.settings.batch.staging_branch
                    ),
                );
                for m in &included {
                    if let Some(d) = decisions.iter().find(|d| d.pr.0 == m.pr) {
                        let c = snap.candidates.iter().find(|c| c.pr.number == d.pr);
                        self.queue_status(
                            report,
                            d,
                            ContextState::Pending,
                            messages::in_batch_status(&b.id, &staging),
                            c,
                        )
                        .await?;
                    }
                }
                let mut r = self.batch_report(
                    &b,
                    "built",
                    contexts,
                    &Verdict::Pending,
                    meta.bisect.as_ref(),
                );
                r.left_out = self
                    .left_out(report, snap, decisions, &b.id, &left_out)
                    .await?;
                report.batches.push(r);
                report.outcome = TickOutcome::Testing { batch: b.id };
            }
            Staged::NothingMerged { left_out } => {
                let mut r = self.batch_report(
                    &planned,
                    "nothing_merged",
                    contexts,
                    &Verdict::Pending,
                    meta.bisect.as_ref(),
                );
                r.staging = None;
                r.left_out = self
                    .left_out(report, snap, decisions, &planned.id, &left_out)
                    .await?;
                report.batches.push(r);
                report.outcome = TickOutcome::Held;
                return Ok(left_out.iter().map(|l| l.member.pr).collect());
            }
            Staged::BaseMoved { now } => {
                report.notes.push(format!(
                    "the base moved to {} while batch {} was built; the next tick builds on the new base",
                    now.map_or("nothing (deleted)".into(), |s| s.short(12).to_string()),
                    planned.id
                ));
            }
        }
        Ok(Vec::new())
    }

    /// Members left out of a staging commit: conflicts are held, moved heads re-read next
    /// tick. Returns (pr, why) for the report.
    async fn left_out(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        decisions: &[Decision],
        id: &str,
        left_out: &[staging::LeftOut],
    ) -> Result<Vec<(u64, String)>> {
        let mut out = Vec::new();
        for l in left_out {
            let why = messages::left_out(id, &self.settings.branch, &l.reason);
            if l.reason.holds() {
                self.hold_member(
                    report,
                    snap,
                    decisions,
                    l.member.pr,
                    "batch_conflict",
                    why.clone(),
                )
                .await?;
            } else {
                report.notes.push(format!("#{}: {why}", l.member.pr));
            }
            out.push((l.member.pr, why));
        }
        Ok(out)
    }

    /// Holds a PR with the hold label, a comment and (when configured) a failure status.
    async fn hold_member(
        &self,
        report: &mut TickReport,
        snap: &Snapshot,
        decisions: &[Decision],
        pr: u64,
        code: &str,
        why: String,
    ) -> Result<()> {
        let c = snap.candidates.iter().find(|c| c.pr.number.0 == pr);
        let d = match decisions.iter().find(|d| d.pr.0 == pr) {
            Some(d) => d.clone(),
            None => match c {
                Some(c) => batch_decide(&snap.policy, &snap.base, c),
                None => {
                    report.notes.push(format!(
                        "#{pr} would be held ({why}) but was not read this tick"
                    ));
                    return Ok(());
                }
            },
        };
        self.hold(report, &snap.policy, &d, c, code, why).await
    }

    /// The links of the failing contexts on the staging commit.
    async fn failing_links(&self, b: &Batch, failing: &[(String, String)]) -> Vec<String> {
        let Ok(st) = self.forge.statuses(&b.staging).await else {
            return Vec::new();
        };
        failing
            .iter()
            .filter_map(|(c, _)| {
                st.latest
                    .iter()
                    .find(|(n, _)| &n.0 == c)
                    .and_then(|(_, r)| r.target_url.clone())
                    .map(|u| format!("{c}: {u}"))
            })
            .collect()
    }

    /// The git URL: `queue.git_remote`, else the forge's clone URL.
    async fn git_remote(&self) -> Result<String> {
        if let Some(r) = &self.settings.batch.git_remote {
            return Ok(r.clone());
        }
        self.forge.clone_url().await.map_err(|e| Error::ForgeCtx {
            context: "batch mode: cannot read the repository's clone URL".into(),
            err: Box::new(e),
            hint: Some("set queue.git_remote to the repository's HTTPS git URL".into()),
        })
    }

    /// Records a transition of a batch.
    async fn record_batch(
        &self,
        b: &Batch,
        action: ledger::Action,
        code: &str,
        text: String,
        extra: serde_json::Value,
    ) -> Result<()> {
        self.progress.emit(
            "batch_transition",
            json!({ "batch": b.id, "state": code, "staging": b.staging.as_str() }),
        );
        if !self.record {
            return Ok(());
        }
        let mut evidence = Evidence {
            head_sha: Some(b.staging.to_string()),
            base_sha: Some(b.base.to_string()),
            ..Evidence::default()
        };
        evidence.extra.insert(
            "members".into(),
            json!(
                b.members
                    .iter()
                    .map(|m| json!({"pr": m.pr, "head": m.head.as_str()}))
                    .collect::<Vec<_>>()
            ),
        );
        if let serde_json::Value::Object(map) = extra {
            for (k, v) in map {
                evidence.extra.insert(k, v);
            }
        }
        let nd = NewDecision {
            run_id: self.run_id.to_string(),
            subject: batch_subject(&b.id),
            action,
            reason_code: ledger::ReasonCode::new(code.to_string()).map_err(Error::from)?,
            reason_text: text,
            evidence,
            dry_run: self.dry_run,
        };
        self.ledger
            .record_decision(&nd)
            .await
            .map_err(Error::from)?;
        Ok(())
    }

    /// Runs a git push through the ledger: intent, the push, its outcome.
    async fn push_effect<T, Fut>(
        &self,
        report: &mut TickReport,
        ne: NewEffect,
        send: impl Fn() -> Fut,
    ) -> Result<PushDone<T>>
    where
        Fut: std::future::Future<Output = Result<T>>,
    {
        let key = ne.key();
        let record = |report: &mut TickReport, outcome: EffectOutcome| {
            report.actions.push(ActionRecord {
                subject: ne.subject.clone(),
                kind: EffectKind::Push,
                sha: ne.head_sha.clone(),
                outcome,
                idempotency_key: Some(key.clone()),
            });
        };
        if !self.record {
            let out = send().await?;
            record(report, EffectOutcome::Committed);
            return Ok(PushDone::Done(out));
        }
        let id = match self.ledger.record_intent(&ne).await.map_err(Error::from)? {
            Intent::Proceed(id) => id,
            Intent::Replayed { .. } => {
                record(report, EffectOutcome::Replayed);
                return Ok(PushDone::Replayed);
            }
            Intent::Unresolved { prior } => {
                // Resolved at the start of the tick (`recover_pushes`); still open means the
                // forge could not be read then: do not push blind.
                record(report, EffectOutcome::Unknown);
                return Err(Error::Internal(format!(
                    "the push {} of an earlier run ({}) is unresolved; the next tick resolves it from the forge",
                    ne.discriminator, prior.run_id
                )));
            }
        };
        self.progress.emit(
            "effect_started",
            json!({ "subject": ne.subject, "kind": "push", "idempotency_key": key }),
        );
        match send().await {
            Ok(out) => {
                self.ledger
                    .record_outcome(&id, &Outcome::Committed)
                    .await
                    .map_err(Error::from)?;
                record(report, EffectOutcome::Committed);
                Ok(PushDone::Done(out))
            }
            Err(e) => {
                // A git failure may have happened after the remote took the push: unknown,
                // resolved from the forge next tick.
                self.ledger
                    .record_outcome(&id, &Outcome::Unknown(e.to_string()))
                    .await
                    .map_err(Error::from)?;
                record(report, EffectOutcome::Unknown);
                Err(e)
            }
        }
    }

    /// Resolves earlier runs' unresolved pushes from the forge: a landing by the base's
    /// head, a staging push by the staging branch's batch id.
    async fn recover_pushes(&self, report: &mut TickReport) -> Result<()> {
        if !self.record || self.dry_run {
            return Ok(());
        }
        let repo = self.forge.repo().to_string();
        let open = self
            .ledger
            .unresolved_effects(
                super::tick::RUN_COMMAND,
                &repo,
                &self.settings.branch,
                self.run_id,
            )
            .await
            .map_err(Error::from)?;
        for e in open.into_iter().filter(|e| e.kind == EffectKind::Push) {
            let id = e
                .subject
                .strip_prefix("batch:")
                .unwrap_or(&e.subject)
                .to_string();
            let done = if let Some(branch) = e.discriminator.strip_prefix("land:") {
                let head = e.head_sha.as_deref().and_then(Sha::parse);
                let now = self.forge.branch_head(branch).await;
                match (now, head) {
                    (Ok(now), Some(h)) => now == h || self.in_recent_history(branch, &h).await,
                    (Err(err), _) if !err.is_not_found() => return Err(err.into()),
                    _ => false,
                }
            } else if let Some(branch) = e.discriminator.strip_prefix("stage:") {
                match self.forge.branch_head(branch).await {
                    Ok(h) => self
                        .forge
                        .commit(&h)
                        .await
                        .ok()
                        .and_then(|c| batch::parse_staging_meta(&c.message))
                        .is_some_and(|(m, _, _)| m.id == id),
                    Err(err) if err.is_not_found() => false,
                    Err(err) => return Err(err.into()),
                }
            } else {
                false
            };
            let outcome = if done {
                Outcome::Committed
            } else {
                Outcome::Failed("not found on the forge after an interrupted push".into())
            };
            self.ledger
                .record_outcome(&e.id, &outcome)
                .await
                .map_err(Error::from)?;
            report.notes.push(format!(
                "recovered: run {}'s push ({}) of batch {id} was {} on the forge",
                e.run_id,
                e.discriminator,
                if done { "done" } else { "not done" }
            ));
        }
        Ok(())
    }

    /// Whether `commit` is among the newest commits of `branch` (a landing that later
    /// commits followed). A read failure is "not found": the landing is then retried, and
    /// its lease refuses it if the base moved.
    async fn in_recent_history(&self, branch: &str, commit: &Sha) -> bool {
        self.forge
            .recent_commits(branch, 100)
            .await
            .is_ok_and(|cs| cs.iter().any(|c| &c.sha == commit))
    }

    fn batch_report(
        &self,
        b: &Batch,
        state: &str,
        contexts: &[String],
        verdict: &Verdict,
        bisect: Option<&Bisect>,
    ) -> BatchReport {
        BatchReport {
            id: b.id.clone(),
            state: state.to_string(),
            base: Some(b.base.clone()),
            staging: Some(b.staging.clone()),
            members: b.members.iter().map(|m| m.pr).collect(),
            staging_branch: self.settings.batch.staging_branch.clone(),
            staging_contexts: contexts.to_vec(),
            verdict: verdict_state(verdict).to_string(),
            failing: match verdict {
                Verdict::Red(f) => f.clone(),
                _ => Vec::new(),
            },
            left_out: Vec::new(),
            suspects: bisect.map(|b| b.suspects.clone()).unwrap_or_default(),
            why: Vec::new(),
        }
    }
}

/// The outcome of a push through the ledger.
enum PushDone<T> {
    Done(T),
    /// Already committed by an earlier run: not pushed again.
    Replayed,
}

/// The landing effect of a batch (its key is the same in every run).
fn land_effect(run_id: &str, b: &Batch, branch: &str) -> NewEffect {
    NewEffect {
        run_id: run_id.to_string(),
        decision_id: None,
        subject: batch_subject(&b.id),
        kind: EffectKind::Push,
        head_sha: Some(b.staging.to_string()),
        base_sha: Some(b.base.to_string()),
        discriminator: format!("land:{branch}"),
        payload: json!({ "members": b.members.iter().map(|m| m.pr).collect::<Vec<_>>() }),
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
