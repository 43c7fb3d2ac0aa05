//! Job logs in the simulated forge, served the three ways the real forges serve them:
//!
//! * Gitea ≥ 1.24 API `GET /api/v1/repos/{o}/{r}/actions/jobs/{job_id}/logs` → 200 text
//!   (not Forgejo; 404 on older versions, as the route does not exist there);
//! * the Gitea/Forgejo web UI route `GET /{o}/{r}/actions/runs/{run}/jobs/{job}/logs` (not
//!   an API route: it is not in the API descriptions) → 200 text, for a token with read
//!   access;
//! * GitHub `GET /repos/{o}/{r}/actions/jobs/{job_id}/logs` → 302 to a pre-signed URL on the
//!   simulator (`/_sim/signed-logs/{job_id}`) that refuses any `Authorization` header, as
//!   blob storage does, so a client forwarding its token fails.

use serde::{Deserialize, Serialize};

use super::Dialect;
use super::http::{Req, Resp, dialect_err};
use super::scenario::{ForgeKind, Permission};
use super::state::SimState;

/// One job's log: `run`/`job` as they appear in a Gitea status `target_url`
/// (`…/actions/runs/{run}/jobs/{job}`); `job` is also the job id the APIs take (the check
/// run id on GitHub).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobLogSpec {
    #[serde(default)]
    pub run: u64,
    pub job: u64,
    pub text: String,
}

/// The Gitea API route for job logs (1.24+; in the 1.26 API description, not in 1.22's).
pub(crate) const GITEA_API_ROUTE: (&str, &str) =
    ("GET", "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs");

/// Routes outside the API: the Gitea web UI log route and GitHub's pre-signed download.
pub(crate) const GITEA_WEB_ROUTES: &[(&str, &str)] =
    &[("GET", "/{owner}/{repo}/actions/runs/{run}/jobs/{job}/logs")];
pub(crate) const GITHUB_WEB_ROUTES: &[(&str, &str)] = &[("GET", "/_sim/signed-logs/{job_id}")];

fn text(body: &str) -> Resp {
    let mut r = Resp::empty(200);
    r.raw = Some(body.to_string());
    r.set_header("Content-Type", "text/plain; charset=utf-8");
    r
}

fn by_job<'a>(st: &'a SimState, job: &str) -> Option<&'a JobLogSpec> {
    let id: u64 = job.parse().ok()?;
    st.job_logs.iter().find(|l| l.job == id)
}

fn own_repo(st: &SimState, r: &Req) -> bool {
    r.param("owner").eq_ignore_ascii_case(&st.owner)
        && r.param("repo").eq_ignore_ascii_case(&st.name)
        && r.user
            .as_ref()
            .is_some_and(|u| u.perm() != Permission::None)
}

/// Gitea `GET …/actions/jobs/{job_id}/logs` (called after the repository checks).
pub(crate) fn gitea_api(st: &SimState, r: &Req) -> Resp {
    let has_route =
        st.forge == ForgeKind::Gitea && major_minor(&st.version).is_some_and(|v| v >= (1, 24));
    match by_job(st, r.param("job_id")) {
        Some(l) if has_route => text(&l.text),
        _ => dialect_err(
            Dialect::Gitea,
            &r.base_url,
            404,
            "The target couldn't be found.",
        ),
    }
}

/// The leading `major.minor` of a version string (`v` prefix and suffixes tolerated; a
/// missing minor is 0), as the simulated server compares its own version.
fn major_minor(version: &str) -> Option<(u64, u64)> {
    let core: String = version
        .trim()
        .trim_start_matches('v')
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = core.split('.').filter(|p| !p.is_empty());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    Some((major, minor))
}

/// GitHub `GET …/actions/jobs/{job_id}/logs` → 302 (called after the repository checks).
pub(crate) fn github_api(st: &SimState, r: &Req) -> Resp {
    match by_job(st, r.param("job_id")) {
        Some(l) => Resp::empty(302).header(
            "Location",
            format!(
                "{}/_sim/signed-logs/{}?sig=sim-{}&expires=60",
                r.base_url,
                l.job,
                super::fake_sha(&format!("log-sig:{}", l.job))
            ),
        ),
        None => dialect_err(Dialect::GitHub, &r.base_url, 404, "Not Found"),
    }
}

/// Routes outside the API.
pub(crate) fn web(st: &SimState, r: &Req, authorization: bool) -> Resp {
    match r.route {
        "/{owner}/{repo}/actions/runs/{run}/jobs/{job}/logs" => {
            if !own_repo(st, r) {
                return Resp::empty(404);
            }
            let (Ok(run), Ok(job)) = (r.param("run").parse::<u64>(), r.param("job").parse::<u64>())
            else {
                return Resp::empty(404);
            };
            match st.job_logs.iter().find(|l| l.run == run && l.job == job) {
                Some(l) => text(&l.text),
                None => Resp::empty(404),
            }
        }
        "/_sim/signed-logs/{job_id}" => {
            if authorization {
                let mut resp = Resp::empty(400);
                resp.raw = Some(
                    "<Error><Code>InvalidAuthenticationInfo</Code><Message>Authorization header is not allowed with a pre-signed URL</Message></Error>"
                        .into(),
                );
                return resp;
            }
            match (r.q("sig"), by_job(st, r.param("job_id"))) {
                (Some(sig), Some(l)) if sig.starts_with("sim-") => text(&l.text),
                _ => Resp::empty(403),
            }
        }
        _ => Resp::empty(404),
    }
}

#[cfg(test)]
mod tests {
    use super::major_minor;

    #[test]
    fn versions_compare_by_major_and_minor() {
        assert_eq!(major_minor("1.24.0"), Some((1, 24)));
        assert_eq!(major_minor("v1.26.3+dev"), Some((1, 26)));
        assert_eq!(major_minor("2"), Some((2, 0)));
        assert_eq!(major_minor("dev"), None);
        assert!(major_minor("1.22.6").is_some_and(|v| v < (1, 24)));
    }
}
