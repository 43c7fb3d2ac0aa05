//! One error type for the whole tool and the one exit-code table.
//!
//! Every failure a command can meet is an [`Error`]; every error maps to exactly one
//! [`ExitCode`] class. The table is defined here once and printed by `SPEC.md` (and, later,
//! `mergeward describe`). Classification always uses typed fields (HTTP status codes,
//! transport kinds), never the text of a message.

use std::fmt;

use crate::forge::ForgeError;

/// The documented exit codes. The numeric values are a contract: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExitCode {
    /// The command did what it was asked (including "nothing to do").
    Success,
    /// A gate or check ran to completion and found violations.
    Violations,
    /// The command line, the configuration file or the environment is wrong.
    Usage,
    /// The forge refused the credentials (401) or the token lacks a permission (403).
    Auth,
    /// A repository, branch, pull request or other named object does not exist.
    NotFound,
    /// The tool could not reach a decision: transport error, timeout, 5xx, rate limit
    /// exhausted, incomplete pagination, unreadable protection, malformed forge data.
    /// Nothing was merged.
    CouldNotDecide,
    /// Another invocation holds the lock for this repository and branch.
    LockHeld,
    /// A defect in mergeward itself. Please report it.
    Internal,
    /// Stopped by SIGINT (128 + 2).
    Interrupted,
    /// Stopped by SIGTERM (128 + 15).
    Terminated,
}

impl ExitCode {
    /// Every code, in table order.
    pub const ALL: [ExitCode; 10] = [
        ExitCode::Success,
        ExitCode::Violations,
        ExitCode::Usage,
        ExitCode::Auth,
        ExitCode::NotFound,
        ExitCode::CouldNotDecide,
        ExitCode::LockHeld,
        ExitCode::Internal,
        ExitCode::Interrupted,
        ExitCode::Terminated,
    ];

    /// The process exit status.
    pub const fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Violations => 1,
            ExitCode::Usage => 2,
            ExitCode::Auth => 3,
            ExitCode::NotFound => 4,
            ExitCode::CouldNotDecide => 5,
            ExitCode::LockHeld => 6,
            ExitCode::Internal => 70,
            ExitCode::Interrupted => 130,
            ExitCode::Terminated => 143,
        }
    }

    /// A stable machine label (used in envelopes and `describe`).
    pub const fn label(self) -> &'static str {
        match self {
            ExitCode::Success => "success",
            ExitCode::Violations => "violations",
            ExitCode::Usage => "usage",
            ExitCode::Auth => "auth",
            ExitCode::NotFound => "not_found",
            ExitCode::CouldNotDecide => "could_not_decide",
            ExitCode::LockHeld => "lock_held",
            ExitCode::Internal => "internal",
            ExitCode::Interrupted => "interrupted",
            ExitCode::Terminated => "terminated",
        }
    }

    /// One line for humans.
    pub const fn meaning(self) -> &'static str {
        match self {
            ExitCode::Success => "the command did what it was asked (including nothing to do)",
            ExitCode::Violations => "a gate or check completed and found violations",
            ExitCode::Usage => "bad command line, configuration file or environment",
            ExitCode::Auth => {
                "the forge rejected the token (401) or the token lacks a permission (403)"
            }
            ExitCode::NotFound => "a named repository, branch or pull request does not exist",
            ExitCode::CouldNotDecide => {
                "could not decide: transport error, timeout, 5xx, rate limit exhausted, incomplete pagination or unreadable forge data; nothing was merged"
            }
            ExitCode::LockHeld => {
                "another invocation holds the lock for this repository and branch"
            }
            ExitCode::Internal => "a defect in mergeward itself",
            ExitCode::Interrupted => {
                "stopped by SIGINT before its next forge call; the run is recorded as interrupted and the next run resolves what it left open"
            }
            ExitCode::Terminated => {
                "stopped by SIGTERM before its next forge call; the run is recorded as interrupted and the next run resolves what it left open"
            }
        }
    }
}

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.label())
    }
}

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Source {
    /// A command-line flag, e.g. `--repo`.
    Flag(String),
    /// An environment variable, e.g. `GITEA_HOST`.
    Env(String),
    /// A key of the configuration file, e.g. `.mergeward.toml: queue.hold_label`.
    File(String),
    /// The built-in default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(n) => write!(f, "flag {n}"),
            Source::Env(n) => write!(f, "env {n}"),
            Source::File(n) => write!(f, "file {n}"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// Every error mergeward reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong.
    #[error("{message}{}", hint_suffix(.hint))]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A configuration value is wrong: names the key, where it came from, and the fix.
    #[error("invalid configuration: {key} (from {origin}): {message}{}", hint_suffix(.hint))]
    Config {
        key: String,
        origin: Source,
        message: String,
        hint: Option<String>,
    },
    /// The forge failed or refused.
    #[error(transparent)]
    Forge(Box<ForgeError>),
    /// The forge failed or refused, with what mergeward was doing and how to fix it.
    #[error("{context}: {err}{}", hint_suffix(.hint))]
    ForgeCtx {
        context: String,
        err: Box<ForgeError>,
        hint: Option<String>,
    },
    /// The ledger failed (or another invocation holds the lock).
    #[error(transparent)]
    Ledger(Box<crate::ledger::LedgerError>),
    /// A local file could not be read or written.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// mergeward's own token lacks a permission it needs: the operator's problem, never a
    /// PR author's (no PR is held for it).
    #[error("{message}{}", hint_suffix(.hint))]
    Permission {
        message: String,
        hint: Option<String>,
    },
    /// Stopped by a signal (SIGINT or SIGTERM) before the next forge call.
    #[error("interrupted by {}: stopped before the next forge call; the next run resolves what this one left open", if *.terminated { "SIGTERM" } else { "SIGINT" })]
    Interrupted { terminated: bool },
    /// A defect in mergeward.
    #[error("internal error: {0}")]
    Internal(String),
}

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!("\n  hint: {h}"),
        None => String::new(),
    }
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: None,
        }
    }

    pub fn usage_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// The exit code class of this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage { .. } | Error::Config { .. } => ExitCode::Usage,
            Error::Forge(e) | Error::ForgeCtx { err: e, .. } => e.exit_code(),
            Error::Ledger(e) => e.exit_code(),
            Error::Io { .. } => ExitCode::Usage,
            Error::Permission { .. } => ExitCode::Auth,
            Error::Interrupted { terminated: false } => ExitCode::Interrupted,
            Error::Interrupted { terminated: true } => ExitCode::Terminated,
            Error::Internal(_) => ExitCode::Internal,
        }
    }
}

impl From<crate::ledger::LedgerError> for Error {
    fn from(e: crate::ledger::LedgerError) -> Self {
        Error::Ledger(Box::new(e))
    }
}

impl From<ForgeError> for Error {
    fn from(e: ForgeError) -> Self {
        Error::Forge(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The closest candidate to `input` among `candidates`, if it is close enough to suggest.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let input_norm = input.to_ascii_lowercase().replace('-', "_");
    candidates
        .into_iter()
        .map(|c| {
            let c_norm = c.to_ascii_lowercase().replace('-', "_");
            (c, strsim::jaro_winkler(&input_norm, &c_norm))
        })
        .filter(|(_, score)| *score >= 0.8)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct() {
        let mut codes: Vec<u8> = ExitCode::ALL.iter().map(|c| c.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ExitCode::ALL.len());
        let mut labels: Vec<&str> = ExitCode::ALL.iter().map(|c| c.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), ExitCode::ALL.len());
    }

    #[test]
    fn did_you_mean_suggests_close_keys_only() {
        let keys = ["hold_label", "queue_label", "auto_discover"];
        assert_eq!(did_you_mean("hold_lable", keys), Some("hold_label"));
        assert_eq!(did_you_mean("auto-discover", keys), Some("auto_discover"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }
}
