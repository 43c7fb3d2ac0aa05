//! `mergeward config show`.

use serde_json::json;

use super::{Format, GlobalArgs, load_config, print_json};
use crate::error::{ExitCode, Result};

pub fn show(global: &GlobalArgs, format: Format) -> Result<ExitCode> {
    let cfg = load_config(global)?;
    let shown = cfg.shown();
    match format {
        Format::Json => {
            let values: Vec<_> = shown
                .iter()
                .map(|s| json!({ "key": s.key, "value": s.value, "source": s.source }))
                .collect();
            print_json(&json!({
                "config_file": cfg.file.as_ref().map(|p| p.display().to_string()),
                "values": values,
            }))?;
        }
        Format::Text => {
            let width = shown.iter().map(|s| s.key.len()).max().unwrap_or(0);
            match &cfg.file {
                Some(p) => println!("# configuration file: {}", p.display()),
                None => println!("# configuration file: none"),
            }
            for s in &shown {
                println!("{:width$} = {}  ({})", s.key, s.value, s.source);
            }
        }
    }
    Ok(ExitCode::Success)
}
