//! `context-emitted`: every required context of branch protection (an exact name or a
//! Gitea glob) must be posted by some workflow of the tree on each event the queue needs
//! (`gates.context_events`, default the PR's event `pull_request`). A required context
//! that nobody posts means the queue can never merge anything — or, on a forge that
//! accepts a status from anyone with write access, merges on a status anyone could post.
//!
//! The contexts each job posts come from [`crate::gates::contexts`] (Gitea/Forgejo
//! `workflow / job (event)`, GitHub check names with matrix expansions and local reusable
//! workflows). A context whose name is not statically known (an expression, a remote
//! reusable workflow) that might match is a note, not a finding. Contexts posted by other
//! systems are declared in `gates.external_contexts`. The finding is repository-level: it
//! names the protection rule, and suggests the closest posted context.

use super::required_no_paths::ContextPattern;
use crate::error::did_you_mean;
use crate::gates::contexts::{self, Naming};
use crate::gates::{Context, Finding, Out, Rule, RuleInfo, Severity, tree_label};

pub static INFO: RuleInfo = RuleInfo {
    id: "context-emitted",
    severity: Severity::Error,
    summary: "a required status context (exact or glob) that no workflow in the tree posts on the events the queue needs",
    help: "A required context nobody posts keeps every PR waiting forever, or lets any status with that name satisfy protection. Each required context must be produced by a job of this tree on the PR's event.",
};

pub struct ContextEmitted;

impl Rule for ContextEmitted {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let Some(required) = &cx.env.required_contexts else {
            out.notes.push(
                "context-emitted: skipped, no required contexts known (configure a forge, pass --required-contexts, or set gates.required_contexts)".into(),
            );
            return;
        };
        let naming = Naming::of(cx.env.forge);
        let events = &cx.settings.context_events;
        let posted = contexts::posted(cx.files, naming, events);
        let external: Vec<ContextPattern<'_>> = cx
            .settings
            .external_contexts
            .iter()
            .map(|p| ContextPattern::new(p))
            .collect();
        let dir = tree_label(cx.files);
        let source = &cx.env.required_source;
        for pattern in required {
            // An external system posting it: the pattern itself, or (a glob) a name it matches.
            if external
                .iter()
                .any(|e| e.matches(pattern) || ContextPattern::new(pattern).matches(e.text()))
            {
                continue;
            }
            let compiled = ContextPattern::new(pattern);
            for event in events {
                let on_event: Vec<_> = posted.iter().filter(|p| &p.event == event).collect();
                let verdicts: Vec<_> = on_event.iter().map(|p| (p, p.matches(&compiled))).collect();
                if verdicts.iter().any(|(_, v)| *v == Some(true)) {
                    continue;
                }
                let maybe: Vec<&str> = verdicts
                    .iter()
                    .filter(|(_, v)| v.is_none())
                    .map(|(p, _)| p.context.as_str())
                    .collect();
                if !maybe.is_empty() {
                    out.notes.push(format!(
                        "context-emitted: {source} requires {pattern:?}; on `{event}` it might be posted as {} (a name not statically known), not verified",
                        maybe.iter().take(3).map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", ")
                    ));
                    continue;
                }
                let mut names: Vec<&str> = on_event.iter().map(|p| p.context.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                // Did-you-mean against what this event posts, else against every event.
                let suggestion = did_you_mean(pattern, names.iter().copied())
                    .or_else(|| did_you_mean(pattern, posted.iter().map(|p| p.context.as_str())));
                let hint = match suggestion {
                    Some(s) => format!("; did you mean {s:?}?"),
                    None => String::new(),
                };
                let what = if compiled.is_glob() {
                    "matches no context"
                } else {
                    "is a context"
                };
                let message = if compiled.is_glob() {
                    format!(
                        "{source} requires {pattern:?}, which {what} any workflow in this tree posts on `{event}` ({} posted): the queue can never see it green{hint}",
                        names.len()
                    )
                } else {
                    format!(
                        "{source} requires {pattern:?}, which {what} no workflow in this tree posts on `{event}` ({} posted): every PR waits forever, or anyone able to post that status can satisfy it{hint}",
                        names.len()
                    )
                };
                out.findings.push(Finding::repository(
                    &INFO,
                    &dir,
                    message,
                    format!(
                        "require a context a job of this tree posts instead (GitHub: the job's name; Gitea/Forgejo: `workflow / job (event)`), add a job that posts it on `{event}`, or list it in gates.external_contexts if another system posts it"
                    ),
                ));
            }
        }
    }
}
