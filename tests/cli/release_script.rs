//! `scripts/build-release.sh`, the release workflows' build: its guards, checked without
//! compiling (the build itself runs in `.ci/run` with MERGEWARD_CI_RELEASE_BUILD=1).

use std::path::Path;
use std::process::Command;

fn script(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new("bash");
    cmd.arg(root.join("scripts/build-release.sh")).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("bash runs")
}

#[test]
fn without_a_target_it_prints_usage() {
    let out = script(&[], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("usage: scripts/build-release.sh TARGET")
    );
}

#[test]
fn a_tag_that_is_not_the_version_stops_before_building() {
    let out = script(
        &["x86_64-unknown-linux-gnu"],
        &[("MERGEWARD_RELEASE_TAG", "v999.0.0")],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        err.contains("v999.0.0") && err.contains(&format!("expected v{version}")),
        "{err}"
    );
}

#[test]
fn a_cross_target_without_its_compiler_names_the_package() {
    let out = script(&["riscv64gc-unknown-linux-gnu"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("riscv64gc-linux-gnu-gcc"), "{err}");
}

/// The release workflows and the script agree on the file names the shipped workflows
/// download: `mergeward-v<version>-<target>`.
#[test]
fn shipped_workflows_download_what_the_script_builds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = std::fs::read_to_string(root.join("scripts/build-release.sh")).unwrap();
    assert!(script.contains(r#"name="mergeward-v${version}-${target}""#));
    for dir in ["workflows/gitea", "workflows/github"] {
        for f in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = f.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            if text.contains("Install mergeward") {
                assert!(
                    text.contains(r#"name="mergeward-v${MERGEWARD_VERSION}-${target}""#)
                        && text.contains("sha256sum -c"),
                    "{}",
                    path.display()
                );
                assert!(!text.contains("cargo install"), "{}", path.display());
            }
        }
    }
}
