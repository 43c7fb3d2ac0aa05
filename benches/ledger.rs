//! Ledger write throughput: N decisions, each with one effect (intent + committed outcome),
//! recorded in ticks of K decisions (one transaction per tick), on SQLite (a temp file,
//! WAL, synchronous=FULL) and on PostgreSQL when `MERGEWARD_TEST_PG` is set (a fresh
//! database). Prints decisions per second. Not a test: run it with
//!
//!   cargo bench --bench ledger                       # SQLite only
//!   scripts/pg-test.sh cargo bench --bench ledger    # SQLite and a throwaway PostgreSQL
//!
//! Options (after `--`): `--decisions N` (default 10000), `--tick K` (default 100).

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

use std::time::Instant;

use mergeward::ledger::{
    Action, EffectKind, Evidence, Intent, Ledger, NewDecision, NewEffect, NewRun, Outcome,
    ReasonCode, RunState,
};
use sqlx::{AnyConnection, Connection, Executor};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn arg(name: &str, default: usize) -> Result<usize, BoxError> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args
            .get(i + 1)
            .ok_or_else(|| format!("{name} needs a value"))?
            .parse()?),
        None => Ok(default),
    }
}

async fn bench(label: &str, locator: &str, decisions: usize, tick: usize) -> Result<(), BoxError> {
    let ledger = Ledger::open(locator).await?;
    let run = ledger
        .start_run(&NewRun::new("bench", "gitea", "bench/repo", "main"))
        .await?;
    let reason = ReasonCode::new("ready")?;
    let started = Instant::now();
    let mut n = 0;
    while n < decisions {
        let mut t = ledger.tick().await?;
        for _ in 0..tick.min(decisions - n) {
            let head = format!("{n:040x}");
            let subject = format!("pr:{n}");
            let evidence = Evidence {
                head_sha: Some(head.clone()),
                base_sha: Some("b".repeat(40)),
                mergeable: Some(true),
                contexts: [("ci/build".to_string(), "success".to_string())].into(),
                approvals: vec!["alice".into(), "bob".into()],
                required_approvals: Some(2),
                ..Evidence::default()
            };
            let d = t
                .record_decision(&NewDecision {
                    run_id: run.id.clone(),
                    subject: subject.clone(),
                    action: Action::Merge,
                    reason_code: reason.clone(),
                    reason_text: "all required checks green, 2 approvals".into(),
                    evidence,
                    dry_run: false,
                })
                .await?;
            let intent = t
                .record_intent(&NewEffect {
                    run_id: run.id.clone(),
                    decision_id: Some(d.id().to_string()),
                    subject,
                    kind: EffectKind::Merge,
                    head_sha: Some(head),
                    base_sha: Some("b".repeat(40)),
                    discriminator: String::new(),
                    payload: serde_json::json!({ "style": "merge" }),
                })
                .await?;
            let Intent::Proceed(id) = intent else {
                return Err("unexpected replay".into());
            };
            t.record_outcome(&id, &Outcome::Committed).await?;
            n += 1;
        }
        t.commit().await?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{label}: {decisions} decisions + {decisions} effects (intent + outcome) in ticks of {tick}: {secs:.2} s, {:.0} decisions/s",
        decisions as f64 / secs
    );

    // Steady state: the same decisions again (every one is a reuse: no new row).
    let started = Instant::now();
    let mut n = 0;
    while n < decisions {
        let mut t = ledger.tick().await?;
        for _ in 0..tick.min(decisions - n) {
            let d = t
                .record_decision(&NewDecision {
                    run_id: run.id.clone(),
                    subject: format!("pr:{n}"),
                    action: Action::Merge,
                    reason_code: reason.clone(),
                    reason_text: "all required checks green, 2 approvals".into(),
                    evidence: Evidence {
                        head_sha: Some(format!("{n:040x}")),
                        base_sha: Some("b".repeat(40)),
                        ..Evidence::default()
                    },
                    dry_run: false,
                })
                .await?;
            if !d.is_reused() {
                return Err("expected a reuse".into());
            }
            n += 1;
        }
        t.commit().await?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{label}: {decisions} repeated decisions (reused, no new row) in ticks of {tick}: {secs:.2} s, {:.0} decisions/s",
        decisions as f64 / secs
    );

    // Autocommit form, as around real forge calls: each intent and outcome durable alone.
    let auto = 500;
    let started = Instant::now();
    for i in 0..auto {
        let intent = ledger
            .record_intent(&NewEffect {
                run_id: run.id.clone(),
                decision_id: None,
                subject: format!("pr:{i}"),
                kind: EffectKind::Label,
                head_sha: Some(format!("{i:040x}")),
                base_sha: Some("b".repeat(40)),
                discriminator: "add:merge-queue-hold".into(),
                payload: serde_json::json!({}),
            })
            .await?;
        let Intent::Proceed(id) = intent else {
            return Err("unexpected replay".into());
        };
        ledger.record_outcome(&id, &Outcome::Committed).await?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{label}: {auto} effects in autocommit form (2 transactions each): {secs:.2} s, {:.0} effects/s",
        auto as f64 / secs
    );

    ledger.finish_run(&run.id, RunState::Completed).await?;
    let detail = ledger.show(&run.id).await?.ok_or("run vanished")?;
    if detail.decisions.len() != decisions || detail.effects.len() != decisions + auto {
        return Err("wrong row counts".into());
    }
    ledger.close().await;
    Ok(())
}

fn main() -> Result<(), BoxError> {
    // The runtime mergeward's binary uses (src/main.rs): multi-threaded, 2 workers.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> Result<(), BoxError> {
    let decisions = arg("--decisions", 10_000)?;
    let tick = arg("--tick", 100)?.max(1);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.db");
    bench("sqlite", &path.display().to_string(), decisions, tick).await?;

    match std::env::var("MERGEWARD_TEST_PG") {
        Ok(admin) if !admin.is_empty() => {
            sqlx::any::install_default_drivers();
            let mut conn = AnyConnection::connect(&admin).await?;
            let name = format!("bench_{}", mergeward::ledger::new_id().replace('-', ""));
            conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await?;
            let mut url = url::Url::parse(&admin)?;
            url.set_path(&format!("/{name}"));
            bench("postgres", url.as_str(), decisions, tick).await?;
            conn.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
                .await?;
        }
        _ => eprintln!("postgres: skipped (MERGEWARD_TEST_PG is not set; see scripts/pg-test.sh)"),
    }
    Ok(())
}
