//! HTTP plumbing shared by both dialects: request context, responses, routing,
//! query parsing, pagination and Link headers.

use serde_json::{Value, json};

use super::Dialect;
use super::state::{SimState, User};

/// One request, as seen by a dialect handler.
pub(crate) struct Req {
    pub method: String,
    pub path: String,
    pub route: &'static str,
    pub params: Vec<(&'static str, String)>,
    pub query: Vec<(String, String)>,
    /// `None` when the body is empty; `Some(Err(msg))` when it is not valid JSON.
    pub body: Option<Result<Value, String>>,
    pub user: Option<User>,
    pub base_url: String,
    pub shift_page: bool,
}

impl Req {
    pub(crate) fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
    pub(crate) fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub(crate) fn q_all(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub(crate) fn login(&self) -> String {
        self.user
            .as_ref()
            .map(|u| u.login.clone())
            .unwrap_or_default()
    }
}

/// A response before serialisation (so faults can rewrite it).
#[derive(Debug, Clone)]
pub(crate) struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// Raw body overriding `body` (fault injection).
    pub raw: Option<String>,
}

impl Resp {
    pub(crate) fn json(status: u16, v: Value) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: Some(v),
            raw: None,
        }
    }
    pub(crate) fn empty(status: u16) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: None,
            raw: None,
        }
    }
    pub(crate) fn header(mut self, k: &str, v: impl ToString) -> Resp {
        self.set_header(k, v);
        self
    }
    pub(crate) fn set_header(&mut self, k: &str, v: impl ToString) {
        self.headers.retain(|(hk, _)| !hk.eq_ignore_ascii_case(k));
        self.headers.push((k.to_string(), v.to_string()));
    }
    pub(crate) fn get_header(&self, k: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(hk, _)| hk.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }
}

/// Gitea error body `{"message", "url"}`.
pub(crate) fn gitea_err(base_url: &str, status: u16, msg: &str) -> Resp {
    Resp::json(
        status,
        json!({"message": msg, "url": format!("{base_url}/api/swagger")}),
    )
}

/// GitHub error body `{"message", "documentation_url", "status"}`.
pub(crate) fn github_err(status: u16, msg: &str) -> Resp {
    Resp::json(
        status,
        json!({
            "message": msg,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.to_string(),
        }),
    )
}

pub(crate) fn dialect_err(d: Dialect, base_url: &str, status: u16, msg: &str) -> Resp {
    match d {
        Dialect::Gitea => gitea_err(base_url, status, msg),
        Dialect::GitHub => github_err(status, msg),
    }
}

// ---------------- percent encoding ----------------

pub(crate) fn pct_decode(s: &str, plus_as_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (pct_decode(k, true), pct_decode(v, true)),
            None => (pct_decode(p, true), String::new()),
        })
        .collect()
}

// ---------------- routing ----------------

/// Parameters that may span several path segments (branch names with slashes).
const MULTI: &[&str] = &["ref", "branch", "name", "filepath"];

fn match_segs(t: &[&'static str], p: &[&str], out: &mut Vec<(&'static str, String)>) -> bool {
    let Some((first, rest)) = t.split_first() else {
        return p.is_empty();
    };
    if let Some(name) = first.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
        let max = if MULTI.contains(&name) {
            p.len().saturating_sub(rest.len())
        } else {
            1.min(p.len())
        };
        for n in 1..=max {
            let val: Vec<String> = p[..n].iter().map(|s| pct_decode(s, false)).collect();
            if val.iter().any(|v| v.is_empty()) {
                return false;
            }
            out.push((name, val.join("/")));
            if match_segs(rest, &p[n..], out) {
                return true;
            }
            out.pop();
        }
        false
    } else {
        match p.split_first() {
            Some((seg, prest)) if seg == first => match_segs(rest, prest, out),
            _ => false,
        }
    }
}

/// Match `path` against the route table; the most literal template wins.
pub(crate) fn match_route(
    table: &[(&'static str, &'static str)],
    method: &str,
    path: &str,
) -> Option<(&'static str, Vec<(&'static str, String)>)> {
    let psegs: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    type Best = (usize, &'static str, Vec<(&'static str, String)>);
    let mut best: Option<Best> = None;
    for (m, tpl) in table {
        if *m != method {
            continue;
        }
        let tsegs: Vec<&'static str> = tpl.trim_start_matches('/').split('/').collect();
        let mut out = Vec::new();
        if match_segs(&tsegs, &psegs, &mut out) {
            let score = tsegs.iter().filter(|s| !s.starts_with('{')).count();
            if best.as_ref().is_none_or(|b| score > b.0) {
                best = Some((score, tpl, out));
            }
        }
    }
    best.map(|(_, t, p)| (t, p))
}

// ---------------- pagination ----------------

#[derive(Debug, Clone, Copy)]
pub(crate) struct Page {
    pub page: usize,
    pub limit: usize,
}

impl Page {
    /// Gitea: `page` 1-based, `limit` <= 0 → default, > max → max.
    pub(crate) fn gitea(r: &Req, st: &SimState) -> Page {
        let page = r
            .q("page")
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(1);
        let limit = r
            .q("limit")
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(0);
        Page::clamp(page, limit, st)
    }
    /// GitHub: `per_page` (default 30, max 100) + `page`.
    pub(crate) fn github(r: &Req, st: &SimState) -> Page {
        let page = r
            .q("page")
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(1);
        let limit = r
            .q("per_page")
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(0);
        Page::clamp(page, limit, st)
    }
    pub(crate) fn for_dialect(r: &Req, st: &SimState) -> Page {
        match st.dialect {
            Dialect::Gitea => Page::gitea(r, st),
            Dialect::GitHub => Page::github(r, st),
        }
    }
    fn clamp(page: i64, limit: i64, st: &SimState) -> Page {
        let page = if page <= 0 { 1 } else { page as usize };
        let limit = if limit <= 0 {
            st.paging.default_limit
        } else {
            (limit as usize).min(st.paging.max_limit)
        };
        Page { page, limit }
    }
    pub(crate) fn pages(&self, total: usize) -> usize {
        total.div_ceil(self.limit.max(1))
    }
    /// The items of this page (with the ShiftPage fault: one item earlier).
    pub(crate) fn slice<T: Clone>(&self, items: &[T], shift: bool) -> Vec<T> {
        let mut start = (self.page - 1).saturating_mul(self.limit);
        if shift && start > 0 {
            start -= 1;
        }
        if start >= items.len() {
            return Vec::new();
        }
        let end = start.saturating_add(self.limit).min(items.len());
        items[start..end].to_vec()
    }
}

fn page_url(r: &Req, st: &SimState, page: usize) -> String {
    let mut q: Vec<(String, String)> = r
        .query
        .iter()
        .filter(|(k, _)| k != "page")
        .cloned()
        .collect();
    q.push(("page".to_string(), page.to_string()));
    let qs: Vec<String> = q
        .iter()
        .map(|(k, v)| format!("{}={}", pct_encode(k), pct_encode(v)))
        .collect();
    // GitHub's links name the repository by id: `/repositories/{id}/pulls?…`.
    let repo_prefix = format!("/repos/{}/{}/", st.owner, st.name);
    let path = match st.dialect {
        Dialect::GitHub if r.path.starts_with(&repo_prefix) => format!(
            "/repositories/{}/{}",
            st.repo_id,
            &r.path[repo_prefix.len()..]
        ),
        _ => r.path.clone(),
    };
    format!("{}{}?{}", r.base_url, path, qs.join("&"))
}

/// `Link` header or `None` for a single page. Gitea: next, last, first, prev. GitHub (as
/// recorded from api.github.com): prev, next, last, first, joined by `", "`.
pub(crate) fn link_header(r: &Req, st: &SimState, page: Page, total: usize) -> Option<String> {
    let pages = page.pages(total);
    let next = (page.page < pages).then(|| {
        [
            format!("<{}>; rel=\"next\"", page_url(r, st, page.page + 1)),
            format!("<{}>; rel=\"last\"", page_url(r, st, pages)),
        ]
    });
    let back = (page.page > 1).then(|| {
        [
            format!("<{}>; rel=\"first\"", page_url(r, st, 1)),
            format!("<{}>; rel=\"prev\"", page_url(r, st, page.page - 1)),
        ]
    });
    let links: Vec<String> = match st.dialect {
        Dialect::Gitea => next.into_iter().chain(back).flatten().collect(),
        Dialect::GitHub => {
            let mut l = Vec::new();
            if let Some([first, prev]) = &back {
                l.push(prev.clone());
                if let Some([n, last]) = &next {
                    l.push(n.clone());
                    l.push(last.clone());
                }
                l.push(first.clone());
            } else if let Some([n, last]) = next {
                l.push(n);
                l.push(last);
            }
            l
        }
    };
    if links.is_empty() {
        None
    } else {
        Some(links.join(match st.dialect {
            Dialect::Gitea => ",",
            Dialect::GitHub => ", ",
        }))
    }
}

/// Serve a page of `items` with the dialect's headers: Gitea `X-Total-Count` (+ `Link` when
/// `with_link`), GitHub `Link` only.
pub(crate) fn paged(r: &Req, st: &SimState, items: Vec<Value>, with_link: bool) -> Resp {
    let page = Page::for_dialect(r, st);
    let total = items.len();
    let body = page.slice(&items, r.shift_page);
    let mut resp = Resp::json(200, Value::Array(body));
    if st.dialect == Dialect::Gitea {
        resp.set_header("X-Total-Count", total);
    }
    if with_link && let Some(l) = link_header(r, st, page, total) {
        resp.set_header("Link", l);
    }
    resp
}

pub(crate) fn ts(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
