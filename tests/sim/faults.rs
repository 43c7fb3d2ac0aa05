//! Fault injection of the simulated forge.

use std::time::{Duration, Instant};

use mergeward::sim::*;
use reqwest::{Client, Response};
use serde_json::Value;

const STATUSES: &str = "/repos/{owner}/{repo}/commits/{ref}/statuses";

async fn sim() -> (Sim, String) {
    let sc = Scenario::gitea("acme/widgets")
        .user("bot", "t", Permission::Write)
        .pr(PullSpec::new(1))
        .status(StatusSpec::pr(1, "s", "success").count(25));
    let sim = Sim::start(sc).await.unwrap();
    let head = sim.with_state(|s| s.pull(1).head_sha.clone());
    (sim, head)
}

async fn get(sim: &Sim, path: &str) -> Response {
    Client::new()
        .get(format!("{}/api/v1/repos/acme/widgets{path}", sim.url()))
        .header("Authorization", "token t")
        .send()
        .await
        .unwrap()
}

fn total(r: &Response) -> Option<String> {
    r.headers()
        .get("X-Total-Count")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[tokio::test]
async fn status_fault_fires_on_nth_call_only() {
    let (sim, head) = sim().await;
    sim.inject(
        Fault::new(
            STATUSES,
            FaultAction::Status {
                code: 502,
                body: None,
                headers: vec![("Retry-After".into(), "1".into())],
            },
        )
        .method("GET")
        .nth(2),
    );
    let p = format!("/commits/{head}/statuses");
    assert_eq!(get(&sim, &p).await.status(), 200);
    let r = get(&sim, &p).await;
    assert_eq!(r.status(), 502);
    assert_eq!(r.headers()["retry-after"], "1");
    let b: Value = r.json().await.unwrap();
    assert!(b["message"].is_string() && b["url"].is_string());
    assert_eq!(get(&sim, &p).await.status(), 200);
    let codes: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(codes, vec![200, 502, 200]);
    assert_eq!(sim.requests()[1].route.as_deref(), Some(STATUSES));
    // other routes are unaffected; Range and From
    sim.clear_faults();
    sim.inject(
        Fault::new(
            "/repos/{owner}/{repo}/pulls",
            FaultAction::Status {
                code: 500,
                body: Some("boom".into()),
                headers: vec![],
            },
        )
        .calls(CallMatch::Range(2, 3)),
    );
    sim.inject(
        Fault::new(
            "/repos/{owner}/{repo}/pulls/{index}",
            FaultAction::Status {
                code: 503,
                body: None,
                headers: vec![],
            },
        )
        .calls(CallMatch::From(2)),
    );
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(get(&sim, "/pulls").await.status().as_u16());
    }
    assert_eq!(codes, vec![200, 500, 500, 200]);
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(get(&sim, "/pulls/1").await.status().as_u16());
    }
    assert_eq!(codes, vec![200, 503, 503]);
}

#[tokio::test]
async fn query_matching_and_page_faults() {
    let (sim, head) = sim().await;
    let p = |page: u32| format!("/commits/{head}/statuses?limit=10&page={page}");
    sim.inject(
        Fault::new(STATUSES, FaultAction::TruncatePage { keep: 3 })
            .query("page", "2")
            .nth(1),
    );
    let page1: Vec<Value> = get(&sim, &p(1)).await.json().await.unwrap();
    assert_eq!(page1.len(), 10, "page=1 does not match the fault's query");
    let r = get(&sim, &p(2)).await;
    assert_eq!(total(&r).as_deref(), Some("25"), "headers unchanged");
    assert_eq!(r.json::<Vec<Value>>().await.unwrap().len(), 3);
    assert_eq!(
        get(&sim, &p(2))
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap()
            .len(),
        10
    );

    sim.clear_faults();
    sim.inject(Fault::new(STATUSES, FaultAction::ShiftPage).query("page", "2"));
    let page2: Vec<Value> = get(&sim, &p(2)).await.json().await.unwrap();
    assert_eq!(page2.len(), 10);
    assert_eq!(
        page2[0]["id"], page1[9]["id"],
        "page 2 repeats page 1's last item first"
    );

    sim.clear_faults();
    sim.inject(Fault::new(STATUSES, FaultAction::WrongTotalCount { total: 7 }).nth(1));
    assert_eq!(total(&get(&sim, &p(1)).await).as_deref(), Some("7"));
    assert_eq!(total(&get(&sim, &p(1)).await).as_deref(), Some("25"));

    sim.clear_faults();
    sim.inject(Fault::new(STATUSES, FaultAction::NonArrayPage).nth(1));
    let r = get(&sim, &p(1)).await;
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.unwrap().is_object());

    sim.clear_faults();
    sim.inject(Fault::new(STATUSES, FaultAction::MalformedJson).nth(1));
    let r = get(&sim, &p(1)).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert!(get(&sim, &p(1)).await.json::<Vec<Value>>().await.is_ok());
}

#[tokio::test]
async fn delay_and_hang() {
    let (sim, _) = sim().await;
    sim.inject(
        Fault::new(
            "/repos/{owner}/{repo}/pulls",
            FaultAction::Delay { ms: 150 },
        )
        .nth(1),
    );
    let t = Instant::now();
    assert_eq!(get(&sim, "/pulls").await.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    let t = Instant::now();
    get(&sim, "/pulls").await;
    assert!(t.elapsed() < Duration::from_millis(150));

    sim.inject(Fault::new("/repos/{owner}/{repo}/pulls/{index}", FaultAction::Hang).nth(1));
    let client = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let url = format!("{}/api/v1/repos/acme/widgets/pulls/1", sim.url());
    let err = client
        .get(&url)
        .header("Authorization", "token t")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    let r = client
        .get(&url)
        .header("Authorization", "token t")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        sim.requests().iter().any(|r| r.status == 0),
        "hung request recorded with status 0"
    );
    let t = Instant::now();
    sim.shutdown().await;
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn move_head_before_answering() {
    let (sim, head) = sim().await;
    sim.inject(
        Fault::new(
            "/repos/{owner}/{repo}/pulls/{index}/merge",
            FaultAction::MoveHead { pr: 1 },
        )
        .method("POST")
        .nth(1),
    );
    let r = Client::new()
        .post(format!(
            "{}/api/v1/repos/acme/widgets/pulls/1/merge",
            sim.url()
        ))
        .header("Authorization", "token t")
        .json(&serde_json::json!({"Do": "merge", "head_commit_id": head}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "head moved just before the merge");
    let new = sim.with_state(|s| s.pull(1).head_sha.clone());
    assert_ne!(new, head);
    sim.with_state(|s| {
        assert_eq!(s.commits[&new].parents, vec![head.clone()]);
        assert!(s.statuses_for(&new).is_empty());
    });
    assert!(sim.mutations().is_empty());
    // also on a read
    sim.inject(
        Fault::new(
            "/repos/{owner}/{repo}/pulls/{index}",
            FaultAction::MoveHead { pr: 1 },
        )
        .nth(1),
    );
    let p: Value = get(&sim, "/pulls/1").await.json().await.unwrap();
    assert_ne!(p["head"]["sha"], new.as_str());
    assert_eq!(
        p["head"]["sha"],
        sim.with_state(|s| s.pull(1).head_sha.clone()).as_str()
    );
}

#[tokio::test]
async fn scenario_faults_and_github_fault_body() {
    let json = r#"{
        "forge": "github", "repo": "acme/widgets",
        "users": [{"login": "bot", "token": "t", "permission": "write"}],
        "faults": [
            {"method": "GET", "route": "/repos/{owner}/{repo}/pulls", "calls": {"nth": 2}, "action": {"status": {"code": 429, "headers": [["Retry-After", "2"]]}}},
            {"route": "*", "calls": {"range": [1, 1]}, "action": {"delay": {"ms": 1}}},
            {"route": "/rate_limit", "action": "malformed_json"}
        ]
    }"#;
    let sim = Sim::start(Scenario::from_json(json).unwrap())
        .await
        .unwrap();
    let c = Client::new();
    let url = format!("{}/repos/acme/widgets/pulls", sim.url());
    let a = c.get(&url).bearer_auth("t").send().await.unwrap();
    assert_eq!(a.status(), 200);
    let b = c.get(&url).bearer_auth("t").send().await.unwrap();
    assert_eq!(b.status(), 429);
    assert_eq!(b.headers()["retry-after"], "2");
    let body: Value = b.json().await.unwrap();
    assert!(body["documentation_url"].is_string());
    let r = c
        .get(format!("{}/rate_limit", sim.url()))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());
    // serde round trip of the fault form
    let f = Fault::new(STATUSES, FaultAction::TruncatePage { keep: 2 })
        .query("page", "2")
        .nth(3);
    let v = serde_json::to_value(&f).unwrap();
    assert_eq!(v["calls"], serde_json::json!({"nth": 3}));
    assert_eq!(
        v["action"],
        serde_json::json!({"truncate_page": {"keep": 2}})
    );
    assert_eq!(serde_json::from_value::<Fault>(v).unwrap(), f);
}
