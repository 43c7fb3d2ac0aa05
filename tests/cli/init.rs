//! `mergeward init`, `completions`, `man` and `--version` through the real binary.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn mergeward(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("mergeward").expect("binary");
    cmd.env_clear().current_dir(dir);
    cmd
}

fn init_json(dir: &std::path::Path, args: &[&str]) -> Value {
    let out = mergeward(dir)
        .args(["init", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What `.ci/run` does with the shipped workflows, on what `init` wrote.
fn gate_lint(dir: &std::path::Path, forge: &str) {
    mergeward(dir)
        .args([
            "gate",
            "lint",
            ".",
            "--offline",
            "--forge",
            forge,
            "--required-contexts",
            "*",
            "--format",
            "text",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 error(s)"));
}

#[test]
fn init_then_gate_lint_passes_for_every_forge() {
    for (forge, dir_name, files, context) in [
        (
            "gitea",
            ".gitea/workflows",
            4,
            "gates / lint (pull_request)",
        ),
        (
            "forgejo",
            ".forgejo/workflows",
            4,
            "gates / lint (pull_request)",
        ),
        ("github", ".github/workflows", 4, "lint"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let v = init_json(dir.path(), &["--forge", forge, "--repo", "acme/widgets"]);
        assert_eq!(v["forge"], forge);
        let wf_dir = dir.path().join(dir_name);
        let written = std::fs::read_dir(&wf_dir).unwrap().count();
        assert_eq!(written, files, "{forge}: {v}");
        assert_eq!(
            v["required_contexts"],
            serde_json::json!([context]),
            "{forge}"
        );
        let checklist = v["checklist"].to_string();
        assert!(checklist.contains("forge check --fix"), "{checklist}");
        assert!(checklist.contains(context), "{checklist}");
        gate_lint(dir.path(), forge);
        // The configuration it wrote is valid and names the forge and the repository.
        let out = mergeward(dir.path())
            .args(["config", "show", "--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
        let value = |k: &str| {
            shown["values"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["key"] == k)
                .map(|e| e["value"].clone())
        };
        assert_eq!(value("forge.kind"), Some(Value::from(forge)));
        assert_eq!(value("forge.repo"), Some(Value::from("acme/widgets")));
        if forge == "forgejo" {
            for f in std::fs::read_dir(&wf_dir).unwrap() {
                let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
                assert!(!text.contains("MERGEWARD_FORGE: gitea"));
            }
        }
    }
}

#[test]
fn init_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join(".gitea/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::write(wf.join("gates.yml"), "mine\n").unwrap();
    mergeward(dir.path())
        .args(["init", "--forge", "gitea"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("gates.yml").and(predicate::str::contains("--force")));
    // Nothing was written, not even the files that did not exist.
    assert!(!dir.path().join(".mergeward.toml").exists());
    assert_eq!(
        std::fs::read_to_string(wf.join("gates.yml")).unwrap(),
        "mine\n"
    );
    let v = init_json(dir.path(), &["--forge", "gitea", "--force"]);
    assert_eq!(v["overwritten"].as_array().unwrap().len(), 1, "{v}");
    assert_ne!(
        std::fs::read_to_string(wf.join("gates.yml")).unwrap(),
        "mine\n"
    );
}

#[test]
fn init_guesses_github_from_the_directory_and_writes_into_dir() {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("repo");
    std::fs::create_dir_all(repo.join(".github")).unwrap();
    let v = init_json(root.path(), &["--dir", "repo"]);
    assert_eq!(v["forge"], "github", "{v}");
    assert!(repo.join(".github/workflows/merge-queue.yml").is_file());
    assert!(repo.join(".mergeward.toml").is_file());
    mergeward(root.path())
        .args(["init", "--forge", "gitlab", "--dir", "repo"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("gitlab"));
}

#[test]
fn version_names_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    mergeward(dir.path())
        .arg("--version")
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(
                r"^mergeward \d+\.\d+\.\d+ \(commit ([0-9a-f]{7,}|unknown)\)\n$",
            )
            .unwrap(),
        );
}

#[test]
fn completions_and_man_come_from_the_clap_definition() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        mergeward(dir.path())
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("queue").and(predicate::str::contains("init")));
    }
    mergeward(dir.path()).arg("man").assert().success().stdout(
        predicate::str::starts_with(".ie").and(predicate::str::contains(".TH mergeward 1")),
    );
    let man = dir.path().join("man1");
    mergeward(dir.path())
        .args(["man", "--dir", "man1"])
        .assert()
        .success();
    for page in ["mergeward.1", "mergeward-queue-tick.1", "mergeward-init.1"] {
        assert!(man.join(page).is_file(), "{page} missing");
    }
}

/// An installed binary has no `fixtures/`, `docs/` or `SPEC.md` beside it: the help texts
/// must not send anyone there.
#[test]
fn help_points_at_no_repository_file() {
    use clap::CommandFactory;
    fn walk(cmd: &mut clap::Command, out: &mut Vec<String>) {
        out.push(cmd.render_long_help().to_string());
        for sub in cmd.get_subcommands_mut() {
            walk(sub, out);
        }
    }
    let mut helps = Vec::new();
    walk(&mut mergeward::cli::Cli::command(), &mut helps);
    let re =
        regex::Regex::new(r"(^|[\s(`])(fixtures|docs|tests|contract|workflows)/|SPEC\.md").unwrap();
    for h in &helps {
        for line in h.lines() {
            if re.is_match(line) {
                // Allowed only when it says the file is in the source repository.
                assert!(
                    line.contains("source repository"),
                    "help points at a file an installed binary does not have: {line}"
                );
            }
        }
    }
}
