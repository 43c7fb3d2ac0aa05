//! `mergeward gate lint [PATHS]`: the workflow lint engine (`src/gates/`).
//!
//! Exit codes: 0 clean (warnings and notes do not fail); 1 an error-severity finding
//! (a YAML syntax error in a workflow is such a finding, `yaml-syntax`); 5 no decided
//! error but a rule could not verify because the forge could not be read (a tracker issue
//! unreadable, or no forge to read it from); 2 an unreadable path or a bad configuration;
//! forge errors while reading branch protection keep their class (3 auth, 4 not found,
//! 5 could not decide).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Format, GlobalArgs, load_config};
use crate::config::Config;
use crate::error::{Error, ExitCode, Result};
use crate::forge::issues::ForgeIssues;
use crate::forge::{self, AnyForge, Forge, ForgeError};
use crate::gates::{self, GateSettings, IssueLookup, LintEnv, output, rules};
use crate::report::RunReport;
use crate::workflow::{self, Limits, Workflow};

/// Options of `gate lint`.
#[derive(Debug, Clone, Default)]
pub struct LintArgs {
    pub paths: Vec<PathBuf>,
    pub required_contexts: Option<Vec<String>>,
    pub base: Option<String>,
    pub offline: bool,
}

fn forge_hint(cfg: &Config, what: &str, e: ForgeError) -> Error {
    let hint = match e.status() {
        Some(401) => Some(format!(
            "the forge rejected the token from {}",
            cfg.token_source()
        )),
        Some(403) => Some(format!(
            "the token from {} cannot read {what}; branch protection needs repository admin on Gitea (administration:read on GitHub) — or pass --required-contexts / set gates.required_contexts",
            cfg.token_source()
        )),
        _ => None,
    };
    Error::ForgeCtx {
        context: format!("gate lint: reading {what}"),
        err: Box::new(e),
        hint,
    }
}

/// The base tree's version of each file (`git show REF:./path`); absent files are skipped.
fn base_workflows(base: &str, paths: &[PathBuf], limits: Limits) -> Result<Vec<Workflow>> {
    let ok = Command::new("git")
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("{base}^{{commit}}"))
        .output()
        .map_err(|e| Error::usage(format!("--base {base}: cannot run git: {e}")))?;
    if !ok.status.success() {
        return Err(Error::usage_hint(
            format!("--base {base}: not a commit in this repository"),
            "fetch the base branch first (git fetch origin main) and pass its SHA or ref",
        ));
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut out = Vec::new();
    for p in paths {
        let rel = p.strip_prefix(&cwd).unwrap_or(p);
        let spec = format!(
            "{base}:./{}",
            rel.to_string_lossy().trim_start_matches("./")
        );
        let shown = Command::new("git")
            .args(["show", &spec])
            .output()
            .map_err(|e| Error::usage(format!("--base {base}: cannot run git: {e}")))?;
        if shown.status.success() {
            let text = String::from_utf8_lossy(&shown.stdout);
            out.push(Workflow::parse(p, &text, limits));
        }
    }
    Ok(out)
}

fn lookup_of(r: std::result::Result<Option<forge::issues::IssueInfo>, ForgeError>) -> IssueLookup {
    match r {
        Ok(Some(i)) => IssueLookup::Found {
            state: i.state,
            created_at: i.created_at,
        },
        Ok(None) => IssueLookup::NotFound,
        Err(e) if matches!(e.status(), Some(401 | 403)) => IssueLookup::Forbidden {
            detail: format!("HTTP {}", e.status().unwrap_or(403)),
        },
        Err(e) => IssueLookup::Failed {
            detail: e.to_string(),
        },
    }
}

/// Runs the lint and prints the result. Returns the exit code.
pub async fn lint(
    global: &GlobalArgs,
    args: &LintArgs,
    format: Format,
    run: &mut RunReport,
) -> Result<ExitCode> {
    let cfg = load_config(global)?;
    let settings = GateSettings::from_config(&cfg)?;
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let found = workflow::discover(&paths).map_err(|m| {
        Error::usage_hint(
            format!("gate lint: cannot read {m}"),
            "pass workflow files or directories that exist",
        )
    })?;
    let limits = Limits::default();
    let mut files = Vec::with_capacity(found.len());
    for (p, loaded) in found.iter().zip(workflow::load_all(&found, limits)) {
        let wf = loaded.map_err(|e| Error::Io {
            path: p.display().to_string(),
            message: format!("cannot read the workflow file: {e}"),
        })?;
        files.push(wf);
    }
    let mut env = LintEnv {
        forge: Some(cfg.forge_kind()),
        repo: cfg.str("forge.repo").map(str::to_string),
        ..LintEnv::default()
    };
    if let Some(b) = &args.base {
        env.base = Some(base_workflows(b, &found, limits)?);
    }
    if let Some(list) = &args.required_contexts {
        env.required_contexts = Some(
            list.iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
        );
        env.required_source = "--required-contexts".into();
    } else if let Some(list) = &settings.required_contexts {
        env.required_contexts = Some(list.clone());
        env.required_source = "gates.required_contexts".into();
    }
    let forge = if args.offline {
        None
    } else {
        cfg.target().ok().map(|t| (cfg.http_settings(&t), t))
    };
    let wanted = rules::coe_tracking::wanted(&files, &settings, env.repo.as_deref());
    if let Some((http, target)) = forge {
        run.forge = Some(cfg.forge_kind().to_string());
        run.repo = Some(target.repo.to_string());
        run.branch = Some(cfg.branch().to_string());
        let f: AnyForge = forge::connect(&target, http)?;
        let needs_protection = env.required_contexts.is_none()
            && (settings.enabled("required-no-paths")
                || settings.enabled("context-in-protection")
                || settings.enabled("context-emitted"));
        if needs_protection {
            let p = f
                .protection(cfg.branch())
                .await
                .map_err(|e| forge_hint(&cfg, "branch protection", e))?;
            env.required_contexts = Some(if p.status_checks_enabled {
                p.required_contexts
            } else {
                Vec::new()
            });
            env.required_source = format!("branch protection of {}", cfg.branch());
        }
        if settings.gitea_version.is_none()
            && settings.enabled("gitea-compat")
            && let Ok(c) = f.capabilities().await
        {
            env.forge = Some(c.kind);
            env.forge_version = Some(c.version);
        }
        if settings.enabled("coe-tracking") {
            for (repo, n) in &wanted {
                let Some((owner, name)) = repo.split_once('/') else {
                    continue;
                };
                let r = f.issue(owner, name, *n).await;
                env.issues.insert((repo.clone(), *n), lookup_of(r));
            }
        }
        run.api = f.counts();
    } else {
        for key in wanted {
            env.issues.insert(
                key,
                IssueLookup::NotChecked {
                    why: if args.offline {
                        "--offline".into()
                    } else {
                        "no forge is configured (--url, --repo)".into()
                    },
                },
            );
        }
    }
    let report = gates::lint(&files, &settings, &env);
    let code = if report.decided_errors() > 0 {
        ExitCode::Violations
    } else if report.unverified() > 0 {
        ExitCode::CouldNotDecide
    } else {
        ExitCode::Success
    };
    run.outcome = Some(
        match code {
            ExitCode::Success => "clean",
            ExitCode::Violations => "violations",
            _ => "could_not_decide",
        }
        .into(),
    );
    print(&report, format)?;
    Ok(code)
}

fn print(report: &gates::LintReport, format: Format) -> Result<()> {
    let render = |v: &serde_json::Value, pretty: bool| {
        if pretty {
            serde_json::to_string_pretty(v)
        } else {
            serde_json::to_string(v)
        }
        .map_err(|e| Error::Internal(format!("cannot render JSON: {e}")))
    };
    let text = match format {
        Format::Text => output::text(report),
        Format::Json => render(&output::json(report), true)? + "\n",
        Format::Jsonl => render(&output::json(report), false)? + "\n",
        Format::Sarif => render(&output::sarif(report), true)? + "\n",
        Format::Github => output::github(report),
    };
    outln!("{}", text.trim_end_matches('\n'));
    Ok(())
}

/// For tests and tools: lint files in memory with the given settings and environment.
pub fn lint_paths(paths: &[&Path], settings: &GateSettings, env: &LintEnv) -> gates::LintReport {
    let files: Vec<Workflow> = paths
        .iter()
        .filter_map(|p| Workflow::load(p, Limits::default()).ok())
        .collect();
    gates::lint(&files, settings, env)
}
