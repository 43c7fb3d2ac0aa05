//! Rule settings: typed, built and checked from the configuration's `gates.*` keys by
//! `config::settings` (defaults: `config::gate_defaults()`).

use std::collections::{BTreeMap, BTreeSet};

use super::Severity;

/// Settings every rule reads.
#[derive(Debug, Clone)]
pub struct GateSettings {
    pub disabled: BTreeSet<String>,
    pub severity: BTreeMap<String, Severity>,
    /// `runs-on-pinned`: labels a docker-bound job must run on (any one of them).
    pub runs_on_labels: Vec<String>,
    /// `coe-tracking`: the oldest a tracker issue may be, in whole days.
    pub coe_max_age_days: u64,
    /// `coe-tracking`: named reference prefixes → `owner/repo` (`mc#12`).
    pub coe_trackers: BTreeMap<String, String>,
    /// Required contexts given in the configuration (offline runs).
    pub required_contexts: Option<Vec<String>>,
    /// `gitea-compat` rule 1: the Gitea version the workflows target.
    pub gitea_version: Option<String>,
    /// `context-emitted`, `required-no-paths`: the events the queue needs required
    /// contexts on (the PR's event; batch mode's staging push would add `push`).
    pub context_events: Vec<String>,
    /// `context-emitted`: contexts posted by something other than this tree's workflows.
    pub external_contexts: Vec<String>,
}

impl GateSettings {
    pub fn enabled(&self, id: &str) -> bool {
        !self.disabled.contains(id)
    }

    pub fn severity_of(&self, id: &str) -> Option<Severity> {
        self.severity.get(id).copied()
    }
}
