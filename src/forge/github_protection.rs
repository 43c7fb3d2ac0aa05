//! GitHub branch protection as GitHub enforces it: classic protection
//! (`GET /branches/{b}/protection`), the branch summary (`GET /branches/{b}`) and the active
//! rules of every ruleset (`GET /rules/branches/{b}`), read into one model.
//!
//! Every field is either modelled (required checks with their app pins, approvals, stale
//! review dismissal, strict/up-to-date, allowed merge methods, the merge-queue rule) or named
//! in [`GitHubRules::unmodelled`], which makes the queue refuse to merge unless GitHub's own
//! `mergeable_state` for the PR allows the merge. Nothing is silently ignored except fields
//! that never gate a pull-request merge (force pushes, deletions, creations, fork syncing);
//! SPEC.md §4 has the full table.

use serde::Serialize;
use serde_json::Value;

/// A required check bound to one GitHub App (classic `checks[].app_id`, ruleset
/// `required_status_checks[].integration_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckPin {
    pub context: String,
    pub app_id: i64,
    /// Where the pin was read (`classic protection`, `ruleset 42`).
    pub source: String,
}

/// What GitHub requires beyond the required contexts and approvals of [`super::Protection`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct GitHubRules {
    /// Required contexts pinned to an app; one context may carry several pins.
    pub pins: Vec<CheckPin>,
    /// Requirements GitHub enforces that mergeward does not evaluate itself (each named
    /// with the field or rule it came from). Non-empty: a merge also needs GitHub's
    /// `mergeable_state` to allow it.
    pub unmodelled: Vec<String>,
    /// Where a `merge_queue` rule was found: such a branch takes no direct merge.
    pub merge_queue: Option<String>,
    /// The merge methods every `pull_request` rule allows (intersection); `None` = any.
    pub allowed_merge_methods: Option<Vec<String>>,
    /// Sources of required approvals that could not be read (then the configured
    /// `queue.required_approvals` is a floor).
    pub unread: Vec<String>,
    /// Facts worth saying that are not gaps (e.g. a server without rulesets).
    pub notes: Vec<String>,
}

/// Everything read so far, merged source by source.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub contexts: Vec<String>,
    /// The maximum over every source that was read.
    pub approvals: Option<u32>,
    pub dismiss_stale: Option<bool>,
    pub rules: GitHubRules,
    pub rulesets_seen: bool,
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !item.is_empty() && !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

/// A JSON value that asks for something: `true`, a non-zero number, a non-empty string,
/// list or object.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn enabled(v: &Value, key: &str) -> bool {
    v.get(key)
        .and_then(|x| x.get("enabled"))
        .and_then(Value::as_bool)
        == Some(true)
}

impl Collected {
    fn approvals_at_least(&mut self, n: u64) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.approvals = Some(self.approvals.map_or(n, |a| a.max(n)));
    }

    fn unmodelled(&mut self, what: String) {
        push_unique(&mut self.rules.unmodelled, &what);
    }

    fn pin(&mut self, context: &str, app: Option<&Value>, source: &str) {
        // `null`, absent or -1: any source.
        if let Some(id) = app.and_then(Value::as_i64).filter(|id| *id > 0) {
            let pin = CheckPin {
                context: context.to_string(),
                app_id: id,
                source: source.to_string(),
            };
            if !self
                .rules
                .pins
                .iter()
                .any(|p| p.context == pin.context && p.app_id == pin.app_id)
            {
                self.rules.pins.push(pin);
            }
        }
    }

    /// `required_status_checks` of classic protection or of the branch summary:
    /// `{strict, contexts[], checks[{context, app_id}]}`.
    pub(crate) fn status_checks(&mut self, rsc: &Value, source: &str) -> Result<(), String> {
        if let Some(list) = rsc.get("contexts").filter(|v| !v.is_null()) {
            let list = list.as_array().ok_or_else(|| {
                format!("{source}: required_status_checks.contexts is not a list")
            })?;
            for c in list {
                let c = c
                    .as_str()
                    .ok_or_else(|| format!("{source}: a required context is not a string"))?;
                push_unique(&mut self.contexts, c);
            }
        }
        if let Some(list) = rsc.get("checks").filter(|v| !v.is_null()) {
            let list = list
                .as_array()
                .ok_or_else(|| format!("{source}: required_status_checks.checks is not a list"))?;
            for c in list {
                let ctx = c
                    .get("context")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{source}: a required check has no context"))?;
                push_unique(&mut self.contexts, ctx);
                self.pin(ctx, c.get("app_id"), source);
            }
        }
        Ok(())
    }

    /// Classic protection (`GET /branches/{b}/protection`, 200).
    pub(crate) fn classic(&mut self, v: &Value) -> Result<(), String> {
        const SRC: &str = "classic protection";
        if !v.is_object() {
            return Err(format!("{SRC} is not a JSON object"));
        }
        if let Some(rsc) = v.get("required_status_checks").filter(|x| !x.is_null()) {
            self.status_checks(rsc, SRC)?;
        }
        match v
            .get("required_pull_request_reviews")
            .filter(|x| !x.is_null())
        {
            None => self.approvals_at_least(0),
            Some(r) => {
                match r.get("required_approving_review_count") {
                    Some(n) => match n.as_u64() {
                        Some(n) => self.approvals_at_least(n),
                        None => return Err(format!(
                            "{SRC}: required_approving_review_count is not a count ({n})"
                        )),
                    },
                    // Reviews are required but the count is not said: unknown.
                    None => self.rules.unread.push(format!(
                        "{SRC}: required_pull_request_reviews without required_approving_review_count"
                    )),
                }
                if r.get("dismiss_stale_reviews").and_then(Value::as_bool) == Some(true) {
                    self.dismiss_stale = Some(true);
                } else if self.dismiss_stale.is_none() {
                    self.dismiss_stale = Some(false);
                }
                if r.get("require_code_owner_reviews").is_some_and(truthy) {
                    self.unmodelled(format!(
                        "code-owner review ({SRC} require_code_owner_reviews)"
                    ));
                }
                if r.get("require_last_push_approval").is_some_and(truthy) {
                    self.unmodelled(format!(
                        "approval of the last push by someone else ({SRC} require_last_push_approval)"
                    ));
                }
            }
        }
        for (key, what) in [
            ("required_signatures", "signed commits"),
            ("required_linear_history", "linear history"),
            (
                "required_conversation_resolution",
                "resolved review conversations",
            ),
            ("lock_branch", "a locked branch (read-only)"),
        ] {
            if enabled(v, key) {
                self.unmodelled(format!("{what} ({SRC} {key})"));
            }
        }
        // Fields that do not gate a merge of a pull request, or are modelled above.
        const KNOWN: &[&str] = &[
            "url",
            "enabled",
            "name",
            "protection_url",
            "required_status_checks",
            "required_pull_request_reviews",
            "required_signatures",
            "required_linear_history",
            "required_conversation_resolution",
            "lock_branch",
            "enforce_admins",
            "allow_force_pushes",
            "allow_deletions",
            "block_creations",
            "allow_fork_syncing",
            "restrictions",
        ];
        if let Some(obj) = v.as_object() {
            for (key, val) in obj {
                if KNOWN.contains(&key.as_str()) {
                    continue;
                }
                let on = match val.get("enabled") {
                    Some(e) => truthy(e),
                    None => truthy(val),
                };
                if on {
                    self.unmodelled(format!("{SRC} field {key} (not known to mergeward)"));
                }
            }
        }
        Ok(())
    }

    /// The active rules for the branch (`GET /rules/branches/{b}`), every page.
    pub(crate) fn rules(&mut self, rules: &[Value]) -> Result<(), String> {
        for rule in rules {
            let kind = rule
                .get("type")
                .and_then(Value::as_str)
                .ok_or_else(|| "a branch rule without a type".to_string())?;
            let source = match rule.get("ruleset_id").and_then(Value::as_u64) {
                Some(id) => format!("ruleset {id}"),
                None => "a ruleset".to_string(),
            };
            let params = rule.get("parameters").cloned().unwrap_or(Value::Null);
            self.rulesets_seen = true;
            match kind {
                "required_status_checks" => {
                    let list = params
                        .get("required_status_checks")
                        .and_then(Value::as_array)
                        .ok_or_else(|| {
                            format!(
                                "{source}: required_status_checks rule without a list of checks"
                            )
                        })?;
                    for c in list {
                        let ctx = c.get("context").and_then(Value::as_str).ok_or_else(|| {
                            format!("{source}: a required status check without context")
                        })?;
                        push_unique(&mut self.contexts, ctx);
                        self.pin(ctx, c.get("integration_id"), &source);
                    }
                    // strict_required_status_checks_policy: mergeward always requires the
                    // PR to contain the base head, which is at least as strict.
                }
                "pull_request" => self.pull_request_rule(&params, &source)?,
                "merge_queue" => {
                    if self.rules.merge_queue.is_none() {
                        self.rules.merge_queue = Some(source);
                    }
                }
                // Rules about creating, deleting or force-pushing the ref: a merge of a
                // pull request is none of these.
                "creation" | "deletion" | "non_fast_forward" => {}
                "required_linear_history" => {
                    self.unmodelled(format!("linear history ({source} required_linear_history)"))
                }
                "required_signatures" => {
                    self.unmodelled(format!("signed commits ({source} required_signatures)"))
                }
                "required_deployments" => {
                    let envs = params
                        .get("required_deployment_environments")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    self.unmodelled(format!(
                        "successful deployments to [{envs}] ({source} required_deployments)"
                    ))
                }
                "code_scanning" => {
                    self.unmodelled(format!("code scanning results ({source} code_scanning)"))
                }
                "update" => self.unmodelled(format!(
                    "updates of the branch restricted to bypass actors ({source} update)"
                )),
                other => self.unmodelled(format!(
                    "rule type {other} ({source}; not known to mergeward)"
                )),
            }
        }
        Ok(())
    }

    fn pull_request_rule(&mut self, params: &Value, source: &str) -> Result<(), String> {
        match params.get("required_approving_review_count") {
            None | Some(Value::Null) => self.approvals_at_least(0),
            Some(n) => match n.as_u64() {
                Some(n) => self.approvals_at_least(n),
                None => {
                    return Err(format!(
                        "{source}: required_approving_review_count is not a count ({n})"
                    ));
                }
            },
        }
        if params
            .get("dismiss_stale_reviews_on_push")
            .and_then(Value::as_bool)
            == Some(true)
        {
            self.dismiss_stale = Some(true);
        }
        if let Some(list) = params.get("allowed_merge_methods").filter(|v| !v.is_null()) {
            let methods: Vec<String> = list
                .as_array()
                .ok_or_else(|| format!("{source}: allowed_merge_methods is not a list"))?
                .iter()
                .map(|m| {
                    m.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("{source}: a merge method is not a string"))
                })
                .collect::<Result<_, _>>()?;
            self.rules.allowed_merge_methods =
                Some(match self.rules.allowed_merge_methods.take() {
                    None => methods,
                    Some(prev) => prev.into_iter().filter(|m| methods.contains(m)).collect(),
                });
        }
        for (key, what) in [
            ("require_code_owner_review", "code-owner review"),
            (
                "require_last_push_approval",
                "approval of the last push by someone else",
            ),
            (
                "required_review_thread_resolution",
                "resolved review threads",
            ),
            ("required_reviewers", "reviews by required reviewers"),
        ] {
            if params.get(key).is_some_and(truthy) {
                self.unmodelled(format!("{what} ({source} pull_request.{key})"));
            }
        }
        const KNOWN: &[&str] = &[
            "required_approving_review_count",
            "dismiss_stale_reviews_on_push",
            "allowed_merge_methods",
            "require_code_owner_review",
            "require_last_push_approval",
            "required_review_thread_resolution",
            "required_reviewers",
            // Requests a review; requires nothing.
            "automatic_copilot_code_review_enabled",
            // Who may dismiss reviews: mergeward never dismisses one.
            "dismissal_restriction",
        ];
        if let Some(obj) = params.as_object() {
            for (key, val) in obj {
                if !KNOWN.contains(&key.as_str()) && truthy(val) {
                    self.unmodelled(format!(
                        "{source} pull_request.{key} (not known to mergeward)"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// GitHub's `mergeable_state` for a PR, judged as the last line of defence before a merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeableState {
    /// `clean`: GitHub would merge it without bypassing anything.
    Clean,
    /// `unstable` / `has_hooks`: mergeable, with non-passing commit statuses (acceptable only
    /// when none of them is required).
    Unstable(String),
    /// `unknown` or absent: still being computed.
    Unknown,
    /// `dirty`: conflicts.
    Dirty,
    /// `draft`.
    Draft,
    /// `blocked`, `behind` or any other value: GitHub would refuse without a bypass.
    Refused(String),
}

impl MergeableState {
    pub fn parse(s: Option<&str>) -> MergeableState {
        match s.map(str::trim) {
            None | Some("") | Some("unknown") => MergeableState::Unknown,
            Some("clean") => MergeableState::Clean,
            Some(s @ ("unstable" | "has_hooks")) => MergeableState::Unstable(s.to_string()),
            Some("dirty") => MergeableState::Dirty,
            Some("draft") => MergeableState::Draft,
            Some(other) => MergeableState::Refused(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classic_fields_are_modelled_or_named() {
        let mut c = Collected::default();
        c.classic(&json!({
            "url": "x",
            "required_status_checks": {"strict": true, "contexts": ["build"],
                "checks": [{"context": "build", "app_id": 15368}, {"context": "lint", "app_id": null}]},
            "required_pull_request_reviews": {"required_approving_review_count": 2,
                "dismiss_stale_reviews": true, "require_code_owner_reviews": true,
                "require_last_push_approval": false},
            "required_signatures": {"enabled": true},
            "required_linear_history": {"enabled": false},
            "allow_force_pushes": {"enabled": true},
            "some_new_thing": {"enabled": true},
        }))
        .unwrap();
        assert_eq!(c.contexts, vec!["build", "lint"]);
        assert_eq!(c.approvals, Some(2));
        assert_eq!(c.rules.pins.len(), 1);
        assert_eq!(c.rules.pins[0].app_id, 15368);
        let u = c.rules.unmodelled.join(" | ");
        assert!(u.contains("require_code_owner_reviews"), "{u}");
        assert!(u.contains("required_signatures"), "{u}");
        assert!(u.contains("some_new_thing"), "{u}");
        assert!(!u.contains("linear"), "{u}");
        assert!(!u.contains("force"), "{u}");
    }

    #[test]
    fn rules_take_the_maximum_and_name_unknown_types() {
        let mut c = Collected::default();
        c.approvals_at_least(1);
        c.rules(&[
            json!({"type": "pull_request", "ruleset_id": 7, "parameters": {
                "required_approving_review_count": 0, "allowed_merge_methods": ["squash", "merge"],
                "require_code_owner_review": false, "required_reviewers": []}}),
            json!({"type": "pull_request", "ruleset_id": 8, "parameters": {
                "required_approving_review_count": 3, "allowed_merge_methods": ["squash"]}}),
            json!({"type": "merge_queue", "ruleset_id": 9, "parameters": {}}),
            json!({"type": "deletion", "ruleset_id": 9}),
            json!({"type": "brand_new_rule", "ruleset_id": 9}),
            json!({"type": "required_status_checks", "ruleset_id": 7, "parameters": {
                "required_status_checks": [{"context": "ci", "integration_id": 42}],
                "strict_required_status_checks_policy": true}}),
        ])
        .unwrap();
        assert_eq!(c.approvals, Some(3));
        assert_eq!(
            c.rules.allowed_merge_methods,
            Some(vec!["squash".to_string()])
        );
        assert_eq!(c.rules.merge_queue.as_deref(), Some("ruleset 9"));
        assert_eq!(c.rules.unmodelled.len(), 1, "{:?}", c.rules.unmodelled);
        assert!(c.rules.unmodelled[0].contains("brand_new_rule"));
        assert_eq!(c.rules.pins[0].source, "ruleset 7");
    }

    #[test]
    fn mergeable_states() {
        assert_eq!(MergeableState::parse(Some("clean")), MergeableState::Clean);
        assert_eq!(MergeableState::parse(None), MergeableState::Unknown);
        assert_eq!(
            MergeableState::parse(Some("blocked")),
            MergeableState::Refused("blocked".into())
        );
        assert_eq!(
            MergeableState::parse(Some("has_hooks")),
            MergeableState::Unstable("has_hooks".into())
        );
    }
}
