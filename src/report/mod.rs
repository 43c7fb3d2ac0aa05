//! Reporting: the result envelope, progress events, `describe`, exit codes.

use std::time::Instant;

pub mod describe;
pub mod envelope;
mod fd;
pub mod outcome;
pub mod progress;

pub use envelope::{ActionRecord, Envelope, EnvelopeSink, ErrorInfo, LedgerRef, RunStatus};
pub use outcome::{EffectOutcome, annotate, in_actions};
pub use progress::{ClearOnDrop, Progress};

use crate::error::{Error, ExitCode};
use crate::forge::ApiCounts;

/// What one invocation did, filled in by the command as it goes, so that the envelope
/// carries whatever was known even when the command fails half-way.
#[derive(Debug)]
pub struct RunReport {
    pub invocation_id: String,
    pub command: String,
    pub started_at: String,
    started: Instant,
    pub forge: Option<String>,
    pub repo: Option<String>,
    pub branch: Option<String>,
    pub dry_run: bool,
    pub outcome: Option<String>,
    pub actions: Vec<ActionRecord>,
    pub ledger: Option<LedgerRef>,
    pub api: ApiCounts,
    pub error: Option<ErrorInfo>,
}

impl RunReport {
    pub fn new(command: &str) -> RunReport {
        RunReport {
            invocation_id: uuid::Uuid::new_v4().simple().to_string(),
            command: command.to_string(),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            started: Instant::now(),
            forge: None,
            repo: None,
            branch: None,
            dry_run: false,
            outcome: None,
            actions: Vec::new(),
            ledger: None,
            api: ApiCounts::default(),
            error: None,
        }
    }

    /// Records the error that ended the command.
    pub fn fail(&mut self, err: &Error) {
        let http_status = match err {
            Error::Forge(e) | Error::ForgeCtx { err: e, .. } => e.status(),
            _ => None,
        };
        self.error = Some(ErrorInfo {
            code: err.exit_code().label().to_string(),
            message: err.to_string(),
            http_status,
        });
    }

    pub fn envelope(&self, code: ExitCode) -> Envelope {
        Envelope {
            version: envelope::ENVELOPE_VERSION,
            invocation_id: self.invocation_id.clone(),
            tool_version: env!("CARGO_PKG_VERSION"),
            command: self.command.clone(),
            forge: self.forge.clone(),
            repo: self.repo.clone(),
            branch: self.branch.clone(),
            dry_run: self.dry_run,
            status: envelope::status_for(code),
            exit_code: code.code(),
            exit_label: code.label(),
            outcome: self.outcome.clone(),
            actions: self.actions.clone(),
            ledger: self.ledger.clone(),
            api: self.api,
            error: self.error.clone(),
            started_at: self.started_at.clone(),
            duration_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}
