//! Landing a green batch: the base branch is fast-forwarded to exactly the staging commit
//! that was tested — never rebuilt, never merged anew — and only while the base is still
//! the head the batch was built on (SPEC §8.2).
//!
//! The push is `<staging>:refs/heads/<base>` without `+` (a fast-forward or nothing) and
//! with `--force-with-lease=refs/heads/<base>:<batch base>` (the remote's base must still
//! be the batch's base at the moment of the update). Before it, the remote's refs are
//! listed: a base that moved, or a staging branch that no longer points at the tested
//! commit, is a typed outcome and nothing is pushed. A push the forge refuses for another
//! reason (a protected branch the bot's account may not push to) is an error that says so.

use crate::error::{Error, Result};
use crate::forge::{Secret, Sha};

use super::git::GitSettings;
use super::{Builder, PR_HEAD_REF, StagingRequest, Workspace, listed_sha};
use crate::queue::batch::Member;

/// What to land.
#[derive(Debug, Clone)]
pub struct LandRequest {
    /// The repository's git URL; never with credentials in it.
    pub remote: String,
    pub token: Option<Secret>,
    pub base_branch: String,
    /// The base head the batch was built on.
    pub batch_base: Sha,
    /// The staging branch and the tested staging commit on it.
    pub staging_branch: String,
    pub staging: Sha,
    pub batch_id: String,
    /// The members the staging commit claims (its trailers), in batch order: landing checks
    /// that the staging commit is exactly the base with these heads merged.
    pub members: Vec<Member>,
}

/// What landing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landed {
    /// The base branch now points at the tested staging commit.
    Landed,
    /// The base is no longer the batch's base (`now`, or gone): nothing pushed; rebuild.
    BaseMoved { now: Option<Sha> },
    /// The staging branch no longer points at the tested commit (`now`): nothing pushed;
    /// what was tested is not what would land, so rebuild.
    StagingMoved { now: Option<Sha> },
    /// The staging commit is not the base with the members merged in order (someone else
    /// pushed to the staging branch, or the trailers lie): nothing pushed; rebuild.
    NotTheBatch { why: String },
}

/// Whether the staging branch still holds `req.staging` and it is exactly the batch (see
/// [`verify`]): `None` when it is, else why not. Read-only: nothing is pushed. Batch mode
/// asks before acting on a red or stuck staging commit it has no record of building, so a
/// commit someone else pushed there cannot get the PRs its trailers name held. Blocking.
pub fn check(settings: &GitSettings, req: &LandRequest) -> Result<Option<String>> {
    let shaped = shaped(req);
    super::check_request(&shaped)?;
    let w = Workspace::new(
        "mergeward-check-",
        &format!("to check batch {}", req.batch_id),
    )?;
    let b = w.builder(settings, &shaped)?;
    let local = "refs/mergeward/staging";
    b.network(
        "git fetch",
        &[
            "fetch",
            "-q",
            "--no-tags",
            req.remote.as_str(),
            &format!("+refs/heads/{}:{local}", req.staging_branch),
        ],
    )?;
    if b.local_sha(local)?.as_ref() != Some(&req.staging) {
        return Ok(Some(format!(
            "the staging branch no longer holds {}",
            req.staging.short(12)
        )));
    }
    verify(&b, req)
}

/// The request's shape as the builder takes it (no members fetched by ref).
fn shaped(req: &LandRequest) -> StagingRequest {
    StagingRequest {
        remote: req.remote.clone(),
        token: req.token.clone(),
        base_branch: req.base_branch.clone(),
        base_head: req.batch_base.clone(),
        members: Vec::new(),
        pr_ref: PR_HEAD_REF.to_string(),
        staging_branch: req.staging_branch.clone(),
        batch_id: req.batch_id.clone(),
        extra_trailers: Vec::new(),
    }
}

/// Fast-forwards the base to the tested staging commit, or says why not. Blocking.
pub fn land(settings: &GitSettings, req: &LandRequest) -> Result<Landed> {
    let shaped = shaped(req);
    super::check_request(&shaped)?;
    let w = Workspace::new(
        "mergeward-land-",
        &format!("to land batch {}", req.batch_id),
    )?;
    let b = w.builder(settings, &shaped)?;
    let staging_ref = format!("refs/heads/{}", req.staging_branch);
    let (base_now, staging_now) = refs_now(&b, &staging_ref)?;
    if base_now.as_ref() != Some(&req.batch_base) {
        return Ok(Landed::BaseMoved { now: base_now });
    }
    if staging_now.as_ref() != Some(&req.staging) {
        return Ok(Landed::StagingMoved { now: staging_now });
    }
    let local = "refs/mergeward/staging";
    b.network(
        "git fetch",
        &[
            "fetch",
            "-q",
            "--no-tags",
            req.remote.as_str(),
            &format!("+{staging_ref}:{local}"),
        ],
    )?;
    if b.local_sha(local)?.as_ref() != Some(&req.staging) {
        // Moved between the listing and the fetch.
        return Ok(Landed::StagingMoved {
            now: b.local_sha(local)?,
        });
    }
    if let Some(why) = verify(&b, req)? {
        return Ok(Landed::NotTheBatch { why });
    }
    let lease = format!("--force-with-lease={}:{}", b.base_ref(), req.batch_base);
    let refspec = format!("{}:{}", req.staging, b.base_ref());
    let args = [
        "push",
        "-q",
        "--no-verify",
        lease.as_str(),
        req.remote.as_str(),
        refspec.as_str(),
    ];
    let out = b.run(&args)?;
    if out.success() {
        return Ok(Landed::Landed);
    }
    // Refused: a base that moved meanwhile is an outcome; anything else is the forge's
    // protection refusing the bot's push.
    let (base_now, _) = refs_now(&b, &staging_ref)?;
    if base_now.as_ref() != Some(&req.batch_base) {
        return Ok(Landed::BaseMoved { now: base_now });
    }
    Err(Error::ForgeCtx {
        context: format!(
            "landing batch {}: the forge refused to move {} to the tested commit {}",
            req.batch_id,
            req.base_branch,
            req.staging.short(12)
        ),
        err: Box::new(crate::forge::ForgeError::Transport {
            method: "git push".into(),
            path: b.remote(),
            kind: crate::forge::TransportKind::Other,
            detail: out.detail(),
            attempts: 1,
        }),
        hint: Some(format!(
            "the bot's account must be allowed to push to the protected branch {} (Gitea/Forgejo: the protection's push whitelist); nothing was merged",
            req.base_branch
        )),
    })
}

/// Whether the fetched staging commit is exactly the batch's base with its members merged
/// in order: the base and every member's head are in its history, and replaying the merges
/// (`git merge-tree --write-tree`, the merge `git merge` makes) gives its tree. `Some(why)`
/// when it is not. Only the staging commit's own history is used: nothing else is fetched.
fn verify(b: &Builder<'_>, req: &LandRequest) -> Result<Option<String>> {
    if req.members.is_empty() {
        return Ok(Some("the staging commit names no PR".into()));
    }
    let staging = req.staging.as_str();
    let mut claimed = vec![(
        format!("the base {}", req.batch_base.short(12)),
        &req.batch_base,
    )];
    for m in &req.members {
        claimed.push((format!("#{}'s head {}", m.pr, m.head.short(12)), &m.head));
    }
    for (what, sha) in &claimed {
        let inside = b
            .run(&["merge-base", "--is-ancestor", sha.as_str(), staging])?
            .success();
        if !inside {
            return Ok(Some(format!(
                "{what} is not in the history of the staging commit {}",
                req.staging.short(12)
            )));
        }
    }
    let mut cur = req.batch_base.to_string();
    for m in &req.members {
        let out = b.run(&[
            "merge-tree",
            "--write-tree",
            "--no-messages",
            cur.as_str(),
            m.head.as_str(),
        ])?;
        let tree = out.stdout.lines().next().unwrap_or("").trim().to_string();
        if !out.success() || tree.is_empty() {
            return Ok(Some(format!(
                "#{} does not merge cleanly onto the base and the PRs before it, yet the staging commit claims it",
                m.pr
            )));
        }
        let msg = format!("replay #{}", m.pr);
        let commit = b.local(&[
            "commit-tree",
            tree.as_str(),
            "-p",
            cur.as_str(),
            "-p",
            m.head.as_str(),
            "-m",
            msg.as_str(),
        ])?;
        cur = commit.stdout.trim().to_string();
    }
    let tree_of = |rev: &str| -> Result<String> {
        Ok(b.local(&["rev-parse", &format!("{rev}^{{tree}}")])?
            .stdout
            .trim()
            .to_string())
    };
    let (expected, actual) = (tree_of(&cur)?, tree_of(staging)?);
    if expected != actual {
        return Ok(Some(format!(
            "the staging commit {}'s content (tree {}) is not the base with {} merged (tree {})",
            req.staging.short(12),
            &actual[..actual.len().min(12)],
            req.members
                .iter()
                .map(|m| format!("#{}", m.pr))
                .collect::<Vec<_>>()
                .join(", "),
            &expected[..expected.len().min(12)],
        )));
    }
    Ok(None)
}

/// The remote's base head and staging head now (`None`: no such branch).
fn refs_now(b: &Builder<'_>, staging_ref: &str) -> Result<(Option<Sha>, Option<Sha>)> {
    let base_ref = b.base_ref();
    let out = b.network(
        "git ls-remote",
        &["ls-remote", b.req.remote.as_str(), &base_ref, staging_ref],
    )?;
    Ok((
        listed_sha(&out.stdout, &base_ref)?,
        listed_sha(&out.stdout, staging_ref)?,
    ))
}
