//! `mergeward forge check` through the real binary against the simulated forge.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::*;
use mergeward::sim::{Scenario, Sim};
use serde_json::Value;

fn fixture(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sim")
        .join(name);
    Scenario::from_file(&path).expect("fixture loads")
}

/// Runs the binary without blocking the runtime that serves the simulator.
pub async fn run(args: Vec<String>, envs: Vec<(&'static str, String)>) -> Output {
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

fn args(sim: &Sim, forge: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "forge",
        "check",
        "--forge",
        forge,
        "--url",
        &sim.url(),
        "--repo",
        "acme/widgets",
        "--branch",
        "main",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forge_check_against_gitea_prints_required_contexts_and_exits_0() {
    let sim = Sim::start(fixture("gitea-basic.json")).await.unwrap();
    let out = run(
        args(&sim, "gitea", &["--format", "json"]),
        vec![("GITEA_TOKEN", "sim-bot-token".into())],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(v["capabilities"]["kind"], "gitea");
    assert_eq!(v["capabilities"]["version"], "1.22.6");
    assert_eq!(v["identity"]["login"], "bot");
    let contexts: Vec<&str> = v["protection"]["required_contexts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        contexts.contains(&"CI / test (pull_request)"),
        "{contexts:?}"
    );
    assert!(v["open_pull_requests"].as_u64().unwrap() >= 1);
    assert_eq!(v["token_source"], "environment variable GITEA_TOKEN");
    // Not an admin: the rule's review flags are a named, non-blocking gap.
    let missing = v["missing_permissions"].as_array().unwrap();
    assert!(
        missing.iter().all(|m| m["blocking"] == false),
        "{missing:?}"
    );
    assert!(
        missing
            .iter()
            .any(|m| m["permission"].as_str().unwrap().contains("admin"))
    );
    assert!(sim.mutations().is_empty(), "forge check is read-only");
    assert!(
        sim.requests().iter().all(|r| r.method == "GET"),
        "forge check sends only GETs"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forge_check_text_output_lists_the_contexts() {
    let sim = Sim::start(fixture("gitea-basic.json")).await.unwrap();
    let out = run(
        args(&sim, "gitea", &["--format", "text"]),
        vec![("GITEA_TOKEN", "sim-bot-token".into())],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("required context: CI / test (pull_request)"),
        "{stdout}"
    );
    assert!(stdout.contains("result       0 (success)"), "{stdout}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forge_check_detects_forgejo() {
    let sim = Sim::start(fixture("forgejo-basic.json")).await.unwrap();
    let out = run(
        args(&sim, "forgejo", &["--format", "json"]),
        vec![("GITEA_TOKEN", "sim-bot-token".into())],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["capabilities"]["kind"], "forgejo");
    assert_eq!(
        v["capabilities"]["gitea_api"],
        serde_json::json!([1, 22, 0])
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forge_check_against_github_prints_required_checks_and_exits_0() {
    let sim = Sim::start(fixture("github-basic.json")).await.unwrap();
    let out = run(
        args(&sim, "github", &["--format", "json"]),
        vec![("GITHUB_TOKEN", "sim-bot-token".into())],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["capabilities"]["kind"], "github");
    assert!(
        !v["protection"]["required_contexts"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{v}"
    );
    assert_eq!(v["token_source"], "environment variable GITHUB_TOKEN");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_exits_with_the_auth_code_and_names_its_source_not_its_value() {
    let sim = Sim::start(fixture("gitea-basic.json")).await.unwrap();
    let out = run(
        args(&sim, "gitea", &["--format", "json"]),
        vec![("GITEA_TOKEN", TOKEN.into())],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(
        stderr.contains("environment variable GITEA_TOKEN"),
        "{stderr}"
    );
    assert!(stderr.contains("401"), "{stderr}");
    assert!(!stderr.contains(TOKEN) && !String::from_utf8_lossy(&out.stdout).contains(TOKEN));

    // The same through a token file: the file is named.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let out = run(
        args(&sim, "gitea", &["--token-file", file.to_str().unwrap()]),
        vec![],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("file {}", file.display())),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_repository_exits_not_found_and_an_unreachable_forge_could_not_decide() {
    let sim = Sim::start(fixture("gitea-basic.json")).await.unwrap();
    let mut a = args(&sim, "gitea", &[]);
    let i = a.iter().position(|x| x == "acme/widgets").unwrap();
    a[i] = "acme/nope".into();
    let out = run(a, vec![("GITEA_TOKEN", "sim-bot-token".into())]).await;
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = sim.url();
    sim.shutdown().await;
    // The server is gone: connection refused, retried, then could-not-decide.
    let out = run(
        ["forge", "check", "--url", &url, "--repo", "acme/widgets"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        vec![
            ("GITEA_TOKEN", "sim-bot-token".into()),
            ("MERGEWARD_MAX_RETRIES", "1".into()),
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_serve_prints_its_url_and_serves_the_scenario() {
    use std::io::{BufRead, BufReader};
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sim/gitea-basic.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .args([
            "sim",
            "serve",
            "--scenario",
            scenario.to_str().unwrap(),
            "--format",
            "text",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line.trim().to_string()
    })
    .await
    .unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let version: Value = reqwest::get(format!("{url}/api/v1/version"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(version["version"], "1.22.6");
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn sim_serve_with_a_broken_scenario_is_a_usage_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ \"repo\": ").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .args(["sim", "serve", "--scenario", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.json"));
}

/// The queue's labels: a missing hold label is reported (exit 2, the fix named); `--fix`
/// creates the missing labels, and the next check is clean. Who posted each required
/// context on the branch head is shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forge_check_reports_missing_labels_and_fix_creates_them() {
    for (forge, env) in [("gitea", "GITEA_TOKEN"), ("github", "GITHUB_TOKEN")] {
        let kind = if forge == "gitea" {
            mergeward::forge::ForgeKind::Gitea
        } else {
            mergeward::forge::ForgeKind::GitHub
        };
        let s = base(kind)
            .protect(
                mergeward::sim::ProtectionSpec::new("main")
                    .contexts(&["CI"])
                    .approvals(1),
            )
            .status(mergeward::sim::StatusSpec::branch("main", "CI", "success").creator("ci-bot"));
        let sim = Sim::start(s).await.unwrap();
        let token = || vec![(env, TOKEN.to_string())];
        let out = run(args(&sim, forge, &["--format", "json"]), token()).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{forge}: {stderr}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let labels = v["labels"].as_array().unwrap();
        assert!(
            labels
                .iter()
                .any(|l| l["name"] == "merge-queue-hold" && l["exists"] == false),
            "{forge}: {labels:?}"
        );
        let posters = &v["required_context_posters"][0];
        assert_eq!(posters["required"], "CI", "{forge}: {v:#}");
        assert_eq!(posters["posted"][0]["creator"], "ci-bot", "{forge}: {v:#}");
        // Text output names the fix.
        let out = run(args(&sim, forge, &["--format", "text"]), token()).await;
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("forge check --fix"), "{forge}: {text}");
        assert!(
            text.contains("CI on the head: success by ci-bot"),
            "{forge}: {text}"
        );
        assert!(
            sim.take_mutations().is_empty(),
            "{forge}: a check without --fix sends nothing"
        );
        // --fix creates both labels.
        let out = run(args(&sim, forge, &["--fix", "--format", "json"]), token()).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{forge}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let created: Vec<String> = sim
            .take_mutations()
            .into_iter()
            .filter_map(|m| match m {
                mergeward::sim::Mutation::LabelCreated { name } => Some(name),
                _ => None,
            })
            .collect();
        assert_eq!(created, ["merge-queue-hold", "merge-queue"], "{forge}");
        let out = run(args(&sim, forge, &["--format", "json"]), token()).await;
        assert_eq!(out.status.code(), Some(0), "{forge}: labels exist now");
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forge_check_on_github_shows_pins_and_what_is_left_to_github() {
    use mergeward::sim::RulesetSpec;
    // The fixture pins `build` to GitHub Actions (15368) in classic protection.
    let s = fixture("github-basic.json").ruleset(
        RulesetSpec::new("rs", &["main"]).rule(serde_json::json!({"type": "required_deployments",
            "parameters": {"required_deployment_environments": ["staging"]}})),
    );
    let sim = Sim::start(s).await.unwrap();
    let token = "sim-admin-token".to_string();
    let out = run(
        args(&sim, "github", &["--format", "text"]),
        vec![("GITHUB_TOKEN", token)],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("build pinned to app 15368 (classic protection)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("left to GitHub's mergeable_state: successful deployments to [staging]"),
        "{stdout}"
    );
    sim.shutdown().await;
}
