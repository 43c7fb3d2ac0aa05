//! Helpers for the end-to-end tests that run the real `mergeward` binary against the
//! in-process simulated forge: scenarios, running the binary without blocking the runtime
//! that serves the simulator, envelope validation, and ledgers on both backends.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use mergeward::sim::{
    Mutation, Permission, ProtectionSpec, PullSpec, RecordedRequest, Scenario, Sim, StatusSpec,
};
use serde_json::Value;
use sqlx::{AnyConnection, Connection, Executor};

pub const BOT_TOKEN: &str = "tok-e2e-bot";
pub const REPO: &str = "acme/widgets";
pub const CI: &str = "ci";
pub const QUEUE_CONTEXT: &str = "mergeward/queue";
pub const STATUS_POST: &str = "/repos/{owner}/{repo}/statuses/{sha}";
pub const PULLS: &str = "/repos/{owner}/{repo}/pulls";
pub const BRANCH: &str = "/repos/{owner}/{repo}/branches/{branch}";

/// Gitea `acme/widgets`: `main` requires the `ci` context and one approval; PRs `1..=n`
/// (oldest first) whose `ci` is green and that nobody approved yet.
pub fn scenario(n: u64) -> Scenario {
    let mut s = Scenario::gitea(REPO)
        .user("bot", BOT_TOKEN, Permission::Write)
        .user("alice", "tok-e2e-alice", Permission::Write)
        .branch("main", None, 3)
        .protect(ProtectionSpec::new("main").contexts(&[CI]).approvals(1));
    for pr in 1..=n {
        s = s
            .pr(PullSpec::new(pr)
                .head(format!("feature-{pr}"))
                .user("alice"))
            .status(StatusSpec::pr(pr, CI, "success"));
    }
    s
}

/// Approves `pr` (as alice) on its current head.
pub fn approve(sim: &Sim, pr: u64) {
    sim.with_state(|s| s.add_review(pr, "alice", "APPROVED"));
}

pub fn head(sim: &Sim, pr: u64) -> String {
    sim.with_state(|s| s.pull(pr).head_sha.clone())
}

/// Sets the latest `ci` status on `pr`'s head.
pub fn set_ci(sim: &Sim, pr: u64, state: &str) {
    sim.with_state(|s| {
        let h = s.pull(pr).head_sha.clone();
        s.add_status(&h, CI, state);
    });
}

/// Requests with this method and route template.
pub fn requests_to(sim: &Sim, method: &str, route: &str) -> Vec<RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method == method && r.route.as_deref() == Some(route))
        .collect()
}

/// `mergeward/queue` statuses the forge created on `sha` (mutation log: successful posts).
pub fn queue_statuses_posted(sim: &Sim, sha: &str) -> Vec<String> {
    sim.mutations()
        .into_iter()
        .filter_map(|m| match m {
            Mutation::StatusPosted {
                sha: s,
                context,
                state,
                description,
                ..
            } if s == sha && context == QUEUE_CONTEXT => Some(format!("{state}: {description}")),
            _ => None,
        })
        .collect()
}

/// A scratch directory (cwd of the binary, ledger file, envelopes).
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub fn ledger(&self) -> String {
        self.path("state/ledger.db").display().to_string()
    }
}

/// A command line for the binary: `args` plus the global options that point at the
/// simulator and the ledger.
pub fn tick_cmd(sim: &Sim, ledger: &str, args: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    v.extend(
        [
            "--url",
            &sim.url(),
            "--repo",
            REPO,
            "--branch",
            "main",
            "--ledger",
            ledger,
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    v
}

/// The environment every invocation gets (the rest is cleared).
pub fn base_env() -> Vec<(String, String)> {
    vec![
        ("GITEA_TOKEN".into(), BOT_TOKEN.into()),
        ("MERGEWARD_MAX_RETRIES".into(), "1".into()),
        ("MERGEWARD_LOG".into(), "mergeward=warn".into()),
    ]
}

pub fn command(cwd: &Path, args: &[String], envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mergeward"));
    cmd.env_clear().args(args).current_dir(cwd);
    for (k, v) in base_env() {
        cmd.env(k, v);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// Runs the binary to completion without blocking the runtime that serves the simulator.
pub async fn run(cwd: &Path, args: Vec<String>, envs: &[(&str, &str)]) -> Output {
    let mut cmd = command(cwd, &args, envs);
    tokio::task::spawn_blocking(move || cmd.output().expect("spawn mergeward"))
        .await
        .expect("join")
}

/// Runs a bash script with `$MW` = the binary (for extra descriptors like `3>file`).
pub async fn sh(cwd: &Path, script: String, envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.env_clear()
        .env("MW", env!("CARGO_BIN_EXE_mergeward"))
        .args(["-c", &script])
        .current_dir(cwd);
    for (k, v) in base_env() {
        cmd.env(k, v);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || cmd.output().expect("spawn bash"))
        .await
        .expect("join")
}

/// Spawns the binary in the background (stdout/stderr to files in `cwd`).
pub fn spawn(cwd: &Path, tag: &str, args: &[String], envs: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = command(cwd, args, envs);
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(cwd.join(format!("{tag}.stdout"))).unwrap())
        .stderr(std::fs::File::create(cwd.join(format!("{tag}.stderr"))).unwrap());
    cmd.spawn().expect("spawn mergeward")
}

pub fn stderr_of(cwd: &Path, tag: &str) -> String {
    std::fs::read_to_string(cwd.join(format!("{tag}.stderr"))).unwrap_or_default()
}

/// Polls `cond` every 20 ms until it holds, or panics after `timeout` with `what`.
pub async fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// Asserts the exit code and returns stdout parsed as JSON.
pub fn json_ok(o: &Output, expected: i32) -> Value {
    assert_eq!(
        o.status.code(),
        Some(expected),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

pub fn read_json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}: {text}", p.display()))
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/schemas/envelope.schema.json"
    ))
    .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("schema compiles")
}

/// Asserts that `v` validates against docs/schemas/envelope.schema.json.
pub fn assert_envelope(v: &Value) {
    let errors: Vec<String> = schema()
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "envelope does not match the schema: {errors:?}\n{v:#}"
    );
}

/// Asserts that no envelope reached stdout.
pub fn assert_no_envelope_on_stdout(o: &Output) {
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        !stdout.contains("invocation_id") && !stdout.contains("tool_version"),
        "the envelope must not reach stdout: {stdout}"
    );
}

// ------------------------------------------------------------------ ledger backends

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A ledger locator for `backend`: a file in `scratch`, or a fresh PostgreSQL database
/// (`CREATE DATABASE t_<uuid>` on `MERGEWARD_TEST_PG`). `None` (with a printed reason) when
/// PostgreSQL is not configured — except under `CI`, where that fails the test.
pub async fn ledger_for(backend: Backend, scratch: &Scratch) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(scratch.ledger()),
        Backend::Postgres => {
            let admin = match std::env::var("MERGEWARD_TEST_PG") {
                Ok(v) if !v.trim().is_empty() => v,
                _ => {
                    assert!(
                        !in_ci(),
                        "CI is set but MERGEWARD_TEST_PG is not: the PostgreSQL end-to-end tests must run in CI; \
                         `source scripts/pg-test.sh` before `cargo test`"
                    );
                    eprintln!(
                        "SKIPPED PostgreSQL variant: MERGEWARD_TEST_PG is not set \
                         (run `scripts/pg-test.sh cargo test --test ledger e2e::`)"
                    );
                    return None;
                }
            };
            sqlx::any::install_default_drivers();
            let mut conn = AnyConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to MERGEWARD_TEST_PG: {e}"));
            let name = format!("t_{}", uuid::Uuid::now_v7().simple());
            conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .expect("create test database");
            let _ = conn.close().await;
            let mut url = url::Url::parse(&admin).expect("MERGEWARD_TEST_PG is a URL");
            url.set_path(&format!("/{name}"));
            Some(url.to_string())
        }
    }
}

/// `ledger runs --format json` → the runs, newest first.
pub async fn ledger_runs(scratch: &Scratch, ledger: &str) -> Vec<Value> {
    let o = run(
        scratch.dir.path(),
        vec![
            "ledger".into(),
            "runs".into(),
            "--format".into(),
            "json".into(),
            "--ledger".into(),
            ledger.into(),
        ],
        &[],
    )
    .await;
    let v = json_ok(&o, 0);
    v["runs"].as_array().expect("runs array").clone()
}

/// `ledger show RUN --format json`.
pub async fn ledger_show(scratch: &Scratch, ledger: &str, run_id: &str) -> Value {
    let o = run(
        scratch.dir.path(),
        vec![
            "ledger".into(),
            "show".into(),
            run_id.into(),
            "--format".into(),
            "json".into(),
            "--ledger".into(),
            ledger.into(),
        ],
        &[],
    )
    .await;
    json_ok(&o, 0)
}
