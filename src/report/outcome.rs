//! Typed outcomes of side effects and `::notice::`/`::error::` annotations, shared by every
//! command that acts on the forge (`queue tick`, `reap`, `audit merge`).

use serde::Serialize;

/// What became of one side effect. Serialized as the envelope's `outcome` word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectOutcome {
    /// The forge accepted it.
    Committed,
    /// The forge refused it (nothing happened).
    Failed,
    /// The answer was lost: whether it happened is resolved from the forge later.
    Unknown,
    /// An earlier run already did it (the ledger, or the forge's own marker, says so).
    Replayed,
    /// `--dry-run`: it would have been sent.
    DryRun,
}

impl EffectOutcome {
    /// The envelope's word for it.
    pub const fn as_str(self) -> &'static str {
        match self {
            EffectOutcome::Committed => "committed",
            EffectOutcome::Failed => "failed",
            EffectOutcome::Unknown => "unknown",
            EffectOutcome::Replayed => "replayed",
            EffectOutcome::DryRun => "dry_run",
        }
    }

    /// Whether the effect is in place (or, in a dry run, would be).
    pub const fn took_effect(self) -> bool {
        matches!(
            self,
            EffectOutcome::Committed | EffectOutcome::Replayed | EffectOutcome::DryRun
        )
    }
}

impl std::fmt::Display for EffectOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for EffectOutcome {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EffectOutcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Whether workflow-command annotations are understood (GitHub or Gitea Actions).
pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
        || std::env::var("GITEA_ACTIONS").is_ok_and(|v| v == "true")
}

/// `::notice::` / `::error::` on stderr (stdout keeps the command's output format).
pub fn annotate(level: &str, msg: &str) {
    if in_actions() {
        let one_line = msg.replace('\n', " ");
        eprintln!("::{level}::{one_line}");
    }
}

#[cfg(test)]
mod tests {
    use super::EffectOutcome;

    #[test]
    fn words_are_the_envelope_contract() {
        for (o, w) in [
            (EffectOutcome::Committed, "\"committed\""),
            (EffectOutcome::Failed, "\"failed\""),
            (EffectOutcome::Unknown, "\"unknown\""),
            (EffectOutcome::Replayed, "\"replayed\""),
            (EffectOutcome::DryRun, "\"dry_run\""),
        ] {
            assert_eq!(serde_json::to_string(&o).ok().as_deref(), Some(w));
            assert!(o == w.trim_matches('"'));
        }
    }
}
