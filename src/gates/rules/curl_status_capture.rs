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
/// and where each byte of the result came from: sorted `(result offset, text offset)`
/// pairs, each valid up to the next one (the bytes in between map one to one).
fn collapse(text: &str) -> (String, Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    let blank = |b: u8| b == b' ' || b == b'\t';
    let mut out = String::with_capacity(text.len());
    let mut map = vec![(0, 0)];
    let mut copied = 0;
    let mut i = 0;
    while let Some(k) = text.get(i..).and_then(|rest| rest.find('\\')) {
        let backslash = i + k;
        let mut j = backslash + 1;
        while j < bytes.len() && blank(bytes[j]) {
            j += 1;
        }
        if j < bytes.len() && bytes[j] == b'\n' {
            j += 1;
            while j < bytes.len() && blank(bytes[j]) {
                j += 1;
            }
            // `backslash` and `j` are ASCII positions, so both are character boundaries.
            out.push_str(&text[copied..backslash]);
            map.push((out.len(), backslash));
            out.push(' ');
            map.push((out.len(), j));
            copied = j;
            i = j;
        } else {
            i = backslash + 1;
        }
    }
    out.push_str(&text[copied..]);
    (out, map)
}

/// The text offset a byte offset of [`collapse`]'s result came from.
fn source_offset(map: &[(usize, usize)], offset: usize) -> usize {
    let at = map.partition_point(|&(o, _)| o <= offset);
    map.get(at.wrapping_sub(1))
        .map_or(0, |&(o, src)| src + (offset - o))
}

/// Every polluting site in a workflow: position and the collapsed snippet (≤ 160 chars).
pub fn sites(wf: &Workflow) -> Vec<(Pos, String)> {
    let Some(re) = PATTERN.as_ref() else {
        return Vec::new();
    };
    // Every match contains both literals, and collapsing never creates one (it only
    // removes blanks, backslashes and newlines, and inserts a space): skip files without.
    if !(wf.text.contains("%{http_code}") && wf.text.contains("curl")) {
        return Vec::new();
    }
    let (collapsed, map) = collapse(&wf.text);
    re.find_iter(&collapsed)
        .map(|m| {
            let offset = source_offset(&map, m.start());
            let snippet: String = m
                .as_str()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(160)
                .collect();
            (wf.pos_at(offset), snippet)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-byte form of [`collapse`]: the result and, for every byte of it, its source.
    fn collapse_per_byte(text: &str) -> (String, Vec<usize>) {
        let bytes = text.as_bytes();
        let (mut out, mut map) = (String::new(), Vec::new());
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
            let n = text[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&text[i..i + n]);
            map.extend(i..i + n);
            i += n;
        }
        (out, map)
    }

    #[test]
    fn collapse_maps_every_byte_to_its_source() {
        let texts = [
            "",
            "\\",
            "\\\n",
            "a \\\n  b",
            "a\\ \t\n\tb\\\nc",
            "\\\\\n x",
            "\\\n\\\n\\\ny",
            "é \\\n ü\\x \\ \n€\\",
            "no continuation \\ here\n",
            "trailing \\   ",
        ];
        for t in texts {
            let (out, map) = collapse(t);
            let (want, want_map) = collapse_per_byte(t);
            assert_eq!(out, want, "{t:?}");
            for (o, src) in want_map.iter().enumerate() {
                assert_eq!(source_offset(&map, o), *src, "{t:?} at {o}");
            }
        }
    }
}
