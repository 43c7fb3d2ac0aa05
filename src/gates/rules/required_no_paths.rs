//! `required-no-paths` (seed-systems §6): a workflow whose status context branch
//! protection requires must not carry `paths`/`paths-ignore` filters — when the filter
//! does not match, the workflow never runs, the required context stays pending forever and
//! the PR can never merge.
//!
//! Required contexts come from [`crate::gates::LintEnv::required_contexts`] (branch
//! protection, `--required-contexts`, or `gates.required_contexts`).
//!
//! - A literal context selects the workflow that posts it (or, as in the original, whose
//!   name is the context's workflow part); any `paths`/`paths-ignore` filter of that
//!   workflow is a finding.
//! - A glob — `*` above all — is read the way the queue reads it (SPEC §8): satisfied when
//!   at least one context matches and every match is green. A path-filtered workflow that
//!   does not run then strands nothing, as long as some workflow that always runs on the
//!   PR's event (no path filter on that event) posts a match. The findings are the
//!   path-filtered workflows posting a match of a pattern that *only* path-filtered
//!   workflows match: a PR touching none of their paths has no match at all and waits
//!   forever. (The original resolved nothing for `*`; the previous reading here flagged
//!   every path filter in the repository.)

use std::collections::BTreeSet;

use crate::gates::contexts::{self, Naming};
use crate::gates::{Context, Finding, Out, Rule, RuleInfo, Severity, file_label};
use crate::workflow::{Filter, Workflow, context_event, parse_context};

pub static INFO: RuleInfo = RuleInfo {
    id: "required-no-paths",
    severity: Severity::Error,
    summary: "a workflow that posts a required status context has a paths/paths-ignore filter",
    help: "When the filter does not match a PR, the workflow does not run, the forge reports the required context as pending forever, and the PR can never merge.",
};

pub struct RequiredNoPaths;

/// Whether a protection entry is a glob pattern.
pub fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '[', '{'])
}

/// A required-context pattern, compiled once for many contexts: it matches a context
/// exactly, or as a glob the way Gitea matches one (a glob that does not compile matches
/// only exactly).
pub struct ContextPattern<'a> {
    text: &'a str,
    glob: Option<globset::GlobMatcher>,
}

impl<'a> ContextPattern<'a> {
    pub fn new(pattern: &'a str) -> ContextPattern<'a> {
        let glob = is_glob(pattern)
            .then(|| {
                globset::GlobBuilder::new(pattern)
                    .literal_separator(false)
                    .build()
                    .ok()
            })
            .flatten()
            .map(|g| g.compile_matcher());
        ContextPattern {
            text: pattern,
            glob,
        }
    }

    /// The pattern as written.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Whether the pattern is a glob (as opposed to one exact context).
    pub fn is_glob(&self) -> bool {
        is_glob(self.text)
    }

    pub fn matches(&self, context: &str) -> bool {
        self.text == context || self.glob.as_ref().is_some_and(|g| g.is_match(context))
    }
}

/// Whether a required-context pattern matches a context (exact, or glob as Gitea does).
pub fn pattern_matches(pattern: &str, context: &str) -> bool {
    pattern == context || (is_glob(pattern) && ContextPattern::new(pattern).matches(context))
}

/// The filters that can keep a workflow from running, as `(on.EVENT.KEY, filter)`.
pub fn path_filters(wf: &Workflow) -> Vec<(String, &Filter)> {
    let mut out = Vec::new();
    if let Some(on) = &wf.on {
        for f in &on.top_level_filters {
            out.push((format!("on.{}", f.key), f));
        }
        for t in &on.events {
            for f in &t.filters {
                if f.key == "paths" || f.key == "paths-ignore" {
                    out.push((format!("on.{}.{}", t.event, f.key), f));
                }
            }
        }
    }
    out
}

/// The indexes of the workflows that post a required literal context (on any event the
/// workflow runs on, named the way `naming` names them), plus notes for entries that select
/// nothing. Globs are skipped here (see [`stranding_globs`]).
pub fn required_workflows(
    files: &[&Workflow],
    required: &[String],
) -> (BTreeSet<usize>, Vec<String>) {
    required_workflows_named(files, required, Naming::Gitea)
}

fn all_events(files: &[&Workflow]) -> Vec<String> {
    let mut events: Vec<String> = files
        .iter()
        .flat_map(|w| w.on.iter().flat_map(|t| t.events.iter()))
        .map(|t| context_event(&t.event).unwrap_or(&t.event).to_string())
        .collect();
    events.sort();
    events.dedup();
    events
}

pub fn required_workflows_named(
    files: &[&Workflow],
    required: &[String],
    naming: Naming,
) -> (BTreeSet<usize>, Vec<String>) {
    let mut hit = BTreeSet::new();
    let mut notes = Vec::new();
    let posted = contexts::posted(files, naming, &all_events(files));
    for pattern in required.iter().filter(|p| !is_glob(p)) {
        let by_context: Vec<usize> = posted
            .iter()
            .filter(|p| !p.unresolved && &p.context == pattern)
            .map(|p| p.file)
            .collect();
        if !by_context.is_empty() {
            hit.extend(by_context);
            continue;
        }
        match parse_context(pattern) {
            None => notes.push(format!(
                "required-no-paths: could not parse the required context {pattern:?} (expected `<workflow> / <job> (<event>)`); skipped"
            )),
            Some((wf_name, _, _)) => {
                let by_name: Vec<usize> = files
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| w.name.as_ref().is_some_and(|n| n.value.trim() == wf_name))
                    .map(|(i, _)| i)
                    .collect();
                if by_name.is_empty() {
                    notes.push(format!(
                        "required-no-paths: no workflow here has `name: {wf_name}` (required context {pattern:?}); a required context nobody posts is `context-emitted`'s finding"
                    ));
                }
                hit.extend(by_name);
            }
        }
    }
    (hit, notes)
}

/// A glob, an event, and the path-filtered workflows that alone post its matches there.
pub type Stranding = (String, String, BTreeSet<usize>);

/// For each glob pattern that only path-filtered workflows can match on one of the
/// queue's `events`: the pattern, the event, and the indexes of those workflows. Patterns
/// that nothing matches yield a note instead (`context-emitted` reports them).
pub fn stranding_globs(
    files: &[&Workflow],
    required: &[String],
    naming: Naming,
    events: &[String],
) -> (Vec<Stranding>, Vec<String>) {
    let posted = contexts::posted(files, naming, events);
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for pattern in required.iter().filter(|p| is_glob(p)) {
        let compiled = ContextPattern::new(pattern);
        for event in events {
            let on_event: Vec<_> = posted.iter().filter(|p| &p.event == event).collect();
            let sure: Vec<_> = on_event
                .iter()
                .filter(|p| p.matches(&compiled) == Some(true))
                .collect();
            if sure.iter().any(|p| !p.filtered) {
                continue;
            }
            let filtered: BTreeSet<usize> =
                sure.iter().filter(|p| p.filtered).map(|p| p.file).collect();
            if filtered.is_empty() {
                notes.push(format!(
                    "required-no-paths: the protection pattern {pattern:?} matches no context these workflows post on `{event}`"
                ));
                continue;
            }
            out.push((pattern.clone(), event.clone(), filtered));
        }
    }
    (out, notes)
}

impl Rule for RequiredNoPaths {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let Some(required) = &cx.env.required_contexts else {
            out.notes.push(
                "required-no-paths: skipped, no required contexts known (configure a forge, pass --required-contexts, or set gates.required_contexts)".into(),
            );
            return;
        };
        if required.is_empty() {
            out.notes.push(format!(
                "required-no-paths: {} requires no status contexts; nothing to check",
                cx.env.required_source
            ));
            return;
        }
        let naming = Naming::of(cx.env.forge);
        let (hit, notes) = required_workflows_named(cx.files, required, naming);
        out.notes.extend(notes);
        for i in hit {
            let Some(wf) = cx.files.get(i) else { continue };
            for (path, f) in path_filters(wf) {
                let values: Vec<&str> = f.values.iter().map(|v| v.value.as_str()).collect();
                out.findings.push(Finding::new(
                    &INFO,
                    wf,
                    f.pos,
                    format!(
                        "required workflow '{}' ({}) has a `{path}` filter [{}]: when it does not match, the required context stays pending forever",
                        wf.display_name(),
                        file_label(wf),
                        values.join(", ")
                    ),
                    "remove the filter and decide inside the job instead (a first step that checks the changed paths and exits 0 early)",
                ));
            }
        }
        let (stranding, notes) =
            stranding_globs(cx.files, required, naming, &cx.settings.context_events);
        out.notes.extend(notes);
        for (pattern, event, files) in stranding {
            for i in files {
                let Some(wf) = cx.files.get(i) else { continue };
                for (path, f) in path_filters(wf) {
                    let values: Vec<&str> = f.values.iter().map(|v| v.value.as_str()).collect();
                    out.findings.push(Finding::new(
                        &INFO,
                        wf,
                        f.pos,
                        format!(
                            "required pattern {pattern:?} ({}) is matched on `{event}` only by path-filtered workflows; '{}' ({}) has a `{path}` filter [{}]: a PR that changes none of their paths has no match at all and waits forever",
                            cx.env.required_source,
                            wf.display_name(),
                            file_label(wf),
                            values.join(", ")
                        ),
                        format!("remove the filter, or let a workflow that always runs on `{event}` post a context matching {pattern:?} (e.g. an unfiltered summary job)"),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_patterns_match_like_pattern_matches() {
        let contexts = [
            "ci / build (pull_request)",
            "ci / build (push)",
            "docs/x / y (push)",
            "a\nb / c (push)",
            "",
            "*",
            "[",
        ];
        let patterns = [
            "*",
            "ci / *",
            "ci / build (pull_request)",
            "*(push)",
            "docs/* / ? (push)",
            "[",
            "{a,b",
            "a*",
            "",
            "ci / {build,test} (push)",
        ];
        for p in patterns {
            let compiled = ContextPattern::new(p);
            for c in contexts {
                let want = p == c
                    || (is_glob(p)
                        && globset::GlobBuilder::new(p)
                            .literal_separator(false)
                            .build()
                            .is_ok_and(|g| g.compile_matcher().is_match(c)));
                assert_eq!(compiled.matches(c), want, "{p:?} {c:?}");
                assert_eq!(pattern_matches(p, c), want, "{p:?} {c:?}");
            }
        }
    }
}
