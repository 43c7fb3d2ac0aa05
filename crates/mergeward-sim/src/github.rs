//! GitHub REST dialect (API at the server root, like `https://api.github.com`).

use serde_json::{Value, json};

use super::http::{Page, Req, Resp, github_err, link_header, paged, ts};
use super::record::Mutation;
use super::scenario::Permission;
use super::state::{CheckRun, CommitStatus, PullRequest, Review, SimState};

/// Routes served by the GitHub dialect.
pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/rate_limit"),
    ("GET", "/repos/{owner}/{repo}/pulls"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    (
        "PUT",
        "/repos/{owner}/{repo}/pulls/{pull_number}/update-branch",
    ),
    ("GET", "/repos/{owner}/{repo}/commits"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/status"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("GET", "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs"),
    ("POST", "/repos/{owner}/{repo}/statuses/{sha}"),
    ("GET", "/repos/{owner}/{repo}/branches/{branch}"),
    ("GET", "/repos/{owner}/{repo}/branches/{branch}/protection"),
    ("GET", "/repos/{owner}/{repo}/rules/branches/{branch}"),
    ("GET", "/repos/{owner}/{repo}/labels"),
    ("POST", "/repos/{owner}/{repo}/labels"),
    ("GET", "/repos/{owner}/{repo}/issues"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    (
        "DELETE",
        "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
    ),
    (
        "GET",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
    ),
    (
        "POST",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
    ),
    (
        "PATCH",
        "/repos/{owner}/{repo}/issues/comments/{comment_id}",
    ),
];

struct H<'a> {
    st: &'a mut SimState,
    r: &'a Req,
}

impl H<'_> {
    fn api(&self) -> String {
        format!(
            "{}/repos/{}/{}",
            self.r.base_url, self.st.owner, self.st.name
        )
    }
    fn html(&self) -> String {
        format!("https://github.com/{}/{}", self.st.owner, self.st.name)
    }
    fn perm(&self) -> Permission {
        self.r
            .user
            .as_ref()
            .map(|u| u.perm())
            .unwrap_or(Permission::None)
    }
    fn not_found(&self) -> Resp {
        github_err(404, "Not Found")
    }
    fn validation(&self, resource: &str, field: &str, msg: &str) -> Resp {
        Resp::json(
            422,
            json!({
                "message": "Validation Failed",
                "errors": [{"resource": resource, "field": field, "code": "custom", "message": msg}],
                "documentation_url": "https://docs.github.com/rest",
                "status": "422",
            }),
        )
    }
    fn body(&self) -> Result<Value, Resp> {
        match &self.r.body {
            None => Ok(json!({})),
            Some(Err(_)) => Err(github_err(400, "Problems parsing JSON")),
            Some(Ok(v)) => Ok(v.clone()),
        }
    }

    // ------------- JSON builders -------------

    fn user_json(&self, login: &str) -> Value {
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

    fn repo_json(&self, full_name: Option<&str>) -> Value {
        let (owner, name, id, fork) = match full_name {
            Some(f) => {
                let (o, n) = f.split_once('/').unwrap_or((f, f));
                (
                    o.to_string(),
                    n.to_string(),
                    100 + u64::from_str_radix(&super::fake_sha(f)[..4], 16).unwrap_or(0),
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
            "clone_url": format!("https://github.com/{owner}/{name}.git"),
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

    fn label_json(&self, id: u64) -> Option<Value> {
        let l = self.st.label_by_id(id)?;
        Some(json!({
            "id": l.id, "node_id": format!("LA_{}", l.id), "url": format!("{}/labels/{}", self.api(), super::http::pct_encode(&l.name)),
            "name": l.name, "description": if l.description.is_empty() { Value::Null } else { json!(l.description) },
            "color": l.color, "default": false,
        }))
    }

    fn pr_labels(&self, p: &PullRequest) -> Vec<Value> {
        p.labels
            .iter()
            .filter_map(|id| self.label_json(*id))
            .collect()
    }

    fn pr_json(&self, p: &PullRequest, full: bool) -> Value {
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

    fn commit_json(&self, sha: &str) -> Value {
        let Some(c) = self.st.commits.get(sha) else {
            return Value::Null;
        };
        let date = ts(&c.created);
        let who = json!({"name": c.author, "email": format!("{}@users.noreply.github.com", c.author), "date": date});
        let parents: Vec<Value> = c
            .parents
            .iter()
            .map(|p| json!({"sha": p, "url": format!("{}/commits/{p}", self.api()), "html_url": format!("{}/commit/{p}", self.html())}))
            .collect();
        json!({
            "url": format!("{}/commits/{sha}", self.api()), "sha": sha, "node_id": format!("C_{sha}"),
            "html_url": format!("{}/commit/{sha}", self.html()), "comments_url": format!("{}/commits/{sha}/comments", self.api()),
            "commit": {"url": format!("{}/git/commits/{sha}", self.api()), "author": who, "committer": who,
                       "message": c.message, "comment_count": 0,
                       "tree": {"sha": super::fake_sha(&format!("tree:{sha}")), "url": format!("{}/git/trees/{sha}", self.api())},
                       "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null}},
            "author": null, "committer": null, "parents": parents,
        })
    }

    fn status_json(&self, s: &CommitStatus, with_creator: bool) -> Value {
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

    fn check_run_json(&self, c: &CheckRun) -> Value {
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

    fn review_json(&self, rv: &Review) -> Value {
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

    fn issue_json(&self, p: &PullRequest) -> Value {
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

    fn comment_json(&self, id: u64) -> Value {
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

    fn required_status_checks_json(&self, branch: &str) -> Option<Value> {
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

    // ------------- handlers -------------

    fn pr_number(&self) -> Option<u64> {
        let key = if self.r.route.contains("{pull_number}") {
            "pull_number"
        } else {
            "issue_number"
        };
        self.r
            .param(key)
            .parse()
            .ok()
            .filter(|n| self.st.pulls.contains_key(n))
    }

    fn dispatch(&mut self) -> Resp {
        let r = self.r;
        if r.route == "/rate_limit" {
            let core = |limit: u64, used: u64| json!({"limit": limit, "remaining": limit.saturating_sub(used), "reset": self.st.rate_reset, "used": used, "resource": "core"});
            let c = if r.user.is_some() {
                core(self.st.rate_limit, self.st.rate_used)
            } else {
                core(60, 0)
            };
            let search = json!({"limit": 30, "remaining": 30, "reset": self.st.rate_reset, "used": 0, "resource": "search"});
            let graphql = json!({"limit": 5000, "remaining": 5000, "reset": self.st.rate_reset, "used": 0, "resource": "graphql"});
            return Resp::json(
                200,
                json!({"resources": {"core": c, "search": search, "graphql": graphql}, "rate": c}),
            );
        }
        let Some(user) = r.user.clone() else {
            return github_err(401, "Requires authentication");
        };
        if !r.param("owner").eq_ignore_ascii_case(&self.st.owner)
            || !r.param("repo").eq_ignore_ascii_case(&self.st.name)
            || user.perm() == Permission::None
        {
            return self.not_found();
        }
        let route = r.route.trim_start_matches("/repos/{owner}/{repo}");
        match (r.method.as_str(), route) {
            ("GET", "/actions/jobs/{job_id}/logs") => super::logs::github_api(self.st, r),
            ("GET", "/pulls") => self.list_pulls(),
            ("GET", "/pulls/{pull_number}") => match self.pr_number() {
                Some(n) => Resp::json(200, self.pr_json(self.st.pull(n), true)),
                None => self.not_found(),
            },
            ("GET", "/pulls/{pull_number}/commits") => {
                let Some(n) = self.pr_number() else {
                    return self.not_found();
                };
                let p = self.st.pull(n);
                let mut shas = self.st.commits_between(&p.merge_base, &p.head_sha);
                shas.reverse();
                shas.truncate(250);
                let v: Vec<Value> = shas.iter().map(|s| self.commit_json(s)).collect();
                paged(r, self.st, v, true)
            }
            ("GET", "/pulls/{pull_number}/reviews") => {
                let Some(n) = self.pr_number() else {
                    return self.not_found();
                };
                let login = r.login();
                let v: Vec<Value> = self
                    .st
                    .reviews
                    .iter()
                    .filter(|rv| rv.pr == n && rv.state != "REQUEST_REVIEW")
                    .filter(|rv| rv.state != "PENDING" || rv.user.eq_ignore_ascii_case(&login))
                    .map(|rv| self.review_json(rv))
                    .collect();
                paged(r, self.st, v, true)
            }
            ("GET", "/pulls/{pull_number}/merge") => match self.pr_number() {
                Some(n) if self.st.pull(n).merged => Resp::empty(204),
                _ => self.not_found(),
            },
            ("PUT", "/pulls/{pull_number}/merge") => self.merge(),
            ("PUT", "/pulls/{pull_number}/update-branch") => self.update_branch(),
            ("GET", "/commits") => {
                let start = r
                    .q("sha")
                    .filter(|s| !s.is_empty())
                    .unwrap_or(&self.st.default_branch);
                let Some(sha) = self.st.resolve_ref(start) else {
                    return github_err(404, &format!("No commit found for SHA: {start}"));
                };
                let v: Vec<Value> = self
                    .st
                    .first_parent_history(&sha)
                    .iter()
                    .map(|s| self.commit_json(s))
                    .collect();
                paged(r, self.st, v, true)
            }
            ("GET", "/commits/{ref}") => match self.st.resolve_ref(r.param("ref")) {
                Some(sha) => Resp::json(200, self.commit_json(&sha)),
                None => self.validation(
                    "Commit",
                    "sha",
                    &format!("No commit found for SHA: {}", r.param("ref")),
                ),
            },
            ("GET", "/commits/{ref}/status") => self.combined_status(),
            ("GET", "/commits/{ref}/statuses") => {
                let Some(sha) = self.st.resolve_ref(r.param("ref")) else {
                    return github_err(
                        404,
                        &format!("No commit found for SHA: {}", r.param("ref")),
                    );
                };
                let mut rows = self.st.statuses_for(&sha);
                rows.reverse();
                let v: Vec<Value> = rows.iter().map(|s| self.status_json(s, true)).collect();
                paged(r, self.st, v, true)
            }
            ("GET", "/commits/{ref}/check-runs") => self.check_runs(),
            ("POST", "/statuses/{sha}") => self.create_status(),
            ("GET", "/branches/{branch}") => self.branch(),
            ("GET", "/branches/{branch}/protection") => self.protection(),
            ("GET", "/rules/branches/{branch}") => self.rules(),
            ("GET", "/labels") => {
                let v: Vec<Value> = self
                    .st
                    .labels
                    .iter()
                    .filter_map(|l| self.label_json(l.id))
                    .collect();
                paged(r, self.st, v, true)
            }
            ("GET", "/issues") => self.list_issues(),
            ("GET", "/issues/{issue_number}/labels") => match self.pr_number() {
                Some(n) => paged(r, self.st, self.pr_labels(self.st.pull(n)), true),
                None => self.not_found(),
            },
            ("POST", "/issues/{issue_number}/labels") => self.add_labels(),
            ("DELETE", "/issues/{issue_number}/labels/{name}") => self.remove_label(),
            ("GET", "/issues/{issue_number}/comments") => match self.pr_number() {
                Some(n) => {
                    let ids = self.st.comment_ids(n);
                    let v: Vec<Value> = ids.iter().map(|id| self.comment_json(*id)).collect();
                    paged(r, self.st, v, true)
                }
                None => self.not_found(),
            },
            ("POST", "/issues/{issue_number}/comments") => self.create_comment(),
            ("POST", "/labels") => self.create_repo_label(),
            ("PATCH", "/issues/comments/{comment_id}") => self.edit_comment(),
            _ => self.not_found(),
        }
    }

    fn list_pulls(&self) -> Resp {
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

    fn merge(&mut self) -> Resp {
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
        let sha = self.st.do_merge(n, &method, &title, &message, &login);
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

    fn update_branch(&mut self) -> Resp {
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
        let Some(new_head) = self.st.do_update(n, "merge") else {
            return github_err(500, "Server Error");
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

    fn combined_status(&self) -> Resp {
        let r = self.r;
        let Some(sha) = self.st.resolve_ref(r.param("ref")) else {
            return github_err(404, &format!("No commit found for SHA: {}", r.param("ref")));
        };
        let latest = self.st.latest_statuses(&sha);
        let state = if latest
            .iter()
            .any(|s| s.state == "error" || s.state == "failure")
        {
            "failure"
        } else if latest.is_empty() || latest.iter().any(|s| s.state == "pending") {
            "pending"
        } else {
            "success"
        };
        let page = Page::github(r, self.st);
        let rows: Vec<Value> = page
            .slice(&latest, r.shift_page)
            .iter()
            .map(|s| self.status_json(s, false))
            .collect();
        let repo = self.repo_json(None);
        let mut resp = Resp::json(
            200,
            json!({
                "state": state, "statuses": rows, "sha": sha, "total_count": latest.len(),
                "repository": repo, "commit_url": format!("{}/commits/{sha}", self.api()),
                "url": format!("{}/commits/{sha}/status", self.api()),
            }),
        );
        if let Some(l) = link_header(r, self.st, page, latest.len()) {
            resp.set_header("Link", l);
        }
        resp
    }

    fn check_runs(&self) -> Resp {
        let r = self.r;
        let Some(sha) = self.st.resolve_ref(r.param("ref")) else {
            return github_err(404, &format!("No commit found for SHA: {}", r.param("ref")));
        };
        let mut runs: Vec<&CheckRun> = self
            .st
            .check_runs
            .iter()
            .filter(|c| c.head_sha == sha)
            .collect();
        runs.sort_by_key(|c| std::cmp::Reverse(c.id));
        match r.q("filter").unwrap_or("latest") {
            "all" => {}
            "latest" => {
                let mut seen = std::collections::HashSet::new();
                runs.retain(|c| seen.insert((c.name.clone(), c.app_id)));
            }
            _ => return self.validation("CheckRun", "filter", "filter must be latest or all"),
        }
        if let Some(n) = r.q("check_name") {
            runs.retain(|c| c.name == n);
        }
        if let Some(s) = r.q("status") {
            runs.retain(|c| c.status == s);
        }
        if let Some(a) = r.q("app_id").and_then(|a| a.parse::<i64>().ok()) {
            runs.retain(|c| c.app_id == a);
        }
        let page = Page::github(r, self.st);
        let items: Vec<Value> = page
            .slice(&runs, r.shift_page)
            .iter()
            .map(|c| self.check_run_json(c))
            .collect();
        let mut resp = Resp::json(200, json!({"total_count": runs.len(), "check_runs": items}));
        if let Some(l) = link_header(r, self.st, page, runs.len()) {
            resp.set_header("Link", l);
        }
        resp
    }

    fn create_status(&mut self) -> Resp {
        let body = match self.body() {
            Ok(b) => b,
            Err(e) => return e,
        };
        if self.perm() < Permission::Write {
            return github_err(403, "Resource not accessible by personal access token");
        }
        let get = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let state = get("state");
        if !["error", "failure", "pending", "success"].contains(&state.as_str()) {
            return self.validation("Status", "state", "state is not included in the list");
        }
        let Some(sha) = self.st.resolve_sha(self.r.param("sha")) else {
            return self.validation(
                "Status",
                "sha",
                &format!("No commit found for SHA: {}", self.r.param("sha")),
            );
        };
        let mut context = get("context");
        if context.is_empty() {
            context = "default".to_string();
        }
        let (desc, url) = (get("description"), get("target_url"));
        let login = self.r.login();
        let id = self
            .st
            .add_status_full(&sha, &context, &state, &desc, &url, &login);
        self.st.record(Mutation::StatusPosted {
            sha,
            context,
            state,
            description: desc,
            target_url: url,
        });
        match self.st.statuses.iter().find(|s| s.id == id) {
            Some(s) => Resp::json(201, self.status_json(s, true)),
            None => github_err(500, "Server Error"),
        }
    }

    fn branch(&self) -> Resp {
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

    fn protection(&self) -> Resp {
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

    fn rules(&self) -> Resp {
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

    fn list_issues(&self) -> Resp {
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

    fn add_labels(&mut self) -> Resp {
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
        let list = match &body {
            Value::Array(a) => a.clone(),
            Value::Object(o) => match o.get("labels") {
                Some(Value::Array(a)) => a.clone(),
                Some(Value::String(s)) => vec![Value::String(s.clone())],
                _ => return self.validation("Label", "labels", "labels is missing"),
            },
            Value::String(s) => vec![Value::String(s.clone())],
            _ => return self.validation("Label", "labels", "labels is invalid"),
        };
        let mut names = Vec::new();
        for v in list {
            match v {
                Value::String(s) => names.push(s),
                Value::Object(o) => match o.get("name").and_then(Value::as_str) {
                    Some(s) => names.push(s.to_string()),
                    None => return self.validation("Label", "name", "name is missing"),
                },
                _ => return self.validation("Label", "labels", "labels must be strings"),
            }
        }
        for name in names {
            let id = match self
                .st
                .labels
                .iter()
                .find(|l| l.name.eq_ignore_ascii_case(&name))
            {
                Some(l) => l.id,
                None => self.st.create_label(&name, "ededed", ""),
            };
            if !self.st.pull(n).labels.contains(&id) {
                self.st.pr_mut(n).labels.push(id);
                let label = self
                    .st
                    .label_by_id(id)
                    .map(|l| l.name.clone())
                    .unwrap_or(name);
                self.st.record(Mutation::LabelAdded { pr: n, label });
            }
        }
        Resp::json(200, Value::Array(self.pr_labels(self.st.pull(n))))
    }

    fn remove_label(&mut self) -> Resp {
        let Some(n) = self.pr_number() else {
            return self.not_found();
        };
        if self.perm() < Permission::Write {
            return github_err(403, "Resource not accessible by personal access token");
        }
        let name = self.r.param("name").to_string();
        let id = self
            .st
            .labels
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(&name))
            .map(|l| l.id)
            .filter(|id| self.st.pull(n).labels.contains(id));
        let Some(id) = id else {
            return github_err(404, "Label does not exist");
        };
        self.st.pr_mut(n).labels.retain(|l| *l != id);
        let label = self
            .st
            .label_by_id(id)
            .map(|l| l.name.clone())
            .unwrap_or(name);
        self.st.record(Mutation::LabelRemoved { pr: n, label });
        Resp::json(200, Value::Array(self.pr_labels(self.st.pull(n))))
    }

    /// `POST /repos/{owner}/{repo}/labels`: 422 `already_exists` for a taken name.
    fn create_repo_label(&mut self) -> Resp {
        if self.perm() < Permission::Write {
            return self.validation("Label", "name", "Resource not accessible by integration");
        }
        let body = match self.body() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let field = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let name = field("name");
        if name.is_empty() {
            return self.validation("Label", "name", "name is missing");
        }
        if self.st.label_by_name(&name).is_some() {
            return self.validation("Label", "name", "already_exists");
        }
        let color = match field("color") {
            c if c.is_empty() => "ededed".to_string(),
            c => c,
        };
        let id = self.st.create_label(&name, &color, &field("description"));
        self.st.record(Mutation::LabelCreated { name });
        match self.label_json(id) {
            Some(v) => Resp::json(201, v),
            None => Resp::empty(500),
        }
    }

    fn create_comment(&mut self) -> Resp {
        let body = match self.body() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(n) = self.pr_number() else {
            return self.not_found();
        };
        let Some(text) = body.get("body").and_then(Value::as_str).map(str::to_string) else {
            return self.validation("IssueComment", "body", "body is missing");
        };
        let login = self.r.login();
        let id = self.st.add_comment(n, &login, &text);
        self.st.record(Mutation::Commented { pr: n, body: text });
        Resp::json(201, self.comment_json(id))
    }

    fn edit_comment(&mut self) -> Resp {
        let body = match self.body() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(id) = self
            .r
            .param("comment_id")
            .parse::<u64>()
            .ok()
            .filter(|id| self.st.comments.iter().any(|c| c.id == *id))
        else {
            return self.not_found();
        };
        let Some(text) = body.get("body").and_then(Value::as_str).map(str::to_string) else {
            return self.validation("IssueComment", "body", "body is missing");
        };
        let login = self.r.login();
        let is_author = self
            .st
            .comments
            .iter()
            .any(|c| c.id == id && c.user.eq_ignore_ascii_case(&login));
        if !is_author && self.perm() < Permission::Write {
            return github_err(403, "Resource not accessible by personal access token");
        }
        self.st.edit_comment(id, text);
        Resp::json(200, self.comment_json(id))
    }
}

pub(crate) fn dispatch(st: &mut SimState, r: &Req) -> Resp {
    H { st, r }.dispatch()
}
