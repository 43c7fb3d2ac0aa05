//! `curl-status-capture` (seed-systems §10; mirrors the original's five tests).

mod gate_support;
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
