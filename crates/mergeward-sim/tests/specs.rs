//! The simulator against the official API descriptions (`shared/specs/` beside the
//! repository, or `$MERGEWARD_SPECS_DIR`): every route it serves is declared, and the single
//! commit answers have the described shape. Skipped when the descriptions are absent,
//! required under `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use mergeward_sim::*;
use serde_json::Value;

fn specs_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MERGEWARD_SPECS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs"));
    if dir.join("github-subset.json").exists() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the API descriptions are required under CI=true: {}",
        dir.display()
    );
    None
}

fn load(dir: &std::path::Path, file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
}

#[test]
fn every_route_is_declared_by_the_descriptions() {
    let Some(dir) = specs_dir() else { return };
    for (dialect, files) in [
        (
            Dialect::Gitea,
            vec!["gitea-swagger-v1.22.6.json", "forgejo-swagger-v11.0.1.json"],
        ),
        (Dialect::GitHub, vec!["github-subset.json"]),
    ] {
        for file in files {
            let spec = load(&dir, file);
            for (method, path) in routes(dialect) {
                let op = &spec["paths"][path][method.to_ascii_lowercase()];
                assert!(op.is_object(), "{file} has no {method} {path}");
            }
        }
    }
    let spec = load(&dir, "gitea-swagger.json");
    for (method, path) in newer_routes(Dialect::Gitea) {
        assert!(spec["paths"][path][method.to_ascii_lowercase()].is_object());
    }
}

async fn get(sim: &Sim, path: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = sim.url().trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&host).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAuthorization: token t\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    serde_json::from_str(body).unwrap()
}

/// Swagger 2 (Gitea): every key of `v` is a property of `schema`, recursively through
/// `$ref`s of objects and arrays.
fn check_swagger(spec: &Value, schema: &Value, v: &Value, at: &str) {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => &spec["definitions"][r.trim_start_matches("#/definitions/")],
        None => schema,
    };
    match v {
        Value::Object(o) => {
            let props = &schema["properties"];
            for (k, x) in o {
                assert!(props.get(k).is_some(), "{at}.{k} is not in the description");
                check_swagger(spec, &props[k], x, &format!("{at}.{k}"));
            }
        }
        Value::Array(items) => {
            for x in items {
                check_swagger(spec, &schema["items"], x, &format!("{at}[]"));
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_commit_answers_have_the_described_shape() {
    let Some(dir) = specs_dir() else { return };
    for git in [false, true] {
        let mut sc = Scenario::gitea("acme/widgets")
            .user("bot", "t", Permission::Write)
            .pr(PullSpec::new(1));
        if git {
            sc = sc.git();
        }
        let sim = Sim::start(sc).await.unwrap();
        let head = sim.with_state(|s| s.pull(1).head_sha.clone());
        let v = get(
            &sim,
            &format!("/api/v1/repos/acme/widgets/git/commits/{head}"),
        )
        .await;
        for file in ["gitea-swagger-v1.22.6.json", "forgejo-swagger-v11.0.1.json"] {
            let spec = load(&dir, file);
            let op = &spec["paths"]["/repos/{owner}/{repo}/git/commits/{sha}"]["get"];
            let resp = op["responses"]["200"]["$ref"].as_str().unwrap();
            let schema = &spec["responses"][resp.trim_start_matches("#/responses/")]["schema"];
            check_swagger(&spec, schema, &v, "commit");
        }
        sim.shutdown().await;

        let mut sc = Scenario::github("acme/widgets")
            .user("bot", "t", Permission::Write)
            .pr(PullSpec::new(1));
        if git {
            sc = sc.git();
        }
        let sim = Sim::start(sc).await.unwrap();
        let head = sim.with_state(|s| s.pull(1).head_sha.clone());
        let v = get(&sim, &format!("/repos/acme/widgets/commits/{head}")).await;
        let spec = load(&dir, "github-subset.json");
        let schema = &spec["components"]["schemas"]["commit"];
        for k in schema["required"].as_array().unwrap() {
            assert!(v.get(k.as_str().unwrap()).is_some(), "commit.{k}");
        }
        for k in schema["properties"]["commit"]["required"]
            .as_array()
            .unwrap()
        {
            assert!(
                v["commit"].get(k.as_str().unwrap()).is_some(),
                "commit.commit.{k}"
            );
        }
        for p in v["parents"].as_array().unwrap() {
            assert!(p["sha"].is_string() && p["url"].is_string());
        }
        for who in ["author", "committer"] {
            for k in ["name", "email", "date"] {
                assert!(v["commit"][who][k].is_string(), "commit.{who}.{k}");
            }
        }
        sim.shutdown().await;
    }
}
