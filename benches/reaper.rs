//! Reaper sweep wall time: 30 commits × 60 statuses each (2 status pages per commit) on the
//! simulated Gitea at 20 ms per request, one class-O failure per commit (30 compensations),
//! workflows read from the forge, a SQLite ledger in a temp file. Not a test: run it with
//!
//!   cargo bench --bench reaper
//!
//! Options (after `--`): `--shas N` (30), `--statuses N` (60), `--latency-ms N` (20),
//! `--concurrency N` (8), `--rate N` (client rate limit per second; default 500, the
//! configuration default).

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

use std::time::{Duration, Instant};

use mergeward::forge::{self, Forge, ForgeKind, ForgeTarget, HttpSettings, RepoSlug, Secret};
use mergeward::ledger::{Ledger, NewRun};
use mergeward::reaper::Reaper;
use mergeward::report::Progress;
use mergeward::sim::{FileSpec, Permission, Scenario, Sim, StatusSpec};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn arg(name: &str, default: u64) -> Result<u64, BoxError> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args
            .get(i + 1)
            .ok_or_else(|| format!("{name} needs a value"))?
            .parse()?),
        None => Ok(default),
    }
}

async fn sweep(
    shas: usize,
    statuses: usize,
    latency: u64,
    concurrency: usize,
    rate: u32,
    dry_run: bool,
) -> Result<(), BoxError> {
    let mut sc = Scenario::gitea("bench/repo")
        .user("bot", "tok-bench-0001", Permission::Write)
        .branch("main", None, shas)
        .file(FileSpec::new(
            ".gitea/workflows/ci.yml",
            "name: CI\non: [push, pull_request]\n",
        ))
        .file(FileSpec::new(
            ".gitea/workflows/nightly.yml",
            "name: nightly\non:\n  schedule: [{cron: '0 3 * * *'}]\n",
        ));
    for i in 0..shas {
        let at = format!("main~{i}");
        // The failing row first: it is the oldest, so it sits on the last page.
        sc = sc
            .status(StatusSpec::sha(&at, "nightly / run (push)", "failure"))
            .status(
                StatusSpec::sha(&at, "CI / job {n} (push)", "success").count(statuses.max(2) - 1),
            );
    }
    let sim = Sim::start(sc).await?;
    let target = ForgeTarget {
        kind: ForgeKind::Gitea,
        url: url::Url::parse(&sim.url())?,
        repo: RepoSlug::parse("bench/repo")?,
    };
    let mut http = HttpSettings::new(target.api_base(), target.dialect());
    http.token = Some(Secret::new("tok-bench-0001"));
    http.rate_per_second = rate;
    http.rate_burst = rate;
    let f = forge::connect(&target, http)?;
    let dir = tempfile::tempdir()?;
    let ledger = Ledger::open(&dir.path().join("ledger.db").display().to_string()).await?;
    let run = ledger
        .start_run(&NewRun::new("reap", "gitea", "bench/repo", "main"))
        .await?;
    let mut settings = mergeward::config::reap_defaults("main");
    settings.limit = shas;
    settings.concurrency = concurrency;
    settings.dry_run = dry_run;
    let progress = Progress::silent();
    sim.set_latency_ms(latency);
    let started = Instant::now();
    let report = Reaper {
        forge: &f,
        ledger: &ledger,
        run_id: &run.id,
        settings: &settings,
        progress: &progress,
    }
    .run(None)
    .await?;
    let wall = started.elapsed();
    let counts = f.counts();
    println!(
        "reaper sweep: {shas} SHAs x {statuses} statuses, {latency} ms/request, concurrency {concurrency}, rate limit {rate}/s{}: {:.0} ms, {} requests ({} GET pages, {} POSTs), {} compensated, exit {}",
        if dry_run { ", dry run" } else { "" },
        wall.as_secs_f64() * 1000.0,
        counts.requests,
        counts.pages,
        sim.requests().iter().filter(|r| r.method == "POST").count(),
        report.counters.compensated,
        report.exit_code()
    );
    ledger.close().await;
    sim.set_latency_ms(0);
    tokio::time::sleep(Duration::from_millis(10)).await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let shas = arg("--shas", 30)? as usize;
    let statuses = arg("--statuses", 60)? as usize;
    let latency = arg("--latency-ms", 20)?;
    let concurrency = arg("--concurrency", 8)? as usize;
    let rate = arg("--rate", 500)? as u32;
    sweep(shas, statuses, latency, concurrency, rate, true).await?;
    sweep(shas, statuses, latency, concurrency, rate, false).await?;
    Ok(())
}
