//! Pull requests (pushes, merges, updates) and what hangs on them: reviews, labels,
//! comments.

use super::*;
use crate::Dialect;
use crate::record::Mutation;

/// Why a merge or an update the forge performs failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GitOpError {
    /// No such pull request (or its base branch is gone).
    NoPull,
    /// Git mode: the merge conflicts.
    Conflict,
    /// Git mode: running git failed.
    Git(String),
}

impl SimState {
    pub fn try_pull(&self, n: u64) -> Option<&PullRequest> {
        self.pulls.get(&n)
    }

    /// The PR (panics if it does not exist: a test helper).
    pub fn pull(&self, n: u64) -> &PullRequest {
        match self.pulls.get(&n) {
            Some(p) => p,
            None => panic!("sim: no pull request #{n}"),
        }
    }

    /// Mutable PR (panics if it does not exist: a test helper).
    pub fn pr_mut(&mut self, n: u64) -> &mut PullRequest {
        match self.pulls.get_mut(&n) {
            Some(p) => p,
            None => panic!("sim: no pull request #{n}"),
        }
    }

    /// Push a new commit (no statuses) on a PR's head; returns the new head sha. Git mode:
    /// the commit writes `pr-<n>/push-<k>.txt`; simulated CI runs on it.
    pub fn push_to_pr(&mut self, n: u64) -> Option<String> {
        let p = self.pulls.get(&n)?;
        let (old, head_ref, fork) = (
            p.head_sha.clone(),
            p.head_ref.clone(),
            p.head_repo.is_some(),
        );
        let file = (
            format!("pr-{n}/push-{}.txt", self.commit_counter + 1),
            format!("{head_ref}: new push\n"),
        );
        let sha = self
            .commit_files(vec![old], &format!("{head_ref}: new push"), "sim", &[file])
            .ok()?;
        let t = self.now();
        if let Some(p) = self.pulls.get_mut(&n) {
            p.head_sha = sha.clone();
            p.updated_at = t;
        }
        if !fork {
            self.branches.insert(head_ref.clone(), sha.clone());
        }
        self.on_head_changed(n, true);
        self.write_pull_ref(n);
        self.after_head_push(&head_ref, &sha, fork);
        Some(sha)
    }

    /// After a head change. Gitea (services/pull/pull.go) marks reviews stale, and dismisses
    /// approvals when protection asks for it, only when the PR's diff changed — a clean merge
    /// of the base keeps them. GitHub dismisses approvals on any new commit when protection
    /// asks for it (and has no stale flag).
    pub(crate) fn on_head_changed(&mut self, n: u64, diff_changed: bool) {
        let Some(p) = self.pulls.get(&n) else { return };
        let head = p.head_sha.clone();
        let dismiss = self
            .protection_for(&p.base_ref)
            .map(|r| r.dismiss_stale_approvals)
            .unwrap_or(false);
        let github = self.dialect == Dialect::GitHub;
        if !diff_changed && !github {
            return;
        }
        for r in self.reviews.iter_mut().filter(|r| r.pr == n) {
            if r.commit_id != head {
                r.stale = true;
                if dismiss && r.state == "APPROVED" {
                    r.dismissed = true;
                }
            }
        }
    }

    /// True when the base head is not contained in the PR head.
    pub fn is_behind(&self, n: u64) -> bool {
        match self.pulls.get(&n) {
            Some(p) => match self.branch_head(&p.base_ref) {
                Some(b) => !self.is_ancestor(&b, &p.head_sha),
                None => false,
            },
            None => false,
        }
    }

    /// Perform a merge (no checks). Returns the new base head (empty when it fails: a
    /// conflict in git mode, or no such PR).
    pub fn do_merge(
        &mut self,
        n: u64,
        style: &str,
        title: &str,
        message: &str,
        actor: &str,
    ) -> String {
        self.try_merge(n, style, title, message, actor)
            .unwrap_or_default()
    }

    /// Perform a merge (no checks): the new base head. Git mode: a real commit whose tree is
    /// `git merge-tree` of base and head — two parents for `merge` / `rebase-merge`, one (the
    /// base) for `squash` and `rebase` (one commit, not a replay), and the head itself for
    /// `fast-forward-only`.
    pub(crate) fn try_merge(
        &mut self,
        n: u64,
        style: &str,
        title: &str,
        message: &str,
        actor: &str,
    ) -> Result<String, GitOpError> {
        let p = self.pulls.get(&n).ok_or(GitOpError::NoPull)?;
        let (head, base_ref, head_ref, ptitle) = (
            p.head_sha.clone(),
            p.base_ref.clone(),
            p.head_ref.clone(),
            p.title.clone(),
        );
        let base_head = self.branch_head(&base_ref).unwrap_or_default();
        let mut msg = if title.is_empty() {
            format!("Merge pull request '{ptitle}' (#{n}) from {head_ref} into {base_ref}")
        } else {
            title.to_string()
        };
        if !message.is_empty() {
            msg = format!("{msg}\n\n{message}");
        }
        let parents = match style {
            "fast-forward-only" => None,
            "squash" | "rebase" => Some(vec![base_head.clone()]),
            _ => Some(vec![base_head.clone(), head.clone()]),
        };
        let new_head = match (parents, self.repo()) {
            (None, _) => head.clone(),
            (Some(parents), None) => self.new_commit(parents, &msg, actor),
            (Some(parents), Some(repo)) => {
                let tree = repo
                    .merge_tree(&base_head, &head)
                    .map_err(|e| GitOpError::Git(e.to_string()))?
                    .ok_or(GitOpError::Conflict)?;
                self.commit_tree(&repo, &tree, parents, &msg, actor)
                    .map_err(|e| GitOpError::Git(e.to_string()))?
            }
        };
        self.branches.insert(base_ref.clone(), new_head.clone());
        self.mark_merged(n, actor, &new_head);
        self.after_push(&base_ref, &new_head);
        Ok(new_head)
    }

    /// Mark PR `n` merged by `actor` with `merge_sha` (closed, now).
    pub(crate) fn mark_merged(&mut self, n: u64, actor: &str, merge_sha: &str) {
        let t = self.now();
        if let Some(p) = self.pulls.get_mut(&n) {
            p.merged = true;
            p.state = "closed".to_string();
            p.merged_at = Some(t);
            p.closed_at = Some(t);
            p.updated_at = t;
            p.merged_by = Some(actor.to_string());
            p.merge_commit_sha = Some(merge_sha.to_string());
        }
    }

    /// Update the PR head with its base (no checks). Returns the new head (`None`: no such
    /// PR, or a conflict in git mode).
    pub fn do_update(&mut self, n: u64, style: &str) -> Option<String> {
        self.try_update(n, style).ok()
    }

    /// Update the PR head with its base (no checks). `merge`: a commit with parents (head,
    /// base head); `rebase`: one commit on the base head (not a replay). Git mode: the tree
    /// is `git merge-tree` of head and base, and a conflict is an error.
    pub(crate) fn try_update(&mut self, n: u64, style: &str) -> Result<String, GitOpError> {
        let p = self.pulls.get(&n).ok_or(GitOpError::NoPull)?;
        let (old, base_ref, head_ref, fork) = (
            p.head_sha.clone(),
            p.base_ref.clone(),
            p.head_ref.clone(),
            p.head_repo.is_some(),
        );
        let base_head = self.branch_head(&base_ref).ok_or(GitOpError::NoPull)?;
        let (parents, msg) = if style == "rebase" {
            (
                vec![base_head.clone()],
                format!("{head_ref}: rebased onto {base_ref}"),
            )
        } else {
            (
                vec![old.clone(), base_head.clone()],
                format!("Merge branch '{base_ref}' into {head_ref}"),
            )
        };
        let new = match self.repo() {
            None => self.new_commit(parents, &msg, "sim"),
            Some(repo) => {
                let tree = repo
                    .merge_tree(&old, &base_head)
                    .map_err(|e| GitOpError::Git(e.to_string()))?
                    .ok_or(GitOpError::Conflict)?;
                self.commit_tree(&repo, &tree, parents, &msg, "sim")
                    .map_err(|e| GitOpError::Git(e.to_string()))?
            }
        };
        let t = self.now();
        if let Some(p) = self.pulls.get_mut(&n) {
            p.head_sha = new.clone();
            p.merge_base = base_head;
            p.updated_at = t;
        }
        if !fork {
            self.branches.insert(head_ref.clone(), new.clone());
        }
        // A merge of the base changes no line of the PR's diff; a rebase is treated as a
        // new diff (the simulator does not compare trees).
        self.on_head_changed(n, style == "rebase");
        self.write_pull_ref(n);
        self.after_head_push(&head_ref, &new, fork);
        Ok(new)
    }

    /// Add a review on the PR head (official when the reviewer has write); returns its id.
    pub fn add_review(&mut self, pr: u64, user: &str, state: &str) -> u64 {
        let id = self.alloc_id();
        let t = self.tick();
        let commit = self
            .try_pull(pr)
            .map(|p| p.head_sha.clone())
            .unwrap_or_default();
        let official = self.perm(user) >= Permission::Write;
        let state = normalize_review_state(state).unwrap_or("COMMENT");
        if official && matches!(state, "APPROVED" | "REQUEST_CHANGES") {
            // Gitea (models/issues/review.go CreateReview): a reviewer's new official
            // verdict makes their earlier ones unofficial.
            for r in self
                .reviews
                .iter_mut()
                .filter(|r| r.pr == pr && r.user == user)
            {
                r.official = false;
            }
        }
        self.reviews.push(Review {
            id,
            pr,
            user: user.to_string(),
            state: state.to_string(),
            body: String::new(),
            commit_id: commit,
            official,
            stale: false,
            dismissed: false,
            submitted_at: t,
        });
        id
    }

    pub fn reviews_for(&self, pr: u64) -> Vec<Review> {
        self.reviews
            .iter()
            .filter(|r| r.pr == pr)
            .cloned()
            .collect()
    }

    /// Create a repo label; returns its id.
    pub fn create_label(&mut self, name: &str, color: &str, description: &str) -> u64 {
        let id = self.alloc_id();
        self.labels.push(Label {
            id,
            name: name.to_string(),
            color: color.trim_start_matches('#').to_string(),
            description: description.to_string(),
        });
        id
    }

    pub fn label_by_name(&self, name: &str) -> Option<&Label> {
        self.labels.iter().find(|l| l.name == name)
    }

    pub fn label_by_id(&self, id: u64) -> Option<&Label> {
        self.labels.iter().find(|l| l.id == id)
    }

    /// Names of the PR's labels.
    pub fn pr_label_names(&self, pr: u64) -> Vec<String> {
        self.try_pull(pr)
            .map(|p| {
                p.labels
                    .iter()
                    .filter_map(|id| self.label_by_id(*id))
                    .map(|l| l.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Add a comment; returns its id.
    /// Edits a comment's body; records a mutation only when the text changed.
    pub fn edit_comment(&mut self, id: u64, text: String) {
        let t = self.tick();
        let mut changed = false;
        if let Some(c) = self.comments.iter_mut().find(|c| c.id == id)
            && c.body != text
        {
            c.body = text.clone();
            c.updated_at = t;
            changed = true;
        }
        if changed {
            self.record(Mutation::CommentEdited { id, body: text });
        }
    }

    pub fn add_comment(&mut self, pr: u64, user: &str, body: &str) -> u64 {
        let id = self.alloc_id();
        let t = self.tick();
        self.comments.push(Comment {
            id,
            pr,
            user: user.to_string(),
            body: body.to_string(),
            created_at: t,
            updated_at: t,
        });
        id
    }

    /// The ids of a pull request's comments, oldest first.
    pub fn comment_ids(&self, pr: u64) -> Vec<u64> {
        self.comments
            .iter()
            .filter(|c| c.pr == pr)
            .map(|c| c.id)
            .collect()
    }
}
