//! Workflow gates: one lint engine over the workflow model ([`crate::workflow`]).
//!
//! Each rule lives in its own file under [`rules`], with an id, a default severity and a
//! message that says how to fix the finding. Rules read the parsed workflows plus a
//! [`LintEnv`] holding what the forge said (required contexts, tracker issues), so that the
//! rules themselves are synchronous, deterministic and testable without a network; the
//! command (`src/cli/gate_cmd.rs`) fills the environment from the forge.
//!
//! Every finding carries a file, a 1-based line and a 1-based column. Inline suppression:
//! `# mergeward: ignore[rule-id,…] reason` on the finding's line or the line above; a
//! suppression without a reason is not honoured.

pub mod contexts;
pub mod flips;
pub mod output;
pub mod pattern;
pub mod rules;
pub mod settings;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::forge::ForgeKind;
use crate::workflow::{Pos, Workflow, comment_of};

pub use settings::GateSettings;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Some(Severity::Error),
            "warning" | "warn" => Some(Severity::Warning),
            "note" | "info" => Some(Severity::Note),
            _ => None,
        }
    }
}

/// What a rule is.
#[derive(Debug)]
pub struct RuleInfo {
    pub id: &'static str,
    pub severity: Severity,
    /// One line: what the rule catches.
    pub summary: &'static str,
    /// Where the behaviour comes from / why it matters (SARIF `fullDescription`).
    pub help: &'static str,
}

/// The pseudo-rule for files that are not readable workflows.
pub static YAML_SYNTAX: RuleInfo = RuleInfo {
    id: "yaml-syntax",
    severity: Severity::Error,
    summary: "the file is not a readable workflow (YAML syntax, bounds, or not a mapping)",
    help: "A workflow the forge cannot parse never runs: its required contexts stay pending forever. The file is skipped by every other rule.",
};

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    pub message: String,
    pub fix: String,
    /// The rule could not verify (the forge could not be read); the finding fails closed.
    #[serde(skip)]
    pub unverified: bool,
    /// The finding is about the repository (its branch protection against the whole
    /// tree), not a line: `file` is then the linted workflow directory and line/column 1.
    #[serde(skip)]
    pub repository: bool,
}

impl Finding {
    pub fn new(
        info: &'static RuleInfo,
        wf: &Workflow,
        pos: Pos,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            rule: info.id,
            severity: info.severity,
            file: file_label(wf),
            line: pos.line.max(1),
            column: pos.col.max(1),
            message: message.into(),
            fix: fix.into(),
            unverified: false,
            repository: false,
        }
    }

    /// A repository-level finding (no line of its own), placed at `dir`.
    pub fn repository(
        info: &'static RuleInfo,
        dir: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            rule: info.id,
            severity: info.severity,
            file: dir.to_string(),
            line: 1,
            column: 1,
            message: message.into(),
            fix: fix.into(),
            unverified: false,
            repository: true,
        }
    }

    pub fn severity(mut self, s: Severity) -> Finding {
        self.severity = s;
        self
    }

    pub fn unverified(mut self) -> Finding {
        self.unverified = true;
        self
    }
}

/// A file's label in findings: the path as found, `/` separated.
pub fn file_label(wf: &Workflow) -> String {
    path_label(&wf.path)
}

/// [`file_label`] of a path.
pub fn path_label(path: &std::path::Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    match s.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => s,
    }
}

/// The directory a repository-level finding is placed at: the deepest directory that
/// holds every linted file (`.` when there is none or they share nothing).
pub fn tree_label(files: &[&Workflow]) -> String {
    let mut common: Option<Vec<String>> = None;
    for w in files {
        let label = file_label(w);
        let mut parts: Vec<String> = label.split('/').map(str::to_string).collect();
        parts.pop();
        common = Some(match common {
            None => parts,
            Some(c) => c
                .into_iter()
                .zip(parts)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    match common {
        Some(c) if !c.is_empty() && !c.iter().all(String::is_empty) => c.join("/"),
        _ => ".".to_string(),
    }
}

/// What a tracker lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueLookup {
    Found {
        state: String,
        /// RFC 3339, as the forge sent it.
        created_at: Option<String>,
    },
    NotFound,
    /// 401/403: the token cannot read the issue.
    Forbidden {
        detail: String,
    },
    /// Transport error, 5xx, malformed answer.
    Failed {
        detail: String,
    },
    /// No forge is configured, or the reference names no repository.
    NotChecked {
        why: String,
    },
}

/// What the forge said, gathered before the rules run.
#[derive(Debug, Clone)]
pub struct LintEnv {
    /// Branch protection's required contexts (globs on Gitea; `*` = every context), or
    /// `None` when no source is configured.
    pub required_contexts: Option<Vec<String>>,
    /// Where `required_contexts` came from (for messages).
    pub required_source: String,
    /// The base tree's workflows, when linting a change (`--base`). With `base_changed`,
    /// only the base versions of files the change touches (the rest are the same on both
    /// sides); without it, every file's base version.
    pub base: Option<Vec<Workflow>>,
    /// Labels ([`file_label`]) of the linted files that differ from the base (modified,
    /// added); every other linted file is unchanged since the base.
    pub base_changed: Option<std::collections::BTreeSet<String>>,
    /// Tracker issues by `(owner/repo, number)`.
    pub issues: BTreeMap<(String, u64), IssueLookup>,
    pub now: DateTime<Utc>,
    /// The forge the workflows run on, when known.
    pub forge: Option<ForgeKind>,
    /// The forge's version (Gitea/Forgejo), when known.
    pub forge_version: Option<String>,
    /// The repository bare `#123` references resolve against.
    pub repo: Option<String>,
}

impl Default for LintEnv {
    fn default() -> Self {
        LintEnv {
            required_contexts: None,
            required_source: "nowhere".into(),
            base: None,
            base_changed: None,
            issues: BTreeMap::new(),
            now: Utc::now(),
            forge: None,
            forge_version: None,
            repo: None,
        }
    }
}

/// What a rule sees.
pub struct Context<'a> {
    /// Readable workflows (files with a YAML error are excluded).
    pub files: &'a [&'a Workflow],
    pub settings: &'a GateSettings,
    pub env: &'a LintEnv,
}

/// Where a rule writes.
#[derive(Debug, Default)]
pub struct Out {
    pub findings: Vec<Finding>,
    /// Run-level remarks (a skipped rule, an unresolved context) that belong to no line.
    pub notes: Vec<String>,
}

/// A lint rule.
pub trait Rule: Sync {
    fn info(&self) -> &'static RuleInfo;
    fn check(&self, cx: &Context<'_>, out: &mut Out);
}

/// The result of a lint run.
#[derive(Debug, Clone, Default)]
pub struct LintReport {
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    pub files: usize,
    pub suppressed: usize,
    /// Rules that ran.
    pub rules: Vec<&'static str>,
}

impl LintReport {
    pub fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }

    /// Error findings whose rule decided (as opposed to could not verify).
    pub fn decided_errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error && !f.unverified)
            .count()
    }

    pub fn unverified(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error && f.unverified)
            .count()
    }
}

/// The suppression comment on a line, if it names `rule`: `Some(true)` with a reason,
/// `Some(false)` without one.
fn suppression(line: &str, rule: &str) -> Option<bool> {
    let comment = comment_of(line)?;
    let at = comment.find("mergeward:")?;
    let rest = comment[at + "mergeward:".len()..].trim_start();
    let rest = rest.strip_prefix("ignore[")?;
    let (ids, reason) = rest.split_once(']')?;
    ids.split(',')
        .any(|id| id.trim() == rule)
        .then(|| !reason.trim().is_empty())
}

/// Runs every enabled rule over the files.
pub fn lint(files: &[Workflow], settings: &GateSettings, env: &LintEnv) -> LintReport {
    let mut out = Out::default();
    for wf in files {
        if let Some(e) = &wf.error {
            out.findings.push(Finding::new(
                &YAML_SYNTAX,
                wf,
                e.pos,
                format!("not a readable workflow: {}", e.message),
                "fix the YAML at this position; the forge rejects the whole file",
            ));
        }
    }
    let readable: Vec<&Workflow> = files.iter().filter(|w| w.error.is_none()).collect();
    let cx = Context {
        files: &readable,
        settings,
        env,
    };
    let mut ran = Vec::new();
    for rule in rules::all() {
        let id = rule.info().id;
        if !settings.enabled(id) {
            continue;
        }
        ran.push(id);
        let mut o = Out::default();
        rule.check(&cx, &mut o);
        if let Some(sev) = settings.severity_of(id) {
            for f in &mut o.findings {
                f.severity = sev;
            }
        }
        out.findings.extend(o.findings);
        out.notes.extend(o.notes);
    }
    // Inline suppression.
    let by_file: BTreeMap<String, &Workflow> = files.iter().map(|w| (file_label(w), w)).collect();
    let mut suppressed = 0;
    let mut kept = Vec::new();
    for mut f in out.findings {
        let wf = by_file.get(&f.file);
        let mut verdict = None;
        for ln in [f.line, f.line.saturating_sub(1)] {
            if let Some(text) = wf.and_then(|w| w.line(ln))
                && let Some(v) = suppression(text, f.rule)
            {
                verdict = Some(v);
                break;
            }
        }
        match verdict {
            Some(true) => suppressed += 1,
            Some(false) => {
                f.message.push_str(
                    " (the `mergeward: ignore` comment here has no reason, so it is not honoured)",
                );
                kept.push(f);
            }
            None => kept.push(f),
        }
    }
    kept.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.rule, &a.message)
            .cmp(&(&b.file, b.line, b.column, b.rule, &b.message))
    });
    kept.dedup();
    LintReport {
        findings: kept,
        notes: out.notes,
        files: files.len(),
        suppressed,
        rules: ran,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppression_parsing() {
        assert_eq!(
            suppression("x: 1 # mergeward: ignore[a, b] known", "b"),
            Some(true)
        );
        assert_eq!(suppression("# mergeward: ignore[a]", "a"), Some(false));
        assert_eq!(suppression("# mergeward: ignore[a] r", "c"), None);
        assert_eq!(suppression("x: 'mergeward: ignore[a] r'", "a"), None);
    }
}
