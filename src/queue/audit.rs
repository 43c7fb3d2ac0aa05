//! `audit merge`: after a merge, was every required context green on the merged head?
//! The same shape as a tick: `observe` reads the PR, the protection (unless the required
//! contexts are given) and the head's statuses; `judge` and `finding` are pure.
//!
//! Fail-closed: an unreadable PR, protection or status list is an error (exit 5), never
//! "clean".

use std::collections::BTreeSet;

use super::QUEUE_CONTEXT;
use super::policy::{RequiredContexts, states_of};
use crate::error::{Error, Result};
use crate::forge::{CommitStatuses, Forge, ForgeKind, PrNumber, PrState, Protection, PullRequest};

/// What the audit found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    NotMerged,
    NotApplicable(String),
    /// Every required context green on the merged head (context, state).
    Clean(Vec<(String, String)>),
    /// A required context was not green on the merged head: a force merge.
    Incident(Vec<(String, String)>),
}

/// What was read for an audit.
#[derive(Debug, Clone)]
pub struct Observed {
    pub pull: PullRequest,
    pub kind: ForgeKind,
    /// The protection of the PR's base now (`None` when the contexts were given, or the PR
    /// is not merged).
    pub protection: Option<Protection>,
    /// The head's statuses (`None` when the verdict needs none).
    pub statuses: Option<CommitStatuses>,
}

/// The ledger and output form of a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The ledger's reason code.
    pub code: &'static str,
    /// The envelope's outcome word.
    pub outcome: &'static str,
    pub text: String,
    pub checks: Vec<(String, String)>,
    /// Required contexts not green, as `context=state`.
    pub failed: Vec<String>,
}

/// The verdict from the PR alone, when it needs no further reads.
pub fn before_reads(pull: &PullRequest) -> Option<Verdict> {
    if pull.merged {
        return None;
    }
    Some(if pull.state == PrState::Open {
        Verdict::NotApplicable(format!(
            "PR #{} is still open — nothing to audit",
            pull.number.0
        ))
    } else {
        Verdict::NotMerged
    })
}

/// The required contexts: given explicitly, else the base branch's protection now.
/// `Err(Ok(verdict))` ends the audit with a verdict; `Err(Err(e))` with an error.
pub fn required(
    kind: ForgeKind,
    pull: &PullRequest,
    protection: Option<&Protection>,
    given: &[String],
) -> std::result::Result<RequiredContexts, std::result::Result<Verdict, Error>> {
    let names: Vec<String> = match protection {
        Some(p) if given.is_empty() => {
            if !p.status_checks_enabled {
                return Err(Ok(Verdict::NotApplicable(format!(
                    "{} requires no status checks — force-merge not applicable",
                    pull.base_ref
                ))));
            }
            if p.required_contexts.is_empty() {
                return Err(Err(Error::usage_hint(
                    format!(
                        "the protection of {} enables status checks with an empty list",
                        pull.base_ref
                    ),
                    "pass the required contexts with --required-contexts, or list them in branch protection",
                )));
            }
            p.required_contexts.clone()
        }
        _ => given.to_vec(),
    };
    let names: Vec<String> = names.into_iter().filter(|c| c != QUEUE_CONTEXT).collect();
    if names.is_empty() {
        // Nothing to check would make every merge "clean": never conclude that.
        return Err(Err(Error::usage_hint(
            format!("no required contexts to audit #{} against", pull.number.0),
            "pass the required contexts with --required-contexts, or list them in branch protection",
        )));
    }
    match kind {
        ForgeKind::GitHub => Ok(RequiredContexts::Exact(names)),
        _ => RequiredContexts::globs(&names)
            .map_err(|m| Err(Error::usage_hint(m, "fix the pattern"))),
    }
}

/// Clean when every required context is `success` on the merged head, else an incident.
pub fn judge(required: &RequiredContexts, statuses: &CommitStatuses) -> Verdict {
    let green: BTreeSet<String> = ["success".to_string()].into_iter().collect();
    let states: Vec<(String, String)> = states_of(required, &green, statuses)
        .into_iter()
        .map(|(c, s)| (c, s.as_str().to_string()))
        .collect();
    if states.iter().all(|(_, s)| s == "success") {
        Verdict::Clean(states)
    } else {
        Verdict::Incident(states)
    }
}

/// The whole verdict from what was read (pure).
pub fn verdict(o: &Observed, given: &[String]) -> Result<Verdict> {
    if let Some(v) = before_reads(&o.pull) {
        return Ok(v);
    }
    let required = match required(o.kind, &o.pull, o.protection.as_ref(), given) {
        Ok(r) => r,
        Err(Ok(v)) => return Ok(v),
        Err(Err(e)) => return Err(e),
    };
    match &o.statuses {
        Some(st) => Ok(judge(&required, st)),
        None => Err(Error::Internal(
            "audit: the merged head's statuses were not read".into(),
        )),
    }
}

/// Observe: the reads an audit needs, in order, stopping as soon as the verdict is known.
pub async fn observe<F: Forge>(f: &F, pr: PrNumber, given: &[String]) -> Result<Observed> {
    let pull = f.pull(pr).await?;
    let mut o = Observed {
        kind: f.kind(),
        pull,
        protection: None,
        statuses: None,
    };
    if before_reads(&o.pull).is_some() {
        return Ok(o);
    }
    if given.is_empty() {
        o.protection = Some(f.protection(&o.pull.base_ref).await?);
    }
    if required(o.kind, &o.pull, o.protection.as_ref(), given).is_ok() {
        // The merge commit carries no statuses: the PR head is what was (or was not) tested.
        o.statuses = Some(f.statuses(&o.pull.head_sha).await?);
    }
    Ok(o)
}

/// How a verdict is recorded and said.
pub fn finding(v: &Verdict, pull: &PullRequest) -> Finding {
    let pr = pull.number.0;
    let (code, outcome, text, checks) = match v {
        Verdict::NotMerged => (
            "audit_not_merged",
            "not_merged",
            format!("PR #{pr} is not merged — nothing to audit"),
            vec![],
        ),
        Verdict::NotApplicable(why) => (
            "audit_not_applicable",
            "not_applicable",
            why.clone(),
            vec![],
        ),
        Verdict::Clean(c) => (
            "audit_clean",
            "clean",
            format!("PR #{pr} merged with every required context green"),
            c.clone(),
        ),
        Verdict::Incident(c) => (
            "audit_force_merge",
            "force_merge",
            format!(
                "PR #{pr} was merged by {} with {} required context(s) not green on its head",
                pull.merged_by.as_deref().unwrap_or("an unknown user"),
                c.iter().filter(|(_, s)| s != "success").count()
            ),
            c.clone(),
        ),
    };
    let failed = checks
        .iter()
        .filter(|(_, s)| s != "success")
        .map(|(c, s)| format!("{c}={s}"))
        .collect();
    Finding {
        code,
        outcome,
        text,
        checks,
        failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::{PrNumber, PrState, PullRequest, Sha};

    fn merged() -> PullRequest {
        PullRequest {
            number: PrNumber(3),
            title: "t".into(),
            state: PrState::Closed,
            draft: false,
            merged: true,
            merged_by: None,
            merge_commit_sha: None,
            head_sha: Sha::parse(&"a".repeat(40)).unwrap(),
            head_ref: "topic".into(),
            head_repo: None,
            base_ref: "main".into(),
            is_fork: false,
            mergeable: None,
            mergeable_state: None,
            merge_base: None,
            labels: vec![],
            author: None,
            created_at: String::new(),
            updated_at: None,
            url: None,
        }
    }

    #[test]
    fn nothing_to_check_is_never_clean() {
        let pr = merged();
        for given in [vec![], vec![QUEUE_CONTEXT.to_string()]] {
            assert!(
                matches!(required(ForgeKind::Gitea, &pr, None, &given), Err(Err(_))),
                "{given:?}"
            );
        }
    }
}
