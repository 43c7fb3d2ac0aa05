//! The API-contract checker: does a (method, path) exist in the official API descriptions
//! under `../shared/specs/`? Used by `tests/contract.rs`.

use std::path::PathBuf;

use serde_json::Value;

/// One API description: its base path and every (METHOD, template) it declares.
pub struct Spec {
    pub name: String,
    pub base_path: String,
    pub operations: Vec<(String, Vec<String>)>,
}

pub fn specs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/specs")
}

impl Spec {
    /// Loads a swagger 2.0 or OpenAPI 3 file.
    pub fn load(file: &str) -> Spec {
        let path = specs_dir().join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {}: {e} (is ../shared beside the checkout?)",
                path.display()
            )
        });
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let base_path = doc
            .get("basePath")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut operations = Vec::new();
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .expect("spec has paths");
        for (template, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            let methods: Vec<String> = item
                .keys()
                .filter(|m| {
                    matches!(
                        m.as_str(),
                        "get" | "post" | "put" | "patch" | "delete" | "head"
                    )
                })
                .map(|m| m.to_ascii_uppercase())
                .collect();
            for m in methods {
                operations.push((m, split(template)));
            }
        }
        Spec {
            name: file.to_string(),
            base_path,
            operations,
        }
    }

    /// Whether `method path` (a concrete request path or a template, with or without the
    /// base path) is an operation of this spec.
    pub fn allows(&self, method: &str, path: &str) -> bool {
        let path = path.split('?').next().unwrap_or(path);
        let path = if !self.base_path.is_empty() {
            path.strip_prefix(&self.base_path).unwrap_or(path)
        } else {
            path
        };
        let segs = split(path);
        self.operations.iter().any(|(m, tpl)| {
            m.eq_ignore_ascii_case(method)
                && tpl.len() == segs.len()
                && tpl.iter().zip(&segs).all(|(t, s)| {
                    let t_param = t.starts_with('{') && t.ends_with('}');
                    (t_param && !s.is_empty()) || t == s
                })
        })
    }
}

fn split(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .map(str::to_string)
        .collect()
}
