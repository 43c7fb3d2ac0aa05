//! Extension verbs for batch mode (SPEC §8.2): the repository's git URL, one commit (its
//! message carries a staging commit's trailers) and recording a PR as merged by a commit
//! that reached its base by a push.
//!
//! Kept apart from [`Forge`](super::Forge) because only batch mode needs them.

use std::future::Future;

use serde::Deserialize;
use serde_json::json;

use super::error::ForgeError;
use super::types::*;
use super::wire::{ShaRef, bad};
use super::{AnyForge, Forge, GitHubForge, GiteaForge};

/// One commit as batch mode reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub sha: Sha,
    pub message: String,
    /// The committer date (when the staging commit was built), when the forge gives it.
    pub committed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The commit's tree (what `merge-api` landing compares), when the forge gives it.
    pub tree: Option<Sha>,
}

#[derive(Deserialize)]
struct PersonDto {
    date: Option<String>,
}

#[derive(Deserialize)]
struct DetailDto {
    message: Option<String>,
    committer: Option<PersonDto>,
    tree: Option<ShaRef>,
}

#[derive(Deserialize)]
struct OneCommitDto {
    sha: String,
    #[serde(default)]
    #[allow(dead_code)]
    parents: Vec<ShaRef>,
    commit: Option<DetailDto>,
}

#[derive(Deserialize)]
struct CloneDto {
    clone_url: Option<String>,
}

/// What batch mode reads and does beyond [`Forge`](super::Forge).
pub trait ForgeBatch: Send + Sync {
    /// The repository's HTTPS clone URL, as the forge gives it.
    fn clone_url(&self) -> impl Future<Output = Result<String, ForgeError>> + Send;

    /// One commit (Gitea/Forgejo `GET …/git/commits/{sha}`, GitHub `GET …/commits/{sha}`).
    fn commit(&self, sha: &Sha) -> impl Future<Output = Result<CommitInfo, ForgeError>> + Send;

    /// The token the API requests carry, for git's HTTPS requests to the same forge.
    fn git_token(&self) -> Option<super::Secret>;

    /// Records PR `n`, whose head reached the base by a push, as merged by `commit`.
    /// Gitea/Forgejo: the merge API's `manually-merged`. GitHub marks such a PR merged by
    /// itself: nothing is sent (callers read the PR back).
    fn mark_merged(
        &self,
        n: PrNumber,
        commit: &Sha,
    ) -> impl Future<Output = Result<(), ForgeError>> + Send;
}

fn commit_info(dto: OneCommitDto, url: &url::Url) -> Result<CommitInfo, ForgeError> {
    let sha = Sha::parse(&dto.sha)
        .ok_or_else(|| bad("GET", url, format!("commit sha {:?} is not a SHA", dto.sha)))?;
    let detail = dto
        .commit
        .ok_or_else(|| bad("GET", url, "the commit answer has no `commit` object"))?;
    let committed_at = detail
        .committer
        .and_then(|p| p.date)
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(&d).ok())
        .map(|d| d.with_timezone(&chrono::Utc));
    let tree = detail.tree.and_then(|t| Sha::parse(&t.sha));
    Ok(CommitInfo {
        sha,
        message: detail.message.unwrap_or_default(),
        committed_at,
        tree,
    })
}

/// The git URL of `repo` on the GitHub whose API root is `api`.
pub fn github_clone_url(api: &url::Url, repo: &RepoSlug) -> String {
    let mut web = api.clone();
    if web.host_str() == Some("api.github.com") {
        let _ = web.set_host(Some("github.com"));
    }
    let path = web.path().trim_end_matches('/');
    let root = path.strip_suffix("/api/v3").unwrap_or(path).to_string();
    web.set_path(&format!("{root}/{}/{}.git", repo.owner, repo.name));
    web.set_query(None);
    web.to_string()
}

fn clone_url_of(dto: CloneDto, url: &url::Url) -> Result<String, ForgeError> {
    dto.clone_url
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| bad("GET", url, "the repository answer has no clone_url"))
}

impl ForgeBatch for GiteaForge {
    fn git_token(&self) -> Option<super::Secret> {
        self.http().settings().token.clone()
    }

    async fn clone_url(&self) -> Result<String, ForgeError> {
        let url = self.repo_url(&[]);
        let dto: CloneDto = self.http().get_json(&url).await?;
        clone_url_of(dto, &url)
    }

    async fn commit(&self, sha: &Sha) -> Result<CommitInfo, ForgeError> {
        let url = self.repo_url(&["git", "commits", sha.as_str()]);
        let dto: OneCommitDto = self.http().get_json(&url).await?;
        commit_info(dto, &url)
    }

    async fn mark_merged(&self, n: PrNumber, commit: &Sha) -> Result<(), ForgeError> {
        let url = self.repo_url(&["pulls", &n.0.to_string(), "merge"]);
        // PascalCase keys work on every version; 1.26 also reads the snake_case ones.
        let body = json!({
            "Do": "manually-merged",
            "MergeCommitID": commit.as_str(),
            "delete_branch_after_merge": false,
        });
        self.http()
            .send(reqwest::Method::POST, &url, Some(&body))
            .await
            .map(|_| ())
    }
}

impl ForgeBatch for GitHubForge {
    fn git_token(&self) -> Option<super::Secret> {
        self.http().settings().token.clone()
    }

    /// GitHub serves git beside its web pages: `https://github.com/{o}/{r}.git` for
    /// `api.github.com`, `https://HOST/{o}/{r}.git` for Enterprise Server's
    /// `https://HOST/api/v3` (no request: the repository route is outside the API subset
    /// mergeward uses).
    async fn clone_url(&self) -> Result<String, ForgeError> {
        Ok(github_clone_url(
            &self.http().settings().api_base,
            self.repo(),
        ))
    }

    async fn commit(&self, sha: &Sha) -> Result<CommitInfo, ForgeError> {
        let url = self.repo_url(&["commits", sha.as_str()]);
        let dto: OneCommitDto = self.http().get_json(&url).await?;
        commit_info(dto, &url)
    }

    async fn mark_merged(&self, _n: PrNumber, _commit: &Sha) -> Result<(), ForgeError> {
        Ok(())
    }
}

impl ForgeBatch for AnyForge {
    fn git_token(&self) -> Option<super::Secret> {
        match self {
            AnyForge::Gitea(f) => f.git_token(),
            AnyForge::GitHub(f) => f.git_token(),
        }
    }

    async fn clone_url(&self) -> Result<String, ForgeError> {
        match self {
            AnyForge::Gitea(f) => f.clone_url().await,
            AnyForge::GitHub(f) => f.clone_url().await,
        }
    }

    async fn commit(&self, sha: &Sha) -> Result<CommitInfo, ForgeError> {
        match self {
            AnyForge::Gitea(f) => f.commit(sha).await,
            AnyForge::GitHub(f) => f.commit(sha).await,
        }
    }

    async fn mark_merged(&self, n: PrNumber, commit: &Sha) -> Result<(), ForgeError> {
        match self {
            AnyForge::Gitea(f) => f.mark_merged(n, commit).await,
            AnyForge::GitHub(f) => f.mark_merged(n, commit).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_answer_without_its_commit_object_is_an_error_not_an_empty_message() {
        let url = url::Url::parse("http://forge/api/v1/repos/o/r/git/commits/x").unwrap();
        let dto: OneCommitDto = serde_json::from_value(json!({ "sha": "a".repeat(40) })).unwrap();
        assert!(commit_info(dto, &url).is_err());
        let dto: OneCommitDto = serde_json::from_value(json!({
            "sha": "a".repeat(40),
            "commit": { "message": "m\n\nMergeward-Batch: b1\n", "committer": { "date": "2026-01-02T03:04:05Z" } }
        }))
        .unwrap();
        let c = commit_info(dto, &url).unwrap();
        assert!(c.message.contains("Mergeward-Batch: b1"));
        assert_eq!(
            c.committed_at.map(|d| d.to_rfc3339()).as_deref(),
            Some("2026-01-02T03:04:05+00:00")
        );
    }

    #[test]
    fn github_clone_urls_follow_the_web_host() {
        let repo = RepoSlug::parse("acme/widgets").unwrap();
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            github_clone_url(&url("https://api.github.com"), &repo),
            "https://github.com/acme/widgets.git"
        );
        assert_eq!(
            github_clone_url(&url("https://ghe.example.com/api/v3/"), &repo),
            "https://ghe.example.com/acme/widgets.git"
        );
        assert_eq!(
            github_clone_url(&url("http://127.0.0.1:4000"), &repo),
            "http://127.0.0.1:4000/acme/widgets.git"
        );
    }

    #[test]
    fn a_missing_or_blank_clone_url_is_an_error() {
        let url = url::Url::parse("http://forge/api/v1/repos/o/r").unwrap();
        assert!(clone_url_of(CloneDto { clone_url: None }, &url).is_err());
        assert!(
            clone_url_of(
                CloneDto {
                    clone_url: Some(" ".into())
                },
                &url
            )
            .is_err()
        );
    }
}
