//! The server: which forge software it runs ([`ForgeKind`]), what its version can do
//! ([`Capabilities`]), and the version parse behind both.

use std::fmt;

use serde::{Deserialize, Serialize};

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
