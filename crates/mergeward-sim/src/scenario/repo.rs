//! Repository setup in a scenario: users, labels, branches, branch protection (Gitea rules,
//! GitHub classic protection) and GitHub rulesets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Permission;

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
    /// Gitea `enable_push` (direct pushes allowed for writers, or for `push_whitelist`).
    #[serde(default)]
    pub enable_push: bool,
    /// Gitea `enable_push_whitelist` + `push_whitelist_usernames` (`None`: every writer may
    /// push when `enable_push`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_whitelist: Option<Vec<String>>,
    /// GitHub: logins that may push to the protected branch (besides admins when
    /// `enforce_admins` is false). The simulator's stand-in for push restrictions and
    /// bypass lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub push_bypass: Vec<String>,
    /// Gitea's merge whitelist (`enable_merge_whitelist` with these logins; `None`:
    /// disabled — every writer may merge).
    #[serde(default)]
    pub merge_whitelist: Option<Vec<String>>,
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
            push_whitelist: None,
            push_bypass: Vec::new(),
            merge_whitelist: None,
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
    /// Gitea `enable_push`: writers (or the push whitelist) may push to the branch.
    pub fn enable_push(mut self) -> Self {
        self.enable_push = true;
        self
    }
    /// Gitea: `enable_push` with a push whitelist of these logins.
    pub fn push_whitelist(mut self, logins: &[&str]) -> Self {
        self.enable_push = true;
        self.push_whitelist = Some(logins.iter().map(|l| l.to_string()).collect());
        self
    }
    /// GitHub: these logins may push to the protected branch.
    pub fn push_bypass(mut self, logins: &[&str]) -> Self {
        self.push_bypass = logins.iter().map(|l| l.to_string()).collect();
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
