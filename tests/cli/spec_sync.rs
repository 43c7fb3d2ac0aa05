//! SPEC.md must stay true to the code: every configuration key and environment name, and
//! every exit code with its label, appears there.

use mergeward::config::KEYS;
use mergeward::error::ExitCode;
use mergeward::queue::policy::Reason;

fn spec() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/SPEC.md")).expect("SPEC.md")
}

#[test]
fn every_config_key_and_env_name_is_documented() {
    let spec = spec();
    for d in KEYS {
        assert!(
            spec.contains(&format!("| `{}` |", d.key)),
            "SPEC.md lacks key {}",
            d.key
        );
        for env in d.envs {
            assert!(
                spec.contains(&format!("`{env}`")),
                "SPEC.md lacks env {env} of {}",
                d.key
            );
        }
        if let Some(flag) = d.flag {
            assert!(
                spec.contains(&format!("`{flag}`")),
                "SPEC.md lacks flag {flag}"
            );
        }
    }
}

#[test]
fn every_exit_code_is_documented_with_its_label() {
    let spec = spec();
    for code in ExitCode::ALL {
        let row = format!("| {} | `{}` |", code.code(), code.label());
        assert!(spec.contains(&row), "SPEC.md lacks the exit-code row {row}");
    }
}

#[test]
fn every_queue_reason_code_is_documented() {
    let spec = spec();
    for code in Reason::CODES {
        assert!(
            spec.contains(&format!("`{code}`")),
            "SPEC.md lacks the reason code {code}"
        );
    }
    for code in ["merge_refused", "update_conflict", "update_refused"] {
        assert!(
            spec.contains(&format!("`{code}`")),
            "SPEC.md lacks the hold reason {code}"
        );
    }
}
