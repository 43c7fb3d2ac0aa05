//! The merge queue: pure decision rules (`policy`), later the tick that observes, acts and reports.
pub mod policy;
