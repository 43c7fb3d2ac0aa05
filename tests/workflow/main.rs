//! The workflow model: positions, YAML 1.1 readings, bounds (`model`), and proptest fuzzing
//! of the parser and every gate rule (`fuzz`).
//! Each module was a test binary of its own, `tests/workflow_<module>.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

mod fuzz;
mod model;
