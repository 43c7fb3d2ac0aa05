//! `mergeward reap` through the real binary against the simulated forge: exit codes, the
//! JSON summary, the envelope, the lock, and `--workflows-dir`.

use crate::common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;
use mergeward::config::DEFAULT_PUSH_SUFFIX;
use mergeward::ledger::{Ledger, holder_id};
use mergeward::sim::{
    Fault, FaultAction, FileSpec, Mutation, Permission, Scenario, Sim, StatusSpec,
};
use serde_json::Value;

const WATCHDOG: &str = "name: main-red-watchdog\non:\n  schedule:\n    - cron: '*/15 * * * *'\n";

fn repo() -> Scenario {
    Scenario::gitea(REPO)
        .user("bot", TOKEN, Permission::Write)
        .branch("main", None, 3)
        .file(FileSpec::new(".gitea/workflows/watchdog.yml", WATCHDOG))
        .file(FileSpec::new(
            ".gitea/workflows/ci.yml",
            "name: CI\non: [push, pull_request]\n",
        ))
        .status(StatusSpec::sha(
            "main~1",
            "main-red-watchdog / check (push)",
            "failure",
        ))
        .status(StatusSpec::sha("main~2", "CI / test (push)", "failure"))
}

/// Runs `mergeward reap …` without blocking the runtime that serves the simulator.
async fn reap(sim: &Sim, dir: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut args: Vec<String> = [
        "reap",
        "--url",
        &sim.url(),
        "--repo",
        REPO,
        "--ledger",
        &dir.join("ledger.db").display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut env: Vec<(String, String)> = vec![("GITEA_TOKEN".into(), TOKEN.into())];
    env.extend(envs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let cwd = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"));
        cmd.env_clear().args(&args).current_dir(cwd);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("spawn mergeward")
    })
    .await
    .expect("join")
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reap_prints_the_counters_and_the_envelope_lists_the_compensation() {
    let sim = Sim::start(repo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let envelope = dir.path().join("result.json");
    let o = reap(
        &sim,
        dir.path(),
        &[
            "--format",
            "json",
            "--result-out",
            &envelope.display().to_string(),
        ],
        &[],
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json_out(&o);
    for key in [
        "scanned_shas",
        "compensated",
        "compensated_cancelled_push",
        "compensated_pr_shadowed_by_push_success",
        "preserved_real_push",
        "preserved_unknown",
        "preserved_non_failure",
        "preserved_non_push_suffix",
        "preserved_unparseable",
        "preserved_pr_without_push_success",
        "preserved_cancelled_on_head",
        "compensated_per_sha",
        "sha_api_errors",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v:#}");
    }
    assert_eq!(v["scanned_shas"], 3);
    assert_eq!(v["compensated"], 1);
    assert_eq!(v["preserved_real_push"], 1);
    assert_eq!(v["branch"], "main");
    assert_eq!(v["limit"], 30);
    assert_eq!(v["dry_run"], false);
    assert_eq!(v["exit_code"], 0);
    assert!(v.get("skipped").is_none());
    let main1 = sim.with_state(|s| s.resolve("main~1")).unwrap();
    assert_eq!(
        v["compensated_per_sha"][&main1][0],
        "main-red-watchdog / check (push)"
    );
    let muts = sim.take_mutations();
    assert_eq!(
        muts,
        vec![Mutation::StatusPosted {
            sha: main1.clone(),
            context: "main-red-watchdog / check (push)".into(),
            state: "success".into(),
            description: DEFAULT_PUSH_SUFFIX.into(),
            target_url: String::new(),
        }]
    );
    let env: Value = serde_json::from_str(&std::fs::read_to_string(&envelope).unwrap()).unwrap();
    assert_eq!(env["command"], "reap");
    assert_eq!(env["exit_code"], 0);
    let actions = env["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0]["subject"], format!("commit:{main1}"));
    assert_eq!(actions[0]["kind"], "status");
    assert_eq!(actions[0]["outcome"], "committed");

    // Again: nothing new, and the text summary says so.
    let o = reap(&sim, dir.path(), &["--format", "text"], &[]).await;
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("compensated 0 ("), "{text}");
    assert!(text.contains("outcome: completed (exit 0)"), "{text}");
    assert!(sim.take_mutations().is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_commit_list_exits_5_with_the_skip_summary() {
    let sim = Sim::start(repo().fault(Fault::new(
        "/repos/{owner}/{repo}/commits",
        FaultAction::Status {
            code: 502,
            body: None,
            headers: vec![],
        },
    )))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The original's variable names: 2 attempts.
    let o = reap(
        &sim,
        dir.path(),
        &["--format", "json"],
        &[("STATUS_REAPER_API_RETRIES", "2")],
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("\"skipped\": true"), "{stdout}");
    assert!(
        stdout.contains("\"skip_reason\": \"commit-list-api-error\""),
        "{stdout}"
    );
    assert_eq!(
        requests_to(&sim, "GET", "/repos/{owner}/{repo}/commits").len(),
        2
    );
    assert!(sim.take_mutations().is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_name_collision_exits_2_naming_both_files_before_any_request() {
    let sim = Sim::start(repo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join("checkout/.gitea/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::write(wf.join("a.yml"), "name: CI\non: push\n").unwrap();
    std::fs::write(wf.join("b.yaml"), "name: CI\non: schedule\n").unwrap();
    let o = reap(&sim, dir.path(), &["--workflows-dir", "checkout"], &[]).await;
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("workflow name collision detected: CI")
            && stderr.contains("a.yml")
            && stderr.contains("b.yaml"),
        "{stderr}"
    );
    assert!(
        sim.requests().is_empty(),
        "no request before the scan passes"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_through_the_binary_sends_only_gets_and_reads_a_checkout() {
    let sim = Sim::start(repo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::write(wf.join("watchdog.yml"), WATCHDOG).unwrap();
    std::fs::write(wf.join("ci.yml"), "name: CI\n'on': [push]\n").unwrap();
    let o = reap(
        &sim,
        dir.path(),
        &["--dry-run", "--workflows-dir", ".", "--format", "json"],
        &[],
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json_out(&o);
    assert_eq!(v["compensated"], 1);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["compensations"][0]["outcome"], "dry_run");
    assert!(sim.requests().iter().all(|r| r.method == "GET"));
    assert!(
        requests_to(&sim, "GET", "/repos/{owner}/{repo}/contents/{filepath}").is_empty(),
        "a checkout was given"
    );
    assert!(sim.take_mutations().is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_reap_exits_6_and_a_queue_lock_does_not_block_it() {
    let sim = Sim::start(repo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.db").display().to_string())
        .await
        .unwrap();
    // The queue's lock on the same branch is another lock.
    let queue = ledger
        .lock(REPO, "main", &holder_id("queue"), Duration::from_secs(60))
        .await
        .unwrap();
    let o = reap(&sim, dir.path(), &["--format", "json", "--dry-run"], &[]).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let held = ledger
        .lock(
            REPO,
            "reap:main",
            &holder_id("other"),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    sim.clear_requests();
    let o = reap(&sim, dir.path(), &["--format", "json"], &[]).await;
    assert_eq!(
        o.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("reap:main is locked"));
    assert!(sim.requests().is_empty());
    assert!(sim.take_mutations().is_empty());
    held.release().await.unwrap();
    queue.release().await.unwrap();
    ledger.close().await;
    sim.shutdown().await;
}
