//! Domain types the forge layer returns. Built only from validated forge data.

use std::fmt;

use serde::{Deserialize, Serialize};

mod server;
mod status;
#[cfg(test)]
mod tests;

pub use server::*;
pub use status::*;

/// A commit SHA: lowercase hex, 7 to 64 characters (SHA-1 or SHA-256 repositories).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Sha(String);

impl Sha {
    /// Validates untrusted input. Uppercase hex is folded to lowercase.
    pub fn parse(s: &str) -> Option<Sha> {
        let s = s.trim();
        if (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(Sha(s.to_ascii_lowercase()))
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first `n` characters, for display.
    pub fn short(&self, n: usize) -> &str {
        &self.0[..n.min(self.0.len())]
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sha {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sha::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a commit SHA: {s:?}")))
    }
}

/// A pull request number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PrNumber(pub u64);

impl fmt::Display for PrNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// `owner/name`, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RepoSlug {
    pub owner: String,
    pub name: String,
}

impl RepoSlug {
    /// Parses `OWNER/NAME`. Each part is non-empty and made of letters, digits, `.`, `-`, `_`.
    pub fn parse(s: &str) -> Result<RepoSlug, String> {
        let s = s.trim();
        let Some((owner, name)) = s.split_once('/') else {
            return Err(format!("{s:?} is not OWNER/NAME"));
        };
        let ok = |p: &str| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        };
        if !ok(owner) || !ok(name) {
            return Err(format!(
                "{s:?} is not OWNER/NAME (each part: letters, digits, '.', '-', '_')"
            ));
        }
        Ok(RepoSlug {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for RepoSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// The name of a status context or check run, e.g. `CI / test (pull_request)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContextName(pub String);

impl fmt::Display for ContextName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A label name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Label(pub String);

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The user a token authenticates as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub login: String,
    pub site_admin: bool,
}

/// The caller's permissions on a repository, when the forge reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RepoPermissions {
    pub admin: bool,
    pub push: bool,
    pub pull: bool,
}

/// A repository as the forge reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoInfo {
    pub full_name: String,
    pub default_branch: String,
    pub permissions: Option<RepoPermissions>,
}

/// Where the protection facts were read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ProtectionSource {
    /// Gitea/Forgejo `GET /branch_protections/{rule}` (repo admin): every flag known.
    GiteaRule { rule: String },
    /// Gitea/Forgejo `GET /branches/{branch}` (read access): contexts and approvals only.
    GiteaBranch,
    /// GitHub classic protection and/or rulesets.
    GitHub { classic: bool, rulesets: bool },
}

/// Branch protection as far as the token could read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protection {
    pub branch: String,
    /// Whether any protection applies to the branch.
    pub protected: bool,
    /// Whether required status checks are enabled.
    pub status_checks_enabled: bool,
    /// Required contexts: glob patterns on Gitea/Forgejo, exact names on GitHub.
    pub required_contexts: Vec<String>,
    /// Required approvals, when known.
    pub required_approvals: Option<u32>,
    /// Flags known only with full (admin) access; `None` when unreadable.
    pub block_on_rejected_reviews: Option<bool>,
    pub block_on_outdated_branch: Option<bool>,
    pub dismiss_stale_approvals: Option<bool>,
    pub source: ProtectionSource,
    /// What could not be read and why (e.g. "classic protection needs admin").
    pub gaps: Vec<String>,
    /// The base head, when the protection read already returned it (GitHub's
    /// `GET /branches/{b}`), so a tick need not read the branch twice.
    pub head: Option<Sha>,
    /// GitHub-only requirements (app pins, fields mergeward does not evaluate, the merge
    /// queue rule, allowed merge methods); `None` on Gitea/Forgejo.
    pub github: Option<super::github_protection::GitHubRules>,
    /// Whether the token's account may merge PRs into this branch, as the forge says
    /// (Gitea/Forgejo `user_can_merge`: write access and, with a merge whitelist, being on
    /// it); `None` when the forge does not say.
    pub bot_can_merge: Option<bool>,
    /// Whether the token's account may push to this branch (Gitea/Forgejo
    /// `user_can_push`); `None` when the forge does not say.
    pub bot_can_push: Option<bool>,
}

/// Open, closed (or merged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrState {
    Open,
    Closed,
}

/// A pull request with the fields the bot decides on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullRequest {
    pub number: PrNumber,
    pub title: String,
    pub state: PrState,
    pub draft: bool,
    pub merged: bool,
    /// Who merged it, and the resulting commit (when merged).
    pub merged_by: Option<String>,
    pub merge_commit_sha: Option<Sha>,
    pub head_sha: Sha,
    pub head_ref: String,
    /// `owner/name` of the head repository, when known.
    pub head_repo: Option<String>,
    pub base_ref: String,
    /// True when the head lives in another repository than the base.
    pub is_fork: bool,
    /// `Some(true)` only when the forge says the PR merges cleanly; `None` while unknown.
    pub mergeable: Option<bool>,
    /// GitHub's `mergeable_state` (`clean`, `unstable`, `has_hooks`, `blocked`, `behind`,
    /// `dirty`, `unknown`, `draft`) when the forge reported one (GitHub's single-PR read).
    pub mergeable_state: Option<String>,
    pub merge_base: Option<Sha>,
    pub labels: Vec<Label>,
    pub author: Option<String>,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub url: Option<String>,
}

/// A review's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Approved,
    RequestChanges,
    Comment,
    Pending,
    Dismissed,
    ReviewRequested,
    Other(String),
}

impl ReviewState {
    pub fn parse(s: &str) -> ReviewState {
        match s.trim().to_ascii_uppercase().as_str() {
            "APPROVED" => ReviewState::Approved,
            "REQUEST_CHANGES" | "CHANGES_REQUESTED" => ReviewState::RequestChanges,
            "COMMENT" | "COMMENTED" => ReviewState::Comment,
            "PENDING" => ReviewState::Pending,
            "DISMISSED" => ReviewState::Dismissed,
            "REQUEST_REVIEW" => ReviewState::ReviewRequested,
            other => ReviewState::Other(other.to_string()),
        }
    }
}

/// One review of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    pub id: u64,
    pub user: Option<String>,
    pub state: ReviewState,
    pub commit_id: Option<Sha>,
    /// Gitea's `official`; on GitHub, whether the author can count for protection (owner,
    /// member or collaborator by `author_association`).
    pub official: bool,
    pub stale: bool,
    pub dismissed: bool,
    pub submitted_at: Option<String>,
}

/// A commit in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    pub sha: Sha,
    pub parents: Vec<Sha>,
    pub message: Option<String>,
    pub created: Option<String>,
}

/// A repository label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoLabel {
    pub id: u64,
    pub name: Label,
}

/// How to merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MergeMethod {
    #[default]
    Merge,
    Rebase,
    RebaseMerge,
    Squash,
    FastForwardOnly,
}

impl MergeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::Rebase => "rebase",
            MergeMethod::RebaseMerge => "rebase-merge",
            MergeMethod::Squash => "squash",
            MergeMethod::FastForwardOnly => "fast-forward-only",
        }
    }
}

/// How to bring a behind PR up to date with its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UpdateStyle {
    #[default]
    Merge,
    Rebase,
}

impl UpdateStyle {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStyle::Merge => "merge",
            UpdateStyle::Rebase => "rebase",
        }
    }
}

/// A merge request to the forge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequest {
    pub method: MergeMethod,
    pub title: String,
    pub message: String,
    /// Admin override of protection failures. Only set when policy allows it.
    pub force: bool,
}

/// A commit status to post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewStatus {
    pub context: ContextName,
    pub state: ContextState,
    pub description: String,
    pub target_url: Option<String>,
}
