//! The trigger map: which workflows (by the name Gitea puts in status contexts) have a
//! `push` trigger (seed-systems §3.4), read with YAML 1.1 semantics where they change the
//! outcome.
//!
//! The original read workflows with PyYAML (YAML 1.1): a plain `on:` key is the boolean
//! `true`, and `yes/no/on/off` (any case variant PyYAML knows) are booleans. The workflow
//! model's tree ([`crate::workflow::yaml`], bounded like every workflow read) keeps each
//! scalar's text and style, and scalars are resolved here by the 1.1 rules: a plain `on`,
//! `yes` or `true` key is the boolean `true`; a quoted `"on"` (or `!!str on`) is the string
//! `on`. The trigger block is the string key `on` if present, else a boolean `true` key —
//! the original's lookup order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::forge::WorkflowFiles;
use crate::forge::commits::{MAX_WORKFLOW_BYTES, WORKFLOW_DIRS, is_workflow_file};
use crate::workflow::yaml::{self, Kind, Limits, Node, Style};

/// A scalar resolved by YAML 1.1 (PyYAML `safe_load`) rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar11 {
    Null,
    Bool(bool),
    /// An integer or float (its text).
    Number(String),
    Str(String),
}

fn is_number_11(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    if t.is_empty() {
        return false;
    }
    let lower = t.to_ascii_lowercase();
    if matches!(lower.as_str(), ".inf" | ".nan") {
        return true;
    }
    if let Some(hex) = t.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    }
    if let Some(bin) = t.strip_prefix("0b") {
        return !bin.is_empty() && bin.chars().all(|c| matches!(c, '0' | '1' | '_'));
    }
    // Decimal, octal, sexagesimal (1:30), floats with an optional exponent.
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) if t.contains('.') => (&t[..i], Some(&t[i + 1..])),
        _ => (t, None),
    };
    let mantissa_ok = mantissa.chars().any(|c| c.is_ascii_digit())
        && mantissa
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '_' | '.' | ':'))
        && mantissa.matches('.').count() <= 1;
    let exp_ok = exp.is_none_or(|e| {
        let d = e.strip_prefix(['-', '+']).unwrap_or(e);
        !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

/// Resolves a scalar's text by the YAML 1.1 rules PyYAML applies to plain scalars; quoted,
/// block and string-tagged scalars are strings.
pub fn resolve_11(text: &str, style: Style) -> Scalar11 {
    if style != Style::Plain {
        return Scalar11::Str(text.to_string());
    }
    if let Some(b) = yaml::yaml11_bool(text) {
        return Scalar11::Bool(b);
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Scalar11::Null,
        s if is_number_11(s) => Scalar11::Number(s.to_string()),
        s => Scalar11::Str(s.to_string()),
    }
}

/// A node's scalar value under YAML 1.1 rules (`None` for collections).
fn scalar(node: &Node) -> Option<Scalar11> {
    match &node.kind {
        Kind::Scalar(text, style) => Some(resolve_11(text, *style)),
        _ => None,
    }
}

fn describe(node: &Node) -> (String, &'static str) {
    match &node.kind {
        Kind::Seq(_) => ("[…]".into(), "list"),
        Kind::Map(_) => ("{…}".into(), "mapping"),
        Kind::Scalar(..) => match scalar(node) {
            Some(Scalar11::Null) | None => ("None".into(), "null"),
            Some(Scalar11::Bool(b)) => (if b { "True" } else { "False" }.into(), "bool"),
            Some(Scalar11::Number(s)) => (s, "number"),
            Some(Scalar11::Str(s)) => (s, "str"),
        },
    }
}

/// How a workflow's `on:` was classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushTrigger {
    Yes,
    No,
    /// `on:` missing, null or an odd type: treated as push-triggered (preserve), with a notice.
    Ambiguous {
        value: String,
        kind: &'static str,
    },
}

impl PushTrigger {
    pub fn has_push(&self) -> bool {
        !matches!(self, PushTrigger::No)
    }
}

/// `has_push_trigger` of the original, on a 1.1-resolved value (`None`: no `on:` at all).
pub fn classify_on(on: Option<&Node>) -> PushTrigger {
    let Some(node) = on else {
        return PushTrigger::Ambiguous {
            value: "None".into(),
            kind: "null",
        };
    };
    let is_push = |n: &Node| scalar(n) == Some(Scalar11::Str("push".into()));
    match &node.kind {
        Kind::Seq(items) => yes_no(items.iter().any(is_push)),
        Kind::Map(entries) => yes_no(entries.iter().any(|e| is_push(&e.key))),
        Kind::Scalar(..) => match scalar(node) {
            Some(Scalar11::Str(s)) => yes_no(s == "push"),
            _ => {
                let (value, kind) = describe(node);
                PushTrigger::Ambiguous { value, kind }
            }
        },
    }
}

fn yes_no(b: bool) -> PushTrigger {
    if b { PushTrigger::Yes } else { PushTrigger::No }
}

/// What one workflow file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The top-level `name` when it is a non-blank string (trimmed).
    pub name: Option<String>,
    pub push: PushTrigger,
}

/// Why a file was skipped (warned about, as the original did).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    Parse(String),
    NotAMapping,
}

/// Parses one workflow file (bounded: a file over the workflow model's limits is a parse
/// error, skipped with a warning like any other).
pub fn parse_workflow(text: &str) -> std::result::Result<Parsed, Unreadable> {
    let doc = yaml::parse(text, Limits::default()).map_err(|e| Unreadable::Parse(e.to_string()))?;
    let Some(root) = doc.root.filter(Node::is_map) else {
        return Err(Unreadable::NotAMapping);
    };
    // Of duplicate keys the last one counts, as in PyYAML's dict.
    let last = |want: &Scalar11| {
        root.entries()
            .iter()
            .rev()
            .find(|e| scalar(&e.key).as_ref() == Some(want))
            .map(|e| &e.value)
    };
    let name = last(&Scalar11::Str("name".into())).and_then(|v| match scalar(v) {
        Some(Scalar11::Str(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    });
    let on = last(&Scalar11::Str("on".into())).or_else(|| last(&Scalar11::Bool(true)));
    Ok(Parsed {
        name,
        push: classify_on(on),
    })
}

/// A note the scan produced (the original's `::warning::` / `::notice::` lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub level: &'static str,
    pub message: String,
}

impl Note {
    pub fn warning(message: String) -> Note {
        Note {
            level: "warning",
            message,
        }
    }
    pub fn notice(message: String) -> Note {
        Note {
            level: "notice",
            message,
        }
    }
}

/// One workflow in the map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workflow {
    pub file: String,
    pub push_trigger: bool,
}

/// Workflow id (the name in status contexts) → its file and push trigger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TriggerMap {
    /// Where the files came from (a directory, or `forge:<dir>@<ref>`).
    pub source: String,
    pub workflows: BTreeMap<String, Workflow>,
    pub notes: Vec<Note>,
}

impl TriggerMap {
    /// Whether a workflow has a push trigger; `None` when the workflow is unknown.
    pub fn push_trigger(&self, workflow: &str) -> Option<bool> {
        self.workflows.get(workflow).map(|w| w.push_trigger)
    }

    pub fn push_triggered(&self) -> usize {
        self.workflows.values().filter(|w| w.push_trigger).count()
    }
}

/// A workflow file to scan: display path, file stem, and its text (or why it has none).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub stem: String,
    pub text: std::result::Result<String, String>,
}

fn stem_of(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.strip_suffix(".yaml")
        .or_else(|| base.strip_suffix(".yml"))
        .unwrap_or(base)
        .to_string()
}

/// Builds the trigger map from files sorted by name. A name with `/`, or two files with one
/// name, is a configuration error naming the files (the original exited 1; usage/config
/// errors exit 2 here).
pub fn scan(source: String, files: Vec<SourceFile>, mut notes: Vec<Note>) -> Result<TriggerMap> {
    let mut workflows: BTreeMap<String, Workflow> = BTreeMap::new();
    for f in files {
        let text = match f.text {
            Ok(t) => t,
            Err(why) => {
                notes.push(Note::warning(format!(
                    "cannot read {}: {why}; skip",
                    f.path
                )));
                continue;
            }
        };
        let parsed = match parse_workflow(&text) {
            Ok(p) => p,
            Err(Unreadable::Parse(e)) => {
                notes.push(Note::warning(format!(
                    "yaml parse failed for {}: {e}; skip",
                    f.path
                )));
                continue;
            }
            Err(Unreadable::NotAMapping) => {
                notes.push(Note::warning(format!(
                    "workflow {} not a dict; skip",
                    f.path
                )));
                continue;
            }
        };
        let id = parsed.name.unwrap_or(f.stem);
        if id.contains('/') {
            return Err(Error::usage_hint(
                format!(
                    "workflow name contains '/' which breaks context parsing: {id} (file={})",
                    f.path
                ),
                "rename the workflow (its `name:`, or the file when it has none) without '/'; status contexts are split on the first \" / \"",
            ));
        }
        if let Some(prev) = workflows.get(&id) {
            return Err(Error::usage_hint(
                format!(
                    "workflow name collision detected: {id} (files: {} + {})",
                    prev.file, f.path
                ),
                "give the workflows distinct `name:` values: their status contexts cannot be told apart",
            ));
        }
        if let PushTrigger::Ambiguous { value, kind } = &parsed.push {
            notes.push(Note::notice(format!(
                "ambiguous on: for {id}; preserving (value={value}, type={kind})"
            )));
        }
        workflows.insert(
            id,
            Workflow {
                file: f.path,
                push_trigger: parsed.push.has_push(),
            },
        );
    }
    let map = TriggerMap {
        source,
        workflows,
        notes,
    };
    Ok(map)
}

/// The workflow directory under a checkout root: the first of `.gitea/workflows`,
/// `.github/workflows` that exists (as Gitea 1.22 chooses), else `root` itself when it holds
/// workflow files directly (the original's `WORKFLOWS_DIR=.gitea/workflows`).
fn pick_dir(root: &Path, notes: &mut Vec<Note>) -> Option<PathBuf> {
    let present: Vec<PathBuf> = WORKFLOW_DIRS
        .iter()
        .map(|d| root.join(d))
        .filter(|p| p.is_dir())
        .collect();
    if let Some(first) = present.first() {
        for other in &present[1..] {
            notes.push(Note::notice(format!(
                "{} ignored: Gitea runs the workflows of {} when it exists",
                other.display(),
                first.display()
            )));
        }
        return Some(first.clone());
    }
    let has_files = std::fs::read_dir(root).ok().is_some_and(|mut it| {
        it.any(|e| {
            e.ok()
                .is_some_and(|e| is_workflow_file(&e.file_name().to_string_lossy()))
        })
    });
    has_files.then(|| root.to_path_buf())
}

/// Reads the trigger map from a local checkout (`--workflows-dir`).
pub fn from_dir(root: &Path) -> Result<TriggerMap> {
    if !root.is_dir() {
        return Err(Error::usage_hint(
            format!("--workflows-dir {}: not a directory", root.display()),
            "pass the root of a checkout of the branch (holding .gitea/workflows or .github/workflows), or omit --workflows-dir to read the workflows from the forge",
        ));
    }
    let mut notes = Vec::new();
    let Some(dir) = pick_dir(root, &mut notes) else {
        notes.push(Note::warning(format!(
            "workflows dir not found: {} has neither {} nor {}",
            root.display(),
            WORKFLOW_DIRS[0],
            WORKFLOW_DIRS[1]
        )));
        return scan(root.display().to_string(), Vec::new(), notes);
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::Io {
        path: dir.display().to_string(),
        message: format!("cannot list the workflow directory: {e}"),
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| is_workflow_file(n))
        .collect();
    names.sort();
    let files = names
        .into_iter()
        .map(|name| {
            let path = dir.join(&name);
            let text = match std::fs::metadata(&path) {
                Ok(m) if m.len() > MAX_WORKFLOW_BYTES => Err(format!(
                    "{} bytes is more than the {MAX_WORKFLOW_BYTES}-byte limit",
                    m.len()
                )),
                Ok(_) => std::fs::read(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|b| String::from_utf8(b).map_err(|_| "the file is not UTF-8".into())),
                Err(e) => Err(e.to_string()),
            };
            SourceFile {
                path: path.display().to_string(),
                stem: stem_of(&name),
                text,
            }
        })
        .collect();
    scan(dir.display().to_string(), files, notes)
}

/// Builds the trigger map from files read through the forge.
pub fn from_forge(found: WorkflowFiles, reference: &str) -> Result<TriggerMap> {
    let mut notes = Vec::new();
    for d in &found.ignored_dirs {
        notes.push(Note::notice(format!(
            "{d} ignored: Gitea runs the workflows of {} when it exists",
            found.dir.as_deref().unwrap_or("?")
        )));
    }
    let Some(dir) = found.dir else {
        notes.push(Note::warning(format!(
            "workflows dir not found: neither {} nor {} exists at {reference}",
            WORKFLOW_DIRS[0], WORKFLOW_DIRS[1]
        )));
        return scan(format!("forge@{reference}"), Vec::new(), notes);
    };
    let files = found
        .files
        .into_iter()
        .map(|f| SourceFile {
            stem: stem_of(&f.path),
            path: f.path,
            text: f.content,
        })
        .collect();
    scan(format!("forge:{dir}@{reference}"), files, notes)
}

#[cfg(test)]
mod tests;
