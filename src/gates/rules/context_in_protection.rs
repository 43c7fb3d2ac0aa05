//! `context-in-protection` (seed-systems §7): a status context nobody added to branch
//! protection never gates anything, so a job that introduces a new context must say what
//! it is, in a comment within the three lines above its job key:
//!
//! - `# bp-required: yes` — the context must be in branch protection (`*` counts);
//! - `# bp-required: pending #N` — a known gap, tracked by issue N;
//! - `# bp-exempt: <reason>` — informational, never required (the reason is mandatory).
//!
//! The job key's line comes from the workflow model (not a regex over the text), and only
//! YAML comments count. With `--base REF` the contexts new in this change must carry a
//! directive; without a base every `bp-required: yes` is still checked against protection.

use crate::gates::pattern::Pattern;
use std::collections::BTreeSet;

use super::required_no_paths::ContextPattern;
use crate::gates::{Context, Finding, Out, Rule, RuleInfo, Severity, file_label};
use crate::workflow::{Job, Pos, Workflow, comment_of};

pub static INFO: RuleInfo = RuleInfo {
    id: "context-in-protection",
    severity: Severity::Error,
    summary: "a new status context carries no bp-required/bp-exempt declaration, or a `bp-required: yes` context is not in branch protection",
    help: "A context that branch protection does not require never blocks a merge. Declaring each new context makes the gap visible at review time.",
};

pub struct ContextInProtection;

/// A declaration found above a job key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    Yes,
    Pending(u64),
    Exempt(String),
    /// `bp-exempt:` without a reason.
    ExemptNoReason,
}

pub(crate) static PENDING: Pattern = Pattern::new(r"(?i)^\s*bp-required\s*:\s*pending\s+#\s*(\d+)");
pub(crate) static YES: Pattern = Pattern::new(r"(?i)^\s*bp-required\s*:\s*yes\b");
pub(crate) static EXEMPT: Pattern = Pattern::new(r"(?i)^\s*bp-exempt\s*:(.*)$");

fn directive_in(comment: &str) -> Option<Directive> {
    if let Some(c) = PENDING.as_ref().and_then(|r| r.captures(comment)) {
        return c.get(1)?.as_str().parse().ok().map(Directive::Pending);
    }
    if YES.as_ref().is_some_and(|r| r.is_match(comment)) {
        return Some(Directive::Yes);
    }
    if let Some(c) = EXEMPT.as_ref().and_then(|r| r.captures(comment)) {
        let reason = c.get(1).map_or("", |m| m.as_str()).trim();
        return Some(if reason.is_empty() {
            Directive::ExemptNoReason
        } else {
            Directive::Exempt(reason.to_string())
        });
    }
    None
}

/// The declaration for a job: the first matching comment, top-down, in the three lines
/// above its key; with the comment's position.
pub fn directive(wf: &Workflow, job: &Job) -> Option<(Directive, Pos)> {
    let key_line = job.key.pos.line;
    for ln in key_line.saturating_sub(3).max(1)..key_line {
        let Some(text) = wf.line(ln) else { continue };
        let Some(comment) = comment_of(text) else {
            continue;
        };
        if let Some(d) = directive_in(comment) {
            let hash_byte = text.len() - comment.len() - 1;
            let col = text.get(..hash_byte).map_or(1, |s| s.chars().count() + 1);
            let col = u32::try_from(col).unwrap_or(1);
            return Some((d, Pos { line: ln, col }));
        }
    }
    None
}

impl Rule for ContextInProtection {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let github = cx.env.forge == Some(crate::forge::ForgeKind::GitHub);
        let base: Option<BTreeSet<String>> = cx.env.base.as_ref().map(|b| {
            // Files the change does not touch are their own base.
            let unchanged = cx.env.base_changed.as_ref().map(|changed| {
                cx.files
                    .iter()
                    .copied()
                    .filter(|w| !changed.contains(&file_label(w)))
            });
            b.iter()
                .filter(|w| w.error.is_none())
                .chain(unchanged.into_iter().flatten())
                .flat_map(|w| w.emitted_contexts_on(github).into_iter().map(|c| c.0))
                .collect()
        });
        let protection: Option<Vec<ContextPattern<'_>>> = cx
            .env
            .required_contexts
            .as_ref()
            .map(|p| p.iter().map(|pat| ContextPattern::new(pat)).collect());
        let mut unknown_protection = false;
        for wf in cx.files {
            // A job's declaration does not depend on the event: read it once per job.
            let declared: Vec<Option<(Directive, Pos)>> =
                wf.jobs.iter().map(|j| directive(wf, j)).collect();
            // Without a base, a job without a declaration yields nothing for any context.
            if base.is_none() && declared.iter().all(Option::is_none) {
                continue;
            }
            let mut at = 0;
            for (ctx, job) in wf.emitted_contexts_on(github) {
                // Contexts come job by job, in job order; the search is a fallback.
                if !wf.jobs.get(at).is_some_and(|j| std::ptr::eq(j, job)) {
                    at = wf
                        .jobs
                        .iter()
                        .position(|j| std::ptr::eq(j, job))
                        .unwrap_or(at);
                }
                let is_new = base.as_ref().map(|b| !b.contains(&ctx));
                let d = declared.get(at).cloned().flatten();
                match (&d, is_new) {
                    (None, Some(true)) => out.findings.push(Finding::new(
                        &INFO,
                        wf,
                        job.key.pos,
                        format!(
                            "job `{}` introduces the status context `{ctx}` without a declaration",
                            job.key.value
                        ),
                        "add one of `# bp-required: yes` (and add the context to branch protection), `# bp-required: pending #N`, or `# bp-exempt: <reason>` within the 3 lines above the job key",
                    )),
                    (Some((Directive::ExemptNoReason, pos)), _) => out.findings.push(Finding::new(
                        &INFO,
                        wf,
                        *pos,
                        format!("`bp-exempt` for `{ctx}` gives no reason"),
                        "write why the context is informational: `# bp-exempt: <reason>`",
                    )),
                    (Some((Directive::Yes, pos)), new) if new != Some(false) => match &protection {
                        None => unknown_protection = true,
                        Some(p) if p.iter().any(|pat| pat.matches(&ctx)) => {}
                        Some(_) => out.findings.push(Finding::new(
                            &INFO,
                            wf,
                            *pos,
                            format!(
                                "job `{}` declares `bp-required: yes` but branch protection ({}) does not require `{ctx}`",
                                job.key.value, cx.env.required_source
                            ),
                            format!("add `{ctx}` to the branch protection's required status checks, or change the declaration to `bp-required: pending #N`"),
                        )),
                    },
                    _ => {}
                }
            }
        }
        if unknown_protection {
            out.notes.push(
                "context-in-protection: `bp-required: yes` declarations were not checked, no required contexts known (configure a forge, pass --required-contexts, or set gates.required_contexts)".into(),
            );
        }
        if base.is_none() {
            out.notes.push(
                "context-in-protection: no --base given, so new contexts were not determined; only declarations were checked".into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_forms() {
        assert_eq!(directive_in(" bp-required: yes"), Some(Directive::Yes));
        assert_eq!(directive_in(" BP-Required :  YES"), Some(Directive::Yes));
        assert_eq!(
            directive_in(" bp-required: pending #42"),
            Some(Directive::Pending(42))
        );
        assert_eq!(
            directive_in(" bp-exempt: informational"),
            Some(Directive::Exempt("informational".into()))
        );
        assert_eq!(directive_in(" bp-exempt:"), Some(Directive::ExemptNoReason));
        assert_eq!(directive_in(" unrelated"), None);
    }
}
