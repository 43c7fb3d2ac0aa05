//! JSON shapes shared by the Gitea and GitHub dialects, decoded leniently (unknown fields
//! ignored) but validated where a decision depends on them.

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::error::ForgeError;
use super::http::{HttpClient, display_path};
use super::types::*;

#[derive(Deserialize)]
pub(super) struct UserRef {
    pub login: String,
}

#[derive(Deserialize)]
pub(super) struct ShaRef {
    pub sha: String,
}

#[derive(Deserialize)]
pub(super) struct CommitDetail {
    pub message: Option<String>,
}

/// Identity of list items, to detect an item repeated across pages.
pub(super) fn key_id(v: &Value) -> Option<String> {
    v.get("id").map(|id| id.to_string())
}

pub(super) fn key_number(v: &Value) -> Option<String> {
    v.get("number").map(|n| n.to_string())
}

pub(super) fn key_sha(v: &Value) -> Option<String> {
    v.get("sha").and_then(Value::as_str).map(str::to_string)
}

/// A response that could not be understood: names the request and what was wrong.
pub(super) fn bad(method: &str, url: &Url, detail: impl Into<String>) -> ForgeError {
    ForgeError::Decode {
        method: method.into(),
        path: display_path(url),
        detail: detail.into(),
    }
}

fn decode_err(url: &Url, detail: String) -> ForgeError {
    bad("GET", url, detail)
}

/// A commit in a list (`/commits`, `/pulls/{n}/commits`), both dialects.
#[derive(Deserialize)]
pub(super) struct CommitDto {
    pub sha: String,
    #[serde(default)]
    pub parents: Vec<ShaRef>,
    pub commit: Option<CommitDetail>,
    pub created: Option<String>,
}

/// Builds a [`Commit`], validating SHAs.
pub(super) fn commit(
    sha: String,
    parents: Vec<ShaRef>,
    detail: Option<CommitDetail>,
    created: Option<String>,
    url: &Url,
) -> Result<Commit, ForgeError> {
    let parse = |s: &str| {
        Sha::parse(s).ok_or_else(|| decode_err(url, format!("commit sha {s:?} is not a SHA")))
    };
    Ok(Commit {
        sha: parse(&sha)?,
        parents: parents
            .iter()
            .map(|p| parse(&p.sha))
            .collect::<Result<_, _>>()?,
        message: detail.and_then(|d| d.message),
        created,
    })
}

#[derive(Deserialize)]
struct LabelDto {
    id: u64,
    name: String,
}

/// Every repository label (both dialects: `GET …/labels`, paginated).
pub(super) async fn labels(http: &HttpClient, url: &Url) -> Result<Vec<RepoLabel>, ForgeError> {
    let rows: Vec<LabelDto> = http.get_all_as(url, None, key_id).await?;
    Ok(rows
        .into_iter()
        .map(|l| RepoLabel {
            id: l.id,
            name: Label(l.name),
        })
        .collect())
}

#[derive(Deserialize)]
struct RepoRefDto {
    full_name: Option<String>,
}

#[derive(Deserialize)]
struct BranchRefDto {
    #[serde(rename = "ref", default)]
    ref_name: String,
    #[serde(default)]
    sha: String,
    repo_id: Option<i64>,
    repo: Option<RepoRefDto>,
}

#[derive(Deserialize)]
struct PullDto {
    number: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    merged: bool,
    merged_at: Option<String>,
    merged_by: Option<UserRef>,
    merge_commit_sha: Option<String>,
    head: BranchRefDto,
    base: BranchRefDto,
    mergeable: Option<bool>,
    #[serde(default)]
    mergeable_state: Option<String>,
    merge_base: Option<String>,
    #[serde(default)]
    labels: Vec<LabelNameDto>,
    user: Option<UserRef>,
    #[serde(default)]
    created_at: String,
    updated_at: Option<String>,
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct LabelNameDto {
    name: String,
}

/// A pull request from either dialect's JSON.
pub(super) fn pull_from_json(
    v: &Value,
    repo: &RepoSlug,
    url: &Url,
) -> Result<PullRequest, ForgeError> {
    let dto: PullDto = serde_json::from_value(v.clone())
        .map_err(|e| decode_err(url, format!("pull request: {e}")))?;
    let head_sha = Sha::parse(&dto.head.sha).ok_or_else(|| {
        decode_err(
            url,
            format!(
                "pull request #{} has no valid head sha ({:?})",
                dto.number, dto.head.sha
            ),
        )
    })?;
    let head_repo = dto.head.repo.as_ref().and_then(|r| r.full_name.clone());
    let base_repo = dto.base.repo.as_ref().and_then(|r| r.full_name.clone());
    let this_repo = repo.to_string();
    // Fork when the head lives elsewhere; a deleted head repository counts as a fork.
    let is_fork = match (dto.head.repo_id, dto.base.repo_id) {
        (Some(h), Some(b)) if h != 0 && b != 0 => h != b,
        _ => match &head_repo {
            Some(h) => !h.eq_ignore_ascii_case(base_repo.as_deref().unwrap_or(&this_repo)),
            None => true,
        },
    };
    let state = match dto.state.as_str() {
        "open" => PrState::Open,
        "closed" => PrState::Closed,
        other => {
            return Err(decode_err(
                url,
                format!("pull request #{} has unknown state {other:?}", dto.number),
            ));
        }
    };
    Ok(PullRequest {
        number: PrNumber(dto.number),
        title: dto.title,
        state,
        draft: dto.draft,
        merged: dto.merged || dto.merged_at.is_some(),
        merged_by: dto.merged_by.map(|u| u.login),
        merge_commit_sha: dto.merge_commit_sha.as_deref().and_then(Sha::parse),
        head_sha,
        head_ref: dto.head.ref_name,
        head_repo,
        base_ref: dto.base.ref_name,
        is_fork,
        mergeable: dto.mergeable,
        mergeable_state: dto.mergeable_state,
        merge_base: dto.merge_base.as_deref().and_then(Sha::parse),
        labels: dto.labels.into_iter().map(|l| Label(l.name)).collect(),
        author: dto.user.map(|u| u.login),
        created_at: dto.created_at,
        updated_at: dto.updated_at,
        url: dto.html_url,
    })
}

/// Every open pull request listed at `url` (query already set), oldest first.
pub(super) async fn open_pulls(
    http: &HttpClient,
    url: &Url,
    repo: &RepoSlug,
) -> Result<Vec<PullRequest>, ForgeError> {
    let values = http.get_all(url, None, key_number).await?;
    let mut pulls = values
        .iter()
        .map(|v| pull_from_json(v, repo, url))
        .collect::<Result<Vec<_>, _>>()?;
    pulls.retain(|p| p.state == PrState::Open);
    pulls.sort_by(|a, b| (&a.created_at, a.number).cmp(&(&b.created_at, b.number)));
    Ok(pulls)
}

/// One pull request.
pub(super) async fn pull(
    http: &HttpClient,
    url: &Url,
    repo: &RepoSlug,
) -> Result<PullRequest, ForgeError> {
    let v: Value = http.get_json(url).await?;
    pull_from_json(&v, repo, url)
}

/// Every comment body of an issue's comment list (same shape on both dialects), read to
/// completion.
pub(super) async fn comment_bodies(
    http: &HttpClient,
    url: &Url,
) -> Result<Vec<String>, ForgeError> {
    #[derive(Deserialize)]
    struct CommentDto {
        #[serde(default)]
        body: String,
    }
    let rows: Vec<CommentDto> = http.get_all_as(url, None, key_id).await?;
    Ok(rows.into_iter().map(|c| c.body).collect())
}
