//! The queue's settings: typed, built from the configuration by `config::settings`
//! (defaults: `config::queue_defaults(branch)`, from the key table).

use crate::forge::{MergeMethod, UpdateStyle};

/// Queue settings (from configuration).
#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub branch: String,
    pub queue_label: String,
    pub hold_label: String,
    pub auto_discover: bool,
    pub opt_out_labels: Vec<String>,
    pub reviewers: Vec<String>,
    /// Used when protection does not say.
    pub required_approvals_fallback: u32,
    /// A floor over protection's required approvals (`queue.min_approvals`).
    pub min_approvals: u32,
    /// Logins whose commit statuses may turn a required context green (empty: anyone).
    pub trusted_status_creators: Vec<String>,
    pub push_required_contexts: Vec<String>,
    pub update_style: UpdateStyle,
    pub merge_method: MergeMethod,
    pub allow_force_merge: bool,
    pub request_changes_from_anyone_blocks: bool,
    pub green_states: Vec<String>,
    /// Merge with no required status contexts at all (default: refuse, could-not-decide).
    pub allow_no_required_contexts: bool,
    /// Post `mergeward/queue` statuses on candidates.
    pub post_status: bool,
    /// Candidates evaluated concurrently per window.
    pub window: usize,
    /// A pending required context older than this stops counting as "CI in flight"
    /// (`None`: never). Gitea leaves some cancelled runs pending forever.
    pub stale_pending: Option<chrono::Duration>,
    /// Serial (the default) or batch mode (SPEC §8.2).
    pub mode: QueueMode,
    /// Batch mode's settings (read whatever the mode, used only in batch mode).
    pub batch: BatchConfig,
}

/// How the queue lands PRs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueMode {
    /// Update a PR with its base, wait for its CI, merge it (SPEC §8).
    Serial,
    /// Test the merge result of several PRs on a staging branch, land exactly that commit
    /// (SPEC §8.2).
    Batch,
}

/// How a green batch lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchLanding {
    /// Fast-forward the base to the tested staging commit with a git push.
    Push,
    /// Merge each PR through the merge API in batch order, then compare the base's tree
    /// with the tested tree.
    MergeApi,
}

/// Batch mode's settings (`queue.batch_size` … `queue.git_*`).
#[derive(Debug, Clone)]
pub struct BatchConfig {
    pub batch: crate::queue::batch::BatchSettings,
    /// The staging branch (`{branch}` already replaced).
    pub staging_branch: String,
    /// Configured staging contexts (empty: derived from the required contexts).
    pub staging_contexts: Vec<String>,
    pub landing: BatchLanding,
    /// The git URL to use instead of the forge's clone URL.
    pub git_remote: Option<String>,
    pub git: crate::queue::staging::git::GitSettings,
}
