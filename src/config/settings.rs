//! Every command's typed settings, built in one place from a resolved [`Config`]: the queue
//! ([`QueueSettings`]), the status reaper ([`ReapSettings`] and its HTTP overrides), the gate
//! lint ([`GateSettings`]), gate flips ([`VerifyOptions`]) and the run lease.
//!
//! Defaults come only from the key table: a key the settings need is always resolved (from
//! its default when nothing else sets it), so a missing or unparseable default is a defect
//! — an [`Error::Internal`] here, a resolution error in [`Config::defaults`], and a failing
//! unit test below, which builds every settings struct from the defaults alone.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::Config;
use super::keys;
use super::layers::split_list;
use crate::error::{Error, Result, did_you_mean};
use crate::forge::{ForgeTarget, HttpSettings, MergeMethod, UpdateStyle};
use crate::gates::flips::VerifyOptions;
use crate::gates::{GateSettings, Severity};
use crate::queue::batch::BatchSettings;
use crate::queue::settings::{BatchConfig, BatchLanding, QueueMode, QueueSettings};
use crate::queue::staging::git::{GitAuth, GitSettings, Identity};
use crate::reaper::{Descriptions, ReapSettings};

/// A key the settings need has no value: its default is missing from the key table.
fn defect(key: &str, what: &str) -> Error {
    Error::Internal(format!(
        "configuration key {key} has no {what} value: the key table gives it no usable default"
    ))
}

fn int(cfg: &Config, key: &str) -> Result<u64> {
    cfg.int(key).ok_or_else(|| defect(key, "integer"))
}

fn flag(cfg: &Config, key: &str) -> Result<bool> {
    cfg.bool(key).ok_or_else(|| defect(key, "boolean"))
}

fn word<'a>(cfg: &'a Config, key: &str) -> Result<&'a str> {
    cfg.str(key).ok_or_else(|| defect(key, "string"))
}

fn list(cfg: &Config, key: &str) -> Result<Vec<String>> {
    match cfg.get(key) {
        Some(_) => Ok(cfg.list(key)),
        None => Err(defect(key, "list")),
    }
}

/// A choice key's word mapped to its type; a word outside the table's choices is a defect.
fn choice<T>(cfg: &Config, key: &str, map: &[(&str, T)]) -> Result<T>
where
    T: Copy,
{
    let w = word(cfg, key)?;
    map.iter()
        .find(|(k, _)| *k == w)
        .map(|(_, v)| *v)
        .ok_or_else(|| Error::Internal(format!("configuration key {key}: {w:?} is not mapped")))
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The queue's settings (`queue.*`, `forge.branch`).
pub fn queue(cfg: &Config) -> Result<QueueSettings> {
    // An explicitly empty list in the file means the default here: no state would count.
    let mut green_states = list(cfg, "queue.green_states")?;
    if green_states.is_empty() {
        green_states = split_list(keys::default_of("queue.green_states").unwrap_or_default());
    }
    Ok(QueueSettings {
        branch: cfg.branch().to_string(),
        queue_label: word(cfg, "queue.queue_label")?.to_string(),
        hold_label: word(cfg, "queue.hold_label")?.to_string(),
        auto_discover: flag(cfg, "queue.auto_discover")?,
        opt_out_labels: list(cfg, "queue.opt_out_labels")?,
        reviewers: list(cfg, "queue.reviewers")?,
        required_approvals_fallback: to_u32(int(cfg, "queue.required_approvals")?),
        min_approvals: to_u32(int(cfg, "queue.min_approvals")?),
        trusted_status_creators: list(cfg, "queue.trusted_status_creators")?,
        push_required_contexts: list(cfg, "queue.push_required_contexts")?,
        update_style: choice(
            cfg,
            "queue.update_style",
            &[
                ("merge", UpdateStyle::Merge),
                ("rebase", UpdateStyle::Rebase),
            ],
        )?,
        merge_method: choice(
            cfg,
            "queue.merge_method",
            &[
                ("merge", MergeMethod::Merge),
                ("rebase", MergeMethod::Rebase),
                ("rebase-merge", MergeMethod::RebaseMerge),
                ("squash", MergeMethod::Squash),
                ("fast-forward-only", MergeMethod::FastForwardOnly),
            ],
        )?,
        allow_force_merge: flag(cfg, "queue.allow_force_merge")?,
        request_changes_from_anyone_blocks: choice(
            cfg,
            "queue.request_changes_block",
            &[("anyone", true), ("roster", false)],
        )?,
        green_states,
        allow_no_required_contexts: flag(cfg, "queue.allow_no_required_contexts")?,
        post_status: flag(cfg, "queue.post_status")?,
        window: to_usize(int(cfg, "queue.concurrency")?).max(1),
        stale_pending: match int(cfg, "queue.stale_pending_hours")? {
            0 => None,
            h => i64::try_from(h).ok().map(chrono::Duration::hours),
        },
        mode: choice(
            cfg,
            "queue.mode",
            &[("serial", QueueMode::Serial), ("batch", QueueMode::Batch)],
        )?,
        batch: batch_config(cfg)?,
    })
}

/// Batch mode's settings. Checked whatever the mode, so a mistake shows before it is used.
fn batch_config(cfg: &Config) -> Result<BatchConfig> {
    let branch = cfg.branch();
    let staging_branch = word(cfg, "queue.staging_branch")?.replace("{branch}", branch);
    if staging_branch.trim().is_empty() || staging_branch == branch {
        return Err(Error::usage_hint(
            format!("queue.staging_branch {staging_branch:?} is empty or the base branch itself"),
            "use a branch of mergeward's own (default mergeward/staging/{branch}): the staging commit is force-pushed there",
        ));
    }
    let committer = word(cfg, "queue.git_committer")?;
    let identity = parse_identity(committer).ok_or_else(|| {
        Error::usage_hint(
            format!("queue.git_committer {committer:?} is not `Name <email>`"),
            "write it as e.g. `mergeward <mergeward@example.com>`",
        )
    })?;
    let remote = cfg
        .str("queue.git_remote")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    Ok(BatchConfig {
        batch: BatchSettings {
            size: to_usize(int(cfg, "queue.batch_size")?).max(1),
            bisect_max_steps: to_u32(int(cfg, "queue.bisect_max_steps")?),
            adaptive: flag(cfg, "queue.batch_adaptive")?,
        },
        staging_branch,
        staging_contexts: list(cfg, "queue.staging_contexts")?,
        landing: choice(
            cfg,
            "queue.batch_landing",
            &[
                ("push", BatchLanding::Push),
                ("merge-api", BatchLanding::MergeApi),
            ],
        )?,
        git_remote: remote,
        git: GitSettings {
            program: std::path::PathBuf::from(word(cfg, "queue.git_program")?),
            timeout: Duration::from_secs(int(cfg, "queue.git_timeout_secs")?.max(1)),
            identity,
            auth: choice(
                cfg,
                "queue.git_auth",
                &[
                    ("basic", GitAuth::Basic),
                    ("token", GitAuth::Token),
                    ("bearer", GitAuth::Bearer),
                ],
            )?,
            extra_config: Vec::new(),
        },
    })
}

/// `Name <email>` → the identity; `None` when it is not of that shape.
fn parse_identity(s: &str) -> Option<Identity> {
    let (name, rest) = s.trim().split_once('<')?;
    let email = rest.strip_suffix('>')?.trim();
    let name = name.trim();
    let bad = |t: &str| t.is_empty() || t.contains(['<', '>', '\n', '\r']);
    if bad(name) || bad(email) {
        return None;
    }
    Some(Identity {
        name: name.to_string(),
        email: email.to_string(),
    })
}

/// The queue's settings for `branch` from the key table's defaults alone.
pub fn queue_from_defaults(branch: &str) -> Result<QueueSettings> {
    let mut s = queue(&Config::defaults()?)?;
    s.branch = branch.to_string();
    Ok(s)
}

/// The default queue settings for `branch` (tests and benchmarks start here; the sandbox
/// uses [`queue_from_defaults`]).
///
/// # Panics
/// Only on a defect of the key table, which `settings::tests` catches.
#[allow(clippy::expect_used)] // static data; `settings::tests` proves it builds
pub fn queue_defaults(branch: &str) -> QueueSettings {
    queue_from_defaults(branch).expect("the key table's defaults build the queue settings")
}

/// The reaper's settings (`reaper.*`, `forge.branch`); `limit` is the `--limit` flag, which
/// wins over `reaper.limit`.
pub fn reap(cfg: &Config, limit: Option<u64>, dry_run: bool) -> Result<ReapSettings> {
    let limit = match limit {
        Some(n) => n,
        None => int(cfg, "reaper.limit")?,
    };
    Ok(ReapSettings {
        branch: cfg.branch().to_string(),
        limit: to_usize(limit).max(1),
        dry_run,
        descriptions: Descriptions {
            push_suffix: word(cfg, "reaper.description_push_suffix")?.to_string(),
            pr_shadow: word(cfg, "reaper.description_pr_shadow")?.to_string(),
            cancelled: word(cfg, "reaper.description_cancelled")?.to_string(),
        },
        concurrency: to_usize(int(cfg, "reaper.concurrency")?).max(1),
    })
}

/// The default reaper settings for `branch` (not a dry run).
///
/// # Panics
/// Only on a defect of the key table, which `settings::tests` catches.
#[allow(clippy::expect_used)] // static data; `settings::tests` proves it builds
pub fn reap_defaults(branch: &str) -> ReapSettings {
    Config::defaults()
        .and_then(|c| reap(&c, None, false))
        .map(|mut s| {
            s.branch = branch.to_string();
            s
        })
        .expect("the key table's defaults build the reaper settings")
}

/// The reaper's HTTP client: the forge's, with `reaper.api_timeout_secs` and
/// `reaper.api_attempts` (the original's names) over the forge-wide timeout and retries.
pub fn reap_http(cfg: &Config, target: &ForgeTarget) -> HttpSettings {
    let mut http = cfg.http_settings(target);
    if let Some(n) = cfg.int("reaper.api_timeout_secs") {
        http.request_timeout = Duration::from_secs(n.max(1));
    }
    if let Some(n) = cfg.int("reaper.api_attempts") {
        http.max_retries = u32::try_from(n.max(1) - 1).unwrap_or(0);
    }
    http
}

/// How long a run's lock lasts (`ledger.lease_secs`, at least 30 s).
pub fn lease(cfg: &Config) -> Result<Duration> {
    Ok(Duration::from_secs(int(cfg, "ledger.lease_secs")?.max(30)))
}

/// `gate flips`' options (`gates.flips_*`, the reaper's descriptions, `forge.branch`);
/// `recent` and `allow_unproven_non_pr_blocking` are the flags. The PR head is the
/// caller's to set.
pub fn flips(
    cfg: &Config,
    recent: Option<u64>,
    allow_unproven_non_pr_blocking: bool,
) -> Result<VerifyOptions> {
    let recent = match recent {
        Some(n) => n,
        None => int(cfg, "gates.flips_recent")?,
    };
    if recent == 0 {
        return Err(Error::usage_hint(
            "gates.flips_recent is 0: no commit would be searched, so no flip could be verified",
            format!(
                "set it to 1 or more (default {})",
                keys::default_of("gates.flips_recent").unwrap_or_default()
            ),
        ));
    }
    Ok(VerifyOptions {
        branch: cfg.branch().to_string(),
        recent: to_usize(recent.min(100)),
        allow_unproven_non_pr_blocking: allow_unproven_non_pr_blocking
            || flag(cfg, "gates.flips_allow_unproven_non_pr_blocking")?,
        head: None,
        compensation_descriptions: [
            "reaper.description_push_suffix",
            "reaper.description_pr_shadow",
            "reaper.description_cancelled",
        ]
        .iter()
        .filter_map(|k| cfg.str(k).map(str::to_string))
        .collect(),
    })
}

fn bad(cfg: &Config, key: &str, message: String, hint: Option<String>) -> Error {
    super::config_err(key, cfg.source(key), message, hint)
}

fn check_rule_id(cfg: &Config, key: &str, id: &str) -> Result<()> {
    let ids = crate::gates::rules::ids();
    if ids.contains(&id) {
        return Ok(());
    }
    let hint = match did_you_mean(id, ids.iter().copied()) {
        Some(m) => format!("did you mean {m:?}? (rules: {})", ids.join(", ")),
        None => format!("rules: {}", ids.join(", ")),
    };
    Err(bad(cfg, key, format!("unknown rule {id:?}"), Some(hint)))
}

/// The gate lint's settings (`gates.*`), checked; errors name the key, its source and the
/// fix.
pub fn gates(cfg: &Config) -> Result<GateSettings> {
    let mut disabled = BTreeSet::new();
    for id in list(cfg, "gates.disable")? {
        check_rule_id(cfg, "gates.disable", &id)?;
        disabled.insert(id);
    }
    let mut severity = BTreeMap::new();
    for entry in list(cfg, "gates.severity")? {
        let Some((id, level)) = entry.split_once('=') else {
            return Err(bad(
                cfg,
                "gates.severity",
                format!("{entry:?} is not RULE=LEVEL"),
                Some("e.g. \"runs-on-pinned=warning\"; levels: error, warning, note".into()),
            ));
        };
        let id = id.trim();
        check_rule_id(cfg, "gates.severity", id)?;
        let Some(level) = Severity::parse(level) else {
            return Err(bad(
                cfg,
                "gates.severity",
                format!("{level:?} is not a severity"),
                Some("use error, warning or note".into()),
            ));
        };
        severity.insert(id.to_string(), level);
    }
    let runs_on_labels = list(cfg, "gates.runs_on_labels")?;
    if runs_on_labels.is_empty() {
        return Err(bad(
            cfg,
            "gates.runs_on_labels",
            "is empty: no job could ever satisfy runs-on-pinned".into(),
            Some("list at least one runner label, or disable the rule with gates.disable".into()),
        ));
    }
    let mut coe_trackers = BTreeMap::new();
    for entry in list(cfg, "gates.coe_trackers")? {
        let parsed = entry.split_once('=').and_then(|(p, r)| {
            let (p, r) = (p.trim(), r.trim());
            let ok_prefix = !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            let ok_repo = r
                .split_once('/')
                .is_some_and(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'));
            (ok_prefix && ok_repo).then(|| (p.to_string(), r.to_string()))
        });
        let Some((p, r)) = parsed else {
            return Err(bad(
                cfg,
                "gates.coe_trackers",
                format!("{entry:?} is not PREFIX=OWNER/REPO"),
                Some("e.g. \"mc=acme/core\" makes `mc#12` mean acme/core issue 12".into()),
            ));
        };
        coe_trackers.insert(p, r);
    }
    let context_events = list(cfg, "gates.context_events")?;
    if context_events.is_empty() {
        return Err(bad(
            cfg,
            "gates.context_events",
            "is empty: required contexts would be checked on no event".into(),
            Some("list the events the queue needs, e.g. \"pull_request\" (add \"push\" for a batch staging push)".into()),
        ));
    }
    if let Some(e) = context_events
        .iter()
        .find(|e| e.is_empty() || !e.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    {
        return Err(bad(
            cfg,
            "gates.context_events",
            format!("{e:?} is not an event name"),
            Some("use workflow event names such as pull_request or push".into()),
        ));
    }
    Ok(GateSettings {
        disabled,
        severity,
        runs_on_labels,
        coe_max_age_days: int(cfg, "gates.coe_max_age_days")?,
        coe_trackers,
        required_contexts: cfg
            .get("gates.required_contexts")
            .map(|_| cfg.list("gates.required_contexts")),
        gitea_version: cfg.str("gates.gitea_version").map(str::to_string),
        context_events,
        external_contexts: list(cfg, "gates.external_contexts")?,
    })
}

/// The default gate lint settings (every rule on, the key table's values).
///
/// # Panics
/// Only on a defect of the key table, which `settings::tests` catches.
#[allow(clippy::expect_used)] // static data; `settings::tests` proves it builds
pub fn gate_defaults() -> GateSettings {
    Config::defaults()
        .and_then(|c| gates(&c))
        .expect("the key table's defaults build the gate settings")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_of(key: &str) -> &'static str {
        keys::default_of(key).unwrap_or_else(|| panic!("{key} has no default"))
    }

    fn int_default(key: &str) -> u64 {
        default_of(key).parse().expect(key)
    }

    /// Every settings struct builds from the key table's defaults alone (no flags,
    /// environment or file), and a few values are the table's.
    #[test]
    fn every_settings_struct_builds_from_the_defaults_alone() {
        let cfg = Config::defaults().expect("every default parses as its key's type");
        for d in keys::KEYS {
            assert_eq!(
                cfg.get(d.key).is_some(),
                d.default.is_some(),
                "{} resolves from its default alone exactly when it has one",
                d.key
            );
        }

        let q = queue(&cfg).expect("queue settings");
        assert_eq!(q.branch, default_of("forge.branch"));
        assert_eq!(q.hold_label, default_of("queue.hold_label"));
        assert_eq!(q.queue_label, default_of("queue.queue_label"));
        assert_eq!(
            u64::from(q.required_approvals_fallback),
            int_default("queue.required_approvals")
        );
        assert_eq!(q.window as u64, int_default("queue.concurrency"));
        assert_eq!(
            q.opt_out_labels,
            split_list(default_of("queue.opt_out_labels"))
        );
        assert_eq!(q.green_states, split_list(default_of("queue.green_states")));
        assert_eq!(
            q.stale_pending,
            Some(chrono::Duration::hours(
                int_default("queue.stale_pending_hours") as i64
            ))
        );
        assert_eq!(q.auto_discover, default_of("queue.auto_discover") == "true");
        assert_eq!(q.post_status, default_of("queue.post_status") == "true");
        let q2 = queue_defaults("trunk");
        assert_eq!(q2.branch, "trunk");
        assert_eq!(q2.hold_label, q.hold_label);

        let r = reap(&cfg, None, false).expect("reaper settings");
        assert_eq!(r.limit as u64, int_default("reaper.limit"));
        assert_eq!(r.concurrency as u64, int_default("reaper.concurrency"));
        assert_eq!(r.descriptions.push_suffix, keys::DEFAULT_PUSH_SUFFIX);
        assert_eq!(r.descriptions.pr_shadow, keys::DEFAULT_PR_SHADOW);
        assert_eq!(r.descriptions.cancelled, keys::DEFAULT_CANCELLED);
        assert_eq!(reap(&cfg, Some(3), true).expect("flags").limit, 3);
        assert_eq!(reap_defaults("trunk").branch, "trunk");

        let g = gates(&cfg).expect("gate settings");
        assert_eq!(
            g.runs_on_labels,
            split_list(default_of("gates.runs_on_labels"))
        );
        assert_eq!(g.coe_max_age_days, int_default("gates.coe_max_age_days"));
        assert_eq!(
            g.context_events,
            split_list(default_of("gates.context_events"))
        );
        assert!(g.disabled.is_empty() && g.required_contexts.is_none());
        assert_eq!(gate_defaults().runs_on_labels, g.runs_on_labels);

        let f = flips(&cfg, None, false).expect("flips options");
        assert_eq!(f.recent as u64, int_default("gates.flips_recent"));
        assert!(!f.allow_unproven_non_pr_blocking);
        assert_eq!(f.compensation_descriptions.len(), 3);

        assert_eq!(
            lease(&cfg).expect("lease").as_secs(),
            int_default("ledger.lease_secs")
        );
        assert_eq!(cfg.ledger_url(), default_of("ledger.url"));
    }

    /// `gate flips` recognises the reaper's compensations by their prefix: every default
    /// description starts with it.
    #[test]
    fn reaper_defaults_carry_the_compensation_prefix() {
        for d in [
            keys::DEFAULT_PUSH_SUFFIX,
            keys::DEFAULT_PR_SHADOW,
            keys::DEFAULT_CANCELLED,
        ] {
            assert!(
                d.starts_with(crate::gates::flips::COMPENSATION_PREFIX),
                "{d}"
            );
        }
    }

    /// The forge client's own defaults (what the sandbox and tests use without a
    /// configuration) are the key table's.
    #[test]
    fn forge_client_defaults_agree_with_the_key_table() {
        for (kind, github) in [
            (crate::forge::ForgeKind::Gitea, false),
            (crate::forge::ForgeKind::GitHub, true),
        ] {
            let target = ForgeTarget {
                kind,
                url: url::Url::parse("https://git.example.com").expect("url"),
                repo: crate::forge::RepoSlug::parse("a/b").expect("repo"),
            };
            let plain = HttpSettings::new(target.api_base(), target.dialect());
            let cfg = Config::defaults().expect("defaults");
            let s = cfg.http_settings(&target);
            assert_eq!(
                plain.connect_timeout.as_secs(),
                int_default("forge.connect_timeout_secs")
            );
            assert_eq!(
                plain.request_timeout.as_secs(),
                int_default("forge.request_timeout_secs")
            );
            assert_eq!(
                u64::from(plain.max_retries),
                int_default("forge.max_retries")
            );
            assert_eq!(
                plain.retry_budget.as_secs(),
                int_default("forge.retry_budget_secs")
            );
            assert_eq!(u64::from(plain.page_cap), int_default("forge.page_cap"));
            let per_forge = |k: &str| {
                keys::per_forge_default(k, github)
                    .map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("{k}: {v:?}")))
            };
            assert_eq!(
                Some(u64::from(plain.page_size)),
                per_forge("forge.page_size")
            );
            assert_eq!(
                Some(u64::from(s.rate_per_second)),
                per_forge("forge.rate_limit_per_second")
            );
            // Each per-forge default is named in its key's help.
            for (key, gh, other) in keys::PER_FORGE_DEFAULTS {
                let help = keys::def(key).expect("a key of the table").help;
                for v in [gh, other].into_iter().flatten() {
                    assert!(help.contains(v), "{key}: help does not name {v}");
                }
            }
            let gh = Config::resolve(
                &super::super::FlagValues {
                    forge: Some("github".into()),
                    repo: Some("a/b".into()),
                    ..Default::default()
                },
                &BTreeMap::<String, String>::new(),
                std::path::Path::new("/nonexistent"),
            )
            .expect("resolve");
            assert_eq!(
                Some(
                    gh.target()
                        .expect("target")
                        .url
                        .as_str()
                        .trim_end_matches('/')
                ),
                keys::per_forge_default("forge.url", true)
            );
            assert_eq!(s.page_size, plain.page_size);
        }
    }

    /// The domains are below `config`: no source file of `queue`, `reaper` or `gates`
    /// imports it (their settings are built here).
    #[test]
    fn domains_do_not_import_config() {
        fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("read_dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("read");
                    for line in text.lines() {
                        let code = line.split("//").next().unwrap_or_default();
                        if code.contains("crate::config") || code.contains("super::config") {
                            found.push(format!("{}: {}", path.display(), line.trim()));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        for domain in ["queue", "reaper", "gates"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("src")
                .join(domain);
            walk(&dir, &mut found);
        }
        assert!(found.is_empty(), "{found:#?}");
    }

    /// The ledger's own default location (`Locator::default()`) is `ledger.url`'s default.
    #[test]
    fn ledger_default_path_is_the_key_tables() {
        assert_eq!(
            crate::ledger::Locator::DEFAULT_PATH,
            default_of("ledger.url")
        );
    }

    /// An explicitly empty `green_states` in the file means the default.
    #[test]
    fn empty_green_states_mean_the_default() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(".mergeward.toml"),
            "[queue]\ngreen_states = []\n",
        )
        .expect("write");
        let cfg = Config::resolve(
            &super::super::FlagValues::default(),
            &BTreeMap::<String, String>::new(),
            dir.path(),
        )
        .expect("resolve");
        assert_eq!(queue(&cfg).expect("queue").green_states, ["success"]);
    }
}
