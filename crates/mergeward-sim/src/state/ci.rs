//! Simulated CI ([`CiSpec`]) on the logical clock: runs start on pushes, post `pending` at
//! once and their result when the clock reaches their due time.

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::fake_sha;

/// One simulated CI run: one context on one pushed commit.
#[derive(Debug, Clone, PartialEq)]
pub struct CiRun {
    /// Run number (the `<n>` of the `target_url`), from 1.
    pub run: u64,
    pub sha: String,
    /// The branch whose push started the run.
    pub branch: String,
    pub context: String,
    pub target_url: String,
    pub started_at: DateTime<Utc>,
    /// When the result is posted.
    pub due_at: DateTime<Utc>,
    /// `success` or `failure`, decided when the run starts.
    pub result: String,
    /// Whether the result status has been posted.
    pub finished: bool,
}

/// The flake draw in [0, 1) for (seed, sha, context).
fn draw(seed: u64, sha: &str, context: &str) -> f64 {
    let h = fake_sha(&format!("ci-flake:{seed}:{sha}:{context}"));
    let x = u64::from_str_radix(&h[..16], 16).unwrap_or(0);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

impl SimState {
    /// Move the logical clock forward by `d` (a negative `d` does nothing) and post every CI
    /// result that is due.
    pub fn advance(&mut self, d: Duration) {
        if d > Duration::zero()
            && let Some(t) = self.clock.checked_add_signed(d)
        {
            self.clock = t;
        }
        self.run_due_ci();
    }

    /// Start simulated CI for `sha`, pushed to `branch` (no-op without a `CiSpec`).
    pub(crate) fn start_ci(&mut self, branch: &str, sha: &str) {
        let Some(ci) = self.ci.clone() else { return };
        let mut contexts = ci.push_contexts.clone();
        if self
            .pulls
            .values()
            .any(|p| p.state == "open" && p.head_sha == sha)
        {
            contexts.extend(ci.pr_contexts.iter().cloned());
        }
        if contexts.is_empty() {
            return;
        }
        let breaking = self
            .breaking_heads
            .iter()
            .any(|h| self.contains_commit(sha, h));
        let started_at = self.now();
        // At most a century, so the date arithmetic cannot overflow.
        let secs = ci.duration_secs.min(100 * 365 * 86_400) as i64;
        let due_at = started_at
            .checked_add_signed(Duration::seconds(secs))
            .unwrap_or(started_at);
        for context in contexts {
            let run = self.ci_runs.len() as u64 + 1;
            let result = if breaking || draw(ci.seed, sha, &context) < ci.flake {
                "failure"
            } else {
                "success"
            };
            let target_url = format!(
                "{}/{}/{}/actions/runs/{run}",
                self.base_url, self.owner, self.name
            );
            self.add_status_full(
                sha,
                &context,
                "pending",
                "simulated CI: running",
                &target_url,
                "sim-ci",
            );
            self.ci_runs.push(CiRun {
                run,
                sha: sha.to_string(),
                branch: branch.to_string(),
                context,
                target_url,
                started_at,
                due_at,
                result: result.to_string(),
                finished: false,
            });
        }
        self.run_due_ci();
    }

    /// Post the result of every run whose due time has come, dated at its due time.
    pub(crate) fn run_due_ci(&mut self) {
        let now = self.now();
        let mut due: Vec<usize> = (0..self.ci_runs.len())
            .filter(|i| !self.ci_runs[*i].finished && self.ci_runs[*i].due_at <= now)
            .collect();
        due.sort_by_key(|i| (self.ci_runs[*i].due_at, *i));
        for i in due {
            let run = self.ci_runs[i].clone();
            let id = self.alloc_id();
            let description = if run.result == "success" {
                "simulated CI: passed"
            } else {
                "simulated CI: failed"
            };
            self.statuses.push(CommitStatus {
                id,
                sha: run.sha.clone(),
                context: run.context.clone(),
                state: run.result.clone(),
                target_url: run.target_url.clone(),
                description: description.to_string(),
                created_at: run.due_at,
                updated_at: run.due_at,
                creator: "sim-ci".to_string(),
            });
            self.ci_runs[i].finished = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::draw;

    #[test]
    fn the_flake_draw_is_deterministic_and_spread() {
        assert_eq!(draw(1, "abc", "ci"), draw(1, "abc", "ci"));
        assert_ne!(draw(1, "abc", "ci"), draw(2, "abc", "ci"));
        let n = 2000;
        let below = (0..n)
            .filter(|i| draw(7, &format!("{i:040x}"), "ci") < 0.25)
            .count();
        assert!((400..600).contains(&below), "{below}");
        assert!((0..n).all(|i| (0.0..1.0).contains(&draw(3, &i.to_string(), "x"))));
    }
}
