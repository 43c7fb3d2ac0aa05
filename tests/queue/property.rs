//! The merge invariant, end to end: over random forge states and injected faults, a tick
//! sends a merge request only if every required context is `success` on the exact head SHA
//! it pins, that head carries enough genuine approvals and no REQUEST_CHANGES, the PR is
//! mergeable and contains the base head. Checked from the simulator's recorded requests
//! and mutations against the state before the tick. Updates are checked the same way (only
//! a behind PR that could otherwise merge), and without faults the oldest ready PR merges.

use crate::common;

use common::queue::*;
use common::*;
use mergeward::forge::ForgeKind;
use mergeward::sim::{
    CallMatch, FaultAction, ProtectionSpec, PullSpec, RecordedRequest, ReviewSpec, Scenario,
    StatusSpec,
};
use proptest::prelude::*;

const LINT: &str = "lint";
/// The base's push-required context (with [`Injected::BaseTurnsRed`]).
const PUSH: &str = "push";

#[derive(Debug, Clone, Copy, PartialEq)]
enum St {
    Success,
    Pending,
    Failure,
    Missing,
}

impl St {
    fn word(self) -> Option<&'static str> {
        match self {
            St::Success => Some("success"),
            St::Pending => Some("pending"),
            St::Failure => Some("failure"),
            St::Missing => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Pr {
    ci: St,
    lint: St,
    /// A failed CI run precedes the final CI row.
    ci_rerun: bool,
    /// alice, bob: approvals on the head (0..=2).
    approvals: u8,
    /// carol approved an older head.
    stale_approval: bool,
    /// carol requests changes on the head.
    request_changes: bool,
    mergeable: Option<bool>,
    behind: bool,
    /// bob's approval names no commit (`commit_id` empty on Gitea, null on GitHub): it
    /// never counts.
    bob_no_commit: bool,
}

impl Pr {
    fn green(&self) -> bool {
        self.ci == St::Success && self.lint == St::Success
    }
    fn approved(&self) -> bool {
        let genuine = if self.bob_no_commit && self.approvals >= 2 {
            self.approvals - 1
        } else {
            self.approvals
        };
        genuine >= 2 && !self.request_changes
    }
    /// Everything a merge needs, on the head as generated.
    fn ready(&self) -> bool {
        self.green() && self.approved() && self.mergeable == Some(true) && !self.behind
    }
    /// An update is only worth it for a behind PR that could otherwise merge.
    fn update_ok(&self) -> bool {
        self.behind && self.approved() && self.ci != St::Failure && self.lint != St::Failure
    }
    /// After a merge in the same tick every PR is behind: an update then goes to one that
    /// could merge once current (fair serial order, SPEC §8).
    fn update_after_merge_ok(&self) -> bool {
        self.approved()
            && self.ci != St::Failure
            && self.lint != St::Failure
            && (self.behind || !self.green() || self.mergeable == Some(true))
    }
}

#[derive(Debug, Clone)]
enum Injected {
    None,
    /// 502 on the statuses route from the n-th call, `times` calls in a row.
    Statuses502 {
        nth: u64,
        times: u64,
    },
    /// The same on page 2 of the statuses.
    StatusesPage2 {
        times: u64,
    },
    MalformedReviews {
        nth: u64,
    },
    ShiftPullsPage2,
    /// A push to PR `pr`'s head when the n-th read of some PR happens.
    MoveHeadOnPullRead {
        pr: u64,
        nth: u64,
    },
    MoveHeadOnStatuses {
        pr: u64,
        nth: u64,
    },
    MoveHeadOnMerge {
        pr: u64,
    },
    MergeAnswers {
        code: u16,
    },
    /// The base's push-required context turns red when `main` is read the n-th time.
    BaseTurnsRed {
        nth: u64,
    },
}

fn st() -> impl Strategy<Value = St> {
    prop_oneof![
        4 => Just(St::Success),
        1 => Just(St::Pending),
        1 => Just(St::Failure),
        1 => Just(St::Missing),
    ]
}

fn pr() -> impl Strategy<Value = Pr> {
    (
        st(),
        st(),
        any::<bool>(),
        prop_oneof![1 => Just(0u8), 1 => Just(1u8), 4 => Just(2u8)],
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop_oneof![4 => Just(Some(true)), 1 => Just(Some(false)), 1 => Just(None)],
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(
                ci,
                lint,
                ci_rerun,
                approvals,
                stale_approval,
                request_changes,
                mergeable,
                behind,
                bob_no_commit,
            )| {
                Pr {
                    ci,
                    lint,
                    ci_rerun,
                    approvals,
                    stale_approval,
                    request_changes,
                    mergeable,
                    behind,
                    bob_no_commit,
                }
            },
        )
}

fn injected(prs: usize) -> impl Strategy<Value = Injected> {
    let pr = 1..=prs as u64;
    prop_oneof![
        3 => Just(Injected::None),
        1 => (1..6u64, 1..3u64).prop_map(|(nth, times)| Injected::Statuses502 { nth, times }),
        1 => (1..3u64).prop_map(|times| Injected::StatusesPage2 { times }),
        1 => (1..4u64).prop_map(|nth| Injected::MalformedReviews { nth }),
        1 => Just(Injected::ShiftPullsPage2),
        1 => (pr.clone(), 1..4u64).prop_map(|(pr, nth)| Injected::MoveHeadOnPullRead { pr, nth }),
        1 => (pr.clone(), 1..6u64).prop_map(|(pr, nth)| Injected::MoveHeadOnStatuses { pr, nth }),
        1 => pr.prop_map(|pr| Injected::MoveHeadOnMerge { pr }),
        1 => prop::sample::select(vec![403u16, 405, 409, 500]).prop_map(|code| Injected::MergeAnswers { code }),
        1 => (1..5u64).prop_map(|nth| Injected::BaseTurnsRed { nth }),
    ]
}

fn scenario(kind: ForgeKind, prs: &[Pr], inj: &Injected) -> Scenario {
    // Two required contexts, and pages of two items: every list spans pages.
    let mut s = queue_scenario_unprotected(kind)
        .protect(
            ProtectionSpec::new("main")
                .contexts(&[CI, LINT])
                .approvals(2),
        )
        .paging(2, 2);
    for (i, p) in prs.iter().enumerate() {
        let n = i as u64 + 1;
        let mut spec = PullSpec::new(n).commits(2).mergeable(p.mergeable);
        if p.behind {
            spec = spec.behind();
        }
        s = s.pr(spec);
        if p.ci_rerun && p.ci != St::Missing {
            s = s.status(StatusSpec::pr(n, CI, "failure"));
        }
        for (ctx, state) in [(CI, p.ci), (LINT, p.lint)] {
            if let Some(w) = state.word() {
                s = s.status(StatusSpec::pr(n, ctx, w));
            }
        }
        for user in ["alice", "bob"].iter().take(p.approvals as usize) {
            s = s.review(ReviewSpec::new(n, *user, "APPROVED"));
        }
        if p.stale_approval {
            s = s.review(ReviewSpec::new(n, "carol", "APPROVED").commit(format!("pr-{n}~1")));
        }
        if p.request_changes {
            s = s.review(ReviewSpec::new(n, "carol", "REQUEST_CHANGES"));
        }
    }
    let f = match inj {
        Injected::None => None,
        Injected::Statuses502 { nth, times } => Some(
            fault(route::statuses(kind), http(502, None))
                .calls(CallMatch::Range(*nth, nth + times - 1)),
        ),
        Injected::StatusesPage2 { times } => Some(
            fault(route::statuses(kind), http(502, None))
                .query("page", "2")
                .calls(CallMatch::Range(1, *times)),
        ),
        Injected::MalformedReviews { nth } => {
            Some(fault(route::reviews(kind), FaultAction::MalformedJson).nth(*nth))
        }
        Injected::ShiftPullsPage2 => {
            Some(fault(route::pulls(kind), FaultAction::ShiftPage).query("page", "2"))
        }
        Injected::MoveHeadOnPullRead { pr, nth } => {
            Some(fault(route::pull(kind), FaultAction::MoveHead { pr: *pr }).nth(*nth))
        }
        Injected::MoveHeadOnStatuses { pr, nth } => {
            Some(fault(route::statuses(kind), FaultAction::MoveHead { pr: *pr }).nth(*nth))
        }
        Injected::MoveHeadOnMerge { pr } => {
            Some(fault(route::merge(kind), FaultAction::MoveHead { pr: *pr }).nth(1))
        }
        Injected::MergeAnswers { code } => {
            Some(fault(route::merge(kind), http(*code, None)).nth(1))
        }
        Injected::BaseTurnsRed { nth } => {
            s = s.status(StatusSpec::branch("main", PUSH, "success"));
            Some(
                fault(
                    route::branch(kind),
                    FaultAction::PostBranchStatus {
                        branch: "main".into(),
                        context: PUSH.into(),
                        state: "failure".into(),
                    },
                )
                .nth(*nth),
            )
        }
    };
    match f {
        Some(f) => s.fault(f),
        None => s,
    }
}

fn pr_of(r: &RecordedRequest) -> u64 {
    let parts: Vec<&str> = r.path.split('/').collect();
    let i = parts
        .iter()
        .position(|p| *p == "pulls")
        .expect("a PR route");
    parts[i + 1].parse().expect("a PR number")
}

async fn check(kind: ForgeKind, prs: Vec<Pr>, inj: Injected) -> Result<(), TestCaseError> {
    let mut w = World::start(kind, scenario(kind, &prs, &inj)).await;
    if matches!(inj, Injected::BaseTurnsRed { .. }) {
        w.settings.push_required_contexts = vec![PUSH.into()];
    }
    for (i, p) in prs.iter().enumerate() {
        if p.bob_no_commit {
            w.sim.with_state(|s| {
                for r in s
                    .reviews
                    .iter_mut()
                    .filter(|r| r.pr == i as u64 + 1 && r.user == "bob")
                {
                    r.commit_id = String::new();
                }
            });
        }
    }
    let heads: Vec<String> = (1..=prs.len() as u64).map(|n| w.head(n)).collect();
    let base = w.main_head();
    let result = w.try_tick(false).await;
    let ctx = format!(
        "{kind} {prs:?} {inj:?} -> {:?}",
        result.as_ref().map(|r| &r.outcome)
    );

    // Every merge request sent: pinned to the generated head of a PR that was ready there.
    let (m, rt) = route::merge(kind);
    let merges = requests_to(&w.sim, m, rt);
    for q in &merges {
        let n = pr_of(q);
        let body = q.body.clone().unwrap_or_default();
        let pinned = body
            .get("head_commit_id")
            .or_else(|| body.get("sha"))
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        prop_assert_eq!(pinned, heads[n as usize - 1].as_str(), "{}", ctx);
        prop_assert!(
            prs[n as usize - 1].ready(),
            "merge of unready #{}: {}",
            n,
            ctx
        );
        prop_assert!(body.get("force_merge").is_none(), "{}", ctx);
    }
    // The base turned red before the merge request: nothing may be merged onto it.
    if let Injected::BaseTurnsRed { nth } = inj {
        let all = w.sim.requests();
        let (bm, brt) = route::branch(kind);
        let red_at = all
            .iter()
            .enumerate()
            .filter(|(_, q)| q.method == bm && q.route.as_deref() == Some(brt))
            .nth(nth as usize - 1)
            .map(|(i, _)| i);
        if let Some(red_at) = red_at {
            let merged_after = all
                .iter()
                .enumerate()
                .any(|(i, q)| i > red_at && q.method == m && q.route.as_deref() == Some(rt));
            prop_assert!(!merged_after, "merged onto a base that turned red: {}", ctx);
        }
    }
    // What the forge actually did.
    let muts = w.sim.take_mutations();
    let merged_any = muts
        .iter()
        .any(|m| matches!(m, mergeward::sim::Mutation::Merged { .. }));
    // Every update request: a behind PR that could otherwise merge (after a merge in the
    // same tick: one that could merge once current).
    let (um, urt) = route::update(kind);
    for q in requests_to(&w.sim, um, urt) {
        let n = pr_of(&q);
        let p = &prs[n as usize - 1];
        prop_assert!(
            p.update_ok() || (merged_any && p.update_after_merge_ok()),
            "update of #{}: {}",
            n,
            ctx
        );
    }
    // The token's own refusal (403) is the bot's problem: no hold, no comment, exit 3.
    if let Injected::MergeAnswers { code: 403 } = inj
        && !merges.is_empty()
    {
        prop_assert!(
            !muts.iter().any(|m| matches!(
                m,
                mergeward::sim::Mutation::LabelAdded { .. }
                    | mergeward::sim::Mutation::Commented { .. }
            )),
            "a 403 held or told a PR: {}",
            ctx
        );
        prop_assert_eq!(
            result.as_ref().err().map(|e| e.exit_code()),
            Some(mergeward::error::ExitCode::Auth),
            "{}",
            ctx
        );
    }
    let merged: Vec<(u64, String)> = muts
        .iter()
        .filter_map(|m| match m {
            mergeward::sim::Mutation::Merged { pr, head_sha, .. } => Some((*pr, head_sha.clone())),
            _ => None,
        })
        .collect();
    prop_assert!(merged.len() <= 1, "at most one merge per tick: {}", ctx);
    for (n, head) in &merged {
        prop_assert_eq!(head, &heads[*n as usize - 1], "{}", ctx);
        prop_assert!(prs[*n as usize - 1].ready(), "{}", ctx);
    }
    prop_assert_eq!(w.main_head() != base, !merged.is_empty(), "{}", ctx);
    // Liveness without faults: the oldest ready PR merges.
    if matches!(inj, Injected::None) {
        let want = prs.iter().position(Pr::ready).map(|i| i as u64 + 1);
        prop_assert_eq!(merged.first().map(|(n, _)| *n), want, "{}", ctx);
    }
    w.shutdown().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 40,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_merge_is_sent_only_for_a_head_proven_ready(
        github in any::<bool>(),
        (prs, inj) in prop::collection::vec(pr(), 1..=4)
            .prop_flat_map(|prs| { let n = prs.len(); (Just(prs), injected(n)) }),
    ) {
        let kind = if github { ForgeKind::GitHub } else { ForgeKind::Gitea };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(check(kind, prs, inj))?;
    }
}

// ------------------------------------------------------------------------------------
// GitHub: protection drawn from classic protection + rulesets + app pins + fields
// mergeward leaves to GitHub (code-owner review, an unknown rule type). The bot acts with
// a token that bypasses every rule (admin, `enforce_admins: false`, ruleset bypass actor),
// so GitHub's merge API would accept anything it sends: the invariant is mergeward's own.

const ACTIONS: i64 = 15368;
const EVIL: i64 = 999;

#[derive(Debug, Clone)]
struct GhRules {
    classic: Option<(u64, bool, bool)>, // (approvals, pin CI to Actions, code owners)
    ruleset: Option<(u64, bool, bool, bool)>, // (approvals, pin lint to Actions, code owners, unknown rule)
}

#[derive(Debug, Clone)]
struct GhPr {
    /// CI check run from: 0 none, 1 Actions, 2 another app; plus a CI commit status.
    ci_run: (u8, bool),
    /// lint check run from: 0 none, 1 Actions, 2 another app.
    lint_run: u8,
    approvals: u8,
    owner_approved: bool,
    mergeable: Option<bool>,
}

fn gh_rules() -> impl Strategy<Value = GhRules> {
    (
        prop::option::of((0..3u64, any::<bool>(), prop::bool::weighted(0.3))),
        prop::option::of((
            0..3u64,
            any::<bool>(),
            prop::bool::weighted(0.3),
            prop::bool::weighted(0.2),
        )),
    )
        .prop_map(|(classic, ruleset)| GhRules { classic, ruleset })
}

fn gh_pr() -> impl Strategy<Value = GhPr> {
    (
        (0..3u8, any::<bool>()),
        prop_oneof![3 => Just(1u8), 1 => Just(0u8), 1 => Just(2u8)],
        0..4u8,
        any::<bool>(),
        prop_oneof![4 => Just(Some(true)), 1 => Just(Some(false)), 1 => Just(None)],
    )
        .prop_map(
            |(ci_run, lint_run, approvals, owner_approved, mergeable)| GhPr {
                ci_run,
                lint_run,
                approvals,
                owner_approved,
                mergeable,
            },
        )
}

fn gh_scenario(rules: &GhRules, prs: &[GhPr]) -> Scenario {
    use mergeward::sim::{CheckRunSpec, RulesetSpec};
    let mut s = queue_scenario_unprotected(ForgeKind::GitHub).code_owner("dave");
    let mut classic = ProtectionSpec::new("main").admins_bypass();
    match rules.classic {
        Some((n, pin, owners)) => {
            classic = classic.contexts(&[CI]).approvals(n);
            if pin {
                classic = classic.pin(CI, ACTIONS);
            }
            if owners {
                classic = classic.require_code_owner_reviews();
            }
        }
        None => classic = classic.contexts(&[CI]),
    }
    s = s.protect(classic);
    if let Some((n, pin, owners, unknown)) = rules.ruleset {
        let mut rs = RulesetSpec {
            require_code_owner_review: owners,
            ..RulesetSpec::new("rs", &["main"])
        }
        .approvals(n)
        .check(LINT, pin.then_some(ACTIONS))
        .bypass("admin");
        if unknown {
            rs = rs.rule(serde_json::json!({"type": "future_rule", "parameters": {"x": 1}}));
        }
        s = s.ruleset(rs);
    }
    let app = |from: u8| match from {
        1 => Some((ACTIONS, "github-actions")),
        2 => Some((EVIL, "evil-ci")),
        _ => None,
    };
    for (i, p) in prs.iter().enumerate() {
        let n = i as u64 + 1;
        s = s.pr(PullSpec::new(n).mergeable(p.mergeable));
        if p.ci_run.1 {
            s = s.status(StatusSpec::pr(n, CI, "success"));
        }
        for (name, from) in [(CI, p.ci_run.0), (LINT, p.lint_run)] {
            if let Some((id, slug)) = app(from) {
                let mut c = CheckRunSpec::pr(n, name, Some("success"));
                c.app_id = id;
                c.app_slug = slug.into();
                s = s.check_run(c);
            }
        }
        for user in ["alice", "bob", "carol"].iter().take(p.approvals as usize) {
            s = s.review(ReviewSpec::new(n, *user, "APPROVED"));
        }
        if p.owner_approved {
            s = s.review(ReviewSpec::new(n, "dave", "APPROVED"));
        }
    }
    s
}

/// GitHub's own verdict without bypass: the simulator's merge gate for an actor with no
/// rights, plus GitHub's documented pin rule (a pinned check counts only from its app).
fn github_allows(st: &mergeward::sim::SimState, n: u64) -> bool {
    let p = st.pull(n);
    if st.github_merge_block_with(n, "", Some("merge")).is_some() || p.mergeable != Some(true) {
        return false;
    }
    st.github_required_checks(&p.base_ref)
        .iter()
        .all(|(ctx, app)| match app {
            Some(a) => st.check_runs.iter().any(|r| {
                r.head_sha == p.head_sha
                    && &r.name == ctx
                    && r.app_id == *a
                    && r.conclusion.as_deref() == Some("success")
            }),
            None => true,
        })
}

async fn check_github(rules: GhRules, prs: Vec<GhPr>) -> Result<(), TestCaseError> {
    let kind = ForgeKind::GitHub;
    let mut w = World::start(kind, gh_scenario(&rules, &prs)).await;
    w.forge = client_with(&w.sim, kind, Some(ADMIN_TOKEN), |h| h.max_retries = 1);
    let allowed: Vec<bool> = (1..=prs.len() as u64)
        .map(|n| w.sim.with_state(|st| github_allows(st, n)))
        .collect();
    let heads: Vec<String> = (1..=prs.len() as u64).map(|n| w.head(n)).collect();
    let result = w.try_tick(false).await;
    let ctx = format!(
        "{rules:?} {prs:?} allowed={allowed:?} -> {:?}",
        result.as_ref().map(|r| (&r.outcome, decisions(r)))
    );
    let (m, rt) = route::merge(kind);
    for q in requests_to(&w.sim, m, rt) {
        let n = pr_of(&q);
        let pinned = q
            .body
            .as_ref()
            .and_then(|b| b.get("sha"))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        prop_assert_eq!(&pinned, &heads[n as usize - 1], "{}", ctx);
        prop_assert!(
            allowed[n as usize - 1],
            "merge of #{} that GitHub allows only with a bypass: {}",
            n,
            ctx
        );
    }
    w.shutdown().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn on_github_a_merge_is_sent_only_when_github_would_allow_it_without_bypass(
        rules in gh_rules(),
        prs in prop::collection::vec(gh_pr(), 1..=3),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(check_github(rules, prs))?;
    }
}
