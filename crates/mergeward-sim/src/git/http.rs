//! Git over smart HTTP, as a forge serves it: `GET /{owner}/{repo}.git/info/refs?service=…`,
//! `POST …/git-upload-pack` (fetch) and `POST …/git-receive-pack` (push), for both dialects,
//! by running `git http-backend` as a CGI program off the async workers.
//!
//! Authentication: `Authorization: Basic base64(<any user>:<token>)` (a token as the user
//! name with an empty password works too), `token <token>` or `Bearer <token>`; anything
//! else is a 401 with `WWW-Authenticate: Basic realm="sim"`. Fetching needs read
//! permission, pushing write.
//!
//! Branch protection on push: the server reads the receive-pack command list (pkt-lines
//! `<old> <new> <ref>`) and, under the state lock held for the whole push, tells the
//! repository's pre-receive hook which refs the pusher may not update at all and which
//! protected refs they may only fast-forward (see `SimState::may_push_protected`); the git
//! client sees `! [remote rejected] … (pre-receive hook declined)` after the hook's
//! `remote: error: protected branch …` line. After the push the state is synchronised from
//! the repository (`SimState::sync_after_push`). Git requests are not in `Sim::requests()`
//! and faults do not apply to them.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use base64::Engine as _;

use super::{GitError, ZERO_SHA};
use crate::scenario::Permission;
use crate::{Shared, lock};

/// Which smart-HTTP endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// `GET …/info/refs` (the `service` query names upload or receive).
    InfoRefs,
    UploadPack,
    ReceivePack,
}

impl Service {
    fn path(self) -> &'static str {
        match self {
            Service::InfoRefs => "info/refs",
            Service::UploadPack => "git-upload-pack",
            Service::ReceivePack => "git-receive-pack",
        }
    }
}

/// A git request: repository named in the path, endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GitTarget {
    pub owner: String,
    pub repo: String,
    pub service: Service,
}

/// Is this a smart-HTTP git request (`/{owner}/{repo}[.git]/…`)?
pub(crate) fn route(method: &str, path: &str) -> Option<GitTarget> {
    let segs: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let (owner, repo, service) = match (method, segs.as_slice()) {
        ("GET", [o, r, "info", "refs"]) => (*o, *r, Service::InfoRefs),
        ("POST", [o, r, "git-upload-pack"]) => (*o, *r, Service::UploadPack),
        ("POST", [o, r, "git-receive-pack"]) => (*o, *r, Service::ReceivePack),
        _ => return None,
    };
    let repo = repo.strip_suffix(".git").unwrap_or(repo);
    if owner.is_empty() || repo.is_empty() {
        return None;
    }
    Some(GitTarget {
        owner: owner.to_string(),
        repo: repo.to_string(),
        service,
    })
}

/// The token of an `Authorization` header: Basic (password, or the user name when the
/// password is empty), `token` or `Bearer`.
pub(crate) fn token_of(header: &str) -> Option<String> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (user, password) = text.split_once(':').unwrap_or((&text, ""));
        let token = if password.is_empty() { user } else { password };
        return (!token.is_empty()).then(|| token.to_string());
    }
    if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
        return (!rest.is_empty()).then(|| rest.to_string());
    }
    None
}

/// The commands of a receive-pack request: `(old, new, ref)` per pkt-line up to the flush.
pub(crate) fn push_commands(body: &[u8]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= body.len() {
        let Some(len) = std::str::from_utf8(&body[i..i + 4])
            .ok()
            .and_then(|h| usize::from_str_radix(h, 16).ok())
        else {
            break;
        };
        if len < 4 || i + len > body.len() {
            break;
        }
        let line = &body[i + 4..i + len];
        i += len;
        let line = line.split(|b| *b == 0).next().unwrap_or_default();
        let text = String::from_utf8_lossy(line);
        let fields: Vec<&str> = text.trim_end_matches('\n').split(' ').collect();
        if let [old, new, name] = fields.as_slice()
            && old.len() == ZERO_SHA.len()
            && new.len() == ZERO_SHA.len()
        {
            out.push((old.to_string(), new.to_string(), name.to_string()));
        }
    }
    out
}

fn text(status: u16, msg: &str) -> Response {
    let mut r = Response::new(Body::from(format!("{msg}\n")));
    *r.status_mut() = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn unauthorized() -> Response {
    let mut r = text(401, "authentication required");
    r.headers_mut().insert(
        "www-authenticate",
        axum::http::HeaderValue::from_static("Basic realm=\"sim\""),
    );
    r
}

fn cgi_response(out: Result<super::CgiResponse, GitError>) -> Response {
    let out = match out {
        Ok(o) => o,
        Err(e) => return text(500, &format!("git http-backend: {e}")),
    };
    let mut r = Response::new(Body::from(out.body));
    *r.status_mut() = axum::http::StatusCode::from_u16(out.status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in out.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            axum::http::HeaderValue::from_str(&v),
        ) {
            r.headers_mut().append(k, v);
        }
    }
    r
}

/// `gzip -dc` of a request body.
fn gunzip(data: Vec<u8>) -> Result<Vec<u8>, GitError> {
    let mut child = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let writer = child.stdin.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let out = child.wait_with_output()?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    if !out.status.success() {
        return Err(GitError::Failed {
            args: "gzip -dc".to_string(),
            stderr: "the request body is not valid gzip".to_string(),
        });
    }
    Ok(out.stdout)
}

/// Serve one git request.
pub(crate) async fn serve(sh: Arc<Shared>, t: GitTarget, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let query = parts.uri.query().unwrap_or("").to_string();
    let write = match t.service {
        Service::ReceivePack => true,
        Service::UploadPack => false,
        Service::InfoRefs => crate::http::parse_query(&query)
            .iter()
            .any(|(k, v)| k == "service" && v == "git-receive-pack"),
    };
    let (user, repo, owner, name) = {
        let mut st = lock(&sh.state);
        st.run_due_ci();
        let user = header("authorization")
            .and_then(|h| token_of(&h))
            .and_then(|tok| st.user_by_token(&tok).cloned());
        let Some(user) = user else {
            return unauthorized();
        };
        let visible = t.owner.eq_ignore_ascii_case(&st.owner)
            && t.repo.eq_ignore_ascii_case(&st.name)
            && user.perm() >= Permission::Read;
        let Some(repo) = st.repo().filter(|_| visible) else {
            return text(404, "repository not found");
        };
        (user, repo, st.owner.clone(), st.name.clone())
    };
    if write && user.perm() < Permission::Write {
        return text(
            403,
            &format!("{} may not push to {owner}/{name}", user.login),
        );
    }
    let mut body = match axum::body::to_bytes(body, 1 << 30).await {
        Ok(b) => b.to_vec(),
        Err(e) => return text(400, &format!("cannot read the request body: {e}")),
    };
    let mut encoding = header("content-encoding");
    if t.service == Service::ReceivePack
        && encoding
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("gzip") || e.eq_ignore_ascii_case("x-gzip"))
    {
        body = match tokio::task::spawn_blocking(move || gunzip(body)).await {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => return text(400, &e.to_string()),
            Err(e) => return text(500, &e.to_string()),
        };
        encoding = None;
    }
    let mut env: Vec<(String, String)> = vec![
        (
            "PATH_INFO".into(),
            format!("/{owner}/{name}.git/{}", t.service.path()),
        ),
        ("REQUEST_METHOD".into(), parts.method.as_str().to_string()),
        ("QUERY_STRING".into(), query),
        ("REMOTE_USER".into(), user.login.clone()),
        ("REMOTE_ADDR".into(), "127.0.0.1".into()),
        ("SIM_PUSHER".into(), user.login.clone()),
    ];
    if parts.method == axum::http::Method::POST {
        env.push(("CONTENT_LENGTH".into(), body.len().to_string()));
    }
    if let Some(ct) = header("content-type") {
        env.push(("CONTENT_TYPE".into(), ct));
    }
    if let Some(enc) = encoding {
        env.push(("HTTP_CONTENT_ENCODING".into(), enc));
    }
    if let Some(p) = header("git-protocol") {
        env.push(("HTTP_GIT_PROTOCOL".into(), p));
    }
    let out = if t.service == Service::ReceivePack {
        tokio::task::spawn_blocking(move || {
            // The whole push runs under the state lock: the state and the repository move
            // together, and no API merge interleaves with it.
            let mut st = lock(&sh.state);
            let (mut denied, mut protected) = (Vec::new(), Vec::new());
            for (_, _, refname) in push_commands(&body) {
                let Some(branch) = refname.strip_prefix("refs/heads/") else {
                    continue;
                };
                match st.may_push_protected(&user.login, branch) {
                    None => {}
                    Some(true) => protected.push(refname),
                    Some(false) => denied.push(refname),
                }
            }
            env.push(("SIM_DENIED_REFS".into(), denied.join(" ")));
            env.push(("SIM_PROTECTED_REFS".into(), protected.join(" ")));
            let out = repo.http_backend(&env, body);
            st.sync_after_push(&user.login)?;
            out
        })
        .await
    } else {
        tokio::task::spawn_blocking(move || repo.http_backend(&env, body)).await
    };
    match out {
        Ok(out) => cgi_response(out),
        Err(e) => text(500, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_paths_are_recognised() {
        let t = route("GET", "/acme/widgets.git/info/refs").unwrap();
        assert_eq!((t.owner.as_str(), t.repo.as_str()), ("acme", "widgets"));
        assert_eq!(t.service, Service::InfoRefs);
        assert_eq!(
            route("POST", "/acme/widgets/git-receive-pack")
                .unwrap()
                .service,
            Service::ReceivePack
        );
        assert_eq!(
            route("POST", "/acme/widgets.git/git-upload-pack")
                .unwrap()
                .service,
            Service::UploadPack
        );
        assert!(route("GET", "/acme/widgets.git/git-upload-pack").is_none());
        assert!(route("GET", "/repos/acme/widgets/pulls").is_none());
        assert!(route("GET", "/api/v1/repos/acme/widgets").is_none());
        assert!(route("GET", "//.git/info/refs").is_none());
    }

    #[test]
    fn tokens_come_from_basic_token_and_bearer() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            token_of(&format!("Basic {}", b64("x-access-token:t0k"))).as_deref(),
            Some("t0k")
        );
        assert_eq!(
            token_of(&format!("basic {}", b64("t0k:"))).as_deref(),
            Some("t0k")
        );
        assert_eq!(token_of("token abc").as_deref(), Some("abc"));
        assert_eq!(token_of("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(token_of("Basic !!!"), None);
        assert_eq!(token_of("Digest abc"), None);
        assert_eq!(token_of(&format!("Basic {}", b64(":"))), None);
    }

    #[test]
    fn push_commands_are_read_up_to_the_flush() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let first = format!("{ZERO_SHA} {a} refs/heads/main\0report-status side-band-64k\n");
        let second = format!("{a} {b} refs/heads/x/y\n");
        let body = format!(
            "{:04x}{first}{:04x}{second}0000PACK…",
            first.len() + 4,
            second.len() + 4
        );
        assert_eq!(
            push_commands(body.as_bytes()),
            vec![
                (
                    ZERO_SHA.to_string(),
                    a.clone(),
                    "refs/heads/main".to_string()
                ),
                (a, b, "refs/heads/x/y".to_string()),
            ]
        );
        assert!(push_commands(b"zzzz").is_empty());
        assert!(push_commands(b"00ff short").is_empty());
    }
}
