//! `ledger export --format jsonl`: every run, decision and effect as one JSON object per line,
//! with a `type` field (`run`, `decision`, `effect`). Runs come first, then decisions, then
//! effects, each in id order (uuid v7: creation order), read in pages so a large ledger is
//! never held in memory. [`Ledger::import_jsonl`] reads the same format back into an empty
//! ledger (backup, or moving from SQLite to PostgreSQL).

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use super::Ledger;
use super::error::{LedgerError, LedgerResult};
use super::model::{DecisionRecord, EffectRecord, RunRecord, RunState};
use super::store::{self, dec_cols, eff_cols, run_cols};

/// One exported line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Run(RunRecord),
    Decision(DecisionRecord),
    Effect(EffectRecord),
}

/// How many events of each type were written or read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExportCounts {
    pub runs: u64,
    pub decisions: u64,
    pub effects: u64,
}

const PAGE: i64 = 500;

fn io_err(op: &'static str) -> impl Fn(std::io::Error) -> LedgerError {
    move |e| LedgerError::Io {
        op,
        message: e.to_string(),
    }
}

impl Ledger {
    /// Call `f` with every event: runs, then decisions, then effects.
    pub async fn for_each_event<F>(&self, mut f: F) -> LedgerResult<ExportCounts>
    where
        F: FnMut(Event) -> LedgerResult<()>,
    {
        let mut counts = ExportCounts::default();
        let mut conn = self.conn().await?;
        let mut after = String::new();
        loop {
            let rows = sqlx::query(concat!(
                "SELECT ",
                run_cols!(),
                " FROM runs WHERE id > $1 ORDER BY id LIMIT $2"
            ))
            .bind(&after)
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await
            .map_err(LedgerError::db("export runs"))?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let mut r = store::run_from_row(row)?;
                store::derive(&mut conn, &mut r).await?;
                after = r.id.clone();
                f(Event::Run(r))?;
                counts.runs += 1;
            }
        }
        after.clear();
        loop {
            let rows = sqlx::query(concat!(
                "SELECT ",
                dec_cols!(),
                " FROM decisions WHERE id > $1 ORDER BY id LIMIT $2"
            ))
            .bind(&after)
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await
            .map_err(LedgerError::db("export decisions"))?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let d = store::decision_from_row(row)?;
                after = d.id.clone();
                f(Event::Decision(d))?;
                counts.decisions += 1;
            }
        }
        after.clear();
        loop {
            let rows = sqlx::query(concat!(
                "SELECT ",
                eff_cols!(),
                " FROM effects WHERE id > $1 ORDER BY id LIMIT $2"
            ))
            .bind(&after)
            .bind(PAGE)
            .fetch_all(&mut *conn)
            .await
            .map_err(LedgerError::db("export effects"))?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let e = store::effect_from_row(row)?;
                after = e.id.clone();
                f(Event::Effect(e))?;
                counts.effects += 1;
            }
        }
        Ok(counts)
    }

    /// Write every event as JSON Lines to `out`.
    pub async fn export_jsonl<W: Write>(&self, out: &mut W) -> LedgerResult<ExportCounts> {
        let counts = self
            .for_each_event(|ev| {
                serde_json::to_writer(&mut *out, &ev).map_err(|e| LedgerError::Io {
                    op: "export",
                    message: e.to_string(),
                })?;
                out.write_all(b"\n").map_err(io_err("export"))
            })
            .await?;
        out.flush().map_err(io_err("export"))?;
        Ok(counts)
    }

    /// Read JSON Lines written by [`Ledger::export_jsonl`] into this ledger, keeping ids,
    /// timestamps and lineage, in one transaction. Meant for an empty ledger: an id that
    /// already exists fails the whole import.
    pub async fn import_jsonl<R: BufRead>(&self, input: R) -> LedgerResult<ExportCounts> {
        let mut counts = ExportCounts::default();
        let mut tx = self.begin().await?;
        for (n, line) in input.lines().enumerate() {
            let line = line.map_err(io_err("import"))?;
            if line.trim().is_empty() {
                continue;
            }
            let ev: Event = serde_json::from_str(&line).map_err(|e| LedgerError::Io {
                op: "import",
                message: format!("line {}: {e}", n + 1),
            })?;
            match ev {
                Event::Run(r) => {
                    // An unfinished run's state is derived; it is stored as running.
                    let state = if r.state_derived {
                        RunState::Running
                    } else {
                        r.state
                    };
                    sqlx::query(concat!(
                        "INSERT INTO runs (",
                        run_cols!(),
                        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                    ))
                    .bind(r.id)
                    .bind(r.command)
                    .bind(r.forge)
                    .bind(r.repo)
                    .bind(r.branch)
                    .bind(i64::from(r.dry_run))
                    .bind(r.tool_version)
                    .bind(r.config_digest)
                    .bind(r.started_at)
                    .bind(r.finished_at)
                    .bind(state.stored().0)
                    .bind(r.note)
                    .bind(state.stored().1)
                    .execute(&mut *tx)
                    .await
                    .map_err(LedgerError::db("import run"))?;
                    counts.runs += 1;
                }
                Event::Decision(d) => {
                    let evidence =
                        serde_json::to_string(&d.evidence).map_err(|e| LedgerError::Io {
                            op: "import",
                            message: e.to_string(),
                        })?;
                    sqlx::query(concat!(
                        "INSERT INTO decisions (",
                        dec_cols!(),
                        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
                    ))
                    .bind(d.id)
                    .bind(d.run_id)
                    .bind(d.subject)
                    .bind(d.action.as_str())
                    .bind(d.reason_code.as_str().to_string())
                    .bind(d.reason_text)
                    .bind(evidence)
                    .bind(d.head_sha)
                    .bind(d.base_sha)
                    .bind(i64::from(d.dry_run))
                    .bind(d.created_at)
                    .bind(d.supersedes)
                    .bind(d.superseded_by)
                    .bind(d.superseded_at)
                    .bind(d.reuse_count)
                    .bind(d.last_seen_at)
                    .bind(d.last_seen_run_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(LedgerError::db("import decision"))?;
                    counts.decisions += 1;
                }
                Event::Effect(e) => {
                    let payload =
                        serde_json::to_string(&e.payload).map_err(|err| LedgerError::Io {
                            op: "import",
                            message: err.to_string(),
                        })?;
                    sqlx::query(concat!(
                        "INSERT INTO effects (",
                        eff_cols!(),
                        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                    ))
                    .bind(e.id)
                    .bind(e.run_id)
                    .bind(e.decision_id)
                    .bind(e.subject)
                    .bind(e.kind.as_str())
                    .bind(e.idempotency_key)
                    .bind(e.discriminator)
                    .bind(e.head_sha)
                    .bind(e.base_sha)
                    .bind(payload)
                    .bind(e.intent_at)
                    .bind(e.outcome.map(|o| o.as_str()))
                    .bind(e.error)
                    .bind(e.outcome_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(LedgerError::db("import effect"))?;
                    counts.effects += 1;
                }
            }
        }
        Self::commit(tx).await?;
        Ok(counts)
    }
}
