//! The workflow model: GitHub / Gitea / Forgejo Actions workflow files with a 1-based line
//! and column for every key and value, read the way the forges (and the original PyYAML
//! scripts) read them where it changes an outcome.
//!
//! - The trigger block is found under `on`, and under the YAML 1.1 booleans `true`/`yes`
//!   (PyYAML turns a bare `on:` into `True`; a YAML 1.2 parser keeps the string `"on"`).
//! - `continue-on-error` keeps its raw text and style, so each consumer applies the
//!   coercion its rule specifies ([`Coe::is_yaml11_true`], [`Coe::flip_truth`]).
//! - Duplicate keys are reported with both positions; parsing is bounded
//!   ([`yaml::Limits`]) and never panics.

mod build;
mod files;
mod text;
pub mod yaml;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use build::{job, spanned_str, triggers};

pub use files::{discover, load_all};
use text::LineIndex;
pub use text::comment_of;
pub use yaml::{Duplicate, Kind, Limits, Node, Pos, Style, YamlError, YamlErrorKind};

/// A value with the position of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub pos: Pos,
}

impl<T> Spanned<T> {
    pub fn new(value: T, pos: Pos) -> Self {
        Spanned { value, pos }
    }
}

/// The directories the forges read workflows from, in the order Gitea prefers them.
pub const WORKFLOW_DIRS: [&str; 3] = [
    ".gitea/workflows",
    ".forgejo/workflows",
    ".github/workflows",
];

/// A `paths`, `paths-ignore` or `branches` filter under a trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// `paths`, `paths-ignore`, `branches`, `branches-ignore`, `tags`, `tags-ignore`.
    pub key: String,
    /// Position of the key.
    pub pos: Pos,
    pub values: Vec<Spanned<String>>,
    /// The filter's value is not a list of strings (a scalar or something else).
    pub malformed: bool,
}

/// One event the workflow runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub event: String,
    /// Position of the event's name.
    pub pos: Pos,
    /// The event's body when it is a mapping (filters, `types`, `inputs`…).
    pub body: Option<Node>,
    pub filters: Vec<Filter>,
}

impl Trigger {
    pub fn filter(&self, key: &str) -> Option<&Filter> {
        self.filters.iter().find(|f| f.key == key)
    }
}

/// The trigger block.
#[derive(Debug, Clone, PartialEq)]
pub struct Triggers {
    /// Position of the `on` key.
    pub pos: Pos,
    pub events: Vec<Trigger>,
    /// Filters written directly under `on:` (not valid; reported by rules that care).
    pub top_level_filters: Vec<Filter>,
}

impl Triggers {
    pub fn event(&self, name: &str) -> Option<&Trigger> {
        self.events.iter().find(|t| t.event == name)
    }
}

/// A job-level `continue-on-error`.
#[derive(Debug, Clone, PartialEq)]
pub struct Coe {
    /// Position of the `continue-on-error` key.
    pub key_pos: Pos,
    /// Position of the value.
    pub value_pos: Pos,
    /// The value's text (empty for non-scalars).
    pub raw: String,
    pub style: Option<Style>,
}

impl Coe {
    /// What a YAML 1.1 loader reads as `true`: a plain `true`/`yes`/`on` (any case form
    /// PyYAML accepts), or the tracking lint's string rule — a quoted `"true"` (trimmed,
    /// case-insensitive; quoted `"yes"` is a string and does not count).
    pub fn is_yaml11_true(&self) -> bool {
        match self.style {
            Some(Style::Plain) => yaml::yaml11_bool(&self.raw) == Some(true),
            Some(_) => self.raw.trim().eq_ignore_ascii_case("true"),
            None => false,
        }
    }

    /// The pre-flip lint's coercion (§4.3): booleans as-is; null → false; a string is true
    /// iff trimmed lowercase ∈ {true, yes, on, 1}; `${{ … }}` expressions and anything
    /// else → false.
    pub fn flip_truth(&self) -> bool {
        match self.style {
            Some(Style::Plain) => match yaml::yaml11_bool(&self.raw) {
                Some(b) => b,
                None => matches!(
                    self.raw.trim().to_ascii_lowercase().as_str(),
                    "true" | "yes" | "on" | "1"
                ),
            },
            Some(_) => matches!(
                self.raw.trim().to_ascii_lowercase().as_str(),
                "true" | "yes" | "on" | "1"
            ),
            None => false,
        }
    }
}

/// `runs-on`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunsOn {
    pub pos: Pos,
    /// Labels (a scalar, a list, or `labels:` of a `group`/`labels` mapping).
    pub labels: Vec<Spanned<String>>,
    /// The raw node.
    pub node: Node,
}

impl RunsOn {
    /// Whether a label is an expression (`${{ … }}`) whose value is only known at run time.
    pub fn has_expression(&self) -> bool {
        self.labels.iter().any(|l| l.value.contains("${{"))
    }
}

/// One step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub pos: Pos,
    pub name: Option<Spanned<String>>,
    pub run: Option<Spanned<String>>,
    pub uses: Option<Spanned<String>>,
    /// Where the step is in its job's `steps` (its node: [`Workflow::step_node`]).
    index: usize,
}

/// One job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The job key and its position.
    pub key: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub runs_on: Option<RunsOn>,
    pub continue_on_error: Option<Coe>,
    pub if_cond: Option<Spanned<String>>,
    pub needs: Vec<Spanned<String>>,
    /// A reusable-workflow call (`jobs.<id>.uses`).
    pub uses: Option<Spanned<String>>,
    pub steps: Vec<Step>,
    pub container: Option<Node>,
    pub services: Option<Node>,
    /// Where the job is in the `jobs` mapping (its mapping: [`Workflow::job_node`]).
    entry: usize,
}

impl Job {
    /// The name a status context shows: `name:` trimmed, else the key.
    pub fn display_name(&self) -> &str {
        match &self.name {
            Some(n) if !n.value.trim().is_empty() => n.value.trim(),
            _ => &self.key.value,
        }
    }
}

/// A workflow file, parsed (or not: `error` then says why).
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    /// The path as given or found (relative paths stay relative), used in findings.
    pub path: PathBuf,
    /// The file's text (lossy UTF-8).
    pub text: String,
    /// Why the file could not be read as a workflow (syntax, limits, not a mapping).
    pub error: Option<YamlError>,
    pub root: Option<Node>,
    pub duplicates: Vec<Duplicate>,
    pub name: Option<Spanned<String>>,
    pub on: Option<Triggers>,
    pub jobs: Vec<Job>,
    /// Position of the `jobs:` key.
    pub jobs_pos: Option<Pos>,
    /// Where each line of `text` starts, for [`Workflow::line`].
    lines: LineIndex,
}

/// The event suffix a status context carries for an event (`pull_request_target` posts as
/// `pull_request`). `None` for events whose runs post no PR-relevant context.
pub fn context_event(event: &str) -> Option<&'static str> {
    match event {
        "pull_request" | "pull_request_target" => Some("pull_request"),
        "push" => Some("push"),
        _ => None,
    }
}

/// The status context a job posts on Gitea: `"{workflow} / {job} ({event})"`.
pub fn status_context(workflow: &str, job: &str, event: &str) -> String {
    format!("{workflow} / {job} ({event})")
}

/// Splits a context at the first ` / ` and the final ` (event)`.
pub fn parse_context(ctx: &str) -> Option<(&str, &str, &str)> {
    let (wf, rest) = ctx.split_once(" / ")?;
    let rest = rest.strip_suffix(')')?;
    let open = rest.rfind(" (")?;
    let (job, event) = (&rest[..open], &rest[open + 2..]);
    (!wf.is_empty() && !job.is_empty() && !event.is_empty() && !event.contains(['(', ')']))
        .then_some((wf, job, event))
}

impl Workflow {
    /// Parses a workflow's text. Never fails: a file that cannot be read as a workflow
    /// carries the reason in `error`.
    pub fn parse(path: impl Into<PathBuf>, text: &str, limits: Limits) -> Workflow {
        Workflow::parse_owned(path.into(), text.to_string(), limits)
    }

    /// [`Workflow::parse`] for a text the caller already owns (no copy).
    fn parse_owned(path: PathBuf, text: String, limits: Limits) -> Workflow {
        let mut wf = Workflow {
            path,
            lines: LineIndex::new(&text),
            text,
            error: None,
            root: None,
            duplicates: Vec::new(),
            name: None,
            on: None,
            jobs: Vec::new(),
            jobs_pos: None,
        };
        let text = wf.text.as_str();
        // The parser is fuzzed; this guard keeps a defect in it from taking the run down.
        let parsed = std::panic::catch_unwind(|| yaml::parse(text, limits)).unwrap_or_else(|_| {
            Err(YamlError {
                kind: YamlErrorKind::Syntax,
                pos: Pos { line: 1, col: 1 },
                message: "the YAML parser failed on this file (please report it)".into(),
            })
        });
        let doc = match parsed {
            Ok(d) => d,
            Err(e) => {
                wf.error = Some(e);
                return wf;
            }
        };
        wf.duplicates = doc.duplicates;
        let Some(root) = doc.root else {
            wf.error = Some(YamlError {
                kind: YamlErrorKind::Syntax,
                pos: Pos { line: 1, col: 1 },
                message: "the file is empty; a workflow is a mapping".into(),
            });
            return wf;
        };
        if !root.is_map() {
            wf.error = Some(YamlError {
                kind: YamlErrorKind::Syntax,
                pos: root.pos,
                message: "a workflow must be a mapping at the top level".into(),
            });
            return wf;
        }
        wf.name = root.get("name").and_then(spanned_str);
        wf.on = triggers(&root);
        if let Some(e) = root.entry("jobs") {
            wf.jobs_pos = Some(e.key.pos);
            wf.jobs = e
                .value
                .entries()
                .iter()
                .enumerate()
                .filter_map(|(i, j)| job(i, &j.key, &j.value))
                .collect();
        }
        wf.root = Some(root);
        wf
    }

    /// Reads and parses a file. An unreadable file is an I/O error (the caller decides);
    /// bad YAML is not (it is in `error`).
    pub fn load(path: &Path, limits: Limits) -> std::io::Result<Workflow> {
        let meta = std::fs::metadata(path)?;
        if meta.len() > limits.max_bytes as u64 {
            let mut wf = Workflow::parse(path, "", limits);
            wf.error = Some(YamlError {
                kind: YamlErrorKind::Limit,
                pos: Pos { line: 1, col: 1 },
                message: format!(
                    "the file is {} bytes; more than {} is refused",
                    meta.len(),
                    limits.max_bytes
                ),
            });
            return Ok(wf);
        }
        let bytes = std::fs::read(path)?;
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Ok(Workflow::parse_owned(path.to_path_buf(), text, limits))
    }

    /// The file name without extension.
    pub fn stem(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The workflow's display name: `name:` trimmed, else the file stem.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) if !n.value.trim().is_empty() => n.value.trim().to_string(),
            _ => self.stem(),
        }
    }

    pub fn job(&self, key: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.key.value == key)
    }

    /// A job's mapping in [`Workflow::root`], for keys the typed view does not carry
    /// (`strategy`, `permissions`…). `job` is one of this workflow's [`Workflow::jobs`];
    /// the tree is not copied into the job, so a large file is held once.
    pub fn job_node(&self, job: &Job) -> Option<&Node> {
        let e = self.root.as_ref()?.get("jobs")?.entries().get(job.entry)?;
        (e.key.pos == job.key.pos).then_some(&e.value)
    }

    /// A step's node in [`Workflow::root`] (`step` is one of `job.steps`).
    pub fn step_node(&self, job: &Job, step: &Step) -> Option<&Node> {
        let n = self.job_node(job)?.get("steps")?.items().get(step.index)?;
        (n.pos == step.pos).then_some(n)
    }

    /// The status context `job` posts for `event` (`pull_request_target` → `pull_request`).
    pub fn status_context(&self, job: &Job, event: &str) -> String {
        let ev = context_event(event).unwrap_or(event);
        status_context(&self.display_name(), job.display_name(), ev)
    }

    /// Every context this workflow posts for pull requests and pushes, with its job.
    pub fn emitted_contexts(&self) -> Vec<(String, &Job)> {
        let mut events: Vec<&str> = self
            .on
            .iter()
            .flat_map(|t| t.events.iter())
            .filter_map(|t| context_event(&t.event))
            .collect();
        events.sort_unstable();
        events.dedup();
        let mut out = Vec::new();
        for j in &self.jobs {
            for ev in &events {
                out.push((self.status_context(j, ev), j));
            }
        }
        out
    }

    /// [`Workflow::emitted_contexts`] as the forge shows them. Gitea/Forgejo: `workflow /
    /// job (event)`. GitHub (`github`): one check run per job named after the job (its
    /// `name:`, else its key), whatever the event, for a workflow with a pull_request or push
    /// trigger.
    pub fn emitted_contexts_on(&self, github: bool) -> Vec<(String, &Job)> {
        if !github {
            return self.emitted_contexts();
        }
        let posts = self
            .on
            .iter()
            .flat_map(|t| t.events.iter())
            .any(|t| context_event(&t.event).is_some());
        if !posts {
            return Vec::new();
        }
        self.jobs
            .iter()
            .map(|j| (j.display_name().to_string(), j))
            .collect()
    }
}
