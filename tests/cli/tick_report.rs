//! `queue tick` through the real binary: result envelopes for success, could-not-decide,
//! lock-held and configuration errors validate against docs/schemas/envelope.schema.json
//! and never reach stdout (`--result-out` and `--result-fd`); progress events on
//! `--progress-fd` frame every evaluation and every mutation.

use crate::e2e_support;

use std::time::Duration;

use e2e_support::*;
use mergeward::sim::{Fault, FaultAction, Sim};
use serde_json::Value;

fn quoted(p: &std::path::Path) -> String {
    format!("'{}'", p.display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_tick_writes_a_valid_envelope_and_keeps_stdout_clean() {
    let scratch = Scratch::new();
    let sim = Sim::start(scenario(2)).await.unwrap();
    approve(&sim, 1);
    let out = scratch.path("out/result.json");
    let mut args = tick_cmd(
        &sim,
        &scratch.ledger(),
        &["queue", "tick", "--format", "json"],
    );
    args.extend(["--result-out".into(), out.display().to_string()]);
    let o = run(scratch.dir.path(), args, &[]).await;
    let report = json_ok(&o, 0);
    assert_no_envelope_on_stdout(&o);
    assert_eq!(report["outcome"]["kind"], "merged");
    let v = read_json(&out);
    assert_envelope(&v);
    assert_eq!(v["status"], "succeeded");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["exit_label"], "success");
    assert_eq!(v["command"], "queue tick");
    assert_eq!(v["outcome"], "merged");
    assert_eq!(v["forge"], "gitea");
    assert_eq!(v["repo"], REPO);
    assert_eq!(v["branch"], "main");
    assert_eq!(v["dry_run"], false);
    assert_eq!(v["ledger"]["backend"], "sqlite");
    assert_eq!(v["ledger"]["run_id"], report["run_id"]);
    let actions = v["actions"].as_array().unwrap();
    // The queue's own status on the waiting #2, the merge of #1, then `success` on #1's
    // head (statuses are on by default).
    let got: Vec<(&str, &str, &str)> = actions
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap(),
                a["subject"].as_str().unwrap(),
                a["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("status", "pr:2", "committed"),
            ("merge", "pr:1", "committed"),
            ("status", "pr:1", "committed"),
        ],
        "{v:#}"
    );
    assert_eq!(actions[1]["sha"], head(&sim, 1).as_str());
    assert_eq!(
        v["api"]["requests"].as_u64().unwrap(),
        sim.requests().len() as u64,
        "the envelope counts every request the forge saw"
    );
    assert!(!std::fs::read_to_string(&out).unwrap().contains(BOT_TOKEN));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_tick_in_fd_mode_reports_dry_run_actions() {
    let scratch = Scratch::new();
    let sim = Sim::start(scenario(1)).await.unwrap();
    approve(&sim, 1);
    let out = scratch.path("fd.json");
    let o = sh(
        scratch.dir.path(),
        format!(
            "\"$MW\" queue tick --dry-run --format text --url {} --repo {REPO} --ledger {} --result-fd 3 3>{}",
            sim.url(),
            quoted(&scratch.path("l.db")),
            quoted(&out)
        ),
        &[],
    )
    .await;
    assert_eq!(code(&o), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_no_envelope_on_stdout(&o);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(
            "outcome: (dry run: nothing was sent) would merge #1 (ready: 1 approval, 1 required context green) (exit 0)"
        ),
        "{stdout}"
    );
    assert_eq!(v_outcome(&out), "dry_run_merged");
    let v = read_json(&out);
    assert_envelope(&v);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["status"], "succeeded");
    assert_eq!(v["actions"][0]["outcome"], "dry_run");
    assert!(sim.mutations().is_empty(), "a dry run mutates nothing");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn could_not_decide_writes_a_failed_envelope_to_a_descriptor() {
    let scratch = Scratch::new();
    let sim = Sim::start(scenario(2)).await.unwrap();
    approve(&sim, 2);
    // No candidate's statuses can be read: both are unevaluated, nothing merges (PR 2 is
    // approved but unproven), and the tick exits 5.
    sim.inject(Fault::new(
        "/repos/{owner}/{repo}/commits/{ref}/statuses",
        FaultAction::Status {
            code: 502,
            body: None,
            headers: vec![],
        },
    ));
    let out = scratch.path("fd.json");
    let o = sh(
        scratch.dir.path(),
        format!(
            "\"$MW\" queue tick --format json --url {} --repo {REPO} --ledger {} --result-fd 3 3>{}",
            sim.url(),
            quoted(&scratch.path("l.db")),
            quoted(&out)
        ),
        &[],
    )
    .await;
    let report = json_ok(&o, 5);
    assert_no_envelope_on_stdout(&o);
    assert_eq!(report["exit_label"], "could_not_decide");
    assert_eq!(report["unevaluated"].as_array().unwrap().len(), 2);
    let v = read_json(&out);
    assert_envelope(&v);
    assert_eq!(v["status"], "failed");
    assert_eq!(v["exit_code"], 5);
    assert_eq!(v["exit_label"], "could_not_decide");
    assert!(v["api"]["retries"].as_u64().unwrap() >= 1, "{v:#}");
    assert!(
        sim.mutations().is_empty(),
        "nothing merges when candidates could not be read"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protection_read_failure_is_could_not_decide_with_the_http_status() {
    let scratch = Scratch::new();
    let sim = Sim::start(scenario(1)).await.unwrap();
    sim.inject(Fault::new(
        BRANCH,
        FaultAction::Status {
            code: 503,
            body: None,
            headers: vec![],
        },
    ));
    let out = scratch.path("r.json");
    let mut args = tick_cmd(
        &sim,
        &scratch.ledger(),
        &["queue", "tick", "--format", "json"],
    );
    args.extend(["--result-out".into(), out.display().to_string()]);
    let o = run(scratch.dir.path(), args, &[]).await;
    assert_eq!(code(&o), Some(5), "{}", String::from_utf8_lossy(&o.stderr));
    assert_no_envelope_on_stdout(&o);
    let v = read_json(&out);
    assert_envelope(&v);
    assert_eq!(v["exit_label"], "could_not_decide");
    assert_eq!(v["error"]["http_status"], 503);
    assert!(v["ledger"]["run_id"].is_string(), "the run is recorded");
    let runs = ledger_runs(&scratch, &scratch.ledger()).await;
    assert_eq!(runs[0]["state"], "failed");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_write_usage_envelopes() {
    let scratch = Scratch::new();
    let sim = Sim::start(scenario(1)).await.unwrap();
    // A bad key in the configuration file.
    let cfg = scratch.path("bad.toml");
    std::fs::write(&cfg, "[queue]\nconcurency = 4\n").unwrap();
    let out = scratch.path("cfg.json");
    let mut args = tick_cmd(&sim, &scratch.ledger(), &["queue", "tick"]);
    args.extend([
        "--config".into(),
        cfg.display().to_string(),
        "--result-out".into(),
        out.display().to_string(),
    ]);
    let o = run(scratch.dir.path(), args, &[]).await;
    assert_eq!(code(&o), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let err: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("the error as a JSON object on stdout");
    assert!(err["error"]["message"].is_string(), "{err}");
    let v = read_json(&out);
    assert_envelope(&v);
    assert_eq!(v["status"], "failed");
    assert_eq!(v["exit_label"], "usage");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("concurency"),
        "{v:#}"
    );
    // No token: a usage/auth-class error before any request, still an envelope (fd mode).
    let out = scratch.path("notoken.json");
    let o = sh(
        scratch.dir.path(),
        format!(
            "unset GITEA_TOKEN; \"$MW\" queue tick --url {} --repo {REPO} --ledger {} --result-fd 3 3>{}",
            sim.url(),
            quoted(&scratch.path("l2.db")),
            quoted(&out)
        ),
        &[],
    )
    .await;
    assert_ne!(code(&o), Some(0));
    let err: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("the error as a JSON object on stdout");
    assert!(err["error"]["message"].is_string(), "{err}");
    let v = read_json(&out);
    assert_envelope(&v);
    assert_eq!(v["status"], "failed");
    assert_eq!(v["exit_code"].as_i64(), code(&o).map(i64::from));
    // A bad ledger locator.
    let out = scratch.path("locator.json");
    let mut args = tick_cmd(&sim, "mysql://nope/x", &["queue", "tick"]);
    args.extend(["--result-out".into(), out.display().to_string()]);
    let o = run(scratch.dir.path(), args, &[]).await;
    assert_eq!(code(&o), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let v = read_json(&out);
    assert_envelope(&v);
    assert_eq!(v["exit_label"], "usage");
    assert!(sim.mutations().is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_held_envelope_in_fd_mode() {
    let scratch = Scratch::new();
    let sim = Sim::start(scenario(1)).await.unwrap();
    sim.inject(Fault::new(PULLS, FaultAction::Delay { ms: 2_000 }).method("GET"));
    let ledger = scratch.ledger();
    let mut first = spawn(
        scratch.dir.path(),
        "first",
        &tick_cmd(&sim, &ledger, &["queue", "tick"]),
        &[],
    );
    wait_until(
        Duration::from_secs(20),
        "the first tick's branch read",
        || !requests_to(&sim, "GET", BRANCH).is_empty(),
    )
    .await;
    let out = scratch.path("fd.json");
    let o = sh(
        scratch.dir.path(),
        format!(
            "\"$MW\" queue tick --format json --url {} --repo {REPO} --ledger {} --result-fd 3 3>{}",
            sim.url(),
            quoted(std::path::Path::new(&ledger)),
            quoted(&out)
        ),
        &[],
    )
    .await;
    assert_eq!(code(&o), Some(6), "{}", String::from_utf8_lossy(&o.stderr));
    let err: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("the error as a JSON object on stdout");
    assert!(err["error"]["message"].is_string(), "{err}");
    let v = read_json(&out);
    assert_envelope(&v);
    assert_eq!(v["status"], "skipped");
    assert_eq!(v["exit_label"], "lock_held");
    assert_eq!(v["error"]["code"], "lock_held", "{v:#}");
    let status = tokio::task::spawn_blocking(move || first.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
    sim.shutdown().await;
}

/// Progress events: run_started, one subject_evaluated per candidate and skip,
/// effect_started/effect_completed around each mutation, run_completed — JSON Lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_events_frame_evaluations_and_effects() {
    let scratch = Scratch::new();
    let sim = Sim::start(scenario(3)).await.unwrap();
    approve(&sim, 3);
    let events = scratch.path("events.jsonl");
    let o = sh(
        scratch.dir.path(),
        format!(
            "\"$MW\" queue tick --format json --url {} --repo {REPO} --ledger {} --progress-fd 3 3>{}",
            sim.url(),
            quoted(&scratch.path("l.db")),
            quoted(&events)
        ),
        &[("MERGEWARD_POST_STATUS", "true")],
    )
    .await;
    let report = json_ok(&o, 0);
    assert_eq!(report["outcome"]["kind"], "merged", "{report:#}");
    let lines: Vec<Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let names: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(names.first(), Some(&"run_started"));
    assert_eq!(names.last(), Some(&"run_completed"));
    assert!(
        lines
            .iter()
            .all(|l| l["ts"].as_str().unwrap().ends_with('Z'))
    );
    assert_eq!(lines[0]["command"], "queue tick");
    assert_eq!(lines.last().unwrap()["exit_code"], 0);
    assert_eq!(lines.last().unwrap()["outcome"], "merged");

    let evaluated: Vec<(&str, &str)> = lines
        .iter()
        .filter(|l| l["event"] == "subject_evaluated")
        .map(|l| {
            (
                l["subject"].as_str().unwrap(),
                l["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        evaluated,
        [("pr:1", "wait"), ("pr:2", "wait"), ("pr:3", "merge")],
        "{names:?}"
    );
    // Mutations: a pending status on PRs 1 and 2, the merge of 3, its success status.
    let effects: Vec<(&str, &str, &str)> = lines
        .iter()
        .filter(|l| l["event"] == "effect_started" || l["event"] == "effect_completed")
        .map(|l| {
            (
                l["event"].as_str().unwrap(),
                l["subject"].as_str().unwrap(),
                l["kind"].as_str().unwrap(),
            )
        })
        .collect();
    let mut expected = Vec::new();
    for (s, k) in [
        ("pr:1", "status"),
        ("pr:2", "status"),
        ("pr:3", "merge"),
        ("pr:3", "status"),
    ] {
        expected.push(("effect_started", s, k));
        expected.push(("effect_completed", s, k));
    }
    assert_eq!(effects, expected, "{names:?}");
    for l in lines.iter().filter(|l| l["event"] == "effect_completed") {
        assert_eq!(l["outcome"], "committed", "{l}");
        assert_eq!(l["idempotency_key"].as_str().unwrap().len(), 64);
    }
    // Every mutation the forge saw is framed by an effect_started/effect_completed pair.
    let mutating = sim.requests().iter().filter(|r| r.method != "GET").count();
    assert_eq!(mutating * 2, effects.len());
    // Each evaluation precedes the effects it leads to.
    let pos = |ev: &str, subject: &str| {
        lines
            .iter()
            .position(|l| l["event"] == ev && l["subject"] == subject)
            .unwrap()
    };
    assert!(pos("subject_evaluated", "pr:3") < pos("effect_started", "pr:3"));
    assert!(pos("subject_evaluated", "pr:1") < pos("effect_started", "pr:1"));
    sim.shutdown().await;
}

fn v_outcome(path: &std::path::Path) -> String {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["outcome"].as_str().unwrap_or_default().to_string()
}
