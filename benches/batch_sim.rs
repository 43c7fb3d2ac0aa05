//! Batch mode vs the serial queue on the SIMULATED FORGE (issue 16, "Measure"): mergeward's
//! real tick (`cli::queue_cmd::locked_tick`, a real SQLite ledger in a temp dir, its own git
//! builder and landing in batch mode) against a git-mode simulated Gitea repository, with
//! simulated CI on every push and a logical clock. The queue model of `benches/batch_model.rs`
//! measured on the real thing.
//!
//! Setup (see docs/benchmarks.md §7):
//!
//! * `acme/widgets` on a simulated Gitea in git mode: `main` protected (context `CI`
//!   required, 2 approvals, pushes allowed for the bot), simulated CI posting `CI` on every
//!   push to any branch (PR heads, the staging branch, `main`), 20 logical minutes, no flakes.
//! * N PRs (default 200, `MERGEWARD_BENCH_PRS`), each forked from `main~1` (so each is behind
//!   `main` from the start) and touching its own file (no textual conflicts). PR i arrives at
//!   `i × 3` logical minutes: it is declared closed in the scenario and, at its arrival,
//!   reopened (a PR that appears) with two approvals and a green `CI` status on its head
//!   (its own CI, which ran before it arrived: not a queue run). Each PR is `breaking` with
//!   probability p (seeded): simulated CI fails every commit that contains its head — it is
//!   green alone, red once combined with the base (a semantic conflict).
//! * A tick every 5 logical minutes (`Sim::advance(5 min)` between ticks). After each tick the
//!   reviewers re-approve a PR whose head the queue updated (as `mergeward sandbox` does;
//!   Gitea keeps approvals across a clean base merge, and mergeward counts them only when the
//!   PR's commits prove it, so re-approving keeps the serial queue from depending on that).
//! * A run stops when every PR has arrived and is merged, held (the hold label) or left red
//!   (its own required context failed on its current head: the serial queue never updates
//!   such a PR again), or after a tick limit / a stall (no CI run started and nothing
//!   finished for 24 ticks): such a run is reported as incomplete.
//!
//! Metrics, per configuration: merges per hour (merged PRs / logical hours from the first
//! arrival to the last merge or hold), queue CI runs per merged PR (runs started on the
//! staging branch and on PR head branches — in this bench only the queue pushes to those —
//! excluding the scenario's own setup, which starts none), landing runs on `main` per merged
//! PR (reported separately: the re-run a real forge makes on the base after each merge or
//! landing push, of a tree the queue already tested), median and 95th-percentile time from
//! eligible (arrival: approved and green) to merged, and held PRs. Plus correctness checks:
//! no PR merged twice, every merged PR's head in `main`, no held PR's head in `main`, no
//! breaking PR merged and no innocent one held or left red (CI has no flakes here).
//!
//!   cargo bench --locked --bench batch_sim
//!   MERGEWARD_BENCH_PRS=40 MERGEWARD_BENCH_P=0.05 MERGEWARD_BENCH_CONFIGS=serial,b4 \
//!     cargo bench --locked --bench batch_sim
//!
//! Environment: `MERGEWARD_BENCH_PRS` (default 200), `MERGEWARD_BENCH_P` (comma list,
//! default `0.02,0.05,0.10,0.20`), `MERGEWARD_BENCH_CONFIGS` (comma list of `serial`, `bN`
//! (batch size N), `aN` (adaptive, at most N); default `serial,b1,b4,b8,a8`), `MERGEWARD_BENCH_SEED` (default 0), `MERGEWARD_BENCH_VERBOSE=1`
//! (a line per tick on stderr).

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mergeward::cli::queue_cmd::locked_tick;
use mergeward::forge::{self, AnyForge, ForgeKind, ForgeTarget, HttpSettings, RepoSlug, Secret};
use mergeward::ledger::{Ledger, NewRun};
use mergeward::queue::settings::QueueMode;
use mergeward::queue::tick::QueueSettings;
use mergeward::report::{Progress, RunReport};
use mergeward::sim::{CiSpec, Mutation, Permission, ProtectionSpec, PullSpec, Scenario, Sim};

const REPO: &str = "acme/widgets";
const TOKEN: &str = "bench-bot-token";
const ADMIN_TOKEN: &str = "bench-admin-token";
const CI: &str = "CI";
const HOLD: &str = "merge-queue-hold";
const STAGING: &str = "mergeward/staging/main";
const ARRIVAL_MIN: i64 = 3;
const CI_MIN: i64 = 20;
const TICK_MIN: i64 = 5;
/// Ticks without a CI run started or a PR finished, once every PR arrived: a stall.
const STALL_TICKS: u64 = 24;

/// xorshift64*, seeded as `benches/batch_model.rs` seeds it: the same breaking PRs as the
/// model's instance with the same seed.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn breaking_set(n: usize, p: f64, seed: u64) -> Vec<bool> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    (0..n).map(|_| rng.next_f64() < p).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Serial,
    Batch(usize),
    /// `queue.batch_adaptive` with this maximum: halve after a red batch, grow by one after
    /// a green one.
    Adaptive(usize),
}

impl Strategy {
    fn name(self) -> String {
        match self {
            Strategy::Serial => "serial".into(),
            Strategy::Batch(b) => format!("batch b={b}"),
            Strategy::Adaptive(b) => format!("adaptive ≤{b}"),
        }
    }
    fn parse(s: &str) -> Option<Strategy> {
        match s.trim() {
            "serial" => Some(Strategy::Serial),
            other if other.starts_with('a') => other[1..].parse().ok().map(Strategy::Adaptive),
            other => other
                .strip_prefix('b')
                .and_then(|n| n.parse().ok())
                .map(Strategy::Batch),
        }
    }
}

/// PR numbers are 1-based; PR `i + 1` is the i-th arrival.
fn scenario(breaking: &[bool]) -> Scenario {
    let mut p = ProtectionSpec::new("main").contexts(&[CI]).approvals(2);
    p.enable_push = true;
    p.push_whitelist = Some(vec!["bot".into(), "admin".into()]);
    let epoch = Utc::now();
    let epoch = DateTime::from_timestamp(epoch.timestamp(), 0).unwrap_or(epoch);
    let mut s = Scenario::gitea(REPO)
        .epoch(epoch)
        .git()
        .user("bot", TOKEN, Permission::Write)
        .user("admin", ADMIN_TOKEN, Permission::Admin)
        .user("alice", "bench-alice", Permission::Write)
        .user("bob", "bench-bob", Permission::Write)
        .user("dev", "bench-dev", Permission::Write)
        .branch("main", None, 3)
        .label(HOLD, "e11d21")
        .label("merge-queue", "0e8a16")
        .ci(CiSpec {
            push_contexts: vec![CI.into()],
            duration_secs: (CI_MIN * 60) as u64,
            ..CiSpec::default()
        })
        .protect(p);
    for (i, b) in breaking.iter().enumerate() {
        let mut spec = PullSpec::new(i as u64 + 1).user("dev").behind().closed();
        if *b {
            spec = spec.breaking();
        }
        s = s.pr(spec);
    }
    s
}

fn client(sim: &Sim) -> AnyForge {
    let target = ForgeTarget {
        kind: ForgeKind::Gitea,
        url: url::Url::parse(&sim.url()).unwrap(),
        repo: RepoSlug::parse(REPO).unwrap(),
    };
    let mut h = HttpSettings::new(target.api_base(), target.dialect());
    h.token = Some(Secret::new(TOKEN));
    h.retry_min_delay = Duration::from_millis(10);
    h.max_retries = 1;
    h.rate_per_second = 100_000;
    h.rate_burst = 100_000;
    h.request_timeout = Duration::from_secs(60);
    forge::connect(&target, h).unwrap()
}

fn settings(strategy: Strategy) -> QueueSettings {
    let mut s = mergeward::config::queue_defaults("main");
    // No `mergeward/queue` status on every candidate each tick (request volume only; the
    // queue's decisions do not depend on it), as the queue's scenario tests run.
    s.post_status = false;
    // The stale-pending rule compares statuses dated by the logical clock with the real
    // clock: off (no CI run here stays pending past its 20 minutes).
    s.stale_pending = None;
    s.batch.git.timeout = Duration::from_secs(120);
    match strategy {
        Strategy::Serial => s.mode = QueueMode::Serial,
        Strategy::Batch(b) => {
            s.mode = QueueMode::Batch;
            s.batch.batch.size = b;
            s.batch.batch.adaptive = false;
        }
        Strategy::Adaptive(b) => {
            s.mode = QueueMode::Batch;
            s.batch.batch.size = b;
            s.batch.batch.adaptive = true;
        }
    }
    s
}

#[derive(Debug, Default)]
struct RunResult {
    merged: usize,
    /// Held with the hold label.
    held: usize,
    /// Left waiting with its required context red on its current head (never retried).
    red: usize,
    /// Neither merged nor held nor red when the run stopped.
    open: usize,
    /// Logical minutes from the first arrival to the last merge or hold.
    span_min: f64,
    /// Minutes from eligible to merged, per merged PR.
    waits: Vec<f64>,
    queue_runs: usize,
    base_runs: usize,
    other_runs: usize,
    ticks: u64,
    tick_errors: usize,
    first_errors: Vec<String>,
    stop: String,
    wall: Duration,
    /// Correctness findings (a PR merged twice, a held head in main, …).
    findings: Vec<String>,
    batches_landed: usize,
    /// Logical minutes of drift: the clock moves one second per recorded write.
    drift_min: f64,
}

impl RunResult {
    fn complete(&self) -> bool {
        self.open == 0 && self.stop == "done"
    }
    fn per_hour(&self) -> f64 {
        if self.span_min <= 0.0 {
            return 0.0;
        }
        self.merged as f64 / (self.span_min / 60.0)
    }
    fn per_merged(&self, runs: usize) -> f64 {
        runs as f64 / self.merged.max(1) as f64
    }
}

fn percentile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

fn minutes(d: chrono::Duration) -> f64 {
    d.num_seconds() as f64 / 60.0
}

fn is_ancestor(git_dir: &Path, sha: &str, of: &str) -> bool {
    Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(["merge-base", "--is-ancestor", sha, of])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A PR's terminal state as the benchmark sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Merged,
    Held,
    Red,
}

fn fate(sim: &Sim, n: u64) -> Option<Fate> {
    sim.with_state(|s| {
        let p = s.pull(n);
        if p.merged {
            return Some(Fate::Merged);
        }
        if p.state != "open" {
            return None;
        }
        if s.pr_label_names(n).iter().any(|l| l == HOLD) {
            return Some(Fate::Held);
        }
        let head = p.head_sha.clone();
        let red = s
            .latest_statuses(&head)
            .iter()
            .any(|st| st.context == CI && (st.state == "failure" || st.state == "error"));
        red.then_some(Fate::Red)
    })
}

/// Reviewers approve the current head of an arrived open PR that they approved before.
fn reapprove(sim: &Sim, arrived: &BTreeSet<u64>) {
    sim.with_state(|s| {
        for &n in arrived {
            let p = s.pull(n);
            if p.state != "open" {
                continue;
            }
            let head = p.head_sha.clone();
            for user in ["alice", "bob"] {
                let current = s
                    .reviews_for(n)
                    .iter()
                    .any(|r| r.user == user && r.state == "APPROVED" && r.commit_id == head);
                if !current {
                    s.add_review(n, user, "APPROVED");
                }
            }
        }
    });
}

async fn run(strategy: Strategy, breaking: &[bool], verbose: bool) -> RunResult {
    let started = Instant::now();
    let n_prs = breaking.len();
    let sim = Sim::start(scenario(breaking)).await.expect("sim starts");
    let forge = client(&sim);
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.db").display().to_string())
        .await
        .unwrap();
    let qs = settings(strategy);
    let git_dir = sim.git_dir().expect("git mode");
    let setup_runs = sim.ci_runs().len();
    let t0 = sim.with_state(|s| s.now());
    let mut r = RunResult::default();
    let mut arrived: BTreeSet<u64> = BTreeSet::new();
    let mut eligible_at: BTreeMap<u64, DateTime<Utc>> = BTreeMap::new();
    let mut fates: BTreeMap<u64, (Fate, DateTime<Utc>)> = BTreeMap::new();
    let mut merges: BTreeMap<u64, usize> = BTreeMap::new();
    let mut last_progress = 0u64;
    let mut runs_seen = setup_runs;
    // Serial ≈ 6 ticks per PR at the worst; anything far beyond is a stall.
    let max_ticks = (n_prs as u64) * 12 + 200;
    let mut tick = 0u64;
    r.stop = "done".into();
    loop {
        let now = sim.with_state(|s| s.now());
        // Arrivals due by now: reopened, approved, green.
        for i in 0..n_prs as u64 {
            let n = i + 1;
            let at = t0 + chrono::Duration::minutes(i as i64 * ARRIVAL_MIN);
            if at > now || arrived.contains(&n) {
                continue;
            }
            sim.with_state(|s| {
                let t = s.now();
                let p = s.pr_mut(n);
                p.state = "open".into();
                p.closed_at = None;
                p.created_at = t;
                p.updated_at = t;
                let head = p.head_sha.clone();
                s.add_status(&head, CI, "success");
                s.add_review(n, "alice", "APPROVED");
                s.add_review(n, "bob", "APPROVED");
            });
            arrived.insert(n);
            eligible_at.insert(n, at);
        }
        let mut new_run = NewRun::new("queue tick", "gitea", REPO, "main");
        new_run.dry_run = false;
        let mut report = RunReport::new("queue tick");
        let tick_started = Instant::now();
        let res = locked_tick(
            &forge,
            &ledger,
            &qs,
            new_run,
            Duration::from_secs(600),
            &Progress::silent(),
            &mut report,
        )
        .await;
        tick += 1;
        match &res {
            Ok(rep) => {
                r.batches_landed += rep.batches.iter().filter(|b| b.state == "landed").count();
                if verbose {
                    eprintln!(
                        "  tick {tick} t={:.0}m {:.0}ms {} batches={:?}",
                        minutes(sim.with_state(|s| s.now()) - t0),
                        tick_started.elapsed().as_secs_f64() * 1000.0,
                        rep.outcome.word(),
                        rep.batches
                            .iter()
                            .map(|b| format!("{}:{:?}", b.state, b.members))
                            .collect::<Vec<_>>()
                    );
                }
            }
            Err(e) => {
                r.tick_errors += 1;
                if r.first_errors.len() < 3 {
                    r.first_errors.push(format!("tick {tick}: {e}"));
                }
                if verbose {
                    eprintln!("  tick {tick}: error {e}");
                }
            }
        }
        sim.clear_requests();
        for m in sim.take_mutations() {
            if let Mutation::Merged { pr, .. } = m {
                *merges.entry(pr).or_default() += 1;
            }
        }
        reapprove(&sim, &arrived);
        let after = sim.with_state(|s| s.now());
        let mut progressed = false;
        for &n in &arrived {
            if fates.contains_key(&n) {
                continue;
            }
            if let Some(f) = fate(&sim, n) {
                let at = match f {
                    Fate::Merged => sim.with_state(|s| s.pull(n).merged_at).unwrap_or(after),
                    _ => after,
                };
                fates.insert(n, (f, at));
                progressed = true;
            }
        }
        let runs = sim.ci_runs().len();
        if runs > runs_seen {
            progressed = true;
            runs_seen = runs;
        }
        if progressed || arrived.len() < n_prs {
            last_progress = tick;
        }
        if arrived.len() == n_prs && fates.len() == n_prs {
            break;
        }
        if tick >= max_ticks {
            r.stop = format!("tick limit ({max_ticks})");
            break;
        }
        if tick - last_progress >= STALL_TICKS {
            r.stop = format!("stalled ({STALL_TICKS} ticks without progress)");
            break;
        }
        sim.advance(chrono::Duration::minutes(TICK_MIN));
    }
    r.ticks = tick;
    let end_clock = sim.with_state(|s| s.now());
    r.drift_min = minutes(end_clock - t0) - (tick.saturating_sub(1) * TICK_MIN as u64) as f64;
    let mut last = t0;
    for (&n, &(f, at)) in &fates {
        last = last.max(at);
        match f {
            Fate::Merged => {
                r.merged += 1;
                r.waits.push(minutes(at - eligible_at[&n]));
            }
            Fate::Held => r.held += 1,
            Fate::Red => r.red += 1,
        }
    }
    r.open = n_prs - fates.len();
    r.span_min = minutes(last - t0);
    for run in sim.ci_runs().iter().skip(setup_runs) {
        if run.branch == STAGING || run.branch.starts_with("pr-") {
            r.queue_runs += 1;
        } else if run.branch == "main" {
            r.base_runs += 1;
        } else {
            r.other_runs += 1;
        }
    }
    // Correctness: merged once, merged heads in main, held/red heads not in main.
    for (pr, count) in &merges {
        if *count > 1 {
            r.findings.push(format!("#{pr} merged {count} times"));
        }
    }
    for (&n, &(f, _)) in &fates {
        let head = sim.with_state(|s| s.pull(n).head_sha.clone());
        let in_main = is_ancestor(&git_dir, &head, "refs/heads/main");
        match f {
            Fate::Merged if !in_main => r.findings.push(format!("#{n} merged, head not in main")),
            Fate::Held | Fate::Red if in_main => r
                .findings
                .push(format!("#{n} {f:?}, yet its head is in main")),
            _ => {}
        }
        match (f, breaking[n as usize - 1]) {
            (Fate::Merged, true) => r.findings.push(format!("#{n} is breaking, yet merged")),
            (Fate::Held | Fate::Red, false) => r.findings.push(format!(
                "#{n} is innocent, yet {f:?} (CI has no flakes here)"
            )),
            _ => {}
        }
    }
    ledger.close().await;
    sim.shutdown().await;
    r.wall = started.elapsed();
    r
}

fn env_list(name: &str) -> Option<Vec<String>> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
}

fn main() {
    let n_prs: usize = std::env::var("MERGEWARD_BENCH_PRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("MERGEWARD_BENCH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let verbose = std::env::var("MERGEWARD_BENCH_VERBOSE").is_ok_and(|v| v == "1");
    let ps: Vec<f64> = env_list("MERGEWARD_BENCH_P")
        .map(|l| {
            l.iter()
                .map(|p| p.parse().expect("a probability"))
                .collect()
        })
        .unwrap_or_else(|| vec![0.02, 0.05, 0.10, 0.20]);
    let strategies: Vec<Strategy> = env_list("MERGEWARD_BENCH_CONFIGS")
        .map(|l| {
            l.iter()
                .map(|s| Strategy::parse(s).expect("serial, b1, b4, b8, a8, …"))
                .collect()
        })
        .unwrap_or_else(|| {
            vec![
                Strategy::Serial,
                Strategy::Batch(1),
                Strategy::Batch(4),
                Strategy::Batch(8),
                Strategy::Adaptive(8),
            ]
        });
    // The simulator serves git http-backend and mergeward runs git: a multi-threaded
    // runtime, so a git process waiting on the server never blocks the server's thread.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let all = Instant::now();
    println!(
        "batch_sim: {n_prs} PRs arriving every {ARRIVAL_MIN} min, CI {CI_MIN} min, a tick every {TICK_MIN} min, seed {seed}"
    );
    println!();
    println!(
        "| p | breaking | strategy | merges/hour | queue CI runs per merged PR | + landing runs on main per merged PR | median eligible→merged (min) | p95 (min) | merged | held (label) | left red | unfinished | ticks | wall (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut chart: Vec<(String, f64)> = Vec::new();
    let mut findings: Vec<String> = Vec::new();
    for &p in &ps {
        let breaking = breaking_set(n_prs, p, seed);
        let nb = breaking.iter().filter(|b| **b).count();
        for &st in &strategies {
            let r = rt.block_on(run(st, &breaking, verbose));
            let mark = if r.complete() { "" } else { " (incomplete)" };
            println!(
                "| {p:.2} | {nb} | {}{mark} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {:.0} |",
                st.name(),
                r.per_hour(),
                r.per_merged(r.queue_runs),
                r.per_merged(r.base_runs),
                percentile(&r.waits, 0.5),
                percentile(&r.waits, 0.95),
                r.merged,
                r.held,
                r.red,
                r.open,
                r.ticks,
                r.wall.as_secs_f64(),
            );
            eprintln!(
                "  [{p:.2} {}] stop: {}; tick errors: {}; other runs: {}; batches landed: {}; clock drift {:.1} min over {} ticks{}",
                st.name(),
                r.stop,
                r.tick_errors,
                r.other_runs,
                r.batches_landed,
                r.drift_min,
                r.ticks,
                if r.first_errors.is_empty() {
                    String::new()
                } else {
                    format!("; first errors: {:?}", r.first_errors)
                }
            );
            for f in &r.findings {
                findings.push(format!("p={p:.2} {}: {f}", st.name()));
            }
            chart.push((format!("p={p:.2} {}", st.name()), r.per_hour()));
        }
    }
    println!();
    println!("merges/hour:");
    let max = chart
        .iter()
        .map(|(_, v)| *v)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    for (label, v) in &chart {
        let bar = "#".repeat(((v / max) * 50.0).round() as usize);
        println!("  {label:<22} {bar} {v:.2}");
    }
    println!();
    if findings.is_empty() {
        println!(
            "correctness checks: no PR merged twice, every merged head in main, no held or red head in main, no breaking PR merged"
        );
    } else {
        println!("FINDINGS:");
        for f in &findings {
            println!("  {f}");
        }
    }
    println!("total wall time: {:.0} s", all.elapsed().as_secs_f64());
}
