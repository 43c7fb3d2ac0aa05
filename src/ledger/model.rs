//! The ledger's records and inputs: runs, decisions, effects.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{LedgerError, LedgerResult};

/// The current time as stored in the ledger: RFC 3339, UTC, milliseconds, `Z`.
/// Text comparison of two such stamps orders them by time.
pub fn now_ts() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A new time-ordered id (uuid v7, hyphenated lowercase text).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The subject of a pull request decision: `pr:41`.
pub fn pr_subject(number: u64) -> String {
    format!("pr:{number}")
}

/// The PR number of a `pr:<number>` subject.
pub fn pr_number(subject: &str) -> Option<u64> {
    subject.strip_prefix("pr:")?.parse().ok()
}

/// The subject of a commit decision (e.g. a push gate): `commit:<sha>`.
pub fn commit_subject(sha: &str) -> String {
    format!("commit:{sha}")
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored text.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parse the stored text.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

string_enum! {
    /// The state of a run. Finished runs carry the stamped state; unfinished runs report a
    /// state derived from their effects (see [`derive_run_state`]).
    RunState {
        /// Decisions were made but nothing is to be executed (e.g. a dry run's final state).
        Planned = "planned",
        Running = "running",
        Completed = "completed",
        PartiallyCommitted = "partially_committed",
        Failed = "failed",
        /// The run did nothing, e.g. because another holder had the lock.
        Skipped = "skipped",
        /// The run's holder died before it finished (found by a later run under the same
        /// lock). Stored as `failed` with `ended_by = 'crashed'`.
        Crashed = "crashed",
        /// Stopped by SIGINT or SIGTERM before its next forge call. Stored as `failed` with
        /// `ended_by = 'interrupted'`.
        Interrupted = "interrupted",
    }
}

string_enum! {
    /// What was decided for a subject. Adding a value is a schema version bump.
    Action {
        Merge = "merge",
        Update = "update",
        Wait = "wait",
        Hold = "hold",
        Skip = "skip",
        Pause = "pause",
    }
}

string_enum! {
    /// A side effect on the forge.
    EffectKind {
        Merge = "merge",
        Update = "update",
        Label = "label",
        Comment = "comment",
        Status = "status",
        /// Batch mode: a git push (a staging commit to the staging branch, or a tested
        /// staging commit to the base).
        Push = "push",
    }
}

string_enum! {
    /// The recorded outcome of an effect.
    OutcomeKind {
        /// The forge accepted it.
        Committed = "committed",
        /// The forge refused it, or it was never sent; it may be tried again.
        Failed = "failed",
        /// Sent, but the answer was lost: the forge state must be read to resolve it.
        Unknown = "unknown",
    }
}

/// A machine-readable reason: lowercase ASCII letters, digits, `_`, `.` and `-`, 1–64 chars,
/// starting with a letter (e.g. `checks_pending`, `approvals.missing`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReasonCode(String);

impl RunState {
    /// How the state is stored: the `state` column (within schema version 1's values) and
    /// `ended_by` (schema version 3) for a run that did not end by itself.
    pub fn stored(self) -> (&'static str, Option<&'static str>) {
        match self {
            RunState::Crashed | RunState::Interrupted => ("failed", Some(self.as_str())),
            other => (other.as_str(), None),
        }
    }

    /// The state a stored row reports.
    pub fn from_stored(state: &str, ended_by: Option<&str>) -> Option<RunState> {
        match ended_by {
            Some(e) => RunState::parse(e)
                .filter(|s| matches!(s, RunState::Crashed | RunState::Interrupted)),
            None => RunState::parse(state),
        }
    }
}

impl ReasonCode {
    pub fn new(code: impl Into<String>) -> LedgerResult<ReasonCode> {
        let code = code.into();
        let valid = !code.is_empty()
            && code.len() <= 64
            && code.starts_with(|c: char| c.is_ascii_lowercase())
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
        if valid {
            Ok(ReasonCode(code))
        } else {
            Err(LedgerError::Invalid {
                what: "reason code",
                message: format!(
                    "{code:?}: use 1-64 lowercase letters, digits, '_', '.', '-', starting with a letter"
                ),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ReasonCode {
    type Error = LedgerError;
    fn try_from(s: String) -> LedgerResult<ReasonCode> {
        ReasonCode::new(s)
    }
}

impl From<ReasonCode> for String {
    fn from(r: ReasonCode) -> String {
        r.0
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a decision was based on. Stored as JSON text; unknown keys are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mergeable: Option<bool>,
    /// Required context → observed state (`success`, `pending`, `failure`, `missing`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub contexts: BTreeMap<String, String>,
    /// Logins whose approvals counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_approvals: Option<u32>,
    /// Anything else the decision engine wants to keep.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A run to start: one per invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    pub command: String,
    pub forge: String,
    pub repo: String,
    pub branch: String,
    pub dry_run: bool,
    pub tool_version: String,
    /// A digest of the effective configuration (never the configuration itself: no secrets).
    pub config_digest: String,
}

impl NewRun {
    /// A run with this binary's version and an empty config digest.
    pub fn new(command: &str, forge: &str, repo: &str, branch: &str) -> NewRun {
        NewRun {
            command: command.into(),
            forge: forge.into(),
            repo: repo.into(),
            branch: branch.into(),
            dry_run: false,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            config_digest: String::new(),
        }
    }
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub command: String,
    pub forge: String,
    pub repo: String,
    pub branch: String,
    pub dry_run: bool,
    pub tool_version: String,
    pub config_digest: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The stamped state of a finished run, or the derived state of an unfinished one.
    pub state: RunState,
    /// True when `state` was derived from the effects (the run is not finished).
    pub state_derived: bool,
    pub note: Option<String>,
}

/// A decision to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDecision {
    pub run_id: String,
    pub subject: String,
    pub action: Action,
    pub reason_code: ReasonCode,
    pub reason_text: String,
    pub evidence: Evidence,
    pub dry_run: bool,
}

/// A decision as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub id: String,
    pub run_id: String,
    pub subject: String,
    pub action: Action,
    pub reason_code: ReasonCode,
    pub reason_text: String,
    pub evidence: Evidence,
    pub head_sha: Option<String>,
    pub base_sha: Option<String>,
    pub dry_run: bool,
    pub created_at: String,
    /// The decision this one replaced.
    pub supersedes: Option<String>,
    /// The decision that replaced this one; `None` for the current decision.
    pub superseded_by: Option<String>,
    pub superseded_at: Option<String>,
    /// How often the same decision was reached again without a new row.
    pub reuse_count: i64,
    pub last_seen_at: Option<String>,
    pub last_seen_run_id: Option<String>,
}

impl DecisionRecord {
    /// True while no newer decision for the subject exists.
    pub fn is_current(&self) -> bool {
        self.superseded_by.is_none()
    }
}

/// What `record_decision` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// A new row; `supersedes` names the previous current decision, if any.
    Created {
        id: String,
        supersedes: Option<String>,
    },
    /// The current decision was the same (action, reason code, head, base, dry-run): no row
    /// was added; its reuse counter is now `reuse_count`.
    Reused { id: String, reuse_count: i64 },
}

impl Recorded {
    /// The id of the decision now current for the subject.
    pub fn id(&self) -> &str {
        match self {
            Recorded::Created { id, .. } | Recorded::Reused { id, .. } => id,
        }
    }

    pub fn is_reused(&self) -> bool {
        matches!(self, Recorded::Reused { .. })
    }
}

/// An effect about to be sent to the forge.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEffect {
    pub run_id: String,
    pub decision_id: Option<String>,
    pub subject: String,
    pub kind: EffectKind,
    pub head_sha: Option<String>,
    pub base_sha: Option<String>,
    /// Tells apart effects of one kind on one subject and head: the label name (`add:hold`),
    /// the status context and state, a comment template. Part of the idempotency key.
    pub discriminator: String,
    /// Details for humans (no secrets). Not part of the key.
    pub payload: serde_json::Value,
}

impl NewEffect {
    /// The idempotency key of this effect (see [`effect_key`]).
    pub fn key(&self) -> String {
        effect_key(
            &self.subject,
            self.kind,
            self.head_sha.as_deref(),
            self.base_sha.as_deref(),
            &self.discriminator,
        )
    }
}

/// The idempotency key of an effect: lowercase sha256 hex over a length-prefixed encoding of
/// `(subject, kind, head_sha, base_sha, discriminator)`, so it is stable across versions,
/// machines and backends, and no two distinct tuples share an encoding.
pub fn effect_key(
    subject: &str,
    kind: EffectKind,
    head_sha: Option<&str>,
    base_sha: Option<&str>,
    discriminator: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(b"mergeward.effect.v1\n");
    for part in [
        Some(subject),
        Some(kind.as_str()),
        head_sha,
        base_sha,
        Some(discriminator),
    ] {
        match part {
            Some(p) => {
                h.update((p.len() as u64).to_be_bytes());
                h.update(p.as_bytes());
            }
            None => h.update(u64::MAX.to_be_bytes()),
        }
    }
    hex(&h.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// What the caller must do after `record_intent`.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// The intent row is recorded (durably, in the autocommit form): send the effect, then
    /// call `record_outcome` with this effect id.
    Proceed(String),
    /// An effect with this key already committed: do NOT send it again.
    Replayed { prior: EffectRecord },
    /// An effect with this key was sent (or was about to be) and its outcome is not known —
    /// a crash or lost answer. Do not send: read the forge state, then resolve the prior
    /// effect with `record_outcome(prior.id, Committed | Failed)` and ask again.
    Unresolved { prior: EffectRecord },
}

/// The outcome of an effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Committed,
    /// With the error text (no secrets: forge errors are redacted by the forge layer).
    Failed(String),
    /// With what is known (e.g. "timeout after the request was sent").
    Unknown(String),
}

impl Outcome {
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Committed => OutcomeKind::Committed,
            Outcome::Failed(_) => OutcomeKind::Failed,
            Outcome::Unknown(_) => OutcomeKind::Unknown,
        }
    }

    pub(crate) fn error_text(&self) -> Option<&str> {
        match self {
            Outcome::Committed => None,
            Outcome::Failed(e) | Outcome::Unknown(e) => Some(e),
        }
    }
}

/// An effect as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectRecord {
    pub id: String,
    pub run_id: String,
    pub decision_id: Option<String>,
    pub subject: String,
    pub kind: EffectKind,
    pub idempotency_key: String,
    pub discriminator: String,
    pub head_sha: Option<String>,
    pub base_sha: Option<String>,
    pub payload: serde_json::Value,
    pub intent_at: String,
    /// `None` while only the intent is recorded.
    pub outcome: Option<OutcomeKind>,
    pub error: Option<String>,
    pub outcome_at: Option<String>,
}

/// A run with everything recorded under it (`ledger show RUN`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    pub run: RunRecord,
    /// Decisions created in this run or last reached again (reused) in it, oldest first.
    pub decisions: Vec<DecisionRecord>,
    /// Effects of this run, oldest first.
    pub effects: Vec<EffectRecord>,
}

/// The state of an unfinished run, derived from its effects' outcomes
/// (`None` = intent only, outcome not recorded):
/// no effects → running; any committed and any failed/unknown/outcome-less →
/// partially_committed; all committed → completed; only failed → failed; otherwise → running.
pub fn derive_run_state<I: IntoIterator<Item = Option<OutcomeKind>>>(outcomes: I) -> RunState {
    let (mut total, mut committed, mut failed, mut open) = (0usize, 0usize, 0usize, 0usize);
    for o in outcomes {
        total += 1;
        match o {
            Some(OutcomeKind::Committed) => committed += 1,
            Some(OutcomeKind::Failed) => failed += 1,
            Some(OutcomeKind::Unknown) | None => open += 1,
        }
    }
    derive_from_counts(total, committed, failed, open)
}

pub(crate) fn derive_from_counts(
    total: usize,
    committed: usize,
    failed: usize,
    open: usize,
) -> RunState {
    if total == 0 {
        RunState::Running
    } else if committed > 0 && (failed > 0 || open > 0) {
        RunState::PartiallyCommitted
    } else if committed == total {
        RunState::Completed
    } else if failed == total {
        RunState::Failed
    } else {
        RunState::Running
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effect_key_is_stable_and_distinguishes_fields() {
        let k = effect_key("pr:41", EffectKind::Merge, Some("abc"), Some("def"), "");
        // Pinned: the key must never change across versions (it is stored).
        assert_eq!(
            k,
            effect_key("pr:41", EffectKind::Merge, Some("abc"), Some("def"), "")
        );
        assert_eq!(k.len(), 64);
        assert_ne!(
            k,
            effect_key("pr:41", EffectKind::Merge, Some("abcd"), Some("ef"), "")
        );
        assert_ne!(
            k,
            effect_key("pr:41", EffectKind::Merge, Some("abc"), None, "")
        );
        assert_ne!(
            effect_key("pr:41", EffectKind::Label, None, None, "add:hold"),
            effect_key("pr:41", EffectKind::Label, None, None, "add:wip")
        );
    }

    #[test]
    fn effect_key_golden_value() {
        assert_eq!(
            effect_key("pr:1", EffectKind::Merge, Some("a"), Some("b"), "x"),
            GOLDEN
        );
    }
    // Computed independently (python3 hashlib) from the documented encoding.
    const GOLDEN: &str = "54b58e81ed5bb7d501aeab01f70ec110466faf61ab8d8451be8e4bd824988ee2";

    #[test]
    fn derived_state_rules() {
        use OutcomeKind::*;
        assert_eq!(derive_run_state([]), RunState::Running);
        assert_eq!(derive_run_state([None]), RunState::Running);
        assert_eq!(
            derive_run_state([Some(Committed), None]),
            RunState::PartiallyCommitted
        );
        assert_eq!(
            derive_run_state([Some(Committed), Some(Failed)]),
            RunState::PartiallyCommitted
        );
        assert_eq!(
            derive_run_state([Some(Committed), Some(Committed)]),
            RunState::Completed
        );
        assert_eq!(derive_run_state([Some(Failed)]), RunState::Failed);
        assert_eq!(derive_run_state([Some(Failed), None]), RunState::Running);
    }

    #[test]
    fn reason_codes_are_validated() {
        assert!(ReasonCode::new("checks_pending").is_ok());
        assert!(ReasonCode::new("approvals.missing-2").is_ok());
        assert!(ReasonCode::new("").is_err());
        assert!(ReasonCode::new("Checks").is_err());
        assert!(ReasonCode::new("1x").is_err());
        assert!(ReasonCode::new("a b").is_err());
    }
}
