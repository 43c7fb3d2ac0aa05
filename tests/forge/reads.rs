//! The forge layer's fail-closed reads, against the simulated forge, for Gitea and GitHub:
//! every page read, clamping tolerated, errors on any page fail the whole read.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use mergeward::error::ExitCode;
use mergeward::forge::{ContextState, Forge, ForgeError, ForgeKind, PaginationProblem, PrNumber};
use mergeward::sim::{CallMatch, Fault, FaultAction, Scenario, Sim, StatusSpec};

const STATUSES: &str = "/repos/{owner}/{repo}/commits/{ref}/statuses";

/// PR 1 carries 123 distinct contexts. The required one was posted first, so in the
/// forge's newest-first order its only success is on the last page.
fn with_123_statuses(kind: ForgeKind) -> Scenario {
    base(kind)
        .status(StatusSpec::pr(1, "CI / required (pull_request)", "success"))
        .status(StatusSpec::pr(1, "job {n}", "success").count(122))
}

fn status_pages(sim: &Sim) -> Vec<u32> {
    requests_to(sim, "GET", STATUSES)
        .iter()
        .filter_map(|r| query_value(r, "page").and_then(|p| p.parse().ok()))
        .collect()
}

#[tokio::test]
async fn all_123_statuses_are_read_while_the_server_clamps_the_page_size() {
    for kind in FLAVORS {
        // The server clamps every page to 20 items whatever the client asks for.
        let sim = Sim::start(with_123_statuses(kind).paging(20, 20))
            .await
            .unwrap();
        let forge = client(&sim, kind);
        let head = pr_head(&sim, 1);
        let st = forge
            .statuses(&head)
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(st.rows_read, 123, "{kind}");
        assert_eq!(st.latest.len(), 123, "{kind}");
        // The required context's only success was on the last page.
        assert_eq!(
            st.state_of("CI / required (pull_request)"),
            ContextState::Success,
            "{kind}"
        );
        assert_eq!(
            status_pages(&sim),
            (1..=7).collect::<Vec<_>>(),
            "{kind}: one request per page, in order"
        );
        assert!(sim.mutations().is_empty());
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn latest_state_is_the_highest_status_id_not_list_order() {
    for kind in FLAVORS {
        let sim = Sim::start(base(kind)).await.unwrap();
        let head = pr_head(&sim, 1);
        sim.with_state(|s| {
            s.add_status(head.as_str(), "CI / test", "failure");
            s.add_status(head.as_str(), "CI / test", "pending");
            s.add_status(head.as_str(), "CI / test", "success");
        });
        let st = client(&sim, kind).statuses(&head).await.unwrap();
        assert_eq!(st.state_of("CI / test"), ContextState::Success, "{kind}");
        assert_eq!(st.rows_read, 3, "{kind}");
        assert_eq!(
            st.state_of("CI / never posted"),
            ContextState::Missing,
            "{kind}"
        );
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_502_on_page_2_that_outlasts_the_retry_budget_yields_an_error_and_no_list() {
    for kind in FLAVORS {
        let sim = Sim::start(with_123_statuses(kind).paging(50, 50))
            .await
            .unwrap();
        sim.inject(
            Fault::new(
                STATUSES,
                FaultAction::Status {
                    code: 502,
                    body: None,
                    headers: vec![],
                },
            )
            .method("GET")
            .query("page", "2")
            .calls(CallMatch::Always),
        );
        let forge = client_with(&sim, kind, Some(TOKEN), |s| s.max_retries = 2);
        let err = forge
            .statuses(&pr_head(&sim, 1))
            .await
            .expect_err("must fail");
        match &err {
            ForgeError::Http {
                status,
                attempts,
                method,
                path,
                ..
            } => {
                assert_eq!(*status, 502, "{kind}");
                assert_eq!(*attempts, 3, "{kind}: first try + 2 retries");
                assert_eq!(method, "GET");
                assert!(
                    path.contains("/statuses") && path.contains("page=2"),
                    "{kind}: {path}"
                );
            }
            other => panic!("{kind}: expected an HTTP error, got {other:?}"),
        }
        assert_eq!(err.exit_code(), ExitCode::CouldNotDecide);
        assert_eq!(status_pages(&sim), vec![1, 2, 2, 2], "{kind}");
        assert_eq!(forge.counts().retries, 2, "{kind}");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn the_page_cap_is_an_error_not_a_truncation() {
    for kind in FLAVORS {
        let sim = Sim::start(with_123_statuses(kind).paging(20, 20))
            .await
            .unwrap();
        let forge = client_with(&sim, kind, Some(TOKEN), |s| s.page_cap = 3);
        let err = forge
            .statuses(&pr_head(&sim, 1))
            .await
            .expect_err("must fail");
        assert!(
            matches!(
                err,
                ForgeError::Pagination {
                    problem: PaginationProblem::PageCap { cap: 3 },
                    ..
                }
            ),
            "{kind}: {err:?}"
        );
        assert_eq!(err.exit_code(), ExitCode::CouldNotDecide);
        assert_eq!(status_pages(&sim), vec![1, 2, 3], "{kind}");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn an_x_total_count_mismatch_is_an_error() {
    for kind in FLAVORS {
        let sim = Sim::start(with_123_statuses(kind)).await.unwrap();
        sim.inject(Fault::new(
            STATUSES,
            FaultAction::WrongTotalCount { total: 130 },
        ));
        let err = client(&sim, kind)
            .statuses(&pr_head(&sim, 1))
            .await
            .expect_err("must fail");
        assert!(
            matches!(
                err,
                ForgeError::Pagination {
                    problem: PaginationProblem::TotalMismatch {
                        expected: 130,
                        collected: 123
                    },
                    ..
                }
            ),
            "{kind}: {err:?}"
        );
        assert_eq!(err.exit_code(), ExitCode::CouldNotDecide);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_total_that_changes_between_pages_is_an_error() {
    for kind in FLAVORS {
        let sim = Sim::start(with_123_statuses(kind).paging(50, 50))
            .await
            .unwrap();
        sim.inject(
            Fault::new(STATUSES, FaultAction::WrongTotalCount { total: 124 }).query("page", "2"),
        );
        let forge = client_with(&sim, kind, Some(TOKEN), |s| s.page_size = 50);
        let err = forge
            .statuses(&pr_head(&sim, 1))
            .await
            .expect_err("must fail");
        assert!(
            matches!(err, ForgeError::Pagination { .. }),
            "{kind}: {err:?}"
        );
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_shifted_page_repeating_an_item_is_an_error() {
    for kind in FLAVORS {
        let sim = Sim::start(with_123_statuses(kind).paging(50, 50))
            .await
            .unwrap();
        sim.inject(Fault::new(STATUSES, FaultAction::ShiftPage).query("page", "2"));
        let forge = client_with(&sim, kind, Some(TOKEN), |s| s.page_size = 50);
        let err = forge
            .statuses(&pr_head(&sim, 1))
            .await
            .expect_err("must fail");
        assert!(
            matches!(
                err,
                ForgeError::Pagination {
                    problem: PaginationProblem::RepeatedItem { page: 2, .. },
                    ..
                }
            ),
            "{kind}: {err:?}"
        );
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_page_that_is_not_a_list_or_not_json_is_an_error() {
    for kind in FLAVORS {
        let sim = Sim::start(with_123_statuses(kind)).await.unwrap();
        sim.inject(Fault::new(STATUSES, FaultAction::NonArrayPage).nth(1));
        let forge = client(&sim, kind);
        let err = forge
            .statuses(&pr_head(&sim, 1))
            .await
            .expect_err("must fail");
        assert!(
            matches!(
                err,
                ForgeError::Pagination {
                    problem: PaginationProblem::NotAList { page: 1 },
                    ..
                }
            ),
            "{kind}: {err:?}"
        );
        sim.clear_faults();
        sim.inject(Fault::new(STATUSES, FaultAction::MalformedJson).nth(1));
        let err = forge
            .statuses(&pr_head(&sim, 1))
            .await
            .expect_err("must fail");
        assert!(matches!(err, ForgeError::Decode { .. }), "{kind}: {err:?}");
        assert_eq!(err.exit_code(), ExitCode::CouldNotDecide);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_truncated_page_is_caught_by_the_announced_total() {
    // Gitea announces X-Total-Count; a page that silently lost items cannot pass.
    let sim = Sim::start(with_123_statuses(ForgeKind::Gitea).paging(50, 50))
        .await
        .unwrap();
    sim.inject(Fault::new(STATUSES, FaultAction::TruncatePage { keep: 10 }).query("page", "1"));
    let err = client(&sim, ForgeKind::Gitea)
        .statuses(&pr_head(&sim, 1))
        .await
        .expect_err("must fail");
    assert!(
        matches!(
            err,
            ForgeError::Pagination {
                problem: PaginationProblem::TotalMismatch { .. },
                ..
            }
        ),
        "{err:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_429_with_retry_after_1_is_retried_after_about_a_second() {
    for kind in FLAVORS {
        let sim = Sim::start(base(kind)).await.unwrap();
        let route = match kind {
            ForgeKind::GitHub => "/repos/{owner}/{repo}/pulls/{pull_number}",
            _ => "/repos/{owner}/{repo}/pulls/{index}",
        };
        sim.inject(
            Fault::new(
                route,
                FaultAction::Status {
                    code: 429,
                    body: None,
                    headers: vec![("Retry-After".into(), "1".into())],
                },
            )
            .method("GET")
            .nth(1),
        );
        let forge = client(&sim, kind);
        let started = Instant::now();
        let pr = forge
            .pull(PrNumber(1))
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let waited = started.elapsed();
        assert_eq!(pr.number, PrNumber(1));
        assert!(
            waited >= Duration::from_millis(950),
            "{kind}: retried after {waited:?}"
        );
        assert!(
            waited < Duration::from_secs(5),
            "{kind}: retried after {waited:?}"
        );
        let hits = requests_to(&sim, "GET", route);
        assert_eq!(
            hits.iter().map(|r| r.status).collect::<Vec<_>>(),
            vec![429, 200],
            "{kind}"
        );
        assert_eq!(forge.counts().retries, 1);
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_retry_after_longer_than_the_budget_gives_up_at_once() {
    for kind in FLAVORS {
        let sim = Sim::start(base(kind)).await.unwrap();
        sim.inject(Fault::new(
            "/repos/{owner}/{repo}/branches/{branch}",
            FaultAction::Status {
                code: 429,
                body: None,
                headers: vec![("Retry-After".into(), "3600".into())],
            },
        ));
        let forge = client(&sim, kind);
        let started = Instant::now();
        let err = forge.branch_head("main").await.expect_err("must fail");
        assert!(started.elapsed() < Duration::from_secs(2), "{kind}");
        assert_eq!(err.status(), Some(429));
        assert_eq!(
            err.exit_code(),
            ExitCode::CouldNotDecide,
            "{kind}: rate limit exhausted"
        );
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_post_is_never_retried() {
    for kind in FLAVORS {
        let sim = Sim::start(base(kind)).await.unwrap();
        let route = match kind {
            ForgeKind::GitHub => "/repos/{owner}/{repo}/issues/{issue_number}/comments",
            _ => "/repos/{owner}/{repo}/issues/{index}/comments",
        };
        sim.inject(
            Fault::new(
                route,
                FaultAction::Status {
                    code: 502,
                    body: None,
                    headers: vec![],
                },
            )
            .method("POST")
            .nth(1),
        );
        let forge = client(&sim, kind);
        let err = forge
            .comment(PrNumber(1), "hello")
            .await
            .expect_err("must fail");
        assert_eq!(err.status(), Some(502), "{kind}");
        assert_eq!(
            requests_to(&sim, "POST", route).len(),
            1,
            "{kind}: exactly one POST"
        );
        assert_eq!(forge.counts().retries, 0);
        assert!(sim.mutations().is_empty(), "{kind}: nothing happened");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_timed_out_post_is_not_retried_and_its_outcome_is_unknown() {
    let kind = ForgeKind::Gitea;
    let sim = Sim::start(base(kind)).await.unwrap();
    let route = "/repos/{owner}/{repo}/issues/{index}/comments";
    sim.inject(Fault::new(route, FaultAction::Hang).method("POST"));
    let forge = client_with(&sim, kind, Some(TOKEN), |s| {
        s.request_timeout = Duration::from_millis(300)
    });
    let err = forge
        .comment(PrNumber(1), "hello")
        .await
        .expect_err("must fail");
    assert!(err.outcome_unknown(), "{err:?}");
    assert_eq!(requests_to(&sim, "POST", route).len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn unauthorized_and_forbidden_map_to_the_auth_exit_code() {
    for kind in FLAVORS {
        let sim = Sim::start(base(kind)).await.unwrap();
        let wrong = client_with(&sim, kind, Some("tok-wrong-0000"), |_| {});
        let err = wrong.branch_head("main").await.expect_err("401");
        assert_eq!(err.status(), Some(401), "{kind}");
        assert_eq!(err.exit_code(), ExitCode::Auth, "{kind}");
        // A bare 403 is a permission problem (not retried); with rate-limit headers it is not.
        sim.inject(Fault::new(
            "/repos/{owner}/{repo}/pulls",
            FaultAction::Status {
                code: 403,
                body: None,
                headers: vec![],
            },
        ));
        let forge = client(&sim, kind);
        let err = forge.open_pulls().await.expect_err("403");
        assert_eq!(err.exit_code(), ExitCode::Auth, "{kind}");
        assert_eq!(
            requests_to(&sim, "GET", "/repos/{owner}/{repo}/pulls").len(),
            1,
            "{kind}: not retried"
        );
        sim.clear_faults();
        sim.inject(Fault::new(
            "/repos/{owner}/{repo}/pulls",
            FaultAction::Status {
                code: 403,
                body: Some("{\"message\":\"API rate limit exceeded\"}".into()),
                headers: vec![
                    ("x-ratelimit-remaining".into(), "0".into()),
                    ("x-ratelimit-reset".into(), "4102444800".into()),
                ],
            },
        ));
        let err = forge.open_pulls().await.expect_err("rate limited");
        assert_eq!(
            err.exit_code(),
            ExitCode::CouldNotDecide,
            "{kind}: a rate limit is not an auth failure"
        );
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn a_timeout_maps_to_could_not_decide() {
    for kind in FLAVORS {
        let sim = Sim::start(base(kind)).await.unwrap();
        sim.inject(Fault::new(
            "/repos/{owner}/{repo}/branches/{branch}",
            FaultAction::Hang,
        ));
        let forge = client_with(&sim, kind, Some(TOKEN), |s| {
            s.request_timeout = Duration::from_millis(250);
            s.max_retries = 1;
        });
        let started = Instant::now();
        let err = forge.branch_head("main").await.expect_err("timeout");
        assert!(
            matches!(
                err,
                ForgeError::Transport {
                    kind: mergeward::forge::TransportKind::Timeout,
                    attempts: 2,
                    ..
                }
            ),
            "{kind}: {err:?}"
        );
        assert_eq!(err.exit_code(), ExitCode::CouldNotDecide);
        assert!(started.elapsed() < Duration::from_secs(5));
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn open_pull_requests_are_read_across_pages_oldest_first() {
    for kind in FLAVORS {
        let mut sc = base(kind);
        for n in 2..=75 {
            sc = sc.pr(mergeward::sim::PullSpec::new(n).head(format!("topic-{n}")));
        }
        let sim = Sim::start(sc.paging(30, 30)).await.unwrap();
        let pulls = client(&sim, kind)
            .open_pulls()
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(pulls.len(), 75, "{kind}");
        let numbers: Vec<u64> = pulls.iter().map(|p| p.number.0).collect();
        assert_eq!(numbers, (1..=75).collect::<Vec<_>>(), "{kind}");
        sim.shutdown().await;
    }
}
