//! GitHub (github.com and GHES). Commit statuses and check runs fold into one context map;
//! required checks are the union of classic protection and rulesets.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::error::ForgeError;
use super::github_protection::Collected;
use super::http::HttpClient;
use super::types::*;
use super::wire::{self, CommitDto, bad, key_id, key_sha};
use super::{ApiCounts, Forge};

/// GitHub truncates `GET /pulls/{n}/commits` at this many commits.
const GITHUB_PR_COMMITS_MAX: usize = 250;

/// A GitHub repository.
#[derive(Debug, Clone)]
pub struct GitHubForge {
    http: HttpClient,
    repo: RepoSlug,
}

#[derive(Deserialize)]
struct StatusDto {
    id: u64,
    #[serde(default)]
    context: String,
    #[serde(default)]
    state: String,
    target_url: Option<String>,
    description: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    creator: Option<wire::UserRef>,
}

#[derive(Deserialize)]
struct CheckRunDto {
    id: u64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    status: String,
    conclusion: Option<String>,
    details_url: Option<String>,
    started_at: Option<String>,
    completed_at: Option<String>,
    app: Option<AppDto>,
}

#[derive(Deserialize)]
struct AppDto {
    id: i64,
    #[serde(default)]
    slug: Option<String>,
}

#[derive(Deserialize)]
struct ReviewDto {
    id: u64,
    user: Option<wire::UserRef>,
    #[serde(default)]
    state: String,
    commit_id: Option<String>,
    submitted_at: Option<String>,
    /// The reviewer's relation to the repository. Only owners, members and collaborators can
    /// hold write access; GitHub counts no other reviewer's approval (or rejection) toward
    /// protection.
    author_association: Option<String>,
}

/// Whether a review's author can count for branch protection (GitHub's
/// `author_association`; absent → not proven, so not counted).
fn counts_for_protection(association: Option<&str>) -> bool {
    matches!(
        association.map(str::to_ascii_uppercase).as_deref(),
        Some("OWNER" | "MEMBER" | "COLLABORATOR")
    )
}

impl GitHubForge {
    /// Creates a repository label (`POST /repos/{owner}/{repo}/labels`; write access).
    pub async fn create_label(
        &self,
        name: &str,
        color: &str,
        description: &str,
    ) -> Result<(), ForgeError> {
        let url = self.repo_url(&["labels"]);
        let body = json!({ "name": name, "color": color, "description": description });
        self.send_ok(Method::POST, &url, Some(&body)).await
    }

    pub fn new(http: HttpClient, repo: RepoSlug) -> GitHubForge {
        GitHubForge { http, repo }
    }

    /// The shared HTTP client (for the extension verbs in `commits.rs` and `issues.rs`).
    pub(crate) fn http(&self) -> &HttpClient {
        &self.http
    }

    pub(super) fn repo_url(&self, tail: &[&str]) -> Url {
        let mut segs = vec!["repos", self.repo.owner.as_str(), self.repo.name.as_str()];
        segs.extend_from_slice(tail);
        self.http.endpoint(&segs)
    }

    /// Every commit status row (all pages, history included) and the latest check run per
    /// name, unreduced.
    pub(super) async fn status_rows(&self, sha: &Sha) -> Result<Vec<StatusReport>, ForgeError> {
        let status_url = self.repo_url(&["commits", sha.as_str(), "statuses"]);
        let mut runs_url = self.repo_url(&["commits", sha.as_str(), "check-runs"]);
        runs_url.query_pairs_mut().append_pair("filter", "latest");
        let (statuses, runs) = tokio::try_join!(
            self.http.get_all_as::<StatusDto>(&status_url, None, key_id),
            self.http
                .get_all_as::<CheckRunDto>(&runs_url, Some("check_runs"), key_id),
        )?;
        let mut reports: Vec<StatusReport> = statuses
            .into_iter()
            .map(|s| StatusReport {
                id: s.id,
                context: ContextName(s.context),
                state: ContextState::from_status(&s.state),
                kind: ReportKind::CommitStatus,
                target_url: s.target_url,
                description: s.description,
                created_at: s.created_at,
                updated_at: s.updated_at,
                app: None,
                creator: s.creator.map(|u| u.login),
            })
            .collect();
        reports.extend(runs.into_iter().map(|r| StatusReport {
            id: r.id,
            state: ContextState::from_check_run(&r.status, r.conclusion.as_deref()),
            context: ContextName(r.name),
            kind: ReportKind::CheckRun,
            target_url: r.details_url,
            description: r.conclusion,
            created_at: r.started_at,
            updated_at: r.completed_at,
            app: r.app.map(|a| CheckApp {
                slug: a.slug.unwrap_or_else(|| format!("app-{}", a.id)),
                id: a.id,
            }),
            creator: None,
        }));
        Ok(reports)
    }

    async fn branch(&self, branch: &str) -> Result<(Url, Value), ForgeError> {
        let url = self.repo_url(&["branches", branch]);
        let v = self.http.get_json(&url).await?;
        Ok((url, v))
    }

    async fn send_ok(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<(), ForgeError> {
        self.http.send(method, url, body).await.map(|_| ())
    }
}

/// The head commit of a `GET /branches/{b}` answer.
fn branch_sha(url: &Url, v: &Value) -> Result<Sha, ForgeError> {
    let sha = v
        .get("commit")
        .and_then(|c| c.get("sha"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad("GET", url, "branch response has no commit"))?;
    Sha::parse(sha).ok_or_else(|| bad("GET", url, format!("branch commit {sha:?} is not a SHA")))
}

impl Forge for GitHubForge {
    fn kind(&self) -> ForgeKind {
        ForgeKind::GitHub
    }

    fn repo(&self) -> &RepoSlug {
        &self.repo
    }

    fn counts(&self) -> ApiCounts {
        self.http.counts()
    }

    fn flush_cache(&self) -> Result<(), String> {
        self.http.save_cache()
    }

    async fn capabilities(&self) -> Result<Capabilities, ForgeError> {
        let url = self.http.endpoint(&["rate_limit"]);
        let resp = self.http.get_raw(&url).await?;
        let version = resp
            .header("x-github-enterprise-version")
            .map(|v| format!("GHES {v}"))
            .unwrap_or_else(|| "github.com".to_string());
        let _: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| bad("GET", &url, format!("invalid JSON: {e}")))?;
        Ok(Capabilities::github(&version))
    }

    /// The REST subset mergeward is contracted to (`github-subset.json`) has no `GET /user`,
    /// and installation tokens have no user: GitHub identity is not reported.
    async fn identity(&self) -> Result<Option<Identity>, ForgeError> {
        Ok(None)
    }

    async fn repository(&self) -> Result<Option<RepoInfo>, ForgeError> {
        Ok(None)
    }

    async fn protection(&self, branch: &str) -> Result<Protection, ForgeError> {
        let (branch_url, b) = self.branch(branch).await?;
        let head = branch_sha(&branch_url, &b)?;
        let mut col = Collected::default();
        let mut gaps = Vec::new();
        if let Some(rsc) = b
            .get("protection")
            .and_then(|p| p.get("required_status_checks"))
            .filter(|v| !v.is_null())
        {
            col.status_checks(rsc, "classic protection")
                .map_err(|m| bad("GET", &branch_url, m))?;
        }
        let mut classic = false;
        let classic_url = self.repo_url(&["branches", branch, "protection"]);
        match self.http.get_json::<Value>(&classic_url).await {
            Ok(c) => {
                classic = true;
                col.classic(&c).map_err(|m| bad("GET", &classic_url, m))?;
            }
            // Not protected by classic rules (rulesets may still apply).
            Err(e) if e.status() == Some(404) => {}
            Err(e) if matches!(e.status(), Some(401 | 403)) && !e.is_rate_limited() => {
                gaps.push(format!(
                    "classic branch protection could not be read ({e}); required checks were read from GET /branches/{branch} and rulesets; required approvals are the maximum of the rulesets and queue.required_approvals; GitHub's mergeable_state must allow every merge"
                ));
                col.rules.unread.push(format!(
                    "classic branch protection (HTTP {})",
                    e.status().unwrap_or(0)
                ));
                col.rules.unmodelled.push(
                    "classic branch protection, which could not be read (its review, signature and history settings are unknown)".into(),
                );
            }
            Err(e) => return Err(e),
        }
        let rules_url = self.repo_url(&["rules", "branches", branch]);
        match self.http.get_all(&rules_url, None, |_| None).await {
            Ok(rules) => col.rules(&rules).map_err(|m| bad("GET", &rules_url, m))?,
            // A server without rulesets (GitHub Enterprise Server before rulesets): no rules.
            Err(e) if e.status() == Some(404) => col.rules.notes.push(format!(
                "GET /rules/branches/{branch} answered 404: this server has no rulesets; only classic protection applies"
            )),
            Err(e) => return Err(e),
        }
        let protected = b.get("protected").and_then(Value::as_bool) == Some(true)
            || classic
            || col.rulesets_seen;
        Ok(Protection {
            branch: branch.to_string(),
            protected,
            status_checks_enabled: !col.contexts.is_empty(),
            required_contexts: col.contexts,
            required_approvals: col.approvals,
            block_on_rejected_reviews: Some(true),
            block_on_outdated_branch: None,
            dismiss_stale_approvals: col.dismiss_stale,
            source: ProtectionSource::GitHub {
                classic,
                rulesets: col.rulesets_seen,
            },
            gaps,
            head: Some(head),
            github: Some(col.rules),
            bot_can_merge: None,
            bot_can_push: None,
        })
    }

    async fn branch_head(&self, branch: &str) -> Result<Sha, ForgeError> {
        let (url, b) = self.branch(branch).await?;
        branch_sha(&url, &b)
    }

    async fn statuses(&self, sha: &Sha) -> Result<CommitStatuses, ForgeError> {
        let reports = self.status_rows(sha).await?;
        Ok(CommitStatuses::reduce(sha.clone(), reports))
    }

    /// List items are `pull-request-simple`, which has no `mergeable`: it is `None` here
    /// until the PR is read on its own.
    async fn open_pulls(&self) -> Result<Vec<PullRequest>, ForgeError> {
        let mut url = self.repo_url(&["pulls"]);
        url.query_pairs_mut()
            .append_pair("state", "open")
            .append_pair("sort", "created")
            .append_pair("direction", "asc");
        wire::open_pulls(&self.http, &url, &self.repo).await
    }

    async fn pull(&self, n: PrNumber) -> Result<PullRequest, ForgeError> {
        let url = self.repo_url(&["pulls", &n.0.to_string()]);
        wire::pull(&self.http, &url, &self.repo).await
    }

    async fn pull_commits(&self, n: PrNumber) -> Result<Vec<Commit>, ForgeError> {
        let url = self.repo_url(&["pulls", &n.0.to_string(), "commits"]);
        let rows: Vec<CommitDto> = self.http.get_all_as(&url, None, key_sha).await?;
        if rows.len() >= GITHUB_PR_COMMITS_MAX {
            return Err(bad(
                "GET",
                &url,
                format!(
                    "the PR has {GITHUB_PR_COMMITS_MAX} or more commits; GitHub truncates this list, so it cannot be proven complete"
                ),
            ));
        }
        rows.into_iter()
            .map(|c| wire::commit(c.sha, c.parents, c.commit, None, &url))
            .collect()
    }

    async fn reviews(&self, n: PrNumber) -> Result<Vec<Review>, ForgeError> {
        let url = self.repo_url(&["pulls", &n.0.to_string(), "reviews"]);
        let rows: Vec<ReviewDto> = self.http.get_all_as(&url, None, key_id).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let state = ReviewState::parse(&r.state);
                Review {
                    id: r.id,
                    user: r.user.map(|u| u.login),
                    dismissed: state == ReviewState::Dismissed,
                    state,
                    commit_id: r.commit_id.as_deref().and_then(Sha::parse),
                    official: counts_for_protection(r.author_association.as_deref()),
                    stale: false,
                    submitted_at: r.submitted_at,
                }
            })
            .collect())
    }

    async fn labels(&self) -> Result<Vec<RepoLabel>, ForgeError> {
        let url = self.repo_url(&["labels"]);
        wire::labels(&self.http, &url).await
    }

    async fn merge(
        &self,
        n: PrNumber,
        expected_head: &Sha,
        req: &MergeRequest,
    ) -> Result<(), ForgeError> {
        let method = match req.method {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
            other => {
                return Err(ForgeError::Unsupported {
                    what: format!("merge method {}", other.as_str()),
                    forge: "GitHub (use merge, squash or rebase)".into(),
                });
            }
        };
        if req.force {
            return Err(ForgeError::Unsupported {
                what: "force_merge".into(),
                forge: "GitHub".into(),
            });
        }
        let url = self.repo_url(&["pulls", &n.0.to_string(), "merge"]);
        let body = json!({
            "sha": expected_head.as_str(),
            "merge_method": method,
            "commit_title": req.title,
            "commit_message": req.message,
        });
        self.send_ok(Method::PUT, &url, Some(&body)).await
    }

    async fn update(
        &self,
        n: PrNumber,
        expected_head: &Sha,
        style: UpdateStyle,
    ) -> Result<(), ForgeError> {
        if style != UpdateStyle::Merge {
            return Err(ForgeError::Unsupported {
                what: "update style rebase".into(),
                forge: "GitHub (update-branch merges the base into the PR)".into(),
            });
        }
        let url = self.repo_url(&["pulls", &n.0.to_string(), "update-branch"]);
        let body = json!({ "expected_head_sha": expected_head.as_str() });
        self.send_ok(Method::PUT, &url, Some(&body)).await
    }

    async fn add_label(&self, n: PrNumber, label: &Label) -> Result<(), ForgeError> {
        let url = self.repo_url(&["issues", &n.0.to_string(), "labels"]);
        self.send_ok(Method::POST, &url, Some(&json!({ "labels": [label.0] })))
            .await
    }

    async fn comment_bodies(&self, n: PrNumber) -> Result<Vec<String>, ForgeError> {
        let url = self.repo_url(&["issues", &n.0.to_string(), "comments"]);
        wire::comment_bodies(&self.http, &url).await
    }

    async fn comment(&self, n: PrNumber, body: &str) -> Result<(), ForgeError> {
        let url = self.repo_url(&["issues", &n.0.to_string(), "comments"]);
        self.send_ok(Method::POST, &url, Some(&json!({ "body": body })))
            .await
    }

    async fn post_status(&self, sha: &Sha, status: &NewStatus) -> Result<(), ForgeError> {
        let state = match status.state {
            ContextState::Success => "success",
            ContextState::Pending => "pending",
            ContextState::Failure => "failure",
            ContextState::Error => "error",
            ref other => {
                return Err(ForgeError::Unsupported {
                    what: format!("commit status state {other}"),
                    forge: "GitHub (error, failure, pending, success)".into(),
                });
            }
        };
        let url = self.repo_url(&["statuses", sha.as_str()]);
        let mut body = json!({
            "state": state,
            "context": status.context.0,
            "description": status.description,
        });
        if let Some(t) = &status.target_url {
            body["target_url"] = json!(t);
        }
        self.send_ok(Method::POST, &url, Some(&body)).await
    }
}
