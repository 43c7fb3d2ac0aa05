//! The forge layer: the verbs mergeward needs, over domain types, with one implementation
//! for Gitea/Forgejo and one for GitHub.
//!
//! Rules every implementation follows (see `SPEC.md`, "Forge layer"):
//! every list is read to completion or the read fails; latest state per context is the
//! highest status id; errors carry method, path and status code; only GETs are retried.

use std::future::Future;

pub mod batch;
pub mod commits;
pub mod error;
mod etag;
pub mod gitea;
pub mod github;
pub mod github_protection;
pub mod http;
pub mod issues;
pub mod logs;
pub mod refusal;
pub mod types;
mod wire;

pub use batch::{CommitInfo, ForgeBatch};
pub use commits::{ForgeHistory, WorkflowFile, WorkflowFiles};
pub use error::{ForgeError, PaginationProblem, TransportKind};
pub use gitea::GiteaForge;
pub use github::GitHubForge;
pub use http::{ApiCounts, HttpClient, HttpSettings, PageDialect, Secret};
pub use refusal::{MergeRefusal, PermissionSuspect, UpdateRefusal};
pub use types::*;

/// What mergeward asks of a forge. Not a mirror of any API.
pub trait Forge: Send + Sync {
    fn kind(&self) -> ForgeKind;
    fn repo(&self) -> &RepoSlug;
    /// Requests, pages and retries so far.
    fn counts(&self) -> ApiCounts;

    fn capabilities(&self) -> impl Future<Output = Result<Capabilities, ForgeError>> + Send;
    /// The user the token authenticates as (`None` where the forge cannot tell).
    fn identity(&self) -> impl Future<Output = Result<Option<Identity>, ForgeError>> + Send;
    fn repository(&self) -> impl Future<Output = Result<Option<RepoInfo>, ForgeError>> + Send;
    fn protection(
        &self,
        branch: &str,
    ) -> impl Future<Output = Result<Protection, ForgeError>> + Send;
    fn branch_head(&self, branch: &str) -> impl Future<Output = Result<Sha, ForgeError>> + Send;
    /// Every status (and check run) of a commit, reduced to the latest per context.
    fn statuses(
        &self,
        sha: &Sha,
    ) -> impl Future<Output = Result<CommitStatuses, ForgeError>> + Send;
    /// Every open pull request, oldest first.
    fn open_pulls(&self) -> impl Future<Output = Result<Vec<PullRequest>, ForgeError>> + Send;
    fn pull(&self, n: PrNumber) -> impl Future<Output = Result<PullRequest, ForgeError>> + Send;
    fn pull_commits(
        &self,
        n: PrNumber,
    ) -> impl Future<Output = Result<Vec<Commit>, ForgeError>> + Send;
    fn reviews(&self, n: PrNumber) -> impl Future<Output = Result<Vec<Review>, ForgeError>> + Send;
    fn labels(&self) -> impl Future<Output = Result<Vec<RepoLabel>, ForgeError>> + Send;

    /// Merges, pinned to `expected_head` (the forge refuses if the head moved).
    fn merge(
        &self,
        n: PrNumber,
        expected_head: &Sha,
        req: &MergeRequest,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;
    /// Brings the PR up to date with its base.
    fn update(
        &self,
        n: PrNumber,
        expected_head: &Sha,
        style: UpdateStyle,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;
    fn add_label(
        &self,
        n: PrNumber,
        label: &Label,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;
    fn comment(
        &self,
        n: PrNumber,
        body: &str,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;
    /// Every comment body of issue or PR `n`, read to completion (the queue looks for its
    /// own hidden markers there, so a lost ledger never repeats a comment).
    fn comment_bodies(
        &self,
        n: PrNumber,
    ) -> impl Future<Output = Result<Vec<String>, ForgeError>> + Send;
    fn post_status(
        &self,
        sha: &Sha,
        status: &NewStatus,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;

    /// Persists what the client caches between runs (GitHub's ETags); nothing by default.
    fn flush_cache(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Either implementation, chosen at run time.
#[derive(Debug, Clone)]
pub enum AnyForge {
    Gitea(GiteaForge),
    GitHub(GitHubForge),
}

macro_rules! dispatch {
    ($self:ident, $f:ident => $e:expr) => {
        match $self {
            AnyForge::Gitea($f) => $e,
            AnyForge::GitHub($f) => $e,
        }
    };
}

impl Forge for AnyForge {
    fn kind(&self) -> ForgeKind {
        dispatch!(self, f => f.kind())
    }
    fn repo(&self) -> &RepoSlug {
        dispatch!(self, f => f.repo())
    }
    fn counts(&self) -> ApiCounts {
        dispatch!(self, f => f.counts())
    }
    async fn capabilities(&self) -> Result<Capabilities, ForgeError> {
        dispatch!(self, f => f.capabilities().await)
    }
    async fn identity(&self) -> Result<Option<Identity>, ForgeError> {
        dispatch!(self, f => f.identity().await)
    }
    async fn repository(&self) -> Result<Option<RepoInfo>, ForgeError> {
        dispatch!(self, f => f.repository().await)
    }
    async fn protection(&self, branch: &str) -> Result<Protection, ForgeError> {
        dispatch!(self, f => f.protection(branch).await)
    }
    async fn branch_head(&self, branch: &str) -> Result<Sha, ForgeError> {
        dispatch!(self, f => f.branch_head(branch).await)
    }
    async fn statuses(&self, sha: &Sha) -> Result<CommitStatuses, ForgeError> {
        dispatch!(self, f => f.statuses(sha).await)
    }
    async fn open_pulls(&self) -> Result<Vec<PullRequest>, ForgeError> {
        dispatch!(self, f => f.open_pulls().await)
    }
    async fn pull(&self, n: PrNumber) -> Result<PullRequest, ForgeError> {
        dispatch!(self, f => f.pull(n).await)
    }
    async fn pull_commits(&self, n: PrNumber) -> Result<Vec<Commit>, ForgeError> {
        dispatch!(self, f => f.pull_commits(n).await)
    }
    async fn reviews(&self, n: PrNumber) -> Result<Vec<Review>, ForgeError> {
        dispatch!(self, f => f.reviews(n).await)
    }
    async fn labels(&self) -> Result<Vec<RepoLabel>, ForgeError> {
        dispatch!(self, f => f.labels().await)
    }
    async fn merge(&self, n: PrNumber, head: &Sha, req: &MergeRequest) -> Result<(), ForgeError> {
        dispatch!(self, f => f.merge(n, head, req).await)
    }
    async fn update(&self, n: PrNumber, head: &Sha, style: UpdateStyle) -> Result<(), ForgeError> {
        dispatch!(self, f => f.update(n, head, style).await)
    }
    async fn add_label(&self, n: PrNumber, label: &Label) -> Result<(), ForgeError> {
        dispatch!(self, f => f.add_label(n, label).await)
    }
    async fn comment(&self, n: PrNumber, body: &str) -> Result<(), ForgeError> {
        dispatch!(self, f => f.comment(n, body).await)
    }
    async fn comment_bodies(&self, n: PrNumber) -> Result<Vec<String>, ForgeError> {
        dispatch!(self, f => f.comment_bodies(n).await)
    }
    async fn post_status(&self, sha: &Sha, status: &NewStatus) -> Result<(), ForgeError> {
        dispatch!(self, f => f.post_status(sha, status).await)
    }
    fn flush_cache(&self) -> Result<(), String> {
        dispatch!(self, f => f.flush_cache())
    }
}

impl AnyForge {
    /// Creates a repository label (`forge check --fix`).
    pub async fn create_label(
        &self,
        name: &str,
        color: &str,
        description: &str,
    ) -> Result<(), ForgeError> {
        dispatch!(self, f => f.create_label(name, color, description).await)
    }
}

/// Everything needed to talk to one repository on one forge.
#[derive(Debug, Clone)]
pub struct ForgeTarget {
    pub kind: ForgeKind,
    /// The server root for Gitea/Forgejo (`https://git.example.com`, the client appends
    /// `/api/v1`), or the API root for GitHub (`https://api.github.com`,
    /// `https://ghe.example.com/api/v3`).
    pub url: url::Url,
    pub repo: RepoSlug,
}

impl ForgeTarget {
    /// The API base URL for this forge.
    pub fn api_base(&self) -> url::Url {
        match self.kind {
            ForgeKind::Gitea | ForgeKind::Forgejo => {
                let mut u = self.url.clone();
                let path = u.path().trim_end_matches('/').to_string();
                if !path.ends_with("/api/v1") {
                    u.set_path(&format!("{path}/api/v1"));
                }
                u
            }
            ForgeKind::GitHub => self.url.clone(),
        }
    }

    pub fn dialect(&self) -> PageDialect {
        match self.kind {
            ForgeKind::Gitea | ForgeKind::Forgejo => PageDialect::Gitea,
            ForgeKind::GitHub => PageDialect::GitHub,
        }
    }
}

/// Builds the forge client.
pub fn connect(target: &ForgeTarget, settings: HttpSettings) -> Result<AnyForge, ForgeError> {
    let http = HttpClient::new(settings)?;
    Ok(match target.kind {
        ForgeKind::Gitea | ForgeKind::Forgejo => {
            AnyForge::Gitea(GiteaForge::new(http, target.repo.clone(), target.kind))
        }
        ForgeKind::GitHub => AnyForge::GitHub(GitHubForge::new(http, target.repo.clone())),
    })
}
