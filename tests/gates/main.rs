//! The workflow gates: each `gate lint` rule, its configuration and output formats, `--base`,
//! the real-world corpus, `gate flips` (library and binary) and `audit merge`.
//! Each module was a test binary of its own, `tests/gate_<module>.rs` (`audit_merge`:
//! `tests/audit_merge.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

#[path = "../common/mod.rs"]
mod common;
#[path = "../gate_support/mod.rs"]
mod gate_support;

mod audit_merge;
mod base;
mod coe_tracking;
mod config;
mod context_emitted;
mod context_in_protection;
mod corpus;
mod curl_status_capture;
mod flips;
mod flips_cli;
mod gitea_compat;
mod output;
mod required_no_paths;
mod runs_on_pinned;
