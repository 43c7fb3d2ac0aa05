//! The commit graph and branches (ancestry, merge bases, history), commit statuses and
//! check runs.

use std::collections::{HashSet, VecDeque};

use super::*;
use crate::{Dialect, fake_sha};

impl SimState {
    /// Create a commit with the given parents and message; returns its sha. Git mode: the
    /// commit writes `sim/commit-<k>.txt` on the first parent's tree (an empty string when
    /// git fails).
    pub fn new_commit(&mut self, parents: Vec<String>, message: &str, author: &str) -> String {
        if self.git.is_some() {
            let file = format!("sim/commit-{}.txt", self.commit_counter + 1);
            return self
                .commit_files(parents, message, author, &[(file, format!("{message}\n"))])
                .unwrap_or_default();
        }
        self.fake_commit(parents, message, author)
    }

    /// A synthetic commit (sha from [`fake_sha`]).
    pub(crate) fn fake_commit(
        &mut self,
        parents: Vec<String>,
        message: &str,
        author: &str,
    ) -> String {
        self.commit_counter += 1;
        let sha = fake_sha(&format!(
            "{}/{}#{}:{}:{}",
            self.owner,
            self.name,
            self.commit_counter,
            message,
            parents.join(",")
        ));
        let created = self.tick();
        self.commits.insert(
            sha.clone(),
            Commit {
                sha: sha.clone(),
                parents,
                message: message.to_string(),
                author: author.to_string(),
                email: String::new(),
                committer: String::new(),
                committer_email: String::new(),
                created,
            },
        );
        sha
    }

    /// Create a commit with these parents (generated message); returns the sha.
    pub fn add_commit(&mut self, parents: &[&str]) -> String {
        let n = self.commit_counter + 1;
        self.new_commit(
            parents.iter().map(|s| s.to_string()).collect(),
            &format!("commit {n}"),
            "sim",
        )
    }

    /// Point a branch at a sha (creates the branch). Also moves open same-repo PRs whose
    /// head is this branch. A push: git refs (git mode) and simulated CI follow.
    pub fn set_branch_head(&mut self, name: &str, sha: &str) {
        self.branches.insert(name.to_string(), sha.to_string());
        for p in self.pulls.values_mut() {
            if p.head_repo.is_none() && p.head_ref == name && p.state == "open" {
                p.head_sha = sha.to_string();
            }
        }
        self.after_push(name, sha);
    }

    /// Push one new commit on top of a branch; returns the new head. Git mode: the commit
    /// writes `<branch>/push-<k>.txt`.
    pub fn push_commit(&mut self, branch: &str) -> Option<String> {
        let head = self.branch_head(branch)?;
        let file = (
            format!("{branch}/push-{}.txt", self.commit_counter + 1),
            format!("{branch}: pushed\n"),
        );
        let sha = self
            .commit_files(vec![head], &format!("{branch}: pushed"), "sim", &[file])
            .ok()?;
        self.set_branch_head(branch, &sha);
        Some(sha)
    }

    pub fn branch_head(&self, name: &str) -> Option<String> {
        self.branches.get(name).cloned()
    }

    /// Resolve a ref expression: `pr:N`, `branch~N`, branch name, full sha or unique prefix (≥ 4).
    pub fn resolve(&self, expr: &str) -> Option<String> {
        if let Some(n) = expr.strip_prefix("pr:") {
            return n
                .parse()
                .ok()
                .and_then(|n| self.try_pull(n))
                .map(|p| p.head_sha.clone());
        }
        if let Some((b, n)) = expr.rsplit_once('~')
            && let Ok(n) = n.parse::<usize>()
        {
            let mut sha = self.resolve(b)?;
            for _ in 0..n {
                sha = self.commits.get(&sha)?.parents.first()?.clone();
            }
            return Some(sha);
        }
        if let Some(h) = self.branches.get(expr) {
            return Some(h.clone());
        }
        self.resolve_sha(expr)
    }

    /// Full sha or unique hex prefix (≥ 4 chars).
    pub fn resolve_sha(&self, s: &str) -> Option<String> {
        if self.commits.contains_key(s) {
            return Some(s.to_string());
        }
        if s.len() < 4 || s.len() > 40 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let s = s.to_ascii_lowercase();
        let mut it = self
            .commits
            .range(s.clone()..)
            .take_while(|(k, _)| k.starts_with(&s));
        let first = it.next()?;
        if it.next().is_some() {
            return None;
        }
        Some(first.0.clone())
    }

    /// Branch name or sha → sha.
    pub fn resolve_ref(&self, r: &str) -> Option<String> {
        self.branches
            .get(r)
            .cloned()
            .or_else(|| self.resolve_sha(r))
    }

    /// All commits reachable from `sha` (inclusive).
    pub fn ancestors(&self, sha: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut q = VecDeque::from([sha.to_string()]);
        while let Some(s) = q.pop_front() {
            if !seen.insert(s.clone()) {
                continue;
            }
            if let Some(c) = self.commits.get(&s) {
                q.extend(c.parents.iter().cloned());
            }
        }
        seen
    }

    /// Is `anc` reachable from `desc` (inclusive)?
    pub fn is_ancestor(&self, anc: &str, desc: &str) -> bool {
        self.ancestors(desc).contains(anc)
    }

    /// Best common ancestor (the newest commit reachable from both).
    pub fn merge_base(&self, a: &str, b: &str) -> Option<String> {
        let aa = self.ancestors(a);
        let mut q = VecDeque::from([b.to_string()]);
        let mut seen = HashSet::new();
        while let Some(s) = q.pop_front() {
            if !seen.insert(s.clone()) {
                continue;
            }
            if aa.contains(&s) {
                return Some(s);
            }
            if let Some(c) = self.commits.get(&s) {
                q.extend(c.parents.iter().cloned());
            }
        }
        None
    }

    /// First-parent history from `sha`, newest first.
    pub fn first_parent_history(&self, sha: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = Some(sha.to_string());
        while let Some(s) = cur {
            let Some(c) = self.commits.get(&s) else { break };
            cur = c.parents.first().cloned();
            out.push(s);
        }
        out
    }

    /// Commits reachable from `head` but not from `base`, newest first (by creation).
    pub fn commits_between(&self, base: &str, head: &str) -> Vec<String> {
        let excluded = self.ancestors(base);
        let mut v: Vec<&Commit> = self
            .ancestors(head)
            .iter()
            .filter(|s| !excluded.contains(*s))
            .filter_map(|s| self.commits.get(s))
            .collect();
        v.sort_by(|a, b| b.created.cmp(&a.created).then(b.sha.cmp(&a.sha)));
        v.into_iter().map(|c| c.sha.clone()).collect()
    }

    /// Append a status row (creator `ci-bot`); returns its id.
    pub fn add_status(&mut self, sha: &str, context: &str, state: &str) -> u64 {
        self.add_status_full(sha, context, state, "", "", "ci-bot")
    }

    /// Append a status row with all fields; returns its id.
    pub fn add_status_full(
        &mut self,
        sha: &str,
        context: &str,
        state: &str,
        description: &str,
        target_url: &str,
        creator: &str,
    ) -> u64 {
        let id = self.alloc_id();
        let t = self.tick();
        self.statuses.push(CommitStatus {
            id,
            sha: sha.to_string(),
            context: context.to_string(),
            state: state.to_string(),
            target_url: target_url.to_string(),
            description: description.to_string(),
            created_at: t,
            updated_at: t,
            creator: creator.to_string(),
        });
        id
    }

    /// Every status row of a sha, oldest first.
    pub fn statuses_for(&self, sha: &str) -> Vec<CommitStatus> {
        self.statuses
            .iter()
            .filter(|s| s.sha == sha)
            .cloned()
            .collect()
    }

    /// Latest row per context (Gitea: exact trimmed context; GitHub: case-insensitive), newest first.
    pub fn latest_statuses(&self, sha: &str) -> Vec<CommitStatus> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for s in self.statuses.iter().rev().filter(|s| s.sha == sha) {
            let key = match self.dialect {
                Dialect::Gitea => s.context.trim().to_string(),
                Dialect::GitHub => s.context.to_lowercase(),
            };
            if seen.insert(key) {
                out.push(s.clone());
            }
        }
        out
    }

    /// Add a check run; returns its id.
    pub fn add_check_run(
        &mut self,
        sha: &str,
        name: &str,
        status: &str,
        conclusion: Option<&str>,
    ) -> u64 {
        let id = self.alloc_id();
        let t = self.tick();
        self.check_runs.push(CheckRun {
            id,
            head_sha: sha.to_string(),
            name: name.to_string(),
            status: status.to_string(),
            conclusion: conclusion.map(str::to_string),
            details_url: None,
            app_id: 15368,
            app_slug: "github-actions".to_string(),
            started_at: t,
            completed_at: if status == "completed" { Some(t) } else { None },
        });
        id
    }
}
