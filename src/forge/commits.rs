//! Extension verbs for the status reaper: a bounded window of recent commits, the raw
//! status history of a commit, and the workflow files at a commit.
//!
//! Kept apart from [`Forge`](super::Forge) because only the reaper needs them.
//! `recent_commits` is a *window* by design (the newest `limit` commits), not a list to
//! complete: it reads only as many pages as it needs, but every page it reads must be valid
//! and an error on any page fails the read.

use std::future::Future;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::error::{ForgeError, PaginationProblem};
use super::http::{HttpClient, display_path, next_link};
use super::types::*;
use super::wire::{self, CommitDto, bad};
use super::{AnyForge, GitHubForge, GiteaForge};

/// The directories Gitea Actions reads workflows from, in order: Gitea 1.22 uses
/// `.gitea/workflows` when it exists and `.github/workflows` only otherwise.
pub const WORKFLOW_DIRS: [&str; 2] = [".gitea/workflows", ".github/workflows"];

/// Whether a file name is a workflow file (Gitea: `*.yml` and `*.yaml`).
pub fn is_workflow_file(name: &str) -> bool {
    name.ends_with(".yml") || name.ends_with(".yaml")
}

/// Files larger than this are not read (as from a local checkout: warned about and skipped).
pub const MAX_WORKFLOW_BYTES: u64 = 1024 * 1024;

/// One workflow file read from the forge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowFile {
    /// Path in the repository, e.g. `.gitea/workflows/ci.yml`.
    pub path: String,
    /// The file's text, or why it was not read (too large, not UTF-8).
    pub content: Result<String, String>,
}

/// Workflow files at one commit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkflowFiles {
    /// The directory they were read from (`None`: neither directory exists).
    pub dir: Option<String>,
    /// Sorted by file name.
    pub files: Vec<WorkflowFile>,
    /// Other workflow directories present but ignored (as the forge ignores them).
    pub ignored_dirs: Vec<String>,
}

/// Commit history and repository files, for the status reaper.
pub trait ForgeHistory: Send + Sync {
    /// The newest `limit` commits of `branch`, newest first (reads only the pages needed).
    fn recent_commits(
        &self,
        branch: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Commit>, ForgeError>> + Send;

    /// Every status row of a commit, history included (all pages), unreduced: the reaper
    /// needs earlier runs of a context, not just the latest.
    fn status_history(
        &self,
        sha: &Sha,
    ) -> impl Future<Output = Result<Vec<StatusReport>, ForgeError>> + Send;

    /// The workflow files at `reference` (a branch or SHA).
    fn workflow_files(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<WorkflowFiles, ForgeError>> + Send;

    /// The workflow files of every directory in `dirs` at `reference` (a missing directory
    /// contributes nothing; callers must know that `reference` exists).
    fn workflow_files_in(
        &self,
        reference: &str,
        dirs: &[&str],
    ) -> impl Future<Output = Result<Vec<WorkflowFile>, ForgeError>> + Send;
}

/// Reads pages of a commit list until `limit` commits are collected or the history ends.
/// `size_param` names the page-size parameter (`limit` on Gitea, `per_page` on GitHub).
async fn commit_window(
    http: &HttpClient,
    base: &Url,
    size_param: &str,
    limit: usize,
    extra_query: &[(&str, &str)],
) -> Result<Vec<Commit>, ForgeError> {
    let per_page = limit.clamp(1, http.settings().page_size.max(1) as usize);
    let cap = http.settings().page_cap.max(1);
    let path = display_path(base);
    let mut out: Vec<Commit> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut page: u32 = 1;
    let mut next: Option<Url> = None;
    while out.len() < limit {
        if page > cap {
            return Err(ForgeError::Pagination {
                path,
                problem: PaginationProblem::PageCap { cap },
            });
        }
        let url = match next.take() {
            Some(u) if page > 1 => u,
            _ => {
                let mut u = base.clone();
                {
                    let mut q = u.query_pairs_mut();
                    for (k, v) in extra_query {
                        q.append_pair(k, v);
                    }
                    q.append_pair(size_param, &per_page.to_string())
                        .append_pair("page", &page.to_string());
                }
                u
            }
        };
        let resp = http.get_raw(&url).await?;
        let value: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| bad("GET", &url, format!("invalid JSON: {e}")))?;
        let Value::Array(items) = value else {
            return Err(ForgeError::Pagination {
                path,
                problem: PaginationProblem::NotAList { page },
            });
        };
        let n = items.len();
        for item in items {
            let dto: CommitDto = serde_json::from_value(item)
                .map_err(|e| bad("GET", &url, format!("commit list item: {e}")))?;
            let c = wire::commit(dto.sha, dto.parents, dto.commit, dto.created, &url)?;
            if !seen.insert(c.sha.clone()) {
                return Err(ForgeError::Pagination {
                    path,
                    problem: PaginationProblem::RepeatedItem {
                        page,
                        key: c.sha.to_string(),
                    },
                });
            }
            if out.len() < limit {
                out.push(c);
            }
        }
        let total = resp
            .header("x-total-count")
            .and_then(|t| t.trim().parse::<usize>().ok());
        let link = resp.header("link").map(str::to_string);
        next = link.as_deref().and_then(|l| next_link(l, &url));
        if let Some(n) = &next
            && n.origin() != base.origin()
        {
            return Err(ForgeError::Pagination {
                path,
                problem: PaginationProblem::ForeignLink {
                    link: n.to_string(),
                },
            });
        }
        let ended = match (total, &link) {
            _ if n == 0 => true,
            (Some(t), _) => seen.len() >= t,
            (None, Some(_)) => next.is_none(),
            (None, None) => n < per_page,
        };
        if ended {
            break;
        }
        page += 1;
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ContentDto {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    size: u64,
    content: Option<String>,
    encoding: Option<String>,
}

impl GiteaForge {
    fn contents_url(&self, path: &str, reference: &str) -> Url {
        let mut url = self.repo_url(&["contents", path]);
        url.query_pairs_mut().append_pair("ref", reference);
        url
    }

    /// One workflow file; too large or undecodable files are reported, not failed.
    async fn workflow_file(
        &self,
        entry: &ContentDto,
        reference: &str,
    ) -> Result<WorkflowFile, ForgeError> {
        if entry.size > MAX_WORKFLOW_BYTES {
            return Ok(WorkflowFile {
                path: entry.path.clone(),
                content: Err(format!(
                    "{} bytes is more than the {MAX_WORKFLOW_BYTES}-byte limit",
                    entry.size
                )),
            });
        }
        let url = self.contents_url(&entry.path, reference);
        let dto: ContentDto = self.http().get_json(&url).await?;
        if dto.kind != "file" {
            return Err(bad(
                "GET",
                &url,
                format!("expected a file, got type {:?}", dto.kind),
            ));
        }
        let content = match (dto.encoding.as_deref(), dto.content) {
            (Some("base64"), Some(b64)) => {
                let compact: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact.as_bytes())
                    .map_err(|e| bad("GET", &url, format!("content is not valid base64: {e}")))
                    .map(|bytes| {
                        String::from_utf8(bytes).map_err(|_| "the file is not UTF-8".to_string())
                    })?
            }
            (enc, _) => {
                return Err(bad(
                    "GET",
                    &url,
                    format!("expected base64 content, got encoding {enc:?}"),
                ));
            }
        };
        Ok(WorkflowFile {
            path: entry.path.clone(),
            content,
        })
    }
}

impl ForgeHistory for GiteaForge {
    async fn recent_commits(&self, branch: &str, limit: usize) -> Result<Vec<Commit>, ForgeError> {
        let base = self.repo_url(&["commits"]);
        commit_window(
            self.http(),
            &base,
            "limit",
            limit,
            &[
                ("sha", branch),
                ("stat", "false"),
                ("verification", "false"),
                ("files", "false"),
            ],
        )
        .await
    }

    async fn status_history(&self, sha: &Sha) -> Result<Vec<StatusReport>, ForgeError> {
        self.status_rows(sha).await
    }

    async fn workflow_files_in(
        &self,
        reference: &str,
        dirs: &[&str],
    ) -> Result<Vec<WorkflowFile>, ForgeError> {
        self.all_workflow_files(reference, dirs).await
    }

    async fn workflow_files(&self, reference: &str) -> Result<WorkflowFiles, ForgeError> {
        let mut found: Option<(String, Vec<ContentDto>)> = None;
        let mut ignored = Vec::new();
        for dir in WORKFLOW_DIRS {
            // A missing directory (404) is "no workflows there", not an error.
            let Some(entries) = self.workflow_dir(dir, reference).await? else {
                continue;
            };
            if found.is_some() {
                ignored.push(dir.to_string());
                continue;
            }
            found = Some((dir.to_string(), entries));
        }
        let Some((dir, entries)) = found else {
            return Ok(WorkflowFiles::default());
        };
        let mut files = Vec::with_capacity(entries.len());
        for e in &entries {
            files.push(self.workflow_file(e, reference).await?);
        }
        Ok(WorkflowFiles {
            dir: Some(dir),
            files,
            ignored_dirs: ignored,
        })
    }
}

impl GiteaForge {
    /// The workflow file entries of one directory, sorted; `None` when it does not exist.
    async fn workflow_dir(
        &self,
        dir: &str,
        reference: &str,
    ) -> Result<Option<Vec<ContentDto>>, ForgeError> {
        let url = self.contents_url(dir, reference);
        let Some(listing) = self.http().get_json_optional::<Value>(&url).await? else {
            return Ok(None);
        };
        let Value::Array(items) = listing else {
            return Err(bad("GET", &url, format!("{dir} is not a directory")));
        };
        let mut entries = items
            .into_iter()
            .map(serde_json::from_value::<ContentDto>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("GET", &url, format!("directory entry: {e}")))?;
        entries.retain(|e| e.kind == "file" && is_workflow_file(&e.name));
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Some(entries))
    }

    async fn all_workflow_files(
        &self,
        reference: &str,
        dirs: &[&str],
    ) -> Result<Vec<WorkflowFile>, ForgeError> {
        let mut files = Vec::new();
        for dir in dirs {
            for e in self.workflow_dir(dir, reference).await?.unwrap_or_default() {
                files.push(self.workflow_file(&e, reference).await?);
            }
        }
        Ok(files)
    }
}

impl ForgeHistory for GitHubForge {
    async fn recent_commits(&self, branch: &str, limit: usize) -> Result<Vec<Commit>, ForgeError> {
        let base = self.repo_url(&["commits"]);
        commit_window(self.http(), &base, "per_page", limit, &[("sha", branch)]).await
    }

    async fn status_history(&self, sha: &Sha) -> Result<Vec<StatusReport>, ForgeError> {
        self.status_rows(sha).await
    }

    async fn workflow_files(&self, _reference: &str) -> Result<WorkflowFiles, ForgeError> {
        Err(ForgeError::Unsupported {
            what: "reading workflow files through the API (pass --workflows-dir with a checkout of the branch)".into(),
            forge: "mergeward's GitHub client (the contents API is outside its contracted subset)".into(),
        })
    }

    async fn workflow_files_in(
        &self,
        _reference: &str,
        _dirs: &[&str],
    ) -> Result<Vec<WorkflowFile>, ForgeError> {
        Err(ForgeError::Unsupported {
            what: "reading workflow files through the API".into(),
            forge: "mergeward's GitHub client (the contents API is outside its contracted subset)"
                .into(),
        })
    }
}

impl ForgeHistory for AnyForge {
    async fn recent_commits(&self, branch: &str, limit: usize) -> Result<Vec<Commit>, ForgeError> {
        match self {
            AnyForge::Gitea(f) => f.recent_commits(branch, limit).await,
            AnyForge::GitHub(f) => f.recent_commits(branch, limit).await,
        }
    }

    async fn status_history(&self, sha: &Sha) -> Result<Vec<StatusReport>, ForgeError> {
        match self {
            AnyForge::Gitea(f) => f.status_history(sha).await,
            AnyForge::GitHub(f) => f.status_history(sha).await,
        }
    }

    async fn workflow_files(&self, reference: &str) -> Result<WorkflowFiles, ForgeError> {
        match self {
            AnyForge::Gitea(f) => f.workflow_files(reference).await,
            AnyForge::GitHub(f) => f.workflow_files(reference).await,
        }
    }

    async fn workflow_files_in(
        &self,
        reference: &str,
        dirs: &[&str],
    ) -> Result<Vec<WorkflowFile>, ForgeError> {
        match self {
            AnyForge::Gitea(f) => f.workflow_files_in(reference, dirs).await,
            AnyForge::GitHub(f) => f.workflow_files_in(reference, dirs).await,
        }
    }
}
