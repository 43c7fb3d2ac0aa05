//! The API contract: every route the simulator serves and every request the clients send
//! exists, with its method, in the official descriptions under `../shared/specs/`.

mod common;

use common::contract::Spec;
use common::*;
use mergeward::forge::{
    ContextName, ContextState, Forge, ForgeKind, Label, MergeMethod, MergeRequest, NewStatus,
    PrNumber, UpdateStyle,
};
use mergeward::sim::{self, Dialect, ProtectionSpec, PullSpec, Sim};

fn specs_for(kind: ForgeKind) -> Vec<Spec> {
    match kind {
        ForgeKind::Gitea => vec![Spec::load("gitea-swagger-v1.22.6.json")],
        ForgeKind::Forgejo => vec![Spec::load("forgejo-swagger-v11.0.1.json")],
        ForgeKind::GitHub => vec![Spec::load("github-subset.json")],
    }
}

#[test]
fn every_simulator_route_exists_in_the_specs() {
    for (dialect, specs) in [
        (
            Dialect::Gitea,
            vec![
                Spec::load("gitea-swagger-v1.22.6.json"),
                Spec::load("forgejo-swagger-v11.0.1.json"),
            ],
        ),
        (Dialect::GitHub, vec![Spec::load("github-subset.json")]),
    ] {
        let routes = sim::routes(dialect);
        assert!(routes.len() >= 15, "{} routes", routes.len());
        for (method, template) in routes {
            for spec in &specs {
                assert!(
                    spec.allows(method, template),
                    "{method} {template} is not in {}",
                    spec.name
                );
            }
        }
    }
}

/// Exercises every verb of the Forge trait, successes and refusals alike.
async fn exercise(kind: ForgeKind, token: &str) -> Sim {
    let sc = base(kind)
        .label("merge-queue-hold", "ff0000")
        .protect(ProtectionSpec::new("main").contexts(&["CI"]).approvals(1))
        .pr(PullSpec::new(2).head("stale").behind());
    let sim = Sim::start(sc).await.unwrap();
    let f = client_with(&sim, kind, Some(token), |_| {});
    let head = pr_head(&sim, 1);
    let _ = f.capabilities().await.unwrap();
    let _ = f.identity().await.unwrap();
    let _ = f.repository().await.unwrap();
    let _ = f.protection("main").await.unwrap();
    let _ = f.branch_head("main").await.unwrap();
    let _ = f.statuses(&head).await.unwrap();
    let _ = f.open_pulls().await.unwrap();
    let _ = f.pull(PrNumber(1)).await.unwrap();
    let _ = f.pull_commits(PrNumber(1)).await.unwrap();
    let _ = f.reviews(PrNumber(1)).await.unwrap();
    let _ = f.labels().await.unwrap();
    f.add_label(PrNumber(1), &Label("merge-queue-hold".into()))
        .await
        .unwrap();
    f.comment(PrNumber(1), "hello").await.unwrap();
    let status = NewStatus {
        context: ContextName("mergeward/queue".into()),
        state: ContextState::Pending,
        description: "queued".into(),
        target_url: None,
    };
    f.post_status(&head, &status).await.unwrap();
    let h2 = pr_head(&sim, 2);
    f.update(PrNumber(2), &h2, UpdateStyle::Merge)
        .await
        .unwrap();
    let req = MergeRequest {
        method: MergeMethod::Merge,
        title: "t".into(),
        message: "m".into(),
        force: false,
    };
    // The merge may be refused by protection (no approvals, no CI); the request is what counts.
    let _ = f.merge(PrNumber(1), &head, &req).await;
    sim
}

#[tokio::test]
async fn every_request_the_clients_send_exists_in_the_specs() {
    for kind in [ForgeKind::Gitea, ForgeKind::Forgejo, ForgeKind::GitHub] {
        let specs = specs_for(kind);
        for token in [TOKEN, ADMIN_TOKEN] {
            let sim = exercise(kind, token).await;
            let requests = sim.requests();
            assert!(
                requests.len() >= 17,
                "{kind}: only {} requests",
                requests.len()
            );
            for r in &requests {
                assert!(
                    r.route.is_some(),
                    "{kind}: the simulator does not serve {} {}",
                    r.method,
                    r.path
                );
                for spec in &specs {
                    assert!(
                        spec.allows(&r.method, &r.path),
                        "{kind}: {} {} is not in {}",
                        r.method,
                        r.path,
                        spec.name
                    );
                }
            }
            sim.shutdown().await;
        }
    }
}

#[test]
fn the_checker_rejects_misspelled_routes_and_wrong_methods() {
    let gitea = Spec::load("gitea-swagger-v1.22.6.json");
    assert!(gitea.allows("GET", "/api/v1/repos/acme/widgets/pulls/7"));
    assert!(gitea.allows("GET", "/repos/{owner}/{repo}/pulls/{index}/reviews"));
    assert!(gitea.allows(
        "POST",
        "/api/v1/repos/acme/widgets/pulls/7/reviews/3/dismissals"
    ));
    assert!(
        !gitea.allows("GET", "/api/v1/repos/acme/widgets/pull/7"),
        "misspelled: pull"
    );
    assert!(
        !gitea.allows(
            "POST",
            "/api/v1/repos/acme/widgets/pulls/7/reviews/3/dismisal"
        ),
        "misspelled: dismisal"
    );
    assert!(
        !gitea.allows("PUT", "/api/v1/repos/acme/widgets/pulls/7/merge"),
        "Gitea merges with POST"
    );
    assert!(!gitea.allows("POST", "/api/v1/version"));
    let github = Spec::load("github-subset.json");
    assert!(github.allows("PUT", "/repos/acme/widgets/pulls/7/update-branch"));
    assert!(!github.allows("PUT", "/repos/acme/widgets/pulls/7/update_branch"));
    assert!(
        !github.allows("GET", "/user"),
        "not in the contracted subset"
    );
}

#[test]
fn newer_and_web_routes_are_where_they_belong() {
    let g122 = Spec::load("gitea-swagger-v1.22.6.json");
    let g126 = Spec::load("gitea-swagger.json");
    let forgejo = Spec::load("forgejo-swagger-v11.0.1.json");
    let newer = sim::newer_routes(Dialect::Gitea);
    assert!(!newer.is_empty());
    for (method, template) in newer {
        assert!(
            g126.allows(method, template),
            "{method} {template} not in Gitea 1.26.3"
        );
        assert!(
            !g122.allows(method, template),
            "{method} {template} is already in 1.22.6"
        );
        assert!(
            !forgejo.allows(method, template),
            "{method} {template} is in Forgejo 11"
        );
    }
    // The web UI log route and the pre-signed download are not API routes.
    for (method, template) in sim::web_routes(Dialect::Gitea) {
        assert!(!g126.allows(method, template) && !g122.allows(method, template));
    }
    let github = Spec::load("github-subset.json");
    assert!(github.allows("GET", "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs"));
}

/// The log requests the clients send (Gitea 1.26 API, GitHub) are in the descriptions.
#[tokio::test]
async fn job_log_requests_exist_in_the_specs() {
    use mergeward::forge::logs::{ForgeLogs, JobLog};
    use mergeward::forge::{ContextName, ReportKind, StatusReport};
    for (kind, spec, version) in [
        (ForgeKind::Gitea, "gitea-swagger.json", "1.26.3"),
        (ForgeKind::GitHub, "github-subset.json", ""),
    ] {
        let mut sc = base(kind).job_log(4, 9, "ok\n");
        if !version.is_empty() {
            sc = sc.version(version);
        }
        let sim = Sim::start(sc).await.unwrap();
        let f = client(&sim, kind);
        let caps = f.capabilities().await.unwrap();
        let report = StatusReport {
            id: 9,
            context: ContextName("CI / test (push)".into()),
            state: ContextState::Success,
            kind: if kind == ForgeKind::GitHub {
                ReportKind::CheckRun
            } else {
                ReportKind::CommitStatus
            },
            target_url: Some(format!("/{REPO}/actions/runs/4/jobs/9")),
            description: None,
            created_at: None,
            updated_at: None,
            app: None,
        };
        assert_eq!(f.job_log(&report, &caps).await, JobLog::Text("ok\n".into()));
        let spec = Spec::load(spec);
        let api: Vec<_> = sim
            .requests()
            .into_iter()
            .filter(|r| r.path.contains("/logs"))
            .collect();
        assert_eq!(api.len(), 1, "{kind}");
        assert!(
            spec.allows(&api[0].method, &api[0].path),
            "{kind}: {}",
            api[0].path
        );
        sim.shutdown().await;
    }
}
