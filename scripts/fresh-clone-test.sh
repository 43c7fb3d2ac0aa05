#!/usr/bin/env bash
# The repository alone passes its tests: clone the committed HEAD into an empty temporary
# folder (nothing beside it: no ../shared), then run README's test command there with CI
# unset, as someone who just cloned mergeward would.
#
#   scripts/fresh-clone-test.sh           # reuse this checkout's compiled dependencies
#   scripts/fresh-clone-test.sh --cold    # build everything from scratch (~8 min on 2 cores)
#
# Without --cold, the clone's target/ is seeded with a copy of this checkout's
# target/debug/{deps,build,.fingerprint}: crates.io dependencies (pinned by Cargo.lock,
# checked by --locked) are then fresh, while mergeward itself, its tests and benches are
# compiled from the clone's sources (its path differs, so none of this checkout's mergeward
# artifacts match). A copy, not hard links, so nothing built in the clone can touch this
# checkout's target/.
#
# Only committed work is tested (a warning is printed when the working tree is dirty).
# Exit status: cargo test's. The temporary folder is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

cold=0
case "${1:-}" in
  --cold) cold=1 ;;
  "") ;;
  *) echo "usage: $0 [--cold]" >&2; exit 2 ;;
esac

head=$(git rev-parse HEAD)
if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
  echo "fresh-clone-test: WARNING: uncommitted changes are not tested (testing HEAD $head)" >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mergeward-fresh.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
clone="$tmp/mergeward"

# The common git directory works from a linked worktree too; HEAD is checked out detached.
git clone --quiet --no-checkout --no-hardlinks "$(git rev-parse --path-format=absolute --git-common-dir)" "$clone"
git -C "$clone" checkout --quiet --detach "$head"
if [[ -n "$(ls -A "$tmp" | grep -v '^mergeward$' || true)" ]]; then
  echo "fresh-clone-test: $tmp holds more than the clone" >&2
  exit 1
fi

if [[ $cold -eq 0 && -d "$root/target/debug/deps" ]]; then
  t0=$(date +%s)
  mkdir -p "$clone/target/debug"
  for d in deps build .fingerprint; do
    [[ -d "$root/target/debug/$d" ]] && cp -a --reflink=auto "$root/target/debug/$d" "$clone/target/debug/"
  done
  echo "fresh-clone-test: seeded the clone's target/ with this checkout's compiled dependencies ($(( $(date +%s) - t0 ))s)"
fi

echo "fresh-clone-test: $clone at $head; nothing beside it: $(ls -A "$tmp" | tr '\n' ' ')"
cd "$clone"
start=$(date +%s)
set +e
env -u CI -u MERGEWARD_SPECS_DIR -u MERGEWARD_TEST_PG -u CARGO_TARGET_DIR \
  cargo test --locked 2>&1 | tee "$tmp/test.log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo '^test result: [A-Za-z]+\. [0-9]+ passed' "$tmp/test.log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$tmp/test.log" | awk '{s+=$1} END {print s+0}')
ignored=$(grep -Eo '[0-9]+ ignored' "$tmp/test.log" | awk '{s+=$1} END {print s+0}')
binaries=$(grep -c '^test result:' "$tmp/test.log" || true)
echo "fresh-clone-test: cargo test --locked in a bare clone: exit $status, $binaries test binaries, $passed passed, $failed failed, $ignored ignored, $(( $(date +%s) - start ))s"
exit "$status"
