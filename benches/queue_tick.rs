//! One merge-queue tick over 80 open PRs with 60 statuses each, against the simulated forge
//! with 20 ms latency per request, the only ready PR being the newest (so every PR is read).
//! Not a test: prints wall time, request counts and peak memory. Run it with
//!
//!   cargo bench --bench queue_tick
//!   cargo bench --bench queue_tick -- --runs 7 --window 8 --rate 1000
//!
//! The simulator runs in this process; the tick runs in a **separate process**, so its peak
//! RSS is the tick's alone:
//!
//! * `binary`: the real `mergeward queue tick` (release build, `CARGO_BIN_EXE_mergeward`),
//!   wall time from spawn to exit (process start, ledger open/migrate, lock, tick, envelope),
//!   client counts from its result envelope (`api`), peak RSS as the child's `ru_maxrss`
//!   (`getrusage(RUSAGE_CHILDREN)` in a small python3 wrapper that runs nothing else;
//!   without python3, the highest `VmHWM` polled from `/proc/PID/status` every 2 ms).
//! * `library`: this bench binary re-executed as a child that builds the client and runs
//!   `mergeward::cli::queue_cmd::locked_tick` (lock, run record, decisions, merge) and
//!   reports the time of that call, `Forge::counts()` and its own `VmHWM` at the end.
//!
//! `MW_BENCH_LEDGER_DIR=/dev/shm` puts the tick's SQLite ledger on tmpfs (no fsync cost).
//!
//! Options (after `--`): `--runs N` (default 5), `--window W` / `--rate R` (only that
//! configuration; default: a matrix of windows 8/16/32 at rates 50 (the default) and 1000).

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mergeward::cli::queue_cmd::locked_tick;
use mergeward::forge::{self, Forge, ForgeKind, ForgeTarget, HttpSettings, RepoSlug, Secret};
use mergeward::ledger::{Ledger, NewRun};
use mergeward::report::{Progress, RunReport};
use mergeward::sim::{Permission, ProtectionSpec, PullSpec, ReviewSpec, Scenario, Sim, StatusSpec};
use serde_json::{Value, json};

const PRS: u64 = 80;
const STATUSES: usize = 60;
const LATENCY_MS: u64 = 20;
const TOKEN: &str = "bench-bot-token";
const REPO: &str = "acme/widgets";
/// Gitea's default `MAX_RESPONSE_ITEMS` (the simulator's `max_limit`) and mergeward's page size.
const PAGE: u64 = 50;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn scenario() -> Scenario {
    let mut s = Scenario::gitea(REPO)
        .user("bot", TOKEN, Permission::Write)
        .user("alice", "bench-alice-token", Permission::Write)
        .branch("main", None, 3)
        .protect(ProtectionSpec::new("main").contexts(&["ci/1"]).approvals(1))
        .latency_ms(LATENCY_MS);
    for n in 1..=PRS {
        s = s
            .pr(PullSpec::new(n).head(format!("feature-{n}")).user("alice"))
            // `{n}` → 60 distinct contexts ci/1 ..= ci/60, all green.
            .status(StatusSpec::pr(n, "ci/{n}", "success").count(STATUSES));
    }
    // Only the newest PR is approved: the only ready one.
    s.review(ReviewSpec::new(PRS, "alice", "APPROVED"))
}

fn pages(items: u64) -> u64 {
    items.div_ceil(PAGE).max(1)
}

/// Requests of a strictly one-after-another tick that reads every page.
fn sequential_chain() -> (u64, String) {
    let protection = 2; // GET branches/main + GET branch_protections/main
    let base_head = 1; // GET branches/main
    let list = pages(PRS); // GET pulls?state=open, every page
    let per_pr = pages(STATUSES as u64) + pages(0); // statuses pages + reviews (none)
    let merge = 3; // re-read base head, re-read the PR, POST merge
    let total = protection + base_head + list + PRS * per_pr + merge;
    (
        total,
        format!(
            "{protection} (protection) + {base_head} (base head) + {list} (open PR list) + {PRS} PRs x {per_pr} ({} status pages + 1 review page; the PR commits are not read, every PR contains the base) + {merge} (merge: base head, PR, POST) = {total}",
            pages(STATUSES as u64)
        ),
    )
}

fn vm_hwm_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Where the tick's SQLite ledger goes: `MW_BENCH_LEDGER_DIR` (e.g. `/dev/shm`, to take the
/// ledger's fsyncs out of the measurement), else the system temp dir.
fn scratch_dir() -> std::io::Result<tempfile::TempDir> {
    match std::env::var_os("MW_BENCH_LEDGER_DIR") {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
}

// ------------------------------------------------------------------ library child

fn library_child(url: &str, window: usize, rate: u32) -> Result<(), BoxError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = scratch_dir()?;
    let ledger_path = dir.path().join("ledger.db").display().to_string();
    let out = rt.block_on(async {
        let target = ForgeTarget {
            kind: ForgeKind::Gitea,
            url: url::Url::parse(url)?,
            repo: RepoSlug::parse(REPO)?,
        };
        let mut hs = HttpSettings::new(target.api_base(), target.dialect());
        hs.token = Some(Secret::new(TOKEN));
        hs.rate_per_second = rate;
        hs.rate_burst = rate;
        let f = forge::connect(&target, hs)?;
        let ledger = Ledger::open(&ledger_path).await?;
        let mut settings = mergeward::config::queue_defaults("main");
        settings.window = window;
        let mut report = RunReport::new("queue tick");
        let progress = Progress::silent();
        let started = Instant::now();
        let tick = locked_tick(
            &f,
            &ledger,
            &settings,
            NewRun::new("queue tick", "gitea", REPO, "main"),
            Duration::from_secs(900),
            &progress,
            &mut report,
        )
        .await?;
        let wall = started.elapsed();
        ledger.close().await;
        let c = f.counts();
        Ok::<_, BoxError>(json!({
            "wall_ms": wall.as_secs_f64() * 1e3,
            "outcome": tick.outcome.word(),
            "client_requests": c.requests,
            "client_pages": c.pages,
            "client_retries": c.retries,
        }))
    })?;
    let mut out = out;
    out["peak_rss_kb"] = json!(vm_hwm_kb(&std::fs::read_to_string("/proc/self/status")?));
    println!("{out}");
    Ok(())
}

// ------------------------------------------------------------------ measurements

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Binary,
    Library,
}

struct Sample {
    wall_ms: f64,
    sim_requests: u64,
    client_requests: u64,
    client_pages: u64,
    retries: u64,
    peak_rss_kb: Option<u64>,
    merged: bool,
}

const WRAPPER: &str = r#"
import json, resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - t
print(json.dumps({"code": r.returncode, "wall_ms": wall * 1e3,
                  "peak_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"#;

fn has_python() -> bool {
    Command::new("python3")
        .arg("-c")
        .arg("import resource")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

async fn run_binary(sim: &Sim, window: usize, rate: u32, python: bool) -> Result<Sample, BoxError> {
    let dir = scratch_dir()?;
    let envelope = dir.path().join("envelope.json");
    let args: Vec<String> = vec![
        env!("CARGO_BIN_EXE_mergeward").into(),
        "queue".into(),
        "tick".into(),
        "--quiet".into(),
        "--format".into(),
        "json".into(),
        "--url".into(),
        sim.url(),
        "--repo".into(),
        REPO.into(),
        "--ledger".into(),
        dir.path().join("ledger.db").display().to_string(),
        "--result-out".into(),
        envelope.display().to_string(),
    ];
    let envs = [
        ("GITEA_TOKEN", TOKEN.to_string()),
        ("MERGEWARD_CONCURRENCY", window.to_string()),
        ("MERGEWARD_RATE_LIMIT_PER_SECOND", rate.to_string()),
    ];
    let cwd = dir.path().to_path_buf();
    let (code, wall_ms, peak) = tokio::task::spawn_blocking(move || -> Result<_, String> {
        if python {
            let mut cmd = Command::new("python3");
            cmd.arg("-c").arg(WRAPPER).args(&args);
            cmd.env_clear().current_dir(&cwd).envs(envs);
            let o = cmd.output().map_err(|e| e.to_string())?;
            let v: Value = serde_json::from_slice(&o.stdout).map_err(|e| e.to_string())?;
            Ok((
                v["code"].as_i64().unwrap_or(-1),
                v["wall_ms"].as_f64().unwrap_or(0.0),
                v["peak_rss_kb"].as_u64(),
            ))
        } else {
            let mut cmd = Command::new(&args[0]);
            cmd.args(&args[1..])
                .env_clear()
                .current_dir(&cwd)
                .envs(envs);
            cmd.stdout(Stdio::null());
            let t = Instant::now();
            let mut child = cmd.spawn().map_err(|e| e.to_string())?;
            let mut peak = None;
            let status_path = format!("/proc/{}/status", child.id());
            let code = loop {
                if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
                    break s.code().unwrap_or(-1) as i64;
                }
                if let Some(kb) = std::fs::read_to_string(&status_path)
                    .ok()
                    .and_then(|s| vm_hwm_kb(&s))
                {
                    peak = peak.max(Some(kb));
                }
                std::thread::sleep(Duration::from_millis(2));
            };
            Ok((code, t.elapsed().as_secs_f64() * 1e3, peak))
        }
    })
    .await??;
    if code != 0 {
        return Err(format!("mergeward queue tick exited {code}").into());
    }
    let env: Value = serde_json::from_str(&std::fs::read_to_string(&envelope)?)?;
    Ok(Sample {
        wall_ms,
        sim_requests: sim.requests().len() as u64,
        client_requests: env["api"]["requests"].as_u64().unwrap_or(0),
        client_pages: env["api"]["pages"].as_u64().unwrap_or(0),
        retries: env["api"]["retries"].as_u64().unwrap_or(0),
        peak_rss_kb: peak,
        merged: env["outcome"] == "merged",
    })
}

async fn run_library(sim: &Sim, window: usize, rate: u32) -> Result<Sample, BoxError> {
    let exe = std::env::current_exe()?;
    let url = sim.url();
    let o = tokio::task::spawn_blocking(move || {
        Command::new(exe)
            .env("MW_BENCH_CHILD_URL", url)
            .env("MW_BENCH_CHILD_WINDOW", window.to_string())
            .env("MW_BENCH_CHILD_RATE", rate.to_string())
            .output()
    })
    .await??;
    if !o.status.success() {
        return Err(format!(
            "library child failed: {}",
            String::from_utf8_lossy(&o.stderr)
        )
        .into());
    }
    let v: Value = serde_json::from_slice(&o.stdout)?;
    Ok(Sample {
        wall_ms: v["wall_ms"].as_f64().unwrap_or(0.0),
        sim_requests: sim.requests().len() as u64,
        client_requests: v["client_requests"].as_u64().unwrap_or(0),
        client_pages: v["client_pages"].as_u64().unwrap_or(0),
        retries: v["client_retries"].as_u64().unwrap_or(0),
        peak_rss_kb: v["peak_rss_kb"].as_u64(),
        merged: v["outcome"] == "merged",
    })
}

fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    (median, v[0], v[v.len() - 1])
}

async fn parent() -> Result<(), BoxError> {
    let runs: usize = arg("--runs").map_or(Ok(5), |v| v.parse())?;
    let configs: Vec<(usize, u32)> = match (arg("--window"), arg("--rate")) {
        (None, None) => vec![(8, 50), (8, 1000), (16, 1000), (32, 1000)],
        (w, r) => vec![(
            w.map_or(Ok(8), |v| v.parse())?,
            r.map_or(Ok(50), |v| v.parse())?,
        )],
    };
    let python = has_python();
    let (chain, chain_text) = sequential_chain();
    println!(
        "queue tick: {PRS} open PRs x {STATUSES} statuses, {LATENCY_MS} ms per request, only the newest PR ready; {runs} runs per row"
    );
    println!("sequential chain (every page, one after another): {chain_text}");
    println!(
        "  -> {chain} requests x {LATENCY_MS} ms = {:.2} s if sent one after another",
        chain as f64 * LATENCY_MS as f64 / 1e3
    );
    println!(
        "peak RSS: {} (tick in its own process; the simulator stays in the bench process)",
        if python {
            "child ru_maxrss via a python3 getrusage wrapper (binary), VmHWM of the child (library)"
        } else {
            "VmHWM polled every 2 ms (binary), VmHWM of the child (library)"
        }
    );
    println!(
        "{:<8} {:>6} {:>6} | {:>22} | {:>8} {:>8} {:>6} {:>7} | {:>19}",
        "mode",
        "window",
        "rate/s",
        "wall ms median (min-max)",
        "sim req",
        "client",
        "pages",
        "retries",
        "peak RSS MB med(max)"
    );
    for mode in [Mode::Binary, Mode::Library] {
        for &(window, rate) in &configs {
            let mut samples = Vec::new();
            for _ in 0..runs {
                // A fresh forge per run: the previous run merged the ready PR.
                let sim = Sim::start(scenario()).await?;
                let s = match mode {
                    Mode::Binary => run_binary(&sim, window, rate, python).await?,
                    Mode::Library => run_library(&sim, window, rate).await?,
                };
                sim.shutdown().await;
                if !s.merged {
                    return Err("the tick did not merge the ready PR".into());
                }
                samples.push(s);
            }
            let (med, min, max) = stats(samples.iter().map(|s| s.wall_ms).collect());
            let rss: Vec<f64> = samples
                .iter()
                .filter_map(|s| s.peak_rss_kb)
                .map(|kb| kb as f64 / 1024.0)
                .collect();
            let rss_text = if rss.is_empty() {
                "n/a".to_string()
            } else {
                let (m, _, x) = stats(rss);
                format!("{m:.1} ({x:.1})")
            };
            let same = |f: fn(&Sample) -> u64| {
                let v: Vec<u64> = samples.iter().map(f).collect();
                if v.iter().all(|x| *x == v[0]) {
                    v[0].to_string()
                } else {
                    format!("{}-{}", v.iter().min().unwrap(), v.iter().max().unwrap())
                }
            };
            println!(
                "{:<8} {:>6} {:>6} | {:>8.0} ({:>5.0}-{:>5.0}) | {:>8} {:>8} {:>6} {:>7} | {:>19}",
                match mode {
                    Mode::Binary => "binary",
                    Mode::Library => "library",
                },
                window,
                rate,
                med,
                min,
                max,
                same(|s| s.sim_requests),
                same(|s| s.client_requests),
                same(|s| s.client_pages),
                same(|s| s.retries),
                rss_text
            );
            if samples.iter().any(|s| s.sim_requests > chain) {
                println!("  !! more requests than the sequential chain ({chain})");
            }
        }
    }
    Ok(())
}

fn main() -> Result<(), BoxError> {
    if let Ok(url) = std::env::var("MW_BENCH_CHILD_URL") {
        let window = std::env::var("MW_BENCH_CHILD_WINDOW")?.parse()?;
        let rate = std::env::var("MW_BENCH_CHILD_RATE")?.parse()?;
        return library_child(&url, window, rate);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(parent())
}
