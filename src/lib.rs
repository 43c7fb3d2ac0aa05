//! mergeward: a fail-closed merge queue and CI gate bot for Gitea, Forgejo and GitHub.
//!
//! Layers: dependencies point one way, down the direction table in `docs/architecture.md`
//! ("## Layers"), which `tests/cli/layers.rs` enforces: `cli` → `config` → `queue` | `reaper` |
//! `gates` → `report` → `error` → `forge` | `ledger` → `exit`. The simulated forge (`sim`)
//! depends on nothing here.
pub mod cli;
pub mod config;
pub mod error;
pub mod exit;
pub mod forge;
pub mod gates;
pub mod ledger;
pub mod queue;
pub mod reaper;
pub mod report;
pub mod workflow;

/// The simulated forge, its own crate (`crates/mergeward-sim`, which depends on nothing in
/// mergeward); re-exported so `mergeward::sim::…` paths keep working.
pub use mergeward_sim as sim;
