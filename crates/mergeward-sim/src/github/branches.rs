//! GitHub branches, classic branch protection and rulesets (`/rules/branches/{b}`).

use serde_json::{Value, json};

use super::H;
use crate::http::{Resp, github_err, paged};
use crate::scenario::Permission;

impl H<'_> {
    pub(super) fn branch(&self) -> Resp {
        let b = self.r.param("branch");
        let Some(sha) = self.st.branch_head(b) else {
            return github_err(404, "Branch not found");
        };
        let classic = self.st.protection_for(b);
        let protected = classic.is_some() || !self.st.rulesets_for(b).is_empty();
        let rsc = self.required_status_checks_json(b);
        let protection = match &rsc {
            Some(v) => json!({"enabled": true, "required_status_checks": {
                "enforcement_level": v["enforcement_level"], "contexts": v["contexts"], "checks": v["checks"]}}),
            None => {
                json!({"enabled": protected, "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []}})
            }
        };
        let mut v = json!({
            "name": b, "commit": self.commit_json(&sha),
            "_links": {"self": format!("{}/branches/{b}", self.api()), "html": format!("{}/tree/{b}", self.html())},
            "protected": protected, "protection": protection,
            "protection_url": format!("{}/branches/{b}/protection", self.api()),
        });
        if let Some(c) = classic {
            v["pattern"] = json!(c.rule_name);
            v["required_approving_review_count"] = json!(c.required_approvals);
        }
        Resp::json(200, v)
    }

    pub(super) fn protection(&self) -> Resp {
        if self.perm() < Permission::Admin {
            return github_err(403, "Must have admin rights to Repository.");
        }
        let b = self.r.param("branch");
        let Some(p) = self.st.protection_for(b) else {
            return github_err(404, "Branch not protected");
        };
        let url = format!("{}/branches/{b}/protection", self.api());
        let mut v = json!({
            "url": url,
            "enforce_admins": {"url": format!("{url}/enforce_admins"), "enabled": p.enforce_admins},
            "required_signatures": {"url": format!("{url}/required_signatures"), "enabled": p.required_signatures},
            "required_linear_history": {"enabled": p.required_linear_history}, "allow_force_pushes": {"enabled": false},
            "allow_deletions": {"enabled": false}, "block_creations": {"enabled": false},
            "required_conversation_resolution": {"enabled": p.required_conversation_resolution}, "lock_branch": {"enabled": false},
            "allow_fork_syncing": {"enabled": false},
        });
        if let Some(rsc) = self.required_status_checks_json(b) {
            v["required_status_checks"] = rsc;
        }
        if p.required_approvals > 0
            || p.dismiss_stale_approvals
            || p.require_code_owner_reviews
            || p.require_last_push_approval
        {
            v["required_pull_request_reviews"] = json!({
                "url": format!("{url}/required_pull_request_reviews"),
                "dismiss_stale_reviews": p.dismiss_stale_approvals, "require_code_owner_reviews": p.require_code_owner_reviews,
                "required_approving_review_count": p.required_approvals, "require_last_push_approval": p.require_last_push_approval,
            });
        }
        Resp::json(200, v)
    }

    pub(super) fn rules(&self) -> Resp {
        if self.st.no_rulesets_api {
            return self.not_found();
        }
        let b = self.r.param("branch");
        let source = format!("{}/{}", self.st.owner, self.st.name);
        let mut rules = Vec::new();
        for rs in self.st.rulesets_for(b) {
            if !rs.required_status_checks.is_empty() {
                let checks: Vec<Value> = rs
                    .required_status_checks
                    .iter()
                    .map(|(c, id)| match id {
                        Some(i) => json!({"context": c, "integration_id": i}),
                        None => json!({"context": c}),
                    })
                    .collect();
                rules.push(json!({
                    "type": "required_status_checks",
                    "parameters": {"required_status_checks": checks, "strict_required_status_checks_policy": rs.strict,
                                   "do_not_enforce_on_create": false},
                    "ruleset_source_type": "Repository", "ruleset_source": source, "ruleset_id": rs.id,
                }));
            }
            if rs.required_approving_review_count.is_some()
                || rs.require_code_owner_review
                || rs.allowed_merge_methods.is_some()
            {
                let methods = rs
                    .allowed_merge_methods
                    .clone()
                    .unwrap_or_else(|| vec!["merge".into(), "squash".into(), "rebase".into()]);
                rules.push(json!({
                    "type": "pull_request",
                    "parameters": {"required_approving_review_count": rs.required_approving_review_count.unwrap_or(0),
                                   "dismiss_stale_reviews_on_push": false,
                                   "require_code_owner_review": rs.require_code_owner_review, "require_last_push_approval": false,
                                   "required_review_thread_resolution": false,
                                   "allowed_merge_methods": methods},
                    "ruleset_source_type": "Repository", "ruleset_source": source, "ruleset_id": rs.id,
                }));
            }
            for extra in &rs.rules {
                let mut rule = extra.clone();
                if let Some(o) = rule.as_object_mut() {
                    o.entry("ruleset_source_type")
                        .or_insert(json!("Repository"));
                    o.entry("ruleset_source").or_insert(json!(source));
                    o.entry("ruleset_id").or_insert(json!(rs.id));
                }
                rules.push(rule);
            }
        }
        paged(self.r, self.st, rules, true)
    }
}
