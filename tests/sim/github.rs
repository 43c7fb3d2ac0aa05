//! GitHub dialect behaviour of the simulated forge.

use std::path::PathBuf;

use mergeward::sim::*;
use reqwest::{Client, Response};
use serde_json::{Value, json};

fn fixture(name: &str) -> Scenario {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/sim")
        .join(name);
    Scenario::from_file(&p).unwrap()
}

struct C {
    base: String,
    token: String,
    http: Client,
}

impl C {
    fn new(sim: &Sim, token: &str) -> C {
        C {
            base: sim.url(),
            token: token.to_string(),
            http: Client::new(),
        }
    }
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Response {
        let mut rq = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Accept", "application/vnd.github+json");
        if let Some(b) = body {
            rq = rq.json(&b);
        }
        rq.send().await.unwrap()
    }
    async fn get(&self, path: &str) -> Response {
        self.send(reqwest::Method::GET, path, None).await
    }
    async fn put(&self, path: &str, body: Value) -> Response {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }
    async fn post(&self, path: &str, body: Value) -> Response {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
}

fn hdr(r: &Response, k: &str) -> Option<String> {
    r.headers()
        .get(k)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

const R: &str = "/repos/acme/widgets";

#[tokio::test]
async fn auth_errors_and_scopes() {
    let sim = Sim::start(fixture("github-basic.json")).await.unwrap();
    assert_eq!(sim.dialect(), Dialect::GitHub);
    let r = Client::new()
        .get(format!("{}{R}/pulls", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let b: Value = r.json().await.unwrap();
    assert!(b["message"].is_string() && b["documentation_url"].is_string());
    assert_eq!(
        C::new(&sim, "bad")
            .get(&format!("{R}/pulls"))
            .await
            .status(),
        401
    );
    let r = Client::new()
        .get(format!("{}{R}/pulls", sim.url()))
        .header("Authorization", "token sim-bot-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(hdr(&r, "X-OAuth-Scopes").as_deref(), Some("repo, read:org"));
    assert!(hdr(&r, "X-Total-Count").is_none());
    assert!(hdr(&r, "X-RateLimit-Remaining").is_some());
    let c = C::new(&sim, "sim-alice-token");
    let r = c.get(&format!("{R}/pulls")).await;
    assert!(hdr(&r, "X-OAuth-Scopes").is_none());
    // /user and /repos/{o}/{r} are not in github-subset.json → not served
    assert_eq!(c.get("/user").await.status(), 404);
    let r = c.get(R).await;
    assert_eq!(r.status(), 404);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["message"], "Not Found");
    assert!(b["documentation_url"].is_string());
    let rl: Value = c.get("/rate_limit").await.json().await.unwrap();
    for k in ["limit", "remaining", "reset", "used"] {
        assert!(
            rl["resources"]["core"][k].is_u64() || rl["resources"]["core"][k].is_i64(),
            "{k}"
        );
    }
}

#[tokio::test]
async fn pulls_payloads() {
    let sim = Sim::start(fixture("github-basic.json")).await.unwrap();
    let c = C::new(&sim, "sim-bot-token");
    let list: Vec<Value> = c.get(&format!("{R}/pulls")).await.json().await.unwrap();
    assert_eq!(list.len(), 4, "state defaults to open");
    assert!(
        list.iter().all(|p| p.get("mergeable").is_none()),
        "pull-request-simple has no mergeable"
    );
    let all: Vec<Value> = c
        .get(&format!("{R}/pulls?state=all&per_page=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let p: Value = c.get(&format!("{R}/pulls/1")).await.json().await.unwrap();
    assert_eq!(p["mergeable"], true);
    assert_eq!(p["mergeable_state"], "clean");
    assert_eq!(p["head"]["repo"]["fork"], false);
    let p: Value = c.get(&format!("{R}/pulls/3")).await.json().await.unwrap();
    assert_eq!(p["mergeable_state"], "blocked");
    let p: Value = c.get(&format!("{R}/pulls/4")).await.json().await.unwrap();
    assert_eq!(p["mergeable"], Value::Null);
    assert_eq!(p["mergeable_state"], "unknown");
    assert_eq!(p["head"]["repo"]["full_name"], "mallory/widgets");
    assert_eq!(p["head"]["repo"]["fork"], true);
    let commits: Vec<Value> = c
        .get(&format!("{R}/pulls/3/commits"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(commits.len(), 3);
    assert_eq!(commits[2]["sha"], p_head(&sim, 3), "oldest first");
    let reviews: Vec<Value> = c
        .get(&format!("{R}/pulls/3/reviews"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reviews[0]["state"], "CHANGES_REQUESTED");
    let issues: Vec<Value> = c
        .get(&format!("{R}/issues?labels=merge-queue"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(issues.len(), 2);
    assert!(issues.iter().all(|i| i["pull_request"].is_object()));
}

fn p_head(sim: &Sim, n: u64) -> String {
    sim.with_state(|s| s.pull(n).head_sha.clone())
}

#[tokio::test]
async fn statuses_and_checks() {
    let sc =
        fixture("github-basic.json").status(StatusSpec::pr(1, "bulk {n}", "success").count(150));
    let sim = Sim::start(sc).await.unwrap();
    let c = C::new(&sim, "sim-bot-token");
    let head = p_head(&sim, 1);
    let r = c
        .get(&format!("{R}/commits/{head}/statuses?per_page=200"))
        .await;
    let link = hdr(&r, "Link").unwrap();
    assert!(
        link.contains("rel=\"next\"") && link.contains("page=2"),
        "{link}"
    );
    // GitHub's links name the repository by id (`/repositories/{id}/…`).
    assert!(
        link.starts_with(&format!(
            "<{}/repositories/1/commits/{head}/statuses?",
            sim.url()
        )),
        "{link}"
    );
    let v: Vec<Value> = r.json().await.unwrap();
    assert_eq!(v.len(), 100, "per_page is clamped to 100");
    assert!(v[0]["creator"]["login"].is_string());
    let v: Value = c
        .get(&format!("{R}/commits/{head}/status"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["total_count"], 151);
    assert_eq!(v["statuses"].as_array().unwrap().len(), 30);
    assert_eq!(v["state"], "success");
    let v: Value = c
        .get(&format!("{R}/commits/{}/status", p_head(&sim, 3)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["state"], "failure");
    assert_eq!(v["total_count"], 1);
    let v: Value = c
        .get(&format!("{R}/commits/{}/status", p_head(&sim, 4)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["state"], "pending", "no statuses → pending");
    // check runs: latest per name by default
    let h3 = p_head(&sim, 3);
    let v: Value = c
        .get(&format!("{R}/commits/{h3}/check-runs"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["total_count"], 2);
    let build = v["check_runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "build")
        .unwrap();
    assert_eq!(build["conclusion"], "success");
    assert_eq!(build["app"]["id"], 15368);
    let v: Value = c
        .get(&format!(
            "{R}/commits/{h3}/check-runs?filter=all&per_page=1"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["total_count"], 3);
    assert_eq!(v["check_runs"].as_array().unwrap().len(), 1);
    // create status
    let r = c
        .post(
            &format!("{R}/statuses/{head}"),
            json!({"state": "warning", "context": "x"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = c
        .post(
            &format!("{R}/statuses/{head}"),
            json!({"state": "pending", "context": "mergeward"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "pending");
    let r = c
        .post(
            &format!("{R}/statuses/{head}"),
            json!({"state": "pending", "context": "mergeward"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(sim.take_mutations().len(), 2);
    let r = c
        .http
        .post(format!("{}{R}/statuses/{head}", c.base))
        .header("Authorization", "Bearer sim-bot-token")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn merge_and_update_branch() {
    let sim = Sim::start(fixture("github-basic.json")).await.unwrap();
    let c = C::new(&sim, "sim-bot-token");
    let head1 = p_head(&sim, 1);
    let r = c
        .put(
            &format!("{R}/pulls/1/merge"),
            json!({"sha": "deadbeef", "merge_method": "squash"}),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(
        r.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .starts_with("Head branch was modified")
    );
    let r = c.put(&format!("{R}/pulls/3/merge"), json!({})).await;
    assert_eq!(r.status(), 405);
    let r = c.put(&format!("{R}/pulls/4/merge"), json!({})).await;
    assert_eq!(r.status(), 405);
    assert!(sim.mutations().is_empty());
    let old_main = sim.with_state(|s| s.branch_head("main").unwrap());
    let r = c
        .put(
            &format!("{R}/pulls/1/merge"),
            json!({"sha": head1, "merge_method": "merge"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["merged"], true);
    let sha = v["sha"].as_str().unwrap().to_string();
    sim.with_state(|s| {
        assert_eq!(s.branch_head("main").unwrap(), sha);
        assert_eq!(
            s.commits[&sha].parents,
            vec![old_main.clone(), head1.clone()]
        );
    });
    assert_eq!(c.get(&format!("{R}/pulls/1/merge")).await.status(), 204);
    assert_eq!(
        sim.take_mutations(),
        vec![Mutation::Merged {
            pr: 1,
            head_sha: head1,
            merge_sha: sha,
            method: "merge".into(),
            force: false
        }]
    );
    // PR 2 is behind: update-branch
    let h2 = p_head(&sim, 2);
    let r = c
        .put(
            &format!("{R}/pulls/2/update-branch"),
            json!({"expected_head_sha": "abc"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = c
        .put(
            &format!("{R}/pulls/2/update-branch"),
            json!({"expected_head_sha": h2}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].is_string() && v["url"].is_string());
    let new = p_head(&sim, 2);
    assert_ne!(new, h2);
    let st: Value = c
        .get(&format!("{R}/commits/{new}/status"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(st["total_count"], 0);
    let rv: Vec<Value> = c
        .get(&format!("{R}/pulls/2/reviews"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rv[0]["state"], "DISMISSED", "dismiss_stale_reviews");
    assert!(matches!(
        &sim.take_mutations()[..],
        [Mutation::Updated { pr: 2, .. }]
    ));
    assert_eq!(
        c.put(&format!("{R}/pulls/2/update-branch"), json!({}))
            .await
            .status(),
        422
    );
    // reader cannot merge
    assert_eq!(
        C::new(&sim, "sim-reader-token")
            .put(&format!("{R}/pulls/2/merge"), json!({}))
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn protection_rules_and_branches() {
    let sim = Sim::start(fixture("github-basic.json")).await.unwrap();
    let bot = C::new(&sim, "sim-bot-token");
    assert_eq!(
        bot.get(&format!("{R}/branches/main/protection"))
            .await
            .status(),
        403
    );
    let p: Value = C::new(&sim, "sim-admin-token")
        .get(&format!("{R}/branches/main/protection"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        p["required_status_checks"]["contexts"],
        json!(["build", "lint"])
    );
    assert_eq!(
        p["required_status_checks"]["checks"][0],
        json!({"context": "build", "app_id": 15368})
    );
    assert_eq!(
        p["required_status_checks"]["checks"][1],
        json!({"context": "lint", "app_id": null})
    );
    assert_eq!(
        p["required_pull_request_reviews"]["required_approving_review_count"],
        1
    );
    assert_eq!(
        p["required_pull_request_reviews"]["dismiss_stale_reviews"],
        true
    );
    let rules: Vec<Value> = C::new(&sim, "sim-reader-token")
        .get(&format!("{R}/rules/branches/main"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["type"], "required_status_checks");
    assert_eq!(
        rules[0]["parameters"]["required_status_checks"][0]["context"],
        "test"
    );
    assert_eq!(
        rules[0]["parameters"]["strict_required_status_checks_policy"],
        false
    );
    assert_eq!(rules[1]["type"], "pull_request");
    assert_eq!(rules[1]["parameters"]["required_approving_review_count"], 1);
    let none: Vec<Value> = bot
        .get(&format!("{R}/rules/branches/nope"))
        .await
        .json()
        .await
        .unwrap();
    assert!(none.is_empty());
    let b: Value = bot
        .get(&format!("{R}/branches/main"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b["protected"], true);
    assert_eq!(
        b["protection"]["required_status_checks"]["contexts"],
        json!(["build", "lint"])
    );
    assert_eq!(
        b["commit"]["sha"],
        sim.with_state(|s| s.branch_head("main").unwrap()).as_str()
    );
    let commits: Vec<Value> = bot
        .get(&format!("{R}/commits?sha=main&per_page=3"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(commits.len(), 3);
    assert_eq!(commits[0]["sha"], b["commit"]["sha"]);
    // labels
    let r = bot
        .post(
            &format!("{R}/issues/3/labels"),
            json!({"labels": ["merge-queue"]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = bot
        .send(
            reqwest::Method::DELETE,
            &format!("{R}/issues/3/labels/merge-queue"),
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = bot
        .send(
            reqwest::Method::DELETE,
            &format!("{R}/issues/3/labels/merge-queue"),
            None,
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = bot
        .post(&format!("{R}/issues/3/comments"), json!({"body": "hi"}))
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        sim.take_mutations(),
        vec![
            Mutation::LabelAdded {
                pr: 3,
                label: "merge-queue".into()
            },
            Mutation::LabelRemoved {
                pr: 3,
                label: "merge-queue".into()
            },
            Mutation::Commented {
                pr: 3,
                body: "hi".into()
            },
        ]
    );
}
