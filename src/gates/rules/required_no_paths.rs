//! `required-no-paths` (seed-systems §6): a workflow whose status context branch
//! protection requires must not carry `paths`/`paths-ignore` filters — when the filter
//! does not match, the workflow never runs, the required context stays pending forever and
//! the PR can never merge.
//!
//! Required contexts come from [`crate::gates::LintEnv::required_contexts`] (branch
//! protection, `--required-contexts`, or `gates.required_contexts`). A literal context
//! selects the workflow that posts it (or, as in the original, whose name is the context's
//! workflow part); a glob — `*` above all — selects every workflow that posts a matching
//! context. `*` therefore means "every posted context is required", not "nothing" (the
//! original's defect).

use std::collections::BTreeSet;

use crate::gates::{Context, Finding, Out, Rule, RuleInfo, Severity, file_label};
use crate::workflow::{Filter, Workflow, parse_context};

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

/// The indexes of the workflows that post a required context, plus notes for entries
/// that select nothing.
pub fn required_workflows(
    files: &[&Workflow],
    required: &[String],
) -> (BTreeSet<usize>, Vec<String>) {
    let mut hit = BTreeSet::new();
    let mut notes = Vec::new();
    let emitted: Vec<Vec<String>> = files
        .iter()
        .map(|w| w.emitted_contexts().into_iter().map(|c| c.0).collect())
        .collect();
    for pattern in required {
        let compiled = ContextPattern::new(pattern);
        let mut matched = false;
        for (i, ctxs) in emitted.iter().enumerate() {
            if ctxs.iter().any(|c| compiled.matches(c)) {
                hit.insert(i);
                matched = true;
            }
        }
        if matched || is_glob(pattern) {
            if !matched {
                notes.push(format!(
                    "required-no-paths: the protection pattern {pattern:?} matches no context these workflows post"
                ));
            }
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
                        "required-no-paths: no workflow here has `name: {wf_name}` (required context {pattern:?}); an orphaned required context is a separate problem"
                    ));
                }
                hit.extend(by_name);
            }
        }
    }
    (hit, notes)
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
        let (hit, notes) = required_workflows(cx.files, required);
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
