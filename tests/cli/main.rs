//! The binary as users and scripts meet it: `config`, `init`, `forge check`, `sandbox`,
//! errors, result envelopes and progress events (`describe`, `queue tick`), secrets kept out
//! of every output, SPEC.md kept true to the code, the release build script's guards, and
//! the layer check (`layers`: imports point down the table in docs/architecture.md).
//! Each module was a test binary of its own: `tests/cli_<module>.rs` for `config`, `errors`,
//! `forge_check`, `init` and `sandbox`; `tick_report` was `tests/e2e_tick_report.rs`; the
//! others kept their names (`tests/<module>.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

#[path = "../common/mod.rs"]
mod common;
#[path = "../e2e_support/mod.rs"]
mod e2e_support;

mod config;
mod errors;
mod forge_check;
mod init;
mod layers;
mod release_script;
mod report_envelope;
mod sandbox;
mod secrets;
mod spec_sync;
mod tick_report;
