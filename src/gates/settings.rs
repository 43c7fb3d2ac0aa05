//! Rule settings from the configuration (`gates.*` keys of `.mergeward.toml`).

use std::collections::{BTreeMap, BTreeSet};

use super::Severity;
use crate::config::Config;
use crate::error::{Error, Result, Source, did_you_mean};

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

impl Default for GateSettings {
    fn default() -> Self {
        GateSettings {
            disabled: BTreeSet::new(),
            severity: BTreeMap::new(),
            runs_on_labels: vec!["docker-host".into(), "publish".into()],
            coe_max_age_days: 14,
            coe_trackers: BTreeMap::new(),
            required_contexts: None,
            gitea_version: None,
            context_events: vec!["pull_request".into()],
            external_contexts: Vec::new(),
        }
    }
}

fn bad(cfg: &Config, key: &str, message: String, hint: Option<String>) -> Error {
    Error::Config {
        key: key.to_string(),
        origin: cfg.get(key).map_or(Source::Default, |s| s.source.clone()),
        message,
        hint,
    }
}

fn check_rule_id(cfg: &Config, key: &str, id: &str) -> Result<()> {
    let ids = super::rules::ids();
    if ids.contains(&id) {
        return Ok(());
    }
    let hint = match did_you_mean(id, ids.iter().copied()) {
        Some(m) => format!("did you mean {m:?}? (rules: {})", ids.join(", ")),
        None => format!("rules: {}", ids.join(", ")),
    };
    Err(bad(cfg, key, format!("unknown rule {id:?}"), Some(hint)))
}

impl GateSettings {
    pub fn enabled(&self, id: &str) -> bool {
        !self.disabled.contains(id)
    }

    pub fn severity_of(&self, id: &str) -> Option<Severity> {
        self.severity.get(id).copied()
    }

    /// Reads and checks the `gates.*` keys; errors name the key, its source and the fix.
    pub fn from_config(cfg: &Config) -> Result<GateSettings> {
        let mut s = GateSettings::default();
        for id in cfg.list("gates.disable") {
            check_rule_id(cfg, "gates.disable", &id)?;
            s.disabled.insert(id);
        }
        for entry in cfg.list("gates.severity") {
            let Some((id, level)) = entry.split_once('=') else {
                return Err(bad(
                    cfg,
                    "gates.severity",
                    format!("{entry:?} is not RULE=LEVEL"),
                    Some("e.g. \"runs-on-pinned=warning\"; levels: error, warning, note".into()),
                ));
            };
            let id = id.trim();
            check_rule_id(cfg, "gates.severity", id)?;
            let Some(level) = Severity::parse(level) else {
                return Err(bad(
                    cfg,
                    "gates.severity",
                    format!("{level:?} is not a severity"),
                    Some("use error, warning or note".into()),
                ));
            };
            s.severity.insert(id.to_string(), level);
        }
        let labels = cfg.list("gates.runs_on_labels");
        if cfg.get("gates.runs_on_labels").is_some() {
            if labels.is_empty() {
                return Err(bad(
                    cfg,
                    "gates.runs_on_labels",
                    "is empty: no job could ever satisfy runs-on-pinned".into(),
                    Some(
                        "list at least one runner label, or disable the rule with gates.disable"
                            .into(),
                    ),
                ));
            }
            s.runs_on_labels = labels;
        }
        if let Some(n) = cfg.int("gates.coe_max_age_days") {
            s.coe_max_age_days = n;
        }
        for entry in cfg.list("gates.coe_trackers") {
            let parsed = entry.split_once('=').and_then(|(p, r)| {
                let (p, r) = (p.trim(), r.trim());
                let ok_prefix = !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                let ok_repo = r
                    .split_once('/')
                    .is_some_and(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'));
                (ok_prefix && ok_repo).then(|| (p.to_string(), r.to_string()))
            });
            let Some((p, r)) = parsed else {
                return Err(bad(
                    cfg,
                    "gates.coe_trackers",
                    format!("{entry:?} is not PREFIX=OWNER/REPO"),
                    Some("e.g. \"mc=acme/core\" makes `mc#12` mean acme/core issue 12".into()),
                ));
            };
            s.coe_trackers.insert(p, r);
        }
        if cfg.get("gates.required_contexts").is_some() {
            s.required_contexts = Some(cfg.list("gates.required_contexts"));
        }
        s.gitea_version = cfg.str("gates.gitea_version").map(str::to_string);
        if cfg.get("gates.context_events").is_some() {
            let events = cfg.list("gates.context_events");
            if events.is_empty() {
                return Err(bad(
                    cfg,
                    "gates.context_events",
                    "is empty: required contexts would be checked on no event".into(),
                    Some("list the events the queue needs, e.g. \"pull_request\" (add \"push\" for a batch staging push)".into()),
                ));
            }
            if let Some(e) = events
                .iter()
                .find(|e| e.is_empty() || !e.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            {
                return Err(bad(
                    cfg,
                    "gates.context_events",
                    format!("{e:?} is not an event name"),
                    Some("use workflow event names such as pull_request or push".into()),
                ));
            }
            s.context_events = events;
        }
        s.external_contexts = cfg.list("gates.external_contexts");
        Ok(s)
    }
}
