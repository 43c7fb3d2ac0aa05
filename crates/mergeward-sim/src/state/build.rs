//! Building a [`SimState`] from a [`Scenario`]: users, labels, branches with generated
//! history, pull requests, statuses, check runs, reviews and comments, each checked.

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};

use super::*;
use crate::Dialect;

const GITEA_STATES: &[&str] = &[
    "pending", "success", "error", "failure", "warning", "skipped",
];
const GITHUB_STATES: &[&str] = &["pending", "success", "error", "failure"];

fn inv(msg: impl Into<String>) -> ScenarioError {
    ScenarioError::invalid(msg)
}

fn git_err(e: crate::git::GitError) -> ScenarioError {
    inv(format!("git: {e}"))
}

impl SimState {
    /// Build the state described by a scenario (git mode: with its bare repository).
    pub fn from_scenario(sc: &Scenario) -> Result<SimState, ScenarioError> {
        SimState::from_scenario_at(sc, "http://127.0.0.1")
    }

    /// Build the state of a server whose root is `base_url`.
    pub(crate) fn from_scenario_at(
        sc: &Scenario,
        base_url: &str,
    ) -> Result<SimState, ScenarioError> {
        let (owner, name) = sc
            .repo
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| inv(format!("repo must be \"owner/name\", got {:?}", sc.repo)))?;
        let dialect = match sc.forge {
            ForgeKind::GitHub => Dialect::GitHub,
            _ => Dialect::Gitea,
        };
        let paging = match (sc.paging, dialect) {
            (Some(p), _) => {
                if p.default_limit == 0 || p.max_limit == 0 {
                    return Err(inv("paging limits must be positive"));
                }
                Paging {
                    default_limit: p.default_limit,
                    max_limit: p.max_limit,
                }
            }
            (None, Dialect::Gitea) => Paging {
                default_limit: 30,
                max_limit: 50,
            },
            (None, Dialect::GitHub) => Paging {
                default_limit: 30,
                max_limit: 100,
            },
        };
        let clock = match sc.epoch {
            Some(e) => e,
            None => {
                let now = Utc::now() - Duration::days(1);
                Utc.timestamp_opt(now.timestamp(), 0)
                    .single()
                    .unwrap_or(now)
            }
        };
        let mut st = SimState {
            dialect,
            forge: sc.forge,
            version: sc.effective_version(),
            owner: owner.to_string(),
            name: name.to_string(),
            repo_id: 1,
            default_branch: sc.default_branch.clone(),
            paging,
            latency_ms: sc.latency_ms,
            commits: BTreeMap::new(),
            branches: BTreeMap::new(),
            statuses: Vec::new(),
            check_runs: Vec::new(),
            pulls: BTreeMap::new(),
            reviews: Vec::new(),
            labels: Vec::new(),
            comments: Vec::new(),
            protections: Vec::new(),
            rulesets: Vec::new(),
            issues: Vec::new(),
            users: Vec::new(),
            mutations: Vec::new(),
            rate_limit: 5000,
            rate_used: 0,
            rate_reset: Utc::now().timestamp() + 3600,
            initial_faults: sc.faults.clone(),
            files: Default::default(),
            job_logs: sc.job_logs.clone(),
            code_owners: sc.code_owners.clone(),
            no_rulesets_api: sc.no_rulesets_api,
            git: None,
            // Set once the scenario is built: setup pushes start no CI unless `on_setup`.
            ci: None,
            ci_runs: Vec::new(),
            breaking_heads: Vec::new(),
            base_url: base_url.trim_end_matches('/').to_string(),
            mergeable_keys: BTreeMap::new(),
            clock,
            next_id: 1,
            commit_counter: 0,
        };
        if let Some(ci) = &sc.ci
            && !(0.0..=1.0).contains(&ci.flake)
        {
            return Err(inv(format!(
                "ci: flake must be within 0..=1, got {}",
                ci.flake
            )));
        }
        if sc.git {
            st.git = Some(
                crate::git::GitRepo::create(owner, name, &sc.default_branch).map_err(git_err)?,
            );
        }
        // users
        for u in &sc.users {
            if st.user(&u.login).is_some() {
                return Err(inv(format!("duplicate user {:?}", u.login)));
            }
            if let Some(t) = &u.token
                && st
                    .users
                    .iter()
                    .any(|x| x.token.as_deref() == Some(t.as_str()))
            {
                return Err(inv(format!("duplicate token for user {:?}", u.login)));
            }
            let id = st.users.len() as u64 + 2;
            st.users.push(User {
                id,
                login: u.login.clone(),
                token: u.token.clone(),
                permission: u.permission,
                site_admin: u.site_admin,
                scopes: u.scopes.clone(),
            });
        }
        // labels
        for l in &sc.labels {
            if st.label_by_name(&l.name).is_some() {
                return Err(inv(format!("duplicate label {:?}", l.name)));
            }
            st.create_label(&l.name, &l.color, &l.description);
        }
        // default branch first
        let default_spec = sc.branches.iter().find(|b| b.name == sc.default_branch);
        let n = default_spec.and_then(|b| b.commits).unwrap_or(3);
        let root_from = match default_spec.and_then(|b| b.from.clone()) {
            Some(f) => return Err(inv(format!("default branch cannot fork from {f:?}"))),
            None => None,
        };
        if n == 0 {
            return Err(inv("the default branch needs at least one commit"));
        }
        let head =
            st.generate_history(root_from, &sc.default_branch, &sc.default_branch, n, &[])?;
        st.branches.insert(sc.default_branch.clone(), head);
        for b in &sc.branches {
            if b.name == sc.default_branch {
                continue;
            }
            if st.branches.contains_key(&b.name) {
                return Err(inv(format!("duplicate branch {:?}", b.name)));
            }
            let from = b.from.clone().unwrap_or_else(|| sc.default_branch.clone());
            let start = st.resolve(&from).ok_or_else(|| {
                inv(format!(
                    "branch {:?}: cannot resolve from {:?}",
                    b.name, from
                ))
            })?;
            let head =
                st.generate_history(Some(start), &b.name, &b.name, b.commits.unwrap_or(1), &[])?;
            st.branches.insert(b.name.clone(), head);
        }
        // protections
        for p in &sc.protections {
            let created_at = st.tick();
            st.protections.push(BranchProtection {
                rule_name: p.branch.clone(),
                enable_status_check: p
                    .enable_status_check
                    .unwrap_or(!p.status_check_contexts.is_empty()),
                status_check_contexts: p.status_check_contexts.clone(),
                check_app_ids: p.check_app_ids.clone(),
                required_approvals: p.required_approvals,
                block_on_rejected_reviews: p.block_on_rejected_reviews,
                block_on_official_review_requests: p.block_on_official_review_requests,
                block_on_outdated_branch: p.block_on_outdated_branch,
                dismiss_stale_approvals: p.dismiss_stale_approvals,
                ignore_stale_approvals: p.ignore_stale_approvals,
                enforce_admins: p.enforce_admins,
                enable_push: p.enable_push,
                push_whitelist: p.push_whitelist.clone(),
                push_bypass: p.push_bypass.clone(),
                merge_whitelist: p.merge_whitelist.clone(),
                created_at,
                require_code_owner_reviews: p.require_code_owner_reviews,
                require_last_push_approval: p.require_last_push_approval,
                required_signatures: p.required_signatures,
                required_linear_history: p.required_linear_history,
                required_conversation_resolution: p.required_conversation_resolution,
            });
        }
        for (i, r) in sc.rulesets.iter().enumerate() {
            if !["active", "evaluate", "disabled"].contains(&r.enforcement.as_str()) {
                return Err(inv(format!(
                    "ruleset {:?}: bad enforcement {:?}",
                    r.name, r.enforcement
                )));
            }
            st.rulesets.push(Ruleset {
                id: r.id.unwrap_or(1000 + i as u64),
                name: r.name.clone(),
                branches: r.branches.clone(),
                required_status_checks: r
                    .required_status_checks
                    .iter()
                    .map(|c| (c.context().to_string(), c.app_id()))
                    .collect(),
                strict: r.strict,
                required_approving_review_count: r.required_approving_review_count,
                enforcement: r.enforcement.clone(),
                require_code_owner_review: r.require_code_owner_review,
                allowed_merge_methods: r.allowed_merge_methods.clone(),
                rules: r.rules.clone(),
                bypass: r.bypass.clone(),
            });
        }
        // pulls
        for p in &sc.pulls {
            st.build_pull(sc, p)?;
        }
        // statuses
        let allowed = match dialect {
            Dialect::Gitea => GITEA_STATES,
            Dialect::GitHub => GITHUB_STATES,
        };
        for s in &sc.statuses {
            if !allowed.contains(&s.state.as_str()) {
                return Err(inv(format!(
                    "status {:?}: invalid state {:?}",
                    s.context, s.state
                )));
            }
            let sha = st.resolve_target(&s.target(), "status")?;
            let creator = s.creator.clone().unwrap_or_else(|| "ci-bot".to_string());
            for i in 1..=s.count.max(1) {
                let context = if s.count > 1 {
                    s.context.replace("{n}", &i.to_string())
                } else {
                    s.context.replace("{n}", "1")
                };
                st.add_status_full(
                    &sha,
                    &context,
                    &s.state,
                    &s.description,
                    &s.target_url,
                    &creator,
                );
            }
        }
        for f in &sc.files {
            let at = f.reference.as_deref().unwrap_or(&sc.default_branch);
            let sha = st
                .resolve(at)
                .ok_or_else(|| inv(format!("file {:?}: unknown ref {at:?}", f.path)))?;
            st.set_file(&sha, &f.path, &f.content);
        }
        for c in &sc.check_runs {
            let sha = st.resolve_target(&c.target(), "check run")?;
            let conclusion = match (&c.conclusion, c.status.as_str()) {
                (Some(x), _) => Some(x.clone()),
                (None, "completed") => Some("success".to_string()),
                (None, _) => None,
            };
            let id = st.add_check_run(&sha, &c.name, &c.status, conclusion.as_deref());
            if let Some(run) = st.check_runs.iter_mut().find(|r| r.id == id) {
                run.details_url = c.details_url.clone();
                run.app_id = c.app_id;
                run.app_slug = c.app_slug.clone();
            }
        }
        for r in &sc.reviews {
            let state = normalize_review_state(&r.state).ok_or_else(|| {
                inv(format!(
                    "review on PR {}: invalid state {:?}",
                    r.pr, r.state
                ))
            })?;
            let head = st
                .try_pull(r.pr)
                .map(|p| p.head_sha.clone())
                .ok_or_else(|| inv(format!("review references unknown PR {}", r.pr)))?;
            let commit = match &r.commit {
                Some(c) => st.resolve(c).ok_or_else(|| {
                    inv(format!(
                        "review on PR {}: cannot resolve commit {:?}",
                        r.pr, c
                    ))
                })?,
                None => head.clone(),
            };
            let official = r.official.unwrap_or(st.perm(&r.user) >= Permission::Write);
            let stale = r.stale.unwrap_or(commit != head);
            let id = st.add_review(r.pr, &r.user, state);
            if let Some(rv) = st.reviews.iter_mut().find(|x| x.id == id) {
                rv.body = r.body.clone();
                rv.commit_id = commit;
                rv.official = official;
                rv.stale = stale;
                rv.dismissed = r.dismissed;
                if r.user_deleted {
                    rv.user = String::new();
                }
                if r.commit_id_null {
                    rv.commit_id = String::new();
                }
            }
        }
        for c in &sc.comments {
            if st.try_pull(c.pr).is_none() {
                return Err(inv(format!("comment references unknown PR {}", c.pr)));
            }
            st.add_comment(c.pr, &c.user, &c.body);
        }
        if st.git.is_some() {
            st.write_all_refs().map_err(git_err)?;
            st.refresh_mergeable();
        }
        st.ci = sc.ci.clone();
        if sc.ci.as_ref().is_some_and(|c| c.on_setup) {
            let heads: Vec<(String, String)> = st
                .branches
                .iter()
                .map(|(b, s)| (b.clone(), s.clone()))
                .collect();
            for (b, sha) in heads {
                st.start_ci(&b, &sha);
            }
        }
        Ok(st)
    }

    fn build_pull(&mut self, sc: &Scenario, p: &PullSpec) -> Result<(), ScenarioError> {
        let number = p
            .number
            .unwrap_or_else(|| self.pulls.keys().next_back().copied().unwrap_or(0) + 1);
        if number == 0 || self.pulls.contains_key(&number) {
            return Err(inv(format!("PR number {number} is invalid or duplicate")));
        }
        let base = p.base.clone().unwrap_or_else(|| sc.default_branch.clone());
        let base_head = self
            .branch_head(&base)
            .ok_or_else(|| inv(format!("PR {number}: unknown base branch {base:?}")))?;
        let head_ref = p.head.clone().unwrap_or_else(|| format!("pr-{number}"));
        let existing = if p.fork.is_none() {
            self.branch_head(&head_ref)
        } else {
            None
        };
        let (fork_point, head_sha) = match (&existing, &p.from, p.behind) {
            (Some(h), None, false) => (
                self.merge_base(&base_head, h).unwrap_or(base_head.clone()),
                h.clone(),
            ),
            _ => {
                let from = match (&p.from, p.behind) {
                    (Some(f), _) => f.clone(),
                    (None, true) => format!("{base}~1"),
                    (None, false) => base.clone(),
                };
                let start = self
                    .resolve(&from)
                    .ok_or_else(|| inv(format!("PR {number}: cannot resolve from {from:?}")))?;
                let extra: Vec<(String, String)> = p
                    .files
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !extra.is_empty() && p.commits == 0 {
                    return Err(inv(format!("PR {number}: files need at least one commit")));
                }
                let head = self.generate_history(
                    Some(start.clone()),
                    &head_ref,
                    &format!("pr-{number}"),
                    p.commits,
                    &extra,
                )?;
                (self.merge_base(&base_head, &head).unwrap_or(start), head)
            }
        };
        let user = p
            .user
            .clone()
            .or_else(|| self.users.first().map(|u| u.login.clone()))
            .unwrap_or_else(|| "octocat".to_string());
        let mut labels = Vec::new();
        for l in &p.labels {
            let id = match self.label_by_name(l) {
                Some(x) => x.id,
                None => self.create_label(l, "ededed", ""),
            };
            labels.push(id);
        }
        if !["open", "closed"].contains(&p.state.as_str()) {
            return Err(inv(format!("PR {number}: state must be open or closed")));
        }
        if self.git.is_some() && p.conflict {
            return Err(inv(format!(
                "PR {number}: in git mode conflicts come from file contents (PullSpec::file), not `conflict`"
            )));
        }
        if self.git.is_none() && !p.files.is_empty() {
            return Err(inv(format!(
                "PR {number}: files need git mode (Scenario::git)"
            )));
        }
        if !p.files.is_empty() && existing.is_some() && p.from.is_none() && !p.behind {
            return Err(inv(format!(
                "PR {number}: files need generated commits, but head {head_ref:?} is an existing branch"
            )));
        }
        let created_at = self.tick();
        let id = self.alloc_id();
        if p.fork.is_none() {
            self.branches.insert(head_ref.clone(), head_sha.clone());
        }
        let mergeable = match p.mergeable {
            Some(m) => m,
            None => Some(!p.conflict),
        };
        self.pulls.insert(
            number,
            PullRequest {
                number,
                id,
                title: p.title.clone().unwrap_or_else(|| format!("PR #{number}")),
                body: p.body.clone(),
                user,
                state: p.state.clone(),
                merged: false,
                merged_at: None,
                merged_by: None,
                merge_commit_sha: None,
                draft: p.draft,
                head_ref,
                head_sha,
                head_repo: p.fork.clone(),
                base_ref: base,
                merge_base: fork_point,
                mergeable,
                conflict: p.conflict,
                labels,
                created_at,
                updated_at: created_at,
                closed_at: if p.state == "closed" {
                    Some(created_at)
                } else {
                    None
                },
                mergeable_state_override: p.mergeable_state.clone(),
            },
        );
        if p.breaking
            && let Some(pr) = self.pulls.get(&number)
        {
            self.breaking_heads.push(pr.head_sha.clone());
        }
        if self.git.is_some() {
            self.write_pull_ref(number);
            if p.mergeable.is_some() {
                self.pin_mergeable(number);
            } else {
                self.refresh_mergeable();
            }
        }
        if p.merged {
            let actor = self.pull(number).user.clone();
            self.try_merge(number, "merge", "", "", &actor)
                .map_err(|e| inv(format!("PR {number}: cannot merge it: {e:?}")))?;
        }
        Ok(())
    }

    fn resolve_target(&self, t: &Target, what: &str) -> Result<String, ScenarioError> {
        match (t.pr, &t.branch, &t.sha) {
            (Some(n), None, None) => self
                .try_pull(n)
                .map(|p| p.head_sha.clone())
                .ok_or_else(|| inv(format!("{what} references unknown PR {n}"))),
            (None, Some(b), None) => self
                .branch_head(b)
                .ok_or_else(|| inv(format!("{what} references unknown branch {b:?}"))),
            (None, None, Some(s)) => self
                .resolve(s)
                .ok_or_else(|| inv(format!("{what}: cannot resolve sha {s:?}"))),
            _ => Err(inv(format!("{what} needs exactly one of pr, branch, sha"))),
        }
    }

    /// `n` commits on top of `from` (none: a new root); returns the head. Git mode: the
    /// root commit writes `README.md`, commit `i` writes `<prefix>/change-<i>.txt`, and the
    /// last one also `extra`.
    fn generate_history(
        &mut self,
        from: Option<String>,
        branch: &str,
        prefix: &str,
        n: usize,
        extra: &[(String, String)],
    ) -> Result<String, ScenarioError> {
        let mut head = from;
        for i in 0..n {
            let (msg, mut files) = if head.is_none() {
                (
                    "Initial commit".to_string(),
                    vec![(
                        "README.md".to_string(),
                        format!("# {}/{}\n", self.owner, self.name),
                    )],
                )
            } else {
                let msg = format!("{branch}: change {}", i + 1);
                let file = (format!("{prefix}/change-{}.txt", i + 1), format!("{msg}\n"));
                (msg, vec![file])
            };
            if i + 1 == n {
                files.extend(extra.iter().cloned());
            }
            let parents = head.iter().cloned().collect();
            head = Some(
                self.commit_files(parents, &msg, "sim", &files)
                    .map_err(git_err)?,
            );
        }
        match head {
            Some(h) => Ok(h),
            None => {
                let readme = (
                    "README.md".to_string(),
                    format!("# {}/{}\n", self.owner, self.name),
                );
                self.commit_files(Vec::new(), "Initial commit", "sim", &[readme])
                    .map_err(git_err)
            }
        }
    }
}
