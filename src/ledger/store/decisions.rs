//! Decisions: recording (a repeat of the same decision is reused, a different one
//! supersedes it), reading one, and `explain`.

use sqlx::AnyConnection;

use crate::ledger::Backend;
use crate::ledger::error::{LedgerError, LedgerResult};
use crate::ledger::model::*;

use super::{decision_from_row, flag, non_empty, run_open_check};

pub(crate) async fn record_decision(
    conn: &mut AnyConnection,
    backend: Backend,
    d: &NewDecision,
    check_run: bool,
) -> LedgerResult<Recorded> {
    non_empty("decision subject", &d.subject)?;
    if check_run {
        run_open_check(conn, &d.run_id).await?;
    }
    let id = new_id();
    let now = now_ts();
    let evidence = serde_json::to_string(&d.evidence).map_err(|e| LedgerError::Invalid {
        what: "evidence",
        message: e.to_string(),
    })?;
    // Fast path, one statement: insert when the subject has no current decision, or count a
    // reuse when the current one is the same decision. Returns nothing when the current
    // decision differs: then it is superseded below.
    let fast: Option<(String, i64)> = sqlx::query_as(concat!(
        "INSERT INTO decisions (",
        dec_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, NULL, 0, $11, $2)
         ON CONFLICT (subject) WHERE superseded_by IS NULL DO UPDATE SET
             reuse_count = decisions.reuse_count + 1,
             last_seen_at = excluded.last_seen_at,
             last_seen_run_id = excluded.last_seen_run_id
         WHERE decisions.action = excluded.action
           AND decisions.reason_code = excluded.reason_code
           AND decisions.head_sha IS NOT DISTINCT FROM excluded.head_sha
           AND decisions.base_sha IS NOT DISTINCT FROM excluded.base_sha
           AND decisions.dry_run = excluded.dry_run
         RETURNING id, reuse_count"
    ))
    .bind(&id)
    .bind(&d.run_id)
    .bind(&d.subject)
    .bind(d.action.as_str())
    .bind(d.reason_code.as_str())
    .bind(&d.reason_text)
    .bind(&evidence)
    .bind(d.evidence.head_sha.clone())
    .bind(d.evidence.base_sha.clone())
    .bind(flag(d.dry_run))
    .bind(&now)
    .fetch_optional(&mut *conn)
    .await
    .map_err(LedgerError::db("record decision"))?;
    match fast {
        Some((rid, _)) if rid == id => {
            return Ok(Recorded::Created {
                id,
                supersedes: None,
            });
        }
        Some((rid, reuse_count)) => {
            return Ok(Recorded::Reused {
                id: rid,
                reuse_count,
            });
        }
        None => {}
    }
    let select = match backend {
        Backend::Sqlite => concat!(
            "SELECT ",
            dec_cols!(),
            " FROM decisions WHERE subject = $1 AND superseded_by IS NULL"
        ),
        Backend::Postgres => concat!(
            "SELECT ",
            dec_cols!(),
            " FROM decisions WHERE subject = $1 AND superseded_by IS NULL FOR UPDATE"
        ),
    };
    let current = sqlx::query(select)
        .bind(&d.subject)
        .fetch_optional(&mut *conn)
        .await
        .map_err(LedgerError::db("read current decision"))?;
    let current = current.as_ref().map(decision_from_row).transpose()?;
    if let Some(cur) = &current
        && cur.action == d.action
        && cur.reason_code == d.reason_code
        && cur.head_sha == d.evidence.head_sha
        && cur.base_sha == d.evidence.base_sha
        && cur.dry_run == d.dry_run
    {
        let (reuse_count,): (i64,) = sqlx::query_as(
            "UPDATE decisions SET reuse_count = reuse_count + 1, last_seen_at = $1, last_seen_run_id = $2
             WHERE id = $3 RETURNING reuse_count",
        )
        .bind(&now)
        .bind(&d.run_id)
        .bind(&cur.id)
        .fetch_one(&mut *conn)
        .await
        .map_err(LedgerError::db("reuse decision"))?;
        return Ok(Recorded::Reused {
            id: cur.id.clone(),
            reuse_count,
        });
    }
    if let Some(cur) = &current {
        // Close the previous current decision first: the unique index allows one current row.
        sqlx::query(
            "UPDATE decisions SET superseded_by = $1, superseded_at = $2 WHERE id = $3 AND superseded_by IS NULL",
        )
        .bind(&id)
        .bind(&now)
        .bind(&cur.id)
        .execute(&mut *conn)
        .await
        .map_err(LedgerError::db("supersede decision"))?;
    }
    sqlx::query(concat!(
        "INSERT INTO decisions (",
        dec_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, 0, $11, $2)"
    ))
    .bind(&id)
    .bind(&d.run_id)
    .bind(&d.subject)
    .bind(d.action.as_str())
    .bind(d.reason_code.as_str())
    .bind(&d.reason_text)
    .bind(evidence)
    .bind(d.evidence.head_sha.clone())
    .bind(d.evidence.base_sha.clone())
    .bind(flag(d.dry_run))
    .bind(&now)
    .bind(current.as_ref().map(|c| c.id.clone()))
    .execute(&mut *conn)
    .await
    .map_err(LedgerError::db("insert decision"))?;
    Ok(Recorded::Created {
        id,
        supersedes: current.map(|c| c.id),
    })
}

pub(crate) async fn explain(
    conn: &mut AnyConnection,
    subject: &str,
) -> LedgerResult<Vec<DecisionRecord>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        dec_cols!(),
        " FROM decisions WHERE subject = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(subject)
    .fetch_all(&mut *conn)
    .await
    .map_err(LedgerError::db("explain"))?;
    rows.iter().map(decision_from_row).collect()
}

pub(crate) async fn get_decision(
    conn: &mut AnyConnection,
    id: &str,
) -> LedgerResult<Option<DecisionRecord>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        dec_cols!(),
        " FROM decisions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(LedgerError::db("read decision"))?;
    row.as_ref().map(decision_from_row).transpose()
}
