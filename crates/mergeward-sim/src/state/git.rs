//! Git mode on the state side: refs written as branches and pull requests move,
//! mergeability from `git merge-tree`, the state synchronised after a push, pull requests
//! marked merged by a push (GitHub) or by `manually-merged` (Gitea).

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::*;
use crate::git::{GitError, GitRepo, ZERO_SHA};

/// Why a `manually-merged` request is refused (Gitea answers 409 for each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ManualMergeError {
    /// Not a full SHA, or no such commit.
    UnknownCommit,
    /// The commit is not on the base branch.
    NotOnBase,
    /// The PR head is not contained in the commit.
    HeadNotContained,
}

impl SimState {
    /// Whether the scenario is in git mode.
    pub fn is_git(&self) -> bool {
        self.git.is_some()
    }

    /// Git mode: the bare repository's directory.
    pub fn git_dir(&self) -> Option<PathBuf> {
        self.git.as_ref().map(|g| g.path().to_path_buf())
    }

    pub(crate) fn repo(&self) -> Option<GitRepo> {
        self.git.clone()
    }

    /// A commit's tree: git mode the real one (`<sha>^{tree}`), else a synthetic SHA.
    pub fn tree_of(&self, sha: &str) -> String {
        self.git
            .as_ref()
            .and_then(|r| {
                r.ok(&["rev-parse", &format!("{sha}^{{tree}}")], None, &[])
                    .ok()
            })
            .unwrap_or_else(|| crate::fake_sha(&format!("tree:{sha}")))
    }

    /// Git mode: create a commit whose tree is the first parent's with `files` written,
    /// recorded in `commits`. Other modes: a synthetic commit (`files` unused).
    pub(crate) fn commit_files(
        &mut self,
        parents: Vec<String>,
        message: &str,
        author: &str,
        files: &[(String, String)],
    ) -> Result<String, GitError> {
        let Some(repo) = self.repo() else {
            return Ok(self.fake_commit(parents, message, author));
        };
        let tree = repo.write_tree(parents.first().map(String::as_str), files)?;
        self.commit_tree(&repo, &tree, parents, message, author)
    }

    /// Git mode: a commit of `tree`, recorded in `commits`.
    pub(crate) fn commit_tree(
        &mut self,
        repo: &GitRepo,
        tree: &str,
        parents: Vec<String>,
        message: &str,
        author: &str,
    ) -> Result<String, GitError> {
        self.commit_counter += 1;
        let created = self.tick();
        let sha = repo.commit_tree(tree, &parents, message, author, created)?;
        self.commits.insert(
            sha.clone(),
            Commit {
                sha: sha.clone(),
                parents,
                message: message.to_string(),
                author: author.to_string(),
                email: format!("{author}@localhost"),
                committer: "sim".to_string(),
                committer_email: "sim@localhost".to_string(),
                created,
            },
        );
        Ok(sha)
    }

    /// Does `desc` contain `anc` (equal or descendant)? Git in git mode, the commit graph
    /// otherwise.
    pub(crate) fn contains_commit(&self, desc: &str, anc: &str) -> bool {
        match &self.git {
            Some(repo) => repo.is_ancestor(anc, desc),
            None => self.is_ancestor(anc, desc),
        }
    }

    /// Git mode: write `refs/heads/<branch>` from the state (deleted when absent).
    fn write_branch_ref(&self, branch: &str) {
        let Some(repo) = &self.git else { return };
        let name = format!("refs/heads/{branch}");
        let _ = match self.branches.get(branch) {
            Some(sha) => repo.set_ref(&name, sha),
            None => repo.ok(&["update-ref", "-d", &name], None, &[]).map(|_| ()),
        };
    }

    /// Git mode: write `refs/pull/<n>/head` from the PR's head.
    pub(crate) fn write_pull_ref(&self, n: u64) {
        let (Some(repo), Some(p)) = (&self.git, self.pulls.get(&n)) else {
            return;
        };
        let _ = repo.set_ref(&format!("refs/pull/{n}/head"), &p.head_sha);
    }

    /// Git mode: write every branch and `refs/pull/<n>/head` in one transaction.
    pub(crate) fn write_all_refs(&self) -> Result<(), GitError> {
        let Some(repo) = &self.git else { return Ok(()) };
        let mut refs: Vec<(String, String)> = self
            .branches
            .iter()
            .map(|(b, s)| (format!("refs/heads/{b}"), s.clone()))
            .collect();
        refs.extend(
            self.pulls
                .values()
                .map(|p| (format!("refs/pull/{}/head", p.number), p.head_sha.clone())),
        );
        repo.set_refs(&refs)
    }

    /// After `branch` moved to `sha` by a push the forge made (merge, update, a helper):
    /// git refs of the branch and of the PRs with that head branch, CI, mergeability.
    pub(crate) fn after_push(&mut self, branch: &str, sha: &str) {
        if self.git.is_some() {
            self.write_branch_ref(branch);
            let prs: Vec<u64> = self
                .pulls
                .values()
                .filter(|p| p.head_repo.is_none() && p.head_ref == branch)
                .map(|p| p.number)
                .collect();
            for n in prs {
                self.write_pull_ref(n);
            }
        }
        self.start_ci(branch, sha);
        self.refresh_mergeable();
    }

    /// After a PR's head branch moved to `sha`: as `after_push`, except that a
    /// fork's branch is not a branch of this repository (only CI and mergeability follow).
    pub(crate) fn after_head_push(&mut self, head_ref: &str, sha: &str, fork: bool) {
        if fork {
            self.start_ci(head_ref, sha);
            self.refresh_mergeable();
        } else {
            self.after_push(head_ref, sha);
        }
    }

    /// Git mode: recompute `mergeable` (and `conflict`) of every open PR whose base or head
    /// moved since the last computation, from `git merge-tree`.
    pub(crate) fn refresh_mergeable(&mut self) {
        let Some(repo) = self.repo() else { return };
        let open: Vec<(u64, String, String)> = self
            .pulls
            .values()
            .filter(|p| p.state == "open")
            .filter_map(|p| {
                let base = self.branches.get(&p.base_ref)?;
                Some((p.number, base.clone(), p.head_sha.clone()))
            })
            .collect();
        for (n, base, head) in open {
            let key = (base.clone(), head.clone());
            if self.mergeable_keys.get(&n) == Some(&key) {
                continue;
            }
            let Ok(tree) = repo.merge_tree(&base, &head) else {
                continue;
            };
            self.mergeable_keys.insert(n, key);
            if let Some(p) = self.pulls.get_mut(&n) {
                p.mergeable = Some(tree.is_some());
                p.conflict = tree.is_none();
            }
        }
    }

    /// Git mode: the PR's current (base head, head) is taken as computed: its `mergeable`
    /// stays as given until one of them moves.
    pub(crate) fn pin_mergeable(&mut self, n: u64) {
        let Some(p) = self.pulls.get(&n) else { return };
        if let Some(base) = self.branches.get(&p.base_ref) {
            self.mergeable_keys
                .insert(n, (base.clone(), p.head_sha.clone()));
        }
    }

    /// Import the commits reachable from `include` and not from `exclude` into `commits`.
    fn import_commits(&mut self, include: &[String], exclude: &[String]) -> Result<(), GitError> {
        let Some(repo) = self.repo() else {
            return Ok(());
        };
        for c in repo.log(include, exclude)? {
            if self.commits.contains_key(&c.sha) {
                continue;
            }
            self.commits.insert(
                c.sha.clone(),
                Commit {
                    sha: c.sha,
                    parents: c.parents,
                    message: c.message,
                    author: c.author,
                    email: c.author_email,
                    committer: c.committer,
                    committer_email: c.committer_email,
                    created: c.date,
                },
            );
        }
        Ok(())
    }

    /// After a `git push` by `user`: take the branches from the repository, import the new
    /// commits, move the PRs whose head branch moved (and their `refs/pull/<n>/head`), record
    /// a `Pushed` mutation per ref, start CI on each new head and, on GitHub, mark merged
    /// each open PR whose head the push brought into its base branch.
    pub(crate) fn sync_after_push(&mut self, user: &str) -> Result<(), GitError> {
        let Some(repo) = self.repo() else {
            return Ok(());
        };
        let heads = repo.refs("refs/heads/")?;
        let mut changes: Vec<(String, Option<String>, Option<String>)> = Vec::new();
        for (b, sha) in &heads {
            if self.branches.get(b) != Some(sha) {
                changes.push((b.clone(), self.branches.get(b).cloned(), Some(sha.clone())));
            }
        }
        for (b, sha) in &self.branches {
            if !heads.contains_key(b) {
                changes.push((b.clone(), Some(sha.clone()), None));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        let include: Vec<String> = changes
            .iter()
            .filter_map(|c| c.2.clone())
            .filter(|s| !self.commits.contains_key(s))
            .collect();
        let exclude: Vec<String> = self
            .branches
            .values()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        self.import_commits(&include, &exclude)?;
        let t = self.tick();
        for (b, old, new) in &changes {
            match new {
                Some(s) => self.branches.insert(b.clone(), s.clone()),
                None => self.branches.remove(b),
            };
            self.record(Mutation::Pushed {
                user: user.to_string(),
                refname: format!("refs/heads/{b}"),
                old: old.clone().unwrap_or_else(|| ZERO_SHA.to_string()),
                new: new.clone().unwrap_or_else(|| ZERO_SHA.to_string()),
            });
            let Some(new) = new else { continue };
            let moved: Vec<u64> = self
                .pulls
                .values()
                .filter(|p| p.state == "open" && p.head_repo.is_none() && &p.head_ref == b)
                .map(|p| p.number)
                .collect();
            for n in moved {
                let base = self
                    .pulls
                    .get(&n)
                    .and_then(|p| self.branches.get(&p.base_ref).cloned());
                let merge_base = base.and_then(|base| self.merge_base(&base, new));
                if let Some(p) = self.pulls.get_mut(&n) {
                    p.head_sha = new.clone();
                    p.updated_at = t;
                    if let Some(mb) = merge_base {
                        p.merge_base = mb;
                    }
                }
                self.write_pull_ref(n);
                self.on_head_changed(n, true);
            }
            self.start_ci(b, new);
        }
        if self.dialect == crate::Dialect::GitHub {
            for (b, _, new) in &changes {
                let Some(new) = new else { continue };
                let landed: Vec<(u64, String)> = self
                    .pulls
                    .values()
                    .filter(|p| p.state == "open" && &p.base_ref == b)
                    .filter(|p| self.contains_commit(new, &p.head_sha))
                    .map(|p| (p.number, p.head_sha.clone()))
                    .collect();
                for (n, head_sha) in landed {
                    self.mark_merged(n, user, new);
                    self.record(Mutation::Merged {
                        pr: n,
                        head_sha,
                        merge_sha: new.clone(),
                        method: "push".to_string(),
                        force: false,
                    });
                }
            }
        }
        self.refresh_mergeable();
        Ok(())
    }

    /// Gitea `manually-merged`: may PR `n` be recorded as merged by `commit`? The commit must
    /// exist (full SHA), be on the base branch, and contain the PR head.
    pub(crate) fn check_manual_merge(&self, n: u64, commit: &str) -> Result<(), ManualMergeError> {
        let p = self.try_pull(n).ok_or(ManualMergeError::UnknownCommit)?;
        let full = commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit());
        let known = match &self.git {
            Some(repo) => full && repo.has_commit(commit),
            None => full && self.commits.contains_key(commit),
        };
        if !known {
            return Err(ManualMergeError::UnknownCommit);
        }
        let base = self
            .branch_head(&p.base_ref)
            .ok_or(ManualMergeError::NotOnBase)?;
        if !self.contains_commit(&base, commit) {
            return Err(ManualMergeError::NotOnBase);
        }
        if !self.contains_commit(commit, &p.head_sha) {
            return Err(ManualMergeError::HeadNotContained);
        }
        Ok(())
    }
}
