//! The status reaper: the sweep at library level, `mergeward reap` through the binary, and
//! the shipped reaper fixtures.
//! Each module was a test binary of its own, `tests/reap_<module>.rs`.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod fixtures;
mod sweep;
