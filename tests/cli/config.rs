//! `mergeward config show` and configuration errors, through the real binary.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn mergeward(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("mergeward").expect("binary");
    cmd.env_clear().current_dir(dir);
    cmd
}

#[test]
fn config_show_prints_each_value_with_its_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".mergeward.toml"),
        "[forge]\nurl = \"https://git.example.com\"\n[queue]\nhold_label = \"on-hold\"\n",
    )
    .unwrap();
    let out = mergeward(dir.path())
        .args([
            "config",
            "show",
            "--format",
            "json",
            "--repo",
            "acme/widgets",
        ])
        .env("WATCH_BRANCH", "trunk")
        .env("GITEA_TOKEN", "tok-secret-value-1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.contains("tok-secret-value-1"),
        "token leaked: {stdout}"
    );
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let find = |k: &str| {
        v["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == k)
            .cloned()
            .unwrap_or_else(|| panic!("no {k} in {v}"))
    };
    assert_eq!(
        find("forge.repo")["source"],
        serde_json::json!({"kind": "flag", "name": "--repo"})
    );
    assert_eq!(find("forge.branch")["value"], "trunk");
    assert_eq!(
        find("forge.branch")["source"],
        serde_json::json!({"kind": "env", "name": "WATCH_BRANCH"})
    );
    assert_eq!(find("queue.hold_label")["value"], "on-hold");
    assert_eq!(find("queue.hold_label")["source"]["kind"], "file");
    assert_eq!(find("queue.queue_label")["source"]["kind"], "default");
    assert_eq!(find("forge.token")["value"], "***");
    assert_eq!(
        find("forge.token")["source"],
        serde_json::json!({"kind": "env", "name": "GITEA_TOKEN"})
    );
}

#[test]
fn config_show_text_names_sources() {
    let dir = tempfile::tempdir().unwrap();
    mergeward(dir.path())
        .args(["config", "show", "--format", "text"])
        .env("REPO", "acme/widgets")
        .assert()
        .success()
        .stdout(predicate::str::contains("forge.repo").and(predicate::str::contains("(env REPO)")))
        .stdout(predicate::str::contains("(default)"));
}

#[test]
fn unknown_key_in_file_is_a_usage_error_with_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".mergeward.toml"),
        "[queue]\nopt_out_label = [\"wip\"]\n",
    )
    .unwrap();
    mergeward(dir.path())
        .args(["config", "show"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("queue.opt_out_label"))
        .stderr(predicate::str::contains(
            "did you mean queue.opt_out_labels?",
        ))
        .stderr(predicate::str::contains(".mergeward.toml"));
}

#[test]
fn explicitly_empty_auto_discover_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    mergeward(dir.path())
        .args(["config", "show"])
        .env("AUTO_DISCOVER", "")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("AUTO_DISCOVER").and(predicate::str::contains("empty")));
}

#[test]
fn a_token_is_never_accepted_as_an_argument() {
    let dir = tempfile::tempdir().unwrap();
    mergeward(dir.path())
        .args(["forge", "check", "--token", "abc123456"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--token"));
}

#[test]
fn misspelled_command_suggests() {
    let dir = tempfile::tempdir().unwrap();
    mergeward(dir.path())
        .args(["forge", "chek"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("check"));
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    mergeward(dir.path())
        .args([
            "forge",
            "check",
            "--url",
            "http://git.example.com",
            "--repo",
            "a/b",
        ])
        .env("GITEA_TOKEN", "tok-secret-value-2")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("http://")
                .and(predicate::str::contains("tok-secret-value-2").not()),
        );
}
