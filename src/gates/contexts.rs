//! The status contexts (Gitea/Forgejo) and check names (GitHub) the workflows of a tree
//! post, per event the queue needs (SPEC §9 "Posted contexts"). Shared by
//! `required-no-paths` (can a required pattern be left with no match?) and
//! `context-emitted` (is every required context posted by someone?).
//!
//! - Gitea/Forgejo: `"{workflow name or file stem} / {job name} ({event})"`, the event as
//!   the context shows it (`pull_request_target` posts as `pull_request`). A matrix job
//!   posts one context per combination, `"{job name} ({values})"` with the values in the
//!   order of their keys sorted by name (Gitea's job parser); a local reusable-workflow
//!   call posts the caller job's context.
//! - GitHub: the check-run name: `"{job name}"`, a matrix job `"{job name} ({values})"`
//!   with the values in the order the matrix defines its keys, a reusable-workflow call
//!   `"{caller job name} / {called job name}"` for a called workflow in this tree
//!   (`uses: ./.github/workflows/x.yml`, followed up to 4 calls deep).
//! - A job name with `${{ matrix.KEY }}` gets the value substituted and no suffix; any
//!   other expression, a matrix built by an expression, or a workflow called from another
//!   repository, cannot be known statically: the unknown part becomes `*` and the context
//!   is marked `unresolved` (it may or may not match a required context).

use globset::GlobBuilder;

use crate::forge::ForgeKind;
use crate::workflow::{Job, Kind, Node, Workflow, context_event};

/// How a forge names what a job posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// Commit status `"{workflow} / {job} ({event})"`.
    Gitea,
    /// Check run named after the job.
    GitHub,
}

impl Naming {
    pub fn of(forge: Option<ForgeKind>) -> Naming {
        match forge {
            Some(ForgeKind::GitHub) => Naming::GitHub,
            _ => Naming::Gitea,
        }
    }
}

/// One context a job posts on one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub context: String,
    /// `*` in `context` stands for a part that is not statically known.
    pub unresolved: bool,
    /// Index of the workflow in the files given to [`posted`].
    pub file: usize,
    /// Index of the job in that workflow's `jobs`.
    pub job: usize,
    /// The queue event (`pull_request`, `push`, …) it is posted on.
    pub event: String,
    /// Every trigger of the workflow for this event has a `paths`/`paths-ignore` filter
    /// (or the trigger block has one at its top level): the workflow may not run at all.
    pub filtered: bool,
}

impl Posted {
    /// Whether a required pattern matches this context for sure (`Some(true)`), cannot
    /// match it (`Some(false)`), or might (an unresolved context: `None`).
    pub fn matches(
        &self,
        pattern: &super::rules::required_no_paths::ContextPattern<'_>,
    ) -> Option<bool> {
        if pattern.matches(&self.context) {
            return Some(true);
        }
        if !self.unresolved {
            return Some(false);
        }
        // The context's `*` parts could be anything: it might match a literal pattern
        // that fits its shape; against another glob, it is undecidable here.
        if pattern.is_glob() {
            return None;
        }
        let glob = GlobBuilder::new(&self.context)
            .literal_separator(false)
            .build()
            .ok()?
            .compile_matcher();
        if glob.is_match(pattern.text()) {
            None
        } else {
            Some(false)
        }
    }
}

/// The trigger events of a workflow that fire on queue event `event`, and whether all of
/// them are path-filtered. `None` when the workflow does not run on it.
fn runs_on(wf: &Workflow, event: &str) -> Option<bool> {
    let on = wf.on.as_ref()?;
    let triggers: Vec<_> = on
        .events
        .iter()
        .filter(|t| context_event(&t.event).unwrap_or(t.event.as_str()) == event)
        .collect();
    if triggers.is_empty() {
        return None;
    }
    let top = !on.top_level_filters.is_empty();
    Some(
        top || triggers
            .iter()
            .all(|t| t.filter("paths").is_some() || t.filter("paths-ignore").is_some()),
    )
}

/// A scalar's text as a matrix value renders (`true`, `3.12`, `ubuntu-latest`).
fn scalar(n: &Node) -> Option<String> {
    match &n.kind {
        Kind::Scalar(s, _) if !s.contains("${{") => Some(s.clone()),
        _ => None,
    }
}

type Combo = Vec<(String, String)>;

/// The matrix combinations of a job: `Ok(vec![])` without a matrix, `Err(())` when the
/// matrix cannot be expanded statically (an expression, non-scalar values, too many).
fn combos(wf: &Workflow, job: &Job) -> Result<Vec<Combo>, ()> {
    let Some(matrix) = wf
        .job_node(job)
        .and_then(|n| n.get("strategy"))
        .and_then(|s| s.get("matrix"))
    else {
        return Ok(Vec::new());
    };
    if !matrix.is_map() {
        return Err(());
    }
    let mut out: Vec<Combo> = vec![Vec::new()];
    let mut keys = Vec::new();
    for e in matrix.entries() {
        let Some(k) = e.key.str() else { return Err(()) };
        if k == "include" || k == "exclude" {
            continue;
        }
        let values: Vec<String> = match &e.value.kind {
            Kind::Seq(items) => items.iter().map(scalar).collect::<Option<_>>().ok_or(())?,
            _ => return Err(()),
        };
        keys.push(k.to_string());
        let mut next = Vec::with_capacity(out.len() * values.len());
        for c in &out {
            for v in &values {
                let mut c = c.clone();
                c.push((k.to_string(), v.clone()));
                next.push(c);
            }
        }
        out = next;
        if out.len() > 256 {
            return Err(());
        }
    }
    let entry_of = |n: &Node| -> Result<Combo, ()> {
        n.entries()
            .iter()
            .map(|e| {
                Ok((
                    e.key.str().ok_or(())?.to_string(),
                    scalar(&e.value).ok_or(())?,
                ))
            })
            .collect()
    };
    if let Some(ex) = matrix.get("exclude") {
        let Kind::Seq(items) = &ex.kind else {
            return Err(());
        };
        for i in items {
            let pat = entry_of(i)?;
            out.retain(|c| !pat.iter().all(|p| c.contains(p)));
        }
    }
    if keys.is_empty() {
        out.clear();
    }
    if let Some(inc) = matrix.get("include") {
        let Kind::Seq(items) = &inc.kind else {
            return Err(());
        };
        for i in items {
            let add = entry_of(i)?;
            let mut extended = false;
            for c in out.iter_mut() {
                // An include extends every combination whose original values it does not
                // overwrite; otherwise it is a combination of its own.
                let fits = add
                    .iter()
                    .all(|(k, v)| !keys.contains(k) || c.iter().any(|(ck, cv)| ck == k && cv == v));
                if fits {
                    for (k, v) in &add {
                        if !c.iter().any(|(ck, _)| ck == k) {
                            c.push((k.clone(), v.clone()));
                        }
                    }
                    extended = true;
                }
            }
            if !extended {
                out.push(add);
            }
        }
    }
    Ok(out)
}

/// `${{ matrix.KEY }}` substituted from `combo`; any other expression becomes `*`.
/// Returns the text and whether an expression was found, and whether all resolved.
fn interpolate(name: &str, combo: &Combo) -> (String, bool) {
    let mut out = String::new();
    let mut rest = name;
    let mut resolved = true;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else {
            out.push('*');
            return (out, false);
        };
        let expr = after[..end].trim();
        match expr
            .strip_prefix("matrix.")
            .and_then(|k| combo.iter().find(|(ck, _)| ck == k))
        {
            Some((_, v)) => out.push_str(v),
            None => {
                out.push('*');
                resolved = false;
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    (out, resolved)
}

/// The names a job's runs show (before the workflow/event decoration), with `unresolved`.
fn job_names(wf: &Workflow, job: &Job, naming: Naming) -> Vec<(String, bool)> {
    let base = job.display_name();
    let combos = match combos(wf, job) {
        Ok(c) => c,
        Err(()) => {
            let (name, _) = interpolate(base, &Vec::new());
            return vec![(
                if name.contains('*') {
                    name
                } else {
                    format!("{name} (*)")
                },
                true,
            )];
        }
    };
    if base.contains("${{") {
        if combos.is_empty() {
            let (n, ok) = interpolate(base, &Vec::new());
            return vec![(n, !ok)];
        }
        let mut out: Vec<(String, bool)> = combos
            .iter()
            .map(|c| {
                let (n, ok) = interpolate(base, c);
                (n, !ok)
            })
            .collect();
        out.dedup();
        return out;
    }
    if combos.is_empty() {
        return vec![(base.to_string(), false)];
    }
    combos
        .into_iter()
        .map(|mut c| {
            if naming == Naming::Gitea {
                c.sort_by(|a, b| a.0.cmp(&b.0));
            }
            let values: Vec<&str> = c.iter().map(|(_, v)| v.as_str()).collect();
            (format!("{base} ({})", values.join(", ")), false)
        })
        .collect()
}

/// The workflow a local `uses: ./path.yml` names, among `files`.
fn called<'a>(files: &[&'a Workflow], uses: &str) -> Option<&'a Workflow> {
    let path = uses.trim().strip_prefix("./")?;
    let path = path.split('@').next().unwrap_or(path);
    files.iter().copied().find(|w| {
        let label = super::file_label(w);
        label == path || label.ends_with(&format!("/{path}"))
    })
}

/// GitHub check names of a job, following local reusable-workflow calls.
fn github_names(files: &[&Workflow], wf: &Workflow, job: &Job, depth: u8) -> Vec<(String, bool)> {
    let own = job_names(wf, job, Naming::GitHub);
    let Some(uses) = &job.uses else { return own };
    let callee = if depth < 4 {
        called(files, &uses.value)
    } else {
        None
    };
    let inner: Vec<(String, bool)> = match callee {
        Some(c) => c
            .jobs
            .iter()
            .flat_map(|j| github_names(files, c, j, depth + 1))
            .collect(),
        None => vec![("*".to_string(), true)],
    };
    let mut out = Vec::new();
    for (o, ou) in &own {
        for (i, iu) in &inner {
            out.push((format!("{o} / {i}"), *ou || *iu));
        }
    }
    out
}

/// Every context the workflows post on each of `events`.
pub fn posted(files: &[&Workflow], naming: Naming, events: &[String]) -> Vec<Posted> {
    let mut out = Vec::new();
    for (fi, wf) in files.iter().enumerate() {
        for event in events {
            let Some(filtered) = runs_on(wf, event) else {
                continue;
            };
            // A workflow that is only ever called posts under its callers' names.
            for (ji, job) in wf.jobs.iter().enumerate() {
                let names = match naming {
                    Naming::Gitea => job_names(wf, job, naming),
                    Naming::GitHub => github_names(files, wf, job, 0),
                };
                for (name, unresolved) in names {
                    let context = match naming {
                        Naming::Gitea => {
                            crate::workflow::status_context(&wf.display_name(), &name, event)
                        }
                        Naming::GitHub => name,
                    };
                    out.push(Posted {
                        context,
                        unresolved,
                        file: fi,
                        job: ji,
                        event: event.clone(),
                        filtered,
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::Limits;

    fn names(text: &str, naming: Naming) -> Vec<String> {
        let wf = Workflow::parse(".github/workflows/ci.yml", text, Limits::default());
        posted(&[&wf], naming, &["pull_request".to_string()])
            .into_iter()
            .map(|p| p.context)
            .collect()
    }

    #[test]
    fn matrix_expansion_with_include_and_exclude() {
        let text = "name: CI\non: pull_request\njobs:\n  test:\n    strategy:\n      matrix:\n        os: [linux, mac]\n        go: ['1.22', '1.23']\n        exclude:\n          - {os: mac, go: '1.22'}\n        include:\n          - {os: linux, race: true}\n          - {os: windows, go: '1.23'}\n    runs-on: x\n";
        assert_eq!(
            names(text, Naming::GitHub),
            [
                "test (linux, 1.22, true)",
                "test (linux, 1.23, true)",
                "test (mac, 1.23)",
                "test (windows, 1.23)"
            ]
        );
        // Gitea sorts the values by key name (go, os, race).
        assert_eq!(
            names(text, Naming::Gitea),
            [
                "CI / test (1.22, linux, true) (pull_request)",
                "CI / test (1.23, linux, true) (pull_request)",
                "CI / test (1.23, mac) (pull_request)",
                "CI / test (1.23, windows) (pull_request)"
            ]
        );
    }

    #[test]
    fn names_with_expressions() {
        let text = "on: pull_request\njobs:\n  t:\n    name: test on ${{ matrix.os }}\n    strategy: {matrix: {os: [a, b]}}\n  u:\n    name: ${{ inputs.x }} build\n  v:\n    strategy: {matrix: '${{ fromJSON(needs.x.outputs.m) }}'}\n";
        assert_eq!(
            names(text, Naming::GitHub),
            ["test on a", "test on b", "* build", "v (*)"]
        );
    }
}
