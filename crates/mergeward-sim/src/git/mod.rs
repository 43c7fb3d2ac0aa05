//! Git mode: the bare repository behind a scenario built with [`crate::Scenario::git`].
//!
//! [`GitRepo`] owns a temporary directory (removed when the last handle is dropped, i.e. with
//! the [`crate::Sim`]) holding `repos/<owner>/<name>.git`, and runs the `git` found on `PATH`
//! in an environment of its own: no system or global configuration, an empty `HOME`, `LC_ALL=C`,
//! no prompts. Commits are made with plumbing (`hash-object`, `read-tree`, `update-index`,
//! `write-tree`, `commit-tree`) and dated from the logical clock, so a scenario with a fixed
//! epoch has the same SHAs on every run. `http.rs` serves the repository over smart HTTP.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeZone, Utc};

pub(crate) mod http;

/// Git's all-zero object id: the "old" side of a created ref, the "new" side of a deleted one.
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// The committer of every commit the simulator makes.
const SIM_NAME: &str = "sim";
const SIM_EMAIL: &str = "sim@localhost";

/// Branch protection for pushes, decided per ref by the server from the receive-pack command
/// list (see `http.rs`) and enforced here, where the new objects are known.
const PRE_RECEIVE: &str = r#"#!/bin/sh
# mergeward-sim: branch protection. The simulator lists, per push, the refs the pusher may
# not update (SIM_DENIED_REFS) and the protected refs they may only fast-forward
# (SIM_PROTECTED_REFS), separated by spaces.
zero=0000000000000000000000000000000000000000
status=0
while read old new ref; do
  branch=${ref#refs/heads/}
  case " $SIM_DENIED_REFS " in
    *" $ref "*)
      echo "error: protected branch $branch: $SIM_PUSHER is not allowed to push to it" >&2
      status=1
      continue;;
  esac
  case " $SIM_PROTECTED_REFS " in
    *" $ref "*)
      if [ "$new" = "$zero" ]; then
        echo "error: protected branch $branch cannot be deleted" >&2
        status=1
      elif [ "$old" != "$zero" ] && ! git merge-base --is-ancestor "$old" "$new"; then
        echo "error: protected branch $branch: non-fast-forward push refused" >&2
        status=1
      fi;;
  esac
done
exit $status
"#;

/// Running git failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GitError {
    #[error("cannot run git: {0}")]
    Io(#[from] std::io::Error),
    #[error("git {args} failed: {stderr}")]
    Failed { args: String, stderr: String },
}

/// What one git command printed.
#[derive(Debug)]
pub(crate) struct GitOut {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl GitOut {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_string()
    }
}

/// A commit read back from the repository (`git log`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LoggedCommit {
    pub sha: String,
    pub parents: Vec<String>,
    pub author: String,
    pub author_email: String,
    pub committer: String,
    pub committer_email: String,
    pub date: DateTime<Utc>,
    pub message: String,
}

/// What `git http-backend` answered: CGI status, headers and body.
#[derive(Debug)]
pub(crate) struct CgiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

struct Inner {
    /// Removed on drop.
    _dir: tempfile::TempDir,
    /// `GIT_PROJECT_ROOT`: `<dir>/repos`.
    root: PathBuf,
    /// The bare repository: `<root>/<owner>/<name>.git`.
    path: PathBuf,
    home: PathBuf,
    /// Names of temporary index files.
    seq: AtomicU64,
}

/// Handle on the bare repository of a git-mode simulator (cheap to clone).
#[derive(Clone)]
pub(crate) struct GitRepo {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GitRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("GitRepo").field(&self.inner.path).finish()
    }
}

fn git_date(t: DateTime<Utc>) -> String {
    format!("@{} +0000", t.timestamp())
}

impl GitRepo {
    /// A new bare repository `<owner>/<name>.git` whose HEAD is `default_branch`.
    pub(crate) fn create(
        owner: &str,
        name: &str,
        default_branch: &str,
    ) -> Result<GitRepo, GitError> {
        let dir = tempfile::Builder::new()
            .prefix("mergeward-sim-git-")
            .tempdir()?;
        let root = dir.path().join("repos");
        let path = root.join(owner).join(format!("{name}.git"));
        let home = dir.path().join("home");
        std::fs::create_dir_all(&path)?;
        std::fs::create_dir_all(&home)?;
        let repo = GitRepo {
            inner: Arc::new(Inner {
                _dir: dir,
                root,
                path,
                home,
                seq: AtomicU64::new(0),
            }),
        };
        let head = format!("--initial-branch={default_branch}");
        repo.ok(&["init", "--bare", "--quiet", &head, "."], None, &[])?;
        for (k, v) in [
            // receive-pack over HTTP (http-backend also wants REMOTE_USER, which is set).
            ("http.receivepack", "true"),
            // refs/pull/* are the forge's: pushes to them are refused, fetches see them.
            ("receive.hideRefs", "refs/pull"),
            ("core.logAllRefUpdates", "false"),
            ("gc.auto", "0"),
            ("receive.autogc", "false"),
        ] {
            repo.ok(&["config", k, v], None, &[])?;
        }
        let hook = repo.inner.path.join("hooks").join("pre-receive");
        std::fs::create_dir_all(repo.inner.path.join("hooks"))?;
        std::fs::write(&hook, PRE_RECEIVE)?;
        set_executable(&hook)?;
        Ok(repo)
    }

    /// The bare repository's directory.
    pub(crate) fn path(&self) -> &Path {
        &self.inner.path
    }

    /// `git` with the simulator's isolated environment (no `GIT_DIR`).
    fn base_command(&self) -> Command {
        let mut c = Command::new("git");
        c.env_clear();
        if let Some(p) = std::env::var_os("PATH") {
            c.env("PATH", p);
        }
        c.env("HOME", &self.inner.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("LC_ALL", "C")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_AUTHOR_NAME", SIM_NAME)
            .env("GIT_AUTHOR_EMAIL", SIM_EMAIL)
            .env("GIT_COMMITTER_NAME", SIM_NAME)
            .env("GIT_COMMITTER_EMAIL", SIM_EMAIL)
            .current_dir(&self.inner.path);
        c
    }

    /// Run `git args` in the repository; a non-zero exit is not an error here.
    pub(crate) fn run(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, String)],
    ) -> Result<GitOut, GitError> {
        let mut c = self.base_command();
        c.env("GIT_DIR", &self.inner.path).args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        run_command(c, stdin.map(<[u8]>::to_vec))
    }

    /// Run `git args`; exit 0 required; returns the trimmed stdout.
    pub(crate) fn ok(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, String)],
    ) -> Result<String, GitError> {
        let out = self.run(args, stdin, env)?;
        if out.code != Some(0) {
            return Err(GitError::Failed {
                args: args.join(" "),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out.text())
    }

    /// A tree: `base`'s tree (a commit or tree; none = empty) with `files` written (path →
    /// content, regular files).
    pub(crate) fn write_tree(
        &self,
        base: Option<&str>,
        files: &[(String, String)],
    ) -> Result<String, GitError> {
        let n = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        let index = self.inner.home.join(format!("index-{n}"));
        let env = [("GIT_INDEX_FILE", index.display().to_string())];
        let result = (|| {
            match base {
                Some(b) => self.ok(&["read-tree", b], None, &env)?,
                None => self.ok(&["read-tree", "--empty"], None, &env)?,
            };
            let mut info = String::new();
            for (path, content) in files {
                let blob = self.ok(
                    &["hash-object", "-w", "--stdin"],
                    Some(content.as_bytes()),
                    &[],
                )?;
                info.push_str(&format!("100644 {blob}\t{}\n", path.trim_matches('/')));
            }
            if !info.is_empty() {
                self.ok(
                    &["update-index", "--add", "--index-info"],
                    Some(info.as_bytes()),
                    &env,
                )?;
            }
            self.ok(&["write-tree"], None, &env)
        })();
        let _ = std::fs::remove_file(&index);
        result
    }

    /// A commit of `tree` with these parents, authored by `author` and committed by the
    /// simulator at `when`.
    pub(crate) fn commit_tree(
        &self,
        tree: &str,
        parents: &[String],
        message: &str,
        author: &str,
        when: DateTime<Utc>,
    ) -> Result<String, GitError> {
        let mut args = vec!["commit-tree", tree];
        for p in parents {
            args.push("-p");
            args.push(p);
        }
        let date = git_date(when);
        let env = [
            ("GIT_AUTHOR_NAME", author.to_string()),
            ("GIT_AUTHOR_EMAIL", format!("{author}@localhost")),
            ("GIT_AUTHOR_DATE", date.clone()),
            ("GIT_COMMITTER_DATE", date),
        ];
        self.ok(&args, Some(message.as_bytes()), &env)
    }

    /// The tree of merging `a` and `b` (`git merge-tree --write-tree`); `None` on a conflict.
    pub(crate) fn merge_tree(&self, a: &str, b: &str) -> Result<Option<String>, GitError> {
        let out = self.run(
            &["merge-tree", "--write-tree", "--no-messages", a, b],
            None,
            &[],
        )?;
        match out.code {
            Some(0) => Ok(out.text().lines().next().map(str::to_string)),
            Some(1) => Ok(None),
            _ => Err(GitError::Failed {
                args: format!("merge-tree {a} {b}"),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            }),
        }
    }

    /// Is `anc` an ancestor of (or equal to) `desc`? Unknown objects: false.
    pub(crate) fn is_ancestor(&self, anc: &str, desc: &str) -> bool {
        self.run(&["merge-base", "--is-ancestor", anc, desc], None, &[])
            .is_ok_and(|o| o.code == Some(0))
    }

    /// Is `sha` a commit of the repository?
    pub(crate) fn has_commit(&self, sha: &str) -> bool {
        let spec = format!("{sha}^{{commit}}");
        self.run(&["cat-file", "-e", &spec], None, &[])
            .is_ok_and(|o| o.code == Some(0))
    }

    /// Point `name` (a full ref name) at `sha`.
    pub(crate) fn set_ref(&self, name: &str, sha: &str) -> Result<(), GitError> {
        self.ok(&["update-ref", name, sha], None, &[]).map(|_| ())
    }

    /// Set several refs in one transaction (`(full ref name, sha)`).
    pub(crate) fn set_refs(&self, refs: &[(String, String)]) -> Result<(), GitError> {
        if refs.is_empty() {
            return Ok(());
        }
        let mut input = String::new();
        for (name, sha) in refs {
            input.push_str(&format!("update {name} {sha}\n"));
        }
        self.ok(&["update-ref", "--stdin"], Some(input.as_bytes()), &[])
            .map(|_| ())
    }

    /// Refs under `prefix` (e.g. `refs/heads/`), name without the prefix → sha.
    pub(crate) fn refs(&self, prefix: &str) -> Result<BTreeMap<String, String>, GitError> {
        let out = self.ok(
            &["for-each-ref", "--format=%(objectname) %(refname)", prefix],
            None,
            &[],
        )?;
        Ok(out
            .lines()
            .filter_map(|l| l.split_once(' '))
            .filter_map(|(sha, name)| {
                name.strip_prefix(prefix)
                    .map(|n| (n.to_string(), sha.to_string()))
            })
            .collect())
    }

    /// Commits reachable from `include` but not from `exclude`.
    pub(crate) fn log(
        &self,
        include: &[String],
        exclude: &[String],
    ) -> Result<Vec<LoggedCommit>, GitError> {
        if include.is_empty() {
            return Ok(Vec::new());
        }
        let mut revs = String::new();
        for i in include {
            revs.push_str(&format!("{i}\n"));
        }
        for e in exclude {
            revs.push_str(&format!("^{e}\n"));
        }
        let out = self.ok(
            &[
                "log",
                "--stdin",
                "-z",
                "--format=%H%x1f%P%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%ct%x1f%B",
            ],
            Some(revs.as_bytes()),
            &[],
        )?;
        let mut v = Vec::new();
        for rec in out.split('\0').filter(|r| !r.trim().is_empty()) {
            let f: Vec<&str> = rec.splitn(8, '\x1f').collect();
            let [sha, parents, an, ae, cn, ce, ct, msg] = f.as_slice() else {
                continue;
            };
            let date = ct
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(|s| Utc.timestamp_opt(s, 0).single())
                .unwrap_or_default();
            v.push(LoggedCommit {
                sha: sha.trim().to_string(),
                parents: parents.split_whitespace().map(str::to_string).collect(),
                author: an.to_string(),
                author_email: ae.to_string(),
                committer: cn.to_string(),
                committer_email: ce.to_string(),
                date,
                message: msg.trim_end().to_string(),
            });
        }
        Ok(v)
    }

    /// Run `git http-backend` as a CGI program with `env` and the request `body` on stdin.
    pub(crate) fn http_backend(
        &self,
        env: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<CgiResponse, GitError> {
        let mut c = self.base_command();
        c.arg("http-backend")
            .env("GIT_PROJECT_ROOT", &self.inner.root)
            .env("GIT_HTTP_EXPORT_ALL", "1");
        for (k, v) in env {
            c.env(k, v);
        }
        let out = run_command(c, Some(body))?;
        parse_cgi(&out.stdout).ok_or_else(|| GitError::Failed {
            args: "http-backend".to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

#[cfg(unix)]
fn set_executable(p: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Spawn, feed stdin from a thread (so a large input and a large output cannot block each
/// other), collect stdout and stderr.
fn run_command(mut c: Command, stdin: Option<Vec<u8>>) -> Result<GitOut, GitError> {
    c.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn()?;
    let writer = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => Some(std::thread::spawn(move || {
            // The program may exit without reading everything (an error): ignore EPIPE.
            let _ = pipe.write_all(&data);
        })),
        _ => None,
    };
    let out = child.wait_with_output()?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    Ok(GitOut {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// Split a CGI answer into `Status:`, the other headers and the body.
pub(crate) fn parse_cgi(out: &[u8]) -> Option<CgiResponse> {
    let (head_len, sep) = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)))?;
    let head = String::from_utf8_lossy(&out[..head_len]);
    let mut status = 200;
    let mut headers = Vec::new();
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("status") {
            status = v
                .split_whitespace()
                .next()
                .and_then(|c| c.parse().ok())
                .unwrap_or(500);
        } else {
            headers.push((k.to_string(), v.to_string()));
        }
    }
    Some(CgiResponse {
        status,
        headers,
        body: out[head_len + sep..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgi_status_headers_and_body_are_split() {
        let r = parse_cgi(b"Status: 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nno").unwrap();
        assert_eq!(r.status, 403);
        assert_eq!(
            r.headers,
            vec![("Content-Type".into(), "text/plain".into())]
        );
        assert_eq!(r.body, b"no");
        let r = parse_cgi(b"Content-Type: x\n\nbody\n\nmore").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"body\n\nmore");
        assert!(parse_cgi(b"no header end").is_none());
    }

    #[test]
    fn commits_are_reproducible_and_merges_detect_conflicts() {
        let when = Utc.timestamp_opt(1_700_000_000, 0).single().unwrap();
        let mk = || {
            let repo = GitRepo::create("acme", "widgets", "main").unwrap();
            let t = repo
                .write_tree(None, &[("README.md".into(), "hi\n".into())])
                .unwrap();
            let root = repo
                .commit_tree(&t, &[], "Initial commit", "sim", when)
                .unwrap();
            (repo, root)
        };
        let (repo, root) = mk();
        let (_other, root2) = mk();
        assert_eq!(root, root2, "same content and date, same sha");
        let a = repo
            .write_tree(Some(&root), &[("x/f.txt".into(), "a\n".into())])
            .unwrap();
        let a = repo
            .commit_tree(&a, std::slice::from_ref(&root), "a", "sim", when)
            .unwrap();
        let b = repo
            .write_tree(Some(&root), &[("x/f.txt".into(), "b\n".into())])
            .unwrap();
        let b = repo
            .commit_tree(&b, std::slice::from_ref(&root), "b", "sim", when)
            .unwrap();
        let c = repo
            .write_tree(Some(&root), &[("y.txt".into(), "c\n".into())])
            .unwrap();
        let c = repo
            .commit_tree(&c, std::slice::from_ref(&root), "c", "sim", when)
            .unwrap();
        assert_eq!(repo.merge_tree(&a, &b).unwrap(), None);
        assert!(repo.merge_tree(&a, &c).unwrap().is_some());
        assert!(repo.is_ancestor(&root, &a));
        assert!(!repo.is_ancestor(&a, &b));
        assert!(repo.has_commit(&a));
        assert!(!repo.has_commit(ZERO_SHA));
        repo.set_refs(&[("refs/heads/main".into(), a.clone())])
            .unwrap();
        assert_eq!(repo.refs("refs/heads/").unwrap().get("main"), Some(&a));
        let log = repo.log(std::slice::from_ref(&a), &[]).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].sha, a);
        assert_eq!(log[0].parents, vec![root.clone()]);
        assert_eq!(log[0].message, "a");
        assert_eq!(log[0].date, when);
        assert!(repo.log(std::slice::from_ref(&a), &[root]).unwrap().len() == 1);
    }
}
