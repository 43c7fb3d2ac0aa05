//! `mergeward reap`: the status reaper (see `docs/reaper.md`).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::locked::{LockSpec, locked_run};
use super::queue_cmd::{config_digest, open_ledger};
use super::{Format, GlobalArgs, load_config, print_json};
use crate::config::{self, Config};
use crate::error::{Error, ExitCode, Result};
use crate::forge::{self, AnyForge, Forge};
use crate::ledger::{Ledger, NewRun, RunState};
use crate::reaper::workflows;
use crate::reaper::{ReapReport, ReapSettings, Reaper};
use crate::report::{Progress, RunReport};

/// The command's own flags.
#[derive(Debug, Clone, Default)]
pub(super) struct ReapArgs {
    pub dry_run: bool,
    pub limit: Option<u64>,
    pub workflows_dir: Option<PathBuf>,
}

/// A lock of its own per repository and branch, so that a reap and a queue tick never make
/// each other exit "lock held"; two reaps of one branch do.
pub(super) fn lock_name(branch: &str) -> String {
    format!("reap:{branch}")
}

fn with_hint(cfg: &Config, e: Error) -> Error {
    match e {
        Error::Forge(err) => {
            let hint = match err.exit_code() {
                ExitCode::Auth if err.is_rejected_token() => Some(format!(
                    "the forge rejected the token from {}; check that it is valid and meant for this server",
                    cfg.token_source()
                )),
                ExitCode::Auth => Some(format!(
                    "the token from {} lacks a permission: the reaper reads commits and statuses and writes statuses (Gitea: repository write)",
                    cfg.token_source()
                )),
                ExitCode::NotFound => Some("check --repo and --branch".into()),
                _ => Some(
                    "nothing more was compensated; the next run retries (raise -v for details)"
                        .into(),
                ),
            };
            Error::ForgeCtx {
                context: "reap".into(),
                err,
                hint,
            }
        }
        other => other,
    }
}

fn connect(cfg: &Config, run: &mut RunReport) -> Result<AnyForge> {
    run.forge = Some(cfg.forge_kind().to_string());
    run.repo = cfg.str("forge.repo").map(str::to_string);
    run.branch = Some(cfg.branch().to_string());
    let target = cfg.target()?;
    Ok(forge::connect(
        &target,
        config::settings::reap_http(cfg, &target),
    )?)
}

pub(super) async fn run(
    global: &GlobalArgs,
    args: &ReapArgs,
    format: Format,
    progress: &Progress,
    run: &mut RunReport,
) -> Result<ExitCode> {
    let cfg = load_config(global)?;
    run.dry_run = args.dry_run;
    let settings = config::settings::reap(&cfg, args.limit, args.dry_run)?;
    // The local trigger map first: a name collision is a usage error before any request.
    let dir = args
        .workflows_dir
        .clone()
        .or_else(|| cfg.str("reaper.workflows_dir").map(PathBuf::from));
    let local = match &dir {
        Some(d) => Some(workflows::from_dir(d)?),
        None => None,
    };
    let f = connect(&cfg, run)?;
    let ledger = open_ledger(&cfg).await?;
    let result = locked_reap(&cfg, &f, &ledger, &settings, local, progress, run).await;
    ledger.close().await;
    let report = result.map_err(|e| with_hint(&cfg, e))?;
    let code = report.exit_code();
    render(&report, &settings, format, run, code)?;
    Ok(code)
}

async fn locked_reap(
    cfg: &Config,
    f: &AnyForge,
    ledger: &Ledger,
    settings: &ReapSettings,
    local: Option<workflows::TriggerMap>,
    progress: &Progress,
    run: &mut RunReport,
) -> Result<ReapReport> {
    let repo = f.repo().to_string();
    let mut new_run = NewRun::new("reap", cfg.forge_kind().as_str(), &repo, &settings.branch);
    new_run.dry_run = settings.dry_run;
    new_run.config_digest = config_digest(cfg);
    let lease = config::settings::lease(cfg)?;
    let name = lock_name(&settings.branch);
    let lock = LockSpec {
        repo: &repo,
        name: &name,
        lease,
    };
    let report = locked_run(
        ledger,
        lock,
        &new_run,
        run,
        |run_id| async move {
            let reaper = Reaper {
                forge: f,
                ledger,
                run_id: &run_id,
                settings,
                progress,
            };
            reaper.run(local).await
        },
        |result| match result {
            Ok(r) if r.exit_code() == ExitCode::Success => RunState::Completed,
            Ok(r)
                if r.compensations
                    .iter()
                    .any(|c| c.outcome == crate::report::EffectOutcome::Committed) =>
            {
                RunState::PartiallyCommitted
            }
            _ => RunState::Failed,
        },
    )
    .await;
    run.api = f.counts();
    let report = report?;
    run.actions = report.actions.clone();
    run.outcome = Some(report.outcome().into());
    Ok(report)
}

/// The summary as JSON: the original's counters at the top level (plus `branch`,
/// `dry_run`, `limit`), then what mergeward adds.
pub(super) fn report_json(r: &ReapReport, s: &ReapSettings) -> Value {
    let mut v = serde_json::to_value(&r.counters).unwrap_or_else(|_| json!({}));
    if let Value::Object(o) = &mut v {
        o.insert("branch".into(), json!(s.branch));
        o.insert("dry_run".into(), json!(s.dry_run));
        o.insert("limit".into(), json!(s.limit));
        o.insert("head".into(), json!(r.head));
        o.insert("workflows_source".into(), json!(r.workflows_source));
        o.insert("workflows".into(), json!(r.workflows));
        o.insert("push_triggered".into(), json!(r.push_triggered));
        o.insert("compensations".into(), json!(r.compensations));
        o.insert("notes".into(), json!(r.notes));
        o.insert("outcome".into(), json!(r.outcome()));
    }
    v
}

/// The human summary.
pub(super) fn report_text(r: &ReapReport, s: &ReapSettings) -> String {
    let c = &r.counters;
    let mut out = String::new();
    let mode = if s.dry_run { " (dry run)" } else { "" };
    out.push_str(&format!(
        "reap {}{mode}: head {}, {} commits swept of {} asked\n",
        s.branch,
        r.head
            .as_deref()
            .map_or("unknown", |h| &h[..h.len().min(10)]),
        c.scanned_shas,
        s.limit
    ));
    if let Some(src) = &r.workflows_source {
        out.push_str(&format!(
            "workflows: {} from {src} ({} push-triggered)\n",
            r.workflows, r.push_triggered
        ));
    }
    for n in &r.notes {
        out.push_str(&format!("{}: {}\n", n.level, n.message));
    }
    out.push_str(&format!(
        "compensated {} (cancelled push {}, pull_request shadowed by push {}, push-suffix {})\n",
        c.compensated,
        c.compensated_cancelled_push,
        c.compensated_pr_shadowed_by_push_success,
        c.compensated - c.compensated_cancelled_push - c.compensated_pr_shadowed_by_push_success
    ));
    out.push_str(&format!(
        "preserved: real push {}, cancelled on head {}, unknown workflow {}, pull_request without push success {}, non-failure {}, non-push suffix {}, unparseable {}\n",
        c.preserved_real_push,
        c.preserved_cancelled_on_head,
        c.preserved_unknown,
        c.preserved_pr_without_push_success,
        c.preserved_non_failure,
        c.preserved_non_push_suffix,
        c.preserved_unparseable
    ));
    out.push_str(&format!(
        "errors: status reads {}, compensations {}; already compensated {}",
        c.sha_api_errors, c.compensation_errors, c.already_compensated
    ));
    out
}

fn render(
    r: &ReapReport,
    s: &ReapSettings,
    format: Format,
    run: &RunReport,
    code: ExitCode,
) -> Result<()> {
    for n in &r.notes {
        crate::report::annotate(n.level, &n.message);
    }
    match format {
        Format::Text | Format::Github | Format::Markdown | Format::Html => {
            outln!(
                "{}\noutcome: {} (exit {})",
                report_text(r, s),
                r.outcome(),
                code.code()
            );
            Ok(())
        }
        Format::Json | Format::Jsonl | Format::Sarif => {
            let mut v = report_json(r, s);
            v["run_id"] = json!(run.ledger.as_ref().and_then(|l| l.run_id.clone()));
            v["exit_code"] = json!(code.code());
            v["exit_label"] = json!(code.label());
            print_json(&v)
        }
    }
}
