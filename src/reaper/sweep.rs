//! The sweep (seed-systems §3.5): list the newest commits of the branch, read every status
//! row of each (concurrently, bounded), decide with [`policy::decide_sha`], and post the
//! compensations through the ledger (intent → POST → outcome).
//!
//! Fail-closed: an unreadable commit list, a commit whose statuses could not be read, or a
//! compensation that could not be posted makes the run "could not decide" (exit 5), after
//! everything else that could be done was done.

use std::collections::BTreeMap;

use futures_util::StreamExt as _;
use serde::Serialize;
use serde_json::json;

use super::policy::{self, Compensation, Descriptions, Finding, Verdict};
use super::workflows::{self, Note, TriggerMap};
use crate::error::{Error, ExitCode, Result};
use crate::forge::{
    ContextName, ContextState, Forge, ForgeError, ForgeHistory, NewStatus, Sha, StatusReport,
};
use crate::ledger::{self, EffectKind, Intent, Ledger, NewEffect, Outcome};
use crate::report::{ActionRecord, EffectOutcome, Progress};

/// Reaper settings, built from the configuration and the flags by `config::settings`
/// (defaults: `config::reap_defaults(branch)`).
#[derive(Debug, Clone)]
pub struct ReapSettings {
    pub branch: String,
    /// Commits swept, newest first.
    pub limit: usize,
    pub dry_run: bool,
    pub descriptions: Descriptions,
    /// Commits whose statuses are read (and compensated) at once.
    pub concurrency: usize,
}

/// The original's summary counters, plus mergeward's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub scanned_shas: u64,
    /// Compensations posted (or, in a dry run, that would be): all three kinds.
    pub compensated: u64,
    pub compensated_cancelled_push: u64,
    pub compensated_pr_shadowed_by_push_success: u64,
    pub preserved_real_push: u64,
    pub preserved_unknown: u64,
    pub preserved_non_failure: u64,
    pub preserved_non_push_suffix: u64,
    pub preserved_unparseable: u64,
    pub preserved_pr_without_push_success: u64,
    /// New: a cancelled push run on the branch head with no later successful run.
    pub preserved_cancelled_on_head: u64,
    /// New: the ledger holds a committed compensation with this key (not posted again).
    pub already_compensated: u64,
    /// New: compensations whose POST failed (or whose outcome is unknown).
    pub compensation_errors: u64,
    pub sha_api_errors: u64,
    /// Full SHA → contexts compensated there (only SHAs with compensations).
    pub compensated_per_sha: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
}

impl Counters {
    fn preserved(&mut self, v: &Verdict) {
        let c = match v {
            Verdict::Compensate { .. } => return,
            Verdict::PreservedNonFailure => &mut self.preserved_non_failure,
            Verdict::PreservedPrWithoutPushSuccess => &mut self.preserved_pr_without_push_success,
            Verdict::PreservedNonPushSuffix => &mut self.preserved_non_push_suffix,
            Verdict::PreservedUnparseable => &mut self.preserved_unparseable,
            Verdict::PreservedUnknown { .. } => &mut self.preserved_unknown,
            Verdict::PreservedCancelledOnHead => &mut self.preserved_cancelled_on_head,
            Verdict::PreservedRealPush => &mut self.preserved_real_push,
        };
        *c += 1;
    }

    fn compensated(&mut self, sha: &Sha, context: &str, c: Compensation) {
        self.compensated += 1;
        match c {
            Compensation::PushSuffix => {}
            Compensation::PrShadow => self.compensated_pr_shadowed_by_push_success += 1,
            Compensation::CancelledPush => self.compensated_cancelled_push += 1,
        }
        self.compensated_per_sha
            .entry(sha.to_string())
            .or_default()
            .push(context.to_string());
    }
}

/// One compensation, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct CompensationRecord {
    pub sha: String,
    pub context: String,
    pub compensation: Compensation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<policy::CancelledBecause>,
    /// The status row it supersedes.
    pub supersedes_status_id: u64,
    pub target_url: Option<String>,
    pub description: String,
    /// committed | failed | unknown | replayed | dry_run.
    pub outcome: EffectOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a sweep found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReapReport {
    pub counters: Counters,
    /// The branch head at the time of the sweep (the newest listed commit).
    pub head: Option<String>,
    /// Where the trigger map came from, and its size.
    pub workflows_source: Option<String>,
    pub workflows: usize,
    pub push_triggered: usize,
    pub compensations: Vec<CompensationRecord>,
    #[serde(skip)]
    pub actions: Vec<ActionRecord>,
    /// Notices, warnings and errors, in order (the original's annotations).
    pub notes: Vec<Note>,
    /// The exit class of the commit-list failure, when the sweep was skipped.
    #[serde(skip)]
    pub skip_exit: Option<ExitCode>,
}

impl ReapReport {
    /// 0 when everything was read and every compensation went through; otherwise the class
    /// of the failure (5 "could not decide" for reads and posts).
    pub fn exit_code(&self) -> ExitCode {
        if let Some(code) = self.skip_exit {
            return code;
        }
        if self.counters.sha_api_errors > 0 || self.counters.compensation_errors > 0 {
            return ExitCode::CouldNotDecide;
        }
        ExitCode::Success
    }

    /// `completed`, `partial` (some reads or posts failed) or `skipped`.
    pub fn outcome(&self) -> &'static str {
        if self.counters.skipped == Some(true) {
            "skipped"
        } else if self.exit_code() == ExitCode::Success {
            "completed"
        } else {
            "partial"
        }
    }
}

/// What one commit yielded.
struct ShaOutcome {
    sha: Sha,
    read_error: Option<ForgeError>,
    plan: policy::ShaPlan,
    posted: Vec<(Finding, Compensation, CompensationRecord, ActionRecord)>,
}

/// One sweep.
pub struct Reaper<'a, F> {
    pub forge: &'a F,
    pub ledger: &'a Ledger,
    pub run_id: &'a str,
    pub settings: &'a ReapSettings,
    pub progress: &'a Progress,
}

impl<F: Forge + ForgeHistory> Reaper<'_, F> {
    /// Runs the sweep. `local`: the trigger map from `--workflows-dir`; `None` reads the
    /// workflow files from the forge at the branch head.
    pub async fn run(&self, local: Option<TriggerMap>) -> Result<ReapReport> {
        let s = self.settings;
        let mut report = ReapReport::default();
        let commits = match self.forge.recent_commits(&s.branch, s.limit.max(1)).await {
            Ok(c) if !c.is_empty() => c,
            result => {
                let (why, code) = match result {
                    Err(e) => (e.to_string(), e.exit_code()),
                    Ok(_) => (
                        format!("branch {} lists no commits", s.branch),
                        ExitCode::CouldNotDecide,
                    ),
                };
                report.notes.push(Note {
                    level: "error",
                    message: format!(
                        "status-reaper cannot run: commit-list API failed after retries: {why}"
                    ),
                });
                report.counters.skipped = Some(true);
                report.counters.skip_reason = Some("commit-list-api-error".into());
                report.skip_exit = Some(code);
                return Ok(report);
            }
        };
        let head = commits[0].sha.clone();
        report.head = Some(head.to_string());
        let triggers = match local {
            Some(t) => t,
            None => {
                let files = self
                    .forge
                    .workflow_files(head.as_str())
                    .await
                    .map_err(|e| workflow_read_error(head.as_str(), e))?;
                workflows::from_forge(files, head.as_str())?
            }
        };
        report.notes.extend(triggers.notes.iter().cloned());
        let n = triggers.workflows.len();
        let p = triggers.push_triggered();
        report.notes.push(Note::notice(format!(
            "scanned {n} workflows; push-triggered={p}, class-O candidates={}",
            n - p
        )));
        report.workflows_source = Some(triggers.source.clone());
        report.workflows = n;
        report.push_triggered = p;

        let triggers = &triggers;
        let outcomes: Vec<Result<ShaOutcome>> = futures_util::stream::iter(
            commits
                .iter()
                .map(|c| self.one_sha(c.sha.clone(), c.sha == head, triggers)),
        )
        .buffered(s.concurrency.max(1))
        .collect()
        .await;
        let mut fatal: Option<Error> = None;
        for o in outcomes {
            let o = match o {
                Ok(o) => o,
                Err(e) => {
                    fatal.get_or_insert(e);
                    continue;
                }
            };
            self.merge(&mut report, o);
        }
        if let Some(e) = fatal {
            return Err(e);
        }
        Ok(report)
    }

    fn merge(&self, report: &mut ReapReport, o: ShaOutcome) {
        let c = &mut report.counters;
        c.scanned_shas += 1;
        if let Some(e) = o.read_error {
            c.sha_api_errors += 1;
            report.notes.push(Note {
                level: "error",
                message: format!(
                    "statuses of {} could not be read; skipping this SHA: {e}",
                    o.sha.short(10)
                ),
            });
            return;
        }
        for f in &o.plan.findings {
            if let Verdict::PreservedUnknown { workflow } = &f.verdict {
                report
                    .notes
                    .push(Note::notice(format!("unknown workflow '{workflow}'; skip")));
            }
            c.preserved(&f.verdict);
        }
        for (f, comp, rec, action) in o.posted {
            match rec.outcome {
                EffectOutcome::Committed | EffectOutcome::DryRun => {
                    c.compensated(&o.sha, &f.context, comp);
                    let msg = if rec.outcome == EffectOutcome::DryRun {
                        format!(
                            "[dry-run] would compensate '{}' on {} with state=success",
                            f.context,
                            o.sha.short(10)
                        )
                    } else {
                        format!(
                            "compensated '{}' on {} (state=success)",
                            f.context,
                            o.sha.short(10)
                        )
                    };
                    report.notes.push(Note::notice(msg));
                }
                EffectOutcome::Replayed => c.already_compensated += 1,
                EffectOutcome::Failed | EffectOutcome::Unknown => {
                    c.compensation_errors += 1;
                    report.notes.push(Note {
                        level: "error",
                        message: format!(
                            "could not compensate '{}' on {}: {}",
                            f.context,
                            o.sha.short(10),
                            rec.error.as_deref().unwrap_or("unknown error")
                        ),
                    });
                }
            }
            report.compensations.push(rec);
            report.actions.push(action);
        }
    }

    async fn one_sha(&self, sha: Sha, is_head: bool, triggers: &TriggerMap) -> Result<ShaOutcome> {
        let rows = match self.forge.status_history(&sha).await {
            Ok(r) => r,
            Err(e) => {
                self.progress.emit(
                    "subject_evaluated",
                    json!({ "subject": ledger::commit_subject(sha.as_str()), "error": e.to_string() }),
                );
                return Ok(ShaOutcome {
                    sha,
                    read_error: Some(e),
                    plan: policy::ShaPlan::default(),
                    posted: Vec::new(),
                });
            }
        };
        let plan = policy::decide_sha(&sha, &rows, is_head, triggers);
        let to_post: Vec<(Finding, Compensation, Option<policy::CancelledBecause>)> = plan
            .findings
            .iter()
            .filter_map(|f| match &f.verdict {
                Verdict::Compensate {
                    compensation,
                    because,
                } => Some((f.clone(), *compensation, *because)),
                _ => None,
            })
            .collect();
        self.progress.emit(
            "subject_evaluated",
            json!({
                "subject": ledger::commit_subject(sha.as_str()),
                "head": is_head,
                "rows": rows.len(),
                "all_green": plan.all_green,
                "compensations": to_post.len(),
            }),
        );
        let mut posted = Vec::new();
        for (f, comp, because) in to_post {
            let (rec, action) = self.compensate(&sha, &f, comp, because).await?;
            posted.push((f, comp, rec, action));
        }
        Ok(ShaOutcome {
            sha,
            read_error: None,
            plan,
            posted,
        })
    }

    /// One compensation through the ledger: intent first, then the POST, then the outcome.
    /// A committed key is not sent again; an unresolved one is settled by reading the forge.
    async fn compensate(
        &self,
        sha: &Sha,
        f: &Finding,
        comp: Compensation,
        because: Option<policy::CancelledBecause>,
    ) -> Result<(CompensationRecord, ActionRecord)> {
        let description = comp.description(&self.settings.descriptions).to_string();
        let target_url = f.row.target_url.clone().filter(|u| !u.trim().is_empty());
        let status = NewStatus {
            context: ContextName(f.context.clone()),
            state: ContextState::Success,
            description: description.clone(),
            target_url: target_url.clone(),
        };
        // The superseded row's id is part of the key: a new failure of the same context on
        // the same SHA is a new compensation, a repeated sweep of the same state is not.
        let discriminator = json!([f.context, description, f.row.id]).to_string();
        let subject = ledger::commit_subject(sha.as_str());
        let ne = NewEffect {
            run_id: self.run_id.to_string(),
            decision_id: None,
            subject: subject.clone(),
            kind: EffectKind::Status,
            head_sha: Some(sha.to_string()),
            base_sha: None,
            discriminator,
            payload: json!({
                "context": f.context,
                "state": "success",
                "compensation": comp,
                "supersedes_status_id": f.row.id,
                "target_url": target_url,
                "description": description,
            }),
        };
        let key = ne.key();
        let rec = CompensationRecord {
            sha: sha.to_string(),
            context: f.context.clone(),
            compensation: comp,
            because,
            supersedes_status_id: f.row.id,
            target_url: target_url.clone(),
            description: description.clone(),
            outcome: EffectOutcome::DryRun,
            error: None,
        };
        let finish = |mut rec: CompensationRecord, word: EffectOutcome, error: Option<String>| {
            rec.outcome = word;
            rec.error = error;
            let action = ActionRecord {
                subject: subject.clone(),
                kind: EffectKind::Status,
                sha: Some(sha.to_string()),
                outcome: word,
                idempotency_key: Some(key.clone()),
            };
            (rec, action)
        };
        if self.settings.dry_run {
            return Ok(finish(rec, EffectOutcome::DryRun, None));
        }
        let ledger_err = |e: ledger::LedgerError| Error::from(e);
        let mut intent = self.ledger.record_intent(&ne).await.map_err(ledger_err)?;
        if let Intent::Unresolved { prior } = &intent {
            let done = self.already_posted(sha, &f.context, &description).await;
            let outcome = match done {
                Ok(true) => Outcome::Committed,
                Ok(false) => {
                    Outcome::Failed("not found on the forge after an interrupted attempt".into())
                }
                Err(e) => {
                    let why = format!("cannot settle an interrupted attempt: {e}");
                    return Ok(finish(rec, EffectOutcome::Unknown, Some(why)));
                }
            };
            self.ledger
                .record_outcome(&prior.id, &outcome)
                .await
                .map_err(ledger_err)?;
            intent = self.ledger.record_intent(&ne).await.map_err(ledger_err)?;
        }
        let id = match intent {
            Intent::Proceed(id) => id,
            Intent::Replayed { .. } => return Ok(finish(rec, EffectOutcome::Replayed, None)),
            Intent::Unresolved { .. } => {
                return Ok(finish(
                    rec,
                    EffectOutcome::Unknown,
                    Some("an earlier attempt is still unresolved".into()),
                ));
            }
        };
        self.progress.emit(
            "effect_started",
            json!({ "subject": subject, "kind": "status", "sha": sha.as_str(), "context": f.context, "idempotency_key": key }),
        );
        let (outcome, word, error) = match self.forge.post_status(sha, &status).await {
            Ok(()) => (Outcome::Committed, EffectOutcome::Committed, None),
            Err(e) if e.outcome_unknown() => (
                Outcome::Unknown(e.to_string()),
                EffectOutcome::Unknown,
                Some(e.to_string()),
            ),
            Err(e) => (
                Outcome::Failed(e.to_string()),
                EffectOutcome::Failed,
                Some(e.to_string()),
            ),
        };
        self.ledger
            .record_outcome(&id, &outcome)
            .await
            .map_err(ledger_err)?;
        self.progress.emit(
            "effect_completed",
            json!({ "subject": subject, "kind": "status", "context": f.context, "outcome": word.as_str(), "idempotency_key": key }),
        );
        Ok(finish(rec, word, error))
    }

    /// Whether the forge shows our compensation as the context's latest status.
    async fn already_posted(
        &self,
        sha: &Sha,
        context: &str,
        description: &str,
    ) -> std::result::Result<bool, ForgeError> {
        let st = self.forge.statuses(sha).await?;
        Ok(st
            .latest
            .get(&ContextName(context.to_string()))
            .is_some_and(|r: &StatusReport| {
                r.state == ContextState::Success && r.description.as_deref() == Some(description)
            }))
    }
}

fn workflow_read_error(reference: &str, e: ForgeError) -> Error {
    let hint = match &e {
        ForgeError::Unsupported { .. } => {
            "pass --workflows-dir with a checkout of the branch (e.g. `--workflows-dir .` after actions/checkout)".to_string()
        }
        _ => "nothing was compensated; pass --workflows-dir to read a local checkout instead, or retry".to_string(),
    };
    let usage = matches!(e, ForgeError::Unsupported { .. });
    if usage {
        return Error::usage_hint(
            format!("reap: cannot read the workflow files at {reference}: {e}"),
            hint,
        );
    }
    Error::ForgeCtx {
        context: format!("reap: could not read the workflow files at {reference}"),
        err: Box::new(e),
        hint: Some(hint),
    }
}
