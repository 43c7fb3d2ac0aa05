//! Gitea / Forgejo dialect (API under `/api/v1`).

use serde_json::{Map, Value, json};

use super::http::{Page, Req, Resp, gitea_err, link_header, paged, ts};
use super::record::Mutation;
use super::scenario::Permission;
use super::state::{
    BranchProtection, CommitStatus, PullRequest, Review, SimState, User, gitea_state_rank,
};

/// Routes served by the Gitea dialect (templates without `/api/v1`).
pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/version"),
    ("GET", "/user"),
    ("GET", "/repos/{owner}/{repo}"),
    ("GET", "/repos/{owner}/{repo}/branches"),
    ("GET", "/repos/{owner}/{repo}/branches/{branch}"),
    ("GET", "/repos/{owner}/{repo}/branch_protections"),
    ("GET", "/repos/{owner}/{repo}/branch_protections/{name}"),
    ("GET", "/repos/{owner}/{repo}/commits"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/status"),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses"),
    ("GET", "/repos/{owner}/{repo}/statuses/{sha}"),
    ("POST", "/repos/{owner}/{repo}/statuses/{sha}"),
    ("GET", "/repos/{owner}/{repo}/pulls"),
    ("GET", "/repos/{owner}/{repo}/pulls/{index}"),
    ("GET", "/repos/{owner}/{repo}/pulls/{index}/commits"),
    ("GET", "/repos/{owner}/{repo}/pulls/{index}/reviews"),
    ("GET", "/repos/{owner}/{repo}/pulls/{index}/merge"),
    ("POST", "/repos/{owner}/{repo}/pulls/{index}/merge"),
    ("POST", "/repos/{owner}/{repo}/pulls/{index}/update"),
    ("GET", "/repos/{owner}/{repo}/issues"),
    super::issues::GITEA_ROUTE,
    ("GET", "/repos/{owner}/{repo}/labels"),
    ("POST", "/repos/{owner}/{repo}/labels"),
    ("GET", "/repos/{owner}/{repo}/issues/{index}/labels"),
    ("POST", "/repos/{owner}/{repo}/issues/{index}/labels"),
    ("DELETE", "/repos/{owner}/{repo}/issues/{index}/labels/{id}"),
    ("GET", "/repos/{owner}/{repo}/issues/{index}/comments"),
    ("POST", "/repos/{owner}/{repo}/issues/{index}/comments"),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{id}"),
    ("GET", "/repos/{owner}/{repo}/contents/{filepath}"),
];

const NOT_FOUND: &str = "The target couldn't be found.";

struct G<'a> {
    st: &'a mut SimState,
    r: &'a Req,
}

impl G<'_> {
    fn err(&self, status: u16, msg: &str) -> Resp {
        gitea_err(&self.r.base_url, status, msg)
    }
    fn not_found(&self) -> Resp {
        self.err(404, NOT_FOUND)
    }
    fn api(&self) -> String {
        format!(
            "{}/api/v1/repos/{}/{}",
            self.r.base_url, self.st.owner, self.st.name
        )
    }
    fn html(&self) -> String {
        format!("{}/{}/{}", self.r.base_url, self.st.owner, self.st.name)
    }
    fn perm(&self) -> Permission {
        self.r
            .user
            .as_ref()
            .map(|u| u.perm())
            .unwrap_or(Permission::None)
    }

    // ------------- JSON builders -------------

    fn user_json(&self, u: &User) -> Value {
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
    fn login_json(&self, login: &str) -> Value {
        let u = self.st.user_or_ghost(login);
        self.user_json(&u)
    }
    fn owner_json(&self) -> Value {
        let mut u = self.st.user_or_ghost(&self.st.owner);
        if self.st.user(&self.st.owner).is_none() {
            u.id = 1;
        }
        self.user_json(&u)
    }

    fn repo_json(&self, full_name: Option<&str>) -> Value {
        let st = &*self.st;
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

    fn label_json(&self, id: u64) -> Option<Value> {
        let l = self.st.label_by_id(id)?;
        Some(json!({
            "id": l.id, "name": l.name, "exclusive": l.name.contains('/'), "is_archived": false,
            "color": l.color, "description": l.description,
            "url": format!("{}/labels/{}", self.api(), l.id),
        }))
    }

    fn pr_labels(&self, p: &PullRequest) -> Vec<Value> {
        p.labels
            .iter()
            .filter_map(|id| self.label_json(*id))
            .collect()
    }

    fn commit_json(&self, sha: &str) -> Value {
        let Some(c) = self.st.commits.get(sha) else {
            return Value::Null;
        };
        let date = ts(&c.created);
        let who = json!({"name": c.author, "email": format!("{}@noreply.example.com", c.author), "date": date});
        let parents: Vec<Value> = c
            .parents
            .iter()
            .map(|p| json!({"url": format!("{}/git/commits/{p}", self.api()), "sha": p, "created": date}))
            .collect();
        let mut v = json!({
            "url": format!("{}/git/commits/{sha}", self.api()), "sha": sha, "created": date,
            "html_url": format!("{}/commit/{sha}", self.html()),
            "commit": {
                "url": format!("{}/git/commits/{sha}", self.api()), "author": who, "committer": who,
                "message": c.message,
                "tree": {"url": format!("{}/git/trees/{sha}", self.api()), "sha": super::fake_sha(&format!("tree:{sha}")), "created": date},
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

    fn branch_info(&self, branch: &str, sha: &str, repo: Option<&str>) -> Value {
        let repo_json = self.repo_json(repo);
        let repo_id = repo_json["id"].clone();
        json!({"label": branch, "ref": branch, "sha": sha, "repo_id": repo_id, "repo": repo_json})
    }

    fn pr_json(&self, p: &PullRequest) -> Value {
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

    fn issue_json(&self, p: &PullRequest) -> Value {
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

    fn status_json(&self, s: &CommitStatus) -> Value {
        json!({
            "id": s.id, "status": s.state, "target_url": s.target_url, "description": s.description,
            "url": format!("{}/statuses/{}", self.api(), s.sha), "context": s.context,
            "creator": self.login_json(&s.creator),
            "created_at": ts(&s.created_at), "updated_at": ts(&s.updated_at),
        })
    }

    fn review_json(&self, rv: &Review) -> Value {
        json!({
            "id": rv.id, "user": self.login_json(&rv.user), "team": null, "state": rv.state,
            "body": rv.body, "commit_id": rv.commit_id, "stale": rv.stale, "official": rv.official,
            "dismissed": rv.dismissed, "comments_count": 0,
            "submitted_at": ts(&rv.submitted_at), "updated_at": ts(&rv.submitted_at),
            "html_url": format!("{}/pulls/{}#issuecomment-{}", self.html(), rv.pr, rv.id),
            "pull_request_url": format!("{}/pulls/{}", self.html(), rv.pr),
        })
    }

    fn protection_json(&self, p: &BranchProtection) -> Value {
        json!({
            "branch_name": p.rule_name, "rule_name": p.rule_name,
            "enable_push": p.enable_push, "enable_push_whitelist": false,
            "push_whitelist_usernames": [], "push_whitelist_teams": [], "push_whitelist_deploy_keys": false,
            "enable_merge_whitelist": false, "merge_whitelist_usernames": [], "merge_whitelist_teams": [],
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

    fn branch_json(&self, name: &str, sha: &str) -> Value {
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
            "user_can_push": perm >= Permission::Write && rule.is_none_or(|r| r.enable_push),
            "user_can_merge": perm >= Permission::Write,
            "effective_branch_protection_name": match (rule, perm >= Permission::Admin) {
                (Some(r), true) => r.rule_name.clone(),
                _ => String::new(),
            },
        })
    }

    fn comment_json(&self, id: u64) -> Value {
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

    // ------------- helpers -------------

    fn index(&self) -> Option<u64> {
        self.r
            .param("index")
            .parse()
            .ok()
            .filter(|n| self.st.pulls.contains_key(n))
    }

    fn body_obj(&self) -> Result<Map<String, Value>, Resp> {
        match &self.r.body {
            None => Ok(Map::new()),
            Some(Err(e)) => Err(self.err(422, &format!("invalid JSON body: {e}"))),
            Some(Ok(Value::Object(m))) => Ok(m.clone()),
            Some(Ok(_)) => {
                Err(self.err(422, "json: cannot unmarshal into Go value of type object"))
            }
        }
    }

    fn require_write(&self) -> Option<Resp> {
        if self.perm() < Permission::Write {
            Some(self.err(403, "user should have a permission to write to a repo"))
        } else {
            None
        }
    }

    // ------------- handlers -------------

    fn dispatch(&mut self) -> Resp {
        let r = self.r;
        if r.route == "/version" {
            return Resp::json(200, json!({"version": self.st.version}));
        }
        let Some(user) = r.user.clone() else {
            return self.err(401, "token is required");
        };
        if r.route == "/user" {
            return Resp::json(200, self.user_json(&user));
        }
        if (r.method.as_str(), r.route) == super::issues::GITEA_ROUTE {
            return super::issues::get_issue(self.st, r);
        }
        if !r.param("owner").eq_ignore_ascii_case(&self.st.owner)
            || !r.param("repo").eq_ignore_ascii_case(&self.st.name)
            || user.perm() == Permission::None
        {
            return self.not_found();
        }
        let route = r.route.trim_start_matches("/repos/{owner}/{repo}");
        match (r.method.as_str(), route) {
            ("GET", "") => Resp::json(200, self.repo_json(None)),
            ("GET", "/branches") => self.list_branches(),
            ("GET", "/branches/{branch}") => {
                let b = r.param("branch");
                match self.st.branch_head(b) {
                    Some(sha) => Resp::json(200, self.branch_json(b, &sha)),
                    None => self.err(404, &format!("branch does not exist [name: {b}]")),
                }
            }
            ("GET", "/branch_protections") => {
                if self.perm() < Permission::Admin {
                    return self.err(403, "");
                }
                let v: Vec<Value> = self
                    .st
                    .protections
                    .iter()
                    .map(|p| self.protection_json(p))
                    .collect();
                Resp::json(200, Value::Array(v))
            }
            ("GET", "/branch_protections/{name}") => {
                if self.perm() < Permission::Admin {
                    return self.err(403, "");
                }
                match self
                    .st
                    .protections
                    .iter()
                    .find(|p| p.rule_name == r.param("name"))
                {
                    Some(p) => Resp::json(200, self.protection_json(p)),
                    None => self.not_found(),
                }
            }
            ("GET", "/commits") => self.list_commits(),
            ("GET", "/commits/{ref}/status") => self.combined_status(),
            ("GET", "/commits/{ref}/statuses") | ("GET", "/statuses/{sha}") => self.list_statuses(),
            ("POST", "/statuses/{sha}") => self.create_status(),
            ("GET", "/pulls") => self.list_pulls(),
            ("GET", "/pulls/{index}") => match self.index() {
                Some(n) => Resp::json(200, self.pr_json(self.st.pull(n))),
                None => self.not_found(),
            },
            ("GET", "/pulls/{index}/commits") => self.pr_commits(),
            ("GET", "/pulls/{index}/reviews") => self.pr_reviews(),
            ("GET", "/pulls/{index}/merge") => match self.index() {
                Some(n) if self.st.pull(n).merged => Resp::empty(204),
                _ => self.not_found(),
            },
            ("POST", "/pulls/{index}/merge") => self.merge(),
            ("POST", "/pulls/{index}/update") => self.update(),
            ("GET", "/issues") => self.list_issues(),
            ("GET", "/labels") => {
                let v: Vec<Value> = self
                    .st
                    .labels
                    .iter()
                    .filter_map(|l| self.label_json(l.id))
                    .collect();
                self.all_or_paged(v)
            }
            ("POST", "/labels") => self.create_repo_label(),
            ("GET", "/issues/{index}/labels") => match self.index() {
                Some(n) => Resp::json(200, Value::Array(self.pr_labels(self.st.pull(n)))),
                None => self.not_found(),
            },
            ("POST", "/issues/{index}/labels") => self.add_labels(),
            ("DELETE", "/issues/{index}/labels/{id}") => self.remove_label(),
            ("GET", "/issues/{index}/comments") => match self.index() {
                Some(n) => {
                    let ids = self.st.comment_ids(n);
                    let v: Vec<Value> = ids.iter().map(|id| self.comment_json(*id)).collect();
                    Resp::json(200, Value::Array(v)).header("X-Total-Count", ids.len())
                }
                None => self.not_found(),
            },
            ("POST", "/issues/{index}/comments") => self.create_comment(),
            ("PATCH", "/issues/comments/{id}") => self.edit_comment(),
            ("GET", "/contents/{filepath}") => super::files::contents(self.st, r),
            ("GET", "/actions/jobs/{job_id}/logs") => super::logs::gitea_api(self.st, r),
            _ => self.not_found(),
        }
    }

    /// Lists that return every row when no `page` is sent (reviews, labels): X-Total-Count only.
    fn all_or_paged(&self, v: Vec<Value>) -> Resp {
        if self.r.q("page").is_none() {
            let n = v.len();
            return Resp::json(200, Value::Array(v)).header("X-Total-Count", n);
        }
        paged(self.r, self.st, v, false)
    }

    fn list_branches(&self) -> Resp {
        let v: Vec<Value> = self
            .st
            .branches
            .iter()
            .map(|(n, s)| self.branch_json(n, s))
            .collect();
        paged(self.r, self.st, v, true)
    }

    fn commit_page_headers(&self, mut resp: Resp, page: Page, total: usize) -> Resp {
        let pages = page.pages(total);
        resp.set_header("X-Total-Count", total);
        resp.set_header("X-Page", page.page);
        resp.set_header("X-PerPage", page.limit);
        resp.set_header("X-PageCount", pages);
        resp.set_header("X-HasMore", page.page < pages);
        if let Some(l) = link_header(self.r, self.st, page, total) {
            resp.set_header("Link", l);
        }
        resp
    }

    fn list_commits(&self) -> Resp {
        let r = self.r;
        let start = r
            .q("sha")
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.st.default_branch);
        let Some(sha) = self.st.resolve_ref(start) else {
            return self.err(
                404,
                &format!("object does not exist [id: {start}, rel_path: ]"),
            );
        };
        let mut hist = self.st.first_parent_history(&sha);
        if let Some(not) = r.q("not").and_then(|n| self.st.resolve_ref(n)) {
            let ex = self.st.ancestors(&not);
            hist.retain(|s| !ex.contains(s));
        }
        let page = Page::gitea(r, self.st);
        let total = hist.len();
        let items: Vec<Value> = page
            .slice(&hist, r.shift_page)
            .iter()
            .map(|s| self.commit_json(s))
            .collect();
        let resp = Resp::json(200, Value::Array(items)).header("X-Total", total);
        self.commit_page_headers(resp, page, total)
    }

    fn pr_commits(&self) -> Resp {
        let Some(n) = self.index() else {
            return self.not_found();
        };
        let p = self.st.pull(n);
        let shas = self.st.commits_between(&p.merge_base, &p.head_sha);
        let page = Page::gitea(self.r, self.st);
        let total = shas.len();
        let items: Vec<Value> = page
            .slice(&shas, self.r.shift_page)
            .iter()
            .map(|s| self.commit_json(s))
            .collect();
        self.commit_page_headers(Resp::json(200, Value::Array(items)), page, total)
    }

    fn combined_status(&self) -> Resp {
        let r = self.r;
        let reference = r.param("ref");
        let sha = self
            .st
            .resolve_ref(reference)
            .unwrap_or_else(|| reference.to_string());
        let latest = self.st.latest_statuses(&sha);
        let page = Page::gitea(r, self.st);
        let rows = page.slice(&latest, r.shift_page);
        if rows.is_empty() {
            return Resp::json(
                200,
                json!({"state": "", "sha": "", "total_count": 0, "statuses": null, "repository": null, "commit_url": "", "url": ""}),
            );
        }
        // Gitea 1.22: worst state wins (error<failure<warning<pending<success); error shown as failure.
        let worst = rows
            .iter()
            .map(|s| s.state.as_str())
            .min_by_key(|s| gitea_state_rank(s))
            .unwrap_or("success");
        let state = match worst {
            "error" => "failure",
            "skipped" => "success",
            s => s,
        };
        let statuses: Vec<Value> = rows.iter().map(|s| self.status_json(s)).collect();
        Resp::json(
            200,
            json!({
                "state": state, "sha": sha, "total_count": rows.len(), "statuses": statuses,
                "repository": self.repo_json(None),
                "commit_url": format!("{}/commits/{sha}", self.api()),
                "url": format!("{}/commits/{sha}/status", self.api()),
            }),
        )
        .header("X-Total-Count", latest.len())
    }

    fn list_statuses(&self) -> Resp {
        let r = self.r;
        let reference = if r.route.ends_with("{sha}") {
            r.param("sha")
        } else {
            r.param("ref")
        };
        let sha = if r.route.ends_with("{sha}") {
            reference.to_string()
        } else {
            self.st
                .resolve_ref(reference)
                .unwrap_or_else(|| reference.to_string())
        };
        let mut rows = self.st.statuses_for(&sha);
        if let Some(state) = r.q("state").filter(|s| !s.is_empty()) {
            rows.retain(|s| s.state == state);
        }
        match r.q("sort").unwrap_or("") {
            "oldest" | "leastupdate" | "leastindex" => rows.sort_by_key(|s| (s.created_at, s.id)),
            _ => rows.sort_by_key(|s| std::cmp::Reverse((s.created_at, s.id))),
        }
        let v: Vec<Value> = rows.iter().map(|s| self.status_json(s)).collect();
        paged(r, self.st, v, true)
    }

    fn create_status(&mut self) -> Resp {
        if let Some(e) = self.require_write() {
            return e;
        }
        let body = match self.body_obj() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let get = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let state = get("state");
        if !["pending", "success", "error", "failure", "warning"].contains(&state.as_str()) {
            return self.err(422, &format!("invalid commit status state: {state:?}"));
        }
        let Some(sha) = self.st.resolve_sha(self.r.param("sha")) else {
            // Gitea maps every service error (unknown commit) to 500 with a blank message.
            return self.err(500, "");
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
            sha: sha.clone(),
            context,
            state,
            description: desc,
            target_url: url,
        });
        match self.st.statuses.iter().find(|s| s.id == id) {
            Some(s) => Resp::json(201, self.status_json(s)),
            None => self.err(500, ""),
        }
    }

    fn list_pulls(&self) -> Resp {
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

    fn pr_reviews(&self) -> Resp {
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

    fn list_issues(&self) -> Resp {
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

    fn merge(&mut self) -> Resp {
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
        if perm < Permission::Write {
            return self.err(405, "User not allowed to merge PR");
        }
        let t = p.title.to_ascii_lowercase();
        if p.draft || t.starts_with("wip:") || t.starts_with("[wip]") {
            return self.err(405, "Work in progress PRs cannot be merged");
        }
        if style == "manually-merged" {
            return self.err(405, "manually-merged is not supported by the simulator");
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
        let merge_sha = self.st.do_merge(n, &style, &title, &message, &login);
        self.st.record(Mutation::Merged {
            pr: n,
            head_sha: p.head_sha,
            merge_sha,
            method: style,
            force: forced,
        });
        Resp::empty(200)
    }

    fn update(&mut self) -> Resp {
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
        let Some(new_head) = self.st.do_update(n, style) else {
            return self.err(500, "");
        };
        self.st.record(Mutation::Updated {
            pr: n,
            old_head: p.head_sha,
            new_head,
            style: style.to_string(),
        });
        Resp::empty(200)
    }

    fn add_labels(&mut self) -> Resp {
        let Some(n) = self.index() else {
            return self.not_found();
        };
        if let Some(e) = self.require_write() {
            return e;
        }
        let body = match self.body_obj() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(list) = body.get("labels").and_then(Value::as_array).cloned() else {
            return self.err(422, "[Labels]: Required");
        };
        let all_ints = list.iter().all(|v| v.is_u64());
        let all_strs = list.iter().all(|v| v.is_string());
        if !all_ints && !all_strs {
            return self.err(400, "invalid label: labels must be all ids or all names");
        }
        let ids: Vec<u64> = list
            .iter()
            .filter_map(|v| match v {
                Value::Number(x) => x.as_u64().filter(|id| self.st.label_by_id(*id).is_some()),
                Value::String(s) => self.st.label_by_name(s).map(|l| l.id),
                _ => None,
            })
            .collect();
        for id in ids {
            if !self.st.pull(n).labels.contains(&id) {
                self.st.pr_mut(n).labels.push(id);
                let name = self
                    .st
                    .label_by_id(id)
                    .map(|l| l.name.clone())
                    .unwrap_or_default();
                self.st.record(Mutation::LabelAdded { pr: n, label: name });
            }
        }
        Resp::json(200, Value::Array(self.pr_labels(self.st.pull(n))))
    }

    fn remove_label(&mut self) -> Resp {
        let Some(n) = self.index() else {
            return self.not_found();
        };
        if let Some(e) = self.require_write() {
            return e;
        }
        let Some(id) = self
            .r
            .param("id")
            .parse::<u64>()
            .ok()
            .filter(|id| self.st.label_by_id(*id).is_some())
        else {
            return self.err(422, "label does not exist");
        };
        if self.st.pull(n).labels.contains(&id) {
            self.st.pr_mut(n).labels.retain(|l| *l != id);
            let name = self
                .st
                .label_by_id(id)
                .map(|l| l.name.clone())
                .unwrap_or_default();
            self.st
                .record(Mutation::LabelRemoved { pr: n, label: name });
        }
        Resp::empty(204)
    }

    /// `POST /repos/{owner}/{repo}/labels` (CreateLabelOption: name and color required;
    /// write access).
    fn create_repo_label(&mut self) -> Resp {
        if self.perm() < Permission::Write {
            return Resp::empty(403);
        }
        let body = match self.body_obj() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let field = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let (name, color) = (field("name"), field("color"));
        if name.is_empty() || color.is_empty() {
            return self.err(422, "[Name, Color]: Required");
        }
        let id = self.st.create_label(&name, &color, &field("description"));
        self.st.record(Mutation::LabelCreated { name });
        match self.label_json(id) {
            Some(v) => Resp::json(201, v),
            None => self.err(500, ""),
        }
    }

    fn create_comment(&mut self) -> Resp {
        let Some(n) = self.index() else {
            return self.not_found();
        };
        let body = match self.body_obj() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let text = body
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if text.is_empty() {
            return self.err(422, "[Body]: Required");
        }
        let login = self.r.login();
        let id = self.st.add_comment(n, &login, &text);
        self.st.record(Mutation::Commented { pr: n, body: text });
        Resp::json(201, self.comment_json(id))
    }

    fn edit_comment(&mut self) -> Resp {
        let Some(id) = self
            .r
            .param("id")
            .parse::<u64>()
            .ok()
            .filter(|id| self.st.comments.iter().any(|c| c.id == *id))
        else {
            return self.not_found();
        };
        let body = match self.body_obj() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let text = body
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let login = self.r.login();
        let is_author = self
            .st
            .comments
            .iter()
            .any(|c| c.id == id && c.user.eq_ignore_ascii_case(&login));
        if !is_author && self.perm() < Permission::Admin {
            return self.err(403, "");
        }
        self.st.edit_comment(id, text);
        Resp::json(200, self.comment_json(id))
    }
}

pub(crate) fn dispatch(st: &mut SimState, r: &Req) -> Resp {
    G { st, r }.dispatch()
}
