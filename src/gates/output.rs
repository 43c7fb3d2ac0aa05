//! `gate lint` output formats: text, versioned JSON, SARIF 2.1.0 and GitHub workflow
//! commands. Lines and columns are 1-based in every format.

use serde_json::{Value, json};

use super::{Finding, LintReport, Severity, rules};

/// The JSON output's version. A new, incompatible shape gets a new number.
pub const JSON_VERSION: &str = "1";

/// A step renders at most this many annotations (GitHub; Gitea follows the same commands).
pub const ANNOTATION_CAP: usize = 10;

fn summary_line(r: &LintReport) -> String {
    format!(
        "{} finding(s): {} error(s), {} warning(s), {} note(s) in {} file(s); {} suppressed",
        r.findings.len(),
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Note),
        r.files,
        r.suppressed
    )
}

/// `file:line:col: severity[rule] message`, the fix indented below, notes, a summary.
pub fn text(r: &LintReport) -> String {
    let mut out = String::new();
    for f in &r.findings {
        if f.repository {
            out.push_str(&format!(
                "{}: {}[{}] {}\n    fix: {}\n",
                f.file,
                f.severity.as_str(),
                f.rule,
                f.message,
                f.fix
            ));
            continue;
        }
        out.push_str(&format!(
            "{}:{}:{}: {}[{}] {}\n    fix: {}\n",
            f.file,
            f.line,
            f.column,
            f.severity.as_str(),
            f.rule,
            f.message,
            f.fix
        ));
    }
    for n in &r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out.push_str(&summary_line(r));
    out.push('\n');
    out
}

fn finding_json(f: &Finding) -> Value {
    let mut v = json!({
        "rule": f.rule,
        "severity": f.severity.as_str(),
        "file": f.file,
        "line": f.line,
        "column": f.column,
        "message": f.message,
        "fix": f.fix,
    });
    // Repository-level findings (no line of their own) say so; file findings keep the
    // version-1 shape unchanged.
    if f.repository
        && let Some(o) = v.as_object_mut()
    {
        o.insert("scope".into(), json!("repository"));
    }
    v
}

/// The versioned JSON document (schema: `docs/schemas/gate-lint.schema.json`).
pub fn json(r: &LintReport) -> Value {
    json!({
        "version": JSON_VERSION,
        "findings": r.findings.iter().map(finding_json).collect::<Vec<_>>(),
        "summary": {
            "files": r.files,
            "errors": r.count(Severity::Error),
            "warnings": r.count(Severity::Warning),
            "notes": r.count(Severity::Note),
            "suppressed": r.suppressed,
            "unverified": r.unverified(),
            "rules": r.rules,
            "messages": r.notes,
        }
    })
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// A SARIF 2.1.0 log with one run (for code-scanning upload).
pub fn sarif(r: &LintReport) -> Value {
    let infos = rules::infos();
    let rules_json: Vec<Value> = infos
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "name": i.id,
                "shortDescription": { "text": i.summary },
                "fullDescription": { "text": i.help },
                "defaultConfiguration": { "level": sarif_level(i.severity) },
                "helpUri": "https://example.invalid/mergeward/docs/gates.md",
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let index = infos.iter().position(|i| i.id == f.rule).unwrap_or(0);
            let mut result = json!({
                "ruleId": f.rule,
                "ruleIndex": index,
                "level": sarif_level(f.severity),
                "message": { "text": format!("{} Fix: {}", f.message, f.fix) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": f.file },
                        "region": { "startLine": f.line, "startColumn": f.column }
                    }
                }]
            });
            if f.repository
                && let Some(o) = result.as_object_mut()
            {
                o.insert("properties".into(), json!({ "scope": "repository" }));
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "mergeward",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://example.invalid/mergeward",
                    "rules": rules_json,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

/// Escapes a workflow-command message.
fn esc_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value.
fn esc_prop(s: &str) -> String {
    esc_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub workflow commands: the first [`ANNOTATION_CAP`] findings (errors first) as
/// `::error file=…,line=…,col=…,title=…::message` annotations; the rest as plain log
/// lines, and a summary line saying how many were not annotated.
pub fn github(r: &LintReport) -> String {
    let mut ordered: Vec<&Finding> = r.findings.iter().collect();
    ordered.sort_by_key(|f| f.severity);
    let mut out = String::new();
    for (i, f) in ordered.iter().enumerate() {
        if i < ANNOTATION_CAP {
            let cmd = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "notice",
            };
            if f.repository {
                out.push_str(&format!(
                    "::{cmd} title={}::{}\n",
                    esc_prop(&format!("mergeward {}", f.rule)),
                    esc_data(&format!("{}: {} Fix: {}", f.file, f.message, f.fix))
                ));
                continue;
            }
            out.push_str(&format!(
                "::{cmd} file={},line={},col={},title={}::{}\n",
                esc_prop(&f.file),
                f.line,
                f.column,
                esc_prop(&format!("mergeward {}", f.rule)),
                esc_data(&format!("{} Fix: {}", f.message, f.fix))
            ));
        } else {
            out.push_str(&format!(
                "{}:{}:{}: {}[{}] {}\n",
                f.file,
                f.line,
                f.column,
                f.severity.as_str(),
                f.rule,
                f.message
            ));
        }
    }
    for n in &r.notes {
        out.push_str(&format!("::notice::{}\n", esc_data(n)));
    }
    let hidden = ordered.len().saturating_sub(ANNOTATION_CAP);
    let cmd = if r.count(Severity::Error) > 0 {
        "error"
    } else {
        "notice"
    };
    let extra = if hidden > 0 {
        format!(
            "; {hidden} more not shown as annotations (a step shows at most {ANNOTATION_CAP}), listed in the log above"
        )
    } else {
        String::new()
    };
    out.push_str(&format!(
        "::{cmd}::mergeward gate lint: {}{extra}\n",
        esc_data(&summary_line(r))
    ));
    out
}
