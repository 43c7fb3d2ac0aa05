//! `gitea-compat` (seed-systems §8, rules 1–6, 10 and 11): workflow shapes Gitea 1.22
//! rejects or mis-runs. Rules 7–9 of the original were one organisation's deployment
//! policy and are left out. Skipped entirely when the forge is known to be GitHub.
//!
//! 1. `on.workflow_dispatch.inputs` on Gitea < 1.23 (the whole workflow is rejected as
//!    "unknown on type"); the version comes from `gates.gitea_version`, else the forge,
//!    else is assumed older.
//! 2. a `workflow_run` trigger (never fires on 1.22).
//! 3. a `/` in the workflow `name:` (breaks the ` / ` context tokenising).
//! 4. two files with the same `name:` (their contexts collide).
//! 5. cross-repository composite actions `owner/repo/path@ref` (resolved on github.com).
//! 6. (warning) GitHub API hosts in the file without a top-level `env.GITHUB_SERVER_URL`.
//! 10. `docker info | head` in a step that sets `pipefail` (SIGPIPE fails the step).
//! 11. duplicate mapping keys (a YAML 1.1 loader silently keeps the last).

use crate::gates::pattern::Pattern;
use std::collections::BTreeMap;

use crate::forge::ForgeKind;
use crate::gates::{Context, Finding, Out, Rule, RuleInfo, Severity};
use crate::workflow::Workflow;

pub static INFO: RuleInfo = RuleInfo {
    id: "gitea-compat",
    severity: Severity::Error,
    summary: "a workflow shape Gitea 1.22 rejects or mis-runs",
    help: "Gitea's Actions runner accepts a subset of GitHub's workflow syntax; these shapes make a workflow invalid, silent, or flaky on Gitea 1.22.",
};

pub struct GiteaCompat;

pub(crate) static CROSS_REPO_USES: Pattern =
    Pattern::new(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[^@\s]+@\S+$");
pub(crate) static GITHUB_API: Pattern =
    Pattern::new(r"(?i)https://api\.github\.com|https://github\.com/api/");
pub(crate) static PIPEFAIL: Pattern =
    Pattern::new(r"(?m)^\s*set\s+(?:-[A-Za-z]*o\s+pipefail|-o\s+pipefail)");
pub(crate) static DOCKER_INFO_HEAD: Pattern = Pattern::new(r"docker\s+info\b[^\n|]*\|\s*head\b");

/// Parses `1.22.6`, `v1.23.0-rc1`, and Forgejo's `11.0.1+gitea-1.22.0` (the Gitea part).
fn gitea_version(v: &str) -> Option<(u64, u64)> {
    let v = v.split_once("+gitea-").map_or(v, |(_, g)| g);
    let v = v.trim().trim_start_matches('v');
    let mut it = v.split(['.', '-', '+']);
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

fn is_match(r: &Pattern, text: &str) -> bool {
    r.is_match(text)
}

impl Rule for GiteaCompat {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        if cx.env.forge == Some(ForgeKind::GitHub) {
            out.notes
                .push("gitea-compat: skipped, the forge is GitHub".into());
            return;
        }
        let version = cx
            .settings
            .gitea_version
            .as_deref()
            .or(cx.env.forge_version.as_deref());
        let old_gitea = version.and_then(gitea_version).is_none_or(|v| v < (1, 23));
        let mut names: BTreeMap<String, Vec<&Workflow>> = BTreeMap::new();
        for wf in cx.files {
            let f = |pos, msg: String, fix: &str| Finding::new(&INFO, wf, pos, msg, fix);
            // Rule 1.
            if old_gitea
                && let Some(t) = wf.on.as_ref().and_then(|o| o.event("workflow_dispatch"))
                && let Some(inputs) = t.body.as_ref().and_then(|b| b.entry("inputs"))
                && !inputs.value.entries().is_empty()
            {
                out.findings.push(f(
                    inputs.key.pos,
                    format!(
                        "rule 1: `on.workflow_dispatch.inputs` makes Gitea {} reject the whole workflow (\"unknown on type\")",
                        version.unwrap_or("< 1.23")
                    ),
                    "drop the inputs (read settings from vars or a file), or set gates.gitea_version once every runner is on Gitea ≥ 1.23",
                ));
            }
            // Rule 2.
            if let Some(t) = wf.on.as_ref().and_then(|o| o.event("workflow_run")) {
                out.findings.push(f(
                    t.pos,
                    "rule 2: the `workflow_run` trigger never fires on Gitea 1.22".into(),
                    "trigger on the events the upstream workflow runs on, or call it as a reusable workflow",
                ));
            }
            // Rules 3 and 4.
            if let Some(name) = &wf.name {
                if name.value.contains('/') {
                    out.findings.push(f(
                        name.pos,
                        format!(
                            "rule 3: the workflow name {:?} contains `/`, which breaks the `workflow / job (event)` status context",
                            name.value
                        ),
                        "rename the workflow without `/` (and update branch protection's contexts)",
                    ));
                }
                if !name.value.trim().is_empty() {
                    names
                        .entry(name.value.trim().to_string())
                        .or_default()
                        .push(wf);
                }
            }
            // Rule 5.
            let mut uses = Vec::new();
            for job in &wf.jobs {
                uses.extend(job.uses.iter());
                uses.extend(job.steps.iter().filter_map(|s| s.uses.as_ref()));
            }
            for u in uses {
                let v = u.value.trim();
                if v.starts_with("docker://") || v.starts_with("./") || v.starts_with("../") {
                    continue;
                }
                // The pattern needs two `/` and an `@`: most references have one `/`.
                if v.bytes().filter(|&b| b == b'/').nth(1).is_some()
                    && v.contains('@')
                    && is_match(&CROSS_REPO_USES, v)
                {
                    out.findings.push(f(
                        u.pos,
                        format!("rule 5: `uses: {v}` is a cross-repository composite action path; Gitea resolves it on github.com and gets a 404"),
                        "vendor the action into this repository (`uses: ./.gitea/actions/…`) or publish it as its own repository (`owner/repo@ref`)",
                    ));
                }
            }
            // Rule 6.
            if let Some(m) = GITHUB_API.as_ref().and_then(|r| r.find(&wf.text)) {
                let has_server_url = wf
                    .root
                    .as_ref()
                    .and_then(|r| r.get("env"))
                    .and_then(|e| e.get("GITHUB_SERVER_URL"))
                    .is_some();
                if !has_server_url {
                    let pos = wf.pos_at(m.start());
                    out.findings.push(
                        f(
                            pos,
                            format!("rule 6: `{}` is a GitHub API host, and the workflow sets no top-level env.GITHUB_SERVER_URL; on Gitea this talks to github.com", m.as_str()),
                            "use ${{ github.server_url }} / ${{ github.api_url }}, or set env.GITHUB_SERVER_URL at the top level",
                        )
                        .severity(Severity::Warning),
                    );
                }
            }
            // Rule 10 (once per file).
            'steps: for job in &wf.jobs {
                for s in &job.steps {
                    // Both patterns contain these literals; most scripts have neither.
                    if let Some(run) = &s.run
                        && run.value.contains("pipefail")
                        && run.value.contains("docker")
                        && is_match(&PIPEFAIL, &run.value)
                        && is_match(&DOCKER_INFO_HEAD, &run.value)
                    {
                        out.findings.push(f(
                            run.pos,
                            "rule 10: `docker info | head` under `set -o pipefail`: head closes the pipe early, docker gets SIGPIPE and the step fails at random".into(),
                            "capture first: `info=$(docker info)` then `printf '%s\\n' \"$info\" | head`",
                        ));
                        break 'steps;
                    }
                }
            }
            // Rule 11.
            for d in &wf.duplicates {
                out.findings.push(f(
                    d.second,
                    format!(
                        "rule 11: duplicate key `{}` (first at line {}, column {}); a YAML 1.1 loader keeps only the last one, GitHub rejects the file",
                        d.key, d.first.line, d.first.col
                    ),
                    "remove or merge the duplicate key",
                ));
            }
        }
        for (name, wfs) in names {
            if wfs.len() < 2 {
                continue;
            }
            let files: Vec<String> = wfs.iter().map(|w| crate::gates::file_label(w)).collect();
            for wf in &wfs {
                if let Some(n) = &wf.name {
                    out.findings.push(Finding::new(
                        &INFO,
                        wf,
                        n.pos,
                        format!(
                            "rule 4: workflow `name: {name}` collides across {} files: [{}]",
                            files.len(),
                            files.join(", ")
                        ),
                        "give every workflow a distinct name (their status contexts would be indistinguishable)",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::gitea_version;

    #[test]
    fn versions() {
        assert_eq!(gitea_version("1.22.6"), Some((1, 22)));
        assert_eq!(gitea_version("v1.23.0-rc1"), Some((1, 23)));
        assert_eq!(gitea_version("11.0.1+gitea-1.22.0"), Some((1, 22)));
        assert_eq!(gitea_version("dev"), None);
    }
}
