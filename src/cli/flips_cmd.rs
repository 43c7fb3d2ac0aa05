//! `mergeward gate flips --base SHA --head SHA`: a job-level `continue-on-error` flipped
//! from true to false needs run-log proof (`src/gates/flips/`, seed-systems §4).
//!
//! The two trees come from the local git repository when it has both commits (a checkout
//! with `fetch-depth: 0`), else from the forge's contents API (Gitea/Forgejo).
//!
//! Exit codes: 0 no flips, or every flip proven; 1 a flip blocked by a decided verdict
//! (fail, masked, or no completed runs); 5 flips blocked only because the forge could not
//! be read; 2 bad arguments or a commit that cannot be read; forge errors before the
//! verification (capabilities) keep their class. `--dry-run` reports and turns 1 and 5
//! from blocked flips into 0.

use std::process::Command;

use serde_json::json;

use super::{Format, GlobalArgs, load_config};
use crate::error::{Error, ExitCode, Result};
use crate::forge::commits::ForgeHistory;
use crate::forge::{self, Forge, Sha};
use crate::gates::flips::{self, FlipReport, Tree};
use crate::gates::output;
use crate::report::RunReport;
use crate::workflow::WORKFLOW_DIRS;

/// Where the two trees are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TreeSource {
    /// Local git when it has both commits, else the forge
    #[default]
    Auto,
    /// The local git repository (the current directory)
    Git,
    /// The forge's contents API (Gitea/Forgejo)
    Forge,
}

/// Options of `gate flips`.
#[derive(Debug, Clone, Default)]
pub struct FlipsArgs {
    pub base: String,
    pub head: String,
    pub recent: Option<u64>,
    pub trees: TreeSource,
    pub allow_unproven_non_pr_blocking: bool,
    pub dry_run: bool,
}

/// A commit argument: a SHA or a ref, never something git could read as an option.
fn check_rev(flag: &str, rev: &str) -> Result<()> {
    let ok = !rev.is_empty()
        && !rev.starts_with('-')
        && rev.len() <= 255
        && rev
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/~^-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::usage_hint(
            format!("{flag} {rev:?} is not a commit SHA or ref"),
            "pass the pull request's base and head SHAs, e.g. --base ${{ github.event.pull_request.base.sha }}",
        ))
    }
}

fn git(args: &[&str]) -> Result<std::process::Output> {
    Command::new("git")
        .args(args)
        .output()
        .map_err(|e| Error::usage(format!("cannot run git: {e}")))
}

/// The commit `rev` names in the local repository, if it has it.
fn git_commit(rev: &str) -> Option<Sha> {
    let o = git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{rev}^{{commit}}"),
    ])
    .ok()?;
    o.status
        .success()
        .then(|| Sha::parse(String::from_utf8_lossy(&o.stdout).trim()))
        .flatten()
}

/// The workflow files of a commit in the local repository.
fn git_tree(rev: &str) -> Result<Tree> {
    // --full-tree: the paths are the repository's, whatever the current directory.
    let mut args = vec!["ls-tree", "-r", "-z", "--full-tree", rev, "--"];
    args.extend(WORKFLOW_DIRS);
    let out = git(&args)?;
    if !out.status.success() {
        return Err(Error::usage_hint(
            format!(
                "git ls-tree {rev}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "check out with full history (actions/checkout with fetch-depth: 0) or pass --trees forge",
        ));
    }
    let mut tree = Vec::new();
    for rec in out.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let rec = String::from_utf8_lossy(rec);
        let Some((meta, path)) = rec.split_once('\t') else {
            continue;
        };
        let mut m = meta.split_whitespace();
        let (Some(_mode), Some(kind), Some(oid)) = (m.next(), m.next(), m.next()) else {
            continue;
        };
        if kind != "blob" || !crate::forge::commits::is_workflow_file(path) {
            continue;
        }
        let blob = git(&["cat-file", "blob", oid])?;
        if !blob.status.success() {
            return Err(Error::Io {
                path: format!("{rev}:{path}"),
                message: format!(
                    "git cat-file failed: {}",
                    String::from_utf8_lossy(&blob.stderr).trim()
                ),
            });
        }
        tree.push((
            path.to_string(),
            String::from_utf8_lossy(&blob.stdout).into_owned(),
        ));
    }
    Ok(tree)
}

async fn forge_tree(
    f: &forge::AnyForge,
    flag: &str,
    rev: &str,
    warnings: &mut Vec<String>,
) -> Result<Tree> {
    let needs_checkout = |what: String| {
        Error::usage_hint(
            what,
            "run in a checkout with full history (actions/checkout with fetch-depth: 0) so that git can read both trees",
        )
    };
    let forge_err = |e: forge::ForgeError, what: &str| match e {
        forge::ForgeError::Unsupported { .. } => needs_checkout(format!(
            "gate flips: {what} at {rev} cannot be read through this forge's API"
        )),
        e if e.is_not_found() => Error::usage_hint(
            format!("{flag} {rev}: not a commit of the repository on the forge"),
            "pass the pull request's SHAs as the forge knows them (a commit that was pushed)",
        ),
        e => Error::ForgeCtx {
            context: format!("gate flips: reading {what} at {rev}"),
            err: Box::new(e),
            hint: None,
        },
    };
    if f.kind() == forge::ForgeKind::GitHub {
        return Err(needs_checkout(format!(
            "gate flips: the workflow files at {rev} cannot be read through GitHub's API by mergeward (the contents API is outside its contracted subset)"
        )));
    }
    // An unknown revision must not read as "no workflow files" (the contents API answers
    // 404 for a missing directory and for a missing ref alike).
    let found = f
        .recent_commits(rev, 1)
        .await
        .map_err(|e| forge_err(e, "the commit"))?;
    if found.is_empty() {
        return Err(Error::usage_hint(
            format!("{flag} {rev}: not a commit of the repository on the forge"),
            "pass the pull request's SHAs as the forge knows them (a commit that was pushed)",
        ));
    }
    let files = f
        .workflow_files_in(rev, &WORKFLOW_DIRS)
        .await
        .map_err(|e| forge_err(e, "the workflow files"))?;
    let mut tree = Vec::new();
    for wf in files {
        match wf.content {
            Ok(text) => tree.push((wf.path, text)),
            Err(why) => warnings.push(format!("{} at {rev}: not read ({why})", wf.path)),
        }
    }
    Ok(tree)
}

/// Runs the verification and prints the result. Returns the exit code.
pub async fn run(
    global: &GlobalArgs,
    args: &FlipsArgs,
    format: Format,
    report: &mut RunReport,
) -> Result<ExitCode> {
    check_rev("--base", &args.base)?;
    check_rev("--head", &args.head)?;
    let cfg = load_config(global)?;
    let branch = cfg.branch().to_string();
    report.branch = Some(branch.clone());
    report.dry_run = args.dry_run;
    let mut opts =
        crate::config::settings::flips(&cfg, args.recent, args.allow_unproven_non_pr_blocking)?;

    // The local repository's view of both commits (read once; `None` for a commit it lacks).
    let local = match args.trees {
        TreeSource::Forge => None,
        TreeSource::Git | TreeSource::Auto => {
            Some((git_commit(&args.base), git_commit(&args.head)))
        }
    };
    let use_git = matches!(
        (args.trees, &local),
        (TreeSource::Git, _) | (TreeSource::Auto, Some((Some(_), Some(_))))
    );
    let mut connected: Option<forge::AnyForge> = None;
    let mut connect = || -> Result<forge::AnyForge> {
        let target = cfg.target()?;
        report.forge = Some(cfg.forge_kind().to_string());
        report.repo = Some(target.repo.to_string());
        Ok(forge::connect(&target, cfg.http_settings(&target))?)
    };
    let mut warnings = Vec::new();
    let (base_tree, head_tree) = if use_git {
        let (b, h) = local.clone().unwrap_or_default();
        for (flag, rev, found) in [("--base", &args.base, b), ("--head", &args.head, h)] {
            if found.is_none() {
                return Err(Error::usage_hint(
                    format!("{flag} {rev}: not a commit in this git repository"),
                    "check out with full history (actions/checkout with fetch-depth: 0), git fetch the base branch, or pass --trees forge",
                ));
            }
        }
        (git_tree(&args.base)?, git_tree(&args.head)?)
    } else {
        let f = connect()?;
        let b = forge_tree(&f, "--base", &args.base, &mut warnings).await?;
        let h = forge_tree(&f, "--head", &args.head, &mut warnings).await?;
        connected = Some(f);
        (b, h)
    };
    let (found, detect_warnings) = flips::detect(&base_tree, &head_tree);
    warnings.extend(detect_warnings);
    let mut flip_report = FlipReport {
        results: Vec::new(),
        warnings,
        branch: branch.clone(),
        base: args.base.clone(),
        head: args.head.clone(),
        web_base: cfg
            .target()
            .ok()
            .filter(|t| t.kind != forge::ForgeKind::GitHub)
            .map(|t| crate::forge::logs::gitea_web_base(&t.api_base())),
    };
    if !found.is_empty() {
        let f = match connected.take() {
            Some(f) => f,
            None => connect()?,
        };
        let caps = f.capabilities().await.map_err(|e| Error::ForgeCtx {
            context: "gate flips: reading the forge's version".into(),
            err: Box::new(e),
            hint: None,
        })?;
        opts.head = match &local {
            Some((_, Some(h))) if use_git => Some(h.clone()),
            _ => Sha::parse(&args.head),
        };
        for flip in &found {
            flip_report
                .results
                .push(flips::verify(&f, &caps, flip, &opts).await);
        }
        report.api = f.counts();
    } else if let Some(f) = &connected {
        report.api = f.counts();
    }

    let decided = flip_report.decided_blocked();
    let blocked = flip_report.blocked();
    let code = if decided > 0 {
        ExitCode::Violations
    } else if blocked > 0 {
        ExitCode::CouldNotDecide
    } else {
        ExitCode::Success
    };
    report.outcome = Some(
        match (code, found.is_empty()) {
            (_, true) => "no_flips",
            (ExitCode::Success, _) => "clean",
            (ExitCode::Violations, _) => "blocked",
            _ => "could_not_decide",
        }
        .into(),
    );
    print(&flip_report, found.len(), opts.recent, args.dry_run, format)?;
    Ok(if args.dry_run {
        ExitCode::Success
    } else {
        code
    })
}

fn headline(r: &FlipReport, n: usize) -> String {
    if n == 0 {
        "no continue-on-error true→false flips in this change".to_string()
    } else {
        format!(
            "detected {n} continue-on-error true→false flip(s); verified recent runs on {}",
            r.branch
        )
    }
}

fn tally(r: &FlipReport, n: usize, dry_run: bool) -> Option<String> {
    let b = r.blocked();
    (b > 0).then(|| {
        if dry_run {
            format!("[dry-run] {b}/{n} flip(s) WOULD fail pre-flip verification; exit 0 forced")
        } else {
            format!("{b}/{n} flip(s) failed pre-flip verification")
        }
    })
}

fn print(r: &FlipReport, n: usize, recent: usize, dry_run: bool, format: Format) -> Result<()> {
    let lint = r.lint_report();
    let render = |v: &serde_json::Value| {
        serde_json::to_string_pretty(v)
            .map_err(|e| Error::Internal(format!("cannot render JSON: {e}")))
    };
    let text = match format {
        Format::Json | Format::Jsonl => {
            let mut doc = output::json(&lint);
            if let Some(o) = doc.as_object_mut() {
                o.insert(
                    "flips".into(),
                    json!({
                        "base": r.base,
                        "head": r.head,
                        "branch": r.branch,
                        "recent": recent,
                        "dry_run": dry_run,
                        "detected": n,
                        "blocked": r.blocked(),
                        "results": r.results,
                        "warnings": r.warnings,
                    }),
                );
            }
            if format == Format::Jsonl {
                serde_json::to_string(&doc)
                    .map_err(|e| Error::Internal(format!("cannot render JSON: {e}")))?
            } else {
                render(&doc)?
            }
        }
        Format::Sarif => render(&output::sarif(&lint))?,
        Format::Github => {
            let mut out = format!("::notice::{}\n", headline(r, n));
            out.push_str(&output::github(&lint));
            for res in &r.results {
                let one = FlipReport {
                    results: vec![res.clone()],
                    web_base: r.web_base.clone(),
                    ..FlipReport::default()
                };
                out.push_str(&format!("::group::flip detail: {}\n", res.flip.job_key));
                out.push_str(&one.detail());
                out.push_str("::endgroup::\n");
            }
            if let Some(t) = tally(r, n, dry_run) {
                let cmd = if dry_run { "warning" } else { "error" };
                out.push_str(&format!("::{cmd}::{t}\n"));
            }
            out
        }
        Format::Text | Format::Markdown | Format::Html => {
            let mut out = format!("{}\n", headline(r, n));
            out.push_str(&r.detail());
            out.push_str(&output::text(&lint));
            if let Some(t) = tally(r, n, dry_run) {
                out.push_str(&t);
                out.push('\n');
            }
            out
        }
    };
    outln!("{}", text.trim_end_matches('\n'));
    Ok(())
}
