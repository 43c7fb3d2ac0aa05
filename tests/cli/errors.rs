//! Errors that point the right way (issue 14): no token, the wrong forge kind, a 404 on the
//! repository, JSON errors on stdout, a closed pipe under `ledger export`, no colour codes
//! on a stderr that is not a terminal. Through the real binary against the simulator.

use crate::common;

use std::process::Output;

use common::*;
use mergeward::forge::ForgeKind;
use mergeward::sim::{ProtectionSpec, Sim};
use serde_json::Value;

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

fn args(sim: &Sim, forge: &str, cmd: &[&str], ledger: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
    v.extend(
        [
            "--forge",
            forge,
            "--url",
            &sim.url(),
            "--repo",
            REPO,
            "--branch",
            "main",
            "--ledger",
            &ledger.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    v
}

/// An error message with what changes from run to run replaced: the simulator's address,
/// temporary paths.
fn stable(msg: &str, sim: Option<&Sim>, dir: Option<&std::path::Path>) -> String {
    let mut m = msg.to_string();
    if let Some(sim) = sim {
        m = m.replace(&sim.url(), "http://forge");
    }
    if let Some(d) = dir {
        m = m.replace(&d.display().to_string(), "<tmp>");
    }
    m
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_says_which_variables_to_set() {
    for kind in FLAVORS {
        let sim = Sim::start(
            base(kind).protect(ProtectionSpec::new("main").contexts(&["CI"]).approvals(1)),
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let o = run(
            args(
                &sim,
                kind.as_str(),
                &["queue", "tick", "--format", "text"],
                &dir.path().join("l.db"),
            ),
            vec![],
        )
        .await;
        let e = stderr(&o);
        insta::assert_snapshot!(
            format!("no_token_{kind}"),
            stable(&e, Some(&sim), Some(dir.path()))
        );
        assert_ne!(o.status.code(), Some(0), "{kind}: {e}");
        assert!(
            e.contains("no token: set MERGEWARD_TOKEN (or GITEA_TOKEN / GITHUB_TOKEN), or pass --token-file PATH"),
            "{kind}: {e}"
        );
        assert!(!e.contains("rejected the token"), "{kind}: {e}");
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forge_github_against_a_gitea_server_suggests_forge_gitea() {
    let sim = Sim::start(base(ForgeKind::Gitea)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        args(
            &sim,
            "github",
            &["forge", "check", "--format", "text"],
            &dir.path().join("l.db"),
        ),
        vec![("GITHUB_TOKEN", TOKEN.to_string())],
    )
    .await;
    let e = stderr(&o);
    insta::assert_snapshot!("not_github", stable(&e, Some(&sim), Some(dir.path())));
    assert_eq!(o.status.code(), Some(4), "{e}");
    assert!(e.contains("this server does not look like GitHub"), "{e}");
    assert!(e.contains("try --forge gitea"), "{e}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_repository_is_not_a_token_problem() {
    let sim = Sim::start(base(ForgeKind::Gitea)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut a = args(&sim, "gitea", &["queue", "tick"], &dir.path().join("l.db"));
    let i = a.iter().position(|x| x == REPO).unwrap();
    a[i] = "acme/nothing-here".into();
    let o = run(a, vec![("GITEA_TOKEN", TOKEN.to_string())]).await;
    let e = stderr(&o);
    insta::assert_snapshot!(
        "missing_repository",
        stable(&e, Some(&sim), Some(dir.path()))
    );
    assert_eq!(o.status.code(), Some(4), "{e}");
    assert!(e.contains("check --repo and --branch"), "{e}");
    assert!(
        !e.contains("rejected the token") && !e.contains("lacks a permission"),
        "a 404 is not blamed on the token: {e}"
    );
    // On a pipe the output is JSON: the error is a JSON object on stdout too.
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["exit_label"], "not_found", "{v}");
    assert_eq!(v["exit_code"], 4, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("acme/nothing-here"),
        "{v}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stderr_carries_no_colour_codes_when_it_is_not_a_terminal() {
    // Protection that lists the queue's own context: the tick warns about it on stderr, a
    // line that is coloured on a terminal.
    let sim = Sim::start(
        base(ForgeKind::Gitea).protect(
            ProtectionSpec::new("main")
                .contexts(&["CI", "mergeward/queue"])
                .approvals(1),
        ),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        args(
            &sim,
            "gitea",
            &["queue", "status"],
            &dir.path().join("l.db"),
        ),
        vec![("GITEA_TOKEN", TOKEN.to_string())],
    )
    .await;
    let e = stderr(&o);
    assert!(!e.is_empty(), "some log lines are expected");
    assert!(!e.contains('\u{1b}'), "no ANSI escape on a pipe: {e:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_export_into_a_closed_pipe_exits_0() {
    // A ledger larger than a pipe's buffer, so the writer meets the closed pipe.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.db");
    {
        let l = mergeward::ledger::Ledger::open(&path.display().to_string())
            .await
            .unwrap();
        let run = l
            .start_run(&mergeward::ledger::NewRun::new(
                "queue tick",
                "gitea",
                REPO,
                "main",
            ))
            .await
            .unwrap();
        let mut tx = l.tick().await.unwrap();
        for n in 0..3000u64 {
            let d = mergeward::ledger::NewDecision {
                run_id: run.id.clone(),
                subject: mergeward::ledger::pr_subject(n),
                action: mergeward::ledger::Action::Wait,
                reason_code: mergeward::ledger::ReasonCode::new("required_not_green").unwrap(),
                reason_text: "required contexts not green: CI=pending (a long enough text to fill pipes quickly)".into(),
                evidence: mergeward::ledger::Evidence::default(),
                dry_run: false,
            };
            tx.record_decision(&d).await.unwrap();
        }
        tx.commit().await.unwrap();
        l.close().await;
    }
    let mw = env!("CARGO_BIN_EXE_mergeward");
    let o = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "'{mw}' ledger export --ledger '{}' | head -n 1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
                path.display()
            ))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let status = String::from_utf8_lossy(&o.stdout);
    assert_eq!(status.trim(), "0", "stderr: {}", stderr(&o));
    assert!(!stderr(&o).contains("error"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_show_lists_every_key_unset_ones_included() {
    let dir = tempfile::tempdir().unwrap();
    let o = tokio::task::spawn_blocking({
        let d = dir.path().to_path_buf();
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"))
                .env_clear()
                .args(["config", "show", "--format", "json"])
                .current_dir(d)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let values = v["values"].as_array().unwrap();
    for d in mergeward::config::KEYS {
        assert!(
            values.iter().any(|x| x["key"] == d.key),
            "{} is listed",
            d.key
        );
    }
    let url = values.iter().find(|x| x["key"] == "forge.url").unwrap();
    assert_eq!(url["source"], "unset", "{url}");
    assert!(url["value"].is_null());
    let token = values.iter().find(|x| x["key"] == "forge.token").unwrap();
    assert!(
        token["help"].as_str().unwrap().contains("MERGEWARD_TOKEN"),
        "{token}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_that_is_not_sqlite_or_not_reachable_fails_within_seconds_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("notes.txt");
    std::fs::write(&bogus, "these are my notes, not a database\n".repeat(200)).unwrap();
    for (ledger, names) in [
        (bogus.display().to_string(), bogus.display().to_string()),
        (
            "postgres://mw:secret@127.0.0.1:9/ledger".to_string(),
            "127.0.0.1:9".to_string(),
        ),
    ] {
        let started = std::time::Instant::now();
        let d = dir.path().to_path_buf();
        let l = ledger.clone();
        let o = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"))
                .env_clear()
                .args(["ledger", "runs", "--format", "text", "--ledger", &l])
                .current_dir(d)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let took = started.elapsed();
        let e = stderr(&o);
        insta::assert_snapshot!(
            if ledger.starts_with("postgres") {
                "ledger_unreachable"
            } else {
                "ledger_not_sqlite"
            },
            stable(&e, None, Some(dir.path()))
        );
        assert_ne!(o.status.code(), Some(0), "{ledger}: {e}");
        assert!(
            took < std::time::Duration::from_secs(5),
            "{ledger}: took {took:?}"
        );
        assert!(e.contains(&names), "{ledger}: the message names it: {e}");
        assert!(!e.contains("secret"), "the password is never printed: {e}");
    }
}

/// On a terminal a tick shows progress from its first request (the simulator answers slowly
/// here, so the reads before the candidates take a while); on a pipe nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_on_a_terminal_shows_progress_from_the_first_request() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: util-linux `script` (a pseudo-terminal) is not installed");
        return;
    }
    let sim = Sim::start(
        base(ForgeKind::Gitea)
            .protect(ProtectionSpec::new("main").contexts(&["CI"]).approvals(1))
            .latency_ms(400),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mw = env!("CARGO_BIN_EXE_mergeward");
    let cmd = format!(
        "GITEA_TOKEN={TOKEN} '{mw}' queue status --format text --url {} --repo {REPO} --branch main --ledger '{}'",
        sim.url(),
        dir.path().join("l.db").display()
    );
    let o = tokio::task::spawn_blocking(move || {
        std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("TERM", "xterm")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let screen = String::from_utf8_lossy(&o.stdout);
    assert!(
        screen.contains("reading main's protection, head and open pull requests"),
        "the spinner shows before the first answer: {screen}"
    );
    // The same command on a pipe: no progress at all on stderr.
    let o = run(
        args(
            &sim,
            "gitea",
            &["queue", "status", "--format", "text"],
            &dir.path().join("l.db"),
        ),
        vec![("GITEA_TOKEN", TOKEN.to_string())],
    )
    .await;
    assert!(!stderr(&o).contains("reading main"), "{}", stderr(&o));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_without_a_scheme_is_a_usage_error_showing_the_corrected_url() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        vec![
            "forge".into(),
            "check".into(),
            "--url".into(),
            "git.example.com".into(),
            "--repo".into(),
            REPO.into(),
            "--format".into(),
            "text".into(),
            "--ledger".into(),
            dir.path().join("l.db").display().to_string(),
        ],
        vec![("GITEA_TOKEN", TOKEN.to_string())],
    )
    .await;
    let e = stderr(&o);
    insta::assert_snapshot!("url_without_scheme", stable(&e, None, Some(dir.path())));
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("\"git.example.com\" has no scheme"), "{e}");
    assert!(e.contains("https://git.example.com"), "{e}");
    // The original scripts' GITEA_HOST is a bare host by design: still accepted.
    let o = run(
        vec![
            "config".into(),
            "show".into(),
            "--format".into(),
            "json".into(),
        ],
        vec![("GITEA_HOST", "git.example.com".to_string())],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let url = v["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["key"] == "forge.url")
        .unwrap()
        .clone();
    assert_eq!(url["value"], "https://git.example.com", "{url}");
}

/// A ledger exported (CI's) and imported into an empty one (a laptop's): the same runs, and
/// `ledger show` finds a run by a short prefix of its id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_export_imports_into_an_empty_ledger_and_runs_are_found_by_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let from = dir.path().join("ci.db");
    let run_id = {
        let l = mergeward::ledger::Ledger::open(&from.display().to_string())
            .await
            .unwrap();
        let r = l
            .start_run(&mergeward::ledger::NewRun::new(
                "queue tick",
                "gitea",
                REPO,
                "main",
            ))
            .await
            .unwrap();
        l.close().await;
        r.id
    };
    let mw = env!("CARGO_BIN_EXE_mergeward");
    let to = dir.path().join("local.db");
    let export = dir.path().join("ci.jsonl");
    let sh = format!(
        "'{mw}' ledger export --ledger '{}' > '{}' && '{mw}' ledger import '{}' --ledger '{}' --format json",
        from.display(),
        export.display(),
        export.display(),
        to.display()
    );
    let o = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .args(["-c", &sh])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["runs"], 1, "{v}");
    let short: String = run_id.chars().filter(|c| *c != '-').take(10).collect();
    let o = run(
        vec![
            "ledger".into(),
            "show".into(),
            short,
            "--ledger".into(),
            to.display().to_string(),
            "--format".into(),
            "json".into(),
        ],
        vec![],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["run"]["id"], run_id.as_str(), "{v}");
}
