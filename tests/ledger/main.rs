//! The decision ledger: the suite run on SQLite and PostgreSQL (`suite`) and the ledger
//! through the real binary (`e2e`: crash safety, the lock, explain/export/migrate).
//! PostgreSQL variants need `MERGEWARD_TEST_PG`: `scripts/pg-test.sh cargo test --test ledger`.
//! The modules were test binaries of their own: `tests/ledger_suite.rs` and `tests/e2e_ledger.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

#[path = "../e2e_support/mod.rs"]
mod e2e_support;

mod e2e;
mod suite;
