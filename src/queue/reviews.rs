//! Which reviews count (rules 3 and 4 of `policy`): genuine approvals and blocking
//! REQUEST_CHANGES, and approvals carried across the queue's own base merges. Pure.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::policy::QueuePolicy;
use crate::forge::{Commit, Review, ReviewState, Sha};

/// Approvers and blocking reviewers on the current head (no approval carried across
/// updates; see [`genuine_reviews_with`]).
pub fn genuine_reviews(
    policy: &QueuePolicy,
    reviews: &[Review],
    head: &Sha,
) -> (BTreeSet<String>, BTreeSet<String>) {
    genuine_reviews_with(policy, reviews, head, None)
}

/// Approvers and blocking reviewers for `head`.
///
/// An approval counts when it is official, not dismissed, not stale, from the roster, the
/// reviewer's latest verdict, and names a commit: `head` itself, or an earlier head from
/// which `head` descends through base merges only ([`only_base_merges_since`], proven from
/// the PR's complete commit list `commits`). An approval naming no commit never counts.
/// A REQUEST_CHANGES blocks when it is the reviewer's latest verdict on `head` or on no
/// named commit; with `block_on_rejected_reviews`, any official undismissed one blocks.
pub fn genuine_reviews_with(
    policy: &QueuePolicy,
    reviews: &[Review],
    head: &Sha,
    commits: Option<&[Commit]>,
) -> (BTreeSet<String>, BTreeSet<String>) {
    // Latest verdict per reviewer (APPROVED or REQUEST_CHANGES), by review id. Logins are
    // case-insensitive.
    let mut latest: BTreeMap<String, &Review> = BTreeMap::new();
    for r in reviews {
        let Some(user) = r.user.as_deref() else {
            continue;
        };
        if !matches!(r.state, ReviewState::Approved | ReviewState::RequestChanges) {
            continue;
        }
        let key = user.to_ascii_lowercase();
        match latest.get(&key) {
            Some(prev) if prev.id > r.id => {}
            _ => {
                latest.insert(key, r);
            }
        }
    }
    let approves_head = |r: &Review| match &r.commit_id {
        Some(c) if c == head => true,
        Some(c) => commits.is_some_and(|list| only_base_merges_since(list, head, c)),
        None => false,
    };
    let blocks_head = |r: &Review| r.commit_id.as_ref().is_none_or(|c| c == head);
    let in_roster = |u: &str| {
        policy.reviewers.is_empty() || policy.reviewers.iter().any(|r| r.eq_ignore_ascii_case(u))
    };
    let mut approvers = BTreeSet::new();
    let mut blockers = BTreeSet::new();
    for r in latest.values() {
        let Some(user) = r.user.as_deref() else {
            continue;
        };
        if !r.official || r.dismissed {
            continue;
        }
        match r.state {
            ReviewState::Approved if !r.stale && approves_head(r) && in_roster(user) => {
                approvers.insert(user.to_string());
            }
            ReviewState::RequestChanges
                if blocks_head(r)
                    && (policy.request_changes_from_anyone_blocks || in_roster(user)) =>
            {
                blockers.insert(user.to_string());
            }
            _ => {}
        }
    }
    if policy.block_on_rejected_reviews {
        // The forge's own rule: a rejection blocks the merge whatever commit it names, until
        // the reviewer's later official verdict replaces it or it is dismissed (Gitea
        // `MergeBlockedByRejectedReview` counts official undismissed rejections, and a
        // reviewer's new official verdict makes the earlier ones unofficial; GitHub counts
        // each reviewer's latest verdict).
        let mut latest_official: BTreeMap<String, &Review> = BTreeMap::new();
        for r in reviews {
            if !r.official
                || r.dismissed
                || !matches!(r.state, ReviewState::Approved | ReviewState::RequestChanges)
            {
                continue;
            }
            let key = r
                .user
                .as_deref()
                .map(str::to_ascii_lowercase)
                .unwrap_or_else(|| format!("(review {})", r.id));
            match latest_official.get(&key) {
                Some(prev) if prev.id > r.id => {}
                _ => {
                    latest_official.insert(key, r);
                }
            }
        }
        for r in latest_official.values() {
            if r.state == ReviewState::RequestChanges {
                blockers.insert(r.user.clone().unwrap_or_else(|| "(unknown user)".into()));
            }
        }
    }
    (approvers, blockers)
}

/// Whether `head` descends from `approved` through base merges only: every commit on the
/// first-parent chain from `head` down to `approved` (exclusive) is a merge commit with
/// exactly two parents whose second parent is on the base branch. `commits` is the PR's
/// commit list read to completion, i.e. every commit reachable from the head and not from
/// the base branch; so a parent *absent* from it is on the base branch, and `approved`
/// must be present (a PR commit). Anything else — a new commit, a merge of another branch,
/// a rebase, an unknown commit — returns false.
pub fn only_base_merges_since(commits: &[Commit], head: &Sha, approved: &Sha) -> bool {
    let by_sha: HashMap<&Sha, &Commit> = commits.iter().map(|c| (&c.sha, c)).collect();
    if !by_sha.contains_key(approved) {
        return false;
    }
    let mut cur = head;
    for _ in 0..=commits.len() {
        if cur == approved {
            return true;
        }
        let Some(c) = by_sha.get(cur) else {
            return false;
        };
        let [first, other] = c.parents.as_slice() else {
            return false;
        };
        if by_sha.contains_key(other) {
            return false;
        }
        cur = first;
    }
    false
}
