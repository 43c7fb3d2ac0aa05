#!/usr/bin/env python3
"""Benchmark (not a test; .ci/run does not call it): `mergeward gate lint --base` on real
commit pairs. Results: docs/benchmarks.md ("gate lint --base on 300 commit pairs").

    scripts/bench-gate-base.py --repo /path/to/mirror.git --old /path/to/old/mergeward
    PAIRS=300 scripts/bench-gate-base.py --repo … --old … [--new target/release/mergeward]

What it does, all under target/bench-base/ (nothing is committed):
  1. clones the repository (`git clone --shared`, objects borrowed from the mirror) with a
     sparse checkout of the workflow directory only;
  2. takes the newest PAIRS first-parent commits that change the workflow directory
     (default `.github/workflows`), each paired with its first parent;
  3. for each pair, checks the commit out (not timed) and runs, in alternating order,
       OLD gate lint DIR --offline --base PARENT --format json
       NEW gate lint DIR --offline --base PARENT --format json
     timing each process from spawn to exit;
  4. compares the `context-in-protection` findings (the one rule that reads the base tree)
     of both binaries on every pair and lists any difference, and checks that both exit 0
     or 1;
  5. prints per-binary totals, medians and the speed-up, and writes
     target/bench-base/results.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def git(repo, *args, check=True):
    return subprocess.run(
        ["git", "-C", repo, *args], check=check, capture_output=True, text=True
    ).stdout


def run(binary, cwd, wf_dir, base):
    args = [binary, "gate", "lint", wf_dir, "--offline", "--base", base, "--format", "json"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    t = time.perf_counter()
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t
    if p.returncode not in (0, 1):
        sys.exit(f"{binary} exited {p.returncode} on base {base}: {p.stderr.strip()}")
    doc = json.loads(p.stdout)
    cip = sorted(
        (f["file"], f["line"], f["message"])
        for f in doc["findings"]
        if f["rule"] == "context-in-protection"
    )
    return dt, cip, doc["summary"]["files"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True, help="a git repository (a bare mirror is fine)")
    ap.add_argument("--old", required=True, help="baseline binary (one git show per file)")
    ap.add_argument("--new", default="target/release/mergeward")
    ap.add_argument("--dir", default=".github/workflows")
    ap.add_argument("--pairs", type=int, default=int(os.environ.get("PAIRS", "300")))
    ap.add_argument("--work", default="target/bench-base")
    a = ap.parse_args()
    new, old = os.path.abspath(a.new), os.path.abspath(a.old)
    work = os.path.abspath(a.work)
    clone = os.path.join(work, "repo")
    os.makedirs(work, exist_ok=True)
    if not os.path.isdir(os.path.join(clone, ".git")):
        subprocess.run(
            ["git", "clone", "-q", "--shared", "--no-checkout", a.repo, clone], check=True
        )
        git(clone, "sparse-checkout", "set", "--no-cone", a.dir)
    head = git(a.repo, "rev-parse", "HEAD").strip()
    commits = git(
        a.repo, "log", "--first-parent", "--format=%H %P", f"-n{a.pairs}", head, "--", a.dir
    ).split("\n")
    pairs = [(c.split()[1], c.split()[0]) for c in commits if len(c.split()) >= 2]
    print(f"bench-gate-base: {a.repo} at {head}, {len(pairs)} pairs, dir {a.dir}", file=sys.stderr)
    rows = []
    mismatches = []
    total_start = time.perf_counter()
    for i, (parent, commit) in enumerate(pairs):
        git(clone, "checkout", "-q", "--detach", "-f", commit)
        order = [("old", old), ("new", new)] if i % 2 == 0 else [("new", new), ("old", old)]
        res = {}
        for name, b in order:
            res[name] = run(b, clone, a.dir, parent)
        changed = git(clone, "diff", "--name-only", parent, commit, "--", a.dir).split()
        deleted = git(
            clone, "diff", "--name-only", "--diff-filter=D", parent, commit, "--", a.dir
        ).split()
        if res["old"][1] != res["new"][1]:
            # Expected only where a workflow was deleted: the new reader counts the deleted
            # file's contexts as existing before the change (the old one never read it).
            print(
                f"pair {parent[:10]}..{commit[:10]}: context-in-protection differs"
                f" (deleted: {deleted}):\n  old {res['old'][1]}\n  new {res['new'][1]}",
                file=sys.stderr,
            )
            mismatches.append({"base": parent, "head": commit, "deleted": deleted})
        rows.append(
            {
                "base": parent,
                "head": commit,
                "files": res["new"][2],
                "changed": len(changed),
                "old_s": res["old"][0],
                "new_s": res["new"][0],
                "cip_findings": len(res["new"][1]),
            }
        )
    total = time.perf_counter() - total_start
    old_t = [r["old_s"] for r in rows]
    new_t = [r["new_s"] for r in rows]
    summary = {
        "repo": a.repo,
        "head": head,
        "pairs": len(rows),
        "first_pair": [rows[-1]["base"], rows[-1]["head"]] if rows else None,
        "last_pair": [rows[0]["base"], rows[0]["head"]] if rows else None,
        "files_median": statistics.median(r["files"] for r in rows) if rows else 0,
        "changed_median": statistics.median(r["changed"] for r in rows) if rows else 0,
        "old_total_s": sum(old_t),
        "new_total_s": sum(new_t),
        "old_median_ms": 1000 * statistics.median(old_t) if rows else 0,
        "new_median_ms": 1000 * statistics.median(new_t) if rows else 0,
        "speedup_total": sum(old_t) / sum(new_t) if rows else 0,
        "cip_findings_total": sum(r["cip_findings"] for r in rows),
        "script_wall_s": total,
        "mismatches": mismatches,
    }
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"summary": summary, "pairs": rows}, f, indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
