//! Tracker issues on the simulated forge: `GET /repos/{owner}/{repo}/issues/{index}`
//! (Gitea dialect), for the `coe-tracking` gate.
//!
//! Issues live in [`SimState::issues`] and may belong to any repository (tracker
//! references name other repositories: `owner/repo#12`). A token with no access to the
//! simulated repository gets 404, as elsewhere; a missing issue is 404; faults (403, 5xx,
//! hangs) are injected on the route like on any other.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::http::{Req, Resp, gitea_err};
use super::state::SimState;

/// An issue on the simulated forge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimIssue {
    /// `owner/repo`.
    pub repo: String,
    pub number: u64,
    pub title: String,
    /// `open` or `closed`.
    pub state: String,
    /// RFC 3339.
    pub created_at: String,
}

impl SimIssue {
    pub fn new(repo: &str, number: u64, state: &str, created_at: &str) -> SimIssue {
        SimIssue {
            repo: repo.to_string(),
            number,
            title: format!("tracker {number}"),
            state: state.to_string(),
            created_at: created_at.to_string(),
        }
    }
}

/// The issue route of the Gitea dialect.
pub(crate) const GITEA_ROUTE: (&str, &str) = ("GET", "/repos/{owner}/{repo}/issues/{index}");

/// Serves `GET /repos/{owner}/{repo}/issues/{index}`.
pub(crate) fn get_issue(st: &SimState, r: &Req) -> Resp {
    if r.user.is_none() {
        return gitea_err(&r.base_url, 401, "token is required");
    }
    let slug = format!("{}/{}", r.param("owner"), r.param("repo"));
    let found = r.param("index").parse::<u64>().ok().and_then(|n| {
        st.issues
            .iter()
            .find(|i| i.number == n && i.repo.eq_ignore_ascii_case(&slug))
    });
    match found {
        Some(i) => Resp::json(
            200,
            json!({
                "id": i.number + 100_000,
                "number": i.number,
                "title": i.title,
                "state": i.state,
                "created_at": i.created_at,
                "updated_at": i.created_at,
                "pull_request": null,
                "repository": {"full_name": i.repo},
            }),
        ),
        None => gitea_err(&r.base_url, 404, "The target couldn't be found."),
    }
}
