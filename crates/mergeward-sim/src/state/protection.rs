//! Users and permissions, branch protection and rulesets, and the merge checks both
//! dialects derive from them (Gitea's protection block, GitHub's mergeable state).

use std::collections::BTreeMap;

use super::*;
use crate::fake_sha;

impl SimState {
    pub fn user(&self, login: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.login.eq_ignore_ascii_case(login))
    }

    pub fn user_by_token(&self, token: &str) -> Option<&User> {
        if token.is_empty() {
            return None;
        }
        self.users
            .iter()
            .find(|u| u.token.as_deref() == Some(token))
    }

    /// A user, or a synthetic read-less user for logins not declared (e.g. `gitea-actions`).
    pub fn user_or_ghost(&self, login: &str) -> User {
        match self.user(login) {
            Some(u) => u.clone(),
            None => User {
                id: 10_000 + u64::from_str_radix(&fake_sha(login)[..6], 16).unwrap_or(0),
                login: login.to_string(),
                token: None,
                permission: Permission::None,
                site_admin: false,
                scopes: None,
            },
        }
    }

    pub fn perm(&self, login: &str) -> Permission {
        self.user(login)
            .map(|u| u.perm())
            .unwrap_or(Permission::None)
    }

    /// The protection rule that applies to a branch: exact rule names first, then globs, by creation.
    pub fn protection_for(&self, branch: &str) -> Option<&BranchProtection> {
        self.protections
            .iter()
            .find(|p| p.rule_name == branch)
            .or_else(|| {
                self.protections
                    .iter()
                    .find(|p| glob_match(&p.rule_name, branch, true))
            })
    }

    /// May `login` push to `branch` (a protected branch: only fast-forwards)? `None`: the
    /// branch is not protected. Gitea: the rule's `enable_push`, and the push whitelist when
    /// there is one. GitHub: an admin when the rule does not `enforce_admins`, or a login of
    /// `push_bypass` (rulesets are not consulted for pushes).
    pub fn may_push_protected(&self, login: &str, branch: &str) -> Option<bool> {
        let rule = self.protection_for(branch)?;
        let is = |l: &String| l.eq_ignore_ascii_case(login);
        Some(match self.dialect {
            crate::Dialect::Gitea => {
                rule.enable_push
                    && rule
                        .push_whitelist
                        .as_ref()
                        .is_none_or(|w| w.iter().any(is))
            }
            crate::Dialect::GitHub => {
                (self.perm(login) >= Permission::Admin && !rule.enforce_admins)
                    || rule.push_bypass.iter().any(is)
            }
        })
    }

    /// Active rulesets targeting a branch.
    pub fn rulesets_for(&self, branch: &str) -> Vec<&Ruleset> {
        self.rulesets
            .iter()
            .filter(|r| r.enforcement == "active")
            .filter(|r| {
                r.branches.iter().any(|pat| {
                    let pat = pat.strip_prefix("refs/heads/").unwrap_or(pat);
                    pat == "~ALL"
                        || (pat == "~DEFAULT_BRANCH" && branch == self.default_branch)
                        || glob_match(pat, branch, true)
                })
            })
            .collect()
    }

    /// Gitea's branch-protection verdict for merging PR `n`: `None` = allowed,
    /// otherwise the `ErrDisallowedToMerge` reason.
    pub fn gitea_protection_block(&self, n: u64) -> Option<&'static str> {
        let p = self.try_pull(n)?;
        let rule = self.protection_for(&p.base_ref)?;
        if rule.enable_status_check {
            let latest = self.latest_statuses(&p.head_sha);
            let ok = if latest.is_empty() {
                false
            } else if rule.status_check_contexts.is_empty() {
                latest
                    .iter()
                    .all(|s| s.state == "success" || s.state == "skipped")
            } else {
                rule.status_check_contexts.iter().all(|g| {
                    let matched: Vec<_> = latest
                        .iter()
                        .filter(|s| glob_match(g, &s.context, false))
                        .collect();
                    !matched.is_empty()
                        && matched
                            .iter()
                            .all(|s| s.state == "success" || s.state == "skipped")
                })
            };
            if !ok {
                return Some("Not all required status checks successful");
            }
        }
        if rule.required_approvals > 0 {
            let approvals = self
                .reviews
                .iter()
                .filter(|r| r.pr == n && r.state == "APPROVED" && r.official && !r.dismissed)
                .filter(|r| !(rule.ignore_stale_approvals && r.stale))
                .count() as u64;
            if approvals < rule.required_approvals {
                return Some("Does not have enough approvals");
            }
        }
        if rule.block_on_rejected_reviews
            && self
                .reviews
                .iter()
                .any(|r| r.pr == n && r.state == "REQUEST_CHANGES" && r.official && !r.dismissed)
        {
            return Some("There are requested changes");
        }
        if rule.block_on_official_review_requests
            && self
                .reviews
                .iter()
                .any(|r| r.pr == n && r.state == "REQUEST_REVIEW" && r.official && !r.dismissed)
        {
            return Some("There are official review requests");
        }
        if rule.block_on_outdated_branch && self.is_behind(n) {
            return Some("The head branch is behind the base branch");
        }
        None
    }

    /// Required checks for a branch on GitHub: classic protection ∪ active rulesets, as
    /// (context, app id) pairs.
    pub fn github_required_checks(&self, branch: &str) -> Vec<(String, Option<i64>)> {
        let mut out: Vec<(String, Option<i64>)> = Vec::new();
        if let Some(p) = self.protection_for(branch)
            && p.enable_status_check
        {
            for c in &p.status_check_contexts {
                out.push((c.clone(), p.check_app_ids.get(c).copied()));
            }
        }
        for r in self.rulesets_for(branch) {
            for c in &r.required_status_checks {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        }
        out
    }

    /// Does a required GitHub check pass on `sha`? `Some(true)` pass, `Some(false)` fail/pending,
    /// `None` missing.
    pub fn github_check_state(
        &self,
        sha: &str,
        context: &str,
        app_id: Option<i64>,
    ) -> Option<bool> {
        let status = self
            .latest_statuses(sha)
            .into_iter()
            .find(|s| s.context.eq_ignore_ascii_case(context));
        let run = self
            .check_runs
            .iter()
            .filter(|r| r.head_sha == sha && r.name == context)
            .filter(|r| app_id.is_none_or(|a| a < 0 || a == r.app_id))
            .max_by_key(|r| r.id);
        if status.is_none() && run.is_none() {
            return None;
        }
        let s_ok = status.is_none_or(|s| s.state == "success");
        let r_ok = run.is_none_or(|r| {
            r.status == "completed"
                && matches!(
                    r.conclusion.as_deref(),
                    Some("success") | Some("neutral") | Some("skipped")
                )
        });
        Some(s_ok && r_ok)
    }

    /// GitHub merge gate: `None` = allowed, otherwise the 405 message. `method` is the
    /// merge method (`None`: judge the PR only, as `mergeable_state` does).
    pub fn github_merge_block(&self, n: u64, actor: &str) -> Option<String> {
        self.github_merge_block_with(n, actor, None)
    }

    pub fn github_merge_block_with(
        &self,
        n: u64,
        actor: &str,
        method: Option<&str>,
    ) -> Option<String> {
        let p = self.try_pull(n)?;
        let classic = self.protection_for(&p.base_ref);
        let admin_bypass =
            classic.is_some_and(|c| !c.enforce_admins) && self.perm(actor) >= Permission::Admin;
        let rulesets: Vec<&Ruleset> = self
            .rulesets_for(&p.base_ref)
            .into_iter()
            .filter(|r| !r.bypass.iter().any(|b| b.eq_ignore_ascii_case(actor)))
            .collect();
        let mut required: Vec<(String, Option<i64>)> = Vec::new();
        let mut strict = false;
        let mut approvals = 0;
        let mut code_owner = false;
        let mut linear = false;
        let mut signatures = false;
        if let Some(c) = classic
            && !admin_bypass
        {
            if c.enable_status_check {
                required.extend(
                    c.status_check_contexts
                        .iter()
                        .map(|x| (x.clone(), c.check_app_ids.get(x).copied())),
                );
                strict |= c.block_on_outdated_branch;
            }
            approvals = approvals.max(c.required_approvals);
            code_owner |= c.require_code_owner_reviews;
            linear |= c.required_linear_history;
            signatures |= c.required_signatures;
        }
        for r in &rulesets {
            if r.has_rule("merge_queue") {
                return Some(
                    "Repository rule violations found\n\nChanges must be made through the merge queue"
                        .to_string(),
                );
            }
            if let (Some(m), Some(allowed)) = (method, &r.allowed_merge_methods)
                && !allowed.iter().any(|a| a == m)
            {
                return Some(format!(
                    "Repository rule violations found\n\nMerge method {m} is not allowed on this branch"
                ));
            }
            required.extend(r.required_status_checks.iter().cloned());
            strict |= r.strict && !r.required_status_checks.is_empty();
            approvals = approvals.max(r.required_approving_review_count.unwrap_or(0));
            code_owner |= r.require_code_owner_review;
            linear |= r.has_rule("required_linear_history");
            signatures |= r.has_rule("required_signatures");
        }
        if signatures {
            return Some("Commits must have verified signatures.".to_string());
        }
        if linear && method == Some("merge") {
            return Some("This branch must not contain merge commits.".to_string());
        }
        if strict && self.is_behind(n) {
            return Some("Head branch is out of date. Review and try the merge again.".to_string());
        }
        let failing = required
            .iter()
            .filter(|(c, a)| self.github_check_state(&p.head_sha, c, *a) != Some(true))
            .count();
        if failing > 0 {
            return Some(format!(
                "{failing} of {} required status checks are expected.",
                required.len()
            ));
        }
        if approvals > 0 || code_owner {
            let (ok, changes) = self.github_review_counts(n);
            if changes > 0 {
                return Some("Changes have been requested on this pull request.".to_string());
            }
            if ok < approvals {
                return Some(format!(
                    "At least {approvals} approving review{} required by reviewers with write access.",
                    if approvals == 1 { " is" } else { "s are" }
                ));
            }
        }
        if code_owner && !self.github_code_owner_approved(n) {
            return Some("Waiting on code owner review.".to_string());
        }
        None
    }

    /// Whether a code owner's latest verdict on PR `n` is an approval.
    pub fn github_code_owner_approved(&self, n: u64) -> bool {
        let mut latest: BTreeMap<String, &Review> = BTreeMap::new();
        for r in self.reviews.iter().filter(|r| r.pr == n && !r.dismissed) {
            if matches!(r.state.as_str(), "APPROVED" | "REQUEST_CHANGES") {
                latest.insert(r.user.to_lowercase(), r);
            }
        }
        self.code_owners.iter().any(|o| {
            latest
                .get(&o.to_lowercase())
                .is_some_and(|r| r.state == "APPROVED")
        })
    }

    /// (approvals, change requests) from the latest non-comment review per writer.
    pub fn github_review_counts(&self, n: u64) -> (u64, u64) {
        let mut latest: BTreeMap<String, &Review> = BTreeMap::new();
        for r in self.reviews.iter().filter(|r| r.pr == n) {
            if matches!(r.state.as_str(), "APPROVED" | "REQUEST_CHANGES") {
                latest.insert(r.user.to_lowercase(), r);
            }
        }
        let mut ok = 0;
        let mut changes = 0;
        for r in latest.values() {
            if r.dismissed || self.perm(&r.user) < Permission::Write {
                continue;
            }
            if r.state == "APPROVED" {
                ok += 1;
            } else {
                changes += 1;
            }
        }
        (ok, changes)
    }

    /// GitHub `mergeable_state` for a PR.
    pub fn github_mergeable_state(&self, n: u64) -> &'static str {
        let Some(p) = self.try_pull(n) else {
            return "unknown";
        };
        if p.state != "open" {
            return "unknown";
        }
        if let Some(forced) = &p.mergeable_state_override {
            return match forced.as_str() {
                "clean" => "clean",
                "unstable" => "unstable",
                "has_hooks" => "has_hooks",
                "blocked" => "blocked",
                "behind" => "behind",
                "dirty" => "dirty",
                "draft" => "draft",
                _ => "unknown",
            };
        }
        if p.draft {
            return "draft";
        }
        match p.mergeable {
            None => return "unknown",
            Some(false) => return "dirty",
            Some(true) => {}
        }
        let author = p.user.clone();
        if let Some(msg) = self.github_merge_block(n, &author) {
            if msg.starts_with("Head branch is out of date") {
                return "behind";
            }
            return "blocked";
        }
        let failing = self
            .latest_statuses(&p.head_sha)
            .iter()
            .any(|s| s.state != "success")
            || self.check_runs.iter().any(|r| {
                r.head_sha == p.head_sha
                    && !matches!(
                        r.conclusion.as_deref(),
                        Some("success") | Some("neutral") | Some("skipped")
                    )
            });
        if failing { "unstable" } else { "clean" }
    }
}
