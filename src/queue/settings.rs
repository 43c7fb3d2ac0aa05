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
}
