//! The lifecycle of a ledger run that holds a repository lock: used by every command that
//! acts on the forge (`queue tick`, `reap`).
//!
//! Take the lock (a concurrent holder → the run is recorded as `skipped`, exit 6), start the
//! run, do the work while renewing the lease (a lease taken over stops the work), stamp the
//! run's final state, release the lock.

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::ledger::{self, Ledger, NewRun, RunState};
use crate::report::{LedgerRef, RunReport};

pub(super) fn ledger_ref(l: &Ledger, run_id: Option<&str>) -> LedgerRef {
    LedgerRef {
        backend: match l.backend() {
            ledger::Backend::Sqlite => "sqlite".into(),
            ledger::Backend::Postgres => "postgres".into(),
        },
        run_id: run_id.map(str::to_string),
    }
}

/// Which lock a run takes, and for how long at a time.
pub(super) struct LockSpec<'a> {
    pub repo: &'a str,
    /// The branch, or a name derived from it (the reaper locks `reap:<branch>`).
    pub name: &'a str,
    pub lease: Duration,
}

/// Runs `work(run_id)` as a recorded run under the lock. `final_state` maps the work's
/// result to the run's stamped state.
pub(super) async fn locked_run<T, F, Fut>(
    ledger: &Ledger,
    lock: LockSpec<'_>,
    new_run: &NewRun,
    run: &mut RunReport,
    work: F,
    final_state: impl FnOnce(&Result<T>) -> RunState,
) -> Result<T>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let holder = ledger::holder_id(&run.invocation_id);
    let lease = lock.lease;
    let mut lock = match ledger.lock(lock.repo, lock.name, &holder, lease).await {
        Ok(l) => l,
        Err(ledger::LedgerError::LockHeld(info)) => {
            let skipped = ledger.record_skipped_run(new_run, &info).await?;
            run.ledger = Some(ledger_ref(ledger, Some(&skipped.id)));
            run.outcome = Some("skipped".into());
            return Err(ledger::LedgerError::LockHeld(info).into());
        }
        Err(e) => return Err(e.into()),
    };
    let rec = ledger.start_run(new_run).await?;
    run.ledger = Some(ledger_ref(ledger, Some(&rec.id)));
    // Holding the lock, any other unfinished run under it lost its holder: crashed.
    match ledger
        .mark_crashed(&new_run.command, &new_run.repo, &new_run.branch, &rec.id)
        .await
    {
        Ok(ids) if !ids.is_empty() => {
            tracing::warn!("runs left unfinished by a dead holder, now marked crashed: {ids:?}")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("could not mark dead runs as crashed: {e}"),
    }
    // Renew the lease while the work runs, so a long run is never taken over.
    let renew_every = (lease / 3).max(Duration::from_secs(1));
    let result: Result<T> = {
        let work = work(rec.id.clone());
        tokio::pin!(work);
        let mut interval =
            tokio::time::interval_at(tokio::time::Instant::now() + renew_every, renew_every);
        let signal = shutdown_signal();
        tokio::pin!(signal);
        loop {
            tokio::select! {
                r = &mut work => break r,
                // SIGINT/SIGTERM: stop before the next forge call (the work is dropped at
                // its await point; an effect cut short is resolved by the next run).
                terminated = &mut signal => break Err(Error::Interrupted { terminated }),
                _ = interval.tick() => match lock.renew().await {
                    Ok(()) => {}
                    // Another run took the lock over: stop before acting any further (an
                    // effect cut short is resolved by the next run from the ledger).
                    Err(e @ ledger::LedgerError::LockLost { .. }) => break Err(Error::from(e)),
                    Err(e) => tracing::warn!("could not renew the lock: {e}"),
                },
            }
        }
    };
    let state = match &result {
        Err(Error::Interrupted { .. }) => RunState::Interrupted,
        other => final_state(other),
    };
    let finished = ledger.finish_run(&rec.id, state).await;
    let released = lock.release().await;
    let value = result?;
    finished?;
    released?;
    Ok(value)
}

/// Resolves on SIGINT (`false`) or SIGTERM (`true`); never when no handler can be set up.
async fn shutdown_signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => false,
            _ = term.recv() => true,
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => false,
            Err(_) => std::future::pending().await,
        }
    }
}
