//! Mutable forge state: commit graph, branches, statuses, check runs, pull requests,
//! reviews, labels, comments, protections, users. Built from a [`Scenario`] (`build.rs`);
//! the operations on it are grouped by what they touch: `commits.rs` (graph, branches,
//! statuses, check runs), `pulls.rs` (pull requests, reviews, labels, comments) and
//! `protection.rs` (users, protection, rulesets, merge checks).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::Dialect;
use super::faults::Fault;
use super::record::Mutation;
use super::scenario::*;

mod build;
mod ci;
mod commits;
mod git;
mod protection;
mod pulls;

pub use ci::CiRun;
pub(crate) use git::ManualMergeError;
pub(crate) use pulls::GitOpError;

/// A commit in the simulated graph (in git mode: a commit of the repository).
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    pub sha: String,
    pub parents: Vec<String>,
    pub message: String,
    /// Author name (a login for synthetic commits).
    pub author: String,
    /// Author email; empty for synthetic commits (the dialect's noreply address is served).
    pub email: String,
    /// Committer name and email; empty = the author.
    pub committer: String,
    pub committer_email: String,
    /// Commit (and author) date.
    pub created: DateTime<Utc>,
}

/// One commit status row (append-only).
#[derive(Debug, Clone, PartialEq)]
pub struct CommitStatus {
    /// Global, increasing.
    pub id: u64,
    pub sha: String,
    pub context: String,
    pub state: String,
    pub target_url: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub creator: String,
}

/// A GitHub check run.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRun {
    pub id: u64,
    pub head_sha: String,
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub details_url: Option<String>,
    pub app_id: i64,
    pub app_slug: String,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A pull request.
#[derive(Debug, Clone, PartialEq)]
pub struct PullRequest {
    pub number: u64,
    pub id: u64,
    pub title: String,
    pub body: String,
    pub user: String,
    /// `open` or `closed`.
    pub state: String,
    pub merged: bool,
    pub merged_at: Option<DateTime<Utc>>,
    pub merged_by: Option<String>,
    pub merge_commit_sha: Option<String>,
    pub draft: bool,
    pub head_ref: String,
    pub head_sha: String,
    /// Full name of the head repository when the PR comes from a fork.
    pub head_repo: Option<String>,
    pub base_ref: String,
    pub merge_base: String,
    /// `None` = mergeability still being computed.
    pub mergeable: Option<bool>,
    /// Update-branch conflicts (409 on Gitea update, 422 on GitHub).
    pub conflict: bool,
    /// Label ids.
    pub labels: Vec<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// A GitHub `mergeable_state` reported instead of the computed one.
    pub mergeable_state_override: Option<String>,
}

/// A review. `state` uses the Gitea vocabulary:
/// `APPROVED`, `REQUEST_CHANGES`, `COMMENT`, `PENDING`, `REQUEST_REVIEW`.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub id: u64,
    pub pr: u64,
    pub user: String,
    pub state: String,
    pub body: String,
    pub commit_id: String,
    pub official: bool,
    pub stale: bool,
    pub dismissed: bool,
    pub submitted_at: DateTime<Utc>,
}

/// A repository label.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub id: u64,
    pub name: String,
    pub color: String,
    pub description: String,
}

/// An issue comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: u64,
    pub pr: u64,
    pub user: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A branch protection rule (Gitea rule or GitHub classic protection).
#[derive(Debug, Clone, PartialEq)]
pub struct BranchProtection {
    pub rule_name: String,
    pub enable_status_check: bool,
    pub status_check_contexts: Vec<String>,
    pub check_app_ids: BTreeMap<String, i64>,
    pub required_approvals: u64,
    pub block_on_rejected_reviews: bool,
    pub block_on_official_review_requests: bool,
    pub block_on_outdated_branch: bool,
    pub dismiss_stale_approvals: bool,
    pub ignore_stale_approvals: bool,
    pub enforce_admins: bool,
    pub enable_push: bool,
    /// Gitea push whitelist (`None`: every writer may push when `enable_push`).
    pub push_whitelist: Option<Vec<String>>,
    /// GitHub: logins allowed to push to the protected branch.
    pub push_bypass: Vec<String>,
    /// Gitea `enable_merge_whitelist` + `merge_whitelist_usernames` (`None`: disabled).
    pub merge_whitelist: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
    /// GitHub classic extras (see `ProtectionSpec`).
    pub require_code_owner_reviews: bool,
    pub require_last_push_approval: bool,
    pub required_signatures: bool,
    pub required_linear_history: bool,
    pub required_conversation_resolution: bool,
}

/// A GitHub ruleset.
#[derive(Debug, Clone, PartialEq)]
pub struct Ruleset {
    pub id: u64,
    pub name: String,
    pub branches: Vec<String>,
    /// (context, integration_id)
    pub required_status_checks: Vec<(String, Option<i64>)>,
    pub strict: bool,
    pub required_approving_review_count: Option<u64>,
    pub enforcement: String,
    pub require_code_owner_review: bool,
    pub allowed_merge_methods: Option<Vec<String>>,
    /// Further rules, served verbatim.
    pub rules: Vec<serde_json::Value>,
    pub bypass: Vec<String>,
}

impl Ruleset {
    /// Whether a verbatim rule of this type is present.
    pub fn has_rule(&self, kind: &str) -> bool {
        self.rules
            .iter()
            .any(|r| r.get("type").and_then(serde_json::Value::as_str) == Some(kind))
    }
}

/// A user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: u64,
    pub login: String,
    pub token: Option<String>,
    pub permission: Permission,
    pub site_admin: bool,
    pub scopes: Option<Vec<String>>,
}

impl User {
    /// Effective repository permission (site admins are repo admins).
    pub fn perm(&self) -> Permission {
        if self.site_admin {
            Permission::Admin
        } else {
            self.permission
        }
    }
}

/// Server paging limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub default_limit: usize,
    pub max_limit: usize,
}

/// The whole mutable state of one simulated repository.
#[derive(Debug, Clone)]
pub struct SimState {
    pub dialect: Dialect,
    pub forge: ForgeKind,
    pub version: String,
    pub owner: String,
    pub name: String,
    pub repo_id: u64,
    pub default_branch: String,
    pub paging: Paging,
    /// Per-request latency in milliseconds.
    pub latency_ms: u64,
    pub commits: BTreeMap<String, Commit>,
    pub branches: BTreeMap<String, String>,
    pub statuses: Vec<CommitStatus>,
    pub check_runs: Vec<CheckRun>,
    pub pulls: BTreeMap<u64, PullRequest>,
    pub reviews: Vec<Review>,
    pub labels: Vec<Label>,
    pub comments: Vec<Comment>,
    pub protections: Vec<BranchProtection>,
    pub rulesets: Vec<Ruleset>,
    /// Tracker issues of any repository (`GET …/issues/{index}`; see `sim::issues`).
    pub issues: Vec<super::issues::SimIssue>,
    pub users: Vec<User>,
    pub mutations: Vec<Mutation>,
    /// GitHub primary rate limit bookkeeping.
    pub rate_limit: u64,
    pub rate_used: u64,
    pub rate_reset: i64,
    pub(crate) initial_faults: Vec<Fault>,
    /// Repository files per commit (see `files.rs`).
    pub files: super::files::SimFiles,
    /// Job logs (see `logs.rs`).
    pub job_logs: Vec<super::logs::JobLogSpec>,
    /// GitHub code owners (their approval satisfies a code-owner review requirement).
    pub code_owners: Vec<String>,
    /// GitHub: `GET /rules/branches/{b}` answers 404 (a server without rulesets).
    pub no_rulesets_api: bool,
    /// Git mode: the bare repository (shared by clones of the state; removed with the last).
    pub(crate) git: Option<super::git::GitRepo>,
    /// Simulated CI (`Scenario::ci`).
    pub ci: Option<CiSpec>,
    /// Every simulated CI run started so far, in start order.
    pub ci_runs: Vec<CiRun>,
    /// Head commits of the PRs marked `breaking` (CI fails on every commit containing one).
    pub breaking_heads: Vec<String>,
    /// The server root (`http://127.0.0.1:PORT`), for the URLs the state writes.
    pub base_url: String,
    /// Git mode: the (base head, head) each PR's `mergeable` was computed for.
    mergeable_keys: BTreeMap<u64, (String, String)>,
    clock: DateTime<Utc>,
    next_id: u64,
    commit_counter: u64,
}

pub(crate) fn glob_match(pattern: &str, text: &str, literal_separator: bool) -> bool {
    if pattern == text {
        return true;
    }
    match globset::GlobBuilder::new(pattern)
        .literal_separator(literal_separator)
        .build()
    {
        Ok(g) => g.compile_matcher().is_match(text),
        Err(_) => false,
    }
}

/// Severity order used by Gitea 1.22 (`NoBetterThan`): lower is worse.
pub(crate) fn gitea_state_rank(s: &str) -> u8 {
    match s {
        "error" => 0,
        "failure" => 1,
        "warning" => 2,
        "pending" => 3,
        "success" => 4,
        "skipped" => 5,
        _ => 0,
    }
}

/// Normalise a review state (Gitea or GitHub vocabulary) to the Gitea one.
pub(crate) fn normalize_review_state(s: &str) -> Option<&'static str> {
    match s.to_ascii_uppercase().as_str() {
        "APPROVED" | "APPROVE" => Some("APPROVED"),
        "REQUEST_CHANGES" | "CHANGES_REQUESTED" => Some("REQUEST_CHANGES"),
        "COMMENT" | "COMMENTED" => Some("COMMENT"),
        "PENDING" => Some("PENDING"),
        "REQUEST_REVIEW" => Some("REQUEST_REVIEW"),
        _ => None,
    }
}

impl SimState {
    /// Advance the logical clock by one second and return it.
    pub fn tick(&mut self) -> DateTime<Utc> {
        self.clock += Duration::seconds(1);
        self.clock
    }

    /// Current logical time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock
    }

    pub(crate) fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Record a mutation.
    pub(crate) fn record(&mut self, m: Mutation) {
        self.mutations.push(m);
    }
}
