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

pub mod yaml;

use std::path::{Path, PathBuf};

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

/// The byte offset at which each line of a text starts, as [`str::lines`] splits it, and
/// the length of the text it was built for (a `text` changed afterwards to another length
/// is read the slow way). Derived data: it never makes two workflows unequal.
#[derive(Clone, Default)]
struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        if !text.is_empty() {
            starts.push(0);
        }
        let bytes = text.as_bytes();
        let mut at = 0;
        while let Some(i) = bytes[at..].iter().position(|&b| b == b'\n') {
            let next = at + i + 1;
            if next < bytes.len() {
                starts.push(next);
            }
            at = next;
        }
        LineIndex {
            starts,
            len: text.len(),
        }
    }

    /// Line `idx` (0-based) of `text`, without its `\n` or `\r\n` ending, exactly as
    /// `text.lines().nth(idx)`.
    fn line<'t>(&self, text: &'t str, idx: usize) -> Option<&'t str> {
        if self.len != text.len() {
            return text.lines().nth(idx);
        }
        let start = *self.starts.get(idx)?;
        let end = self.starts.get(idx + 1).copied().unwrap_or(text.len());
        let line = text.get(start..end)?;
        Some(match line.strip_suffix('\n') {
            Some(l) => l.strip_suffix('\r').unwrap_or(l),
            None => line,
        })
    }
}

impl PartialEq for LineIndex {
    fn eq(&self, _: &LineIndex) -> bool {
        true
    }
}

impl std::fmt::Debug for LineIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LineIndex({} lines)", self.starts.len())
    }
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

fn spanned_str(n: &Node) -> Option<Spanned<String>> {
    n.str().map(|s| Spanned::new(s.to_string(), n.pos))
}

fn filters_of(body: &Node) -> Vec<Filter> {
    const KEYS: [&str; 6] = [
        "paths",
        "paths-ignore",
        "branches",
        "branches-ignore",
        "tags",
        "tags-ignore",
    ];
    body.entries()
        .iter()
        .filter_map(|e| {
            let key = e.key.str()?;
            if !KEYS.contains(&key) {
                return None;
            }
            let malformed = !matches!(e.value.kind, Kind::Seq(_))
                || e.value.items().iter().any(|i| i.str().is_none());
            Some(Filter {
                key: key.to_string(),
                pos: e.key.pos,
                values: e
                    .value
                    .strings()
                    .into_iter()
                    .map(|(s, p)| Spanned::new(s, p))
                    .collect(),
                malformed,
            })
        })
        .collect()
}

/// Whether a top-level key is the trigger key: the string `on`, or a YAML 1.1 `true`.
fn is_trigger_key(key: &Node) -> bool {
    key.str() == Some("on") || key.bool11() == Some(true)
}

fn triggers(root: &Node) -> Option<Triggers> {
    let entry = root
        .entries()
        .iter()
        .rev()
        .find(|e| is_trigger_key(&e.key))?;
    let v = &entry.value;
    let mut t = Triggers {
        pos: entry.key.pos,
        events: Vec::new(),
        top_level_filters: Vec::new(),
    };
    match &v.kind {
        Kind::Scalar(s, _) if !v.is_null() => t.events.push(Trigger {
            event: s.clone(),
            pos: v.pos,
            body: None,
            filters: Vec::new(),
        }),
        Kind::Seq(items) => {
            for i in items {
                if let Some(s) = i.str() {
                    t.events.push(Trigger {
                        event: s.to_string(),
                        pos: i.pos,
                        body: None,
                        filters: Vec::new(),
                    });
                }
            }
        }
        Kind::Map(entries) => {
            t.top_level_filters = filters_of(v)
                .into_iter()
                .filter(|f| f.key.starts_with("paths"))
                .collect();
            for e in entries {
                let Some(name) = e.key.str() else { continue };
                if name == "paths" || name == "paths-ignore" {
                    continue;
                }
                let body = e.value.is_map().then(|| e.value.clone());
                t.events.push(Trigger {
                    event: name.to_string(),
                    pos: e.key.pos,
                    filters: body.as_ref().map(filters_of).unwrap_or_default(),
                    body,
                });
            }
        }
        _ => {}
    }
    Some(t)
}

fn runs_on(n: &Node) -> RunsOn {
    let labels = match &n.kind {
        Kind::Map(_) => {
            let mut l: Vec<Spanned<String>> = Vec::new();
            if let Some(g) = n.get("group") {
                l.extend(g.strings().into_iter().map(|(s, p)| Spanned::new(s, p)));
            }
            if let Some(x) = n.get("labels") {
                l.extend(x.strings().into_iter().map(|(s, p)| Spanned::new(s, p)));
            }
            l
        }
        _ => n
            .strings()
            .into_iter()
            .map(|(s, p)| Spanned::new(s, p))
            .collect(),
    };
    RunsOn {
        pos: n.pos,
        labels,
        node: n.clone(),
    }
}

fn job(entry: usize, key: &Node, body: &Node) -> Option<Job> {
    let key = spanned_str(key)?;
    let steps = body
        .get("steps")
        .map(|s| {
            s.items()
                .iter()
                .enumerate()
                .map(|(index, st)| Step {
                    pos: st.pos,
                    name: st.get("name").and_then(spanned_str),
                    run: st.get("run").and_then(spanned_str),
                    uses: st.get("uses").and_then(spanned_str),
                    index,
                })
                .collect()
        })
        .unwrap_or_default();
    let coe = body.entry("continue-on-error").map(|e| {
        let (raw, style) = match &e.value.kind {
            Kind::Scalar(s, st) => (s.clone(), Some(*st)),
            _ => (String::new(), None),
        };
        Coe {
            key_pos: e.key.pos,
            value_pos: e.value.pos,
            raw,
            style,
        }
    });
    Some(Job {
        key,
        name: body.get("name").and_then(spanned_str),
        runs_on: body.get("runs-on").map(runs_on),
        continue_on_error: coe,
        if_cond: body.get("if").and_then(spanned_str),
        needs: body
            .get("needs")
            .map(|n| {
                n.strings()
                    .into_iter()
                    .map(|(s, p)| Spanned::new(s, p))
                    .collect()
            })
            .unwrap_or_default(),
        uses: body.get("uses").and_then(spanned_str),
        steps,
        container: body.get("container").cloned(),
        services: body.get("services").cloned(),
        entry,
    })
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

    /// The file's lines (1-based access through [`Workflow::line`]).
    pub fn line(&self, n: u32) -> Option<&str> {
        let idx = usize::try_from(n).ok()?.checked_sub(1)?;
        self.lines.line(&self.text, idx)
    }

    /// The 1-based line and column (in characters) of a byte offset into `text` (clamped to
    /// its length; an offset inside a character reads as 1:1).
    pub fn pos_at(&self, offset: usize) -> Pos {
        let text = self.text.as_str();
        let offset = offset.min(text.len());
        let (line, line_start) = if !text.is_char_boundary(offset) {
            (1, offset)
        } else if self.lines.len != text.len() {
            let before = &text[..offset];
            let newlines = before.bytes().filter(|&b| b == b'\n').count();
            (newlines + 1, before.rfind('\n').map_or(0, |i| i + 1))
        } else {
            // `starts` has every line start but one after a final `\n`.
            let starts = &self.lines.starts;
            if offset == text.len() && text.ends_with('\n') {
                (starts.len() + 1, offset)
            } else {
                let k = starts.partition_point(|&s| s <= offset);
                (
                    k.max(1),
                    starts.get(k.wrapping_sub(1)).copied().unwrap_or(0),
                )
            }
        };
        let col = text
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        }
    }

    /// The comment on a line (text after a `#` that starts a comment), if any.
    pub fn comment_on(&self, n: u32) -> Option<&str> {
        comment_of(self.line(n)?)
    }
}

/// The comment part of a YAML line: from a `#` at the line start or after whitespace that
/// is not inside quotes.
pub fn comment_of(line: &str) -> Option<&str> {
    let mut quote: Option<char> = None;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' if prev_space => quote = Some(c),
                '#' if prev_space => return line.get(i + 1..),
                _ => {}
            },
        }
        prev_space = c.is_whitespace();
    }
    None
}

/// [`Workflow::load`] for many files at once on rayon's thread pool (one thread per core):
/// the results come back in the order of `paths` (the same values a one-after-another loop
/// over [`Workflow::load`] gives), so a caller that stops at the first error stops at the
/// same path as that loop would.
pub fn load_all(paths: &[PathBuf], limits: Limits) -> Vec<std::io::Result<Workflow>> {
    use rayon::prelude::*;
    paths
        .par_iter()
        .map(|p| Workflow::load(p, limits))
        .collect()
}

/// Finds workflow files: a file is taken as is; a directory contributes its
/// `.gitea/workflows`, `.forgejo/workflows` and `.github/workflows` when it has any,
/// otherwise every `*.yml`/`*.yaml` below it. Sorted, without repeats.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_file() {
            out.push(p.clone());
            continue;
        }
        let forge_dirs: Vec<PathBuf> = WORKFLOW_DIRS
            .iter()
            .map(|d| p.join(d))
            .filter(|d| d.is_dir())
            .collect();
        let roots = if forge_dirs.is_empty() {
            vec![p.clone()]
        } else {
            forge_dirs
        };
        for r in roots {
            walk(&r, &mut out, 0).map_err(|e| format!("{}: {e}", r.display()))?;
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> std::io::Result<()> {
    if depth > 16 {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let path = e.path();
        let ft = e.file_type()?;
        if ft.is_dir() {
            walk(&path, out, depth + 1)?;
        } else if ft.is_file() && path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_skip_quoted_hashes() {
        assert_eq!(comment_of("a: 1 # x"), Some(" x"));
        assert_eq!(comment_of("a: \"#1\" # y"), Some(" y"));
        assert_eq!(comment_of("a: b#c"), None);
        assert_eq!(comment_of("# top"), Some(" top"));
    }

    #[test]
    fn line_index_reads_lines_like_str_lines() {
        let texts = [
            "",
            "\n",
            "\n\n",
            "a",
            "a\n",
            "a\nb",
            "a\nb\n",
            "a\r\nb\r\n",
            "a\r\n\r\nb",
            "a\r",
            "a\rb\n\r",
            "é\nü\r\n€",
            "\r\n",
            "x\n\n\ny",
        ];
        for t in texts {
            let wf = Workflow::parse("t.yml", t, Limits::default());
            let want: Vec<&str> = t.lines().collect();
            for n in 0..=want.len() as u32 + 2 {
                let expected = n.checked_sub(1).and_then(|i| want.get(i as usize).copied());
                assert_eq!(wf.line(n), expected, "text {t:?}, line {n}");
            }
        }
        // A text changed after parsing is still read correctly.
        let mut wf = Workflow::parse("t.yml", "a\nb\n", Limits::default());
        wf.text.push_str("c\nd");
        assert_eq!(wf.line(4), Some("d"));
    }

    #[test]
    fn pos_at_counts_lines_and_characters() {
        // The definition: newlines before the offset, characters since the last one.
        fn reference(text: &str, offset: usize) -> Pos {
            let offset = offset.min(text.len());
            let before = text.get(..offset).unwrap_or("");
            let line = before.matches('\n').count() + 1;
            let start = before.rfind('\n').map_or(0, |i| i + 1);
            let col = before[start..].chars().count() + 1;
            Pos {
                line: line as u32,
                col: col as u32,
            }
        }
        let texts = [
            "",
            "\n",
            "a",
            "ab\ncd\n",
            "ab\ncd",
            "é\n\n€x\r\ny",
            "\n\nz\n\n",
        ];
        for t in texts {
            let mut wf = Workflow::parse("t.yml", t, Limits::default());
            for off in 0..=t.len() + 2 {
                assert_eq!(wf.pos_at(off), reference(t, off), "{t:?} at {off}");
            }
            wf.text.push_str("\nmore é");
            let t = wf.text.clone();
            for off in 0..=t.len() + 1 {
                assert_eq!(
                    wf.pos_at(off),
                    reference(&t, off),
                    "{t:?} at {off} (changed)"
                );
            }
        }
    }

    #[test]
    fn job_and_step_nodes_come_from_the_tree() {
        let text = "on: push\njobs:\n  1: not a job\n  a:\n    runs-on: x\n    steps:\n      - run: one\n      - uses: b@c\n        with: {k: v}\n  b: {runs-on: y}\n";
        let wf = Workflow::parse("w.yml", text, Limits::default());
        let a = wf.job("a").unwrap();
        let node = wf.job_node(a).unwrap();
        assert_eq!(node.pos, Pos { line: 5, col: 5 });
        assert_eq!(node.get("runs-on").and_then(Node::str), Some("x"));
        let step = wf.step_node(a, &a.steps[1]).unwrap();
        assert_eq!(
            step.get("with")
                .and_then(|w| w.get("k"))
                .and_then(Node::str),
            Some("v")
        );
        let b = wf.job("b").unwrap();
        assert_eq!(
            wf.job_node(b)
                .and_then(|n| n.get("runs-on"))
                .and_then(Node::str),
            Some("y")
        );
        assert!(wf.step_node(b, &a.steps[0]).is_none());
        // A job of another workflow is not looked up by index alone.
        let other = Workflow::parse("o.yml", "jobs:\n  a: {}\n", Limits::default());
        assert!(wf.job_node(&other.jobs[0]).is_none());
    }

    #[test]
    fn load_all_matches_load_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for i in 0..40 {
            let p = dir.path().join(format!("w{i:02}.yml"));
            let jobs = "  j:\n    runs-on: x\n".repeat(1 + i % 7);
            let text = match i % 5 {
                0 => "on: [".to_string(), // a YAML error is a value, not an I/O error
                _ => format!("name: w{i}\non: push\njobs:\n{jobs}"),
            };
            std::fs::write(&p, text).unwrap();
            paths.push(p);
        }
        paths.insert(17, dir.path().join("missing.yml"));
        let all = load_all(&paths, Limits::default());
        assert_eq!(all.len(), paths.len());
        for (p, got) in paths.iter().zip(&all) {
            match (Workflow::load(p, Limits::default()), got) {
                (Ok(want), Ok(got)) => assert_eq!(&want, got),
                (Err(want), Err(got)) => assert_eq!(want.kind(), got.kind()),
                (want, got) => panic!("{}: {want:?} vs {got:?}", p.display()),
            }
        }
        assert!(all[17].is_err());
        assert!(load_all(&[], Limits::default()).is_empty());
    }

    #[test]
    fn parse_context_splits_at_first_slash() {
        assert_eq!(
            parse_context("ci / setup / install-deps (pull_request)"),
            Some(("ci", "setup / install-deps", "pull_request"))
        );
        assert_eq!(parse_context("nonsense"), None);
    }
}
