//! Result envelopes, progress events and `describe`, through the real binary and the
//! library: envelopes validate against docs/schemas/envelope.schema.json, never reach
//! stdout, and are written on success and on every failure after argument parsing.

use crate::common;

use std::io::Read;
use std::os::fd::IntoRawFd;
use std::path::Path;
use std::process::Output;

use common::*;
use mergeward::error::ExitCode;
use mergeward::forge::ForgeKind;
use mergeward::report::{EnvelopeSink, Progress, RunReport};
use mergeward::sim::{Fault, FaultAction, Sim};
use serde_json::Value;

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/schemas/envelope.schema.json"
    ))
    .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("schema compiles")
}

fn assert_valid(v: &Value) {
    let errors: Vec<String> = schema()
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "envelope does not match the schema: {errors:?}\n{v:#}"
    );
}

/// Runs the binary through bash so that extra descriptors can be opened.
async fn sh(script: String, envs: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new("bash");
        cmd.env_clear()
            .env("MW", env!("CARGO_BIN_EXE_mergeward"))
            .args(["-c", &script])
            .current_dir(std::env::temp_dir());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_command_writes_a_valid_envelope_and_keeps_stdout_clean() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/dir/result.json");
    let o = sh(
        format!(
            "\"$MW\" config show --format json --repo acme/widgets --result-out {}",
            out.display()
        ),
        vec![],
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        !stdout.contains("invocation_id"),
        "the envelope must not reach stdout: {stdout}"
    );
    let v = read_json(&out);
    assert_valid(&v);
    assert_eq!(v["status"], "succeeded");
    assert_eq!(v["command"], "config show");
    assert_eq!(v["repo"], "acme/widgets");
    assert_eq!(v["exit_code"], 0);
    // No temporary files left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_error_still_writes_a_failed_envelope() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[forge]\nrepository = \"x\"\n").unwrap();
    let out = dir.path().join("r.json");
    let o = sh(
        format!(
            "\"$MW\" config show --config {} --result-out {}",
            dir.path().join("bad.toml").display(),
            out.display()
        ),
        vec![],
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    let v = read_json(&out);
    assert_valid(&v);
    assert_eq!(v["status"], "failed");
    assert_eq!(v["exit_label"], "usage");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("forge.repository"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn could_not_decide_writes_an_envelope_with_the_http_status_and_api_counts() {
    let sim = Sim::start(base(ForgeKind::Gitea)).await.unwrap();
    sim.inject(Fault::new(
        "/repos/{owner}/{repo}/branches/{branch}",
        FaultAction::Status {
            code: 502,
            body: None,
            headers: vec![],
        },
    ));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let o = sh(
        format!(
            "\"$MW\" forge check --url {} --repo {REPO} --result-out {}",
            sim.url(),
            out.display()
        ),
        vec![
            ("GITEA_TOKEN", TOKEN.into()),
            ("MERGEWARD_MAX_RETRIES", "1".into()),
        ],
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(ExitCode::CouldNotDecide.code() as i32),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = read_json(&out);
    assert_valid(&v);
    assert_eq!(v["status"], "failed");
    assert_eq!(v["exit_label"], "could_not_decide");
    assert_eq!(v["error"]["http_status"], 502);
    assert_eq!(v["forge"], "gitea");
    assert!(v["api"]["requests"].as_u64().unwrap() >= 3, "{v}");
    assert_eq!(v["api"]["retries"], 1);
    assert!(!std::fs::read_to_string(&out).unwrap().contains(TOKEN));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_envelope_goes_to_an_inherited_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fd.json");
    let o = sh(
        format!(
            "\"$MW\" describe --result-fd 3 3>{} >/dev/null",
            out.display()
        ),
        vec![],
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = read_json(&out);
    assert_valid(&v);
    assert_eq!(v["command"], "describe");
}

#[test]
fn fd_mode_closes_the_descriptor_so_the_reader_sees_eof() {
    let (mut reader, writer) = std::io::pipe().unwrap();
    let fd = writer.into_raw_fd();
    let sink = EnvelopeSink::from_flags(None, Some(fd)).unwrap().unwrap();
    sink.write(&RunReport::new("describe").envelope(ExitCode::Success))
        .unwrap();
    // read_to_string returns only at EOF: it would hang if the descriptor stayed open.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        reader.read_to_string(&mut s).unwrap();
        tx.send(s).unwrap();
    });
    let text = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("EOF after the envelope");
    assert_valid(&serde_json::from_str(&text).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_envelope_flags_are_usage_errors() {
    let o = sh(
        "\"$MW\" describe --result-out /tmp/x.json --result-fd 3 3>/dev/null".into(),
        vec![],
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--result-fd"));
    let o = sh("\"$MW\" describe --result-fd 9".into(), vec![]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not open"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = sh("\"$MW\" describe --result-fd 1".into(), vec![]).await;
    assert_eq!(o.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_events_are_json_lines_on_the_given_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let o = sh(
        format!(
            "\"$MW\" config show --format json --progress-fd 3 3>{} >/dev/null",
            events.display()
        ),
        vec![],
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let lines: Vec<Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(names, ["run_started", "run_completed"]);
    assert!(
        lines
            .iter()
            .all(|l| l["ts"].as_str().unwrap().ends_with('Z'))
    );
    assert_eq!(lines[1]["exit_code"], 0);
}

#[test]
fn a_closed_progress_reader_disables_events_instead_of_failing() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let progress = Progress::new(Some(writer.into_raw_fd()), true).unwrap();
    for _ in 0..3 {
        progress.emit(
            "subject_evaluated",
            serde_json::json!({ "subject": "pr:1" }),
        );
    }
    progress.close();
}

#[test]
fn describe_lists_every_command_with_effects_and_the_exit_codes() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .args(["describe", "--format", "json"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let commands = v["commands"].as_array().unwrap();
    let paths: Vec<&str> = commands
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    for p in ["config show", "forge check", "sim serve", "describe"] {
        assert!(paths.contains(&p), "{paths:?}");
    }
    for c in commands {
        assert!(
            c["effects"].is_string(),
            "every command declares its effects: {c}"
        );
    }
    let codes: Vec<(u64, &str)> = v["exit_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["code"].as_u64().unwrap(), c["label"].as_str().unwrap()))
        .collect();
    let expected: Vec<(u64, &str)> = ExitCode::ALL
        .iter()
        .map(|c| (u64::from(c.code()), c.label()))
        .collect();
    assert_eq!(codes, expected);
    let globals: Vec<&str> = v["global_options"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["long"].as_str())
        .collect();
    for flag in [
        "--repo",
        "--token-env",
        "--token-file",
        "--result-out",
        "--result-fd",
        "--progress-fd",
    ] {
        assert!(globals.contains(&flag), "{globals:?}");
    }
    assert!(
        !globals.contains(&"--token"),
        "a token is never an argument"
    );
}
