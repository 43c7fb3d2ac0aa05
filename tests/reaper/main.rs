//! The status reaper: the sweep at library level, `mergeward reap` through the binary, and
//! the shipped reaper fixtures.
//! Each module was a test binary of its own, `tests/reap_<module>.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod fixtures;
mod sweep;
