//! Job logs behind a status, for the pre-flip verifier (`gate flips`).
//!
//! * Gitea ≥ 1.26: the status `target_url` is `<repo>/actions/runs/<runID>/jobs/<jobID>`
//!   and the log is `GET /repos/{o}/{r}/actions/jobs/{jobID}/logs` (the API exists from
//!   1.24, but before 1.26 the link carries the run and job *index*, not the job id that the
//!   API wants — go-gitea/gitea#36842 — so 1.24 and 1.25 use the web route).
//! * Gitea < 1.26 and Forgejo: the web UI's `<target_url>/logs` route, with the token.
//! * GitHub: a check run of GitHub Actions has the job's id; `GET …/actions/jobs/{id}/logs`
//!   answers 302 to a pre-signed URL on another host, fetched **without** the token.
//!
//! The token is only ever sent to the forge's own origin: a `target_url` on another host,
//! or one that is not an Actions job link of this repository, is "log unavailable" — which
//! the verifier treats as unverifiable (fail-closed), never as clean.

use std::future::Future;

use url::Url;

use super::error::ForgeError;
use super::types::{Capabilities, ForgeKind, ReportKind, StatusReport};
use super::{AnyForge, Forge, GitHubForge, GiteaForge};

/// A job's log, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobLog {
    Text(String),
    Unavailable {
        why: String,
        /// The forge could not be read (transport, 5xx, 401/403), as opposed to a decided
        /// absence (no link, 404, expired).
        read_error: bool,
    },
}

impl JobLog {
    fn unavailable(why: impl Into<String>) -> JobLog {
        JobLog::Unavailable {
            why: why.into(),
            read_error: false,
        }
    }

    fn from_error(what: &str, e: &ForgeError) -> JobLog {
        let read_error = !gone(e);
        let why = match e.status() {
            Some(404 | 410) => format!(
                "{what}: HTTP {} (the job never started, or its logs expired)",
                e.status().unwrap_or(404)
            ),
            Some(401 | 403) => format!(
                "{what}: {e} — the token cannot read Actions logs (Gitea: repository read access; GitHub: actions:read, or `repo` for classic tokens on private repositories)"
            ),
            _ => format!("{what}: {e}"),
        };
        JobLog::Unavailable { why, read_error }
    }
}

/// A 404/410: the log is decidedly absent (never started, expired), not unreadable.
fn gone(e: &ForgeError) -> bool {
    matches!(e.status(), Some(404 | 410))
}

/// Reading job logs.
pub trait ForgeLogs: Send + Sync {
    /// The log of the job that posted `report`. `caps` are the server's capabilities.
    fn job_log(
        &self,
        report: &StatusReport,
        caps: &Capabilities,
    ) -> impl Future<Output = JobLog> + Send;
}

/// An Actions job link of this repository: `(run, job)` as written in the link.
fn gitea_job_link(web: &Url, owner: &str, repo: &str, target: &Url) -> Option<(String, String)> {
    if target.origin() != web.origin() {
        return None;
    }
    let base = web.path().trim_end_matches('/');
    let rest = target.path().strip_prefix(base)?;
    let segs: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let segs = match segs.as_slice() {
        [head @ .., "logs"] => head,
        all => all,
    };
    match segs {
        [o, r, "actions", "runs", run, "jobs", job]
            if o.eq_ignore_ascii_case(owner)
                && r.eq_ignore_ascii_case(repo)
                && !run.is_empty()
                && run.bytes().all(|b| b.is_ascii_digit())
                && !job.is_empty()
                && job.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some((run.to_string(), job.to_string()))
        }
        _ => None,
    }
}

/// The web root of a Gitea API base (`https://host/sub/api/v1` → `https://host/sub/`).
pub fn gitea_web_base(api_base: &Url) -> Url {
    let mut web = api_base.clone();
    let path = api_base.path().trim_end_matches('/');
    let root = path.strip_suffix("/api/v1").unwrap_or(path);
    web.set_path(&format!("{root}/"));
    web.set_query(None);
    web
}

/// A log body, or why it is not one: an empty body or an HTML page (a login or proxy page
/// answering 200) proves nothing and must not read as a clean log.
fn log_of(http: &super::http::HttpClient, resp: &super::http::RawResponse) -> JobLog {
    let html = resp
        .header("content-type")
        .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("text/html"));
    if html {
        return JobLog::unavailable(
            "the answer is an HTML page, not a log (a login or proxy page?)",
        );
    }
    let text = String::from_utf8_lossy(&resp.body);
    if text.trim().is_empty() {
        return JobLog::unavailable("the log is empty");
    }
    JobLog::Text(http.redact(&text))
}

impl ForgeLogs for GiteaForge {
    async fn job_log(&self, report: &StatusReport, caps: &Capabilities) -> JobLog {
        let raw = report.target_url.as_deref().unwrap_or("").trim();
        if raw.is_empty() {
            return JobLog::unavailable("the status has no target_url");
        }
        let web = gitea_web_base(&self.http().settings().api_base);
        let Ok(target) = web.join(raw) else {
            return JobLog::unavailable(format!("target_url {raw:?} is not a URL"));
        };
        let repo = self.repo();
        let Some((run, job)) = gitea_job_link(&web, &repo.owner, &repo.name, &target) else {
            return JobLog::unavailable(format!(
                "target_url {raw:?} is not an Actions job link of {repo} on this forge (the token is sent only to the forge's own job links)"
            ));
        };
        let api = caps.kind == ForgeKind::Gitea
            && caps.gitea_api.is_some_and(|(a, b, _)| (a, b) >= (1, 26));
        let url = if api {
            self.repo_url(&["actions", "jobs", &job, "logs"])
        } else {
            let mut u = web.clone();
            if let Ok(mut segs) = u.path_segments_mut() {
                segs.pop_if_empty();
                for s in [
                    repo.owner.as_str(),
                    repo.name.as_str(),
                    "actions",
                    "runs",
                    &run,
                    "jobs",
                    &job,
                    "logs",
                ] {
                    segs.push(s);
                }
            }
            u
        };
        match self.http().get_text_on_forge(&url).await {
            Ok(resp) => log_of(self.http(), &resp),
            Err(e) => JobLog::from_error(&format!("GET {}", url.path()), &e),
        }
    }
}

impl ForgeLogs for GitHubForge {
    async fn job_log(&self, report: &StatusReport, _caps: &Capabilities) -> JobLog {
        if report.kind != ReportKind::CheckRun {
            return JobLog::unavailable(
                "a commit status (not a GitHub Actions check run) has no job log",
            );
        }
        let id = report.id.to_string();
        let url = self.repo_url(&["actions", "jobs", &id, "logs"]);
        let signed = match self.http().get_redirect(&url).await {
            Ok(u) => u,
            Err(e) => return JobLog::from_error(&format!("GET {}", url.path()), &e),
        };
        match self.http().get_text_unauthenticated(&signed).await {
            Ok(resp) => log_of(self.http(), &resp),
            // The signed URL's query is a credential: name only its host.
            Err(e) => JobLog::Unavailable {
                why: format!(
                    "the log download on {} (the 302 of GET {}) failed: {}",
                    signed.host_str().unwrap_or("?"),
                    url.path(),
                    e.status()
                        .map(|s| format!("HTTP {s}"))
                        .unwrap_or_else(|| "no answer".into())
                ),
                read_error: !gone(&e),
            },
        }
    }
}

impl ForgeLogs for AnyForge {
    async fn job_log(&self, report: &StatusReport, caps: &Capabilities) -> JobLog {
        match self {
            AnyForge::Gitea(f) => f.job_log(report, caps).await,
            AnyForge::GitHub(f) => f.job_log(report, caps).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn web_base_strips_the_api_suffix_and_keeps_a_sub_path() {
        assert_eq!(
            gitea_web_base(&u("https://git.example/api/v1")).as_str(),
            "https://git.example/"
        );
        assert_eq!(
            gitea_web_base(&u("https://h/gitea/api/v1/")).as_str(),
            "https://h/gitea/"
        );
    }

    #[test]
    fn only_job_links_of_this_repository_on_this_host_are_followed() {
        let web = u("https://h/sub/");
        let ok = |s: &str| gitea_job_link(&web, "acme", "w", &web.join(s).unwrap());
        assert_eq!(
            ok("/sub/acme/w/actions/runs/12/jobs/3"),
            Some(("12".into(), "3".into()))
        );
        assert_eq!(
            ok("https://h/sub/ACME/w/actions/runs/12/jobs/3/logs"),
            Some(("12".into(), "3".into()))
        );
        assert_eq!(
            ok("https://evil.example/sub/acme/w/actions/runs/1/jobs/0"),
            None
        );
        assert_eq!(ok("/sub/other/w/actions/runs/1/jobs/0"), None);
        assert_eq!(ok("/sub/acme/w/actions/runs/1"), None);
        assert_eq!(ok("/sub/acme/w/actions/runs/x/jobs/0"), None);
        assert_eq!(ok("/acme/w/actions/runs/1/jobs/0"), None);
        assert_eq!(ok("/sub/acme/w/settings"), None);
    }
}
