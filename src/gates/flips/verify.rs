//! Verifying one flip: the job's recent runs on the base branch (statuses from every page,
//! compensation rows skipped), each run's log fetched and grepped; the verdict per run
//! and per flip.

use serde::Serialize;

use crate::forge::commits::ForgeHistory;
use crate::forge::logs::{ForgeLogs, JobLog};
use crate::forge::{Capabilities, ContextState, ForgeKind, ReportKind, Sha, StatusReport};

use super::{Flip, fail_markers};

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
