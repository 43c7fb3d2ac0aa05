//! The GitHub API budget of a queue tick: requests and rate-limit points of an 80-PR tick
//! and of a second tick over the unchanged queue, with and without conditional requests
//! (ETag / `If-None-Match`). Counts, not times: the numbers do not depend on the machine.
//!
//!   cargo bench --bench github_budget
//!   cargo test --bench github_budget      # same numbers, debug build
//!
//! Workload: `acme/widgets` on the simulated GitHub, `main` with classic protection (CI
//! required, 1 approval) the bot (write, no admin) cannot read — the common installation
//! token case — and one ruleset; 80 open PRs, each with a green `CI` commit status, a green
//! `CI` check run from GitHub Actions and 4 more statuses; no PR approved, so every PR is
//! read and none merges: the second tick sees exactly the same queue. Rate-limit points are
//! the simulator's `x-ratelimit-used` delta (a 304 costs none, as on GitHub).

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

use std::time::Duration;

use mergeward::forge::{self, Forge, ForgeKind, ForgeTarget, HttpSettings, RepoSlug, Secret};
use mergeward::ledger::{Ledger, NewRun};
use mergeward::report::{Progress, RunReport};
use mergeward::sim::{
    CheckRunSpec, Permission, ProtectionSpec, PullSpec, RulesetSpec, Scenario, Sim, StatusSpec,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const REPO: &str = "acme/widgets";
const TOKEN: &str = "bench-bot-token";
const PRS: u64 = 80;

fn scenario() -> Scenario {
    let mut s = Scenario::github(REPO)
        .user("bot", TOKEN, Permission::Write)
        .user("alice", "tok-alice", Permission::Write)
        .branch("main", None, 3)
        .protect(ProtectionSpec::new("main").contexts(&["CI"]).approvals(1))
        .ruleset(RulesetSpec::new("main", &["main"]).approvals(1));
    for n in 1..=PRS {
        s = s
            .pr(PullSpec::new(n))
            .status(StatusSpec::pr(n, "CI", "success"))
            .check_run(CheckRunSpec::pr(n, "CI", Some("success")));
        for k in 1..=4 {
            s = s.status(StatusSpec::pr(n, format!("extra-{k}"), "success"));
        }
    }
    s
}

struct Row {
    requests: u64,
    pages: u64,
    not_modified: u64,
    points: u64,
    outcome: String,
}

async fn tick(
    sim: &Sim,
    ledger: &Ledger,
    etags: Option<std::path::PathBuf>,
    post_status: bool,
) -> Result<Row, BoxError> {
    let target = ForgeTarget {
        kind: ForgeKind::GitHub,
        url: url::Url::parse(&sim.url())?,
        repo: RepoSlug::parse(REPO)?,
    };
    let mut hs = HttpSettings::new(target.api_base(), target.dialect());
    hs.token = Some(Secret::new(TOKEN));
    hs.rate_per_second = 100_000;
    hs.rate_burst = 100_000;
    hs.etag_cache = etags;
    let f = forge::connect(&target, hs)?;
    let before = sim.with_state(|st| st.rate_used);
    let mut settings = mergeward::config::queue_defaults("main");
    settings.required_approvals_fallback = 1;
    // `mergeward/queue` statuses are writes, posted only when they change.
    settings.post_status = post_status;
    let mut run = RunReport::new("queue tick");
    let report = mergeward::cli::queue_cmd::locked_tick(
        &f,
        ledger,
        &settings,
        NewRun::new("queue tick", "github", REPO, "main"),
        Duration::from_secs(900),
        &Progress::silent(),
        &mut run,
    )
    .await?;
    let c = f.counts();
    Ok(Row {
        requests: c.requests,
        pages: c.pages,
        not_modified: c.not_modified,
        points: sim.with_state(|st| st.rate_used) - before,
        outcome: report.outcome.word().to_string(),
    })
}

async fn series(conditional: bool, post_status: bool) -> Result<(Row, Row, Row), BoxError> {
    let sim = Sim::start(scenario()).await?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("ledger.db");
    let ledger = Ledger::open(&db.display().to_string()).await?;
    let etags = conditional.then(|| dir.path().join("ledger.db.etags.json"));
    let first = tick(&sim, &ledger, etags.clone(), post_status).await?;
    let second = tick(&sim, &ledger, etags.clone(), post_status).await?;
    let third = tick(&sim, &ledger, etags, post_status).await?;
    ledger.close().await;
    sim.shutdown().await;
    Ok((first, second, third))
}

fn main() -> Result<(), BoxError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        println!(
            "| queue.post_status | conditional requests | tick | outcome | client requests | pages | 304 answers | rate-limit points |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for (post_status, conditional) in [(false, false), (false, true), (true, true)] {
            let (a, b, c) = series(conditional, post_status).await?;
            for (i, r) in [(1, &a), (2, &b), (3, &c)] {
                println!(
                    "| {} | {} | {i} | {} | {} | {} | {} | {} |",
                    if post_status { "on" } else { "off" },
                    if conditional { "on" } else { "off" },
                    r.outcome,
                    r.requests,
                    r.pages,
                    r.not_modified,
                    r.points
                );
            }
            if conditional {
                eprintln!(
                    "post_status={post_status}: second tick / first tick rate-limit points: {:.1} %",
                    100.0 * b.points as f64 / a.points.max(1) as f64
                );
            }
        }
        Ok::<_, BoxError>(())
    })
}
