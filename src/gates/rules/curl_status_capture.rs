//! `curl-status-capture` (seed-systems §10): `code=$(curl … -w '%{http_code}' … || echo 000)`.
//!
//! When curl fails it has already printed a status code (`000` on a transport error, or
//! the real code with `--fail`), and the fallback appends another `000`: the variable ends
//! up `000000` or `404000`, which no `[ "$code" = 200 ]` check expects. The scan runs over
//! shell only: every step's `run:` script of every job, and the `run:` of a composite
//! action's steps (`runs.steps[].run` of an `action.yml`), with bash line continuations
//! collapsed (a `\` at a line end joins the next line). A YAML comment that quotes the
//! pattern is not a script (the original scanned the raw file and so flagged its own
//! workflow's comments). The finding is at the `$(` in the file.

use crate::gates::pattern::Pattern;

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

pub(crate) static PATTERN: Pattern = Pattern::new(
    r#"\$\(\s*curl\b[^)]*?-w\s*["'][^"')]*%\{http_code\}[^)]*?\|\|\s*(?:echo\s+(?:"000"|'000'|000)|printf\s+(?:"000"|'000'))\s*\)"#,
);

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

/// The shell scripts of a file: each job step's `run`, and each composite action step's
/// `run` (`runs.steps[].run`), as (script, position of its value).
pub fn scripts(wf: &Workflow) -> Vec<(&str, Pos)> {
    let mut out: Vec<(&str, Pos)> = wf
        .jobs
        .iter()
        .flat_map(|j| j.steps.iter())
        .filter_map(|st| st.run.as_ref().map(|r| (r.value.as_str(), r.pos)))
        .collect();
    if let Some(steps) = wf
        .root
        .as_ref()
        .and_then(|r| r.get("runs"))
        .and_then(|r| r.get("steps"))
    {
        for st in steps.items() {
            if let Some(run) = st.get("run")
                && let Some(text) = run.str()
            {
                out.push((text, run.pos));
            }
        }
    }
    out
}

/// Where in the file a script's byte `offset` is: the script's text from there to the end
/// of its line (or, failing that, its first 16 bytes) is searched in the file's lines from
/// `after` on (the script's own line, or just after the previous site); when the text is
/// not in the file verbatim (a quoted scalar with escapes, a folded one), the script's own
/// position.
fn locate(wf: &Workflow, script: &str, start: Pos, offset: usize, after: Pos) -> Pos {
    let rest = script.get(offset..).unwrap_or("");
    let line = rest.split('\n').next().unwrap_or("").trim_end();
    let mut short = line.len().min(16);
    while !line.is_char_boundary(short) {
        short -= 1;
    }
    for fragment in [line, &line[..short]] {
        if fragment.is_empty() {
            continue;
        }
        let mut n = after.line.max(start.line);
        while let Some(text) = wf.line(n) {
            let from = if n == after.line {
                text.char_indices()
                    .nth(usize::try_from(after.col).unwrap_or(usize::MAX))
                    .map_or(text.len(), |(i, _)| i)
            } else {
                0
            };
            if let Some(i) = text.get(from..).and_then(|t| t.find(fragment)) {
                let col = text[..from + i].chars().count() + 1;
                return Pos {
                    line: n,
                    col: u32::try_from(col).unwrap_or(u32::MAX),
                };
            }
            n = n.saturating_add(1);
            if n == u32::MAX {
                break;
            }
        }
    }
    start
}

/// Every polluting site in a workflow's scripts: position and the collapsed snippet
/// (≤ 160 chars).
pub fn sites(wf: &Workflow) -> Vec<(Pos, String)> {
    let Some(re) = PATTERN.as_ref() else {
        return Vec::new();
    };
    // Every match contains both literals, and collapsing never creates one (it only
    // removes blanks, backslashes and newlines, and inserts a space): skip files without.
    if !(wf.text.contains("%{http_code}") && wf.text.contains("curl")) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (script, start) in scripts(wf) {
        if !(script.contains("%{http_code}") && script.contains("curl")) {
            continue;
        }
        let (collapsed, map) = collapse(script);
        let mut after = Pos {
            line: start.line,
            col: 0,
        };
        for m in re.find_iter(&collapsed) {
            let offset = source_offset(&map, m.start());
            let pos = locate(wf, script, start, offset, after);
            if pos != start {
                after = pos;
            }
            let snippet: String = m
                .as_str()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(160)
                .collect();
            out.push((pos, snippet));
        }
    }
    out
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
