//! Reading single issues (tracker references of the `coe-tracking` gate), as an extension
//! of [`Forge`](super::Forge) so the core trait stays what the queue needs.
//!
//! `GET /repos/{owner}/{repo}/issues/{index}` on Gitea/Forgejo and
//! `GET /repos/{owner}/{repo}/issues/{issue_number}` on GitHub. The repository may differ
//! from the forge's own (`owner/repo#12`, named tracker prefixes).

use std::future::Future;

use serde::Deserialize;

use super::error::ForgeError;
use super::{AnyForge, GitHubForge, GiteaForge, HttpClient};

/// What the gates need of an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueInfo {
    pub number: u64,
    /// `open` or `closed`.
    pub state: String,
    /// RFC 3339.
    pub created_at: Option<String>,
    pub title: String,
}

#[derive(Deserialize)]
struct IssueDto {
    number: u64,
    #[serde(default)]
    state: String,
    created_at: Option<String>,
    #[serde(default)]
    title: String,
}

/// Issue reads.
pub trait ForgeIssues {
    /// One issue; `Ok(None)` when the forge answers 404. 401/403, 5xx and transport
    /// failures are errors (the caller fails closed).
    fn issue(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> impl Future<Output = Result<Option<IssueInfo>, ForgeError>> + Send;
}

async fn read(
    http: &HttpClient,
    owner: &str,
    repo: &str,
    number: u64,
) -> Result<Option<IssueInfo>, ForgeError> {
    let n = number.to_string();
    let url = http.endpoint(&["repos", owner, repo, "issues", &n]);
    let dto: Option<IssueDto> = http.get_json_optional(&url).await?;
    Ok(dto.map(|d| IssueInfo {
        number: d.number,
        state: d.state,
        created_at: d.created_at,
        title: d.title,
    }))
}

impl ForgeIssues for GiteaForge {
    async fn issue(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Option<IssueInfo>, ForgeError> {
        read(self.http(), owner, repo, number).await
    }
}

impl ForgeIssues for GitHubForge {
    async fn issue(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Option<IssueInfo>, ForgeError> {
        read(self.http(), owner, repo, number).await
    }
}

impl ForgeIssues for AnyForge {
    async fn issue(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<Option<IssueInfo>, ForgeError> {
        match self {
            AnyForge::Gitea(f) => f.issue(owner, repo, number).await,
            AnyForge::GitHub(f) => f.issue(owner, repo, number).await,
        }
    }
}
