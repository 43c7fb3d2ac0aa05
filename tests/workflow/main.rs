//! The workflow model: positions, YAML 1.1 readings, bounds (`model`), and proptest fuzzing
//! of the parser and every gate rule (`fuzz`).
//! Each module was a test binary of its own, `tests/workflow_<module>.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or bench that panics has failed

mod fuzz;
mod model;
