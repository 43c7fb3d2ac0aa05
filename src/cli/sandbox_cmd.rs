//! `mergeward sandbox`: the merge queue, offline, against the simulated forge.
//!
//! Starts the simulator with a scenario (by default the built-in
//! `fixtures/sandbox/scenario.json`), runs ticks, and between ticks plays CI and the
//! reviewers: a new head gets `pending` required statuses, then `success` one tick later,
//! and reviewers who approved an earlier head approve the new one. Red statuses stay red,
//! unapproved PRs stay unapproved. Stops when the queue drains or after `--max-ticks`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::queue_cmd::{locked_tick, outcome_line, report_json, report_table};
use super::{Format, GlobalArgs, load_config, print_json};
use crate::error::{Error, ExitCode, Result};
use crate::forge::{self, Forge, ForgeKind, ForgeTarget, HttpSettings, RepoSlug, Secret};
use crate::ledger::{Ledger, NewRun};
use crate::queue::policy::Action;
use crate::queue::tick::TickOutcome;
use crate::report::{Progress, RunReport};
use crate::sim::{Scenario, Sim};

/// The built-in scenario (`sandbox` and `sim serve` without `--scenario`).
pub(super) const SHIPPED: &str = include_str!("../../fixtures/sandbox/scenario.json");

/// The built-in scenario of `sandbox --batch`: git-backed, with simulated CI.
pub(super) const SHIPPED_BATCH: &str = include_str!("../../fixtures/sandbox/batch.json");

/// The simulated time between two ticks in batch mode (a 5-minute cron).
const BATCH_TICK_MINUTES: i64 = 5;

/// Where an installed binary's user finds the scenario format.
pub(super) const SCENARIO_FORMAT_HINT: &str = "scenarios are JSON files; the format is described in fixtures/sim/README.md of mergeward's source repository";

/// Plays CI and reviewers between ticks. Returns whether it changed anything.
fn play(sim: &Sim, required: &[String]) -> bool {
    sim.with_state(|s| {
        let mut changed = false;
        let open: Vec<(u64, String, bool)> = s
            .pulls
            .values()
            .filter(|p| p.state == "open")
            .map(|p| (p.number, p.head_sha.clone(), p.draft))
            .collect();
        for (pr, head, draft) in open {
            if draft {
                continue;
            }
            let latest: BTreeMap<String, String> = s
                .latest_statuses(&head)
                .into_iter()
                .map(|st| (st.context, st.state))
                .collect();
            // Glob patterns of protection are turned into one concrete context each.
            let contexts: Vec<String> = required
                .iter()
                .map(|c| c.replace('*', "check (pull_request)"))
                .collect();
            let states: Vec<Option<&String>> = contexts.iter().map(|c| latest.get(c)).collect();
            if states.iter().all(Option::is_none) {
                for c in &contexts {
                    s.add_status(&head, c, "pending");
                }
                changed = true;
            } else if states.iter().any(|st| st.is_some_and(|v| v == "pending")) {
                for (c, st) in contexts.iter().zip(&states) {
                    if st.is_some_and(|v| v == "pending") {
                        s.add_status(&head, c, "success");
                    }
                }
                // Reviewers who approved an earlier head look again and approve this one.
                let earlier: Vec<String> = s
                    .reviews_for(pr)
                    .into_iter()
                    .filter(|r| r.state == "APPROVED" && r.commit_id != head)
                    .map(|r| r.user)
                    .collect();
                let current: Vec<String> = s
                    .reviews_for(pr)
                    .into_iter()
                    .filter(|r| r.state == "APPROVED" && r.commit_id == head)
                    .map(|r| r.user)
                    .collect();
                let mut seen = Vec::new();
                for user in earlier {
                    if !current.contains(&user) && !seen.contains(&user) {
                        s.add_review(pr, &user, "APPROVED");
                        seen.push(user);
                    }
                }
                changed = true;
            }
        }
        changed
    })
}

pub(super) async fn run(
    global: &GlobalArgs,
    scenario_path: Option<&Path>,
    max_ticks: u32,
    batch: bool,
    format: Format,
    report: &mut RunReport,
) -> Result<ExitCode> {
    let scenario = match scenario_path {
        Some(p) => Scenario::from_file(p),
        None if batch => Scenario::from_json(SHIPPED_BATCH),
        None => Scenario::from_json(SHIPPED),
    }
    .map_err(|e| {
        Error::usage_hint(
            format!("cannot load the sandbox scenario: {e}"),
            SCENARIO_FORMAT_HINT,
        )
    })?;
    let token = scenario
        .users
        .iter()
        .find(|u| u.login == "bot")
        .and_then(|u| u.token.clone())
        .ok_or_else(|| Error::usage("the sandbox scenario needs a user \"bot\" with a token"))?;
    let kind = match scenario.forge {
        crate::sim::ForgeKind::Gitea => ForgeKind::Gitea,
        crate::sim::ForgeKind::Forgejo => ForgeKind::Forgejo,
        crate::sim::ForgeKind::GitHub => ForgeKind::GitHub,
    };
    if batch && (!scenario.git || scenario.ci.is_none()) {
        return Err(Error::usage_hint(
            "sandbox --batch needs a git-backed scenario with simulated CI",
            "give a scenario with \"git\": true and a \"ci\" section, or omit --scenario for the built-in one",
        ));
    }
    let repo = RepoSlug::parse(&scenario.repo).map_err(Error::usage)?;
    let branch = scenario.default_branch.clone();
    let sim = Sim::start(scenario).await.map_err(|e| Error::Io {
        path: "127.0.0.1".into(),
        message: format!("cannot start the simulated forge: {e}"),
    })?;
    report.forge = Some(kind.to_string());
    report.repo = Some(repo.to_string());
    report.branch = Some(branch.clone());

    // The ledger: the configured one when given explicitly, else a temporary file.
    let cfg = load_config(global)?;
    let explicit = cfg
        .get("ledger.url")
        .is_some_and(|s| s.source != crate::error::Source::Default);
    let tmp = tempfile::tempdir().map_err(|e| Error::Io {
        path: "temp dir".into(),
        message: e.to_string(),
    })?;
    let ledger_url = if explicit {
        cfg.ledger_url().to_string()
    } else {
        tmp.path().join("sandbox-ledger.db").display().to_string()
    };
    let ledger = Ledger::open(&ledger_url).await?;

    let target = ForgeTarget {
        kind,
        url: url::Url::parse(&sim.url()).map_err(|e| Error::Internal(e.to_string()))?,
        repo: repo.clone(),
    };
    let mut http = HttpSettings::new(target.api_base(), target.dialect());
    http.token = Some(Secret::new(token));
    http.rate_per_second = 10_000;
    http.rate_burst = 10_000;
    let f = forge::connect(&target, http)?;
    let mut settings = crate::config::settings::queue_from_defaults(&branch)?;
    if batch {
        settings.mode = crate::queue::settings::QueueMode::Batch;
    }
    let required: Vec<String> = sim.with_state(|s| {
        s.protections
            .iter()
            .find(|p| p.rule_name == branch)
            .map(|p| p.status_check_contexts.clone())
            .unwrap_or_default()
    });
    let progress = Progress::silent();

    let mut ticks: Vec<Value> = Vec::new();
    let mut merged = Vec::new();
    let mut drained = false;
    let mut last = None;
    for n in 1..=max_ticks {
        let mut sub = RunReport::new("queue tick");
        let new_run = NewRun::new("queue tick", kind.as_str(), &repo.to_string(), &branch);
        let r = locked_tick(
            &f,
            &ledger,
            &settings,
            new_run,
            Duration::from_secs(60),
            &progress,
            &mut sub,
        )
        .await?;
        match &r.outcome {
            TickOutcome::Merged { pr } => merged.push(*pr),
            TickOutcome::Landed { prs } => merged.extend(prs.iter().copied()),
            _ => {}
        }
        // A tick can land a batch and build the next: its outcome names the last step.
        for b in &r.batches {
            if b.state == "landed" && !matches!(r.outcome, TickOutcome::Landed { .. }) {
                merged.extend(b.members.iter().copied());
            }
        }
        report.actions.extend(r.actions.iter().cloned());
        if format == Format::Text {
            outln!("── tick {n}: {} ──", outcome_line(&r, false));
            outln!("{}", report_table(&r).trim_end());
            for b in &r.batches {
                outln!("{}", super::queue_cmd::batch_line(b).trim_end());
            }
        }
        let mut v = report_json(&r);
        v["tick"] = json!(n);
        ticks.push(v);
        let played = if batch {
            // The simulator's clock: CI finishes while the cron waits.
            sim.advance(chrono::Duration::minutes(BATCH_TICK_MINUTES));
            matches!(r.outcome, TickOutcome::Testing { .. })
        } else {
            play(&sim, &required)
        };
        let quiet = matches!(
            r.outcome,
            TickOutcome::Idle | TickOutcome::Held | TickOutcome::Paused
        );
        last = Some(r);
        if quiet && !played {
            drained = true;
            break;
        }
    }
    report.api = f.counts();

    // The ledger summary.
    let runs = ledger.runs(1000).await?;
    let mut decisions = 0usize;
    let mut effects: BTreeMap<String, usize> = BTreeMap::new();
    for run in &runs {
        if let Some(d) = ledger.show(&run.id).await? {
            decisions += d.decisions.len();
            for e in d.effects {
                *effects
                    .entry(format!(
                        "{} {}",
                        e.kind,
                        e.outcome.map_or("intent", |o| o.as_str())
                    ))
                    .or_default() += 1;
            }
        }
    }
    let final_state: Vec<Value> = last
        .as_ref()
        .map(|r| {
            r.decisions
                .iter()
                .map(|d| json!({ "pr": d.pr.0, "action": d.action.as_str(), "reason_code": d.reason.code(), "reason": d.reason.text() }))
                .collect()
        })
        .unwrap_or_default();
    let held: Vec<u64> = sim.with_state(|s| {
        s.pulls
            .values()
            .filter(|p| {
                s.pr_label_names(p.number)
                    .iter()
                    .any(|l| l == &settings.hold_label)
            })
            .map(|p| p.number)
            .collect()
    });
    let summary = json!({
        "drained": drained,
        "ticks": ticks.len(),
        "merged": merged,
        "held": held,
        "ledger": { "runs": runs.len(), "decisions": decisions, "effects": effects, "location": if explicit { ledger_url.clone() } else { "temporary".into() } },
        "api": report.api,
    });
    ledger.close().await;
    sim.shutdown().await;
    report.outcome = Some(if drained {
        "drained".into()
    } else {
        "tick_limit".into()
    });
    report.ledger = Some(crate::report::LedgerRef {
        backend: "sqlite".into(),
        run_id: None,
    });
    match format {
        Format::Text => {
            outln!("");
            outln!(
                "{} after {} ticks: merged {}; held {}",
                if drained {
                    "drained"
                } else {
                    "stopped at the tick limit"
                },
                ticks.len(),
                list(&merged),
                list(&held)
            );
            if let Some(r) = &last {
                for d in r
                    .decisions
                    .iter()
                    .filter(|d| d.action != Action::Merge { force: false })
                {
                    outln!(
                        "  #{:<3} {:<5} {}",
                        d.pr.0,
                        d.action.as_str(),
                        d.reason.text()
                    );
                }
            }
            outln!(
                "ledger: {} runs, {} decisions, effects {}",
                runs.len(),
                decisions,
                effects
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            outln!(
                "api: {} requests, {} pages, {} retries",
                report.api.requests,
                report.api.pages,
                report.api.retries
            );
        }
        _ => print_json(&json!({ "ticks": ticks, "final": final_state, "summary": summary }))?,
    }
    Ok(ExitCode::Success)
}

fn list(v: &[u64]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.iter()
            .map(|n| format!("#{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
