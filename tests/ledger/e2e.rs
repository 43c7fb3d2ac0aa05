//! The decision ledger through the real binary, against the simulated forge: crash safety
//! (SIGKILL mid-tick), the per-branch lock, `ledger explain` chains, `ledger export` and
//! `ledger migrate`. Crash and lock run on SQLite and PostgreSQL (the PostgreSQL variants
//! need `MERGEWARD_TEST_PG`, e.g. `scripts/pg-test.sh cargo test --test ledger e2e::`; under
//! `CI` they must not skip).

use crate::e2e_support;

use std::time::{Duration, Instant};

use e2e_support::*;
use mergeward::sim::{CallMatch, Fault, FaultAction, Sim};
use serde_json::Value;

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

both_backends!(
    sigkill_mid_tick_leaves_a_readable_ledger_and_no_repeated_effect,
    a_second_concurrent_tick_is_skipped_with_the_lock_held_code,
);

// ------------------------------------------------------------------ 1. crash safety

/// A tick posts `mergeward/queue` on three waiting PRs; the second post hangs and the
/// process is SIGKILLed there. The ledger still opens and shows the run as derived
/// `partially_committed`; the next tick does not resend the committed status and resolves
/// the interrupted one (it was never applied, so it is posted once now).
async fn sigkill_mid_tick_leaves_a_readable_ledger_and_no_repeated_effect(backend: Backend) {
    let scratch = Scratch::new();
    let Some(ledger) = ledger_for(backend, &scratch).await else {
        return;
    };
    let sim = Sim::start(scenario(3)).await.unwrap();
    sim.inject(
        Fault::new(STATUS_POST, FaultAction::Hang)
            .method("POST")
            .calls(CallMatch::Nth(2)),
    );
    let (h1, h2, h3) = (head(&sim, 1), head(&sim, 2), head(&sim, 3));
    let args = tick_cmd(&sim, &ledger, &["queue", "tick", "--format", "json"]);
    let envs = [("MERGEWARD_POST_STATUS", "true")];
    let mut child = spawn(scratch.dir.path(), "killed", &args, &envs);
    // The hanging request is recorded on arrival (status 0); completed ones on completion.
    wait_until(Duration::from_secs(20), "the hanging status POST", || {
        requests_to(&sim, "POST", STATUS_POST)
            .iter()
            .any(|r| r.status == 0)
    })
    .await;
    child.kill().expect("SIGKILL");
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "killed by SIGKILL; stderr: {}",
        stderr_of(scratch.dir.path(), "killed")
    );
    let posts = requests_to(&sim, "POST", STATUS_POST);
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[0].status, 201, "the first status committed");
    assert!(posts[0].path.ends_with(&h1) && posts[1].path.ends_with(&h2));
    assert_eq!(queue_statuses_posted(&sim, &h1).len(), 1);
    assert!(queue_statuses_posted(&sim, &h2).is_empty());

    // The ledger opens and derives the killed run's state from its effects.
    let runs = ledger_runs(&scratch, &ledger).await;
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let killed = &runs[0];
    assert_eq!(killed["state"], "partially_committed", "{killed:#}");
    assert_eq!(killed["state_derived"], true);
    assert!(killed["finished_at"].is_null());
    let killed_id = killed["id"].as_str().unwrap().to_string();
    let detail = ledger_show(&scratch, &ledger, &killed_id).await;
    let effects = detail["effects"].as_array().unwrap();
    assert_eq!(effects.len(), 2, "{detail:#}");
    assert_eq!(effects[0]["subject"], "pr:1");
    assert_eq!(effects[0]["kind"], "status");
    assert_eq!(effects[0]["outcome"], "committed");
    assert_eq!(effects[1]["subject"], "pr:2");
    assert!(effects[1]["outcome"].is_null(), "intent only: {detail:#}");
    let interrupted_key = effects[1]["idempotency_key"].as_str().unwrap().to_string();
    let committed_key = effects[0]["idempotency_key"].as_str().unwrap().to_string();
    // The text view says the same.
    let text = run(
        scratch.dir.path(),
        vec![
            "ledger".into(),
            "runs".into(),
            "--format".into(),
            "text".into(),
            "--ledger".into(),
            ledger.clone(),
        ],
        &[],
    )
    .await;
    assert_eq!(code(&text), Some(0));
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("partially_committed (derived)"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );

    // The next tick, fault cleared: the dead holder's lock does not block it (SQLite: the
    // lease names a process that is gone; PostgreSQL: the session ended with the process).
    sim.clear_faults();
    let out = scratch.path("second.json");
    let mut args2 = args.clone();
    args2.extend(["--result-out".into(), out.display().to_string()]);
    let o = run(scratch.dir.path(), args2, &envs).await;
    let report = json_ok(&o, 0);
    assert_eq!(report["outcome"]["kind"], "idle", "{report:#}");
    let envelope = read_json(&out);
    assert_envelope(&envelope);
    let actions: Vec<(String, String, String)> = envelope["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["subject"].as_str().unwrap().to_string(),
                a["outcome"].as_str().unwrap().to_string(),
                a["idempotency_key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // #1's status is already on the forge with the same text: unchanged, not even
    // attempted (the committed key would be replayed anyway). The interrupted one was
    // resolved at the start of the run (not on the forge → failed) and is posted now.
    assert_eq!(
        actions,
        [
            ("pr:2".into(), "committed".into(), interrupted_key.clone()),
            ("pr:3".into(), "committed".into(), actions[1].2.clone()),
        ],
        "{envelope:#}"
    );
    assert_ne!(actions[1].2, committed_key);
    // Exactly one successful POST per head: the committed one was not sent again.
    let posts = requests_to(&sim, "POST", STATUS_POST);
    let ok_to = |h: &str| {
        posts
            .iter()
            .filter(|r| r.path.ends_with(h) && r.status == 201)
            .count()
    };
    assert_eq!(
        (ok_to(&h1), ok_to(&h2), ok_to(&h3)),
        (1, 1, 1),
        "{posts:#?}"
    );
    assert_eq!(
        posts.len(),
        4,
        "h1 once, h2 hung + once, h3 once: {posts:#?}"
    );
    for h in [&h1, &h2, &h3] {
        assert_eq!(queue_statuses_posted(&sim, h).len(), 1, "{h}");
    }

    // The interrupted intent is resolved (not applied on the forge → failed), the new run
    // completed, and the killed run, found unfinished under the lock, is marked crashed.
    let runs = ledger_runs(&scratch, &ledger).await;
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["state"], "completed");
    assert_eq!(runs[0]["state_derived"], false);
    assert_eq!(runs[1]["id"], killed_id.as_str());
    assert_eq!(runs[1]["state"], "crashed");
    assert_eq!(runs[1]["state_derived"], false);
    assert!(runs[1]["finished_at"].is_string(), "{runs:#?}");
    let detail = ledger_show(&scratch, &ledger, &killed_id).await;
    let resolved = &detail["effects"][1];
    assert_eq!(resolved["idempotency_key"], interrupted_key.as_str());
    assert_eq!(resolved["outcome"], "failed", "{detail:#}");
    assert!(
        resolved["error"]
            .as_str()
            .unwrap()
            .contains("interrupted attempt"),
        "{resolved}"
    );
    sim.shutdown().await;
}

// ------------------------------------------------------------------ 2. lock

/// Two ticks on one repository and branch: the first is slowed down on its open-PR read
/// while holding the lock; the second exits at once with 6 (lock_held), records a skipped
/// run naming the holder, and writes a `skipped` envelope. The first still merges.
async fn a_second_concurrent_tick_is_skipped_with_the_lock_held_code(backend: Backend) {
    let scratch = Scratch::new();
    let Some(ledger) = ledger_for(backend, &scratch).await else {
        return;
    };
    let sim = Sim::start(scenario(2)).await.unwrap();
    approve(&sim, 1);
    sim.inject(
        Fault::new(PULLS, FaultAction::Delay { ms: 3_000 })
            .method("GET")
            .calls(CallMatch::Nth(1)),
    );
    let first_out = scratch.path("first.json");
    let mut first_args = tick_cmd(&sim, &ledger, &["queue", "tick", "--format", "json"]);
    first_args.extend(["--result-out".into(), first_out.display().to_string()]);
    let mut first = spawn(scratch.dir.path(), "first", &first_args, &[]);
    // The lock is taken before the first forge request; the branch read completing means
    // the first tick holds it and is now waiting for the slow PR list.
    wait_until(
        Duration::from_secs(20),
        "the first tick's branch read",
        || !requests_to(&sim, "GET", BRANCH).is_empty(),
    )
    .await;

    let second_out = scratch.path("second.json");
    let mut second_args = tick_cmd(&sim, &ledger, &["queue", "tick", "--format", "json"]);
    second_args.extend(["--result-out".into(), second_out.display().to_string()]);
    let started = Instant::now();
    let second = run(scratch.dir.path(), second_args, &[]).await;
    let took = started.elapsed();
    assert_eq!(
        code(&second),
        Some(6),
        "stderr: {}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        first.try_wait().unwrap().is_none(),
        "the second tick returned while the first still held the lock (took {took:?})"
    );
    assert!(
        took < Duration::from_millis(2_500),
        "the loser never waits: {took:?}"
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("is locked by"), "{stderr}");
    let v: Value = serde_json::from_slice(&second.stdout).expect("the error as JSON on stdout");
    assert_eq!(v["exit_label"], "lock_held", "{v}");
    let env2 = read_json(&second_out);
    assert_envelope(&env2);
    assert_eq!(env2["status"], "skipped", "{env2:#}");
    assert_eq!(env2["exit_code"], 6);
    assert_eq!(env2["exit_label"], "lock_held");
    assert_eq!(env2["outcome"], "skipped");
    assert_eq!(env2["command"], "queue tick");
    let skipped_id = env2["ledger"]["run_id"].as_str().unwrap().to_string();
    assert_eq!(
        env2["ledger"]["backend"],
        match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    );

    let status = tokio::task::spawn_blocking(move || first.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "first: {}",
        stderr_of(scratch.dir.path(), "first")
    );
    let env1 = read_json(&first_out);
    assert_envelope(&env1);
    assert_eq!(env1["status"], "succeeded");
    assert_eq!(env1["outcome"], "merged");
    assert!(sim.with_state(|s| s.pull(1).merged));
    // The loser sent no forge request: one PR list, one protection read in all.
    assert_eq!(requests_to(&sim, "GET", PULLS).len(), 1);
    assert_eq!(
        requests_to(
            &sim,
            "GET",
            "/repos/{owner}/{repo}/branch_protections/{name}"
        )
        .len(),
        1
    );

    let runs = ledger_runs(&scratch, &ledger).await;
    assert_eq!(runs.len(), 2, "{runs:#?}");
    let skipped: Vec<&Value> = runs.iter().filter(|r| r["state"] == "skipped").collect();
    let worked: Vec<&Value> = runs.iter().filter(|r| r["state"] == "completed").collect();
    assert_eq!((skipped.len(), worked.len()), (1, 1), "{runs:#?}");
    assert_eq!(skipped[0]["id"], skipped_id.as_str());
    assert_eq!(worked[0]["id"], env1["ledger"]["run_id"]);
    let note = skipped[0]["note"].as_str().unwrap_or_default();
    assert!(note.contains("pid"), "the note names the holder: {note}");
    sim.shutdown().await;
}

// ------------------------------------------------------------------ 4. explain

async fn tick(scratch: &Scratch, sim: &Sim, ledger: &str) -> Value {
    // These stories are about the ledger's records, not the queue's own statuses.
    let o = run(
        scratch.dir.path(),
        tick_cmd(sim, ledger, &["queue", "tick", "--format", "json"]),
        &[("MERGEWARD_POST_STATUS", "false")],
    )
    .await;
    json_ok(&o, 0)
}

/// PR 1 is decided in three runs: wait for an approval, wait for CI, merge. `ledger explain`
/// shows the chain newest first with lineage, in JSON and text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_the_supersede_chain_of_a_pr_newest_first() {
    let scratch = Scratch::new();
    let ledger = scratch.ledger();
    let sim = Sim::start(scenario(1)).await.unwrap();
    set_ci(&sim, 1, "pending");

    let t1 = tick(&scratch, &sim, &ledger).await;
    assert_eq!(t1["decisions"][0]["reason_code"], "insufficient_approvals");
    // Seen again unchanged: reused, not a new row.
    tick(&scratch, &sim, &ledger).await;
    approve(&sim, 1);
    let t2 = tick(&scratch, &sim, &ledger).await;
    assert_eq!(t2["decisions"][0]["reason_code"], "required_not_green");
    set_ci(&sim, 1, "success");
    let t3 = tick(&scratch, &sim, &ledger).await;
    assert_eq!(t3["outcome"]["kind"], "merged", "{t3:#}");

    let o = run(
        scratch.dir.path(),
        vec![
            "ledger".into(),
            "explain".into(),
            "--pr".into(),
            "1".into(),
            "--format".into(),
            "json".into(),
            "--ledger".into(),
            ledger.clone(),
        ],
        &[],
    )
    .await;
    let v = json_ok(&o, 0);
    assert_eq!(v["pr"], 1);
    let chain = v["decisions"].as_array().unwrap();
    let summary: Vec<(&str, &str)> = chain
        .iter()
        .map(|d| {
            (
                d["action"].as_str().unwrap(),
                d["reason_code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("merge", "ready"),
            ("wait", "required_not_green"),
            ("wait", "insufficient_approvals"),
        ],
        "{v:#}"
    );
    // Lineage both ways, newest first, each from its own run.
    assert!(chain[0]["superseded_by"].is_null());
    assert_eq!(chain[0]["supersedes"], chain[1]["id"]);
    assert_eq!(chain[1]["superseded_by"], chain[0]["id"]);
    assert_eq!(chain[1]["supersedes"], chain[2]["id"]);
    assert_eq!(chain[2]["superseded_by"], chain[1]["id"]);
    assert!(chain[2]["supersedes"].is_null());
    assert_eq!(chain[2]["reuse_count"], 1, "the repeated wait was reused");
    assert_eq!(chain[0]["run_id"], t3["run_id"]);
    assert_eq!(chain[1]["run_id"], t2["run_id"]);
    assert_eq!(chain[2]["run_id"], t1["run_id"]);
    assert_eq!(chain[1]["evidence"]["contexts"][CI], "pending");
    assert_eq!(chain[0]["evidence"]["contexts"][CI], "success");
    assert_eq!(chain[0]["evidence"]["approvals"][0], "alice");
    let created: Vec<&str> = chain
        .iter()
        .map(|d| d["created_at"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");

    let o = run(
        scratch.dir.path(),
        vec![
            "ledger".into(),
            "explain".into(),
            "--pr".into(),
            "1".into(),
            "--format".into(),
            "text".into(),
            "--ledger".into(),
            ledger.clone(),
        ],
        &[],
    )
    .await;
    assert_eq!(code(&o), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with("PR #1: 3 decisions, newest first"),
        "{text}"
    );
    let merge = text.find("merge  ready").expect("merge line");
    let ci = text.find("wait   required_not_green").expect("ci line");
    let appr = text
        .find("wait   insufficient_approvals")
        .expect("approval line");
    assert!(merge < ci && ci < appr, "{text}");
    assert!(text.contains("(seen again 1 times"), "{text}");

    // A PR the ledger never decided: a usage error with a hint.
    let o = run(
        scratch.dir.path(),
        vec![
            "ledger".into(),
            "explain".into(),
            "--pr".into(),
            "99".into(),
            "--ledger".into(),
            ledger,
        ],
        &[],
    )
    .await;
    assert_eq!(code(&o), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no decision about PR #99"));
    sim.shutdown().await;
}

// ------------------------------------------------------------------ 5. export, migrate

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_emits_one_typed_json_object_per_line() {
    let scratch = Scratch::new();
    let ledger = scratch.ledger();
    let sim = Sim::start(scenario(2)).await.unwrap();
    approve(&sim, 2);
    let t = tick(&scratch, &sim, &ledger).await;
    assert_eq!(t["outcome"]["kind"], "merged", "{t:#}");

    let o = run(
        scratch.dir.path(),
        vec![
            "ledger".into(),
            "export".into(),
            "--format".into(),
            "jsonl".into(),
            "--ledger".into(),
            ledger,
        ],
        &[],
    )
    .await;
    assert_eq!(code(&o), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    // Runs, then decisions, then effects.
    assert_eq!(types, ["run", "decision", "decision", "effect"], "{text}");
    assert!(lines.iter().all(Value::is_object));
    assert_eq!(lines[0]["id"], t["run_id"]);
    assert_eq!(lines[0]["state"], "completed");
    let subjects: Vec<&str> = lines[1..3]
        .iter()
        .map(|d| d["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["pr:1", "pr:2"]);
    assert_eq!(lines[3]["kind"], "merge");
    assert_eq!(lines[3]["subject"], "pr:2");
    assert_eq!(lines[3]["outcome"], "committed");
    sim.shutdown().await;
}

fn migrate_args(ledger: &str, format: &str) -> Vec<String> {
    ["ledger", "migrate", "--format", format, "--ledger", ledger]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_reports_what_it_applied_on_a_fresh_and_an_old_ledger() {
    let scratch = Scratch::new();
    let cwd = scratch.dir.path();

    // Fresh: every migration; again: nothing.
    let fresh = scratch.ledger();
    let v = json_ok(&run(cwd, migrate_args(&fresh, "json"), &[]).await, 0);
    assert_eq!(v["from_version"], 0, "{v:#}");
    assert_eq!(v["to_version"], 4);
    let applied: Vec<i64> = v["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_i64().unwrap())
        .collect();
    assert_eq!(applied, [1, 2, 3, 4], "{v:#}");
    let v = json_ok(&run(cwd, migrate_args(&fresh, "json"), &[]).await, 0);
    assert_eq!(v["applied"], serde_json::json!([]));
    assert_eq!(
        (v["from_version"].as_i64(), v["to_version"].as_i64()),
        (Some(4), Some(4))
    );
    let o = run(cwd, migrate_args(&fresh, "text"), &[]).await;
    assert_eq!(code(&o), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "ledger schema is at version 4; nothing to apply"
    );

    // The checked-in v1 ledger (copied: the fixture stays untouched): migrations 2 and 3,
    // and its rows are still there.
    let old = scratch.path("old/v1.db");
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ledger/v1.db"),
        &old,
    )
    .unwrap();
    let old = old.display().to_string();
    let out = scratch.path("migrate.json");
    let mut args = migrate_args(&old, "text");
    args.extend(["--result-out".into(), out.display().to_string()]);
    let o = run(cwd, args, &[]).await;
    assert_eq!(code(&o), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.trim()
            .starts_with("applied migration 2 (0002_lineage_reuse_locks)")
            || text.contains("applied migration 2"),
        "{text}"
    );
    assert!(!text.contains("applied migration 1"), "{text}");
    let env = read_json(&out);
    assert_envelope(&env);
    assert_eq!(env["outcome"], "migrated");
    assert_eq!(env["command"], "ledger migrate");
    let runs = ledger_runs(&scratch, &old).await;
    assert_eq!(runs.len(), 2, "the fixture's runs survive: {runs:#?}");
    let o = run(
        cwd,
        vec![
            "ledger".into(),
            "explain".into(),
            "--pr".into(),
            "7".into(),
            "--format".into(),
            "json".into(),
            "--ledger".into(),
            old.clone(),
        ],
        &[],
    )
    .await;
    let v = json_ok(&o, 0);
    assert!(!v["decisions"].as_array().unwrap().is_empty());
    let v = json_ok(&run(cwd, migrate_args(&old, "json"), &[]).await, 0);
    assert_eq!(v["applied"], serde_json::json!([]), "{v:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_from_a_newer_version_is_refused_with_the_usage_code() {
    let scratch = Scratch::new();
    let cwd = scratch.dir.path();
    let ledger = scratch.ledger();
    json_ok(&run(cwd, migrate_args(&ledger, "json"), &[]).await, 0);
    // Pretend a newer mergeward migrated it.
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{ledger}"))
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO ledger_schema (version, name, checksum, applied_at)
             VALUES (5, '0005_from_the_future', 'x', '2099-01-01T00:00:00.000Z')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    for args in [
        migrate_args(&ledger, "json"),
        vec![
            "ledger".into(),
            "runs".into(),
            "--ledger".into(),
            ledger.clone(),
        ],
    ] {
        let out = scratch.path("refused.json");
        let mut args = args;
        args.extend(["--result-out".into(), out.display().to_string()]);
        let o = run(cwd, args.clone(), &[]).await;
        assert_eq!(code(&o), Some(2), "{args:?}");
        // JSON on a pipe: the error is a JSON object on stdout too.
        let v: Value = serde_json::from_slice(&o.stdout).expect("a JSON error on stdout");
        assert_eq!(v["exit_label"], "usage", "{v}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr.contains("schema version 5") && stderr.contains("supports versions up to 4"),
            "{stderr}"
        );
        assert!(stderr.contains("upgrade mergeward"), "{stderr}");
        let env = read_json(&out);
        assert_envelope(&env);
        assert_eq!(env["exit_label"], "usage");
        assert_eq!(env["status"], "failed");
    }
}
