//! Scenario loading, builder, fake SHAs and the route table vs the API specs.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

use mergeward::sim::*;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sim")
}

#[tokio::test]
async fn all_fixtures_load_and_start() {
    let mut n = 0;
    for e in std::fs::read_dir(fixtures()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let sc = Scenario::from_file(&p).unwrap_or_else(|e| panic!("{e}"));
        let sim = Sim::start(sc).await.unwrap();
        assert!(sim.url().starts_with("http://127.0.0.1:"));
        sim.shutdown().await;
        n += 1;
    }
    assert!(n >= 3);
    let sc = Scenario::from_file(&fixtures().join("forgejo-basic.json")).unwrap();
    assert_eq!(sc.effective_version(), "11.0.1+gitea-1.22.0");
}

#[test]
fn malformed_scenarios_name_the_file() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    write!(
        f,
        "{{\n  \"repo\": \"a/b\",\n  \"pulls\": [ {{\"number\": 1,, }} ]\n}}"
    )
    .unwrap();
    let err = Scenario::from_file(f.path()).unwrap_err().to_string();
    let name = f.path().display().to_string();
    assert!(err.contains(&name), "{err}");
    assert!(err.contains("line 3"), "{err}");

    let mut f = tempfile::NamedTempFile::new().unwrap();
    write!(
        f,
        r#"{{"repo": "a/b", "statuses": [{{"pr": 9, "context": "c", "state": "success"}}]}}"#
    )
    .unwrap();
    let err = Scenario::from_file(f.path()).unwrap_err().to_string();
    assert!(
        err.contains(&f.path().display().to_string()) && err.contains("unknown PR 9"),
        "{err}"
    );

    let err = Scenario::from_json(r#"{"repo": "a/b", "pullz": []}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("pullz"), "{err}");
    let err = Scenario::from_json(r#"{"repo": "nope"}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("owner/name"), "{err}");
    let err = Scenario::from_json(r#"{"forge": "github", "repo": "a/b", "statuses": [{"branch": "main", "state": "warning"}]}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("warning"), "{err}");
    assert!(matches!(
        Scenario::from_file(std::path::Path::new("/definitely/missing.json")),
        Err(ScenarioError::Io { .. })
    ));
}

#[test]
fn fake_sha_is_deterministic() {
    let a = fake_sha("x");
    assert_eq!(a, fake_sha("x"));
    assert_eq!(a.len(), 40);
    assert!(
        a.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let set: HashSet<String> = (0..5000).map(|i| fake_sha(&format!("seed-{i}"))).collect();
    assert_eq!(set.len(), 5000);
}

#[tokio::test]
async fn builder_and_state_helpers() {
    let sc = Scenario::gitea("acme/widgets")
        .user("bot", "t", Permission::Write)
        .branch("main", None, 4)
        .pr(PullSpec::new(7)
            .title("seven")
            .behind()
            .commits(2)
            .label("merge-queue"))
        .pr(PullSpec::new(8).from("main~3").conflict())
        .status(StatusSpec::pr(7, "ci", "success"));
    let sim = Sim::start(sc.clone()).await.unwrap();
    sim.with_state(|s| {
        let p = s.pull(7).clone();
        assert!(s.is_behind(7));
        assert_eq!(s.resolve("main~1").unwrap(), p.merge_base);
        assert_eq!(s.statuses_for(&p.head_sha).len(), 1);
        assert_eq!(s.pr_label_names(7), vec!["merge-queue".to_string()]);
        assert_eq!(s.pull(8).mergeable, Some(false));
        assert_eq!(
            s.first_parent_history(&s.branch_head("main").unwrap())
                .len(),
            4
        );
        // helpers
        let main = s.branch_head("main").unwrap();
        let c = s.add_commit(&[&main]);
        s.set_branch_head("main", &c);
        let id = s.add_status(&c, "ci", "pending");
        assert_eq!(s.latest_statuses(&c)[0].id, id);
        let pushed = s.push_to_pr(7).unwrap();
        assert_eq!(s.pull(7).head_sha, pushed);
    });
    // scenario JSON round trip
    let text = serde_json::to_string(&sc).unwrap();
    let back = Scenario::from_json(&text).unwrap();
    assert_eq!(back, sc);
    // invalid scenarios refuse to start
    assert!(
        Sim::start(Scenario::gitea("acme/widgets").pr(PullSpec::new(1).from("nope")))
            .await
            .is_err()
    );
}

use crate::common::contract;

/// Every route template is, exactly as written, a route of the API contract
/// (`contract/forge-api.toml`) declared by Gitea 1.22.6's and GitHub's descriptions.
#[test]
fn every_route_exists_in_the_contract() {
    let c = contract::Contract::load();
    for (dialect, name, id) in [
        (Dialect::Gitea, "gitea", contract::GITEA_1_22),
        (Dialect::GitHub, "github", contract::GITHUB),
    ] {
        for (m, path) in routes(dialect) {
            let r = c
                .route(name, m, path)
                .unwrap_or_else(|| panic!("the contract has no {name} {m} {path}"));
            assert_eq!(r.path, path);
            assert!(r.described.contains_key(id), "{id} has no {m} {path}");
        }
    }
    assert_eq!(contract::base_path("gitea"), "/api/v1");
}

/// Every route template is reachable: a concrete request is matched to exactly that template.
#[tokio::test]
async fn every_route_is_dispatched() {
    for (dialect, file) in [
        (Dialect::Gitea, "gitea-basic.json"),
        (Dialect::GitHub, "github-basic.json"),
    ] {
        let sim = Sim::start(Scenario::from_file(&fixtures().join(file)).unwrap())
            .await
            .unwrap();
        let head = sim.with_state(|s| s.pull(1).head_sha.clone());
        let client = reqwest::Client::new();
        for (m, tpl) in routes(dialect) {
            let path = tpl
                .replace("{owner}", "acme")
                .replace("{repo}", "widgets")
                .replace("{ref}", "feature/frob")
                .replace("{branch}", "release/1.0")
                .replace("{sha}", &head)
                .replace("{name}", "main")
                .replace("{index}", "1")
                .replace("{pull_number}", "1")
                .replace("{issue_number}", "1")
                .replace("{id}", "1")
                .replace("{comment_id}", "1")
                .replace("{job_id}", "1")
                .replace("{filepath}", ".gitea/workflows/ci.yml");
            let prefix = if dialect == Dialect::Gitea {
                "/api/v1"
            } else {
                ""
            };
            let method = reqwest::Method::from_bytes(m.as_bytes()).unwrap();
            let r = client
                .request(method, format!("{}{prefix}{path}", sim.url()))
                .header("Authorization", "token sim-admin-token")
                .send()
                .await
                .unwrap();
            assert!(r.status().as_u16() < 600);
            let rec = sim.requests().pop().unwrap();
            assert_eq!(rec.route.as_deref(), Some(tpl), "{m} {path}");
            assert_eq!(rec.path, format!("{prefix}{path}"));
        }
    }
}

#[test]
fn sim_handle_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Sim>();
    check::<SimState>();
}
