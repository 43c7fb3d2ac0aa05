//! `mergeward ledger runs|show|explain|export|migrate`.

use serde_json::json;

use super::{Format, GlobalArgs, LedgerCommand, load_config, print_json};
use crate::error::{Error, ExitCode, Result};
use crate::ledger::{self, Ledger, LedgerOptions, Locator};
use crate::report::{LedgerRef, RunReport};

fn backend_name(l: &Ledger) -> &'static str {
    match l.backend() {
        ledger::Backend::Sqlite => "sqlite",
        ledger::Backend::Postgres => "postgres",
    }
}

pub(super) async fn run(
    global: &GlobalArgs,
    cmd: &LedgerCommand,
    format: Format,
    report: &mut RunReport,
) -> Result<ExitCode> {
    let cfg = load_config(global)?;
    let locator = Locator::parse(cfg.ledger_url())?;
    let migrate_on_open = !matches!(cmd, LedgerCommand::Migrate);
    let opts = LedgerOptions {
        migrate: migrate_on_open,
        ..LedgerOptions::default()
    };
    let l = Ledger::open_with(&locator, &opts).await?;
    report.ledger = Some(LedgerRef {
        backend: backend_name(&l).into(),
        run_id: None,
    });
    let result = execute(&l, cmd, format, report).await;
    l.close().await;
    result
}

async fn execute(
    l: &Ledger,
    cmd: &LedgerCommand,
    format: Format,
    report: &mut RunReport,
) -> Result<ExitCode> {
    match cmd {
        LedgerCommand::Runs { limit } => {
            let runs = l.runs(*limit).await?;
            report.outcome = Some("listed".into());
            match format {
                Format::Text => {
                    outln!(
                        "{:<38} {:<12} {:<20} {:<24} {:<20} {}",
                        "RUN",
                        "COMMAND",
                        "REPO@BRANCH",
                        "STARTED",
                        "STATE",
                        "NOTE"
                    );
                    for r in &runs {
                        let state = if r.state_derived {
                            format!("{} (derived)", r.state)
                        } else {
                            r.state.to_string()
                        };
                        outln!(
                            "{:<38} {:<12} {:<20} {:<24} {:<20} {}",
                            r.id,
                            r.command,
                            format!("{}@{}", r.repo, r.branch),
                            r.started_at,
                            state,
                            r.note
                                .as_deref()
                                .unwrap_or(if r.dry_run { "dry run" } else { "" })
                        );
                    }
                }
                _ => print_json(&json!({ "runs": to_value(&runs) }))?,
            }
        }
        LedgerCommand::Show { run } => {
            // Any id mergeward prints: the full run id, a unique prefix of it (4 characters
            // at least), with or without dashes.
            let id = match l.show(run).await? {
                Some(_) => run.clone(),
                None if run.len() < 4 => {
                    return Err(Error::usage_hint(
                        format!("{run:?} is too short to name a run"),
                        "give at least 4 characters of the run id (`mergeward ledger runs` lists them)",
                    ));
                }
                None => {
                    let found = l.runs_by_prefix(run, 3).await?;
                    match found.as_slice() {
                        [one] => one.clone(),
                        [] => {
                            return Err(Error::usage_hint(
                                format!("no run {run:?} in the ledger"),
                                "list runs with `mergeward ledger runs`",
                            ));
                        }
                        many => {
                            return Err(Error::usage_hint(
                                format!("{run:?} names more than one run ({}, …)", many.join(", ")),
                                "give more characters of the run id",
                            ));
                        }
                    }
                }
            };
            let Some(detail) = l.show(&id).await? else {
                return Err(Error::usage_hint(
                    format!("no run {run:?} in the ledger"),
                    "list runs with `mergeward ledger runs`",
                ));
            };
            report.outcome = Some("shown".into());
            match format {
                Format::Text => {
                    let r = &detail.run;
                    outln!(
                        "run      {} ({}{})",
                        r.id,
                        r.state,
                        if r.state_derived {
                            ", derived from its effects"
                        } else {
                            ""
                        }
                    );
                    outln!(
                        "command  {} on {} {}@{}{}",
                        r.command,
                        r.forge,
                        r.repo,
                        r.branch,
                        if r.dry_run { " (dry run)" } else { "" }
                    );
                    outln!(
                        "time     {} .. {}",
                        r.started_at,
                        r.finished_at.as_deref().unwrap_or("(unfinished)")
                    );
                    for d in &detail.decisions {
                        outln!(
                            "decision {} {} {}: {}",
                            d.subject,
                            d.action,
                            d.reason_code,
                            d.reason_text
                        );
                    }
                    for e in &detail.effects {
                        outln!(
                            "effect   {} {} {} key {}",
                            e.subject,
                            e.kind,
                            e.outcome.map_or("intent only", |o| o.as_str()),
                            &e.idempotency_key[..e.idempotency_key.len().min(16)]
                        );
                    }
                }
                _ => print_json(&to_value(&detail))?,
            }
        }
        LedgerCommand::Explain { pr } => {
            let chain = l.explain(&ledger::pr_subject(*pr)).await?;
            report.outcome = Some("explained".into());
            if chain.is_empty() {
                return Err(Error::usage_hint(
                    format!("the ledger has no decision about PR #{pr}"),
                    "run `mergeward queue tick` (or `--dry-run`) first; `mergeward queue status` explains without the ledger",
                ));
            }
            match format {
                Format::Text => {
                    outln!("PR #{pr}: {} decisions, newest first", chain.len());
                    for d in &chain {
                        let seen = if d.reuse_count > 0 {
                            format!(
                                " (seen again {} times, last {})",
                                d.reuse_count,
                                d.last_seen_at.as_deref().unwrap_or("?")
                            )
                        } else {
                            String::new()
                        };
                        outln!(
                            "{}  {:<6} {:<26} head {}{}{}",
                            d.created_at,
                            d.action.as_str(),
                            d.reason_code.as_str(),
                            d.head_sha.as_deref().map_or("-", |h| &h[..h.len().min(12)]),
                            if d.dry_run { " [dry run]" } else { "" },
                            seen
                        );
                        outln!("    {}", d.reason_text);
                    }
                }
                _ => print_json(&json!({ "pr": pr, "decisions": to_value(&chain) }))?,
            }
        }
        LedgerCommand::Export => {
            let stdout = std::io::stdout();
            let mut out = PipeSafe(stdout.lock());
            let counts = l.export_jsonl(&mut out).await?;
            report.outcome = Some(format!(
                "exported {} events",
                counts.runs + counts.decisions + counts.effects
            ));
        }
        LedgerCommand::Import { file } => {
            let counts = if file.as_os_str() == "-" {
                l.import_jsonl(std::io::stdin().lock()).await?
            } else {
                let f = std::fs::File::open(file).map_err(|e| Error::Io {
                    path: file.display().to_string(),
                    message: format!("cannot read the export: {e}"),
                })?;
                l.import_jsonl(std::io::BufReader::new(f)).await?
            };
            report.outcome = Some("imported".into());
            let text = format!(
                "imported {} runs, {} decisions, {} effects",
                counts.runs, counts.decisions, counts.effects
            );
            match format {
                Format::Json | Format::Jsonl | Format::Sarif => print_json(&json!({
                    "runs": counts.runs,
                    "decisions": counts.decisions,
                    "effects": counts.effects,
                }))?,
                _ => outln!("{text}"),
            }
        }
        LedgerCommand::Migrate => {
            let before = l.schema_version().await?;
            let applied = l.migrate().await?;
            let after = l.schema_version().await?;
            report.outcome = Some(if applied.is_empty() {
                "up_to_date".into()
            } else {
                "migrated".into()
            });
            match format {
                Format::Text => {
                    if applied.is_empty() {
                        outln!("ledger schema is at version {after}; nothing to apply");
                    }
                    for m in &applied {
                        outln!("applied migration {} ({})", m.version, m.name);
                    }
                }
                _ => print_json(&json!({
                    "from_version": before,
                    "to_version": after,
                    "applied": applied.iter().map(|m| json!({"version": m.version, "name": m.name, "applied_at": m.applied_at})).collect::<Vec<_>>(),
                }))?,
            }
        }
    }
    Ok(ExitCode::Success)
}

fn to_value<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// Stdout for a stream that a reader may stop early (`ledger export | head`): a closed pipe
/// ends the output quietly instead of failing the command.
struct PipeSafe<W>(W);

impl<W: std::io::Write> std::io::Write for PipeSafe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(buf.len()),
            other => other,
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}
