//! Gitea and Forgejo (one implementation; capabilities from `/api/v1/version`).

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::error::ForgeError;
use super::http::HttpClient;
use super::types::*;
use super::wire::{self, CommitDto, bad, key_id, key_sha};
use super::{ApiCounts, Forge};

/// A Gitea or Forgejo repository.
#[derive(Debug, Clone)]
pub struct GiteaForge {
    http: HttpClient,
    repo: RepoSlug,
    kind: ForgeKind,
}

#[derive(Deserialize)]
struct VersionDto {
    version: String,
}

#[derive(Deserialize)]
struct UserDto {
    login: String,
    #[serde(default)]
    is_admin: bool,
}

#[derive(Deserialize)]
struct PermissionDto {
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    push: bool,
    #[serde(default)]
    pull: bool,
}

#[derive(Deserialize)]
struct RepoDto {
    full_name: String,
    #[serde(default)]
    default_branch: String,
    permissions: Option<PermissionDto>,
}

#[derive(Deserialize)]
struct BranchCommitDto {
    id: String,
}

#[derive(Deserialize)]
struct BranchDto {
    commit: Option<BranchCommitDto>,
    #[serde(default)]
    protected: bool,
    #[serde(default)]
    enable_status_check: bool,
    status_check_contexts: Option<Vec<String>>,
    required_approvals: Option<i64>,
    #[serde(default)]
    effective_branch_protection_name: String,
    user_can_merge: Option<bool>,
    user_can_push: Option<bool>,
}

#[derive(Deserialize)]
struct RuleDto {
    #[serde(default)]
    rule_name: String,
    #[serde(default)]
    branch_name: String,
    #[serde(default)]
    enable_status_check: bool,
    status_check_contexts: Option<Vec<String>>,
    required_approvals: Option<i64>,
    #[serde(default)]
    block_on_rejected_reviews: bool,
    #[serde(default)]
    block_on_outdated_branch: bool,
    #[serde(default)]
    dismiss_stale_approvals: bool,
}

#[derive(Deserialize)]
struct StatusDto {
    id: u64,
    #[serde(default)]
    context: String,
    status: Option<String>,
    state: Option<String>,
    target_url: Option<String>,
    description: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    creator: Option<wire::UserRef>,
}

#[derive(Deserialize)]
struct ReviewDto {
    id: u64,
    user: Option<wire::UserRef>,
    #[serde(default)]
    state: String,
    commit_id: Option<String>,
    #[serde(default)]
    official: bool,
    #[serde(default)]
    stale: bool,
    #[serde(default)]
    dismissed: bool,
    submitted_at: Option<String>,
}

fn approvals(v: Option<i64>) -> Option<u32> {
    v.and_then(|n| u32::try_from(n).ok())
}

impl GiteaForge {
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

    pub fn new(http: HttpClient, repo: RepoSlug, kind: ForgeKind) -> GiteaForge {
        GiteaForge { http, repo, kind }
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

    /// Every status row of a commit (all pages, history included), unreduced.
    pub(super) async fn status_rows(&self, sha: &Sha) -> Result<Vec<StatusReport>, ForgeError> {
        let url = self.repo_url(&["commits", sha.as_str(), "statuses"]);
        let rows: Vec<StatusDto> = self.http.get_all_as(&url, None, key_id).await?;
        Ok(rows
            .into_iter()
            .map(|r| StatusReport {
                id: r.id,
                context: ContextName(r.context.trim().to_string()),
                state: ContextState::from_status(
                    r.status.as_deref().or(r.state.as_deref()).unwrap_or(""),
                ),
                kind: ReportKind::CommitStatus,
                target_url: r.target_url,
                description: r.description,
                created_at: r.created_at,
                updated_at: r.updated_at,
                app: None,
                creator: r.creator.map(|u| u.login),
            })
            .collect())
    }

    async fn branch(&self, branch: &str) -> Result<(Url, BranchDto), ForgeError> {
        let url = self.repo_url(&["branches", branch]);
        let dto = self.http.get_json(&url).await?;
        Ok((url, dto))
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

impl Forge for GiteaForge {
    fn kind(&self) -> ForgeKind {
        self.kind
    }

    fn repo(&self) -> &RepoSlug {
        &self.repo
    }

    fn counts(&self) -> ApiCounts {
        self.http.counts()
    }

    async fn capabilities(&self) -> Result<Capabilities, ForgeError> {
        let v: VersionDto = self
            .http
            .get_json(&self.http.endpoint(&["version"]))
            .await?;
        Ok(Capabilities::from_gitea_version(&v.version))
    }

    async fn identity(&self) -> Result<Option<Identity>, ForgeError> {
        let u: UserDto = self.http.get_json(&self.http.endpoint(&["user"])).await?;
        Ok(Some(Identity {
            login: u.login,
            site_admin: u.is_admin,
        }))
    }

    async fn repository(&self) -> Result<Option<RepoInfo>, ForgeError> {
        let r: RepoDto = self.http.get_json(&self.repo_url(&[])).await?;
        Ok(Some(RepoInfo {
            full_name: r.full_name,
            default_branch: r.default_branch,
            permissions: r.permissions.map(|p| RepoPermissions {
                admin: p.admin,
                push: p.push,
                pull: p.pull,
            }),
        }))
    }

    async fn protection(&self, branch: &str) -> Result<Protection, ForgeError> {
        let (url, b) = self.branch(branch).await?;
        let mut p = Protection {
            branch: branch.to_string(),
            protected: b.protected,
            status_checks_enabled: b.enable_status_check,
            required_contexts: b.status_check_contexts.clone().unwrap_or_default(),
            required_approvals: approvals(b.required_approvals),
            block_on_rejected_reviews: None,
            block_on_outdated_branch: None,
            dismiss_stale_approvals: None,
            source: ProtectionSource::GiteaBranch,
            gaps: Vec::new(),
            head: None,
            github: None,
            bot_can_merge: b.user_can_merge,
            bot_can_push: b.user_can_push,
        };
        if b.enable_status_check && b.status_check_contexts.is_none() {
            return Err(bad(
                "GET",
                &url,
                "status checks are enabled but status_check_contexts is absent",
            ));
        }
        if !b.protected {
            return Ok(p);
        }
        // The full rule needs repo admin. Its name is reported to admins only; the branch
        // name is the usual rule name otherwise.
        let rule_name = if b.effective_branch_protection_name.is_empty() {
            branch.to_string()
        } else {
            b.effective_branch_protection_name.clone()
        };
        let rule_url = self.repo_url(&["branch_protections", &rule_name]);
        match self.http.get_json::<RuleDto>(&rule_url).await {
            Ok(rule) => {
                if rule.enable_status_check && rule.status_check_contexts.is_none() {
                    return Err(bad("GET", &rule_url, "status checks are enabled but status_check_contexts is absent"));
                }
                p.status_checks_enabled = rule.enable_status_check;
                p.required_contexts = rule.status_check_contexts.unwrap_or_default();
                p.required_approvals = approvals(rule.required_approvals);
                p.block_on_rejected_reviews = Some(rule.block_on_rejected_reviews);
                p.block_on_outdated_branch = Some(rule.block_on_outdated_branch);
                p.dismiss_stale_approvals = Some(rule.dismiss_stale_approvals);
                let name = if rule.rule_name.is_empty() { rule.branch_name } else { rule.rule_name };
                p.source = ProtectionSource::GiteaRule { rule: name };
            }
            Err(e) if matches!(e.status(), Some(401 | 403)) => p.gaps.push(format!(
                "the rule's review flags (block_on_rejected_reviews, dismiss_stale_approvals, …) need repo admin ({e}); contexts and approvals were read from GET /branches/{branch}"
            )),
            Err(e) if e.status() == Some(404) => p.gaps.push(format!(
                "no rule named {rule_name:?} is readable (the branch is protected by a pattern rule whose name is shown to repo admins only); contexts and approvals were read from GET /branches/{branch}"
            )),
            Err(e) => return Err(e),
        }
        Ok(p)
    }

    async fn branch_head(&self, branch: &str) -> Result<Sha, ForgeError> {
        let (url, b) = self.branch(branch).await?;
        let id = b
            .commit
            .map(|c| c.id)
            .ok_or_else(|| bad("GET", &url, "branch response has no commit"))?;
        Sha::parse(&id)
            .ok_or_else(|| bad("GET", &url, format!("branch commit id {id:?} is not a SHA")))
    }

    async fn statuses(&self, sha: &Sha) -> Result<CommitStatuses, ForgeError> {
        let reports = self.status_rows(sha).await?;
        Ok(CommitStatuses::reduce(sha.clone(), reports))
    }

    async fn open_pulls(&self) -> Result<Vec<PullRequest>, ForgeError> {
        let mut url = self.repo_url(&["pulls"]);
        // Gitea returns every PR when `state` is omitted, whatever its docs say.
        url.query_pairs_mut()
            .append_pair("state", "open")
            .append_pair("sort", "oldest");
        wire::open_pulls(&self.http, &url, &self.repo).await
    }

    async fn pull(&self, n: PrNumber) -> Result<PullRequest, ForgeError> {
        let url = self.repo_url(&["pulls", &n.0.to_string()]);
        wire::pull(&self.http, &url, &self.repo).await
    }

    async fn pull_commits(&self, n: PrNumber) -> Result<Vec<Commit>, ForgeError> {
        let mut url = self.repo_url(&["pulls", &n.0.to_string(), "commits"]);
        url.query_pairs_mut()
            .append_pair("verification", "false")
            .append_pair("files", "false");
        let rows: Vec<CommitDto> = self.http.get_all_as(&url, None, key_sha).await?;
        rows.into_iter()
            .map(|c| wire::commit(c.sha, c.parents, c.commit, c.created, &url))
            .collect()
    }

    async fn reviews(&self, n: PrNumber) -> Result<Vec<Review>, ForgeError> {
        let url = self.repo_url(&["pulls", &n.0.to_string(), "reviews"]);
        let rows: Vec<ReviewDto> = self.http.get_all_as(&url, None, key_id).await?;
        Ok(rows
            .into_iter()
            .map(|r| Review {
                id: r.id,
                user: r.user.map(|u| u.login),
                state: ReviewState::parse(&r.state),
                commit_id: r.commit_id.as_deref().and_then(Sha::parse),
                official: r.official,
                stale: r.stale,
                dismissed: r.dismissed,
                submitted_at: r.submitted_at,
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
        let url = self.repo_url(&["pulls", &n.0.to_string(), "merge"]);
        // PascalCase keys work on every version (1.26 also accepts snake_case);
        // head_commit_id pins the merge to the evaluated head (409 if it moved).
        let mut body = json!({
            "Do": req.method.as_str(),
            "MergeTitleField": req.title,
            "MergeMessageField": req.message,
            "head_commit_id": expected_head.as_str(),
            "delete_branch_after_merge": false,
        });
        if req.force {
            body["force_merge"] = json!(true);
        }
        self.send_ok(Method::POST, &url, Some(&body)).await
    }

    async fn update(
        &self,
        n: PrNumber,
        _expected_head: &Sha,
        style: UpdateStyle,
    ) -> Result<(), ForgeError> {
        // Gitea has no expected-head parameter: callers re-read the head before and after.
        let mut url = self.repo_url(&["pulls", &n.0.to_string(), "update"]);
        url.query_pairs_mut().append_pair("style", style.as_str());
        self.send_ok(Method::POST, &url, None).await
    }

    async fn add_label(&self, n: PrNumber, label: &Label) -> Result<(), ForgeError> {
        let labels = self.labels().await?;
        let Some(found) = labels.iter().find(|l| l.name == *label) else {
            return Err(ForgeError::Missing {
                what: format!("label {:?} in {}", label.0, self.repo),
                hint: "create the label in the repository settings".into(),
            });
        };
        let url = self.repo_url(&["issues", &n.0.to_string(), "labels"]);
        self.send_ok(Method::POST, &url, Some(&json!({ "labels": [found.id] })))
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
        let url = self.repo_url(&["statuses", sha.as_str()]);
        let body = json!({
            "state": status.state.as_str(),
            "context": status.context.0,
            "description": status.description,
            "target_url": status.target_url.clone().unwrap_or_default(),
        });
        self.send_ok(Method::POST, &url, Some(&body)).await
    }
}
