//! [`Tick`]: a batch of ledger records in one transaction (see the module docs of
//! [`crate::ledger`] for when to use it).

use std::collections::HashSet;

use sqlx::{Any, Transaction};

use super::*;

/// A batch of records in one transaction. Dropping it without [`Tick::commit`] rolls back.
pub struct Tick {
    pub(super) tx: Transaction<'static, Any>,
    pub(super) backend: Backend,
    pub(super) poisoned: bool,
    /// Runs already checked to exist and be unfinished in this transaction.
    pub(super) open_runs: HashSet<String>,
}

impl Tick {
    fn track<T>(&mut self, r: LedgerResult<T>) -> LedgerResult<T> {
        match &r {
            // A failed statement aborts a PostgreSQL transaction (COMMIT would silently roll
            // back), and may have left part of an operation behind on SQLite.
            Err(LedgerError::Db { .. }) => self.poisoned = true,
            // On PostgreSQL a duplicate commit may have been refused by the unique index.
            Err(LedgerError::DuplicateCommit { .. }) if self.backend == Backend::Postgres => {
                self.poisoned = true
            }
            _ => {}
        }
        r
    }

    async fn check_run(&mut self, run_id: &str) -> LedgerResult<()> {
        if !self.open_runs.contains(run_id) {
            let r = store::run_open_check(&mut self.tx, run_id).await;
            self.track(r)?;
            self.open_runs.insert(run_id.to_string());
        }
        Ok(())
    }

    pub async fn record_decision(&mut self, d: &NewDecision) -> LedgerResult<Recorded> {
        self.check_run(&d.run_id).await?;
        let r = store::record_decision(&mut self.tx, self.backend, d, false).await;
        self.track(r)
    }

    /// Like [`Ledger::record_intent`], but durable only after [`Tick::commit`]: do not send
    /// the effect before then.
    pub async fn record_intent(&mut self, e: &NewEffect) -> LedgerResult<Intent> {
        self.check_run(&e.run_id).await?;
        let r = store::record_intent(&mut self.tx, e, false).await;
        self.track(r)
    }

    pub async fn record_outcome(&mut self, effect_id: &str, outcome: &Outcome) -> LedgerResult<()> {
        let r = store::record_outcome(&mut self.tx, effect_id, outcome).await;
        match self.track(r)? {
            store::OutcomeWrite::Done => Ok(()),
            store::OutcomeWrite::Duplicate(e) => Err(e),
        }
    }

    /// Commit everything recorded in this tick. A tick in which a database error occurred is
    /// rolled back instead, and the error says so.
    pub async fn commit(self) -> LedgerResult<()> {
        if self.poisoned {
            let _ = self.tx.rollback().await;
            return Err(LedgerError::Invalid {
                what: "tick",
                message: "a database error occurred in this tick; it was rolled back".into(),
            });
        }
        self.tx
            .commit()
            .await
            .map_err(LedgerError::db("commit tick"))
    }

    /// Discard everything recorded in this tick.
    pub async fn rollback(self) -> LedgerResult<()> {
        self.tx
            .rollback()
            .await
            .map_err(LedgerError::db("roll back tick"))
    }
}

#[allow(dead_code)]
fn _assert_send(l: &Ledger, t: &mut Tick, d: &NewDecision) {
    fn is_send<T: Send>(_: T) {}
    is_send(l.record_decision(d));
    is_send(t.record_decision(d));
    is_send(l.runs(1));
}
