//! Pull requests in a scenario and what is attached to commits and pull requests: statuses,
//! check runs, reviews, comments (each with its [`Target`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

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
    /// Git mode: file contents (path → content) written by the PR's head commit, besides its
    /// own `pr-<n>/change-<i>.txt` files. Two PRs writing one path with different contents
    /// conflict, and so does a PR writing a path its base changed since the fork.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// Simulated CI fails every commit that contains this PR's head (see `CiSpec`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub breaking: bool,
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
            files: BTreeMap::new(),
            breaking: false,
        }
    }
    /// Git mode: the head commit writes `content` at `path`.
    pub fn file(mut self, path: impl Into<String>, content: impl Into<String>) -> Self {
        self.files.insert(path.into(), content.into());
        self
    }
    /// Simulated CI fails on every commit containing this PR's head.
    pub fn breaking(mut self) -> Self {
        self.breaking = true;
        self
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
