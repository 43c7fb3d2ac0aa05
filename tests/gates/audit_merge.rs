//! `mergeward audit merge --pr N`: after a merge, every required context must have been green
//! on the merged head; otherwise an `incident.force_merge` event line and exit 1. Fail-closed:
//! what cannot be read is exit 5, never "clean".

use crate::common;

use std::process::Output;

use common::*;
use mergeward::forge::ForgeKind;
use mergeward::sim::{Fault, FaultAction, ProtectionSpec, PullSpec, Scenario, Sim, StatusSpec};
use serde_json::Value;

fn scenario(kind: ForgeKind) -> Scenario {
    base(kind)
        .protect(ProtectionSpec::new("main").contexts(&["CI"]).approvals(0))
        // #2 merged with CI green; #3 merged with CI red (a force merge); #4 closed unmerged.
        .pr(PullSpec::new(2).head("green").merged())
        .status(StatusSpec::pr(2, "CI", "success"))
        .pr(PullSpec::new(3).head("red").merged())
        .status(StatusSpec::pr(3, "CI", "failure"))
        .status(StatusSpec::pr(3, "docs", "success"))
        .pr(PullSpec::new(4).head("gone").closed())
}

async fn audit(sim: &Sim, kind: ForgeKind, ledger: &std::path::Path, extra: &[&str]) -> Output {
    let mut args: Vec<String> = [
        "audit",
        "merge",
        "--forge",
        kind.as_str(),
        "--url",
        &sim.url(),
        "--repo",
        REPO,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push("--ledger".into());
    args.push(ledger.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let env = if kind == ForgeKind::GitHub {
        "GITHUB_TOKEN"
    } else {
        "GITEA_TOKEN"
    };
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"))
            .env_clear()
            .env(env, TOKEN)
            .env("MERGEWARD_MAX_RETRIES", "1")
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_with_every_required_context_green_is_clean() {
    for kind in FLAVORS {
        let sim = Sim::start(scenario(kind)).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let o = audit(
            &sim,
            kind,
            &dir.path().join("l.db"),
            &["--pr", "2", "--format", "json"],
        )
        .await;
        assert_eq!(
            o.status.code(),
            Some(0),
            "{kind}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["outcome"], "clean", "{kind}: {v}");
        assert_eq!(v["required"][0]["state"], "success");
        assert!(
            sim.mutations().is_empty(),
            "an audit changes nothing on the forge"
        );
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_past_a_red_required_context_is_an_incident() {
    for kind in FLAVORS {
        let sim = Sim::start(scenario(kind)).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ledger = dir.path().join("l.db");
        let o = audit(&sim, kind, &ledger, &["--pr", "3"]).await;
        assert_eq!(
            o.status.code(),
            Some(1),
            "{kind}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let line = String::from_utf8_lossy(&o.stdout);
        let event: Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("{kind}: one JSON line expected: {e}: {line}"));
        assert_eq!(event["event_type"], "incident.force_merge");
        assert_eq!(event["pr"], 3);
        assert_eq!(event["base_branch"], "main");
        assert_eq!(
            event["failed_checks"],
            serde_json::json!(["CI=failure"]),
            "{kind}: only required contexts count"
        );
        assert!(event["merge_sha"].is_string(), "{kind}: {event}");
        // The finding is in the ledger.
        let explain = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"))
            .args([
                "ledger",
                "explain",
                "--pr",
                "3",
                "--format",
                "json",
                "--ledger",
                ledger.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let chain: Value = serde_json::from_slice(&explain.stdout).unwrap();
        assert_eq!(
            chain["decisions"][0]["reason_code"], "audit_force_merge",
            "{kind}: {chain}"
        );
        assert!(sim.mutations().is_empty());
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_required_contexts_replace_the_protection() {
    let kind = ForgeKind::Gitea;
    let sim = Sim::start(scenario(kind)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = audit(
        &sim,
        kind,
        &dir.path().join("l.db"),
        &[
            "--pr",
            "3",
            "--required-contexts",
            "docs",
            "--format",
            "json",
        ],
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = audit(
        &sim,
        kind,
        &dir.path().join("l.db"),
        &["--pr", "2", "--required-contexts", "CI,lint"],
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(1),
        "a required context never posted is missing, not green"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("lint=missing"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmerged_pr_is_not_audited() {
    let sim = Sim::start(scenario(ForgeKind::Gitea)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    for pr in ["4", "1"] {
        let o = audit(
            &sim,
            ForgeKind::Gitea,
            &dir.path().join("l.db"),
            &["--pr", pr, "--format", "text"],
        )
        .await;
        assert_eq!(
            o.status.code(),
            Some(0),
            "#{pr}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stdout).contains("nothing to audit"));
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_statuses_or_protection_could_not_decide() {
    for (route, label) in [
        ("/repos/{owner}/{repo}/commits/{ref}/statuses", "statuses"),
        ("/repos/{owner}/{repo}/branches/{branch}", "protection"),
    ] {
        let sim = Sim::start(scenario(ForgeKind::Gitea)).await.unwrap();
        sim.inject(Fault::new(
            route,
            FaultAction::Status {
                code: 502,
                body: None,
                headers: vec![],
            },
        ));
        let dir = tempfile::tempdir().unwrap();
        let o = audit(
            &sim,
            ForgeKind::Gitea,
            &dir.path().join("l.db"),
            &["--pr", "2"],
        )
        .await;
        assert_eq!(
            o.status.code(),
            Some(5),
            "{label}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // No verdict when the forge could not be read: only the error, as JSON.
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("a JSON error");
        assert_eq!(v["exit_label"], "could_not_decide", "{label}: {v}");
        assert!(v.get("verdict").is_none(), "{label}: {v}");
        sim.shutdown().await;
    }
}
