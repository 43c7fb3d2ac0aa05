//! `mergeward init`: a commented `.mergeward.toml`, the shipped CI workflows, and the
//! checklist of what the forge needs before the first tick.
//!
//! The workflow files are the ones in `workflows/` of the source tree, compiled in: what
//! `init` writes is exactly what CI lints (`.ci/run`). The required contexts in the
//! checklist are read from those files with the workflow model, so they are the names the
//! forge will show.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Format, GlobalArgs, print_json};
use crate::config::{config_template, keys};
use crate::error::{Error, ExitCode, Result};
use crate::gates::rules::context_in_protection::{Directive, directive};
use crate::report::RunReport;
use crate::workflow::{Limits, Workflow};

/// A shipped workflow: file name and text.
struct Template {
    name: &'static str,
    text: &'static str,
}

const GITEA: &[Template] = &[
    Template {
        name: "merge-queue.yml",
        text: include_str!("../../workflows/gitea/merge-queue.yml"),
    },
    Template {
        name: "status-reaper.yml",
        text: include_str!("../../workflows/gitea/status-reaper.yml"),
    },
    Template {
        name: "gates.yml",
        text: include_str!("../../workflows/gitea/gates.yml"),
    },
    Template {
        name: "audit-merge.yml",
        text: include_str!("../../workflows/gitea/audit-merge.yml"),
    },
];

const GITHUB: &[Template] = &[
    Template {
        name: "merge-queue.yml",
        text: include_str!("../../workflows/github/merge-queue.yml"),
    },
    Template {
        name: "merge-queue-wake.yml",
        text: include_str!("../../workflows/github/merge-queue-wake.yml"),
    },
    Template {
        name: "gates.yml",
        text: include_str!("../../workflows/github/gates.yml"),
    },
    Template {
        name: "audit-merge.yml",
        text: include_str!("../../workflows/github/audit-merge.yml"),
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InitForge {
    Gitea,
    Forgejo,
    GitHub,
}

impl InitForge {
    fn name(self) -> &'static str {
        match self {
            InitForge::Gitea => "gitea",
            InitForge::Forgejo => "forgejo",
            InitForge::GitHub => "github",
        }
    }

    fn workflow_dir(self) -> &'static str {
        match self {
            InitForge::Gitea => ".gitea/workflows",
            InitForge::Forgejo => ".forgejo/workflows",
            InitForge::GitHub => ".github/workflows",
        }
    }

    fn templates(self) -> &'static [Template] {
        match self {
            InitForge::GitHub => GITHUB,
            _ => GITEA,
        }
    }

    /// The template's text for this forge (Forgejo: `MERGEWARD_FORGE: forgejo`).
    fn render(self, t: &Template) -> String {
        match self {
            InitForge::Forgejo => t
                .text
                .replace("MERGEWARD_FORGE: gitea", "MERGEWARD_FORGE: forgejo"),
            _ => t.text.to_string(),
        }
    }
}

/// The forge: `--forge`, else guessed from the directory, else Gitea.
fn choose_forge(flag: Option<&str>, dir: &Path) -> Result<(InitForge, &'static str)> {
    if let Some(f) = flag {
        let forge = match f.trim().to_ascii_lowercase().as_str() {
            "gitea" => InitForge::Gitea,
            "forgejo" => InitForge::Forgejo,
            "github" => InitForge::GitHub,
            other => {
                return Err(Error::usage_hint(
                    format!("--forge {other:?} is not a forge mergeward knows"),
                    "use --forge gitea, --forge forgejo or --forge github",
                ));
            }
        };
        return Ok((forge, "--forge"));
    }
    let has = |d: &str| dir.join(d).is_dir();
    Ok(if has(".forgejo") {
        (InitForge::Forgejo, "found .forgejo/")
    } else if has(".github") && !has(".gitea") {
        (InitForge::GitHub, "found .github/ and no .gitea/")
    } else {
        (
            InitForge::Gitea,
            "the default; --forge github or --forge forgejo chooses another",
        )
    })
}

/// The contexts branch protection should require: jobs marked `# bp-required: yes` in the
/// generated workflows, spelled as the forge shows them (Gitea/Forgejo: `workflow / job
/// (event)`; GitHub: the job's check name).
fn required_contexts(forge: InitForge) -> Vec<String> {
    let mut out = Vec::new();
    for t in forge.templates() {
        let wf = Workflow::parse(t.name, t.text, Limits::default());
        for job in &wf.jobs {
            if !matches!(directive(&wf, job), Some((Directive::Yes, _))) {
                continue;
            }
            match forge {
                InitForge::GitHub => out.push(job.display_name().to_string()),
                _ => out.extend(
                    wf.emitted_contexts()
                        .into_iter()
                        .filter(|(_, j)| j.key.value == job.key.value)
                        .map(|(c, _)| c),
                ),
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn checklist(forge: InitForge, contexts: &[String], hold_label: &str) -> Vec<(String, String)> {
    let token = match forge {
        InitForge::GitHub => "The merge queue uses the workflow's GITHUB_TOKEN with the permissions its \
            `permissions:` block asks for (contents, pull-requests, issues, statuses: write; checks: read). \
            Merges made with it trigger no further workflow runs; to trigger them, store a GitHub App \
            token as the secret MERGEWARD_TOKEN. Reading branch protection needs administration:read, \
            which GITHUB_TOKEN never has: without it set the repository variable \
            MERGEWARD_REQUIRED_CONTEXTS (comma-separated) for the gates."
            .to_string(),
        _ => "Create a token for the merge actor (a non-admin account) with the scopes write:repository \
            and write:issue, and store it as the repository secret MERGEWARD_TOKEN. The status reaper \
            wants its own token with write:repository as STATUS_REAPER_TOKEN."
            .to_string(),
    };
    vec![
        ("token".into(), token),
        (
            "install".into(),
            "The workflows install a pinned release binary. Set the repository variables \
             MERGEWARD_VERSION (e.g. 0.1.0), MERGEWARD_SHA256 (the sum of the Linux x86_64 binary \
             from that release's SHA256SUMS) and MERGEWARD_RELEASE_URL (where the releases are, e.g. \
             https://github.com/OWNER/mergeward/releases/download). Without MERGEWARD_SHA256 the \
             install step fails closed."
                .into(),
        ),
        (
            "labels".into(),
            format!(
                "The hold label ({hold_label:?}) must exist before the first tick, or a wedged PR \
                 cannot be held; `mergeward forge check --fix` creates the queue's labels."
            ),
        ),
        (
            "branch protection".into(),
            format!(
                "Require these status checks on the protected branch (the names the forge shows for \
                 the generated workflows), besides your own CI: {}. Required approvals come from the \
                 protection rule too.",
                if contexts.is_empty() {
                    "(none)".to_string()
                } else {
                    contexts
                        .iter()
                        .map(|c| format!("\"{c}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        ),
        (
            "try it".into(),
            "Before committing: `mergeward forge check`, then `mergeward queue status`, then \
             `mergeward queue tick --dry-run` (with the token in MERGEWARD_TOKEN). Then commit the \
             files; `mergeward gate lint` checks the workflows."
                .into(),
        ),
    ]
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        message: format!("cannot write: {e}"),
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}

pub fn run(
    global: &GlobalArgs,
    dir: Option<&Path>,
    force: bool,
    format: Format,
    report: &mut RunReport,
) -> Result<ExitCode> {
    let dir = dir.map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    if !dir.is_dir() {
        return Err(Error::usage_hint(
            format!("{} is not a directory", dir.display()),
            "pass --dir with the repository's root directory",
        ));
    }
    let (forge, why) = choose_forge(global.forge.as_deref(), &dir)?;

    // The configuration: every key, commented; forge facts given on the command line active.
    let mut set: Vec<(&str, &str)> = vec![("forge.kind", forge.name())];
    for (key, value) in [
        ("forge.url", global.url.as_deref()),
        ("forge.repo", global.repo.as_deref()),
        ("forge.branch", global.branch.as_deref()),
    ] {
        if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
            set.push((key, v));
        }
    }
    let mut files: Vec<(PathBuf, String)> =
        vec![(dir.join(".mergeward.toml"), config_template(&set))];
    for t in forge.templates() {
        files.push((dir.join(forge.workflow_dir()).join(t.name), forge.render(t)));
    }

    let existing: Vec<String> = files
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() && !force {
        return Err(Error::usage_hint(
            format!(
                "{} already exist{}: {}",
                if existing.len() == 1 {
                    "a file"
                } else {
                    "files"
                },
                if existing.len() == 1 { "s" } else { "" },
                existing.join(", ")
            ),
            "nothing was written; pass --force to overwrite them, or move them away first",
        ));
    }
    for (path, text) in &files {
        write_file(path, text)?;
    }

    let contexts = required_contexts(forge);
    let hold_label = keys::default_of("queue.hold_label").unwrap_or_default();
    let items = checklist(forge, &contexts, hold_label);
    let written: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    report.outcome = Some("initialised".into());
    match format {
        Format::Text | Format::Github => {
            outln!("mergeward init: forge {} ({why})", forge.name());
            for p in &written {
                let verb = if existing.contains(p) {
                    "overwrote"
                } else {
                    "wrote"
                };
                outln!("  {verb} {p}");
            }
            outln!();
            outln!("Before the first tick:");
            for (i, (title, text)) in items.iter().enumerate() {
                outln!("  {}. {title}: {text}", i + 1);
            }
        }
        _ => {
            let doc: Value = json!({
                "forge": forge.name(),
                "forge_source": why,
                "dir": dir.display().to_string(),
                "written": written,
                "overwritten": existing,
                "required_contexts": contexts,
                "checklist": items.iter().map(|(t, d)| json!({"item": t, "detail": d})).collect::<Vec<_>>(),
            });
            print_json(&doc)?;
        }
    }
    Ok(ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_are_read_from_the_shipped_workflows() {
        assert_eq!(
            required_contexts(InitForge::Gitea),
            vec!["gates / lint (pull_request)".to_string()]
        );
        assert_eq!(
            required_contexts(InitForge::GitHub),
            vec!["lint".to_string()]
        );
    }

    #[test]
    fn forgejo_workflows_name_their_forge() {
        for t in GITEA {
            let text = InitForge::Forgejo.render(t);
            assert!(!text.contains("MERGEWARD_FORGE: gitea"), "{}", t.name);
        }
    }
}
