//! `mergeward gate lint [PATHS]`: the workflow lint engine (`src/gates/`).
//!
//! Exit codes: 0 clean (warnings and notes do not fail); 1 an error-severity finding
//! (a YAML syntax error in a workflow is such a finding, `yaml-syntax`); 5 no decided
//! error but a rule could not verify because the forge could not be read (a tracker issue
//! unreadable, or no forge to read it from); 2 an unreadable path or a bad configuration;
//! forge errors while reading branch protection keep their class (3 auth, 4 not found,
//! 5 could not decide).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Format, GlobalArgs, load_config};
use crate::config::Config;
use crate::error::{Error, ExitCode, Result};
use crate::forge::issues::ForgeIssues;
use crate::forge::{self, AnyForge, Forge, ForgeError};
use crate::gates::{self, GateSettings, IssueLookup, LintEnv, output, rules};
use crate::report::RunReport;
use crate::workflow::{self, Limits, Workflow};

/// How many tracker issues `gate lint` reads at once.
const ISSUE_CONCURRENCY: usize = 8;

/// Options of `gate lint`.
#[derive(Debug, Clone, Default)]
pub struct LintArgs {
    pub paths: Vec<PathBuf>,
    pub required_contexts: Option<Vec<String>>,
    pub base: Option<String>,
    pub offline: bool,
}

fn forge_hint(cfg: &Config, what: &str, e: ForgeError) -> Error {
    let hint = if e.is_rejected_token() {
        Some(format!(
            "the forge rejected the token from {}",
            cfg.token_source()
        ))
    } else if e.is_forbidden() {
        Some(format!(
            "the token from {} cannot read {what}; branch protection needs repository admin on Gitea (administration:read on GitHub) — or pass --required-contexts / set gates.required_contexts",
            cfg.token_source()
        ))
    } else {
        None
    };
    Error::ForgeCtx {
        context: format!("gate lint: reading {what}"),
        err: Box::new(e),
        hint,
    }
}

/// One long-lived `git cat-file --batch`: object names in, objects out, one round trip
/// per object and no process per file.
struct CatFile {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl CatFile {
    fn start() -> std::io::Result<CatFile> {
        let mut child = Command::new("git")
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(std::io::Error::other("git cat-file has no pipes"));
        };
        Ok(CatFile {
            child,
            stdin,
            stdout: std::io::BufReader::new(stdout),
        })
    }

    /// The object `name` names: `Ok(None)` when it does not exist, `(type, bytes)` else.
    fn get(&mut self, name: &str) -> std::io::Result<Option<(String, Vec<u8>)>> {
        use std::io::{BufRead, Read, Write};
        if name.contains('\n') {
            return Ok(None);
        }
        self.stdin.write_all(name.as_bytes())?;
        self.stdin.write_all(b"\n")?;
        self.stdin.flush()?;
        let mut header = String::new();
        if self.stdout.read_line(&mut header)? == 0 {
            return Err(std::io::Error::other("git cat-file ended early"));
        }
        let fields: Vec<&str> = header.trim_end_matches('\n').split(' ').collect();
        match fields.as_slice() {
            [_, kind, size] => {
                let size: usize = size.parse().map_err(|_| {
                    std::io::Error::other(format!("git cat-file: bad header {header:?}"))
                })?;
                let mut body = vec![0; size + 1];
                self.stdout.read_exact(&mut body)?;
                body.pop(); // the newline after the object
                Ok(Some((kind.to_string(), body)))
            }
            // `<name> missing` / `<name> ambiguous` (the name may contain spaces).
            _ => Ok(None),
        }
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// NUL-separated paths a git command prints (relative to the current directory).
fn git_paths(child: std::process::Child, what: &str, base: &str) -> Result<Vec<String>> {
    let out = child
        .wait_with_output()
        .map_err(|e| Error::usage(format!("--base {base}: cannot run git {what}: {e}")))?;
    if !out.status.success() {
        return Err(Error::usage_hint(
            format!(
                "--base {base}: git {what} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            "run gate lint inside the repository's work tree",
        ));
    }
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

/// The base tree's side of a change (`--base`): the base version of every workflow file the
/// change touches (modified, or deleted since the base), read through one
/// `git cat-file --batch`, and the labels of the linted files that differ from the base
/// (modified, added, untracked). A file the change does not touch is the same on both
/// sides and is not read again. Three git processes in all, however many files.
fn base_workflows(
    base: &str,
    found: &[PathBuf],
    limits: Limits,
) -> Result<(Vec<Workflow>, std::collections::BTreeSet<String>)> {
    let cant = |e: std::io::Error| Error::usage(format!("--base {base}: cannot run git: {e}"));
    if base.starts_with('-') || base.contains(['\n', ' ']) {
        return Err(Error::usage_hint(
            format!("--base {base:?}: not a revision"),
            "pass the base commit's SHA or a ref such as origin/main",
        ));
    }
    let mut cat = CatFile::start().map_err(cant)?;
    if !matches!(cat.get(&format!("{base}^{{commit}}")).map_err(cant)?, Some((kind, _)) if kind == "commit")
    {
        return Err(Error::usage_hint(
            format!("--base {base}: not a commit in this repository"),
            "fetch the base branch first (git fetch origin main) and pass its SHA or ref",
        ));
    }
    let commit = base.to_string();
    let cwd = std::env::current_dir().unwrap_or_default();
    let rel = |p: &Path| -> String {
        let r = p.strip_prefix(&cwd).unwrap_or(p);
        r.to_string_lossy()
            .replace('\\', "/")
            .trim_start_matches("./")
            .to_string()
    };
    // Where the linted files live: the change is read for those directories only.
    let mut dirs: Vec<String> = found
        .iter()
        .map(|p| {
            let r = rel(p);
            match r.rsplit_once('/') {
                Some((d, _)) => d.to_string(),
                None => ".".to_string(),
            }
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    if dirs.is_empty() {
        return Ok((Vec::new(), std::collections::BTreeSet::new()));
    }
    let spawn = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .arg("--")
            .args(&dirs)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(cant)
    };
    // Both run at once: changed since the base (work tree vs the base commit), untracked.
    let diff = spawn(&[
        "diff",
        "--name-only",
        "-z",
        "--no-renames",
        "--relative",
        "--no-ext-diff",
        &commit,
    ])?;
    let untracked = spawn(&["ls-files", "-z", "--others", "--exclude-standard"])?;
    let changed: std::collections::BTreeSet<String> =
        git_paths(diff, "diff", base)?.into_iter().collect();
    let untracked: std::collections::BTreeSet<String> = git_paths(untracked, "ls-files", base)?
        .into_iter()
        .collect();
    let found_rel: std::collections::BTreeMap<String, &PathBuf> =
        found.iter().map(|p| (rel(p), p)).collect();
    let mut labels = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (r, p) in &found_rel {
        if !(changed.contains(r) || untracked.contains(r)) {
            continue;
        }
        labels.insert(gates::path_label(p));
        if let Some((kind, body)) = cat.get(&format!("{commit}:./{r}")).map_err(cant)?
            && kind == "blob"
        {
            out.push(Workflow::parse(
                p.as_path(),
                &String::from_utf8_lossy(&body),
                limits,
            ));
        }
    }
    // Workflows deleted since the base: their contexts existed before the change.
    for r in &changed {
        let yaml = r.ends_with(".yml") || r.ends_with(".yaml");
        let in_dir = r
            .rsplit_once('/')
            .map_or(dirs.iter().any(|d| d == "."), |(d, _)| {
                dirs.iter().any(|x| x == d)
            });
        if !yaml || !in_dir || found_rel.contains_key(r) {
            continue;
        }
        if let Some((kind, body)) = cat.get(&format!("{commit}:./{r}")).map_err(cant)?
            && kind == "blob"
        {
            out.push(Workflow::parse(
                r.as_str(),
                &String::from_utf8_lossy(&body),
                limits,
            ));
        }
    }
    Ok((out, labels))
}

fn lookup_of(r: std::result::Result<Option<forge::issues::IssueInfo>, ForgeError>) -> IssueLookup {
    match r {
        Ok(Some(i)) => IssueLookup::Found {
            state: i.state,
            created_at: i.created_at,
        },
        Ok(None) => IssueLookup::NotFound,
        Err(e) if let Some(suspect) = e.permission_suspect().filter(|s| s.http() != 405) => {
            IssueLookup::Forbidden {
                detail: format!("HTTP {}", suspect.http()),
            }
        }
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
    let settings = crate::config::settings::gates(&cfg)?;
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
        let (base, changed) = base_workflows(b, &found, limits)?;
        env.base = Some(base);
        env.base_changed = Some(changed);
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
            // Trackers are read concurrently, at most ISSUE_CONCURRENCY at a time (the
            // client's rate limit still applies); every answer, error or not, is kept.
            use futures_util::stream::{self, StreamExt};
            let f = &f;
            let lookups: Vec<((String, u64), IssueLookup)> = stream::iter(wanted.iter())
                .filter_map(|(repo, n)| async move {
                    let (owner, name) = repo.split_once('/')?;
                    Some((repo, *n, owner, name))
                })
                .map(|(repo, n, owner, name)| async move {
                    ((repo.clone(), n), lookup_of(f.issue(owner, name, n).await))
                })
                .buffer_unordered(ISSUE_CONCURRENCY)
                .collect()
                .await;
            env.issues.extend(lookups);
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
        Format::Text | Format::Markdown | Format::Html => output::text(report),
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
