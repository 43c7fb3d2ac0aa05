//! `curl-status-capture` (seed-systems §10; mirrors the original's five tests).

use crate::gate_support;
use gate_support::*;

const RULE: &str = "curl-status-capture";

fn job(script: &str) -> String {
    let body: String = script.lines().map(|l| format!("          {l}\n")).collect();
    format!("on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      - run: |\n{body}")
}

#[test]
fn finds_quoted_echo_fallback_pollution() {
    let f = findings(
        RULE,
        &job("HTTP_CODE=$(curl -sS -o /dev/null -w '%{http_code}' \"$URL\" || echo \"000\")"),
    );
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].line, f[0].column), (7, 21));
    assert!(f[0].message.contains("echo \"000\""), "{}", f[0].message);
    assert!(f[0].fix.contains("|| code=000"));
}

#[test]
fn finds_unquoted_echo_fallback_pollution() {
    let f = findings(
        RULE,
        &job("code=$(curl -s -w \"%{http_code}\" https://x || echo 000)"),
    );
    assert_eq!(f.len(), 1);
}

#[test]
fn finds_printf_fallback_pollution() {
    let f = findings(
        RULE,
        &job("code=$(curl -s -w '%{http_code}' https://x || printf '000')"),
    );
    assert_eq!(f.len(), 1);
}

#[test]
fn ignores_tempfile_fallback_after_curl() {
    let f = findings(
        RULE,
        &job("code=$(curl -sS -o \"$tmp\" -w '%{http_code}' \"$url\") || code=000\necho \"$code\""),
    );
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn collapses_bash_line_continuations() {
    let f = findings(
        RULE,
        &job("code=$(curl -sS \\\n  -w '%{http_code}' \\\n  https://x \\\n  || echo 000)"),
    );
    assert_eq!(f.len(), 1);
    // The position is the `$(` on the first physical line.
    assert_eq!(f[0].line, 7);
    assert!(
        f[0].message
            .contains("$(curl -sS -w '%{http_code}' https://x || echo 000)"),
        "{}",
        f[0].message
    );
}

#[test]
fn suppression_needs_a_reason() {
    let text = job(
        "# mergeward: ignore[curl-status-capture] legacy endpoint, tracked in #9\ncode=$(curl -s -w '%{http_code}' x || echo 000)",
    );
    assert!(findings(RULE, &text).is_empty());
    let text = job(
        "code=$(curl -s -w '%{http_code}' x || echo 000) # mergeward: ignore[curl-status-capture]",
    );
    let f = findings(RULE, &text);
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("no reason"));
}

/// Issue 15 point 2: a YAML comment quoting the pattern (the lint's own workflow explains
/// what it looks for) is not shell.
#[test]
fn yaml_comments_quoting_the_pattern_are_not_findings() {
    let text = [
        "# Catches `code=$(curl -sS -w '%{http_code}' \"$URL\" || echo 000)`, which",
        "# yields 000000 on a transport error.",
        "name: lint-curl",
        "on: pull_request",
        "jobs:",
        "  scan:",
        "    # Do not write: code=$(curl -s -w '%{http_code}' x || echo \"000\")",
        "    runs-on: x",
        "    steps:",
        "      - run: |",
        "          code=$(curl -sS -o \"$tmp\" -w '%{http_code}' \"$url\") || code=000",
        "      # - run: code=$(curl -s -w '%{http_code}' x || printf '000')",
        "",
    ]
    .join("\n");
    let r = lint_only(
        RULE,
        &[("ci.yml", &text)],
        &mergeward::gates::LintEnv::default(),
    );
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    // The same pattern in a script is found at its own line and column, also when the
    // identical text sits in a comment above it.
    let text = "on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n      # was: code=$(curl -s -w '%{http_code}' x || echo 000)\n      - run: code=$(curl -s -w '%{http_code}' x || echo 000)\n";
    let f = findings(RULE, text);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].line, f[0].column), (7, 19));
}

#[test]
fn two_sites_in_one_script_get_their_own_positions() {
    let f = findings(
        RULE,
        &job(
            "a=$(curl -s -w '%{http_code}' x || echo 000)\nb=$(curl -s -w '%{http_code}' x || echo 000)",
        ),
    );
    assert_eq!(
        f.iter().map(|f| (f.line, f.column)).collect::<Vec<_>>(),
        [(7, 13), (8, 13)]
    );
}

#[test]
fn composite_action_steps_are_scanned() {
    let action = "name: probe\nruns:\n  using: composite\n  steps:\n    # code=$(curl -w '%{http_code}' x || echo 000) in a comment\n    - shell: bash\n      run: |\n        code=$(curl -s -w '%{http_code}' \"$1\" || echo 000)\n";
    let r = lint_only(
        RULE,
        &[(".gitea/actions/probe/action.yml", action)],
        &mergeward::gates::LintEnv::default(),
    );
    assert_eq!(lines(&r), [8]);
    assert_eq!(r.findings[0].column, 14);
}
