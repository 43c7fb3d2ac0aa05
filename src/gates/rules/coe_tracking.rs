//! `coe-tracking` (seed-systems §5): every job-level `continue-on-error: true` hides
//! failures, so it needs a live tracker: a reference within ±2 lines of the directive
//! (inclusive, comments count) to an issue that exists, is open and is at most
//! `gates.coe_max_age_days` whole days old. Close or renew the tracker, or the mask goes.
//!
//! Only one reference is the tracker (SPEC §9): the first tracker-shaped reference on the
//! directive's line, else on the lines above it (nearest first), else below it — so a
//! comment citing history ("was #3089, see RFC #219") next to a live tracker is prose,
//! and only the tracker is read from the forge.
//!
//! "True" is what the original counted: a YAML 1.1 boolean true (plain `true`, `yes`,
//! `on`…) or the quoted string `"true"` (trimmed, any case; a quoted `"yes"` is a string).
//! References: `#123` (this repository), `owner/repo#123`, and `PREFIX#123` for prefixes
//! mapped in `gates.coe_trackers`. Issues are read through the forge before the rules
//! run; an unreadable issue (401/403, 5xx, transport) fails closed, naming the token
//! scope to add.

use crate::gates::pattern::Pattern;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::forge::ForgeKind;
use crate::gates::{Context, Finding, GateSettings, IssueLookup, Out, Rule, RuleInfo, Severity};
use crate::workflow::{Job, Workflow, comment_of};

pub static INFO: RuleInfo = RuleInfo {
    id: "coe-tracking",
    severity: Severity::Error,
    summary: "a job-level `continue-on-error: true` without a live tracker issue (open, recent) within 2 lines",
    help: "A masked job reports success even when its steps fail. Tying every mask to an open, recent issue forces it to be fixed or renewed instead of becoming permanent.",
};

pub struct CoeTracking;

pub(crate) static REFERENCE: Pattern = Pattern::new(
    r"(?:(?P<slug>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)|(?P<prefix>[A-Za-z][A-Za-z0-9_-]*))?#(?P<num>[0-9]+)\b",
);

/// Words that make the bare `#N` right after them a tracker: `tracker #12`,
/// `tracked in #12`, `tracking: #12`, `issue #12`, `bug #12`.
pub(crate) static KEYWORD_BEFORE: Pattern =
    Pattern::new(r"(?i)\b(?:tracker|tracking|tracked\s+(?:in|by|at)|issue|bug)\s*[:=]?\s*$");

/// A tracker reference as written, and the issue it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerRef {
    pub text: String,
    /// `owner/repo`, or `None` when a bare `#N` has no repository to resolve against.
    pub repo: Option<String>,
    pub number: u64,
    /// The 1-based line the reference is on.
    pub line: u32,
}

/// The window's lines in the order they are searched for the tracker: the directive's own
/// line, then the lines above it nearest first, then the lines below it nearest first.
pub fn window(line: u32) -> Vec<u32> {
    let mut out = vec![line];
    out.extend(
        (1..=WINDOW)
            .filter_map(|d| line.checked_sub(d))
            .filter(|l| *l >= 1),
    );
    out.extend((1..=WINDOW).map(|d| line.saturating_add(d)));
    out
}

/// How far the window reaches above and below the directive.
pub const WINDOW: u32 = 2;

/// The tracker-shaped references on one line, left to right (SPEC §9 "the tracker"):
/// `owner/repo#N` and `PREFIX#N` with a prefix of `gates.coe_trackers` anywhere on the
/// line; a bare `#N` only inside a YAML comment, and only where it opens the comment
/// (`# #12 flaky`, `#12`) or follows a tracker word (`tracker`, `tracking`,
/// `tracked in/by/at`, `issue`, `bug`, optionally with `:`). Anything else — `was #3089`,
/// `see RFC #219`, `foo#9` with an unknown prefix — is prose, not a tracker.
pub fn tracker_refs(
    text: &str,
    ln: u32,
    settings: &GateSettings,
    repo: Option<&str>,
) -> Vec<TrackerRef> {
    let Some(re) = REFERENCE.as_ref() else {
        return Vec::new();
    };
    // Byte offset of the `#` that opens the line's comment, if any.
    let comment_hash = comment_of(text).map(|c| text.len() - c.len() - 1);
    let mut out = Vec::new();
    for c in re.captures_iter(text) {
        let Some(whole) = c.get(0) else { continue };
        let Some(number) = c.name("num").and_then(|m| m.as_str().parse().ok()) else {
            continue;
        };
        let resolved = if let Some(slug) = c.name("slug") {
            Some(slug.as_str().to_string())
        } else if let Some(prefix) = c.name("prefix") {
            match settings.coe_trackers.get(prefix.as_str()) {
                Some(r) => Some(r.clone()),
                // An unknown word before `#` is not a tracker reference.
                None => continue,
            }
        } else {
            let Some(hash) = comment_hash else { continue };
            let at = whole.start();
            let opens = at == hash
                || (at > hash && text.get(hash + 1..at).is_some_and(|s| s.trim().is_empty()));
            let after_word = at > hash
                && text
                    .get(hash + 1..at)
                    .is_some_and(|s| KEYWORD_BEFORE.as_ref().is_some_and(|k| k.is_match(s)));
            if !(opens || after_word) {
                continue;
            }
            repo.map(str::to_string)
        };
        out.push(TrackerRef {
            text: whole.as_str().to_string(),
            repo: resolved,
            number,
            line: ln,
        });
    }
    out
}

/// The tracker of a job's `continue-on-error` directive: the first tracker-shaped
/// reference ([`tracker_refs`]) in the [`window`]'s search order. Only this reference is
/// checked; other references nearby (history, RFCs) are prose.
pub fn tracker(
    wf: &Workflow,
    job: &Job,
    settings: &GateSettings,
    repo: Option<&str>,
) -> Option<TrackerRef> {
    let coe = job.continue_on_error.as_ref()?;
    window(coe.key_pos.line).into_iter().find_map(|ln| {
        let text = wf.line(ln)?;
        tracker_refs(text, ln, settings, repo).into_iter().next()
    })
}

/// Jobs whose `continue-on-error` counts as true.
pub fn masked_jobs(wf: &Workflow) -> impl Iterator<Item = &Job> {
    wf.jobs.iter().filter(|j| {
        j.continue_on_error
            .as_ref()
            .is_some_and(|c| c.is_yaml11_true())
    })
}

/// Every issue the rule will need, for the command to read from the forge.
pub fn wanted(
    files: &[Workflow],
    settings: &GateSettings,
    repo: Option<&str>,
) -> BTreeSet<(String, u64)> {
    let mut out = BTreeSet::new();
    for wf in files.iter().filter(|w| w.error.is_none()) {
        for job in masked_jobs(wf) {
            if let Some(TrackerRef {
                repo: Some(repo),
                number,
                ..
            }) = tracker(wf, job, settings, repo)
            {
                out.insert((repo, number));
            }
        }
    }
    out
}

/// The token scope that reads issues, for the fail-closed message.
pub fn scope_hint(forge: Option<ForgeKind>) -> &'static str {
    match forge {
        Some(ForgeKind::GitHub) => {
            "the token needs read access to issues (fine-grained: Issues read; classic: repo) of that repository"
        }
        _ => "the token needs the read:issue scope (and read access to that repository)",
    }
}

/// Whole days between `created_at` and `now` (floor), or `None` when unparseable.
pub fn age_days(created_at: &str, now: DateTime<Utc>) -> Option<i64> {
    let t = DateTime::parse_from_rfc3339(created_at.trim()).ok()?;
    Some((now - t.with_timezone(&Utc)).num_days())
}

impl Rule for CoeTracking {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let max = cx.settings.coe_max_age_days;
        let renew = "close the tracker and remove the mask, or open a fresh tracker and reference it next to `continue-on-error`";
        for wf in cx.files {
            for job in masked_jobs(wf) {
                let Some(coe) = &job.continue_on_error else {
                    continue;
                };
                let pos = coe.key_pos;
                let Some(r) = tracker(wf, job, cx.settings, cx.env.repo.as_deref()) else {
                    let mut forms = vec!["#123".to_string(), "owner/repo#123".to_string()];
                    forms.extend(cx.settings.coe_trackers.keys().map(|p| format!("{p}#123")));
                    out.findings.push(Finding::new(
                        &INFO,
                        wf,
                        pos,
                        format!(
                            "job `{}` has `continue-on-error: {}` at line {} with no tracker reference ({}) within 2 lines (a bare #N counts only at the start of a comment or after `tracker`/`tracked in`/`issue`)",
                            job.key.value, coe.raw, pos.line, forms.join(", ")
                        ),
                        "open an issue for the failure being masked and reference it in a comment on the same line, e.g. `continue-on-error: true  # #123 flaky upload`",
                    ));
                    continue;
                };
                {
                    let f = |msg: String, fix: &str| Finding::new(&INFO, wf, pos, msg, fix);
                    let Some(repo) = &r.repo else {
                        out.findings.push(
                            f(
                                format!("job `{}`: `{}` names no repository (no forge repository configured), so the tracker cannot be verified", job.key.value, r.text),
                                "configure --repo (or forge.repo), or write the reference as owner/repo#N",
                            )
                            .unverified(),
                        );
                        continue;
                    };
                    let slug = format!("{repo}#{}", r.number);
                    let lookup = cx.env.issues.get(&(repo.clone(), r.number));
                    match lookup {
                        None | Some(IssueLookup::NotChecked { .. }) => {
                            let why = match lookup {
                                Some(IssueLookup::NotChecked { why }) => why.clone(),
                                _ => "no forge is configured".to_string(),
                            };
                            out.findings.push(
                                f(
                                    format!("job `{}` references {slug}, which could not be verified: {why}", job.key.value),
                                    "configure the forge (--url, --repo and a token) so trackers can be read; the gate fails closed until then",
                                )
                                .unverified(),
                            );
                        }
                        Some(IssueLookup::NotFound) => out.findings.push(f(
                            format!("job `{}` references {slug}, but it does not exist (404)", job.key.value),
                            "reference an existing issue",
                        )),
                        Some(IssueLookup::Forbidden { detail }) => out.findings.push(
                            f(
                                format!(
                                    "job `{}` references {slug}, which is unreadable ({detail}); {} — failing closed",
                                    job.key.value,
                                    scope_hint(cx.env.forge)
                                ),
                                "give the token the issue-read scope; the lint does not pass a tracker it cannot see",
                            )
                            .unverified(),
                        ),
                        Some(IssueLookup::Failed { detail }) => out.findings.push(
                            f(
                                format!(
                                    "job `{}` references {slug}, but reading it failed ({detail}) — failing closed (do not skip on an outage)",
                                    job.key.value
                                ),
                                "re-run when the forge is reachable",
                            )
                            .unverified(),
                        ),
                        Some(IssueLookup::Found { state, created_at }) => {
                            if state != "open" {
                                out.findings.push(f(
                                    format!("job `{}` references {slug}, but its state is '{state}' (must be open)", job.key.value),
                                    renew,
                                ));
                                continue;
                            }
                            match created_at.as_deref().and_then(|c| age_days(c, cx.env.now)) {
                                None => out.findings.push(f(
                                    format!("job `{}` references {slug}, whose created_at ({}) is unreadable", job.key.value, created_at.as_deref().unwrap_or("missing")),
                                    renew,
                                )),
                                Some(d) if d > i64::try_from(max).unwrap_or(i64::MAX) => {
                                    out.findings.push(f(
                                        format!("job `{}` references {slug}, which is {d} days old (>{max}d cap); close or renew the tracker", job.key.value),
                                        renew,
                                    ));
                                }
                                Some(_) => {}
                            }
                        }
                    }
                }
            }
        }
    }
}
