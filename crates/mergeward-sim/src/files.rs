//! Repository files in the simulated forge, and the Gitea contents API over them.
//!
//! Files are set on a commit (scenario key `files`, or [`SimState::set_file`]); a commit's
//! tree is the files set on it and on its first-parent ancestors, newer over older, so a
//! commit pushed later inherits the files of its parent, as in git.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::http::{Req, Resp, gitea_err};
use super::state::SimState;

/// A file in a scenario: `{"ref"?: ref expression (default: the default branch), "path", "content"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub path: String,
    pub content: String,
}

impl FileSpec {
    /// A file on the default branch's head.
    pub fn new(path: impl Into<String>, content: impl Into<String>) -> FileSpec {
        FileSpec {
            reference: None,
            path: path.into(),
            content: content.into(),
        }
    }
    /// On another ref (branch, `main~2`, SHA).
    pub fn at(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }
}

/// Files set per commit (changes, not whole trees).
#[derive(Debug, Clone, Default)]
pub struct SimFiles {
    changes: BTreeMap<String, BTreeMap<String, String>>,
}

fn clean(path: &str) -> String {
    path.trim_matches('/').to_string()
}

impl SimState {
    /// Sets a file on a commit.
    pub fn set_file(&mut self, sha: &str, path: &str, content: &str) {
        self.files
            .changes
            .entry(sha.to_string())
            .or_default()
            .insert(clean(path), content.to_string());
    }

    /// The whole tree of a commit: path → content.
    pub fn tree(&self, sha: &str) -> BTreeMap<String, String> {
        let mut tree = BTreeMap::new();
        // Oldest first, so newer commits override.
        for c in self.first_parent_history(sha).iter().rev() {
            if let Some(ch) = self.files.changes.get(c) {
                tree.extend(ch.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        tree
    }
}

fn entry_json(api: &str, html: &str, reference: &str, path: &str, file: Option<&str>) -> Value {
    let name = path.rsplit('/').next().unwrap_or(path);
    let (kind, size, sha) = match file {
        Some(c) => ("file", c.len(), super::fake_sha(&format!("blob:{c}"))),
        None => (
            "dir",
            0,
            super::fake_sha(&format!("tree:{reference}:{path}")),
        ),
    };
    let self_url = format!("{api}/contents/{path}?ref={reference}");
    let git_url = format!("{api}/git/blobs/{sha}");
    let html_url = format!("{html}/src/commit/{reference}/{path}");
    json!({
        "name": name, "path": path, "sha": sha, "last_commit_sha": reference, "type": kind,
        "size": size, "encoding": null, "content": null, "target": null,
        "url": self_url, "html_url": html_url, "git_url": git_url,
        "download_url": file.map(|_| format!("{html}/raw/commit/{reference}/{path}")),
        "submodule_git_url": null,
        "_links": {"self": self_url, "git": git_url, "html": html_url},
    })
}

/// `GET /repos/{owner}/{repo}/contents/{filepath}?ref=`: a file (base64 content) or a
/// directory listing (entries without content); 404 when neither exists.
pub(crate) fn contents(st: &SimState, r: &Req) -> Resp {
    let reference = r
        .q("ref")
        .filter(|s| !s.is_empty())
        .unwrap_or(&st.default_branch)
        .to_string();
    let path = clean(r.param("filepath"));
    let api = format!("{}/api/v1/repos/{}/{}", r.base_url, st.owner, st.name);
    let html = format!("{}/{}/{}", r.base_url, st.owner, st.name);
    let Some(sha) = st.resolve_ref(&reference) else {
        return gitea_err(
            &r.base_url,
            404,
            &format!("object does not exist [id: {reference}, rel_path: ]"),
        );
    };
    let tree = st.tree(&sha);
    if let Some(content) = tree.get(&path) {
        let mut v = entry_json(&api, &html, &sha, &path, Some(content));
        v["encoding"] = json!("base64");
        v["content"] = json!(base64::engine::general_purpose::STANDARD.encode(content));
        return Resp::json(200, v);
    }
    let prefix = format!("{path}/");
    let mut children: BTreeMap<String, bool> = BTreeMap::new();
    for p in tree.keys() {
        if let Some(rest) = p.strip_prefix(&prefix) {
            match rest.split_once('/') {
                Some((dir, _)) => {
                    children.entry(dir.to_string()).or_insert(false);
                }
                None => {
                    children.insert(rest.to_string(), true);
                }
            }
        }
    }
    if children.is_empty() {
        return gitea_err(
            &r.base_url,
            404,
            &format!("object does not exist [id: {sha}, rel_path: {path}]"),
        );
    }
    let entries: Vec<Value> = children
        .iter()
        .map(|(name, is_file)| {
            let full = format!("{path}/{name}");
            let file = if *is_file {
                tree.get(&full).map(String::as_str)
            } else {
                None
            };
            entry_json(&api, &html, &sha, &full, file)
        })
        .collect();
    Resp::json(200, Value::Array(entries))
}
