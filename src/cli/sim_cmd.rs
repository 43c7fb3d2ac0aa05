//! `mergeward sim serve`: the simulated forge as a standalone server.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use super::{Format, print_json};
use crate::error::{Error, ExitCode, Result};
use crate::sim::{Dialect, Scenario, Sim};

pub(super) async fn serve(
    scenario_path: Option<&Path>,
    port: u16,
    format: Format,
) -> Result<ExitCode> {
    let scenario = match scenario_path {
        Some(p) => Scenario::from_file(p),
        None => Scenario::from_json(super::sandbox_cmd::SHIPPED),
    }
    .map_err(|e| {
        Error::usage_hint(
            format!("cannot load scenario: {e}"),
            super::sandbox_cmd::SCENARIO_FORMAT_HINT,
        )
    })?;
    let scenario_name = scenario_path.map_or_else(
        || "built-in sandbox scenario".to_string(),
        |p| p.display().to_string(),
    );
    let sim = Sim::start_on(scenario, port).await.map_err(|e| Error::Io {
        path: format!("127.0.0.1:{port}"),
        message: format!("cannot start the simulated forge: {e}"),
    })?;
    let dialect = match sim.dialect() {
        Dialect::Gitea => "gitea",
        Dialect::GitHub => "github",
    };
    match format {
        Format::Json | Format::Jsonl | Format::Sarif => {
            print_json(&json!({ "url": sim.url(), "dialect": dialect }))?
        }
        Format::Text | Format::Github | Format::Markdown | Format::Html => {
            outln!("{}", sim.url());
            eprintln!(
                "simulated {dialect} forge listening on {} (scenario {}); Ctrl-C stops it",
                sim.url(),
                scenario_name
            );
        }
    }
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c().await.map_err(|e| Error::Io {
        path: "signal".into(),
        message: format!("cannot wait for Ctrl-C: {e}"),
    })?;
    sim.shutdown().await;
    Ok(ExitCode::Success)
}
