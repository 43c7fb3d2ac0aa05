//! GitHub's own merge rules, applied on top of `policy::decide` (pure, no I/O).
//!
//! `decide` is forge-neutral. On GitHub three more things must hold before a merge, so
//! that "ready" never means less than what GitHub itself enforces:
//!
//! * a required check pinned to a GitHub App (classic `app_id`, ruleset `integration_id`)
//!   is green as reported by **that** app; a check run or status of the same name from
//!   another source never satisfies it ([`pinned_mismatches`]);
//! * GitHub's `mergeable_state` for the PR allows the merge: `clean`, or `unstable` /
//!   `has_hooks` when every non-green context is non-required ([`mergeable_state_refusal`]).
//!   This is checked at evaluation and again on the re-read right before every merge, and is
//!   the only guard for requirements mergeward does not evaluate itself
//!   (`GitHubRules::unmodelled`: code-owner review, signatures, deployments, …);
//! * the branch takes direct merges with the configured method ([`check_config`]).

use crate::error::{Error, Result};
use crate::forge::github_protection::{GitHubRules, MergeableState};
use crate::forge::{MergeMethod, Protection, PullRequest};

use super::policy::{Action, CandidateState, Decision, QueuePolicy, Reason};

/// The branch can take a direct merge with the configured method: a `merge_queue` rule or
/// a method outside `allowed_merge_methods` is a configuration problem (exit 2), not a PR
/// to hold or a merge to retry every tick.
pub fn check_config(p: &Protection, method: MergeMethod) -> Result<()> {
    let Some(rules) = &p.github else {
        return Ok(());
    };
    if let Some(source) = &rules.merge_queue {
        return Err(Error::Usage {
            message: format!(
                "branch {} requires GitHub's merge queue ({source}: merge_queue rule); GitHub refuses direct merges there, so mergeward cannot serialize merges on it",
                p.branch
            ),
            hint: Some(
                "use GitHub's merge queue for this branch, or remove the merge_queue rule from the ruleset to let mergeward merge"
                    .into(),
            ),
        });
    }
    if let Some(allowed) = &rules.allowed_merge_methods
        && !allowed.iter().any(|m| m == method.as_str())
    {
        return Err(Error::Usage {
            message: format!(
                "queue.merge_method = {:?} is not allowed on branch {} (its rulesets allow: {})",
                method.as_str(),
                p.branch,
                if allowed.is_empty() {
                    "no method at all".to_string()
                } else {
                    allowed.join(", ")
                }
            ),
            hint: Some("set queue.merge_method to one of the allowed methods".into()),
        });
    }
    Ok(())
}

/// Required approvals on GitHub: the maximum over every source that was read; when a
/// source could not be read, the configured value is a floor. Returns the count and, when
/// the floor applied, a note that says so.
pub fn required_approvals(p: &Protection, configured: u32) -> (u32, Option<String>) {
    let unread = p
        .github
        .as_ref()
        .map(|g| g.unread.as_slice())
        .unwrap_or(&[]);
    match (p.required_approvals, unread.is_empty()) {
        (Some(n), true) => (n, None),
        (None, true) => (configured, None),
        (read, false) => {
            let n = read.unwrap_or(0).max(configured);
            (
                n,
                Some(format!(
                    "required approvals: {n} = the maximum of the protection that was read ({}) and queue.required_approvals ({configured}), because {} could not be read",
                    read.map_or("nothing".to_string(), |r| r.to_string()),
                    unread.join(", ")
                )),
            )
        }
    }
}

/// Pinned required checks that the pinned app did not report green: (context, text naming
/// the expected and the seen sources).
pub fn pinned_mismatches(
    rules: &GitHubRules,
    policy: &QueuePolicy,
    c: &CandidateState,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for pin in &rules.pins {
        let (state, seen) = c.statuses.pinned_state_of(&pin.context, pin.app_id);
        if policy.is_green(&state) {
            continue;
        }
        let seen = if seen.is_empty() {
            "nothing reported".to_string()
        } else {
            seen.join(", ")
        };
        out.push((
            pin.context.clone(),
            format!(
                "expected app {} ({}), its state {}; seen: {seen}",
                pin.app_id,
                pin.source,
                state.as_str()
            ),
        ));
    }
    out
}

/// Why GitHub's `mergeable_state` forbids a merge mergeward found ready, if it does.
pub fn mergeable_state_refusal(
    rules: &GitHubRules,
    policy: &QueuePolicy,
    c: &CandidateState,
    pr: &PullRequest,
) -> Option<Reason> {
    let refused = |state: &str| Reason::ForgeBlocked {
        mergeable_state: state.to_string(),
        unmodelled: rules.unmodelled.clone(),
    };
    match MergeableState::parse(pr.mergeable_state.as_deref()) {
        MergeableState::Clean => None,
        MergeableState::Unstable(s) => {
            // Acceptable only when every non-green context is one nobody requires.
            let required_red = c.statuses.latest.iter().any(|(name, r)| {
                !policy.is_green(&r.state)
                    && (policy.required.covers(&name.0)
                        || rules.pins.iter().any(|p| p.context == name.0))
            });
            required_red.then(|| refused(&s))
        }
        MergeableState::Unknown => Some(Reason::MergeabilityUnknown),
        MergeableState::Dirty => Some(Reason::Conflicts),
        MergeableState::Draft => Some(Reason::Draft),
        MergeableState::Refused(s) => Some(refused(&s)),
    }
}

/// GitHub's rules on top of a `decide` verdict: a merge becomes a wait when a pinned check
/// is not green from its app or `mergeable_state` forbids it. Other verdicts pass through.
pub fn refine(policy: &QueuePolicy, c: &CandidateState, d: Decision) -> Decision {
    let Some(rules) = &policy.github else {
        return d;
    };
    if !matches!(d.action, Action::Merge { .. }) {
        return d;
    }
    let wait = |reason: Reason| Decision {
        action: Action::Wait,
        reason,
        ..d.clone()
    };
    let wrong = pinned_mismatches(rules, policy, c);
    if !wrong.is_empty() {
        return wait(Reason::RequiredWrongSource { checks: wrong });
    }
    if let Some(reason) = mergeable_state_refusal(rules, policy, c, &c.pr) {
        return wait(reason);
    }
    d
}

/// What GitHub-specific facts a decision rests on, for the ledger's evidence: the sources of
/// required approvals that could not be read (then `queue.required_approvals` was a floor),
/// the app pins, and the requirements left to GitHub's `mergeable_state`.
pub fn add_evidence(policy: &QueuePolicy, extra: &mut serde_json::Map<String, serde_json::Value>) {
    let Some(rules) = &policy.github else {
        return;
    };
    if !rules.unread.is_empty() {
        extra.insert(
            "approvals_floor".into(),
            serde_json::json!(format!(
                "{} could not be read: queue.required_approvals is a floor of the {} required approvals",
                rules.unread.join(", "),
                policy.required_approvals
            )),
        );
    }
    if !rules.pins.is_empty() {
        extra.insert("check_pins".into(), serde_json::json!(rules.pins));
    }
    if !rules.unmodelled.is_empty() {
        extra.insert("left_to_github".into(), serde_json::json!(rules.unmodelled));
    }
}
