//! The simulated forge itself: the Gitea/Forgejo and GitHub dialects, fault injection,
//! scenarios and the route table against the API contract.
//! Each module was a test binary of its own, `tests/sim_<module>.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

#[path = "../common/mod.rs"]
mod common;

mod faults;
mod gitea;
mod github;
mod scenario;
