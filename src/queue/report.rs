//! What a tick did: its outcome, its decisions, the PRs it could not decide, its effects.

use std::collections::BTreeMap;

use serde::Serialize;

use super::policy::Decision;
use crate::exit::ExitCode;
use crate::forge::Sha;
use crate::report::{ActionRecord, EffectOutcome};

/// What the tick did, as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TickOutcome {
    Merged {
        pr: u64,
    },
    /// The merge this tick would send was already committed by an earlier run (the ledger
    /// says so and the forge agrees): nothing was sent.
    Replayed {
        pr: u64,
    },
    Updated {
        pr: u64,
    },
    /// The base moved (or the PR head moved) between evaluation and merge: next tick.
    Deferred {
        pr: u64,
    },
    /// The base branch is not green.
    Paused,
    /// Candidates were held (permanent merge/update errors) and nothing else could act.
    Held,
    /// Nothing to do: no candidates, or all are waiting.
    Idle,
    /// Batch mode: a batch landed (the base is its tested staging commit).
    Landed {
        prs: Vec<u64>,
    },
    /// Batch mode: a batch is under test (built this tick or earlier).
    Testing {
        batch: String,
    },
}

impl TickOutcome {
    pub fn word(&self) -> &'static str {
        match self {
            TickOutcome::Merged { .. } => "merged",
            TickOutcome::Replayed { .. } => "replayed",
            TickOutcome::Updated { .. } => "updated",
            TickOutcome::Deferred { .. } => "deferred",
            TickOutcome::Paused => "paused",
            TickOutcome::Held => "held",
            TickOutcome::Idle => "idle",
            TickOutcome::Landed { .. } => "landed",
            TickOutcome::Testing { .. } => "testing",
        }
    }
}

/// A candidate that could not be evaluated (its reads failed): never merged.
#[derive(Debug, Clone, Serialize)]
pub struct Unevaluated {
    pub pr: u64,
    pub error: String,
    /// The exit class this failure maps to (serialized as its label, e.g. `auth`).
    #[serde(rename = "exit_label", serialize_with = "exit_label")]
    pub exit: ExitCode,
}

fn exit_label<S: serde::Serializer>(code: &ExitCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(code.label())
}

/// The full result of a tick.
#[derive(Debug, Clone, Serialize)]
pub struct TickReport {
    pub outcome: TickOutcome,
    pub base_head: Option<Sha>,
    pub required_contexts: Vec<String>,
    pub required_approvals: u32,
    /// Decisions in queue order (skips last).
    pub decisions: Vec<Decision>,
    pub unevaluated: Vec<Unevaluated>,
    /// Open PRs not read this tick because a ready PR was found earlier in the queue.
    pub not_evaluated: Vec<u64>,
    pub actions: Vec<ActionRecord>,
    pub notes: Vec<String>,
    /// The branch the queue serves.
    pub branch: String,
    /// Genuine approvals counted per evaluated PR.
    pub approvals: BTreeMap<u64, usize>,
    /// Why each PR carrying the hold label was held (from the ledger, or the hold comment).
    pub held: BTreeMap<u64, String>,
    /// Title and link of every open PR listed.
    pub prs: BTreeMap<u64, PrSummary>,
    /// Batch mode: what each batch this tick looked at or moved became, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub batches: Vec<BatchReport>,
}

/// Batch mode: one batch as the tick saw or left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    pub id: String,
    /// `built`, `testing`, `landed`, `held`, `split`, `rebuilt`, `stuck`, `nothing_merged`,
    /// or in a dry run `would_build`, `would_land`, `would_rebuild`, `would_split`; `queue
    /// status` shows the verdict (`pending`, `green`, `red`, `stuck`).
    pub state: String,
    pub base: Option<Sha>,
    pub staging: Option<Sha>,
    /// The PRs in the staging commit, in batch order.
    pub members: Vec<u64>,
    pub staging_branch: String,
    /// The contexts the staging commit must carry.
    pub staging_contexts: Vec<String>,
    /// What those contexts say: `pending`, `green`, `red` or `stuck`.
    pub verdict: String,
    /// Required contexts that failed (context, state).
    pub failing: Vec<(String, String)>,
    /// PRs left out of the staging commit, and why.
    pub left_out: Vec<(u64, String)>,
    /// A bisection's suspects, in queue order.
    pub suspects: Vec<u64>,
    /// Why a batch was not landed.
    pub why: Vec<String>,
}

/// What the reports show of a PR besides its decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrSummary {
    pub title: String,
    pub url: Option<String>,
}

impl TickReport {
    /// An empty report for `branch`.
    pub fn new(branch: &str) -> TickReport {
        TickReport {
            outcome: TickOutcome::Idle,
            base_head: None,
            required_contexts: Vec::new(),
            required_approvals: 0,
            decisions: Vec::new(),
            unevaluated: Vec::new(),
            not_evaluated: Vec::new(),
            actions: Vec::new(),
            notes: Vec::new(),
            branch: branch.to_string(),
            approvals: BTreeMap::new(),
            held: BTreeMap::new(),
            prs: BTreeMap::new(),
            batches: Vec::new(),
        }
    }

    /// The tick's exit code: could-not-decide when any candidate could not be evaluated
    /// or an effect's outcome is unknown, even if another PR merged.
    pub fn exit_code(&self) -> ExitCode {
        if self.unevaluated.iter().any(|u| u.exit == ExitCode::Auth) {
            ExitCode::Auth
        } else if !self.unevaluated.is_empty()
            || self
                .actions
                .iter()
                .any(|a| a.outcome == EffectOutcome::Unknown)
        {
            ExitCode::CouldNotDecide
        } else {
            ExitCode::Success
        }
    }

    /// What the reads listed: every open PR's title and link, the notes and the PRs whose
    /// reads failed.
    pub fn add_listing(&mut self, snap: &super::snapshot::Snapshot) {
        for pr in &snap.open {
            self.prs.insert(
                pr.number.0,
                PrSummary {
                    title: pr.title.clone(),
                    url: pr.url.clone(),
                },
            );
        }
        self.notes.extend(snap.notes.iter().cloned());
        self.unevaluated.extend(snap.unreadable.iter().cloned());
    }

    /// Records a PR that could not be decided.
    pub fn could_not_decide(&mut self, pr: u64, error: String, exit: ExitCode) {
        self.unevaluated.push(Unevaluated { pr, error, exit });
    }
}
