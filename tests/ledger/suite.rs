//! The decision ledger's test suite, written once and run on both backends:
//! SQLite (a file in a temp dir) always, PostgreSQL when `MERGEWARD_TEST_PG` holds a
//! connection URL (each test gets its own `CREATE DATABASE t_<uuid>`). Without it the
//! PostgreSQL variants print why they skip — except under `CI`, where they fail.
//!
//! `scripts/pg-test.sh cargo test --test ledger suite::` runs everything against a throwaway
//! server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mergeward::error::ExitCode;
use mergeward::ledger::*;
use sqlx::{AnyConnection, Connection, Executor};

// ------------------------------------------------------------------ harness

struct TestDb {
    locator: String,
    backend: Backend,
    dir: tempfile::TempDir,
}

impl TestDb {
    async fn open(&self) -> Ledger {
        match Ledger::open(&self.locator).await {
            Ok(l) => l,
            Err(e) => panic!("open {}: {e}", self.locator),
        }
    }

    /// The SQLite file (SQLite only).
    fn path(&self) -> PathBuf {
        self.dir.path().join("state/ledger.db")
    }
}

fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    // A nested directory that does not exist yet: open must create it.
    let path = dir.path().join("state/ledger.db");
    TestDb {
        locator: path.display().to_string(),
        backend: Backend::Sqlite,
        dir,
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn pg_admin_url() -> Option<String> {
    match std::env::var("MERGEWARD_TEST_PG") {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => {
            if in_ci() {
                panic!(
                    "CI is set but MERGEWARD_TEST_PG is not: the PostgreSQL ledger tests must run in CI; \
                     `source scripts/pg-test.sh` before `cargo test`"
                );
            }
            eprintln!(
                "SKIPPED PostgreSQL variant: MERGEWARD_TEST_PG is not set \
                 (run `scripts/pg-test.sh cargo test --test ledger suite::` to include it)"
            );
            None
        }
    }
}

async fn pg_db() -> Option<TestDb> {
    let admin = pg_admin_url()?;
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to MERGEWARD_TEST_PG: {e}"));
    let name = format!("t_{}", new_id().replace('-', ""));
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create test database");
    let _ = conn.close().await;
    let mut url = url::Url::parse(&admin).expect("MERGEWARD_TEST_PG is a URL");
    url.set_path(&format!("/{name}"));
    Some(TestDb {
        locator: url.to_string(),
        backend: Backend::Postgres,
        dir: tempfile::tempdir().expect("tempdir"),
    })
}

/// Generate `#[tokio::test]`s running `async fn NAME(&TestDb)` on SQLite and PostgreSQL.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::sqlite_db();
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::pg_db().await else { return };
                    super::$name(&db).await;
                }
            )*
        }
    };
}

both_backends!(
    fresh_database_is_migrated,
    v1_ledger_is_migrated_keeping_rows,
    newer_schema_is_refused,
    supersede_chain_and_reuse,
    intent_outcome_and_replay,
    committed_key_is_unique,
    derived_run_state,
    crash_mid_tick_in_a_child_process,
    concurrent_lock_holders,
    lock_expiry_and_release,
    export_import_round_trip,
    tick_commits_once_or_not_at_all,
    runs_and_show,
);

// ------------------------------------------------------------------ helpers

const HEAD: &str = "1111111111111111111111111111111111111111";
const HEAD2: &str = "2222222222222222222222222222222222222222";
const BASE: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn run_input() -> NewRun {
    let mut r = NewRun::new("tick", "gitea", "acme/widgets", "main");
    r.config_digest = "sha256:cfg".into();
    r
}

fn evidence(head: &str) -> Evidence {
    Evidence {
        head_sha: Some(head.into()),
        base_sha: Some(BASE.into()),
        mergeable: Some(true),
        contexts: [("ci/build".to_string(), "pending".to_string())].into(),
        approvals: vec!["alice".into()],
        required_approvals: Some(2),
        ..Evidence::default()
    }
}

fn decision(run: &str, subject: &str, action: Action, reason: &str, head: &str) -> NewDecision {
    NewDecision {
        run_id: run.into(),
        subject: subject.into(),
        action,
        reason_code: ReasonCode::new(reason).expect("valid reason"),
        reason_text: format!("{action} because {reason}"),
        evidence: evidence(head),
        dry_run: false,
    }
}

fn effect(run: &str, subject: &str, kind: EffectKind, disc: &str, head: &str) -> NewEffect {
    NewEffect {
        run_id: run.into(),
        decision_id: None,
        subject: subject.into(),
        kind,
        head_sha: Some(head.into()),
        base_sha: Some(BASE.into()),
        discriminator: disc.into(),
        payload: serde_json::json!({ "note": "test" }),
    }
}

fn proceed(i: Intent) -> String {
    match i {
        Intent::Proceed(id) => id,
        other => panic!("expected Proceed, got {other:?}"),
    }
}

async fn start(l: &Ledger) -> String {
    l.start_run(&run_input()).await.expect("start run").id
}

fn is_ts(s: &str) -> bool {
    // 2026-11-21T05:50:00.622Z
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

// ------------------------------------------------------------------ migrations

async fn fresh_database_is_migrated(db: &TestDb) {
    let l = db.open().await;
    let applied: Vec<i64> = l.applied_on_open().iter().map(|m| m.version).collect();
    assert_eq!(applied, vec![1, 2, 3, 4]);
    assert_eq!(l.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert!(l.applied_on_open().iter().all(|m| is_ts(&m.applied_at)));
    assert!(
        l.migrate().await.unwrap().is_empty(),
        "nothing left to apply"
    );
    l.close().await;
    let again = db.open().await;
    assert!(again.applied_on_open().is_empty());
    if db.backend == Backend::Sqlite {
        assert!(db.path().exists());
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(again.pool())
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }
}

/// Put a version-1 ledger at `db`: the checked-in file on SQLite, the same SQL on PostgreSQL.
async fn install_v1(db: &TestDb) {
    if db.backend == Backend::Sqlite {
        std::fs::create_dir_all(db.path().parent().unwrap()).unwrap();
        std::fs::copy(fixture("v1.db"), db.path()).expect("copy fixtures/ledger/v1.db");
    } else {
        write_v1(&db.locator).await;
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/ledger")
        .join(name)
}

/// Migrations up to version 1 plus `fixtures/ledger/v1_rows.sql`.
async fn write_v1(locator: &str) {
    let opts = LedgerOptions {
        target_version: 1,
        ..LedgerOptions::default()
    };
    let l = Ledger::open_with(&Locator::parse(locator).unwrap(), &opts)
        .await
        .expect("open at version 1");
    assert_eq!(l.schema_version().await.unwrap(), 1);
    let rows = std::fs::read_to_string(fixture("v1_rows.sql")).expect("v1_rows.sql");
    sqlx::raw_sql(sqlx::AssertSqlSafe(rows))
        .execute(l.pool())
        .await
        .expect("insert v1 rows");
    let backend = l.backend();
    l.close().await;
    if backend == Backend::Sqlite {
        // A self-contained file (no -wal beside it), on one connection.
        let mut c = AnyConnection::connect(&format!("sqlite://{locator}"))
            .await
            .unwrap();
        c.execute("PRAGMA journal_mode = DELETE").await.unwrap();
        c.close().await.unwrap();
    }
}

/// Regenerates `fixtures/ledger/v1.db`: `cargo test --test ledger -- --ignored regenerate_v1_fixture`.
#[tokio::test]
#[ignore = "writes fixtures/ledger/v1.db; run by hand after changing v1_rows.sql"]
async fn regenerate_v1_fixture() {
    let tmp = fixture("v1.db.tmp");
    let _ = std::fs::remove_file(&tmp);
    write_v1(&tmp.display().to_string()).await;
    std::fs::rename(&tmp, fixture("v1.db")).expect("replace v1.db");
}

async fn v1_ledger_is_migrated_keeping_rows(db: &TestDb) {
    install_v1(db).await;
    let l = db.open().await;
    let applied: Vec<i64> = l.applied_on_open().iter().map(|m| m.version).collect();
    assert_eq!(applied, vec![2, 3, 4], "the v2, v3 and v4 migrations run");
    assert_eq!(l.schema_version().await.unwrap(), 4);

    let runs = l.runs(10).await.unwrap();
    assert_eq!(runs.len(), 2);
    let finished = runs.iter().find(|r| r.id.ends_with("0001")).unwrap();
    assert_eq!(finished.state, RunState::Completed);
    assert!(!finished.state_derived);
    assert_eq!(finished.tool_version, "0.0.9");
    // The unfinished v1 run has one committed and one intent-only effect.
    let open = runs.iter().find(|r| r.id.ends_with("0002")).unwrap();
    assert_eq!(open.state, RunState::PartiallyCommitted);
    assert!(open.state_derived);
    assert_eq!(open.note, None);

    // Lineage is computed for the v1 rows.
    let chain = l.explain("pr:7").await.unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0].action, Action::Merge);
    assert_eq!(chain[0].supersedes.as_deref(), Some(chain[1].id.as_str()));
    assert_eq!(
        chain[1].superseded_by.as_deref(),
        Some(chain[0].id.as_str())
    );
    assert_eq!(
        chain[1].superseded_at.as_deref(),
        Some(chain[0].created_at.as_str())
    );
    assert!(chain[0].is_current());
    assert_eq!(chain[0].reuse_count, 0);
    assert_eq!(
        chain[0].last_seen_at.as_deref(),
        Some(chain[0].created_at.as_str())
    );
    assert_eq!(chain[0].evidence.approvals, vec!["alice", "bob"]);
    let pr8 = l.explain("pr:8").await.unwrap();
    assert_eq!(pr8.len(), 1);
    assert!(pr8[0].supersedes.is_none() && pr8[0].is_current());

    // The v1 committed merge is replayed, the v1 intent-only label is unresolved.
    let run = start(&l).await;
    let mut merge = effect(
        &run,
        "pr:7",
        EffectKind::Merge,
        "",
        "a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7",
    );
    merge.base_sha = Some("b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0".into());
    match l.record_intent(&merge).await.unwrap() {
        Intent::Replayed { prior } => assert!(prior.id.ends_with("00e1")),
        other => panic!("expected the v1 merge to replay, got {other:?}"),
    }
    let mut label = effect(
        &run,
        "pr:8",
        EffectKind::Label,
        "add:merge-queue-hold",
        "c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8",
    );
    label.base_sha = merge.base_sha.clone();
    assert!(matches!(
        l.record_intent(&label).await.unwrap(),
        Intent::Unresolved { .. }
    ));

    // New writes work on the migrated ledger and extend the old chain.
    let rec = l
        .record_decision(&decision(&run, "pr:7", Action::Wait, "head_moved", HEAD))
        .await
        .unwrap();
    assert!(
        matches!(rec, Recorded::Created { supersedes: Some(ref s), .. } if s.ends_with("00d3"))
    );
}

async fn newer_schema_is_refused(db: &TestDb) {
    let l = db.open().await;
    sqlx::query(
        "INSERT INTO ledger_schema (version, name, checksum, applied_at) VALUES (99, 'future', 'x', '2099-01-01T00:00:00.000Z')",
    )
    .execute(l.pool())
    .await
    .unwrap();
    l.close().await;
    for migrate in [true, false] {
        let opts = LedgerOptions {
            migrate,
            ..LedgerOptions::default()
        };
        let err = Ledger::open_with(&Locator::parse(&db.locator).unwrap(), &opts)
            .await
            .expect_err("a newer ledger must be refused");
        match &err {
            LedgerError::NewerSchema {
                found, supported, ..
            } => {
                assert_eq!(*found, 99);
                assert_eq!(*supported, SCHEMA_VERSION);
            }
            other => panic!("expected NewerSchema, got {other:?}"),
        }
        assert_eq!(err.exit_code(), ExitCode::Usage);
        let msg = err.to_string();
        assert!(
            msg.contains("99") && msg.contains("upgrade mergeward"),
            "{msg}"
        );
    }
}

// ------------------------------------------------------------------ decisions

async fn supersede_chain_and_reuse(db: &TestDb) {
    let l = db.open().await;
    let run = start(&l).await;
    let first = l
        .record_decision(&decision(
            &run,
            "pr:41",
            Action::Wait,
            "checks_pending",
            HEAD,
        ))
        .await
        .unwrap();
    assert!(matches!(
        first,
        Recorded::Created {
            supersedes: None,
            ..
        }
    ));

    // The same decision again: no row, counter up.
    let again = l
        .record_decision(&decision(
            &run,
            "pr:41",
            Action::Wait,
            "checks_pending",
            HEAD,
        ))
        .await
        .unwrap();
    assert_eq!(
        again,
        Recorded::Reused {
            id: first.id().into(),
            reuse_count: 1
        }
    );
    // Evidence details and reason text may change without a new row.
    let run2 = start(&l).await;
    let mut d = decision(&run2, "pr:41", Action::Wait, "checks_pending", HEAD);
    d.evidence
        .contexts
        .insert("ci/lint".into(), "success".into());
    d.reason_text = "still waiting".into();
    assert_eq!(
        l.record_decision(&d).await.unwrap(),
        Recorded::Reused {
            id: first.id().into(),
            reuse_count: 2
        }
    );
    let cur = l.decision(first.id()).await.unwrap().unwrap();
    assert_eq!(cur.reuse_count, 2);
    assert_eq!(cur.last_seen_run_id.as_deref(), Some(run2.as_str()));
    assert!(cur.last_seen_at.as_deref().unwrap() >= cur.created_at.as_str());

    // A different action supersedes.
    let second = l
        .record_decision(&decision(&run2, "pr:41", Action::Merge, "ready", HEAD))
        .await
        .unwrap();
    assert_eq!(
        second,
        Recorded::Created {
            id: second.id().into(),
            supersedes: Some(first.id().into())
        }
    );
    // So does a new head with the earlier action.
    let third = l
        .record_decision(&decision(&run2, "pr:41", Action::Merge, "ready", HEAD2))
        .await
        .unwrap();
    assert!(!third.is_reused());
    // A dry-run decision is not a repeat of a real one.
    let mut dry = decision(&run2, "pr:41", Action::Merge, "ready", HEAD2);
    dry.dry_run = true;
    let fourth = l.record_decision(&dry).await.unwrap();
    assert!(!fourth.is_reused());
    // Another subject is independent.
    let other = l
        .record_decision(&decision(&run2, "pr:42", Action::Merge, "ready", HEAD))
        .await
        .unwrap();
    assert!(matches!(
        other,
        Recorded::Created {
            supersedes: None,
            ..
        }
    ));

    let chain = l.explain("pr:41").await.unwrap();
    let ids: Vec<&str> = chain.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, vec![fourth.id(), third.id(), second.id(), first.id()]);
    assert!(chain[0].is_current() && chain[0].dry_run);
    for w in chain.windows(2) {
        assert_eq!(w[0].supersedes.as_deref(), Some(w[1].id.as_str()));
        assert_eq!(w[1].superseded_by.as_deref(), Some(w[0].id.as_str()));
        assert!(w[1].superseded_at.is_some());
        assert!(w[0].created_at >= w[1].created_at);
    }
    assert!(chain[3].supersedes.is_none());
    assert_eq!(chain.iter().filter(|d| d.is_current()).count(), 1);
    assert_eq!(chain[2].head_sha.as_deref(), Some(HEAD));
    assert_eq!(chain[1].head_sha.as_deref(), Some(HEAD2));
    assert_eq!(chain[3].evidence, evidence(HEAD));
    assert!(chain.iter().all(|d| is_ts(&d.created_at)));
    assert!(l.explain("pr:999").await.unwrap().is_empty());

    // A finished run takes no more decisions.
    l.finish_run(&run, RunState::Completed).await.unwrap();
    let err = l
        .record_decision(&decision(&run, "pr:41", Action::Hold, "x", HEAD))
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::RunFinished { .. }), "{err}");
    let err = l
        .record_decision(&decision("no-such-run", "pr:41", Action::Hold, "x", HEAD))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LedgerError::NotFound { what: "run", .. }),
        "{err}"
    );
}

// ------------------------------------------------------------------ effects

async fn intent_outcome_and_replay(db: &TestDb) {
    let l = db.open().await;
    let run = start(&l).await;
    let d = l
        .record_decision(&decision(&run, "pr:41", Action::Merge, "ready", HEAD))
        .await
        .unwrap();
    let mut merge = effect(&run, "pr:41", EffectKind::Merge, "", HEAD);
    merge.decision_id = Some(d.id().into());
    let m1 = proceed(l.record_intent(&merge).await.unwrap());
    let rec = l.effect(&m1).await.unwrap().unwrap();
    assert_eq!(rec.outcome, None, "intent recorded before the forge call");
    assert_eq!(rec.idempotency_key, merge.key());
    assert_eq!(rec.decision_id.as_deref(), Some(d.id()));
    assert!(is_ts(&rec.intent_at));
    l.record_outcome(&m1, &Outcome::Committed).await.unwrap();

    // Same key from a later run: replayed, must not be sent again.
    let run2 = start(&l).await;
    let merge2 = NewEffect {
        run_id: run2.clone(),
        ..merge.clone()
    };
    match l.record_intent(&merge2).await.unwrap() {
        Intent::Replayed { prior } => {
            assert_eq!(prior.id, m1);
            assert_eq!(prior.outcome, Some(OutcomeKind::Committed));
            assert!(prior.outcome_at.as_deref().is_some_and(is_ts));
        }
        other => panic!("expected Replayed, got {other:?}"),
    }
    // A new head is a new key.
    let merge_new_head = effect(&run2, "pr:41", EffectKind::Merge, "", HEAD2);
    assert_ne!(merge_new_head.key(), merge.key());
    let m2 = proceed(l.record_intent(&merge_new_head).await.unwrap());

    // A failed effect may be tried again.
    let label = effect(
        &run2,
        "pr:43",
        EffectKind::Label,
        "add:merge-queue-hold",
        HEAD,
    );
    let l1 = proceed(l.record_intent(&label).await.unwrap());
    l.record_outcome(&l1, &Outcome::Failed("HTTP 500".into()))
        .await
        .unwrap();
    let l2 = proceed(l.record_intent(&label).await.unwrap());
    assert_ne!(l1, l2);
    let failed = l.effect(&l1).await.unwrap().unwrap();
    assert_eq!(failed.outcome, Some(OutcomeKind::Failed));
    assert_eq!(failed.error.as_deref(), Some("HTTP 500"));

    // Final outcomes are final.
    let err = l
        .record_outcome(&m1, &Outcome::Failed("x".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::OutcomeFinal { .. }), "{err}");
    assert_eq!(err.exit_code(), ExitCode::Internal);
    let err = l
        .record_outcome("nope", &Outcome::Committed)
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::NotFound { what: "effect", .. }));

    // An intent without outcome (crash) or with unknown outcome is unresolved...
    match l.record_intent(&label).await.unwrap() {
        Intent::Unresolved { prior } => assert_eq!(prior.id, l2),
        other => panic!("expected Unresolved, got {other:?}"),
    }
    l.record_outcome(&m2, &Outcome::Unknown("timeout after send".into()))
        .await
        .unwrap();
    assert!(matches!(
        l.record_intent(&merge_new_head).await.unwrap(),
        Intent::Unresolved { prior } if prior.id == m2
    ));
    // ...until the caller reads the forge and resolves it.
    l.record_outcome(&m2, &Outcome::Committed).await.unwrap();
    assert!(matches!(
        l.record_intent(&merge_new_head).await.unwrap(),
        Intent::Replayed { prior } if prior.id == m2
    ));
    l.record_outcome(
        &l2,
        &Outcome::Failed("not sent: read showed no label".into()),
    )
    .await
    .unwrap();
    proceed(l.record_intent(&label).await.unwrap());

    // Status effects with another state are other effects (the discriminator says so).
    let s1 = effect(
        &run2,
        "commit:abc",
        EffectKind::Status,
        "mergeward/gate=pending",
        HEAD,
    );
    let s2 = effect(
        &run2,
        "commit:abc",
        EffectKind::Status,
        "mergeward/gate=success",
        HEAD,
    );
    let s1id = proceed(l.record_intent(&s1).await.unwrap());
    l.record_outcome(&s1id, &Outcome::Committed).await.unwrap();
    proceed(l.record_intent(&s2).await.unwrap());
}

async fn committed_key_is_unique(db: &TestDb) {
    let l = db.open().await;
    let run = start(&l).await;
    let e = effect(&run, "pr:5", EffectKind::Comment, "tmpl:held", HEAD);
    let a = proceed(l.record_intent(&e).await.unwrap());
    // A second writer that bypassed the lock recorded the same intent (raw insert).
    let b = new_id();
    sqlx::query(
        "INSERT INTO effects (id, run_id, decision_id, subject, kind, idempotency_key, discriminator, head_sha, base_sha, payload, intent_at)
         VALUES ($1, $2, NULL, 'pr:5', 'comment', $3, 'tmpl:held', NULL, NULL, '{}', $4)",
    )
    .bind(&b)
    .bind(&run)
    .bind(e.key())
    .bind(now_ts())
    .execute(l.pool())
    .await
    .unwrap();
    l.record_outcome(&a, &Outcome::Committed).await.unwrap();
    let err = l.record_outcome(&b, &Outcome::Committed).await.unwrap_err();
    assert!(
        matches!(&err, LedgerError::DuplicateCommit { prior_id, .. } if *prior_id == a),
        "{err}"
    );
    let rb = l.effect(&b).await.unwrap().unwrap();
    assert_eq!(rb.outcome, Some(OutcomeKind::Unknown), "kept, as unknown");
    // The index itself refuses a second committed row, whoever writes it.
    let res = sqlx::query("UPDATE effects SET outcome = 'committed' WHERE id = $1")
        .bind(&b)
        .execute(l.pool())
        .await;
    assert!(res.is_err(), "unique index on committed keys");
}

async fn derived_run_state(db: &TestDb) {
    let l = db.open().await;
    let state = |id: String| {
        let l = l.clone();
        async move { l.run(&id).await.unwrap().unwrap() }
    };
    // No effects: running.
    let r0 = start(&l).await;
    let s = state(r0.clone()).await;
    assert_eq!((s.state, s.state_derived), (RunState::Running, true));

    // Committed + intent-only (SIGKILL after one merge, during the next): partially committed.
    let r1 = start(&l).await;
    let a = proceed(
        l.record_intent(&effect(&r1, "pr:1", EffectKind::Merge, "", HEAD))
            .await
            .unwrap(),
    );
    l.record_outcome(&a, &Outcome::Committed).await.unwrap();
    proceed(
        l.record_intent(&effect(&r1, "pr:2", EffectKind::Merge, "", HEAD))
            .await
            .unwrap(),
    );
    assert_eq!(state(r1.clone()).await.state, RunState::PartiallyCommitted);
    let listed = l.runs(10).await.unwrap();
    let from_list = listed.iter().find(|r| r.id == r1).unwrap();
    assert_eq!(from_list.state, RunState::PartiallyCommitted);
    assert_eq!(
        l.show(&r1).await.unwrap().unwrap().run.state,
        RunState::PartiallyCommitted
    );

    // All committed: completed. Only failed: failed. Intent only: running.
    let r2 = start(&l).await;
    let c = proceed(
        l.record_intent(&effect(&r2, "pr:3", EffectKind::Merge, "", HEAD))
            .await
            .unwrap(),
    );
    l.record_outcome(&c, &Outcome::Committed).await.unwrap();
    assert_eq!(state(r2.clone()).await.state, RunState::Completed);
    let r3 = start(&l).await;
    let f = proceed(
        l.record_intent(&effect(&r3, "pr:4", EffectKind::Update, "", HEAD))
            .await
            .unwrap(),
    );
    l.record_outcome(&f, &Outcome::Failed("409".into()))
        .await
        .unwrap();
    assert_eq!(state(r3.clone()).await.state, RunState::Failed);
    let r4 = start(&l).await;
    proceed(
        l.record_intent(&effect(&r4, "pr:5", EffectKind::Update, "", HEAD))
            .await
            .unwrap(),
    );
    assert_eq!(state(r4.clone()).await.state, RunState::Running);
    // Committed + failed: partially committed.
    let f2 = proceed(
        l.record_intent(&effect(&r2, "pr:6", EffectKind::Label, "add:x", HEAD))
            .await
            .unwrap(),
    );
    l.record_outcome(&f2, &Outcome::Failed("403".into()))
        .await
        .unwrap();
    assert_eq!(state(r2.clone()).await.state, RunState::PartiallyCommitted);

    // finish_run stamps; the stamped state wins over derivation.
    let fin = l.finish_run(&r1, RunState::Failed).await.unwrap();
    assert_eq!(fin.state, RunState::Failed);
    assert!(fin.finished_at.as_deref().is_some_and(is_ts));
    let s = state(r1.clone()).await;
    assert_eq!((s.state, s.state_derived), (RunState::Failed, false));
    let err = l.finish_run(&r1, RunState::Completed).await.unwrap_err();
    assert!(matches!(err, LedgerError::RunFinished { .. }));
    let err = l.finish_run(&r0, RunState::Running).await.unwrap_err();
    assert!(matches!(err, LedgerError::Invalid { .. }));
    assert!(matches!(
        l.finish_run("missing", RunState::Completed)
            .await
            .unwrap_err(),
        LedgerError::NotFound { .. }
    ));
}

const CHILD_ENV: &str = "MERGEWARD_LEDGER_CRASH_CHILD";

/// The child half of `crash_mid_tick_in_a_child_process`: does nothing unless the parent set
/// MERGEWARD_LEDGER_CRASH_CHILD to a locator. Then it records a committed merge and the
/// intent of a second one, writes the run id, and aborts (as a SIGKILL would: no cleanup).
#[tokio::test]
async fn crash_child_helper() {
    let Ok(locator) = std::env::var(CHILD_ENV) else {
        return;
    };
    let Ok(id_file) = std::env::var("MERGEWARD_LEDGER_CRASH_ID_FILE") else {
        return;
    };
    let l = Ledger::open(&locator).await.expect("child: open");
    let run = start(&l).await;
    let d = l
        .record_decision(&decision(&run, "pr:41", Action::Merge, "ready", HEAD))
        .await
        .unwrap();
    let mut e = effect(&run, "pr:41", EffectKind::Merge, "", HEAD);
    e.decision_id = Some(d.id().into());
    let id = proceed(l.record_intent(&e).await.unwrap());
    // ... the forge merged it ...
    l.record_outcome(&id, &Outcome::Committed).await.unwrap();
    proceed(
        l.record_intent(&effect(&run, "pr:42", EffectKind::Merge, "", HEAD))
            .await
            .unwrap(),
    );
    // An open batch that never commits: lost on crash, which is what a batch means.
    let mut tick = l.tick().await.unwrap();
    tick.record_decision(&decision(
        &run,
        "pr:43",
        Action::Wait,
        "checks_pending",
        HEAD,
    ))
    .await
    .unwrap();
    std::fs::write(&id_file, &run).unwrap();
    // ... killed while sending the second merge.
    std::process::abort();
}

async fn crash_mid_tick_in_a_child_process(db: &TestDb) {
    // Create the schema first so the child only writes.
    db.open().await.close().await;
    let id_file = db.dir.path().join("run-id");
    let exe = std::env::current_exe().unwrap();
    // The test's full name in this binary: its module path without the crate name.
    let helper = match module_path!().split_once("::") {
        Some((_, module)) => format!("{module}::crash_child_helper"),
        None => "crash_child_helper".to_string(),
    };
    let out = Command::new(exe)
        .args([
            helper.as_str(),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &db.locator)
        .env("MERGEWARD_LEDGER_CRASH_ID_FILE", &id_file)
        .output()
        .expect("spawn the child test binary");
    assert!(
        !out.status.success(),
        "the child must die: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = std::fs::read_to_string(&id_file).expect("the child wrote its run id before dying");

    let l = db.open().await;
    let r = l.run(&run).await.unwrap().expect("the run survived");
    assert_eq!(r.state, RunState::PartiallyCommitted);
    assert!(r.state_derived && r.finished_at.is_none());
    let detail = l.show(&run).await.unwrap().unwrap();
    assert_eq!(detail.effects.len(), 2);
    assert_eq!(
        detail.decisions.len(),
        1,
        "the uncommitted tick left nothing"
    );
    assert!(l.explain("pr:43").await.unwrap().is_empty());

    // The next tick neither repeats the merge nor loses it.
    let next = start(&l).await;
    assert!(matches!(
        l.record_intent(&effect(&next, "pr:41", EffectKind::Merge, "", HEAD))
            .await
            .unwrap(),
        Intent::Replayed { .. }
    ));
    assert!(matches!(
        l.record_intent(&effect(&next, "pr:42", EffectKind::Merge, "", HEAD))
            .await
            .unwrap(),
        Intent::Unresolved { .. }
    ));
}

// ------------------------------------------------------------------ locks

async fn concurrent_lock_holders(db: &TestDb) {
    // Two ledgers on the same database: two processes.
    let a = db.open().await;
    let b = db.open().await;
    let lease = Duration::from_secs(60);
    let (ra, rb) = tokio::join!(
        a.lock("acme/widgets", "main", "holder-a", lease),
        b.lock("acme/widgets", "main", "holder-b", lease)
    );
    let (winner, loser_err, loser_ledger, winner_name) = match (ra, rb) {
        (Ok(g), Err(e)) => (g, e, &b, "holder-a"),
        (Err(e), Ok(g)) => (g, e, &a, "holder-b"),
        (ra, rb) => panic!("exactly one must win: {ra:?} / {rb:?}"),
    };
    assert_eq!(loser_err.exit_code(), ExitCode::LockHeld);
    let LedgerError::LockHeld(info) = &loser_err else {
        panic!("expected LockHeld, got {loser_err:?}");
    };
    assert_eq!(info.holder.as_deref(), Some(winner_name));
    assert!(loser_err.to_string().contains(winner_name));

    // The loser records a skipped run.
    let skipped = loser_ledger
        .record_skipped_run(&run_input(), info)
        .await
        .unwrap();
    assert_eq!(skipped.state, RunState::Skipped);
    assert!(skipped.finished_at.is_some());
    assert!(skipped.note.as_deref().unwrap().contains(winner_name));
    let stored = a.run(&skipped.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.state, stored.state_derived),
        (RunState::Skipped, false)
    );

    // Never waits; the same holder cannot take it twice; another branch is free.
    let t = std::time::Instant::now();
    assert!(matches!(
        a.lock("acme/widgets", "main", "holder-c", lease).await,
        Err(LedgerError::LockHeld(_))
    ));
    assert!(t.elapsed() < Duration::from_secs(3));
    let other = b
        .lock("acme/widgets", "release", "holder-b", lease)
        .await
        .unwrap();

    // Released: the next holder gets it.
    winner.release().await.unwrap();
    let again = loser_ledger
        .lock("acme/widgets", "main", "holder-d", lease)
        .await
        .unwrap();
    assert_eq!(again.holder(), "holder-d");
    again.release().await.unwrap();
    other.release().await.unwrap();

    // Many concurrent contenders: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..6 {
        let l = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            l.lock(
                "acme/widgets",
                "main",
                &format!("h{i}"),
                Duration::from_secs(60),
            )
            .await
        }));
    }
    let mut won = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(g) => won.push(g),
            Err(LedgerError::LockHeld(_)) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(won.len(), 1);
    for g in won {
        g.release().await.unwrap();
    }
}

async fn lock_expiry_and_release(db: &TestDb) {
    let l = db.open().await;
    match db.backend {
        Backend::Sqlite => {
            let mut a = l
                .lock("o/r", "main", "a", Duration::from_millis(300))
                .await
                .unwrap();
            assert!(matches!(
                l.lock("o/r", "main", "b", Duration::from_secs(60)).await,
                Err(LedgerError::LockHeld(_))
            ));
            a.renew().await.unwrap();
            tokio::time::sleep(Duration::from_millis(400)).await;
            // Expired: taken over.
            let b = l
                .lock("o/r", "main", "b", Duration::from_secs(60))
                .await
                .unwrap();
            let err = a.renew().await.unwrap_err();
            assert!(matches!(err, LedgerError::LockLost { .. }), "{err}");
            assert_eq!(err.exit_code(), ExitCode::LockHeld);
            // The old holder's release does not free the new holder's lease.
            a.release().await.unwrap();
            assert!(matches!(
                l.lock("o/r", "main", "c", Duration::from_secs(60)).await,
                Err(LedgerError::LockHeld(_))
            ));
            // Dropping a guard releases it (in the background).
            drop(b);
            let mut ok = false;
            for _ in 0..50 {
                if let Ok(g) = l.lock("o/r", "main", "c", Duration::from_secs(60)).await {
                    g.release().await.unwrap();
                    ok = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(ok, "a dropped guard releases its lease");
        }
        Backend::Postgres => {
            // A holder whose session ends (crash) releases the advisory lock.
            let mut a = l
                .lock("o/r", "main", "a", Duration::from_secs(60))
                .await
                .unwrap();
            a.renew().await.unwrap();
            assert!(matches!(
                l.lock("o/r", "main", "b", Duration::from_secs(60)).await,
                Err(LedgerError::LockHeld(_))
            ));
            drop(a);
            let mut ok = false;
            for _ in 0..100 {
                if let Ok(g) = l.lock("o/r", "main", "b", Duration::from_secs(60)).await {
                    assert_eq!(g.holder(), "b");
                    g.release().await.unwrap();
                    ok = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(ok, "the server released the lock of a closed session");
        }
    }
}

// ------------------------------------------------------------------ export, batches, queries

async fn populate(l: &Ledger) -> (String, String) {
    let r1 = start(l).await;
    let d1 = l
        .record_decision(&decision(
            &r1,
            "pr:41",
            Action::Wait,
            "checks_pending",
            HEAD,
        ))
        .await
        .unwrap();
    l.record_decision(&decision(
        &r1,
        "pr:41",
        Action::Wait,
        "checks_pending",
        HEAD,
    ))
    .await
    .unwrap();
    let d2 = l
        .record_decision(&decision(&r1, "pr:41", Action::Merge, "ready", HEAD))
        .await
        .unwrap();
    let mut e = effect(&r1, "pr:41", EffectKind::Merge, "", HEAD);
    e.decision_id = Some(d2.id().into());
    let m = proceed(l.record_intent(&e).await.unwrap());
    l.record_outcome(&m, &Outcome::Committed).await.unwrap();
    let lab = proceed(
        l.record_intent(&effect(&r1, "pr:9", EffectKind::Label, "add:hold", HEAD))
            .await
            .unwrap(),
    );
    l.record_outcome(&lab, &Outcome::Failed("HTTP 422 \"bad\"\nline2".into()))
        .await
        .unwrap();
    l.finish_run(&r1, RunState::PartiallyCommitted)
        .await
        .unwrap();
    let r2 = start(l).await;
    let mut dd = decision(&r2, "pr:7", Action::Hold, "conflict", HEAD2);
    dd.evidence
        .extra
        .insert("labels".into(), serde_json::json!(["x", "ü"]));
    l.record_decision(&dd).await.unwrap();
    proceed(
        l.record_intent(&effect(
            &r2,
            "pr:7",
            EffectKind::Comment,
            "tmpl:held",
            HEAD2,
        ))
        .await
        .unwrap(),
    );
    let _ = d1;
    (r1, r2)
}

async fn export_import_round_trip(db: &TestDb) {
    let l = db.open().await;
    let (r1, r2) = populate(&l).await;
    let mut out = Vec::new();
    let counts = l.export_jsonl(&mut out).await.unwrap();
    assert_eq!((counts.runs, counts.decisions, counts.effects), (2, 3, 3));
    let text = String::from_utf8(out.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8);
    let mut types = Vec::new();
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let ty = v["type"].as_str().unwrap().to_string();
        let ts = match ty.as_str() {
            "run" => &v["started_at"],
            "decision" => &v["created_at"],
            "effect" => &v["intent_at"],
            other => panic!("unknown type {other}"),
        };
        assert!(is_ts(ts.as_str().unwrap()), "{line}");
        types.push(ty);
    }
    assert_eq!(
        types,
        [
            "run", "run", "decision", "decision", "decision", "effect", "effect", "effect"
        ]
    );
    let events: Vec<Event> = lines
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    let Event::Run(run2) = &events[1] else {
        panic!("second event is a run")
    };
    assert_eq!(run2.id, r2);
    assert_eq!(run2.state, RunState::Running);
    assert!(run2.state_derived);
    assert_eq!(events[0], Event::Run(l.run(&r1).await.unwrap().unwrap()));

    // Import into a fresh ledger of the same backend: the export is identical.
    let fresh = if db.backend == Backend::Sqlite {
        let d = sqlite_db();
        let l2 = d.open().await;
        (l2, Some(d))
    } else {
        let d = pg_db().await.unwrap();
        (d.open().await, Some(d))
    };
    let (l2, _keep) = fresh;
    let c2 = l2.import_jsonl(std::io::Cursor::new(&out)).await.unwrap();
    assert_eq!(c2, counts);
    let mut out2 = Vec::new();
    l2.export_jsonl(&mut out2).await.unwrap();
    assert_eq!(String::from_utf8(out2).unwrap(), text);
    assert_eq!(
        l2.explain("pr:41").await.unwrap(),
        l.explain("pr:41").await.unwrap()
    );
    // Importing twice fails as a whole.
    assert!(l2.import_jsonl(std::io::Cursor::new(&out)).await.is_err());
    assert_eq!(l2.runs(10).await.unwrap().len(), 2);
}

async fn tick_commits_once_or_not_at_all(db: &TestDb) {
    let l = db.open().await;
    let run = start(&l).await;
    let mut t = l.tick().await.unwrap();
    for n in 0..20 {
        let d = t
            .record_decision(&decision(
                &run,
                &format!("pr:{n}"),
                Action::Wait,
                "checks_pending",
                HEAD,
            ))
            .await
            .unwrap();
        let mut e = effect(
            &run,
            &format!("pr:{n}"),
            EffectKind::Status,
            "gate=pending",
            HEAD,
        );
        e.decision_id = Some(d.id().into());
        let id = proceed(t.record_intent(&e).await.unwrap());
        t.record_outcome(&id, &Outcome::Committed).await.unwrap();
    }
    // Reuse inside a tick sees the tick's own rows.
    assert!(
        t.record_decision(&decision(
            &run,
            "pr:0",
            Action::Wait,
            "checks_pending",
            HEAD
        ))
        .await
        .unwrap()
        .is_reused()
    );
    t.rollback().await.unwrap();
    assert!(l.explain("pr:0").await.unwrap().is_empty());
    assert!(l.show(&run).await.unwrap().unwrap().effects.is_empty());

    let mut t = l.tick().await.unwrap();
    for n in 0..20 {
        t.record_decision(&decision(
            &run,
            &format!("pr:{n}"),
            Action::Wait,
            "checks_pending",
            HEAD,
        ))
        .await
        .unwrap();
    }
    // Errors that write nothing leave the tick usable.
    assert!(
        t.record_decision(&decision("missing", "pr:1", Action::Wait, "x", HEAD))
            .await
            .is_err()
    );
    t.commit().await.unwrap();
    assert_eq!(l.show(&run).await.unwrap().unwrap().decisions.len(), 20);
}

async fn runs_and_show(db: &TestDb) {
    let l = db.open().await;
    let (r1, r2) = populate(&l).await;
    let r3 = start(&l).await;
    let runs = l.runs(10).await.unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![r3.as_str(), r2.as_str(), r1.as_str()],
        "newest first"
    );
    assert_eq!(l.runs(2).await.unwrap().len(), 2);
    let first = &runs[2];
    assert_eq!(first.repo, "acme/widgets");
    assert_eq!(first.config_digest, "sha256:cfg");
    assert_eq!(first.tool_version, env!("CARGO_PKG_VERSION"));
    assert!(is_ts(&first.started_at));

    let show = l.show(&r1).await.unwrap().unwrap();
    assert_eq!(show.run.state, RunState::PartiallyCommitted);
    assert_eq!(show.decisions.len(), 2);
    assert_eq!(show.decisions[0].reuse_count, 1);
    assert_eq!(show.effects.len(), 2);
    assert_eq!(show.effects[0].kind, EffectKind::Merge);
    assert_eq!(
        show.effects[1].error.as_deref(),
        Some("HTTP 422 \"bad\"\nline2")
    );
    let show2 = l.show(&r2).await.unwrap().unwrap();
    assert_eq!(show2.decisions[0].evidence.extra["labels"][1], "ü");
    assert!(l.show("nope").await.unwrap().is_none());
    assert!(l.run("nope").await.unwrap().is_none());
}
