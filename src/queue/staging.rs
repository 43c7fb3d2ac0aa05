//! Batch mode's staging commit, built with git on a temporary clone (SPEC §8.2; not yet
//! selectable): the base head, then each member's head merged in order (`--no-ff`), the
//! last merge carrying the message of [`batch::staging_message`] for the members actually
//! merged, force-pushed to the staging branch (mergeward's own).
//!
//! A member whose merge conflicts is left out with the conflicting paths and the rest goes
//! on; a member whose head ref no longer points at its pinned head is left out as moved;
//! when no member merges, nothing is pushed. The remote's refs are listed first
//! (`ls-remote`) so a missing PR ref is a typed outcome rather than a failed fetch, then the
//! base and the members' refs are fetched in one go and checked again.
//!
//! The token is sent as a header set through the environment (see [`git`]); every text
//! kept from git is redacted of it and of URL credentials.

pub mod git;
pub mod land;

pub use land::{LandRequest, Landed, check, land};

use std::path::Path;

use crate::error::{Error, Result};
use crate::forge::{ForgeError, Secret, Sha, TransportKind};
use crate::queue::batch::{self, Member};

use git::{Git, GitSettings, Output, RunError};

/// Where a PR's head is fetched from: `{n}` is the PR number (GitHub, Gitea and Forgejo
/// all publish `refs/pull/{n}/head`).
pub const PR_HEAD_REF: &str = "refs/pull/{n}/head";

/// What to build.
#[derive(Debug, Clone)]
pub struct StagingRequest {
    /// The repository's git URL (`https://…/owner/repo.git`); never with credentials in it.
    pub remote: String,
    /// The token, sent as an `Authorization` header (see [`git::GitAuth`]).
    pub token: Option<Secret>,
    /// The base branch name and the head the batch is built on.
    pub base_branch: String,
    pub base_head: Sha,
    /// The members, in queue order, pinned to their heads.
    pub members: Vec<Member>,
    /// Where a member's head is fetched from, with `{n}` for its number ([`PR_HEAD_REF`]).
    pub pr_ref: String,
    /// The branch the staging commit is force-pushed to (`queue.staging_branch`).
    pub staging_branch: String,
    /// The batch id (in the staging commit's trailers).
    pub batch_id: String,
    /// Further trailers of the staging commit ([`batch::meta_trailers`]).
    pub extra_trailers: Vec<(String, String)>,
}

/// Why a member is not in the staging commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeftOutReason {
    /// Merging it onto the base and the members before it conflicts: the unmerged paths
    /// and git's account of the conflict. The PR is held with it.
    Conflict { paths: Vec<String>, detail: String },
    /// It shares no history with the base. The PR is held with it.
    Unrelated,
    /// Its head is already contained in the base and the members before it: nothing to
    /// merge.
    AlreadyMerged,
    /// Its head ref no longer points at the pinned head (`now`, or gone): the PR was pushed
    /// or closed since it was read. Not its author's fault: re-read, do not hold.
    HeadMoved { now: Option<Sha> },
}

impl LeftOutReason {
    /// Whether the PR should be held for it (a conflict with the base or the batch).
    pub fn holds(&self) -> bool {
        matches!(
            self,
            LeftOutReason::Conflict { .. } | LeftOutReason::Unrelated
        )
    }
}

/// A member left out of the staging commit, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub member: Member,
    pub reason: LeftOutReason,
}

/// What the builder did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staged {
    /// The staging commit `staging` (the base, then `included` merged in order) was pushed
    /// to the staging branch.
    Built {
        staging: Sha,
        included: Vec<Member>,
        left_out: Vec<LeftOut>,
    },
    /// No member merged: no staging commit, nothing pushed.
    NothingMerged { left_out: Vec<LeftOut> },
    /// The base branch is no longer at the requested head (`now`, or gone): nothing built;
    /// re-read and rebuild.
    BaseMoved { now: Option<Sha> },
}

/// Builds and pushes the staging commit for `req` on a temporary clone (removed on return).
/// Blocking: an async caller runs it with [`build_async`].
pub fn build(settings: &GitSettings, req: &StagingRequest) -> Result<Staged> {
    check_request(req)?;
    let w = Workspace::new("mergeward-staging-", "for the staging commit")?;
    let b = w.builder(settings, req)?;
    b.stage()
}

/// [`build`] on tokio's blocking pool.
pub async fn build_async(settings: GitSettings, req: StagingRequest) -> Result<Staged> {
    tokio::task::spawn_blocking(move || build(&settings, &req))
        .await
        .map_err(|e| Error::Internal(format!("the staging build task failed: {e}")))?
}

/// The request's own consistency, before anything runs.
fn check_request(req: &StagingRequest) -> Result<()> {
    let remote = git::redact_url_credentials(&req.remote);
    let http = ["http://", "https://"].iter().any(|p| {
        req.remote
            .get(..p.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(p))
    });
    if http && remote != req.remote {
        return Err(Error::usage_hint(
            format!("the staging remote {remote} carries credentials in its URL"),
            "give the URL without user or password; the token is sent as a header",
        ));
    }
    if req.remote.is_empty() || req.remote.starts_with('-') {
        return Err(Error::usage_hint(
            format!("the staging remote {:?} is not a git URL", req.remote),
            "give the repository's clone URL (https://host/owner/repo.git)",
        ));
    }
    if !req.pr_ref.contains("{n}") || !req.pr_ref.starts_with("refs/") {
        return Err(Error::usage_hint(
            format!(
                "the PR head ref {:?} has no `{{n}}` for the PR number",
                req.pr_ref
            ),
            format!("use {PR_HEAD_REF} (GitHub, Gitea and Forgejo)"),
        ));
    }
    if req.staging_branch == req.base_branch {
        return Err(Error::usage_hint(
            format!(
                "the staging branch {:?} is the base branch: the staging commit is force-pushed there",
                req.staging_branch
            ),
            "use a branch of mergeward's own, e.g. mergeward/staging/<base>",
        ));
    }
    let id_ok = !req.batch_id.trim().is_empty() && !req.batch_id.contains(['\n', '\r']);
    let mut seen = std::collections::BTreeSet::new();
    if !id_ok || !req.members.iter().all(|m| seen.insert(m.pr)) {
        // The trailers would not read back as this batch.
        return Err(Error::Internal(format!(
            "a staging request with batch id {:?} and members {:?}: the id must be one non-empty line and each PR listed once",
            req.batch_id,
            req.members.iter().map(|m| m.pr).collect::<Vec<_>>()
        )));
    }
    Ok(())
}

/// A temporary working copy (removed on drop): an empty `HOME` for git and the repository.
struct Workspace {
    _tmp: tempfile::TempDir,
    home: std::path::PathBuf,
    repo: std::path::PathBuf,
}

impl Workspace {
    fn new(prefix: &str, purpose: &str) -> Result<Workspace> {
        let tmp = tempfile::Builder::new().prefix(prefix).tempdir().map_err(|e| Error::Io {
            path: std::env::temp_dir().display().to_string(),
            message: format!(
                "could not create the temporary working copy {purpose}: {e} (set TMPDIR to a writable directory)"
            ),
        })?;
        let (home, repo) = (tmp.path().join("home"), tmp.path().join("repo"));
        for dir in [&home, &repo] {
            std::fs::create_dir_all(dir).map_err(|e| Error::Io {
                path: dir.display().to_string(),
                message: format!("could not create the temporary working copy: {e}"),
            })?;
        }
        Ok(Workspace {
            _tmp: tmp,
            home,
            repo,
        })
    }

    /// A builder for `req` on an initialised, empty repository, its refs checked.
    fn builder<'a>(
        &'a self,
        settings: &'a GitSettings,
        req: &'a StagingRequest,
    ) -> Result<Builder<'a>> {
        let b = Builder {
            git: Git::new(settings, req.token.as_ref(), &self.home),
            req,
            repo: &self.repo,
        };
        b.check_branches()?;
        b.local(&["init", "-q", "--template=", "."])?;
        Ok(b)
    }
}

/// The SHA `git ls-remote` printed for exactly `name` (`None`: not listed).
fn listed_sha(ls_remote: &str, name: &str) -> Result<Option<Sha>> {
    match ls_remote
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .find(|(_, r)| *r == name)
    {
        None => Ok(None),
        Some((sha, _)) => Sha::parse(sha).map(Some).ok_or_else(|| {
            Error::Internal(format!("git ls-remote listed {name} at {sha:?}, not a SHA"))
        }),
    }
}

struct Builder<'a> {
    git: Git<'a>,
    req: &'a StagingRequest,
    repo: &'a Path,
}

/// A PR's local ref after the fetch.
fn local_pr_ref(pr: u64) -> String {
    format!("refs/mergeward/pr/{pr}")
}

const LOCAL_BASE: &str = "refs/mergeward/base";

impl Builder<'_> {
    fn pr_ref(&self, pr: u64) -> String {
        self.req.pr_ref.replace("{n}", &pr.to_string())
    }

    fn base_ref(&self) -> String {
        format!("refs/heads/{}", self.req.base_branch)
    }

    fn remote(&self) -> String {
        self.git.redact(&self.req.remote)
    }

    /// The branch names and PR refs are valid ref names (so none can be read as an option).
    fn check_branches(&self) -> Result<()> {
        let mut names = vec![
            ("base branch", self.base_ref()),
            (
                "staging branch",
                format!("refs/heads/{}", self.req.staging_branch),
            ),
        ];
        if let Some(m) = self.req.members.first() {
            names.push(("PR head ref", self.pr_ref(m.pr)));
        }
        for (what, name) in names {
            let out = self.run(&["check-ref-format", &name])?;
            if !out.success() {
                return Err(Error::usage_hint(
                    format!("the {what} {name:?} is not a valid git ref name"),
                    "fix the branch name in the configuration (queue.staging_branch, the base branch)",
                ));
            }
        }
        Ok(())
    }

    fn stage(&self) -> Result<Staged> {
        let (base_now, heads_now) = self.list_remote()?;
        if base_now.as_ref() != Some(&self.req.base_head) {
            return Ok(Staged::BaseMoved { now: base_now });
        }
        let mut left_out = Vec::new();
        let mut candidates = Vec::new();
        for (m, now) in self.req.members.iter().zip(heads_now) {
            if now.as_ref() == Some(&m.head) {
                candidates.push(m.clone());
            } else {
                left_out.push(LeftOut {
                    member: m.clone(),
                    reason: LeftOutReason::HeadMoved { now },
                });
            }
        }
        self.fetch(&candidates)?;
        // The refs may have moved between the listing and the fetch.
        if self.local_sha(LOCAL_BASE)?.as_ref() != Some(&self.req.base_head) {
            return Ok(Staged::BaseMoved {
                now: self.local_sha(LOCAL_BASE)?,
            });
        }
        let mut fetched = Vec::new();
        for m in candidates {
            let now = self.local_sha(&local_pr_ref(m.pr))?;
            if now.as_ref() == Some(&m.head) {
                fetched.push(m);
            } else {
                left_out.push(LeftOut {
                    member: m,
                    reason: LeftOutReason::HeadMoved { now },
                });
            }
        }
        self.local(&["checkout", "-q", "--detach", self.req.base_head.as_str()])?;
        let mut included = Vec::new();
        for m in fetched {
            match self.merge(&m)? {
                None => included.push(m),
                Some(reason) => left_out.push(LeftOut { member: m, reason }),
            }
        }
        left_out.sort_by_key(|l| self.req.members.iter().position(|m| m.pr == l.member.pr));
        if included.is_empty() {
            return Ok(Staged::NothingMerged { left_out });
        }
        let msg = batch::staging_message_with(
            &self.req.batch_id,
            &self.req.base_head,
            &included,
            &self.req.extra_trailers,
        );
        self.local(&[
            "commit",
            "-q",
            "--amend",
            "--no-verify",
            "--allow-empty",
            "--cleanup=verbatim",
            "-m",
            &msg,
        ])?;
        let staging = self.local_sha("HEAD")?.ok_or_else(|| {
            Error::Internal("the staging commit has no SHA after it was made".into())
        })?;
        let refspec = format!("+{staging}:refs/heads/{}", self.req.staging_branch);
        self.network(
            "git push",
            &["push", "-q", "--no-verify", &self.req.remote, &refspec],
        )?;
        Ok(Staged::Built {
            staging,
            included,
            left_out,
        })
    }

    /// The remote's base head and each member's head now (`None`: no such ref).
    fn list_remote(&self) -> Result<(Option<Sha>, Vec<Option<Sha>>)> {
        let base = self.base_ref();
        let prs: Vec<String> = self.req.members.iter().map(|m| self.pr_ref(m.pr)).collect();
        let mut args = vec!["ls-remote", self.req.remote.as_str(), base.as_str()];
        args.extend(prs.iter().map(String::as_str));
        let out = self.network("git ls-remote", &args)?;
        // Patterns match ref names by their tail: keep exact names only.
        let find = |name: &str| listed_sha(&out.stdout, name);
        let heads = prs.iter().map(|r| find(r)).collect::<Result<_>>()?;
        Ok((find(&base)?, heads))
    }

    /// Fetches the base and the candidates' heads into `refs/mergeward/…`.
    fn fetch(&self, candidates: &[Member]) -> Result<()> {
        let mut specs = vec![format!("+{}:{LOCAL_BASE}", self.base_ref())];
        for m in candidates {
            specs.push(format!("+{}:{}", self.pr_ref(m.pr), local_pr_ref(m.pr)));
        }
        let mut args = vec!["fetch", "-q", "--no-tags", self.req.remote.as_str()];
        args.extend(specs.iter().map(String::as_str));
        self.network("git fetch", &args).map(|_| ())
    }

    /// Merges `m` onto HEAD: `None` when it merged, else why it was left out (a conflicting
    /// merge is aborted, so HEAD is as before).
    fn merge(&self, m: &Member) -> Result<Option<LeftOutReason>> {
        let head = m.head.as_str();
        let before = self.local_sha("HEAD")?;
        let base = self.run(&["merge-base", "HEAD", head])?;
        match base.code {
            Some(0) => {}
            Some(1) => return Ok(Some(LeftOutReason::Unrelated)),
            _ => return Err(self.local_failure(&["merge-base", "HEAD", head], &base)),
        }
        let msg = format!(
            "Merge #{} ({}) into mergeward batch {}",
            m.pr,
            m.head.short(12),
            self.req.batch_id
        );
        let args = ["merge", "--no-ff", "--no-edit", "-q", "-m", &msg, head];
        let out = self.run(&args)?;
        if out.success() {
            return Ok(if self.local_sha("HEAD")? == before {
                Some(LeftOutReason::AlreadyMerged)
            } else {
                None
            });
        }
        if !self
            .run(&["rev-parse", "-q", "--verify", "MERGE_HEAD"])?
            .success()
        {
            // The merge did not start: not a conflict, something is wrong locally.
            return Err(self.local_failure(&args, &out));
        }
        let unmerged = self.local(&["diff", "--name-only", "--diff-filter=U"])?;
        let paths = unmerged.stdout.lines().map(str::to_string).collect();
        let conflicts: Vec<&str> = out
            .stdout
            .lines()
            .chain(out.stderr.lines())
            .filter(|l| l.starts_with("CONFLICT"))
            .collect();
        let detail = if conflicts.is_empty() {
            out.detail()
        } else {
            git::clip(&conflicts.join("\n"), 4000)
        };
        self.local(&["merge", "--abort"])?;
        Ok(Some(LeftOutReason::Conflict { paths, detail }))
    }

    /// The SHA `name` resolves to locally, if it does.
    fn local_sha(&self, name: &str) -> Result<Option<Sha>> {
        let spec = format!("{name}^{{commit}}");
        let out = self.run(&["rev-parse", "-q", "--verify", &spec])?;
        Ok(if out.success() {
            Sha::parse(out.stdout.trim())
        } else {
            None
        })
    }

    /// Runs git; failing to run it at all is an error.
    fn run(&self, args: &[&str]) -> Result<Output> {
        self.git
            .run(self.repo, args)
            .map_err(|e| self.run_error(args, e))
    }

    fn run_error(&self, args: &[&str], e: RunError) -> Error {
        let program = self.git.redact(&self.git.program().display().to_string());
        match e {
            RunError::NotFound => Error::usage_hint(
                format!("could not run {program} to build the staging commit: no such program"),
                "install git on the runner, or give the path of the git program",
            ),
            RunError::Io(e) => Error::Io {
                path: program,
                message: format!(
                    "could not run git {}: {e}",
                    self.git.redact(&args.join(" "))
                ),
            },
            RunError::TimedOut(t) => Error::Io {
                path: self.repo.display().to_string(),
                message: format!(
                    "git {} timed out after {} s and was stopped",
                    args.first().copied().unwrap_or_default(),
                    t.as_secs_f64()
                ),
            },
        }
    }

    /// Runs a local git command that must succeed.
    fn local(&self, args: &[&str]) -> Result<Output> {
        let out = self.run(args)?;
        if out.success() {
            Ok(out)
        } else {
            Err(self.local_failure(args, &out))
        }
    }

    fn local_failure(&self, args: &[&str], out: &Output) -> Error {
        Error::Io {
            path: self.repo.display().to_string(),
            message: format!(
                "building the staging commit of batch {}: git {} failed (exit {}): {}",
                self.req.batch_id,
                self.git.redact(&args.join(" ")),
                out.code.map_or("signal".into(), |c| c.to_string()),
                out.detail()
            ),
        }
    }

    /// Runs a git command that talks to the remote; any failure is a transport error with
    /// the remote named (nothing was merged: could not decide).
    fn network(&self, what: &str, args: &[&str]) -> Result<Output> {
        let hint = format!(
            "check that {} is reachable from the runner and the token can {} the repository",
            self.remote(),
            if what == "git push" {
                "push to"
            } else {
                "read"
            }
        );
        let fail = |kind, detail: String| Error::ForgeCtx {
            context: format!("building the staging commit of batch {}", self.req.batch_id),
            err: Box::new(ForgeError::Transport {
                method: what.to_string(),
                path: self.remote(),
                kind,
                detail,
                attempts: 1,
            }),
            hint: Some(hint.clone()),
        };
        let out = match self.git.run(self.repo, args) {
            Err(RunError::TimedOut(t)) => {
                return Err(fail(
                    TransportKind::Timeout,
                    format!("no answer within {} s", t.as_secs_f64()),
                ));
            }
            Err(e) => return Err(self.run_error(args, e)),
            Ok(out) => out,
        };
        if out.success() {
            Ok(out)
        } else {
            Err(fail(TransportKind::Other, out.detail()))
        }
    }
}
