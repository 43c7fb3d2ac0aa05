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
//!   "faults": [{"route": "/repos/{owner}/{repo}/pulls", "calls": {"nth": 1}, "action": {"status": {"code": 502}}}]
//! }
//! ```
//!
//! Ref expressions (`from`, `sha`, `commit`): a branch name (`main`), a first-parent ancestor
//! (`main~2`), `pr:N` (head of PR N) or a full / unique-prefix SHA.
//! SHAs are generated with [`crate::fake_sha`], so they are stable for a given scenario.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::faults::Fault;

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

/// A user. Users without a token cannot authenticate but can author PRs, reviews, statuses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub login: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default)]
    pub permission: Permission,
    /// Gitea `is_admin` / GitHub `site_admin`. Site admins have admin permission everywhere.
    #[serde(default)]
    pub site_admin: bool,
    /// GitHub classic token scopes, sent back in `X-OAuth-Scopes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

impl UserSpec {
    pub fn new(login: impl Into<String>) -> UserSpec {
        UserSpec {
            login: login.into(),
            token: None,
            permission: Permission::Read,
            site_admin: false,
            scopes: None,
        }
    }
    pub fn token(mut self, t: impl Into<String>) -> Self {
        self.token = Some(t.into());
        self
    }
    pub fn permission(mut self, p: Permission) -> Self {
        self.permission = p;
        self
    }
    pub fn site_admin(mut self) -> Self {
        self.site_admin = true;
        self
    }
    pub fn scopes(mut self, s: &[&str]) -> Self {
        self.scopes = Some(s.iter().map(|x| x.to_string()).collect());
        self
    }
}

/// A repository label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSpec {
    pub name: String,
    #[serde(default = "default_color")]
    pub color: String,
    #[serde(default)]
    pub description: String,
}

fn default_color() -> String {
    "ededed".to_string()
}

/// A branch with a generated linear history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchSpec {
    pub name: String,
    /// Ref expression to fork from; `None` = a new root history (default branch) or the
    /// default branch head (other branches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Number of generated commits (default: 3 for the default branch, 1 otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits: Option<usize>,
}

/// A required check on GitHub (string shorthand or object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CheckSpec {
    Name(String),
    Full {
        context: String,
        #[serde(default, alias = "app_id")]
        integration_id: Option<i64>,
    },
}

impl CheckSpec {
    pub fn context(&self) -> &str {
        match self {
            CheckSpec::Name(n) => n,
            CheckSpec::Full { context, .. } => context,
        }
    }
    pub fn app_id(&self) -> Option<i64> {
        match self {
            CheckSpec::Name(_) => None,
            CheckSpec::Full { integration_id, .. } => *integration_id,
        }
    }
}

/// Branch protection. Gitea rule (rule name may be a glob) or GitHub classic protection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectionSpec {
    /// Rule name / branch pattern.
    pub branch: String,
    /// Default: true when `status_check_contexts` is non-empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_status_check: Option<bool>,
    /// Gitea: glob patterns. GitHub: required check names (`contexts` / `checks[].context`).
    #[serde(default, alias = "contexts")]
    pub status_check_contexts: Vec<String>,
    /// GitHub `checks[].app_id` per context (absent = any source).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub check_app_ids: BTreeMap<String, i64>,
    #[serde(default, alias = "required_approving_review_count")]
    pub required_approvals: u64,
    #[serde(default)]
    pub block_on_rejected_reviews: bool,
    #[serde(default)]
    pub block_on_official_review_requests: bool,
    /// GitHub: `required_status_checks.strict`.
    #[serde(default, alias = "strict")]
    pub block_on_outdated_branch: bool,
    /// GitHub: `dismiss_stale_reviews`.
    #[serde(default, alias = "dismiss_stale_reviews")]
    pub dismiss_stale_approvals: bool,
    #[serde(default)]
    pub ignore_stale_approvals: bool,
    /// GitHub `enforce_admins` (default true: admins are not exempt).
    #[serde(default = "yes")]
    pub enforce_admins: bool,
    /// Gitea `enable_push` (direct pushes allowed for writers).
    #[serde(default)]
    pub enable_push: bool,
    /// GitHub classic `require_code_owner_reviews` (code owners: `Scenario::code_owners`).
    #[serde(default)]
    pub require_code_owner_reviews: bool,
    /// GitHub classic `require_last_push_approval`.
    #[serde(default)]
    pub require_last_push_approval: bool,
    /// GitHub classic `required_signatures.enabled` (simulated commits are unsigned).
    #[serde(default)]
    pub required_signatures: bool,
    /// GitHub classic `required_linear_history.enabled` (the `merge` method is refused).
    #[serde(default)]
    pub required_linear_history: bool,
    /// GitHub classic `required_conversation_resolution.enabled` (not enforced by the sim).
    #[serde(default)]
    pub required_conversation_resolution: bool,
}

fn yes() -> bool {
    true
}

impl ProtectionSpec {
    pub fn new(branch: impl Into<String>) -> ProtectionSpec {
        ProtectionSpec {
            branch: branch.into(),
            enable_status_check: None,
            status_check_contexts: Vec::new(),
            check_app_ids: BTreeMap::new(),
            required_approvals: 0,
            block_on_rejected_reviews: false,
            block_on_official_review_requests: false,
            block_on_outdated_branch: false,
            dismiss_stale_approvals: false,
            ignore_stale_approvals: false,
            enforce_admins: true,
            enable_push: false,
            require_code_owner_reviews: false,
            require_last_push_approval: false,
            required_signatures: false,
            required_linear_history: false,
            required_conversation_resolution: false,
        }
    }
    /// GitHub `enforce_admins: false`: admins bypass classic protection when merging.
    pub fn admins_bypass(mut self) -> Self {
        self.enforce_admins = false;
        self
    }
    /// GitHub `checks[].app_id`: `context` must come from app `app_id`.
    pub fn pin(mut self, context: &str, app_id: i64) -> Self {
        self.check_app_ids.insert(context.to_string(), app_id);
        self
    }
    pub fn require_code_owner_reviews(mut self) -> Self {
        self.require_code_owner_reviews = true;
        self
    }
    pub fn contexts(mut self, c: &[&str]) -> Self {
        self.status_check_contexts = c.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn approvals(mut self, n: u64) -> Self {
        self.required_approvals = n;
        self
    }
    pub fn block_on_rejected_reviews(mut self) -> Self {
        self.block_on_rejected_reviews = true;
        self
    }
    pub fn block_on_outdated_branch(mut self) -> Self {
        self.block_on_outdated_branch = true;
        self
    }
    pub fn dismiss_stale_approvals(mut self) -> Self {
        self.dismiss_stale_approvals = true;
        self
    }
    pub fn enable_status_check(mut self, on: bool) -> Self {
        self.enable_status_check = Some(on);
        self
    }
}

/// A GitHub repository ruleset (active rules only are reported by `/rules/branches/{b}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesetSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub name: String,
    /// Branch globs; `~DEFAULT_BRANCH` and `~ALL` are understood.
    pub branches: Vec<String>,
    #[serde(default)]
    pub required_status_checks: Vec<CheckSpec>,
    #[serde(default)]
    pub strict: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_approving_review_count: Option<u64>,
    /// `active` (default), `evaluate` or `disabled`.
    #[serde(default = "active")]
    pub enforcement: String,
    /// `pull_request.require_code_owner_review` (code owners: `Scenario::code_owners`).
    #[serde(default)]
    pub require_code_owner_review: bool,
    /// `pull_request.allowed_merge_methods` (absent: all three).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_merge_methods: Option<Vec<String>>,
    /// Further rules served verbatim (`{"type": "merge_queue", "parameters": {…}}`,
    /// `{"type": "required_linear_history"}`, …). The sim enforces `merge_queue`,
    /// `required_linear_history` and `required_signatures` on merge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<serde_json::Value>,
    /// Logins that bypass this ruleset (GitHub `bypass_actors`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bypass: Vec<String>,
}

impl RulesetSpec {
    pub fn new(name: impl Into<String>, branches: &[&str]) -> RulesetSpec {
        RulesetSpec {
            id: None,
            name: name.into(),
            branches: branches.iter().map(|b| b.to_string()).collect(),
            required_status_checks: Vec::new(),
            strict: false,
            required_approving_review_count: None,
            enforcement: active(),
            require_code_owner_review: false,
            allowed_merge_methods: None,
            rules: Vec::new(),
            bypass: Vec::new(),
        }
    }
    pub fn check(mut self, context: &str, integration_id: Option<i64>) -> Self {
        self.required_status_checks.push(CheckSpec::Full {
            context: context.to_string(),
            integration_id,
        });
        self
    }
    pub fn approvals(mut self, n: u64) -> Self {
        self.required_approving_review_count = Some(n);
        self
    }
    pub fn rule(mut self, rule: serde_json::Value) -> Self {
        self.rules.push(rule);
        self
    }
    pub fn bypass(mut self, login: &str) -> Self {
        self.bypass.push(login.to_string());
        self
    }
}

fn active() -> String {
    "active".to_string()
}

/// A pull request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullSpec {
    /// Default: next free number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub body: String,
    /// Author login (default: first user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Head branch name (default `pr-N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    /// Base branch (default: the default branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Ref expression the head branch forks from (default: base head).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Shorthand for `"from": "<base>~1"`: the base advanced by one commit since.
    #[serde(default)]
    pub behind: bool,
    /// Number of commits on the head branch (default 1).
    #[serde(default = "one")]
    pub commits: usize,
    /// Head repository full name for a PR from a fork (e.g. `"mallory/widgets"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork: Option<String>,
    #[serde(default)]
    pub draft: bool,
    /// `open` (default) or `closed`.
    #[serde(default = "open")]
    pub state: String,
    /// Merge it during scenario setup (creates the merge commit on the base).
    #[serde(default)]
    pub merged: bool,
    /// `true`, `false` or `null` (= still being checked). Default: `!conflict`.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub mergeable: Option<Option<bool>>,
    /// The head conflicts with the base: update → 409, mergeable defaults to false.
    #[serde(default)]
    pub conflict: bool,
    /// Label names (created on the fly when not declared).
    #[serde(default)]
    pub labels: Vec<String>,
    /// GitHub `mergeable_state` to report instead of the computed one (e.g. `has_hooks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mergeable_state: Option<String>,
}

fn one() -> usize {
    1
}
fn open() -> String {
    "open".to_string()
}

fn double_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<bool>>, D::Error> {
    Option::<bool>::deserialize(d).map(Some)
}

impl PullSpec {
    pub fn new(number: u64) -> PullSpec {
        PullSpec {
            number: Some(number),
            title: None,
            body: String::new(),
            user: None,
            head: None,
            base: None,
            from: None,
            behind: false,
            commits: 1,
            fork: None,
            draft: false,
            state: open(),
            merged: false,
            mergeable: None,
            conflict: false,
            labels: Vec::new(),
            mergeable_state: None,
        }
    }
    pub fn mergeable_state(mut self, state: impl Into<String>) -> Self {
        self.mergeable_state = Some(state.into());
        self
    }
    pub fn title(mut self, t: impl Into<String>) -> Self {
        self.title = Some(t.into());
        self
    }
    pub fn user(mut self, u: impl Into<String>) -> Self {
        self.user = Some(u.into());
        self
    }
    pub fn head(mut self, h: impl Into<String>) -> Self {
        self.head = Some(h.into());
        self
    }
    pub fn base(mut self, b: impl Into<String>) -> Self {
        self.base = Some(b.into());
        self
    }
    pub fn from(mut self, r: impl Into<String>) -> Self {
        self.from = Some(r.into());
        self
    }
    pub fn behind(mut self) -> Self {
        self.behind = true;
        self
    }
    pub fn commits(mut self, n: usize) -> Self {
        self.commits = n;
        self
    }
    pub fn fork(mut self, full_name: impl Into<String>) -> Self {
        self.fork = Some(full_name.into());
        self
    }
    pub fn draft(mut self) -> Self {
        self.draft = true;
        self
    }
    pub fn closed(mut self) -> Self {
        self.state = "closed".to_string();
        self
    }
    pub fn merged(mut self) -> Self {
        self.merged = true;
        self
    }
    pub fn mergeable(mut self, m: Option<bool>) -> Self {
        self.mergeable = Some(m);
        self
    }
    pub fn conflict(mut self) -> Self {
        self.conflict = true;
        self
    }
    pub fn label(mut self, l: impl Into<String>) -> Self {
        self.labels.push(l.into());
        self
    }
}

/// Where a status / check run is attached: exactly one of `pr` (its head), `branch` (its head)
/// or `sha` (ref expression). In JSON these are keys of the status / check-run object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    pub pr: Option<u64>,
    pub branch: Option<String>,
    pub sha: Option<String>,
}

/// Commit status rows. With `count > 1`: if `context` contains `{n}` it is replaced by
/// 1..=count (distinct contexts), otherwise `count` history rows of the same context are created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "commit")]
    pub sha: Option<String>,
    #[serde(default = "default_context")]
    pub context: String,
    pub state: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub target_url: String,
    /// Login of the creator (default `ci-bot`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    #[serde(default = "one")]
    pub count: usize,
}

fn default_context() -> String {
    "default".to_string()
}

impl StatusSpec {
    /// Where the rows go.
    pub fn target(&self) -> Target {
        Target {
            pr: self.pr,
            branch: self.branch.clone(),
            sha: self.sha.clone(),
        }
    }
    pub fn pr(pr: u64, context: impl Into<String>, state: impl Into<String>) -> StatusSpec {
        StatusSpec::on(
            Target {
                pr: Some(pr),
                ..Target::default()
            },
            context,
            state,
        )
    }
    pub fn branch(
        branch: impl Into<String>,
        context: impl Into<String>,
        state: impl Into<String>,
    ) -> StatusSpec {
        StatusSpec::on(
            Target {
                branch: Some(branch.into()),
                ..Target::default()
            },
            context,
            state,
        )
    }
    pub fn sha(
        sha: impl Into<String>,
        context: impl Into<String>,
        state: impl Into<String>,
    ) -> StatusSpec {
        StatusSpec::on(
            Target {
                sha: Some(sha.into()),
                ..Target::default()
            },
            context,
            state,
        )
    }
    fn on(target: Target, context: impl Into<String>, state: impl Into<String>) -> StatusSpec {
        StatusSpec {
            pr: target.pr,
            branch: target.branch,
            sha: target.sha,
            context: context.into(),
            state: state.into(),
            description: String::new(),
            target_url: String::new(),
            creator: None,
            count: 1,
        }
    }
    pub fn count(mut self, n: usize) -> Self {
        self.count = n;
        self
    }
    pub fn creator(mut self, c: impl Into<String>) -> Self {
        self.creator = Some(c.into());
        self
    }
    pub fn target_url(mut self, u: impl Into<String>) -> Self {
        self.target_url = u.into();
        self
    }
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
}

/// A GitHub check run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRunSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "commit")]
    pub sha: Option<String>,
    pub name: String,
    /// `queued`, `in_progress`, `completed` (default).
    #[serde(default = "completed")]
    pub status: String,
    /// Default `success` when completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details_url: Option<String>,
    #[serde(default = "gha_slug")]
    pub app_slug: String,
    #[serde(default = "gha_id")]
    pub app_id: i64,
}

fn completed() -> String {
    "completed".to_string()
}
fn gha_slug() -> String {
    "github-actions".to_string()
}
fn gha_id() -> i64 {
    15368
}

impl CheckRunSpec {
    /// Where the run goes.
    pub fn target(&self) -> Target {
        Target {
            pr: self.pr,
            branch: self.branch.clone(),
            sha: self.sha.clone(),
        }
    }
    pub fn pr(pr: u64, name: impl Into<String>, conclusion: Option<&str>) -> CheckRunSpec {
        CheckRunSpec {
            pr: Some(pr),
            branch: None,
            sha: None,
            name: name.into(),
            status: if conclusion.is_some() {
                completed()
            } else {
                "in_progress".to_string()
            },
            conclusion: conclusion.map(str::to_string),
            details_url: None,
            app_slug: gha_slug(),
            app_id: gha_id(),
        }
    }
}

/// A pull request review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewSpec {
    pub pr: u64,
    pub user: String,
    /// Gitea or GitHub vocabulary: `APPROVED`, `REQUEST_CHANGES`/`CHANGES_REQUESTED`,
    /// `COMMENT`/`COMMENTED`, `PENDING`, `REQUEST_REVIEW`.
    pub state: String,
    #[serde(default)]
    pub body: String,
    /// Reviewed commit (ref expression; default: the PR head).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Default: reviewer has write permission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub official: Option<bool>,
    /// Default: reviewed commit differs from the PR head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<bool>,
    #[serde(default)]
    pub dismissed: bool,
    /// GitHub serves `"user": null` (the reviewer's account was deleted).
    #[serde(default)]
    pub user_deleted: bool,
    /// GitHub serves `"commit_id": null` (the reviewed commit was garbage-collected).
    #[serde(default)]
    pub commit_id_null: bool,
}

impl ReviewSpec {
    pub fn new(pr: u64, user: impl Into<String>, state: impl Into<String>) -> ReviewSpec {
        ReviewSpec {
            pr,
            user: user.into(),
            state: state.into(),
            body: String::new(),
            commit: None,
            official: None,
            stale: None,
            dismissed: false,
            user_deleted: false,
            commit_id_null: false,
        }
    }
    pub fn user_deleted(mut self) -> Self {
        self.user_deleted = true;
        self
    }
    pub fn commit_id_null(mut self) -> Self {
        self.commit_id_null = true;
        self
    }
    pub fn commit(mut self, c: impl Into<String>) -> Self {
        self.commit = Some(c.into());
        self
    }
    pub fn official(mut self, o: bool) -> Self {
        self.official = Some(o);
        self
    }
    pub fn dismissed(mut self) -> Self {
        self.dismissed = true;
        self
    }
}

/// An issue comment on a PR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentSpec {
    pub pr: u64,
    pub user: String,
    pub body: String,
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
        }
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
