//! The layer check: every `crate::<module>` path in `src/` must point down the direction
//! table in `docs/architecture.md` ("## Layers"). A new upward or sideways import fails here
//! with the file and line, and the simulator crate must not depend on mergeward at all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The table: module → the modules it may import.
fn allowed() -> BTreeMap<String, BTreeSet<String>> {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md"))
        .unwrap_or_else(|e| panic!("docs/architecture.md: {e}"));
    let section = doc
        .split("\n## Layers")
        .nth(1)
        .unwrap_or_else(|| panic!("docs/architecture.md has no `## Layers` section"));
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut table = BTreeMap::new();
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `module` | `a`, `b` |
        if cells.len() < 4 || !cells[1].starts_with('`') {
            continue;
        }
        let module = cells[1].trim_matches('`').to_string();
        let may: BTreeSet<String> = cells[2]
            .split(',')
            .map(|m| m.trim().trim_matches('`').to_string())
            .filter(|m| !m.is_empty() && m != "—" && m != "-")
            .collect();
        table.insert(module, may);
    }
    assert!(
        table.len() >= 8,
        "the Layers table in docs/architecture.md lost rows: {table:?}"
    );
    table
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules a line of code names through `crate::`.
fn crate_refs(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        // `mergeward_crate::` or `$crate::` are not ours.
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // crate::{a, b::c, d::{e}}: the top-level names of the group.
            let mut depth = 0;
            let mut name = String::new();
            let mut at_start = true;
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        if !name.is_empty() {
                            out.push(std::mem::take(&mut name));
                        }
                        at_start = true;
                    }
                    c if depth == 0 && at_start && (c.is_alphanumeric() || c == '_') => {
                        name.push(c)
                    }
                    _ if !name.is_empty() => {
                        out.push(std::mem::take(&mut name));
                        at_start = false;
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                out.push(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

/// The module a file under `src/` belongs to.
fn module_of(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

#[test]
fn imports_point_down_the_direction_table() {
    let table = allowed();
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "src/ not found at {}", src.display());
    let mut violations = Vec::new();
    let mut unknown = BTreeSet::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap_or(f);
        let Some(module) = module_of(rel) else {
            continue;
        };
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(may) = table.get(&module) else {
            unknown.insert(module);
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for used in crate_refs(code) {
                if used != module && !may.contains(&used) && table.contains_key(&used) {
                    violations.push(format!(
                        "src/{}:{}: `{module}` imports `{used}`, which the Layers table does not allow",
                        rel.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules missing from the Layers table in docs/architecture.md: {unknown:?}"
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_table_has_no_cycles() {
    let table = allowed();
    // Depth-first search for a back edge.
    fn visit<'a>(
        m: &'a str,
        table: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(m) {
            return;
        }
        assert!(
            !path.contains(&m),
            "cycle in the Layers table: {path:?} -> {m}"
        );
        path.push(m);
        if let Some(deps) = table.get(m) {
            for d in deps {
                visit(d, table, path, done);
            }
        }
        path.pop();
        done.insert(m);
    }
    let mut done = BTreeSet::new();
    for m in table.keys() {
        visit(m, &table, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_simulator_crate_depends_on_nothing_in_mergeward() {
    let sim = root().join("crates/mergeward-sim");
    if !sim.exists() {
        // The simulator still lives in src/sim: the table row for `sim` checks it.
        assert!(root().join("src/sim").exists(), "no simulator found");
        return;
    }
    let manifest = std::fs::read_to_string(sim.join("Cargo.toml")).unwrap_or_default();
    assert!(
        !manifest
            .lines()
            .any(|l| l.trim_start().starts_with("mergeward ")
                || l.trim_start().starts_with("mergeward=")),
        "crates/mergeward-sim/Cargo.toml depends on mergeward"
    );
    let mut files = Vec::new();
    rust_files(&sim.join("src"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        assert!(
            !text.contains("mergeward::"),
            "{} names mergeward::",
            f.display()
        );
    }
}

#[test]
fn the_scanner_reads_grouped_and_inline_paths() {
    assert_eq!(crate_refs("use crate::forge::{A, B};"), ["forge"]);
    assert_eq!(
        crate_refs("use crate::{forge::X, ledger, report::{a, b}};"),
        ["forge", "ledger", "report"]
    );
    assert_eq!(crate_refs("let x = crate::queue::tick::f();"), ["queue"]);
    assert!(crate_refs("$crate::x and mergeward_crate::y").is_empty());
}
