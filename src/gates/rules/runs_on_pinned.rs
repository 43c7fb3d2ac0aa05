//! `runs-on-pinned` (seed-systems §9): a job that runs docker must run on a runner label
//! that guarantees a docker host (default `docker-host` or `publish`).
//!
//! Decided on the workflow model, not on indentation: a job is docker-bound when a step's
//! `run:` (comment-only lines excluded) invokes `docker run|build|buildx|compose|pull|push|
//! exec|tag|login|cp|inspect|ps`, when a step uses one of the `docker/…` actions, or when
//! the job declares a `container:` or `services:` (both need a docker host — an addition
//! to the original, which looked at step text only). Jobs without `runs-on` (reusable
//! workflow calls) are skipped; a label that is an expression (`${{ … }}`) is accepted.

use crate::gates::pattern::Pattern;

use crate::gates::{Context, Finding, Out, Rule, RuleInfo, Severity};
use crate::workflow::{Job, Pos};

pub static INFO: RuleInfo = RuleInfo {
    id: "runs-on-pinned",
    severity: Severity::Error,
    summary: "a job that runs docker is not pinned to a docker-host runner label",
    help: "A label such as ubuntu-latest can be served by runners without docker (a Windows act_runner); docker-bound jobs then fail at random. Pin them to a label only docker hosts carry (gates.runs_on_labels).",
};

pub struct RunsOnPinned;

pub(crate) static DOCKER_CMD: Pattern = Pattern::new(
    r"(?:^|[^\w])docker\s+(?:run|build|buildx|compose|pull|push|exec|tag|login|cp|inspect|ps)\b",
);

const DOCKER_ACTIONS: [&str; 4] = [
    "build-push-action",
    "login-action",
    "setup-buildx-action",
    "setup-qemu-action",
];

/// Why a job needs docker: a description and where.
pub fn docker_use(job: &Job) -> Option<(String, Pos)> {
    for step in &job.steps {
        // Every match contains `docker`: a script without it is skipped unread.
        if let Some(run) = &step.run
            && run.value.contains("docker")
            && let Some(re) = DOCKER_CMD.as_ref()
        {
            for line in run.value.lines() {
                if !line.contains("docker") || line.trim_start().starts_with('#') {
                    continue;
                }
                if let Some(m) = re.find(line) {
                    let what = m
                        .as_str()
                        .trim_start_matches(|c: char| !c.is_alphanumeric());
                    return Some((format!("`{what}`"), run.pos));
                }
            }
        }
        if let Some(uses) = &step.uses
            && let Some(rest) = uses.value.trim().strip_prefix("docker/")
            && DOCKER_ACTIONS.iter().any(|a| rest.starts_with(a))
        {
            return Some((format!("`uses: {}`", uses.value.trim()), uses.pos));
        }
    }
    if let Some(c) = &job.container {
        return Some(("`container:`".into(), c.pos));
    }
    if let Some(s) = &job.services {
        return Some(("`services:`".into(), s.pos));
    }
    None
}

impl Rule for RunsOnPinned {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, cx: &Context<'_>, out: &mut Out) {
        let wanted = &cx.settings.runs_on_labels;
        for wf in cx.files {
            for job in &wf.jobs {
                let Some(runs_on) = &job.runs_on else {
                    continue;
                };
                let Some((what, at)) = docker_use(job) else {
                    continue;
                };
                if runs_on.has_expression()
                    || runs_on
                        .labels
                        .iter()
                        .any(|l| wanted.iter().any(|w| w == l.value.trim()))
                {
                    continue;
                }
                let labels: Vec<&str> = runs_on.labels.iter().map(|l| l.value.as_str()).collect();
                out.findings.push(Finding::new(
                    &INFO,
                    wf,
                    runs_on.pos,
                    format!(
                        "job `{}` uses docker ({what} at line {}) but runs-on is [{}]; it must include one of [{}]",
                        job.key.value,
                        at.line,
                        labels.join(", "),
                        wanted.join(", ")
                    ),
                    format!(
                        "add a docker-host label to runs-on, e.g. `runs-on: [{}]` (label lists are AND: every label must match one runner)",
                        wanted.first().map_or("docker-host", String::as_str)
                    ),
                ));
            }
        }
    }
}
