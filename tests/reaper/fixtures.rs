//! The shipped reaper fixtures: the sample workflow directory (the original's "real repo
//! smoke" tests) and the `reaper-gitea.json` scenario, swept end to end.

use crate::common;

use std::path::Path;

use common::{query_value, requests_to};
use mergeward::config::{DEFAULT_CANCELLED, DEFAULT_PR_SHADOW, DEFAULT_PUSH_SUFFIX};
use mergeward::error::ExitCode;
use mergeward::forge::{self, ForgeKind, ForgeTarget, HttpSettings, RepoSlug, Secret};
use mergeward::ledger::{Ledger, NewRun};
use mergeward::reaper::{Reaper, workflows};
use mergeward::report::Progress;
use mergeward::sim::{Mutation, Scenario, Sim};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn scan_workflows_on_the_sample_checkout_has_no_collision() {
    let m = workflows::from_dir(&root().join("fixtures/workflows/reaper")).unwrap();
    assert_eq!(m.push_trigger("publish-workspace-server-image"), Some(true));
    assert_eq!(m.push_trigger("main-red-watchdog"), Some(false));
    assert_eq!(m.push_trigger("CI"), Some(true));
    assert_eq!(m.push_trigger("Secret scan"), Some(false));
    assert_eq!(m.push_trigger("nightly"), Some(false));
    assert_eq!(
        m.push_trigger("odd-trigger"),
        Some(true),
        "ambiguous: preserved"
    );
    assert_eq!(m.push_trigger("broken"), None, "parse error: skipped");
    let notes: Vec<String> = m
        .notes
        .iter()
        .map(|n| format!("{}: {}", n.level, n.message))
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("warning: yaml parse failed for ") && n.contains("broken.yml")),
        "{notes:?}"
    );
    assert!(
        notes.contains(
            &"notice: ambiguous on: for odd-trigger; preserving (value=None, type=null)"
                .to_string()
        ),
        "{notes:?}"
    );
}

#[tokio::test]
async fn the_reaper_scenario_sweeps_to_the_documented_compensations() {
    let sc = Scenario::from_file(&root().join("fixtures/sim/reaper-gitea.json")).unwrap();
    let sim = Sim::start(sc).await.unwrap();
    let target = ForgeTarget {
        kind: ForgeKind::Gitea,
        url: url::Url::parse(&sim.url()).unwrap(),
        repo: RepoSlug::parse("acme/widgets").unwrap(),
    };
    let mut http = HttpSettings::new(target.api_base(), target.dialect());
    http.token = Some(Secret::new("sim-reaper-token"));
    let f = forge::connect(&target, http).unwrap();
    let ledger = Ledger::open("sqlite::memory:").await.unwrap();
    let run = ledger
        .start_run(&NewRun::new("reap", "gitea", "acme/widgets", "main"))
        .await
        .unwrap();
    let settings = mergeward::config::reap_defaults("main");
    let progress = Progress::silent();
    let r = Reaper {
        forge: &f,
        ledger: &ledger,
        run_id: &run.id,
        settings: &settings,
        progress: &progress,
    }
    .run(None)
    .await
    .unwrap();
    let sha = |e: &str| sim.with_state(|s| s.resolve(e)).unwrap();
    let url = |n: u32| format!("https://git.example.com/acme/widgets/actions/runs/{n}/jobs/0");
    let post = |at: &str, ctx: &str, desc: &str, url: String| Mutation::StatusPosted {
        sha: sha(at),
        context: ctx.into(),
        state: "success".into(),
        description: desc.into(),
        target_url: url,
    };
    // Commits are swept concurrently: compare in a fixed order.
    let key = |m: &Mutation| format!("{m:?}");
    let mut got = sim.take_mutations();
    got.sort_by_key(key);
    let mut want = vec![
        post("main", "CI / test (push)", DEFAULT_CANCELLED, url(43)),
        post(
            "main~1",
            "CI / test (pull_request)",
            DEFAULT_PR_SHADOW,
            String::new(),
        ),
        post("main~2", "CI / test (push)", DEFAULT_CANCELLED, url(41)),
        post(
            "main~3",
            "main-red-watchdog / check (push)",
            DEFAULT_PUSH_SUFFIX,
            url(40),
        ),
    ];
    want.sort_by_key(key);
    assert_eq!(got, want);
    let c = &r.counters;
    assert_eq!(c.scanned_shas, 4);
    assert_eq!(c.compensated, 4);
    assert_eq!(c.compensated_cancelled_push, 2);
    assert_eq!(c.compensated_pr_shadowed_by_push_success, 1);
    assert_eq!(c.preserved_cancelled_on_head, 1);
    assert_eq!(c.preserved_real_push, 1);
    assert_eq!(c.preserved_pr_without_push_success, 2);
    assert_eq!(c.preserved_unknown, 1);
    assert_eq!(c.preserved_non_failure, 56);
    assert_eq!(r.exit_code(), ExitCode::Success);
    // The head's 59 rows span two pages.
    let head_pages = requests_to(&sim, "GET", "/repos/{owner}/{repo}/commits/{ref}/statuses")
        .into_iter()
        .filter(|q| q.path.contains(&sha("main")))
        .filter_map(|q| query_value(&q, "page"))
        .collect::<Vec<_>>();
    assert_eq!(head_pages, ["1", "2"]);
    sim.shutdown().await;
}
