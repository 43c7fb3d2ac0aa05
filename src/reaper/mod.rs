//! The status reaper: compensates Gitea Actions' false reds on the default branch with
//! `success` statuses of the same context, fail-closed (seed-systems §3, DESIGN §6.12).
//!
//! * [`workflows`]: the trigger map (which workflows have a `push` trigger), YAML 1.1 rules.
//! * [`policy`]: the per-SHA decision table, pure.
//! * [`sweep`]: reads commits and statuses, posts compensations through the ledger.
//!
//! See `docs/reaper.md`.

pub mod policy;
pub mod sweep;
pub mod workflows;

pub use policy::{Compensation, Descriptions, Verdict};
pub use sweep::{Counters, ReapReport, ReapSettings, Reaper};
pub use workflows::TriggerMap;
