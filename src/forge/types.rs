//! Domain types the forge layer returns. Built only from validated forge data.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A commit SHA: lowercase hex, 7 to 64 characters (SHA-1 or SHA-256 repositories).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Sha(String);

impl Sha {
    /// Validates untrusted input. Uppercase hex is folded to lowercase.
    pub fn parse(s: &str) -> Option<Sha> {
        let s = s.trim();
        if (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(Sha(s.to_ascii_lowercase()))
        } else {
            None
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first `n` characters, for display.
    pub fn short(&self, n: usize) -> &str {
        &self.0[..n.min(self.0.len())]
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sha {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sha::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a commit SHA: {s:?}")))
    }
}

/// A pull request number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PrNumber(pub u64);

impl fmt::Display for PrNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// `owner/name`, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RepoSlug {
    pub owner: String,
    pub name: String,
}

impl RepoSlug {
    /// Parses `OWNER/NAME`. Each part is non-empty and made of letters, digits, `.`, `-`, `_`.
    pub fn parse(s: &str) -> Result<RepoSlug, String> {
        let s = s.trim();
        let Some((owner, name)) = s.split_once('/') else {
            return Err(format!("{s:?} is not OWNER/NAME"));
        };
        let ok = |p: &str| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        };
        if !ok(owner) || !ok(name) {
            return Err(format!(
                "{s:?} is not OWNER/NAME (each part: letters, digits, '.', '-', '_')"
            ));
        }
        Ok(RepoSlug {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for RepoSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// The name of a status context or check run, e.g. `CI / test (pull_request)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContextName(pub String);

impl fmt::Display for ContextName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A label name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Label(pub String);

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

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

/// Which forge software a server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    Gitea,
    Forgejo,
    #[serde(rename = "github")]
    GitHub,
}

impl ForgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ForgeKind::Gitea => "gitea",
            ForgeKind::Forgejo => "forgejo",
            ForgeKind::GitHub => "github",
        }
    }
}

impl fmt::Display for ForgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the server can do, derived from its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// The kind the server reported (a Forgejo server is detected even when `--forge gitea`).
    pub kind: ForgeKind,
    /// The version string as reported (`1.22.6`, `11.0.1+gitea-1.22.0`, `github.com`).
    pub version: String,
    /// The Gitea API level the server is compatible with, as (major, minor, patch).
    pub gitea_api: Option<(u64, u64, u64)>,
    /// Commit statuses may carry `skipped` (Gitea ≥ 1.25).
    pub skipped_status_state: bool,
    /// `GET …/actions/jobs/{id}/logs` exists (Gitea ≥ 1.24, GitHub).
    pub job_logs_api: bool,
    /// Check runs exist beside commit statuses (GitHub).
    pub check_runs: bool,
    /// Required checks may come from rulesets (GitHub).
    pub rulesets: bool,
    /// The merge call can be pinned to the evaluated head SHA.
    pub merge_pins_head: bool,
    /// `workflow_dispatch` inputs work (Gitea ≥ 1.23).
    pub workflow_dispatch_inputs: bool,
}

impl Capabilities {
    /// Capabilities from a Gitea/Forgejo `/version` string.
    pub fn from_gitea_version(version: &str) -> Capabilities {
        let (kind, api) = match version.split_once("+gitea-") {
            Some((_, compat)) => (ForgeKind::Forgejo, parse_semver(compat)),
            None => (ForgeKind::Gitea, parse_semver(version)),
        };
        let at_least = |min: (u64, u64)| api.is_some_and(|(a, b, _)| (a, b) >= min);
        Capabilities {
            kind,
            version: version.to_string(),
            gitea_api: api,
            skipped_status_state: at_least((1, 25)),
            job_logs_api: at_least((1, 24)),
            check_runs: false,
            rulesets: false,
            merge_pins_head: true,
            workflow_dispatch_inputs: at_least((1, 23)),
        }
    }

    pub fn github(version: &str) -> Capabilities {
        Capabilities {
            kind: ForgeKind::GitHub,
            version: version.to_string(),
            gitea_api: None,
            skipped_status_state: false,
            job_logs_api: true,
            check_runs: true,
            rulesets: true,
            merge_pins_head: true,
            workflow_dispatch_inputs: true,
        }
    }
}

/// Parses the leading `x.y.z` of a version string; tolerates a `v` prefix and suffixes.
pub fn parse_semver(s: &str) -> Option<(u64, u64, u64)> {
    let s = s.trim().trim_start_matches('v');
    let core: String = s
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = core.split('.').filter(|p| !p.is_empty());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    Some((major, minor, patch))
}

/// The user a token authenticates as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub login: String,
    pub site_admin: bool,
}

/// The caller's permissions on a repository, when the forge reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RepoPermissions {
    pub admin: bool,
    pub push: bool,
    pub pull: bool,
}

/// A repository as the forge reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoInfo {
    pub full_name: String,
    pub default_branch: String,
    pub permissions: Option<RepoPermissions>,
}

/// Where the protection facts were read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ProtectionSource {
    /// Gitea/Forgejo `GET /branch_protections/{rule}` (repo admin): every flag known.
    GiteaRule { rule: String },
    /// Gitea/Forgejo `GET /branches/{branch}` (read access): contexts and approvals only.
    GiteaBranch,
    /// GitHub classic protection and/or rulesets.
    GitHub { classic: bool, rulesets: bool },
}

/// Branch protection as far as the token could read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protection {
    pub branch: String,
    /// Whether any protection applies to the branch.
    pub protected: bool,
    /// Whether required status checks are enabled.
    pub status_checks_enabled: bool,
    /// Required contexts: glob patterns on Gitea/Forgejo, exact names on GitHub.
    pub required_contexts: Vec<String>,
    /// Required approvals, when known.
    pub required_approvals: Option<u32>,
    /// Flags known only with full (admin) access; `None` when unreadable.
    pub block_on_rejected_reviews: Option<bool>,
    pub block_on_outdated_branch: Option<bool>,
    pub dismiss_stale_approvals: Option<bool>,
    pub source: ProtectionSource,
    /// What could not be read and why (e.g. "classic protection needs admin").
    pub gaps: Vec<String>,
    /// The base head, when the protection read already returned it (GitHub's
    /// `GET /branches/{b}`), so a tick need not read the branch twice.
    pub head: Option<Sha>,
    /// GitHub-only requirements (app pins, fields mergeward does not evaluate, the merge
    /// queue rule, allowed merge methods); `None` on Gitea/Forgejo.
    pub github: Option<super::github_protection::GitHubRules>,
}

/// Open, closed (or merged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrState {
    Open,
    Closed,
}

/// A pull request with the fields the bot decides on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullRequest {
    pub number: PrNumber,
    pub title: String,
    pub state: PrState,
    pub draft: bool,
    pub merged: bool,
    /// Who merged it, and the resulting commit (when merged).
    pub merged_by: Option<String>,
    pub merge_commit_sha: Option<Sha>,
    pub head_sha: Sha,
    pub head_ref: String,
    /// `owner/name` of the head repository, when known.
    pub head_repo: Option<String>,
    pub base_ref: String,
    /// True when the head lives in another repository than the base.
    pub is_fork: bool,
    /// `Some(true)` only when the forge says the PR merges cleanly; `None` while unknown.
    pub mergeable: Option<bool>,
    /// GitHub's `mergeable_state` (`clean`, `unstable`, `has_hooks`, `blocked`, `behind`,
    /// `dirty`, `unknown`, `draft`) when the forge reported one (GitHub's single-PR read).
    pub mergeable_state: Option<String>,
    pub merge_base: Option<Sha>,
    pub labels: Vec<Label>,
    pub author: Option<String>,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub url: Option<String>,
}

/// A review's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Approved,
    RequestChanges,
    Comment,
    Pending,
    Dismissed,
    ReviewRequested,
    Other(String),
}

impl ReviewState {
    pub fn parse(s: &str) -> ReviewState {
        match s.trim().to_ascii_uppercase().as_str() {
            "APPROVED" => ReviewState::Approved,
            "REQUEST_CHANGES" | "CHANGES_REQUESTED" => ReviewState::RequestChanges,
            "COMMENT" | "COMMENTED" => ReviewState::Comment,
            "PENDING" => ReviewState::Pending,
            "DISMISSED" => ReviewState::Dismissed,
            "REQUEST_REVIEW" => ReviewState::ReviewRequested,
            other => ReviewState::Other(other.to_string()),
        }
    }
}

/// One review of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    pub id: u64,
    pub user: Option<String>,
    pub state: ReviewState,
    pub commit_id: Option<Sha>,
    /// Gitea's `official`; on GitHub, whether the author can count for protection (owner,
    /// member or collaborator by `author_association`).
    pub official: bool,
    pub stale: bool,
    pub dismissed: bool,
    pub submitted_at: Option<String>,
}

/// A commit in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    pub sha: Sha,
    pub parents: Vec<Sha>,
    pub message: Option<String>,
    pub created: Option<String>,
}

/// A repository label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoLabel {
    pub id: u64,
    pub name: Label,
}

/// How to merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MergeMethod {
    #[default]
    Merge,
    Rebase,
    RebaseMerge,
    Squash,
    FastForwardOnly,
}

impl MergeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            MergeMethod::Merge => "merge",
            MergeMethod::Rebase => "rebase",
            MergeMethod::RebaseMerge => "rebase-merge",
            MergeMethod::Squash => "squash",
            MergeMethod::FastForwardOnly => "fast-forward-only",
        }
    }
}

/// How to bring a behind PR up to date with its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UpdateStyle {
    #[default]
    Merge,
    Rebase,
}

impl UpdateStyle {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStyle::Merge => "merge",
            UpdateStyle::Rebase => "rebase",
        }
    }
}

/// A merge request to the forge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRequest {
    pub method: MergeMethod,
    pub title: String,
    pub message: String,
    /// Admin override of protection failures. Only set when policy allows it.
    pub force: bool,
}

/// A commit status to post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewStatus {
    pub context: ContextName,
    pub state: ContextState,
    pub description: String,
    pub target_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64, ctx: &str, state: &str, kind: ReportKind) -> StatusReport {
        StatusReport {
            id,
            context: ContextName(ctx.into()),
            state: ContextState::from_status(state),
            kind,
            target_url: None,
            description: None,
            created_at: None,
            updated_at: None,
            app: None,
            creator: None,
        }
    }

    #[test]
    fn latest_is_highest_id_not_list_order() {
        let sha = Sha::parse("abcdef1").unwrap();
        let rows = vec![
            row(5, "ci", "success", ReportKind::CommitStatus),
            row(9, "ci", "failure", ReportKind::CommitStatus),
            row(7, "ci", "success", ReportKind::CommitStatus),
        ];
        let s = CommitStatuses::reduce(sha, rows);
        assert_eq!(s.state_of("ci"), ContextState::Failure);
        assert_eq!(s.state_of("other"), ContextState::Missing);
        assert_eq!(s.rows_read, 3);
    }

    #[test]
    fn status_and_check_run_of_one_name_fold_to_the_worse() {
        let sha = Sha::parse("abcdef1").unwrap();
        let rows = vec![
            row(1, "build", "success", ReportKind::CommitStatus),
            row(2, "build", "pending", ReportKind::CheckRun),
        ];
        assert_eq!(
            CommitStatuses::reduce(sha, rows).state_of("build"),
            ContextState::Pending
        );
    }

    #[test]
    fn sha_validation() {
        assert!(Sha::parse("ABCDEF0123").is_some());
        assert!(Sha::parse("abc").is_none());
        assert!(Sha::parse("zzzzzzzz").is_none());
        assert!(Sha::parse(&"a".repeat(65)).is_none());
    }

    #[test]
    fn repo_slug_validation() {
        assert!(RepoSlug::parse("acme/widgets").is_ok());
        assert!(RepoSlug::parse("acme").is_err());
        assert!(RepoSlug::parse("acme/wid/gets").is_err());
        assert!(RepoSlug::parse("../x").is_err());
    }

    #[test]
    fn forgejo_version_uses_gitea_compat() {
        let c = Capabilities::from_gitea_version("11.0.1+gitea-1.22.0");
        assert_eq!(c.kind, ForgeKind::Forgejo);
        assert_eq!(c.gitea_api, Some((1, 22, 0)));
        assert!(!c.job_logs_api);
        let c = Capabilities::from_gitea_version("1.26.3");
        assert_eq!(c.kind, ForgeKind::Gitea);
        assert!(c.job_logs_api && c.skipped_status_state);
    }
}
