//! The rules, one per file. Order here is the order they run and are listed in SARIF.

pub mod coe_tracking;
pub mod context_emitted;
pub mod context_in_protection;
pub mod curl_status_capture;
pub mod gitea_compat;
pub mod required_no_paths;
pub mod runs_on_pinned;

use super::{Rule, RuleInfo, YAML_SYNTAX};

/// Every gate regex, by name (a test compiles them all).
#[cfg(test)]
pub(crate) fn patterns() -> Vec<(&'static str, &'static super::pattern::Pattern)> {
    vec![
        ("coe-tracking reference", &coe_tracking::REFERENCE),
        ("coe-tracking keyword", &coe_tracking::KEYWORD_BEFORE),
        (
            "context-in-protection pending",
            &context_in_protection::PENDING,
        ),
        ("context-in-protection yes", &context_in_protection::YES),
        (
            "context-in-protection exempt",
            &context_in_protection::EXEMPT,
        ),
        ("curl-status-capture", &curl_status_capture::PATTERN),
        (
            "gitea-compat cross-repo uses",
            &gitea_compat::CROSS_REPO_USES,
        ),
        ("gitea-compat github api", &gitea_compat::GITHUB_API),
        ("gitea-compat pipefail", &gitea_compat::PIPEFAIL),
        (
            "gitea-compat docker info | head",
            &gitea_compat::DOCKER_INFO_HEAD,
        ),
        ("runs-on-pinned docker", &runs_on_pinned::DOCKER_CMD),
    ]
}

static ALL: [&dyn Rule; 7] = [
    &curl_status_capture::CurlStatusCapture,
    &runs_on_pinned::RunsOnPinned,
    &gitea_compat::GiteaCompat,
    &required_no_paths::RequiredNoPaths,
    &context_in_protection::ContextInProtection,
    &context_emitted::ContextEmitted,
    &coe_tracking::CoeTracking,
];

/// Every rule.
pub fn all() -> &'static [&'static dyn Rule] {
    &ALL
}

/// Every rule's description, `yaml-syntax` first.
pub fn infos() -> Vec<&'static RuleInfo> {
    std::iter::once(&YAML_SYNTAX)
        .chain(ALL.iter().map(|r| r.info()))
        .chain(std::iter::once(&super::flips::COE_FLIP))
        .collect()
}

/// Every configurable rule id.
pub fn ids() -> Vec<&'static str> {
    ALL.iter().map(|r| r.info().id).collect()
}
