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
//!
//! Here: detection between two trees; `markers.rs` greps logs, `verify.rs` verifies one
//! flip, `report.rs` turns the results into findings.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::forge::ForgeKind;
use crate::workflow::{Limits, Pos, Workflow, context_event};

use super::{RuleInfo, Severity, file_label};

mod markers;
mod report;
mod verify;

pub use markers::fail_markers;
pub use report::FlipReport;
pub use verify::{COMPENSATION_PREFIX, FlipResult, RunEntry, RunVerdict, VerifyOptions, verify};

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
