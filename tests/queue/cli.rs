//! `mergeward queue tick` / `queue status` through the real binary against the simulated
//! forge: the environment of the original tool, exit codes, JSON report, nothing sent by
//! a refused configuration. Gitea and GitHub.

use crate::common;

use std::process::Output;

use common::queue::*;
use common::*;
use mergeward::error::ExitCode;
use mergeward::forge::ForgeKind;
use mergeward::sim::{PullSpec, Sim};
use serde_json::Value;

/// Runs the binary without blocking the runtime that serves the simulator.
async fn run(args: Vec<String>, envs: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"));
        cmd.env_clear()
            .args(&args)
            .current_dir(std::env::temp_dir());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().expect("spawn mergeward")
    })
    .await
    .expect("join")
}

fn cmd(sim: &Sim, kind: ForgeKind, sub: &str, ledger: &std::path::Path) -> Vec<String> {
    [
        "queue",
        sub,
        "--forge",
        kind.as_str(),
        "--url",
        &sim.url(),
        "--repo",
        REPO,
        "--branch",
        "main",
        "--format",
        "json",
        "--ledger",
        &ledger.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn token_env(kind: ForgeKind) -> (&'static str, String) {
    match kind {
        ForgeKind::GitHub => ("GITHUB_TOKEN", TOKEN.to_string()),
        _ => ("GITEA_TOKEN", TOKEN.to_string()),
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicitly_empty_auto_discover_is_refused_before_any_request() {
    // The config rule itself: tests/cli/config.rs::explicitly_empty_auto_discover_is_a_usage_error.
    for kind in FLAVORS {
        let sim = Sim::start(ready(queue_scenario(kind), 1)).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = run(
            cmd(&sim, kind, "tick", &dir.path().join("l.db")),
            vec![token_env(kind), ("AUTO_DISCOVER", String::new())],
        )
        .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(i32::from(ExitCode::Usage.code())),
            "{kind}: {stderr}"
        );
        assert!(stderr.contains("AUTO_DISCOVER"), "{kind}: {stderr}");
        assert!(sim.requests().is_empty(), "{kind}: no request sent");
        assert_mutations(&sim, &format!("{kind}"), &[]);
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_ticks_in_opt_in_mode_from_the_original_environment() {
    for kind in FLAVORS {
        let s = ready(queue_scenario(kind), 1);
        let s = ready_spec(s, PullSpec::new(2).label(QUEUE_LABEL));
        let sim = Sim::start(s).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("l.db");
        let head2 = sim.with_state(|s| s.pull(2).head_sha.clone());
        let env = || vec![token_env(kind), ("AUTO_DISCOVER", "0".to_string())];

        // `queue status`: read-only, exit 0, both PRs listed.
        let out = run(cmd(&sim, kind, "status", &ledger), env()).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json(&out);
        let codes: Vec<(u64, String)> = v["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["pr"].as_u64().unwrap(),
                    d["reason_code"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert!(
            codes.contains(&(1, "not_queued".into())),
            "{kind}: {codes:?}"
        );
        assert!(codes.contains(&(2, "ready".into())), "{kind}: {codes:?}");
        assert_mutations(&sim, &format!("{kind} status"), &[]);

        // `queue tick --dry-run`: exit 0, nothing sent.
        let mut args = cmd(&sim, kind, "tick", &ledger);
        args.push("--dry-run".into());
        let out = run(args, env()).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(json(&out)["dry_run"], true, "{kind}");
        assert_mutations(&sim, &format!("{kind} dry run"), &[]);

        // `queue tick`: the labelled PR merges.
        let out = run(cmd(&sim, kind, "tick", &ledger), env()).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json(&out);
        assert_eq!(v["outcome"]["kind"], "merged", "{kind}: {v}");
        assert_eq!(v["outcome"]["pr"], 2, "{kind}: {v}");
        // The queue's own status (on by default): success on the merged head.
        assert_mutations(
            &sim,
            &format!("{kind} tick"),
            &[merged(2, &head2), status(&head2, "success")],
        );
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pr_that_could_not_be_evaluated_makes_the_binary_exit_could_not_decide() {
    for kind in FLAVORS {
        let s = ready(queue_scenario(kind), 1).fault(fault(route::statuses(kind), http(502, None)));
        let sim = Sim::start(s).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        // No retries: the 502 is final at once.
        let env = vec![token_env(kind), ("MERGEWARD_MAX_RETRIES", "0".to_string())];
        let out = run(cmd(&sim, kind, "tick", &dir.path().join("l.db")), env).await;
        assert_eq!(
            out.status.code(),
            Some(i32::from(ExitCode::CouldNotDecide.code())),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json(&out);
        assert_eq!(v["exit_label"], ExitCode::CouldNotDecide.label(), "{kind}");
        assert_eq!(v["unevaluated"][0]["pr"], 1, "{kind}: {v}");
        assert_mutations(&sim, &format!("{kind}"), &[]);
        sim.shutdown().await;
    }
}

/// SIGTERM during a tick: the binary stops before its next forge call, records the run as
/// `interrupted`, writes the envelope and exits 143; the next run finds nothing unfinished.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_tick_is_recorded_as_interrupted_and_exits_143() {
    let kind = ForgeKind::Gitea;
    // Every request takes 400 ms: the tick is still reading when the signal comes.
    let sim = Sim::start(ready(queue_scenario(kind), 1).latency_ms(400))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("l.db");
    let envelope = dir.path().join("result.json");
    let mut args = cmd(&sim, kind, "tick", &ledger);
    args.extend(["--result-out".to_string(), envelope.display().to_string()]);
    let (k, v) = token_env(kind);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .env_clear()
        .env(k, v)
        .args(&args)
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn mergeward");
    // Wait until the run is under way (its first forge request arrived).
    for _ in 0..200 {
        if !sim.requests().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert_eq!(status.status.code(), Some(143), "{stderr}");
    let v: Value = serde_json::from_slice(&std::fs::read(&envelope).unwrap()).unwrap();
    assert_eq!(v["exit_label"], "terminated", "{v:#}");
    assert_eq!(v["exit_code"], 143, "{v:#}");
    let l = mergeward::ledger::Ledger::open(&ledger.display().to_string())
        .await
        .unwrap();
    let runs = l.runs(10).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        runs[0].state,
        mergeward::ledger::RunState::Interrupted,
        "{runs:?}"
    );
    assert!(runs[0].finished_at.is_some());
    l.close().await;
    // Nothing was merged.
    assert_mutations(&sim, "interrupted", &[]);
    sim.shutdown().await;
}
