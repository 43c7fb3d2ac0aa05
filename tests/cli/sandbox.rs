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
