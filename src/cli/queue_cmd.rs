//! `mergeward queue tick` and `mergeward queue status`.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Format, GlobalArgs, load_config, print_json};
use crate::config::{self, Config};
use crate::error::{Error, ExitCode, Result};
use crate::forge::{self, AnyForge, Forge};
use crate::ledger::{EffectKind, Ledger, NewRun, RunState};
use crate::queue::policy::{Action, Decision};
use crate::queue::tick::{QueueSettings, Tick, TickOutcome, TickReport};
use crate::report::{EffectOutcome, Progress, RunReport};

use super::locked::{LockSpec, locked_run};
use super::queue_page::{self, History, QueuePage};

/// A digest of the effective configuration (values and sources; the token masked), so a
/// run records which configuration it ran with without storing it.
pub fn config_digest(cfg: &Config) -> String {
    use sha2::{Digest, Sha256};
    let text = serde_json::to_string(&cfg.shown()).unwrap_or_default();
    let d = Sha256::digest(text.as_bytes());
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Adds what to do to a bare forge error: where the token came from for auth failures.
pub fn with_hint(cfg: &Config, e: Error) -> Error {
    match e {
        Error::ForgeCtx { context, err, .. }
            if cfg.token.is_none()
                && matches!(err.exit_code(), ExitCode::Auth | ExitCode::NotFound) =>
        {
            Error::ForgeCtx {
                context,
                err,
                hint: Some(NO_TOKEN_HINT.into()),
            }
        }
        Error::Forge(err) => {
            let hint = match err.exit_code() {
                ExitCode::Auth | ExitCode::NotFound if cfg.token.is_none() => Some(NO_TOKEN_HINT.into()),
                ExitCode::NotFound if cfg.forge_kind() == crate::forge::ForgeKind::GitHub => Some(
                    "check --repo and --branch (a private repository looks absent to a token that cannot read it); if this server is not GitHub, try --forge gitea".into(),
                ),
                ExitCode::Auth if err.is_rejected_token() => Some(format!(
                    "the forge rejected the token from {}; check that it is valid and meant for this server",
                    cfg.token_source()
                )),
                ExitCode::Auth => Some(format!(
                    "the token from {} lacks a permission: the queue needs write access to the repository (merge, update, label, comment, status); run `mergeward forge check` to see what is missing",
                    cfg.token_source()
                )),
                ExitCode::NotFound => Some("check --repo and --branch (a private repository looks absent to a token that cannot read it)".into()),
                ExitCode::CouldNotDecide => Some("nothing was merged; the next tick retries (raise -v for details)".into()),
                _ => None,
            };
            Error::ForgeCtx {
                context: "queue".into(),
                err,
                hint,
            }
        }
        other => other,
    }
}

/// What to say when no token is configured and the forge refused or hid something.
pub const NO_TOKEN_HINT: &str = "no token: set MERGEWARD_TOKEN (or GITEA_TOKEN / GITHUB_TOKEN), or pass --token-file PATH; the forge answered as to an anonymous visitor";

/// Opens the ledger named by the configuration.
pub async fn open_ledger(cfg: &Config) -> Result<Ledger> {
    Ok(Ledger::open(cfg.ledger_url()).await?)
}

/// A tick under the lock, recorded as a run. Shared by `queue tick` and `sandbox`.
pub async fn locked_tick(
    f: &AnyForge,
    ledger: &Ledger,
    settings: &QueueSettings,
    new_run: NewRun,
    lease: Duration,
    progress: &Progress,
    run: &mut RunReport,
) -> Result<TickReport> {
    let repo = f.repo().to_string();
    let dry_run = new_run.dry_run;
    let lock = LockSpec {
        repo: &repo,
        name: &settings.branch,
        lease,
    };
    let counts_from = f;
    let report = locked_run(
        ledger,
        lock,
        &new_run,
        run,
        |run_id| async move {
            let tick = Tick {
                forge: f,
                ledger,
                run_id: &run_id,
                settings,
                dry_run,
                progress,
                record: true,
                status_only: false,
            };
            tick.run_configured().await
        },
        |result| match result {
            Ok(r) if r.exit_code() == ExitCode::Success => RunState::Completed,
            Ok(r)
                if r.actions
                    .iter()
                    .any(|a| a.outcome == EffectOutcome::Committed) =>
            {
                RunState::PartiallyCommitted
            }
            _ => RunState::Failed,
        },
    )
    .await;
    run.api = counts_from.counts();
    let mut report = report?;
    if let Err(e) = f.flush_cache() {
        report
            .notes
            .push(format!("the ETag cache could not be written: {e}"));
    }
    run.actions = report.actions.clone();
    run.outcome = Some(if dry_run {
        format!("dry_run_{}", report.outcome.word())
    } else {
        report.outcome.word().into()
    });
    Ok(report)
}

fn connect(cfg: &Config, run: &mut RunReport) -> Result<AnyForge> {
    run.forge = Some(cfg.forge_kind().to_string());
    run.repo = cfg.str("forge.repo").map(str::to_string);
    run.branch = Some(cfg.branch().to_string());
    let target = cfg.target()?;
    Ok(forge::connect(&target, cfg.http_settings(&target))?)
}

pub async fn tick(
    global: &GlobalArgs,
    dry_run: bool,
    format: Format,
    progress: &Progress,
    run: &mut RunReport,
) -> Result<ExitCode> {
    let cfg = load_config(global)?;
    run.dry_run = dry_run;
    let f = connect(&cfg, run)?;
    let ledger = open_ledger(&cfg).await?;
    let settings = config::settings::queue(&cfg)?;
    let mut new_run = NewRun::new(
        "queue tick",
        cfg.forge_kind().as_str(),
        &f.repo().to_string(),
        &settings.branch,
    );
    new_run.dry_run = dry_run;
    let lease = config::settings::lease(&cfg)?;
    let report = locked_tick(&f, &ledger, &settings, new_run, lease, progress, run).await;
    ledger.close().await;
    let report = report.map_err(|e| with_hint(&cfg, e))?;
    let code = report.exit_code();
    render(&report, format, run, code)?;
    Ok(code)
}

pub async fn status(
    global: &GlobalArgs,
    format: Format,
    progress: &Progress,
    run: &mut RunReport,
) -> Result<ExitCode> {
    let cfg = load_config(global)?;
    let f = connect(&cfg, run)?;
    // Read-only: evaluate with an in-memory ledger that records nothing.
    let ledger = Ledger::open("sqlite::memory:").await?;
    let settings = config::settings::queue(&cfg)?;
    let tick = Tick {
        forge: &f,
        ledger: &ledger,
        run_id: "status",
        settings: &settings,
        dry_run: true,
        progress,
        record: false,
        status_only: true,
    };
    let report = tick.run_configured().await;
    run.api = f.counts();
    let report = report.map_err(|e| with_hint(&cfg, e))?;
    run.outcome = Some("reported".into());
    let code = if report.unevaluated.is_empty() {
        ExitCode::Success
    } else {
        report.exit_code()
    };
    if matches!(format, Format::Markdown | Format::Html) {
        let repo = f.repo().to_string();
        let history = match history_ledger(&cfg).await {
            Some(l) => {
                let h = History::read(&l, &repo, &report, 20).await;
                l.close().await;
                match h {
                    Ok(h) => Some(h),
                    Err(e) => {
                        tracing::warn!(
                            "the queue page shows no history: the ledger could not be read: {e}"
                        );
                        None
                    }
                }
            }
            None => None,
        };
        let now = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
        let page = QueuePage::build(&report, &repo, &now, history);
        let text = if format == Format::Html {
            queue_page::html(&page)
        } else {
            queue_page::markdown(&page)
        };
        outln!("{}", text.trim_end());
        return Ok(code);
    }
    render(&report, format, run, code)?;
    Ok(code)
}

/// The configured ledger, for the queue page's history, only when it already exists (a
/// read-only command never creates one).
async fn history_ledger(cfg: &Config) -> Option<Ledger> {
    let url = cfg.ledger_url();
    let is_server = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    if !is_server && !std::path::Path::new(path).is_file() {
        return None;
    }
    match Ledger::open(url).await {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!("the queue page shows no history: {e}");
            None
        }
    }
}

/// Decisions as JSON.
pub fn report_json(r: &TickReport) -> Value {
    let decisions: Vec<Value> = r
        .decisions
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({
                "position": if d.action == crate::queue::policy::Action::Skip { Value::Null } else { json!(i + 1) },
                "pr": d.pr.0,
                "head": d.head.as_str(),
                "action": d.action.as_str(),
                "reason_code": d.reason.code(),
                "reason": d.reason.text(),
                "detail": d.reason,
                "held_reason": r.held.get(&d.pr.0),
            })
        })
        .collect();
    let mut v = json!({
        "outcome": r.outcome,
        "base_head": r.base_head,
        "required_contexts": r.required_contexts,
        "required_approvals": r.required_approvals,
        "decisions": decisions,
        "unevaluated": r.unevaluated,
        "not_evaluated": r.not_evaluated,
        "actions": r.actions,
        "notes": r.notes,
    });
    // Batch mode only (serial output unchanged).
    if !r.batches.is_empty() {
        v["batches"] = json!(r.batches);
    }
    v
}

/// What the table shows in the ACTION column for decision `d`: only the PR acted on shows
/// `merge` (or `update`); others that were also ready show `ready (next)`; a PR held this
/// tick or carrying the hold label shows `held`.
pub(super) fn action_label(r: &TickReport, d: &Decision, first_ready: Option<u64>) -> String {
    let subject = format!("pr:{}", d.pr.0);
    let did = |kind: EffectKind| {
        r.actions
            .iter()
            .any(|a| a.subject == subject && a.kind == kind && a.outcome.took_effect())
    };
    let held = r.held.contains_key(&d.pr.0)
        || r.actions.iter().any(|a| {
            a.subject == subject
                && a.kind == EffectKind::Label
                && a.outcome != EffectOutcome::Failed
        });
    match (&r.outcome, d.action) {
        _ if held => "held".into(),
        (TickOutcome::Merged { pr } | TickOutcome::Replayed { pr }, Action::Merge { .. })
            if *pr == d.pr.0 =>
        {
            "merge".into()
        }
        (TickOutcome::Deferred { pr }, Action::Merge { .. }) if *pr == d.pr.0 => "deferred".into(),
        (TickOutcome::Idle, Action::Merge { .. }) if first_ready == Some(d.pr.0) => {
            "merge next".into()
        }
        _ if did(EffectKind::Update) => "update".into(),
        (_, Action::Merge { .. }) => "ready (next)".into(),
        (_, Action::Update) => "behind".into(),
        (_, a) => a.as_str().into(),
    }
}

/// The decisions as an aligned table, with each candidate's queue position.
pub fn report_table(r: &TickReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<4} {:<6} {:<13} {:<26} {}\n",
        "POS", "PR", "ACTION", "REASON", "DETAIL"
    ));
    let first_ready = r
        .decisions
        .iter()
        .find(|d| matches!(d.action, Action::Merge { .. }))
        .map(|d| d.pr.0);
    let mut position = 0;
    for d in &r.decisions {
        let pos = if d.action == Action::Skip {
            "-".to_string()
        } else {
            position += 1;
            position.to_string()
        };
        let detail = match r.held.get(&d.pr.0) {
            Some(why) => format!("held: {why}"),
            None => d.reason.text(),
        };
        out.push_str(&format!(
            "{:<4} #{:<5} {:<13} {:<26} {}\n",
            pos,
            d.pr.0,
            action_label(r, d, first_ready),
            d.reason.code(),
            detail
        ));
    }
    for u in &r.unevaluated {
        out.push_str(&format!(
            "{:<4} #{:<5} {:<13} {:<26} {}\n",
            "?", u.pr, "-", "could_not_evaluate", u.error
        ));
    }
    if !r.not_evaluated.is_empty() {
        out.push_str(&format!(
            "(not read this tick: {} PRs behind the first ready one)\n",
            r.not_evaluated.len()
        ));
    }
    out
}

/// The tick's outcome in one line that names the PR and the action, e.g. `merged #5 (ready:
/// 2 approvals, 3 required contexts green)`; a dry run says `would merge #5 …`.
pub fn outcome_line(r: &TickReport, dry_run: bool) -> String {
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("1 {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    let would = |verb: &str, past: &str| {
        if dry_run {
            format!("would {verb}")
        } else {
            past.to_string()
        }
    };
    let updated_too = r
        .actions
        .iter()
        .filter(|a| {
            a.kind == EffectKind::Update
                && matches!(a.outcome, EffectOutcome::Committed | EffectOutcome::DryRun)
        })
        .filter_map(|a| a.subject.strip_prefix("pr:").map(str::to_string))
        .collect::<Vec<_>>();
    let held_now = r
        .actions
        .iter()
        .filter(|a| a.kind == EffectKind::Label && a.outcome != EffectOutcome::Failed)
        .filter_map(|a| a.subject.strip_prefix("pr:").map(|n| format!("#{n}")))
        .collect::<Vec<_>>();
    let mut line = match &r.outcome {
        TickOutcome::Merged { pr } => format!(
            "{} #{pr} (ready: {}, {} green)",
            would("merge", "merged"),
            plural(r.approvals.get(pr).copied().unwrap_or(0), "approval"),
            plural(r.required_contexts.len(), "required context"),
        ),
        TickOutcome::Replayed { pr } => format!(
            "replayed #{pr}: an earlier run merged it (the ledger and the forge agree); nothing sent"
        ),
        TickOutcome::Updated { pr } => {
            format!("{} #{pr} (behind {})", would("update", "updated"), r.branch)
        }
        TickOutcome::Deferred { pr } => format!(
            "deferred #{pr}: it or {} moved after it was evaluated; the next tick decides again",
            r.branch
        ),
        TickOutcome::Paused => format!("paused: {} is not green; nothing merged", r.branch),
        TickOutcome::Held => format!("held {}; nothing else could act", held_now.join(", ")),
        TickOutcome::Idle => {
            let waiting = r
                .decisions
                .iter()
                .filter(|d| d.action != Action::Skip)
                .count();
            format!("idle: nothing to merge or update ({} waiting)", waiting)
        }
        TickOutcome::Landed { prs } => format!(
            "landed {} on {}: the base is the tested staging commit",
            prs.iter()
                .map(|p| format!("#{p}"))
                .collect::<Vec<_>>()
                .join(", "),
            r.branch
        ),
        TickOutcome::Testing { batch } => match r.batches.last() {
            Some(b) if b.id == *batch => format!(
                "{} batch {batch} ({}) on {}",
                match b.state.as_str() {
                    "built" => "built",
                    "would_build" | "would_land" => "would test",
                    _ => "testing",
                },
                b.members
                    .iter()
                    .map(|p| format!("#{p}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                b.staging_branch
            ),
            _ => format!("testing batch {batch}"),
        },
    };
    if let TickOutcome::Merged { pr } = &r.outcome
        && let Some(u) = updated_too.iter().find(|u| **u != pr.to_string())
    {
        line.push_str(&format!(
            "; {} #{u} with the result",
            would("update", "updated")
        ));
    }
    if matches!(
        r.outcome,
        TickOutcome::Merged { .. } | TickOutcome::Updated { .. }
    ) && !held_now.is_empty()
    {
        line.push_str(&format!("; held {}", held_now.join(", ")));
    }
    line
}

/// One line per batch the tick saw or moved.
pub(super) fn batch_line(b: &crate::queue::report::BatchReport) -> String {
    let prs = b
        .members
        .iter()
        .map(|p| format!("#{p}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut line = format!(
        "batch {} [{}]: {} on {}",
        b.id,
        b.state,
        if prs.is_empty() { "-".into() } else { prs },
        b.staging_branch
    );
    if let Some(s) = &b.staging {
        line.push_str(&format!(" at {}", s.short(12)));
    }
    line.push_str(&format!(
        " ({}: {})",
        b.verdict,
        b.staging_contexts.join(", ")
    ));
    for (c, st) in &b.failing {
        line.push_str(&format!("; {c} {st}"));
    }
    for (pr, why) in &b.left_out {
        line.push_str(&format!("; left out #{pr}: {why}"));
    }
    if !b.suspects.is_empty() {
        line.push_str(&format!(
            "; suspects {}",
            b.suspects
                .iter()
                .map(|p| format!("#{p}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for w in &b.why {
        line.push_str(&format!("; {w}"));
    }
    line.push('\n');
    line
}

fn render(r: &TickReport, format: Format, run: &RunReport, code: ExitCode) -> Result<()> {
    match format {
        Format::Text | Format::Github | Format::Markdown | Format::Html => {
            let mut text = report_table(r);
            for b in &r.batches {
                text.push_str(&batch_line(b));
            }
            for n in &r.notes {
                text.push_str(&format!("note: {n}\n"));
            }
            text.push_str(&format!(
                "outcome: {}{} (exit {})",
                if run.dry_run {
                    "(dry run: nothing was sent) "
                } else {
                    ""
                },
                outcome_line(r, run.dry_run),
                code.code()
            ));
            outln!("{text}");
            Ok(())
        }
        Format::Json | Format::Jsonl | Format::Sarif => {
            let mut v = report_json(r);
            v["run_id"] = json!(run.ledger.as_ref().and_then(|l| l.run_id.clone()));
            v["dry_run"] = json!(run.dry_run);
            v["exit_code"] = json!(code.code());
            v["exit_label"] = json!(code.label());
            print_json(&v)
        }
    }
}
