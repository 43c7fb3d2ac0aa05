//! The flips report: per-flip results, and findings of rule `coe-flip` for the shared
//! output formats plus the detail block.

use crate::gates::{Finding, LintReport, Severity};

use super::{COE_FLIP, FlipResult, RunVerdict};

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
