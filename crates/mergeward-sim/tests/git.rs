//! Git mode against real `git` processes: clone and push over smart HTTP, branch protection
//! on push, the state synchronised after a push, simulated CI on the logical clock, merges
//! and updates made with git, `manually-merged`, the commit routes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use mergeward_sim::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn epoch() -> DateTime<Utc> {
    "2025-01-01T00:00:00Z".parse().unwrap()
}

fn gitea() -> Scenario {
    Scenario::gitea("acme/widgets")
        .git()
        .epoch(epoch())
        .user("bot", "bot-token", Permission::Write)
        .user("reader", "reader-token", Permission::Read)
}

fn github() -> Scenario {
    Scenario::github("acme/widgets").git().epoch(epoch()).user(
        "bot",
        "bot-token",
        Permission::Write,
    )
}

fn basic(token: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
    format!("Authorization: Basic {b64}")
}

/// Output of one git command.
struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// A git client with its own empty HOME, configuration given through the environment and
/// an optional `http.extraHeader`.
struct Client {
    dir: tempfile::TempDir,
    header: Option<String>,
}

impl Client {
    fn new(header: Option<String>) -> Client {
        Client {
            dir: tempfile::tempdir().unwrap(),
            header,
        }
    }
    fn bot() -> Client {
        Client::new(Some(basic("bot-token")))
    }
    fn work(&self) -> PathBuf {
        self.dir.path().join("w")
    }
    /// `git args` in the work tree (or the client's directory before the clone).
    async fn git(&self, args: &[&str]) -> Out {
        let work = self.work();
        let cwd = if work.exists() {
            work
        } else {
            self.dir.path().to_path_buf()
        };
        let home = self.dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut c = std::process::Command::new("git");
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_AUTHOR_NAME", "mergeward")
            .env("GIT_AUTHOR_EMAIL", "mergeward@localhost")
            .env("GIT_COMMITTER_NAME", "mergeward")
            .env("GIT_COMMITTER_EMAIL", "mergeward@localhost")
            .current_dir(cwd)
            .args(args);
        let mut config = vec![("credential.helper", String::new())];
        if let Some(h) = &self.header {
            config.push(("http.extraHeader", h.clone()));
        }
        c.env("GIT_CONFIG_COUNT", config.len().to_string());
        for (i, (k, v)) in config.iter().enumerate() {
            c.env(format!("GIT_CONFIG_KEY_{i}"), k);
            c.env(format!("GIT_CONFIG_VALUE_{i}"), v);
        }
        let out = tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap();
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        }
    }
    async fn ok(&self, args: &[&str]) -> String {
        let o = self.git(args).await;
        assert!(o.ok, "git {args:?} failed: {}", o.stderr);
        o.stdout
    }
    async fn clone(&self, sim: &Sim) {
        self.ok(&["clone", "--quiet", &sim.clone_url(), "w"]).await;
        self.ok(&[
            "fetch",
            "--quiet",
            "origin",
            "+refs/pull/*:refs/remotes/pull/*",
        ])
        .await;
    }
    /// Commit `path` = `content` on the current HEAD; returns the new sha.
    async fn commit(&self, path: &str, content: &str, msg: &str) -> String {
        let file = self.work().join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(file, content).unwrap();
        self.ok(&["add", path]).await;
        self.ok(&["commit", "--quiet", "-m", msg]).await;
        self.ok(&["rev-parse", "HEAD"]).await
    }
}

/// A bare-bones HTTP/1.1 request: (status, headers, body).
async fn http(
    sim: &Sim,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: Option<Value>,
) -> (u16, Vec<(String, String)>, String) {
    let host = sim.url().trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&host).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    if !body.is_empty() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// `git` in the simulator's bare repository.
fn bare(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .env("GIT_DIR", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn pushes(sim: &Sim) -> Vec<Mutation> {
    sim.mutations()
        .into_iter()
        .filter(|m| matches!(m, Mutation::Pushed { .. }))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_needs_a_token_and_has_the_scenario_content() {
    let sim = Sim::start(
        gitea()
            .pr(PullSpec::new(1))
            .pr(PullSpec::new(2).commits(2))
            .pr(PullSpec::new(3).fork("mallory/widgets").behind()),
    )
    .await
    .unwrap();
    let (main, pr1, pr2) = sim.with_state(|s| {
        (
            s.branch_head("main").unwrap(),
            s.pull(1).head_sha.clone(),
            s.pull(2).head_sha.clone(),
        )
    });
    assert_eq!(main.len(), 40);
    let c = Client::bot();
    c.clone(&sim).await;
    assert_eq!(c.ok(&["rev-parse", "origin/main"]).await, main);
    assert_eq!(c.ok(&["rev-parse", "origin/pr-1"]).await, pr1);
    assert_eq!(c.ok(&["rev-parse", "pull/1/head"]).await, pr1);
    assert_eq!(c.ok(&["rev-parse", "pull/2/head"]).await, pr2);
    // A fork's head is only under refs/pull; updating it moves that ref, no branch.
    let fork = sim.with_state(|s| s.pull(3).head_sha.clone());
    assert_eq!(c.ok(&["rev-parse", "pull/3/head"]).await, fork);
    let branches = sim.with_state(|s| s.branches.clone());
    let updated = sim.with_state(|s| s.do_update(3, "merge").unwrap());
    assert_eq!(sim.with_state(|s| s.branches.clone()), branches);
    c.ok(&[
        "fetch",
        "--quiet",
        "origin",
        "+refs/pull/*:refs/remotes/pull/*",
    ])
    .await;
    assert_eq!(c.ok(&["rev-parse", "pull/3/head"]).await, updated);
    assert_eq!(c.ok(&["rev-parse", "pull/3/head^1"]).await, fork);
    // Real history: three commits on main, each PR commit writes its own file.
    assert_eq!(c.ok(&["rev-list", "--count", "origin/main"]).await, "3");
    assert_eq!(
        c.ok(&["log", "-1", "--format=%an <%ae>|%cn <%ce>", "origin/main"])
            .await,
        "sim <sim@localhost>|sim <sim@localhost>"
    );
    assert_eq!(
        c.ok(&["diff", "--name-only", "origin/main", "pull/2/head"])
            .await,
        "pr-2/change-1.txt\npr-2/change-2.txt"
    );
    assert!(c.work().join("README.md").exists());
    // The state's commits are git's, with real parents and messages.
    let parents = c.ok(&["log", "-1", "--format=%P", &pr2]).await;
    sim.with_state(|s| {
        let commit = &s.commits[&pr2];
        assert_eq!(commit.parents.join(" "), parents);
        assert_eq!(commit.message, "pr-2: change 2");
        assert_eq!(s.pull(2).merge_base, main);
        assert_eq!(s.pull(1).mergeable, Some(true));
    });

    // Without credentials: git cannot clone, and the server asks for Basic credentials.
    let anonymous = Client::new(None);
    let o = anonymous
        .git(&["clone", "--quiet", &sim.clone_url(), "w"])
        .await;
    assert!(!o.ok);
    let (status, headers, _) = http(
        &sim,
        "GET",
        "/acme/widgets.git/info/refs?service=git-upload-pack",
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "www-authenticate" && v == "Basic realm=\"sim\"")
    );
    let (status, _, _) = http(
        &sim,
        "GET",
        "/acme/widgets.git/info/refs?service=git-upload-pack",
        Some("token wrong"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    // `token` and `Bearer` headers are accepted too; another repository is not there.
    for h in [
        "Authorization: token bot-token",
        "Authorization: Bearer bot-token",
    ] {
        let c = Client::new(Some(h.to_string()));
        assert!(c.ok(&["ls-remote", &sim.clone_url()]).await.contains(&main));
    }
    let url = format!("{}/acme/other.git", sim.url());
    assert!(!Client::bot().git(&["ls-remote", &url]).await.ok);
    // A reader may fetch but not push.
    let reader = Client::new(Some(basic("reader-token")));
    reader.clone(&sim).await;
    reader.ok(&["checkout", "--quiet", "-b", "x"]).await;
    reader.commit("x.txt", "x\n", "x").await;
    let o = reader.git(&["push", "origin", "x"]).await;
    assert!(!o.ok);
    assert!(o.stderr.contains("403"), "{}", o.stderr);
    assert!(pushes(&sim).is_empty());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_are_reproducible_and_the_repository_goes_with_the_sim() {
    let sc = gitea()
        .branch("release/1.0", Some("main~1"), 2)
        .pr(PullSpec::new(1).behind())
        .pr(PullSpec::new(2).file("docs/a.md", "a\n"));
    let heads = |s: &SimState| {
        (
            s.branches.clone(),
            s.pull(1).head_sha.clone(),
            s.pull(2).head_sha.clone(),
        )
    };
    let a = Sim::start(sc.clone()).await.unwrap();
    let b = Sim::start(sc).await.unwrap();
    assert_eq!(a.with_state(|s| heads(s)), b.with_state(|s| heads(s)));
    let dir = a.git_dir().unwrap();
    assert!(dir.join("HEAD").exists());
    assert_eq!(bare(&dir, &["symbolic-ref", "HEAD"]), "refs/heads/main");
    assert_eq!(
        bare(&dir, &["show", "refs/pull/2/head:docs/a.md"]),
        "a",
        "the PR's files are in its head commit"
    );
    a.shutdown().await;
    assert!(!dir.exists(), "the repository is removed with the sim");
    let dir = b.git_dir().unwrap();
    drop(b);
    for _ in 0..100 {
        if !dir.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!dir.exists());
    // Non-git scenarios have no repository and serve no git.
    let plain =
        Sim::start(Scenario::gitea("acme/widgets").user("bot", "bot-token", Permission::Write))
            .await
            .unwrap();
    assert!(plain.git_dir().is_none());
    assert!(
        !Client::bot()
            .git(&["ls-remote", &plain.clone_url()])
            .await
            .ok
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_updates_the_state_and_starts_ci_that_the_clock_finishes() {
    let sim = Sim::start(
        gitea()
            .pr(PullSpec::new(1))
            .ci(CiSpec::new(&["ci/build"]).pr_contexts(&["ci/pr"])),
    )
    .await
    .unwrap();
    assert!(
        sim.ci_runs().is_empty(),
        "no CI for the scenario's own commits"
    );
    let c = Client::bot();
    c.clone(&sim).await;
    c.ok(&["checkout", "--quiet", "-b", "feature/x"]).await;
    let sha = c.commit("src/x.rs", "fn x() {}\n", "add x").await;
    let t0 = sim.with_state(|s| s.now());
    c.ok(&["push", "--quiet", "origin", "feature/x"]).await;
    sim.with_state(|s| {
        assert_eq!(s.branch_head("feature/x").as_deref(), Some(sha.as_str()));
        let commit = &s.commits[&sha];
        assert_eq!(commit.message, "add x");
        assert_eq!(commit.author, "mergeward");
        assert_eq!(commit.email, "mergeward@localhost");
        assert_eq!(commit.parents, vec![s.branch_head("main").unwrap()]);
    });
    assert_eq!(
        pushes(&sim),
        vec![Mutation::Pushed {
            user: "bot".into(),
            refname: "refs/heads/feature/x".into(),
            old: ZERO_SHA.into(),
            new: sha.clone(),
        }]
    );
    let statuses = sim.with_state(|s| s.statuses_for(&sha));
    assert_eq!(statuses.len(), 1, "no PR has this head: push contexts only");
    assert_eq!(statuses[0].context, "ci/build");
    assert_eq!(statuses[0].state, "pending");
    assert_eq!(statuses[0].creator, "sim-ci");
    assert_eq!(
        statuses[0].target_url,
        format!("{}/acme/widgets/actions/runs/1", sim.url())
    );
    let runs = sim.ci_runs();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].branch.as_str(), runs[0].sha.as_str()),
        ("feature/x", sha.as_str())
    );
    let due = runs[0].due_at;
    assert!(due >= t0 + Duration::seconds(600));

    // Not before its due time, even through the API.
    sim.with_state(|s| {
        let left = due - s.now() - Duration::seconds(5);
        s.advance(left);
    });
    let (_, _, body) = http(
        &sim,
        "GET",
        &format!("/api/v1/repos/acme/widgets/commits/{sha}/status"),
        Some("token bot-token"),
        None,
    )
    .await;
    assert_eq!(json_of(&body)["state"], "pending");
    sim.advance(Duration::seconds(10));
    let latest = sim.with_state(|s| s.latest_statuses(&sha));
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].state, "success");
    assert_eq!(
        latest[0].created_at, due,
        "the result is dated at its due time"
    );
    assert!(sim.ci_runs()[0].finished);

    // A push to a PR's head branch moves the PR and runs the PR contexts too.
    c.ok(&["checkout", "--quiet", "-b", "pr-1", "origin/pr-1"])
        .await;
    let old = sim.with_state(|s| s.pull(1).head_sha.clone());
    let new = c.commit("pr-1/more.txt", "more\n", "more").await;
    c.ok(&["push", "--quiet", "origin", "pr-1"]).await;
    sim.with_state(|s| {
        assert_eq!(s.pull(1).head_sha, new);
        let mut contexts: Vec<String> = s
            .statuses_for(&new)
            .into_iter()
            .map(|x| x.context)
            .collect();
        contexts.sort();
        assert_eq!(contexts, ["ci/build", "ci/pr"]);
    });
    assert_eq!(
        bare(&sim.git_dir().unwrap(), &["rev-parse", "refs/pull/1/head"]),
        new
    );
    assert!(matches!(
        pushes(&sim).last(),
        Some(Mutation::Pushed { old: o, new: n, .. }) if *o == old && *n == new
    ));
    // refs/pull/* belong to the forge.
    let o = c.git(&["push", "origin", "HEAD:refs/pull/1/head"]).await;
    assert!(!o.ok);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ci_fails_commits_containing_a_breaking_pr_and_flakes_on_demand() {
    let sim = Sim::start(
        gitea()
            .pr(PullSpec::new(1).breaking())
            .pr(PullSpec::new(2))
            .ci(CiSpec::new(&["ci"]).duration_secs(60)),
    )
    .await
    .unwrap();
    let c = Client::bot();
    c.clone(&sim).await;
    // A batch of both PRs contains the breaking one: failure.
    c.ok(&["checkout", "--quiet", "-b", "staging", "origin/main"])
        .await;
    c.ok(&[
        "merge",
        "--quiet",
        "--no-edit",
        "pull/1/head",
        "pull/2/head",
    ])
    .await;
    let batch = c.ok(&["rev-parse", "HEAD"]).await;
    c.ok(&[
        "push",
        "--quiet",
        "origin",
        "staging:refs/heads/mergeward/staging/main",
    ])
    .await;
    // PR 2 alone passes.
    c.ok(&["checkout", "--quiet", "-b", "two", "origin/main"])
        .await;
    c.ok(&["merge", "--quiet", "--no-edit", "pull/2/head"])
        .await;
    let two = c.ok(&["rev-parse", "HEAD"]).await;
    assert_ne!(two, batch);
    c.ok(&["push", "--quiet", "origin", "two"]).await;
    sim.advance(Duration::seconds(60));
    let state_of = |sha: &str| sim.with_state(|s| s.latest_statuses(sha)[0].state.clone());
    assert_eq!(state_of(&batch), "failure");
    assert_eq!(state_of(&two), "success");
    sim.shutdown().await;

    // flake = 1.0: every run fails; the same seed gives the same verdicts.
    let sim = Sim::start(
        gitea()
            .pr(PullSpec::new(1))
            .ci(CiSpec::new(&["a", "b"]).duration_secs(1).flake(1.0, 42)),
    )
    .await
    .unwrap();
    let pushed = sim.with_state(|s| s.push_to_pr(1).unwrap());
    sim.advance(Duration::seconds(1));
    let latest = sim.with_state(|s| s.latest_statuses(&pushed));
    assert_eq!(latest.len(), 2);
    assert!(latest.iter().all(|s| s.state == "failure"), "{latest:?}");
    assert_eq!(sim.ci_runs().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_branches_refuse_pushes_unless_whitelisted_and_only_fast_forward() {
    // enable_push is off: nobody may push to main.
    let sim = Sim::start(gitea().protect(ProtectionSpec::new("main")))
        .await
        .unwrap();
    let before = sim.with_state(|s| s.branch_head("main").unwrap());
    let c = Client::bot();
    c.clone(&sim).await;
    c.commit("a.txt", "a\n", "direct").await;
    let o = c.git(&["push", "origin", "main"]).await;
    assert!(!o.ok);
    assert!(o.stderr.contains("protected branch main"), "{}", o.stderr);
    assert!(o.stderr.contains("[remote rejected]"), "{}", o.stderr);
    assert_eq!(sim.with_state(|s| s.branch_head("main").unwrap()), before);
    assert!(pushes(&sim).is_empty());
    // Unprotected branches take anything from a writer, force pushes included.
    c.ok(&[
        "push",
        "--quiet",
        "origin",
        "main:refs/heads/mergeward/staging/main",
    ])
    .await;
    c.ok(&["reset", "--quiet", "--hard", "origin/main"]).await;
    let other = c.commit("b.txt", "b\n", "other").await;
    c.ok(&[
        "push",
        "--quiet",
        "--force",
        "origin",
        "main:refs/heads/mergeward/staging/main",
    ])
    .await;
    assert_eq!(
        sim.with_state(|s| s.branch_head("mergeward/staging/main")),
        Some(other.clone())
    );
    assert_eq!(pushes(&sim).len(), 2);
    sim.shutdown().await;

    // A whitelist that does not name the pusher refuses too.
    let sim = Sim::start(gitea().protect(ProtectionSpec::new("main").push_whitelist(&["alice"])))
        .await
        .unwrap();
    let c = Client::bot();
    c.clone(&sim).await;
    c.commit("a.txt", "a\n", "direct").await;
    let o = c.git(&["push", "origin", "main"]).await;
    assert!(
        o.stderr.contains("bot is not allowed to push"),
        "{}",
        o.stderr
    );
    sim.shutdown().await;

    // Whitelisted: fast-forwards pass, rewrites do not (git's own lease still applies).
    let sim = Sim::start(gitea().protect(ProtectionSpec::new("main").push_whitelist(&["bot"])))
        .await
        .unwrap();
    let c = Client::bot();
    c.clone(&sim).await;
    let base = c.ok(&["rev-parse", "HEAD"]).await;
    let ff = c.commit("a.txt", "a\n", "fast-forward").await;
    c.ok(&["push", "--quiet", "origin", "main"]).await;
    assert_eq!(sim.with_state(|s| s.branch_head("main")), Some(ff.clone()));
    c.ok(&["reset", "--quiet", "--hard", &base]).await;
    c.commit("b.txt", "b\n", "rewrite").await;
    let o = c.git(&["push", "--force", "origin", "main"]).await;
    assert!(!o.ok);
    assert!(o.stderr.contains("non-fast-forward"), "{}", o.stderr);
    let stale = format!("--force-with-lease=main:{base}");
    let o = c.git(&["push", &stale, "origin", "main"]).await;
    assert!(!o.ok, "the lease names a stale head");
    assert_eq!(sim.with_state(|s| s.branch_head("main")), Some(ff));
    let o = c.git(&["push", "origin", ":main"]).await;
    assert!(!o.ok, "a protected branch cannot be deleted");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_push_of_a_pr_head_into_its_base_marks_it_merged() {
    let sim = Sim::start(
        github()
            .user("admin", "admin-token", Permission::Admin)
            .protect(ProtectionSpec::new("main").push_bypass(&["bot"]))
            .pr(PullSpec::new(1))
            .pr(PullSpec::new(2).file("pr-1/change-1.txt", "other\n")),
    )
    .await
    .unwrap();
    // enforce_admins (default): an admin may not push either.
    let admin = Client::new(Some(basic("admin-token")));
    admin.clone(&sim).await;
    let o = admin
        .git(&["push", "origin", "pull/1/head:refs/heads/main"])
        .await;
    assert!(!o.ok);
    assert!(o.stderr.contains("protected branch main"), "{}", o.stderr);

    let head = sim.with_state(|s| s.pull(1).head_sha.clone());
    sim.take_mutations();
    let c = Client::bot();
    c.clone(&sim).await;
    c.ok(&["push", "--quiet", "origin", "pull/1/head:refs/heads/main"])
        .await;
    sim.with_state(|s| {
        let p = s.pull(1);
        assert!(p.merged);
        assert_eq!(p.state, "closed");
        assert_eq!(p.merged_by.as_deref(), Some("bot"));
        assert_eq!(p.merge_commit_sha.as_deref(), Some(head.as_str()));
        assert!(!s.pull(2).merged);
        // PR 2 writes PR 1's file: it conflicts with the new base.
        assert_eq!(s.pull(2).mergeable, Some(false));
    });
    let muts = sim.mutations();
    assert_eq!(muts.len(), 2, "{muts:?}");
    assert!(matches!(&muts[0], Mutation::Pushed { refname, .. } if refname == "refs/heads/main"));
    assert_eq!(
        muts[1],
        Mutation::Merged {
            pr: 1,
            head_sha: head.clone(),
            merge_sha: head.clone(),
            method: "push".into(),
            force: false,
        }
    );
    let (status, _, body) = http(
        &sim,
        "GET",
        "/repos/acme/widgets/pulls/1",
        Some("token bot-token"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let pr = json_of(&body);
    assert_eq!(pr["merged"], true);
    assert_eq!(pr["base"]["repo"]["clone_url"], sim.clone_url());
    sim.shutdown().await;

    // Gitea does not: the bot marks the PR with `manually-merged`.
    let sim = Sim::start(
        gitea()
            .protect(ProtectionSpec::new("main").enable_push())
            .pr(PullSpec::new(1)),
    )
    .await
    .unwrap();
    let c = Client::bot();
    c.clone(&sim).await;
    c.ok(&["push", "--quiet", "origin", "pull/1/head:refs/heads/main"])
        .await;
    assert!(!sim.with_state(|s| s.pull(1).merged));
    sim.shutdown().await;
}

async fn merge_manually(sim: &Sim, pr: u64, body: Value) -> u16 {
    http(
        sim,
        "POST",
        &format!("/api/v1/repos/acme/widgets/pulls/{pr}/merge"),
        Some("token bot-token"),
        Some(body),
    )
    .await
    .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manually_merged_records_a_landed_pr_and_refuses_wrong_commits() {
    let sim = Sim::start(
        gitea()
            .protect(ProtectionSpec::new("main").push_whitelist(&["bot"]))
            .pr(PullSpec::new(1))
            .pr(PullSpec::new(2))
            .ci(CiSpec::new(&["ci"])),
    )
    .await
    .unwrap();
    let (old_main, head1) =
        sim.with_state(|s| (s.branch_head("main").unwrap(), s.pull(1).head_sha.clone()));
    // Not landed yet: the head is not on main.
    assert_eq!(
        merge_manually(
            &sim,
            1,
            json!({"Do": "manually-merged", "MergeCommitID": head1})
        )
        .await,
        409
    );
    // Land a batch of PR 1 and PR 2 by a push, as batch mode does.
    let c = Client::bot();
    c.clone(&sim).await;
    c.ok(&[
        "merge",
        "--quiet",
        "--no-edit",
        "pull/1/head",
        "pull/2/head",
    ])
    .await;
    let landed = c.ok(&["rev-parse", "HEAD"]).await;
    c.ok(&["push", "--quiet", "origin", "main"]).await;
    assert_eq!(
        sim.with_state(|s| s.branch_head("main")),
        Some(landed.clone())
    );
    let runs = sim.ci_runs().len();
    sim.take_mutations();

    for bad in [
        json!({"Do": "manually-merged", "MergeCommitID": "0123456789abcdef0123456789abcdef01234567"}),
        json!({"Do": "manually-merged", "MergeCommitID": &landed[..12]}),
        json!({"Do": "manually-merged"}),
        // On main, but PR 1's head is not in it.
        json!({"Do": "manually-merged", "MergeCommitID": old_main}),
    ] {
        assert_eq!(merge_manually(&sim, 1, bad.clone()).await, 409, "{bad}");
    }
    assert!(sim.mutations().is_empty());
    assert_eq!(
        merge_manually(
            &sim,
            1,
            json!({"Do": "manually-merged", "MergeCommitID": landed})
        )
        .await,
        200
    );
    // snake_case keys (Gitea 1.26) work as well.
    assert_eq!(
        merge_manually(
            &sim,
            2,
            json!({"do": "manually-merged", "merge_commit_id": landed})
        )
        .await,
        200
    );
    sim.with_state(|s| {
        for n in [1, 2] {
            let p = s.pull(n);
            assert!(p.merged && p.state == "closed");
            assert_eq!(p.merged_by.as_deref(), Some("bot"));
            assert_eq!(p.merge_commit_sha.as_deref(), Some(landed.as_str()));
        }
        assert_eq!(s.branch_head("main"), Some(landed.clone()), "no new commit");
    });
    assert_eq!(sim.ci_runs().len(), runs, "no CI");
    assert_eq!(
        sim.mutations(),
        vec![
            Mutation::Merged {
                pr: 1,
                head_sha: head1,
                merge_sha: landed.clone(),
                method: "manually-merged".into(),
                force: false,
            },
            Mutation::Merged {
                pr: 2,
                head_sha: sim.with_state(|s| s.pull(2).head_sha.clone()),
                merge_sha: landed.clone(),
                method: "manually-merged".into(),
                force: false,
            },
        ]
    );
    // Already merged: 405.
    assert_eq!(
        merge_manually(
            &sim,
            1,
            json!({"Do": "manually-merged", "MergeCommitID": landed})
        )
        .await,
        405
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manually_merged_works_on_the_synthetic_graph_and_needs_merge_permission() {
    let sim = Sim::start(
        Scenario::gitea("acme/widgets")
            .user("bot", "bot-token", Permission::Write)
            .user("reader", "reader-token", Permission::Read)
            .pr(PullSpec::new(1))
            .pr(PullSpec::new(2)),
    )
    .await
    .unwrap();
    let head = sim.with_state(|s| {
        let head = s.pull(1).head_sha.clone();
        let main = s.branch_head("main").unwrap();
        let merge = s.add_commit(&[&main, &head]);
        s.set_branch_head("main", &merge);
        merge
    });
    let (status, _, _) = http(
        &sim,
        "POST",
        "/api/v1/repos/acme/widgets/pulls/1/merge",
        Some("token reader-token"),
        Some(json!({"Do": "manually-merged", "MergeCommitID": head})),
    )
    .await;
    assert_eq!(status, 405, "needs the merge permission");
    let pr2 = sim.with_state(|s| s.pull(2).head_sha.clone());
    assert_eq!(
        merge_manually(
            &sim,
            2,
            json!({"Do": "manually-merged", "MergeCommitID": pr2})
        )
        .await,
        409,
        "PR 2's head is not on main"
    );
    assert_eq!(
        merge_manually(
            &sim,
            1,
            json!({"Do": "manually-merged", "MergeCommitID": head})
        )
        .await,
        200
    );
    assert!(sim.with_state(|s| s.pull(1).merged));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merge_api_makes_real_merge_commits_and_mergeability_comes_from_git() {
    for dialect in [Dialect::Gitea, Dialect::GitHub] {
        let (sc, path) = match dialect {
            Dialect::Gitea => (gitea(), "/api/v1/repos/acme/widgets/pulls"),
            Dialect::GitHub => (github(), "/repos/acme/widgets/pulls"),
        };
        let sim = Sim::start(
            sc.pr(PullSpec::new(1).file("shared.txt", "one\n"))
                .pr(PullSpec::new(2).file("shared.txt", "two\n"))
                .pr(PullSpec::new(3))
                .ci(CiSpec::new(&["ci"])),
        )
        .await
        .unwrap();
        let (base, head) =
            sim.with_state(|s| (s.branch_head("main").unwrap(), s.pull(1).head_sha.clone()));
        assert!(sim.with_state(|s| (1..=3).all(|n| s.pull(n).mergeable == Some(true))));
        let (method, body) = match dialect {
            Dialect::Gitea => ("POST", json!({"Do": "merge"})),
            Dialect::GitHub => ("PUT", json!({"merge_method": "merge"})),
        };
        let (status, _, resp) = http(
            &sim,
            method,
            &format!("{path}/1/merge"),
            Some("token bot-token"),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 200, "{resp}");
        let merge = sim.with_state(|s| s.branch_head("main").unwrap());
        let dir = sim.git_dir().unwrap();
        assert_eq!(bare(&dir, &["rev-parse", "refs/heads/main"]), merge);
        assert_eq!(
            bare(&dir, &["log", "-1", "--format=%P", &merge]),
            format!("{base} {head}")
        );
        assert_eq!(bare(&dir, &["show", &format!("{merge}:shared.txt")]), "one");
        sim.with_state(|s| {
            assert_eq!(s.commits[&merge].parents, vec![base.clone(), head.clone()]);
            assert_eq!(s.pull(1).merge_commit_sha.as_deref(), Some(merge.as_str()));
            // PR 2 now conflicts with main; PR 3 does not.
            assert_eq!(s.pull(2).mergeable, Some(false));
            assert_eq!(s.pull(3).mergeable, Some(true));
            // The merge is a push to main: CI runs on it.
            assert_eq!(s.statuses_for(&merge)[0].state, "pending");
        });
        let c = Client::bot();
        c.clone(&sim).await;
        assert_eq!(c.ok(&["rev-parse", "origin/main"]).await, merge);
        let (status, _, _) = http(
            &sim,
            method,
            &format!("{path}/2/merge"),
            Some("token bot-token"),
            Some(body),
        )
        .await;
        assert_eq!(status, 405, "a conflicting PR is not mergeable");
        // Squash: one parent, the merged tree.
        let squash = match dialect {
            Dialect::Gitea => json!({"Do": "squash"}),
            Dialect::GitHub => json!({"merge_method": "squash"}),
        };
        let (status, _, _) = http(
            &sim,
            method,
            &format!("{path}/3/merge"),
            Some("token bot-token"),
            Some(squash),
        )
        .await;
        assert_eq!(status, 200);
        let squashed = sim.with_state(|s| s.branch_head("main").unwrap());
        assert_eq!(bare(&dir, &["log", "-1", "--format=%P", &squashed]), merge);
        assert_eq!(
            bare(&dir, &["show", &format!("{squashed}:pr-3/change-1.txt")]),
            "pr-3: change 1"
        );
        sim.shutdown().await;
    }
}

/// A current-thread runtime: API requests that run git are served inline.
#[tokio::test]
async fn the_update_api_merges_the_base_with_git_and_refuses_real_conflicts() {
    for dialect in [Dialect::Gitea, Dialect::GitHub] {
        let (sc, method, path, conflict_status) = match dialect {
            Dialect::Gitea => (
                gitea(),
                "POST",
                "/api/v1/repos/acme/widgets/pulls/{n}/update",
                409,
            ),
            Dialect::GitHub => (
                github(),
                "PUT",
                "/repos/acme/widgets/pulls/{n}/update-branch",
                422,
            ),
        };
        // main's last commit writes main/change-3.txt; PR 2 writes it too, differently.
        let sim = Sim::start(
            sc.pr(PullSpec::new(1).behind()).pr(PullSpec::new(2)
                .behind()
                .file("main/change-3.txt", "mine\n")),
        )
        .await
        .unwrap();
        assert!(sim.with_state(|s| s.pull(1).mergeable == Some(true)));
        assert!(sim.with_state(|s| s.pull(2).mergeable == Some(false)));
        let url = |n: u64| path.replace("{n}", &n.to_string());
        let (status, _, body) = http(&sim, method, &url(2), Some("token bot-token"), None).await;
        assert_eq!(status, conflict_status, "{body}");
        let (old, base) =
            sim.with_state(|s| (s.pull(1).head_sha.clone(), s.branch_head("main").unwrap()));
        let (status, _, body) = http(&sim, method, &url(1), Some("token bot-token"), None).await;
        assert!(status == 200 || status == 202, "{status} {body}");
        let new = sim.with_state(|s| s.pull(1).head_sha.clone());
        let dir = sim.git_dir().unwrap();
        assert_eq!(
            bare(&dir, &["log", "-1", "--format=%P", &new]),
            format!("{old} {base}")
        );
        assert_eq!(bare(&dir, &["rev-parse", "refs/heads/pr-1"]), new);
        assert_eq!(bare(&dir, &["rev-parse", "refs/pull/1/head"]), new);
        assert!(!sim.with_state(|s| s.is_behind(1)));
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_commit_is_served_in_both_dialects() {
    for (sc, git) in [
        (gitea(), true),
        (
            Scenario::gitea("acme/widgets").user("bot", "bot-token", Permission::Write),
            false,
        ),
    ] {
        let sim = Sim::start(sc.pr(PullSpec::new(1))).await.unwrap();
        let (head, parent) = sim.with_state(|s| {
            let p = s.pull(1);
            (
                p.head_sha.clone(),
                s.commits[&p.head_sha].parents[0].clone(),
            )
        });
        let (status, _, body) = http(
            &sim,
            "GET",
            &format!("/api/v1/repos/acme/widgets/git/commits/{head}"),
            Some("token bot-token"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let v = json_of(&body);
        assert_eq!(v["sha"], head.as_str());
        assert_eq!(v["commit"]["message"], "pr-1: change 1");
        assert_eq!(v["commit"]["author"]["name"], "sim");
        let email = if git {
            "sim@localhost"
        } else {
            "sim@noreply.example.com"
        };
        assert_eq!(v["commit"]["author"]["email"], email);
        assert!(v["commit"]["committer"]["date"].is_string());
        assert_eq!(v["parents"][0]["sha"], parent.as_str());
        assert_eq!(
            v["html_url"],
            format!("{}/acme/widgets/commit/{head}", sim.url())
        );
        assert_eq!(
            v["url"],
            format!("{}/api/v1/repos/acme/widgets/git/commits/{head}", sim.url())
        );
        let (status, _, _) = http(
            &sim,
            "GET",
            &format!("/api/v1/repos/acme/widgets/git/commits/{}", "f".repeat(40)),
            Some("token bot-token"),
            None,
        )
        .await;
        assert_eq!(status, 404);
        sim.shutdown().await;
    }
    let sim = Sim::start(github().pr(PullSpec::new(1))).await.unwrap();
    let head = sim.with_state(|s| s.pull(1).head_sha.clone());
    let (status, _, body) = http(
        &sim,
        "GET",
        &format!("/repos/acme/widgets/commits/{head}"),
        Some("token bot-token"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let v = json_of(&body);
    assert_eq!(v["sha"], head.as_str());
    assert_eq!(v["commit"]["committer"]["name"], "sim");
    assert_eq!(v["parents"].as_array().unwrap().len(), 1);
    let (status, _, _) = http(
        &sim,
        "GET",
        &format!("/repos/acme/widgets/commits/{}", "f".repeat(40)),
        Some("token bot-token"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    sim.shutdown().await;
}

#[test]
fn scenario_json_knows_git_ci_files_and_push_rules() {
    let sc = Scenario::from_json(
        r#"{"forge": "gitea", "repo": "acme/widgets", "git": true, "epoch": "2025-01-01T00:00:00Z",
            "ci": {"push_contexts": ["ci/build"], "pr_contexts": ["ci/pr"], "duration_secs": 30, "flake": 0.1, "seed": 3},
            "protections": [{"branch": "main", "enable_push": true, "push_whitelist": ["bot"]}],
            "pulls": [{"number": 1, "files": {"a.txt": "a\n"}, "breaking": true}]}"#,
    )
    .unwrap();
    assert!(sc.git);
    let ci = sc.ci.clone().unwrap();
    assert_eq!(
        (ci.duration_secs, ci.flake, ci.seed, ci.on_setup),
        (30, 0.1, 3, false)
    );
    assert_eq!(sc.pulls[0].files["a.txt"], "a\n");
    assert!(sc.pulls[0].breaking);
    assert_eq!(
        sc.protections[0].push_whitelist,
        Some(vec!["bot".to_string()])
    );
    let back = Scenario::from_json(&serde_json::to_string(&sc).unwrap()).unwrap();
    assert_eq!(back, sc);
    // Non-git scenarios serialise as before (no new keys).
    let plain = serde_json::to_value(Scenario::gitea("acme/widgets").pr(PullSpec::new(1))).unwrap();
    assert!(plain.get("git").is_none() && plain.get("ci").is_none());
    assert!(plain["pulls"][0].get("files").is_none());
    assert!(Scenario::from_json(r#"{"repo": "a/b", "ci": {"bogus": 1}}"#).is_err());
    // Files need git mode; `conflict` is git's business in git mode; flake is a probability.
    let err = Scenario::gitea("a/b")
        .pr(PullSpec::new(1).file("x", "y"))
        .validate();
    assert!(err.unwrap_err().to_string().contains("git mode"));
    let err = Scenario::gitea("a/b")
        .git()
        .pr(PullSpec::new(1).conflict())
        .validate();
    assert!(err.unwrap_err().to_string().contains("PullSpec::file"));
    let err = Scenario::gitea("a/b")
        .ci(CiSpec::new(&["x"]).flake(1.5, 0))
        .validate();
    assert!(err.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ci_on_setup_and_helper_pushes() {
    let sim = Sim::start(
        gitea()
            .pr(PullSpec::new(1))
            .ci(CiSpec::new(&["ci"]).duration_secs(10).on_setup()),
    )
    .await
    .unwrap();
    // main and pr-1: one run each, the PR head with no PR contexts configured.
    let runs = sim.ci_runs();
    let mut branches: Vec<&str> = runs.iter().map(|r| r.branch.as_str()).collect();
    branches.sort();
    assert_eq!(branches, ["main", "pr-1"]);
    // A helper push is a push too (git refs and CI follow).
    let new = sim.with_state(|s| s.push_commit("main").unwrap());
    assert_eq!(
        bare(&sim.git_dir().unwrap(), &["rev-parse", "refs/heads/main"]),
        new
    );
    assert_eq!(sim.ci_runs().len(), 3);
    sim.advance(Duration::seconds(10));
    assert!(sim.ci_runs().iter().all(|r| r.finished));
    assert_eq!(
        sim.with_state(|s| s.latest_statuses(&new)[0].state.clone()),
        "success"
    );
}

/// A push without git: a gzip'd receive-pack request that deletes a branch (no pack needed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_receive_pack_request_is_understood() {
    let sim = Sim::start(gitea().branch("old", None, 1)).await.unwrap();
    let old = sim.with_state(|s| s.branch_head("old").unwrap());
    let line = format!("{old} {ZERO_SHA} refs/heads/old\0report-status delete-refs\n");
    let plain = format!("{:04x}{line}0000", line.len() + 4);
    let gz = {
        let mut c = std::process::Command::new("gzip")
            .arg("-c")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        c.stdin.take().unwrap().write_all(plain.as_bytes()).unwrap();
        c.wait_with_output().unwrap().stdout
    };
    let host = sim.url().trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /acme/widgets.git/git-receive-pack HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/x-git-receive-pack-request\r\nContent-Encoding: gzip\r\n\
         {}\r\nContent-Length: {}\r\n\r\n",
        basic("bot-token"),
        gz.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&gz).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("ok refs/heads/old"), "{raw}");
    assert_eq!(sim.with_state(|s| s.branch_head("old")), None);
    assert_eq!(
        pushes(&sim),
        vec![Mutation::Pushed {
            user: "bot".into(),
            refname: "refs/heads/old".into(),
            old,
            new: ZERO_SHA.into(),
        }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_protection_lets_admins_push_only_without_enforce_admins() {
    let sim = Sim::start(
        github()
            .user("admin", "admin-token", Permission::Admin)
            .protect(ProtectionSpec::new("main").admins_bypass())
            .pr(PullSpec::new(1)),
    )
    .await
    .unwrap();
    let bot = Client::bot();
    bot.clone(&sim).await;
    let o = bot
        .git(&["push", "origin", "pull/1/head:refs/heads/main"])
        .await;
    assert!(!o.ok, "a writer without bypass may not push");
    assert!(
        o.stderr.contains("bot is not allowed to push"),
        "{}",
        o.stderr
    );
    let admin = Client::new(Some(basic("admin-token")));
    admin.clone(&sim).await;
    admin
        .ok(&["push", "--quiet", "origin", "pull/1/head:refs/heads/main"])
        .await;
    sim.with_state(|s| {
        assert!(s.pull(1).merged);
        assert_eq!(s.pull(1).merged_by.as_deref(), Some("admin"));
    });
}
