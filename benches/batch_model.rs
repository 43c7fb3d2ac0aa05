//! Batch mode vs the serial queue, on a discrete-event MODEL of a queue (not the simulated
//! forge): the batch side is driven by mergeward's own planning layer
//! (`mergeward::queue::batch`), the serial side by the serial queue's rules (one PR in
//! flight: update, wait for CI, merge; every merge puts the others behind).
//!
//! 200 PRs arrive at 20 an hour (faster than any strategy drains them), CI takes 20
//! minutes, a tick runs every 5 minutes, and each PR breaks the build with probability p.
//! Reports merges per hour, queue CI runs per merged PR, and the median / 95th percentile
//! time from eligible to merged. `cargo bench --bench batch_model`.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)] // a test or bench that panics has failed; helpers are shared between modules

use mergeward::forge::Sha;
use mergeward::queue::batch::{
    AfterRed, Batch, BatchSettings, Bisect, Member, adapt_size, after_green, after_red, next_batch,
};

const PRS: usize = 200;
const ARRIVAL_MIN: u64 = 3; // one PR every 3 minutes
const CI_MIN: u64 = 20;
const TICK_MIN: u64 = 5;
const SEEDS: u64 = 20;

/// xorshift64*: a deterministic generator, enough for a model.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone)]
struct Pr {
    arrives: u64,
    breaking: bool,
}

fn prs(p: f64, seed: u64) -> Vec<Pr> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    (0..PRS)
        .map(|i| Pr {
            arrives: i as u64 * ARRIVAL_MIN,
            breaking: rng.next_f64() < p,
        })
        .collect()
}

#[derive(Default)]
struct Outcome {
    merged: usize,
    ci_runs: usize,
    /// Minutes from eligible to merged, per merged PR.
    waits: Vec<u64>,
    /// When the last PR was merged or held.
    end: u64,
}

fn sha(n: u64) -> Sha {
    Sha::parse(&format!("{n:040x}")).expect("a model SHA parses")
}

/// The serial queue: one PR in flight; a breaking PR fails its CI and is held.
fn serial(prs: &[Pr]) -> Outcome {
    let mut o = Outcome::default();
    let mut done = vec![false; prs.len()];
    let mut in_flight: Option<(usize, u64)> = None; // (pr, CI done at)
    let mut t = 0;
    while done.iter().any(|d| !d) {
        if let Some((i, ready_at)) = in_flight
            && t >= ready_at
        {
            done[i] = true;
            if !prs[i].breaking {
                o.merged += 1;
                o.waits.push(t - prs[i].arrives);
            }
            o.end = t;
            in_flight = None;
        }
        if in_flight.is_none()
            && let Some(i) = (0..prs.len()).find(|&i| !done[i] && prs[i].arrives <= t)
        {
            // Update onto the current base: a CI run, then the next tick after it merges.
            o.ci_runs += 1;
            in_flight = Some((i, t + CI_MIN));
        }
        t += TICK_MIN;
    }
    o
}

/// Batch mode through mergeward's planning layer. `adaptive`: halve on red, grow on green.
fn batched(prs: &[Pr], size: usize, adaptive: bool) -> Outcome {
    let mut o = Outcome::default();
    let mut done = vec![false; prs.len()];
    let mut bisect: Option<Bisect> = None;
    let mut in_flight: Option<(Batch, u64)> = None;
    let mut current = size;
    let mut t = 0;
    let mut id = 0u64;
    while done.iter().any(|d| !d) {
        if let Some((b, ready_at)) = in_flight.take() {
            if t < ready_at {
                in_flight = Some((b, ready_at));
            } else {
                let red = b.members.iter().any(|m| prs[m.pr as usize].breaking);
                if red {
                    match after_red(&b, bisect.as_ref()) {
                        AfterRed::Hold { pr } => {
                            done[pr as usize] = true;
                            o.end = t;
                            if let Some(bi) = bisect.as_mut() {
                                bi.suspects.retain(|&x| x != pr);
                            }
                            bisect = bisect.filter(|bi| !bi.suspects.is_empty());
                        }
                        AfterRed::Split { bisect: next } => bisect = Some(next),
                    }
                } else {
                    for m in &b.members {
                        done[m.pr as usize] = true;
                        o.merged += 1;
                        o.waits.push(t - prs[m.pr as usize].arrives);
                    }
                    o.end = t;
                    bisect = after_green(&b, bisect.as_ref());
                }
                if adaptive {
                    current = adapt_size(current, !red, size);
                }
            }
        }
        if in_flight.is_none() {
            let eligible: Vec<Member> = (0..prs.len())
                .filter(|&i| !done[i] && prs[i].arrives <= t)
                .map(|i| Member {
                    pr: i as u64,
                    head: sha(i as u64),
                })
                .collect();
            let s = BatchSettings {
                adaptive: false,
                size: current,
                bisect_max_steps: 3,
            };
            let members = next_batch(&eligible, &s, bisect.as_ref());
            if !members.is_empty() {
                id += 1;
                o.ci_runs += 1;
                in_flight = Some((
                    Batch {
                        id: id.to_string(),
                        base: sha(0),
                        members,
                        staging: sha(id),
                        rebuilds: 0,
                    },
                    t + CI_MIN,
                ));
            }
        }
        t += TICK_MIN;
    }
    o
}

fn percentile(v: &mut [u64], q: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

fn main() {
    println!(
        "| p | strategy | merges/hour | CI runs per merged PR | median eligible→merged (min) | p95 (min) |"
    );
    println!("|---|---|---|---|---|---|");
    for p in [0.02, 0.05, 0.10, 0.20] {
        type Strategy = Box<dyn Fn(&[Pr]) -> Outcome>;
        let strategies: Vec<(&str, Strategy)> = vec![
            ("serial (today)", Box::new(serial)),
            ("batch b=1", Box::new(|x: &[Pr]| batched(x, 1, false))),
            ("batch b=4", Box::new(|x: &[Pr]| batched(x, 4, false))),
            ("batch b=8", Box::new(|x: &[Pr]| batched(x, 8, false))),
            ("adaptive ≤8", Box::new(|x: &[Pr]| batched(x, 8, true))),
        ];
        for (name, f) in &strategies {
            let (mut merged, mut runs, mut minutes) = (0usize, 0usize, 0u64);
            let mut waits = Vec::new();
            for seed in 0..SEEDS {
                let o = f(&prs(p, seed));
                merged += o.merged;
                runs += o.ci_runs;
                minutes += o.end.max(1);
                waits.extend(o.waits);
            }
            let per_hour = merged as f64 / (minutes as f64 / 60.0);
            let per_pr = runs as f64 / merged.max(1) as f64;
            let median = percentile(&mut waits, 0.5);
            let p95 = percentile(&mut waits, 0.95);
            println!("| {p:.2} | {name} | {per_hour:.2} | {per_pr:.2} | {median} | {p95} |");
        }
    }
}
