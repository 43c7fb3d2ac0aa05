//! The ledger's typed errors. Every variant says what to do; [`LedgerError::exit_code`] maps
//! each one to the crate's exit-code table.

use serde::Serialize;

use crate::exit::ExitCode;

/// Who holds a repository/branch lock, as far as the ledger knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockHeldInfo {
    pub repo: String,
    pub branch: String,
    /// The holder's id (`pid … run …`), when the lease row could be read.
    pub holder: Option<String>,
    pub acquired_at: Option<String>,
    /// When the lease expires (SQLite) or was last renewed to (PostgreSQL, informational).
    pub expires_at: Option<String>,
}

impl std::fmt::Display for LockHeldInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{} is locked", self.repo, self.branch)?;
        if let Some(h) = &self.holder {
            write!(f, " by {h}")?;
        }
        if let Some(a) = &self.acquired_at {
            write!(f, " since {a}")?;
        }
        if let Some(e) = &self.expires_at {
            write!(f, " (lease until {e})")?;
        }
        Ok(())
    }
}

/// Every failure of the decision ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The ledger locator (path or URL) cannot be used.
    #[error(
        "invalid ledger location {locator}: {message}\n  hint: use a file path, sqlite://PATH, sqlite::memory:, or postgres://USER@HOST/DB"
    )]
    Locator { locator: String, message: String },

    /// The directory for the SQLite file could not be created.
    #[error(
        "cannot create the ledger directory {path}: {source}\n  hint: check the permissions, or point the ledger at a writable path"
    )]
    CreateDir {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// The database could not be opened or reached.
    #[error(
        "cannot open the ledger at {locator}: {source}\n  hint: {}",
        if locator.starts_with("postgres") {
            "check that the PostgreSQL server is reachable and the database exists (--ledger / MERGEWARD_LEDGER)"
        } else {
            "a SQLite ledger file (default .mergeward/ledger.db) must be writable and a SQLite database; point --ledger / MERGEWARD_LEDGER at another file"
        }
    )]
    Open {
        locator: String,
        #[source]
        source: sqlx::Error,
    },

    /// The database was written by a newer mergeward (its schema version is higher than ours).
    #[error(
        "the ledger at {locator} has schema version {found}, but this mergeward ({tool_version}) supports versions up to {supported}\n  hint: upgrade mergeward; an older mergeward never writes to a newer ledger"
    )]
    NewerSchema {
        locator: String,
        found: i64,
        supported: i64,
        tool_version: &'static str,
    },

    /// An applied migration differs from the one this binary carries.
    #[error(
        "the ledger at {locator} recorded migration {version} ({name}) with a different checksum than this mergeward carries\n  hint: the ledger was written by a modified build; restore it from a backup or use a fresh ledger"
    )]
    MigrationChanged {
        locator: String,
        version: i64,
        name: String,
    },

    /// A database operation failed.
    #[error(
        "ledger {op} failed: {source}\n  hint: nothing was sent to the forge after a failed intent; rerun once the database is reachable"
    )]
    Db {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// Another holder has the lock for this repository and branch.
    #[error(
        "{0}\n  hint: another mergeward is working on this branch; this run was not started (the lease of a holder that died on this host is taken over at once; otherwise it expires by itself)"
    )]
    LockHeld(Box<LockHeldInfo>),

    /// The lock was lost while held (the lease expired and was taken over, or the PostgreSQL
    /// session holding the advisory lock ended).
    #[error(
        "lost the lock on {repo}@{branch} (holder {holder}): {message}\n  hint: stop sending effects; renew the lease more often than it expires"
    )]
    LockLost {
        repo: String,
        branch: String,
        holder: String,
        message: String,
    },

    /// A run, decision or effect id does not exist.
    #[error("no {what} with id {id} in the ledger\n  hint: list runs with `mergeward ledger runs`")]
    NotFound { what: &'static str, id: String },

    /// `finish_run` on a run that is already finished.
    #[error("run {run_id} is already finished (state {state})")]
    RunFinished { run_id: String, state: String },

    /// `record_outcome` on an effect whose outcome is already final.
    #[error("effect {effect_id} already has the final outcome {outcome}")]
    OutcomeFinal { effect_id: String, outcome: String },

    /// Another effect with the same idempotency key was committed first.
    #[error(
        "effect {effect_id} repeats effect {prior_id}, which already committed idempotency key {key}; recorded as unknown\n  hint: two writers acted on the same subject; check that every writer takes the branch lock"
    )]
    DuplicateCommit {
        key: String,
        effect_id: String,
        prior_id: String,
    },

    /// The caller passed a value the ledger does not accept.
    #[error("invalid {what}: {message}")]
    Invalid { what: &'static str, message: String },

    /// A stored value is not one this version understands.
    #[error(
        "the ledger holds an unreadable value in {what}: {value:?}\n  hint: the ledger was written by another build of mergeward or edited by hand"
    )]
    Corrupt { what: String, value: String },

    /// Export or import I/O or JSON failed.
    #[error("ledger {op}: {message}")]
    Io { op: &'static str, message: String },
}

impl LedgerError {
    /// The exit-code class of this error (see `src/error.rs`).
    pub fn exit_code(&self) -> ExitCode {
        match self {
            LedgerError::Locator { .. }
            | LedgerError::CreateDir { .. }
            | LedgerError::NewerSchema { .. }
            | LedgerError::MigrationChanged { .. }
            | LedgerError::Corrupt { .. }
            | LedgerError::Io { .. } => ExitCode::Usage,
            LedgerError::Open { .. } | LedgerError::Db { .. } => ExitCode::CouldNotDecide,
            LedgerError::LockHeld(_) | LedgerError::LockLost { .. } => ExitCode::LockHeld,
            LedgerError::NotFound { .. } => ExitCode::NotFound,
            LedgerError::RunFinished { .. }
            | LedgerError::OutcomeFinal { .. }
            | LedgerError::DuplicateCommit { .. }
            | LedgerError::Invalid { .. } => ExitCode::Internal,
        }
    }

    pub(crate) fn db(op: &'static str) -> impl FnOnce(sqlx::Error) -> LedgerError {
        move |source| LedgerError::Db { op, source }
    }

    pub(crate) fn corrupt(what: impl Into<String>, value: impl Into<String>) -> LedgerError {
        LedgerError::Corrupt {
            what: what.into(),
            value: value.into(),
        }
    }
}

pub type LedgerResult<T> = std::result::Result<T, LedgerError>;
