//! The staging builder (`queue::staging`) against real repositories made with the `git`
//! CLI: a bare "remote" with a base branch and PR heads pushed as `refs/pull/N/head`.
//! Skipped, with the reason printed, only when `git` is not installed; under `CI=true` it
//! must be.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use mergeward::error::Error;
use mergeward::exit::ExitCode;
use mergeward::forge::{Secret, Sha};
use mergeward::queue::batch::{Member, parse_staging_message};
use mergeward::queue::staging::git::{Git, GitAuth, GitSettings, Identity};
use mergeward::queue::staging::{
    LandRequest, Landed, LeftOutReason, PR_HEAD_REF, Staged, StagingRequest, build, build_async,
    land,
};

const TOKEN: &str = "tok-s3cr3t-0123456789";

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Whether `git` can run here; without it the test is skipped (never under CI).
fn have_git() -> bool {
    let ok = Command::new("git")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!ci(), "git is required under CI=true");
        eprintln!("skipped: `git --version` does not run here");
    }
    ok
}

fn settings() -> GitSettings {
    GitSettings {
        program: PathBuf::from("git"),
        timeout: Duration::from_secs(60),
        identity: Identity {
            name: "mergeward".into(),
            email: "mergeward@localhost".into(),
        },
        auth: GitAuth::Basic,
        extra_config: vec![],
    }
}

/// A repository world in a temp dir: `remote.git` (bare) and `work` (a clone to make
/// commits in).
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let w = World {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(w.home()).unwrap();
        w.git(w.dir.path(), &["init", "-q", "--bare", "remote.git"]);
        w.git(w.dir.path(), &["init", "-q", "-b", "main", "work"]);
        w.write("shared.txt", "one\ntwo\nthree\n");
        w.commit("base");
        w.git(
            &w.work(),
            &["push", "-q", &w.remote(), "HEAD:refs/heads/main"],
        );
        w
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn remote(&self) -> String {
        self.dir.path().join("remote.git").display().to_string()
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("HOME", self.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "dev")
            .env("GIT_AUTHOR_EMAIL", "dev@example.com")
            .env("GIT_COMMITTER_NAME", "dev")
            .env("GIT_COMMITTER_EMAIL", "dev@example.com")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `git` in the bare remote.
    fn remote_git(&self, args: &[&str]) -> String {
        self.git(&self.dir.path().join("remote.git"), args)
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.work().join(file), text).unwrap();
    }

    fn commit(&self, msg: &str) -> Sha {
        self.git(&self.work(), &["add", "-A"]);
        self.git(&self.work(), &["commit", "-q", "-m", msg]);
        self.head()
    }

    fn head(&self) -> Sha {
        Sha::parse(&self.git(&self.work(), &["rev-parse", "HEAD"])).unwrap()
    }

    /// The remote's main head.
    fn base(&self) -> Sha {
        Sha::parse(&self.remote_git(&["rev-parse", "refs/heads/main"])).unwrap()
    }

    /// A PR branched from `from` with `files` written, pushed as `refs/pull/{n}/head`.
    fn pr(&self, n: u64, from: &Sha, files: &[(&str, &str)]) -> Member {
        self.git(&self.work(), &["checkout", "-q", "--detach", from.as_str()]);
        for (f, t) in files {
            self.write(f, t);
        }
        let head = self.commit(&format!("PR {n}"));
        let spec = format!("HEAD:refs/pull/{n}/head");
        self.git(&self.work(), &["push", "-q", "-f", &self.remote(), &spec]);
        Member { pr: n, head }
    }

    /// Moves the remote's main to a new commit on top of it with `files` written.
    fn push_base(&self, files: &[(&str, &str)]) -> Sha {
        let base = self.base();
        self.git(&self.work(), &["checkout", "-q", "--detach", base.as_str()]);
        for (f, t) in files {
            self.write(f, t);
        }
        let head = self.commit("base moves");
        self.git(
            &self.work(),
            &["push", "-q", &self.remote(), "HEAD:refs/heads/main"],
        );
        head
    }

    fn request(&self, base: &Sha, members: &[Member]) -> StagingRequest {
        StagingRequest {
            remote: self.remote(),
            token: Some(Secret::new(TOKEN)),
            base_branch: "main".into(),
            base_head: base.clone(),
            members: members.to_vec(),
            pr_ref: PR_HEAD_REF.into(),
            staging_branch: "mergeward/staging/main".into(),
            batch_id: "b-42".into(),
            extra_trailers: Vec::new(),
        }
    }

    fn staging_branch(&self) -> Option<Sha> {
        let out = Command::new("git")
            .args([
                "rev-parse",
                "-q",
                "--verify",
                "refs/heads/mergeward/staging/main",
            ])
            .current_dir(self.dir.path().join("remote.git"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.home())
            .output()
            .unwrap();
        Sha::parse(String::from_utf8_lossy(&out.stdout).trim())
    }

    fn parent(&self, commit: &Sha, n: u32) -> Option<Sha> {
        let spec = format!("{commit}^{n}");
        let out = Command::new("git")
            .args(["rev-parse", "-q", "--verify", &spec])
            .current_dir(self.dir.path().join("remote.git"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.home())
            .output()
            .unwrap();
        Sha::parse(String::from_utf8_lossy(&out.stdout).trim())
    }
}

/// The staging commit's first-parent chain back to the base: the second parent of each
/// merge, oldest first.
fn merged_heads(w: &World, staging: &Sha, base: &Sha) -> Vec<Sha> {
    let mut heads = Vec::new();
    let mut at = staging.clone();
    while &at != base {
        heads.push(
            w.parent(&at, 2)
                .expect("every commit above the base is a merge"),
        );
        at = w.parent(&at, 1).expect("a first parent");
        assert!(heads.len() < 20, "the chain does not reach the base");
    }
    heads.reverse();
    heads
}

#[test]
fn the_staging_commit_merges_each_head_in_order_on_the_base() {
    if !have_git() {
        return;
    }
    let w = World::new();
    let base = w.base();
    let members = vec![
        w.pr(3, &base, &[("a.txt", "a\n")]),
        w.pr(1, &base, &[("b.txt", "b\n")]),
        w.pr(7, &base, &[("c.txt", "c\n")]),
    ];
    let Staged::Built {
        staging,
        included,
        left_out,
    } = build(&settings(), &w.request(&base, &members)).unwrap()
    else {
        panic!("expected a staging commit")
    };
    assert_eq!(included, members);
    assert!(left_out.is_empty(), "{left_out:?}");
    assert_eq!(w.staging_branch(), Some(staging.clone()), "pushed");
    let heads: Vec<Sha> = members.iter().map(|m| m.head.clone()).collect();
    assert_eq!(merged_heads(&w, &staging, &base), heads);
    // The message reads back as the same batch.
    let msg = w.remote_git(&["log", "-1", "--format=%B", staging.as_str()]);
    let (id, b, ms) = parse_staging_message(&msg).unwrap();
    assert_eq!((id.as_str(), &b, &ms), ("b-42", &base, &members));
    let who = w.remote_git(&[
        "log",
        "-1",
        "--format=%an <%ae> / %cn <%ce>",
        staging.as_str(),
    ]);
    assert_eq!(
        who,
        "mergeward <mergeward@localhost> / mergeward <mergeward@localhost>"
    );
    // The tree has every PR's file.
    let files = w.remote_git(&["ls-tree", "--name-only", staging.as_str()]);
    assert_eq!(files, "a.txt\nb.txt\nc.txt\nshared.txt");
    // A second build force-pushes over the first.
    let again = build(&settings(), &w.request(&base, &members[..1])).unwrap();
    let Staged::Built { staging: s2, .. } = again else {
        panic!("{again:?}")
    };
    assert_eq!(w.staging_branch(), Some(s2.clone()));
    assert_eq!(merged_heads(&w, &s2, &base), vec![members[0].head.clone()]);
}

#[test]
fn a_conflicting_pr_is_left_out_with_its_conflict_and_the_rest_goes_on() {
    if !have_git() {
        return;
    }
    let w = World::new();
    let base = w.base();
    let first = w.pr(1, &base, &[("shared.txt", "one\nTWO (1)\nthree\n")]);
    let clash = w.pr(2, &base, &[("shared.txt", "one\nTWO (2)\nthree\n")]);
    let third = w.pr(3, &base, &[("other.txt", "x\n")]);
    let got = build(
        &settings(),
        &w.request(&base, &[first.clone(), clash.clone(), third.clone()]),
    )
    .unwrap();
    let Staged::Built {
        staging,
        included,
        left_out,
    } = got
    else {
        panic!("{got:?}")
    };
    assert_eq!(included, vec![first.clone(), third.clone()]);
    assert_eq!(left_out.len(), 1);
    assert_eq!(left_out[0].member, clash);
    let LeftOutReason::Conflict { paths, detail } = &left_out[0].reason else {
        panic!("{left_out:?}")
    };
    assert_eq!(paths, &vec!["shared.txt".to_string()]);
    assert!(
        detail.contains("CONFLICT") && detail.contains("shared.txt"),
        "{detail}"
    );
    assert!(left_out[0].reason.holds());
    assert_eq!(
        merged_heads(&w, &staging, &base),
        vec![first.head, third.head]
    );
    let msg = w.remote_git(&["log", "-1", "--format=%B", staging.as_str()]);
    let (_, _, ms) = parse_staging_message(&msg).unwrap();
    assert_eq!(
        ms, included,
        "only the included members are in the trailers"
    );
}

#[test]
fn all_conflicting_means_no_staging_commit() {
    if !have_git() {
        return;
    }
    let w = World::new();
    let old = w.base();
    let a = w.pr(1, &old, &[("shared.txt", "one\nA\nthree\n")]);
    let b = w.pr(2, &old, &[("shared.txt", "one\nB\nthree\n")]);
    let base = w.push_base(&[("shared.txt", "one\nBASE\nthree\n")]);
    let got = build(&settings(), &w.request(&base, &[a.clone(), b.clone()])).unwrap();
    let Staged::NothingMerged { left_out } = got else {
        panic!("{got:?}")
    };
    let prs: Vec<u64> = left_out.iter().map(|l| l.member.pr).collect();
    assert_eq!(prs, vec![1, 2]);
    assert!(left_out.iter().all(|l| l.reason.holds()));
    assert_eq!(w.staging_branch(), None, "nothing pushed");
}

#[test]
fn moved_heads_and_a_moved_base_are_reported_not_merged() {
    if !have_git() {
        return;
    }
    let w = World::new();
    let base = w.base();
    let stale = w.pr(1, &base, &[("a.txt", "old\n")]);
    let now = w.pr(1, &base, &[("a.txt", "new\n")]);
    let fine = w.pr(2, &base, &[("b.txt", "b\n")]);
    let gone = Member {
        pr: 9,
        head: fine.head.clone(),
    };
    let got = build(
        &settings(),
        &w.request(&base, &[stale.clone(), fine.clone(), gone.clone()]),
    )
    .unwrap();
    let Staged::Built {
        included, left_out, ..
    } = got
    else {
        panic!("{got:?}")
    };
    assert_eq!(included, vec![fine]);
    assert_eq!(left_out.len(), 2);
    assert_eq!(left_out[0].member, stale);
    assert_eq!(
        left_out[0].reason,
        LeftOutReason::HeadMoved {
            now: Some(now.head.clone())
        }
    );
    assert_eq!(left_out[1].member, gone);
    assert_eq!(left_out[1].reason, LeftOutReason::HeadMoved { now: None });
    assert!(!left_out[0].reason.holds(), "a push is not a conflict");

    let moved = w.push_base(&[("base.txt", "moved\n")]);
    let got = build(&settings(), &w.request(&base, &[now])).unwrap();
    assert_eq!(got, Staged::BaseMoved { now: Some(moved) });
}

#[test]
fn a_pr_already_in_the_base_or_unrelated_is_left_out() {
    if !have_git() {
        return;
    }
    let w = World::new();
    let base = w.base();
    // PR 1's head is the base itself: nothing to merge.
    w.git(
        &w.work(),
        &[
            "push",
            "-q",
            &w.remote(),
            &format!("{base}:refs/pull/1/head"),
        ],
    );
    let contained = Member {
        pr: 1,
        head: base.clone(),
    };
    // PR 2 has no common history with the base.
    w.git(&w.work(), &["checkout", "-q", "--orphan", "lonely"]);
    w.git(&w.work(), &["rm", "-q", "-rf", "."]);
    w.write("z.txt", "z\n");
    let lonely = w.commit("unrelated");
    w.git(
        &w.work(),
        &["push", "-q", &w.remote(), "HEAD:refs/pull/2/head"],
    );
    let unrelated = Member {
        pr: 2,
        head: lonely,
    };
    let got = build(&settings(), &w.request(&base, &[contained, unrelated])).unwrap();
    let Staged::NothingMerged { left_out } = got else {
        panic!("{got:?}")
    };
    assert_eq!(left_out[0].reason, LeftOutReason::AlreadyMerged);
    assert_eq!(left_out[1].reason, LeftOutReason::Unrelated);
}

#[test]
fn the_token_is_a_header_in_the_environment_never_in_argv() {
    let s = settings();
    let home = tempfile::tempdir().unwrap();
    let token = Secret::new(TOKEN);
    let git = Git::new(&s, Some(&token), home.path());
    let inv = git.invocation(
        home.path(),
        &[
            "fetch",
            "https://git.example/o/r.git",
            "+refs/pull/1/head:refs/x",
        ],
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{TOKEN}"));
    for a in &inv.args {
        assert!(
            !a.contains(TOKEN) && !a.contains(&basic),
            "argv carries the token: {a}"
        );
    }
    for (k, v) in &inv.env {
        assert!(
            !v.contains(TOKEN) && !v.contains(&basic),
            "plain env {k} carries it"
        );
    }
    assert!(!format!("{inv:?}").contains(TOKEN) && !format!("{inv:?}").contains(&basic));
    // The header is one GIT_CONFIG entry, counted.
    let [(value_key, value)] = inv.secret_env.as_slice() else {
        panic!("{:?}", inv.secret_env)
    };
    assert_eq!(value.expose(), format!("Authorization: Basic {basic}"));
    let n = value_key.strip_prefix("GIT_CONFIG_VALUE_").unwrap();
    let env = |k: &str| {
        inv.env
            .iter()
            .find(|(e, _)| e == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        env(&format!("GIT_CONFIG_KEY_{n}")),
        Some("http.extraHeader")
    );
    let count: usize = env("GIT_CONFIG_COUNT").unwrap().parse().unwrap();
    assert_eq!(count, n.parse::<usize>().unwrap() + 1);
    // Isolation: no prompt, no system or user config, no hooks, no redirects.
    assert_eq!(env("GIT_TERMINAL_PROMPT"), Some("0"));
    assert_eq!(env("GIT_CONFIG_NOSYSTEM"), Some("1"));
    assert_eq!(env("HOME"), Some(home.path().to_str().unwrap()));
    let config: Vec<(&str, &str)> = (0..count)
        .filter_map(|i| {
            Some((
                env(&format!("GIT_CONFIG_KEY_{i}"))?,
                env(&format!("GIT_CONFIG_VALUE_{i}"))?,
            ))
        })
        .collect();
    assert!(
        config.contains(&("core.hooksPath", "/dev/null")),
        "{config:?}"
    );
    assert!(
        config.contains(&("http.followRedirects", "false")),
        "{config:?}"
    );
    // The other schemes.
    for (auth, want) in [
        (GitAuth::Token, format!("Authorization: token {TOKEN}")),
        (GitAuth::Bearer, format!("Authorization: Bearer {TOKEN}")),
    ] {
        let s = GitSettings { auth, ..settings() };
        let inv = Git::new(&s, Some(&token), home.path()).invocation(home.path(), &["ls-remote"]);
        assert_eq!(inv.secret_env[0].1.expose(), want);
    }
    // No token, no header.
    let inv = Git::new(&s, None, home.path()).invocation(home.path(), &["ls-remote"]);
    assert!(inv.secret_env.is_empty());
    assert!(!inv.env.iter().any(|(_, v)| v == "http.extraHeader"));
}

/// One HTTP request's head, answered 404.
fn serve_one_404(listener: std::net::TcpListener) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let _ = s
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        String::from_utf8_lossy(&head).to_string()
    })
}

#[test]
fn git_sends_the_header_over_http_and_errors_never_show_the_token() {
    if !have_git() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = serve_one_404(listener);
    let base = Sha::parse(&"a".repeat(40)).unwrap();
    let req = StagingRequest {
        remote: format!("http://127.0.0.1:{port}/o/r.git"),
        token: Some(Secret::new(TOKEN)),
        base_branch: "main".into(),
        base_head: base.clone(),
        members: vec![Member { pr: 1, head: base }],
        pr_ref: PR_HEAD_REF.into(),
        staging_branch: "mergeward/staging/main".into(),
        batch_id: "b-1".into(),
        extra_trailers: Vec::new(),
    };
    let err = build(&settings(), &req).unwrap_err();
    let request = server.join().unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{TOKEN}"));
    assert!(
        request.starts_with("GET /o/r.git/info/refs?service=git-upload-pack "),
        "{request}"
    );
    assert!(
        request
            .lines()
            .any(|l| l.eq_ignore_ascii_case(&format!("Authorization: Basic {basic}"))),
        "{request}"
    );
    let text = err.to_string();
    assert!(!text.contains(TOKEN) && !text.contains(&basic), "{text}");
    assert!(
        text.contains("git ls-remote") && text.contains(&format!("127.0.0.1:{port}")),
        "{text}"
    );
    assert_eq!(err.exit_code(), ExitCode::CouldNotDecide);
}

#[test]
fn an_unreachable_remote_is_a_clear_error() {
    if !have_git() {
        return;
    }
    let w = World::new();
    let base = w.base();
    let mut req = w.request(
        &base,
        &[Member {
            pr: 1,
            head: base.clone(),
        }],
    );
    req.remote = w
        .dir
        .path()
        .join("no-such-remote.git")
        .display()
        .to_string();
    let err = build(&settings(), &req).unwrap_err();
    assert!(matches!(err, Error::ForgeCtx { .. }), "{err:?}");
    assert_eq!(err.exit_code(), ExitCode::CouldNotDecide);
    let text = err.to_string();
    assert!(
        text.contains("staging commit of batch b-42") && text.contains("no-such-remote.git"),
        "{text}"
    );
    assert!(
        text.contains("hint:") && text.contains("reachable"),
        "{text}"
    );
    assert!(!text.contains(TOKEN), "{text}");
}

#[test]
fn a_missing_git_is_a_clear_error() {
    let w = World {
        dir: tempfile::tempdir().unwrap(),
    };
    let base = Sha::parse(&"b".repeat(40)).unwrap();
    let s = GitSettings {
        program: w.dir.path().join("no-git-here"),
        ..settings()
    };
    let err = build(
        &s,
        &w.request(
            &base,
            &[Member {
                pr: 1,
                head: base.clone(),
            }],
        ),
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Usage);
    let text = err.to_string();
    assert!(
        text.contains("no-git-here") && text.contains("install git"),
        "{text}"
    );
}

#[test]
fn a_git_that_hangs_is_stopped_at_the_timeout() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("git");
    std::fs::write(&fake, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = GitSettings {
        program: fake,
        timeout: Duration::from_millis(300),
        ..settings()
    };
    let w = World {
        dir: tempfile::tempdir().unwrap(),
    };
    let base = Sha::parse(&"c".repeat(40)).unwrap();
    let started = std::time::Instant::now();
    let err = build(
        &s,
        &w.request(
            &base,
            &[Member {
                pr: 1,
                head: base.clone(),
            }],
        ),
    )
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[test]
fn requests_that_would_do_harm_are_refused_before_git_runs() {
    let w = World {
        dir: tempfile::tempdir().unwrap(),
    };
    let base = Sha::parse(&"d".repeat(40)).unwrap();
    let one = [Member {
        pr: 1,
        head: base.clone(),
    }];
    let mut req = w.request(&base, &one);
    req.staging_branch = "main".into();
    let err = build(&settings(), &req).unwrap_err();
    assert!(err.to_string().contains("is the base branch"), "{err}");

    let mut req = w.request(&base, &one);
    req.remote = format!("https://bot:{TOKEN}@git.example/o/r.git");
    let err = build(&settings(), &req).unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Usage);
    assert!(!err.to_string().contains(TOKEN), "{err}");
    assert!(err.to_string().contains("credentials"), "{err}");

    let mut req = w.request(&base, &one);
    req.pr_ref = "refs/pull/head".into();
    assert!(
        build(&settings(), &req)
            .unwrap_err()
            .to_string()
            .contains("{n}")
    );

    let mut req = w.request(&base, &[one[0].clone(), one[0].clone()]);
    req.batch_id = "b".into();
    assert_eq!(
        build(&settings(), &req).unwrap_err().exit_code(),
        ExitCode::Internal
    );
}

#[test]
fn an_invalid_branch_name_is_a_usage_error() {
    if !have_git() {
        return;
    }
    let w = World::new();
    let base = w.base();
    let mut req = w.request(&base, &[]);
    req.staging_branch = "bad..name".into();
    let err = build(&settings(), &req).unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Usage);
    assert!(err.to_string().contains("bad..name"), "{err}");
}

#[tokio::test]
async fn build_async_runs_on_the_blocking_pool() {
    if !have_git() {
        return;
    }
    let w = World::new();
    let base = w.base();
    let m = w.pr(5, &base, &[("e.txt", "e\n")]);
    let got = build_async(settings(), w.request(&base, std::slice::from_ref(&m)))
        .await
        .unwrap();
    assert!(matches!(got, Staged::Built { ref included, .. } if included == &vec![m]));
}

fn land_request(w: &World, base: &Sha, staging: &Sha) -> LandRequest {
    // The members the staging commit claims, as the tick reads them: from its trailers.
    let msg = w.remote_git(&["log", "-1", "--format=%B", staging.as_str()]);
    let (_, _, members) = parse_staging_message(&msg).expect("a staging message");
    LandRequest {
        remote: w.remote(),
        token: Some(Secret::new(TOKEN)),
        base_branch: "main".into(),
        batch_base: base.clone(),
        staging_branch: "mergeward/staging/main".into(),
        staging: staging.clone(),
        batch_id: "b-42".into(),
        members,
    }
}

#[test]
fn a_staging_commit_that_is_not_the_base_with_its_prs_merged_is_never_landed() {
    if !have_git() {
        return;
    }
    let w = World::new();
    let base = w.base();
    let members = vec![
        w.pr(1, &base, &[("a.txt", "a\n")]),
        w.pr(2, &base, &[("b.txt", "b\n")]),
    ];
    let staging = built(&w, &base, &members);
    // Someone with write access amends the staging commit: same parents, same trailers,
    // one more file. CI may well be green on it; it was never reviewed.
    w.git(
        &w.work(),
        &[
            "fetch",
            "-q",
            &w.remote(),
            "refs/heads/mergeward/staging/main",
        ],
    );
    w.git(&w.work(), &["checkout", "-q", "--detach", "FETCH_HEAD"]);
    w.write("backdoor.txt", "evil\n");
    w.git(&w.work(), &["add", "-A"]);
    w.git(&w.work(), &["commit", "-q", "--amend", "--no-edit"]);
    let forged = w.head();
    w.git(
        &w.work(),
        &[
            "push",
            "-q",
            "-f",
            &w.remote(),
            "HEAD:refs/heads/mergeward/staging/main",
        ],
    );
    let got = land(&settings(), &land_request(&w, &base, &forged)).unwrap();
    assert!(
        matches!(&got, Landed::NotTheBatch { why } if why.contains("is not the base with #1, #2 merged")),
        "{got:?}"
    );
    assert_eq!(w.base(), base, "nothing landed");
    // Trailers claiming a PR the commit does not contain are refused too.
    let mut req = land_request(&w, &base, &forged);
    req.members.push(w.pr(3, &base, &[("c.txt", "c\n")]));
    let got = land(&settings(), &req).unwrap();
    assert!(
        matches!(&got, Landed::NotTheBatch { why } if why.contains("#3")),
        "{got:?}"
    );
    // The genuine commit still lands.
    w.git(
        &w.work(),
        &[
            "push",
            "-q",
            "-f",
            &w.remote(),
            &format!("{staging}:refs/heads/mergeward/staging/main"),
        ],
    );
    assert_eq!(
        land(&settings(), &land_request(&w, &base, &staging)).unwrap(),
        Landed::Landed
    );
}

fn built(w: &World, base: &Sha, members: &[Member]) -> Sha {
    match build(&settings(), &w.request(base, members)).unwrap() {
        Staged::Built { staging, .. } => staging,
        other => panic!("expected a staging commit: {other:?}"),
    }
}

#[test]
fn landing_fast_forwards_the_base_to_exactly_the_tested_commit() {
    if !have_git() {
        return;
    }
    let w = World::new();
    let base = w.base();
    let members = vec![
        w.pr(1, &base, &[("a.txt", "a\n")]),
        w.pr(2, &base, &[("b.txt", "b\n")]),
    ];
    let staging = built(&w, &base, &members);
    assert_eq!(
        land(&settings(), &land_request(&w, &base, &staging)).unwrap(),
        Landed::Landed
    );
    // The base is the tested commit itself: same SHA, so same tree, same history.
    assert_eq!(w.base(), staging);
    // Landing again is refused as "base moved" (it is the staging commit now): never twice.
    assert_eq!(
        land(&settings(), &land_request(&w, &base, &staging)).unwrap(),
        Landed::BaseMoved {
            now: Some(staging.clone())
        }
    );
}

#[test]
fn a_base_that_moved_or_a_rebuilt_staging_branch_is_not_landed() {
    if !have_git() {
        return;
    }
    let w = World::new();
    let base = w.base();
    let members = vec![w.pr(1, &base, &[("a.txt", "a\n")])];
    let staging = built(&w, &base, &members);
    // Someone pushed to the base while the batch was tested.
    let moved = w.push_base(&[("other.txt", "x\n")]);
    assert_eq!(
        land(&settings(), &land_request(&w, &base, &staging)).unwrap(),
        Landed::BaseMoved {
            now: Some(moved.clone())
        }
    );
    assert_eq!(w.base(), moved, "nothing pushed");
    // The staging branch was rebuilt since the tested commit: what was tested is gone.
    let w = World::new();
    let base = w.base();
    let m1 = w.pr(1, &base, &[("a.txt", "a\n")]);
    let m2 = w.pr(2, &base, &[("b.txt", "b\n")]);
    let tested = built(&w, &base, std::slice::from_ref(&m1));
    let rebuilt = built(&w, &base, &[m1, m2]);
    assert_eq!(
        land(&settings(), &land_request(&w, &base, &tested)).unwrap(),
        Landed::StagingMoved { now: Some(rebuilt) }
    );
    assert_eq!(w.base(), base, "nothing pushed");
}

#[test]
fn a_refused_push_is_an_error_that_names_the_protection_and_hides_the_token() {
    if !have_git() {
        return;
    }
    let w = World::new();
    let base = w.base();
    let members = vec![w.pr(1, &base, &[("a.txt", "a\n")])];
    let staging = built(&w, &base, &members);
    // A protected base: the remote's update hook refuses every update of main.
    let hooks = w.dir.path().join("remote.git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let hook = hooks.join("update");
    std::fs::write(
        &hook,
        "#!/bin/sh\n[ \"$1\" = refs/heads/main ] && { echo 'protected branch' >&2; exit 1; }\nexit 0\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let e = land(&settings(), &land_request(&w, &base, &staging)).unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(text.contains("push to the protected branch main"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    assert_eq!(w.base(), base, "nothing landed");
}
