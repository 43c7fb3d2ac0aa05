//! The merge queue. A tick is observe → plan → execute → report:
//!
//! - `policy` — the per-PR decision rules (pure), `github_rules` — GitHub's richer protection;
//! - `protection` — the policy from branch protection and settings (pure);
//! - `observe` — the reads, into a `snapshot::Snapshot`;
//! - `plan` — the tick-level rules (pure): decisions, ordered steps, what a refusal means;
//! - `messages` — every word the queue says to people (pure);
//! - `execute`, `act` — the steps through the ledger, with typed outcomes;
//! - `report` — what the tick did; `tick` — the entry point that runs the four in order;
//! - `batch` — batch mode's pure planning layer; `staging` — its staging commit, built with
//!   git on a temporary clone (batch mode is not selectable yet).
pub mod act;
pub mod audit;
pub mod batch;
pub mod batch_tick;
pub mod execute;
pub mod github_rules;
pub mod messages;
pub mod observe;
pub mod plan;
pub mod policy;
pub mod protection;
pub mod report;
pub mod reviews;
pub mod settings;
pub mod snapshot;
pub mod staging;
pub mod tick;

/// The queue's own status context. Never counted among the required contexts.
pub const QUEUE_CONTEXT: &str = "mergeward/queue";
