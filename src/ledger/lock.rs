//! One holder per (repository, branch), never waiting.
//!
//! * SQLite: a lease row in `locks`, taken atomically by one upsert that only overwrites an
//!   expired lease; renewable; deleted on release (or on drop, best effort — otherwise it
//!   expires by itself).
//! * PostgreSQL: `pg_try_advisory_lock(lock_key(repo, branch))` on a dedicated connection
//!   held for the lock's lifetime; the server releases it when that session ends, so a
//!   crashed holder never blocks the next one. A row in `locks` names the holder for the
//!   losers' error messages.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, AnyPool, Connection};

use super::error::{LedgerError, LedgerResult, LockHeldInfo};
use super::{Backend, Ledger};

/// The PostgreSQL advisory-lock key of a repository and branch: the first 8 bytes of
/// sha256("mergeward.lock.v1\0" repo "\0" branch), big-endian. Stable across versions.
pub fn lock_key(repo: &str, branch: &str) -> i64 {
    let mut h = Sha256::new();
    h.update(b"mergeward.lock.v1\0");
    h.update(repo.as_bytes());
    h.update(b"\0");
    h.update(branch.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    i64::from_be_bytes(b)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The PID namespace of this process (`/proc/self/ns/pid` → `pid:[4026531836]` → the
/// number), so that a process id is only interpreted inside the namespace it came from.
fn pid_namespace() -> Option<String> {
    let link = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let text = link.to_string_lossy();
    let inner = text.strip_prefix("pid:[")?.strip_suffix(']')?;
    Some(inner.to_string())
}

/// A holder id for diagnostics: host, process id (with its PID namespace, when known) and
/// run id, e.g. `ci-7 pid 4242 pidns 4026531836 run 0199…`.
pub fn holder_id(run_id: &str) -> String {
    let ns = pid_namespace().map_or_else(String::new, |n| format!(" pidns {n}"));
    format!("{} pid {}{ns} run {run_id}", hostname(), std::process::id())
}

/// Whether `holder` (a [`holder_id`]) names a process that is certainly gone: same host,
/// same PID namespace, another process id, and no `/proc/<pid>`. Anything uncertain (another
/// host, no namespace in the id, no `/proc`) counts as alive, so the lease is respected.
/// A reused process id also counts as alive (safe: the lease then expires normally).
pub(crate) fn holder_is_dead(holder: &str) -> bool {
    let tokens: Vec<&str> = holder.split_whitespace().collect();
    let after = |key: &str| {
        tokens
            .windows(2)
            .find(|w| w[0] == key)
            .map(|w| w[1].to_string())
    };
    let (Some(host), Some(pid), Some(ns)) = (tokens.first(), after("pid"), after("pidns")) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if *host != hostname()
        || pid_namespace().as_deref() != Some(ns.as_str())
        || pid == std::process::id()
        || !std::path::Path::new("/proc/self/status").exists()
    {
        return false;
    }
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

fn stamps(lease: Duration) -> (String, String) {
    let now = Utc::now();
    let exp = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    (
        now.to_rfc3339_opts(SecondsFormat::Millis, true),
        exp.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

/// A held lock. Release it with [`LockGuard::release`]; dropping it releases too (on
/// PostgreSQL at once, by closing the session; on SQLite by a background delete when a tokio
/// runtime is running, else the lease expires).
pub struct LockGuard {
    repo: String,
    branch: String,
    holder: String,
    acquired_at: String,
    expires_at: String,
    lease: Duration,
    pool: AnyPool,
    backend: Backend,
    /// PostgreSQL: the session holding the advisory lock.
    session: Option<AnyConnection>,
    key: i64,
    released: bool,
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockGuard")
            .field("repo", &self.repo)
            .field("branch", &self.branch)
            .field("holder", &self.holder)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

const UPSERT_IF_EXPIRED: &str = "INSERT INTO locks (repo, branch, holder, acquired_at, expires_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (repo, branch) DO UPDATE SET holder = excluded.holder,
         acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
     WHERE locks.expires_at <= $4
     RETURNING holder";

const UPSERT_ALWAYS: &str = "INSERT INTO locks (repo, branch, holder, acquired_at, expires_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (repo, branch) DO UPDATE SET holder = excluded.holder,
         acquired_at = excluded.acquired_at, expires_at = excluded.expires_at";

async fn held_info(
    conn: &mut AnyConnection,
    repo: &str,
    branch: &str,
) -> LedgerResult<LockHeldInfo> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT holder, acquired_at, expires_at FROM locks WHERE repo = $1 AND branch = $2",
    )
    .bind(repo)
    .bind(branch)
    .fetch_optional(&mut *conn)
    .await
    .map_err(LedgerError::db("read lock holder"))?;
    let (holder, acquired_at, expires_at) = match row {
        Some((h, a, e)) => (Some(h), Some(a), Some(e)),
        None => (None, None, None),
    };
    Ok(LockHeldInfo {
        repo: repo.into(),
        branch: branch.into(),
        holder,
        acquired_at,
        expires_at,
    })
}

impl Ledger {
    /// Take the lock for `repo`@`branch` as `holder` (see [`holder_id`]), or fail at once
    /// with [`LedgerError::LockHeld`]. `lease` is how long a SQLite lease lasts without
    /// [`LockGuard::renew`]; an expired lease is taken over.
    pub async fn lock(
        &self,
        repo: &str,
        branch: &str,
        holder: &str,
        lease: Duration,
    ) -> LedgerResult<LockGuard> {
        let (now, exp) = stamps(lease);
        let key = lock_key(repo, branch);
        let mut session = None;
        match self.backend {
            Backend::Sqlite => {
                let mut tx = self.begin().await?;
                let won: Option<(String,)> = sqlx::query_as(UPSERT_IF_EXPIRED)
                    .bind(repo)
                    .bind(branch)
                    .bind(holder)
                    .bind(&now)
                    .bind(&exp)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(LedgerError::db("take lock"))?;
                if won.is_none() {
                    let info = held_info(&mut tx, repo, branch).await?;
                    // A lease whose holder died on this host (SIGKILL, OOM, power cut of
                    // the job) would block every run until it expires: take it over, but
                    // only that exact lease (the write lock is ours, so nothing races).
                    let stale = info.holder.as_deref().is_some_and(holder_is_dead);
                    let taken = if stale {
                        sqlx::query(
                            "UPDATE locks SET holder = $1, acquired_at = $2, expires_at = $3
                             WHERE repo = $4 AND branch = $5 AND holder = $6 AND acquired_at = $7",
                        )
                        .bind(holder)
                        .bind(&now)
                        .bind(&exp)
                        .bind(repo)
                        .bind(branch)
                        .bind(info.holder.as_deref().unwrap_or_default())
                        .bind(info.acquired_at.as_deref().unwrap_or_default())
                        .execute(&mut *tx)
                        .await
                        .map_err(LedgerError::db("take over a dead holder's lock"))?
                        .rows_affected()
                            == 1
                    } else {
                        false
                    };
                    if !taken {
                        return Err(LedgerError::LockHeld(Box::new(info)));
                    }
                    tracing::warn!(
                        "took over the lock on {repo}@{branch} from {} (that process is gone)",
                        info.holder.as_deref().unwrap_or("?")
                    );
                }
                Self::commit(tx).await?;
            }
            Backend::Postgres => {
                let mut conn = AnyConnection::connect(&self.url).await.map_err(|source| {
                    LedgerError::Open {
                        locator: self.locator.redacted(),
                        source,
                    }
                })?;
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(key)
                    .fetch_one(&mut conn)
                    .await
                    .map_err(LedgerError::db("take advisory lock"))?;
                if !got {
                    // The winner writes its row just after taking the advisory lock: give it
                    // a moment, so the error can name the holder (best effort).
                    let mut info = held_info(&mut conn, repo, branch).await;
                    for _ in 0..10 {
                        if !matches!(&info, Ok(i) if i.holder.is_none()) {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        info = held_info(&mut conn, repo, branch).await;
                    }
                    let _ = conn.close().await;
                    return Err(LedgerError::LockHeld(Box::new(info?)));
                }
                sqlx::query(UPSERT_ALWAYS)
                    .bind(repo)
                    .bind(branch)
                    .bind(holder)
                    .bind(&now)
                    .bind(&exp)
                    .execute(&mut conn)
                    .await
                    .map_err(LedgerError::db("record lock holder"))?;
                session = Some(conn);
            }
        }
        Ok(LockGuard {
            repo: repo.into(),
            branch: branch.into(),
            holder: holder.into(),
            acquired_at: now,
            expires_at: exp,
            lease,
            pool: self.pool.clone(),
            backend: self.backend,
            session,
            key,
            released: false,
        })
    }
}

impl LockGuard {
    pub fn repo(&self) -> &str {
        &self.repo
    }

    pub fn branch(&self) -> &str {
        &self.branch
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    pub fn acquired_at(&self) -> &str {
        &self.acquired_at
    }

    /// When the lease expires unless renewed (informational on PostgreSQL).
    pub fn expires_at(&self) -> &str {
        &self.expires_at
    }

    fn lost(&self, message: impl Into<String>) -> LedgerError {
        LedgerError::LockLost {
            repo: self.repo.clone(),
            branch: self.branch.clone(),
            holder: self.holder.clone(),
            message: message.into(),
        }
    }

    /// Extend the lease by its length from now. Fails with [`LedgerError::LockLost`] when the
    /// lease was taken over (SQLite) or the locking session is gone (PostgreSQL).
    pub async fn renew(&mut self) -> LedgerResult<()> {
        let (_, exp) = stamps(self.lease);
        if let Some(conn) = self.session.as_mut() {
            let alive = sqlx::query("SELECT 1").execute(&mut *conn).await;
            if let Err(e) = alive {
                return Err(self.lost(format!("the locking session ended: {e}")));
            }
        }
        let res = sqlx::query(
            "UPDATE locks SET expires_at = $1
             WHERE repo = $2 AND branch = $3 AND holder = $4 AND acquired_at = $5",
        )
        .bind(&exp)
        .bind(&self.repo)
        .bind(&self.branch)
        .bind(&self.holder)
        .bind(&self.acquired_at)
        .execute(&self.pool)
        .await
        .map_err(LedgerError::db("renew lock"))?;
        if res.rows_affected() == 0 && self.backend == Backend::Sqlite {
            return Err(self.lost("the lease expired and another holder took it"));
        }
        self.expires_at = exp;
        Ok(())
    }

    /// Release the lock.
    pub async fn release(mut self) -> LedgerResult<()> {
        self.released = true;
        let deleted = sqlx::query(
            "DELETE FROM locks WHERE repo = $1 AND branch = $2 AND holder = $3 AND acquired_at = $4",
        )
        .bind(&self.repo)
        .bind(&self.branch)
        .bind(&self.holder)
        .bind(&self.acquired_at)
        .execute(&self.pool)
        .await
        .map_err(LedgerError::db("release lock"));
        if let Some(mut conn) = self.session.take() {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(self.key)
                .execute(&mut conn)
                .await;
            // Closing the session releases the advisory lock in any case.
            let _ = conn.close().await;
            unlocked.map_err(LedgerError::db("release advisory lock"))?;
        }
        deleted?;
        Ok(())
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        // PostgreSQL: dropping the session's connection ends it; the server then releases
        // the advisory lock.
        drop(self.session.take());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let pool = self.pool.clone();
            let (repo, branch, holder, at) = (
                self.repo.clone(),
                self.branch.clone(),
                self.holder.clone(),
                self.acquired_at.clone(),
            );
            handle.spawn(async move {
                let _ = sqlx::query(
                    "DELETE FROM locks WHERE repo = $1 AND branch = $2 AND holder = $3 AND acquired_at = $4",
                )
                .bind(repo)
                .bind(branch)
                .bind(holder)
                .bind(at)
                .execute(&pool)
                .await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_provably_dead_holder_is_dead() {
        let me = holder_id("r1");
        assert!(!holder_is_dead(&me), "this process is alive: {me}");
        // A process id that cannot exist (above pid_max) in our namespace: dead.
        let ghost = me.replace(&format!("pid {} ", std::process::id()), "pid 4294967295 ");
        assert_ne!(ghost, me);
        if std::path::Path::new("/proc/self/ns/pid").exists() {
            assert!(holder_is_dead(&ghost), "{ghost}");
        }
        // Another host, no namespace, or an unparsable id: alive (respect the lease).
        assert!(!holder_is_dead(&ghost.replacen(
            &hostname(),
            "elsewhere",
            1
        )));
        assert!(!holder_is_dead("somehost pid 4294967295 run r1"));
        assert!(!holder_is_dead("holder-a"));
        assert!(!holder_is_dead(""));
    }

    #[test]
    fn lock_keys_are_stable_and_distinct() {
        assert_eq!(lock_key("o/r", "main"), lock_key("o/r", "main"));
        assert_ne!(lock_key("o/r", "main"), lock_key("o/r", "dev"));
        assert_ne!(lock_key("o/rm", "ain"), lock_key("o/r", "main"));
    }
}
