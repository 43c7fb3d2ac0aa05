//! Commit statuses and check runs as read from the forge: [`ContextState`], one
//! [`StatusReport`] per row, and [`CommitStatuses`] reduced to the latest report per context.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::{ContextName, Sha};

/// The state of one context. Only states a policy names are green; by default only
/// `Success`. `Missing` is never green.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContextState {
    Success,
    Pending,
    Failure,
    Error,
    Warning,
    Skipped,
    Neutral,
    /// Required but never posted on this commit.
    Missing,
    /// A state string this version of mergeward does not know (kept verbatim).
    Unknown(String),
}

impl ContextState {
    /// Parses a commit-status state string (Gitea `status`/`state`, GitHub `state`).
    pub fn from_status(s: &str) -> ContextState {
        match s.trim().to_ascii_lowercase().as_str() {
            "success" => ContextState::Success,
            "pending" => ContextState::Pending,
            "failure" => ContextState::Failure,
            "error" => ContextState::Error,
            "warning" => ContextState::Warning,
            "skipped" => ContextState::Skipped,
            "neutral" => ContextState::Neutral,
            other => ContextState::Unknown(other.to_string()),
        }
    }

    /// Maps a GitHub check run's `status` + `conclusion`.
    pub fn from_check_run(status: &str, conclusion: Option<&str>) -> ContextState {
        if status != "completed" {
            return match status {
                "queued" | "in_progress" | "waiting" | "requested" | "pending" => {
                    ContextState::Pending
                }
                other => ContextState::Unknown(format!("check run status {other}")),
            };
        }
        match conclusion.unwrap_or("") {
            "success" => ContextState::Success,
            "neutral" => ContextState::Neutral,
            "skipped" => ContextState::Skipped,
            "failure" | "timed_out" | "cancelled" | "action_required" | "startup_failure"
            | "stale" => ContextState::Failure,
            other => ContextState::Unknown(format!("check run conclusion {other:?}")),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ContextState::Success => "success",
            ContextState::Pending => "pending",
            ContextState::Failure => "failure",
            ContextState::Error => "error",
            ContextState::Warning => "warning",
            ContextState::Skipped => "skipped",
            ContextState::Neutral => "neutral",
            ContextState::Missing => "missing",
            ContextState::Unknown(s) => s,
        }
    }

    /// How bad a state is, for folding several sources of one context (higher is worse).
    fn severity(&self) -> u8 {
        match self {
            ContextState::Success => 0,
            ContextState::Skipped | ContextState::Neutral => 1,
            ContextState::Pending => 2,
            ContextState::Warning => 3,
            ContextState::Missing => 4,
            ContextState::Unknown(_) => 5,
            ContextState::Failure => 6,
            ContextState::Error => 7,
        }
    }

    /// The worse of two states: a context reported by a commit status and a check run
    /// with the same name is only as good as its worse report.
    pub fn worst(self, other: ContextState) -> ContextState {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for ContextState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ContextState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Where a context report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    CommitStatus,
    CheckRun,
}

/// One status row (or check run) as read from the forge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusReport {
    pub id: u64,
    pub context: ContextName,
    pub state: ContextState,
    pub kind: ReportKind,
    pub target_url: Option<String>,
    pub description: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// The GitHub App that produced a check run (`app.id`, `app.slug`); `None` for commit
    /// statuses (GitHub's status rows do not name an app) and on Gitea/Forgejo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<CheckApp>,
    /// Login of whoever posted a commit status (`creator`), when the forge says; `None`
    /// for check runs (bound to an app, not a login).
    pub creator: Option<String>,
}

/// The GitHub App behind a check run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckApp {
    pub id: i64,
    pub slug: String,
}

/// Every status of one commit, read to completion and reduced to the latest report per
/// context (highest id, then `updated_at`; never list order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommitStatuses {
    pub sha: Sha,
    /// How many rows the forge returned across all pages (history included).
    pub rows_read: usize,
    /// Latest per context. When a commit status and a check run share a name, the entry
    /// carries the worse of the two states.
    pub latest: BTreeMap<ContextName, StatusReport>,
    /// The latest report per context, kind and producing app (commit statuses: one per
    /// context), before folding: what a requirement pinned to one app is evaluated on.
    #[serde(skip)]
    pub by_source: Vec<StatusReport>,
}

impl CommitStatuses {
    /// Reduces rows to the latest report per context and kind, then folds kinds by name.
    pub fn reduce(sha: Sha, rows: Vec<StatusReport>) -> CommitStatuses {
        let rows_read = rows.len();
        let mut by_kind: BTreeMap<(ContextName, u8), StatusReport> = BTreeMap::new();
        let mut by_app: BTreeMap<(ContextName, u8, Option<i64>), StatusReport> = BTreeMap::new();
        for row in &rows {
            let kind_key = match row.kind {
                ReportKind::CommitStatus => 0,
                ReportKind::CheckRun => 1,
            };
            let key = (
                row.context.clone(),
                kind_key,
                row.app.as_ref().map(|a| a.id),
            );
            match by_app.get(&key) {
                Some(cur) if !is_newer(row, cur) => {}
                _ => {
                    by_app.insert(key, row.clone());
                }
            }
        }
        for row in rows {
            let kind_key = match row.kind {
                ReportKind::CommitStatus => 0,
                ReportKind::CheckRun => 1,
            };
            let key = (row.context.clone(), kind_key);
            match by_kind.get(&key) {
                Some(cur) if !is_newer(&row, cur) => {}
                _ => {
                    by_kind.insert(key, row);
                }
            }
        }
        let mut latest: BTreeMap<ContextName, StatusReport> = BTreeMap::new();
        for ((name, _), row) in by_kind {
            match latest.remove(&name) {
                None => {
                    latest.insert(name, row);
                }
                Some(prev) => {
                    let state = prev.state.clone().worst(row.state.clone());
                    let mut keep = if prev.state == state { prev } else { row };
                    keep.state = state;
                    latest.insert(name, keep);
                }
            }
        }
        CommitStatuses {
            sha,
            rows_read,
            latest,
            by_source: by_app.into_values().collect(),
        }
    }

    /// A requirement pinned to one GitHub App: only check runs of that app count (a commit
    /// status cannot prove which app posted it). Returns the state (`Missing` when the app
    /// reported nothing) and the sources seen under that name (`app 123 (slug)`, `a commit
    /// status`), for the decision text.
    pub fn pinned_state_of(&self, context: &str, app_id: i64) -> (ContextState, Vec<String>) {
        let mut state = ContextState::Missing;
        let mut seen = Vec::new();
        for r in self.by_source.iter().filter(|r| r.context.0 == context) {
            match (&r.kind, &r.app) {
                (ReportKind::CheckRun, Some(app)) => {
                    seen.push(format!("app {} ({})={}", app.id, app.slug, r.state));
                    if app.id == app_id {
                        state = r.state.clone();
                    }
                }
                (ReportKind::CheckRun, None) => {
                    seen.push(format!("a check run of no app={}", r.state))
                }
                (ReportKind::CommitStatus, _) => seen.push(format!("a commit status={}", r.state)),
            }
        }
        (state, seen)
    }

    /// The state of a context; `Missing` when it was never posted.
    pub fn state_of(&self, context: &str) -> ContextState {
        self.latest
            .get(&ContextName(context.to_string()))
            .map(|r| r.state.clone())
            .unwrap_or(ContextState::Missing)
    }
}

fn is_newer(a: &StatusReport, b: &StatusReport) -> bool {
    (a.id, a.updated_at.as_deref()) > (b.id, b.updated_at.as_deref())
}
