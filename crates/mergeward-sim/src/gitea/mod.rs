//! Gitea / Forgejo dialect (API under `/api/v1`).
//!
//! Here: the route table, the request context and the dispatch; `json.rs` builds the
//! response shapes, and the handlers are grouped by resource (`commits.rs`, `pulls.rs`,
//! `labels.rs`).

use serde_json::{Map, Value, json};

use super::http::{Req, Resp, gitea_err, paged};
use super::scenario::Permission;
use super::state::SimState;

mod commits;
mod json;
mod labels;
mod pulls;

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
    ("GET", "/repos/{owner}/{repo}/git/commits/{sha}"),
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

    /// Whether the caller is allowed to merge under `rule`'s merge whitelist (Gitea:
    /// `IsUserMergeWhitelisted`; no whitelist means every writer may).
    fn may_merge(&self, rule: &crate::state::BranchProtection) -> bool {
        match (&rule.merge_whitelist, &self.r.user) {
            (None, _) => true,
            (Some(list), Some(u)) => list.iter().any(|l| l.eq_ignore_ascii_case(&u.login)),
            (Some(_), None) => false,
        }
    }

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
            ("GET", "/git/commits/{sha}") => match self.st.resolve_ref(r.param("sha")) {
                Some(sha) => Resp::json(200, self.commit_json(&sha)),
                None => self.not_found(),
            },
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
}

pub(crate) fn dispatch(st: &mut SimState, r: &Req) -> Resp {
    G { st, r }.dispatch()
}
