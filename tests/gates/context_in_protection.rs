//! `context-in-protection` (seed-systems §7; mirrors the original's 13 tests — the base
//! tree is given as parsed workflows, as `--base REF` produces it).

use crate::gate_support;
use gate_support::*;
use mergeward::gates::LintEnv;
use mergeward::workflow::Workflow;

const RULE: &str = "context-in-protection";

fn env(base: &[(&str, &str)], bp: Option<&[&str]>) -> LintEnv {
    LintEnv {
        base: Some(
            base.iter()
                .map(|(p, t)| wf(p, t))
                .collect::<Vec<Workflow>>(),
        ),
        required_contexts: bp.map(s),
        required_source: "branch protection of main".into(),
        ..LintEnv::default()
    }
}

const BASE: &str = "name: CI\non: [pull_request]\njobs:\n  build:\n    runs-on: x\n";

fn head(directive: &str) -> String {
    format!(
        "name: CI\non: [pull_request]\njobs:\n  build:\n    runs-on: x\n  {directive}\n  lint:\n    runs-on: x\n"
    )
}

#[test]
fn no_new_emissions_skips() {
    let r = lint_only(
        RULE,
        &[("ci.yml", BASE)],
        &env(&[("ci.yml", BASE)], Some(&[])),
    );
    assert!(r.findings.is_empty());
}

#[test]
fn new_emission_with_bp_required_yes_in_bp() {
    let r = lint_only(
        RULE,
        &[("ci.yml", &head("# bp-required: yes"))],
        &env(&[("ci.yml", BASE)], Some(&["CI / lint (pull_request)"])),
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn new_emission_with_bp_required_yes_not_in_bp() {
    let r = lint_only(
        RULE,
        &[("ci.yml", &head("# bp-required: yes"))],
        &env(&[("ci.yml", BASE)], Some(&["CI / build (pull_request)"])),
    );
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!((f.line, f.column), (6, 3));
    assert!(
        f.message.contains("CI / lint (pull_request)")
            && f.message.contains("branch protection of main")
    );
}

#[test]
fn bp_required_yes_satisfied_by_universal_wildcard() {
    let r = lint_only(
        RULE,
        &[("ci.yml", &head("# bp-required: yes"))],
        &env(&[("ci.yml", BASE)], Some(&["*"])),
    );
    assert!(r.findings.is_empty());
}

#[test]
fn new_emission_with_bp_required_pending() {
    let r = lint_only(
        RULE,
        &[("ci.yml", &head("# bp-required: pending #42"))],
        &env(&[("ci.yml", BASE)], Some(&[])),
    );
    assert!(r.findings.is_empty());
}

#[test]
fn new_emission_with_bp_exempt() {
    let r = lint_only(
        RULE,
        &[("ci.yml", &head("# bp-exempt: informational timing report"))],
        &env(&[("ci.yml", BASE)], Some(&[])),
    );
    assert!(r.findings.is_empty());
    let r = lint_only(
        RULE,
        &[("ci.yml", &head("# bp-exempt:"))],
        &env(&[("ci.yml", BASE)], Some(&[])),
    );
    assert!(r.findings[0].message.contains("gives no reason"));
}

#[test]
fn new_emission_no_directive_fails() {
    let r = lint_only(
        RULE,
        &[("ci.yml", &head(""))],
        &env(&[("ci.yml", BASE)], Some(&[])),
    );
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!((f.line, f.column), (7, 3));
    assert!(f.message.contains("CI / lint (pull_request)"));
    assert!(
        f.fix.contains("bp-required: yes")
            && f.fix.contains("bp-required: pending #N")
            && f.fix.contains("bp-exempt")
    );
}

#[test]
fn modified_workflow_with_new_job_is_new() {
    let r = lint_only(
        RULE,
        &[("ci.yml", &head(""))],
        &env(&[("ci.yml", BASE)], None),
    );
    assert_eq!(r.findings.len(), 1);
}

#[test]
fn modified_workflow_job_renamed_is_new() {
    let renamed =
        "name: CI\non: [pull_request]\njobs:\n  build:\n    name: Build all\n    runs-on: x\n";
    let r = lint_only(
        RULE,
        &[("ci.yml", renamed)],
        &env(&[("ci.yml", BASE)], None),
    );
    assert_eq!(r.findings.len(), 1);
    assert!(
        r.findings[0]
            .message
            .contains("CI / Build all (pull_request)")
    );
}

#[test]
fn unrelated_workflow_edit_is_not_new() {
    let edited = format!("# a comment\n{BASE}    timeout-minutes: 5\n");
    let r = lint_only(
        RULE,
        &[("ci.yml", &edited)],
        &env(&[("ci.yml", BASE)], None),
    );
    assert!(r.findings.is_empty());
}

#[test]
fn directive_must_be_a_comment_above_the_job_key() {
    // In a string, below the key, or more than 3 lines above: not a declaration.
    let text = "name: CI\non: [pull_request]\njobs:\n  build:\n    runs-on: x\n    env:\n      NOTE: 'bp-required: yes'\n  lint:\n    runs-on: x  # bp-required: yes\n";
    let r = lint_only(RULE, &[("ci.yml", text)], &env(&[("ci.yml", BASE)], None));
    assert_eq!(r.findings.len(), 1);
    let far = "name: CI\non: [pull_request]\njobs:\n  build:\n    runs-on: x\n  # bp-exempt: far away\n\n\n\n  lint:\n    runs-on: x\n";
    let r = lint_only(RULE, &[("ci.yml", far)], &env(&[("ci.yml", BASE)], None));
    assert_eq!(r.findings.len(), 1);
}

#[test]
fn job_key_found_by_model_not_by_text() {
    // `lint:` appears earlier as a step key; the declaration above the real job key counts.
    let text = "name: CI\non: [pull_request]\njobs:\n  build:\n    runs-on: x\n    steps:\n      - with:\n          lint: true\n  # bp-exempt: style only\n  lint:\n    runs-on: x\n";
    let r = lint_only(RULE, &[("ci.yml", text)], &env(&[("ci.yml", BASE)], None));
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn without_base_only_declarations_are_checked() {
    let e = LintEnv {
        required_contexts: Some(s(&[])),
        ..LintEnv::default()
    };
    let r = lint_only(RULE, &[("ci.yml", &head(""))], &e);
    assert!(r.findings.is_empty());
    let r = lint_only(RULE, &[("ci.yml", &head("# bp-required: yes"))], &e);
    assert_eq!(r.findings.len(), 1);
}

#[test]
fn push_and_pull_request_target_contexts() {
    let text = "name: W\non: [push, pull_request_target]\njobs:\n  j: {}\n";
    let r = lint_only(RULE, &[("w.yml", text)], &env(&[], None));
    let msgs: Vec<&str> = r.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(r.findings.len(), 2, "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("W / j (pull_request)")));
    assert!(msgs.iter().any(|m| m.contains("W / j (push)")));
}

/// On GitHub a job's check is named after the job, not `workflow / job (event)`: a
/// protection that requires `lint` satisfies `bp-required: yes` on job `lint`, and the
/// Gitea spelling does not.
#[test]
fn github_contexts_are_check_names() {
    let github = |bp: &[&str]| LintEnv {
        forge: Some(mergeward::forge::ForgeKind::GitHub),
        ..env(&[("ci.yml", BASE)], Some(bp))
    };
    let text = head("# bp-required: yes");
    let r = lint_only(RULE, &[("ci.yml", &text)], &github(&["lint"]));
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    let r = lint_only(
        RULE,
        &[("ci.yml", &text)],
        &github(&["CI / lint (pull_request)"]),
    );
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert!(r.findings[0].message.contains("`lint`"), "{:?}", r.findings);
    // The same protection list on Gitea is read the Gitea way.
    let r = lint_only(
        RULE,
        &[("ci.yml", &text)],
        &env(&[("ci.yml", BASE)], Some(&["CI / lint (pull_request)"])),
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}
