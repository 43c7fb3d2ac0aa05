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
}

/// Fast-forwards the base to the tested staging commit, or says why not. Blocking.
pub fn land(settings: &GitSettings, req: &LandRequest) -> Result<Landed> {
    let shaped = StagingRequest {
        remote: req.remote.clone(),
        token: req.token.clone(),
        base_branch: req.base_branch.clone(),
        base_head: req.batch_base.clone(),
        members: Vec::new(),
        pr_ref: PR_HEAD_REF.to_string(),
        staging_branch: req.staging_branch.clone(),
        batch_id: req.batch_id.clone(),
        extra_trailers: Vec::new(),
    };
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
