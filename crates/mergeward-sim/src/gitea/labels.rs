//! Gitea labels and comments on pull requests (issues API).

use serde_json::Value;

use super::G;
use crate::http::Resp;
use crate::record::Mutation;
use crate::scenario::Permission;

impl G<'_> {
    pub(super) fn add_labels(&mut self) -> Resp {
        let Some(n) = self.index() else {
            return self.not_found();
        };
        if let Some(e) = self.require_write() {
            return e;
        }
        let body = match self.body_obj() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let Some(list) = body.get("labels").and_then(Value::as_array).cloned() else {
            return self.err(422, "[Labels]: Required");
        };
        let all_ints = list.iter().all(|v| v.is_u64());
        let all_strs = list.iter().all(|v| v.is_string());
        if !all_ints && !all_strs {
            return self.err(400, "invalid label: labels must be all ids or all names");
        }
        let ids: Vec<u64> = list
            .iter()
            .filter_map(|v| match v {
                Value::Number(x) => x.as_u64().filter(|id| self.st.label_by_id(*id).is_some()),
                Value::String(s) => self.st.label_by_name(s).map(|l| l.id),
                _ => None,
            })
            .collect();
        for id in ids {
            if !self.st.pull(n).labels.contains(&id) {
                self.st.pr_mut(n).labels.push(id);
                let name = self
                    .st
                    .label_by_id(id)
                    .map(|l| l.name.clone())
                    .unwrap_or_default();
                self.st.record(Mutation::LabelAdded { pr: n, label: name });
            }
        }
        Resp::json(200, Value::Array(self.pr_labels(self.st.pull(n))))
    }

    pub(super) fn remove_label(&mut self) -> Resp {
        let Some(n) = self.index() else {
            return self.not_found();
        };
        if let Some(e) = self.require_write() {
            return e;
        }
        let Some(id) = self
            .r
            .param("id")
            .parse::<u64>()
            .ok()
            .filter(|id| self.st.label_by_id(*id).is_some())
        else {
            return self.err(422, "label does not exist");
        };
        if self.st.pull(n).labels.contains(&id) {
            self.st.pr_mut(n).labels.retain(|l| *l != id);
            let name = self
                .st
                .label_by_id(id)
                .map(|l| l.name.clone())
                .unwrap_or_default();
            self.st
                .record(Mutation::LabelRemoved { pr: n, label: name });
        }
        Resp::empty(204)
    }

    /// `POST /repos/{owner}/{repo}/labels` (CreateLabelOption: name and color required;
    /// write access).
    pub(super) fn create_repo_label(&mut self) -> Resp {
        if self.perm() < Permission::Write {
            return Resp::empty(403);
        }
        let body = match self.body_obj() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let field = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let (name, color) = (field("name"), field("color"));
        if name.is_empty() || color.is_empty() {
            return self.err(422, "[Name, Color]: Required");
        }
        let id = self.st.create_label(&name, &color, &field("description"));
        self.st.record(Mutation::LabelCreated { name });
        match self.label_json(id) {
            Some(v) => Resp::json(201, v),
            None => self.err(500, ""),
        }
    }

    pub(super) fn create_comment(&mut self) -> Resp {
        let Some(n) = self.index() else {
            return self.not_found();
        };
        let body = match self.body_obj() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let text = body
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if text.is_empty() {
            return self.err(422, "[Body]: Required");
        }
        let login = self.r.login();
        let id = self.st.add_comment(n, &login, &text);
        self.st.record(Mutation::Commented { pr: n, body: text });
        Resp::json(201, self.comment_json(id))
    }

    pub(super) fn edit_comment(&mut self) -> Resp {
        let Some(id) = self
            .r
            .param("id")
            .parse::<u64>()
            .ok()
            .filter(|id| self.st.comments.iter().any(|c| c.id == *id))
        else {
            return self.not_found();
        };
        let body = match self.body_obj() {
            Ok(b) => b,
            Err(e) => return e,
        };
        let text = body
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let login = self.r.login();
        let is_author = self
            .st
            .comments
            .iter()
            .any(|c| c.id == id && c.user.eq_ignore_ascii_case(&login));
        if !is_author && self.perm() < Permission::Admin {
            return self.err(403, "");
        }
        self.st.edit_comment(id, text);
        Resp::json(200, self.comment_json(id))
    }
}
