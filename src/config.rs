//! Layered configuration with provenance: flag > environment > `.mergeward.toml` > default.
//!
//! Every key is declared once in [`KEYS`] with its flag, its environment names (the
//! `MERGEWARD_*` name first, then the original scripts' names), its type and default.
//! Resolution records where each value came from, so `config show` can print it and every
//! error can name the source.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::error::{Error, Result, Source, did_you_mean};
use crate::forge::{
    ForgeKind, ForgeTarget, HttpSettings, RepoSlug, Secret, UpdateStyle, http::check_url_scheme,
};

/// The type of a configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bool,
    /// A non-negative integer with an upper bound.
    Int(u64),
    /// A list: a TOML array, or a comma-separated string in the environment.
    List,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
}

/// One configuration key.
#[derive(Debug)]
pub struct KeyDef {
    /// `section.name`, as written in `.mergeward.toml`.
    pub key: &'static str,
    pub flag: Option<&'static str>,
    /// Environment names, highest precedence first.
    pub envs: &'static [&'static str],
    pub kind: Kind,
    pub default: Option<&'static str>,
    pub help: &'static str,
}

const FORGES: &[&str] = &["gitea", "forgejo", "github"];

/// Every key mergeward reads.
pub const KEYS: &[KeyDef] = &[
    KeyDef {
        key: "forge.kind",
        flag: Some("--forge"),
        envs: &["MERGEWARD_FORGE"],
        kind: Kind::Choice(FORGES),
        default: Some("gitea"),
        help: "forge software: gitea, forgejo or github",
    },
    KeyDef {
        key: "forge.url",
        flag: Some("--url"),
        envs: &["MERGEWARD_URL", "GITEA_HOST"],
        kind: Kind::Str,
        default: None,
        help: "server root (Gitea/Forgejo) or API root (GitHub; default https://api.github.com), with its scheme (the original scripts' GITEA_HOST may be a bare host, read as https://HOST)",
    },
    KeyDef {
        key: "forge.repo",
        flag: Some("--repo"),
        envs: &["MERGEWARD_REPO", "REPO"],
        kind: Kind::Str,
        default: None,
        help: "repository as OWNER/NAME",
    },
    KeyDef {
        key: "forge.branch",
        flag: Some("--branch"),
        envs: &["MERGEWARD_BRANCH", "WATCH_BRANCH"],
        kind: Kind::Str,
        default: Some("main"),
        help: "base branch the queue serves",
    },
    KeyDef {
        key: "forge.token_env",
        flag: Some("--token-env"),
        envs: &["MERGEWARD_TOKEN_ENV"],
        kind: Kind::Str,
        default: None,
        help: "name of the environment variable holding the token (default: MERGEWARD_TOKEN, then GITEA_TOKEN or GITHUB_TOKEN)",
    },
    KeyDef {
        key: "forge.token_file",
        flag: Some("--token-file"),
        envs: &["MERGEWARD_TOKEN_FILE"],
        kind: Kind::Str,
        default: None,
        help: "file holding the token",
    },
    KeyDef {
        key: "forge.connect_timeout_secs",
        flag: None,
        envs: &["MERGEWARD_CONNECT_TIMEOUT_SECS"],
        kind: Kind::Int(600),
        default: Some("10"),
        help: "TCP/TLS connect timeout",
    },
    KeyDef {
        key: "forge.request_timeout_secs",
        flag: None,
        envs: &["MERGEWARD_REQUEST_TIMEOUT_SECS"],
        kind: Kind::Int(3600),
        default: Some("30"),
        help: "timeout of one HTTP request",
    },
    KeyDef {
        key: "forge.request_timeout_ms",
        flag: None,
        envs: &["MERGEWARD_REQUEST_TIMEOUT_MS"],
        kind: Kind::Int(3_600_000),
        default: None,
        help: "timeout of one HTTP request in milliseconds (overrides request_timeout_secs)",
    },
    KeyDef {
        key: "forge.max_retries",
        flag: None,
        envs: &["MERGEWARD_MAX_RETRIES"],
        kind: Kind::Int(20),
        default: Some("4"),
        help: "retries of one GET (transport errors, 5xx, 429)",
    },
    KeyDef {
        key: "forge.retry_budget_secs",
        flag: None,
        envs: &["MERGEWARD_RETRY_BUDGET_SECS"],
        kind: Kind::Int(3600),
        default: Some("30"),
        help: "total wait one GET may spend on retries; a longer server hint gives up",
    },
    KeyDef {
        key: "forge.rate_limit_per_second",
        flag: None,
        envs: &["MERGEWARD_RATE_LIMIT_PER_SECOND"],
        kind: Kind::Int(100_000),
        default: None,
        help: "client-side request rate limit (requests per second, burst of the same size; default 500 on Gitea/Forgejo, which have no API rate limiter, and 15 on GitHub, whose secondary limit is 900 requests a minute per endpoint)",
    },
    KeyDef {
        key: "forge.page_size",
        flag: None,
        envs: &["MERGEWARD_PAGE_SIZE"],
        kind: Kind::Int(100),
        default: None,
        help: "items requested per page (default 50 on Gitea/Forgejo, 100 on GitHub)",
    },
    KeyDef {
        key: "forge.page_cap",
        flag: None,
        envs: &["MERGEWARD_PAGE_CAP"],
        kind: Kind::Int(100_000),
        default: Some("100"),
        help: "a list with more pages than this is an error, never a truncation",
    },
    KeyDef {
        key: "queue.queue_label",
        flag: None,
        envs: &["MERGEWARD_QUEUE_LABEL", "QUEUE_LABEL"],
        kind: Kind::Str,
        default: Some("merge-queue"),
        help: "opt-in label (used when auto_discover is off)",
    },
    KeyDef {
        key: "queue.hold_label",
        flag: None,
        envs: &["MERGEWARD_HOLD_LABEL", "HOLD_LABEL"],
        kind: Kind::Str,
        default: Some("merge-queue-hold"),
        help: "label put on wedged PRs; always an opt-out label",
    },
    KeyDef {
        key: "queue.auto_discover",
        flag: None,
        envs: &["MERGEWARD_AUTO_DISCOVER", "AUTO_DISCOVER"],
        kind: Kind::Bool,
        default: Some("true"),
        help: "consider every open PR (true) or only those with the queue label (false)",
    },
    KeyDef {
        key: "queue.opt_out_labels",
        flag: None,
        envs: &["MERGEWARD_OPT_OUT_LABELS", "OPT_OUT_LABELS"],
        kind: Kind::List,
        default: Some("do-not-auto-merge,wip,draft"),
        help: "labels that keep a PR out of the queue",
    },
    KeyDef {
        key: "queue.reviewers",
        flag: None,
        envs: &["MERGEWARD_REVIEWERS", "REVIEWER_SET"],
        kind: Kind::List,
        default: Some(""),
        help: "logins whose approvals count (empty: any reviewer the forge calls official)",
    },
    KeyDef {
        key: "queue.required_approvals",
        flag: None,
        envs: &["MERGEWARD_REQUIRED_APPROVALS", "REQUIRED_APPROVALS"],
        kind: Kind::Int(100),
        default: Some("2"),
        help: "approvals needed when branch protection does not say",
    },
    KeyDef {
        key: "queue.min_approvals",
        flag: None,
        envs: &["MERGEWARD_MIN_APPROVALS"],
        kind: Kind::Int(100),
        default: Some("0"),
        help: "a floor over branch protection's required approvals (protection 0 and no floor: no approval needed, said in every merge decision)",
    },
    KeyDef {
        key: "queue.trusted_status_creators",
        flag: None,
        envs: &["MERGEWARD_TRUSTED_STATUS_CREATORS"],
        kind: Kind::List,
        default: Some(""),
        help: "logins allowed to post required commit statuses (empty: anyone with write access, as the forge allows)",
    },
    KeyDef {
        key: "queue.push_required_contexts",
        flag: None,
        envs: &["MERGEWARD_PUSH_REQUIRED_CONTEXTS", "PUSH_REQUIRED_CONTEXTS"],
        kind: Kind::List,
        default: Some(""),
        help: "contexts that must be green on the base branch head",
    },
    KeyDef {
        key: "queue.merge_method",
        flag: None,
        envs: &["MERGEWARD_MERGE_METHOD"],
        kind: Kind::Choice(&[
            "merge",
            "rebase",
            "rebase-merge",
            "squash",
            "fast-forward-only",
        ]),
        default: Some("merge"),
        help: "how a ready PR is merged (GitHub: merge, squash or rebase)",
    },
    KeyDef {
        key: "queue.allow_force_merge",
        flag: None,
        envs: &["MERGEWARD_ALLOW_FORCE_MERGE"],
        kind: Kind::Bool,
        default: Some("false"),
        help: "send Gitea's force_merge, only to pass red non-required contexts (needs an admin token)",
    },
    KeyDef {
        key: "queue.request_changes_block",
        flag: None,
        envs: &["MERGEWARD_REQUEST_CHANGES_BLOCK"],
        kind: Kind::Choice(&["anyone", "roster"]),
        default: Some("anyone"),
        help: "whose official REQUEST_CHANGES on the current head blocks a merge",
    },
    KeyDef {
        key: "queue.green_states",
        flag: None,
        envs: &["MERGEWARD_GREEN_STATES"],
        kind: Kind::List,
        default: Some("success"),
        help: "context states that count as green (missing never does)",
    },
    KeyDef {
        key: "queue.allow_no_required_contexts",
        flag: None,
        envs: &["MERGEWARD_ALLOW_NO_REQUIRED_CONTEXTS"],
        kind: Kind::Bool,
        default: Some("false"),
        help: "merge when branch protection requires no status contexts (approvals alone)",
    },
    KeyDef {
        key: "queue.post_status",
        flag: None,
        envs: &["MERGEWARD_POST_STATUS"],
        kind: Kind::Bool,
        default: Some("true"),
        help: "post a mergeward/queue status on each evaluated candidate's head: its position and what it waits for, success once merged, failure when held; only when it changed; never a required context",
    },
    KeyDef {
        key: "queue.concurrency",
        flag: None,
        envs: &["MERGEWARD_CONCURRENCY"],
        kind: Kind::Int(64),
        default: Some("16"),
        help: "candidates read concurrently (one FIFO window)",
    },
    KeyDef {
        key: "queue.stale_pending_hours",
        flag: None,
        envs: &["MERGEWARD_STALE_PENDING_HOURS"],
        kind: Kind::Int(8760),
        default: Some("6"),
        help: "a PR whose required CI has been pending longer than this (by its statuses' timestamps) no longer holds back updates of other PRs; 0 = never (it never blocks merges either way: only green merges)",
    },
    KeyDef {
        key: "queue.update_style",
        flag: None,
        envs: &["MERGEWARD_UPDATE_STYLE", "UPDATE_STYLE"],
        kind: Kind::Choice(&["merge", "rebase"]),
        default: Some("merge"),
        help: "how a behind PR is updated",
    },
    KeyDef {
        key: "reaper.limit",
        flag: Some("--limit"),
        envs: &["MERGEWARD_REAPER_LIMIT"],
        kind: Kind::Int(1000),
        default: Some("30"),
        help: "reap: commits swept, newest first",
    },
    KeyDef {
        key: "reaper.workflows_dir",
        flag: Some("--workflows-dir"),
        envs: &["MERGEWARD_WORKFLOWS_DIR", "WORKFLOWS_DIR"],
        kind: Kind::Str,
        default: None,
        help: "reap: checkout root holding .gitea/workflows or .github/workflows (or a workflow directory itself); unset reads the workflows from the forge at the branch head",
    },
    KeyDef {
        key: "reaper.concurrency",
        flag: None,
        envs: &["MERGEWARD_REAPER_CONCURRENCY"],
        kind: Kind::Int(64),
        default: Some("8"),
        help: "reap: commits whose statuses are read at once",
    },
    KeyDef {
        key: "reaper.description_push_suffix",
        flag: None,
        envs: &["MERGEWARD_REAPER_DESCRIPTION_PUSH_SUFFIX"],
        kind: Kind::Str,
        default: Some(crate::reaper::policy::DEFAULT_PUSH_SUFFIX),
        help: "reap: description of a compensation for a workflow without a push trigger",
    },
    KeyDef {
        key: "reaper.description_pr_shadow",
        flag: None,
        envs: &["MERGEWARD_REAPER_DESCRIPTION_PR_SHADOW"],
        kind: Kind::Str,
        default: Some(crate::reaper::policy::DEFAULT_PR_SHADOW),
        help: "reap: description of a compensation for a pull_request context whose push twin succeeded",
    },
    KeyDef {
        key: "reaper.description_cancelled",
        flag: None,
        envs: &["MERGEWARD_REAPER_DESCRIPTION_CANCELLED"],
        kind: Kind::Str,
        default: Some(crate::reaper::policy::DEFAULT_CANCELLED),
        help: "reap: description of a compensation for a cancelled push run",
    },
    KeyDef {
        key: "reaper.api_timeout_secs",
        flag: None,
        envs: &[
            "MERGEWARD_REAPER_API_TIMEOUT_SECS",
            "STATUS_REAPER_API_TIMEOUT_SEC",
        ],
        kind: Kind::Int(3600),
        default: None,
        help: "reap: timeout of one HTTP request (overrides forge.request_timeout_secs)",
    },
    KeyDef {
        key: "reaper.api_attempts",
        flag: None,
        envs: &["MERGEWARD_REAPER_API_ATTEMPTS", "STATUS_REAPER_API_RETRIES"],
        kind: Kind::Int(21),
        default: None,
        help: "reap: attempts of one GET, first included (overrides forge.max_retries + 1; 0 means 1)",
    },
    KeyDef {
        key: "ledger.url",
        flag: Some("--ledger"),
        envs: &["MERGEWARD_LEDGER"],
        kind: Kind::Str,
        default: Some(".mergeward/ledger.db"),
        help: "the decision ledger: a SQLite file path (default) or postgres://USER@HOST/DB",
    },
    KeyDef {
        key: "ledger.lease_secs",
        flag: None,
        envs: &["MERGEWARD_LEDGER_LEASE_SECS"],
        kind: Kind::Int(86_400),
        default: Some("900"),
        help: "how long a run's lock lasts before another run may take it over (SQLite)",
    },
    KeyDef {
        key: "gates.disable",
        flag: None,
        envs: &["MERGEWARD_GATES_DISABLE"],
        kind: Kind::List,
        default: Some(""),
        help: "`gate lint` rule ids to turn off",
    },
    KeyDef {
        key: "gates.severity",
        flag: None,
        envs: &["MERGEWARD_GATES_SEVERITY"],
        kind: Kind::List,
        default: Some(""),
        help: "severity overrides as RULE=error|warning|note (e.g. runs-on-pinned=warning)",
    },
    KeyDef {
        key: "gates.runs_on_labels",
        flag: None,
        envs: &["MERGEWARD_GATES_RUNS_ON_LABELS"],
        kind: Kind::List,
        default: Some("docker-host,publish"),
        help: "runs-on-pinned: runner labels a docker-bound job must run on (any one of them)",
    },
    KeyDef {
        key: "gates.coe_max_age_days",
        flag: None,
        envs: &["MERGEWARD_GATES_COE_MAX_AGE_DAYS", "MAX_AGE_DAYS"],
        kind: Kind::Int(3650),
        default: Some("14"),
        help: "coe-tracking: the oldest a tracker issue may be, in whole days",
    },
    KeyDef {
        key: "gates.coe_trackers",
        flag: None,
        envs: &["MERGEWARD_GATES_COE_TRACKERS"],
        kind: Kind::List,
        default: Some(""),
        help: "coe-tracking: named reference prefixes as PREFIX=OWNER/REPO (mc=acme/core makes mc#12 an issue of acme/core); #12 and owner/repo#12 always work",
    },
    KeyDef {
        key: "gates.required_contexts",
        flag: None,
        envs: &["MERGEWARD_GATES_REQUIRED_CONTEXTS"],
        kind: Kind::List,
        default: None,
        help: "required status contexts for offline runs of required-no-paths and context-in-protection (default: branch protection read from the forge; `*` = every context)",
    },
    KeyDef {
        key: "gates.context_events",
        flag: None,
        envs: &["MERGEWARD_GATES_CONTEXT_EVENTS"],
        kind: Kind::List,
        default: Some("pull_request"),
        help: "context-emitted, required-no-paths: the events the queue needs required contexts on (the PR's event; add push for a batch staging push)",
    },
    KeyDef {
        key: "gates.external_contexts",
        flag: None,
        envs: &["MERGEWARD_GATES_EXTERNAL_CONTEXTS"],
        kind: Kind::List,
        default: Some(""),
        help: "context-emitted: required contexts posted by something other than this tree's workflows (a CI app), as exact names or globs",
    },
    KeyDef {
        key: "gates.flips_recent",
        flag: Some("--recent"),
        envs: &["MERGEWARD_GATES_FLIPS_RECENT", "RECENT_COMMITS_N"],
        kind: Kind::Int(100),
        default: Some("5"),
        help: "gate flips: how many recent commits of the base branch are searched for runs of a flipped job",
    },
    KeyDef {
        key: "gates.flips_allow_unproven_non_pr_blocking",
        flag: Some("--allow-unproven-non-pr-blocking"),
        envs: &["MERGEWARD_GATES_FLIPS_ALLOW_UNPROVEN_NON_PR_BLOCKING"],
        kind: Kind::Bool,
        default: Some("false"),
        help: "gate flips: a flipped job with zero runs passes when its workflow has no pull_request/pull_request_target trigger (it cannot post a PR-blocking status); off = zero runs always block",
    },
    KeyDef {
        key: "gates.gitea_version",
        flag: None,
        envs: &["MERGEWARD_GATES_GITEA_VERSION"],
        kind: Kind::Str,
        default: None,
        help: "gitea-compat: the Gitea version the workflows run on (default: the forge's version; unknown counts as older than 1.23)",
    },
];

/// The TOML spelling of a key's default (`None` when the key has no default).
fn toml_default(d: &KeyDef) -> Option<String> {
    let v = d.default?;
    Some(match d.kind {
        Kind::Bool | Kind::Int(_) => v.to_string(),
        Kind::List => {
            let items: Vec<String> = split_list(v)
                .into_iter()
                .map(|i| toml::Value::String(i).to_string())
                .collect();
            format!("[{}]", items.join(", "))
        }
        Kind::Str | Kind::Choice(_) => toml::Value::String(v.to_string()).to_string(),
    })
}

/// A commented `.mergeward.toml` with every key of [`KEYS`]: its meaning, where else it can
/// be set, and its default, commented out. `set` holds values written active instead
/// (key, TOML string value), e.g. `forge.kind` from `mergeward init`. Generated from the
/// key table, so the file never drifts from what mergeward reads.
pub fn config_template(set: &[(&str, &str)]) -> String {
    let mut out = String::from(
        "# mergeward configuration (written by `mergeward init`).\n\
         # Precedence: command-line flag > environment variable > this file > default.\n\
         # Every key is listed with its default, commented out; uncomment to change it.\n\
         # `mergeward config show` prints the effective value of each key and where it came from.\n",
    );
    let mut section = "";
    for d in KEYS {
        let Some((sec, name)) = d.key.split_once('.') else {
            continue;
        };
        if sec != section {
            out.push_str(&format!("\n[{sec}]\n"));
            section = sec;
        }
        out.push_str(&format!("\n# {}\n", d.help));
        let mut also: Vec<String> = Vec::new();
        if let Some(f) = d.flag {
            also.push(format!("flag {f}"));
        }
        if !d.envs.is_empty() {
            also.push(format!("env {}", d.envs.join(", ")));
        }
        if !also.is_empty() {
            out.push_str(&format!("# ({})\n", also.join("; ")));
        }
        if let Some((_, v)) = set.iter().find(|(k, _)| *k == d.key) {
            out.push_str(&format!(
                "{name} = {}\n",
                toml::Value::String((*v).to_string())
            ));
            continue;
        }
        match toml_default(d) {
            Some(v) => out.push_str(&format!("# {name} = {v}\n")),
            None => out.push_str(&format!("# {name} =   (no default: unset)\n")),
        }
    }
    out
}

/// A value as written in a source, before typing.
#[derive(Debug, Clone, PartialEq)]
enum Raw {
    Str(String),
    Bool(bool),
    Int(i64),
    List(Vec<String>),
}

/// A typed value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(u64),
    List(Vec<String>),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::List(l) => write!(f, "[{}]", l.join(", ")),
        }
    }
}

/// A resolved value with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub key: &'static str,
    pub value: Value,
    pub source: Source,
}

/// Values given on the command line (global flags).
#[derive(Debug, Default, Clone)]
pub struct FlagValues {
    pub forge: Option<String>,
    pub url: Option<String>,
    pub repo: Option<String>,
    pub branch: Option<String>,
    pub config: Option<PathBuf>,
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
    pub ledger: Option<String>,
}

/// Reads the environment (injectable for tests).
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Where the token came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TokenSource {
    Env(String),
    File(PathBuf),
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Env(n) => write!(f, "environment variable {n}"),
            TokenSource::File(p) => write!(f, "file {}", p.display()),
        }
    }
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    settings: BTreeMap<&'static str, Setting>,
    /// The configuration file that was read, if any.
    pub file: Option<PathBuf>,
    pub token: Option<(Secret, TokenSource)>,
}

fn def(key: &str) -> Option<&'static KeyDef> {
    KEYS.iter().find(|d| d.key == key)
}

fn config_err(
    key: &str,
    origin: Source,
    message: impl Into<String>,
    hint: Option<String>,
) -> Error {
    Error::Config {
        key: key.to_string(),
        origin,
        message: message.into(),
        hint,
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Types a raw value for a key; errors name the key, the source and the fix.
fn typed(d: &KeyDef, raw: Raw, source: &Source) -> Result<Value> {
    let err = |msg: String, hint: Option<String>| config_err(d.key, source.clone(), msg, hint);
    if let Raw::Str(s) = &raw
        && s.trim().is_empty()
        && d.kind != Kind::List
    {
        let dflt = d
            .default
            .map_or("no default".to_string(), |v| format!("default {v:?}"));
        return Err(err(
            "is set but empty".into(),
            Some(format!(
                "unset it to use the {dflt}, or give a value ({})",
                d.help
            )),
        ));
    }
    match (d.kind, raw) {
        (Kind::Str, Raw::Str(s)) => Ok(Value::Str(s.trim().to_string())),
        (Kind::Bool, Raw::Bool(b)) => Ok(Value::Bool(b)),
        (Kind::Bool, Raw::Str(s)) => parse_bool(&s).map(Value::Bool).ok_or_else(|| {
            err(
                format!("{s:?} is not a boolean"),
                Some("use true/false (also 1/0, yes/no, on/off)".into()),
            )
        }),
        (Kind::Int(max), Raw::Int(n)) => u64::try_from(n)
            .ok()
            .filter(|n| *n <= max)
            .map(Value::Int)
            .ok_or_else(|| {
                err(
                    format!("{n} is out of range"),
                    Some(format!("use a whole number from 0 to {max}")),
                )
            }),
        (Kind::Int(max), Raw::Str(s)) => s
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= max)
            .map(Value::Int)
            .ok_or_else(|| err(format!("{s:?} is not a whole number from 0 to {max}"), None)),
        (Kind::List, Raw::List(l)) => Ok(Value::List(
            l.into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        )),
        (Kind::List, Raw::Str(s)) => Ok(Value::List(split_list(&s))),
        (Kind::Choice(words), Raw::Str(s)) => {
            let v = s.trim().to_ascii_lowercase();
            if words.contains(&v.as_str()) {
                Ok(Value::Str(v))
            } else {
                let hint = match did_you_mean(&v, words.iter().copied()) {
                    Some(m) => format!("did you mean {m:?}? (one of: {})", words.join(", ")),
                    None => format!("use one of: {}", words.join(", ")),
                };
                Err(err(format!("{s:?} is not allowed"), Some(hint)))
            }
        }
        (_, raw) => Err(err(
            format!("has the wrong type ({raw:?})"),
            Some(d.help.to_string()),
        )),
    }
}

fn toml_to_raw(v: &toml::Value) -> Option<Raw> {
    Some(match v {
        toml::Value::String(s) => Raw::Str(s.clone()),
        toml::Value::Boolean(b) => Raw::Bool(*b),
        toml::Value::Integer(n) => Raw::Int(*n),
        toml::Value::Array(a) => Raw::List(
            a.iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    })
}

/// Reads `.mergeward.toml` into raw key → value, rejecting unknown keys with a suggestion.
fn read_file(path: &Path) -> Result<BTreeMap<&'static str, Raw>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: format!("cannot read the configuration file: {e}"),
    })?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        Error::usage_hint(
            format!("{}: not valid TOML: {}", path.display(), e.message()),
            match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].lines().count().max(1);
                    format!("see line {line}")
                }
                None => "check the file's syntax".into(),
            },
        )
    })?;
    let fname = path.display().to_string();
    let mut out = BTreeMap::new();
    let sections: Vec<&str> = {
        let mut s: Vec<&str> = KEYS
            .iter()
            .filter_map(|d| d.key.split_once('.').map(|p| p.0))
            .collect();
        s.dedup();
        s
    };
    for (section, body) in &table {
        let Some(body) = body.as_table() else {
            return Err(config_err(
                section,
                Source::File(fname.clone()),
                "is not a [section]",
                Some(format!("known sections: {}", sections.join(", "))),
            ));
        };
        if !sections.contains(&section.as_str()) {
            let hint = match did_you_mean(section, sections.iter().copied()) {
                Some(m) => format!("did you mean [{m}]?"),
                None => format!("known sections: {}", sections.join(", ")),
            };
            return Err(config_err(
                section,
                Source::File(fname.clone()),
                "unknown section",
                Some(hint),
            ));
        }
        for (name, value) in body {
            let full = format!("{section}.{name}");
            let origin = Source::File(format!("{fname}: {full}"));
            let Some(d) = def(&full) else {
                let candidates: Vec<&str> = KEYS
                    .iter()
                    .filter(|d| d.key.starts_with(&format!("{section}.")))
                    .map(|d| &d.key[section.len() + 1..])
                    .collect();
                let hint = match did_you_mean(name, candidates.iter().copied()) {
                    Some(m) => format!("did you mean {section}.{m}?"),
                    None => format!("known keys in [{section}]: {}", candidates.join(", ")),
                };
                return Err(config_err(&full, origin, "unknown key", Some(hint)));
            };
            let raw = toml_to_raw(value).ok_or_else(|| {
                config_err(
                    &full,
                    origin.clone(),
                    "has an unsupported value type",
                    Some(d.help.to_string()),
                )
            })?;
            out.insert(d.key, raw);
        }
    }
    Ok(out)
}

/// A bare host (`git.example.com`) means `https://git.example.com`.
fn normalize_url(s: &str) -> String {
    if s.contains("://") {
        s.to_string()
    } else {
        format!("https://{}", s.trim_end_matches('/'))
    }
}

impl Config {
    /// Resolves every key from flags, environment, file and defaults.
    pub fn resolve(flags: &FlagValues, env: &dyn Env, cwd: &Path) -> Result<Config> {
        // The file: --config, MERGEWARD_CONFIG, else ./.mergeward.toml when it exists.
        let file = match (&flags.config, env.var("MERGEWARD_CONFIG")) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(p)) if !p.trim().is_empty() => Some(PathBuf::from(p)),
            _ => {
                let p = cwd.join(".mergeward.toml");
                p.is_file().then_some(p)
            }
        };
        let from_file = match &file {
            Some(p) => read_file(p)?,
            None => BTreeMap::new(),
        };
        let fname = file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let flag_value = |key: &str| -> Option<String> {
            match key {
                "forge.kind" => flags.forge.clone(),
                "forge.url" => flags.url.clone(),
                "forge.repo" => flags.repo.clone(),
                "forge.branch" => flags.branch.clone(),
                "forge.token_env" => flags.token_env.clone(),
                "forge.token_file" => flags.token_file.as_ref().map(|p| p.display().to_string()),
                "ledger.url" => flags.ledger.clone(),
                _ => None,
            }
        };
        let mut settings = BTreeMap::new();
        for d in KEYS {
            // Set but empty (what `${{ vars.X }}` gives when X is unset) means unset for every
            // string, list, number and choice key: the next source decides. A boolean set but
            // empty stays a usage error (the original scripts read `AUTO_DISCOVER=""` as off;
            // mergeward does not guess).
            let present = |v: &String| !v.trim().is_empty() || d.kind == Kind::Bool;
            let found: Option<(Raw, Source)> = if let Some(v) = flag_value(d.key).filter(present) {
                Some((
                    Raw::Str(v),
                    Source::Flag(d.flag.unwrap_or(d.key).to_string()),
                ))
            } else if let Some((name, v)) = d
                .envs
                .iter()
                .find_map(|n| env.var(n).filter(present).map(|v| (*n, v)))
            {
                Some((Raw::Str(v), Source::Env(name.to_string())))
            } else if let Some(raw) = from_file.get(d.key) {
                Some((raw.clone(), Source::File(format!("{fname}: {}", d.key))))
            } else {
                d.default
                    .map(|v| (Raw::Str(v.to_string()), Source::Default))
            };
            if let Some((raw, source)) = found {
                let mut value = typed(d, raw, &source)?;
                if d.key == "forge.url"
                    && let Value::Str(s) = &value
                {
                    // The original scripts' GITEA_HOST is a bare host by design; anywhere
                    // else a URL without a scheme is a mistake worth naming.
                    if !s.contains("://") && source != Source::Env("GITEA_HOST".into()) {
                        return Err(Error::Config {
                            key: d.key.to_string(),
                            origin: source.clone(),
                            message: format!("{s:?} has no scheme"),
                            hint: Some(format!(
                                "write the URL with its scheme: {} (http:// only for a server on this machine)",
                                normalize_url(s)
                            )),
                        });
                    }
                    value = Value::Str(normalize_url(s));
                }
                settings.insert(
                    d.key,
                    Setting {
                        key: d.key,
                        value,
                        source,
                    },
                );
            }
        }
        let mut cfg = Config {
            settings,
            file,
            token: None,
        };
        cfg.token = cfg.load_token(env)?;
        Ok(cfg)
    }

    /// Every resolved setting, in key order, plus the token (masked).
    pub fn shown(&self) -> Vec<Setting> {
        let mut out: Vec<Setting> = KEYS
            .iter()
            .filter_map(|d| self.settings.get(d.key).cloned())
            .collect();
        if let Some((_, src)) = &self.token {
            out.push(Setting {
                key: "forge.token",
                value: Value::Str("***".into()),
                source: match src {
                    TokenSource::Env(n) => Source::Env(n.clone()),
                    TokenSource::File(p) => Source::File(p.display().to_string()),
                },
            });
        }
        out
    }

    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.get(key)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        match self.settings.get(key).map(|s| &s.value) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn int(&self, key: &str) -> Option<u64> {
        match self.settings.get(key).map(|s| &s.value) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.settings.get(key).map(|s| &s.value) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn list(&self, key: &str) -> Vec<String> {
        match self.settings.get(key).map(|s| &s.value) {
            Some(Value::List(l)) => l.clone(),
            _ => Vec::new(),
        }
    }

    fn source(&self, key: &str) -> Source {
        self.settings
            .get(key)
            .map_or(Source::Default, |s| s.source.clone())
    }

    pub fn forge_kind(&self) -> ForgeKind {
        match self.str("forge.kind") {
            Some("forgejo") => ForgeKind::Forgejo,
            Some("github") => ForgeKind::GitHub,
            _ => ForgeKind::Gitea,
        }
    }

    pub fn branch(&self) -> &str {
        self.str("forge.branch").unwrap_or("main")
    }

    pub fn ledger_url(&self) -> &str {
        self.str("ledger.url").unwrap_or(".mergeward/ledger.db")
    }

    pub fn update_style(&self) -> UpdateStyle {
        match self.str("queue.update_style") {
            Some("rebase") => UpdateStyle::Rebase,
            _ => UpdateStyle::Merge,
        }
    }

    fn load_token(&self, env: &dyn Env) -> Result<Option<(Secret, TokenSource)>> {
        let named_env = self.get("forge.token_env");
        let file = self.get("forge.token_file");
        if let (Some(e), Some(f)) = (named_env, file)
            && e.source != Source::Default
            && f.source != Source::Default
        {
            return Err(Error::usage_hint(
                format!(
                    "both a token variable ({}, from {}) and a token file ({}, from {}) are configured",
                    e.value, e.source, f.value, f.source
                ),
                "configure one of forge.token_env / --token-env and forge.token_file / --token-file",
            ));
        }
        if let Some(f) = file {
            let path = PathBuf::from(f.value.to_string());
            let text = std::fs::read_to_string(&path).map_err(|e| Error::Io {
                path: path.display().to_string(),
                message: format!(
                    "cannot read the token file (forge.token_file from {}): {e}",
                    f.source
                ),
            })?;
            let token = text.trim();
            check_token(token, &format!("token file {}", path.display()))?;
            return Ok(Some((Secret::new(token), TokenSource::File(path))));
        }
        let candidates: Vec<String> = match named_env {
            Some(s) => vec![s.value.to_string()],
            None => {
                let legacy = if self.forge_kind() == ForgeKind::GitHub {
                    "GITHUB_TOKEN"
                } else {
                    "GITEA_TOKEN"
                };
                vec!["MERGEWARD_TOKEN".into(), legacy.into()]
            }
        };
        for name in &candidates {
            if let Some(v) = env.var(name) {
                let token = v.trim();
                if token.is_empty() && named_env.is_none() {
                    continue;
                }
                check_token(token, &format!("environment variable {name}"))?;
                return Ok(Some((Secret::new(token), TokenSource::Env(name.clone()))));
            }
        }
        if let Some(s) = named_env {
            return Err(config_err(
                "forge.token_env",
                s.source.clone(),
                format!("environment variable {} is not set", s.value),
                Some("export the token in that variable, or use --token-file".into()),
            ));
        }
        Ok(None)
    }

    /// The forge target; errors say which key is missing and how to set it.
    pub fn target(&self) -> Result<ForgeTarget> {
        let kind = self.forge_kind();
        let url_text = match (self.str("forge.url"), kind) {
            (Some(u), _) => u.to_string(),
            (None, ForgeKind::GitHub) => "https://api.github.com".to_string(),
            (None, _) => {
                return Err(config_err(
                    "forge.url",
                    Source::Default,
                    "is required for Gitea and Forgejo",
                    Some("pass --url https://git.example.com, or set MERGEWARD_URL (or GITEA_HOST), or forge.url in .mergeward.toml".into()),
                ));
            }
        };
        let url = Url::parse(&url_text).map_err(|e| {
            config_err(
                "forge.url",
                self.source("forge.url"),
                format!("{url_text:?} is not a URL: {e}"),
                None,
            )
        })?;
        check_url_scheme(&url)
            .map_err(|e| config_err("forge.url", self.source("forge.url"), e.to_string(), None))?;
        let repo_text = self.str("forge.repo").ok_or_else(|| {
            config_err(
                "forge.repo",
                Source::Default,
                "is required",
                Some("pass --repo OWNER/NAME, or set MERGEWARD_REPO (or REPO)".into()),
            )
        })?;
        let repo = RepoSlug::parse(repo_text).map_err(|m| {
            config_err(
                "forge.repo",
                self.source("forge.repo"),
                m,
                Some("use OWNER/NAME".into()),
            )
        })?;
        Ok(ForgeTarget { kind, url, repo })
    }

    /// HTTP client settings for a target.
    pub fn http_settings(&self, target: &ForgeTarget) -> HttpSettings {
        let mut s = HttpSettings::new(target.api_base(), target.dialect());
        s.token = self.token.as_ref().map(|(t, _)| t.clone());
        let int = |k: &str| self.int(k);
        if let Some(n) = int("forge.connect_timeout_secs") {
            s.connect_timeout = Duration::from_secs(n.max(1));
        }
        if let Some(n) = int("forge.request_timeout_secs") {
            s.request_timeout = Duration::from_secs(n.max(1));
        }
        if let Some(n) = int("forge.request_timeout_ms") {
            s.request_timeout = Duration::from_millis(n.max(1));
        }
        if let Some(n) = int("forge.max_retries") {
            s.max_retries = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = int("forge.retry_budget_secs") {
            s.retry_budget = Duration::from_secs(n);
        }
        // GitHub: conditional requests, with the ETags in a file beside a SQLite ledger
        // (`<ledger>.etags.json`); none beside PostgreSQL or an in-memory ledger.
        if target.kind == ForgeKind::GitHub
            && let Ok(crate::ledger::Locator::SqliteFile(db)) =
                crate::ledger::Locator::parse(self.ledger_url())
        {
            let mut name = db.as_os_str().to_os_string();
            name.push(".etags.json");
            s.etag_cache = Some(PathBuf::from(name));
        }
        let rate = int("forge.rate_limit_per_second").unwrap_or(match target.kind {
            ForgeKind::GitHub => 15,
            _ => 500,
        });
        let rate = u32::try_from(rate.max(1)).unwrap_or(u32::MAX);
        s.rate_per_second = rate;
        s.rate_burst = rate;
        if let Some(n) = int("forge.page_size") {
            s.page_size = u32::try_from(n.max(1)).unwrap_or(100);
        }
        if let Some(n) = int("forge.page_cap") {
            s.page_cap = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        }
        s
    }

    /// Where the token came from, for messages ("no token" when none).
    pub fn token_source(&self) -> String {
        match &self.token {
            Some((_, src)) => src.to_string(),
            None => "no token (set MERGEWARD_TOKEN, GITEA_TOKEN/GITHUB_TOKEN, --token-env or --token-file)".into(),
        }
    }
}

fn check_token(token: &str, origin: &str) -> Result<()> {
    if token.len() < 4 || token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::usage_hint(
            format!(
                "the token in {origin} is empty, too short or contains spaces or control characters"
            ),
            "store only the token itself",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn resolve(flags: FlagValues, e: &[(&str, &str)], file: Option<&str>) -> Result<Config> {
        let dir = tempfile::tempdir().expect("tempdir");
        if let Some(text) = file {
            std::fs::write(dir.path().join(".mergeward.toml"), text).expect("write");
        }
        Config::resolve(&flags, &env(e), dir.path())
    }

    #[test]
    fn precedence_flag_env_file_default() {
        let file = "[forge]\nrepo = \"file/repo\"\nbranch = \"file-branch\"\n[queue]\nhold_label = \"file-hold\"\n";
        let flags = FlagValues {
            repo: Some("flag/repo".into()),
            ..Default::default()
        };
        let c = resolve(
            flags,
            &[("WATCH_BRANCH", "env-branch"), ("REPO", "env/repo")],
            Some(file),
        )
        .unwrap();
        assert_eq!(c.str("forge.repo"), Some("flag/repo"));
        assert_eq!(
            c.get("forge.repo").unwrap().source,
            Source::Flag("--repo".into())
        );
        assert_eq!(c.str("forge.branch"), Some("env-branch"));
        assert_eq!(
            c.get("forge.branch").unwrap().source,
            Source::Env("WATCH_BRANCH".into())
        );
        assert_eq!(c.str("queue.hold_label"), Some("file-hold"));
        assert!(matches!(
            c.get("queue.hold_label").unwrap().source,
            Source::File(_)
        ));
        assert_eq!(c.str("queue.queue_label"), Some("merge-queue"));
        assert_eq!(c.get("queue.queue_label").unwrap().source, Source::Default);
    }

    #[test]
    fn mergeward_names_beat_legacy_names() {
        let c = resolve(
            FlagValues::default(),
            &[("MERGEWARD_BRANCH", "a"), ("WATCH_BRANCH", "b")],
            None,
        )
        .unwrap();
        assert_eq!(c.branch(), "a");
    }

    #[test]
    fn explicitly_empty_auto_discover_is_an_error() {
        let err = resolve(FlagValues::default(), &[("AUTO_DISCOVER", "")], None).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("queue.auto_discover")
                && msg.contains("AUTO_DISCOVER")
                && msg.contains("empty"),
            "{msg}"
        );
        let c = resolve(FlagValues::default(), &[("AUTO_DISCOVER", "off")], None).unwrap();
        assert_eq!(c.bool("queue.auto_discover"), Some(false));
    }

    /// Set but empty (`${{ vars.X }}` of an unset X) is unset for every key but booleans:
    /// the next environment name, the file or the default decides, as if it were absent.
    #[test]
    fn empty_env_and_flag_values_mean_unset_for_every_non_boolean_key() {
        let file = "[forge]\nrepo = \"file/repo\"\n";
        let unset = resolve(FlagValues::default(), &[], Some(file)).unwrap();
        for d in KEYS {
            for name in d.envs {
                for empty in ["", "  "] {
                    let got = resolve(FlagValues::default(), &[(name, empty)], Some(file));
                    if d.kind == Kind::Bool {
                        let err = got.expect_err(name).to_string();
                        assert!(err.contains(name) && err.contains("empty"), "{err}");
                        continue;
                    }
                    let got = got.unwrap_or_else(|e| panic!("{name}={empty:?}: {e}"));
                    let key_of = |c: &Config| {
                        c.get(d.key)
                            .map(|s| (s.value.clone(), std::mem::discriminant(&s.source)))
                    };
                    assert_eq!(key_of(&got), key_of(&unset), "{name}={empty:?}");
                }
            }
        }
        // The next name decides: MERGEWARD_BRANCH="" does not hide WATCH_BRANCH.
        let c = resolve(
            FlagValues::default(),
            &[("MERGEWARD_BRANCH", ""), ("WATCH_BRANCH", "trunk")],
            None,
        )
        .unwrap();
        assert_eq!(c.branch(), "trunk");
        // An empty list variable is the default, not an explicit empty list.
        let c = resolve(FlagValues::default(), &[("OPT_OUT_LABELS", "")], None).unwrap();
        assert_eq!(
            c.list("queue.opt_out_labels"),
            ["do-not-auto-merge", "wip", "draft"]
        );
        let c = resolve(
            FlagValues::default(),
            &[("MERGEWARD_GATES_REQUIRED_CONTEXTS", "")],
            None,
        )
        .unwrap();
        assert!(c.get("gates.required_contexts").is_none());
        // An empty flag value is unset too.
        let c = resolve(
            FlagValues {
                repo: Some(String::new()),
                ..Default::default()
            },
            &[("REPO", "env/repo")],
            None,
        )
        .unwrap();
        assert_eq!(c.str("forge.repo"), Some("env/repo"));
    }

    /// The generated `.mergeward.toml` lists every key; with every default uncommented it
    /// resolves to exactly the defaults.
    #[test]
    fn config_template_lists_every_key_with_its_default() {
        let text = config_template(&[("forge.kind", "github")]);
        for d in KEYS {
            let name = d.key.split_once('.').map_or(d.key, |p| p.1);
            assert!(
                text.lines().any(|l| l.starts_with(&format!("# {name} = "))
                    || l.starts_with(&format!("{name} = "))),
                "{} missing",
                d.key
            );
        }
        let defaults = resolve(FlagValues::default(), &[], None).unwrap();
        let written = resolve(FlagValues::default(), &[], Some(&text)).unwrap();
        assert_eq!(written.str("forge.kind"), Some("github"));
        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if !rest.contains("(no default")
                        && rest.split_once(" = ").is_some_and(|(k, _)| {
                            k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        }) =>
                {
                    rest
                }
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let all = resolve(FlagValues::default(), &[], Some(&uncommented)).unwrap();
        for d in KEYS {
            if d.key == "forge.kind" {
                continue;
            }
            assert_eq!(
                all.get(d.key).map(|s| &s.value),
                defaults.get(d.key).map(|s| &s.value),
                "{}",
                d.key
            );
        }
    }

    #[test]
    fn unknown_file_key_suggests() {
        let err = resolve(
            FlagValues::default(),
            &[],
            Some("[queue]\nhold_lable = \"x\"\n"),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("did you mean queue.hold_label?"), "{msg}");
        assert_eq!(err.exit_code(), crate::error::ExitCode::Usage);
        let err = resolve(
            FlagValues::default(),
            &[],
            Some("[queu]\nhold_label = \"x\"\n"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("did you mean [queue]?"), "{err}");
    }

    #[test]
    fn lists_from_env_and_file() {
        let c = resolve(
            FlagValues::default(),
            &[("OPT_OUT_LABELS", " a, ,b ")],
            None,
        )
        .unwrap();
        assert_eq!(c.list("queue.opt_out_labels"), vec!["a", "b"]);
        let c = resolve(
            FlagValues::default(),
            &[],
            Some("[queue]\nreviewers = [\"alice\", \"bob\"]\n"),
        )
        .unwrap();
        assert_eq!(c.list("queue.reviewers"), vec!["alice", "bob"]);
    }

    #[test]
    fn bad_choice_suggests() {
        let err = resolve(
            FlagValues {
                forge: Some("gitae".into()),
                ..Default::default()
            },
            &[],
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("did you mean \"gitea\""), "{err}");
        let err = resolve(FlagValues::default(), &[("UPDATE_STYLE", "squash")], None).unwrap_err();
        assert!(err.to_string().contains("UPDATE_STYLE"), "{err}");
    }

    #[test]
    fn token_from_env_and_masked() {
        let c = resolve(
            FlagValues::default(),
            &[("GITEA_TOKEN", "s3cret-value")],
            None,
        )
        .unwrap();
        let shown = format!("{:?}", c.shown());
        assert!(!shown.contains("s3cret-value"));
        assert!(format!("{c:?}").contains("Secret(***)"));
        assert!(!format!("{c:?}").contains("s3cret-value"));
        assert_eq!(c.token_source(), "environment variable GITEA_TOKEN");
    }

    #[test]
    fn token_env_named_but_unset_is_an_error() {
        let flags = FlagValues {
            token_env: Some("MY_TOKEN".into()),
            ..Default::default()
        };
        let err = resolve(flags, &[], None).unwrap_err();
        assert!(err.to_string().contains("MY_TOKEN"), "{err}");
    }

    #[test]
    fn bare_host_means_https_and_plain_http_is_refused() {
        let c = resolve(
            FlagValues {
                repo: Some("a/b".into()),
                ..Default::default()
            },
            &[("GITEA_HOST", "git.example.com")],
            None,
        )
        .unwrap();
        assert_eq!(c.target().unwrap().url.as_str(), "https://git.example.com/");
        let c = resolve(
            FlagValues {
                repo: Some("a/b".into()),
                url: Some("http://git.example.com".into()),
                ..Default::default()
            },
            &[],
            None,
        )
        .unwrap();
        let err = c.target().unwrap_err();
        assert!(
            err.to_string().contains("--url") && err.to_string().contains("http://"),
            "{err}"
        );
    }
}
