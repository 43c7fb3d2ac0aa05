//! `mergeward audit merge --pr N`: after a merge, was every required context green on the
//! merged head? Detection only; it never changes the forge.
//!
//! Fail-closed (seed-systems §11, the fail-closed version): an unreadable PR, protection or
//! status list is "could not decide" (exit 5), never "clean". A merge with a required context
//! not green is an incident: one JSON event line `incident.force_merge` on stdout, an
//! annotation, a ledger decision, exit 1 (violations).

use serde_json::json;

use super::queue_cmd::{config_digest, open_ledger, with_hint};
use super::{Format, GlobalArgs, load_config, print_json};
use crate::error::{ExitCode, Result};
use crate::forge::{self, Forge, PrNumber};
use crate::ledger::{self, Evidence, NewDecision, NewRun, RunState};
use crate::queue::audit::{self, Verdict};
use crate::report::RunReport;
use crate::report::annotate;

pub(super) async fn merge(
    global: &GlobalArgs,
    pr: u64,
    required_flag: &[String],
    format: Format,
    run: &mut RunReport,
) -> Result<ExitCode> {
    let cfg = load_config(global)?;
    run.forge = Some(cfg.forge_kind().to_string());
    run.repo = cfg.str("forge.repo").map(str::to_string);
    let target = cfg.target()?;
    let f = forge::connect(&target, cfg.http_settings(&target))?;
    let observed = audit::observe(&f, PrNumber(pr), required_flag).await;
    run.api = f.counts();
    let observed = observed.map_err(|e| with_hint(&cfg, e))?;
    let verdict = audit::verdict(&observed, required_flag)?;
    let pull = observed.pull;
    run.branch = Some(pull.base_ref.clone());

    // Record the finding in the ledger (read-only for the forge, so no lock is taken).
    let ledger = open_ledger(&cfg).await?;
    let mut new_run = NewRun::new(
        "audit merge",
        cfg.forge_kind().as_str(),
        &target.repo.to_string(),
        &pull.base_ref,
    );
    new_run.config_digest = config_digest(&cfg);
    let rec = ledger.start_run(&new_run).await?;
    run.ledger = Some(super::locked::ledger_ref(&ledger, Some(&rec.id)));
    let audit::Finding {
        code,
        outcome,
        text,
        checks,
        failed,
    } = audit::finding(&verdict, &pull);
    let mut evidence = Evidence {
        head_sha: Some(pull.head_sha.to_string()),
        base_sha: pull.merge_commit_sha.as_ref().map(|s| s.to_string()),
        ..Evidence::default()
    };
    for (ctx, state) in &checks {
        evidence.contexts.insert(ctx.clone(), state.clone());
    }
    let recorded = ledger
        .record_decision(&NewDecision {
            run_id: rec.id.clone(),
            subject: ledger::pr_subject(pr),
            action: ledger::Action::Merge,
            reason_code: ledger::ReasonCode::new(code)?,
            reason_text: text.clone(),
            evidence,
            dry_run: false,
        })
        .await;
    let finished = ledger.finish_run(&rec.id, RunState::Completed).await;
    ledger.close().await;
    recorded?;
    finished?;
    run.outcome = Some(outcome.into());

    let exit = match verdict {
        Verdict::Incident(_) => ExitCode::Violations,
        _ => ExitCode::Success,
    };
    if exit == ExitCode::Violations {
        // One compact event line, for log pipelines (Vector → Loki and the like).
        let event = json!({
            "event_type": "incident.force_merge",
            "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "repo": target.repo.to_string(),
            "pr": pr,
            "title": pull.title,
            "base_branch": pull.base_ref,
            "merged_by": pull.merged_by,
            "merge_sha": pull.merge_commit_sha,
            "head_sha": pull.head_sha,
            "failed_checks": failed,
        });
        outln!("{event}");
        annotate(
            "error",
            &format!("FORCE-MERGE detected on PR #{pr}: {}", failed.join(", ")),
        );
        return Ok(exit);
    }
    annotate("notice", &text);
    match format {
        Format::Json | Format::Jsonl | Format::Sarif => print_json(&json!({
            "pr": pr,
            "outcome": outcome,
            "message": text,
            "required": checks.iter().map(|(c, s)| json!({"context": c, "state": s})).collect::<Vec<_>>(),
            "exit_code": exit.code(),
            "exit_label": exit.label(),
        }))?,
        Format::Text | Format::Github | Format::Markdown | Format::Html => outln!("{text}"),
    }
    Ok(exit)
}
