//! `mergeward forge check`: a read-only diagnostic of the forge, the token and the branch.

use serde::Serialize;
use serde_json::json;

use super::{Format, GlobalArgs, load_config, print_json};
use crate::config::Config;
use crate::error::{Error, ExitCode, Result};
use crate::forge::{
    self, ApiCounts, Capabilities, Forge, ForgeError, ForgeKind, Identity, Protection, RepoInfo,
    Sha,
};
use crate::report::RunReport;

/// A permission the token evidently lacks.
#[derive(Debug, Serialize)]
pub(super) struct MissingPermission {
    pub permission: String,
    pub needed_for: String,
    /// Whether mergeward's main job cannot work without it.
    pub blocking: bool,
}

/// One of the queue's labels.
#[derive(Debug, Serialize)]
pub(super) struct LabelCheck {
    pub name: String,
    /// `hold` or `queue`.
    pub role: &'static str,
    pub exists: bool,
    /// Created by `--fix` in this run.
    pub created: bool,
    /// Why `--fix` could not create it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_error: Option<String>,
}

/// Who posted what matches one required context on the branch head.
#[derive(Debug, Serialize)]
pub(super) struct ContextPosters {
    pub required: String,
    pub posted: Vec<Poster>,
}

#[derive(Debug, Serialize)]
pub(super) struct Poster {
    pub context: String,
    pub state: String,
    /// Login of the poster (commit statuses); `None` for check runs or when not reported.
    pub creator: Option<String>,
    /// Whether `queue.trusted_status_creators` lets this poster turn the context green.
    pub trusted: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    forge: ForgeKind,
    url: String,
    repo: String,
    branch: String,
    token_source: String,
    capabilities: Capabilities,
    identity: Option<Identity>,
    repository: Option<RepoInfo>,
    branch_head: Sha,
    protection: Protection,
    /// Why no approval is needed, when none is.
    approvals_note: Option<String>,
    required_context_posters: Vec<ContextPosters>,
    labels: Vec<LabelCheck>,
    open_pull_requests: usize,
    missing_permissions: Vec<MissingPermission>,
    api: ApiCounts,
}

/// Wraps a forge error with what was being read and, for auth failures, where the token
/// came from (never its value).
fn ctx(cfg: &Config, what: &str, err: ForgeError) -> Error {
    let not_github = cfg.forge_kind() == ForgeKind::GitHub
        && err.is_not_found()
        && what == "read the server version";
    let hint = match err.exit_code() {
        _ if not_github => Some(
            "this server does not look like GitHub (it answered 404 to GET /rate_limit, which every GitHub API serves); for Gitea or Forgejo, try --forge gitea".into(),
        ),
        ExitCode::Auth | ExitCode::NotFound if cfg.token.is_none() => Some(
            "no token: set MERGEWARD_TOKEN (or GITEA_TOKEN / GITHUB_TOKEN), or pass --token-file PATH; the forge answered as to an anonymous visitor".into(),
        ),
        ExitCode::Auth if err.is_rejected_token() => Some(format!(
            "the forge rejected the token from {}; check that it is valid, not expired, and meant for this server",
            cfg.token_source()
        )),
        ExitCode::Auth => Some(format!(
            "the token from {} lacks a permission needed to {what}",
            cfg.token_source()
        )),
        ExitCode::NotFound => Some(
            "check --repo and --branch (a private repository looks absent to a token that cannot read it)".into(),
        ),
        ExitCode::CouldNotDecide => Some("the forge could not be read reliably; try again, or raise -v for details".into()),
        _ => None,
    };
    Error::ForgeCtx {
        context: format!("forge check: could not {what}"),
        err: Box::new(err),
        hint,
    }
}

pub(super) async fn check(
    global: &GlobalArgs,
    format: Format,
    fix: bool,
    run: &mut RunReport,
) -> Result<ExitCode> {
    let cfg = load_config(global)?;
    run.forge = Some(cfg.forge_kind().to_string());
    run.repo = cfg.str("forge.repo").map(str::to_string);
    run.branch = Some(cfg.branch().to_string());
    let target = cfg.target()?;
    let f = forge::connect(&target, cfg.http_settings(&target))?;
    let result = gather(&cfg, &target, &f, format, fix).await;
    run.api = f.counts();
    run.outcome = Some(
        match &result {
            Ok(ExitCode::Success) => "checked",
            Ok(ExitCode::Usage) => "labels_missing",
            Ok(_) => "permissions_missing",
            Err(_) => "failed",
        }
        .into(),
    );
    result
}

async fn gather(
    cfg: &Config,
    target: &forge::ForgeTarget,
    f: &forge::AnyForge,
    format: Format,
    fix: bool,
) -> Result<ExitCode> {
    let branch = cfg.branch().to_string();

    let capabilities = f
        .capabilities()
        .await
        .map_err(|e| ctx(cfg, "read the server version", e))?;
    let identity = f
        .identity()
        .await
        .map_err(|e| ctx(cfg, "read the authenticated user", e))?;
    let repository = f
        .repository()
        .await
        .map_err(|e| ctx(cfg, &format!("read repository {}", target.repo), e))?;
    let branch_head = f
        .branch_head(&branch)
        .await
        .map_err(|e| ctx(cfg, &format!("read branch {branch}"), e))?;
    let protection = f
        .protection(&branch)
        .await
        .map_err(|e| ctx(cfg, &format!("read the protection of {branch}"), e))?;
    let open = f
        .open_pulls()
        .await
        .map_err(|e| ctx(cfg, "list open pull requests", e))?;

    let settings = crate::config::settings::queue(cfg)?;
    let (_, approvals_note) = crate::queue::tick::required_approvals(&protection, &settings);
    let head_statuses = f
        .statuses(&branch_head)
        .await
        .map_err(|e| ctx(cfg, &format!("read the statuses of {branch}'s head"), e))?;
    let required_context_posters = posters(&protection, &settings, &head_statuses);
    let labels = check_labels(cfg, f, &settings, fix).await?;

    let missing = missing_permissions(cfg, &capabilities, repository.as_ref(), &protection);
    let blocking = missing.iter().any(|m| m.blocking);
    let hold_missing = labels.iter().any(|l| l.role == "hold" && !l.exists);
    let configured = cfg.forge_kind();
    let report = Report {
        forge: configured,
        url: target.url.to_string(),
        repo: target.repo.to_string(),
        branch,
        token_source: cfg.token_source(),
        capabilities,
        identity,
        repository,
        branch_head,
        protection,
        approvals_note,
        required_context_posters,
        labels,
        open_pull_requests: open.len(),
        missing_permissions: missing,
        api: f.counts(),
    };
    let exit = if blocking {
        ExitCode::Auth
    } else if hold_missing {
        ExitCode::Usage
    } else {
        ExitCode::Success
    };
    match format {
        Format::Json | Format::Jsonl | Format::Sarif => {
            let mut v = serde_json::to_value(&report)
                .map_err(|e| Error::Internal(format!("cannot render the report: {e}")))?;
            v["exit_code"] = json!(exit.code());
            v["exit_label"] = json!(exit.label());
            print_json(&v)?;
        }
        Format::Text | Format::Github | Format::Markdown | Format::Html => {
            print_text(&report, exit)
        }
    }
    Ok(exit)
}

/// For each required context on the branch head: what matches it and who posted it.
fn posters(
    p: &Protection,
    s: &crate::queue::tick::QueueSettings,
    st: &crate::forge::CommitStatuses,
) -> Vec<ContextPosters> {
    let trusted = |c: Option<&str>| {
        s.trusted_status_creators.is_empty()
            || c.is_some_and(|c| {
                s.trusted_status_creators
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(c))
            })
    };
    p.required_contexts
        .iter()
        .map(|pattern| {
            let glob = globset::Glob::new(pattern)
                .ok()
                .map(|g| g.compile_matcher());
            let posted = st
                .latest
                .iter()
                .filter(|(name, _)| {
                    name.0 == *pattern || glob.as_ref().is_some_and(|g| g.is_match(&name.0))
                })
                .map(|(name, r)| Poster {
                    context: name.0.clone(),
                    state: r.state.as_str().to_string(),
                    creator: r.creator.clone(),
                    trusted: r.kind == crate::forge::ReportKind::CheckRun
                        || trusted(r.creator.as_deref()),
                })
                .collect();
            ContextPosters {
                required: pattern.clone(),
                posted,
            }
        })
        .collect()
}

/// Whether the hold and queue labels exist; with `fix`, creates the missing ones.
async fn check_labels(
    cfg: &Config,
    f: &forge::AnyForge,
    s: &crate::queue::tick::QueueSettings,
    fix: bool,
) -> Result<Vec<LabelCheck>> {
    let existing = f
        .labels()
        .await
        .map_err(|e| ctx(cfg, "list the repository's labels", e))?;
    let mut out = Vec::new();
    for (name, role, color, description) in [
        (
            &s.hold_label,
            "hold",
            "e11d21",
            "mergeward: held out of the merge queue; remove to requeue",
        ),
        (
            &s.queue_label,
            "queue",
            "0e8a16",
            "mergeward: queued for merging (when auto-discover is off)",
        ),
    ] {
        let exists = existing.iter().any(|l| l.name.0 == *name);
        let mut check = LabelCheck {
            name: name.clone(),
            role,
            exists,
            created: false,
            fix_error: None,
        };
        if !exists && fix {
            match f.create_label(name, color, description).await {
                Ok(()) => {
                    check.exists = true;
                    check.created = true;
                }
                Err(e) => check.fix_error = Some(e.to_string()),
            }
        }
        out.push(check);
    }
    Ok(out)
}

fn missing_permissions(
    cfg: &Config,
    caps: &Capabilities,
    repo: Option<&RepoInfo>,
    protection: &Protection,
) -> Vec<MissingPermission> {
    let mut out = Vec::new();
    if cfg.token.is_none() {
        out.push(MissingPermission {
            permission: "a token".into(),
            needed_for: "every write (merge, update, label, comment, status) and reads of private repositories".into(),
            blocking: true,
        });
    }
    if let Some(p) = repo.and_then(|r| r.permissions) {
        if !p.push {
            out.push(MissingPermission {
                permission: "write (push) on the repository".into(),
                needed_for:
                    "merging, updating branches, labelling, commenting and posting statuses".into(),
                blocking: true,
            });
        }
        if !p.admin && matches!(caps.kind, ForgeKind::Gitea | ForgeKind::Forgejo) {
            out.push(MissingPermission {
                permission: "repository admin".into(),
                needed_for: "reading the full branch protection rule (GET /branch_protections: review flags); required contexts and approvals are read from the branch instead".into(),
                blocking: false,
            });
        }
    }
    if protection.bot_can_merge == Some(false) {
        out.push(MissingPermission {
            permission: format!(
                "merging into {} (the forge reports user_can_merge=false: the protection's merge whitelist leaves the bot out, or it lacks write access)",
                protection.branch
            ),
            needed_for: "every queue merge; add the bot's account (or a team it is in) to the merge whitelist".into(),
            blocking: true,
        });
    }
    let batch_push = cfg.str("queue.mode") == Some("batch")
        && cfg.str("queue.batch_landing").unwrap_or("push") == "push";
    match protection.bot_can_push {
        Some(false) => out.push(MissingPermission {
            permission: format!(
                "pushing to {} (the forge reports user_can_push=false)",
                protection.branch
            ),
            needed_for: if batch_push {
                "batch mode's landing: the tested staging commit is pushed to the branch; enable push on the protection rule with the bot's account in its push allowlist, or set queue.batch_landing = \"merge-api\"".into()
            } else {
                "nothing the serial queue does; batch mode (queue.mode = \"batch\") lands by pushing the tested commit to the branch".into()
            },
            blocking: batch_push,
        }),
        None if batch_push => out.push(MissingPermission {
            permission: format!(
                "pushing to the protected {} (the forge does not say whether the token may)",
                protection.branch
            ),
            needed_for: "batch mode's landing: the token must be allowed to push to the protected branch (GitHub: an admin without enforce_admins, or listed in the protection's push restrictions or a ruleset's bypass list); a refused landing pushes nothing and says so".into(),
            blocking: false,
        }),
        _ => {}
    }
    for gap in &protection.gaps {
        if repo.and_then(|r| r.permissions).is_some_and(|p| !p.admin) {
            continue; // already reported above
        }
        out.push(MissingPermission {
            permission: match caps.kind {
                ForgeKind::GitHub => "administration:read".into(),
                _ => "repository admin".into(),
            },
            needed_for: gap.clone(),
            blocking: false,
        });
    }
    out
}

fn print_text(r: &Report, exit: ExitCode) {
    outln!(
        "forge        {} at {} ({})",
        r.capabilities.kind,
        r.url,
        r.capabilities.version
    );
    if r.capabilities.kind != r.forge {
        outln!(
            "             note: configured as {}, the server reports {}",
            r.forge,
            r.capabilities.kind
        );
    }
    if let Some((a, b, c)) = r.capabilities.gitea_api {
        outln!(
            "             Gitea API level {a}.{b}.{c}; job logs API: {}; skipped state: {}",
            yes(r.capabilities.job_logs_api),
            yes(r.capabilities.skipped_status_state)
        );
    }
    outln!("token        from {}", r.token_source);
    match &r.identity {
        Some(i) => outln!(
            "user         {}{}",
            i.login,
            if i.site_admin { " (site admin)" } else { "" }
        ),
        None => outln!("user         not reported by {}", r.capabilities.kind),
    }
    match &r.repository {
        Some(repo) => {
            let perms = repo
                .permissions
                .map(|p| format!("admin={} push={} pull={}", p.admin, p.push, p.pull))
                .unwrap_or_else(|| "unknown".into());
            outln!(
                "repository   {} (default branch {}; permissions {perms})",
                repo.full_name,
                repo.default_branch
            );
        }
        None => outln!("repository   {}", r.repo),
    }
    outln!("branch       {} at {}", r.branch, r.branch_head);
    let p = &r.protection;
    if !p.protected {
        outln!("protection   none");
    } else {
        outln!(
            "protection   status checks {}",
            if p.status_checks_enabled {
                "enabled"
            } else {
                "disabled"
            }
        );
        if p.status_checks_enabled && p.required_contexts.is_empty() {
            outln!(
                "             required contexts: none listed (Gitea then requires every posted status)"
            );
        }
        for c in &p.required_contexts {
            outln!("             required context: {c}");
        }
        match p.required_approvals {
            Some(n) => outln!("             required approvals: {n}"),
            None => outln!("             required approvals: unknown"),
        }
        if let Some(g) = &p.github {
            for pin in &g.pins {
                outln!(
                    "             {} pinned to app {} ({})",
                    pin.context,
                    pin.app_id,
                    pin.source
                );
            }
            if let Some(mq) = &g.merge_queue {
                outln!(
                    "             merge_queue rule ({mq}): GitHub's merge queue only; mergeward cannot merge here"
                );
            }
            if let Some(m) = &g.allowed_merge_methods {
                outln!("             allowed merge methods: {}", m.join(", "));
            }
            for u in &g.unmodelled {
                outln!("             left to GitHub's mergeable_state: {u}");
            }
            for n in &g.notes {
                outln!("             note: {n}");
            }
        }
    }
    if let Some(n) = &r.approvals_note {
        outln!("             note: {n}");
    }
    for c in &r.required_context_posters {
        if c.posted.is_empty() {
            outln!("             {} on the head: not posted", c.required);
        }
        for p in &c.posted {
            outln!(
                "             {} on the head: {} by {}{}",
                p.context,
                p.state,
                p.creator
                    .as_deref()
                    .unwrap_or("(no login: check run or not reported)"),
                if p.trusted {
                    ""
                } else {
                    " — NOT in queue.trusted_status_creators"
                }
            );
        }
    }
    for l in &r.labels {
        match (l.exists, l.created, &l.fix_error) {
            (true, true, _) => outln!("label        {} ({}): created by --fix", l.name, l.role),
            (true, false, _) => outln!("label        {} ({}): exists", l.name, l.role),
            (false, _, Some(e)) => outln!(
                "MISSING     label {} ({}): --fix could not create it: {e}",
                l.name,
                l.role
            ),
            (false, _, None) => outln!(
                "{} label {} ({}): does not exist; create it or run `mergeward forge check --fix`",
                if l.role == "hold" {
                    "MISSING    "
                } else {
                    "note       "
                },
                l.name,
                l.role
            ),
        }
    }
    outln!("open PRs     {}", r.open_pull_requests);
    for m in &r.missing_permissions {
        outln!(
            "{} {}: needed for {}",
            if m.blocking {
                "MISSING    "
            } else {
                "note       "
            },
            m.permission,
            m.needed_for
        );
    }
    outln!(
        "api          {} requests, {} pages, {} retries",
        r.api.requests,
        r.api.pages,
        r.api.retries
    );
    outln!("result       {exit}");
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
