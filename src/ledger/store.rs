//! The SQL of every ledger operation, written once for both backends against one
//! connection. The callers ([`super::Ledger`] and [`super::Tick`]) own the transactions.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::Backend;
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

// ---------------------------------------------------------------- runs

pub(crate) async fn insert_run(
    conn: &mut AnyConnection,
    run: &NewRun,
    state: RunState,
    finished: bool,
    note: Option<&str>,
) -> LedgerResult<RunRecord> {
    non_empty("run command", &run.command)?;
    non_empty("run repository", &run.repo)?;
    non_empty("run branch", &run.branch)?;
    let id = new_id();
    let now = now_ts();
    let finished_at = finished.then(|| now.clone());
    sqlx::query(concat!(
        "INSERT INTO runs (",
        run_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(&id)
    .bind(&run.command)
    .bind(&run.forge)
    .bind(&run.repo)
    .bind(&run.branch)
    .bind(flag(run.dry_run))
    .bind(&run.tool_version)
    .bind(&run.config_digest)
    .bind(&now)
    .bind(finished_at.clone())
    .bind(state.stored().0)
    .bind(note)
    .bind(state.stored().1)
    .execute(&mut *conn)
    .await
    .map_err(LedgerError::db("start run"))?;
    Ok(RunRecord {
        id,
        command: run.command.clone(),
        forge: run.forge.clone(),
        repo: run.repo.clone(),
        branch: run.branch.clone(),
        dry_run: run.dry_run,
        tool_version: run.tool_version.clone(),
        config_digest: run.config_digest.clone(),
        started_at: now,
        finished_at,
        state,
        state_derived: false,
        note: note.map(str::to_string),
    })
}

/// The stored run (state not derived).
pub(crate) async fn get_run_raw(
    conn: &mut AnyConnection,
    run_id: &str,
) -> LedgerResult<Option<RunRecord>> {
    let row = sqlx::query(concat!("SELECT ", run_cols!(), " FROM runs WHERE id = $1"))
        .bind(run_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(LedgerError::db("read run"))?;
    row.as_ref().map(run_from_row).transpose()
}

/// Replace the state of an unfinished run by the one derived from its effects.
pub(crate) async fn derive(conn: &mut AnyConnection, run: &mut RunRecord) -> LedgerResult<()> {
    if run.finished_at.is_some() {
        return Ok(());
    }
    let (total, committed, failed): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*),
                COALESCE(SUM(CASE WHEN outcome = 'committed' THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END), 0)
         FROM effects WHERE run_id = $1",
    )
    .bind(&run.id)
    .fetch_one(&mut *conn)
    .await
    .map_err(LedgerError::db("derive run state"))?;
    let n = |v: i64| usize::try_from(v).unwrap_or(0);
    let open = n(total).saturating_sub(n(committed) + n(failed));
    run.state = derive_from_counts(n(total), n(committed), n(failed), open);
    run.state_derived = true;
    Ok(())
}

pub(crate) async fn run_open_check(conn: &mut AnyConnection, run_id: &str) -> LedgerResult<()> {
    let row: Option<(Option<String>, String)> =
        sqlx::query_as("SELECT finished_at, state FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(LedgerError::db("read run"))?;
    match row {
        None => Err(LedgerError::NotFound {
            what: "run",
            id: run_id.into(),
        }),
        Some((Some(_), state)) => Err(LedgerError::RunFinished {
            run_id: run_id.into(),
            state,
        }),
        Some((None, _)) => Ok(()),
    }
}

pub(crate) async fn finish_run(
    conn: &mut AnyConnection,
    run_id: &str,
    state: RunState,
) -> LedgerResult<RunRecord> {
    if state == RunState::Running {
        return Err(LedgerError::Invalid {
            what: "final run state",
            message: "a run cannot finish as running".into(),
        });
    }
    run_open_check(conn, run_id).await?;
    sqlx::query(
        "UPDATE runs SET state = $1, ended_by = $2, finished_at = $3 WHERE id = $4 AND finished_at IS NULL",
    )
    .bind(state.stored().0)
    .bind(state.stored().1)
    .bind(now_ts())
    .bind(run_id)
    .execute(&mut *conn)
    .await
    .map_err(LedgerError::db("finish run"))?;
    get_run_raw(conn, run_id)
        .await?
        .ok_or_else(|| LedgerError::NotFound {
            what: "run",
            id: run_id.into(),
        })
}

/// Marks every unfinished run of `command` on `repo`/`branch` other than `except` as
/// crashed (the caller holds the lock they ran under, so their holders are gone). Returns
/// their ids.
pub(crate) async fn mark_crashed(
    conn: &mut AnyConnection,
    command: &str,
    repo: &str,
    branch: &str,
    except: &str,
) -> LedgerResult<Vec<String>> {
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM runs WHERE finished_at IS NULL AND command = $1 AND repo = $2 AND branch = $3 AND id <> $4 ORDER BY started_at, id",
    )
    .bind(command)
    .bind(repo)
    .bind(branch)
    .bind(except)
    .fetch_all(&mut *conn)
    .await
    .map_err(LedgerError::db("find unfinished runs"))?;
    let now = now_ts();
    for (id,) in &ids {
        sqlx::query(
            "UPDATE runs SET state = 'failed', ended_by = 'crashed', finished_at = $1, note = $2 WHERE id = $3 AND finished_at IS NULL",
        )
        .bind(&now)
        .bind(format!("crashed: found unfinished by run {except}, which holds its lock"))
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(LedgerError::db("mark run crashed"))?;
    }
    Ok(ids.into_iter().map(|(id,)| id).collect())
}

/// Effects of other runs of `command` on `repo`/`branch` whose outcome is missing or
/// unknown, oldest first.
pub(crate) async fn unresolved_effects(
    conn: &mut AnyConnection,
    command: &str,
    repo: &str,
    branch: &str,
    except: &str,
) -> LedgerResult<Vec<EffectRecord>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        eff_cols!(),
        " FROM effects WHERE (outcome IS NULL OR outcome = 'unknown') AND run_id IN",
        " (SELECT id FROM runs WHERE command = $1 AND repo = $2 AND branch = $3 AND id <> $4)",
        " ORDER BY intent_at, id"
    ))
    .bind(command)
    .bind(repo)
    .bind(branch)
    .bind(except)
    .fetch_all(&mut *conn)
    .await
    .map_err(LedgerError::db("find unresolved effects"))?;
    rows.iter().map(effect_from_row).collect()
}

/// The newest `limit` committed effects of `kinds` by runs of `command` on `repo`/`branch`,
/// newest first (the queue page's recent activity).
pub(crate) async fn recent_effects(
    conn: &mut AnyConnection,
    command: &str,
    repo: &str,
    branch: &str,
    kinds: &[EffectKind],
    limit: u32,
) -> LedgerResult<Vec<EffectRecord>> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    // The kinds are the enum's own constant texts, never input.
    let kind_list = kinds
        .iter()
        .map(|k| format!("'{}'", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {} FROM effects WHERE outcome = 'committed' AND kind IN ({kind_list}) AND run_id IN \
         (SELECT id FROM runs WHERE command = $1 AND repo = $2 AND branch = $3 AND dry_run = 0) \
         ORDER BY outcome_at DESC, id DESC LIMIT $4",
        eff_cols!()
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(command)
        .bind(repo)
        .bind(branch)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await
        .map_err(LedgerError::db("read recent effects"))?;
    rows.iter().map(effect_from_row).collect()
}

/// The ids of runs whose id, with or without its dashes, starts with `prefix` (at most
/// `limit`).
pub(crate) async fn runs_by_prefix(
    conn: &mut AnyConnection,
    prefix: &str,
    limit: u32,
) -> LedgerResult<Vec<String>> {
    let norm: String = prefix
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if norm.is_empty() || !norm.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(Vec::new());
    }
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM runs WHERE REPLACE(id, '-', '') LIKE $1 ORDER BY started_at DESC, id DESC LIMIT $2",
    )
    .bind(format!("{norm}%"))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(LedgerError::db("find runs by prefix"))?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

pub(crate) async fn list_runs(
    conn: &mut AnyConnection,
    limit: u32,
) -> LedgerResult<Vec<RunRecord>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        run_cols!(),
        " FROM runs ORDER BY started_at DESC, id DESC LIMIT $1"
    ))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await
    .map_err(LedgerError::db("list runs"))?;
    let mut runs = rows
        .iter()
        .map(run_from_row)
        .collect::<LedgerResult<Vec<_>>>()?;
    for r in &mut runs {
        derive(conn, r).await?;
    }
    Ok(runs)
}

// ---------------------------------------------------------------- decisions

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

// ---------------------------------------------------------------- effects

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

pub(crate) async fn run_detail(
    conn: &mut AnyConnection,
    run_id: &str,
) -> LedgerResult<Option<RunDetail>> {
    let Some(mut run) = get_run_raw(conn, run_id).await? else {
        return Ok(None);
    };
    derive(conn, &mut run).await?;
    let decisions = sqlx::query(concat!(
        "SELECT ",
        dec_cols!(),
        " FROM decisions WHERE run_id = $1 OR last_seen_run_id = $1 ORDER BY created_at, id"
    ))
    .bind(run_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(LedgerError::db("read decisions"))?;
    let effects = sqlx::query(concat!(
        "SELECT ",
        eff_cols!(),
        " FROM effects WHERE run_id = $1 ORDER BY intent_at, id"
    ))
    .bind(run_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(LedgerError::db("read effects"))?;
    Ok(Some(RunDetail {
        run,
        decisions: decisions
            .iter()
            .map(decision_from_row)
            .collect::<LedgerResult<_>>()?,
        effects: effects
            .iter()
            .map(effect_from_row)
            .collect::<LedgerResult<_>>()?,
    }))
}
