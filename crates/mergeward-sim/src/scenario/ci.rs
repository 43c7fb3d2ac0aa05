//! Simulated CI in a scenario: which contexts run on a push, how long they take, how often
//! they flake.

use serde::{Deserialize, Serialize};

/// Simulated CI ([`crate::Scenario::ci`]). On every push to a branch (git pushes, and the
/// pushes the merge and update APIs and the state helpers make), for the new head: a
/// `pending` status per context at once (creator `sim-ci`, `target_url`
/// `{base_url}/{owner}/{repo}/actions/runs/<n>`), then, once the logical clock reaches
/// `now + duration_secs`, the result: `failure` when the commit is or descends from the head
/// of a PR marked [`crate::PullSpec::breaking`], else `failure` with probability `flake`
/// (drawn deterministically from `seed`, the SHA and the context), else `success`.
///
/// ```json
/// {"push_contexts": ["ci/build"], "pr_contexts": ["ci/pr"], "duration_secs": 600, "flake": 0.05, "seed": 7}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiSpec {
    /// Contexts run on every push to a branch.
    #[serde(default)]
    pub push_contexts: Vec<String>,
    /// Contexts run in addition when the branch is the head branch of an open PR.
    #[serde(default)]
    pub pr_contexts: Vec<String>,
    /// Logical seconds from the push to the result.
    #[serde(default = "ten_minutes")]
    pub duration_secs: u64,
    /// Probability (0.0 – 1.0) that a run fails for no reason.
    #[serde(default)]
    pub flake: f64,
    /// Seed of the flake draw.
    #[serde(default)]
    pub seed: u64,
    /// Also run CI for every branch head built by the scenario (default: no; initial
    /// statuses come from `statuses`).
    #[serde(default)]
    pub on_setup: bool,
}

fn ten_minutes() -> u64 {
    600
}

impl Default for CiSpec {
    fn default() -> Self {
        CiSpec {
            push_contexts: Vec::new(),
            pr_contexts: Vec::new(),
            duration_secs: ten_minutes(),
            flake: 0.0,
            seed: 0,
            on_setup: false,
        }
    }
}

impl CiSpec {
    /// CI running `push_contexts` on every push, nothing more (10 minutes, no flakes).
    pub fn new(push_contexts: &[&str]) -> CiSpec {
        CiSpec {
            push_contexts: push_contexts.iter().map(|c| c.to_string()).collect(),
            ..CiSpec::default()
        }
    }
    pub fn pr_contexts(mut self, contexts: &[&str]) -> Self {
        self.pr_contexts = contexts.iter().map(|c| c.to_string()).collect();
        self
    }
    pub fn duration_secs(mut self, secs: u64) -> Self {
        self.duration_secs = secs;
        self
    }
    pub fn flake(mut self, probability: f64, seed: u64) -> Self {
        self.flake = probability;
        self.seed = seed;
        self
    }
    pub fn on_setup(mut self) -> Self {
        self.on_setup = true;
        self
    }
}
