//! Runs: inserting, finishing and marking crashed, the state derived from their effects,
//! listing, and one run's detail (its decisions and effects).

use sqlx::AnyConnection;

use crate::ledger::error::{LedgerError, LedgerResult};
use crate::ledger::model::*;

use super::{decision_from_row, effect_from_row, flag, non_empty, run_from_row};

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
