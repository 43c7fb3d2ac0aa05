//! Real-world shaped workflows (`fixtures/workflows/gates/corpus`) for each false positive
//! issue 15 found when `gate lint` ran beside the original scripts over a real history:
//! a lint workflow whose comments quote the curl pattern it looks for, masks whose
//! comments cite history next to the live tracker, and `*` protection with path filters.
//! With every tracker open and `*` required, the whole corpus is clean; each defect put
//! back is found again.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{Duration, Utc};
use mergeward::gates::{self, GateSettings, IssueLookup, LintEnv, LintReport};
use mergeward::workflow::{self, Limits, Workflow};

fn corpus() -> Vec<Workflow> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/workflows/gates/corpus");
    let found = workflow::discover(&[dir]).expect("corpus");
    assert_eq!(found.len(), 4);
    found
        .iter()
        .map(|p| Workflow::load(p, Limits::default()).expect("load"))
        .collect()
}

fn open() -> IssueLookup {
    IssueLookup::Found {
        state: "open".into(),
        created_at: Some((Utc::now() - Duration::days(2)).to_rfc3339()),
    }
}

fn settings() -> GateSettings {
    let mut s = mergeward::config::gate_defaults();
    s.coe_trackers.insert("mc".into(), "acme/core".into());
    s
}

fn env(issues: &[(u64, IssueLookup)], required: &[&str]) -> LintEnv {
    LintEnv {
        required_contexts: Some(required.iter().map(|s| s.to_string()).collect()),
        required_source: "branch protection of main".into(),
        repo: Some("acme/core".into()),
        issues: issues
            .iter()
            .map(|(n, l)| (("acme/core".to_string(), *n), l.clone()))
            .collect::<BTreeMap<_, _>>(),
        ..LintEnv::default()
    }
}

fn summary(r: &LintReport) -> Vec<String> {
    r.findings
        .iter()
        .map(|f| {
            format!(
                "{}:{} {}",
                f.file.rsplit('/').next().unwrap_or(""),
                f.line,
                f.rule
            )
        })
        .collect()
}

#[test]
fn the_corpus_is_clean_with_live_trackers_and_star_protection() {
    let files = corpus();
    // Only the two trackers are asked for — not #3089, #219, #2711, #3201, #3350.
    let wanted = gates::rules::coe_tracking::wanted(&files, &settings(), Some("acme/core"));
    assert_eq!(
        wanted.into_iter().map(|(_, n)| n).collect::<Vec<_>>(),
        [4123, 4150]
    );
    let mut s = settings();
    s.disabled.insert("runs-on-pinned".into());
    let r = gates::lint(&files, &s, &env(&[(4123, open()), (4150, open())], &["*"]));
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn each_defect_is_still_found() {
    let files = corpus();
    let mut s = settings();
    s.disabled.insert("runs-on-pinned".into());
    // (The lint's `bp-required: yes` is not what these protections are about.)
    s.disabled.insert("context-in-protection".into());
    // A closed tracker fails, whatever history surrounds it; an unreadable one fails closed.
    let closed = IssueLookup::Found {
        state: "closed".into(),
        created_at: Some(Utc::now().to_rfc3339()),
    };
    let forbidden = IssueLookup::Forbidden {
        detail: "HTTP 403".into(),
    };
    let r = gates::lint(
        &files,
        &s,
        &env(&[(4123, closed), (4150, forbidden)], &["*"]),
    );
    assert_eq!(
        summary(&r),
        [
            "upload-artifacts.yml:19 coe-tracking",
            "upload-artifacts.yml:26 coe-tracking"
        ]
    );
    assert!(!r.findings[0].unverified && r.findings[1].unverified);
    // Protection that only the path-filtered Docs workflow can satisfy strands PRs.
    let r = gates::lint(
        &files,
        &s,
        &env(&[(4123, open()), (4150, open())], &["Docs / *"]),
    );
    assert_eq!(summary(&r), ["docs.yml:7 required-no-paths"]);
    // A required context nobody posts.
    let r = gates::lint(
        &files,
        &s,
        &env(
            &[(4123, open()), (4150, open())],
            &[
                "CI / test (linux) (pull_request)",
                "CI / test (macos) (pull_request)",
            ],
        ),
    );
    // (A literal required context keeps the original's reading: any path filter of the
    // workflow posting it is a finding, here CI's push filter.)
    assert_eq!(
        summary(&r),
        ["workflows:1 context-emitted", "ci.yml:7 required-no-paths"]
    );
    assert!(
        r.findings[0]
            .message
            .contains("\"CI / test (macos) (pull_request)\"")
    );
}
