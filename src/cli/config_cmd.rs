//! `mergeward config show`.

use serde_json::json;

use super::{Format, GlobalArgs, load_config, print_json};
use crate::error::{ExitCode, Result};
use crate::report::RunReport;

pub(super) fn show(
    global: &GlobalArgs,
    format: Format,
    report: &mut RunReport,
) -> Result<ExitCode> {
    let cfg = load_config(global)?;
    report.forge = Some(cfg.forge_kind().to_string());
    report.repo = cfg.str("forge.repo").map(str::to_string);
    report.branch = Some(cfg.branch().to_string());
    report.outcome = Some("shown".into());
    let shown = cfg.shown();
    // Every key is listed: the unset ones too, with what unset means.
    let unset: Vec<(&str, &str)> = crate::config::KEYS
        .iter()
        .filter(|d| !shown.iter().any(|s| s.key == d.key))
        .map(|d| (d.key, d.help))
        .chain(cfg.token.is_none().then_some((
            "forge.token",
            "no token: set MERGEWARD_TOKEN (or GITEA_TOKEN / GITHUB_TOKEN), --token-env NAME or --token-file PATH",
        )))
        .collect();
    match format {
        Format::Json | Format::Jsonl | Format::Sarif => {
            let values: Vec<_> = shown
                .iter()
                .map(|s| json!({ "key": s.key, "value": s.value, "source": s.source }))
                .chain(unset.iter().map(
                    |(k, help)| json!({ "key": k, "value": null, "source": "unset", "help": help }),
                ))
                .collect();
            print_json(&json!({
                "config_file": cfg.file.as_ref().map(|p| p.display().to_string()),
                "values": values,
            }))?;
        }
        Format::Text | Format::Github | Format::Markdown | Format::Html => {
            let width = shown
                .iter()
                .map(|s| s.key.len())
                .chain(unset.iter().map(|(k, _)| k.len()))
                .max()
                .unwrap_or(0);
            match &cfg.file {
                Some(p) => outln!("# configuration file: {}", p.display()),
                None => outln!("# configuration file: none"),
            }
            for s in &shown {
                outln!("{:width$} = {}  ({})", s.key, s.value, s.source);
            }
            for (k, help) in &unset {
                outln!("{:width$} = (unset)  {help}", k);
            }
        }
    }
    Ok(ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// A flag's help that names a configuration key's environment variable and a default
    /// (`[env: MERGEWARD_REAPER_LIMIT] [default: 30]`) names the key table's default.
    #[test]
    fn flag_help_defaults_are_the_key_tables() {
        fn walk(cmd: &clap::Command, checked: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let help = arg
                    .get_long_help()
                    .or(arg.get_help())
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                let field = |tag: &str| {
                    let start = help.find(tag)? + tag.len();
                    let end = help[start..].find(']')? + start;
                    Some(help[start..end].trim().to_string())
                };
                let (Some(envs), Some(default)) = (field("[env:"), field("[default:")) else {
                    continue;
                };
                let env = envs.split(',').next().unwrap_or_default().trim();
                // `--config`'s MERGEWARD_CONFIG is no key's.
                let Some(d) = crate::config::KEYS.iter().find(|d| d.envs.contains(&env)) else {
                    continue;
                };
                if let Some(v) = d.default {
                    assert_eq!(default, v, "{}: the help of --{:?}", d.key, arg.get_long());
                    checked.push(d.key.to_string());
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, checked);
            }
        }
        let mut checked = Vec::new();
        walk(&crate::cli::Cli::command(), &mut checked);
        assert!(
            checked.iter().any(|k| k == "reaper.limit")
                && checked.iter().any(|k| k == "gates.flips_recent"),
            "{checked:?}"
        );
    }
}
