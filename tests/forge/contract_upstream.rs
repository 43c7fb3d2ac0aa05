//! `contract/forge-api.toml` against the full upstream API descriptions.
//!
//! The descriptions (Gitea 1.22.6 and 1.26.3 swagger, Forgejo 11.0.1 swagger, the GitHub
//! OpenAPI subset) are not in the repository; CI has them in `../shared/specs/` (or set
//! `MERGEWARD_SPECS_DIR`). Without them the agreement test says why it did not run and
//! passes, except under `CI=true`, where it fails.
//!
//! Regenerate the derived parts of the contract (`described`, `undeclared`, `sha256`) after
//! changing a route or when a description changes:
//!
//! ```text
//! cargo test --locked --test forge -- --ignored regenerate
//! ```
//!
//! then review the diff of `contract/forge-api.toml`.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::PathBuf;

use common::contract::{
    CONTRACT_FILE, Contract, Description, Route, contract_path, is_param, params, split,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn specs_dir() -> PathBuf {
    match std::env::var_os("MERGEWARD_SPECS_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/specs"),
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The upstream descriptions, or why they cannot be read. Under CI a missing directory is
/// a failure; elsewhere the caller skips.
fn load_all(contract: &Contract) -> Result<BTreeMap<String, Upstream>, String> {
    let dir = specs_dir();
    if !dir.is_dir() {
        return Err(format!(
            "{} does not exist (the upstream API descriptions are not beside this checkout; set MERGEWARD_SPECS_DIR to check {CONTRACT_FILE} against them)",
            dir.display()
        ));
    }
    let mut out = BTreeMap::new();
    for (id, d) in &contract.descriptions {
        let path = dir.join(&d.file);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{id}: cannot read {}: {e}", path.display()));
        let doc: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{id}: {} is not JSON: {e}", path.display()));
        out.insert(
            id.clone(),
            Upstream {
                sha256: sha256_hex(&bytes),
                doc,
            },
        );
    }
    Ok(out)
}

/// Skips (returns `None`) with a message on stderr that the test harness does not swallow.
fn load_or_skip(contract: &Contract, test: &str) -> Option<BTreeMap<String, Upstream>> {
    match load_all(contract) {
        Ok(all) => Some(all),
        Err(why) if in_ci() => panic!("{test}: CI is set and {why}"),
        Err(why) => {
            // Written to stderr directly: libtest captures only print!/eprint!.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: NOT RUN: {why}. Under CI=true this is a failure."
            );
            None
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One upstream description: swagger 2.0 (Gitea, Forgejo) or OpenAPI 3 (GitHub).
struct Upstream {
    sha256: String,
    doc: Value,
}

/// A response-field path segment.
enum Seg<'a> {
    Prop(&'a str),
    Items,
}

fn segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut name = part;
        let mut items = 0;
        while let Some(n) = name.strip_suffix("[]") {
            name = n;
            items += 1;
        }
        if !name.is_empty() {
            out.push(Seg::Prop(name));
        }
        for _ in 0..items {
            out.push(Seg::Items);
        }
    }
    out
}

impl Upstream {
    /// Follows `$ref`s (JSON pointers into this document).
    fn resolve<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        for _ in 0..32 {
            let Some(r) = v.get("$ref").and_then(Value::as_str) else {
                return v;
            };
            let Some(pointer) = r.strip_prefix('#') else {
                return v;
            };
            match self.doc.pointer(pointer) {
                Some(t) => v = t,
                None => return &Value::Null,
            }
        }
        v
    }

    /// The description's path item and operation for `method template` (parameters match
    /// parameters whatever their names, other segments literally).
    fn operation(&self, method: &str, template: &str) -> Option<(&Value, &Value)> {
        let want = split(template);
        let paths = self.doc.get("paths")?.as_object()?;
        paths.iter().find_map(|(t, item)| {
            let have = split(t);
            let same = have.len() == want.len()
                && have
                    .iter()
                    .zip(&want)
                    .all(|(h, w)| (is_param(h) && is_param(w)) || h == w);
            if !same {
                return None;
            }
            let op = item.get(method.to_ascii_lowercase())?;
            op.is_object().then_some((item, op))
        })
    }

    /// Query parameters: name → enum values (empty when not enumerated).
    fn query_params(&self, item: &Value, op: &Value) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        let lists = [item.get("parameters"), op.get("parameters")];
        for p in lists
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
        {
            let p = self.resolve(p);
            if p.get("in").and_then(Value::as_str) != Some("query") {
                continue;
            }
            let Some(name) = p.get("name").and_then(Value::as_str) else {
                continue;
            };
            let mut values = enum_of(p);
            if let Some(s) = p.get("schema") {
                values.extend(enum_of(self.resolve(s)));
            }
            if let Some(i) = p.get("items") {
                values.extend(enum_of(self.resolve(i)));
            }
            out.insert(name.to_string(), values);
        }
        out
    }

    /// The JSON request body schema.
    fn body_schema<'a>(&'a self, op: &'a Value) -> Option<&'a Value> {
        if let Some(rb) = op.get("requestBody") {
            let rb = self.resolve(rb);
            return json_content(rb).map(|s| self.resolve(s));
        }
        op.get("parameters")?
            .as_array()?
            .iter()
            .map(|p| self.resolve(p))
            .find(|p| p.get("in").and_then(Value::as_str) == Some("body"))
            .and_then(|p| p.get("schema"))
            .map(|s| self.resolve(s))
    }

    /// The success response: status code and JSON schema (if any, `$ref` not followed).
    /// The lowest 2xx, else 3xx.
    fn success<'a>(&'a self, op: &'a Value) -> Option<(String, Option<&'a Value>)> {
        let responses = op.get("responses")?.as_object()?;
        let mut codes: Vec<&String> = responses.keys().collect();
        codes.sort();
        let code = codes
            .iter()
            .find(|c| c.starts_with('2'))
            .or_else(|| codes.iter().find(|c| c.starts_with('3')))?;
        let resp = self.resolve(&responses[code.as_str()]);
        let schema = resp.get("schema").or_else(|| json_content(resp));
        Some(((*code).clone(), schema))
    }

    /// The schema itself plus, through `allOf`/`oneOf`/`anyOf`, every schema it combines.
    fn variants<'a>(&'a self, s: &'a Value, out: &mut Vec<&'a Value>, depth: u32) {
        let s = self.resolve(s);
        if depth > 16 || out.iter().any(|o| std::ptr::eq(*o, s)) {
            return;
        }
        out.push(s);
        for key in ["allOf", "oneOf", "anyOf"] {
            for sub in s.get(key).and_then(Value::as_array).into_iter().flatten() {
                self.variants(sub, out, depth + 1);
            }
        }
    }

    fn step<'a>(&'a self, s: &'a Value, seg: &Seg<'_>) -> Vec<&'a Value> {
        let mut vs = Vec::new();
        self.variants(s, &mut vs, 0);
        vs.into_iter()
            .filter_map(|v| match seg {
                Seg::Prop(name) => v.get("properties").and_then(|p| p.get(*name)),
                Seg::Items => v.get("items"),
            })
            .map(|v| self.resolve(v))
            .collect()
    }

    /// The list item schema when `s` is an array, else `s`.
    fn list_item<'a>(&'a self, s: &'a Value) -> &'a Value {
        let mut vs = Vec::new();
        self.variants(s, &mut vs, 0);
        vs.into_iter()
            .find(|v| v.get("type").and_then(Value::as_str) == Some("array"))
            .and_then(|v| v.get("items"))
            .map(|i| self.resolve(i))
            .unwrap_or(s)
    }

    /// The schemas `path` reaches from `root` (empty: the field is not declared).
    fn reach<'a>(&'a self, root: &'a Value, path: &str) -> Vec<&'a Value> {
        let mut at = vec![root];
        for seg in segments(path) {
            at = at.into_iter().flat_map(|s| self.step(s, &seg)).collect();
            if at.is_empty() {
                break;
            }
        }
        at
    }

    /// Enum values the reached schemas declare (all variants).
    fn enums(&self, reached: &[&Value]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for s in reached {
            let mut vs = Vec::new();
            self.variants(s, &mut vs, 0);
            for v in vs {
                out.extend(enum_of(v));
            }
        }
        out
    }

    /// A short name of a schema for `described`.
    fn schema_name(&self, s: Option<&Value>) -> String {
        let Some(s) = s else {
            return "(no JSON body)".into();
        };
        let name = |v: &Value| {
            v.get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.rsplit('/').next())
                .map(str::to_string)
        };
        if let Some(n) = name(s) {
            return n;
        }
        if s.get("type").and_then(Value::as_str) == Some("array")
            && let Some(i) = s.get("items")
        {
            return format!("{}[]", self.schema_name(Some(i)));
        }
        s.get("type")
            .and_then(Value::as_str)
            .unwrap_or("schema")
            .to_string()
    }
}

fn enum_of(v: &Value) -> Vec<String> {
    v.get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| match e {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn json_content(v: &Value) -> Option<&Value> {
    let content = v.get("content")?.as_object()?;
    content
        .get("application/json")
        .or_else(|| content.values().next())
        .and_then(|c| c.get("schema"))
}

/// What one description says about one route.
struct Derived {
    described: Option<String>,
    undeclared: Vec<String>,
    /// Response values a description enumerates that the contract does not list as handled.
    unhandled: Vec<String>,
}

fn derive(up: &Upstream, route: &Route) -> Derived {
    let Some((item, op)) = up.operation(&route.method, &route.path) else {
        return Derived {
            described: None,
            undeclared: Vec::new(),
            unhandled: Vec::new(),
        };
    };
    let op_id = op
        .get("operationId")
        .and_then(Value::as_str)
        .unwrap_or("(no operationId)");
    let (code, schema) = up.success(op).unwrap_or_else(|| ("?".into(), None));
    let described = format!("{op_id}: {code} {}", up.schema_name(schema));
    let mut undeclared = Vec::new();

    let query = up.query_params(item, op);
    for p in params(&route.query) {
        match query.get(&p.name) {
            None => undeclared.push(format!("query {}", p.name)),
            Some(allowed) => {
                let missing: Vec<&String> = p
                    .values
                    .iter()
                    .filter(|v| !allowed.is_empty() && !allowed.contains(v))
                    .collect();
                if !missing.is_empty() {
                    undeclared.push(format!("query {}={}", p.name, join(&missing)));
                }
            }
        }
    }
    // Sent values must be declared; received values declared must be handled.
    let body = up.body_schema(op);
    for p in params(&route.body) {
        if let Some(allowed) = field(up, body, &p.name) {
            let missing: Vec<&String> = p
                .values
                .iter()
                .filter(|v| !allowed.is_empty() && !allowed.contains(*v))
                .collect();
            if !missing.is_empty() {
                undeclared.push(format!("body {}={}", p.name, join(&missing)));
            }
        } else {
            undeclared.push(format!("body {}", p.name));
        }
    }
    let root = schema.map(|s| up.list_item(up.resolve(s)));
    let mut unhandled = Vec::new();
    for p in params(&route.response) {
        if let Some(declared) = field(up, root, &p.name) {
            let missing: Vec<&String> = declared
                .iter()
                .filter(|v| !p.values.is_empty() && !p.values.contains(*v))
                .collect();
            if !missing.is_empty() {
                unhandled.push(format!("response {}={}", p.name, join(&missing)));
            }
        } else {
            undeclared.push(format!("response {}", p.name));
        }
    }
    Derived {
        described: Some(described),
        undeclared,
        unhandled,
    }
}

/// The enum values of a field (empty: not enumerated), or `None` when it is not declared.
fn field(up: &Upstream, root: Option<&Value>, path: &str) -> Option<BTreeSet<String>> {
    let reached = root.map(|r| up.reach(r, path)).unwrap_or_default();
    (!reached.is_empty()).then(|| up.enums(&reached))
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("|")
}

/// The contract with its derived parts recomputed from the descriptions, and the response
/// values the descriptions enumerate that the contract does not list as handled.
fn regenerated(contract: &Contract, all: &BTreeMap<String, Upstream>) -> (Contract, Vec<String>) {
    let mut c = contract.clone();
    let mut unhandled = Vec::new();
    for (id, d) in &mut c.descriptions {
        d.sha256 = all[id].sha256.clone();
    }
    for r in &mut c.route {
        r.described.clear();
        r.undeclared.clear();
        for (id, d) in &contract.descriptions {
            if d.dialect != r.dialect {
                continue;
            }
            let got = derive(&all[id], r);
            if let Some(s) = got.described {
                r.described.insert(id.clone(), s);
            }
            if !got.undeclared.is_empty() {
                r.undeclared.insert(id.clone(), got.undeclared);
            }
            for u in got.unhandled {
                unhandled.push(format!(
                    "{} {} {}: {id} declares {u}, which the contract does not list as handled",
                    r.dialect, r.method, r.path
                ));
            }
        }
    }
    (c, unhandled)
}

#[test]
fn the_contract_agrees_with_the_upstream_descriptions() {
    let contract = Contract::load();
    let Some(all) = load_or_skip(
        &contract,
        "the_contract_agrees_with_the_upstream_descriptions",
    ) else {
        return;
    };
    let (fresh, unhandled) = regenerated(&contract, &all);
    let mut problems = unhandled;
    for (id, d) in &contract.descriptions {
        if d.sha256 != fresh.descriptions[id].sha256 {
            problems.push(format!(
                "{id}: {} changed (sha256 {} in the contract, {} on disk)",
                d.file, d.sha256, fresh.descriptions[id].sha256
            ));
        }
    }
    for (old, new) in contract.route.iter().zip(&fresh.route) {
        let name = format!("{} {} {}", old.dialect, old.method, old.path);
        if old.described != new.described {
            problems.push(format!(
                "{name}: described is {:?}, the descriptions say {:?}",
                old.described, new.described
            ));
        }
        if old.undeclared != new.undeclared {
            problems.push(format!(
                "{name}: undeclared is {:?}, the descriptions say {:?}",
                old.undeclared, new.undeclared
            ));
        }
        let noted = old.note.as_deref().is_some_and(|n| !n.trim().is_empty());
        if (!new.undeclared.is_empty() || new.described.is_empty()) && !noted {
            problems.push(format!(
                "{name}: relies on what a description does not declare ({:?}) or is in none; say why in `note`",
                new.undeclared
            ));
        }
    }
    for w in &contract.web_route {
        for (id, d) in &contract.descriptions {
            if d.dialect == w.dialect && all[id].operation(&w.method, &w.path).is_some() {
                problems.push(format!(
                    "web route {} {} is an API route of {id}",
                    w.method, w.path
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{CONTRACT_FILE} disagrees with the upstream descriptions in {}:\n  {}\n\
         If the change is intended, regenerate and review the diff:\n  \
         cargo test --locked --test forge -- --ignored regenerate",
        specs_dir().display(),
        problems.join("\n  ")
    );
}

/// The checker itself: on the real descriptions it finds what is there and rejects what
/// is not (so an agreement cannot come from a checker that accepts everything).
#[test]
fn the_upstream_checker_tells_declared_from_undeclared() {
    let contract = Contract::load();
    let Some(all) = load_or_skip(
        &contract,
        "the_upstream_checker_tells_declared_from_undeclared",
    ) else {
        return;
    };
    let g122 = &all[common::contract::GITEA_1_22];
    let g126 = &all[common::contract::GITEA_1_26];
    let gh = &all[common::contract::GITHUB];
    let probe =
        |dialect: &str, method: &str, path: &str, q: &[&str], b: &[&str], r: &[&str]| Route {
            dialect: dialect.into(),
            method: method.into(),
            path: path.into(),
            users: vec![],
            query: q.iter().map(|s| s.to_string()).collect(),
            body: b.iter().map(|s| s.to_string()).collect(),
            response: r.iter().map(|s| s.to_string()).collect(),
            described: BTreeMap::new(),
            undeclared: BTreeMap::new(),
            note: None,
        };
    // Routes: misspelled segments and wrong methods are not declared.
    let pulls = probe(
        "gitea",
        "GET",
        "/repos/{owner}/{repo}/pulls/{index}",
        &[],
        &[],
        &[
            "head.sha",
            "head.repo.full_name",
            "labels[].name",
            "mergeable",
        ],
    );
    let d = derive(g122, &pulls);
    assert_eq!(
        d.described.as_deref(),
        Some("repoGetPullRequest: 200 PullRequest")
    );
    assert!(d.undeclared.is_empty(), "{:?}", d.undeclared);
    for (m, p) in [
        ("GET", "/repos/{owner}/{repo}/pull/{index}"),
        ("PUT", "/repos/{owner}/{repo}/pulls/{index}/merge"),
        ("POST", "/version"),
        (
            "POST",
            "/repos/{owner}/{repo}/pulls/{index}/reviews/{id}/dismisal",
        ),
    ] {
        assert!(
            derive(g122, &probe("gitea", m, p, &[], &[], &[]))
                .described
                .is_none(),
            "{m} {p}"
        );
    }
    assert!(
        derive(gh, &probe("github", "GET", "/user", &[], &[], &[]))
            .described
            .is_none()
    );
    assert!(
        derive(
            gh,
            &probe(
                "github",
                "PUT",
                "/repos/{o}/{r}/pulls/{n}/update_branch",
                &[],
                &[],
                &[]
            )
        )
        .described
        .is_none()
    );
    // Query names and enumerated values; body and response fields, nested and in lists.
    let list = probe(
        "gitea",
        "GET",
        "/repos/{owner}/{repo}/pulls",
        &["state=open", "sort=oldest|newest", "page", "per_page"],
        &[],
        &["number", "head.nosuch", "user.login"],
    );
    assert_eq!(
        derive(g122, &list).undeclared,
        [
            "query sort=newest",
            "query per_page",
            "response head.nosuch"
        ]
    );
    let merge = probe(
        "gitea",
        "POST",
        "/repos/{owner}/{repo}/pulls/{index}/merge",
        &[],
        &["Do=merge|squash|octopus", "head_commit_id"],
        &[],
    );
    assert_eq!(derive(g122, &merge).undeclared, ["body Do=octopus"]);
    assert_eq!(
        derive(g126, &merge).undeclared,
        ["body Do"],
        "1.26 declares snake_case `do`"
    );
    let rules = probe(
        "github",
        "GET",
        "/repos/{owner}/{repo}/rules/branches/{branch}",
        &["per_page"],
        &[],
        &[
            "type=pull_request|required_status_checks",
            "parameters.required_status_checks[].context",
            "parameters.nosuch",
        ],
    );
    let d = derive(gh, &rules);
    assert_eq!(d.undeclared, ["response parameters.nosuch"]);
    // Rule types the description enumerates beyond the two listed are reported unhandled.
    assert_eq!(d.unhandled.len(), 1, "{:?}", d.unhandled);
    assert!(
        d.unhandled[0].starts_with("response type=") && d.unhandled[0].contains("creation"),
        "{:?}",
        d.unhandled
    );
}

/// Rewrites the derived parts of the contract from the descriptions (run on purpose).
#[test]
#[ignore = "rewrites contract/forge-api.toml from the upstream descriptions"]
fn regenerate() {
    let path = contract_path();
    let text = std::fs::read_to_string(&path).expect("contract file");
    let contract = Contract::parse(&text);
    let all = load_all(&contract).unwrap_or_else(|why| panic!("cannot regenerate: {why}"));
    let (fresh, unhandled) = regenerated(&contract, &all);
    for u in &unhandled {
        let _ = writeln!(std::io::stderr(), "regenerate: WARNING: {u}");
    }
    let out = render(&preamble(&text), &fresh);
    // What is written must read back as what was computed.
    let back = Contract::parse(&out);
    assert_eq!(back.route.len(), fresh.route.len());
    std::fs::write(&path, out).expect("write contract");
    let _ = writeln!(
        std::io::stderr(),
        "regenerate: wrote {} ({} routes, {} web routes)",
        path.display(),
        fresh.route.len(),
        fresh.web_route.len()
    );
}

/// The comment block at the top of the file (kept as written).
fn preamble(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with('[') {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(items: &[String]) -> String {
    let one = format!(
        "[{}]",
        items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
    );
    if one.len() <= 80 {
        return one;
    }
    let mut out = String::from("[\n");
    for s in items {
        out.push_str(&format!("  {},\n", q(s)));
    }
    out.push(']');
    out
}

fn render(preamble: &str, c: &Contract) -> String {
    let mut out = preamble.to_string();
    for (id, d) in &c.descriptions {
        let Description {
            dialect,
            forge,
            version,
            file,
            sha256,
            origin,
        } = d;
        out.push_str(&format!(
            "[descriptions.{}]\ndialect = {}\nforge = {}\nversion = {}\nfile = {}\nsha256 = {}\norigin = {}\n\n",
            q(id),
            q(dialect),
            q(forge),
            q(version),
            q(file),
            q(sha256),
            q(origin)
        ));
    }
    for r in &c.route {
        out.push_str("[[route]]\n");
        out.push_str(&format!("dialect = {}\n", q(&r.dialect)));
        out.push_str(&format!("method = {}\n", q(&r.method)));
        out.push_str(&format!("path = {}\n", q(&r.path)));
        out.push_str(&format!("users = {}\n", list(&r.users)));
        for (key, v) in [
            ("query", &r.query),
            ("body", &r.body),
            ("response", &r.response),
        ] {
            if !v.is_empty() {
                out.push_str(&format!("{key} = {}\n", list(v)));
            }
        }
        if let Some(n) = &r.note {
            out.push_str(&format!("note = {}\n", q(n)));
        }
        for (id, s) in &r.described {
            out.push_str(&format!("described.{} = {}\n", q(id), q(s)));
        }
        for (id, v) in &r.undeclared {
            out.push_str(&format!("undeclared.{} = {}\n", q(id), list(v)));
        }
        out.push('\n');
    }
    for w in &c.web_route {
        out.push_str("[[web_route]]\n");
        out.push_str(&format!("dialect = {}\n", q(&w.dialect)));
        out.push_str(&format!("method = {}\n", q(&w.method)));
        out.push_str(&format!("path = {}\n", q(&w.path)));
        out.push_str(&format!("users = {}\n", list(&w.users)));
        if let Some(n) = &w.note {
            out.push_str(&format!("note = {}\n", q(n)));
        }
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
