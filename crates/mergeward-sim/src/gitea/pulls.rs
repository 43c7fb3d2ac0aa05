//! Gitea pull requests: listing, reviews, the issue list, merge and update.

use serde_json::Value;

use super::G;
use crate::http::{Resp, paged};
use crate::record::Mutation;
use crate::scenario::Permission;
use crate::state::{GitOpError, ManualMergeError, PullRequest};

impl G<'_> {
    pub(super) fn list_pulls(&self) -> Resp {
        let r = self.r;
        let state = r.q("state").unwrap_or("");
        let label_ids: Vec<u64> = r
            .q_all("labels")
            .iter()
            .filter_map(|l| l.parse().ok())
            .collect();
        let poster = r.q("poster").filter(|p| !p.is_empty());
        if let Some(p) = poster
            && self.st.user(p).is_none()
        {
            return self.err(400, &format!("user does not exist [uid: 0, name: {p}]"));
        }
        let mut prs: Vec<&PullRequest> = self
            .st
            .pulls
            .values()
            .filter(|p| match state {
                "open" | "closed" => p.state == state,
                _ => true,
            })
            .filter(|p| poster.is_none_or(|u| p.user.eq_ignore_ascii_case(u)))
            .filter(|p| {
                r.q("base_branch")
                    .is_none_or(|b| b.is_empty() || p.base_ref == b)
            })
            .collect();
        match r.q("sort").unwrap_or("") {
            "oldest" => prs.sort_by_key(|p| (p.created_at, p.number)),
            "recentupdate" => prs.sort_by_key(|p| std::cmp::Reverse(p.updated_at)),
            "leastupdate" => prs.sort_by_key(|p| p.updated_at),
            _ => prs.sort_by_key(|p| std::cmp::Reverse((p.created_at, p.number))),
        }
        let mut items = Vec::new();
        for p in prs {
            // INNER JOIN without DISTINCT: one row per matching label.
            let times = if label_ids.is_empty() {
                1
            } else {
                p.labels.iter().filter(|l| label_ids.contains(l)).count()
            };
            for _ in 0..times {
                items.push(self.pr_json(p));
            }
        }
        paged(r, self.st, items, true)
    }

    pub(super) fn pr_reviews(&self) -> Resp {
        let Some(n) = self.index() else {
            return self.not_found();
        };
        let caller = self.r.user.as_ref();
        let v: Vec<Value> = self
            .st
            .reviews
            .iter()
            .filter(|rv| rv.pr == n)
            .filter(|rv| {
                rv.state != "PENDING"
                    || caller
                        .is_some_and(|u| u.site_admin || u.login.eq_ignore_ascii_case(&rv.user))
            })
            .map(|rv| self.review_json(rv))
            .collect();
        self.all_or_paged(v)
    }

    pub(super) fn list_issues(&self) -> Resp {
        let r = self.r;
        let state = r.q("state").filter(|s| !s.is_empty()).unwrap_or("open");
        if r.q("type") == Some("issues") {
            return paged(r, self.st, Vec::new(), true);
        }
        let wanted: Vec<u64> = r
            .q("labels")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .filter_map(|n| self.st.label_by_name(n).map(|l| l.id))
            .collect();
        let mut prs: Vec<&PullRequest> = self
            .st
            .pulls
            .values()
            .filter(|p| state == "all" || p.state == state)
            .filter(|p| wanted.iter().all(|l| p.labels.contains(l)))
            .collect();
        prs.sort_by_key(|p| std::cmp::Reverse((p.created_at, p.number)));
        let v: Vec<Value> = prs.iter().map(|p| self.issue_json(p)).collect();
        paged(r, self.st, v, true)
    }

    pub(super) fn merge(&mut self) -> Resp {
        let body = match self.body_obj() {
            Ok(b) => b,
            Err(e) => return e,
        };
        // Go's encoding/json matches keys case-insensitively; 1.26 also accepts snake_case.
        let find = |names: &[&str]| -> Option<Value> {
            body.iter()
                .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
                .map(|(_, v)| v.clone())
        };
        let s = |names: &[&str]| {
            find(names)
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        let style = s(&["Do"]);
        if style.is_empty() {
            return self.err(422, "[Do]: Required");
        }
        if ![
            "merge",
            "rebase",
            "rebase-merge",
            "squash",
            "fast-forward-only",
            "manually-merged",
        ]
        .contains(&style.as_str())
        {
            return self.err(422, "[Do]: In");
        }
        let title = s(&["MergeTitleField", "merge_title_field"]);
        let message = s(&["MergeMessageField", "merge_message_field"]);
        let head_commit_id = s(&["head_commit_id"]);
        let force = find(&["force_merge"])
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let Some(n) = self.index() else {
            return self.not_found();
        };
        let p = self.st.pull(n).clone();
        if p.merged {
            return self.err(405, "");
        }
        if p.state != "open" {
            return self.not_found();
        }
        let perm = self.perm();
        if perm < Permission::Write
            || self
                .st
                .protection_for(&p.base_ref)
                .is_some_and(|r| !self.may_merge(r))
        {
            return self.err(405, "User not allowed to merge PR");
        }
        // services/pull/check.go: a manual merge is checked for permission only.
        if style == "manually-merged" {
            return self.manually_merged(n, &s(&["MergeCommitID", "merge_commit_id"]));
        }
        let t = p.title.to_ascii_lowercase();
        if p.draft || t.starts_with("wip:") || t.starts_with("[wip]") {
            return self.err(405, "Work in progress PRs cannot be merged");
        }
        if p.mergeable != Some(true) {
            return self.err(405, "Please try again later");
        }
        let block = self.st.gitea_protection_block(n);
        let forced = match block {
            Some(reason) => {
                if force && perm >= Permission::Admin {
                    true
                } else {
                    return self.err(405, &format!("not allowed to merge [reason: {reason}]"));
                }
            }
            None => false,
        };
        if !head_commit_id.is_empty() && head_commit_id != p.head_sha {
            return self.err(409, "head out of date");
        }
        if style == "fast-forward-only" {
            let base = self.st.branch_head(&p.base_ref).unwrap_or_default();
            if !self.st.is_ancestor(&base, &p.head_sha) {
                return self.err(409, "merge failed because of conflict");
            }
        }
        let login = self.r.login();
        let merge_sha = match self.st.try_merge(n, &style, &title, &message, &login) {
            Ok(sha) => sha,
            Err(GitOpError::Conflict) => {
                return self.err(409, &format!("{style} failed because of conflict"));
            }
            Err(GitOpError::NoPull) => return self.not_found(),
            Err(GitOpError::Git(e)) => return self.err(500, &e),
        };
        self.st.record(Mutation::Merged {
            pr: n,
            head_sha: p.head_sha,
            merge_sha,
            method: style,
            force: forced,
        });
        Resp::empty(200)
    }

    pub(super) fn update(&mut self) -> Resp {
        let Some(n) = self.index() else {
            return self.not_found();
        };
        let p = self.st.pull(n).clone();
        if p.merged || p.state != "open" {
            return self.err(422, "");
        }
        if self.perm() < Permission::Write {
            return Resp::empty(403);
        }
        let style = if self.r.q("style") == Some("rebase") {
            "rebase"
        } else {
            "merge"
        };
        if !self.st.is_behind(n) {
            // services/pull/update.go: "HeadBranch of PR N is up to date" → 500.
            let msg = if self.r.user.as_ref().is_some_and(|u| u.site_admin) {
                format!("HeadBranch of PR {n} is up to date")
            } else {
                String::new()
            };
            return self.err(500, &msg);
        }
        if p.conflict {
            return self.err(409, &format!("{style} failed because of conflict"));
        }
        let new_head = match self.st.try_update(n, style) {
            Ok(h) => h,
            Err(GitOpError::Conflict) => {
                return self.err(409, &format!("{style} failed because of conflict"));
            }
            Err(GitOpError::NoPull) => return self.err(500, ""),
            Err(GitOpError::Git(e)) => return self.err(500, &e),
        };
        self.st.record(Mutation::Updated {
            pr: n,
            old_head: p.head_sha,
            new_head,
            style: style.to_string(),
        });
        Resp::empty(200)
    }

    /// `Do: manually-merged` with `MergeCommitID`: record the PR as merged by a commit
    /// already on the base branch (services/pull/merge.go MergedManually). A wrong or
    /// unknown commit is a 409; nothing is pushed, no CI runs.
    fn manually_merged(&mut self, n: u64, commit: &str) -> Resp {
        if let Err(e) = self.st.check_manual_merge(n, commit) {
            let why = match e {
                ManualMergeError::UnknownCommit => "Wrong commit ID",
                ManualMergeError::NotOnBase => "Wrong commit ID: not in the base branch",
                ManualMergeError::HeadNotContained => {
                    "Wrong commit ID: the pull request head is not in it"
                }
            };
            return self.err(409, why);
        }
        let head_sha = self.st.pull(n).head_sha.clone();
        let login = self.r.login();
        self.st.tick();
        self.st.mark_merged(n, &login, commit);
        self.st.record(Mutation::Merged {
            pr: n,
            head_sha,
            merge_sha: commit.to_string(),
            method: "manually-merged".to_string(),
            force: false,
        });
        Resp::empty(200)
    }
}
