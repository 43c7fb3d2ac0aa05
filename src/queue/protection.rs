//! The queue's policy from branch protection and settings (pure): what the tick may trust.

use std::collections::BTreeSet;

use super::QUEUE_CONTEXT;
use super::policy::{QueuePolicy, RequiredContexts};
use super::settings::QueueSettings;
use crate::error::{Error, Result};
use crate::forge::{Commit, ForgeError, ForgeKind, Protection, PullRequest, Sha};

/// Builds the policy from protection and settings; refuses what cannot be trusted.
pub fn build_policy(kind: ForgeKind, p: &Protection, s: &QueueSettings) -> Result<QueuePolicy> {
    let unusable = |msg: String, hint: &str| Error::ForgeCtx {
        context: format!("queue held: branch protection of {}", s.branch),
        err: Box::new(ForgeError::Decode {
            method: "GET".into(),
            path: format!("protection of {}", s.branch),
            detail: msg,
        }),
        hint: Some(hint.to_string()),
    };
    let mut contexts: Vec<String> = p.required_contexts.clone();
    let before = contexts.len();
    contexts.retain(|c| c != QUEUE_CONTEXT);
    if contexts.len() != before {
        tracing::warn!(
            "branch protection requires {QUEUE_CONTEXT}, the queue's own context; ignoring it (it cannot gate itself)"
        );
    }
    if p.status_checks_enabled && contexts.is_empty() {
        return Err(unusable(
            "status checks are enabled with an empty list of required contexts".into(),
            "list the required contexts in branch protection; mergeward will not guess which statuses gate a merge",
        ));
    }
    if contexts.is_empty() && !s.allow_no_required_contexts {
        return Err(unusable(
            "no required status contexts: nothing would prove a PR green".into(),
            "require status checks in branch protection, or set queue.allow_no_required_contexts = true to merge on approvals alone",
        ));
    }
    let required = match kind {
        ForgeKind::GitHub => RequiredContexts::Exact(contexts),
        _ => RequiredContexts::globs(&contexts).map_err(|m| {
            unusable(
                m,
                "fix the pattern in branch protection (Gitea uses glob patterns)",
            )
        })?,
    };
    let mut opt_out: BTreeSet<String> = s.opt_out_labels.iter().cloned().collect();
    opt_out.insert(s.hold_label.clone());
    let (required_approvals, zero_approvals_note) = required_approvals(p, s);
    Ok(QueuePolicy {
        base_branch: s.branch.clone(),
        required,
        required_approvals,
        zero_approvals_note,
        block_on_rejected_reviews: p.block_on_rejected_reviews == Some(true),
        trusted_status_creators: s.trusted_status_creators.iter().cloned().collect(),
        reviewers: s.reviewers.iter().cloned().collect(),
        push_required_contexts: s.push_required_contexts.clone(),
        green_states: s.green_states.iter().cloned().collect(),
        request_changes_from_anyone_blocks: s.request_changes_from_anyone_blocks,
        allow_force_merge: s.allow_force_merge,
        opt_out_labels: opt_out,
        queue_label: s.queue_label.clone(),
        auto_discover: s.auto_discover,
        github: p.github.clone(),
    })
}

/// The approvals a merge needs: protection's count (the configured fallback when protection
/// does not say), raised to `queue.min_approvals`. When that is 0, a note saying so.
pub fn required_approvals(p: &Protection, s: &QueueSettings) -> (u32, Option<String>) {
    let (from_protection, source) = match p.required_approvals {
        Some(n) => (n, "branch protection requires"),
        None => (
            s.required_approvals_fallback,
            "branch protection does not say and queue.required_approvals is",
        ),
    };
    // GitHub: when a protection source could not be read, queue.required_approvals is a
    // floor (a ruleset's count never stands in for the unknown classic one).
    let from_protection = from_protection
        .max(super::github_rules::required_approvals(p, s.required_approvals_fallback).0);
    let n = from_protection.max(s.min_approvals);
    let note = (n == 0).then(|| {
        format!(
            "no approval required: {source} 0 and queue.min_approvals is 0; set queue.min_approvals to require reviews"
        )
    });
    (n, note)
}

/// Whether the PR head contains `base`: the stored merge base is it, or a PR commit is it
/// or has it as a parent (the boundary commit of a history that contains it).
pub fn contains_base(pr: &PullRequest, commits: &[Commit], base: &Sha) -> bool {
    pr.merge_base.as_ref() == Some(base)
        || commits
            .iter()
            .any(|c| &c.sha == base || c.parents.iter().any(|p| p == base))
}
