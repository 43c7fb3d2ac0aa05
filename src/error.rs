//! One error type for the whole tool and the one exit-code table.
//!
//! Every failure a command can meet is an [`Error`]; every error maps to exactly one
//! [`ExitCode`] class. The table is defined here once and printed by `SPEC.md` (and, later,
//! `mergeward describe`). Classification always uses typed fields (HTTP status codes,
//! transport kinds), never the text of a message.

use std::fmt;

use crate::forge::ForgeError;

pub use crate::exit::ExitCode;

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
