//! Output formats of `gate lint`, pinned by snapshots of the binary's output on
//! `fixtures/workflows/gates/snapshot` (offline, `--required-contexts '*,Ci / build (pull_request)'`:
//! the misspelled second context is `context-emitted`'s repository-level finding), and validated
//! against the schemas in `docs/schemas/`. `MERGEWARD_UPDATE_SNAPSHOTS=1` rewrites them.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(format: &str) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .env_clear()
        .current_dir(root())
        .args([
            "gate",
            "lint",
            "fixtures/workflows/gates/snapshot",
            "--offline",
            "--required-contexts",
            "*,Ci / build (pull_request)",
            "--format",
            format,
        ])
        .output()
        .expect("spawn");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn snapshot(name: &str, actual: &str) {
    let path = root().join("tests/gates/snapshots").join(name);
    if std::env::var_os("MERGEWARD_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (MERGEWARD_UPDATE_SNAPSHOTS=1 writes it)",
            path.display()
        )
    });
    assert_eq!(actual, expected, "{name} differs from its snapshot");
}

fn schema(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("docs/schemas").join(name)).expect("schema");
    let v: Value = serde_json::from_str(&text).expect("schema json");
    jsonschema::validator_for(&v).expect("valid schema")
}

fn assert_valid(validator: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn text_format_snapshot() {
    let (code, out) = run("text");
    assert_eq!(code, Some(1));
    snapshot("gate_lint.txt", &out);
    // `file:line:col: severity[rule] message`
    assert!(out.lines().any(|l| l.starts_with(
        "fixtures/workflows/gates/snapshot/.gitea/workflows/broken.yml:3:5: error[yaml-syntax] "
    )));
    // A repository-level finding has no line: `DIR: severity[rule] message`.
    let first = out.lines().next().unwrap_or("");
    assert!(
        first.starts_with("fixtures/workflows/gates/snapshot/.gitea/workflows: error[context-emitted] --required-contexts requires \"Ci / build (pull_request)\"")
            && first.contains("did you mean \"CI / build (pull_request)\"?"),
        "{first}"
    );
}

#[test]
fn json_format_snapshot_and_schema() {
    let (code, out) = run("json");
    assert_eq!(code, Some(1));
    snapshot("gate_lint.json", &out);
    let doc: Value = serde_json::from_str(&out).expect("json");
    assert_valid(&schema("gate-lint.schema.json"), &doc);
    assert_eq!(doc["version"], "1");
    assert_eq!(doc["summary"]["suppressed"], 1);
    for f in doc["findings"].as_array().expect("findings") {
        assert!(f["line"].as_u64().unwrap_or(0) >= 1 && f["column"].as_u64().unwrap_or(0) >= 1);
        // Only the repository-level finding carries `scope`.
        assert_eq!(
            f.get("scope").is_some(),
            f["rule"] == "context-emitted",
            "{f}"
        );
    }
}

#[test]
fn sarif_format_snapshot_and_schema() {
    let (code, out) = run("sarif");
    assert_eq!(code, Some(1));
    snapshot("gate_lint.sarif", &out);
    let doc: Value = serde_json::from_str(&out).expect("sarif json");
    assert_valid(&schema("gate-lint.sarif-2.1.0-subset.schema.json"), &doc);
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 9);
    for r in run["results"].as_array().expect("results") {
        let idx = r["ruleIndex"].as_u64().expect("index") as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap_or(0) >= 1);
        if r["ruleId"] == "context-emitted" {
            assert_eq!(r["properties"]["scope"], "repository");
        }
    }
}

#[test]
fn github_format_snapshot_and_cap() {
    let (code, out) = run("github");
    assert_eq!(code, Some(1));
    snapshot("gate_lint.github", &out);
    let annotations = out
        .lines()
        .filter(|l| {
            l.starts_with("::error file=")
                || l.starts_with("::warning file=")
                || l.starts_with("::error title=")
        })
        .count();
    assert_eq!(annotations, 10);
    // The repository-level finding is an annotation without a file.
    assert!(
        out.lines()
            .any(|l| l.starts_with("::error title=mergeward context-emitted::"))
    );
    let last = out.lines().last().unwrap_or("");
    assert!(
        last.starts_with("::error::mergeward gate lint: 14 finding(s)")
            && last.contains("4 more not shown"),
        "{last}"
    );
}

#[test]
fn jsonl_is_one_line() {
    let (_, out) = run("jsonl");
    assert_eq!(out.lines().count(), 1);
    let doc: Value = serde_json::from_str(out.trim()).expect("json");
    assert_valid(&schema("gate-lint.schema.json"), &doc);
}

#[test]
fn clean_run_exits_zero_and_unreadable_path_is_usage() {
    let dir = tempfile::tempdir().expect("tmp");
    let wf = dir.path().join("ok.yml");
    std::fs::write(
        &wf,
        "name: ok\non: push\njobs:\n  a:\n    runs-on: x\n    steps: [{run: make}]\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .env_clear()
        .current_dir(dir.path())
        .args(["gate", "lint", "ok.yml", "--offline", "--format", "text"])
        .output()
        .expect("spawn");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_mergeward"))
        .env_clear()
        .current_dir(dir.path())
        .args(["gate", "lint", "missing.yml", "--offline"])
        .output()
        .expect("spawn");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.yml"));
}
