//! The result envelope: one JSON document per invocation, written to `--result-out PATH`
//! (atomically) or `--result-fd N` (then closed), never to stdout.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, ExitCode, Result};
use crate::forge::ApiCounts;

/// The envelope schema version. Bump on incompatible changes; see docs/schemas/.
pub const ENVELOPE_VERSION: &str = "1";

/// One side effect the command performed (or, in dry-run, would have performed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionRecord {
    /// `pr:41`, `commit:<sha>`.
    pub subject: String,
    /// merge | update | label | comment | status.
    pub kind: crate::ledger::EffectKind,
    pub sha: Option<String>,
    /// committed | failed | unknown | replayed | dry_run.
    pub outcome: super::EffectOutcome,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerRef {
    pub backend: String,
    pub run_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorInfo {
    /// The exit label of the error class, e.g. `could_not_decide`.
    pub code: String,
    pub message: String,
    pub http_status: Option<u16>,
}

/// Status of the invocation as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Succeeded,
    Failed,
    Skipped,
}

/// The envelope. Every field is always present (null when unknown).
#[derive(Debug, Clone, Serialize)]
pub struct Envelope {
    pub version: &'static str,
    pub invocation_id: String,
    pub tool_version: &'static str,
    pub command: String,
    pub forge: Option<String>,
    pub repo: Option<String>,
    pub branch: Option<String>,
    pub dry_run: bool,
    pub status: RunStatus,
    pub exit_code: u8,
    pub exit_label: &'static str,
    /// A command-specific one-word result, e.g. `merged`, `idle`, `checked`.
    pub outcome: Option<String>,
    pub actions: Vec<ActionRecord>,
    pub ledger: Option<LedgerRef>,
    pub api: ApiCounts,
    pub error: Option<ErrorInfo>,
    pub started_at: String,
    pub duration_ms: u64,
}

/// Where the envelope goes.
#[derive(Debug)]
pub enum EnvelopeSink {
    Path(PathBuf),
    Fd(File),
}

impl EnvelopeSink {
    /// From the two flags; both at once is a usage error.
    pub fn from_flags(out: Option<&Path>, fd: Option<i32>) -> Result<Option<EnvelopeSink>> {
        match (out, fd) {
            (Some(_), Some(_)) => Err(Error::usage_hint(
                "--result-out and --result-fd are mutually exclusive",
                "pass one or the other",
            )),
            (Some(p), None) => Ok(Some(EnvelopeSink::Path(p.to_path_buf()))),
            (None, Some(n)) => Ok(Some(EnvelopeSink::Fd(super::fd::take_fd(
                n,
                "--result-fd",
            )?))),
            (None, None) => Ok(None),
        }
    }

    /// Writes the envelope: atomically to a path (temp file in the same directory, fsync,
    /// rename, directory fsync; parents created), or to the descriptor, which is then closed.
    pub fn write(self, envelope: &Envelope) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(envelope)
            .map_err(|e| Error::Internal(format!("cannot render the envelope: {e}")))?;
        bytes.push(b'\n');
        match self {
            EnvelopeSink::Path(p) => write_atomic(&p, &bytes),
            EnvelopeSink::Fd(mut f) => {
                let r = f.write_all(&bytes).and_then(|_| f.flush());
                drop(f); // closes the descriptor: the reader sees EOF
                r.map_err(|e| Error::Io {
                    path: "--result-fd".into(),
                    message: format!("cannot write the result envelope: {e}"),
                })
            }
        }
    }
}

/// Atomic replace of `dest` with `bytes`.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e: std::io::Error| Error::Io {
        path: dest.display().to_string(),
        message: format!("cannot write: {e}"),
    };
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "result".into());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(dest).map_err(|e| io(e.error))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    Ok(())
}

/// Maps an exit code to the envelope status.
pub fn status_for(code: ExitCode) -> RunStatus {
    match code {
        ExitCode::Success => RunStatus::Succeeded,
        ExitCode::LockHeld => RunStatus::Skipped,
        _ => RunStatus::Failed,
    }
}
