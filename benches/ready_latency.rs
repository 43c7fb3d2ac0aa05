//! Ready → merged latency: a PR's last required check turns green; how long until the queue
//! has merged it, when ticks run only on the 5-minute cron versus also on the events that
//! make a PR ready (the shipped workflows' `workflow_run`/`status`/`check_suite` on GitHub,
//! `pull_request_review` on Gitea). Not a test: prints a table. Run it with
//!
//!   cargo bench --bench ready_latency
//!   cargo bench --bench ready_latency -- --trials 50
//!
//! Each trial: a simulated Gitea (10 ms per request) with 20 open PRs; one approved PR gets its
//! `CI` status `success` at a random moment within a cron period (seeded, reproducible). The
//! tick itself is real (`locked_tick`: lock, ledger, every read, the merge) and timed:
//!
//! * cron only: wait until the next 5-minute boundary (modelled, not slept), then a tick;
//! * event-triggered: a tick right away.
//!
//! Workflow start-up on a real runner (queueing, checkout, the binary from cache) is not
//! included and adds the same to both.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

use std::time::{Duration, Instant};

use mergeward::cli::queue_cmd::locked_tick;
use mergeward::forge::{self, ForgeKind, ForgeTarget, HttpSettings, RepoSlug, Secret};
use mergeward::ledger::{Ledger, NewRun};
use mergeward::queue::tick::TickOutcome;
use mergeward::report::{Progress, RunReport};
use mergeward::sim::{Permission, ProtectionSpec, PullSpec, ReviewSpec, Scenario, Sim, StatusSpec};

const TOKEN: &str = "bench-bot-token";
const REPO: &str = "acme/widgets";
const CRON: Duration = Duration::from_secs(300);
const PRS: u64 = 20;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A small deterministic generator (xorshift), so the trials are reproducible.
struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn scenario() -> Scenario {
    let mut s = Scenario::gitea(REPO)
        .user("bot", TOKEN, Permission::Write)
        .user("alice", "bench-alice-token", Permission::Write)
        .branch("main", None, 3)
        .label("merge-queue-hold", "e11d21")
        .protect(ProtectionSpec::new("main").contexts(&["CI"]).approvals(1))
        .latency_ms(10);
    for n in 1..=PRS {
        s = s.pr(PullSpec::new(n));
        // Every other PR waits for a review; the rest wait for CI.
        if n % 2 == 0 {
            s = s.review(ReviewSpec::new(n, "alice", "APPROVED"));
        }
    }
    // The PR that becomes ready: approved, CI pending.
    s.review(ReviewSpec::new(PRS, "alice", "APPROVED"))
        .status(StatusSpec::pr(PRS, "CI", "pending"))
}

/// One real tick; returns its wall time and whether it merged the PR.
async fn tick(sim: &Sim, ledger: &Ledger) -> Result<(Duration, bool), BoxError> {
    let target = ForgeTarget {
        kind: ForgeKind::Gitea,
        url: url::Url::parse(&sim.url())?,
        repo: RepoSlug::parse(REPO)?,
    };
    let mut http = HttpSettings::new(target.api_base(), target.dialect());
    http.token = Some(Secret::new(TOKEN));
    let f = forge::connect(&target, http)?;
    let mut settings = mergeward::config::queue_defaults("main");
    settings.post_status = false;
    let started = Instant::now();
    let mut run = RunReport::new("queue tick");
    let r = locked_tick(
        &f,
        ledger,
        &settings,
        NewRun::new("queue tick", "gitea", REPO, "main"),
        Duration::from_secs(60),
        &Progress::silent(),
        &mut run,
    )
    .await?;
    Ok((
        started.elapsed(),
        r.outcome == TickOutcome::Merged { pr: PRS },
    ))
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let trials: usize = args
        .iter()
        .position(|a| a == "--trials")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut cron, mut event) = (Vec::new(), Vec::new());
    for _ in 0..trials {
        let ready_at = CRON.mul_f64(rng.next_f64());
        for event_driven in [false, true] {
            let sim = Sim::start(scenario()).await?;
            let dir = tempfile::tempdir()?;
            let ledger = Ledger::open(&dir.path().join("l.db").display().to_string()).await?;
            // CI finishes: the PR is ready now.
            sim.with_state(|s| {
                let head = s.pull(PRS).head_sha.clone();
                s.add_status(&head, "CI", "success");
            });
            let (took, merged) = tick(&sim, &ledger).await?;
            if !merged {
                return Err("the ready PR did not merge in one tick".into());
            }
            let latency = if event_driven {
                took
            } else {
                (CRON - ready_at) + took
            };
            if event_driven {
                event.push(latency.as_secs_f64());
            } else {
                cron.push(latency.as_secs_f64());
            }
            ledger.close().await;
            sim.shutdown().await;
        }
    }
    println!("ready → merged over {trials} trials ({PRS} open PRs, 10 ms per request):");
    println!("| ticks | median | p95 | max |");
    println!("|---|---|---|---|");
    for (name, v) in [
        ("cron only (every 5 min)", &mut cron),
        ("event-triggered", &mut event),
    ] {
        let max = v.iter().cloned().fold(0.0, f64::max);
        println!(
            "| {name} | {:.2} s | {:.2} s | {:.2} s |",
            percentile(v, 0.5),
            percentile(v, 0.95),
            max
        );
    }
    Ok(())
}
