//! `mergeward sandbox` drains its shipped scenario: the ready PRs merge in queue order, the
//! conflicting ones are held, and every other PR is left waiting or skipped for its reason.

use serde_json::Value;

#[test]
fn the_sandbox_drains_its_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .args(["sandbox", "--format", "json"])
        .current_dir(dir.path())
        .env_remove("MERGEWARD_LEDGER")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = &v["summary"];
    assert_eq!(summary["drained"], true, "{summary}");
    assert_eq!(summary["merged"], serde_json::json!([1, 2, 5, 11]));
    assert_eq!(summary["held"], serde_json::json!([6, 13]));
    let reasons: Vec<(u64, String)> = v["final"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["pr"].as_u64().unwrap(),
                d["reason_code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (pr, code) in [
        (3, "insufficient_approvals"),
        (4, "behind_with_red_required"),
        (12, "request_changes"),
        (7, "draft"),
        (8, "opt_out"),
        (9, "fork"),
        (10, "wrong_base"),
    ] {
        assert!(
            reasons.contains(&(pr, code.to_string())),
            "#{pr} should end as {code}: {reasons:?}"
        );
    }
    // Every tick was recorded, and nothing was left behind in the working directory.
    assert_eq!(summary["ledger"]["runs"], summary["ticks"]);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// `sandbox --batch`: the git-backed scenario drains through batches — the first batch of
/// four is red (#4 breaks main once merged), bisection lands #1 and #2, holds #4, and the next
/// batch lands #5, #8 and #10; #6 conflicts with main once #1 landed.
#[test]
fn the_batch_sandbox_drains_its_scenario_through_batches() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .args(["sandbox", "--batch", "--format", "json"])
        .current_dir(dir.path())
        .env_remove("MERGEWARD_LEDGER")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = &v["summary"];
    assert_eq!(summary["drained"], true, "{summary}");
    assert_eq!(summary["merged"], serde_json::json!([1, 2, 5, 8, 10]));
    assert_eq!(summary["held"], serde_json::json!([4]));
    // Every landing is a fast-forward push of a tested staging commit, recorded in the ledger.
    assert_eq!(
        summary["ledger"]["effects"]["push committed"], 6,
        "{summary}"
    );
    let states: Vec<String> = v["ticks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["batches"].as_array().cloned().unwrap_or_default())
        .map(|b| b["state"].as_str().unwrap().to_string())
        .filter(|s| s != "testing")
        .collect();
    assert_eq!(
        states,
        [
            "built", "split", "built", "landed", "built", "held", "built", "landed"
        ],
        "{states:?}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
