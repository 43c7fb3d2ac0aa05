//! The decision ledger: every run, decision and side effect, so anyone can answer "why did it
//! (not) merge PR 41?", and a crash mid-tick can neither repeat a merge nor lose the record of
//! one.
//!
//! One [`Ledger`] type over two backends through sqlx's `Any` driver: SQLite (the embedded
//! default, `.mergeward/ledger.db`) and PostgreSQL (shared). Same schema, same SQL, same
//! tests. See `docs/ledger.md` for the schema and the rules.
//!
//! # Which form to use when
//!
//! * **Autocommit** ([`Ledger::record_intent`], [`Ledger::record_outcome`],
//!   [`Ledger::record_decision`]): each call is its own transaction, durable when it returns.
//!   Use it around every forge mutation: `record_intent` → (only on [`Intent::Proceed`]) the
//!   forge call → `record_outcome`. The intent is on disk before the request leaves.
//! * **Batch** ([`Ledger::tick`] → [`Tick`]): many records, one commit. Use it for the
//!   decisions of a tick (and for recording effects that are *not* sent, e.g. in bulk
//!   imports or benchmarks). Nothing recorded in a tick is durable before
//!   [`Tick::commit`]: never call the forge between a tick's `record_intent` and its
//!   `commit`. Keep ticks short and free of network I/O: on SQLite a tick holds the
//!   database's write lock.

mod error;
mod export;
mod locator;
mod lock;
mod migrate;
mod model;
mod store;
mod tick;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyPool, Transaction};

pub use error::{LedgerError, LedgerResult, LockHeldInfo};
pub use export::{Event, ExportCounts};
use locator::sqlite_url;
pub use locator::{Backend, Locator};
pub use lock::{LockGuard, holder_id, lock_key};
pub use migrate::{AppliedMigration, MIGRATIONS, Migration, SCHEMA_VERSION};
pub use model::{
    Action, DecisionRecord, EffectKind, EffectRecord, Evidence, Intent, NewDecision, NewEffect,
    NewRun, Outcome, OutcomeKind, ReasonCode, Recorded, RunDetail, RunRecord, RunState,
    commit_subject, derive_run_state, effect_key, new_id, now_ts, pr_number, pr_subject,
};
pub use tick::Tick;

/// How long opening a ledger may take to connect and read once.
pub const LEDGER_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How to open a ledger.
#[derive(Debug, Clone)]
pub struct LedgerOptions {
    /// Pool size (SQLite in-memory databases always use one connection).
    pub max_connections: u32,
    /// How long a SQLite writer waits for another writer's transaction to end.
    pub busy_timeout: Duration,
    /// How long to wait for a pooled connection or to connect.
    pub acquire_timeout: Duration,
    /// Apply pending migrations on open (default). When false, open only refuses a newer
    /// schema; call [`Ledger::migrate`] to apply.
    pub migrate: bool,
    /// Migrate only up to this version (for generating old-version fixtures).
    #[doc(hidden)]
    pub target_version: i64,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            max_connections: 4,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(30),
            migrate: true,
            target_version: SCHEMA_VERSION,
        }
    }
}

/// The decision ledger. Cheap to clone (one shared connection pool).
#[derive(Clone)]
pub struct Ledger {
    pool: AnyPool,
    backend: Backend,
    locator: Locator,
    /// The connection URL (may contain a password; never printed). Used for the dedicated
    /// PostgreSQL lock connections.
    url: Arc<str>,
    applied_on_open: Arc<Vec<AppliedMigration>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("backend", &self.backend)
            .field("locator", &self.locator)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Open (and create, and migrate) the ledger at `locator` with default options.
    pub async fn open(locator: &str) -> LedgerResult<Ledger> {
        Ledger::open_with(&Locator::parse(locator)?, &LedgerOptions::default()).await
    }

    /// Open the ledger at `locator`. SQLite files and their parent directories are created;
    /// SQLite connections use WAL, `synchronous=FULL`, `foreign_keys=ON` and `busy_timeout`.
    pub async fn open_with(locator: &Locator, opts: &LedgerOptions) -> LedgerResult<Ledger> {
        sqlx::any::install_default_drivers();
        let (url, max) = match locator {
            Locator::SqliteFile(p) => {
                if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|source| LedgerError::CreateDir {
                        path: parent.display().to_string(),
                        source,
                    })?;
                }
                (sqlite_url(p), opts.max_connections.max(1))
            }
            Locator::SqliteMemory => ("sqlite::memory:".to_string(), 1),
            Locator::Postgres(u) => (u.clone(), opts.max_connections.max(1)),
        };
        // One connection and one read first, bounded: a file that is not SQLite or a server
        // that does not answer fails in seconds, naming the ledger, instead of after the
        // pool's acquire timeout.
        if !matches!(locator, Locator::SqliteMemory) {
            let probe_sql = match locator {
                Locator::Postgres(_) => "SELECT 1",
                _ => "SELECT count(*) FROM sqlite_master",
            };
            let probe = async {
                use sqlx::Connection as _;
                let mut c = sqlx::AnyConnection::connect(&url).await?;
                sqlx::raw_sql(probe_sql).execute(&mut c).await?;
                c.close().await
            };
            let failed = match tokio::time::timeout(LEDGER_PROBE_TIMEOUT, probe).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {} s", LEDGER_PROBE_TIMEOUT.as_secs()),
                ))),
            };
            if let Some(source) = failed {
                return Err(LedgerError::Open {
                    locator: locator.redacted(),
                    source,
                });
            }
        }
        let busy_ms = opts.busy_timeout.as_millis();
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .min_connections(0)
            .acquire_timeout(opts.acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name() == "SQLite" {
                        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "PRAGMA busy_timeout = {busy_ms}; PRAGMA journal_mode = WAL; \
                             PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
                        )))
                        .execute(&mut *conn)
                        .await?;
                    } else if conn.backend_name() == "PostgreSQL" {
                        // Plan every statement with its parameters: a generic plan cached
                        // while the tables were small (seq scans) would otherwise stay for
                        // the connection's life, making each write O(rows).
                        sqlx::raw_sql("SET plan_cache_mode = force_custom_plan")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|source| LedgerError::Open {
                locator: locator.redacted(),
                source,
            })?;
        let mut ledger = Ledger {
            pool,
            backend: locator.backend(),
            locator: locator.clone(),
            url: url.into(),
            applied_on_open: Arc::new(Vec::new()),
        };
        if opts.migrate {
            let applied = ledger.migrate_to(opts.target_version).await?;
            ledger.applied_on_open = Arc::new(applied);
        } else {
            let found = ledger.schema_version().await?;
            if found > SCHEMA_VERSION {
                return Err(LedgerError::NewerSchema {
                    locator: locator.redacted(),
                    found,
                    supported: SCHEMA_VERSION,
                    tool_version: env!("CARGO_PKG_VERSION"),
                });
            }
        }
        Ok(ledger)
    }

    /// Apply every pending migration; returns what was applied (empty when up to date).
    pub async fn migrate(&self) -> LedgerResult<Vec<AppliedMigration>> {
        self.migrate_to(SCHEMA_VERSION).await
    }

    #[doc(hidden)]
    pub async fn migrate_to(&self, target: i64) -> LedgerResult<Vec<AppliedMigration>> {
        let mut conn = self.conn().await?;
        migrate::run(&mut conn, self.backend, &self.locator.redacted(), target).await
    }

    /// The migrations applied when this ledger was opened.
    pub fn applied_on_open(&self) -> &[AppliedMigration] {
        &self.applied_on_open
    }

    /// The schema version of the database (0 when empty).
    pub async fn schema_version(&self) -> LedgerResult<i64> {
        let mut conn = self.conn().await?;
        migrate::current_version(&mut conn).await
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn locator(&self) -> &Locator {
        &self.locator
    }

    /// The underlying pool, for tests and diagnostics. Writes through it bypass the rules.
    #[doc(hidden)]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Close the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn conn(&self) -> LedgerResult<sqlx::pool::PoolConnection<Any>> {
        self.pool
            .acquire()
            .await
            .map_err(LedgerError::db("acquire connection"))
    }

    /// A write transaction: `BEGIN IMMEDIATE` on SQLite (takes the write lock up front, so
    /// read-then-write sequences cannot deadlock), plain `BEGIN` on PostgreSQL.
    async fn begin(&self) -> LedgerResult<Transaction<'static, Any>> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        tx.map_err(LedgerError::db("begin transaction"))
    }

    async fn commit(tx: Transaction<'static, Any>) -> LedgerResult<()> {
        tx.commit().await.map_err(LedgerError::db("commit"))
    }

    // ------------------------------------------------------------ runs

    /// Record the start of a run (state `running`).
    pub async fn start_run(&self, run: &NewRun) -> LedgerResult<RunRecord> {
        let mut tx = self.begin().await?;
        let r = store::insert_run(&mut tx, run, RunState::Running, false, None).await?;
        Self::commit(tx).await?;
        Ok(r)
    }

    /// Stamp a run's final state and `finished_at`. Refuses `running` and an already
    /// finished run.
    pub async fn finish_run(&self, run_id: &str, state: RunState) -> LedgerResult<RunRecord> {
        let mut tx = self.begin().await?;
        let r = store::finish_run(&mut tx, run_id, state).await?;
        Self::commit(tx).await?;
        Ok(r)
    }

    /// Record a run that did nothing because the lock was held (state `skipped`, finished,
    /// with a note naming the holder).
    pub async fn record_skipped_run(
        &self,
        run: &NewRun,
        held: &LockHeldInfo,
    ) -> LedgerResult<RunRecord> {
        let note = format!("skipped: {held}");
        let mut tx = self.begin().await?;
        let r = store::insert_run(&mut tx, run, RunState::Skipped, true, Some(&note)).await?;
        Self::commit(tx).await?;
        Ok(r)
    }

    /// Marks every unfinished run of `command` on `repo`/`branch` other than `except` as
    /// `crashed`. Call it only while holding the lock those runs ran under: their holders
    /// are then gone. Returns their ids.
    pub async fn mark_crashed(
        &self,
        command: &str,
        repo: &str,
        branch: &str,
        except: &str,
    ) -> LedgerResult<Vec<String>> {
        let mut tx = self.begin().await?;
        let ids = store::mark_crashed(&mut tx, command, repo, branch, except).await?;
        Self::commit(tx).await?;
        Ok(ids)
    }

    /// Effects of other runs of `command` on `repo`/`branch` whose outcome was never
    /// recorded or is unknown (a run killed between intent and outcome, or an answer lost),
    /// oldest first: to be resolved by reading the forge.
    pub async fn unresolved_effects(
        &self,
        command: &str,
        repo: &str,
        branch: &str,
        except: &str,
    ) -> LedgerResult<Vec<EffectRecord>> {
        let mut conn = self.conn().await?;
        store::unresolved_effects(&mut conn, command, repo, branch, except).await
    }

    /// The newest `limit` committed effects of `kinds` by runs of `command` on
    /// `repo`/`branch`, newest first.
    pub async fn recent_effects(
        &self,
        command: &str,
        repo: &str,
        branch: &str,
        kinds: &[EffectKind],
        limit: u32,
    ) -> LedgerResult<Vec<EffectRecord>> {
        let mut conn = self.conn().await?;
        store::recent_effects(&mut conn, command, repo, branch, kinds, limit).await
    }

    /// Up to `limit` run ids that `prefix` (an id or its start, dashes optional) names.
    pub async fn runs_by_prefix(&self, prefix: &str, limit: u32) -> LedgerResult<Vec<String>> {
        let mut conn = self.conn().await?;
        store::runs_by_prefix(&mut conn, prefix, limit).await
    }

    /// One run, with the derived state when unfinished.
    pub async fn run(&self, run_id: &str) -> LedgerResult<Option<RunRecord>> {
        let mut conn = self.conn().await?;
        let Some(mut r) = store::get_run_raw(&mut conn, run_id).await? else {
            return Ok(None);
        };
        store::derive(&mut conn, &mut r).await?;
        Ok(Some(r))
    }

    /// The newest `limit` runs, newest first (`ledger runs`).
    pub async fn runs(&self, limit: u32) -> LedgerResult<Vec<RunRecord>> {
        let mut conn = self.conn().await?;
        store::list_runs(&mut conn, limit).await
    }

    /// A run with its decisions and effects (`ledger show RUN`).
    pub async fn show(&self, run_id: &str) -> LedgerResult<Option<RunDetail>> {
        let mut conn = self.conn().await?;
        store::run_detail(&mut conn, run_id).await
    }

    // ------------------------------------------------------------ decisions

    /// Record a decision. A repeat of the subject's current decision (same action, reason
    /// code, head, base and dry-run flag) adds no row and returns [`Recorded::Reused`];
    /// anything else supersedes the current decision.
    pub async fn record_decision(&self, d: &NewDecision) -> LedgerResult<Recorded> {
        let mut tx = self.begin().await?;
        let r = store::record_decision(&mut tx, self.backend, d, true).await?;
        Self::commit(tx).await?;
        Ok(r)
    }

    /// Every decision for `subject`, newest (the current one) first.
    pub async fn explain(&self, subject: &str) -> LedgerResult<Vec<DecisionRecord>> {
        let mut conn = self.conn().await?;
        store::explain(&mut conn, subject).await
    }

    pub async fn decision(&self, id: &str) -> LedgerResult<Option<DecisionRecord>> {
        let mut conn = self.conn().await?;
        store::get_decision(&mut conn, id).await
    }

    // ------------------------------------------------------------ effects

    /// Record the intent to send an effect, durably, before sending it. See [`Intent`].
    pub async fn record_intent(&self, e: &NewEffect) -> LedgerResult<Intent> {
        let mut tx = self.begin().await?;
        let r = store::record_intent(&mut tx, e, true).await?;
        Self::commit(tx).await?;
        Ok(r)
    }

    /// Record what happened to an effect. An effect without an outcome or with `unknown`
    /// may be given any outcome (this is how an [`Intent::Unresolved`] effect is resolved);
    /// `committed` and `failed` are final.
    pub async fn record_outcome(&self, effect_id: &str, outcome: &Outcome) -> LedgerResult<()> {
        let mut tx = self.begin().await?;
        let r = store::record_outcome(&mut tx, effect_id, outcome).await?;
        Self::commit(tx).await?;
        match r {
            store::OutcomeWrite::Done => Ok(()),
            store::OutcomeWrite::Duplicate(e) => Err(e),
        }
    }

    pub async fn effect(&self, id: &str) -> LedgerResult<Option<EffectRecord>> {
        let mut conn = self.conn().await?;
        store::get_effect(&mut conn, id).await
    }

    // ------------------------------------------------------------ batches

    /// Start a batch: the records of one tick, committed once by [`Tick::commit`].
    pub async fn tick(&self) -> LedgerResult<Tick> {
        Ok(Tick {
            tx: self.begin().await?,
            backend: self.backend,
            poisoned: false,
            open_runs: HashSet::new(),
        })
    }
}
