//! What a tick observed, read once: the input of the pure planning layer (`plan`).

use std::collections::BTreeMap;

use super::policy::{BaseState, CandidateState, QueuePolicy};
use super::report::Unevaluated;
use crate::forge::PullRequest;

/// Everything `plan` decides from. Built by `observe` (or by hand in tests).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub policy: QueuePolicy,
    pub base: BaseState,
    /// Every open PR listed, oldest first (empty when the base gate paused the queue).
    pub open: Vec<PullRequest>,
    /// The candidates read, oldest first (a prefix of the eligible ones: reading stops
    /// after the window that holds a ready PR, unless every PR is to be shown).
    pub candidates: Vec<CandidateState>,
    /// Eligible PRs not read because a ready PR was found earlier in the queue.
    pub not_read: Vec<u64>,
    /// Candidates whose reads failed: never merged, and the tick's exit says so.
    pub unreadable: Vec<Unevaluated>,
    /// Why each PR carrying the hold label was held, where the ledger or its comment says.
    pub held: BTreeMap<u64, String>,
    /// Things observed that the report should say (e.g. a PR closed while being read).
    pub notes: Vec<String>,
    /// The token was rejected while resolving an earlier run's effects (recovery): act on
    /// nothing, as when a candidate's reads were rejected.
    pub token_rejected: bool,
    /// Whether the token's account may merge into the base, as the forge says (Gitea and
    /// Forgejo: `user_can_merge`, false when a merge whitelist leaves the bot out); `None`
    /// when the forge does not say.
    pub bot_can_merge: Option<bool>,
    /// The wall clock, read once per tick, after the reads (the stale-pending rule uses it).
    pub now: chrono::DateTime<chrono::Utc>,
}

impl Snapshot {
    /// A snapshot of `base` with nothing listed yet.
    pub fn new(policy: QueuePolicy, base: BaseState, now: chrono::DateTime<chrono::Utc>) -> Self {
        Snapshot {
            policy,
            base,
            open: Vec::new(),
            candidates: Vec::new(),
            not_read: Vec::new(),
            unreadable: Vec::new(),
            held: BTreeMap::new(),
            notes: Vec::new(),
            token_rejected: false,
            bot_can_merge: None,
            now,
        }
    }
}
