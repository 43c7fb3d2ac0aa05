//! The queue page (`queue status --format markdown|html`) as a person sees it: a queue with
//! a merge behind it, a held PR, PRs waiting for different things and one outside the queue,
//! rendered to Markdown (snapshot) and to HTML, which headless Chromium opens: every PR is
//! on the page, the held PR's reason is shown, and a phone-sized screenshot is taken.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::queue::*;
use common::*;
use mergeward::cli::queue_page::{self, History, QueuePage};
use mergeward::forge::ForgeKind;
use mergeward::sim::{PullSpec, ReviewSpec};

/// A queue after two ticks: #1 merged, #2 conflicting and held, #3 waiting for approvals,
/// #4 waiting for CI, #5 ready, #6 changes requested, #7 from a fork.
async fn world() -> World {
    let kind = ForgeKind::Gitea;
    let s = ready(queue_scenario(kind), 1);
    let s = ready_spec(
        s,
        PullSpec::new(2)
            .behind()
            .conflict()
            .title("Rework the loader"),
    );
    let s = green(s.pr(PullSpec::new(3).title("Add | pipes to names")), 3);
    let s = approve(s.pr(PullSpec::new(4).title("Speed up the cache")), 4);
    let s = ready_spec(s, PullSpec::new(5).title("Fix the docs"));
    let s = ready(s, 6).review(ReviewSpec::new(6, "carol", "REQUEST_CHANGES"));
    let s = ready_spec(s, PullSpec::new(7).fork("someone/widgets"));
    let w = World::start(kind, s).await;
    w.tick().await; // merges #1, holds #2 (conflict on the fair update), updates #4? no: CI missing
    w.tick().await;
    w
}

async fn page(w: &World) -> QueuePage {
    let report = w.status().await;
    let history = History::read(&w.ledger, REPO, &report, 20).await.unwrap();
    QueuePage::build(&report, REPO, "2026-12-02 05:30 UTC", Some(history))
}

/// The page with what changes from run to run (the simulator's port, ledger timestamps)
/// replaced, for a stable snapshot.
fn stable(p: &QueuePage, sim_url: &str) -> QueuePage {
    let mut p = p.clone();
    for r in p.queue.iter_mut().chain(p.outside.iter_mut()) {
        r.since = r.since.as_ref().map(|_| "<since>".into());
        r.url = r.url.as_ref().map(|u| u.replace(sim_url, "http://forge"));
    }
    for a in &mut p.recent {
        a.at = "<at>".into();
        a.url = a.url.as_ref().map(|u| u.replace(sim_url, "http://forge"));
    }
    p
}

#[tokio::test]
async fn the_markdown_page_lists_the_queue_the_held_pr_and_the_history() {
    let w = world().await;
    let p = page(&w).await;
    let md = queue_page::markdown(&stable(&p, &w.sim.url()));
    insta::assert_snapshot!("queue_page_markdown", md);
    w.shutdown().await;
}

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(str::to_string)
}

#[tokio::test]
async fn the_html_page_opens_in_a_browser_with_every_pr_and_the_hold_reason() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: the browser test must run; .ci/run installs Debian's chromium"
        );
        eprintln!(
            "SKIPPED: no chromium on PATH (apt-get install chromium); the page was not opened"
        );
        return;
    };
    let w = world().await;
    let p = page(&w).await;
    let html = queue_page::html(&p);
    assert!(!html.contains("<script"), "no script needed to read it");
    assert!(
        !html.contains("http-equiv") && !html.contains("<link"),
        "self-contained"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queue.html");
    std::fs::write(&file, &html).unwrap();
    let url = format!("file://{}", file.display());
    let profile = dir.path().join("profile");
    let base = |extra: &[&str]| {
        let mut c = Command::new(&browser);
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra);
        c
    };
    // What the browser built from the file.
    let out = base(&["--dump-dom"]).arg(&url).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    for n in 2..=7 {
        assert!(
            dom.contains(&format!("data-pr=\"{n}\"")),
            "#{n} is on the page: {dom}"
        );
    }
    assert!(dom.contains("id=\"queue\""), "{dom}");
    let held_row = dom
        .split("<tr")
        .find(|row| row.contains("data-pr=\"2\"") && row.contains("held"))
        .unwrap_or_else(|| panic!("#2's row shows it held: {dom}"));
    assert!(held_row.contains("held: updating the branch"), "{held_row}");
    assert!(
        dom.contains("merged"),
        "the merge of #1 is in the recent activity: {dom}"
    );
    // A phone-sized screenshot.
    let shot = dir.path().join("queue.png");
    let out = base(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=412,915",
    ])
    .arg(&url)
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 5_000,
        "{} bytes",
        png.len()
    );
    if let Ok(dest) = std::env::var("MERGEWARD_PAGE_SCREENSHOT") {
        std::fs::copy(&shot, Path::new(&dest)).unwrap();
    }
    w.shutdown().await;
}
