//! The queue page: `mergeward queue status --format markdown|html`.
//!
//! One model ([`QueuePage`]) built from a `queue status` evaluation and the ledger's history,
//! rendered as Markdown (for `$GITHUB_STEP_SUMMARY` and Gitea's job summary) or as one
//! self-contained HTML file (inline CSS, no script, no network; readable on a phone).

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::ledger::{self, EffectKind, Ledger};
use crate::queue::policy::Action;
use crate::queue::tick::{RUN_COMMAND, TickReport, waits_for};

/// One row of the queue (or of the PRs outside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRow {
    /// Queue position; `None` for PRs outside the queue (skipped).
    pub position: Option<usize>,
    pub pr: u64,
    pub title: String,
    pub url: Option<String>,
    /// `merge`, `ready (next)`, `held`, `wait`, `behind`, `skip`, …
    pub state: String,
    /// The one thing it waits for, or why it is outside the queue.
    pub detail: String,
    /// Since when the current decision stands (from the ledger), RFC 3339.
    pub since: Option<String>,
}

/// A merge, update or hold from the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub at: String,
    pub pr: u64,
    pub what: &'static str,
    pub why: String,
    pub url: Option<String>,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePage {
    pub repo: String,
    pub branch: String,
    pub generated_at: String,
    pub base_head: Option<String>,
    pub queue: Vec<PageRow>,
    pub outside: Vec<PageRow>,
    pub unevaluated: Vec<(u64, String)>,
    pub recent: Vec<Activity>,
    /// Whether a ledger was there to read history from.
    pub has_history: bool,
    /// Batch mode: the batch in flight, one line each (empty in serial mode).
    pub batches: Vec<String>,
}

/// What the page needs from the ledger: since when each PR's decision stands, and the
/// newest merges, updates and holds.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub since: BTreeMap<u64, String>,
    pub recent: Vec<Activity>,
}

impl History {
    /// Reads the history of `report`'s PRs and the newest `limit` actions from `ledger`.
    pub async fn read(
        ledger: &Ledger,
        repo: &str,
        report: &TickReport,
        limit: u32,
    ) -> ledger::LedgerResult<History> {
        let mut h = History::default();
        for d in &report.decisions {
            let chain = ledger.explain(&ledger::pr_subject(d.pr.0)).await?;
            if let Some(current) = chain.iter().find(|c| !c.dry_run) {
                h.since.insert(d.pr.0, current.created_at.clone());
            }
        }
        let effects = ledger
            .recent_effects(
                RUN_COMMAND,
                repo,
                &report.branch,
                &[EffectKind::Merge, EffectKind::Update, EffectKind::Label],
                limit,
            )
            .await?;
        for e in effects {
            let Some(pr) = ledger::pr_number(&e.subject) else {
                continue;
            };
            let why = match &e.decision_id {
                Some(id) => ledger
                    .decision(id)
                    .await?
                    .map(|d| d.reason_text)
                    .unwrap_or_default(),
                None => String::new(),
            };
            h.recent.push(Activity {
                at: e.outcome_at.clone().unwrap_or(e.intent_at.clone()),
                pr,
                what: match e.kind {
                    EffectKind::Merge => "merged",
                    EffectKind::Update => "updated",
                    _ => "held",
                },
                why,
                url: report.prs.get(&pr).and_then(|p| p.url.clone()),
            });
        }
        Ok(h)
    }
}

impl QueuePage {
    /// The page of one `queue status` evaluation.
    pub fn build(
        report: &TickReport,
        repo: &str,
        generated_at: &str,
        history: Option<History>,
    ) -> QueuePage {
        let has_history = history.is_some();
        let history = history.unwrap_or_default();
        let first_ready = report
            .decisions
            .iter()
            .find(|d| matches!(d.action, Action::Merge { .. }))
            .map(|d| d.pr.0);
        let mut queue = Vec::new();
        let mut outside = Vec::new();
        for d in &report.decisions {
            let info = report.prs.get(&d.pr.0);
            let held = report.held.get(&d.pr.0);
            let row = PageRow {
                position: None,
                pr: d.pr.0,
                title: info.map(|p| p.title.clone()).unwrap_or_default(),
                url: info.and_then(|p| p.url.clone()),
                state: super::queue_cmd::action_label(report, d, first_ready),
                detail: match held {
                    Some(why) => format!("held: {why}"),
                    None if d.action == Action::Skip => d.reason.text(),
                    None if matches!(d.action, Action::Merge { .. }) => {
                        "nothing: proven ready".to_string()
                    }
                    None => waits_for(d, &report.branch),
                },
                since: history.since.get(&d.pr.0).cloned(),
            };
            if d.action == Action::Skip {
                outside.push(row);
            } else {
                queue.push(PageRow {
                    position: Some(queue.len() + 1),
                    ..row
                });
            }
        }
        QueuePage {
            repo: repo.to_string(),
            branch: report.branch.clone(),
            generated_at: generated_at.to_string(),
            base_head: report.base_head.as_ref().map(|s| s.to_string()),
            queue,
            outside,
            unevaluated: report
                .unevaluated
                .iter()
                .map(|u| (u.pr, u.error.clone()))
                .collect(),
            recent: history.recent,
            has_history,
            batches: report.batches.iter().map(batch_summary).collect(),
        }
    }
}

/// One line about a batch: its PRs, staging commit and what its CI says.
fn batch_summary(b: &crate::queue::report::BatchReport) -> String {
    let prs: Vec<String> = b.members.iter().map(|p| format!("#{p}")).collect();
    let mut line = format!("batch {} ({}): {}", b.id, b.state, prs.join(", "));
    if let Some(s) = &b.staging {
        line.push_str(&format!(
            " at {} on {}",
            short_sha(s.as_str()),
            b.staging_branch
        ));
    }
    line.push_str(&format!(" · CI {}", b.verdict));
    line
}

/// A Markdown table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn md_pr(pr: u64, title: &str, url: Option<&str>) -> String {
    let label = if title.is_empty() {
        format!("#{pr}")
    } else {
        format!("#{pr} {}", cell(title).replace(['[', ']'], ""))
    };
    match url {
        Some(u) => format!("[{label}]({u})"),
        None => label,
    }
}

fn short_sha(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}

/// The page as GitHub-flavoured Markdown.
pub fn markdown(p: &QueuePage) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "## Merge queue · {} → `{}`\n\n",
        cell(&p.repo),
        cell(&p.branch)
    ));
    out.push_str(&format!("_{}", cell(&p.generated_at)));
    if let Some(b) = &p.base_head {
        out.push_str(&format!(" · `{}` at `{}`", cell(&p.branch), short_sha(b)));
    }
    out.push_str("_\n\n");
    for b in &p.batches {
        out.push_str(&format!("**In flight:** {}\n\n", cell(b)));
    }
    if p.queue.is_empty() {
        out.push_str("The queue is empty.\n\n");
    } else {
        out.push_str("| # | Pull request | State | Waiting for | Since |\n");
        out.push_str("|---|---|---|---|---|\n");
        for r in &p.queue {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.position.unwrap_or_default(),
                md_pr(r.pr, &r.title, r.url.as_deref()),
                cell(&r.state),
                cell(&r.detail),
                r.since.as_deref().map(cell).unwrap_or_else(|| "—".into()),
            ));
        }
        out.push('\n');
    }
    if !p.unevaluated.is_empty() {
        out.push_str("**Could not be read** (never merged until they can be):\n\n");
        for (pr, e) in &p.unevaluated {
            out.push_str(&format!("- #{pr}: {}\n", cell(e)));
        }
        out.push('\n');
    }
    if !p.outside.is_empty() {
        out.push_str("### Not in the queue\n\n| Pull request | Why |\n|---|---|\n");
        for r in &p.outside {
            out.push_str(&format!(
                "| {} | {} |\n",
                md_pr(r.pr, &r.title, r.url.as_deref()),
                cell(&r.detail)
            ));
        }
        out.push('\n');
    }
    out.push_str("### Recent activity\n\n");
    if !p.has_history {
        out.push_str("No ledger here to read the history from.\n");
    } else if p.recent.is_empty() {
        out.push_str("Nothing merged, updated or held yet.\n");
    } else {
        out.push_str("| When | Pull request | What | Why |\n|---|---|---|---|\n");
        for a in &p.recent {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                cell(&a.at),
                md_pr(a.pr, "", a.url.as_deref()),
                a.what,
                cell(&a.why)
            ));
        }
    }
    out
}

const CSS: &str = "
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#fff;--line:#d1d9e0;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--line:#3d444d;--ok:#3fb950;--warn:#d29922;--bad:#f85149}}
body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:1rem;max-width:60rem}
h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.meta{color:var(--muted);font-size:.9rem;margin:0 0 1rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.85rem;color:var(--muted);font-weight:600}
a{color:inherit}.state{white-space:nowrap;font-weight:600}
.s-merge,.s-merged{color:var(--ok)}.s-held{color:var(--bad)}.s-ready{color:var(--ok)}.s-wait,.s-behind,.s-updated{color:var(--warn)}
.when{white-space:nowrap;color:var(--muted);font-size:.85rem}
@media (max-width:40rem){thead{display:none}tr{display:block;border-bottom:1px solid var(--line);padding:.4rem 0}td{display:block;border:0;padding:.1rem 0}td.pos::before{content:'Position '}}
";

fn state_class(state: &str) -> String {
    let word = state.split_whitespace().next().unwrap_or("");
    format!("state s-{word}")
}

fn pr_link(pr: u64, title: &str, url: Option<&str>) -> Markup {
    let label = if title.is_empty() {
        format!("#{pr}")
    } else {
        format!("#{pr} {title}")
    };
    html! {
        @if let Some(u) = url { a href=(u) { (label) } } @else { (label) }
    }
}

/// The page as one self-contained HTML document.
pub fn html(p: &QueuePage) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Merge queue · " (p.repo) " → " (p.branch) }
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { "Merge queue · " (p.repo) " → " code { (p.branch) } }
                p.meta {
                    (p.generated_at)
                    @if let Some(b) = &p.base_head { " · " (p.branch) " at " code { (short_sha(b)) } }
                }
                @for b in &p.batches {
                    p.batch { strong { "In flight: " } (b) }
                }
                @if p.queue.is_empty() {
                    p { "The queue is empty." }
                } @else {
                    table id="queue" {
                        thead { tr { th { "#" } th { "Pull request" } th { "State" } th { "Waiting for" } th { "Since" } } }
                        tbody {
                            @for r in &p.queue {
                                tr data-pr=(r.pr) {
                                    td.pos { (r.position.unwrap_or_default()) }
                                    td { (pr_link(r.pr, &r.title, r.url.as_deref())) }
                                    td class=(state_class(&r.state)) { (r.state) }
                                    td.detail { (r.detail) }
                                    td.when { (r.since.as_deref().unwrap_or("—")) }
                                }
                            }
                        }
                    }
                }
                @if !p.unevaluated.is_empty() {
                    h2 { "Could not be read" }
                    ul { @for (pr, e) in &p.unevaluated { li data-pr=(pr) { "#" (pr) ": " (e) } } }
                }
                @if !p.outside.is_empty() {
                    h2 { "Not in the queue" }
                    table id="outside" {
                        thead { tr { th { "Pull request" } th { "State" } th { "Why" } } }
                        tbody {
                            @for r in &p.outside {
                                tr data-pr=(r.pr) {
                                    td { (pr_link(r.pr, &r.title, r.url.as_deref())) }
                                    td class=(state_class(&r.state)) { (r.state) }
                                    td.detail { (r.detail) }
                                }
                            }
                        }
                    }
                }
                h2 { "Recent activity" }
                @if !p.has_history {
                    p { "No ledger here to read the history from." }
                } @else if p.recent.is_empty() {
                    p { "Nothing merged, updated or held yet." }
                } @else {
                    table id="recent" {
                        thead { tr { th { "When" } th { "Pull request" } th { "What" } th { "Why" } } }
                        tbody {
                            @for a in &p.recent {
                                tr data-pr=(a.pr) {
                                    td.when { (a.at) }
                                    td { (pr_link(a.pr, "", a.url.as_deref())) }
                                    td class=(state_class(a.what)) { (a.what) }
                                    td.detail { (a.why) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page.into_string()
}
