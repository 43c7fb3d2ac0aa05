//! Gitea JSON shapes built from the simulated state: users, repositories, labels, pull
//! requests, commits, statuses, reviews, protections, branches, comments.

use serde_json::{Value, json};

use super::G;
use crate::http::ts;
use crate::scenario::Permission;
use crate::state::{BranchProtection, CommitStatus, PullRequest, Review, User};

impl G<'_> {
    pub(super) fn user_json(&self, u: &User) -> Value {
        let t = ts(&self.st.now());
        json!({
            "id": u.id, "login": u.login, "login_name": "", "source_id": 0,
            "full_name": "", "email": format!("{}@noreply.example.com", u.login),
            "avatar_url": format!("{}/avatars/{}", self.r.base_url, u.id),
            "html_url": format!("{}/{}", self.r.base_url, u.login),
            "language": "", "is_admin": u.site_admin, "last_login": t, "created": t,
            "restricted": false, "active": true, "prohibit_login": false, "location": "",
            "website": "", "description": "", "visibility": "public",
            "followers_count": 0, "following_count": 0, "starred_repos_count": 0,
            "username": u.login,
        })
    }

    pub(super) fn login_json(&self, login: &str) -> Value {
        let u = self.st.user_or_ghost(login);
        self.user_json(&u)
    }

    pub(super) fn owner_json(&self) -> Value {
        let mut u = self.st.user_or_ghost(&self.st.owner);
        if self.st.user(&self.st.owner).is_none() {
            u.id = 1;
        }
        self.user_json(&u)
    }

    pub(super) fn repo_json(&self, full_name: Option<&str>) -> Value {
        let st = &*self.st;
        let (owner, name, id, fork) = match full_name {
            Some(f) => {
                let (o, n) = f.split_once('/').unwrap_or((f, f));
                (
                    o.to_string(),
                    n.to_string(),
                    100 + u64::from_str_radix(&crate::fake_sha(f)[..4], 16).unwrap_or(0),
                    true,
                )
            }
            None => (st.owner.clone(), st.name.clone(), st.repo_id, false),
        };
        let p = self.perm();
        let t = ts(&st.now());
        let owner_json = if fork {
            self.login_json(&owner)
        } else {
            self.owner_json()
        };
        let open_prs = st.pulls.values().filter(|p| p.state == "open").count();
        let mut v = json!({
            "id": id, "owner": owner_json, "name": name, "full_name": format!("{owner}/{name}"),
            "description": "", "empty": false, "private": false, "fork": fork, "template": false,
            "parent": null, "mirror": false, "size": 0, "language": "", "languages_url": format!("{}/api/v1/repos/{owner}/{name}/languages", self.r.base_url),
            "html_url": format!("{}/{owner}/{name}", self.r.base_url), "url": format!("{}/api/v1/repos/{owner}/{name}", self.r.base_url),
            "link": "", "ssh_url": format!("git@127.0.0.1:{owner}/{name}.git"),
            "clone_url": format!("{}/{owner}/{name}.git", self.r.base_url), "original_url": "", "website": "",
            "stars_count": 0, "forks_count": 0, "watchers_count": 0, "open_issues_count": 0,
            "open_pr_counter": if fork { 0 } else { open_prs }, "release_counter": 0,
            "default_branch": st.default_branch, "archived": false, "created_at": t, "updated_at": t,
            "archived_at": "1970-01-01T00:00:00Z",
        });
        let more = json!({
            "permissions": {"admin": p >= Permission::Admin, "push": p >= Permission::Write, "pull": p >= Permission::Read},
            "has_issues": true, "internal_tracker": {"enable_time_tracker": false, "allow_only_contributors_to_track_time": true, "enable_issue_dependencies": true},
            "has_wiki": false, "has_pull_requests": true, "has_projects": false, "has_releases": true,
            "has_packages": false, "has_actions": true, "ignore_whitespace_conflicts": false,
            "allow_merge_commits": true, "allow_rebase": true, "allow_rebase_explicit": true,
            "allow_squash_merge": true, "allow_fast_forward_only_merge": true, "allow_rebase_update": true,
            "default_delete_branch_after_merge": false, "default_merge_style": "merge",
            "default_allow_maintainer_edit": false, "avatar_url": "", "internal": false,
            "mirror_interval": "", "object_format_name": "sha1", "mirror_updated": "0001-01-01T00:00:00Z",
            "repo_transfer": null,
        });
        if let (Some(o), Value::Object(m)) = (v.as_object_mut(), more) {
            o.extend(m);
        }
        v
    }

    pub(super) fn label_json(&self, id: u64) -> Option<Value> {
        let l = self.st.label_by_id(id)?;
        Some(json!({
            "id": l.id, "name": l.name, "exclusive": l.name.contains('/'), "is_archived": false,
            "color": l.color, "description": l.description,
            "url": format!("{}/labels/{}", self.api(), l.id),
        }))
    }

    pub(super) fn pr_labels(&self, p: &PullRequest) -> Vec<Value> {
        p.labels
            .iter()
            .filter_map(|id| self.label_json(*id))
            .collect()
    }

    pub(super) fn commit_json(&self, sha: &str) -> Value {
        let Some(c) = self.st.commits.get(sha) else {
            return Value::Null;
        };
        let date = ts(&c.created);
        let email = if c.email.is_empty() {
            format!("{}@noreply.example.com", c.author)
        } else {
            c.email.clone()
        };
        let who = json!({"name": c.author, "email": email, "date": date});
        let committer = if c.committer.is_empty() {
            who.clone()
        } else {
            json!({"name": c.committer, "email": c.committer_email, "date": date})
        };
        let parents: Vec<Value> = c
            .parents
            .iter()
            .map(|p| json!({"url": format!("{}/git/commits/{p}", self.api()), "sha": p, "created": date}))
            .collect();
        let mut v = json!({
            "url": format!("{}/git/commits/{sha}", self.api()), "sha": sha, "created": date,
            "html_url": format!("{}/commit/{sha}", self.html()),
            "commit": {
                "url": format!("{}/git/commits/{sha}", self.api()), "author": who, "committer": committer,
                "message": c.message,
                "tree": {"url": format!("{}/git/trees/{sha}", self.api()), "sha": self.st.tree_of(sha), "created": date},
                "verification": {"verified": false, "reason": "gpg.error.not_signed_commit", "signature": "", "signer": null, "payload": ""},
            },
            "author": null, "committer": null, "parents": parents,
        });
        if self.r.q("files") != Some("false") {
            v["files"] = json!([{"filename": "README.md", "status": "modified"}]);
        }
        if self.r.q("stat") != Some("false") {
            v["stats"] = json!({"total": 2, "additions": 1, "deletions": 1});
        }
        if self.r.q("verification") == Some("false") {
            v["commit"]["verification"] = Value::Null;
        }
        v
    }

    pub(super) fn branch_info(&self, branch: &str, sha: &str, repo: Option<&str>) -> Value {
        let repo_json = self.repo_json(repo);
        let repo_id = repo_json["id"].clone();
        json!({"label": branch, "ref": branch, "sha": sha, "repo_id": repo_id, "repo": repo_json})
    }

    pub(super) fn pr_json(&self, p: &PullRequest) -> Value {
        let base_sha = self.st.branch_head(&p.base_ref).unwrap_or_default();
        let html = format!("{}/pulls/{}", self.html(), p.number);
        let comments = self.st.comments.iter().filter(|c| c.pr == p.number).count();
        let n_commits = self.st.commits_between(&p.merge_base, &p.head_sha).len();
        json!({
            "id": p.id, "url": html, "number": p.number, "user": self.login_json(&p.user),
            "title": p.title, "body": p.body, "labels": self.pr_labels(p), "milestone": null,
            "assignee": null, "assignees": null, "requested_reviewers": null, "state": p.state,
            "draft": p.draft, "is_locked": false, "comments": comments, "review_comments": 0,
            "additions": n_commits, "deletions": 0, "changed_files": n_commits.min(1),
            "html_url": html, "diff_url": format!("{html}.diff"), "patch_url": format!("{html}.patch"),
            "mergeable": p.mergeable.unwrap_or(false), "merged": p.merged,
            "merged_at": p.merged_at.as_ref().map(ts), "merge_commit_sha": p.merge_commit_sha,
            "merged_by": p.merged_by.as_ref().map(|u| self.login_json(u)),
            "allow_maintainer_edit": false,
            "base": self.branch_info(&p.base_ref, &base_sha, None),
            "head": self.branch_info(&p.head_ref, &p.head_sha, p.head_repo.as_deref()),
            "merge_base": p.merge_base, "due_date": null,
            "created_at": ts(&p.created_at), "updated_at": ts(&p.updated_at),
            "closed_at": p.closed_at.as_ref().map(ts), "pin_order": 0,
        })
    }

    pub(super) fn issue_json(&self, p: &PullRequest) -> Value {
        let html = format!("{}/pulls/{}", self.html(), p.number);
        let comments = self.st.comments.iter().filter(|c| c.pr == p.number).count();
        json!({
            "id": p.id, "url": format!("{}/issues/{}", self.api(), p.number), "html_url": html,
            "number": p.number, "user": self.login_json(&p.user), "original_author": "",
            "original_author_id": 0, "title": p.title, "body": p.body, "ref": "", "assets": [],
            "labels": self.pr_labels(p), "milestone": null, "assignee": null, "assignees": null,
            "state": p.state, "is_locked": false, "comments": comments,
            "created_at": ts(&p.created_at), "updated_at": ts(&p.updated_at),
            "closed_at": p.closed_at.as_ref().map(ts), "due_date": null,
            "pull_request": {"merged": p.merged, "merged_at": p.merged_at.as_ref().map(ts), "draft": p.draft, "html_url": html},
            "repository": {"id": self.st.repo_id, "name": self.st.name, "owner": self.st.owner, "full_name": format!("{}/{}", self.st.owner, self.st.name)},
            "pin_order": 0,
        })
    }

    pub(super) fn status_json(&self, s: &CommitStatus) -> Value {
        json!({
            "id": s.id, "status": s.state, "target_url": s.target_url, "description": s.description,
            "url": format!("{}/statuses/{}", self.api(), s.sha), "context": s.context,
            "creator": self.login_json(&s.creator),
            "created_at": ts(&s.created_at), "updated_at": ts(&s.updated_at),
        })
    }

    pub(super) fn review_json(&self, rv: &Review) -> Value {
        json!({
            "id": rv.id, "user": self.login_json(&rv.user), "team": null, "state": rv.state,
            "body": rv.body, "commit_id": rv.commit_id, "stale": rv.stale, "official": rv.official,
            "dismissed": rv.dismissed, "comments_count": 0,
            "submitted_at": ts(&rv.submitted_at), "updated_at": ts(&rv.submitted_at),
            "html_url": format!("{}/pulls/{}#issuecomment-{}", self.html(), rv.pr, rv.id),
            "pull_request_url": format!("{}/pulls/{}", self.html(), rv.pr),
        })
    }

    pub(super) fn protection_json(&self, p: &BranchProtection) -> Value {
        json!({
            "branch_name": p.rule_name, "rule_name": p.rule_name,
            "enable_push": p.enable_push, "enable_push_whitelist": p.push_whitelist.is_some(),
            "push_whitelist_usernames": p.push_whitelist.clone().unwrap_or_default(), "push_whitelist_teams": [], "push_whitelist_deploy_keys": false,
            "enable_merge_whitelist": p.merge_whitelist.is_some(),
            "merge_whitelist_usernames": p.merge_whitelist.clone().unwrap_or_default(),
            "merge_whitelist_teams": [],
            "enable_status_check": p.enable_status_check, "status_check_contexts": p.status_check_contexts,
            "required_approvals": p.required_approvals, "enable_approvals_whitelist": false,
            "approvals_whitelist_username": [], "approvals_whitelist_teams": [],
            "block_on_rejected_reviews": p.block_on_rejected_reviews,
            "block_on_official_review_requests": p.block_on_official_review_requests,
            "block_on_outdated_branch": p.block_on_outdated_branch,
            "dismiss_stale_approvals": p.dismiss_stale_approvals,
            "ignore_stale_approvals": p.ignore_stale_approvals,
            "require_signed_commits": false, "protected_file_patterns": "", "unprotected_file_patterns": "",
            "created_at": ts(&p.created_at), "updated_at": ts(&p.created_at),
        })
    }

    pub(super) fn branch_json(&self, name: &str, sha: &str) -> Value {
        let rule = self.st.protection_for(name);
        let c = self.st.commits.get(sha);
        let perm = self.perm();
        let who = c.map(|c| c.author.clone()).unwrap_or_default();
        json!({
            "name": name,
            "commit": {
                "id": sha, "message": c.map(|c| c.message.clone()).unwrap_or_default(),
                "url": format!("{}/commit/{sha}", self.html()),
                "author": {"name": who, "email": format!("{who}@noreply.example.com"), "username": who},
                "committer": {"name": who, "email": format!("{who}@noreply.example.com"), "username": who},
                "verification": null, "timestamp": c.map(|c| ts(&c.created)).unwrap_or_default(),
                "added": null, "removed": null, "modified": null,
            },
            "protected": rule.is_some(),
            "required_approvals": rule.map(|r| r.required_approvals).unwrap_or(0),
            "enable_status_check": rule.map(|r| r.enable_status_check).unwrap_or(false),
            "status_check_contexts": rule.map(|r| r.status_check_contexts.clone()).unwrap_or_default(),
            "user_can_push": perm >= Permission::Write
                && self.st.may_push_protected(&self.r.login(), name).unwrap_or(true),
            "user_can_merge": perm >= Permission::Write && rule.is_none_or(|r| self.may_merge(r)),
            "effective_branch_protection_name": match (rule, perm >= Permission::Admin) {
                (Some(r), true) => r.rule_name.clone(),
                _ => String::new(),
            },
        })
    }

    pub(super) fn comment_json(&self, id: u64) -> Value {
        let Some(c) = self.st.comments.iter().find(|c| c.id == id) else {
            return Value::Null;
        };
        json!({
            "id": c.id, "html_url": format!("{}/pulls/{}#issuecomment-{}", self.html(), c.pr, c.id),
            "pull_request_url": format!("{}/pulls/{}", self.html(), c.pr),
            "issue_url": format!("{}/issues/{}", self.html(), c.pr),
            "user": self.login_json(&c.user), "original_author": "", "original_author_id": 0,
            "body": c.body, "assets": [], "created_at": ts(&c.created_at), "updated_at": ts(&c.updated_at),
        })
    }
}
