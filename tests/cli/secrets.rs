//! The token never appears in any output, log line, error string or Debug output, on any
//! error path — including a server that echoes it back.

use crate::common;

use std::time::Duration;

use common::*;
use mergeward::forge::{Forge, ForgeKind, PrNumber};
use mergeward::sim::{Fault, FaultAction, Sim};

async fn run_binary(args: Vec<String>, envs: Vec<(&'static str, String)>) -> String {
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"));
        cmd.env_clear()
            .args(&args)
            .current_dir(std::env::temp_dir());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("spawn");
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_output_log_or_error_contains_the_token() {
    let mut collected: Vec<String> = Vec::new();
    for kind in [ForgeKind::Gitea, ForgeKind::GitHub] {
        let sim = Sim::start(base(kind)).await.unwrap();
        let echo = format!("{{\"message\":\"bad credentials: token {TOKEN} / Bearer {TOKEN}\"}}");

        // Library error paths: Display and Debug of every error.
        let f = client_with(&sim, kind, Some(TOKEN), |s| {
            s.request_timeout = Duration::from_millis(200);
            s.max_retries = 1;
        });
        collected.push(format!("{f:?}"));
        sim.inject(Fault::new(
            "/repos/{owner}/{repo}/branches/{branch}",
            FaultAction::Status {
                code: 500,
                body: Some(echo.clone()),
                headers: vec![],
            },
        ));
        let e = f.branch_head("main").await.expect_err("500");
        assert!(
            e.to_string().contains("bad credentials"),
            "the snippet is kept, only the token is masked: {e}"
        );
        collected.push(format!("{e}\n{e:?}"));
        sim.clear_faults();
        sim.inject(Fault::new(
            "/repos/{owner}/{repo}/branches/{branch}",
            FaultAction::Hang,
        ));
        let e = f.branch_head("main").await.expect_err("timeout");
        collected.push(format!("{e}\n{e:?}"));
        sim.clear_faults();
        sim.inject(Fault::new("*", FaultAction::MalformedJson));
        let e = f.pull(PrNumber(1)).await.expect_err("malformed");
        collected.push(format!("{e}\n{e:?}"));
        sim.clear_faults();
        let e = client_with(&sim, kind, Some("tok-CANARY-7f3a9c21-zzz"), |_| {})
            .open_pulls()
            .await
            .expect_err("401");
        collected.push(format!("{e}\n{e:?}"));

        // Binary error paths with the most verbose logging, including other crates' logs.
        let forge = kind.as_str().to_string();
        let env_name = if kind == ForgeKind::GitHub {
            "GITHUB_TOKEN"
        } else {
            "GITEA_TOKEN"
        };
        let args = |extra: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = [
                "forge",
                "check",
                "-vv",
                "--forge",
                &forge,
                "--url",
                &sim.url(),
                "--repo",
                REPO,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        for fault in [
            None,
            Some(FaultAction::Status {
                code: 500,
                body: Some(echo.clone()),
                headers: vec![],
            }),
            Some(FaultAction::Status {
                code: 401,
                body: Some(echo.clone()),
                headers: vec![],
            }),
            Some(FaultAction::Hang),
        ] {
            sim.clear_faults();
            if let Some(a) = fault {
                sim.inject(Fault::new("*", a));
            }
            for format in ["json", "text"] {
                collected.push(
                    run_binary(
                        args(&["--format", format]),
                        vec![
                            (env_name, TOKEN.into()),
                            ("MERGEWARD_LOG", "trace".into()),
                            ("MERGEWARD_REQUEST_TIMEOUT_MS", "300".into()),
                            ("MERGEWARD_MAX_RETRIES", "1".into()),
                        ],
                    )
                    .await,
                );
            }
        }
        sim.clear_faults();
        collected.push(
            run_binary(
                vec![
                    "config".into(),
                    "show".into(),
                    "--format".into(),
                    "text".into(),
                ],
                vec![(env_name, TOKEN.into())],
            )
            .await,
        );
        collected.push(
            run_binary(
                vec![
                    "config".into(),
                    "show".into(),
                    "--format".into(),
                    "json".into(),
                ],
                vec![(env_name, TOKEN.into())],
            )
            .await,
        );
        sim.shutdown().await;
    }
    assert!(collected.len() >= 20);
    assert!(
        collected.iter().any(|c| c.contains("GITEA_TOKEN")),
        "sources are named"
    );
    for text in &collected {
        assert!(!text.contains(TOKEN), "token leaked in:\n{text}");
        assert!(!text.contains("CANARY"), "token leaked in:\n{text}");
    }
}
