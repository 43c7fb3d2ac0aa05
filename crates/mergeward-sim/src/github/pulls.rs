//! GitHub pull requests: listing, merge, update branch; the issue list (pull requests as
//! issues).

use serde_json::{Value, json};

use super::H;
use crate::http::{Resp, github_err, paged};
use crate::record::Mutation;
use crate::scenario::Permission;
use crate::state::{GitOpError, PullRequest};

impl H<'_> {
    pub(super) fn list_pulls(&self) -> Resp {
        let r = self.r;
        let state = r.q("state").unwrap_or("open");
        if !["open", "closed", "all"].contains(&state) {
            return self.validation("PullRequest", "state", "state must be open, closed or all");
        }
        let head = r.q("head").filter(|h| !h.is_empty());
        let mut prs: Vec<&PullRequest> = self
            .st
            .pulls
            .values()
            .filter(|p| state == "all" || p.state == state)
            .filter(|p| r.q("base").is_none_or(|b| b.is_empty() || p.base_ref == b))
            .filter(|p| {
                head.is_none_or(|h| {
                    let owner = p
                        .head_repo
                        .as_deref()
                        .and_then(|f| f.split_once('/'))
                        .map(|(o, _)| o)
                        .unwrap_or(&self.st.owner);
                    match h.split_once(':') {
                        Some((o, b)) => o.eq_ignore_ascii_case(owner) && b == p.head_ref,
                        None => h.eq_ignore_ascii_case(owner),
                    }
                })
            })
            .collect();
        let sort = r.q("sort").unwrap_or("created");
        let desc = match r.q("direction") {
            Some("asc") => false,
            Some("desc") => true,
            _ => sort == "created",
        };
        match sort {
            "updated" => prs.sort_by_key(|p| (p.updated_at, p.number)),
            _ => prs.sort_by_key(|p| (p.created_at, p.number)),
        }
        if desc {
            prs.reverse();
        }
        let v: Vec<Value> = prs.iter().map(|p| self.pr_json(p, false)).collect();
        paged(r, self.st, v, true)
    }

    pub(super) fn merge(&mut self) -> Resp {
        let body = match self.body() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(n) = self.pr_number() else {
            return self.not_found();
        };
        if self.perm() < Permission::Write {
            return github_err(403, "Resource not accessible by personal access token");
        }
        let method = body
            .get("merge_method")
            .and_then(Value::as_str)
            .unwrap_or("merge")
            .to_string();
        if !["merge", "squash", "rebase"].contains(&method.as_str()) {
            return self.validation(
                "PullRequest",
                "merge_method",
                "merge_method is not included in the list",
            );
        }
        let p = self.st.pull(n).clone();
        if p.merged || p.state != "open" {
            return github_err(405, "Pull Request is not mergeable");
        }
        if let Some(sha) = body.get("sha").and_then(Value::as_str)
            && sha != p.head_sha
        {
            return github_err(
                409,
                "Head branch was modified. Review and try the merge again.",
            );
        }
        if p.draft {
            return github_err(405, "Pull Request is still a draft");
        }
        if p.mergeable != Some(true) {
            return github_err(405, "Pull Request is not mergeable");
        }
        let login = self.r.login();
        if let Some(msg) = self.st.github_merge_block_with(n, &login, Some(&method)) {
            return github_err(405, &msg);
        }
        let forced = self.st.github_merge_block(n, "").is_some();
        let title = body
            .get("commit_title")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let message = body
            .get("commit_message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let sha = match self.st.try_merge(n, &method, &title, &message, &login) {
            Ok(sha) => sha,
            Err(GitOpError::Conflict) => return github_err(405, "Pull Request is not mergeable"),
            Err(GitOpError::NoPull) => return self.not_found(),
            Err(GitOpError::Git(_)) => return github_err(500, "Server Error"),
        };
        self.st.record(Mutation::Merged {
            pr: n,
            head_sha: p.head_sha,
            merge_sha: sha.clone(),
            method,
            force: forced,
        });
        Resp::json(
            200,
            json!({"sha": sha, "merged": true, "message": "Pull Request successfully merged"}),
        )
    }

    pub(super) fn update_branch(&mut self) -> Resp {
        let body = match self.body() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(n) = self.pr_number() else {
            return self.not_found();
        };
        if self.perm() < Permission::Write {
            return github_err(403, "Resource not accessible by personal access token");
        }
        let p = self.st.pull(n).clone();
        if p.state != "open" {
            return github_err(422, "Pull request is closed.");
        }
        if let Some(exp) = body.get("expected_head_sha").and_then(Value::as_str)
            && exp != p.head_sha
        {
            return github_err(422, "expected head sha didn’t match current head ref.");
        }
        if !self.st.is_behind(n) {
            return github_err(422, "There are no new commits on the base branch.");
        }
        if p.conflict {
            return github_err(422, "merge conflict between base and head");
        }
        let new_head = match self.st.try_update(n, "merge") {
            Ok(h) => h,
            Err(GitOpError::Conflict) => {
                return github_err(422, "merge conflict between base and head");
            }
            Err(_) => return github_err(500, "Server Error"),
        };
        self.st.record(Mutation::Updated {
            pr: n,
            old_head: p.head_sha,
            new_head,
            style: "merge".to_string(),
        });
        Resp::json(
            202,
            json!({"message": "Updating pull request branch.", "url": format!("{}/pull/{}", self.html(), n)}),
        )
    }

    pub(super) fn list_issues(&self) -> Resp {
        let r = self.r;
        let state = r.q("state").unwrap_or("open");
        let names: Vec<&str> = r
            .q("labels")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let mut prs: Vec<&PullRequest> = self
            .st
            .pulls
            .values()
            .filter(|p| state == "all" || p.state == state)
            .filter(|p| {
                let have = self.st.pr_label_names(p.number);
                names
                    .iter()
                    .all(|n| have.iter().any(|h| h.eq_ignore_ascii_case(n)))
            })
            .collect();
        prs.sort_by_key(|p| (p.created_at, p.number));
        if r.q("direction") != Some("asc") {
            prs.reverse();
        }
        let v: Vec<Value> = prs.iter().map(|p| self.issue_json(p)).collect();
        paged(r, self.st, v, true)
    }
}
