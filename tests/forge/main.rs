//! The forge layer against the simulated forge (fail-closed reads, mutations) and the API
//! contract `contract/forge-api.toml` (`contract`: always; `contract_upstream`: against the
//! upstream descriptions in `../shared/specs/`, regenerated with
//! `cargo test --locked --test forge -- --ignored regenerate`).
//! Each module was a test binary of its own: `tests/forge_reads.rs`, `tests/forge_writes.rs`,
//! `tests/contract.rs`, `tests/contract_upstream.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

#[path = "../common/mod.rs"]
mod common;

mod contract;
mod contract_upstream;
mod reads;
mod writes;
