//! The API contract, `contract/forge-api.toml`: every route mergeward's clients and the
//! simulated forge use, per forge and version, with the query parameters, body fields and
//! response fields we rely on and the upstream API description each fact comes from.
//!
//! `tests/forge/contract.rs` checks the simulator and the clients against this file (no files
//! outside the repository needed); `tests/forge/contract_upstream.rs` checks the file against the
//! full upstream descriptions when they are present (`../shared/specs/` in CI).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// Where the contract lives, relative to the repository root.
pub const CONTRACT_FILE: &str = "contract/forge-api.toml";

/// Description ids (keys of `[descriptions]`).
pub const GITEA_1_22: &str = "gitea-1.22.6";
pub const GITEA_1_26: &str = "gitea-1.26.3";
pub const FORGEJO_11: &str = "forgejo-11.0.1";
pub const GITHUB: &str = "github-subset";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    pub descriptions: BTreeMap<String, Description>,
    #[serde(default)]
    pub route: Vec<Route>,
    #[serde(default)]
    pub web_route: Vec<WebRoute>,
}

/// One upstream API description the facts were read from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    /// `gitea` (Gitea and Forgejo, base path `/api/v1`) or `github`.
    pub dialect: String,
    pub forge: String,
    pub version: String,
    /// File name under the descriptions directory (`../shared/specs/` in CI).
    pub file: String,
    /// SHA-256 of that file, as the facts were last checked against.
    pub sha256: String,
    /// Where the file comes from upstream.
    pub origin: String,
}

/// One API route (method and path template without the `/api/v1` base path).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub dialect: String,
    pub method: String,
    pub path: String,
    /// Who sends or serves it: client verbs (`GiteaForge::pull`) and/or `simulator`.
    pub users: Vec<String>,
    /// Query parameters the clients send: `name` or `name=value|value` (the values sent).
    #[serde(default)]
    pub query: Vec<String>,
    /// Top-level JSON body fields the clients send (same syntax as `query`).
    #[serde(default)]
    pub body: Vec<String>,
    /// Response fields the clients read: `a.b`, `a[].b` (`[]` = array items; for a list
    /// response the paths are those of one item). `name=v|w` also names values we rely on.
    #[serde(default)]
    pub response: Vec<String>,
    /// Generated: description id → `operationId: status schema` for every description (of
    /// this dialect) that declares the route. Absent ids do not declare it.
    #[serde(default)]
    pub described: BTreeMap<String, String>,
    /// Generated: description id → facts above that description does not declare
    /// (`query page`, `body Do`, `response status`); explained in `note`.
    #[serde(default)]
    pub undeclared: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A route outside the API (web UI, pre-signed download): in no API description.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebRoute {
    pub dialect: String,
    pub method: String,
    pub path: String,
    pub users: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A `name` or `name=a|b` entry of `query`, `body` or `response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub values: Vec<String>,
}

impl Param {
    pub fn parse(entry: &str) -> Param {
        match entry.split_once('=') {
            Some((name, values)) => Param {
                name: name.trim().to_string(),
                values: values.split('|').map(|v| v.trim().to_string()).collect(),
            },
            None => Param {
                name: entry.trim().to_string(),
                values: Vec::new(),
            },
        }
    }
}

pub fn params(entries: &[String]) -> Vec<Param> {
    entries.iter().map(|e| Param::parse(e)).collect()
}

pub fn contract_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(CONTRACT_FILE)
}

/// The API base path of a dialect.
pub fn base_path(dialect: &str) -> &'static str {
    if dialect == "gitea" { "/api/v1" } else { "" }
}

pub fn split(path: &str) -> Vec<&str> {
    path.trim_matches('/').split('/').collect()
}

pub fn is_param(seg: &str) -> bool {
    seg.len() > 2 && seg.starts_with('{') && seg.ends_with('}')
}

/// Whether a concrete path (or a template) fits `template`: a `{param}` takes one non-empty
/// segment, other segments are literal.
pub fn fits(template: &str, path: &str) -> bool {
    let (t, p) = (split(template), split(path));
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| if is_param(t) { !p.is_empty() } else { t == p })
}

impl Contract {
    pub fn load() -> Contract {
        let path = contract_path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        Contract::parse(&text)
    }

    pub fn parse(text: &str) -> Contract {
        let c: Contract = toml::from_str(text).unwrap_or_else(|e| panic!("{CONTRACT_FILE}: {e}"));
        for r in &c.route {
            for id in r.described.keys().chain(r.undeclared.keys()) {
                let d = c.descriptions.get(id).unwrap_or_else(|| {
                    panic!(
                        "{CONTRACT_FILE}: {} {}: unknown description {id:?}",
                        r.method, r.path
                    )
                });
                assert_eq!(
                    d.dialect, r.dialect,
                    "{CONTRACT_FILE}: {} {}: {id} is of another dialect",
                    r.method, r.path
                );
            }
        }
        c
    }

    /// The route of `dialect` for `method` and `path`: a template as the simulator names
    /// it, or a concrete request path (with or without the base path; query ignored).
    pub fn route(&self, dialect: &str, method: &str, path: &str) -> Option<&Route> {
        let path = path.split('?').next().unwrap_or(path);
        let base = base_path(dialect);
        let path = if base.is_empty() {
            path
        } else {
            path.strip_prefix(base).unwrap_or(path)
        };
        // An exact template first (a `{filepath}` may hold several segments).
        self.route
            .iter()
            .filter(|r| r.dialect == dialect && r.method.eq_ignore_ascii_case(method))
            .find(|r| r.path == path)
            .or_else(|| {
                self.route.iter().find(|r| {
                    r.dialect == dialect
                        && r.method.eq_ignore_ascii_case(method)
                        && fits(&r.path, path)
                })
            })
    }

    /// Whether `method path` is a route of the description `id` (by the contract).
    pub fn allows(&self, id: &str, method: &str, path: &str) -> bool {
        let Some(d) = self.descriptions.get(id) else {
            return false;
        };
        self.route(&d.dialect, method, path)
            .is_some_and(|r| r.described.contains_key(id))
    }

    pub fn web_route(&self, dialect: &str, method: &str, path: &str) -> Option<&WebRoute> {
        self.web_route.iter().find(|w| {
            w.dialect == dialect && w.method.eq_ignore_ascii_case(method) && w.path == path
        })
    }
}
