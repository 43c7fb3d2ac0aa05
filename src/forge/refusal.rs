//! Typed refusals at the forge boundary: what a refused merge or branch update means, so
//! the layers above decide on variants and HTTP status codes stay inside `forge/`.
//!
//! The numeric status is kept only for wording ("HTTP 405") in messages people read.

use super::ForgeError;

/// Why the forge refused to merge a PR pinned to its evaluated head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeRefusal {
    /// A rate limit: nothing was merged and nothing is wrong with the PR.
    RateLimited,
    /// 401/403: the token lacks a scope or access (the forge's rules answer 405/409/422).
    Unauthorized { http: u16 },
    /// 405: the forge's rules refuse it now (protection, not mergeable, a stale approval) —
    /// or the token's account may not push; the repository's permissions tell which.
    NotAllowed { http: u16, detail: String },
    /// 404 on the merge call itself.
    NotFound { http: u16, detail: String },
    /// 409: the head moved after the evaluation (the merge was pinned to it).
    HeadMoved,
    /// Anything else (422, 5xx, a transport failure, an unreadable answer): whether it
    /// merged anyway is read back from the forge.
    Other,
}

/// Why the forge refused to update a PR's branch with its base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateRefusal {
    RateLimited,
    /// 401/403: the token lacks a scope or access.
    Unauthorized {
        http: u16,
    },
    /// 405: refused by the forge's rules, or the token may not push (permissions tell).
    NotAllowed {
        http: u16,
    },
    /// 409: merging the base into the branch conflicts.
    Conflict,
    /// 422: the forge will not update this branch (e.g. protected head branch).
    Refused {
        http: u16,
        detail: String,
    },
    /// Anything else: the outcome cannot be decided now.
    Other,
}

/// Whether a refusal may be mergeward's own token lacking a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionSuspect {
    /// 401/403: it is the token (a scope or access it lacks).
    Certain { http: u16 },
    /// 405: it is the token when the repository's permissions say it cannot push.
    IfCannotPush { http: u16 },
}

impl PermissionSuspect {
    pub const fn http(self) -> u16 {
        match self {
            PermissionSuspect::Certain { http } | PermissionSuspect::IfCannotPush { http } => http,
        }
    }
}

/// The first line of a refusal body (at most 200 characters), else the whole error.
fn detail(e: &ForgeError) -> String {
    match e {
        ForgeError::Http { snippet, .. } if !snippet.is_empty() => {
            snippet.chars().take(200).collect()
        }
        other => other.to_string(),
    }
}

impl ForgeError {
    /// What a refused merge means.
    pub fn merge_refusal(&self) -> MergeRefusal {
        if self.is_rate_limited() {
            return MergeRefusal::RateLimited;
        }
        match self.status() {
            Some(http @ (401 | 403)) => MergeRefusal::Unauthorized { http },
            Some(http @ 404) => MergeRefusal::NotFound {
                http,
                detail: detail(self),
            },
            Some(http @ 405) => MergeRefusal::NotAllowed {
                http,
                detail: detail(self),
            },
            Some(409) => MergeRefusal::HeadMoved,
            _ => MergeRefusal::Other,
        }
    }

    /// What a refused branch update means.
    pub fn update_refusal(&self) -> UpdateRefusal {
        if self.is_rate_limited() {
            return UpdateRefusal::RateLimited;
        }
        match self.status() {
            Some(http @ (401 | 403)) => UpdateRefusal::Unauthorized { http },
            Some(http @ 405) => UpdateRefusal::NotAllowed { http },
            Some(409) => UpdateRefusal::Conflict,
            Some(http @ 422) => UpdateRefusal::Refused {
                http,
                detail: detail(self),
            },
            _ => UpdateRefusal::Other,
        }
    }

    /// Whether this refusal may be the token's own missing permission (any write).
    pub fn permission_suspect(&self) -> Option<PermissionSuspect> {
        match self.status()? {
            http @ (401 | 403) if !self.is_rate_limited() => {
                Some(PermissionSuspect::Certain { http })
            }
            http @ 405 => Some(PermissionSuspect::IfCannotPush { http }),
            _ => None,
        }
    }

    /// A 401: the forge rejected the token itself.
    pub fn is_rejected_token(&self) -> bool {
        self.status() == Some(401)
    }

    /// A 403 that is not a rate limit: the token may not do or see this.
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(403) && !self.is_rate_limited()
    }

    /// A 404: the object (or the route for it) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, rate_limited: bool) -> ForgeError {
        ForgeError::Http {
            method: "POST".into(),
            path: "/x".into(),
            status,
            snippet: "why".into(),
            retry_after: None,
            rate_limited,
            attempts: 1,
        }
    }

    #[test]
    fn statuses_map_to_variants() {
        assert_eq!(http(403, true).merge_refusal(), MergeRefusal::RateLimited);
        assert_eq!(
            http(403, false).merge_refusal(),
            MergeRefusal::Unauthorized { http: 403 }
        );
        assert_eq!(http(409, false).merge_refusal(), MergeRefusal::HeadMoved);
        assert_eq!(http(409, false).update_refusal(), UpdateRefusal::Conflict);
        assert_eq!(http(500, false).merge_refusal(), MergeRefusal::Other);
        assert_eq!(http(404, false).update_refusal(), UpdateRefusal::Other);
        assert!(matches!(
            http(405, false).merge_refusal(),
            MergeRefusal::NotAllowed { http: 405, .. }
        ));
        assert_eq!(
            http(405, false).permission_suspect(),
            Some(PermissionSuspect::IfCannotPush { http: 405 })
        );
        assert_eq!(http(422, false).permission_suspect(), None);
    }
}
