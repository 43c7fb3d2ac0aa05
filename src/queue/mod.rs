//! The merge queue: pure decision rules (`policy`) and the tick that observes, decides,
//! acts and reports (`tick`).
pub mod github_rules;
pub mod policy;
pub mod settings;
pub mod tick;
