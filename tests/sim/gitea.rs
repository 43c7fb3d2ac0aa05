//! Gitea / Forgejo dialect behaviour of the simulated forge.

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
            base: format!("{}/api/v1", sim.url()),
            token: token.to_string(),
            http: Client::new(),
        }
    }
    async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("token {}", self.token))
            .send()
            .await
            .unwrap()
    }
    async fn post(&self, path: &str, body: Value) -> Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("Authorization", format!("token {}", self.token))
            .json(&body)
            .send()
            .await
            .unwrap()
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
async fn version_user_and_auth() {
    let sim = Sim::start(fixture("gitea-basic.json")).await.unwrap();
    let anon = Client::new();
    let v: Value = anon
        .get(format!("{}/api/v1/version", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v, json!({"version": "1.22.6"}));
    let c = C::new(&sim, "sim-bot-token");
    let u: Value = c.get("/user").await.json().await.unwrap();
    assert_eq!(u["login"], "bot");
    assert_eq!(u["is_admin"], false);
    // missing / wrong token / capitalised keyword → 401 with Gitea error body
    let r = anon
        .get(format!("{}/api/v1{R}/pulls", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let b: Value = r.json().await.unwrap();
    assert!(b["message"].is_string() && b["url"].is_string());
    assert_eq!(
        C::new(&sim, "nope")
            .get(&format!("{R}/pulls"))
            .await
            .status(),
        401
    );
    let r = anon
        .get(format!("{}/api/v1{R}/pulls", sim.url()))
        .header("Authorization", "Token sim-bot-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "Gitea 1.22 matches the `token` keyword case-sensitively"
    );
    let r = anon
        .get(format!("{}/api/v1{R}/pulls", sim.url()))
        .header("Authorization", "Bearer sim-bot-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // unknown route / other repo → 404 {"message","url"}
    let r = c.get("/repos/acme/widgets/nonsense").await;
    assert_eq!(r.status(), 404);
    let b: Value = r.json().await.unwrap();
    assert!(b["message"].is_string() && b["url"].is_string());
    assert_eq!(c.get("/repos/other/repo/pulls").await.status(), 404);
    let reqs = sim.requests();
    let last = reqs.last().unwrap();
    assert_eq!(last.user.as_deref(), Some("bot"));
    assert!(reqs.iter().any(|r| r.route.is_none() && r.status == 404));
    let dump = serde_json::to_string(&reqs).unwrap();
    assert!(
        !dump.contains("sim-bot-token"),
        "tokens must never be recorded"
    );
    sim.shutdown().await;

    let sim = Sim::start(fixture("forgejo-basic.json")).await.unwrap();
    let v: Value = C::new(&sim, "x")
        .get("/version")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["version"], "11.0.1+gitea-1.22.0");
    assert_eq!(sim.dialect(), Dialect::Gitea);
}

#[tokio::test]
async fn statuses_clamping_links_and_order() {
    let sc = Scenario::gitea("acme/widgets")
        .user("bot", "t", Permission::Write)
        .pr(PullSpec::new(1))
        .status(StatusSpec::pr(1, "ci/load", "success").count(123));
    let sim = Sim::start(sc).await.unwrap();
    let head = sim.with_state(|s| s.pull(1).head_sha.clone());
    let c = C::new(&sim, "t");
    let r = c
        .get(&format!("{R}/commits/{head}/statuses?limit=100"))
        .await;
    assert_eq!(hdr(&r, "X-Total-Count").as_deref(), Some("123"));
    let link = hdr(&r, "Link").unwrap();
    assert!(link.contains("rel=\"next\"") && link.contains("rel=\"last\""));
    assert!(link.contains(&format!("{}/api/v1{R}/commits/{head}/statuses?", sim.url())));
    assert!(link.contains("page=3"), "{link}");
    let v: Vec<Value> = r.json().await.unwrap();
    assert_eq!(v.len(), 50, "limit=100 is silently clamped to 50");
    assert!(v[0]["id"].as_u64() > v[1]["id"].as_u64(), "newest first");
    assert_eq!(v[0]["status"], "success");
    for k in [
        "id",
        "status",
        "context",
        "target_url",
        "description",
        "created_at",
        "updated_at",
        "creator",
        "url",
    ] {
        assert!(v[0].get(k).is_some(), "missing {k}");
    }
    let r = c.get(&format!("{R}/statuses/{head}?limit=50&page=3")).await;
    let link = hdr(&r, "Link").unwrap();
    assert!(link.contains("rel=\"prev\"") && !link.contains("rel=\"next\""));
    let v: Vec<Value> = r.json().await.unwrap();
    assert_eq!(v.len(), 23);
    let v: Vec<Value> = c
        .get(&format!("{R}/statuses/{head}?sort=oldest"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v.len(), 30, "limit defaults to 30");
    assert!(v[0]["id"].as_u64() < v[1]["id"].as_u64());
    sim.shutdown().await;

    // per-scenario clamp
    let sc = Scenario::gitea("acme/widgets")
        .user("bot", "t", Permission::Write)
        .paging(10, 20)
        .status(StatusSpec::branch("main", "x", "pending").count(45));
    let sim = Sim::start(sc).await.unwrap();
    let c = C::new(&sim, "t");
    let v: Vec<Value> = c
        .get(&format!("{R}/commits/main/statuses?limit=100"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v.len(), 20);
    let v: Vec<Value> = c
        .get(&format!("{R}/commits/main/statuses"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v.len(), 10);
}

#[tokio::test]
async fn combined_status_30_quirk() {
    let sc = Scenario::gitea("acme/widgets")
        .user("bot", "t", Permission::Write)
        .pr(PullSpec::new(1))
        .status(StatusSpec::pr(1, "old", "failure"))
        .status(StatusSpec::pr(1, "job {n}", "success").count(40))
        .status(StatusSpec::pr(1, "warn", "warning"));
    let sim = Sim::start(sc).await.unwrap();
    let head = sim.with_state(|s| s.pull(1).head_sha.clone());
    let c = C::new(&sim, "t");
    let r = c.get(&format!("{R}/commits/{head}/status")).await;
    assert_eq!(hdr(&r, "X-Total-Count").as_deref(), Some("42"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["statuses"].as_array().unwrap().len(), 30);
    assert_eq!(v["total_count"], 30, "total_count is the page length");
    assert_eq!(
        v["state"], "warning",
        "the failing context is not on page 1"
    );
    assert_eq!(v["sha"], head.as_str());
    let v: Value = c
        .get(&format!("{R}/commits/{head}/status?page=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["total_count"], 12);
    assert_eq!(v["state"], "failure");
    // past the end / no statuses → `{}`-like body with state ""
    let v: Value = c
        .get(&format!("{R}/commits/{head}/status?page=9"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["state"], "");
    let v: Value = c
        .get(&format!("{R}/commits/main/status"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["state"], "");
    assert_eq!(v["total_count"], 0);
}

#[tokio::test]
async fn merge_success_advances_base() {
    let sim = Sim::start(fixture("gitea-basic.json")).await.unwrap();
    let (old_main, head) =
        sim.with_state(|s| (s.branch_head("main").unwrap(), s.pull(1).head_sha.clone()));
    let c = C::new(&sim, "sim-bot-token");
    assert_eq!(c.get(&format!("{R}/pulls/1/merge")).await.status(), 404);
    let r = c
        .post(
            &format!("{R}/pulls/1/merge"),
            json!({"Do": "merge", "MergeTitleField": "Merge #1", "head_commit_id": head}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "");
    let muts = sim.take_mutations();
    assert_eq!(muts.len(), 1);
    let Mutation::Merged {
        pr,
        head_sha,
        merge_sha,
        method,
        force,
    } = &muts[0]
    else {
        panic!("{muts:?}")
    };
    assert_eq!(
        (*pr, head_sha.as_str(), method.as_str(), *force),
        (1, head.as_str(), "merge", false)
    );
    sim.with_state(|s| {
        assert_eq!(s.branch_head("main").as_deref(), Some(merge_sha.as_str()));
        assert_eq!(
            s.commits[merge_sha].parents,
            vec![old_main.clone(), head.clone()]
        );
        let p = s.pull(1);
        assert!(p.merged && p.state == "closed");
        assert_eq!(p.merge_commit_sha.as_deref(), Some(merge_sha.as_str()));
    });
    assert_eq!(c.get(&format!("{R}/pulls/1/merge")).await.status(), 204);
    let p: Value = c.get(&format!("{R}/pulls/1")).await.json().await.unwrap();
    assert_eq!(p["merged"], true);
    assert_eq!(p["merge_commit_sha"], merge_sha.as_str());
    // merging again → 405, nothing recorded
    assert_eq!(
        c.post(&format!("{R}/pulls/1/merge"), json!({"Do": "merge"}))
            .await
            .status(),
        405
    );
    // PR 2 is now two commits behind but the rule does not block outdated branches
    assert!(sim.with_state(|s| s.is_behind(2)));
    assert!(sim.take_mutations().is_empty());
}

#[tokio::test]
async fn merge_rejections() {
    let sim = Sim::start(fixture("gitea-basic.json")).await.unwrap();
    let c = C::new(&sim, "sim-bot-token");
    let r = c
        .post(
            &format!("{R}/pulls/1/merge"),
            json!({"do": "merge", "head_commit_id": "0000000000000000000000000000000000000000"}),
        )
        .await;
    assert_eq!(r.status(), 409);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["message"], "head out of date");
    // failing required statuses
    let r = c
        .post(&format!("{R}/pulls/3/merge"), json!({"Do": "merge"}))
        .await;
    assert_eq!(r.status(), 405);
    let b: Value = r.json().await.unwrap();
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("Not all required status checks successful")
    );
    // force_merge needs admin
    assert_eq!(
        c.post(
            &format!("{R}/pulls/3/merge"),
            json!({"Do": "merge", "force_merge": true})
        )
        .await
        .status(),
        405
    );
    // mergeable null → try again later
    let r = c
        .post(&format!("{R}/pulls/4/merge"), json!({"Do": "merge"}))
        .await;
    assert_eq!(r.status(), 405);
    assert_eq!(
        r.json::<Value>().await.unwrap()["message"],
        "Please try again later"
    );
    // merged PR → 405; unknown → 404; bad body → 422
    assert_eq!(
        c.post(&format!("{R}/pulls/5/merge"), json!({"Do": "merge"}))
            .await
            .status(),
        405
    );
    assert_eq!(
        c.post(&format!("{R}/pulls/99/merge"), json!({"Do": "merge"}))
            .await
            .status(),
        404
    );
    assert_eq!(
        c.post(&format!("{R}/pulls/1/merge"), json!({"Do": "yolo"}))
            .await
            .status(),
        422
    );
    let r = c
        .http
        .post(format!("{}{R}/pulls/1/merge", c.base))
        .header("Authorization", "token sim-bot-token")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // reader cannot merge
    assert_eq!(
        C::new(&sim, "sim-reader-token")
            .post(&format!("{R}/pulls/1/merge"), json!({"Do": "merge"}))
            .await
            .status(),
        405
    );
    assert!(sim.mutations().is_empty(), "rejected merges record nothing");
    // admin override
    let a = C::new(&sim, "sim-admin-token");
    assert_eq!(
        a.post(
            &format!("{R}/pulls/3/merge"),
            json!({"Do": "squash", "force_merge": true})
        )
        .await
        .status(),
        200
    );
    let m = sim.take_mutations();
    assert!(
        matches!(
            &m[..],
            [Mutation::Merged {
                pr: 3,
                force: true,
                ..
            }]
        ),
        "{m:?}"
    );
    // closed (not merged) PR → 404
    sim.with_state(|s| s.pr_mut(2).state = "closed".into());
    assert_eq!(
        c.post(&format!("{R}/pulls/2/merge"), json!({"Do": "merge"}))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn merge_protection_approvals_and_outdated() {
    let sc = Scenario::gitea("acme/widgets")
        .user("bot", "t", Permission::Write)
        .user("alice", "a", Permission::Write)
        .protect(
            ProtectionSpec::new("main")
                .contexts(&["ci"])
                .approvals(1)
                .block_on_outdated_branch(),
        )
        .pr(PullSpec::new(1))
        .pr(PullSpec::new(2).behind())
        .status(StatusSpec::pr(1, "ci", "success"))
        .status(StatusSpec::pr(2, "ci", "success"))
        .review(ReviewSpec::new(2, "alice", "APPROVED"));
    let sim = Sim::start(sc).await.unwrap();
    let c = C::new(&sim, "t");
    let r = c
        .post(&format!("{R}/pulls/1/merge"), json!({"Do": "merge"}))
        .await;
    assert_eq!(r.status(), 405);
    assert!(
        r.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("Does not have enough approvals")
    );
    let r = c
        .post(&format!("{R}/pulls/2/merge"), json!({"Do": "merge"}))
        .await;
    assert_eq!(r.status(), 405);
    assert!(
        r.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("head branch is behind")
    );
    sim.with_state(|s| {
        s.add_review(1, "alice", "APPROVED");
    });
    assert_eq!(
        c.post(&format!("{R}/pulls/1/merge"), json!({"Do": "rebase-merge"}))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn update_branch() {
    let sim = Sim::start(fixture("gitea-basic.json")).await.unwrap();
    let c = C::new(&sim, "sim-bot-token");
    let (old_head, main) =
        sim.with_state(|s| (s.pull(2).head_sha.clone(), s.branch_head("main").unwrap()));
    // PR 1 is up to date → 500 quirk
    assert_eq!(
        c.post(&format!("{R}/pulls/1/update"), json!(null))
            .await
            .status(),
        500
    );
    let r = c
        .post(&format!("{R}/pulls/2/update?style=merge"), json!(null))
        .await;
    assert_eq!(r.status(), 200);
    let new_head = sim.with_state(|s| {
        let p = s.pull(2).clone();
        assert_ne!(p.head_sha, old_head);
        assert_eq!(
            s.commits[&p.head_sha].parents,
            vec![old_head.clone(), main.clone()]
        );
        assert_eq!(p.merge_base, main);
        assert_eq!(
            s.branch_head("fix/typo").as_deref(),
            Some(p.head_sha.as_str())
        );
        assert!(s.statuses_for(&p.head_sha).is_empty());
        // Gitea marks reviews stale (and, with dismiss_stale_approvals, dismisses
        // approvals) only when the PR's diff changed: a clean merge of the base keeps them.
        for r in s.reviews_for(2) {
            assert!(!r.stale, "a base merge changes no line of the diff");
            assert!(!r.dismissed, "a base merge dismisses nothing");
        }
        p.head_sha
    });
    let v: Value = c.get(&format!("{R}/pulls/2")).await.json().await.unwrap();
    assert_eq!(v["head"]["sha"], new_head.as_str());
    let v: Value = c
        .get(&format!("{R}/commits/{new_head}/status"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["state"], "");
    assert_eq!(
        sim.take_mutations(),
        vec![Mutation::Updated {
            pr: 2,
            old_head,
            new_head,
            style: "merge".into()
        }]
    );
    // now up to date → 500; reader → 403; conflict → 409
    assert_eq!(
        c.post(&format!("{R}/pulls/2/update"), json!(null))
            .await
            .status(),
        500
    );
    sim.with_state(|s| {
        s.push_commit("main");
        s.pr_mut(2).conflict = true;
    });
    assert_eq!(
        C::new(&sim, "sim-reader-token")
            .post(&format!("{R}/pulls/2/update"), json!(null))
            .await
            .status(),
        403
    );
    assert_eq!(
        c.post(&format!("{R}/pulls/2/update?style=rebase"), json!(null))
            .await
            .status(),
        409
    );
    assert!(sim.mutations().is_empty());
}

#[tokio::test]
async fn create_status() {
    let sim = Sim::start(fixture("gitea-basic.json")).await.unwrap();
    let c = C::new(&sim, "sim-bot-token");
    let head = sim.with_state(|s| s.pull(1).head_sha.clone());
    let body = json!({"state": "success", "context": "mergeward", "description": "ok", "target_url": "http://x"});
    let r = c.post(&format!("{R}/statuses/{head}"), body.clone()).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "success");
    assert_eq!(v["context"], "mergeward");
    assert_eq!(v["creator"]["login"], "bot");
    assert_eq!(
        sim.take_mutations(),
        vec![Mutation::StatusPosted {
            sha: head.clone(),
            context: "mergeward".into(),
            state: "success".into(),
            description: "ok".into(),
            target_url: "http://x".into()
        }]
    );
    assert_eq!(
        c.post(&format!("{R}/statuses/{}", fake_sha("nope")), body.clone())
            .await
            .status(),
        500
    );
    assert_eq!(
        C::new(&sim, "sim-reader-token")
            .post(&format!("{R}/statuses/{head}"), body)
            .await
            .status(),
        403
    );
    assert_eq!(
        c.post(&format!("{R}/statuses/{head}"), json!({"state": "bogus"}))
            .await
            .status(),
        422
    );
    assert!(sim.mutations().is_empty());
}

#[tokio::test]
async fn pulls_issues_and_payloads() {
    let sim = Sim::start(fixture("gitea-basic.json")).await.unwrap();
    let c = C::new(&sim, "sim-bot-token");
    let r = c.get(&format!("{R}/pulls")).await;
    assert_eq!(hdr(&r, "X-Total-Count").as_deref(), Some("5"));
    let all: Vec<Value> = r.json().await.unwrap();
    assert_eq!(all.len(), 5, "no state → ALL pull requests (quirk)");
    let open: Vec<Value> = c
        .get(&format!("{R}/pulls?state=open&limit=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(open.len(), 2);
    let p: Value = c.get(&format!("{R}/pulls/4")).await.json().await.unwrap();
    assert_eq!(p["head"]["repo"]["full_name"], "mallory/widgets");
    assert_eq!(p["head"]["repo"]["fork"], true);
    assert_eq!(p["base"]["repo"]["full_name"], "acme/widgets");
    assert_eq!(p["mergeable"], false);
    let p: Value = c.get(&format!("{R}/pulls/1")).await.json().await.unwrap();
    for k in [
        "number",
        "state",
        "draft",
        "title",
        "user",
        "labels",
        "head",
        "base",
        "mergeable",
        "merge_base",
        "merged",
        "merge_commit_sha",
        "created_at",
        "updated_at",
        "html_url",
    ] {
        assert!(p.get(k).is_some(), "missing {k}");
    }
    assert_eq!(p["labels"][0]["name"], "merge-queue");
    let r = c.get(&format!("{R}/pulls/1/commits")).await;
    assert_eq!(hdr(&r, "X-Total-Count").as_deref(), Some("2"));
    assert!(hdr(&r, "X-PageCount").is_some() && hdr(&r, "X-HasMore").is_some());
    let commits: Vec<Value> = r.json().await.unwrap();
    assert_eq!(commits[0]["sha"], p["head"]["sha"]);
    // issues label filter: ALL-of, unknown names dropped
    let ids = |v: Vec<Value>| {
        v.iter()
            .map(|i| i["number"].as_u64().unwrap())
            .collect::<Vec<_>>()
    };
    let v: Vec<Value> = c
        .get(&format!(
            "{R}/issues?state=open&type=pulls&labels=merge-queue,kind/bug"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(v.clone()), vec![2]);
    assert!(v[0]["pull_request"].is_object());
    let v: Vec<Value> = c
        .get(&format!(
            "{R}/issues?state=open&type=pulls&labels=merge-queue,nosuch"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(v), vec![2, 1]);
    let v: Vec<Value> = c
        .get(&format!("{R}/issues?state=open&labels=nosuch"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v.len(), 4);
    // reviews: X-Total-Count, no Link
    let r = c.get(&format!("{R}/pulls/1/reviews?page=1&limit=1")).await;
    assert_eq!(hdr(&r, "X-Total-Count").as_deref(), Some("2"));
    assert!(hdr(&r, "Link").is_none());
    let v: Vec<Value> = r.json().await.unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["state"], "APPROVED");
    assert_eq!(v[0]["official"], true);
}

#[tokio::test]
async fn labels_comments_branches_protection() {
    let sim = Sim::start(fixture("gitea-basic.json")).await.unwrap();
    let c = C::new(&sim, "sim-bot-token");
    let labels: Vec<Value> = c.get(&format!("{R}/labels")).await.json().await.unwrap();
    assert_eq!(labels.len(), 4);
    let dnm = labels.iter().find(|l| l["name"] == "do-not-merge").unwrap()["id"]
        .as_u64()
        .unwrap();
    let r = c
        .post(
            &format!("{R}/issues/3/labels"),
            json!({"labels": ["merge-queue", "nosuch"]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Vec<Value> = r.json().await.unwrap();
    assert_eq!(v.len(), 1);
    let r = c
        .post(&format!("{R}/issues/3/labels"), json!({"labels": [dnm]}))
        .await;
    assert_eq!(r.json::<Vec<Value>>().await.unwrap().len(), 2);
    assert_eq!(
        c.post(
            &format!("{R}/issues/3/labels"),
            json!({"labels": [dnm, "x"]})
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        C::new(&sim, "sim-reader-token")
            .post(
                &format!("{R}/issues/3/labels"),
                json!({"labels": ["merge-queue"]})
            )
            .await
            .status(),
        403
    );
    let r = c
        .post(&format!("{R}/issues/3/comments"), json!({"body": "queued"}))
        .await;
    assert_eq!(r.status(), 201);
    let comments: Vec<Value> = c
        .get(&format!("{R}/issues/3/comments"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(
        sim.take_mutations(),
        vec![
            Mutation::LabelAdded {
                pr: 3,
                label: "merge-queue".into()
            },
            Mutation::LabelAdded {
                pr: 3,
                label: "do-not-merge".into()
            },
            Mutation::Commented {
                pr: 3,
                body: "queued".into()
            },
        ]
    );
    // protection: admin only; branch endpoint shows the rule to readers
    assert_eq!(
        c.get(&format!("{R}/branch_protections/main"))
            .await
            .status(),
        403
    );
    let bp: Value = C::new(&sim, "sim-admin-token")
        .get(&format!("{R}/branch_protections/main"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bp["required_approvals"], 2);
    assert_eq!(bp["dismiss_stale_approvals"], true);
    assert_eq!(bp["rule_name"], "main");
    let b: Value = C::new(&sim, "sim-reader-token")
        .get(&format!("{R}/branches/main"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b["protected"], true);
    assert_eq!(b["enable_status_check"], true);
    assert_eq!(
        b["status_check_contexts"],
        json!(["CI / test (pull_request)", "lint / *"])
    );
    assert_eq!(b["required_approvals"], 2);
    assert_eq!(b["user_can_merge"], false);
    let main = sim.with_state(|s| s.branch_head("main").unwrap());
    assert_eq!(b["commit"]["id"], main.as_str());
    let b: Value = c
        .get(&format!("{R}/branches/release/1.0"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(b["name"], "release/1.0");
    assert_eq!(b["protected"], false);
    // repo + commits
    let repo: Value = c.get(R).await.json().await.unwrap();
    assert_eq!(repo["full_name"], "acme/widgets");
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(
        repo["permissions"],
        json!({"admin": false, "push": true, "pull": true})
    );
    let r = c
        .get(&format!(
            "{R}/commits?sha=main&limit=2&stat=false&files=false&verification=false"
        ))
        .await;
    let total: usize = hdr(&r, "X-Total-Count").unwrap().parse().unwrap();
    let v: Vec<Value> = r.json().await.unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["sha"], main.as_str());
    assert_eq!(v[1]["sha"], v[0]["parents"][0]["sha"]);
    let first_parent_len = sim.with_state(|s| s.first_parent_history(&main).len());
    assert_eq!(total, first_parent_len);
}

#[tokio::test]
async fn latency_is_applied() {
    let sim = Sim::start(fixture("gitea-basic.json").latency_ms(120))
        .await
        .unwrap();
    let c = C::new(&sim, "sim-bot-token");
    let t = std::time::Instant::now();
    assert_eq!(c.get("/version").await.status(), 200);
    assert!(t.elapsed().as_millis() >= 120);
    sim.set_latency_ms(0);
    let t = std::time::Instant::now();
    c.get("/version").await;
    assert!(t.elapsed().as_millis() < 120);
}
