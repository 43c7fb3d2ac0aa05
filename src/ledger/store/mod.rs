//! The SQL of every ledger operation, written once for both backends against one
//! connection. The callers ([`super::Ledger`] and [`super::Tick`]) own the transactions.
//! Here: the column lists and row decoders; `runs`, `decisions` and `effects` hold the
//! statements of each table.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::{LedgerError, LedgerResult};
use super::model::*;

macro_rules! run_cols {
    () => {
        "id, command, forge, repo, branch, dry_run, tool_version, config_digest, started_at, finished_at, state, note, ended_by"
    };
}
macro_rules! dec_cols {
    () => {
        "id, run_id, subject, action, reason_code, reason_text, evidence, head_sha, base_sha, dry_run, created_at, supersedes, superseded_by, superseded_at, reuse_count, last_seen_at, last_seen_run_id"
    };
}
macro_rules! eff_cols {
    () => {
        "id, run_id, decision_id, subject, kind, idempotency_key, discriminator, head_sha, base_sha, payload, intent_at, outcome, error, outcome_at"
    };
}
pub(crate) use {dec_cols, eff_cols, run_cols};

// After the column macros, so the submodules see them.
mod decisions;
mod effects;
mod runs;

pub(crate) use decisions::*;
pub(crate) use effects::*;
pub(crate) use runs::*;

fn get<'r, T>(row: &'r AnyRow, col: &'static str) -> LedgerResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(LedgerError::db("decode row"))
}

fn flag(v: bool) -> i64 {
    i64::from(v)
}

/// A run row with its stored state (not yet derived).
pub(crate) fn run_from_row(row: &AnyRow) -> LedgerResult<RunRecord> {
    let state: String = get(row, "state")?;
    let ended_by: Option<String> = get(row, "ended_by")?;
    let finished_at: Option<String> = get(row, "finished_at")?;
    Ok(RunRecord {
        id: get(row, "id")?,
        command: get(row, "command")?,
        forge: get(row, "forge")?,
        repo: get(row, "repo")?,
        branch: get(row, "branch")?,
        dry_run: get::<i64>(row, "dry_run")? != 0,
        tool_version: get(row, "tool_version")?,
        config_digest: get(row, "config_digest")?,
        started_at: get(row, "started_at")?,
        state: RunState::from_stored(&state, ended_by.as_deref())
            .ok_or_else(|| LedgerError::corrupt("runs.state", state))?,
        state_derived: false,
        finished_at,
        note: get(row, "note")?,
    })
}

pub(crate) fn decision_from_row(row: &AnyRow) -> LedgerResult<DecisionRecord> {
    let action: String = get(row, "action")?;
    let reason: String = get(row, "reason_code")?;
    let evidence: String = get(row, "evidence")?;
    Ok(DecisionRecord {
        id: get(row, "id")?,
        run_id: get(row, "run_id")?,
        subject: get(row, "subject")?,
        action: Action::parse(&action)
            .ok_or_else(|| LedgerError::corrupt("decisions.action", action))?,
        reason_code: ReasonCode::new(reason.clone())
            .map_err(|_| LedgerError::corrupt("decisions.reason_code", reason))?,
        reason_text: get(row, "reason_text")?,
        evidence: serde_json::from_str(&evidence)
            .map_err(|_| LedgerError::corrupt("decisions.evidence", evidence))?,
        head_sha: get(row, "head_sha")?,
        base_sha: get(row, "base_sha")?,
        dry_run: get::<i64>(row, "dry_run")? != 0,
        created_at: get(row, "created_at")?,
        supersedes: get(row, "supersedes")?,
        superseded_by: get(row, "superseded_by")?,
        superseded_at: get(row, "superseded_at")?,
        reuse_count: get(row, "reuse_count")?,
        last_seen_at: get(row, "last_seen_at")?,
        last_seen_run_id: get(row, "last_seen_run_id")?,
    })
}

pub(crate) fn effect_from_row(row: &AnyRow) -> LedgerResult<EffectRecord> {
    let kind: String = get(row, "kind")?;
    let outcome: Option<String> = get(row, "outcome")?;
    let payload: String = get(row, "payload")?;
    let outcome = match outcome {
        None => None,
        Some(o) => {
            Some(OutcomeKind::parse(&o).ok_or_else(|| LedgerError::corrupt("effects.outcome", o))?)
        }
    };
    Ok(EffectRecord {
        id: get(row, "id")?,
        run_id: get(row, "run_id")?,
        decision_id: get(row, "decision_id")?,
        subject: get(row, "subject")?,
        kind: EffectKind::parse(&kind).ok_or_else(|| LedgerError::corrupt("effects.kind", kind))?,
        idempotency_key: get(row, "idempotency_key")?,
        discriminator: get(row, "discriminator")?,
        head_sha: get(row, "head_sha")?,
        base_sha: get(row, "base_sha")?,
        payload: serde_json::from_str(&payload)
            .map_err(|_| LedgerError::corrupt("effects.payload", payload))?,
        intent_at: get(row, "intent_at")?,
        outcome,
        error: get(row, "error")?,
        outcome_at: get(row, "outcome_at")?,
    })
}

fn non_empty(what: &'static str, v: &str) -> LedgerResult<()> {
    if v.trim().is_empty() {
        Err(LedgerError::Invalid {
            what,
            message: "must not be empty".into(),
        })
    } else {
        Ok(())
    }
}
