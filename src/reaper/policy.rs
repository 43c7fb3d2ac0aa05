//! The per-SHA decision table (seed-systems §3.6), pure: no I/O.
//!
//! Input: every status row of one commit (all pages, history included), whether the commit
//! is the branch head, and the trigger map. Output: one [`Finding`] per context, in context
//! order, each with the rule that decided it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::workflows::TriggerMap;
use crate::forge::{CommitStatuses, ContextState, ReportKind, Sha, StatusReport};

/// Gitea's description of a cancelled Actions run (reported as `failure`).
pub const CANCELLED_DESCRIPTION: &str = "Has been cancelled";

const PUSH_SUFFIX: &str = " (push)";
const PR_SUFFIX: &str = " (pull_request)";
const SEPARATOR: &str = " / ";

/// The descriptions of the three compensations (stable markers downstream tooling may key
/// on). Their defaults live in the configuration's key table (`reaper.description_*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Descriptions {
    pub push_suffix: String,
    pub pr_shadow: String,
    pub cancelled: String,
}

/// Which compensation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compensation {
    /// Rule 8: a workflow without a push trigger, stamped ` (push)` by Gitea.
    PushSuffix,
    /// Rule 2: a PR context whose push twin succeeded on the same SHA.
    PrShadow,
    /// Rule 6: a cancelled push run, on a SHA that is no longer the head or whose context
    /// later succeeded.
    CancelledPush,
}

impl Compensation {
    pub fn description<'a>(&self, d: &'a Descriptions) -> &'a str {
        match self {
            Compensation::PushSuffix => &d.push_suffix,
            Compensation::PrShadow => &d.pr_shadow,
            Compensation::CancelledPush => &d.cancelled,
        }
    }
}

/// Why a cancelled push status may be compensated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelledBecause {
    /// The SHA is no longer the branch head.
    NotHead,
    /// A later run of the same context succeeded on this SHA.
    LaterRunSucceeded,
}

/// The rule that decided one context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Verdict {
    Compensate {
        compensation: Compensation,
        #[serde(skip_serializing_if = "Option::is_none")]
        because: Option<CancelledBecause>,
    },
    /// 1. Not `failure` (pending, error, success, missing: untouched).
    PreservedNonFailure,
    /// 2. A PR context with no successful push twin.
    PreservedPrWithoutPushSuccess,
    /// 3. Neither ` (push)` nor a parseable ` (pull_request)`.
    PreservedNonPushSuffix,
    /// 4. Ends with ` (push)` but has no ` / `.
    PreservedUnparseable,
    /// 5. The workflow is not in the trigger map.
    PreservedUnknown { workflow: String },
    /// 6'. Cancelled on the branch head with no later successful run, in a push workflow.
    PreservedCancelledOnHead,
    /// 7. A real push failure: the defect signal stays red.
    PreservedRealPush,
}

/// One context of one commit, decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub context: String,
    pub verdict: Verdict,
    /// The latest row of the context (the one a compensation supersedes).
    pub row: StatusReport,
}

/// `<wf> / <job> (push)` → `(wf, job)`; `None` when it is not a parseable push context.
pub fn parse_push_context(context: &str) -> Option<(&str, &str)> {
    context.strip_suffix(PUSH_SUFFIX)?.split_once(SEPARATOR)
}

/// `<wf> / <job> (pull_request)` → `(wf, job)`.
pub fn parse_pr_context(context: &str) -> Option<(&str, &str)> {
    context.strip_suffix(PR_SUFFIX)?.split_once(SEPARATOR)
}

/// The Actions run number in a status `target_url` (`…/actions/runs/<n>[/jobs/<m>]`).
pub fn run_number(target_url: Option<&str>) -> Option<u64> {
    let url = target_url?;
    let at = url.find("/actions/runs/")? + "/actions/runs/".len();
    let digits: String = url[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Whether `row` belongs to a later run than `than`: by Actions run number when both URLs
/// carry one, else by status id (posted later).
fn later_run(row: &StatusReport, than: &StatusReport) -> bool {
    match (
        run_number(row.target_url.as_deref()),
        run_number(than.target_url.as_deref()),
    ) {
        (Some(a), Some(b)) => a > b,
        _ => row.id > than.id,
    }
}

/// What the table decided for one commit.
#[derive(Debug, Clone, Default)]
pub struct ShaPlan {
    /// Every latest commit status is `success` (the original skipped such SHAs).
    pub all_green: bool,
    pub findings: Vec<Finding>,
}

/// Runs the decision table over one commit's status rows. Check runs (GitHub) are not
/// candidates: a commit status cannot supersede them.
pub fn decide_sha(
    sha: &Sha,
    rows: &[StatusReport],
    is_head: bool,
    triggers: &TriggerMap,
) -> ShaPlan {
    let statuses: Vec<StatusReport> = rows
        .iter()
        .filter(|r| r.kind == ReportKind::CommitStatus)
        .cloned()
        .collect();
    let mut history: BTreeMap<&str, Vec<&StatusReport>> = BTreeMap::new();
    for r in &statuses {
        history.entry(r.context.0.as_str()).or_default().push(r);
    }
    let latest = CommitStatuses::reduce(sha.clone(), statuses.clone()).latest;
    let all_green = !latest.is_empty() && latest.values().all(|r| r.state == ContextState::Success);
    if all_green {
        return ShaPlan {
            all_green,
            findings: Vec::new(),
        };
    }
    let successful: BTreeSet<&str> = latest
        .iter()
        .filter(|(_, r)| r.state == ContextState::Success)
        .map(|(c, _)| c.0.as_str())
        .collect();
    let mut findings = Vec::new();
    for (ctx, row) in &latest {
        let context = ctx.0.as_str();
        let verdict = decide_one(context, row, is_head, triggers, &successful, &history);
        findings.push(Finding {
            context: context.to_string(),
            verdict,
            row: row.clone(),
        });
    }
    ShaPlan {
        all_green,
        findings,
    }
}

fn decide_one(
    context: &str,
    row: &StatusReport,
    is_head: bool,
    triggers: &TriggerMap,
    successful: &BTreeSet<&str>,
    history: &BTreeMap<&str, Vec<&StatusReport>>,
) -> Verdict {
    let compensate = |compensation, because| Verdict::Compensate {
        compensation,
        because,
    };
    // 1.
    if row.state != ContextState::Failure {
        return Verdict::PreservedNonFailure;
    }
    // 2.
    if let Some((wf, job)) = parse_pr_context(context) {
        let twin = format!("{wf}{SEPARATOR}{job}{PUSH_SUFFIX}");
        return if successful.contains(twin.as_str()) {
            compensate(Compensation::PrShadow, None)
        } else {
            Verdict::PreservedPrWithoutPushSuccess
        };
    }
    // 3. / 4.
    if !context.ends_with(PUSH_SUFFIX) {
        return Verdict::PreservedNonPushSuffix;
    }
    let Some((wf, _job)) = parse_push_context(context) else {
        return Verdict::PreservedUnparseable;
    };
    // 5.
    let Some(push) = triggers.push_trigger(wf) else {
        return Verdict::PreservedUnknown {
            workflow: wf.to_string(),
        };
    };
    // 6. (fixed: never on the head unless a later run of the context succeeded)
    let cancelled = row.description.as_deref().map(str::trim) == Some(CANCELLED_DESCRIPTION);
    if cancelled {
        if !is_head {
            return compensate(Compensation::CancelledPush, Some(CancelledBecause::NotHead));
        }
        let later_success = history.get(context).is_some_and(|rows| {
            rows.iter()
                .any(|r| r.state == ContextState::Success && later_run(r, row))
        });
        if later_success {
            return compensate(
                Compensation::CancelledPush,
                Some(CancelledBecause::LaterRunSucceeded),
            );
        }
        // Falls through: a cancelled run of a class-O workflow is still class-O (rule 8);
        // of a push workflow it stays red on the head.
        if push {
            return Verdict::PreservedCancelledOnHead;
        }
    }
    // 7. / 8.
    if push {
        Verdict::PreservedRealPush
    } else {
        compensate(Compensation::PushSuffix, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::ContextName;
    use crate::reaper::workflows::Workflow;

    fn triggers() -> TriggerMap {
        let mut m = TriggerMap::default();
        for (id, push) in [
            ("CI", true),
            ("main-red-watchdog", false),
            ("Secret scan", true),
        ] {
            m.workflows.insert(
                id.into(),
                Workflow {
                    file: format!("{id}.yml"),
                    push_trigger: push,
                },
            );
        }
        m
    }

    fn sha() -> Sha {
        Sha::parse("abcdef0123456789abcdef0123456789abcdef01").expect("sha")
    }

    fn row(id: u64, context: &str, state: &str) -> StatusReport {
        StatusReport {
            id,
            context: ContextName(context.into()),
            state: ContextState::from_status(state),
            kind: ReportKind::CommitStatus,
            target_url: None,
            description: None,
            created_at: None,
            updated_at: None,
            app: None,
            creator: None,
        }
    }

    fn with(mut r: StatusReport, desc: &str, url: &str) -> StatusReport {
        r.description = Some(desc.into());
        r.target_url = Some(url.into());
        r
    }

    fn verdicts(rows: &[StatusReport], head: bool) -> Vec<(String, Verdict)> {
        decide_sha(&sha(), rows, head, &triggers())
            .findings
            .into_iter()
            .map(|f| (f.context, f.verdict))
            .collect()
    }

    fn one(rows: &[StatusReport], head: bool) -> Verdict {
        let v = verdicts(rows, head);
        assert_eq!(v.len(), 1, "{v:?}");
        v[0].1.clone()
    }

    #[test]
    fn parse_push_context_canonical() {
        assert_eq!(parse_push_context("CI / test (push)"), Some(("CI", "test")));
    }

    #[test]
    fn parse_push_context_workflow_name_with_spaces() {
        assert_eq!(
            parse_push_context("Main red watchdog / check main (push)"),
            Some(("Main red watchdog", "check main"))
        );
        // Split on the first separator.
        assert_eq!(parse_push_context("A / b / c (push)"), Some(("A", "b / c")));
    }

    #[test]
    fn parse_push_context_non_push_suffix_returns_none() {
        assert_eq!(parse_push_context("CI / test (pull_request)"), None);
    }

    #[test]
    fn parse_push_context_no_separator_returns_none() {
        assert_eq!(parse_push_context("CI-test (push)"), None);
    }

    #[test]
    fn parse_push_context_no_suffix_returns_none() {
        assert_eq!(parse_push_context("CI / test"), None);
    }

    #[test]
    fn reap_compensates_class_o() {
        assert_eq!(
            one(
                &[row(1, "main-red-watchdog / check (push)", "failure")],
                true
            ),
            Verdict::Compensate {
                compensation: Compensation::PushSuffix,
                because: None
            }
        );
    }

    #[test]
    fn reap_preserves_real_push() {
        assert_eq!(
            one(&[row(1, "CI / test (push)", "failure")], false),
            Verdict::PreservedRealPush
        );
    }

    #[test]
    fn reap_compensates_cancelled_real_push_status_off_head() {
        let r = with(
            row(1, "CI / test (push)", "failure"),
            " Has been cancelled ",
            "u",
        );
        assert_eq!(
            one(std::slice::from_ref(&r), false),
            Verdict::Compensate {
                compensation: Compensation::CancelledPush,
                because: Some(CancelledBecause::NotHead)
            }
        );
        // Fixed: on the head, with no later success, it stays red.
        assert_eq!(one(&[r], true), Verdict::PreservedCancelledOnHead);
    }

    #[test]
    fn cancelled_on_head_with_a_later_successful_run_is_compensated() {
        // Run 8 succeeded; run 7's cancellation was recorded after it (higher id).
        let ok = with(
            row(5, "CI / test (push)", "success"),
            "ok",
            "https://g/a/b/actions/runs/8/jobs/0",
        );
        let cancelled = with(
            row(9, "CI / test (push)", "failure"),
            CANCELLED_DESCRIPTION,
            "https://g/a/b/actions/runs/7/jobs/0",
        );
        assert_eq!(
            one(&[ok, cancelled.clone()], true),
            Verdict::Compensate {
                compensation: Compensation::CancelledPush,
                because: Some(CancelledBecause::LaterRunSucceeded)
            }
        );
        // An *earlier* run's success does not count: the latest run was cancelled.
        let earlier_ok = with(
            row(5, "CI / test (push)", "success"),
            "ok",
            "https://g/a/b/actions/runs/6/jobs/0",
        );
        assert_eq!(
            one(&[earlier_ok, cancelled], true),
            Verdict::PreservedCancelledOnHead
        );
    }

    #[test]
    fn cancelled_class_o_on_head_is_still_class_o() {
        let r = with(
            row(1, "main-red-watchdog / check (push)", "failure"),
            CANCELLED_DESCRIPTION,
            "",
        );
        assert_eq!(
            one(&[r], true),
            Verdict::Compensate {
                compensation: Compensation::PushSuffix,
                because: None
            }
        );
    }

    #[test]
    fn reap_preserves_unknown_workflow() {
        assert_eq!(
            one(&[row(1, "Gone / job (push)", "failure")], false),
            Verdict::PreservedUnknown {
                workflow: "Gone".into()
            }
        );
    }

    #[test]
    fn reap_required_check_pull_request_suffix_never_touched() {
        assert_eq!(
            one(
                &[row(1, "Secret scan / scan (pull_request)", "failure")],
                false
            ),
            Verdict::PreservedPrWithoutPushSuccess
        );
    }

    #[test]
    fn reap_compensates_failed_pr_context_when_push_equivalent_passed() {
        let v = verdicts(
            &[
                row(1, "CI / test (pull_request)", "failure"),
                row(2, "CI / test (push)", "success"),
                row(3, "CI / lint (pull_request)", "failure"),
                row(4, "CI / lint (push)", "success"),
            ],
            true,
        );
        let comp: Vec<&str> = v
            .iter()
            .filter(|(_, v)| matches!(v, Verdict::Compensate { .. }))
            .map(|(c, _)| c.as_str())
            .collect();
        assert_eq!(
            comp,
            ["CI / lint (pull_request)", "CI / test (pull_request)"]
        );
    }

    #[test]
    fn reap_ignores_non_failure_states() {
        for state in ["pending", "error", "success", "warning", ""] {
            let rows = [
                row(1, "main-red-watchdog / check (push)", state),
                row(2, "x", "failure"),
            ];
            let v = verdicts(&rows, false);
            assert_eq!(v[0].1, Verdict::PreservedNonFailure, "{state}");
        }
    }

    #[test]
    fn reap_unparseable_push_context_preserved() {
        assert_eq!(
            one(&[row(1, "lonely (push)", "failure")], false),
            Verdict::PreservedUnparseable
        );
        assert_eq!(
            one(&[row(1, "ci/legacy", "failure")], false),
            Verdict::PreservedNonPushSuffix
        );
    }

    #[test]
    fn latest_row_per_context_decides_by_highest_id() {
        // The failing row is older: the context is green, nothing to do.
        let v = verdicts(
            &[
                row(9, "main-red-watchdog / check (push)", "success"),
                row(3, "main-red-watchdog / check (push)", "failure"),
                row(4, "other", "pending"),
            ],
            false,
        );
        assert_eq!(v[0].1, Verdict::PreservedNonFailure);
    }

    #[test]
    fn all_green_commits_are_skipped() {
        let plan = decide_sha(
            &sha(),
            &[row(1, "a", "success"), row(2, "b", "success")],
            true,
            &triggers(),
        );
        assert!(plan.all_green);
        assert!(plan.findings.is_empty());
    }

    #[test]
    fn run_numbers() {
        assert_eq!(
            run_number(Some("https://g/o/r/actions/runs/42/jobs/1")),
            Some(42)
        );
        assert_eq!(
            run_number(Some("https://github.com/o/r/actions/runs/99/job/5")),
            Some(99)
        );
        assert_eq!(run_number(Some("https://ci.example/build/3")), None);
        assert_eq!(run_number(None), None);
    }
}
