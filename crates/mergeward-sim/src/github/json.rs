//! GitHub JSON shapes built from the simulated state: users, repositories, pull requests,
//! commits, statuses, check runs, reviews, issues, comments, required checks.

use serde_json::{Value, json};

use super::H;
use crate::http::ts;
use crate::scenario::Permission;
use crate::state::{CheckRun, CommitStatus, PullRequest, Review};

impl H<'_> {
    pub(super) fn user_json(&self, login: &str) -> Value {
        let u = self.st.user_or_ghost(login);
        let url = format!("{}/users/{}", self.r.base_url, u.login);
        let bot = u.login.ends_with("[bot]");
        json!({
            "login": u.login, "id": u.id, "node_id": format!("U_{}", u.id),
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", u.id),
            "gravatar_id": "", "url": url, "html_url": format!("https://github.com/{}", u.login),
            "followers_url": format!("{url}/followers"), "following_url": format!("{url}/following{{/other_user}}"),
            "gists_url": format!("{url}/gists{{/gist_id}}"), "starred_url": format!("{url}/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{url}/subscriptions"), "organizations_url": format!("{url}/orgs"),
            "repos_url": format!("{url}/repos"), "events_url": format!("{url}/events{{/privacy}}"),
            "received_events_url": format!("{url}/received_events"),
            "type": if bot { "Bot" } else { "User" }, "site_admin": u.site_admin, "user_view_type": "public",
        })
    }

    pub(super) fn repo_json(&self, full_name: Option<&str>) -> Value {
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
            None => (
                self.st.owner.clone(),
                self.st.name.clone(),
                self.st.repo_id,
                false,
            ),
        };
        let url = format!("{}/repos/{owner}/{name}", self.r.base_url);
        let t = ts(&self.st.now());
        let mut v = json!({
            "id": id, "node_id": format!("R_{id}"), "name": name, "full_name": format!("{owner}/{name}"),
            "owner": self.user_json(&owner), "private": false,
            "html_url": format!("https://github.com/{owner}/{name}"), "description": null, "fork": fork,
            "url": url, "pulls_url": format!("{url}/pulls{{/number}}"), "statuses_url": format!("{url}/statuses/{{sha}}"),
            "git_url": format!("git://github.com/{owner}/{name}.git"), "ssh_url": format!("git@github.com:{owner}/{name}.git"),
            "clone_url": format!("{}/{owner}/{name}.git", self.r.base_url),
            "default_branch": self.st.default_branch, "visibility": "public", "archived": false, "disabled": false,
            "forks_count": 0, "stargazers_count": 0, "watchers_count": 0, "open_issues_count": 0, "size": 0,
            "language": null, "has_issues": true, "allow_merge_commit": true, "allow_squash_merge": true,
            "allow_rebase_merge": true, "pushed_at": t, "created_at": t, "updated_at": t,
        });
        if !fork {
            let p = self.perm();
            v["permissions"] = json!({"admin": p >= Permission::Admin, "maintain": p >= Permission::Admin,
                "push": p >= Permission::Write, "triage": p >= Permission::Write, "pull": p >= Permission::Read});
        }
        v
    }

    pub(super) fn label_json(&self, id: u64) -> Option<Value> {
        let l = self.st.label_by_id(id)?;
        Some(json!({
            "id": l.id, "node_id": format!("LA_{}", l.id), "url": format!("{}/labels/{}", self.api(), crate::http::pct_encode(&l.name)),
            "name": l.name, "description": if l.description.is_empty() { Value::Null } else { json!(l.description) },
            "color": l.color, "default": false,
        }))
    }

    pub(super) fn pr_labels(&self, p: &PullRequest) -> Vec<Value> {
        p.labels
            .iter()
            .filter_map(|id| self.label_json(*id))
            .collect()
    }

    pub(super) fn pr_json(&self, p: &PullRequest, full: bool) -> Value {
        let api = format!("{}/pulls/{}", self.api(), p.number);
        let html = format!("{}/pull/{}", self.html(), p.number);
        let issue = format!("{}/issues/{}", self.api(), p.number);
        let base_sha = self.st.branch_head(&p.base_ref).unwrap_or_default();
        let head_owner = p
            .head_repo
            .as_deref()
            .and_then(|f| f.split_once('/'))
            .map(|(o, _)| o.to_string())
            .unwrap_or_else(|| self.st.owner.clone());
        let link = |h: String| json!({"href": h});
        let head = json!({"label": format!("{head_owner}:{}", p.head_ref), "ref": p.head_ref, "sha": p.head_sha,
                 "user": self.user_json(&head_owner), "repo": self.repo_json(p.head_repo.as_deref())});
        let base = json!({"label": format!("{}:{}", self.st.owner, p.base_ref), "ref": p.base_ref, "sha": base_sha,
                 "user": self.user_json(&self.st.owner), "repo": self.repo_json(None)});
        let links = json!({"self": link(api.clone()), "html": link(html.clone()), "issue": link(issue.clone()),
                   "comments": link(format!("{issue}/comments")), "review_comments": link(format!("{api}/comments")),
                   "review_comment": link(format!("{}/pulls/comments{{/number}}", self.api())),
                   "commits": link(format!("{api}/commits")),
                   "statuses": link(format!("{}/statuses/{}", self.api(), p.head_sha))});
        let mut v = json!({
            "url": api, "id": p.id, "node_id": format!("PR_{}", p.id), "html_url": html,
            "diff_url": format!("{html}.diff"), "patch_url": format!("{html}.patch"), "issue_url": issue,
            "commits_url": format!("{api}/commits"), "review_comments_url": format!("{api}/comments"),
            "review_comment_url": format!("{}/pulls/comments{{/number}}", self.api()),
            "comments_url": format!("{issue}/comments"), "statuses_url": format!("{}/statuses/{}", self.api(), p.head_sha),
            "number": p.number, "state": p.state, "locked": false, "title": p.title,
            "user": self.user_json(&p.user), "body": if p.body.is_empty() { Value::Null } else { json!(p.body) },
            "labels": self.pr_labels(p), "milestone": null, "active_lock_reason": null,
            "created_at": ts(&p.created_at), "updated_at": ts(&p.updated_at),
            "closed_at": p.closed_at.as_ref().map(ts), "merged_at": p.merged_at.as_ref().map(ts),
            "merge_commit_sha": p.merge_commit_sha, "assignee": null, "assignees": [],
            "requested_reviewers": [], "requested_teams": [],
            "head": head, "base": base, "_links": links,
            "author_association": if self.st.perm(&p.user) >= Permission::Write { "MEMBER" } else { "CONTRIBUTOR" },
            "auto_merge": null, "draft": p.draft,
        });
        if full {
            let n_commits = self.st.commits_between(&p.merge_base, &p.head_sha).len();
            let comments = self.st.comments.iter().filter(|c| c.pr == p.number).count();
            let extra = json!({
                "merged": p.merged, "mergeable": if p.state == "open" { json!(p.mergeable) } else { Value::Null },
                "rebaseable": if p.state == "open" { json!(p.mergeable) } else { Value::Null },
                "mergeable_state": self.st.github_mergeable_state(p.number),
                "merged_by": p.merged_by.as_ref().map(|u| self.user_json(u)),
                "comments": comments, "review_comments": 0, "maintainer_can_modify": false,
                "commits": n_commits, "additions": n_commits, "deletions": 0, "changed_files": n_commits.min(1),
            });
            if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                for (k, x) in e {
                    o.insert(k.clone(), x.clone());
                }
            }
        }
        v
    }

    pub(super) fn commit_json(&self, sha: &str) -> Value {
        let Some(c) = self.st.commits.get(sha) else {
            return Value::Null;
        };
        let date = ts(&c.created);
        let email = if c.email.is_empty() {
            format!("{}@users.noreply.github.com", c.author)
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
            .map(|p| json!({"sha": p, "url": format!("{}/commits/{p}", self.api()), "html_url": format!("{}/commit/{p}", self.html())}))
            .collect();
        json!({
            "url": format!("{}/commits/{sha}", self.api()), "sha": sha, "node_id": format!("C_{sha}"),
            "html_url": format!("{}/commit/{sha}", self.html()), "comments_url": format!("{}/commits/{sha}/comments", self.api()),
            "commit": {"url": format!("{}/git/commits/{sha}", self.api()), "author": who, "committer": committer,
                       "message": c.message, "comment_count": 0,
                       "tree": {"sha": self.st.tree_of(sha), "url": format!("{}/git/trees/{sha}", self.api())},
                       "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null}},
            "author": null, "committer": null, "parents": parents,
        })
    }

    pub(super) fn status_json(&self, s: &CommitStatus, with_creator: bool) -> Value {
        let mut v = json!({
            "url": format!("{}/statuses/{}", self.api(), s.sha), "avatar_url": null, "id": s.id,
            "node_id": format!("SC_{}", s.id), "state": s.state,
            "description": if s.description.is_empty() { Value::Null } else { json!(s.description) },
            "target_url": if s.target_url.is_empty() { Value::Null } else { json!(s.target_url) },
            "context": s.context, "created_at": ts(&s.created_at), "updated_at": ts(&s.updated_at),
        });
        if with_creator {
            v["creator"] = self.user_json(&s.creator);
        }
        // Very old status rows have no context.
        if s.context.is_empty()
            && let Some(o) = v.as_object_mut()
        {
            o.remove("context");
        }
        v
    }

    pub(super) fn check_run_json(&self, c: &CheckRun) -> Value {
        let url = format!("{}/check-runs/{}", self.api(), c.id);
        json!({
            "id": c.id, "head_sha": c.head_sha, "node_id": format!("CR_{}", c.id), "external_id": "",
            "url": url, "html_url": format!("{}/runs/{}", self.html(), c.id), "details_url": c.details_url,
            "status": c.status, "conclusion": c.conclusion, "started_at": ts(&c.started_at),
            "completed_at": c.completed_at.as_ref().map(ts),
            "output": {"title": null, "summary": null, "text": null, "annotations_count": 0, "annotations_url": format!("{url}/annotations")},
            "name": c.name, "check_suite": {"id": 5000 + c.id},
            "app": {"id": c.app_id, "slug": c.app_slug, "node_id": format!("A_{}", c.app_id), "name": c.app_slug,
                    "owner": self.user_json("github"), "description": "", "external_url": "", "html_url": format!("https://github.com/apps/{}", c.app_slug),
                    "created_at": ts(&c.started_at), "updated_at": ts(&c.started_at), "permissions": {}, "events": []},
            "pull_requests": [],
        })
    }

    pub(super) fn review_json(&self, rv: &Review) -> Value {
        let state = if rv.dismissed {
            "DISMISSED"
        } else {
            match rv.state.as_str() {
                "REQUEST_CHANGES" => "CHANGES_REQUESTED",
                "COMMENT" => "COMMENTED",
                s => s,
            }
        };
        let html = format!("{}/pull/{}#pullrequestreview-{}", self.html(), rv.pr, rv.id);
        let pr_url = format!("{}/pulls/{}", self.api(), rv.pr);
        json!({
            "id": rv.id, "node_id": format!("PRR_{}", rv.id),
            "user": if rv.user.is_empty() { Value::Null } else { self.user_json(&rv.user) }, "body": rv.body,
            "state": state, "html_url": html, "pull_request_url": pr_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pr_url}},
            "submitted_at": ts(&rv.submitted_at),
            // GitHub answers `commit_id: null` for a review that names no commit.
            "commit_id": (!rv.commit_id.is_empty()).then_some(rv.commit_id.as_str()),
            "author_association": if self.st.perm(&rv.user) >= Permission::Write { "MEMBER" } else { "CONTRIBUTOR" },
        })
    }

    pub(super) fn issue_json(&self, p: &PullRequest) -> Value {
        let url = format!("{}/issues/{}", self.api(), p.number);
        let pr_url = format!("{}/pulls/{}", self.api(), p.number);
        let html = format!("{}/pull/{}", self.html(), p.number);
        json!({
            "id": p.id, "node_id": format!("I_{}", p.id), "url": url, "repository_url": self.api(),
            "labels_url": format!("{url}/labels{{/name}}"), "comments_url": format!("{url}/comments"),
            "events_url": format!("{url}/events"), "html_url": html, "number": p.number, "state": p.state,
            "state_reason": null, "title": p.title, "body": if p.body.is_empty() { Value::Null } else { json!(p.body) },
            "user": self.user_json(&p.user), "labels": self.pr_labels(p), "assignee": null, "assignees": [],
            "milestone": null, "locked": false, "active_lock_reason": null,
            "comments": self.st.comments.iter().filter(|c| c.pr == p.number).count(),
            "pull_request": {"url": pr_url, "html_url": html, "diff_url": format!("{html}.diff"), "patch_url": format!("{html}.patch"),
                             "merged_at": p.merged_at.as_ref().map(ts)},
            "closed_at": p.closed_at.as_ref().map(ts), "created_at": ts(&p.created_at), "updated_at": ts(&p.updated_at),
            "draft": p.draft, "author_association": "MEMBER",
        })
    }

    pub(super) fn comment_json(&self, id: u64) -> Value {
        let Some(c) = self.st.comments.iter().find(|c| c.id == id) else {
            return Value::Null;
        };
        json!({
            "id": c.id, "node_id": format!("IC_{}", c.id), "url": format!("{}/issues/comments/{}", self.api(), c.id),
            "body": c.body, "html_url": format!("{}/pull/{}#issuecomment-{}", self.html(), c.pr, c.id),
            "user": self.user_json(&c.user), "created_at": ts(&c.created_at), "updated_at": ts(&c.updated_at),
            "issue_url": format!("{}/issues/{}", self.api(), c.pr),
            "author_association": if self.st.perm(&c.user) >= Permission::Write { "MEMBER" } else { "NONE" },
        })
    }

    pub(super) fn required_status_checks_json(&self, branch: &str) -> Option<Value> {
        let p = self.st.protection_for(branch)?;
        if !p.enable_status_check {
            return None;
        }
        let url = format!(
            "{}/branches/{}/protection/required_status_checks",
            self.api(),
            branch
        );
        let checks: Vec<Value> = p
            .status_check_contexts
            .iter()
            .map(|c| json!({"context": c, "app_id": p.check_app_ids.get(c)}))
            .collect();
        Some(json!({
            "url": url, "strict": p.block_on_outdated_branch, "contexts": p.status_check_contexts,
            "contexts_url": format!("{url}/contexts"), "checks": checks,
            "enforcement_level": if p.enforce_admins { "everyone" } else { "non_admins" },
        }))
    }
}
