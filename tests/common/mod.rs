//! Helpers shared by the scenario tests: a standard repository on the simulated forge and
//! clients pointed at it.
#![allow(dead_code)]

pub mod contract;
pub mod queue;

use std::time::Duration;

use mergeward::forge::{
    self, AnyForge, ForgeKind, ForgeTarget, HttpSettings, RepoSlug, Secret, Sha,
};
use mergeward::sim::{Permission, PullSpec, RecordedRequest, Scenario, Sim};

/// The bot's token in every test. Distinctive, so a leak is easy to find.
pub const TOKEN: &str = "tok-CANARY-7f3a9c21-bot";
pub const ADMIN_TOKEN: &str = "tok-CANARY-0b5e44d8-admin";
pub const REPO: &str = "acme/widgets";

/// The forge flavours every forge-layer behaviour is checked on.
pub const FLAVORS: [ForgeKind; 2] = [ForgeKind::Gitea, ForgeKind::GitHub];

/// `acme/widgets` with a bot (write) and an admin, `main` with history, and PR 1.
pub fn base(kind: ForgeKind) -> Scenario {
    let s = match kind {
        ForgeKind::Gitea => Scenario::gitea(REPO),
        ForgeKind::Forgejo => Scenario::forgejo(REPO),
        ForgeKind::GitHub => Scenario::github(REPO),
    };
    s.user("bot", TOKEN, Permission::Write)
        .user("admin", ADMIN_TOKEN, Permission::Admin)
        .branch("main", None, 3)
        .pr(PullSpec::new(1).head("feature").title("Add a feature"))
}

/// Fast-failing client settings for tests (small backoff), adjustable.
pub fn client_with(
    sim: &Sim,
    kind: ForgeKind,
    token: Option<&str>,
    tweak: impl FnOnce(&mut HttpSettings),
) -> AnyForge {
    let target = ForgeTarget {
        kind,
        url: url::Url::parse(&sim.url()).expect("sim url"),
        repo: RepoSlug::parse(REPO).expect("repo"),
    };
    let mut settings = HttpSettings::new(target.api_base(), target.dialect());
    settings.token = token.map(Secret::new);
    settings.retry_min_delay = Duration::from_millis(10);
    settings.rate_per_second = 10_000;
    settings.rate_burst = 10_000;
    settings.request_timeout = Duration::from_secs(10);
    tweak(&mut settings);
    forge::connect(&target, settings).expect("client")
}

pub fn client(sim: &Sim, kind: ForgeKind) -> AnyForge {
    client_with(sim, kind, Some(TOKEN), |_| {})
}

pub fn pr_head(sim: &Sim, n: u64) -> Sha {
    let sha = sim.with_state(|s| s.pull(n).head_sha.clone());
    Sha::parse(&sha).expect("sim sha")
}

/// Requests whose matched route template is `route` (and method `method`).
pub fn requests_to(sim: &Sim, method: &str, route: &str) -> Vec<RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == method && r.route.as_deref() == Some(route))
        .collect()
}

pub fn query_value(r: &RecordedRequest, key: &str) -> Option<String> {
    r.query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}
