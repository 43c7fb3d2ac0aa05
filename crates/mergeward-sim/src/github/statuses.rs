//! GitHub commit statuses and check runs: combined status, check runs for a ref, creating
//! a status.

use serde_json::{Value, json};

use super::H;
use crate::http::{Page, Resp, github_err, link_header};
use crate::record::Mutation;
use crate::scenario::Permission;
use crate::state::CheckRun;

impl H<'_> {
    pub(super) fn combined_status(&self) -> Resp {
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

    pub(super) fn check_runs(&self) -> Resp {
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

    pub(super) fn create_status(&mut self) -> Resp {
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
}
