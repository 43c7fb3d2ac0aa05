//! The merge queue's scenario world: a simulated forge with a protected `main`, reviewers,
//! the queue's labels, a client for the bot, and a real SQLite ledger in a temp dir.
//!
//! Stories build a [`Scenario`] with [`queue_scenario`] and the `ready`/`approve`/`green`
//! helpers, start a [`World`], run ticks and end with [`World::assert_mutations`], which
//! compares every mutation the simulator recorded with the expected list.

use std::time::Duration;

use mergeward::error::Result;
use mergeward::forge::{AnyForge, ForgeKind, HttpSettings};
use mergeward::ledger::{DecisionRecord, Ledger, NewRun};
use mergeward::queue::tick::{QueueSettings, Tick, TickReport};
use mergeward::report::{Progress, RunReport};
use mergeward::sim::{
    Mutation, Permission, ProtectionSpec, PullSpec, ReviewSpec, Scenario, Sim, StatusSpec,
};

use super::{ADMIN_TOKEN, REPO, TOKEN, client_with};

pub const HOLD: &str = "merge-queue-hold";
pub const QUEUE_LABEL: &str = "merge-queue";
/// The required context in every story (exact on GitHub, a glob without wildcards on Gitea).
pub const CI: &str = "CI";

/// `acme/widgets` on `kind`: bot (write), admin, reviewers alice/bob/carol (write), dave
/// (read), `main` (3 commits) protected with `CI` required and 2 approvals, and the queue's
/// labels. No pull requests.
pub fn queue_scenario(kind: ForgeKind) -> Scenario {
    queue_scenario_unprotected(kind)
        .protect(ProtectionSpec::new("main").contexts(&[CI]).approvals(2))
}

/// [`queue_scenario`] without branch protection.
pub fn queue_scenario_unprotected(kind: ForgeKind) -> Scenario {
    let s = match kind {
        ForgeKind::Gitea => Scenario::gitea(REPO),
        ForgeKind::Forgejo => Scenario::forgejo(REPO),
        ForgeKind::GitHub => Scenario::github(REPO),
    };
    s.user("bot", TOKEN, Permission::Write)
        .user("admin", ADMIN_TOKEN, Permission::Admin)
        .user("alice", "tok-alice", Permission::Write)
        .user("bob", "tok-bob", Permission::Write)
        .user("carol", "tok-carol", Permission::Write)
        .user("dave", "tok-dave", Permission::Read)
        .branch("main", None, 3)
        .label(HOLD, "e11d21")
        .label(QUEUE_LABEL, "0e8a16")
}

/// Adds PR `n` (head `pr-n`, current with main) with CI green and two approvals.
pub fn ready(s: Scenario, n: u64) -> Scenario {
    ready_spec(s, PullSpec::new(n))
}

/// Adds the PR described by `spec` with CI green on its head and two approvals.
pub fn ready_spec(s: Scenario, spec: PullSpec) -> Scenario {
    let n = spec.number.expect("PullSpec::new sets the number");
    approve(green(s.pr(spec), n), n)
}

/// CI success on PR `n`'s head.
pub fn green(s: Scenario, n: u64) -> Scenario {
    s.status(StatusSpec::pr(n, CI, "success"))
}

/// alice and bob approve PR `n`'s head.
pub fn approve(s: Scenario, n: u64) -> Scenario {
    s.review(ReviewSpec::new(n, "alice", "APPROVED"))
        .review(ReviewSpec::new(n, "bob", "APPROVED"))
}

/// A mutation the story expects, in order.
#[derive(Debug, Clone)]
pub enum Want {
    /// Merged at exactly this head, method `merge`, no force.
    Merged {
        pr: u64,
        head: String,
    },
    /// Updated from exactly this head.
    Updated {
        pr: u64,
        from: String,
    },
    Label {
        pr: u64,
        label: String,
    },
    /// A comment whose body contains `has`.
    Comment {
        pr: u64,
        has: String,
    },
    /// A `mergeward/queue` status on `sha` with this state.
    Status {
        sha: String,
        state: String,
    },
}

pub fn merged(pr: u64, head: &str) -> Want {
    Want::Merged {
        pr,
        head: head.to_string(),
    }
}
pub fn updated(pr: u64, from: &str) -> Want {
    Want::Updated {
        pr,
        from: from.to_string(),
    }
}
pub fn labeled(pr: u64, label: &str) -> Want {
    Want::Label {
        pr,
        label: label.to_string(),
    }
}
pub fn commented(pr: u64, has: &str) -> Want {
    Want::Comment {
        pr,
        has: has.to_string(),
    }
}
pub fn status(sha: &str, state: &str) -> Want {
    Want::Status {
        sha: sha.to_string(),
        state: state.to_string(),
    }
}

fn matches(w: &Want, m: &Mutation) -> bool {
    match (w, m) {
        (
            Want::Merged { pr, head },
            Mutation::Merged {
                pr: p,
                head_sha,
                method,
                force,
                ..
            },
        ) => pr == p && head == head_sha && method == "merge" && !force,
        (
            Want::Updated { pr, from },
            Mutation::Updated {
                pr: p, old_head, ..
            },
        ) => pr == p && from == old_head,
        (Want::Label { pr, label }, Mutation::LabelAdded { pr: p, label: l }) => {
            pr == p && label == l
        }
        (Want::Comment { pr, has }, Mutation::Commented { pr: p, body }) => {
            pr == p && body.contains(has.as_str())
        }
        (
            Want::Status { sha, state },
            Mutation::StatusPosted {
                sha: s,
                context,
                state: st,
                ..
            },
        ) => sha == s && state == st && context == "mergeward/queue",
        _ => false,
    }
}

/// Drains the simulator's mutation log and compares it with `want`, in order. Every
/// recorded mutation must be expected.
pub fn assert_mutations(sim: &Sim, ctx: &str, want: &[Want]) {
    let got = sim.take_mutations();
    let ok = got.len() == want.len() && want.iter().zip(&got).all(|(w, m)| matches(w, m));
    assert!(
        ok,
        "{ctx}: mutations differ\n  want: {want:#?}\n  got:  {got:#?}"
    );
}

/// Every request the simulator saw was a read.
pub fn assert_only_reads(sim: &Sim, ctx: &str) {
    let writes: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        writes.is_empty(),
        "{ctx}: mutating requests sent: {writes:?}"
    );
}

/// One story's world.
pub struct World {
    pub kind: ForgeKind,
    pub sim: Sim,
    pub forge: AnyForge,
    pub ledger: Ledger,
    pub settings: QueueSettings,
    _dir: tempfile::TempDir,
}

impl World {
    pub async fn start(kind: ForgeKind, scenario: Scenario) -> World {
        World::start_with(kind, scenario, |_| {}).await
    }

    /// With adjusted client settings (retries, page size, ...).
    pub async fn start_with(
        kind: ForgeKind,
        scenario: Scenario,
        tweak: impl FnOnce(&mut HttpSettings),
    ) -> World {
        let sim = Sim::start(scenario).await.expect("sim starts");
        let forge = client_with(&sim, kind, Some(TOKEN), |h| {
            h.max_retries = 1;
            tweak(h)
        });
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = Ledger::open(&dir.path().join("ledger.db").display().to_string())
            .await
            .expect("ledger opens");
        let mut settings = mergeward::config::queue_defaults("main");
        settings.window = 4;
        // Stories assert the queue's own statuses only where they turn them on.
        settings.post_status = false;
        World {
            kind,
            sim,
            forge,
            ledger,
            settings,
            _dir: dir,
        }
    }

    /// Replaces the ledger with an empty one (a CI cache lost between ticks).
    pub async fn fresh_ledger(&mut self) {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = Ledger::open(&dir.path().join("ledger.db").display().to_string())
            .await
            .expect("ledger opens");
        let old = std::mem::replace(&mut self.ledger, ledger);
        old.close().await;
        self._dir = dir;
    }

    /// The directory holding the ledger's files.
    pub fn ledger_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// A PR's current head SHA.
    pub fn head(&self, n: u64) -> String {
        self.sim.with_state(|s| s.pull(n).head_sha.clone())
    }

    pub fn main_head(&self) -> String {
        self.sim
            .with_state(|s| s.branch_head("main"))
            .expect("main exists")
    }

    pub fn labels(&self, n: u64) -> Vec<String> {
        self.sim.with_state(|s| s.pr_label_names(n))
    }

    /// One `queue tick` as the CLI runs it (lock, run record, tick).
    pub async fn try_tick(&self, dry_run: bool) -> Result<TickReport> {
        let mut new_run = NewRun::new("queue tick", self.kind.as_str(), REPO, "main");
        new_run.dry_run = dry_run;
        let mut run = RunReport::new("queue tick");
        run.dry_run = dry_run;
        mergeward::cli::queue_cmd::locked_tick(
            &self.forge,
            &self.ledger,
            &self.settings,
            new_run,
            Duration::from_secs(60),
            &Progress::silent(),
            &mut run,
        )
        .await
    }

    pub async fn tick(&self) -> TickReport {
        match self.try_tick(false).await {
            Ok(r) => r,
            Err(e) => panic!("{}: tick failed: {e}", self.kind),
        }
    }

    pub async fn dry_tick(&self) -> TickReport {
        match self.try_tick(true).await {
            Ok(r) => r,
            Err(e) => panic!("{}: dry-run tick failed: {e}", self.kind),
        }
    }

    /// `queue status`: read-only, every PR evaluated, nothing recorded or sent.
    pub async fn status(&self) -> TickReport {
        let progress = Progress::silent();
        let tick = Tick {
            forge: &self.forge,
            ledger: &self.ledger,
            run_id: "status",
            settings: &self.settings,
            dry_run: true,
            progress: &progress,
            record: false,
            status_only: true,
        };
        match tick.run_configured().await {
            Ok(r) => r,
            Err(e) => panic!("{}: status failed: {e}", self.kind),
        }
    }

    /// The ledger's decisions for PR `n`, newest first.
    pub async fn explain(&self, n: u64) -> Vec<DecisionRecord> {
        self.ledger
            .explain(&format!("pr:{n}"))
            .await
            .expect("ledger explain")
    }

    pub fn assert_mutations(&self, ctx: &str, want: &[Want]) {
        assert_mutations(&self.sim, &format!("{}: {ctx}", self.kind), want);
    }

    pub async fn shutdown(self) {
        self.ledger.close().await;
        self.sim.shutdown().await;
    }
}

/// (action, reason code) per PR in the report's decisions.
pub fn decisions(r: &TickReport) -> Vec<(u64, &'static str, &'static str)> {
    r.decisions
        .iter()
        .map(|d| (d.pr.0, d.action.as_str(), d.reason.code()))
        .collect()
}

/// The (action, reason code) the report gives PR `n`.
pub fn decision_of(r: &TickReport, n: u64) -> (&'static str, &'static str) {
    r.decisions
        .iter()
        .find(|d| d.pr.0 == n)
        .map(|d| (d.action.as_str(), d.reason.code()))
        .unwrap_or_else(|| panic!("no decision for #{n}: {:?}", decisions(r)))
}

/// Route templates the stories inject faults on, per dialect.
pub mod route {
    use mergeward::forge::ForgeKind;

    fn gh(kind: ForgeKind) -> bool {
        kind == ForgeKind::GitHub
    }
    pub fn merge(kind: ForgeKind) -> (&'static str, &'static str) {
        if gh(kind) {
            ("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge")
        } else {
            ("POST", "/repos/{owner}/{repo}/pulls/{index}/merge")
        }
    }
    pub fn update(kind: ForgeKind) -> (&'static str, &'static str) {
        if gh(kind) {
            (
                "PUT",
                "/repos/{owner}/{repo}/pulls/{pull_number}/update-branch",
            )
        } else {
            ("POST", "/repos/{owner}/{repo}/pulls/{index}/update")
        }
    }
    pub fn pull(kind: ForgeKind) -> (&'static str, &'static str) {
        if gh(kind) {
            ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")
        } else {
            ("GET", "/repos/{owner}/{repo}/pulls/{index}")
        }
    }
    pub fn pulls(_: ForgeKind) -> (&'static str, &'static str) {
        ("GET", "/repos/{owner}/{repo}/pulls")
    }
    pub fn reviews(kind: ForgeKind) -> (&'static str, &'static str) {
        if gh(kind) {
            ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews")
        } else {
            ("GET", "/repos/{owner}/{repo}/pulls/{index}/reviews")
        }
    }
    pub fn commits(kind: ForgeKind) -> (&'static str, &'static str) {
        if gh(kind) {
            ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits")
        } else {
            ("GET", "/repos/{owner}/{repo}/pulls/{index}/commits")
        }
    }
    pub fn statuses(_: ForgeKind) -> (&'static str, &'static str) {
        ("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses")
    }
    pub fn branch(_: ForgeKind) -> (&'static str, &'static str) {
        ("GET", "/repos/{owner}/{repo}/branches/{branch}")
    }
    pub fn labels(_: ForgeKind) -> (&'static str, &'static str) {
        ("GET", "/repos/{owner}/{repo}/labels")
    }
}

/// A fault on `(method, route)` that always fires.
pub fn fault(r: (&str, &str), action: mergeward::sim::FaultAction) -> mergeward::sim::Fault {
    mergeward::sim::Fault::new(r.1, action).method(r.0)
}

/// An HTTP status answer with the dialect's error body (or `body`).
pub fn http(code: u16, body: Option<&str>) -> mergeward::sim::FaultAction {
    mergeward::sim::FaultAction::Status {
        code,
        body: body.map(str::to_string),
        headers: Vec::new(),
    }
}

impl World {
    /// The state of the first row the forge's status list shows for `sha` (raw HTTP).
    pub async fn forge_statuses_first(&self, sha: &str) -> String {
        let base = match self.kind {
            ForgeKind::GitHub => self.sim.url(),
            _ => format!("{}/api/v1", self.sim.url()),
        };
        let url = format!("{base}/repos/{REPO}/commits/{sha}/statuses");
        let auth = match self.kind {
            ForgeKind::GitHub => format!("Bearer {TOKEN}"),
            _ => format!("token {TOKEN}"),
        };
        let v: serde_json::Value = reqwest::Client::new()
            .get(url)
            .header("Authorization", auth)
            .header("User-Agent", "mergeward-tests")
            .send()
            .await
            .expect("status list")
            .json()
            .await
            .expect("json");
        self.sim.clear_requests();
        let row = &v[0];
        row["state"]
            .as_str()
            .or(row["status"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}
