//! Unit tests of the domain types: status reduction, validation, version capabilities.
use super::*;

fn row(id: u64, ctx: &str, state: &str, kind: ReportKind) -> StatusReport {
    StatusReport {
        id,
        context: ContextName(ctx.into()),
        state: ContextState::from_status(state),
        kind,
        target_url: None,
        description: None,
        created_at: None,
        updated_at: None,
        app: None,
        creator: None,
    }
}

#[test]
fn latest_is_highest_id_not_list_order() {
    let sha = Sha::parse("abcdef1").unwrap();
    let rows = vec![
        row(5, "ci", "success", ReportKind::CommitStatus),
        row(9, "ci", "failure", ReportKind::CommitStatus),
        row(7, "ci", "success", ReportKind::CommitStatus),
    ];
    let s = CommitStatuses::reduce(sha, rows);
    assert_eq!(s.state_of("ci"), ContextState::Failure);
    assert_eq!(s.state_of("other"), ContextState::Missing);
    assert_eq!(s.rows_read, 3);
}

#[test]
fn status_and_check_run_of_one_name_fold_to_the_worse() {
    let sha = Sha::parse("abcdef1").unwrap();
    let rows = vec![
        row(1, "build", "success", ReportKind::CommitStatus),
        row(2, "build", "pending", ReportKind::CheckRun),
    ];
    assert_eq!(
        CommitStatuses::reduce(sha, rows).state_of("build"),
        ContextState::Pending
    );
}

#[test]
fn sha_validation() {
    assert!(Sha::parse("ABCDEF0123").is_some());
    assert!(Sha::parse("abc").is_none());
    assert!(Sha::parse("zzzzzzzz").is_none());
    assert!(Sha::parse(&"a".repeat(65)).is_none());
}

#[test]
fn repo_slug_validation() {
    assert!(RepoSlug::parse("acme/widgets").is_ok());
    assert!(RepoSlug::parse("acme").is_err());
    assert!(RepoSlug::parse("acme/wid/gets").is_err());
    assert!(RepoSlug::parse("../x").is_err());
}

#[test]
fn forgejo_version_uses_gitea_compat() {
    let c = Capabilities::from_gitea_version("11.0.1+gitea-1.22.0");
    assert_eq!(c.kind, ForgeKind::Forgejo);
    assert_eq!(c.gitea_api, Some((1, 22, 0)));
    assert!(!c.job_logs_api);
    let c = Capabilities::from_gitea_version("1.26.3");
    assert_eq!(c.kind, ForgeKind::Gitea);
    assert!(c.job_logs_api && c.skipped_status_state);
}
