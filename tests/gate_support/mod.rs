//! Helpers for the gate rule tests (tests/gates/): lint in-memory workflow files.
#![allow(dead_code)]

use mergeward::gates::{self, Finding, GateSettings, LintEnv, LintReport};
use mergeward::workflow::{Limits, Workflow};

pub fn wf(path: &str, text: &str) -> Workflow {
    Workflow::parse(path, text, Limits::default())
}

/// Lints files with only `rule` enabled.
pub fn lint_only(rule: &str, files: &[(&str, &str)], env: &LintEnv) -> LintReport {
    lint_with(rule, files, &mergeward::config::gate_defaults(), env)
}

pub fn lint_with(
    rule: &str,
    files: &[(&str, &str)],
    settings: &GateSettings,
    env: &LintEnv,
) -> LintReport {
    let mut s = settings.clone();
    for id in gates::rules::ids() {
        if id != rule {
            s.disabled.insert(id.to_string());
        }
    }
    let wfs: Vec<Workflow> = files.iter().map(|(p, t)| wf(p, t)).collect();
    gates::lint(&wfs, &s, env)
}

pub fn findings(rule: &str, text: &str) -> Vec<Finding> {
    lint_only(
        rule,
        &[(".gitea/workflows/ci.yml", text)],
        &LintEnv::default(),
    )
    .findings
}

/// The lines of a report's findings.
pub fn lines(r: &LintReport) -> Vec<u32> {
    r.findings.iter().map(|f| f.line).collect()
}

/// Runs the binary (environment cleared) without blocking the runtime serving a simulator.
pub async fn run_cli(
    args: Vec<String>,
    envs: Vec<(&'static str, String)>,
    dir: std::path::PathBuf,
) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mergeward"));
        cmd.env_clear().args(&args).current_dir(dir);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().expect("spawn mergeward")
    })
    .await
    .expect("join")
}

/// A temporary checkout with `.gitea/workflows/<name>` files.
pub fn checkout(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let p = dir.path().join(".gitea/workflows").join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

pub fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}
