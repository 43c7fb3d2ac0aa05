//! Typed forge errors. Classification uses the HTTP status code and the transport error
//! kind, never the text of a message.

use std::time::Duration;

use crate::exit::ExitCode;

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Timeout,
    Connect,
    /// Connection reset, TLS failure, body read failure, …
    Other,
}

impl TransportKind {
    fn as_str(self) -> &'static str {
        match self {
            TransportKind::Timeout => "timed out",
            TransportKind::Connect => "could not connect",
            TransportKind::Other => "transport error",
        }
    }
}

/// Why a list read was not provably complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaginationProblem {
    /// A page was not a JSON array (or the wrapped list field was missing).
    NotAList { page: u32 },
    /// The same item appeared on two pages: the list moved while it was read.
    RepeatedItem { page: u32, key: String },
    /// `X-Total-Count` (or `total_count`) disagrees with what was collected.
    TotalMismatch { expected: u64, collected: u64 },
    /// `X-Total-Count` changed between pages.
    TotalChanged { first: u64, later: u64 },
    /// More pages than the configured cap.
    PageCap { cap: u32 },
    /// A `Link: rel="next"` pointed to another origin.
    ForeignLink { link: String },
    /// An empty page arrived while the forge said more pages follow.
    EmptyPageWithNext { page: u32 },
}

impl std::fmt::Display for PaginationProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PaginationProblem::NotAList { page } => {
                write!(f, "page {page} is not a JSON list")
            }
            PaginationProblem::RepeatedItem { page, key } => write!(
                f,
                "item {key} appeared again on page {page} (the list changed while it was read)"
            ),
            PaginationProblem::TotalMismatch {
                expected,
                collected,
            } => write!(
                f,
                "the forge announced {expected} items but {collected} were read"
            ),
            PaginationProblem::TotalChanged { first, later } => write!(
                f,
                "the announced total changed from {first} to {later} between pages"
            ),
            PaginationProblem::PageCap { cap } => write!(
                f,
                "the list has more than {cap} pages (raise forge.page_cap if this is expected)"
            ),
            PaginationProblem::ForeignLink { link } => write!(
                f,
                "the next-page link {link} points to another server; refusing to send the token there"
            ),
            PaginationProblem::EmptyPageWithNext { page } => write!(
                f,
                "page {page} was empty although the forge announced a next page"
            ),
        }
    }
}

/// An error from the forge layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ForgeError {
    /// The server answered with a non-success status.
    #[error("{method} {path} -> HTTP {status}{}{}: {snippet}", attempts_suffix(*.attempts), rate_suffix(*.rate_limited, *.retry_after))]
    Http {
        method: String,
        path: String,
        status: u16,
        /// The first few hundred bytes of the body, with the token redacted.
        snippet: String,
        /// The server's wait hint (`Retry-After`, `x-ratelimit-reset`), if any.
        retry_after: Option<Duration>,
        /// The response says a rate limit was hit (429, or 403 with rate-limit headers).
        rate_limited: bool,
        attempts: u32,
    },
    /// The request did not complete.
    #[error("{method} {path} {}{}: {detail}", .kind.as_str(), attempts_suffix(*.attempts))]
    Transport {
        method: String,
        path: String,
        kind: TransportKind,
        detail: String,
        attempts: u32,
    },
    /// The response could not be understood.
    #[error("{method} {path}: unexpected response: {detail}")]
    Decode {
        method: String,
        path: String,
        detail: String,
    },
    /// A list read could not be proven complete.
    #[error("GET {path}: incomplete list: {problem}")]
    Pagination {
        path: String,
        problem: PaginationProblem,
    },
    /// The configured URL is not acceptable.
    #[error("refusing URL {url}: {reason}")]
    BadUrl { url: String, reason: String },
    /// A named object the forge should have does not exist (e.g. a label).
    #[error("{what} not found: {hint}")]
    Missing { what: String, hint: String },
    /// The forge does not offer what was asked.
    #[error("{what} is not supported by {forge}")]
    Unsupported { what: String, forge: String },
}

fn rate_suffix(rate_limited: bool, retry_after: Option<Duration>) -> String {
    match (rate_limited, retry_after) {
        (false, _) => String::new(),
        (true, Some(w)) => format!(" (rate limited; retry in {} s)", w.as_secs().max(1)),
        (true, None) => " (rate limited)".to_string(),
    }
}

fn attempts_suffix(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

impl ForgeError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ForgeError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The forge said a rate limit (primary or secondary) was hit: never an auth failure.
    pub fn is_rate_limited(&self) -> bool {
        matches!(
            self,
            ForgeError::Http {
                rate_limited: true,
                ..
            }
        )
    }

    /// Whether a GET may be retried after this error.
    pub fn is_retryable(&self) -> bool {
        match self {
            ForgeError::Http {
                status,
                rate_limited,
                ..
            } => *status >= 500 || *status == 429 || *rate_limited,
            ForgeError::Transport { .. } => true,
            _ => false,
        }
    }

    /// A mutating request whose outcome is unknown (sent, but no answer): the caller must
    /// re-read state before doing anything else.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, ForgeError::Transport { method, kind, .. } if method != "GET" && *kind != TransportKind::Connect)
    }

    /// The exit-code class.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            ForgeError::Http {
                status,
                rate_limited,
                ..
            } => match status {
                _ if *rate_limited => ExitCode::CouldNotDecide,
                401 | 403 => ExitCode::Auth,
                404 => ExitCode::NotFound,
                _ => ExitCode::CouldNotDecide,
            },
            ForgeError::BadUrl { .. } => ExitCode::Usage,
            ForgeError::Missing { .. } => ExitCode::NotFound,
            ForgeError::Transport { .. }
            | ForgeError::Decode { .. }
            | ForgeError::Pagination { .. }
            | ForgeError::Unsupported { .. } => ExitCode::CouldNotDecide,
        }
    }

    pub(crate) fn set_attempts(&mut self, n: u32) {
        match self {
            ForgeError::Http { attempts, .. } | ForgeError::Transport { attempts, .. } => {
                *attempts = n
            }
            _ => {}
        }
    }
}
