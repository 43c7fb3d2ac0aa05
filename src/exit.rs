//! The documented exit codes: a leaf module (it imports nothing from the crate), so every
//! layer can name a class without depending on the error type above it.

use std::fmt;

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
