//! Observe: the reads of a tick, into a [`Snapshot`]. Protection gives the policy; then the
//! base head (and its statuses when push-required contexts are configured) and the open
//! PRs; candidates are read oldest first in windows of bounded concurrency, stopping after
//! the window that holds a ready PR (unless every PR is to be shown).

use futures_util::future::join_all;

use super::messages;
use super::plan;
use super::policy::{self, Action, BaseState, CandidateState, QueuePolicy, Reason};
use super::protection::contains_base;
use super::report::Unevaluated;
use super::snapshot::Snapshot;
use super::tick::Tick;
use crate::error::{Error, Result};
use crate::exit::ExitCode;
use crate::forge::{
    CommitStatuses, Forge, ForgeError, ForgeKind, PrNumber, PrState, Protection, PullRequest, Sha,
};
use crate::ledger;
use crate::report::annotate;

impl<F: Forge> Tick<'_, F> {
    /// Reads the branch protection; an unreadable one holds the queue (exit by its class).
    pub(super) async fn read_protection(&self) -> Result<Protection> {
        let branch = &self.settings.branch;
        self.forge.protection(branch).await.map_err(|e| {
            let hint = if e.is_rejected_token() {
                "the forge rejected the token; the queue never merges without reading the required contexts".to_string()
            } else if e.is_forbidden() {
                "the token may not read the branch protection; the queue never merges without the required contexts".to_string()
            } else if e.is_not_found() {
                format!(
                    "the repository or the branch {branch} does not exist, or the token cannot see it: check --repo and --branch"
                )
            } else {
                "the queue never merges without the required contexts; the next tick tries again".to_string()
            };
            Error::ForgeCtx {
                context: format!("queue held: cannot read the branch protection of {branch}"),
                err: Box::new(e),
                hint: Some(hint),
            }
        })
    }

    /// Reads the base and the queue into a snapshot. `protection_head` is the base head
    /// when the protection read already returned it (GitHub), so it is not read twice.
    pub(super) async fn observe(
        &self,
        policy: QueuePolicy,
        protection_head: Option<Sha>,
        spinner: crate::report::ClearOnDrop,
    ) -> Result<Snapshot> {
        let f = self.forge;
        let s = self.settings;
        let base_head = match protection_head {
            Some(h) => h,
            None => f.branch_head(&s.branch).await?,
        };
        let statuses = if policy.push_required_contexts.is_empty() {
            CommitStatuses::reduce(base_head.clone(), Vec::new())
        } else {
            f.statuses(&base_head).await?
        };
        let base = BaseState {
            head: base_head,
            statuses,
        };
        let mut snap = Snapshot::new(policy, base, chrono::Utc::now());
        if policy::base_gate(&snap.policy, &snap.base).is_some() {
            return Ok(snap);
        }
        snap.open = f.open_pulls().await?;
        drop(spinner);
        let candidates: Vec<PullRequest> = snap
            .open
            .iter()
            .filter(|pr| policy::ineligible(&snap.policy, pr).is_none())
            .cloned()
            .collect();
        let bar = self
            .progress
            .bar(candidates.len() as u64, "evaluating pull requests");
        let window = s.window.max(1);
        let mut found_ready = false;
        for (i, chunk) in candidates.chunks(window).enumerate() {
            // Batch mode reads every candidate: a batch takes several.
            let batch_mode = s.mode == super::settings::QueueMode::Batch;
            if found_ready && !self.status_only && !batch_mode {
                snap.not_read
                    .extend(candidates[i * window..].iter().map(|p| p.number.0));
                break;
            }
            let head = &snap.base.head;
            let observed = join_all(chunk.iter().map(|pr| self.read_candidate(pr, head))).await;
            for (pr, obs) in chunk.iter().zip(observed) {
                bar.inc(1);
                match obs {
                    Ok(c) => {
                        let d = plan::decide(&snap.policy, &snap.base, &c);
                        found_ready |= matches!(d.action, Action::Merge { .. });
                        snap.candidates.push(c);
                    }
                    Err(e) => self.unreadable(&mut snap, pr.number, e).await,
                }
            }
        }
        bar.finish_and_clear();
        for pr in &snap.open {
            if let Some(Reason::OptOut { label }) = policy::ineligible(&snap.policy, pr)
                && label == s.hold_label
                && let Some(why) = self.hold_reason(pr.number).await
            {
                snap.held.insert(pr.number.0, why);
            }
        }
        snap.now = chrono::Utc::now();
        Ok(snap)
    }

    /// A candidate whose reads failed: a 404 inside them is "gone" only when the PR itself
    /// says so; anything else is could-not-decide (or the error's own class).
    async fn unreadable(&self, snap: &mut Snapshot, n: PrNumber, e: ForgeError) {
        if e.exit_code() != ExitCode::NotFound {
            annotate("error", &format!("PR #{} could not be evaluated: {e}", n.0));
            let exit = e.exit_code();
            snap.unreadable.push(Unevaluated {
                pr: n.0,
                error: e.to_string(),
                exit,
            });
            return;
        }
        match self.gone(n).await {
            Ok(true) => snap.notes.push(format!(
                "#{} was closed or deleted while being read: {e}",
                n.0
            )),
            Ok(false) => {
                annotate("error", &format!("PR #{} could not be evaluated: {e}", n.0));
                snap.unreadable.push(Unevaluated {
                    pr: n.0,
                    error: format!(
                        "{e} (the PR is still open: a read inside it failed, so it could not be decided)"
                    ),
                    exit: ExitCode::CouldNotDecide,
                });
            }
            Err(re) => snap.unreadable.push(Unevaluated {
                pr: n.0,
                error: format!("{e}; re-reading the PR failed too: {re}"),
                exit: ExitCode::CouldNotDecide,
            }),
        }
    }

    /// Reads what `decide` needs about one candidate.
    pub(super) async fn read_candidate(
        &self,
        listed: &PullRequest,
        base: &Sha,
    ) -> std::result::Result<CandidateState, ForgeError> {
        let f = self.forge;
        // GitHub's list items carry no `mergeable`: read the PR itself. Gitea's list has it.
        let pr = if f.kind() == ForgeKind::GitHub {
            f.pull(listed.number).await?
        } else {
            listed.clone()
        };
        let (statuses, reviews, commits) =
            tokio::try_join!(f.statuses(&pr.head_sha), f.reviews(pr.number), async {
                if pr.merge_base.as_ref() == Some(base) {
                    Ok(None)
                } else {
                    f.pull_commits(pr.number).await.map(Some)
                }
            },)?;
        // An approval of an earlier head may survive the queue's base merges: the PR's
        // complete commit list proves (or disproves) that only base merges followed it.
        let carried = reviews.iter().any(|r| {
            r.state == crate::forge::ReviewState::Approved
                && r.commit_id.as_ref().is_some_and(|c| c != &pr.head_sha)
        });
        let commits = match commits {
            None if carried => Some(f.pull_commits(pr.number).await?),
            other => other,
        };
        let contains = contains_base(&pr, commits.as_deref().unwrap_or_default(), base);
        Ok(CandidateState {
            pr,
            contains_base: contains,
            statuses,
            reviews,
            commits,
        })
    }

    /// Why PR `n` was held: the ledger's latest hold decision, else (a read-only `queue
    /// status`, or a lost ledger) the queue's hold comment on the PR. `None` when neither
    /// says (e.g. a human applied the label).
    async fn hold_reason(&self, n: PrNumber) -> Option<String> {
        if self.record
            && let Ok(chain) = self.ledger.explain(&ledger::pr_subject(n.0)).await
            && let Some(h) = chain.iter().find(|d| d.action == ledger::Action::Hold)
        {
            return Some(h.reason_text.clone());
        }
        let bodies = self.forge.comment_bodies(n).await.ok()?;
        bodies
            .iter()
            .rev()
            .find_map(|b| messages::parse_hold_comment(&self.settings.hold_label, b))
    }

    /// Whether PR `n` is gone: closed, merged or deleted (a 404 on the PR itself).
    pub(super) async fn gone(&self, n: PrNumber) -> std::result::Result<bool, ForgeError> {
        match self.forge.pull(n).await {
            Ok(p) => Ok(p.state != PrState::Open || p.merged),
            Err(e) if e.is_not_found() => Ok(true),
            Err(e) => Err(e),
        }
    }
}
