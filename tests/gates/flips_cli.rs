//! `mergeward gate flips` through the real binary against the simulated forge: trees from
//! the forge's contents API and from a local git repository, exit codes, `--dry-run`, and
//! the output formats.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::*;
use mergeward::sim::{Fault, FileSpec, Permission, Scenario, Sim, StatusSpec};
use serde_json::Value;

fn fixture(side: &str, name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/workflows/flips")
        .join(side)
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

const PLATFORM: &str = "CI / Platform (Go) (push)";
const CANVAS: &str = "CI / canvas-build (push)";
const CLEAN: &str = "ok  \tgithub.com/acme/x\t0.1s\n";

/// main carries the base ci.yml, PR 1's head the flipped one; each of the last two commits
/// of main has a push run of both flipped jobs. `canvas_log` is canvas-build's log on main.
fn repo(canvas_log: &str, files: &[&str]) -> Scenario {
    let mut sc = Scenario::gitea(REPO)
        .user("bot", TOKEN, Permission::Write)
        .branch("main", None, 3)
        .pr(mergeward::sim::PullSpec::new(1).head("flip"));
    for name in files {
        let path = format!(".gitea/workflows/{name}");
        sc = sc
            .file(FileSpec::new(&path, fixture("base", name)))
            .file(FileSpec::new(&path, fixture("head", name)).at("pr:1"));
    }
    let mut job = 0;
    for at in ["main", "main~1"] {
        for ctx in [PLATFORM, CANVAS] {
            job += 1;
            let log = if ctx == CANVAS && at == "main" {
                canvas_log
            } else {
                CLEAN
            };
            sc = sc
                .status(
                    StatusSpec::sha(at, ctx, "success")
                        .target_url(format!("/{REPO}/actions/runs/40/jobs/{job}")),
                )
                .job_log(40, job, log);
        }
    }
    sc
}

fn shas(sim: &Sim) -> (String, String) {
    sim.with_state(|s| (s.resolve("main").unwrap(), s.pull(1).head_sha.clone()))
}

async fn mergeward(cwd: &Path, args: Vec<String>) -> Output {
    let cwd = cwd.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"))
            .env_clear()
            .env("GITEA_TOKEN", TOKEN)
            .env("MERGEWARD_MAX_RETRIES", "1")
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .args(&args)
            .current_dir(cwd)
            .output()
            .expect("spawn mergeward")
    })
    .await
    .expect("join")
}

async fn flips_between(sim: &Sim, cwd: &Path, base: &str, head: &str, extra: &[&str]) -> Output {
    let mut args: Vec<String> = [
        "gate",
        "flips",
        "--url",
        &sim.url(),
        "--repo",
        REPO,
        "--base",
        base,
        "--head",
        head,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    mergeward(cwd, args).await
}

async fn flips(sim: &Sim, cwd: &Path, extra: &[&str]) -> Output {
    let (base, head) = shas(sim);
    flips_between(sim, cwd, &base, &head, extra).await
}

/// Validates a `--format json` document against docs/schemas/gate-flips.schema.json.
fn assert_schema(doc: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas/gate-flips.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiple_flips_aggregated_one_bad_blocks() {
    let sim = Sim::start(repo("--- FAIL: TestCanvasRender (0.2s)\n", &["ci.yml"]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = flips(&sim, dir.path(), &["--format", "text", "--trees", "forge"]).await;
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("detected 2 continue-on-error"), "{out}");
    assert!(
        out.contains("flip of canvas-build (CI / canvas-build (push)) blocked"),
        "{out}"
    );
    assert!(out.contains("PR#656 / mc#664"), "{out}");
    assert!(
        out.contains("    | --- FAIL: TestCanvasRender (0.2s)"),
        "{out}"
    );
    assert!(
        out.contains("flip of platform (CI / Platform (Go) (push)) is safe — 2 recent run(s)"),
        "{out}"
    );
    assert!(
        out.contains(".gitea/workflows/ci.yml:13:3: error[coe-flip]"),
        "{out}"
    );
    assert!(
        out.contains("1/2 flip(s) failed pre-flip verification"),
        "{out}"
    );
    assert!(!out.contains(TOKEN));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_flips_in_diff_exits_zero_without_reading_runs() {
    let sim = Sim::start(repo(CLEAN, &["docs.yml"])).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = flips(&sim, dir.path(), &["--format", "json", "--trees", "forge"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["flips"]["detected"], 0);
    assert_schema(&v);
    assert!(requests_to(&sim, "GET", "/repos/{owner}/{repo}/commits/{ref}/statuses").is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_flips_clean_exits_zero() {
    let sim = Sim::start(repo(CLEAN, &["ci.yml", "docs.yml"]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = flips(&sim, dir.path(), &["--format", "json", "--trees", "forge"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], "1");
    assert_eq!(v["flips"]["detected"], 2);
    assert_eq!(v["flips"]["blocked"], 0);
    let results = v["flips"]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .all(|r| r["checked_commits"] == 2 && r["clean_runs"] == 2)
    );
    assert_eq!(v["summary"]["errors"], 0);
    assert_schema(&v);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_forces_exit_zero_even_with_bad_flip() {
    let sim = Sim::start(repo("::error::render crashed\n", &["ci.yml"]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = flips(
        &sim,
        dir.path(),
        &["--format", "github", "--trees", "forge", "--dry-run"],
    )
    .await;
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("::warning::[dry-run] 1/2 flip(s) WOULD fail"),
        "{out}"
    );
    assert!(
        out.contains("::error file=.gitea/workflows/ci.yml,line=13,col=3"),
        "{out}"
    );
    assert!(
        out.contains("::group::flip detail: canvas-build\n"),
        "{out}"
    );
    assert!(out.contains("  MASKED run "), "{out}");
    // The link is absolute (§4.7), on the forge's web root.
    assert!(
        out.contains(&format!(
            "(status=success): {}/{REPO}/actions/runs/40/jobs/",
            sim.url()
        )),
        "{out}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_forge_is_could_not_decide() {
    let sim = Sim::start(repo(CLEAN, &["ci.yml"])).await.unwrap();
    sim.inject(Fault::new(
        "/repos/{owner}/{repo}/commits/{ref}/statuses",
        common::queue::http(500, None),
    ));
    let dir = tempfile::tempdir().unwrap();
    let o = flips(&sim, dir.path(), &["--format", "json", "--trees", "forge"]).await;
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["flips"]["blocked"], 2);
    assert_eq!(v["summary"]["unverified"], 2);
    assert_schema(&v);
    sim.shutdown().await;
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// A git repository in `d` with two commits: ci.yml as in the base fixture, then as in the
/// head fixture (plus `src/deep/keep`). Returns `(base, head)`.
fn flip_repo(d: &Path) -> (String, String) {
    git(d, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(d.join(".gitea/workflows")).unwrap();
    std::fs::create_dir_all(d.join("src/deep")).unwrap();
    std::fs::write(d.join("src/deep/keep"), "x").unwrap();
    std::fs::write(d.join(".gitea/workflows/ci.yml"), fixture("base", "ci.yml")).unwrap();
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "base"]);
    let base = git(d, &["rev-parse", "HEAD"]);
    std::fs::write(d.join(".gitea/workflows/ci.yml"), fixture("head", "ci.yml")).unwrap();
    git(d, &["commit", "-q", "-am", "flip"]);
    (base, git(d, &["rev-parse", "HEAD"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trees_from_a_local_git_checkout() {
    // The forge has no files at all: the trees must come from git.
    let sim = Sim::start(repo("--- FAIL: TestCanvasRender\n", &[]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (base, head) = flip_repo(d);
    let o = flips_between(&sim, d, &base, &head, &["--format", "json"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["flips"]["detected"], 2);
    assert_eq!(v["flips"]["blocked"], 1);
    assert_schema(&v);
    // No contents API call: the trees came from git (auto picked it: both commits exist).
    assert!(requests_to(&sim, "GET", "/repos/{owner}/{repo}/contents/{filepath}").is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_trees_without_the_commit_say_how_to_fix_it() {
    let sim = Sim::start(repo(CLEAN, &[])).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    let o = flips(&sim, dir.path(), &["--trees", "git"]).await;
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("not a commit in this git repository"), "{out}");
    assert!(out.contains("fetch-depth: 0"), "{out}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_that_looks_like_an_option_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .env_clear()
        .args([
            "gate",
            "flips",
            "--base=--output=/tmp/x",
            "--head",
            "abc1234",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("is not a commit SHA or ref"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sarif_output_validates_and_points_at_the_flip() {
    let sim = Sim::start(repo("--- FAIL: TestX\n", &["ci.yml"]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = flips(&sim, dir.path(), &["--format", "sarif", "--trees", "forge"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/schemas/gate-lint.sarif-2.1.0-subset.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    assert!(v.is_valid(&doc));
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let errors: Vec<&Value> = results.iter().filter(|r| r["level"] == "error").collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["ruleId"], "coe-flip");
    let region = &errors[0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(13), Some(3))
    );
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let idx = errors[0]["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[idx]["id"], "coe-flip");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_appears_nowhere_even_when_the_forge_echoes_it() {
    let sim = Sim::start(repo(&format!("::error::auth {TOKEN}\n"), &["ci.yml"]))
        .await
        .unwrap();
    // Every log read answers 500 with the token echoed in the body (retried once).
    sim.inject(Fault::new(
        "/{owner}/{repo}/actions/runs/{run}/jobs/{job}/logs",
        common::queue::http(
            500,
            Some(&format!("{{\"message\":\"token {TOKEN} rejected\"}}")),
        ),
    ));
    let dir = tempfile::tempdir().unwrap();
    for format in ["text", "json", "github", "sarif"] {
        let o = flips(
            &sim,
            dir.path(),
            &[
                "-vv",
                "--format",
                format,
                "--trees",
                "forge",
                "--result-out",
                "env.json",
            ],
        )
        .await;
        let out = text(&o);
        // Every log unreadable (a server error): blocked, could not decide.
        assert_eq!(o.status.code(), Some(5), "{out}");
        assert!(out.contains("rejected"), "the error path ran: {out}");
        assert!(!out.contains(TOKEN), "{format}: {out}");
        let envelope = std::fs::read_to_string(dir.path().join("env.json")).unwrap();
        assert!(!envelope.contains(TOKEN));
        assert!(envelope.contains("\"gate flips\""), "{envelope}");
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_without_a_checkout_is_a_usage_error_that_says_what_to_do() {
    let sim = Sim::start(
        Scenario::github(REPO)
            .user("bot", TOKEN, Permission::Write)
            .branch("main", None, 2),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = flips_between(
        &sim,
        dir.path(),
        "abc1234",
        "def5678",
        &["--forge", "github", "--trees", "auto"],
    )
    .await;
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("fetch-depth: 0"), "{out}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_commit_on_the_forge_is_a_usage_error_not_an_empty_tree() {
    let sim = Sim::start(repo(CLEAN, &["ci.yml"])).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (base, _) = shas(&sim);
    let o = flips_between(
        &sim,
        dir.path(),
        &base,
        "0123456789abcdef0123456789abcdef01234567",
        &["--trees", "forge"],
    )
    .await;
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.contains("--head 0123456789abcdef"), "{out}");
    assert!(
        out.contains("not a commit of the repository on the forge"),
        "{out}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgejo_workflows_are_read_from_the_forge_too() {
    let mut sc = Scenario::forgejo(REPO)
        .user("bot", TOKEN, Permission::Write)
        .branch("main", None, 3)
        .pr(mergeward::sim::PullSpec::new(1).head("flip"));
    let path = ".forgejo/workflows/ci.yml";
    sc = sc
        .file(FileSpec::new(path, fixture("base", "ci.yml")))
        .file(FileSpec::new(path, fixture("head", "ci.yml")).at("pr:1"))
        // A stale .github copy (Forgejo would not run it) changes nothing.
        .file(FileSpec::new(
            ".github/workflows/docs.yml",
            fixture("base", "docs.yml"),
        ));
    let sim = Sim::start(sc).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = flips(
        &sim,
        dir.path(),
        &["--forge", "forgejo", "--format", "json", "--trees", "forge"],
    )
    .await;
    // No runs recorded: both flips are found and blocked as unverified.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["flips"]["detected"], 2);
    assert_eq!(v["flips"]["results"][0]["workflow_path"], path);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_trees_are_read_from_the_repository_root_in_a_subdirectory() {
    let sim = Sim::start(repo("--- FAIL: TestCanvasRender\n", &[]))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (base, head) = flip_repo(d);
    let o = flips_between(
        &sim,
        &d.join("src/deep"),
        &base,
        &head,
        &["--format", "json"],
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["flips"]["detected"], 2, "{v}");
    sim.shutdown().await;
}
