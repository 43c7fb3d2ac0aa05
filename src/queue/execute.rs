//! Execute: the steps of a plan through the ledger — intent first, then the forge call,
//! then the outcome — with typed outcomes. A committed key is never sent again; an
//! unresolved one (a crash, a lost answer) is resolved by reading the forge first.

use serde_json::json;

use super::messages::{self, comment_marker};
use super::policy::{Action, CandidateState, Decision, QueuePolicy};
use super::report::{TickReport, Unevaluated};
use super::tick::{QUEUE_CONTEXT, REAPPLY, RUN_COMMAND, Tick};
use super::{github_rules, policy};
use crate::error::{Error, Result};
use crate::forge::{
    ContextName, ContextState, Forge, ForgeError, NewStatus, PermissionSuspect, PrNumber,
    RepoPermissions, Sha,
};
use crate::ledger::{self, EffectKind, Evidence, Intent, NewDecision, NewEffect, Outcome};
use crate::report::{ActionRecord, EffectOutcome};

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
pub(super) enum Done {
    /// In place (committed, replayed, or would be in a dry run), or its answer was lost.
    Ok(EffectOutcome),
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
    pub(super) async fn record_decision(
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
    pub(super) async fn record_decisions(
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
    pub(super) async fn effect<Fut>(
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
        let mut record = |outcome: EffectOutcome| {
            report.actions.push(ActionRecord {
                subject: subject.clone(),
                kind,
                sha: head.map(Sha::to_string),
                outcome,
                idempotency_key: Some(key.clone()),
            })
        };
        if self.dry_run || !self.record {
            record(EffectOutcome::DryRun);
            return Ok(Done::Ok(EffectOutcome::DryRun));
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
                        record(EffectOutcome::Replayed);
                        return Ok(Done::Ok(EffectOutcome::Replayed));
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
                        record(EffectOutcome::Failed);
                        return Ok(Done::Refused(e));
                    }
                }
            }
            Intent::Proceed(id) => id,
            Intent::Replayed { .. } => {
                record(EffectOutcome::Replayed);
                return Ok(Done::Ok(EffectOutcome::Replayed));
            }
            Intent::Unresolved { .. } => {
                record(EffectOutcome::Unknown);
                return Ok(Done::Ok(EffectOutcome::Unknown));
            }
        };
        self.progress.emit(
            "effect_started",
            json!({ "subject": subject, "kind": kind.as_str(), "sha": head.map(Sha::as_str), "idempotency_key": key }),
        );
        let result = send().await;
        let (outcome, word, done) = match result {
            Ok(()) => (
                Outcome::Committed,
                EffectOutcome::Committed,
                Done::Ok(EffectOutcome::Committed),
            ),
            Err(e) if e.outcome_unknown() => (
                Outcome::Unknown(e.to_string()),
                EffectOutcome::Unknown,
                Done::Refused(e),
            ),
            Err(e) => (
                Outcome::Failed(e.to_string()),
                EffectOutcome::Failed,
                Done::Refused(e),
            ),
        };
        self.ledger
            .record_outcome(&id, &outcome)
            .await
            .map_err(Self::ledger_err)?;
        self.progress.emit(
            "effect_completed",
            json!({ "subject": subject, "kind": kind.as_str(), "outcome": word.as_str(), "idempotency_key": key }),
        );
        record(word);
        Ok(done)
    }

    /// Whether an interrupted effect took place, read from the forge.
    pub(super) async fn resolve(
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
            // Batch pushes are resolved by the batch tick (`batch_tick::recover_pushes`);
            // a landing is done when the base is the pushed commit.
            EffectKind::Push => match (disc.strip_prefix("land:"), head) {
                (Some(branch), Some(h)) => match self.forge.branch_head(branch).await {
                    Ok(now) => &now == h,
                    Err(e) if e.is_not_found() => false,
                    Err(e) => return Err(e.into()),
                },
                _ => false,
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
    pub(super) async fn comment(
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
        let body = messages::with_marker(&body, &key);
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

    pub(super) async fn queue_status(
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

    /// Whether a refusal of `what` is mergeward's own token lacking a permission. A 401 or
    /// 403 always is (a scope or access the token lacks; the forge's rules answer 405, 409
    /// or 422); a 405 is when the repository's `permissions` say the token cannot push.
    /// Returns the error that ends the tick (exit 3, or 5 when the permissions cannot be
    /// read), or `None` when the refusal is about the PR.
    /// The bot's permission error when the forge says it may not merge into the base
    /// (`user_can_merge=false`), with the repository's permissions when readable.
    pub(super) async fn merge_forbidden(&self, pr: u64) -> Error {
        let branch = &self.settings.branch;
        let perms = match self.forge.repository().await {
            Ok(Some(r)) => r.permissions,
            _ => None,
        };
        let seen = permissions_seen(perms.as_ref());
        Error::Permission {
            message: format!(
                "mergeward's token may not merge #{pr} into {branch}: the forge reports user_can_merge=false for it (the protection's merge whitelist leaves its account out, or it lacks write access{seen}); no PR was held or told, this is the bot's configuration"
            ),
            hint: Some(format!(
                "give the bot's account write access, and add it (or a team it is in) to the merge whitelist of {branch}'s protection if one is enabled; `mergeward forge check` shows what it may do"
            )),
        }
    }

    pub(super) async fn token_problem(&self, e: &ForgeError, what: &str) -> Option<Error> {
        let suspect = e.permission_suspect()?;
        let status = suspect.http();
        let repo = self.forge.repo().to_string();
        let perms = match self.forge.repository().await {
            Ok(r) => r.and_then(|r| r.permissions),
            Err(re) if matches!(suspect, PermissionSuspect::IfCannotPush { .. }) => {
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
        if matches!(suspect, PermissionSuspect::IfCannotPush { .. }) && !cannot_push {
            return None;
        }
        let seen = permissions_seen(perms.as_ref());
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
    pub(super) async fn recover(&self, report: &mut TickReport) -> Result<()> {
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
                    exit: err.exit_code(),
                }),
            }
        }
        Ok(())
    }
}

/// What the repository reports of the token's permissions, for an error message.
fn permissions_seen(p: Option<&RepoPermissions>) -> String {
    p.map(|p| {
        format!(
            "; the repository reports admin={}, push={}, pull={} for it",
            p.admin, p.push, p.pull
        )
    })
    .unwrap_or_default()
}
