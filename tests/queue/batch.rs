//! Batch mode's pure planning layer (`queue::batch`): table tests for each rule, and a
//! property test that drives the state machine over a model queue — random PRs, some of
//! them breaking, pushes during tests — and checks that the base only moves to a tested
//! green set of PRs that were eligible on the tested heads, that no PR lands twice, and
//! that bisection finds every breaking PR and lands every other one.

use std::collections::BTreeSet;

use mergeward::forge::{
    CommitStatuses, ContextName, ContextState, ForgeKind, ReportKind, Sha, StatusReport,
};
use mergeward::queue::batch::*;
use proptest::prelude::*;

fn sha(a: u64, b: u64) -> Sha {
    Sha::parse(&format!("{a:020x}{b:020x}")).unwrap_or_else(|| panic!("sha {a} {b}"))
}

fn member(pr: u64) -> Member {
    Member {
        pr,
        head: sha(pr, 0),
    }
}

fn settings(size: usize) -> BatchSettings {
    BatchSettings {
        adaptive: false,
        size,
        bisect_max_steps: 3,
    }
}

fn batch(prs: &[u64]) -> Batch {
    let members: Vec<Member> = prs.iter().map(|&p| member(p)).collect();
    Batch {
        id: "b1".into(),
        base: sha(0, 1),
        staging: sha(0, 2),
        members,
        rebuilds: 0,
    }
}

fn statuses(pairs: &[(&str, &str)]) -> CommitStatuses {
    CommitStatuses::reduce(
        sha(0, 2),
        pairs
            .iter()
            .enumerate()
            .map(|(i, (c, s))| StatusReport {
                id: i as u64 + 1,
                context: ContextName((*c).into()),
                state: ContextState::from_status(s),
                kind: ReportKind::CommitStatus,
                target_url: None,
                description: None,
                created_at: None,
                updated_at: None,
                app: None,
                creator: None,
            })
            .collect(),
    )
}

#[test]
fn batches_take_the_oldest_eligible_prs() {
    let eligible: Vec<Member> = (1..=6).map(member).collect();
    let prs = |v: Vec<Member>| v.into_iter().map(|m| m.pr).collect::<Vec<_>>();
    assert_eq!(prs(next_batch(&eligible, &settings(4), None)), [1, 2, 3, 4]);
    assert_eq!(prs(next_batch(&eligible, &settings(1), None)), [1]);
    assert_eq!(
        prs(next_batch(&eligible, &settings(0), None)),
        [1],
        "0 means 1"
    );
    // Bisecting: the first half of the suspects only.
    let b = Bisect {
        suspects: vec![2, 3, 5, 6],
        steps: 1,
    };
    assert_eq!(prs(next_batch(&eligible, &settings(4), Some(&b))), [2, 3]);
    // The split budget spent: one at a time.
    let spent = Bisect { steps: 3, ..b };
    assert_eq!(prs(next_batch(&eligible, &settings(4), Some(&spent))), [2]);
    // Every suspect gone: back to normal batches.
    let gone = Bisect {
        suspects: vec![9],
        steps: 1,
    };
    assert_eq!(
        prs(next_batch(&eligible, &settings(2), Some(&gone))),
        [1, 2]
    );
}

#[test]
fn staging_contexts_follow_the_event_on_gitea() {
    let req = vec!["CI / test (pull_request)".to_string(), "lint".to_string()];
    assert_eq!(
        staging_contexts(ForgeKind::Gitea, &req, &[]),
        ["CI / test (push)", "lint"]
    );
    assert_eq!(staging_contexts(ForgeKind::GitHub, &req, &[]), req);
    let configured = vec!["CI / all (push)".to_string()];
    assert_eq!(
        staging_contexts(ForgeKind::Forgejo, &req, &configured),
        configured
    );
}

#[test]
fn only_success_on_every_staging_context_is_green() {
    let green: BTreeSet<String> = ["success".to_string()].into_iter().collect();
    let ctx = vec!["a".to_string(), "b".to_string()];
    let h = chrono::Duration::hours;
    let limit = Some(h(6));
    type Row<'a> = (&'a str, Vec<(&'a str, &'a str)>, i64, Verdict);
    let table: Vec<Row> = vec![
        (
            "all green",
            vec![("a", "success"), ("b", "success")],
            1,
            Verdict::Green,
        ),
        ("one missing", vec![("a", "success")], 1, Verdict::Pending),
        (
            "one pending",
            vec![("a", "success"), ("b", "pending")],
            1,
            Verdict::Pending,
        ),
        (
            "pending too long",
            vec![("a", "success"), ("b", "pending")],
            7,
            Verdict::Stuck,
        ),
        (
            "skipped is not green",
            vec![("a", "success"), ("b", "skipped")],
            1,
            Verdict::Red(vec![("b".into(), "skipped".into())]),
        ),
        (
            "red beats pending",
            vec![("a", "failure"), ("b", "pending")],
            1,
            Verdict::Red(vec![("a".into(), "failure".into())]),
        ),
    ];
    for (name, st, age, want) in table {
        assert_eq!(
            staging_verdict(&ctx, &green, &statuses(&st), h(age), limit),
            want,
            "{name}"
        );
    }
    // No contexts at all: never green.
    assert_eq!(
        staging_verdict(&[], &green, &statuses(&[]), h(1), limit),
        Verdict::Pending
    );
}

#[test]
fn a_green_batch_lands_only_if_nothing_changed() {
    let b = batch(&[1, 2]);
    let ok = LandCheck {
        base: sha(0, 1),
        members: vec![(1, Some(sha(1, 0)), true), (2, Some(sha(2, 0)), true)],
    };
    assert_eq!(may_land(&b, &ok), Ok(()));
    let cases: Vec<(&str, LandCheck)> = vec![
        (
            "base moved",
            LandCheck {
                base: sha(0, 9),
                ..ok.clone()
            },
        ),
        (
            "a PR pushed during the test",
            LandCheck {
                members: vec![(1, Some(sha(1, 1)), true), (2, Some(sha(2, 0)), true)],
                ..ok.clone()
            },
        ),
        (
            "approval withdrawn",
            LandCheck {
                members: vec![(1, Some(sha(1, 0)), true), (2, Some(sha(2, 0)), false)],
                ..ok.clone()
            },
        ),
        (
            "a PR closed",
            LandCheck {
                members: vec![(1, None, true), (2, Some(sha(2, 0)), true)],
                ..ok.clone()
            },
        ),
        (
            "a PR missing from the re-read",
            LandCheck {
                members: vec![(1, Some(sha(1, 0)), true)],
                ..ok.clone()
            },
        ),
    ];
    for (name, check) in cases {
        assert!(may_land(&b, &check).is_err(), "{name}");
    }
}

#[test]
fn a_red_batch_is_held_or_split() {
    assert_eq!(after_red(&batch(&[4]), None), AfterRed::Hold { pr: 4 });
    assert_eq!(
        after_red(&batch(&[1, 2, 3]), None),
        AfterRed::Split {
            bisect: Bisect {
                suspects: vec![1, 2, 3],
                steps: 1
            }
        }
    );
    let b = Bisect {
        suspects: vec![1, 2, 3, 4],
        steps: 1,
    };
    assert_eq!(
        after_green(&batch(&[1, 2]), Some(&b)),
        Some(Bisect {
            suspects: vec![3, 4],
            steps: 1
        })
    );
    assert_eq!(after_green(&batch(&[1, 2]), None), None);
    assert_eq!(adapt_size(4, false, 8), 2);
    assert_eq!(adapt_size(1, false, 8), 1);
    assert_eq!(adapt_size(8, true, 8), 8);
    assert_eq!(adapt_size(3, true, 8), 4);
}

#[test]
fn staging_messages_carry_the_batch() {
    let members = vec![member(3), member(7)];
    let msg = staging_message("2026-12-02-1", &sha(0, 1), &members);
    insta::assert_snapshot!("staging_message", msg);
    assert_eq!(
        parse_staging_message(&msg),
        Some(("2026-12-02-1".to_string(), sha(0, 1), members))
    );
    assert_eq!(parse_staging_message("Merge branch 'x'"), None);
    let dup = format!("{msg}{TRAILER_PR}: #3 {}\n", sha(3, 0));
    assert_eq!(
        parse_staging_message(&dup),
        None,
        "a PR twice is not a batch"
    );
    let bad = msg.replace(&sha(7, 0).to_string(), "not-a-sha");
    assert_eq!(parse_staging_message(&bad), None);
}

/// A model queue driven by the pure layer.
#[derive(Debug, Clone)]
struct Pr {
    n: u64,
    breaking: bool,
    version: u64,
    /// Pushed to during the first test it is in.
    pushed_during_test: bool,
    held: bool,
}

fn run_model(prs: &mut [Pr], size: usize) -> Result<Vec<Vec<u64>>, TestCaseError> {
    let s = settings(size);
    let mut landed: Vec<u64> = Vec::new();
    let mut landings: Vec<Vec<u64>> = Vec::new();
    let mut bisect: Option<Bisect> = None;
    let mut base_no = 0u64;
    for _tick in 0..(prs.len() * 8 + 8) {
        let eligible: Vec<Member> = prs
            .iter()
            .filter(|p| !p.held && !landed.contains(&p.n))
            .map(|p| Member {
                pr: p.n,
                head: sha(p.n, p.version),
            })
            .collect();
        if eligible.is_empty() {
            break;
        }
        let members = next_batch(&eligible, &s, bisect.as_ref());
        prop_assert!(!members.is_empty());
        let b = Batch {
            id: format!("b{_tick}"),
            base: sha(0, base_no),
            staging: sha(99, _tick as u64),
            members: members.clone(),
            rebuilds: 0,
        };
        // The test: red iff a breaking PR is in the merge result.
        let red = members
            .iter()
            .any(|m| prs.iter().any(|p| p.n == m.pr && p.breaking));
        // During the test, PRs may be pushed to.
        for m in &members {
            if let Some(p) = prs.iter_mut().find(|p| p.n == m.pr)
                && p.pushed_during_test
            {
                p.pushed_during_test = false;
                p.version += 1;
            }
        }
        if red {
            match after_red(&b, bisect.as_ref()) {
                AfterRed::Hold { pr } => {
                    if let Some(p) = prs.iter_mut().find(|p| p.n == pr) {
                        p.held = true;
                    }
                    bisect = bisect.and_then(|mut bi| {
                        bi.suspects.retain(|&x| x != pr);
                        (!bi.suspects.is_empty()).then_some(bi)
                    });
                }
                AfterRed::Split { bisect: next } => {
                    // Only the tested set's PRs are suspects: earlier suspects outside it
                    // were already cleared or are still queued.
                    bisect = Some(next);
                }
            }
            continue;
        }
        let check = LandCheck {
            base: sha(0, base_no),
            members: members
                .iter()
                .map(|m| {
                    let p = prs.iter().find(|p| p.n == m.pr);
                    (
                        m.pr,
                        p.map(|p| sha(p.n, p.version)),
                        p.is_some_and(|p| !p.held),
                    )
                })
                .collect(),
        };
        if may_land(&b, &check).is_err() {
            continue; // rebuild next tick with the new heads
        }
        // Land: the base moves to the tested commit.
        for m in &members {
            prop_assert!(!landed.contains(&m.pr), "#{} landed twice", m.pr);
            let p = prs.iter().find(|p| p.n == m.pr);
            prop_assert!(p.is_some_and(|p| !p.breaking), "breaking #{} landed", m.pr);
            prop_assert!(
                p.is_some_and(|p| sha(p.n, p.version) == m.head),
                "#{} landed on a head that was not tested",
                m.pr
            );
            landed.push(m.pr);
        }
        landings.push(members.iter().map(|m| m.pr).collect());
        base_no += 1;
        bisect = after_green(&b, bisect.as_ref());
    }
    // Liveness: every good PR landed, every breaking one is held.
    for p in prs.iter() {
        if p.breaking {
            prop_assert!(p.held, "breaking #{} was not found", p.n);
        } else {
            prop_assert!(landed.contains(&p.n), "good #{} never landed", p.n);
        }
    }
    Ok(landings)
}

proptest! {
    #[test]
    fn the_base_only_moves_to_tested_green_sets(
        flags in proptest::collection::vec((any::<bool>(), 0u8..10), 1..24),
        size in 1usize..9,
    ) {
        let mut prs: Vec<Pr> = flags
            .iter()
            .enumerate()
            .map(|(i, (pushed, b))| Pr {
                n: i as u64 + 1,
                breaking: *b == 0,
                version: 0,
                pushed_during_test: *pushed,
                held: false,
            })
            .collect();
        let landings = run_model(&mut prs, size)?;
        for l in &landings {
            prop_assert!(l.len() <= size.max(1));
        }
    }
}

fn in_flight(prs: &[u64], verdict: Verdict, rebuilds: u32) -> InFlight {
    InFlight {
        batch: Batch {
            rebuilds,
            ..batch(prs)
        },
        verdict,
        land: None,
    }
}

fn snap(eligible: &[u64], f: Option<InFlight>) -> BatchSnapshot {
    BatchSnapshot {
        base: sha(0, 1),
        eligible: eligible.iter().map(|&p| member(p)).collect(),
        in_flight: f,
        bisect: None,
    }
}

#[test]
fn one_batch_tick_takes_one_step() {
    let s = settings(2);
    let red = || Verdict::Red(vec![("CI".into(), "failure".into())]);
    let ok_check = LandCheck {
        base: sha(0, 1),
        members: vec![(1, Some(sha(1, 0)), true), (2, Some(sha(2, 0)), true)],
    };
    let pushed = |mut s: BatchSnapshot| {
        s.eligible[0].head = sha(1, 9);
        s
    };
    let moved = |mut s: BatchSnapshot| {
        s.base = sha(0, 7);
        s
    };
    let with_land = |mut f: InFlight, c: LandCheck| {
        f.land = Some(c);
        f
    };
    let kind = |step: &BatchStep| match step {
        BatchStep::Idle => "idle".to_string(),
        BatchStep::Build { members } => format!(
            "build {:?}",
            members.iter().map(|m| m.pr).collect::<Vec<_>>()
        ),
        BatchStep::Wait => "wait".into(),
        BatchStep::CheckLand => "check-land".into(),
        BatchStep::Land => "land".into(),
        BatchStep::Rebuild { .. } => "rebuild".into(),
        BatchStep::HoldStuck { prs } => format!("hold-stuck {prs:?}"),
        BatchStep::Hold { pr, .. } => format!("hold {pr}"),
        BatchStep::Split { bisect } => format!("split {:?}", bisect.suspects),
    };
    let table: Vec<(&str, BatchSnapshot, &str)> = vec![
        ("nothing to do", snap(&[], None), "idle"),
        (
            "build from the oldest",
            snap(&[1, 2, 3], None),
            "build [1, 2]",
        ),
        (
            "CI running",
            snap(&[1, 2], Some(in_flight(&[1, 2], Verdict::Pending, 0))),
            "wait",
        ),
        (
            "green: re-read first",
            snap(&[1, 2], Some(in_flight(&[1, 2], Verdict::Green, 0))),
            "check-land",
        ),
        (
            "green and unchanged: land",
            snap(
                &[1, 2],
                Some(with_land(
                    in_flight(&[1, 2], Verdict::Green, 0),
                    ok_check.clone(),
                )),
            ),
            "land",
        ),
        (
            "green, but approval withdrawn at the re-read: not landed",
            snap(
                &[1, 2],
                Some(with_land(
                    in_flight(&[1, 2], Verdict::Green, 0),
                    LandCheck {
                        members: vec![(1, Some(sha(1, 0)), true), (2, Some(sha(2, 0)), false)],
                        ..ok_check.clone()
                    },
                )),
            ),
            "rebuild",
        ),
        (
            "base moved during the test",
            moved(snap(&[1, 2], Some(in_flight(&[1, 2], Verdict::Pending, 0)))),
            "rebuild",
        ),
        (
            "PR pushed during the test",
            pushed(snap(&[1, 2], Some(in_flight(&[1, 2], Verdict::Pending, 0)))),
            "rebuild",
        ),
        (
            "PR no longer eligible",
            snap(&[2], Some(in_flight(&[1, 2], Verdict::Pending, 0))),
            "rebuild",
        ),
        (
            "stuck once: rebuild",
            snap(&[1, 2], Some(in_flight(&[1, 2], Verdict::Stuck, 0))),
            "rebuild",
        ),
        (
            "stuck again: hold all",
            snap(&[1, 2], Some(in_flight(&[1, 2], Verdict::Stuck, 1))),
            "hold-stuck [1, 2]",
        ),
        (
            "red single: hold it",
            snap(&[1], Some(in_flight(&[1], red(), 0))),
            "hold 1",
        ),
        (
            "red batch: split",
            snap(&[1, 2], Some(in_flight(&[1, 2], red(), 0))),
            "split [1, 2]",
        ),
        (
            "red while only the base moved: still the culprit",
            moved(snap(&[1], Some(in_flight(&[1], red(), 0)))),
            "hold 1",
        ),
        (
            "red but the PR was pushed since: rebuild, do not hold",
            pushed(snap(&[1], Some(in_flight(&[1], red(), 0)))),
            "rebuild",
        ),
    ];
    for (name, sn, want) in table {
        assert_eq!(kind(&plan_batch(&sn, &s)), want, "{name}");
    }
    // While bisecting, the next build takes the first half of the suspects.
    let mut sn = snap(&[1, 2, 3, 4], None);
    sn.bisect = Some(Bisect {
        suspects: vec![1, 2, 3, 4],
        steps: 1,
    });
    assert_eq!(kind(&plan_batch(&sn, &settings(4))), "build [1, 2]");
}
