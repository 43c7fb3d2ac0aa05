//! The simulated forge: an in-process HTTP server speaking the Gitea (and Forgejo) and
//! GitHub REST dialects, backed by mutable [`SimState`], with request recording and
//! fault injection.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use mergeward_sim::*;
//! let sim = Sim::start(Scenario::gitea("acme/widgets").user("bot", "t0k", Permission::Write)
//!     .pr(PullSpec::new(1))).await?;
//! let head = sim.with_state(|s| s.pull(1).head_sha.clone());
//! # let _ = head; sim.shutdown().await; Ok(()) }
//! ```
//!
//! # Git mode, simulated CI and the logical clock
//!
//! **Git mode** ([`Scenario::git`], JSON `"git": true`; off by default, and scenarios
//! without it keep their synthetic SHAs) puts a real bare repository behind the scenario, in
//! a temporary directory the [`Sim`] owns and removes when it goes away. Every commit the
//! scenario declares is a real commit (author and committer `sim <sim@localhost>`, dated by
//! the logical clock, so a scenario with a fixed `epoch` has the same SHAs on every run):
//! the root commit writes `README.md`, generated commit `i` of branch `b` writes
//! `b/change-<i>.txt`, commit `i` of PR `n` writes `pr-<n>/change-<i>.txt` (so PRs do not
//! conflict), and [`PullSpec::file`] adds files to a PR's head commit (two PRs writing one
//! path differently conflict; so does a PR writing a path its base changed since the fork).
//! Each PR also has `refs/pull/<n>/head`. Every SHA in the state is git's, `mergeable` comes
//! from `git merge-tree --write-tree` (the `conflict` flag is refused in git mode), the merge
//! API makes a real commit (a merge commit for `merge` / `rebase-merge`, one commit on the
//! base with the merged tree for `squash` / `rebase`, the head for `fast-forward-only`), and
//! the update API merges the base into the head branch (409 on Gitea, 422 on GitHub on a real
//! conflict).
//!
//! The repository is served over smart HTTP at `{url}/{owner}/{repo}.git` (the `clone_url`
//! of both dialects) by `git http-backend`: `Authorization: Basic base64(<user>:<token>)`,
//! `token <token>` or `Bearer <token>`; otherwise 401 with `WWW-Authenticate: Basic
//! realm="sim"`. Fetching needs read, pushing write. A protected branch refuses pushes
//! (`remote: error: protected branch …`, `[remote rejected]`) unless the pusher may push —
//! Gitea: the rule's `enable_push` and, with [`ProtectionSpec::push_whitelist`], a listed
//! login; GitHub: an admin when the rule does not `enforce_admins`, or a login of
//! [`ProtectionSpec::push_bypass`] — and then takes fast-forwards only. Unprotected branches
//! take any push from a writer. After a push the state follows the repository: branches,
//! imported commits, PR heads (and `refs/pull/<n>/head`), a [`Mutation::Pushed`] per ref,
//! CI on each new head and, on GitHub only, each open PR whose head the push brought into
//! its base branch is merged (`merged_by` the pusher, [`Mutation::Merged`] with method
//! `push`). On Gitea the merge API's `Do: "manually-merged"` with `MergeCommitID` records
//! such a PR (also without git mode, on the synthetic graph). Git requests are not in
//! [`Sim::requests`] and faults do not apply to them. Drive `git` against a Sim from a
//! multi-threaded runtime or `spawn_blocking`: a git process waiting on the server must not
//! block the thread the server runs on.
//!
//! **Simulated CI** ([`Scenario::ci`] with a [`CiSpec`], in either mode) runs on every push
//! to a branch — git pushes, the merge and update APIs, the state helpers
//! ([`SimState::push_to_pr`], [`SimState::push_commit`], [`SimState::set_branch_head`]) —
//! and, with `on_setup`, on the scenario's branch heads: `pending` at once, the result
//! (`failure` for a commit containing a [`PullSpec::breaking`] PR's head, else a
//! deterministic flake draw, else `success`) when the clock reaches the due time.
//!
//! **The logical clock** starts at the scenario's `epoch` and moves one second per recorded
//! event; [`Sim::advance`] (or [`SimState::advance`]) moves it further and posts the CI
//! results now due, dated at their due time. Due results are also posted before each request
//! is answered, and never before their time. [`Sim::ci_runs`] lists the runs started.

mod faults;
mod files;
mod git;
mod gitea;
mod github;
mod http;
pub mod issues;
mod logs;
mod record;
mod scenario;
mod state;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::watch;

pub use faults::{CallMatch, Fault, FaultAction};
pub use files::FileSpec;
pub use git::ZERO_SHA;
pub use logs::JobLogSpec;
pub use record::{Mutation, RecordedRequest};
pub use scenario::*;
pub use state::SimState;
/// State model types (commits, statuses, pull requests, ...).
pub mod model {
    pub use super::state::{
        BranchProtection, CheckRun, CiRun, Comment, Commit, CommitStatus, Label, Paging,
        PullRequest, Review, Ruleset, User,
    };
}

use faults::FaultSet;
use http::{Req, Resp};

/// The REST dialect a sim speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// Gitea and Forgejo (`/api/v1`).
    Gitea,
    /// GitHub (API at the root).
    GitHub,
}

/// Routes served by a dialect: `(METHOD, template)`. Gitea templates are relative to `/api/v1`.
/// Gitea routes newer than 1.22 are in [`newer_routes`].
pub fn routes(dialect: Dialect) -> Vec<(&'static str, &'static str)> {
    match dialect {
        Dialect::Gitea => gitea::ROUTES.to_vec(),
        Dialect::GitHub => github::ROUTES.to_vec(),
    }
}

/// API routes served only when the simulated version has them (Gitea ≥ 1.24 job logs);
/// they are in the Gitea 1.26 API description, not in 1.22's or Forgejo 11's.
pub fn newer_routes(dialect: Dialect) -> Vec<(&'static str, &'static str)> {
    match dialect {
        Dialect::Gitea => vec![logs::GITEA_API_ROUTE],
        Dialect::GitHub => Vec::new(),
    }
}

/// Routes outside the API (the web UI's log route, a pre-signed log download).
pub fn web_routes(dialect: Dialect) -> Vec<(&'static str, &'static str)> {
    match dialect {
        Dialect::Gitea => logs::GITEA_WEB_ROUTES.to_vec(),
        Dialect::GitHub => logs::GITHUB_WEB_ROUTES.to_vec(),
    }
}

/// Deterministic 40-hex-char pseudo SHA for a seed (FNV-1a + splitmix64 expansion).
pub fn fake_sha(seed: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut x = h;
    let mut next = || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (a, b, c) = (next(), next(), next());
    format!("{a:016x}{b:016x}{:08x}", c >> 32)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct Shared {
    dialect: Dialect,
    /// Git mode (API requests may run git).
    git: bool,
    base_url: String,
    state: Mutex<SimState>,
    faults: Mutex<FaultSet>,
    requests: Mutex<Vec<RecordedRequest>>,
    seq: AtomicU64,
    shutdown: watch::Receiver<bool>,
}

/// A running simulated forge. Dropping it stops the server (without waiting).
pub struct Sim {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Sim {
    /// Start on `127.0.0.1:0`.
    pub async fn start(scenario: Scenario) -> std::io::Result<Sim> {
        Sim::start_on(scenario, 0).await
    }

    /// Start on `127.0.0.1:port`.
    pub async fn start_on(scenario: Scenario, port: u16) -> std::io::Result<Sim> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://127.0.0.1:{}", addr.port());
        let invalid =
            |e: ScenarioError| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string());
        let state = if scenario.git {
            // Building a git-mode scenario runs git many times: off the async workers.
            let url = base_url.clone();
            tokio::task::spawn_blocking(move || SimState::from_scenario_at(&scenario, &url))
                .await
                .map_err(std::io::Error::other)?
                .map_err(invalid)?
        } else {
            SimState::from_scenario_at(&scenario, &base_url).map_err(invalid)?
        };
        let (stop, stop_rx) = watch::channel(false);
        let mut faults = FaultSet::default();
        for f in &state.initial_faults {
            faults.push(f.clone());
        }
        let shared = Arc::new(Shared {
            dialect: state.dialect,
            git: state.is_git(),
            base_url,
            state: Mutex::new(state),
            faults: Mutex::new(faults),
            requests: Mutex::new(Vec::new()),
            seq: AtomicU64::new(0),
            shutdown: stop_rx.clone(),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let mut graceful = stop_rx;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = graceful.wait_for(|v| *v).await;
                })
                .await;
        });
        Ok(Sim {
            shared,
            stop,
            task: Some(task),
        })
    }

    /// Server root, e.g. `http://127.0.0.1:41234` (Gitea clients append `/api/v1`).
    pub fn url(&self) -> String {
        self.shared.base_url.clone()
    }

    pub fn dialect(&self) -> Dialect {
        self.shared.dialect
    }

    /// All requests so far (in arrival order).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        let mut v = lock(&self.shared.requests).clone();
        v.sort_by_key(|r| r.seq);
        v
    }

    /// Forget recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    pub fn mutations(&self) -> Vec<Mutation> {
        lock(&self.shared.state).mutations.clone()
    }

    /// Drain the mutation log.
    pub fn take_mutations(&self) -> Vec<Mutation> {
        std::mem::take(&mut lock(&self.shared.state).mutations)
    }

    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Change the per-request latency at runtime.
    pub fn set_latency_ms(&self, ms: u64) {
        lock(&self.shared.state).latency_ms = ms;
    }

    /// Read or change the state (don't hold across awaits; the server blocks meanwhile).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut SimState) -> R) -> R {
        f(&mut lock(&self.shared.state))
    }

    /// Move the logical clock forward by `d` and post every simulated CI result now due
    /// (see [`SimState::advance`]).
    pub fn advance(&self, d: chrono::Duration) {
        lock(&self.shared.state).advance(d);
    }

    /// Every simulated CI run started so far (one per pushed commit and context), in start
    /// order; `len()` is the number of CI runs.
    pub fn ci_runs(&self) -> Vec<model::CiRun> {
        lock(&self.shared.state).ci_runs.clone()
    }

    /// The repository's clone URL, `{url}/{owner}/{repo}.git` (served in git mode).
    pub fn clone_url(&self) -> String {
        let st = lock(&self.shared.state);
        format!("{}/{}/{}.git", self.shared.base_url, st.owner, st.name)
    }

    /// Git mode: the bare repository's directory (removed when the Sim goes away).
    pub fn git_dir(&self) -> Option<std::path::PathBuf> {
        lock(&self.shared.state).git_dir()
    }

    /// Stop the server: ends hanging requests and waits (up to 2 s) for connections to close.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn sleep_or_shutdown(ms: u64, shutdown: &watch::Receiver<bool>) {
    let mut rx = shutdown.clone();
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
        _ = rx.wait_for(|v| *v) => {}
    }
}

fn authenticate(
    st: &SimState,
    dialect: Dialect,
    header: Option<&str>,
    query: &[(String, String)],
) -> Option<state::User> {
    let token = match header {
        Some(h) => {
            let (scheme, tok) = h.trim().split_once(' ')?;
            let ok = match dialect {
                // Gitea 1.22: `token` is case-sensitive, `bearer` case-insensitive.
                Dialect::Gitea => scheme == "token" || scheme.eq_ignore_ascii_case("bearer"),
                Dialect::GitHub => {
                    scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer")
                }
            };
            if !ok {
                return None;
            }
            tok.trim().to_string()
        }
        None if dialect == Dialect::Gitea => query
            .iter()
            .find(|(k, _)| k == "token" || k == "access_token")
            .map(|(_, v)| v.clone())?,
        None => return None,
    };
    st.user_by_token(&token).cloned()
}

fn finish(
    resp: Resp,
    dialect: Dialect,
    user: Option<&state::User>,
    st_rate: Option<(u64, u64, i64)>,
) -> Response {
    let mut b = Response::builder().status(resp.status);
    let body = match (&resp.raw, &resp.body) {
        (Some(raw), _) => raw.clone(),
        (None, Some(v)) => v.to_string(),
        (None, None) => String::new(),
    };
    let has_ct = resp.get_header("content-type").is_some();
    if !has_ct && !body.is_empty() {
        b = b.header(
            "Content-Type",
            match dialect {
                Dialect::Gitea => "application/json;charset=utf-8",
                Dialect::GitHub => "application/json; charset=utf-8",
            },
        );
    }
    if dialect == Dialect::GitHub {
        b = b.header("X-GitHub-Media-Type", "github.v3; format=json");
        if let Some((limit, used, reset)) = st_rate {
            b = b
                .header("X-RateLimit-Limit", limit)
                .header("X-RateLimit-Remaining", limit.saturating_sub(used))
                .header("X-RateLimit-Used", used)
                .header("X-RateLimit-Reset", reset)
                .header("X-RateLimit-Resource", "core");
        }
        if let Some(scopes) = user.and_then(|u| u.scopes.as_ref()) {
            b = b.header("X-OAuth-Scopes", scopes.join(", "));
        }
    }
    for (k, v) in &resp.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Body::from(body)).unwrap_or_else(|_| {
        let mut r = Response::new(Body::from("invalid fault header"));
        *r.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

fn array_slot(v: &mut Value) -> Option<&mut Vec<Value>> {
    if v.is_array() {
        return v.as_array_mut();
    }
    let key = ["check_runs", "statuses", "workflow_runs", "jobs"]
        .into_iter()
        .find(|k| v.get(*k).is_some_and(Value::is_array))?;
    v.get_mut(key).and_then(Value::as_array_mut)
}

fn apply_post_fault(resp: &mut Resp, action: &FaultAction) {
    match action {
        FaultAction::MalformedJson => {
            let full = resp
                .body
                .as_ref()
                .map(|b| b.to_string())
                .unwrap_or_else(|| "{\"message\":\"\"}".to_string());
            let mut cut = (full.len() / 2)
                .max(1)
                .min(full.len().saturating_sub(1))
                .max(1);
            while cut < full.len() && !full.is_char_boundary(cut) {
                cut += 1;
            }
            resp.raw = Some(full[..cut.min(full.len())].to_string());
            resp.status = 200;
        }
        FaultAction::TruncatePage { keep } => {
            if let Some(arr) = resp.body.as_mut().and_then(array_slot) {
                arr.truncate(*keep);
            }
        }
        FaultAction::WrongTotalCount { total } => {
            resp.set_header("X-Total-Count", total);
            if let Some(Value::Object(o)) = resp.body.as_mut()
                && o.contains_key("total_count")
            {
                o.insert("total_count".to_string(), Value::from(*total));
            }
        }
        FaultAction::NonArrayPage => {
            if let Some(items) = resp.body.take() {
                resp.body = Some(
                    serde_json::json!({"message": "simulated: object instead of a list", "items": items}),
                );
            }
            resp.status = 200;
        }
        _ => {}
    }
}

/// Run `f`, which may run git (git mode), where blocking does not stall the other tasks:
/// `block_in_place` on a multi-threaded runtime, inline otherwise.
fn blocking_if<R>(git: bool, f: impl FnOnce() -> R) -> R {
    let multi = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if git && multi {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

async fn handle(State(sh): State<Arc<Shared>>, req: Request) -> Response {
    if let Some(target) = git::http::route(req.method().as_str(), req.uri().path()) {
        return git::http::serve(sh, target, req).await;
    }
    let seq = sh.seq.fetch_add(1, Ordering::SeqCst) + 1;
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 32 << 20)
        .await
        .unwrap_or_default();
    let method = parts.method.as_str().to_ascii_uppercase();
    let mut path = parts.uri.path().to_string();
    // GitHub's pagination links address the repository by id: `/repositories/{id}/…`.
    if sh.dialect == Dialect::GitHub
        && let Some(rest) = path.strip_prefix("/repositories/")
    {
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let st = lock(&sh.state);
        if id.parse::<u64>().ok() == Some(st.repo_id) {
            path = format!("/repos/{}/{}/{tail}", st.owner, st.name);
        }
    }
    let query = http::parse_query(parts.uri.query().unwrap_or(""));
    let dialect = sh.dialect;
    let mut table = routes(dialect);
    table.extend(newer_routes(dialect));
    let api_path = match dialect {
        Dialect::Gitea => path.strip_prefix("/api/v1").filter(|p| p.starts_with('/')),
        Dialect::GitHub => Some(path.as_str()),
    };
    let mut matched = api_path.and_then(|p| http::match_route(&table, &method, p));
    let mut is_web = false;
    if matched.is_none() {
        matched = http::match_route(&web_routes(dialect), &method, &path);
        is_web = matched.is_some();
    }
    let route = matched.as_ref().map(|m| m.0);
    let body_json = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(serde_json::from_slice::<Value>(&bytes).map_err(|e| e.to_string()))
    };
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let if_none_match = parts
        .headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (user, latency) = {
        let st = lock(&sh.state);
        (authenticate(&st, dialect, auth, &query), st.latency_ms)
    };
    let fired = lock(&sh.faults).evaluate(&method, route, &query);
    let mut rec = RecordedRequest {
        seq,
        method: method.clone(),
        path: path.clone(),
        route: route.map(str::to_string),
        query: query.clone(),
        body: body_json.as_ref().and_then(|r| r.as_ref().ok().cloned()),
        status: 0,
        user: user.as_ref().map(|u| u.login.clone()),
    };
    let delay = latency.saturating_add(fired.delay_ms);
    if delay > 0 {
        sleep_or_shutdown(delay, &sh.shutdown).await;
    }
    if matches!(fired.action, Some(FaultAction::Hang)) {
        lock(&sh.requests).push(rec);
        sleep_or_shutdown(3_600_000, &sh.shutdown).await;
        return finish(
            http::dialect_err(dialect, &sh.base_url, 503, "simulator shutting down"),
            dialect,
            None,
            None,
        );
    }
    let mut rate = None;
    let resp = match &fired.action {
        Some(FaultAction::Status {
            code,
            body,
            headers,
        }) => {
            let mut r = match body {
                Some(b) => {
                    let mut r = Resp::empty(*code);
                    r.raw = Some(b.clone());
                    if serde_json::from_str::<Value>(b).is_ok() {
                        r.set_header("Content-Type", "application/json");
                    } else {
                        r.set_header("Content-Type", "text/plain; charset=utf-8");
                    }
                    r
                }
                None => {
                    let reason = axum::http::StatusCode::from_u16(*code)
                        .ok()
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("simulated fault");
                    http::dialect_err(dialect, &sh.base_url, *code, reason)
                }
            };
            for (k, v) in headers {
                r.set_header(k, v);
            }
            r
        }
        action => blocking_if(sh.git, || {
            let mut st = lock(&sh.state);
            st.run_due_ci();
            for pr in &fired.move_heads {
                st.push_to_pr(*pr);
            }
            for (branch, context, state) in &fired.branch_statuses {
                if let Some(head) = st.branch_head(branch) {
                    st.add_status(&head, context, state);
                }
            }
            let mut r = match matched {
                None => http::dialect_err(
                    dialect,
                    &sh.base_url,
                    404,
                    match dialect {
                        Dialect::Gitea => "The target couldn't be found.",
                        Dialect::GitHub => "Not Found",
                    },
                ),
                Some((route, params)) => {
                    let ctx = Req {
                        method: method.clone(),
                        path: path.clone(),
                        route,
                        params,
                        query,
                        body: body_json,
                        user: user.clone(),
                        base_url: sh.base_url.clone(),
                        shift_page: matches!(action, Some(FaultAction::ShiftPage)),
                    };
                    if dialect == Dialect::GitHub
                        && route != "/rate_limit"
                        && !is_web
                        && user.is_some()
                    {
                        st.rate_used += 1;
                    }
                    let mut resp = match dialect {
                        _ if is_web => logs::web(&st, &ctx, auth.is_some()),
                        Dialect::Gitea => gitea::dispatch(&mut st, &ctx),
                        Dialect::GitHub => github::dispatch(&mut st, &ctx),
                    };
                    // GitHub: every JSON answer carries a (weak) ETag; a conditional GET
                    // that matches is a 304 without body, which costs no rate-limit point.
                    if dialect == Dialect::GitHub
                        && method == "GET"
                        && !is_web
                        && resp.status == 200
                        && let Some(body) = resp.body.as_ref().map(Value::to_string)
                    {
                        let etag = format!("W/\"{}\"", fake_sha(&body));
                        if if_none_match.as_deref() == Some(etag.as_str()) {
                            let link = resp.get_header("Link").map(str::to_string);
                            resp = http::Resp::empty(304);
                            if let Some(l) = link {
                                resp.set_header("Link", l);
                            }
                            if user.is_some() && route != "/rate_limit" {
                                st.rate_used = st.rate_used.saturating_sub(1);
                            }
                        }
                        resp.set_header("ETag", etag);
                    }
                    resp
                }
            };
            if user.is_some() {
                rate = Some((st.rate_limit, st.rate_used, st.rate_reset));
            }
            drop(st);
            if let Some(a) = action {
                apply_post_fault(&mut r, a);
            }
            r
        }),
    };
    rec.status = resp.status;
    lock(&sh.requests).push(rec);
    finish(resp, dialect, user.as_ref(), rate)
}
