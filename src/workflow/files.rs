//! Finding workflow files ([`discover`]) and loading many at once ([`load_all`]).

use std::path::{Path, PathBuf};

use super::{Limits, WORKFLOW_DIRS, Workflow};

/// [`Workflow::load`] for many files at once on rayon's thread pool (one thread per core):
/// the results come back in the order of `paths` (the same values a one-after-another loop
/// over [`Workflow::load`] gives), so a caller that stops at the first error stops at the
/// same path as that loop would.
pub fn load_all(paths: &[PathBuf], limits: Limits) -> Vec<std::io::Result<Workflow>> {
    use rayon::prelude::*;
    paths
        .par_iter()
        .map(|p| Workflow::load(p, limits))
        .collect()
}

/// Finds workflow files: a file is taken as is; a directory contributes its
/// `.gitea/workflows`, `.forgejo/workflows` and `.github/workflows` when it has any,
/// otherwise every `*.yml`/`*.yaml` below it. Sorted, without repeats.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_file() {
            out.push(p.clone());
            continue;
        }
        let forge_dirs: Vec<PathBuf> = WORKFLOW_DIRS
            .iter()
            .map(|d| p.join(d))
            .filter(|d| d.is_dir())
            .collect();
        let roots = if forge_dirs.is_empty() {
            vec![p.clone()]
        } else {
            forge_dirs
        };
        for r in roots {
            walk(&r, &mut out, 0).map_err(|e| format!("{}: {e}", r.display()))?;
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> std::io::Result<()> {
    if depth > 16 {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let path = e.path();
        let ft = e.file_type()?;
        if ft.is_dir() {
            walk(&path, out, depth + 1)?;
        } else if ft.is_file() && path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}
