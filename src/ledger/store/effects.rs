//! Effects: the intent row written before the forge call, the outcome after, and the
//! effects still unresolved.

use sqlx::AnyConnection;

use crate::ledger::error::{LedgerError, LedgerResult};
use crate::ledger::model::*;

use super::{effect_from_row, non_empty, run_open_check};

pub(crate) async fn record_intent(
    conn: &mut AnyConnection,
    e: &NewEffect,
    check_run: bool,
) -> LedgerResult<Intent> {
    non_empty("effect subject", &e.subject)?;
    if check_run {
        run_open_check(conn, &e.run_id).await?;
    }
    let key = e.key();
    let id = new_id();
    let payload = serde_json::to_string(&e.payload).map_err(|err| LedgerError::Invalid {
        what: "effect payload",
        message: err.to_string(),
    })?;
    // One statement on the common path: insert unless an effect with this key committed
    // or is still unresolved (no outcome, or unknown). Failed ones do not count.
    let inserted = sqlx::query(concat!(
        "INSERT INTO effects (",
        eff_cols!(),
        ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, NULL
          WHERE NOT EXISTS (SELECT 1 FROM effects
                            WHERE idempotency_key = $6 AND (outcome IS NULL OR outcome <> 'failed'))"
    ))
    .bind(&id)
    .bind(&e.run_id)
    .bind(e.decision_id.clone())
    .bind(&e.subject)
    .bind(e.kind.as_str())
    .bind(&key)
    .bind(&e.discriminator)
    .bind(e.head_sha.clone())
    .bind(e.base_sha.clone())
    .bind(payload)
    .bind(now_ts())
    .execute(&mut *conn)
    .await
    .map_err(LedgerError::db("record intent"))?;
    if inserted.rows_affected() == 1 {
        return Ok(Intent::Proceed(id));
    }
    let rows = sqlx::query(concat!(
        "SELECT ",
        eff_cols!(),
        " FROM effects WHERE idempotency_key = $1 AND (outcome IS NULL OR outcome <> 'failed')
          ORDER BY intent_at DESC, id DESC"
    ))
    .bind(&key)
    .fetch_all(&mut *conn)
    .await
    .map_err(LedgerError::db("look up idempotency key"))?;
    let prior = rows
        .iter()
        .map(effect_from_row)
        .collect::<LedgerResult<Vec<_>>>()?;
    if let Some(p) = prior
        .iter()
        .find(|p| p.outcome == Some(OutcomeKind::Committed))
    {
        return Ok(Intent::Replayed { prior: p.clone() });
    }
    match prior.into_iter().next() {
        Some(p) => Ok(Intent::Unresolved { prior: p }),
        None => Err(LedgerError::Invalid {
            what: "intent",
            message: format!("key {key} was neither recorded nor found; retry"),
        }),
    }
}

pub(crate) async fn get_effect(
    conn: &mut AnyConnection,
    id: &str,
) -> LedgerResult<Option<EffectRecord>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        eff_cols!(),
        " FROM effects WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(LedgerError::db("read effect"))?;
    row.as_ref().map(effect_from_row).transpose()
}

/// What `record_outcome` found; a duplicate is recorded as unknown and must be committed
/// before the error is reported.
pub(crate) enum OutcomeWrite {
    Done,
    Duplicate(LedgerError),
}

pub(crate) async fn record_outcome(
    conn: &mut AnyConnection,
    effect_id: &str,
    outcome: &Outcome,
) -> LedgerResult<OutcomeWrite> {
    let now = now_ts();
    // One statement on the common path: only an open effect (no outcome, or unknown) takes
    // an outcome, and `committed` only when no other effect committed the same key.
    let sql = match outcome.kind() {
        OutcomeKind::Committed => {
            "UPDATE effects SET outcome = $1, error = $2, outcome_at = $3
             WHERE id = $4 AND (outcome IS NULL OR outcome = 'unknown')
               AND NOT EXISTS (SELECT 1 FROM effects p
                               WHERE p.idempotency_key = effects.idempotency_key
                                 AND p.outcome = 'committed' AND p.id <> effects.id)"
        }
        OutcomeKind::Failed | OutcomeKind::Unknown => {
            "UPDATE effects SET outcome = $1, error = $2, outcome_at = $3
             WHERE id = $4 AND (outcome IS NULL OR outcome = 'unknown')"
        }
    };
    let res = sqlx::query(sql)
        .bind(outcome.kind().as_str())
        .bind(outcome.error_text())
        .bind(&now)
        .bind(effect_id)
        .execute(&mut *conn)
        .await;
    let updated = match res {
        Ok(r) => r.rows_affected(),
        // A concurrent writer committed the same key between our check and the update
        // (PostgreSQL, read committed): the unique index refused the second commit.
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            return Err(LedgerError::DuplicateCommit {
                key: "(not read: the transaction was aborted)".into(),
                effect_id: effect_id.into(),
                prior_id: "(a concurrent writer)".into(),
            });
        }
        Err(e) => {
            return Err(LedgerError::Db {
                op: "record outcome",
                source: e,
            });
        }
    };
    if updated == 1 {
        return Ok(OutcomeWrite::Done);
    }
    // Why not?
    let effect = get_effect(conn, effect_id)
        .await?
        .ok_or_else(|| LedgerError::NotFound {
            what: "effect",
            id: effect_id.into(),
        })?;
    if let Some(o @ (OutcomeKind::Committed | OutcomeKind::Failed)) = effect.outcome {
        return Err(LedgerError::OutcomeFinal {
            effect_id: effect_id.into(),
            outcome: o.to_string(),
        });
    }
    let prior: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM effects WHERE idempotency_key = $1 AND outcome = 'committed' AND id <> $2",
    )
    .bind(&effect.idempotency_key)
    .bind(effect_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(LedgerError::db("look up idempotency key"))?;
    let Some((prior_id,)) = prior else {
        return Err(LedgerError::Invalid {
            what: "outcome",
            message: format!("effect {effect_id} could not be updated; retry"),
        });
    };
    // Keep the report, as unknown: the forge said yes twice, or the caller is confused.
    sqlx::query(
        "UPDATE effects SET outcome = 'unknown', error = $1, outcome_at = $2 WHERE id = $3",
    )
    .bind(format!(
        "reported committed, but effect {prior_id} had already committed this key"
    ))
    .bind(&now)
    .bind(effect_id)
    .execute(&mut *conn)
    .await
    .map_err(LedgerError::db("record outcome"))?;
    Ok(OutcomeWrite::Duplicate(LedgerError::DuplicateCommit {
        key: effect.idempotency_key,
        effect_id: effect_id.into(),
        prior_id,
    }))
}
