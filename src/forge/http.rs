//! The shared HTTP client: authentication, timeouts, client-side rate limiting, retries of
//! idempotent reads, complete pagination, and token redaction. Both forge dialects use it.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::error::{ForgeError, PaginationProblem, TransportKind};

/// A secret (API token). Its `Debug` never shows the value and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the secret in `text` by `***`.
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() < 4 {
            // Too short to search for without mangling ordinary text; such a token is
            // rejected by the config layer anyway.
            return text.to_string();
        }
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

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

/// A GET that is one page of a list.
struct PageRead {
    items: Vec<Value>,
    total: Option<u64>,
    next: Option<Url>,
    has_link: bool,
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

    /// Replaces the token in `text` by `***` (also used on job logs before they are grepped).
    pub(crate) fn redact(&self, text: &str) -> String {
        match &self.inner.settings.token {
            Some(t) => t.redact(text),
            None => text.to_string(),
        }
    }

    /// One attempt, no retry.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<RawResponse, ForgeError> {
        self.attempt_with(method, url, body, Opts::API).await
    }

    async fn attempt_with(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        opts: Opts,
    ) -> Result<RawResponse, ForgeError> {
        let inner = &self.inner;
        inner.limiter.until_ready().await;
        inner.stats.requests.fetch_add(1, Ordering::Relaxed);
        let mut req = inner.client.request(method.clone(), url.clone());
        if let Some(accept) = opts.accept {
            req = req.header(reqwest::header::ACCEPT, accept);
        }
        if let Some(token) = inner.settings.token.as_ref().filter(|_| opts.auth) {
            let scheme = match inner.settings.auth {
                AuthScheme::Token => "token",
                AuthScheme::Bearer => "Bearer",
            };
            let mut value = HeaderValue::from_str(&format!("{scheme} {}", token.expose()))
                .map_err(|_| ForgeError::BadUrl {
                    url: url.to_string(),
                    reason: "the token contains characters that cannot be sent in an HTTP header"
                        .into(),
                })?;
            value.set_sensitive(true);
            req = req.header(reqwest::header::AUTHORIZATION, value);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        // Conditional GET of a JSON API resource (GitHub, with a cache file).
        let conditional = (*method == Method::GET && opts.auth && opts.accept.is_none())
            .then_some(inner.etags.as_ref())
            .flatten();
        let cached = conditional.and_then(|c| c.get(url.as_str()));
        if let Some(c) = &cached
            && let Ok(v) = HeaderValue::from_str(&c.etag)
        {
            req = req.header(reqwest::header::IF_NONE_MATCH, v);
        }
        let path = display_path(url);
        let transport = |e: reqwest::Error| ForgeError::Transport {
            method: method.to_string(),
            path: path.clone(),
            kind: if e.is_timeout() {
                TransportKind::Timeout
            } else if e.is_connect() {
                TransportKind::Connect
            } else {
                TransportKind::Other
            },
            detail: self.redact(&error_chain(&e)),
            attempts: 1,
        };
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > inner.settings.max_body_bytes {
                return Err(ForgeError::Decode {
                    method: method.to_string(),
                    path,
                    detail: format!(
                        "response body larger than {} bytes",
                        inner.settings.max_body_bytes
                    ),
                });
            }
            body.extend_from_slice(&chunk);
        }
        if status == StatusCode::NOT_MODIFIED
            && let Some(c) = cached
        {
            // Unchanged since the cached answer: that answer is this one, page links included.
            inner.stats.not_modified.fetch_add(1, Ordering::Relaxed);
            let mut headers = HeaderMap::new();
            for (name, value) in [("link", &c.link), ("x-total-count", &c.total)] {
                if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                    headers.insert(name, v);
                }
            }
            return Ok(RawResponse {
                status: StatusCode::OK,
                headers,
                body: c.body.into_bytes(),
            });
        }
        if status.is_success()
            && let Some(cache) = conditional
            && let Some(etag) = headers
                .get(reqwest::header::ETAG)
                .and_then(|v| v.to_str().ok())
            && let Ok(text) = std::str::from_utf8(&body)
        {
            let h = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            cache.put(
                url.as_str(),
                super::etag::Cached {
                    etag: etag.to_string(),
                    body: text.to_string(),
                    link: h("link"),
                    total: h("x-total-count"),
                },
            );
        }
        if status.is_success() || (opts.redirect_ok && status.is_redirection()) {
            return Ok(RawResponse {
                status,
                headers,
                body,
            });
        }
        let snippet_bytes = &body[..body.len().min(300)];
        let snippet = self.redact(String::from_utf8_lossy(snippet_bytes).trim());
        let (retry_after, rate_limited) =
            rate_hint(status, &headers, &body, inner.settings.dialect);
        Err(ForgeError::Http {
            method: method.to_string(),
            path,
            status: status.as_u16(),
            snippet,
            retry_after,
            rate_limited,
            attempts: 1,
        })
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

    async fn get_with(&self, url: &Url, opts: Opts) -> Result<RawResponse, ForgeError> {
        let settings = &self.inner.settings;
        let started = Instant::now();
        let budget = settings.retry_budget;
        let attempts = std::sync::atomic::AtomicU32::new(0);
        let backoff = ExponentialBuilder::default()
            .with_min_delay(settings.retry_min_delay)
            .with_max_delay(Duration::from_secs(10))
            .with_max_times(settings.max_retries as usize)
            .with_jitter();
        let result = (|| async {
            attempts.fetch_add(1, Ordering::Relaxed);
            self.attempt_with(&Method::GET, url, None, opts).await
        })
        .retry(backoff)
        .when(ForgeError::is_retryable)
        .adjust(|err, next| {
            // `next` is None once the retry count is used up: stop then.
            let planned = next?;
            let wait = match err {
                ForgeError::Http {
                    retry_after: Some(hint),
                    ..
                } => *hint,
                _ => planned,
            };
            (started.elapsed() + wait <= budget).then_some(wait)
        })
        .notify(|err, wait| {
            self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %err, wait_ms = wait.as_millis() as u64, "retrying GET");
        })
        .sleep(tokio::time::sleep)
        .await;
        result.map_err(|mut e| {
            e.set_attempts(attempts.load(Ordering::Relaxed));
            e
        })
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

    /// Reads a whole list: every page, or an error. `wrapped` names the array field of a
    /// wrapped list (`{"total_count": n, "check_runs": [...]}`); `key` identifies an item so
    /// that a repeat across pages is detected.
    pub async fn get_all(
        &self,
        url: &Url,
        wrapped: Option<&str>,
        key: fn(&Value) -> Option<String>,
    ) -> Result<Vec<Value>, ForgeError> {
        let settings = &self.inner.settings;
        let path = display_path(url);
        let perr = |problem| ForgeError::Pagination {
            path: path.clone(),
            problem,
        };
        let mut items: Vec<Value> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut announced: Option<u64> = None;
        let mut largest_page = 0usize;
        let mut next_url = Some(self.page_url(url, 1));
        let mut page_no: u32 = 0;
        while let Some(current) = next_url.take() {
            page_no += 1;
            if page_no > settings.page_cap {
                return Err(perr(PaginationProblem::PageCap {
                    cap: settings.page_cap,
                }));
            }
            let page = self.read_page(&current, page_no, wrapped, &path).await?;
            self.inner.stats.pages.fetch_add(1, Ordering::Relaxed);
            match (announced, page.total) {
                (None, Some(t)) => announced = Some(t),
                (Some(first), Some(later)) if first != later => {
                    return Err(perr(PaginationProblem::TotalChanged { first, later }));
                }
                _ => {}
            }
            let n = page.items.len();
            largest_page = largest_page.max(n);
            for item in page.items {
                if let Some(k) = key(&item)
                    && !seen.insert(k.clone())
                {
                    return Err(perr(PaginationProblem::RepeatedItem {
                        page: page_no,
                        key: k,
                    }));
                }
                items.push(item);
            }
            let collected = items.len() as u64;
            let done = if let Some(total) = announced {
                // An announced total decides; a clamped page size just means more pages.
                collected >= total || n == 0
            } else if page.has_link {
                if page.next.is_some() && n == 0 {
                    return Err(perr(PaginationProblem::EmptyPageWithNext { page: page_no }));
                }
                page.next.is_none()
            } else if settings.dialect == PageDialect::GitHub {
                // GitHub sends `Link` on every page of a list that has more than one: an
                // answer without it is the only page (no request for a page that cannot exist).
                true
            } else {
                // No total, no links: a page shorter than the largest seen, or empty, ends it.
                n == 0 || n < largest_page
            };
            if done {
                if let Some(total) = announced
                    && total != collected
                {
                    return Err(perr(PaginationProblem::TotalMismatch {
                        expected: total,
                        collected,
                    }));
                }
                return Ok(items);
            }
            next_url = Some(match (settings.dialect, page.next) {
                (PageDialect::GitHub, Some(link)) => {
                    if link.origin() != url.origin() {
                        return Err(perr(PaginationProblem::ForeignLink {
                            link: link.to_string(),
                        }));
                    }
                    link
                }
                _ => self.page_url(url, page_no + 1),
            });
        }
        Ok(items)
    }

    /// [`get_all`](Self::get_all), then each item decoded.
    pub async fn get_all_as<T: DeserializeOwned>(
        &self,
        url: &Url,
        wrapped: Option<&str>,
        key: fn(&Value) -> Option<String>,
    ) -> Result<Vec<T>, ForgeError> {
        let values = self.get_all(url, wrapped, key).await?;
        values
            .into_iter()
            .map(|v| {
                serde_json::from_value(v).map_err(|e| ForgeError::Decode {
                    method: "GET".into(),
                    path: display_path(url),
                    detail: format!("list item: {e}"),
                })
            })
            .collect()
    }

    fn page_url(&self, url: &Url, page: u32) -> Url {
        let settings = &self.inner.settings;
        let size_param = match settings.dialect {
            PageDialect::Gitea => "limit",
            PageDialect::GitHub => "per_page",
        };
        let mut u = url.clone();
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "page" && k != size_param)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut q = u.query_pairs_mut();
            q.clear();
            for (k, v) in &kept {
                q.append_pair(k, v);
            }
            q.append_pair("page", &page.to_string());
            q.append_pair(size_param, &settings.page_size.to_string());
        }
        u
    }

    async fn read_page(
        &self,
        url: &Url,
        page_no: u32,
        wrapped: Option<&str>,
        path: &str,
    ) -> Result<PageRead, ForgeError> {
        let resp = self.get_raw(url).await?;
        let not_a_list = || ForgeError::Pagination {
            path: path.to_string(),
            problem: PaginationProblem::NotAList { page: page_no },
        };
        let value: Value = decode("GET", url, &resp.body)?;
        let (items, body_total) = match (wrapped, value) {
            (None, Value::Array(items)) => (items, None),
            (Some(field), Value::Object(mut obj)) => {
                let total = obj.get("total_count").and_then(Value::as_u64);
                match obj.remove(field) {
                    Some(Value::Array(items)) => (items, total),
                    _ => return Err(not_a_list()),
                }
            }
            _ => return Err(not_a_list()),
        };
        let header_total = match resp.header("x-total-count") {
            None => None,
            Some(s) => Some(s.trim().parse::<u64>().map_err(|_| ForgeError::Decode {
                method: "GET".into(),
                path: path.to_string(),
                detail: format!("X-Total-Count is not a number: {s:?}"),
            })?),
        };
        let link = resp.header("link");
        let next = link.and_then(|l| next_link(l, url));
        Ok(PageRead {
            items,
            total: header_total.or(body_total),
            next,
            has_link: link.is_some(),
        })
    }
}

/// The `rel="next"` target of a `Link` header, resolved against `base`.
pub fn next_link(header: &str, base: &Url) -> Option<Url> {
    header.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let target = pieces.next()?.trim();
        let target = target.strip_prefix('<')?.strip_suffix('>')?;
        let is_next = pieces.any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        if is_next {
            base.join(target).ok()
        } else {
            None
        }
    })
}

/// GitHub's minimum wait after a secondary rate limit that names no time ("wait at least
/// one minute", rate-limits-for-the-rest-api.md).
pub const GITHUB_SECONDARY_WAIT: Duration = Duration::from_secs(60);

/// Whether a 403/429 body is GitHub's documented secondary-rate-limit answer. GitHub
/// identifies these only by their message, so this is the one place a body is classified.
fn is_secondary_rate_limit(status: StatusCode, body: &[u8]) -> bool {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return false;
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| text.into_owned());
    message
        .to_ascii_lowercase()
        .contains("secondary rate limit")
}

/// Wait hint and rate-limit flag from a failed response: `Retry-After`, else
/// `x-ratelimit-reset` when `x-ratelimit-remaining` is 0, else (GitHub, rate-limited) at
/// least [`GITHUB_SECONDARY_WAIT`].
fn rate_hint(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    dialect: PageDialect,
) -> (Option<Duration>, bool) {
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    let retry_after = get("retry-after").and_then(|v| {
        v.parse::<u64>().ok().map(Duration::from_secs).or_else(|| {
            httpdate::parse_http_date(v).ok().map(|t| {
                t.duration_since(std::time::SystemTime::now())
                    .unwrap_or_default()
            })
        })
    });
    let exhausted = get("x-ratelimit-remaining") == Some("0");
    let reset_wait = if exhausted {
        get("x-ratelimit-reset")
            .and_then(|v| v.parse::<u64>().ok())
            .map(|reset| {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                Duration::from_secs(reset.saturating_sub(now) + 1)
            })
    } else {
        None
    };
    let secondary = dialect == PageDialect::GitHub && is_secondary_rate_limit(status, body);
    let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN && (retry_after.is_some() || exhausted || secondary));
    let floor = (rate_limited && dialect == PageDialect::GitHub).then_some(GITHUB_SECONDARY_WAIT);
    (retry_after.or(reset_wait).or(floor), rate_limited)
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

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
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

    #[test]
    fn link_header_next() {
        let base = Url::parse("https://api.github.com/repos/o/r/pulls").unwrap();
        let h = r#"<https://api.github.com/repos/o/r/pulls?page=2>; rel="next", <https://api.github.com/repos/o/r/pulls?page=5>; rel="last""#;
        assert_eq!(
            next_link(h, &base).unwrap().as_str(),
            "https://api.github.com/repos/o/r/pulls?page=2"
        );
        assert!(next_link(r#"<https://x/?page=1>; rel="prev""#, &base).is_none());
        assert!(next_link("garbage", &base).is_none());
    }

    #[test]
    fn secret_debug_and_redaction() {
        let s = Secret::new("tok-12345");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.redact("a tok-12345 b"), "a *** b");
    }

    #[test]
    fn rate_hints() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(
            rate_hint(StatusCode::TOO_MANY_REQUESTS, &h, b"", PageDialect::Gitea),
            (Some(Duration::from_secs(2)), true)
        );
        let h = HeaderMap::new();
        assert_eq!(
            rate_hint(StatusCode::FORBIDDEN, &h, b"", PageDialect::GitHub),
            (None, false)
        );
        // GitHub's secondary limit: 403, quota left, no Retry-After: at least a minute.
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("4000"));
        let body = br#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}"#;
        assert_eq!(
            rate_hint(StatusCode::FORBIDDEN, &h, body, PageDialect::GitHub),
            (Some(GITHUB_SECONDARY_WAIT), true)
        );
        // A permission 403 stays a permission 403.
        let body = br#"{"message":"Resource not accessible by integration"}"#;
        assert_eq!(
            rate_hint(StatusCode::FORBIDDEN, &h, body, PageDialect::GitHub),
            (None, false)
        );
    }
}
