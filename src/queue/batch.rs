//! Batch mode's pure planning layer (SPEC §8.2): which PRs form the next batch, what a
//! staging commit's statuses mean, whether a green batch may land, how a red one is split,
//! and the commit trailers that let a batch be recovered from the forge alone.
//!
//! No I/O and no clock: the executor (staging commits, landing) calls these with what it
//! read. The state machine, per queue:
//!
//! ```text
//!  idle ──build──▶ testing ──green + pre-land check──▶ landed ──▶ idle
//!                    │  │ └──pending──▶ testing (next tick)
//!                    │  └──stuck (pending past the limit)──▶ rebuild once, then hold all
//!                    ├──red, one PR──▶ hold it ──▶ idle
//!                    ├──red, several──▶ split: test the first half next ──▶ idle
//!                    └──pre-land check fails (base moved, PR pushed/unapproved)──▶ rebuild
//! ```

use std::collections::BTreeSet;

use crate::forge::{CommitStatuses, ContextState, ForgeKind, Sha};

/// A PR in a batch, pinned to the head that was merged into the staging commit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    pub pr: u64,
    pub head: Sha,
}

/// A batch under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Stable id (also in the staging commit's trailers).
    pub id: String,
    /// The base head the staging commit was built on.
    pub base: Sha,
    /// Members in queue order.
    pub members: Vec<Member>,
    /// The staging commit (base + every member merged in order).
    pub staging: Sha,
    /// How many times this set was rebuilt because it was stuck.
    pub rebuilds: u32,
}

/// Bisection in progress: the PRs of a red batch not yet proven innocent, in queue order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bisect {
    pub suspects: Vec<u64>,
    /// Splits made so far.
    pub steps: u32,
}

/// Batch-mode settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSettings {
    /// The most PRs in one batch (`1`: test-the-merge-result serial mode).
    pub size: usize,
    /// Splits before falling back to one PR at a time.
    pub bisect_max_steps: u32,
    /// Adaptive size: halve after a red batch, grow by one after a green one, within
    /// `1..=size` ([`adapt_size`]).
    pub adaptive: bool,
}

impl BatchSettings {
    pub fn batch_size(&self) -> usize {
        self.size.max(1)
    }
}

/// The next batch: eligible PRs (oldest first), at most `size`; while bisecting, only the
/// first half of the suspects (one at a time once the split budget is spent).
pub fn next_batch(eligible: &[Member], s: &BatchSettings, bisect: Option<&Bisect>) -> Vec<Member> {
    let Some(b) = bisect.filter(|b| !b.suspects.is_empty()) else {
        return eligible.iter().take(s.batch_size()).cloned().collect();
    };
    let suspects: Vec<&Member> = eligible
        .iter()
        .filter(|m| b.suspects.contains(&m.pr))
        .collect();
    if suspects.is_empty() {
        // Every suspect left the queue (closed, pushed, unapproved): bisection is over.
        return eligible.iter().take(s.batch_size()).cloned().collect();
    }
    let take = if b.steps >= s.bisect_max_steps {
        1
    } else {
        suspects.len().div_ceil(2).min(s.batch_size())
    };
    suspects.into_iter().take(take).cloned().collect()
}

/// What the required contexts on a staging commit say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every required context `success` (or a configured green state).
    Green,
    /// A required context finished not green: (context, state) of each.
    Red(Vec<(String, String)>),
    /// Still running (or not posted yet).
    Pending,
    /// Pending for longer than the stale limit.
    Stuck,
}

/// The contexts a staging commit must carry: the configured list, else the protection's
/// required contexts; on Gitea and Forgejo, where a context names its event, a
/// `… (pull_request)` context is looked for as `… (push)` (a push to the staging branch
/// runs the push workflows).
pub fn staging_contexts(
    kind: ForgeKind,
    required: &[String],
    configured: &[String],
) -> Vec<String> {
    if !configured.is_empty() {
        return configured.to_vec();
    }
    required
        .iter()
        .map(|c| match (kind, c.strip_suffix(" (pull_request)")) {
            (ForgeKind::GitHub, _) | (_, None) => c.clone(),
            (_, Some(stem)) => format!("{stem} (push)"),
        })
        .collect()
}

/// Reads the staging commit's statuses. Only `green` states are green; missing is
/// pending until `age` passes `stale`, then stuck.
pub fn staging_verdict(
    contexts: &[String],
    green: &BTreeSet<String>,
    statuses: &CommitStatuses,
    age: chrono::Duration,
    stale: Option<chrono::Duration>,
) -> Verdict {
    let mut red = Vec::new();
    let mut pending = false;
    for c in contexts {
        match statuses
            .latest
            .iter()
            .find(|(name, _)| &name.0 == c)
            .map(|(_, r)| &r.state)
        {
            Some(s) if green.contains(s.as_str()) => {}
            None | Some(ContextState::Pending) => pending = true,
            Some(s) => red.push((c.clone(), s.as_str().to_string())),
        }
    }
    if contexts.is_empty() {
        // Nothing would prove the staging commit green: never land on no evidence.
        return if stale.is_some_and(|l| age > l) {
            Verdict::Stuck
        } else {
            Verdict::Pending
        };
    }
    if !red.is_empty() {
        Verdict::Red(red)
    } else if pending {
        if stale.is_some_and(|l| age > l) {
            Verdict::Stuck
        } else {
            Verdict::Pending
        }
    } else {
        Verdict::Green
    }
}

/// What is true right before landing, re-read from the forge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandCheck {
    /// The base head now.
    pub base: Sha,
    /// Per member (same order): the PR's head now, or `None` when it is closed/gone, and
    /// whether it is still eligible (approved, no REQUEST_CHANGES, no opt-out label).
    pub members: Vec<(u64, Option<Sha>, bool)>,
}

/// Whether a green batch may land: the base unchanged since the build, every PR still
/// open on the same head and still eligible. `Err` says why not (then rebuild, dropping
/// the PRs that changed).
pub fn may_land(batch: &Batch, now: &LandCheck) -> Result<(), Vec<String>> {
    let mut why = Vec::new();
    if now.base != batch.base {
        why.push(format!(
            "the base moved from {} to {} since the batch was built",
            batch.base.short(12),
            now.base.short(12)
        ));
    }
    for m in &batch.members {
        match now.members.iter().find(|(pr, _, _)| *pr == m.pr) {
            None | Some((_, None, _)) => why.push(format!("#{} is no longer open", m.pr)),
            Some((_, Some(h), _)) if h != &m.head => why.push(format!(
                "#{} was pushed to ({} → {}) while its batch was tested",
                m.pr,
                m.head.short(12),
                h.short(12)
            )),
            Some((_, _, false)) => why.push(format!("#{} is no longer eligible", m.pr)),
            Some(_) => {}
        }
    }
    if why.is_empty() { Ok(()) } else { Err(why) }
}

/// What follows a red staging commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterRed {
    /// One PR: it is the culprit; hold it with the failing contexts.
    Hold { pr: u64 },
    /// Several: bisect. The next batch is built from the first half of `bisect.suspects`.
    Split { bisect: Bisect },
}

/// A red batch: hold its only PR, or split it (PRs not in the tested half go back to the
/// queue in their original order; the untested half is tested after the first is cleared).
pub fn after_red(batch: &Batch, current: Option<&Bisect>) -> AfterRed {
    if let [only] = batch.members.as_slice() {
        return AfterRed::Hold { pr: only.pr };
    }
    AfterRed::Split {
        bisect: Bisect {
            suspects: batch.members.iter().map(|m| m.pr).collect(),
            // Saturating: the step count comes back from a trailer anyone who can push to
            // the staging branch may have written.
            steps: current.map_or(0, |b| b.steps).saturating_add(1),
        },
    }
}

/// After a green batch landed: its PRs are cleared; the remaining suspects stay suspects.
pub fn after_green(batch: &Batch, current: Option<&Bisect>) -> Option<Bisect> {
    let landed: BTreeSet<u64> = batch.members.iter().map(|m| m.pr).collect();
    let b = current?;
    let suspects: Vec<u64> = b
        .suspects
        .iter()
        .copied()
        .filter(|p| !landed.contains(p))
        .collect();
    let steps = b.steps;
    (!suspects.is_empty()).then_some(Bisect { suspects, steps })
}

/// Adaptive batch size: halve on a red batch, grow by one on a green one, within
/// `1..=max`.
pub fn adapt_size(current: usize, green: bool, max: usize) -> usize {
    let max = max.max(1);
    if green {
        (current + 1).min(max)
    } else {
        (current / 2).max(1)
    }
}

/// The trailer keys of a staging commit message.
pub const TRAILER_BATCH: &str = "Mergeward-Batch";
pub const TRAILER_BASE: &str = "Mergeward-Base";
pub const TRAILER_PR: &str = "Mergeward-PR";

/// What a staging commit records besides its members: its batch id, how often this set was
/// rebuilt because its CI was stuck, and the bisection that chose it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StagingMeta {
    pub id: String,
    pub rebuilds: u32,
    pub bisect: Option<Bisect>,
    /// The adaptive batch size in force when it was built (adaptive mode only).
    pub size: Option<usize>,
}

/// Trailer: rebuilds of a stuck batch.
pub const TRAILER_REBUILDS: &str = "Mergeward-Rebuilds";
/// Trailer: the adaptive batch size in force.
pub const TRAILER_SIZE: &str = "Mergeward-Size";
/// Trailer: the bisection in progress, `step N: #a #b …` (the suspects, in queue order).
pub const TRAILER_BISECT: &str = "Mergeward-Bisect";

/// The trailers beyond id, base and members (rebuilds, bisection), as (key, value).
pub fn meta_trailers(meta: &StagingMeta) -> Vec<(String, String)> {
    let mut t = Vec::new();
    if meta.rebuilds > 0 {
        t.push((TRAILER_REBUILDS.to_string(), meta.rebuilds.to_string()));
    }
    if let Some(n) = meta.size {
        t.push((TRAILER_SIZE.to_string(), n.to_string()));
    }
    if let Some(b) = meta.bisect.as_ref().filter(|b| !b.suspects.is_empty()) {
        let prs: Vec<String> = b.suspects.iter().map(|p| format!("#{p}")).collect();
        t.push((
            TRAILER_BISECT.to_string(),
            format!("step {}: {}", b.steps, prs.join(" ")),
        ));
    }
    t
}

/// The staging commit's message: a summary and trailers naming the batch, its base and
/// every `PR #n <head sha>`, so the batch can be recovered from the forge alone.
pub fn staging_message(batch_id: &str, base: &Sha, members: &[Member]) -> String {
    staging_message_with(batch_id, base, members, &[])
}

/// [`staging_message`] with further trailers (see [`meta_trailers`]).
pub fn staging_message_with(
    batch_id: &str,
    base: &Sha,
    members: &[Member],
    extra: &[(String, String)],
) -> String {
    let prs: Vec<String> = members.iter().map(|m| format!("#{}", m.pr)).collect();
    let mut msg = format!(
        "mergeward batch {batch_id}: {}\n\n",
        if prs.is_empty() {
            "(empty)".to_string()
        } else {
            prs.join(", ")
        }
    );
    msg.push_str(&format!(
        "{TRAILER_BATCH}: {batch_id}\n{TRAILER_BASE}: {base}\n"
    ));
    for m in members {
        msg.push_str(&format!("{TRAILER_PR}: #{} {}\n", m.pr, m.head));
    }
    for (k, v) in extra {
        msg.push_str(&format!("{k}: {v}\n"));
    }
    msg
}

/// A batch read back from a staging commit's message: (id, base, members). `None` when
/// the message is not a complete mergeward staging message.
pub fn parse_staging_message(msg: &str) -> Option<(String, Sha, Vec<Member>)> {
    parse_staging_meta(msg).map(|(meta, base, members)| (meta.id, base, members))
}

/// [`parse_staging_message`] with the rebuilds and bisection trailers. A malformed optional
/// trailer makes the whole message unreadable (never a guess).
pub fn parse_staging_meta(msg: &str) -> Option<(StagingMeta, Sha, Vec<Member>)> {
    let mut id = None;
    let mut base = None;
    let mut members = Vec::new();
    let mut rebuilds = 0;
    let mut bisect = None;
    let mut size = None;
    for line in msg.lines() {
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            TRAILER_BATCH if !value.is_empty() => id = Some(value.to_string()),
            TRAILER_BASE => base = Some(Sha::parse(value)?),
            TRAILER_PR => {
                let (n, head) = value.strip_prefix('#')?.split_once(' ')?;
                members.push(Member {
                    pr: n.parse().ok()?,
                    head: Sha::parse(head.trim())?,
                });
            }
            TRAILER_REBUILDS => rebuilds = value.parse().ok()?,
            TRAILER_SIZE => size = Some(value.parse().ok().filter(|n: &usize| *n > 0)?),
            TRAILER_BISECT => {
                let (step, prs) = value.strip_prefix("step ")?.split_once(':')?;
                let suspects = prs
                    .split_whitespace()
                    .map(|p| p.strip_prefix('#')?.parse().ok())
                    .collect::<Option<Vec<u64>>>()?;
                bisect = Some(Bisect {
                    suspects,
                    steps: step.trim().parse().ok()?,
                });
            }
            _ => {}
        }
    }
    let mut seen = BTreeSet::new();
    if members.is_empty() || !members.iter().all(|m| seen.insert(m.pr)) {
        return None;
    }
    Some((
        StagingMeta {
            id: id?,
            rebuilds,
            bisect,
            size,
        },
        base?,
        members,
    ))
}

/// The batch under test, as the tick observed it (from the ledger, or recovered from the
/// staging commit's trailers), with what its staging commit's contexts say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    pub batch: Batch,
    pub verdict: Verdict,
    /// Re-read right before landing; `None` until the plan asks for it.
    pub land: Option<LandCheck>,
}

/// What a batch tick observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSnapshot {
    /// The base head now.
    pub base: Sha,
    /// Eligible PRs, oldest first, on their current heads.
    pub eligible: Vec<Member>,
    pub in_flight: Option<InFlight>,
    pub bisect: Option<Bisect>,
}

/// The one step a batch tick takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchStep {
    /// Nothing eligible, nothing in flight.
    Idle,
    /// Build and push a staging commit of these members on the base head.
    Build { members: Vec<Member> },
    /// The staging commit's contexts are still running.
    Wait,
    /// Green: re-read the base and the members, then plan again with `land` filled in.
    CheckLand,
    /// Green and nothing changed: fast-forward the base to the staging commit.
    Land,
    /// Not landed: the batch no longer describes what would land (the base moved, a
    /// member was pushed, closed or lost its approval) or its CI was stuck once. Build
    /// again from the eligible PRs.
    Rebuild { why: Vec<String> },
    /// Stuck again after a rebuild: hold every member with the reason.
    HoldStuck { prs: Vec<u64> },
    /// Red with one member: hold it with the failing contexts.
    Hold {
        pr: u64,
        failing: Vec<(String, String)>,
    },
    /// Red with several members: bisect.
    Split { bisect: Bisect },
}

/// Plans one batch tick (SPEC §8.2). Pure: the executor gathers what is asked for.
pub fn plan_batch(s: &BatchSnapshot, settings: &BatchSettings) -> BatchStep {
    let Some(f) = &s.in_flight else {
        let members = next_batch(&s.eligible, settings, s.bisect.as_ref());
        return if members.is_empty() {
            BatchStep::Idle
        } else {
            BatchStep::Build { members }
        };
    };
    // Testing a batch that no longer describes what would land wastes CI: rebuild early.
    let mut why = Vec::new();
    if f.batch.base != s.base {
        why.push(format!(
            "the base moved from {} to {} while the batch was tested",
            f.batch.base.short(12),
            s.base.short(12)
        ));
    }
    for m in &f.batch.members {
        match s.eligible.iter().find(|e| e.pr == m.pr) {
            None => why.push(format!("#{} is no longer eligible", m.pr)),
            Some(e) if e.head != m.head => why.push(format!(
                "#{} was pushed to ({} → {}) while its batch was tested",
                m.pr,
                m.head.short(12),
                e.head.short(12)
            )),
            Some(_) => {}
        }
    }
    let base_only = why.len() == 1 && f.batch.base != s.base;
    // A red verdict names its culprit on the heads that were tested: still right when only
    // the base moved since, but not once a member was pushed (its author may have fixed it).
    match &f.verdict {
        Verdict::Red(failing) if why.is_empty() || base_only => {
            match after_red(&f.batch, s.bisect.as_ref()) {
                AfterRed::Hold { pr } => BatchStep::Hold {
                    pr,
                    failing: failing.clone(),
                },
                AfterRed::Split { bisect } => BatchStep::Split { bisect },
            }
        }
        Verdict::Red(_) => BatchStep::Rebuild { why },
        _ if !why.is_empty() => BatchStep::Rebuild { why },
        Verdict::Pending => BatchStep::Wait,
        Verdict::Stuck if f.batch.rebuilds == 0 => BatchStep::Rebuild {
            why: vec!["the staging commit's CI was stuck; rebuilding once".into()],
        },
        Verdict::Stuck => BatchStep::HoldStuck {
            prs: f.batch.members.iter().map(|m| m.pr).collect(),
        },
        Verdict::Green => match &f.land {
            None => BatchStep::CheckLand,
            Some(check) => match may_land(&f.batch, check) {
                Ok(()) => BatchStep::Land,
                Err(why) => BatchStep::Rebuild { why },
            },
        },
    }
}
