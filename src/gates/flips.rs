//! `gate flips`: a job-level `continue-on-error` flipped from true to false needs run-log
//! proof (seed-systems §4).
//!
//! A masked job reports `success` even when its steps fail, so its green history proves
//! nothing. For every flip, the job's recent runs on the base branch are read — each
//! commit's statuses from every page, its log fetched and grepped for failure markers — and
//! the flip passes only when at least one completed run exists and every examined run is
//! genuinely green. Three outcomes block: **fail** (the status itself is red), **masked**
//! (a green status whose log shows failure markers, or whose log cannot be read), and
//! **unverified** (no evidence at all: no commits, no completed runs, an unreadable forge).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::forge::commits::ForgeHistory;
use crate::forge::logs::{ForgeLogs, JobLog};
use crate::forge::{Capabilities, ContextState, ForgeKind, ReportKind, Sha, StatusReport};
use crate::workflow::{Limits, Pos, Workflow, context_event};

use super::{Finding, LintReport, RuleInfo, Severity, file_label};

/// The rule id flips are reported under.
pub static COE_FLIP: RuleInfo = RuleInfo {
    id: "coe-flip",
    severity: Severity::Error,
    summary: "a job's continue-on-error flipped true → false without run-log proof that its recent runs are genuinely green",
    help: "A continue-on-error job reports success even when its steps fail; flipping it on the strength of that masked green surfaced hidden regressions (PR#656 / mc#664). mergeward reads the job's recent runs on the base branch, fetches each log and greps it for --- FAIL, FAIL<tab>, FAIL<space> and ::error:: before the flip may land.",
};

/// Samples kept per run.
pub const MAX_SAMPLES: usize = 5;
/// Characters kept per sample.
pub const SAMPLE_CHARS: usize = 240;

/// One job whose `continue-on-error` goes from true (base) to false/absent (head).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flip {
    pub workflow_path: String,
    /// The head's `name:` trimmed, else the file stem.
    pub workflow_name: String,
    pub job_key: String,
    /// The head's `jobs.<key>.name` trimmed, else the key.
    pub job_name: String,
    /// Where the head's `continue-on-error` (or, when removed, the job key) is.
    #[serde(skip)]
    pub pos: Pos,
    /// The head workflow runs on `pull_request`/`pull_request_target`, so the job can post
    /// a PR-blocking status.
    pub pr_blocking: bool,
    /// A `push` or `pull_request` trigger of the head workflow has `paths`/`paths-ignore`.
    pub path_filtered: bool,
    /// Other jobs in the head's workflows with the same name (GitHub check runs carry only
    /// the job's name, so their runs cannot be told apart).
    #[serde(skip)]
    pub same_named_jobs: usize,
}

impl Flip {
    /// The context the job's base-branch runs carry: on Gitea/Forgejo
    /// `"{workflow} / {job} (push)"`; on GitHub the check run's name, the job's name.
    pub fn context(&self, kind: ForgeKind) -> String {
        match kind {
            ForgeKind::GitHub => self.job_name.clone(),
            _ => crate::workflow::status_context(&self.workflow_name, &self.job_name, "push"),
        }
    }

    /// The context of the job's pull-request runs (on GitHub the same check-run name).
    pub fn pr_context(&self, kind: ForgeKind) -> String {
        match kind {
            ForgeKind::GitHub => self.job_name.clone(),
            _ => {
                crate::workflow::status_context(&self.workflow_name, &self.job_name, "pull_request")
            }
        }
    }
}

/// The workflow files at one commit: `(path, text)`.
pub type Tree = Vec<(String, String)>;

/// Flips between two trees. Only files present on both sides whose text differs are
/// compared (an identical stale copy never flips); a file that does not parse on either side
/// is skipped with a warning; jobs added or removed are not flips.
pub fn detect(base: &Tree, head: &Tree) -> (Vec<Flip>, Vec<String>) {
    let base_map: BTreeMap<&str, &str> =
        base.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let mut flips = Vec::new();
    let mut warnings = Vec::new();
    // Every head file is parsed once: for the flips, and for the job names across all of
    // them (the GitHub attribution check).
    let mut head_parsed: Vec<(&str, &str, Workflow)> = head
        .iter()
        .map(|(p, t)| {
            (
                p.as_str(),
                t.as_str(),
                Workflow::parse(p, t, Limits::default()),
            )
        })
        .collect();
    head_parsed.sort_by(|a, b| a.0.cmp(b.0));
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, w) in &head_parsed {
        for j in &w.jobs {
            *names.entry(j.display_name()).or_default() += 1;
        }
    }
    for (path, head_text, h) in &head_parsed {
        let Some(base_text) = base_map.get(path) else {
            continue;
        };
        if base_text == head_text {
            continue;
        }
        let b = Workflow::parse(path, base_text, Limits::default());
        let mut broken = false;
        for (side, wf) in [("base", &b), ("head", h)] {
            if let Some(e) = &wf.error {
                warnings.push(format!(
                    "{path}: not a readable workflow on the {side} side ({}:{}: {}); its flips cannot be detected",
                    e.pos.line, e.pos.col, e.message
                ));
                broken = true;
            }
        }
        if broken {
            continue;
        }
        let events: Vec<_> = h.on.iter().flat_map(|t| t.events.iter()).collect();
        let pr_blocking = events
            .iter()
            .any(|t| context_event(&t.event) == Some("pull_request"));
        let path_filtered = events.iter().any(|t| {
            context_event(&t.event).is_some()
                && (t.filter("paths").is_some() || t.filter("paths-ignore").is_some())
        });
        for hj in &h.jobs {
            let Some(bj) = b.job(&hj.key.value) else {
                continue;
            };
            let was = bj
                .continue_on_error
                .as_ref()
                .is_some_and(|c| c.flip_truth());
            let is = hj
                .continue_on_error
                .as_ref()
                .is_some_and(|c| c.flip_truth());
            if was && !is {
                flips.push(Flip {
                    workflow_path: file_label(h),
                    workflow_name: h.display_name(),
                    job_key: hj.key.value.clone(),
                    job_name: hj.display_name().to_string(),
                    pos: hj
                        .continue_on_error
                        .as_ref()
                        .map(|c| c.key_pos)
                        .unwrap_or(hj.key.pos),
                    pr_blocking,
                    path_filtered,
                    same_named_jobs: names
                        .get(hj.display_name())
                        .copied()
                        .unwrap_or(1)
                        .saturating_sub(1),
                });
            }
        }
    }
    (flips, warnings)
}

/// Drops a leading RFC 3339 timestamp (`2024-05-01T12:00:00.1234567Z `), as Gitea and
/// GitHub prefix every downloaded log line with one.
fn strip_timestamp(line: &str) -> &str {
    let t = line.trim_start();
    let Some((first, rest)) = t.split_once([' ', '\t']) else {
        return t;
    };
    let b = first.as_bytes();
    let looks = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[..4].iter().all(u8::is_ascii_digit)
        && (first.ends_with('Z') || first.contains('+'));
    if looks { rest } else { t }
}

/// Failure markers in a job log (§4.6): `--- FAIL`, `FAIL`+tab, `FAIL`+space, `::error::`
/// (and GitHub's rendered `##[error]`), first pattern per line; the script source Gitea
/// prints between `::group::Run …` and `::endgroup::` is skipped, as are `echo` lines that
/// merely print an `::error::`. At most [`MAX_SAMPLES`] samples of [`SAMPLE_CHARS`]
/// characters.
pub fn fail_markers(log: &str) -> Vec<String> {
    const PATTERNS: [&str; 5] = ["--- FAIL", "FAIL\t", "FAIL ", "::error::", "##[error]"];
    let mut out = Vec::new();
    let mut in_group = false;
    let mut skipped = 0usize;
    let is_run_group = |t: &str| {
        ["::group::Run", "##[group]Run"]
            .iter()
            .any(|p| t == *p || t.strip_prefix(p).is_some_and(|r| r.starts_with(' ')))
    };
    for raw in log.lines() {
        let line = strip_timestamp(raw);
        let trimmed = line.trim();
        if is_run_group(trimmed) {
            in_group = true;
            skipped = 0;
            continue;
        }
        if in_group {
            if trimmed == "::endgroup::" || trimmed == "##[endgroup]" {
                in_group = false;
            } else {
                skipped += 1;
            }
            continue;
        }
        for pat in PATTERNS {
            let Some(at) = line.find(pat) else {
                continue;
            };
            if pat == "::error::" || pat == "##[error]" {
                let before = line[..at].trim_end();
                if before.ends_with("echo")
                    || before.ends_with("echo '")
                    || before.ends_with("echo \"")
                {
                    break;
                }
            }
            out.push(trimmed.chars().take(SAMPLE_CHARS).collect());
            break;
        }
        if out.len() >= MAX_SAMPLES {
            return out;
        }
    }
    // A log that ends inside a step's script block (truncated, or a group never closed) has
    // lines that were not checked: fail closed.
    if in_group && skipped > 0 {
        out.push(format!(
            "[the log ends inside a ::group::Run block; {skipped} line(s) after it were not checked]"
        ));
    }
    out
}

/// Why a run blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunVerdict {
    /// The status itself is red.
    Fail,
    /// Green, but the log shows failure markers or cannot be read.
    Masked,
    /// No evidence (no commits, no completed runs, an unreadable status list).
    Unverified,
}

/// One examined run that blocks the flip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunEntry {
    pub verdict: RunVerdict,
    /// Empty when the entry is about the branch, not a commit.
    pub sha: String,
    pub state: String,
    pub target_url: String,
    pub samples: Vec<String>,
    /// The forge could not be read: the verdict is "could not decide", still blocking.
    pub read_error: bool,
}

/// The verification of one flip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlipResult {
    #[serde(flatten)]
    pub flip: Flip,
    pub context: String,
    /// Commits with a completed run of the context that was examined.
    pub checked_commits: usize,
    /// Examined runs that were genuinely green.
    pub clean_runs: usize,
    pub runs: Vec<RunEntry>,
    pub warnings: Vec<String>,
    /// Passed with zero runs under `--allow-unproven-non-pr-blocking` (§4.10).
    pub allowed_without_runs: bool,
    /// The evidence came from a pull_request run on the PR head (§4.10: a path-filtered
    /// workflow with no recent push run).
    pub proved_on_head: bool,
}

impl FlipResult {
    pub fn blocked(&self) -> bool {
        !self.runs.is_empty()
    }

    /// Blocked only because the forge could not be read.
    pub fn undecided(&self) -> bool {
        self.blocked() && self.runs.iter().all(|r| r.read_error)
    }
}

/// Knobs of the verification.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub branch: String,
    pub recent: usize,
    /// §4.10: a workflow without a `pull_request`/`pull_request_target` trigger cannot post
    /// a PR-blocking status, so zero runs may pass (a documented opt-in).
    pub allow_unproven_non_pr_blocking: bool,
    /// The PR head, whose pull_request run may prove a path-filtered workflow (§4.10).
    pub head: Option<Sha>,
    /// Descriptions of the status reaper's compensating statuses: such a status is not a
    /// test result and never counts as evidence.
    pub compensation_descriptions: Vec<String>,
}

/// The prefix of the status reaper's default compensation descriptions.
pub const COMPENSATION_PREFIX: &str = "Compensated by status-reaper";

fn is_compensation(r: &StatusReport, opts: &VerifyOptions) -> bool {
    let d = r.description.as_deref().unwrap_or("").trim();
    !d.is_empty()
        && (d.starts_with(COMPENSATION_PREFIX)
            || opts
                .compensation_descriptions
                .iter()
                .any(|c| !c.trim().is_empty() && d == c.trim()))
}

/// The runs of `context` on one commit: the latest commit status (highest id) and every
/// check run of that name (two workflows may have a job of the same name: all are examined).
fn runs_of(rows: Vec<StatusReport>, context: &str) -> Vec<StatusReport> {
    let mut status: Option<StatusReport> = None;
    let mut checks = Vec::new();
    for r in rows.into_iter().filter(|r| r.context.0 == context) {
        match r.kind {
            ReportKind::CheckRun => checks.push(r),
            ReportKind::CommitStatus => {
                if status.as_ref().is_none_or(|s| {
                    (r.id, r.updated_at.as_deref()) > (s.id, s.updated_at.as_deref())
                }) {
                    status = Some(r);
                }
            }
        }
    }
    checks.sort_by_key(|r| r.id);
    status.into_iter().chain(checks).collect()
}

fn entry(
    verdict: RunVerdict,
    sha: &str,
    r: Option<&StatusReport>,
    samples: Vec<String>,
) -> RunEntry {
    RunEntry {
        verdict,
        sha: sha.to_string(),
        state: r
            .map(|r| r.state.as_str().to_string())
            .unwrap_or_else(|| "unverified".into()),
        target_url: r.and_then(|r| r.target_url.clone()).unwrap_or_default(),
        samples,
        read_error: false,
    }
}

/// Examines the runs of `context` on one commit, appending blocking entries and warnings to
/// `res`. Returns whether a completed run was examined.
async fn examine_commit<F: ForgeHistory + ForgeLogs>(
    forge: &F,
    caps: &Capabilities,
    commit: &Sha,
    context: &str,
    opts: &VerifyOptions,
    res: &mut FlipResult,
) -> bool {
    let sha = commit.as_str();
    let short = commit.short(10);
    let rows = match forge.status_history(commit).await {
        Ok(r) => r,
        Err(e) => {
            let mut en = entry(
                RunVerdict::Unverified,
                sha,
                None,
                vec![format!("status API error: {e}")],
            );
            en.read_error = true;
            res.runs.push(en);
            return false;
        }
    };
    let mut counted = false;
    for r in runs_of(rows, context) {
        let skipped_success = r.state == ContextState::Success
            && r.kind == ReportKind::CommitStatus
            && r.description.as_deref().map(str::trim) == Some("Has been skipped");
        match &r.state {
            ContextState::Success | ContextState::Failure | ContextState::Error
                if !skipped_success => {}
            ContextState::Warning | ContextState::Neutral | ContextState::Unknown(_) => {
                // Not a state mergeward can read as a test result: no evidence either way,
                // and it must not be skipped over in favour of another commit's clean run.
                counted = true;
                res.runs.push(entry(
                    RunVerdict::Unverified,
                    sha,
                    Some(&r),
                    vec![format!(
                        "[{context} is {}: not a state mergeward reads as a test result]",
                        r.state
                    )],
                ));
                continue;
            }
            s => {
                let s = if skipped_success {
                    "skipped"
                } else {
                    s.as_str()
                };
                res.warnings.push(format!(
                    "{short}: {context} is {s}; not a completed run, not counted"
                ));
                continue;
            }
        }
        if is_compensation(&r, opts) {
            res.warnings.push(format!(
                "{short}: {context} is a status-reaper compensation, not a test result; not counted"
            ));
            continue;
        }
        counted = true;
        let red = r.state != ContextState::Success;
        match forge.job_log(&r, caps).await {
            JobLog::Unavailable { why, read_error } => {
                res.warnings
                    .push(format!("log unavailable for {short} {context}: {why}"));
                let (verdict, sample) = if red {
                    (
                        RunVerdict::Fail,
                        format!("[log unavailable; status itself is {}]", r.state),
                    )
                } else {
                    (
                        RunVerdict::Masked,
                        "[log unavailable; cannot verify status is genuine — treat as masked]"
                            .to_string(),
                    )
                };
                let mut en = entry(verdict, sha, Some(&r), vec![sample]);
                // A red status is decided whatever the log; a green one whose log could
                // not be read is undecided only when the forge failed.
                en.read_error = !red && read_error;
                res.runs.push(en);
            }
            JobLog::Text(log) => {
                let samples = fail_markers(&log);
                if red {
                    let samples = if samples.is_empty() {
                        vec![format!("[no FAIL markers found but status is {}]", r.state)]
                    } else {
                        samples
                    };
                    res.runs
                        .push(entry(RunVerdict::Fail, sha, Some(&r), samples));
                } else if !samples.is_empty() {
                    res.runs
                        .push(entry(RunVerdict::Masked, sha, Some(&r), samples));
                } else {
                    res.clean_runs += 1;
                }
            }
        }
    }
    counted
}

/// Verifies one flip against the forge (§4.4, fail-closed).
pub async fn verify<F: ForgeHistory + ForgeLogs>(
    forge: &F,
    caps: &Capabilities,
    flip: &Flip,
    opts: &VerifyOptions,
) -> FlipResult {
    let context = flip.context(caps.kind);
    let mut res = FlipResult {
        flip: flip.clone(),
        context: context.clone(),
        checked_commits: 0,
        clean_runs: 0,
        runs: Vec::new(),
        warnings: Vec::new(),
        allowed_without_runs: false,
        proved_on_head: false,
    };
    let branch = &opts.branch;
    if caps.kind == ForgeKind::GitHub && flip.same_named_jobs > 0 {
        res.runs.push(entry(
            RunVerdict::Unverified,
            "",
            None,
            vec![format!(
                "{} other job(s) in this change's workflows are also named '{}'; GitHub check runs carry only the job's name, so their runs cannot be attributed to {} — give the job a distinct name",
                flip.same_named_jobs, flip.job_name, flip.workflow_path
            )],
        ));
        return res;
    }
    let commits = match forge.recent_commits(branch, opts.recent).await {
        Ok(c) => c,
        Err(e) => {
            let mut en = entry(
                RunVerdict::Unverified,
                "",
                None,
                vec![format!("cannot list the recent commits of {branch}: {e}")],
            );
            en.read_error = true;
            res.runs.push(en);
            return res;
        }
    };
    if commits.is_empty() {
        res.runs.push(entry(
            RunVerdict::Unverified,
            "",
            None,
            vec![format!(
                "no recent commits on {branch} — cannot verify flip"
            )],
        ));
        return res;
    }
    for c in &commits {
        if examine_commit(forge, caps, &c.sha, &context, opts, &mut res).await {
            res.checked_commits += 1;
        }
    }
    // §4.10: a path-filtered workflow may not have run on the recent base commits; a
    // completed pull_request run on the PR head (where the job is no longer masked) may
    // prove it instead — examined by the same rules.
    if res.checked_commits == 0
        && res.runs.is_empty()
        && flip.path_filtered
        && flip.pr_blocking
        && let Some(head) = &opts.head
    {
        let pr_context = flip.pr_context(caps.kind);
        if examine_commit(forge, caps, head, &pr_context, opts, &mut res).await {
            res.proved_on_head = true;
            res.warnings.push(format!(
                "no completed push runs in the last {} commits on {branch} (the workflow is path-filtered); examined '{pr_context}' on the PR head {} instead",
                opts.recent,
                head.short(10)
            ));
        }
    }
    // Evidence from the PR head needs no further entry: its verdicts (if any) are in `runs`.
    if res.proved_on_head {
        return res;
    }
    if res.checked_commits == 0 && res.runs.is_empty() {
        if opts.allow_unproven_non_pr_blocking && !flip.pr_blocking {
            res.allowed_without_runs = true;
            res.warnings.push(format!(
                "no completed runs of '{context}' in the last {} commits on {branch}; allowed because {} has no pull_request trigger and cannot post a PR-blocking status (--allow-unproven-non-pr-blocking)",
                opts.recent, flip.workflow_path
            ));
        } else {
            res.runs.push(entry(
                RunVerdict::Unverified,
                "",
                None,
                vec![format!(
                    "no completed runs of '{context}' found in the last {} commits on {branch} — cannot verify flip",
                    opts.recent
                )],
            ));
        }
    } else if res.checked_commits == 0 {
        let mut en = entry(
            RunVerdict::Unverified,
            "",
            None,
            vec![format!(
                "no completed runs of '{context}' could be examined in the last {} commits on {branch} — cannot verify flip",
                opts.recent
            )],
        );
        en.read_error = res.runs.iter().all(|r| r.read_error);
        res.runs.push(en);
    }
    res
}

/// The flips report: per-flip results plus findings for the shared output formats.
#[derive(Debug, Clone, Default)]
pub struct FlipReport {
    pub results: Vec<FlipResult>,
    /// Detection warnings (unparseable files).
    pub warnings: Vec<String>,
    pub branch: String,
    pub base: String,
    pub head: String,
    /// The forge's web root, to show relative `target_url`s as absolute links (§4.7).
    pub web_base: Option<url::Url>,
}

impl FlipReport {
    pub fn blocked(&self) -> usize {
        self.results.iter().filter(|r| r.blocked()).count()
    }

    /// Blocked by a decided verdict (fail, masked, or no evidence on a readable forge).
    pub fn decided_blocked(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.blocked() && !r.undecided())
            .count()
    }

    /// The findings: one error per blocked flip, one note per flip that passed.
    pub fn lint_report(&self) -> LintReport {
        let mut findings = Vec::new();
        for r in &self.results {
            let f = &r.flip;
            let (severity, message, fix) = if r.blocked() {
                let kinds: Vec<&str> = {
                    let mut k: Vec<&str> = r
                        .runs
                        .iter()
                        .map(|e| match e.verdict {
                            RunVerdict::Fail => "fail",
                            RunVerdict::Masked => "masked",
                            RunVerdict::Unverified => "unverified",
                        })
                        .collect();
                    k.sort_unstable();
                    k.dedup();
                    k
                };
                (
                    Severity::Error,
                    format!(
                        "flip of {} ({}) blocked — recent runs on {} show FAIL markers, are red, or cannot be verified ({}); don't trust the masked combined status (PR#656 / mc#664)",
                        f.job_key,
                        r.context,
                        self.branch,
                        kinds.join(", ")
                    ),
                    "fix the failures the job's logs show (--- FAIL, FAIL, ::error::) on the base branch first, or keep continue-on-error: true with a tracking issue until its runs are genuinely green".to_string(),
                )
            } else {
                (
                    Severity::Note,
                    if r.allowed_without_runs {
                        format!(
                            "flip of {} ({}) allowed without runs: the workflow cannot post a PR-blocking status",
                            f.job_key, r.context
                        )
                    } else if r.proved_on_head {
                        format!(
                            "flip of {} ({}) is safe — its pull_request run on the PR head is green with no FAIL markers (path-filtered workflow, no recent push run)",
                            f.job_key, r.context
                        )
                    } else {
                        format!(
                            "flip of {} ({}) is safe — {} recent run(s), no FAIL markers",
                            f.job_key, r.context, r.clean_runs
                        )
                    },
                    "none needed".to_string(),
                )
            };
            findings.push(Finding {
                rule: COE_FLIP.id,
                severity,
                file: f.workflow_path.clone(),
                line: f.pos.line.max(1),
                column: f.pos.col.max(1),
                message,
                fix,
                unverified: r.undecided(),
                repository: false,
            });
        }
        LintReport {
            findings,
            notes: self.warnings.clone(),
            files: self
                .results
                .iter()
                .map(|r| r.flip.workflow_path.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            suppressed: 0,
            rules: vec![COE_FLIP.id],
        }
    }

    /// The per-flip detail block of the original (§4.7).
    pub fn detail(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            out.push_str(&format!(
                "job: {} ({})\n  workflow:        {}\n  checked_commits: {}\n",
                r.flip.job_key, r.context, r.flip.workflow_path, r.checked_commits
            ));
            for e in &r.runs {
                let sha: String = e.sha.chars().take(10).collect();
                let label = match e.verdict {
                    RunVerdict::Fail => format!("fail run {sha} (status={})", e.state),
                    RunVerdict::Masked => format!("MASKED run {sha} (status={})", e.state),
                    RunVerdict::Unverified if sha.is_empty() => "UNVERIFIED".to_string(),
                    RunVerdict::Unverified => format!("UNVERIFIED run {sha}"),
                };
                let link = match (&self.web_base, e.target_url.starts_with('/')) {
                    (Some(web), true) => web
                        .join(&e.target_url)
                        .map(|u| u.to_string())
                        .unwrap_or_else(|_| e.target_url.clone()),
                    _ => e.target_url.clone(),
                };
                out.push_str(&format!("  {label}: {link}\n"));
                for s in &e.samples {
                    out.push_str(&format!("    | {s}\n"));
                }
            }
            for w in &r.warnings {
                out.push_str(&format!("  warning: {w}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_stripped_only_when_they_look_like_one() {
        assert_eq!(
            strip_timestamp("2024-05-01T12:00:00.1234567Z --- FAIL: TestX"),
            "--- FAIL: TestX"
        );
        assert_eq!(strip_timestamp("not-a-time rest"), "not-a-time rest");
        assert_eq!(strip_timestamp("  plain"), "plain");
    }
}
