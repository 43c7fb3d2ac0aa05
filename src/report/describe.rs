//! `mergeward describe`: the machine-readable surface, generated from the clap definitions.

use clap::Command;
use serde_json::{Value, json};

use crate::exit::ExitCode;

/// What a command touches. Every leaf command must have an entry (tested).
pub fn effects_of(path: &str) -> Option<&'static str> {
    Some(match path {
        // Reads the forge, changes nothing there.
        "forge check" | "queue status" | "audit merge" => "read",
        // Sends mutating requests to the forge (unless --dry-run).
        "queue tick" | "reap" => "mutating",
        // Touch only local state (configuration, ledger, a local server).
        "config show" | "describe" | "sim serve" | "sandbox" | "completions" | "man" => "local",
        // Writes files into the working tree (never overwrites without --force).
        "init" => "local",
        "gate lint" | "gate flips" => "read",
        "ledger runs" | "ledger show" | "ledger explain" | "ledger export" | "ledger migrate"
        | "ledger import" => "local",
        _ => return None,
    })
}

fn arg_json(a: &clap::Arg) -> Value {
    let possible: Vec<String> = a
        .get_possible_values()
        .iter()
        .map(|v| v.get_name().to_string())
        .collect();
    let takes_value = a.get_num_args().is_some_and(|n| n.takes_values());
    json!({
        "name": a.get_id().as_str(),
        "long": a.get_long().map(|l| format!("--{l}")),
        "short": a.get_short().map(|s| format!("-{s}")),
        "positional": a.is_positional(),
        "takes_value": takes_value,
        "value_name": a.get_value_names().and_then(|v| v.first()).map(|s| s.to_string()),
        "required": a.is_required_set(),
        "global": a.is_global_set(),
        "possible_values": possible,
        "help": a.get_help().map(|h| h.to_string()),
    })
}

fn visible_args(cmd: &Command, globals: bool) -> Vec<Value> {
    cmd.get_arguments()
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
        .filter(|a| a.is_global_set() == globals)
        .map(arg_json)
        .collect()
}

fn walk(cmd: &Command, prefix: &str, out: &mut Vec<Value>) {
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let path = if prefix.is_empty() {
            sub.get_name().to_string()
        } else {
            format!("{prefix} {}", sub.get_name())
        };
        if sub.has_subcommands() {
            walk(sub, &path, out);
        } else {
            out.push(json!({
                "path": path,
                "summary": sub.get_about().map(|a| a.to_string()),
                "options": visible_args(sub, false),
                "effects": effects_of(&path),
                "emits_result_envelope": true,
                "supported_formats": if path == "gate lint" || path == "gate flips" { json!(["text", "json", "jsonl", "sarif", "github"]) } else { json!(["text", "json"]) },
            }));
        }
    }
}

/// The leaf command paths, e.g. `forge check`.
pub fn command_paths(cmd: &Command) -> Vec<String> {
    let mut out = Vec::new();
    walk(cmd, "", &mut out);
    out.iter()
        .filter_map(|c| c["path"].as_str().map(str::to_string))
        .collect()
}

/// The whole description.
pub fn describe(cmd: &Command) -> Value {
    let mut commands = Vec::new();
    walk(cmd, "", &mut commands);
    let exit_codes: Vec<Value> = ExitCode::ALL
        .iter()
        .map(|c| json!({ "code": c.code(), "label": c.label(), "meaning": c.meaning() }))
        .collect();
    json!({
        "version": "1",
        "tool": "mergeward",
        "tool_version": env!("CARGO_PKG_VERSION"),
        "global_options": visible_args(cmd, true),
        "commands": commands,
        "exit_codes": exit_codes,
        "envelope_schema": "docs/schemas/envelope.schema.json",
        "progress_events": ["run_started", "subject_evaluated", "effect_started", "effect_completed", "run_completed"],
    })
}
