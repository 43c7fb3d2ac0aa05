//! The shared HTTP client: authentication, timeouts, client-side rate limiting, retries of
//! idempotent reads, complete pagination, and token redaction. Both forge dialects use it.
//!
//! Here: settings, the client and its request verbs; `retry.rs` sends (one attempt, GET
//! retries, rate-limit hints), `pagination.rs` reads whole lists, `redact.rs` keeps the
//! token out of output.

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::error::ForgeError;

mod pagination;
mod redact;
mod retry;

pub use pagination::next_link;
pub use redact::Secret;
pub use retry::GITHUB_SECONDARY_WAIT;

/// How a forge paginates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageDialect {
    /// `page` + `limit`; `X-Total-Count`; the server clamps `limit` silently.
    Gitea,
    /// `page` + `per_page`; follow `Link: rel="next"`.
    GitHub,
}

/// How the token is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// `Authorization: token …` (Gitea/Forgejo; lowercase keyword works on every version).
    Token,
    /// `Authorization: Bearer …` (GitHub).
    Bearer,
}

/// Knobs of the HTTP client.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The API root, e.g. `https://gitea.example.com/api/v1` or `https://api.github.com`.
    pub api_base: Url,
    pub token: Option<Secret>,
    pub auth: AuthScheme,
    pub dialect: PageDialect,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Retries of one GET after the first attempt.
    pub max_retries: u32,
    /// Total time one GET may spend waiting between attempts.
    pub retry_budget: Duration,
    /// First backoff delay (jittered, doubled each time).
    pub retry_min_delay: Duration,
    /// Client-side request rate (requests per second) and burst.
    pub rate_per_second: u32,
    pub rate_burst: u32,
    /// Items requested per page.
    pub page_size: u32,
    /// More pages than this is an error, never a truncation.
    pub page_cap: u32,
    /// Bodies larger than this are refused.
    pub max_body_bytes: usize,
    pub extra_headers: Vec<(&'static str, &'static str)>,
    /// GitHub: remember `ETag`s in this file and send conditional GETs (`If-None-Match`);
    /// `None`: no conditional requests.
    pub etag_cache: Option<std::path::PathBuf>,
}

impl HttpSettings {
    pub fn new(api_base: Url, dialect: PageDialect) -> HttpSettings {
        HttpSettings {
            api_base,
            token: None,
            auth: match dialect {
                PageDialect::Gitea => AuthScheme::Token,
                PageDialect::GitHub => AuthScheme::Bearer,
            },
            dialect,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_retries: 4,
            retry_budget: Duration::from_secs(30),
            retry_min_delay: Duration::from_millis(250),
            rate_per_second: 50,
            rate_burst: 50,
            page_size: match dialect {
                PageDialect::Gitea => 50,
                PageDialect::GitHub => 100,
            },
            page_cap: 100,
            max_body_bytes: 32 * 1024 * 1024,
            extra_headers: Vec::new(),
            etag_cache: None,
        }
    }
}

/// Counters of one client's traffic.
#[derive(Debug, Default)]
pub struct ApiStats {
    requests: AtomicU64,
    pages: AtomicU64,
    retries: AtomicU64,
    not_modified: AtomicU64,
}

/// A snapshot of [`ApiStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApiCounts {
    /// HTTP requests sent (every attempt counts).
    pub requests: u64,
    /// Pages read by list reads.
    pub pages: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// Conditional GETs answered `304 Not Modified` (served from the ETag cache; GitHub
    /// does not count them against the primary rate limit).
    #[serde(default)]
    pub not_modified: u64,
}

/// A successful response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Refuses anything but `https://`, except `http://` to a loopback address.
pub fn check_url_scheme(url: &Url) -> Result<(), ForgeError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                None => false,
            };
            if loopback {
                Ok(())
            } else {
                Err(ForgeError::BadUrl {
                    url: url.to_string(),
                    reason: "plain http:// would send the token unencrypted; use https:// (http:// is accepted only for loopback addresses)".into(),
                })
            }
        }
        other => Err(ForgeError::BadUrl {
            url: url.to_string(),
            reason: format!("unsupported scheme {other:?}; use https://"),
        }),
    }
}

struct Inner {
    client: reqwest::Client,
    settings: HttpSettings,
    limiter: DefaultDirectRateLimiter,
    stats: ApiStats,
    etags: Option<super::etag::EtagCache>,
}

/// The shared client. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("api_base", &self.inner.settings.api_base.as_str())
            .field("token", &self.inner.settings.token)
            .finish()
    }
}

/// How one request is sent (the defaults: JSON, authenticated, redirects are errors).
#[derive(Debug, Clone, Copy)]
struct Opts {
    /// `Accept` override.
    accept: Option<&'static str>,
    /// Send the token.
    auth: bool,
    /// A 3xx answer is returned, not an error (its `Location` is the caller's to check).
    redirect_ok: bool,
}

impl Opts {
    const API: Opts = Opts {
        accept: None,
        auth: true,
        redirect_ok: false,
    };
}

impl HttpClient {
    pub fn new(settings: HttpSettings) -> Result<HttpClient, ForgeError> {
        check_url_scheme(&settings.api_base)?;
        let mut headers = HeaderMap::new();
        let accept = match settings.dialect {
            PageDialect::Gitea => "application/json",
            PageDialect::GitHub => "application/vnd.github+json",
        };
        headers.insert(reqwest::header::ACCEPT, HeaderValue::from_static(accept));
        if settings.dialect == PageDialect::GitHub {
            headers.insert(
                "X-GitHub-Api-Version",
                HeaderValue::from_static("2022-11-28"),
            );
        }
        for (k, v) in &settings.extra_headers {
            headers.insert(*k, HeaderValue::from_static(v));
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("mergeward/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            // Redirects could carry the Authorization header elsewhere; we follow none.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ForgeError::BadUrl {
                url: settings.api_base.to_string(),
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        let per_second =
            NonZeroU32::new(settings.rate_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(settings.rate_burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst));
        let etags = match (&settings.etag_cache, settings.dialect) {
            (Some(path), PageDialect::GitHub) => Some(super::etag::EtagCache::load(path)),
            _ => None,
        };
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                settings,
                limiter,
                stats: ApiStats::default(),
                etags,
            }),
        })
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.inner.settings
    }

    pub fn counts(&self) -> ApiCounts {
        let s = &self.inner.stats;
        ApiCounts {
            requests: s.requests.load(Ordering::Relaxed),
            pages: s.pages.load(Ordering::Relaxed),
            retries: s.retries.load(Ordering::Relaxed),
            not_modified: s.not_modified.load(Ordering::Relaxed),
        }
    }

    /// Writes the ETag cache back (a no-op without one).
    pub fn save_cache(&self) -> Result<(), String> {
        match &self.inner.etags {
            Some(c) => c.save(),
            None => Ok(()),
        }
    }

    /// Builds an endpoint URL from path segments. A segment may contain `/` (branch names);
    /// each part is percent-encoded.
    pub fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.settings.api_base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty();
            for seg in segments {
                for part in seg.split('/') {
                    segs.push(part);
                }
            }
        }
        url
    }

    /// A GET with retries (transport errors, 5xx, 429, rate-limited 403) within the budget.
    pub async fn get_raw(&self, url: &Url) -> Result<RawResponse, ForgeError> {
        self.get_with(url, Opts::API).await
    }

    /// A plain-text GET on the forge's own origin, with the token (a job log through the API
    /// or the web UI's `/logs` route). Any other origin is refused: the URL may come from a
    /// status's `target_url`, which anyone who can post a status controls.
    pub async fn get_text_on_forge(&self, url: &Url) -> Result<RawResponse, ForgeError> {
        if url.origin() != self.inner.settings.api_base.origin() {
            return Err(ForgeError::BadUrl {
                url: url.to_string(),
                reason: "not on the forge's host; mergeward sends its token only to the forge"
                    .into(),
            });
        }
        self.get_with(
            url,
            Opts {
                accept: Some("text/plain"),
                auth: true,
                redirect_ok: false,
            },
        )
        .await
    }

    /// A GET (with the token) whose answer must be a redirect; returns its target.
    pub async fn get_redirect(&self, url: &Url) -> Result<Url, ForgeError> {
        let resp = self
            .get_with(
                url,
                Opts {
                    accept: None,
                    auth: true,
                    redirect_ok: true,
                },
            )
            .await?;
        let bad = |detail: String| ForgeError::Decode {
            method: "GET".into(),
            path: display_path(url),
            detail,
        };
        if !resp.status.is_redirection() {
            return Err(bad(format!(
                "expected a redirect to the download, got HTTP {}",
                resp.status.as_u16()
            )));
        }
        let location = resp
            .header("location")
            .ok_or_else(|| bad("a redirect without a Location header".into()))?;
        let target = url
            .join(location)
            .map_err(|e| bad(format!("the redirect target is not a URL: {e}")))?;
        check_url_scheme(&target)?;
        Ok(target)
    }

    /// A plain-text GET **without** the token (a pre-signed download URL on another host).
    /// One attempt: the URL's query is a short-lived credential that retry logs would print.
    pub async fn get_text_unauthenticated(&self, url: &Url) -> Result<RawResponse, ForgeError> {
        check_url_scheme(url)?;
        self.attempt_with(
            &Method::GET,
            url,
            None,
            Opts {
                accept: Some("text/plain"),
                auth: false,
                redirect_ok: false,
            },
        )
        .await
    }

    /// A GET of one JSON document.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, ForgeError> {
        let resp = self.get_raw(url).await?;
        decode("GET", url, &resp.body)
    }

    /// A GET whose 404 means "absent".
    pub async fn get_json_optional<T: DeserializeOwned>(
        &self,
        url: &Url,
    ) -> Result<Option<T>, ForgeError> {
        match self.get_raw(url).await {
            Ok(resp) => decode("GET", url, &resp.body).map(Some),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A mutating request. Never retried: a lost answer must be resolved by re-reading.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<RawResponse, ForgeError> {
        self.attempt(&method, url, body).await
    }
}

fn decode<T: DeserializeOwned>(method: &str, url: &Url, body: &[u8]) -> Result<T, ForgeError> {
    serde_json::from_slice(body).map_err(|e| ForgeError::Decode {
        method: method.to_string(),
        path: display_path(url),
        detail: format!("invalid JSON: {e}"),
    })
}

/// Path and query of a URL, for messages (never contains the token: it travels in a header).
pub fn display_path(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_http_only() {
        for ok in [
            "https://example.com",
            "http://127.0.0.1:3000",
            "http://localhost",
            "http://[::1]:8080",
            "http://127.1.2.3",
        ] {
            assert!(check_url_scheme(&Url::parse(ok).unwrap()).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "ftp://example.com",
            "http://localhost.evil.com",
        ] {
            assert!(
                check_url_scheme(&Url::parse(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
    }
}
