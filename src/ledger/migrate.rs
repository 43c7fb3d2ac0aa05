//! Versioned schema migrations, embedded in the binary and applied on open.
//!
//! The bookkeeping table `ledger_schema (version, name, checksum, applied_at)` is created by
//! the runner (its shape never changes). All pending migrations run in one transaction
//! (`BEGIN IMMEDIATE` on SQLite; on PostgreSQL under a transaction-scoped advisory lock), so
//! two processes opening the same new ledger cannot both migrate it, and a failed migration
//! leaves the previous version intact. A ledger whose highest version is newer than
//! [`SCHEMA_VERSION`] is refused before anything is written.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use super::Backend;
use super::error::{LedgerError, LedgerResult};
use super::model::{hex, now_ts};

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order. Never edit an applied one: append a new one.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "lineage_reuse_locks",
        sql: include_str!("../../migrations/0002_lineage_reuse_locks.sql"),
    },
    Migration {
        version: 3,
        name: "run_ended_by",
        sql: include_str!("../../migrations/0003_run_ended_by.sql"),
    },
    Migration {
        version: 4,
        name: "effect_push",
        sql: include_str!("../../migrations/0004_effect_push.sql"),
    },
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = 4;

/// A migration applied by [`super::Ledger::migrate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedMigration {
    pub version: i64,
    pub name: String,
    pub applied_at: String,
}

impl Migration {
    pub fn checksum(&self) -> String {
        hex(&Sha256::digest(self.sql.as_bytes()))
    }
}

/// PostgreSQL advisory lock key serialising migrations ("mergeward.migrate" folded to 63 bits).
const PG_MIGRATE_LOCK: i64 = 0x6d65_7267_6d69_6772;

/// Apply the migrations up to `target` on `conn`.
pub(crate) async fn run(
    conn: &mut AnyConnection,
    backend: Backend,
    locator: &str,
    target: i64,
) -> LedgerResult<Vec<AppliedMigration>> {
    use sqlx::Connection;
    let begin = match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    let mut tx = conn
        .begin_with(begin)
        .await
        .map_err(LedgerError::db("migration: begin"))?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_MIGRATE_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(LedgerError::db("migration: lock"))?;
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS ledger_schema (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )",
    )
    .execute(&mut *tx)
    .await
    .map_err(LedgerError::db("migration: create ledger_schema"))?;

    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT version, name, checksum FROM ledger_schema ORDER BY version")
            .fetch_all(&mut *tx)
            .await
            .map_err(LedgerError::db("migration: read ledger_schema"))?;

    if let Some(found) = rows.iter().map(|r| r.0).max()
        && found > SCHEMA_VERSION
    {
        return Err(LedgerError::NewerSchema {
            locator: locator.to_string(),
            found,
            supported: SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION"),
        });
    }
    for (version, name, checksum) in &rows {
        let known = MIGRATIONS.iter().find(|m| m.version == *version);
        match known {
            Some(m) if m.checksum() == *checksum => {}
            _ => {
                return Err(LedgerError::MigrationChanged {
                    locator: locator.to_string(),
                    version: *version,
                    name: name.clone(),
                });
            }
        }
    }

    let mut applied = Vec::new();
    for m in MIGRATIONS {
        if m.version > target || rows.iter().any(|r| r.0 == m.version) {
            continue;
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql))
            .execute(&mut *tx)
            .await
            .map_err(LedgerError::db("migration: apply"))?;
        let at = now_ts();
        sqlx::query(
            "INSERT INTO ledger_schema (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(m.checksum())
        .bind(&at)
        .execute(&mut *tx)
        .await
        .map_err(LedgerError::db("migration: record"))?;
        applied.push(AppliedMigration {
            version: m.version,
            name: m.name.to_string(),
            applied_at: at,
        });
    }
    tx.commit()
        .await
        .map_err(LedgerError::db("migration: commit"))?;
    Ok(applied)
}

/// The highest applied version (0 for an empty database).
pub(crate) async fn current_version(conn: &mut AnyConnection) -> LedgerResult<i64> {
    // A database nobody migrated has no bookkeeping table yet: version 0, not an error
    // (`ledger migrate` reads the version before migrating a fresh ledger).
    let exists_sql = if conn.backend_name() == "PostgreSQL" {
        "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_catalog.pg_tables
         WHERE tablename = 'ledger_schema' AND schemaname = ANY (current_schemas(false))"
    } else {
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'ledger_schema'"
    };
    let exists: i64 = sqlx::query_scalar(exists_sql)
        .fetch_one(&mut *conn)
        .await
        .map_err(LedgerError::db("read schema version"))?;
    if exists == 0 {
        return Ok(0);
    }
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM ledger_schema")
        .fetch_one(conn)
        .await
        .map_err(LedgerError::db("read schema version"))?;
    Ok(v.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_and_end_at_the_schema_version() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }
}
