//! `mergeward audit merge --pr N`: after a merge, was every required context green on the
//! merged head? Detection only; it never changes the forge.
//!
//! Fail-closed (seed-systems §11, the fail-closed version): an unreadable PR, protection or
//! status list is "could not decide" (exit 5), never "clean". A merge with a required context
//! not green is an incident: one JSON event line `incident.force_merge` on stdout, an
//! annotation, a ledger decision, exit 1 (violations).

use std::collections::BTreeSet;

use serde_json::json;

use super::queue_cmd::{config_digest, open_ledger, with_hint};
use super::{Format, GlobalArgs, load_config, print_json};
use crate::error::{Error, ExitCode, Result};
use crate::forge::{self, Forge, ForgeKind, PrNumber, PrState};
use crate::ledger::{self, Evidence, NewDecision, NewRun, RunState};
use crate::queue::policy::{RequiredContexts, states_of};
use crate::queue::tick::{QUEUE_CONTEXT, annotate};
use crate::report::RunReport;

/// What the audit found.
enum Verdict {
    NotMerged,
    NotApplicable(String),
    Clean(Vec<(String, String)>),
    Incident(Vec<(String, String)>),
}

pub async fn merge(
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
    let result = audit(&f, PrNumber(pr), required_flag).await;
    run.api = f.counts();
    let (pull, verdict) = result.map_err(|e| with_hint(&cfg, e))?;
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
    let (code, outcome, text, checks) = match &verdict {
        Verdict::NotMerged => (
            "audit_not_merged",
            "not_merged",
            format!("PR #{pr} is not merged — nothing to audit"),
            vec![],
        ),
        Verdict::NotApplicable(why) => (
            "audit_not_applicable",
            "not_applicable",
            why.clone(),
            vec![],
        ),
        Verdict::Clean(c) => (
            "audit_clean",
            "clean",
            format!("PR #{pr} merged with every required context green"),
            c.clone(),
        ),
        Verdict::Incident(c) => (
            "audit_force_merge",
            "force_merge",
            format!(
                "PR #{pr} was merged by {} with {} required context(s) not green on its head",
                pull.merged_by.as_deref().unwrap_or("an unknown user"),
                c.iter().filter(|(_, s)| s != "success").count()
            ),
            c.clone(),
        ),
    };
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

    let failed: Vec<String> = checks
        .iter()
        .filter(|(_, s)| s != "success")
        .map(|(c, s)| format!("{c}={s}"))
        .collect();
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

async fn audit(
    f: &forge::AnyForge,
    pr: PrNumber,
    required_flag: &[String],
) -> Result<(forge::PullRequest, Verdict)> {
    let pull = f.pull(pr).await?;
    if !pull.merged {
        let v = if pull.state == PrState::Open {
            Verdict::NotApplicable(format!("PR #{} is still open — nothing to audit", pr.0))
        } else {
            Verdict::NotMerged
        };
        return Ok((pull, v));
    }
    // The required contexts: given explicitly, else the base branch's protection now.
    let names: Vec<String> = if required_flag.is_empty() {
        let p = f.protection(&pull.base_ref).await?;
        if !p.status_checks_enabled {
            let why = format!(
                "{} requires no status checks — force-merge not applicable",
                pull.base_ref
            );
            return Ok((pull, Verdict::NotApplicable(why)));
        }
        if p.required_contexts.is_empty() {
            return Err(Error::usage_hint(
                format!(
                    "the protection of {} enables status checks with an empty list",
                    pull.base_ref
                ),
                "pass the required contexts with --required-contexts, or list them in branch protection",
            ));
        }
        p.required_contexts
    } else {
        required_flag.to_vec()
    };
    let names: Vec<String> = names.into_iter().filter(|c| c != QUEUE_CONTEXT).collect();
    let required = match f.kind() {
        ForgeKind::GitHub => RequiredContexts::Exact(names),
        _ => {
            RequiredContexts::globs(&names).map_err(|m| Error::usage_hint(m, "fix the pattern"))?
        }
    };
    // The merge commit carries no statuses: the PR head is what was (or was not) tested.
    let statuses = f.statuses(&pull.head_sha).await?;
    let green: BTreeSet<String> = ["success".to_string()].into_iter().collect();
    let states: Vec<(String, String)> = states_of(&required, &green, &statuses)
        .into_iter()
        .map(|(c, s)| (c, s.as_str().to_string()))
        .collect();
    let verdict = if states.iter().all(|(_, s)| s == "success") {
        Verdict::Clean(states)
    } else {
        Verdict::Incident(states)
    };
    Ok((pull, verdict))
}
