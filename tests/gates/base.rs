//! `gate lint --base REF` (issue 15 point 6): the base side is read through one
//! long-lived `git cat-file --batch`, only for the files the change touches (modified,
//! deleted since the base); untouched files are their own base, untracked files are new.

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(".gitea/workflows").join(name);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn wf(name: &str, jobs: &[&str]) -> String {
    let jobs: String = jobs
        .iter()
        .map(|j| format!("  {j}:\n    runs-on: x\n"))
        .collect();
    format!("name: {name}\non: pull_request\njobs:\n{jobs}")
}

#[test]
fn base_reads_only_touched_files_through_one_cat_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    git(d, &["init", "-q"]);
    write(d, "a.yml", &wf("A", &["x"]));
    write(d, "b.yml", &wf("B", &["y"]));
    write(d, "c.yml", &wf("C", &["z"]));
    git(d, &["add", "."]);
    git(d, &["commit", "-qm", "base"]);
    // The change: b.yml gains job w; c.yml is deleted and its job moves to d.yml
    // (untracked); e.yml is new and untracked; a.yml is untouched.
    write(d, "b.yml", &wf("B", &["y", "w"]));
    std::fs::remove_file(d.join(".gitea/workflows/c.yml")).expect("rm");
    write(d, "d.yml", &wf("C", &["z"]));
    write(d, "e.yml", &wf("E", &["v"]));

    // A `git` on PATH that logs each invocation, then runs the real one.
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .expect("sh")
            .stdout,
    )
    .expect("utf8");
    let bin = tempfile::tempdir().expect("bin");
    let log = bin.path().join("git.log");
    let shim = bin.path().join("git");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.trim()
        ),
    )
    .expect("shim");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .env("HOME", d)
        .current_dir(d)
        .args([
            "gate",
            "lint",
            "--offline",
            "--base",
            "HEAD",
            "--format",
            "json",
        ])
        .output()
        .expect("spawn");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut new: Vec<String> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "context-in-protection")
        .map(|f| {
            format!(
                "{} {}",
                f["file"].as_str().unwrap_or(""),
                f["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    new.sort();
    assert_eq!(new.len(), 2, "{new:#?}");
    assert!(
        new[0].starts_with(
            ".gitea/workflows/b.yml job `w` introduces the status context `B / w (pull_request)`"
        ),
        "{}",
        new[0]
    );
    assert!(
        new[1].starts_with(".gitea/workflows/e.yml job `v` introduces"),
        "{}",
        new[1]
    );
    // C / z existed in the base (in the deleted c.yml): moving it is not new.
    // Three git processes, whatever the number of files; no `git show` per file.
    let calls = std::fs::read_to_string(&log).expect("log");
    let calls: Vec<&str> = calls.lines().collect();
    assert_eq!(calls.len(), 3, "{calls:#?}");
    assert_eq!(calls[0], "cat-file --batch");
    assert!(
        calls.iter().any(|c| c.starts_with("diff --name-only -z")),
        "{calls:#?}"
    );
    assert!(
        calls.iter().any(|c| c.starts_with("ls-files -z --others")),
        "{calls:#?}"
    );

    // An unknown base is a usage error naming it.
    let out = Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", d)
        .current_dir(d)
        .args(["gate", "lint", "--offline", "--base", "nope"])
        .output()
        .expect("spawn");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--base nope: not a commit"));
    let out = Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir(d)
        .args(["gate", "lint", "--offline", "--base=--output=x"])
        .output()
        .expect("spawn");
    assert_eq!(out.status.code(), Some(2));
}
