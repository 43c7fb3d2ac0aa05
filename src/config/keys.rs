//! The key table: every key mergeward reads, with its flag, environment names, type,
//! default and meaning. **The only place a default lives**: the resolution
//! ([`super::layers`]), the typed settings of every command ([`super::settings`]), the
//! template `mergeward init` writes, `config show` and SPEC.md §2 all read it from here.

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

/// The status reaper's compensation descriptions: the defaults of
/// `reaper.description_*` (the original's texts with its script path replaced by
/// `mergeward reap`; the `Compensated by status-reaper (` prefix, which `gate flips` keys on,
/// is kept). Named because they are stable markers that tests compare against.
pub const DEFAULT_PUSH_SUFFIX: &str = "Compensated by status-reaper (workflow has no push: trigger; Gitea 1.22.6 hardcoded-suffix bug — see mergeward reap)";
pub const DEFAULT_PR_SHADOW: &str = "Compensated by status-reaper (default-branch pull_request status shadowed by successful push status on same SHA; see mergeward reap)";
pub const DEFAULT_CANCELLED: &str = "Compensated by status-reaper (push run was cancelled/superseded; Gitea 1.22.6 reports cancelled runs as failure statuses)";

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
        key: "queue.mode",
        flag: None,
        envs: &["MERGEWARD_QUEUE_MODE"],
        kind: Kind::Choice(&["serial", "batch"]),
        default: Some("serial"),
        help: "serial: update a PR, wait for its CI, merge it; batch: test the merge result of up to queue.batch_size PRs on the staging branch and land exactly that commit (SPEC §8.2)",
    },
    KeyDef {
        key: "queue.batch_size",
        flag: None,
        envs: &["MERGEWARD_BATCH_SIZE"],
        kind: Kind::Int(64),
        default: Some("4"),
        help: "batch mode: the most PRs tested together (1 = test each PR's merge result alone)",
    },
    KeyDef {
        key: "queue.batch_adaptive",
        flag: None,
        envs: &["MERGEWARD_BATCH_ADAPTIVE"],
        kind: Kind::Bool,
        default: Some("false"),
        help: "batch mode: adapt the batch size: halve it after a red batch, grow it by one after a green one, up to queue.batch_size",
    },
    KeyDef {
        key: "queue.staging_branch",
        flag: None,
        envs: &["MERGEWARD_STAGING_BRANCH"],
        kind: Kind::Str,
        default: Some("mergeward/staging/{branch}"),
        help: "batch mode: the branch the staging commit is force-pushed to ({branch} = the base branch); mergeward's own, never a branch people push to",
    },
    KeyDef {
        key: "queue.staging_contexts",
        flag: None,
        envs: &["MERGEWARD_STAGING_CONTEXTS"],
        kind: Kind::List,
        default: Some(""),
        help: "batch mode: the contexts that must be success on the staging commit (empty: the protection's required contexts; on Gitea/Forgejo `X (pull_request)` is looked for as `X (push)`)",
    },
    KeyDef {
        key: "queue.bisect_max_steps",
        flag: None,
        envs: &["MERGEWARD_BISECT_MAX_STEPS"],
        kind: Kind::Int(64),
        default: Some("3"),
        help: "batch mode: splits of a red batch before its suspects are tested one at a time",
    },
    KeyDef {
        key: "queue.batch_landing",
        flag: None,
        envs: &["MERGEWARD_BATCH_LANDING"],
        kind: Kind::Choice(&["push", "merge-api"]),
        default: Some("push"),
        help: "batch mode: push = fast-forward the base to the tested commit (the bot's account must be allowed to push to the protected base); merge-api = merge each PR through the API in batch order, then check the base's tree is the tested tree",
    },
    KeyDef {
        key: "queue.git_remote",
        flag: None,
        envs: &["MERGEWARD_GIT_REMOTE"],
        kind: Kind::Str,
        default: None,
        help: "batch mode: the git URL staging commits are built from and pushed to (default: the repository's clone_url from the forge); never with credentials in it, the token is sent as a header",
    },
    KeyDef {
        key: "queue.git_program",
        flag: None,
        envs: &["MERGEWARD_GIT"],
        kind: Kind::Str,
        default: Some("git"),
        help: "batch mode: the git program (found on PATH, or a path)",
    },
    KeyDef {
        key: "queue.git_timeout_secs",
        flag: None,
        envs: &["MERGEWARD_GIT_TIMEOUT_SECS"],
        kind: Kind::Int(86_400),
        default: Some("600"),
        help: "batch mode: the longest one git command may run before it is killed",
    },
    KeyDef {
        key: "queue.git_auth",
        flag: None,
        envs: &["MERGEWARD_GIT_AUTH"],
        kind: Kind::Choice(&["basic", "token", "bearer"]),
        default: Some("basic"),
        help: "batch mode: how git sends the token (basic = Basic x-access-token:TOKEN, what GitHub expects and Gitea/Forgejo accept; token; bearer)",
    },
    KeyDef {
        key: "queue.git_committer",
        flag: None,
        envs: &["MERGEWARD_GIT_COMMITTER"],
        kind: Kind::Str,
        default: Some("mergeward <mergeward@localhost>"),
        help: "batch mode: author and committer of staging merge commits, as `Name <email>`",
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
        default: Some(DEFAULT_PUSH_SUFFIX),
        help: "reap: description of a compensation for a workflow without a push trigger",
    },
    KeyDef {
        key: "reaper.description_pr_shadow",
        flag: None,
        envs: &["MERGEWARD_REAPER_DESCRIPTION_PR_SHADOW"],
        kind: Kind::Str,
        default: Some(DEFAULT_PR_SHADOW),
        help: "reap: description of a compensation for a pull_request context whose push twin succeeded",
    },
    KeyDef {
        key: "reaper.description_cancelled",
        flag: None,
        envs: &["MERGEWARD_REAPER_DESCRIPTION_CANCELLED"],
        kind: Kind::Str,
        default: Some(DEFAULT_CANCELLED),
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

/// Defaults that depend on the forge, for keys whose `default` is `None` and whose help
/// names them: (key, on GitHub, on Gitea/Forgejo).
pub const PER_FORGE_DEFAULTS: &[(&str, Option<&str>, Option<&str>)] = &[
    ("forge.url", Some("https://api.github.com"), None),
    // GitHub's secondary limit is 900 requests a minute per endpoint; Gitea and Forgejo
    // have no API rate limiter.
    ("forge.rate_limit_per_second", Some("15"), Some("500")),
    ("forge.page_size", Some("100"), Some("50")),
];

/// The definition of a key.
pub fn def(key: &str) -> Option<&'static KeyDef> {
    KEYS.iter().find(|d| d.key == key)
}

/// The default of a key as written in the table (`None`: no default, or no such key).
pub fn default_of(key: &str) -> Option<&'static str> {
    def(key).and_then(|d| d.default)
}

/// The per-forge default of a key (see [`PER_FORGE_DEFAULTS`]).
pub fn per_forge_default(key: &str, github: bool) -> Option<&'static str> {
    PER_FORGE_DEFAULTS
        .iter()
        .find(|(k, _, _)| *k == key)
        .and_then(|(_, gh, other)| if github { *gh } else { *other })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(rel: &str) -> String {
        let path = format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The cells of a Markdown table row, trimmed (a `|` inside the last cell splits it
    /// further; only the leading cells are compared).
    fn cells(row: &str) -> Vec<&str> {
        row.trim()
            .trim_start_matches('|')
            .trim_end_matches('|')
            .split('|')
            .map(str::trim)
            .collect()
    }

    fn ticked(v: &str) -> String {
        format!("`{v}`")
    }

    /// SPEC.md §2's configuration table says what the key table says: the same keys in
    /// the same order, each with its flag, environment names and default.
    #[test]
    fn spec_configuration_table_agrees_with_the_key_table() {
        let spec = read("SPEC.md");
        let header = "| key | flag | environment | default | meaning |\n|---|---|---|---|---|\n";
        let start = spec
            .find(header)
            .expect("SPEC.md §2 has the configuration table")
            + header.len();
        let rows: Vec<Vec<&str>> = spec[start..]
            .lines()
            .take_while(|l| l.starts_with('|'))
            .map(cells)
            .collect();
        let spec_keys: Vec<&str> = rows.iter().map(|r| r[0].trim_matches('`')).collect();
        let table_keys: Vec<&str> = KEYS.iter().map(|d| d.key).collect();
        assert_eq!(
            spec_keys, table_keys,
            "SPEC.md §2 lists other keys, or in another order"
        );
        for (row, d) in rows.iter().zip(KEYS) {
            assert_eq!(
                row[1],
                d.flag.map(ticked).unwrap_or_default(),
                "{}: flag",
                d.key
            );
            let envs: Vec<String> = d.envs.iter().map(|e| ticked(e)).collect();
            assert_eq!(row[2], envs.join(", "), "{}: environment names", d.key);
            let default = match d.default {
                None => String::new(),
                Some("") => "empty".to_string(),
                Some(v) => ticked(v),
            };
            assert_eq!(row[3], default, "{}: default", d.key);
        }
    }

    /// docs/reaper.md repeats the reaper's defaults: they agree with the key table.
    #[test]
    fn reaper_doc_defaults_agree_with_the_key_table() {
        let doc = read("docs/reaper.md");
        let mut checked = 0;
        for row in doc.lines().filter(|l| l.starts_with("| `reaper.")) {
            let c = cells(row);
            let Some(d) = def(c[0].trim_matches('`')) else {
                continue;
            };
            let Some(default) = d.default else {
                continue;
            };
            let documented = match c.len() {
                // | key | default |
                2 => c[1].trim_end_matches("(verbatim)").trim().trim_matches('`'),
                // | key | flag | environment | default |
                _ => c[3],
            };
            assert_eq!(documented, default, "docs/reaper.md: {}", d.key);
            checked += 1;
        }
        assert_eq!(checked, 5, "limit, concurrency and the three descriptions");
    }
}
