//! Everything the queue says to people, as pure functions: PR comments, the
//! `mergeward/queue` status line, merge commit messages and the notes of a tick report.
//! Snapshot tests (`tests/queue/plan.rs`) pin the wording.

use super::policy::{Decision, QueuePolicy, Reason};
use crate::forge::Sha;

/// The hidden marker every queue comment ends with: an HTML comment naming the effect's
/// idempotency key, so the forge itself tells whether a comment was posted (a lost ledger
/// never repeats one).
pub fn comment_marker(key: &str) -> String {
    format!("<!-- mergeward:effect {key} -->")
}

/// A comment body with its marker.
pub fn with_marker(body: &str, key: &str) -> String {
    format!("{body}\n\n{}", comment_marker(key))
}

/// The `mergeward/queue` status description of a candidate: its position and the one thing
/// it waits for, e.g. `2 of 5 · waiting for CI / test (pull_request) (pending)`. At most 140
/// characters (GitHub's limit) once posted.
pub fn queue_line(position: usize, total: usize, d: &Decision, branch: &str) -> String {
    format!("{position} of {total} · {}", waits_for(d, branch))
}

/// The one thing a candidate decided as `d` waits for, in a few words.
pub fn waits_for(d: &Decision, branch: &str) -> String {
    let first = |v: &[(String, String)]| {
        v.first()
            .map(|(c, s)| format!("{c} ({s})"))
            .unwrap_or_default()
    };
    match &d.reason {
        Reason::Ready { .. } => "ready (next)".to_string(),
        Reason::Behind => format!("behind {branch}: waiting for an update"),
        Reason::RequiredNotGreen { contexts } => format!("waiting for {}", first(contexts)),
        Reason::InsufficientApprovals { have, need } => {
            format!("waiting for approvals ({}/{need})", have.len())
        }
        Reason::RequestChanges { by } => format!("changes requested by {}", by.join(", ")),
        Reason::BehindWithRedRequired { contexts } => {
            format!("fix {} first (behind {branch})", first(contexts))
        }
        Reason::MergeabilityUnknown => "waiting for the forge's mergeability check".to_string(),
        Reason::Conflicts => format!("conflicts with {branch}"),
        other => other.text(),
    }
}

/// The status posted on a held PR.
pub fn held_status(why: &str) -> String {
    format!("held: {why}")
}

/// The status posted on a PR once merged.
pub const MERGED_STATUS: &str = "merged by mergeward";

/// The first words of a hold comment (also how a hold reason is read back from the PR).
pub fn hold_prefix(hold_label: &str) -> String {
    format!("mergeward: holding this PR with `{hold_label}`: ")
}

/// The comment on a held PR. `label_note` says the label could not be applied.
pub fn hold_comment(hold_label: &str, why: &str, label_note: Option<&str>) -> String {
    let note = label_note
        .map(|e| {
            format!(
                "\n\n(NOTE: could not apply the hold label automatically: {e}. Please add `{hold_label}` manually.)"
            )
        })
        .unwrap_or_default();
    format!(
        "{}{why}.\n\nFix the cause, then remove the `{hold_label}` label to requeue it.{note}",
        hold_prefix(hold_label)
    )
}

/// Why a PR was held, read back from a hold comment; `None` when `body` is not one.
pub fn parse_hold_comment(hold_label: &str, body: &str) -> Option<String> {
    let rest = body.strip_prefix(&hold_prefix(hold_label))?;
    let end = rest.find(".\n\nFix the cause").unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// The comment on a PR whose branch the queue updated.
pub fn update_comment(branch: &str, base: &Sha) -> String {
    format!(
        "mergeward: updated this branch with `{branch}` at `{}`. Waiting for CI on the refreshed head.",
        base.short(12)
    )
}

/// The one comment a skipped PR gets for its reason, if any.
pub fn skip_comment(reason: &Reason, branch: &str) -> Option<String> {
    match reason {
        Reason::WrongBase { .. } => Some(format!(
            "mergeward: skipped; the base branch is not `{branch}`."
        )),
        Reason::Fork => Some(
            "mergeward: skipped; PRs from forks are not supported by the serialized queue."
                .to_string(),
        ),
        _ => None,
    }
}

/// The merge commit's title and message.
pub fn merge_message(d: &Decision, policy: &QueuePolicy, approvers: &[String]) -> (String, String) {
    (
        format!("Merge PR #{} via mergeward", d.pr.0),
        format!(
            "Serialized merge by mergeward: {} was current, approvals ({}) and required contexts ({}) were green on {}.",
            policy.base_branch,
            approvers.join(", "),
            policy.required.names().join(", "),
            d.head
        ),
    )
}

/// The hold reason of a refused merge.
pub fn merge_refused(http: u16, detail: &str) -> String {
    format!("the forge refused the merge (HTTP {http}): {detail}")
}

/// The hold reason of a conflicting branch update.
pub fn update_conflict(branch: &str) -> String {
    format!("updating the branch with `{branch}` conflicts (HTTP 409); rebase it onto `{branch}`")
}

/// The hold reason of a refused branch update.
pub fn update_refused(http: u16, detail: &str) -> String {
    format!("the forge refused to update the branch (HTTP {http}): {detail}")
}

/// The ledger reason of the fair update after a merge.
pub fn updated_after_merge_reason(merged: u64, branch: &str) -> String {
    format!("after merging #{merged}, brought up to date with {branch} so it can merge next")
}

/// The note of the fair update after a merge.
pub fn updated_after_merge_note(merged: u64, pr: u64, branch: &str, base: &Sha) -> String {
    format!(
        "after merging #{merged}, updated #{pr} (the oldest behind PR that could merge) to {branch} at {}",
        base.short(12)
    )
}

/// The note of a PR whose required CI is pending for longer than the stale limit.
pub fn stale_pending_note(pr: u64, hours: i64) -> String {
    format!(
        "#{pr}'s required CI has been pending for more than {hours} h (queue.stale_pending_hours): stuck, not in flight; it does not hold back updates of other PRs"
    )
}

/// The note of a PR that waits for CI on the current base.
pub fn in_flight_note(pr: u64) -> String {
    format!("#{pr} waits for CI on the current base; no other PR is updated meanwhile")
}

/// The annotation of one decision.
pub fn decision_annotation(d: &Decision) -> String {
    format!(
        "PR #{} decision={}: {}",
        d.pr.0,
        d.action.as_str(),
        d.reason.text()
    )
}

/// The `mergeward/queue` status of a PR in a batch under test.
pub fn in_batch_status(batch: &str, staging: &Sha) -> String {
    format!(
        "in batch {batch}: testing the staging commit {}",
        staging.short(12)
    )
}

/// Why a red batch of one holds its PR: the failing contexts and their links.
pub fn batch_red(
    batch: &str,
    staging: &Sha,
    failing: &[(String, String)],
    links: &[String],
) -> String {
    let contexts: Vec<String> = failing.iter().map(|(c, s)| format!("{c}: {s}")).collect();
    let mut why = format!(
        "its merge result (batch {batch}, staging commit {}) failed {}",
        staging.short(12),
        contexts.join(", ")
    );
    if !links.is_empty() {
        why.push_str(&format!(" ({})", links.join("; ")));
    }
    why
}

/// Why a PR was left out of a staging commit.
pub fn left_out(batch: &str, branch: &str, reason: &super::staging::LeftOutReason) -> String {
    use super::staging::LeftOutReason as R;
    match reason {
        R::Conflict { paths, .. } if !paths.is_empty() => format!(
            "it does not merge cleanly with {branch} and the PRs before it in batch {batch}: conflicts in {}",
            paths.join(", ")
        ),
        R::Conflict { detail, .. } => format!(
            "it does not merge cleanly with {branch} and the PRs before it in batch {batch}: {detail}"
        ),
        R::Unrelated => format!("it shares no history with {branch} (batch {batch})"),
        R::AlreadyMerged => {
            format!("its head is already in {branch}: nothing to merge (batch {batch})")
        }
        R::HeadMoved { now: Some(h) } => format!(
            "it was pushed to ({}) while batch {batch} was built; it is read again next tick",
            h.short(12)
        ),
        R::HeadMoved { now: None } => {
            format!("it was closed while batch {batch} was built")
        }
    }
}
