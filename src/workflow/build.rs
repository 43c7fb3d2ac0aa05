//! Reading the YAML tree into the model: the trigger block (also under the YAML 1.1
//! booleans `true`/`yes`), event filters, jobs, `runs-on`, steps.

use super::{Coe, Filter, Job, Kind, Node, RunsOn, Spanned, Step, Trigger, Triggers};

pub(super) fn spanned_str(n: &Node) -> Option<Spanned<String>> {
    n.str().map(|s| Spanned::new(s.to_string(), n.pos))
}

fn filters_of(body: &Node) -> Vec<Filter> {
    const KEYS: [&str; 6] = [
        "paths",
        "paths-ignore",
        "branches",
        "branches-ignore",
        "tags",
        "tags-ignore",
    ];
    body.entries()
        .iter()
        .filter_map(|e| {
            let key = e.key.str()?;
            if !KEYS.contains(&key) {
                return None;
            }
            let malformed = !matches!(e.value.kind, Kind::Seq(_))
                || e.value.items().iter().any(|i| i.str().is_none());
            Some(Filter {
                key: key.to_string(),
                pos: e.key.pos,
                values: e
                    .value
                    .strings()
                    .into_iter()
                    .map(|(s, p)| Spanned::new(s, p))
                    .collect(),
                malformed,
            })
        })
        .collect()
}

/// Whether a top-level key is the trigger key: the string `on`, or a YAML 1.1 `true`.
fn is_trigger_key(key: &Node) -> bool {
    key.str() == Some("on") || key.bool11() == Some(true)
}

pub(super) fn triggers(root: &Node) -> Option<Triggers> {
    let entry = root
        .entries()
        .iter()
        .rev()
        .find(|e| is_trigger_key(&e.key))?;
    let v = &entry.value;
    let mut t = Triggers {
        pos: entry.key.pos,
        events: Vec::new(),
        top_level_filters: Vec::new(),
    };
    match &v.kind {
        Kind::Scalar(s, _) if !v.is_null() => t.events.push(Trigger {
            event: s.clone(),
            pos: v.pos,
            body: None,
            filters: Vec::new(),
        }),
        Kind::Seq(items) => {
            for i in items {
                if let Some(s) = i.str() {
                    t.events.push(Trigger {
                        event: s.to_string(),
                        pos: i.pos,
                        body: None,
                        filters: Vec::new(),
                    });
                }
            }
        }
        Kind::Map(entries) => {
            t.top_level_filters = filters_of(v)
                .into_iter()
                .filter(|f| f.key.starts_with("paths"))
                .collect();
            for e in entries {
                let Some(name) = e.key.str() else { continue };
                if name == "paths" || name == "paths-ignore" {
                    continue;
                }
                let body = e.value.is_map().then(|| e.value.clone());
                t.events.push(Trigger {
                    event: name.to_string(),
                    pos: e.key.pos,
                    filters: body.as_ref().map(filters_of).unwrap_or_default(),
                    body,
                });
            }
        }
        _ => {}
    }
    Some(t)
}

fn runs_on(n: &Node) -> RunsOn {
    let labels = match &n.kind {
        Kind::Map(_) => {
            let mut l: Vec<Spanned<String>> = Vec::new();
            if let Some(g) = n.get("group") {
                l.extend(g.strings().into_iter().map(|(s, p)| Spanned::new(s, p)));
            }
            if let Some(x) = n.get("labels") {
                l.extend(x.strings().into_iter().map(|(s, p)| Spanned::new(s, p)));
            }
            l
        }
        _ => n
            .strings()
            .into_iter()
            .map(|(s, p)| Spanned::new(s, p))
            .collect(),
    };
    RunsOn {
        pos: n.pos,
        labels,
        node: n.clone(),
    }
}

pub(super) fn job(entry: usize, key: &Node, body: &Node) -> Option<Job> {
    let key = spanned_str(key)?;
    let steps = body
        .get("steps")
        .map(|s| {
            s.items()
                .iter()
                .enumerate()
                .map(|(index, st)| Step {
                    pos: st.pos,
                    name: st.get("name").and_then(spanned_str),
                    run: st.get("run").and_then(spanned_str),
                    uses: st.get("uses").and_then(spanned_str),
                    index,
                })
                .collect()
        })
        .unwrap_or_default();
    let coe = body.entry("continue-on-error").map(|e| {
        let (raw, style) = match &e.value.kind {
            Kind::Scalar(s, st) => (s.clone(), Some(*st)),
            _ => (String::new(), None),
        };
        Coe {
            key_pos: e.key.pos,
            value_pos: e.value.pos,
            raw,
            style,
        }
    });
    Some(Job {
        key,
        name: body.get("name").and_then(spanned_str),
        runs_on: body.get("runs-on").map(runs_on),
        continue_on_error: coe,
        if_cond: body.get("if").and_then(spanned_str),
        needs: body
            .get("needs")
            .map(|n| {
                n.strings()
                    .into_iter()
                    .map(|(s, p)| Spanned::new(s, p))
                    .collect()
            })
            .unwrap_or_default(),
        uses: body.get("uses").and_then(spanned_str),
        steps,
        container: body.get("container").cloned(),
        services: body.get("services").cloned(),
        entry,
    })
}
