//! Batch mode's safety invariant as a property, on the git-backed simulator (SPEC §8.2):
//! whatever PRs, conflicts, breakages, batch sizes and events between ticks (authors
//! pushing, approvals withdrawn, the base moving, CI finishing), **the base branch only moves
//! by mergeward to a staging commit whose required context was `success`, containing only
//! PRs that were eligible at landing, on the heads that were tested, and no PR lands twice.**

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use mergeward::forge::ForgeKind;
use mergeward::queue::batch::parse_staging_meta;
use mergeward::queue::settings::QueueMode;
use mergeward::sim::{CiSpec, Mutation, ProtectionSpec, PullSpec};
use proptest::prelude::*;

use crate::common::queue::{CI, HOLD, World, queue_scenario_unprotected, ready_spec};

#[derive(Debug, Clone)]
enum Event {
    Tick,
    /// Simulated CI finishes (21 logical minutes).
    CiDone,
    /// PR k's author pushes (its approvals were for the old head).
    Push(usize),
    /// carol requests changes on PR k.
    Withdraw(usize),
    /// Someone pushes to the base directly.
    MoveBase,
}

fn event(n: usize) -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => Just(Event::Tick),
        3 => Just(Event::CiDone),
        1 => (0..n).prop_map(Event::Push),
        1 => (0..n).prop_map(Event::Withdraw),
        1 => Just(Event::MoveBase),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    /// Per PR: breaking, and which of two shared contents it writes (None: none).
    prs: Vec<(bool, Option<u8>)>,
    size: usize,
    adaptive: bool,
    events: Vec<Event>,
}

fn case() -> impl Strategy<Value = Case> {
    (2usize..=5)
        .prop_flat_map(|n| {
            (
                proptest::collection::vec(
                    (
                        prop::bool::weighted(0.3),
                        prop::option::weighted(0.3, 0u8..2),
                    ),
                    n,
                ),
                1usize..=4,
                any::<bool>(),
                proptest::collection::vec(event(n), 4..14),
            )
        })
        .prop_map(|(prs, size, adaptive, events)| Case {
            prs,
            size,
            adaptive,
            events,
        })
}

/// What the test knows of each PR besides the forge: events that made it ineligible.
#[derive(Default)]
struct Knowledge {
    pushed: BTreeSet<u64>,
    withdrawn: BTreeSet<u64>,
}

fn run(c: &Case) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut p = ProtectionSpec::new("main").contexts(&[CI]).approvals(2);
        p.enable_push = true;
        p.push_whitelist = Some(vec!["bot".into(), "admin".into()]);
        let mut s = queue_scenario_unprotected(ForgeKind::Gitea)
            .git()
            .ci(CiSpec {
                push_contexts: vec![CI.into()],
                duration_secs: 20 * 60,
                ..CiSpec::default()
            })
            .protect(p);
        for (i, (breaking, shared)) in c.prs.iter().enumerate() {
            let mut spec = PullSpec::new(i as u64 + 1);
            if *breaking {
                spec = spec.breaking();
            }
            if let Some(v) = shared {
                spec = spec.file("shared.txt", format!("version {v}\n"));
            }
            s = ready_spec(s, spec);
        }
        let mut w = World::start(ForgeKind::Gitea, s).await;
        w.settings.mode = QueueMode::Batch;
        w.settings.batch.batch.size = c.size;
        w.settings.batch.batch.adaptive = c.adaptive;
        w.settings.batch.git.timeout = std::time::Duration::from_secs(60);
        let mut know = Knowledge::default();
        let mut landed: BTreeMap<u64, String> = BTreeMap::new();
        let n = c.prs.len() as u64;
        for e in &c.events {
            match e {
                Event::CiDone => w.sim.advance(Duration::minutes(21)),
                Event::Push(k) => {
                    let pr = *k as u64 + 1;
                    if w.sim.with_state(|s| s.pull(pr).state == "open") {
                        w.sim.with_state(|s| s.push_to_pr(pr));
                        know.pushed.insert(pr);
                    }
                }
                Event::Withdraw(k) => {
                    let pr = *k as u64 + 1;
                    if w.sim.with_state(|s| s.pull(pr).state == "open") {
                        w.sim
                            .with_state(|s| s.add_review(pr, "carol", "REQUEST_CHANGES"));
                        know.withdrawn.insert(pr);
                    }
                }
                Event::MoveBase => {
                    w.sim.with_state(|s| s.push_commit("main"));
                }
                Event::Tick => {
                    // Eligible right before the tick: open, not held, on the head that was
                    // approved and green, no changes requested.
                    let eligible: BTreeMap<u64, String> = (1..=n)
                        .filter(|pr| !know.pushed.contains(pr) && !know.withdrawn.contains(pr))
                        .filter(|pr| {
                            w.sim.with_state(|s| {
                                s.pull(*pr).state == "open"
                                    && !s.pr_label_names(*pr).contains(&HOLD.to_string())
                            })
                        })
                        .map(|pr| (pr, w.head(pr)))
                        .collect();
                    w.sim.take_mutations();
                    // What CI had said before the tick (the landing push itself starts CI
                    // again on the landed commit, as a real forge does).
                    let watermark = w
                        .sim
                        .with_state(|s| s.statuses.iter().map(|x| x.id).max().unwrap_or(0));
                    let _ = w.try_tick(false).await;
                    for m in w.sim.take_mutations() {
                        let Mutation::Pushed {
                            user, refname, new, ..
                        } = m
                        else {
                            continue;
                        };
                        if refname != "refs/heads/main" {
                            continue;
                        }
                        prop_assert_eq!(&user, "bot", "only the bot pushes to main in a tick");
                        let (msg, green) = w.sim.with_state(|s| {
                            let msg = s.commits.get(&new).map(|c| c.message.clone());
                            let green = s
                                .statuses
                                .iter()
                                .filter(|st| {
                                    st.id <= watermark && st.sha == new && st.context == CI
                                })
                                .max_by_key(|st| st.id)
                                .is_some_and(|st| st.state == "success");
                            (msg, green)
                        });
                        let msg = msg.unwrap_or_default();
                        let Some((meta, _, members)) = parse_staging_meta(&msg) else {
                            return Err(TestCaseError::fail(format!(
                                "main moved to {new}, which is not a staging commit: {msg:?}"
                            )));
                        };
                        prop_assert!(green, "batch {} landed without a green {CI}", meta.id);
                        for m in &members {
                            prop_assert_eq!(
                                eligible.get(&m.pr).map(String::as_str),
                                Some(m.head.as_str()),
                                "#{} landed in batch {} but was not eligible on that head",
                                m.pr,
                                &meta.id
                            );
                            let twice = landed.insert(m.pr, meta.id.clone());
                            prop_assert!(twice.is_none(), "#{} landed twice", m.pr);
                        }
                    }
                }
            }
        }
        // No PR is merged on the forge that did not land in a tested batch.
        for pr in 1..=n {
            if w.sim.with_state(|s| s.pull(pr).merged) {
                prop_assert!(landed.contains_key(&pr), "#{pr} merged outside a landing");
            }
        }
        w.shutdown().await;
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_base_only_moves_to_a_tested_green_commit_of_eligible_prs_and_no_pr_lands_twice(c in case()) {
        run(&c)?;
    }
}
