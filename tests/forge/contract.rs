//! The API contract (`contract/forge-api.toml`): every route the simulator serves and every
//! request the clients send — method, path, query parameters and values, body fields — is in
//! the contract, for the forge and version it is sent to. Needs nothing outside the
//! repository; `tests/forge/contract_upstream.rs` checks the contract against the upstream API
//! descriptions.

use crate::common;

use std::collections::BTreeSet;

use common::contract::{
    Contract, FORGEJO_11, GITEA_1_22, GITEA_1_26, GITHUB, Route, base_path, params,
};
use common::*;
use mergeward::forge::ForgeBatch;
use mergeward::forge::commits::ForgeHistory;
use mergeward::forge::issues::ForgeIssues;
use mergeward::forge::logs::{ForgeLogs, JobLog};
use mergeward::forge::{
    ContextName, ContextState, Forge, ForgeKind, Label, MergeMethod, MergeRequest, NewStatus,
    PrNumber, ReportKind, ReviewState, StatusReport, UpdateStyle,
};
use mergeward::sim::{
    self, Dialect, FileSpec, ProtectionSpec, PullSpec, RecordedRequest, Sim, issues::SimIssue,
};

fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::Gitea => "gitea",
        Dialect::GitHub => "github",
    }
}

/// The description a client of `kind` (at the simulator's default version) is held to.
fn description_of(kind: ForgeKind) -> (&'static str, &'static str) {
    match kind {
        ForgeKind::Gitea => ("gitea", GITEA_1_22),
        ForgeKind::Forgejo => ("gitea", FORGEJO_11),
        ForgeKind::GitHub => ("github", GITHUB),
    }
}

#[test]
fn every_simulator_route_is_in_the_contract() {
    let c = Contract::load();
    for (dialect, ids) in [
        (Dialect::Gitea, vec![GITEA_1_22, FORGEJO_11]),
        (Dialect::GitHub, vec![GITHUB]),
    ] {
        let name = dialect_name(dialect);
        let routes = sim::routes(dialect);
        assert!(routes.len() >= 15, "{} routes", routes.len());
        for (method, template) in &routes {
            let r = c
                .route(name, method, template)
                .unwrap_or_else(|| panic!("{name}: {method} {template} is not in the contract"));
            assert_eq!(&r.path, template, "{name}: {method} {template}");
            for id in &ids {
                assert!(
                    r.described.contains_key(*id),
                    "{name}: the contract has {method} {template} outside {id}"
                );
            }
        }
        // The contract's simulator routes are exactly what the simulator serves.
        let served: BTreeSet<(String, String)> = routes
            .iter()
            .chain(&sim::newer_routes(dialect))
            .map(|(m, t)| (m.to_string(), t.to_string()))
            .collect();
        for r in c.route.iter().filter(|r| r.dialect == name) {
            let listed = r.users.iter().any(|u| u.starts_with("simulator"));
            let key = (r.method.clone(), r.path.clone());
            assert_eq!(
                listed,
                served.contains(&key),
                "{name}: {} {} — users {:?} vs the simulator's routes",
                r.method,
                r.path,
                r.users
            );
        }
    }
}

#[test]
fn newer_and_web_routes_are_where_they_belong() {
    let c = Contract::load();
    let newer = sim::newer_routes(Dialect::Gitea);
    assert!(!newer.is_empty());
    for (method, template) in newer {
        let r = c
            .route("gitea", method, template)
            .unwrap_or_else(|| panic!("{method} {template} is not in the contract"));
        let ids: Vec<&str> = r.described.keys().map(String::as_str).collect();
        assert_eq!(ids, [GITEA_1_26], "{method} {template}");
    }
    assert!(sim::newer_routes(Dialect::GitHub).is_empty());
    // The web UI log route and the pre-signed download are not API routes.
    for dialect in [Dialect::Gitea, Dialect::GitHub] {
        let name = dialect_name(dialect);
        let web = sim::web_routes(dialect);
        assert!(!web.is_empty());
        for (method, template) in web {
            assert!(
                c.web_route(name, method, template).is_some(),
                "{method} {template}"
            );
            assert!(
                c.route(name, method, template).is_none(),
                "{method} {template}"
            );
        }
        assert_eq!(
            c.web_route.iter().filter(|w| w.dialect == name).count(),
            sim::web_routes(dialect).len()
        );
    }
    assert!(c.allows(
        GITHUB,
        "GET",
        "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs"
    ));
}

/// `request` is a route of the contract held to description `id`, and its query and body
/// are what the contract lists. Returns the route's path.
fn check_request(c: &Contract, dialect: &str, id: &str, q: &RecordedRequest) -> String {
    let what = format!("{id}: {} {}", q.method, q.path);
    assert!(
        q.path.starts_with(base_path(dialect)),
        "{what}: not under the API base path"
    );
    let r: &Route = c
        .route(dialect, &q.method, q.route.as_deref().unwrap_or(&q.path))
        .unwrap_or_else(|| panic!("{what}: not in the contract"));
    assert!(
        r.described.contains_key(id),
        "{what}: the contract has {} {} outside {id}",
        r.method,
        r.path
    );
    assert!(
        !r.users.is_empty() && r.users.iter().any(|u| !u.starts_with("simulator")),
        "{what}: the contract lists no client for {}",
        r.path
    );
    let query = params(&r.query);
    for (k, v) in &q.query {
        let p = query
            .iter()
            .find(|p| &p.name == k)
            .unwrap_or_else(|| panic!("{what}: query parameter {k} is not in the contract"));
        assert!(
            p.values.is_empty() || p.values.contains(v),
            "{what}: {k}={v} is not among the contract's values {:?}",
            p.values
        );
    }
    if let Some(serde_json::Value::Object(body)) = &q.body {
        let listed = params(&r.body);
        for (k, v) in body {
            let p = listed
                .iter()
                .find(|p| &p.name == k)
                .unwrap_or_else(|| panic!("{what}: body field {k} is not in the contract"));
            if let (false, Some(v)) = (p.values.is_empty(), v.as_str()) {
                assert!(p.values.iter().any(|x| x == v), "{what}: {k}={v}");
            }
        }
    }
    r.path.clone()
}

/// Exercises every verb of the clients, successes and refusals alike.
async fn exercise(kind: ForgeKind, token: &str) -> Sim {
    let sc = base(kind)
        .label("merge-queue-hold", "ff0000")
        .protect(ProtectionSpec::new("main").contexts(&["CI"]).approvals(1))
        .pr(PullSpec::new(2).head("stale").behind())
        .file(FileSpec::new(".gitea/workflows/ci.yml", "on: push\n"));
    let sim = Sim::start(sc).await.unwrap();
    sim.with_state(|st| {
        st.issues
            .push(SimIssue::new(REPO, 12, "open", "2025-01-01T00:00:00Z"))
    });
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
    let _ = f.recent_commits("main", 2).await.unwrap();
    let _ = f.status_history(&head).await.unwrap();
    if kind != ForgeKind::GitHub {
        // GitHub: workflow files are read from a checkout; its issue route is outside the
        // contracted subset and the simulator (see the contract's note).
        assert_eq!(f.workflow_files("main").await.unwrap().files.len(), 1);
        assert!(f.issue("acme", "widgets", 12).await.unwrap().is_some());
    }
    f.add_label(PrNumber(1), &Label("merge-queue-hold".into()))
        .await
        .unwrap();
    f.comment(PrNumber(1), "hello").await.unwrap();
    assert!(
        f.comment_bodies(PrNumber(1))
            .await
            .unwrap()
            .iter()
            .any(|b| b == "hello")
    );
    f.create_label("mergeward-new", "ededed", "created by the contract test")
        .await
        .unwrap();
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
    // Batch mode's verbs.
    assert!(f.clone_url().await.unwrap().ends_with("/acme/widgets.git"));
    let main = f.branch_head("main").await.unwrap();
    assert_eq!(f.commit(&main).await.unwrap().sha, main);
    // Refused (the head is not in main); the request is what counts.
    let _ = f.mark_merged(PrNumber(2), &main).await;
    sim
}

#[tokio::test]
async fn every_request_the_clients_send_is_in_the_contract() {
    let c = Contract::load();
    for kind in [ForgeKind::Gitea, ForgeKind::Forgejo, ForgeKind::GitHub] {
        let (dialect, id) = description_of(kind);
        let mut used = BTreeSet::new();
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
                let path = check_request(&c, dialect, id, r);
                used.insert((r.method.clone(), path));
            }
            sim.shutdown().await;
        }
        // No stale client entries: every route the contract gives a client of this
        // description is sent (the job log routes are exercised below).
        for r in c.route.iter().filter(|r| r.dialect == dialect) {
            let client = r.users.iter().any(|u| !u.starts_with("simulator"));
            let key = (r.method.clone(), r.path.clone());
            if client && r.described.contains_key(id) && !r.path.ends_with("/logs") {
                assert!(
                    used.contains(&key),
                    "{kind}: no client sends {} {} (users {:?})",
                    r.method,
                    r.path,
                    r.users
                );
            }
        }
    }
}

/// The log requests the clients send: the Gitea 1.26 API, GitHub's API (then the
/// pre-signed download), and the web route of older Gitea and Forgejo.
#[tokio::test]
async fn job_log_requests_are_in_the_contract() {
    let c = Contract::load();
    for (kind, version, id, api_calls) in [
        (ForgeKind::Gitea, "1.26.3", GITEA_1_26, 1),
        (ForgeKind::GitHub, "", GITHUB, 1),
        (ForgeKind::Gitea, "", GITEA_1_22, 0),
        (ForgeKind::Forgejo, "", FORGEJO_11, 0),
    ] {
        let (dialect, _) = description_of(kind);
        let mut sc = base(kind).job_log(4, 9, "ok\n");
        if !version.is_empty() {
            sc = sc.version(version);
        }
        let sim = Sim::start(sc).await.unwrap();
        let f = client(&sim, kind);
        let caps = f.capabilities().await.unwrap();
        sim.clear_requests();
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
            creator: None,
        };
        assert_eq!(f.job_log(&report, &caps).await, JobLog::Text("ok\n".into()));
        let requests = sim.requests();
        let mut api = 0;
        for r in &requests {
            let route = r
                .route
                .as_deref()
                .unwrap_or_else(|| panic!("{kind}: {}", r.path));
            if c.web_route(dialect, &r.method, route).is_some() {
                continue;
            }
            check_request(&c, dialect, id, r);
            api += 1;
        }
        assert_eq!(api, api_calls, "{kind} {version}: {requests:?}");
        assert!(!requests.is_empty());
        sim.shutdown().await;
    }
}

/// The contract lookups reject misspelled routes, wrong methods and other versions.
#[test]
fn the_contract_rejects_misspelled_routes_wrong_methods_and_other_versions() {
    let c = Contract::load();
    assert!(c.allows(GITEA_1_22, "GET", "/api/v1/repos/acme/widgets/pulls/7"));
    assert!(c.allows(
        GITEA_1_22,
        "GET",
        "/repos/{owner}/{repo}/pulls/{index}/reviews"
    ));
    assert!(
        !c.allows(GITEA_1_22, "GET", "/api/v1/repos/acme/widgets/pull/7"),
        "misspelled: pull"
    );
    assert!(
        !c.allows(
            GITEA_1_22,
            "PUT",
            "/api/v1/repos/acme/widgets/pulls/7/merge"
        ),
        "Gitea merges with POST"
    );
    assert!(!c.allows(GITEA_1_22, "POST", "/api/v1/version"));
    assert!(
        !c.allows(
            GITEA_1_22,
            "GET",
            "/api/v1/repos/acme/widgets/actions/jobs/3/logs"
        ),
        "the job logs API is newer than 1.22"
    );
    assert!(!c.allows(
        FORGEJO_11,
        "GET",
        "/api/v1/repos/acme/widgets/actions/jobs/3/logs"
    ));
    assert!(c.allows(
        GITEA_1_26,
        "GET",
        "/api/v1/repos/acme/widgets/actions/jobs/3/logs"
    ));
    assert!(c.allows(GITHUB, "PUT", "/repos/acme/widgets/pulls/7/update-branch"));
    assert!(!c.allows(GITHUB, "PUT", "/repos/acme/widgets/pulls/7/update_branch"));
    assert!(
        !c.allows(GITHUB, "GET", "/user"),
        "not in the contracted subset"
    );
    assert!(
        !c.allows(GITHUB, "GET", "/api/v1/repos/acme/widgets/pulls/7"),
        "a Gitea path is not a GitHub route"
    );
    // A recorded request with an unlisted query parameter is refused.
    let q = RecordedRequest {
        seq: 1,
        method: "GET".into(),
        path: "/api/v1/repos/acme/widgets/pulls".into(),
        route: Some("/repos/{owner}/{repo}/pulls".into()),
        query: vec![("state".into(), "all".into())],
        body: None,
        status: 200,
        user: None,
    };
    let refused = std::panic::catch_unwind(|| check_request(&c, "gitea", GITEA_1_22, &q));
    assert!(
        refused.is_err(),
        "state=all is not a value the client sends"
    );
}

/// The response values the contract says the clients handle are handled by the code (the
/// upstream test checks that every value a description enumerates is listed).
#[test]
fn listed_response_values_are_ones_the_clients_understand() {
    let c = Contract::load();
    let values = |dialect: &str, path: &str, field: &str| -> Vec<String> {
        let r = c.route(dialect, "GET", path).expect("route");
        params(&r.response)
            .into_iter()
            .find(|p| p.name == field)
            .map(|p| p.values)
            .unwrap_or_default()
    };
    let statuses = [
        values(
            "gitea",
            "/repos/{owner}/{repo}/commits/{ref}/statuses",
            "status",
        ),
        values(
            "github",
            "/repos/{owner}/{repo}/commits/{ref}/statuses",
            "state",
        ),
    ];
    for v in statuses.iter().flatten() {
        assert!(
            !matches!(ContextState::from_status(v), ContextState::Unknown(_)),
            "status {v}"
        );
    }
    let runs = "/repos/{owner}/{repo}/commits/{ref}/check-runs";
    let status = values("github", runs, "check_runs[].status");
    let conclusion = values("github", runs, "check_runs[].conclusion");
    assert!(status.contains(&"completed".to_string()) && !conclusion.is_empty());
    for s in &status {
        for cl in &conclusion {
            assert!(
                !matches!(
                    ContextState::from_check_run(s, Some(cl)),
                    ContextState::Unknown(_)
                ),
                "check run {s}/{cl}"
            );
        }
    }
    for (dialect, path) in [
        ("gitea", "/repos/{owner}/{repo}/pulls/{index}/reviews"),
        (
            "github",
            "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
        ),
    ] {
        for v in values(dialect, path, "state") {
            assert!(
                !matches!(ReviewState::parse(&v), ReviewState::Other(_)),
                "review {v}"
            );
        }
    }
}
