//! Fault injection.
//!
//! A [`Fault`] matches requests by method (optional), route template (as listed by
//! [`crate::routes`], or `"*"` for every route) and query pairs (all must be
//! present with equal values). Every matching request increments the fault's own
//! 1-based counter; [`CallMatch`] decides on which counts the [`FaultAction`] fires.
//!
//! JSON form (scenario files, `"faults": [...]`):
//!
//! ```json
//! {"method": "GET", "route": "/repos/{owner}/{repo}/commits/{ref}/statuses",
//!  "query": [["page", "2"]], "calls": {"nth": 2}, "action": {"status": {"code": 502}}}
//! ```
//!
//! `calls`: `"always"`, `{"nth": N}`, `{"from": N}`, `{"range": [A, B]}` (default `"always"`).
//! `action`: `{"status": {"code": 502, "body": "...", "headers": [["Retry-After", "1"]]}}`,
//! `{"delay": {"ms": 200}}`, `"hang"`, `"malformed_json"`, `{"truncate_page": {"keep": 3}}`,
//! `"shift_page"`, `{"wrong_total_count": {"total": 7}}`, `"non_array_page"`,
//! `{"move_head": {"pr": 3}}`.

use serde::{Deserialize, Serialize};

/// One injected fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// HTTP method to match (case-insensitive); `None` = any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Route template, e.g. `/repos/{owner}/{repo}/pulls/{index}`, or `*`.
    pub route: String,
    /// Query pairs that must all be present.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<(String, String)>,
    /// Which matching calls fire.
    #[serde(default)]
    pub calls: CallMatch,
    /// What happens.
    pub action: FaultAction,
}

impl Fault {
    /// A fault on `route` (any method) that always fires.
    pub fn new(route: impl Into<String>, action: FaultAction) -> Fault {
        Fault {
            method: None,
            route: route.into(),
            query: Vec::new(),
            calls: CallMatch::Always,
            action,
        }
    }
    /// Restrict to one HTTP method.
    pub fn method(mut self, method: impl Into<String>) -> Fault {
        self.method = Some(method.into());
        self
    }
    /// Require a query pair.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Fault {
        self.query.push((key.into(), value.into()));
        self
    }
    /// Set the call matcher.
    pub fn calls(mut self, calls: CallMatch) -> Fault {
        self.calls = calls;
        self
    }
    /// Fire on the n-th matching call only (1-based).
    pub fn nth(self, n: u64) -> Fault {
        self.calls(CallMatch::Nth(n))
    }

    pub(crate) fn matches(
        &self,
        method: &str,
        route: Option<&str>,
        query: &[(String, String)],
    ) -> bool {
        if let Some(m) = &self.method
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        if self.route != "*" && Some(self.route.as_str()) != route {
            return false;
        }
        self.query
            .iter()
            .all(|(k, v)| query.iter().any(|(qk, qv)| qk == k && qv == v))
    }
}

/// Which of the matching calls (1-based count) a fault fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallMatch {
    /// Exactly the n-th matching call.
    Nth(u64),
    /// The n-th and every later matching call.
    From(u64),
    /// Calls a..=b.
    Range(u64, u64),
    /// Every matching call.
    #[default]
    Always,
}

impl CallMatch {
    pub(crate) fn fires(&self, count: u64) -> bool {
        match *self {
            CallMatch::Nth(n) => count == n,
            CallMatch::From(n) => count >= n,
            CallMatch::Range(a, b) => count >= a && count <= b,
            CallMatch::Always => true,
        }
    }
}

/// What a firing fault does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultAction {
    /// Replace the response. With `body: None` a dialect-style JSON error body is sent.
    Status {
        code: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        headers: Vec<(String, String)>,
    },
    /// Extra latency, then the normal response.
    Delay { ms: u64 },
    /// Never answer (sleeps one hour or until the sim shuts down).
    Hang,
    /// 200 with the real body cut in the middle (invalid JSON).
    MalformedJson,
    /// Serve only the first `keep` items of the page (headers unchanged).
    TruncatePage { keep: usize },
    /// Items shifted by one, as if a row was inserted before this page:
    /// the page starts with the previous page's last item.
    ShiftPage,
    /// `X-Total-Count` (and a body `total_count`, if any) lies.
    WrongTotalCount { total: u64 },
    /// 200 with a JSON object instead of the list.
    NonArrayPage,
    /// Before answering, push a new commit (without statuses) to the PR's head.
    MoveHead { pr: u64 },
    /// Before answering, a commit status lands on `branch`'s head (as when a push run
    /// finishes mid-tick).
    PostBranchStatus {
        branch: String,
        context: String,
        state: String,
    },
}

impl FaultAction {
    /// GitHub's secondary rate limit as recorded from api.github.com: 403, quota left, no
    /// `Retry-After`, identified only by its message.
    pub fn github_secondary_rate_limit() -> FaultAction {
        FaultAction::Status {
            code: 403,
            body: Some(r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 8F2C:1B4E:3A1F2C:3C2D1E:66A0B1C2.","documentation_url":"https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"403"}"#.into()),
            headers: vec![
                ("x-ratelimit-limit".into(), "5000".into()),
                ("x-ratelimit-remaining".into(), "4987".into()),
                ("x-ratelimit-used".into(), "13".into()),
                ("x-ratelimit-resource".into(), "core".into()),
            ],
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct FaultSet {
    entries: Vec<(Fault, u64)>,
}

/// Result of evaluating the fault set for one request.
#[derive(Debug, Default)]
pub(crate) struct Fired {
    pub delay_ms: u64,
    pub action: Option<FaultAction>,
    pub move_heads: Vec<u64>,
    /// (branch, context, state) statuses to post before answering.
    pub branch_statuses: Vec<(String, String, String)>,
}

impl FaultSet {
    pub(crate) fn push(&mut self, f: Fault) {
        self.entries.push((f, 0));
    }
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
    /// Count this request against every matching fault and collect what fires.
    /// Delays add up and `MoveHead` faults all apply; the first other firing action wins.
    pub(crate) fn evaluate(
        &mut self,
        method: &str,
        route: Option<&str>,
        query: &[(String, String)],
    ) -> Fired {
        let mut fired = Fired::default();
        for (fault, count) in &mut self.entries {
            if !fault.matches(method, route, query) {
                continue;
            }
            *count += 1;
            if !fault.calls.fires(*count) {
                continue;
            }
            match &fault.action {
                FaultAction::Delay { ms } => fired.delay_ms = fired.delay_ms.saturating_add(*ms),
                FaultAction::MoveHead { pr } => fired.move_heads.push(*pr),
                FaultAction::PostBranchStatus {
                    branch,
                    context,
                    state,
                } => fired
                    .branch_statuses
                    .push((branch.clone(), context.clone(), state.clone())),
                other => {
                    if fired.action.is_none() {
                        fired.action = Some(other.clone());
                    }
                }
            }
        }
        fired
    }
}
