//! Failure markers in a job log (`--- FAIL`, `FAILED`, `Traceback`, …), found after the
//! per-line timestamps the forges add are stripped.

use super::{MAX_SAMPLES, SAMPLE_CHARS};

/// Drops a leading RFC 3339 timestamp (`2024-05-01T12:00:00.1234567Z `), as Gitea and
/// GitHub prefix every downloaded log line with one.
fn strip_timestamp(line: &str) -> &str {
    let t = line.trim_start();
    let Some((first, rest)) = t.split_once([' ', '\t']) else {
        return t;
    };
    let b = first.as_bytes();
    let looks = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[..4].iter().all(u8::is_ascii_digit)
        && (first.ends_with('Z') || first.contains('+'));
    if looks { rest } else { t }
}

/// Failure markers in a job log (§4.6): `--- FAIL`, `FAIL`+tab, `FAIL`+space, `::error::`
/// (and GitHub's rendered `##[error]`), first pattern per line; the script source Gitea
/// prints between `::group::Run …` and `::endgroup::` is skipped, as are `echo` lines that
/// merely print an `::error::`. At most [`MAX_SAMPLES`] samples of [`SAMPLE_CHARS`]
/// characters.
pub fn fail_markers(log: &str) -> Vec<String> {
    const PATTERNS: [&str; 5] = ["--- FAIL", "FAIL\t", "FAIL ", "::error::", "##[error]"];
    let mut out = Vec::new();
    let mut in_group = false;
    let mut skipped = 0usize;
    let is_run_group = |t: &str| {
        ["::group::Run", "##[group]Run"]
            .iter()
            .any(|p| t == *p || t.strip_prefix(p).is_some_and(|r| r.starts_with(' ')))
    };
    for raw in log.lines() {
        let line = strip_timestamp(raw);
        let trimmed = line.trim();
        if is_run_group(trimmed) {
            in_group = true;
            skipped = 0;
            continue;
        }
        if in_group {
            if trimmed == "::endgroup::" || trimmed == "##[endgroup]" {
                in_group = false;
            } else {
                skipped += 1;
            }
            continue;
        }
        for pat in PATTERNS {
            let Some(at) = line.find(pat) else {
                continue;
            };
            if pat == "::error::" || pat == "##[error]" {
                let before = line[..at].trim_end();
                if before.ends_with("echo")
                    || before.ends_with("echo '")
                    || before.ends_with("echo \"")
                {
                    break;
                }
            }
            out.push(trimmed.chars().take(SAMPLE_CHARS).collect());
            break;
        }
        if out.len() >= MAX_SAMPLES {
            return out;
        }
    }
    // A log that ends inside a step's script block (truncated, or a group never closed) has
    // lines that were not checked: fail closed.
    if in_group && skipped > 0 {
        out.push(format!(
            "[the log ends inside a ::group::Run block; {skipped} line(s) after it were not checked]"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_stripped_only_when_they_look_like_one() {
        assert_eq!(
            strip_timestamp("2024-05-01T12:00:00.1234567Z --- FAIL: TestX"),
            "--- FAIL: TestX"
        );
        assert_eq!(strip_timestamp("not-a-time rest"), "not-a-time rest");
        assert_eq!(strip_timestamp("  plain"), "plain");
    }
}
