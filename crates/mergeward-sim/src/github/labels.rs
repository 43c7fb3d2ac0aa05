//! GitHub labels and comments on pull requests (issues API).

use serde_json::Value;

use super::H;
use crate::http::{Resp, github_err};
use crate::record::Mutation;
use crate::scenario::Permission;

impl H<'_> {
    pub(super) fn add_labels(&mut self) -> Resp {
        let body = match self.body() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(n) = self.pr_number() else {
            return self.not_found();
        };
        if self.perm() < Permission::Write {
            return github_err(403, "Resource not accessible by personal access token");
        }
        let list = match &body {
            Value::Array(a) => a.clone(),
            Value::Object(o) => match o.get("labels") {
                Some(Value::Array(a)) => a.clone(),
                Some(Value::String(s)) => vec![Value::String(s.clone())],
                _ => return self.validation("Label", "labels", "labels is missing"),
            },
            Value::String(s) => vec![Value::String(s.clone())],
            _ => return self.validation("Label", "labels", "labels is invalid"),
        };
        let mut names = Vec::new();
        for v in list {
            match v {
                Value::String(s) => names.push(s),
                Value::Object(o) => match o.get("name").and_then(Value::as_str) {
                    Some(s) => names.push(s.to_string()),
                    None => return self.validation("Label", "name", "name is missing"),
                },
                _ => return self.validation("Label", "labels", "labels must be strings"),
            }
        }
        for name in names {
            let id = match self
                .st
                .labels
                .iter()
                .find(|l| l.name.eq_ignore_ascii_case(&name))
            {
                Some(l) => l.id,
                None => self.st.create_label(&name, "ededed", ""),
            };
            if !self.st.pull(n).labels.contains(&id) {
                self.st.pr_mut(n).labels.push(id);
                let label = self
                    .st
                    .label_by_id(id)
                    .map(|l| l.name.clone())
                    .unwrap_or(name);
                self.st.record(Mutation::LabelAdded { pr: n, label });
            }
        }
        Resp::json(200, Value::Array(self.pr_labels(self.st.pull(n))))
    }

    pub(super) fn remove_label(&mut self) -> Resp {
        let Some(n) = self.pr_number() else {
            return self.not_found();
        };
        if self.perm() < Permission::Write {
            return github_err(403, "Resource not accessible by personal access token");
        }
        let name = self.r.param("name").to_string();
        let id = self
            .st
            .labels
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(&name))
            .map(|l| l.id)
            .filter(|id| self.st.pull(n).labels.contains(id));
        let Some(id) = id else {
            return github_err(404, "Label does not exist");
        };
        self.st.pr_mut(n).labels.retain(|l| *l != id);
        let label = self
            .st
            .label_by_id(id)
            .map(|l| l.name.clone())
            .unwrap_or(name);
        self.st.record(Mutation::LabelRemoved { pr: n, label });
        Resp::json(200, Value::Array(self.pr_labels(self.st.pull(n))))
    }

    /// `POST /repos/{owner}/{repo}/labels`: 422 `already_exists` for a taken name.
    pub(super) fn create_repo_label(&mut self) -> Resp {
        if self.perm() < Permission::Write {
            return self.validation("Label", "name", "Resource not accessible by integration");
        }
        let body = match self.body() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let field = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let name = field("name");
        if name.is_empty() {
            return self.validation("Label", "name", "name is missing");
        }
        if self.st.label_by_name(&name).is_some() {
            return self.validation("Label", "name", "already_exists");
        }
        let color = match field("color") {
            c if c.is_empty() => "ededed".to_string(),
            c => c,
        };
        let id = self.st.create_label(&name, &color, &field("description"));
        self.st.record(Mutation::LabelCreated { name });
        match self.label_json(id) {
            Some(v) => Resp::json(201, v),
            None => Resp::empty(500),
        }
    }

    pub(super) fn create_comment(&mut self) -> Resp {
        let body = match self.body() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(n) = self.pr_number() else {
            return self.not_found();
        };
        let Some(text) = body.get("body").and_then(Value::as_str).map(str::to_string) else {
            return self.validation("IssueComment", "body", "body is missing");
        };
        let login = self.r.login();
        let id = self.st.add_comment(n, &login, &text);
        self.st.record(Mutation::Commented { pr: n, body: text });
        Resp::json(201, self.comment_json(id))
    }

    pub(super) fn edit_comment(&mut self) -> Resp {
        let body = match self.body() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(id) = self
            .r
            .param("comment_id")
            .parse::<u64>()
            .ok()
            .filter(|id| self.st.comments.iter().any(|c| c.id == *id))
        else {
            return self.not_found();
        };
        let Some(text) = body.get("body").and_then(Value::as_str).map(str::to_string) else {
            return self.validation("IssueComment", "body", "body is missing");
        };
        let login = self.r.login();
        let is_author = self
            .st
            .comments
            .iter()
            .any(|c| c.id == id && c.user.eq_ignore_ascii_case(&login));
        if !is_author && self.perm() < Permission::Write {
            return github_err(403, "Resource not accessible by personal access token");
        }
        self.st.edit_comment(id, text);
        Resp::json(200, self.comment_json(id))
    }
}
