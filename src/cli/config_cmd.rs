//! `mergeward config show`.

use serde_json::json;

use super::{Format, GlobalArgs, load_config, print_json};
use crate::error::{ExitCode, Result};
use crate::report::RunReport;

pub fn show(global: &GlobalArgs, format: Format, report: &mut RunReport) -> Result<ExitCode> {
    let cfg = load_config(global)?;
    report.forge = Some(cfg.forge_kind().to_string());
    report.repo = cfg.str("forge.repo").map(str::to_string);
    report.branch = Some(cfg.branch().to_string());
    report.outcome = Some("shown".into());
    let shown = cfg.shown();
    match format {
        Format::Json | Format::Jsonl | Format::Sarif => {
            let values: Vec<_> = shown
                .iter()
                .map(|s| json!({ "key": s.key, "value": s.value, "source": s.source }))
                .collect();
            print_json(&json!({
                "config_file": cfg.file.as_ref().map(|p| p.display().to_string()),
                "values": values,
            }))?;
        }
        Format::Text | Format::Github | Format::Markdown | Format::Html => {
            let width = shown.iter().map(|s| s.key.len()).max().unwrap_or(0);
            match &cfg.file {
                Some(p) => outln!("# configuration file: {}", p.display()),
                None => outln!("# configuration file: none"),
            }
            for s in &shown {
                outln!("{:width$} = {}  ({})", s.key, s.value, s.source);
            }
        }
    }
    Ok(ExitCode::Success)
}
