//! Mutable forge state: commit graph, branches, statuses, check runs, pull requests,
//! reviews, labels, comments, protections, users. Built from a [`Scenario`].

use std::collections::{BTreeMap, HashSet, VecDeque};

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::faults::Fault;
use super::record::Mutation;
use super::scenario::*;
use super::{Dialect, fake_sha};

/// A commit in the simulated graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    pub sha: String,
    pub parents: Vec<String>,
    pub message: String,
    pub author: String,
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

const GITEA_STATES: &[&str] = &[
    "pending", "success", "error", "failure", "warning", "skipped",
];
const GITHUB_STATES: &[&str] = &["pending", "success", "error", "failure"];

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

fn inv(msg: impl Into<String>) -> ScenarioError {
    ScenarioError::invalid(msg)
}

impl SimState {
    /// Build the state described by a scenario.
    pub fn from_scenario(sc: &Scenario) -> Result<SimState, ScenarioError> {
        let (owner, name) = sc
            .repo
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| inv(format!("repo must be \"owner/name\", got {:?}", sc.repo)))?;
        let dialect = match sc.forge {
            ForgeKind::GitHub => Dialect::GitHub,
            _ => Dialect::Gitea,
        };
        let paging = match (sc.paging, dialect) {
            (Some(p), _) => {
                if p.default_limit == 0 || p.max_limit == 0 {
                    return Err(inv("paging limits must be positive"));
                }
                Paging {
                    default_limit: p.default_limit,
                    max_limit: p.max_limit,
                }
            }
            (None, Dialect::Gitea) => Paging {
                default_limit: 30,
                max_limit: 50,
            },
            (None, Dialect::GitHub) => Paging {
                default_limit: 30,
                max_limit: 100,
            },
        };
        let clock = match sc.epoch {
            Some(e) => e,
            None => {
                let now = Utc::now() - Duration::days(1);
                Utc.timestamp_opt(now.timestamp(), 0)
                    .single()
                    .unwrap_or(now)
            }
        };
        let mut st = SimState {
            dialect,
            forge: sc.forge,
            version: sc.effective_version(),
            owner: owner.to_string(),
            name: name.to_string(),
            repo_id: 1,
            default_branch: sc.default_branch.clone(),
            paging,
            latency_ms: sc.latency_ms,
            commits: BTreeMap::new(),
            branches: BTreeMap::new(),
            statuses: Vec::new(),
            check_runs: Vec::new(),
            pulls: BTreeMap::new(),
            reviews: Vec::new(),
            labels: Vec::new(),
            comments: Vec::new(),
            protections: Vec::new(),
            rulesets: Vec::new(),
            issues: Vec::new(),
            users: Vec::new(),
            mutations: Vec::new(),
            rate_limit: 5000,
            rate_used: 0,
            rate_reset: Utc::now().timestamp() + 3600,
            initial_faults: sc.faults.clone(),
            files: Default::default(),
            job_logs: sc.job_logs.clone(),
            code_owners: sc.code_owners.clone(),
            no_rulesets_api: sc.no_rulesets_api,
            clock,
            next_id: 1,
            commit_counter: 0,
        };
        // users
        for u in &sc.users {
            if st.user(&u.login).is_some() {
                return Err(inv(format!("duplicate user {:?}", u.login)));
            }
            if let Some(t) = &u.token
                && st
                    .users
                    .iter()
                    .any(|x| x.token.as_deref() == Some(t.as_str()))
            {
                return Err(inv(format!("duplicate token for user {:?}", u.login)));
            }
            let id = st.users.len() as u64 + 2;
            st.users.push(User {
                id,
                login: u.login.clone(),
                token: u.token.clone(),
                permission: u.permission,
                site_admin: u.site_admin,
                scopes: u.scopes.clone(),
            });
        }
        // labels
        for l in &sc.labels {
            if st.label_by_name(&l.name).is_some() {
                return Err(inv(format!("duplicate label {:?}", l.name)));
            }
            st.create_label(&l.name, &l.color, &l.description);
        }
        // default branch first
        let default_spec = sc.branches.iter().find(|b| b.name == sc.default_branch);
        let n = default_spec.and_then(|b| b.commits).unwrap_or(3);
        let root_from = match default_spec.and_then(|b| b.from.clone()) {
            Some(f) => return Err(inv(format!("default branch cannot fork from {f:?}"))),
            None => None,
        };
        if n == 0 {
            return Err(inv("the default branch needs at least one commit"));
        }
        let head = st.generate_history(root_from, &sc.default_branch, n);
        st.branches.insert(sc.default_branch.clone(), head);
        for b in &sc.branches {
            if b.name == sc.default_branch {
                continue;
            }
            if st.branches.contains_key(&b.name) {
                return Err(inv(format!("duplicate branch {:?}", b.name)));
            }
            let from = b.from.clone().unwrap_or_else(|| sc.default_branch.clone());
            let start = st.resolve(&from).ok_or_else(|| {
                inv(format!(
                    "branch {:?}: cannot resolve from {:?}",
                    b.name, from
                ))
            })?;
            let head = st.generate_history(Some(start), &b.name, b.commits.unwrap_or(1));
            st.branches.insert(b.name.clone(), head);
        }
        // protections
        for p in &sc.protections {
            let created_at = st.tick();
            st.protections.push(BranchProtection {
                rule_name: p.branch.clone(),
                enable_status_check: p
                    .enable_status_check
                    .unwrap_or(!p.status_check_contexts.is_empty()),
                status_check_contexts: p.status_check_contexts.clone(),
                check_app_ids: p.check_app_ids.clone(),
                required_approvals: p.required_approvals,
                block_on_rejected_reviews: p.block_on_rejected_reviews,
                block_on_official_review_requests: p.block_on_official_review_requests,
                block_on_outdated_branch: p.block_on_outdated_branch,
                dismiss_stale_approvals: p.dismiss_stale_approvals,
                ignore_stale_approvals: p.ignore_stale_approvals,
                enforce_admins: p.enforce_admins,
                enable_push: p.enable_push,
                created_at,
                require_code_owner_reviews: p.require_code_owner_reviews,
                require_last_push_approval: p.require_last_push_approval,
                required_signatures: p.required_signatures,
                required_linear_history: p.required_linear_history,
                required_conversation_resolution: p.required_conversation_resolution,
            });
        }
        for (i, r) in sc.rulesets.iter().enumerate() {
            if !["active", "evaluate", "disabled"].contains(&r.enforcement.as_str()) {
                return Err(inv(format!(
                    "ruleset {:?}: bad enforcement {:?}",
                    r.name, r.enforcement
                )));
            }
            st.rulesets.push(Ruleset {
                id: r.id.unwrap_or(1000 + i as u64),
                name: r.name.clone(),
                branches: r.branches.clone(),
                required_status_checks: r
                    .required_status_checks
                    .iter()
                    .map(|c| (c.context().to_string(), c.app_id()))
                    .collect(),
                strict: r.strict,
                required_approving_review_count: r.required_approving_review_count,
                enforcement: r.enforcement.clone(),
                require_code_owner_review: r.require_code_owner_review,
                allowed_merge_methods: r.allowed_merge_methods.clone(),
                rules: r.rules.clone(),
                bypass: r.bypass.clone(),
            });
        }
        // pulls
        for p in &sc.pulls {
            st.build_pull(sc, p)?;
        }
        // statuses
        let allowed = match dialect {
            Dialect::Gitea => GITEA_STATES,
            Dialect::GitHub => GITHUB_STATES,
        };
        for s in &sc.statuses {
            if !allowed.contains(&s.state.as_str()) {
                return Err(inv(format!(
                    "status {:?}: invalid state {:?}",
                    s.context, s.state
                )));
            }
            let sha = st.resolve_target(&s.target(), "status")?;
            let creator = s.creator.clone().unwrap_or_else(|| "ci-bot".to_string());
            for i in 1..=s.count.max(1) {
                let context = if s.count > 1 {
                    s.context.replace("{n}", &i.to_string())
                } else {
                    s.context.replace("{n}", "1")
                };
                st.add_status_full(
                    &sha,
                    &context,
                    &s.state,
                    &s.description,
                    &s.target_url,
                    &creator,
                );
            }
        }
        for f in &sc.files {
            let at = f.reference.as_deref().unwrap_or(&sc.default_branch);
            let sha = st
                .resolve(at)
                .ok_or_else(|| inv(format!("file {:?}: unknown ref {at:?}", f.path)))?;
            st.set_file(&sha, &f.path, &f.content);
        }
        for c in &sc.check_runs {
            let sha = st.resolve_target(&c.target(), "check run")?;
            let conclusion = match (&c.conclusion, c.status.as_str()) {
                (Some(x), _) => Some(x.clone()),
                (None, "completed") => Some("success".to_string()),
                (None, _) => None,
            };
            let id = st.add_check_run(&sha, &c.name, &c.status, conclusion.as_deref());
            if let Some(run) = st.check_runs.iter_mut().find(|r| r.id == id) {
                run.details_url = c.details_url.clone();
                run.app_id = c.app_id;
                run.app_slug = c.app_slug.clone();
            }
        }
        for r in &sc.reviews {
            let state = normalize_review_state(&r.state).ok_or_else(|| {
                inv(format!(
                    "review on PR {}: invalid state {:?}",
                    r.pr, r.state
                ))
            })?;
            let head = st
                .try_pull(r.pr)
                .map(|p| p.head_sha.clone())
                .ok_or_else(|| inv(format!("review references unknown PR {}", r.pr)))?;
            let commit = match &r.commit {
                Some(c) => st.resolve(c).ok_or_else(|| {
                    inv(format!(
                        "review on PR {}: cannot resolve commit {:?}",
                        r.pr, c
                    ))
                })?,
                None => head.clone(),
            };
            let official = r.official.unwrap_or(st.perm(&r.user) >= Permission::Write);
            let stale = r.stale.unwrap_or(commit != head);
            let id = st.add_review(r.pr, &r.user, state);
            if let Some(rv) = st.reviews.iter_mut().find(|x| x.id == id) {
                rv.body = r.body.clone();
                rv.commit_id = commit;
                rv.official = official;
                rv.stale = stale;
                rv.dismissed = r.dismissed;
                if r.user_deleted {
                    rv.user = String::new();
                }
                if r.commit_id_null {
                    rv.commit_id = String::new();
                }
            }
        }
        for c in &sc.comments {
            if st.try_pull(c.pr).is_none() {
                return Err(inv(format!("comment references unknown PR {}", c.pr)));
            }
            st.add_comment(c.pr, &c.user, &c.body);
        }
        Ok(st)
    }

    fn build_pull(&mut self, sc: &Scenario, p: &PullSpec) -> Result<(), ScenarioError> {
        let number = p
            .number
            .unwrap_or_else(|| self.pulls.keys().next_back().copied().unwrap_or(0) + 1);
        if number == 0 || self.pulls.contains_key(&number) {
            return Err(inv(format!("PR number {number} is invalid or duplicate")));
        }
        let base = p.base.clone().unwrap_or_else(|| sc.default_branch.clone());
        let base_head = self
            .branch_head(&base)
            .ok_or_else(|| inv(format!("PR {number}: unknown base branch {base:?}")))?;
        let head_ref = p.head.clone().unwrap_or_else(|| format!("pr-{number}"));
        let existing = if p.fork.is_none() {
            self.branch_head(&head_ref)
        } else {
            None
        };
        let (fork_point, head_sha) = match (&existing, &p.from, p.behind) {
            (Some(h), None, false) => (
                self.merge_base(&base_head, h).unwrap_or(base_head.clone()),
                h.clone(),
            ),
            _ => {
                let from = match (&p.from, p.behind) {
                    (Some(f), _) => f.clone(),
                    (None, true) => format!("{base}~1"),
                    (None, false) => base.clone(),
                };
                let start = self
                    .resolve(&from)
                    .ok_or_else(|| inv(format!("PR {number}: cannot resolve from {from:?}")))?;
                let head = self.generate_history(Some(start.clone()), &head_ref, p.commits);
                (self.merge_base(&base_head, &head).unwrap_or(start), head)
            }
        };
        let user = p
            .user
            .clone()
            .or_else(|| self.users.first().map(|u| u.login.clone()))
            .unwrap_or_else(|| "octocat".to_string());
        let mut labels = Vec::new();
        for l in &p.labels {
            let id = match self.label_by_name(l) {
                Some(x) => x.id,
                None => self.create_label(l, "ededed", ""),
            };
            labels.push(id);
        }
        if !["open", "closed"].contains(&p.state.as_str()) {
            return Err(inv(format!("PR {number}: state must be open or closed")));
        }
        let created_at = self.tick();
        let id = self.alloc_id();
        if p.fork.is_none() {
            self.branches.insert(head_ref.clone(), head_sha.clone());
        }
        let mergeable = match p.mergeable {
            Some(m) => m,
            None => Some(!p.conflict),
        };
        self.pulls.insert(
            number,
            PullRequest {
                number,
                id,
                title: p.title.clone().unwrap_or_else(|| format!("PR #{number}")),
                body: p.body.clone(),
                user,
                state: p.state.clone(),
                merged: false,
                merged_at: None,
                merged_by: None,
                merge_commit_sha: None,
                draft: p.draft,
                head_ref,
                head_sha,
                head_repo: p.fork.clone(),
                base_ref: base,
                merge_base: fork_point,
                mergeable,
                conflict: p.conflict,
                labels,
                created_at,
                updated_at: created_at,
                closed_at: if p.state == "closed" {
                    Some(created_at)
                } else {
                    None
                },
                mergeable_state_override: p.mergeable_state.clone(),
            },
        );
        if p.merged {
            let actor = self.pull(number).user.clone();
            self.do_merge(number, "merge", "", "", &actor);
        }
        Ok(())
    }

    fn resolve_target(&self, t: &Target, what: &str) -> Result<String, ScenarioError> {
        match (t.pr, &t.branch, &t.sha) {
            (Some(n), None, None) => self
                .try_pull(n)
                .map(|p| p.head_sha.clone())
                .ok_or_else(|| inv(format!("{what} references unknown PR {n}"))),
            (None, Some(b), None) => self
                .branch_head(b)
                .ok_or_else(|| inv(format!("{what} references unknown branch {b:?}"))),
            (None, None, Some(s)) => self
                .resolve(s)
                .ok_or_else(|| inv(format!("{what}: cannot resolve sha {s:?}"))),
            _ => Err(inv(format!("{what} needs exactly one of pr, branch, sha"))),
        }
    }

    fn generate_history(&mut self, from: Option<String>, branch: &str, n: usize) -> String {
        let mut head = from;
        for i in 0..n {
            let msg = if head.is_none() {
                "Initial commit".to_string()
            } else {
                format!("{branch}: change {}", i + 1)
            };
            let parents = head.iter().cloned().collect();
            head = Some(self.new_commit(parents, &msg, "sim"));
        }
        match head {
            Some(h) => h,
            None => self.new_commit(Vec::new(), "Initial commit", "sim"),
        }
    }

    /// The ids of a pull request's comments, oldest first.
    pub fn comment_ids(&self, pr: u64) -> Vec<u64> {
        self.comments
            .iter()
            .filter(|c| c.pr == pr)
            .map(|c| c.id)
            .collect()
    }

    // ---------- clock / ids ----------

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

    // ---------- commits & branches ----------

    /// Create a commit with the given parents and message; returns its sha.
    pub fn new_commit(&mut self, parents: Vec<String>, message: &str, author: &str) -> String {
        self.commit_counter += 1;
        let sha = fake_sha(&format!(
            "{}/{}#{}:{}:{}",
            self.owner,
            self.name,
            self.commit_counter,
            message,
            parents.join(",")
        ));
        let created = self.tick();
        self.commits.insert(
            sha.clone(),
            Commit {
                sha: sha.clone(),
                parents,
                message: message.to_string(),
                author: author.to_string(),
                created,
            },
        );
        sha
    }

    /// Create a commit with these parents (generated message); returns the sha.
    pub fn add_commit(&mut self, parents: &[&str]) -> String {
        let n = self.commit_counter + 1;
        self.new_commit(
            parents.iter().map(|s| s.to_string()).collect(),
            &format!("commit {n}"),
            "sim",
        )
    }

    /// Point a branch at a sha (creates the branch). Also moves open same-repo PRs whose head is this branch.
    pub fn set_branch_head(&mut self, name: &str, sha: &str) {
        self.branches.insert(name.to_string(), sha.to_string());
        for p in self.pulls.values_mut() {
            if p.head_repo.is_none() && p.head_ref == name && p.state == "open" {
                p.head_sha = sha.to_string();
            }
        }
    }

    /// Push one new commit on top of a branch; returns the new head.
    pub fn push_commit(&mut self, branch: &str) -> Option<String> {
        let head = self.branch_head(branch)?;
        let sha = self.new_commit(vec![head], &format!("{branch}: pushed"), "sim");
        self.set_branch_head(branch, &sha);
        Some(sha)
    }

    pub fn branch_head(&self, name: &str) -> Option<String> {
        self.branches.get(name).cloned()
    }

    /// Resolve a ref expression: `pr:N`, `branch~N`, branch name, full sha or unique prefix (≥ 4).
    pub fn resolve(&self, expr: &str) -> Option<String> {
        if let Some(n) = expr.strip_prefix("pr:") {
            return n
                .parse()
                .ok()
                .and_then(|n| self.try_pull(n))
                .map(|p| p.head_sha.clone());
        }
        if let Some((b, n)) = expr.rsplit_once('~')
            && let Ok(n) = n.parse::<usize>()
        {
            let mut sha = self.resolve(b)?;
            for _ in 0..n {
                sha = self.commits.get(&sha)?.parents.first()?.clone();
            }
            return Some(sha);
        }
        if let Some(h) = self.branches.get(expr) {
            return Some(h.clone());
        }
        self.resolve_sha(expr)
    }

    /// Full sha or unique hex prefix (≥ 4 chars).
    pub fn resolve_sha(&self, s: &str) -> Option<String> {
        if self.commits.contains_key(s) {
            return Some(s.to_string());
        }
        if s.len() < 4 || s.len() > 40 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let s = s.to_ascii_lowercase();
        let mut it = self
            .commits
            .range(s.clone()..)
            .take_while(|(k, _)| k.starts_with(&s));
        let first = it.next()?;
        if it.next().is_some() {
            return None;
        }
        Some(first.0.clone())
    }

    /// Branch name or sha → sha.
    pub fn resolve_ref(&self, r: &str) -> Option<String> {
        self.branches
            .get(r)
            .cloned()
            .or_else(|| self.resolve_sha(r))
    }

    /// All commits reachable from `sha` (inclusive).
    pub fn ancestors(&self, sha: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut q = VecDeque::from([sha.to_string()]);
        while let Some(s) = q.pop_front() {
            if !seen.insert(s.clone()) {
                continue;
            }
            if let Some(c) = self.commits.get(&s) {
                q.extend(c.parents.iter().cloned());
            }
        }
        seen
    }

    /// Is `anc` reachable from `desc` (inclusive)?
    pub fn is_ancestor(&self, anc: &str, desc: &str) -> bool {
        self.ancestors(desc).contains(anc)
    }

    /// Best common ancestor (the newest commit reachable from both).
    pub fn merge_base(&self, a: &str, b: &str) -> Option<String> {
        let aa = self.ancestors(a);
        let mut q = VecDeque::from([b.to_string()]);
        let mut seen = HashSet::new();
        while let Some(s) = q.pop_front() {
            if !seen.insert(s.clone()) {
                continue;
            }
            if aa.contains(&s) {
                return Some(s);
            }
            if let Some(c) = self.commits.get(&s) {
                q.extend(c.parents.iter().cloned());
            }
        }
        None
    }

    /// First-parent history from `sha`, newest first.
    pub fn first_parent_history(&self, sha: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = Some(sha.to_string());
        while let Some(s) = cur {
            let Some(c) = self.commits.get(&s) else { break };
            cur = c.parents.first().cloned();
            out.push(s);
        }
        out
    }

    /// Commits reachable from `head` but not from `base`, newest first (by creation).
    pub fn commits_between(&self, base: &str, head: &str) -> Vec<String> {
        let excluded = self.ancestors(base);
        let mut v: Vec<&Commit> = self
            .ancestors(head)
            .iter()
            .filter(|s| !excluded.contains(*s))
            .filter_map(|s| self.commits.get(s))
            .collect();
        v.sort_by(|a, b| b.created.cmp(&a.created).then(b.sha.cmp(&a.sha)));
        v.into_iter().map(|c| c.sha.clone()).collect()
    }

    // ---------- statuses & checks ----------

    /// Append a status row (creator `ci-bot`); returns its id.
    pub fn add_status(&mut self, sha: &str, context: &str, state: &str) -> u64 {
        self.add_status_full(sha, context, state, "", "", "ci-bot")
    }

    /// Append a status row with all fields; returns its id.
    pub fn add_status_full(
        &mut self,
        sha: &str,
        context: &str,
        state: &str,
        description: &str,
        target_url: &str,
        creator: &str,
    ) -> u64 {
        let id = self.alloc_id();
        let t = self.tick();
        self.statuses.push(CommitStatus {
            id,
            sha: sha.to_string(),
            context: context.to_string(),
            state: state.to_string(),
            target_url: target_url.to_string(),
            description: description.to_string(),
            created_at: t,
            updated_at: t,
            creator: creator.to_string(),
        });
        id
    }

    /// Every status row of a sha, oldest first.
    pub fn statuses_for(&self, sha: &str) -> Vec<CommitStatus> {
        self.statuses
            .iter()
            .filter(|s| s.sha == sha)
            .cloned()
            .collect()
    }

    /// Latest row per context (Gitea: exact trimmed context; GitHub: case-insensitive), newest first.
    pub fn latest_statuses(&self, sha: &str) -> Vec<CommitStatus> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for s in self.statuses.iter().rev().filter(|s| s.sha == sha) {
            let key = match self.dialect {
                Dialect::Gitea => s.context.trim().to_string(),
                Dialect::GitHub => s.context.to_lowercase(),
            };
            if seen.insert(key) {
                out.push(s.clone());
            }
        }
        out
    }

    /// Add a check run; returns its id.
    pub fn add_check_run(
        &mut self,
        sha: &str,
        name: &str,
        status: &str,
        conclusion: Option<&str>,
    ) -> u64 {
        let id = self.alloc_id();
        let t = self.tick();
        self.check_runs.push(CheckRun {
            id,
            head_sha: sha.to_string(),
            name: name.to_string(),
            status: status.to_string(),
            conclusion: conclusion.map(str::to_string),
            details_url: None,
            app_id: 15368,
            app_slug: "github-actions".to_string(),
            started_at: t,
            completed_at: if status == "completed" { Some(t) } else { None },
        });
        id
    }

    // ---------- pulls ----------

    pub fn try_pull(&self, n: u64) -> Option<&PullRequest> {
        self.pulls.get(&n)
    }

    /// The PR (panics if it does not exist: a test helper).
    pub fn pull(&self, n: u64) -> &PullRequest {
        match self.pulls.get(&n) {
            Some(p) => p,
            None => panic!("sim: no pull request #{n}"),
        }
    }

    /// Mutable PR (panics if it does not exist: a test helper).
    pub fn pr_mut(&mut self, n: u64) -> &mut PullRequest {
        match self.pulls.get_mut(&n) {
            Some(p) => p,
            None => panic!("sim: no pull request #{n}"),
        }
    }

    /// Push a new commit (no statuses) on a PR's head; returns the new head sha.
    pub fn push_to_pr(&mut self, n: u64) -> Option<String> {
        let p = self.pulls.get(&n)?;
        let (old, head_ref, fork) = (
            p.head_sha.clone(),
            p.head_ref.clone(),
            p.head_repo.is_some(),
        );
        let sha = self.new_commit(vec![old], &format!("{head_ref}: new push"), "sim");
        let t = self.now();
        if let Some(p) = self.pulls.get_mut(&n) {
            p.head_sha = sha.clone();
            p.updated_at = t;
        }
        if !fork {
            self.branches.insert(head_ref, sha.clone());
        }
        self.on_head_changed(n, true);
        Some(sha)
    }

    /// After a head change. Gitea (services/pull/pull.go) marks reviews stale, and dismisses
    /// approvals when protection asks for it, only when the PR's diff changed — a clean merge
    /// of the base keeps them. GitHub dismisses approvals on any new commit when protection
    /// asks for it (and has no stale flag).
    fn on_head_changed(&mut self, n: u64, diff_changed: bool) {
        let Some(p) = self.pulls.get(&n) else { return };
        let head = p.head_sha.clone();
        let dismiss = self
            .protection_for(&p.base_ref)
            .map(|r| r.dismiss_stale_approvals)
            .unwrap_or(false);
        let github = self.dialect == Dialect::GitHub;
        if !diff_changed && !github {
            return;
        }
        for r in self.reviews.iter_mut().filter(|r| r.pr == n) {
            if r.commit_id != head {
                r.stale = true;
                if dismiss && r.state == "APPROVED" {
                    r.dismissed = true;
                }
            }
        }
    }

    /// True when the base head is not contained in the PR head.
    pub fn is_behind(&self, n: u64) -> bool {
        match self.pulls.get(&n) {
            Some(p) => match self.branch_head(&p.base_ref) {
                Some(b) => !self.is_ancestor(&b, &p.head_sha),
                None => false,
            },
            None => false,
        }
    }

    /// Perform a merge (no checks). Returns the new base head.
    pub fn do_merge(
        &mut self,
        n: u64,
        style: &str,
        title: &str,
        message: &str,
        actor: &str,
    ) -> String {
        let Some(p) = self.pulls.get(&n) else {
            return String::new();
        };
        let (head, base_ref, head_ref, ptitle) = (
            p.head_sha.clone(),
            p.base_ref.clone(),
            p.head_ref.clone(),
            p.title.clone(),
        );
        let base_head = self.branch_head(&base_ref).unwrap_or_default();
        let mut msg = if title.is_empty() {
            format!("Merge pull request '{ptitle}' (#{n}) from {head_ref} into {base_ref}")
        } else {
            title.to_string()
        };
        if !message.is_empty() {
            msg = format!("{msg}\n\n{message}");
        }
        let new_head = match style {
            "fast-forward-only" => head.clone(),
            "squash" | "rebase" => self.new_commit(vec![base_head], &msg, actor),
            _ => self.new_commit(vec![base_head, head.clone()], &msg, actor),
        };
        self.branches.insert(base_ref, new_head.clone());
        let t = self.now();
        if let Some(p) = self.pulls.get_mut(&n) {
            p.merged = true;
            p.state = "closed".to_string();
            p.merged_at = Some(t);
            p.closed_at = Some(t);
            p.updated_at = t;
            p.merged_by = Some(actor.to_string());
            p.merge_commit_sha = Some(new_head.clone());
        }
        new_head
    }

    /// Update the PR head with its base (no checks). Returns the new head.
    pub fn do_update(&mut self, n: u64, style: &str) -> Option<String> {
        let p = self.pulls.get(&n)?;
        let (old, base_ref, head_ref, fork) = (
            p.head_sha.clone(),
            p.base_ref.clone(),
            p.head_ref.clone(),
            p.head_repo.is_some(),
        );
        let base_head = self.branch_head(&base_ref)?;
        let new = if style == "rebase" {
            self.new_commit(
                vec![base_head.clone()],
                &format!("{head_ref}: rebased onto {base_ref}"),
                "sim",
            )
        } else {
            self.new_commit(
                vec![old, base_head.clone()],
                &format!("Merge branch '{base_ref}' into {head_ref}"),
                "sim",
            )
        };
        let t = self.now();
        if let Some(p) = self.pulls.get_mut(&n) {
            p.head_sha = new.clone();
            p.merge_base = base_head;
            p.updated_at = t;
        }
        if !fork {
            self.branches.insert(head_ref, new.clone());
        }
        // A merge of the base changes no line of the PR's diff; a rebase is treated as a
        // new diff (the simulator does not compare trees).
        self.on_head_changed(n, style == "rebase");
        Some(new)
    }

    // ---------- reviews, labels, comments ----------

    /// Add a review on the PR head (official when the reviewer has write); returns its id.
    pub fn add_review(&mut self, pr: u64, user: &str, state: &str) -> u64 {
        let id = self.alloc_id();
        let t = self.tick();
        let commit = self
            .try_pull(pr)
            .map(|p| p.head_sha.clone())
            .unwrap_or_default();
        let official = self.perm(user) >= Permission::Write;
        let state = normalize_review_state(state).unwrap_or("COMMENT");
        if official && matches!(state, "APPROVED" | "REQUEST_CHANGES") {
            // Gitea (models/issues/review.go CreateReview): a reviewer's new official
            // verdict makes their earlier ones unofficial.
            for r in self
                .reviews
                .iter_mut()
                .filter(|r| r.pr == pr && r.user == user)
            {
                r.official = false;
            }
        }
        self.reviews.push(Review {
            id,
            pr,
            user: user.to_string(),
            state: state.to_string(),
            body: String::new(),
            commit_id: commit,
            official,
            stale: false,
            dismissed: false,
            submitted_at: t,
        });
        id
    }

    pub fn reviews_for(&self, pr: u64) -> Vec<Review> {
        self.reviews
            .iter()
            .filter(|r| r.pr == pr)
            .cloned()
            .collect()
    }

    /// Create a repo label; returns its id.
    pub fn create_label(&mut self, name: &str, color: &str, description: &str) -> u64 {
        let id = self.alloc_id();
        self.labels.push(Label {
            id,
            name: name.to_string(),
            color: color.trim_start_matches('#').to_string(),
            description: description.to_string(),
        });
        id
    }

    pub fn label_by_name(&self, name: &str) -> Option<&Label> {
        self.labels.iter().find(|l| l.name == name)
    }

    pub fn label_by_id(&self, id: u64) -> Option<&Label> {
        self.labels.iter().find(|l| l.id == id)
    }

    /// Names of the PR's labels.
    pub fn pr_label_names(&self, pr: u64) -> Vec<String> {
        self.try_pull(pr)
            .map(|p| {
                p.labels
                    .iter()
                    .filter_map(|id| self.label_by_id(*id))
                    .map(|l| l.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Add a comment; returns its id.
    /// Edits a comment's body; records a mutation only when the text changed.
    pub fn edit_comment(&mut self, id: u64, text: String) {
        let t = self.tick();
        let mut changed = false;
        if let Some(c) = self.comments.iter_mut().find(|c| c.id == id)
            && c.body != text
        {
            c.body = text.clone();
            c.updated_at = t;
            changed = true;
        }
        if changed {
            self.record(Mutation::CommentEdited { id, body: text });
        }
    }

    pub fn add_comment(&mut self, pr: u64, user: &str, body: &str) -> u64 {
        let id = self.alloc_id();
        let t = self.tick();
        self.comments.push(Comment {
            id,
            pr,
            user: user.to_string(),
            body: body.to_string(),
            created_at: t,
            updated_at: t,
        });
        id
    }

    // ---------- users & protection ----------

    pub fn user(&self, login: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
    }

    pub fn user_by_token(&self, token: &str) -> Option<&User> {
        if token.is_empty() {
            return None;
        }
        self.users
            .iter()
            .find(|u| u.token.as_deref() == Some(token))
    }

    /// A user, or a synthetic read-less user for logins not declared (e.g. `gitea-actions`).
    pub fn user_or_ghost(&self, login: &str) -> User {
        match self.user(login) {
            Some(u) => u.clone(),
            None => User {
                id: 10_000 + u64::from_str_radix(&fake_sha(login)[..6], 16).unwrap_or(0),
                login: login.to_string(),
                token: None,
                permission: Permission::None,
                site_admin: false,
                scopes: None,
            },
        }
    }

    pub fn perm(&self, login: &str) -> Permission {
        self.user(login)
            .map(|u| u.perm())
            .unwrap_or(Permission::None)
    }

    /// The protection rule that applies to a branch: exact rule names first, then globs, by creation.
    pub fn protection_for(&self, branch: &str) -> Option<&BranchProtection> {
        self.protections
            .iter()
            .find(|p| p.rule_name == branch)
            .or_else(|| {
                self.protections
                    .iter()
                    .find(|p| glob_match(&p.rule_name, branch, true))
            })
    }

    /// Active rulesets targeting a branch.
    pub fn rulesets_for(&self, branch: &str) -> Vec<&Ruleset> {
        self.rulesets
            .iter()
            .filter(|r| r.enforcement == "active")
            .filter(|r| {
                r.branches.iter().any(|pat| {
                    let pat = pat.strip_prefix("refs/heads/").unwrap_or(pat);
                    pat == "~ALL"
                        || (pat == "~DEFAULT_BRANCH" && branch == self.default_branch)
                        || glob_match(pat, branch, true)
                })
            })
            .collect()
    }

    /// Gitea's branch-protection verdict for merging PR `n`: `None` = allowed,
    /// otherwise the `ErrDisallowedToMerge` reason.
    pub fn gitea_protection_block(&self, n: u64) -> Option<&'static str> {
        let p = self.try_pull(n)?;
        let rule = self.protection_for(&p.base_ref)?;
        if rule.enable_status_check {
            let latest = self.latest_statuses(&p.head_sha);
            let ok = if latest.is_empty() {
                false
            } else if rule.status_check_contexts.is_empty() {
                latest
                    .iter()
                    .all(|s| s.state == "success" || s.state == "skipped")
            } else {
                rule.status_check_contexts.iter().all(|g| {
                    let matched: Vec<_> = latest
                        .iter()
                        .filter(|s| glob_match(g, &s.context, false))
                        .collect();
                    !matched.is_empty()
                        && matched
                            .iter()
                            .all(|s| s.state == "success" || s.state == "skipped")
                })
            };
            if !ok {
                return Some("Not all required status checks successful");
            }
        }
        if rule.required_approvals > 0 {
            let approvals = self
                .reviews
                .iter()
                .filter(|r| r.pr == n && r.state == "APPROVED" && r.official && !r.dismissed)
                .filter(|r| !(rule.ignore_stale_approvals && r.stale))
                .count() as u64;
            if approvals < rule.required_approvals {
                return Some("Does not have enough approvals");
            }
        }
        if rule.block_on_rejected_reviews
            && self
                .reviews
                .iter()
                .any(|r| r.pr == n && r.state == "REQUEST_CHANGES" && r.official && !r.dismissed)
        {
            return Some("There are requested changes");
        }
        if rule.block_on_official_review_requests
            && self
                .reviews
                .iter()
                .any(|r| r.pr == n && r.state == "REQUEST_REVIEW" && r.official && !r.dismissed)
        {
            return Some("There are official review requests");
        }
        if rule.block_on_outdated_branch && self.is_behind(n) {
            return Some("The head branch is behind the base branch");
        }
        None
    }

    /// Required checks for a branch on GitHub: classic protection ∪ active rulesets, as
    /// (context, app id) pairs.
    pub fn github_required_checks(&self, branch: &str) -> Vec<(String, Option<i64>)> {
        let mut out: Vec<(String, Option<i64>)> = Vec::new();
        if let Some(p) = self.protection_for(branch)
            && p.enable_status_check
        {
            for c in &p.status_check_contexts {
                out.push((c.clone(), p.check_app_ids.get(c).copied()));
            }
        }
        for r in self.rulesets_for(branch) {
            for c in &r.required_status_checks {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        out
    }

    /// Does a required GitHub check pass on `sha`? `Some(true)` pass, `Some(false)` fail/pending,
    /// `None` missing.
    pub fn github_check_state(
        &self,
        sha: &str,
        context: &str,
        app_id: Option<i64>,
    ) -> Option<bool> {
        let status = self
            .latest_statuses(sha)
            .into_iter()
            .find(|s| s.context.eq_ignore_ascii_case(context));
        let run = self
            .check_runs
            .iter()
            .filter(|r| r.head_sha == sha && r.name == context)
            .filter(|r| app_id.is_none_or(|a| a < 0 || a == r.app_id))
            .max_by_key(|r| r.id);
        if status.is_none() && run.is_none() {
            return None;
        }
        let s_ok = status.is_none_or(|s| s.state == "success");
        let r_ok = run.is_none_or(|r| {
            r.status == "completed"
                && matches!(
                    r.conclusion.as_deref(),
                    Some("success") | Some("neutral") | Some("skipped")
                )
        });
        Some(s_ok && r_ok)
    }

    /// GitHub merge gate: `None` = allowed, otherwise the 405 message. `method` is the
    /// merge method (`None`: judge the PR only, as `mergeable_state` does).
    pub fn github_merge_block(&self, n: u64, actor: &str) -> Option<String> {
        self.github_merge_block_with(n, actor, None)
    }

    pub fn github_merge_block_with(
        &self,
        n: u64,
        actor: &str,
        method: Option<&str>,
    ) -> Option<String> {
        let p = self.try_pull(n)?;
        let classic = self.protection_for(&p.base_ref);
        let admin_bypass =
            classic.is_some_and(|c| !c.enforce_admins) && self.perm(actor) >= Permission::Admin;
        let rulesets: Vec<&Ruleset> = self
            .rulesets_for(&p.base_ref)
            .into_iter()
            .filter(|r| !r.bypass.iter().any(|b| b.eq_ignore_ascii_case(actor)))
            .collect();
        let mut required: Vec<(String, Option<i64>)> = Vec::new();
        let mut strict = false;
        let mut approvals = 0;
        let mut code_owner = false;
        let mut linear = false;
        let mut signatures = false;
        if let Some(c) = classic
            && !admin_bypass
        {
            if c.enable_status_check {
                required.extend(
                    c.status_check_contexts
                        .iter()
                        .map(|x| (x.clone(), c.check_app_ids.get(x).copied())),
                );
                strict |= c.block_on_outdated_branch;
            }
            approvals = approvals.max(c.required_approvals);
            code_owner |= c.require_code_owner_reviews;
            linear |= c.required_linear_history;
            signatures |= c.required_signatures;
        }
        for r in &rulesets {
            if r.has_rule("merge_queue") {
                return Some(
                    "Repository rule violations found\n\nChanges must be made through the merge queue"
                        .to_string(),
                );
            }
            if let (Some(m), Some(allowed)) = (method, &r.allowed_merge_methods)
                && !allowed.iter().any(|a| a == m)
            {
                return Some(format!(
                    "Repository rule violations found\n\nMerge method {m} is not allowed on this branch"
                ));
            }
            required.extend(r.required_status_checks.iter().cloned());
            strict |= r.strict && !r.required_status_checks.is_empty();
            approvals = approvals.max(r.required_approving_review_count.unwrap_or(0));
            code_owner |= r.require_code_owner_review;
            linear |= r.has_rule("required_linear_history");
            signatures |= r.has_rule("required_signatures");
        }
        if signatures {
            return Some("Commits must have verified signatures.".to_string());
        }
        if linear && method == Some("merge") {
            return Some("This branch must not contain merge commits.".to_string());
        }
        if strict && self.is_behind(n) {
            return Some("Head branch is out of date. Review and try the merge again.".to_string());
        }
        let failing = required
            .iter()
            .filter(|(c, a)| self.github_check_state(&p.head_sha, c, *a) != Some(true))
            .count();
        if failing > 0 {
            return Some(format!(
                "{failing} of {} required status checks are expected.",
                required.len()
            ));
        }
        if approvals > 0 || code_owner {
            let (ok, changes) = self.github_review_counts(n);
            if changes > 0 {
                return Some("Changes have been requested on this pull request.".to_string());
            }
            if ok < approvals {
                return Some(format!(
                    "At least {approvals} approving review{} required by reviewers with write access.",
                    if approvals == 1 { " is" } else { "s are" }
                ));
            }
        }
        if code_owner && !self.github_code_owner_approved(n) {
            return Some("Waiting on code owner review.".to_string());
        }
        None
    }

    /// Whether a code owner's latest verdict on PR `n` is an approval.
    pub fn github_code_owner_approved(&self, n: u64) -> bool {
        let mut latest: BTreeMap<String, &Review> = BTreeMap::new();
        for r in self.reviews.iter().filter(|r| r.pr == n && !r.dismissed) {
            if matches!(r.state.as_str(), "APPROVED" | "REQUEST_CHANGES") {
                latest.insert(r.user.to_lowercase(), r);
            }
        }
        self.code_owners.iter().any(|o| {
            latest
                .get(&o.to_lowercase())
                .is_some_and(|r| r.state == "APPROVED")
        })
    }

    /// (approvals, change requests) from the latest non-comment review per writer.
    pub fn github_review_counts(&self, n: u64) -> (u64, u64) {
        let mut latest: BTreeMap<String, &Review> = BTreeMap::new();
        for r in self.reviews.iter().filter(|r| r.pr == n) {
            if matches!(r.state.as_str(), "APPROVED" | "REQUEST_CHANGES") {
                latest.insert(r.user.to_lowercase(), r);
            }
        }
        let mut ok = 0;
        let mut changes = 0;
        for r in latest.values() {
            if r.dismissed || self.perm(&r.user) < Permission::Write {
                continue;
            }
            if r.state == "APPROVED" {
                ok += 1;
            } else {
                changes += 1;
            }
        }
        (ok, changes)
    }

    /// GitHub `mergeable_state` for a PR.
    pub fn github_mergeable_state(&self, n: u64) -> &'static str {
        let Some(p) = self.try_pull(n) else {
            return "unknown";
        };
        if p.state != "open" {
            return "unknown";
        }
        if let Some(forced) = &p.mergeable_state_override {
            return match forced.as_str() {
                "clean" => "clean",
                "unstable" => "unstable",
                "has_hooks" => "has_hooks",
                "blocked" => "blocked",
                "behind" => "behind",
                "dirty" => "dirty",
                "draft" => "draft",
                _ => "unknown",
            };
        }
        if p.draft {
            return "draft";
        }
        match p.mergeable {
            None => return "unknown",
            Some(false) => return "dirty",
            Some(true) => {}
        }
        let author = p.user.clone();
        if let Some(msg) = self.github_merge_block(n, &author) {
            if msg.starts_with("Head branch is out of date") {
                return "behind";
            }
            return "blocked";
        }
        let failing = self
            .latest_statuses(&p.head_sha)
            .iter()
            .any(|s| s.state != "success")
            || self.check_runs.iter().any(|r| {
                r.head_sha == p.head_sha
                    && !matches!(
                        r.conclusion.as_deref(),
                        Some("success") | Some("neutral") | Some("skipped")
                    )
            });
        if failing { "unstable" } else { "clean" }
    }

    /// Record a mutation.
    pub(crate) fn record(&mut self, m: Mutation) {
        self.mutations.push(m);
    }
}
