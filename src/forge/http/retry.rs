//! Sending a request: one attempt (rate limiter, token, redirect policy, typed errors),
//! and GETs retried with jittered exponential backoff within the budget, taking the
//! server's `Retry-After` / `x-ratelimit-reset` (or GitHub's secondary-limit wait) instead.
//! Mutations are never retried.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use url::Url;

use crate::forge::error::{ForgeError, TransportKind};

use super::{AuthScheme, HttpClient, Opts, PageDialect, RawResponse, display_path};

impl HttpClient {
    /// One attempt, no retry.
    pub(super) async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<RawResponse, ForgeError> {
        self.attempt_with(method, url, body, Opts::API).await
    }

    pub(super) async fn attempt_with(
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
                crate::forge::etag::Cached {
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

    pub(super) async fn get_with(&self, url: &Url, opts: Opts) -> Result<RawResponse, ForgeError> {
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
