//! `curl-status-capture` (seed-systems §10): `code=$(curl … -w '%{http_code}' … || echo 000)`.
//!
//! When curl fails it has already printed a status code (`000` on a transport error, or
//! the real code with `--fail`), and the fallback appends another `000`: the variable ends
//! up `000000` or `404000`, which no `[ "$code" = 200 ]` check expects. The scan runs over
//! the raw file with bash line continuations collapsed (a `\` at a line end joins the next
//! line), and reports the position of the `$(` in the original text.

use std::sync::LazyLock;

use regex::Regex;

use crate::gates::{Context, Finding, Out, Rule, RuleInfo, Severity};
use crate::workflow::{Pos, Workflow};

pub static INFO: RuleInfo = RuleInfo {
    id: "curl-status-capture",
    severity: Severity::Error,
    summary: "a `|| echo 000` fallback inside `$(curl … -w '%{http_code}')` pollutes the captured status code",
    help: "curl prints the status code even when it fails, so a fallback inside the command substitution appends to it (000000, 404000). Capture the code, and apply the fallback outside the substitution.",
};

pub struct CurlStatusCapture;

const FIX: &str = "move the fallback out of the substitution and keep the body in a file: `code=$(curl -sS -o \"$tmp\" -w '%{http_code}' \"$url\") || code=000`";

static PATTERN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"\$\(\s*curl\b[^)]*?-w\s*["'][^"')]*%\{http_code\}[^)]*?\|\|\s*(?:echo\s+(?:"000"|'000'|000)|printf\s+(?:"000"|'000'))\s*\)"#,
    )
    .ok()
});

/// The text with `\` + optional blanks + newline + leading blanks replaced by one space,
/// and for each byte of the result the byte offset it came from.
fn collapse(text: &str) -> (String, Vec<usize>) {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let mut j = i + 1;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'\n' {
                j += 1;
                while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                    j += 1;
                }
                out.push(' ');
                map.push(i);
                i = j;
                continue;
            }
        }
        // Copy one whole character.
        let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + ch_len]);
        for k in 0..ch_len {
            map.push(i + k);
        }
        i += ch_len;
    }
    (out, map)
}

/// The 1-based line and column (in characters) of a byte offset.
pub(crate) fn pos_of(text: &str, offset: usize) -> Pos {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    Pos {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        col: u32::try_from(col).unwrap_or(u32::MAX),
    }
}

/// Every polluting site in a workflow: position and the collapsed snippet (≤ 160 chars).
pub fn sites(wf: &Workflow) -> Vec<(Pos, String)> {
    let Some(re) = PATTERN.as_ref() else {
        return Vec::new();
    };
    let (collapsed, map) = collapse(&wf.text);
    re.find_iter(&collapsed)
        .map(|m| {
            let offset = map.get(m.start()).copied().unwrap_or(0);
            let snippet: String = m
                .as_str()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(160)
                .collect();
            (pos_of(&wf.text, offset), snippet)
        })
        .collect()
}

impl Rule for CurlStatusCapture {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        for wf in cx.files {
            for (pos, snippet) in sites(wf) {
                out.findings.push(Finding::new(
                    &INFO,
                    wf,
                    pos,
                    format!(
                        "curl status-capture pollution: the fallback inside the substitution appends to the code curl already printed (000000, 404000): {snippet}"
                    ),
                    FIX,
                ));
            }
        }
    }
}
