//! The merge queue: policy, the pure plan and batch layers, ticks against the simulated
//! forge (stories, failures, safety, pagination, GitHub protection, fail-closed holes, the
//! merge invariant as a property), the `queue` commands through the binary, and what people
//! read (text snapshots, the queue page); the batch staging builder against real git
//! repositories.
//! Each module was a test binary of its own, `tests/queue_<module>.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

#[path = "../common/mod.rs"]
mod common;

mod batch;
mod batch_property;
mod batch_review;
mod batch_sim;
mod cli;
mod fail_closed;
mod failures;
mod github;
mod page;
mod pagination;
mod plan;
mod policy;
mod property;
mod safety;
mod staging;
mod stories;
mod text;
