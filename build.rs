//! Build script: the commit `mergeward --version` reports.
//!
//! `MERGEWARD_BUILD_COMMIT` wins when set (release builds, container builds without a
//! `.git`); otherwise `git rev-parse --short=12 HEAD` when the sources are a git checkout.
//! Anything else — a crates tarball, no git installed, a broken repository — gives
//! "unknown": the build never fails because of it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=MERGEWARD_BUILD_COMMIT");
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let explicit = std::env::var("MERGEWARD_BUILD_COMMIT")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let in_checkout = manifest.as_deref().is_some_and(|m| m.join(".git").exists());
    let commit = explicit.or_else(|| {
        if !in_checkout {
            return None;
        }
        // Rebuild when HEAD moves: HEAD itself and the branch ref it points to.
        if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
            rerun_on(manifest.as_deref(), &head);
        }
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"])
            && let Some(path) = git(&["rev-parse", "--git-path", &reference])
        {
            rerun_on(manifest.as_deref(), &path);
        }
        git(&["rev-parse", "--short=12", "HEAD"])
    });
    let commit = commit.unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=MERGEWARD_COMMIT={commit}");
}

fn rerun_on(manifest: Option<&Path>, path: &str) {
    let p = Path::new(path);
    let full = match manifest {
        Some(m) if p.is_relative() => m.join(p),
        _ => p.to_path_buf(),
    };
    if full.exists() {
        println!("cargo:rerun-if-changed={}", full.display());
    }
}
