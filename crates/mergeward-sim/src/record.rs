//! Request recording and the mutation log.

use serde::{Deserialize, Serialize};

/// One request as the simulated forge saw it (faulted requests included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// 1-based arrival order.
    pub seq: u64,
    /// HTTP method, upper case.
    pub method: String,
    /// Full concrete path, including `/api/v1` for the Gitea dialect.
    pub path: String,
    /// Matched route template as in [`crate::routes`]; `None` when no route matched (404).
    pub route: Option<String>,
    /// Decoded query pairs in request order.
    pub query: Vec<(String, String)>,
    /// Parsed JSON body, if the body was valid JSON.
    pub body: Option<serde_json::Value>,
    /// Status code actually returned (0 when a `Hang` fault never answered).
    pub status: u16,
    /// Login of the authenticated user. The token itself is never stored.
    pub user: Option<String>,
}

/// A state change the forge performed because of an API request.
///
/// Only successful, state-changing requests record a mutation; a rejected
/// merge or an idempotent no-op records nothing. Changes made through
/// [`crate::Sim::with_state`] or by a `MoveHead` fault are not recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Mutation {
    /// A pull request was merged into its base branch.
    Merged {
        pr: u64,
        head_sha: String,
        merge_sha: String,
        /// Merge style as requested (`merge`, `squash`, `rebase`, `rebase-merge`, ...).
        method: String,
        /// True when an admin override (`force_merge`) was used and it bypassed a failing protection.
        force: bool,
    },
    /// The PR head branch was updated with the base branch.
    Updated {
        pr: u64,
        old_head: String,
        new_head: String,
        /// `merge` or `rebase`.
        style: String,
    },
    /// A commit status row was created.
    StatusPosted {
        sha: String,
        context: String,
        state: String,
        description: String,
        target_url: String,
    },
    /// A label was added to an issue / pull request (only when it was not present).
    LabelAdded { pr: u64, label: String },
    /// A repository label was created.
    LabelCreated { name: String },
    /// A label was removed from an issue / pull request.
    LabelRemoved { pr: u64, label: String },
    /// A comment was created.
    Commented { pr: u64, body: String },
    /// A comment was edited.
    CommentEdited { id: u64, body: String },
    /// Git mode: a `git push` over HTTP updated a branch. `old` / `new` are git's all-zero
    /// SHA ([`crate::ZERO_SHA`]) for a created / deleted branch.
    Pushed {
        /// Login of the pusher.
        user: String,
        /// Full ref name (`refs/heads/<branch>`).
        refname: String,
        old: String,
        new: String,
    },
}
