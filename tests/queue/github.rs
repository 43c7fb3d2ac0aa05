//! GitHub protection read the way GitHub enforces it (issue 10). Every story runs against
//! the simulated GitHub and shows both outcomes: the unsafe case sends no merge request at
//! all (often to a token that could bypass the rule, so GitHub itself would have merged),
//! and the legitimate case still merges.

use crate::common;

use std::time::Duration;

use common::queue::*;
use common::*;
use mergeward::error::ExitCode;
use mergeward::forge::{ForgeKind, MergeMethod};
use mergeward::queue::tick::TickOutcome;
use mergeward::sim::{
    CallMatch, CheckRunSpec, FaultAction, ProtectionSpec, PullSpec, ReviewSpec, RulesetSpec,
    Scenario, StatusSpec,
};
use serde_json::json;

const GH: ForgeKind = ForgeKind::GitHub;
const ACTIONS_APP: i64 = 15368;
const EVIL_APP: i64 = 999;

/// `queue_scenario` on GitHub with `protection` instead of the default one.
fn gh(protection: ProtectionSpec) -> Scenario {
    queue_scenario_unprotected(GH).protect(protection)
}

fn run(pr: u64, name: &str, conclusion: &str, app: i64, slug: &str) -> CheckRunSpec {
    let mut c = CheckRunSpec::pr(pr, name, Some(conclusion));
    c.app_id = app;
    c.app_slug = slug.into();
    c
}

/// The same world, acting with the admin's token (classic protection readable, and
/// `enforce_admins: false` / ruleset bypass lets GitHub merge anything it sends).
fn as_admin(w: &mut World) {
    w.forge = client_with(&w.sim, GH, Some(ADMIN_TOKEN), |h| h.max_retries = 1);
}

fn merge_requests(w: &World) -> usize {
    let (m, rt) = route::merge(GH);
    requests_to(&w.sim, m, rt).len()
}

fn reason_text(r: &mergeward::queue::tick::TickReport, n: u64) -> String {
    r.decisions
        .iter()
        .find(|d| d.pr.0 == n)
        .map(|d| d.reason.text())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- 1. app pins

#[tokio::test]
async fn a_pinned_check_is_satisfied_only_by_its_app() {
    for via_ruleset in [false, true] {
        let protection = if via_ruleset {
            ProtectionSpec::new("main").approvals(2)
        } else {
            ProtectionSpec::new("main")
                .contexts(&[CI])
                .approvals(2)
                .pin(CI, ACTIONS_APP)
        };
        let mut s = gh(protection);
        if via_ruleset {
            s = s.ruleset(RulesetSpec::new("ci", &["main"]).check(CI, Some(ACTIONS_APP)));
        }
        // A commit status and another app's check run, both named CI and green.
        let s = ready(s, 1).check_run(run(1, CI, "success", EVIL_APP, "evil-ci"));
        let w = World::start(GH, s).await;
        let r = w.tick().await;
        let ctx = format!("via_ruleset={via_ruleset}");
        assert_eq!(
            decision_of(&r, 1),
            ("wait", "required_wrong_source"),
            "{ctx}"
        );
        let text = reason_text(&r, 1);
        assert!(text.contains("expected app 15368"), "{ctx}: {text}");
        assert!(text.contains("app 999 (evil-ci)=success"), "{ctx}: {text}");
        assert!(text.contains("a commit status=success"), "{ctx}: {text}");
        assert_eq!(merge_requests(&w), 0, "{ctx}");
        w.assert_mutations("not merged", &[]);

        // The pinned app reports CI green: it merges.
        let head = w.head(1);
        w.sim.with_state(|st| {
            let id = st.add_check_run(&head, CI, "completed", Some("success"));
            if let Some(c) = st.check_runs.iter_mut().find(|c| c.id == id) {
                c.app_id = ACTIONS_APP;
                c.app_slug = "github-actions".into();
            }
        });
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{ctx}");
        w.assert_mutations("merged", &[merged(1, &head)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn a_pinned_check_red_from_its_app_is_not_hidden_by_a_green_one_elsewhere() {
    let s = gh(ProtectionSpec::new("main")
        .contexts(&[CI])
        .approvals(2)
        .pin(CI, ACTIONS_APP));
    let s = approve(s.pr(PullSpec::new(1)), 1)
        .check_run(run(1, CI, "failure", ACTIONS_APP, "github-actions"))
        .check_run(run(1, CI, "success", EVIL_APP, "evil-ci"));
    let w = World::start(GH, s).await;
    let r = w.tick().await;
    assert_eq!(decision_of(&r, 1).0, "wait");
    assert_eq!(merge_requests(&w), 0);
    w.shutdown().await;
}

// ------------------------------------------- 2. unmodelled fields and mergeable_state

#[tokio::test]
async fn code_owner_review_is_left_to_github_and_a_bypass_token_does_not_skip_it() {
    for via_ruleset in [false, true] {
        let ctx = format!("via_ruleset={via_ruleset}");
        let s = if via_ruleset {
            queue_scenario(GH).ruleset(
                RulesetSpec {
                    require_code_owner_review: true,
                    ..RulesetSpec::new("owners", &["main"])
                }
                .bypass("admin"),
            )
        } else {
            gh(ProtectionSpec::new("main")
                .contexts(&[CI])
                .approvals(2)
                .require_code_owner_reviews()
                .admins_bypass())
        };
        let s = ready(s.code_owner("carol"), 1);
        let mut w = World::start(GH, s).await;
        as_admin(&mut w);
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1), ("wait", "forge_blocked"), "{ctx}");
        let text = reason_text(&r, 1);
        assert!(text.contains("\"blocked\""), "{ctx}: {text}");
        assert!(text.contains("code-owner review"), "{ctx}: {text}");
        // GitHub would have merged it for this token (bypass): nothing was sent.
        assert_eq!(merge_requests(&w), 0, "{ctx}");
        w.assert_mutations("not merged", &[]);

        // The code owner approves: GitHub says clean and the queue merges.
        w.sim.with_state(|st| {
            st.add_review(1, "carol", "APPROVED");
        });
        let head = w.head(1);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{ctx}");
        w.assert_mutations("merged", &[merged(1, &head)]);
        w.shutdown().await;
    }
}

#[tokio::test]
async fn an_unknown_rule_type_is_named_and_left_to_mergeable_state() {
    let s = queue_scenario(GH).ruleset(
        RulesetSpec::new("future", &["main"])
            .rule(json!({"type": "teleport_review", "parameters": {"level": 3}})),
    );
    let s = ready_spec(ready(s, 1), PullSpec::new(2).mergeable_state("blocked"));
    let w = World::start(GH, s).await;
    let r = w.status().await;
    assert_eq!(decision_of(&r, 2), ("wait", "forge_blocked"));
    assert!(reason_text(&r, 2).contains("rule type teleport_review"));
    // #1: GitHub says clean, so the unknown rule is satisfied as far as GitHub knows.
    assert_eq!(decision_of(&r, 1), ("merge", "ready"));
    let head = w.head(1);
    let r = w.tick().await;
    assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 });
    w.assert_mutations("merged #1 only", &[merged(1, &head)]);
    w.shutdown().await;
}

#[tokio::test]
async fn mergeable_state_decides_what_github_would_refuse() {
    // (forced mergeable_state, extra non-required red status, expected decision)
    let cases: &[(&str, bool, (&str, &str))] = &[
        ("clean", false, ("merge", "ready")),
        ("unstable", true, ("merge", "ready")),
        ("has_hooks", false, ("merge", "ready")),
        ("blocked", false, ("wait", "forge_blocked")),
        ("behind", false, ("wait", "forge_blocked")),
        ("unknown", false, ("wait", "mergeability_unknown")),
        ("dirty", false, ("wait", "conflicts")),
    ];
    for (state, extra_red, want) in cases {
        let mut s = ready_spec(queue_scenario(GH), PullSpec::new(1).mergeable_state(*state));
        if *extra_red {
            s = s.status(StatusSpec::pr(1, "coverage", "failure"));
        }
        let w = World::start(GH, s).await;
        let r = w.tick().await;
        assert_eq!(decision_of(&r, 1), *want, "{state}");
        let merged_now = want.0 == "merge";
        assert_eq!(merge_requests(&w), usize::from(merged_now), "{state}");
        w.shutdown().await;
    }
}

#[tokio::test]
async fn mergeable_state_is_checked_again_right_before_the_merge() {
    // The pre-merge re-read of the PR is slow; meanwhile GitHub starts to block it.
    let s = ready(queue_scenario(GH), 1)
        .fault(fault(route::pull(GH), FaultAction::Delay { ms: 400 }).calls(CallMatch::From(2)));
    let w = World::start(GH, s).await;
    let block = async {
        for _ in 0..2000 {
            if !w.explain(1).await.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        w.sim
            .with_state(|st| st.pr_mut(1).mergeable_state_override = Some("blocked".into()));
    };
    let (r, ()) = tokio::join!(w.tick(), block);
    assert_eq!(r.outcome, TickOutcome::Deferred { pr: 1 });
    assert_eq!(merge_requests(&w), 0);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("mergeable_state is \"blocked\"")),
        "{:?}",
        r.notes
    );
    let latest = w.explain(1).await;
    assert_eq!(latest[0].reason_code.as_str(), "forge_blocked");
    // GitHub clears the block: the next tick merges.
    w.sim.clear_faults();
    w.sim
        .with_state(|st| st.pr_mut(1).mergeable_state_override = None);
    let head = w.head(1);
    let r = w.tick().await;
    assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 });
    w.assert_mutations("merged", &[merged(1, &head)]);
    w.shutdown().await;
}

// ------------------------------------------------------------- 3. merge queue rule

#[tokio::test]
async fn a_branch_that_requires_githubs_merge_queue_is_a_configuration_problem() {
    let s = ready(
        queue_scenario(GH).ruleset(RulesetSpec::new("mq", &["main"]).rule(
            json!({"type": "merge_queue", "parameters": {
                "check_response_timeout_minutes": 60, "grouping_strategy": "ALLGREEN",
                "max_entries_to_build": 5, "max_entries_to_merge": 5, "merge_method": "MERGE",
                "min_entries_to_merge": 1, "min_entries_to_merge_wait_minutes": 5}}),
        )),
        1,
    );
    let w = World::start(GH, s).await;
    let err = w
        .try_tick(false)
        .await
        .expect_err("a configuration problem");
    assert_eq!(err.exit_code(), ExitCode::Usage, "{err}");
    assert!(err.to_string().contains("merge queue"), "{err}");
    assert!(err.to_string().contains("ruleset"), "{err}");
    assert_only_reads(&w.sim, "merge queue");
    w.assert_mutations("nothing", &[]);
    w.shutdown().await;

    // Without the rule the same PR merges.
    let w = World::start(GH, ready(queue_scenario(GH), 1)).await;
    let r = w.tick().await;
    assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 });
    w.shutdown().await;
}

#[tokio::test]
async fn a_merge_method_the_branch_does_not_allow_is_a_configuration_problem() {
    let s = ready(
        queue_scenario(GH).ruleset(RulesetSpec {
            allowed_merge_methods: Some(vec!["squash".into(), "rebase".into()]),
            ..RulesetSpec::new("methods", &["main"])
        }),
        1,
    );
    let mut w = World::start(GH, s).await;
    let err = w.try_tick(false).await.expect_err("merge is not allowed");
    assert_eq!(err.exit_code(), ExitCode::Usage, "{err}");
    assert!(err.to_string().contains("squash, rebase"), "{err}");
    assert!(err.to_string().contains("queue.merge_method"), "{err}");
    assert_only_reads(&w.sim, "method");

    w.settings.merge_method = MergeMethod::Squash;
    let r = w.tick().await;
    assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 });
    let muts = w.sim.take_mutations();
    assert!(
        muts.iter().any(
            |m| matches!(m, mergeward::sim::Mutation::Merged { method, .. } if method == "squash")
        ),
        "{muts:?}"
    );
    w.shutdown().await;
}

// ------------------------------------------------------------ 4. approvals floor

#[tokio::test]
async fn a_ruleset_count_never_stands_in_for_unreadable_classic_approvals() {
    // The bot cannot read classic protection (403); the ruleset says 0 approvals.
    for (ruleset_count, need) in [(0u64, 2u32), (3, 3)] {
        let s = queue_scenario(GH)
            .ruleset(RulesetSpec::new("rs", &["main"]).approvals(ruleset_count))
            .pr(PullSpec::new(1));
        let s = green(s, 1).review(ReviewSpec::new(1, "alice", "APPROVED"));
        let w = World::start(GH, s).await;
        let r = w.tick().await;
        let ctx = format!("ruleset={ruleset_count}");
        assert_eq!(r.required_approvals, need, "{ctx}");
        assert_eq!(
            decision_of(&r, 1),
            ("wait", "insufficient_approvals"),
            "{ctx}"
        );
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("queue.required_approvals (2)")
                    && n.contains("classic branch protection (HTTP 403)")),
            "{ctx}: {:?}",
            r.notes
        );
        assert_eq!(merge_requests(&w), 0, "{ctx}");
        let recorded = w.explain(1).await;
        assert_eq!(recorded[0].evidence.required_approvals, Some(need), "{ctx}");
        let floor = recorded[0].evidence.extra["approvals_floor"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            floor.contains("classic branch protection (HTTP 403) could not be read"),
            "{ctx}: {floor}"
        );

        // Enough approvals: it merges.
        w.sim.with_state(|st| {
            st.add_review(1, "bob", "APPROVED");
            st.add_review(1, "carol", "APPROVED");
        });
        let head = w.head(1);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{ctx}");
        w.assert_mutations("merged", &[merged(1, &head)]);
        w.shutdown().await;
    }
}

// ----------------------------------------------------------- 5. skipped / neutral

#[tokio::test]
async fn a_skipped_required_check_has_its_own_reason_and_merges_only_by_setting() {
    for conclusion in ["skipped", "neutral"] {
        let s = approve(queue_scenario(GH).pr(PullSpec::new(1)), 1).check_run(run(
            1,
            CI,
            conclusion,
            ACTIONS_APP,
            "github-actions",
        ));
        let mut w = World::start(GH, s).await;
        let r = w.tick().await;
        assert_eq!(
            decision_of(&r, 1),
            ("wait", "required_skipped"),
            "{conclusion}"
        );
        let text = reason_text(&r, 1);
        assert!(text.contains(&format!("CI={conclusion}")), "{text}");
        assert!(text.contains("queue.green_states"), "{text}");
        assert_eq!(merge_requests(&w), 0);

        w.settings.green_states = vec!["success".into(), conclusion.into()];
        let head = w.head(1);
        let r = w.tick().await;
        assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 }, "{conclusion}");
        w.assert_mutations("merged", &[merged(1, &head)]);
        w.shutdown().await;
    }
}

// ------------------------------------------------------- 6. secondary rate limits

#[tokio::test]
async fn a_secondary_rate_limit_is_could_not_decide_never_an_auth_failure() {
    let s = ready(queue_scenario(GH), 1).fault(fault(
        route::pulls(GH),
        FaultAction::github_secondary_rate_limit(),
    ));
    let w = World::start(GH, s).await;
    let started = std::time::Instant::now();
    let err = w.try_tick(false).await.expect_err("rate limited");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no 60 s wait beyond the budget"
    );
    assert_eq!(err.exit_code(), ExitCode::CouldNotDecide, "{err}");
    assert!(
        err.to_string().contains("rate limited; retry in 60 s"),
        "{err}"
    );
    assert_eq!(merge_requests(&w), 0);
    w.shutdown().await;
}

#[tokio::test]
async fn a_secondary_rate_limit_with_a_short_retry_after_is_waited_out() {
    let FaultAction::Status {
        code,
        body,
        mut headers,
    } = FaultAction::github_secondary_rate_limit()
    else {
        unreachable!()
    };
    headers.push(("Retry-After".into(), "1".into()));
    let s = ready(queue_scenario(GH), 1).fault(
        fault(
            route::pulls(GH),
            FaultAction::Status {
                code,
                body,
                headers,
            },
        )
        .nth(1),
    );
    let w = World::start(GH, s).await;
    let head = w.head(1);
    let r = w.tick().await;
    assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 });
    w.assert_mutations("merged", &[merged(1, &head)]);
    w.shutdown().await;
}

#[tokio::test]
async fn a_secondary_rate_limit_on_the_merge_does_not_hold_the_pr() {
    let s = ready(queue_scenario(GH), 1)
        .fault(fault(route::merge(GH), FaultAction::github_secondary_rate_limit()).nth(1));
    let w = World::start(GH, s).await;
    let r = w.tick().await;
    assert_eq!(r.exit_code(), ExitCode::CouldNotDecide);
    assert!(
        r.unevaluated[0].error.contains("rate limited"),
        "{:?}",
        r.unevaluated
    );
    assert!(!w.labels(1).contains(&HOLD.to_string()), "not held");
    w.assert_mutations("nothing", &[]);
    // Next tick: the limit has passed and the PR merges.
    let head = w.head(1);
    let r = w.tick().await;
    assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 });
    w.assert_mutations("merged", &[merged(1, &head)]);
    w.shutdown().await;
}

// ------------------------------------------------------------------ 7. rulesets 404

#[tokio::test]
async fn a_server_without_rulesets_means_no_rules_with_a_note() {
    let w = World::start(GH, ready(queue_scenario(GH), 1).no_rulesets_api()).await;
    let head = w.head(1);
    let r = w.tick().await;
    assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 });
    assert!(
        r.notes.iter().any(|n| n.contains("no rulesets")),
        "{:?}",
        r.notes
    );
    w.assert_mutations("merged", &[merged(1, &head)]);
    w.shutdown().await;

    // Any other failure of the rules read is still a failed protection read.
    let s = ready(queue_scenario(GH), 1).fault(fault(
        ("GET", "/repos/{owner}/{repo}/rules/branches/{branch}"),
        http(500, None),
    ));
    let w = World::start(GH, s).await;
    let err = w.try_tick(false).await.expect_err("protection unreadable");
    assert_eq!(err.exit_code(), ExitCode::CouldNotDecide, "{err}");
    assert_eq!(merge_requests(&w), 0);
    w.shutdown().await;
}

// ---------------------------------------------------------------- 8. API budget

#[tokio::test]
async fn a_github_tick_reads_each_list_page_and_the_branch_once() {
    let w = World::start(GH, ready(queue_scenario(GH), 1)).await;
    let r = w.tick().await;
    assert_eq!(r.outcome, TickOutcome::Merged { pr: 1 });
    let count = |route: &str| requests_to(&w.sim, "GET", route).len();
    // One page, no `Link`: no request for a page that cannot exist.
    assert_eq!(count("/repos/{owner}/{repo}/pulls"), 1);
    assert_eq!(count("/repos/{owner}/{repo}/rules/branches/{branch}"), 1);
    assert_eq!(
        count("/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
        1
    );
    assert_eq!(count("/repos/{owner}/{repo}/commits/{ref}/statuses"), 1);
    // The protection read returns the base head; the only other read is the pre-merge one.
    assert_eq!(count("/repos/{owner}/{repo}/branches/{branch}"), 2);
    w.shutdown().await;
}

// ------------------------------------------------------------ 9. simulator shapes

#[tokio::test]
async fn the_simulated_github_serves_real_shapes() {
    let s = queue_scenario(GH)
        .paging(2, 2)
        .pr(PullSpec::new(1))
        .pr(PullSpec::new(2))
        .pr(PullSpec::new(3))
        .pr(PullSpec::new(4))
        .pr(PullSpec::new(5))
        .review(ReviewSpec::new(1, "alice", "APPROVED").user_deleted())
        .review(ReviewSpec::new(1, "bob", "APPROVED").commit_id_null())
        .status(StatusSpec::pr(1, "", "success"));
    let w = World::start(GH, s).await;
    let get = |path: String| {
        let url = format!("{}{path}", w.sim.url());
        async move {
            reqwest::Client::new()
                .get(url)
                .header("Authorization", format!("Bearer {TOKEN}"))
                .header("User-Agent", "mergeward-tests")
                .send()
                .await
                .expect("request")
        }
    };
    // Link: absolute /repositories/{id}/ URLs, GitHub's rel order (prev, next, last, first).
    let resp = get(format!("/repos/{REPO}/pulls?state=open&per_page=2&page=2")).await;
    let link = resp.headers()["link"].to_str().unwrap().to_string();
    let rels: Vec<&str> = link
        .split(", ")
        .map(|p| p.rsplit("rel=").next().unwrap().trim_matches('"'))
        .collect();
    assert_eq!(rels, ["prev", "next", "last", "first"], "{link}");
    assert!(link.contains("/repositories/1/pulls?"), "{link}");
    // Those links are served.
    let next = link.split(", ").nth(1).unwrap();
    let next = next[next.find('<').unwrap() + 1..next.find('>').unwrap()].to_string();
    let resp = reqwest::Client::new()
        .get(next)
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let page3: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(page3.as_array().unwrap().len(), 1);
    // A single page has no Link header at all.
    let resp = get(format!("/repos/{REPO}/pulls/1/commits")).await;
    assert!(resp.headers().get("link").is_none());
    // Reviews with user: null and commit_id: null; a status without context.
    let reviews: serde_json::Value = get(format!("/repos/{REPO}/pulls/1/reviews"))
        .await
        .json()
        .await
        .unwrap();
    assert!(reviews[0]["user"].is_null(), "{reviews}");
    assert!(reviews[1]["commit_id"].is_null(), "{reviews}");
    let head = w.head(1);
    let statuses: serde_json::Value = get(format!("/repos/{REPO}/commits/{head}/statuses"))
        .await
        .json()
        .await
        .unwrap();
    assert!(statuses[0].get("context").is_none(), "{statuses}");
    // Check runs carry their app.
    let pr: serde_json::Value = get(format!("/repos/{REPO}/pulls/1"))
        .await
        .json()
        .await
        .unwrap();
    assert!(pr["mergeable_state"].is_string(), "{pr}");
    // And the client reads all of it without error.
    let r = w.status().await;
    assert!(r.unevaluated.is_empty(), "{:?}", r.unevaluated);
    w.shutdown().await;
}

#[tokio::test]
async fn conditional_requests_make_an_unchanged_second_tick_nearly_free_and_never_stale() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("ledger.db.etags.json");
    // Three PRs waiting for CI (pending), two pages of everything.
    let mut s = queue_scenario(GH).paging(2, 2);
    for n in 1..=3 {
        s = approve(s.pr(PullSpec::new(n)), n).status(StatusSpec::pr(n, CI, "pending"));
    }
    let path = cache.clone();
    let mut w = World::start_with(GH, s, move |h| h.etag_cache = Some(path)).await;
    let used = |w: &World| w.sim.with_state(|st| st.rate_used);
    let r1 = w.tick().await;
    let cost1 = used(&w);
    assert!(cache.exists(), "the cache is written after the tick");
    let first: Vec<_> = decisions(&r1);
    assert!(
        first.iter().all(|d| d.2 == "required_not_green"),
        "{first:?}"
    );
    let requests1 = w.sim.requests().len();
    w.sim.clear_requests();

    // Same queue, new client (a new run reads the cache file).
    let path = cache.clone();
    w.forge = client_with(&w.sim, GH, Some(TOKEN), move |h| {
        h.max_retries = 1;
        h.etag_cache = Some(path);
    });
    let r2 = w.tick().await;
    let cost2 = used(&w) - cost1;
    assert_eq!(
        decisions(&r2),
        first,
        "a 304 is a complete read of the cached answer"
    );
    let requests2 = w.sim.requests();
    assert_eq!(requests2.len(), requests1, "no extra request");
    assert!(
        cost2 * 10 <= cost1,
        "second tick cost {cost2} rate-limit points, first {cost1}"
    );
    assert!(requests2.iter().filter(|r| r.status == 304).count() >= requests1 - cost2 as usize);

    // CI turns green on #2: its statuses changed, so that read is a full 200 and it merges.
    w.sim.with_state(|st| {
        let head = st.pull(2).head_sha.clone();
        st.add_status(&head, CI, "success");
    });
    let (head, h1) = (w.head(2), w.head(1));
    let r3 = w.tick().await;
    assert_eq!(r3.outcome, TickOutcome::Merged { pr: 2 });
    // After a merge the oldest PR is brought up to date (fair update).
    w.assert_mutations(
        "merged",
        &[
            merged(2, &head),
            updated(1, &h1),
            commented(1, "updated this branch"),
        ],
    );
    w.shutdown().await;
}
