//! GitHub REST dialect (API at the server root, like `https://api.github.com`).
//!
//! Here: the route table, the request context and the dispatch; `json.rs` builds the
//! response shapes, and the handlers are grouped by resource (`pulls.rs`, `statuses.rs`,
//! `branches.rs`, `labels.rs`).

use serde_json::{Value, json};

use super::http::{Req, Resp, github_err, paged};
use super::scenario::Permission;
use super::state::SimState;

mod branches;
mod json;
mod labels;
mod pulls;
mod statuses;

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
                // An unknown commit SHA is a 404; another ref that resolves to nothing, a 422.
                None if is_hex_sha(r.param("ref")) => self.not_found(),
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
}

fn is_hex_sha(s: &str) -> bool {
    (7..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn dispatch(st: &mut SimState, r: &Req) -> Resp {
    H { st, r }.dispatch()
}
