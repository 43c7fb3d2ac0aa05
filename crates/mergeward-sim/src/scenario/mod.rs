//! Scenario description: the initial state of a simulated forge.
//!
//! A scenario is human-writable JSON (see `fixtures/sim/README.md`) or built in Rust
//! with the builder methods. Unknown keys are rejected so typos surface early.
//!
//! ```json
//! {
//!   "forge": "gitea",                 // "gitea" | "forgejo" | "github"
//!   "version": "1.22.6",              // optional; default per forge
//!   "repo": "acme/widgets",
//!   "default_branch": "main",         // optional, default "main"
//!   "epoch": "2025-01-01T00:00:00Z",  // optional; start of the logical clock (default: now - 1 day)
//!   "latency_ms": 0,                  // optional, per-request latency
//!   "paging": {"default_limit": 30, "max_limit": 50},   // optional
//!   "users": [{"login": "bot", "token": "sim-bot-token", "permission": "write"}],
//!   "labels": [{"name": "merge-queue", "color": "0e8a16"}],
//!   "branches": [{"name": "main", "commits": 5}, {"name": "release/1.0", "from": "main~2"}],
//!   "protections": [{"branch": "main", "status_check_contexts": ["ci/*"], "required_approvals": 1}],
//!   "rulesets": [{"name": "main", "branches": ["main"], "required_status_checks": ["ci"]}],
//!   "pulls": [{"number": 1, "user": "alice", "head": "feat-a", "behind": true, "labels": ["merge-queue"]}],
//!   "statuses": [{"pr": 1, "context": "ci/test", "state": "success"},
//!                {"branch": "main", "context": "load {n}", "state": "success", "count": 40}],
//!   "check_runs": [{"pr": 1, "name": "build", "conclusion": "success"}],
//!   "reviews": [{"pr": 1, "user": "bob", "state": "APPROVED"}],
//!   "comments": [{"pr": 1, "user": "bob", "body": "LGTM"}],
//!   "faults": [{"route": "/repos/{owner}/{repo}/pulls", "calls": {"nth": 1}, "action": {"status": {"code": 502}}}],
//!   "git": false,                     // optional; true = real git content (see the crate docs)
//!   "ci": {"push_contexts": ["ci/build"], "duration_secs": 600}   // optional simulated CI
//! }
//! ```
//!
//! Ref expressions (`from`, `sha`, `commit`): a branch name (`main`), a first-parent ancestor
//! (`main~2`), `pr:N` (head of PR N) or a full / unique-prefix SHA.
//! SHAs are generated with [`crate::fake_sha`], so they are stable for a given scenario; in
//! git mode they are real git SHAs, stable for a scenario with a fixed `epoch`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::faults::Fault;

mod ci;
mod pulls;
mod repo;

pub use ci::*;
pub use pulls::*;
pub use repo::*;

/// Which forge the scenario simulates. Forgejo speaks the Gitea dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForgeKind {
    #[default]
    Gitea,
    Forgejo,
    #[serde(alias = "github")]
    GitHub,
}

/// Error loading or validating a scenario. `Display` names the file (when known) and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid scenario JSON in {}: {source}", origin(path))]
    Parse {
        path: Option<PathBuf>,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid scenario {}: {message}", origin(path))]
    Invalid {
        path: Option<PathBuf>,
        message: String,
    },
}

fn origin(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None => "<inline JSON>".to_string(),
    }
}

impl ScenarioError {
    pub(crate) fn invalid(message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            path: None,
            message: message.into(),
        }
    }
    fn with_path(self, p: &Path) -> ScenarioError {
        match self {
            ScenarioError::Parse { source, .. } => ScenarioError::Parse {
                path: Some(p.to_path_buf()),
                source,
            },
            ScenarioError::Invalid { message, .. } => ScenarioError::Invalid {
                path: Some(p.to_path_buf()),
                message,
            },
            other => other,
        }
    }
}

/// Repository permission of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    None,
    #[default]
    Read,
    Write,
    Admin,
}

/// Server paging configuration (Gitea: `DEFAULT_PAGING_NUM` / `MAX_RESPONSE_ITEMS`;
/// GitHub: default / max `per_page`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagingSpec {
    pub default_limit: usize,
    pub max_limit: usize,
}

/// The whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub forge: ForgeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `owner/name`.
    pub repo: String,
    #[serde(default = "main")]
    pub default_branch: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<DateTime<Utc>>,
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<PagingSpec>,
    #[serde(default)]
    pub users: Vec<UserSpec>,
    #[serde(default)]
    pub labels: Vec<LabelSpec>,
    #[serde(default)]
    pub branches: Vec<BranchSpec>,
    #[serde(default)]
    pub protections: Vec<ProtectionSpec>,
    #[serde(default)]
    pub rulesets: Vec<RulesetSpec>,
    #[serde(default)]
    pub pulls: Vec<PullSpec>,
    #[serde(default)]
    pub statuses: Vec<StatusSpec>,
    #[serde(default)]
    pub check_runs: Vec<CheckRunSpec>,
    #[serde(default)]
    pub reviews: Vec<ReviewSpec>,
    #[serde(default)]
    pub comments: Vec<CommentSpec>,
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Repository files (Gitea contents API), see `FileSpec`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<super::files::FileSpec>,
    /// Job logs (Gitea API and web routes, GitHub's redirect), see `JobLogSpec`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub job_logs: Vec<super::logs::JobLogSpec>,
    /// GitHub: logins whose approval satisfies a code-owner review requirement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_owners: Vec<String>,
    /// GitHub Enterprise Server without rulesets: `GET /rules/branches/{b}` answers 404.
    #[serde(default)]
    pub no_rulesets_api: bool,
    /// Git mode: a real bare repository behind the scenario, served over smart HTTP (see the
    /// crate documentation). Default false: synthetic SHAs, no git.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub git: bool,
    /// Simulated CI on pushes (see [`CiSpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiSpec>,
}

fn main() -> String {
    "main".to_string()
}

impl Scenario {
    fn empty(forge: ForgeKind, repo: &str) -> Scenario {
        Scenario {
            forge,
            version: None,
            repo: repo.to_string(),
            default_branch: main(),
            epoch: None,
            latency_ms: 0,
            paging: None,
            users: Vec::new(),
            labels: Vec::new(),
            branches: Vec::new(),
            protections: Vec::new(),
            rulesets: Vec::new(),
            pulls: Vec::new(),
            statuses: Vec::new(),
            check_runs: Vec::new(),
            reviews: Vec::new(),
            comments: Vec::new(),
            faults: Vec::new(),
            files: Vec::new(),
            job_logs: Vec::new(),
            code_owners: Vec::new(),
            no_rulesets_api: false,
            git: false,
            ci: None,
        }
    }
    /// Git mode: real commits in a bare repository, git over smart HTTP.
    pub fn git(mut self) -> Self {
        self.git = true;
        self
    }
    /// Simulated CI on every push (see [`CiSpec`]).
    pub fn ci(mut self, ci: CiSpec) -> Self {
        self.ci = Some(ci);
        self
    }
    pub fn code_owner(mut self, login: &str) -> Self {
        self.code_owners.push(login.to_string());
        self
    }
    pub fn no_rulesets_api(mut self) -> Self {
        self.no_rulesets_api = true;
        self
    }
    /// A Gitea 1.22.6 scenario for `owner/name`.
    pub fn gitea(repo: &str) -> Scenario {
        Scenario::empty(ForgeKind::Gitea, repo)
    }
    /// A Forgejo 11.0.1 scenario (Gitea dialect).
    pub fn forgejo(repo: &str) -> Scenario {
        Scenario::empty(ForgeKind::Forgejo, repo)
    }
    /// A GitHub scenario.
    pub fn github(repo: &str) -> Scenario {
        Scenario::empty(ForgeKind::GitHub, repo)
    }

    /// Parse a scenario file; errors name the file.
    pub fn from_file(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::from_json(&text).map_err(|e| e.with_path(path))
    }

    /// Parse and validate scenario JSON.
    pub fn from_json(s: &str) -> Result<Scenario, ScenarioError> {
        let sc: Scenario = serde_json::from_str(s)
            .map_err(|source| ScenarioError::Parse { path: None, source })?;
        sc.validate()?;
        Ok(sc)
    }

    /// Check that the scenario builds (references resolve, states are valid, ...).
    pub fn validate(&self) -> Result<(), ScenarioError> {
        super::state::SimState::from_scenario(self).map(|_| ())
    }

    /// The version string served by `/version` (Gitea dialect).
    pub fn effective_version(&self) -> String {
        match (&self.version, self.forge) {
            (Some(v), _) => v.clone(),
            (None, ForgeKind::Gitea) => "1.22.6".to_string(),
            (None, ForgeKind::Forgejo) => "11.0.1+gitea-1.22.0".to_string(),
            (None, ForgeKind::GitHub) => "2022-11-28".to_string(),
        }
    }

    // ---- builder ----
    pub fn version(mut self, v: impl Into<String>) -> Self {
        self.version = Some(v.into());
        self
    }
    pub fn default_branch(mut self, b: impl Into<String>) -> Self {
        self.default_branch = b.into();
        self
    }
    pub fn epoch(mut self, t: DateTime<Utc>) -> Self {
        self.epoch = Some(t);
        self
    }
    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = ms;
        self
    }
    pub fn paging(mut self, default_limit: usize, max_limit: usize) -> Self {
        self.paging = Some(PagingSpec {
            default_limit,
            max_limit,
        });
        self
    }
    /// Add a user with a token and permission.
    pub fn user(mut self, login: &str, token: &str, permission: Permission) -> Self {
        self.users
            .push(UserSpec::new(login).token(token).permission(permission));
        self
    }
    /// Add a fully specified user.
    pub fn user_spec(mut self, u: UserSpec) -> Self {
        self.users.push(u);
        self
    }
    pub fn label(mut self, name: &str, color: &str) -> Self {
        self.labels.push(LabelSpec {
            name: name.to_string(),
            color: color.to_string(),
            description: String::new(),
        });
        self
    }
    /// Add a branch with `commits` generated commits forked from `from` (None = default branch / root).
    pub fn branch(mut self, name: &str, from: Option<&str>, commits: usize) -> Self {
        self.branches.push(BranchSpec {
            name: name.to_string(),
            from: from.map(str::to_string),
            commits: Some(commits),
        });
        self
    }
    pub fn protect(mut self, p: ProtectionSpec) -> Self {
        self.protections.push(p);
        self
    }
    pub fn ruleset(mut self, r: RulesetSpec) -> Self {
        self.rulesets.push(r);
        self
    }
    pub fn pr(mut self, p: PullSpec) -> Self {
        self.pulls.push(p);
        self
    }
    pub fn status(mut self, s: StatusSpec) -> Self {
        self.statuses.push(s);
        self
    }
    pub fn check_run(mut self, c: CheckRunSpec) -> Self {
        self.check_runs.push(c);
        self
    }
    pub fn review(mut self, r: ReviewSpec) -> Self {
        self.reviews.push(r);
        self
    }
    pub fn comment(mut self, pr: u64, user: &str, body: &str) -> Self {
        self.comments.push(CommentSpec {
            pr,
            user: user.to_string(),
            body: body.to_string(),
        });
        self
    }
    /// Add a repository file (default: on the default branch's head).
    pub fn file(mut self, f: super::files::FileSpec) -> Self {
        self.files.push(f);
        self
    }
    /// A job's log: `run`/`job` as in a Gitea `target_url` (`…/actions/runs/{run}/jobs/{job}`);
    /// `job` is also the job id of the logs APIs (the check run id on GitHub).
    pub fn job_log(mut self, run: u64, job: u64, text: &str) -> Self {
        self.job_logs.push(super::logs::JobLogSpec {
            run,
            job,
            text: text.to_string(),
        });
        self
    }
    pub fn fault(mut self, f: Fault) -> Self {
        self.faults.push(f);
        self
    }
}
