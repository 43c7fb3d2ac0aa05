//! Gitea branches, commits (with their paging headers) and commit statuses.

use serde_json::{Value, json};

use super::G;
use crate::http::{Page, Resp, link_header, paged};
use crate::record::Mutation;
use crate::state::gitea_state_rank;

impl G<'_> {
    pub(super) fn list_branches(&self) -> Resp {
        let v: Vec<Value> = self
            .st
            .branches
            .iter()
            .map(|(n, s)| self.branch_json(n, s))
            .collect();
        paged(self.r, self.st, v, true)
    }

    pub(super) fn commit_page_headers(&self, mut resp: Resp, page: Page, total: usize) -> Resp {
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

    pub(super) fn list_commits(&self) -> Resp {
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

    pub(super) fn pr_commits(&self) -> Resp {
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

    pub(super) fn combined_status(&self) -> Resp {
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

    pub(super) fn list_statuses(&self) -> Resp {
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

    pub(super) fn create_status(&mut self) -> Resp {
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
}
