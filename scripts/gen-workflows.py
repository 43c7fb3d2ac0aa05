#!/usr/bin/env python3
"""Generates realistic, varied GitHub/Gitea Actions workflow files for benchmarks.

    python3 scripts/gen-workflows.py [--count 1000] [--seed 20261121] [--out DIR]

Writes DIR/.github/workflows/wf-0000.yml … (default DIR: target/bench-workflows; the
directory's workflows/ folder is emptied first) and prints one summary line:
`files=N bytes=B lines=L jobs=J steps=S max_lines=M`. Deterministic for a given seed and
count (Python's `random.Random` with a fixed seed; no other input). Standard library only.

What varies: triggers (push/pull_request with branches, tags, `paths`/`paths-ignore`
filters and `types`, `on: [push, pull_request]`, a bare `on: push`, workflow_dispatch with
and without inputs, schedule, merge_group, release, workflow_call), top-level
env/permissions/concurrency/defaults, 1–12 jobs (about 3.5 on average; about 4 % of the
files are long: 25–45 jobs, or scripts of 40–120 lines), `needs`, `if`, matrices (with include/exclude),
`runs-on` labels (strings, lists, expressions, group/labels mappings), job and step env
blocks, container/services, `uses:` actions with `with:`, `run:` scripts (curl with and
without the `|| echo 000` status capture, docker build/run/push/compose, `docker info |
head` under pipefail, cargo/npm/go/make, heredocs, line continuations), job-level
`continue-on-error` (true, false, `${{ matrix.… }}`) with `# #123` / `owner/repo#45` tracker
comments (some missing), and `# bp-required:` / `# bp-exempt:` declarations above job keys.
The files are meant to be valid workflows for GitHub's syntax (so every linter does its
full work). DIR/.github/actionlint.yaml declares the custom runner labels used
(`docker-host`, `publish`), as a repository with such runners does. Nothing here is
committed.
"""

import argparse
import os
import random
import shutil
import sys

ACTIONS = [
    ("actions/checkout@v5", [("fetch-depth", "0")]),
    ("actions/checkout@v5", []),
    ("actions/setup-go@v6", [("go-version", "'1.23'"), ("cache", "true")]),
    ("actions/setup-node@v5", [("node-version", "20"), ("cache", "npm")]),
    ("actions/setup-python@v6", [("python-version", "'3.12'")]),
    ("actions/cache@v5", [("path", "~/.cargo/registry"), ("key", "${{ runner.os }}-cargo-${{ hashFiles('**/Cargo.lock') }}")]),
    ("actions/upload-artifact@v6", [("name", "logs"), ("path", "target/logs/"), ("retention-days", "5")]),
    ("actions/download-artifact@v7", [("name", "logs")]),
    ("docker/setup-buildx-action@v4", []),
    ("docker/login-action@v4", [("registry", "registry.example.com"), ("username", "${{ secrets.REGISTRY_USER }}"), ("password", "${{ secrets.REGISTRY_TOKEN }}")]),
    ("docker/build-push-action@v7", [("context", "."), ("push", "${{ github.event_name == 'push' }}"), ("tags", "registry.example.com/acme/app:${{ github.sha }}")]),
    ("dtolnay/rust-toolchain@stable", [("components", "clippy, rustfmt")]),
    ("Swatinem/rust-cache@v2", []),
    ("actions/github-script@v8", [("script", "|\n  console.log(context.repo.owner)")]),
    ("acme/ci-actions/setup-tools@v2", [("tools", "jq yq")]),
    ("softprops/action-gh-release@v3", [("files", "dist/*")]),
]

RUNS_ON = [
    "ubuntu-latest",
    "ubuntu-latest",
    "ubuntu-22.04",
    "docker-host",
    "[self-hosted, linux, docker-host]",
    "[self-hosted, linux, x64]",
    "publish",
    "${{ matrix.os }}",
    "windows-latest",
    "macos-latest",
]

BRANCHES = ["main", "master", "develop", "'release/**'", "'feature/*'", "stable"]
PATHS = ["'src/**'", "'Cargo.toml'", "'Cargo.lock'", "'docs/**'", "'**.md'", "'web/**'",
         "'.github/workflows/**'", "'go.mod'", "'package.json'", "'charts/**'"]
JOB_WORDS = ["build", "test", "lint", "check", "deploy", "publish", "docs", "e2e", "bench",
             "audit", "package", "release", "integration", "unit", "fmt", "clippy", "smoke",
             "image", "migrate", "coverage"]
SECRETS = ["DEPLOY_TOKEN", "REGISTRY_TOKEN", "SLACK_WEBHOOK", "NPM_TOKEN", "CODECOV_TOKEN"]


class Gen:
    def __init__(self, rng, index):
        self.r = rng
        self.i = index
        self.lines = []
        self.jobs = 0
        self.steps = 0

    def w(self, text=""):
        self.lines.append(text)

    def chance(self, p):
        return self.r.random() < p

    def pick(self, seq):
        return self.r.choice(seq)

    # ---- triggers -------------------------------------------------------------------
    def filters(self, ind, event):
        r = self.r
        if self.chance(0.7):
            bs = r.sample(BRANCHES, r.randint(1, 3))
            if self.chance(0.5):
                self.w(f"{ind}branches: [{', '.join(bs)}]")
            else:
                self.w(f"{ind}branches:")
                for b in bs:
                    self.w(f"{ind}  - {b}")
        if event == "push" and self.chance(0.2):
            self.w(f"{ind}tags: ['v*']")
        if self.chance(0.35):
            key = "paths" if self.chance(0.7) else "paths-ignore"
            self.w(f"{ind}{key}:")
            for p in r.sample(PATHS, r.randint(1, 5)):
                self.w(f"{ind}  - {p}")
        if event == "pull_request" and self.chance(0.4):
            self.w(f"{ind}types: [opened, synchronize, reopened]")

    def triggers(self):
        r = self.r
        form = r.random()
        if form < 0.08:
            self.w("on: [push, pull_request]")
            return
        if form < 0.12:
            self.w("on: push")
            return
        if form < 0.15:
            self.w("'on':")  # quoted key: YAML 1.2 and 1.1 agree
        else:
            self.w("on:")
        events = []
        if self.chance(0.85):
            events.append("push")
        if self.chance(0.85):
            events.append("pull_request")
        if not events:
            events.append("pull_request")
        for ev in events:
            if self.chance(0.15):
                self.w(f"  {ev}:")
            else:
                self.w(f"  {ev}:")
                self.filters("    ", ev)
        if self.chance(0.3):
            self.w("  workflow_dispatch:")
            if self.chance(0.5):
                self.w("    inputs:")
                self.w("      environment:")
                self.w("        description: 'Target environment'")
                self.w("        required: true")
                self.w("        default: staging")
                self.w("        type: choice")
                self.w("        options: [staging, production]")
                if self.chance(0.5):
                    self.w("      dry_run:")
                    self.w("        type: boolean")
                    self.w("        default: true")
        if self.chance(0.2):
            self.w("  schedule:")
            self.w(f"    - cron: '{r.randint(0, 59)} {r.randint(0, 23)} * * {r.randint(0, 6)}'")
        if self.chance(0.1):
            self.w("  merge_group:")
        if self.chance(0.05):
            self.w("  release:")
            self.w("    types: [published]")
        if self.chance(0.04):
            self.w("  workflow_call:")

    # ---- top level --------------------------------------------------------------------
    def top(self):
        r = self.r
        if self.chance(0.4):
            self.w("permissions:")
            self.w("  contents: read")
            if self.chance(0.5):
                self.w("  packages: write")
            if self.chance(0.3):
                self.w("  pull-requests: write")
            self.w()
        if self.chance(0.35):
            self.w("concurrency:")
            self.w("  group: ${{ github.workflow }}-${{ github.ref }}")
            self.w(f"  cancel-in-progress: {self.pick(['true', 'false'])}")
            self.w()
        if self.chance(0.55):
            self.w("env:")
            self.w("  CARGO_TERM_COLOR: always")
            for k in r.sample(["RUST_BACKTRACE: 1", "GOFLAGS: -mod=readonly", "NODE_ENV: test",
                               "REGISTRY: registry.example.com", "IMAGE_NAME: ${{ github.repository }}",
                               "TZ: UTC", "PIP_DISABLE_PIP_VERSION_CHECK: '1'",
                               "GITHUB_SERVER_URL: https://git.example.com"], r.randint(1, 4)):
                self.w(f"  {k}")
            self.w()
        if self.chance(0.2):
            self.w("defaults:")
            self.w("  run:")
            self.w("    shell: bash")
            self.w()

    # ---- scripts ----------------------------------------------------------------------
    def script_lines(self, long_script):
        r = self.r
        out = []
        if self.chance(0.5):
            out.append("set -euo pipefail")
        n = r.randint(40, 120) if long_script else r.randint(1, 8)
        while len(out) < n:
            k = r.random()
            if k < 0.12:
                url = f"https://api.example.com/v1/health/{r.randint(1, 999)}"
                if self.chance(0.3):
                    out.append(f"code=$(curl -s -o /dev/null -w '%{{http_code}}' \"{url}\" || echo 000)")
                elif self.chance(0.3):
                    out.append("code=$(curl -sS -o \"$tmp\" \\")
                    out.append(f"  -w '%{{http_code}}' \"{url}\") || code=000")
                else:
                    out.append(f"curl -fsSL --retry 3 \"{url}\" -o out.json")
                out.append('[ "${code:-200}" = 200 ] || { echo "unexpected status $code"; exit 1; }')
            elif k < 0.24:
                out.extend(self.pick([
                    ["docker build -t \"$REGISTRY/app:${GITHUB_SHA}\" .",
                     "docker push \"$REGISTRY/app:${GITHUB_SHA}\""],
                    ["docker run --rm -v \"$PWD:/src\" -w /src rust:1.95 cargo test --locked"],
                    ["docker compose -f compose.ci.yml up -d --wait",
                     "docker compose -f compose.ci.yml ps"],
                    ["docker info | head -n 20"],
                    ["# docker run is not needed here: the runner has the toolchain"],
                ]))
            elif k < 0.45:
                out.append(self.pick([
                    "cargo build --locked --all-targets",
                    "cargo test --locked -- --nocapture",
                    "cargo clippy --all-targets -- -D warnings",
                    "npm ci",
                    "npm test -- --ci",
                    "go test ./... -race -count=1",
                    "go vet ./...",
                    "make -j\"$(nproc)\" check",
                    "python -m pytest -q",
                    "./scripts/ci.sh",
                ]))
            elif k < 0.55:
                out.extend([
                    "cat > config.json <<'EOF'",
                    '{"env": "ci", "retries": 3}',
                    "EOF",
                ])
            elif k < 0.7:
                var = self.pick(["VERSION", "TAG", "TARGET", "OUT_DIR"])
                out.append(f'{var}="${{{var}:-$(git describe --tags --always)}}"')
                out.append(f'echo "{var.lower()}=${var}" >> "$GITHUB_OUTPUT"')
            elif k < 0.8:
                out.append("for f in $(git diff --name-only HEAD~1); do")
                out.append('  echo "changed: $f"')
                out.append("done")
            elif k < 0.9:
                out.append(f"echo \"::group::step {len(out)}\"")
                out.append("ls -la")
                out.append('echo "::endgroup::"')
            else:
                out.append(f"# step {len(out)}: keep the log short")
                out.append("true")
        return out

    def step(self, ind, long_script):
        r = self.r
        self.steps += 1
        if self.chance(0.4):
            action, withs = self.pick(ACTIONS)
            if self.chance(0.4):
                self.w(f"{ind}- name: {action.split('@')[0].split('/')[-1]}")
                self.w(f"{ind}  uses: {action}")
            else:
                self.w(f"{ind}- uses: {action}")
            if withs:
                self.w(f"{ind}  with:")
                for k, v in withs:
                    if v.startswith("|\n"):
                        self.w(f"{ind}    {k}: |")
                        for line in v[2:].split("\n"):
                            self.w(f"{ind}      {line.strip()}")
                    else:
                        self.w(f"{ind}    {k}: {v}")
            return
        self.w(f"{ind}- name: {self.pick(['Build', 'Test', 'Check status', 'Deploy', 'Push image', 'Smoke test', 'Lint', 'Report'])} {r.randint(1, 99)}")
        if self.chance(0.15):
            self.w(f"{ind}  if: ${{{{ github.event_name == 'push' }}}}")
        if self.chance(0.2):
            self.w(f"{ind}  env:")
            self.w(f"{ind}    TOKEN: ${{{{ secrets.{self.pick(SECRETS)} }}}}")
            self.w(f"{ind}    URL: https://api.example.com")
        if self.chance(0.1):
            self.w(f"{ind}  working-directory: ./app")
        if self.chance(0.08):
            self.w(f"{ind}  continue-on-error: true")
        if self.chance(0.1):
            self.w(f"{ind}  timeout-minutes: {r.randint(2, 30)}")
        lines = self.script_lines(long_script)
        if len(lines) == 1 and self.chance(0.6) and "'" not in lines[0] and ": " not in lines[0] and " #" not in lines[0] \
                and not lines[0].startswith(("#", "[", "{", "*", "&", "!", "|", ">", "%", "@", "`", '"')):
            self.w(f"{ind}  run: {lines[0]}")
        else:
            self.w(f"{ind}  run: |")
            for line in lines:
                self.w(f"{ind}    {line}")

    # ---- jobs -------------------------------------------------------------------------
    def coe(self, ind, matrix):
        r = self.r
        n = r.randint(1, 400)
        # Only GitHub-valid values (`yes` or a quoted "true" would make zizmor skip the file).
        values = ["true", "true", "true", "true", "true", "false"]
        if matrix:
            values.append("${{ matrix.experimental }}")
        value = self.pick(values)
        form = r.random()
        if form < 0.5:
            self.w(f"{ind}continue-on-error: {value}  # #{n} flaky upstream, remove when fixed")
        elif form < 0.65:
            self.w(f"{ind}# tracked in acme/widgets#{n}")
            self.w(f"{ind}continue-on-error: {value}")
        elif form < 0.8:
            self.w(f"{ind}continue-on-error: {value}  # acme/infra#{n}")
        else:
            self.w(f"{ind}continue-on-error: {value}")  # no tracker: a finding

    def job(self, key, prior, long_script):
        r = self.r
        self.jobs += 1
        d = r.random()
        if d < 0.15:
            self.w("  # bp-required: yes")
        elif d < 0.22:
            self.w(f"  # bp-required: pending #{r.randint(1, 300)}")
        elif d < 0.3:
            self.w("  # bp-exempt: informational only")
        self.w(f"  {key}:")
        if self.chance(0.7):
            self.w(f"    name: {key.replace('-', ' ').title()}")
        matrix = self.chance(0.3)
        runs_on = self.pick(RUNS_ON)
        if runs_on == "${{ matrix.os }}" and not matrix:
            runs_on = "ubuntu-latest"
        if self.chance(0.06):
            self.w("    runs-on:")
            self.w("      group: linux-runners")
            self.w("      labels: [docker-host]")
        else:
            self.w(f"    runs-on: {runs_on}")
        if prior and self.chance(0.5):
            needs = r.sample(prior, min(len(prior), r.randint(1, 3)))
            if len(needs) == 1 and self.chance(0.5):
                self.w(f"    needs: {needs[0]}")
            else:
                self.w(f"    needs: [{', '.join(needs)}]")
        if self.chance(0.2):
            self.w("    if: ${{ github.event_name != 'schedule' && !cancelled() }}")
        if self.chance(0.4):
            self.w(f"    timeout-minutes: {r.randint(5, 90)}")
        if self.chance(0.12):
            self.coe("    ", matrix)
        if matrix:
            self.w("    strategy:")
            self.w(f"      fail-fast: {self.pick(['true', 'false'])}")
            self.w("      matrix:")
            if runs_on == "${{ matrix.os }}":
                self.w("        os: [ubuntu-latest, macos-latest, windows-latest]")
            toolchains = r.sample(['stable', 'beta', 'nightly', '1.85', '1.90'], r.randint(1, 3))
            self.w(f"        toolchain: [{', '.join(toolchains)}]")
            self.w("        experimental: [false]")
            if self.chance(0.5):
                self.w("        include:")
                self.w("          - toolchain: nightly")
                self.w("            experimental: true")
            if "beta" in toolchains and self.chance(0.6):
                self.w("        exclude:")
                self.w("          - toolchain: beta")
                self.w("            experimental: false")
        if self.chance(0.35):
            self.w("    env:")
            for e in r.sample(["RUSTFLAGS: -D warnings", "CI: true", "LOG_LEVEL: debug",
                               "DATABASE_URL: postgres://ci:ci@localhost:5432/ci",
                               f"API_TOKEN: ${{{{ secrets.{self.pick(SECRETS)} }}}}"], r.randint(1, 3)):
                self.w(f"      {e}")
        if self.chance(0.05):
            self.w("    container:")
            self.w("      image: rust:1.95-bookworm")
            self.w("      options: --user 1001")
        if self.chance(0.08):
            self.w("    services:")
            self.w("      postgres:")
            self.w("        image: postgres:16")
            self.w("        env:")
            self.w("          POSTGRES_PASSWORD: ci")
            self.w("        ports: ['5432:5432']")
            self.w("        options: >-")
            self.w("          --health-cmd pg_isready --health-interval 10s")
        outputs = self.chance(0.2)
        if outputs:
            self.w("    outputs:")
            self.w("      version: ${{ steps.meta.outputs.version }}")
        self.w("    steps:")
        self.w("      - uses: actions/checkout@v5")
        if outputs:
            self.w("      - id: meta")
            self.w('        run: echo "version=$(git describe --tags --always)" >> "$GITHUB_OUTPUT"')
        for _ in range(r.randint(1, 6)):
            self.step("      ", long_script and self.chance(0.3))

    def workflow(self):
        r = self.r
        kind = r.random()
        many_jobs = kind < 0.02
        long_script = 0.02 <= kind < 0.04
        self.w(f"# Generated benchmark workflow {self.i:04d} (scripts/gen-workflows.py)")
        name = f"{self.pick(['ci', 'build', 'checks', 'release', 'nightly', 'deploy', 'docs', 'security'])}-{self.i:04d}"
        self.w(f"name: {name}")
        self.w()
        self.triggers()
        self.w()
        self.top()
        self.w("jobs:")
        njobs = r.randint(25, 45) if many_jobs else min(12, 1 + int(r.expovariate(1 / 2.5)))
        keys = []
        for j in range(njobs):
            base = self.pick(JOB_WORDS)
            key = f"{base}-{j}" if self.chance(0.7) else f"{base}_{j}"
            self.job(key, keys, long_script)
            keys.append(key)
            if j + 1 < njobs:
                self.w()
        return "\n".join(self.lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--out", default="target/bench-workflows")
    a = ap.parse_args()
    wdir = os.path.join(a.out, ".github", "workflows")
    if os.path.isdir(wdir):
        shutil.rmtree(wdir)
    os.makedirs(wdir)
    rng = random.Random(a.seed)
    total_bytes = total_lines = jobs = steps = max_lines = 0
    for i in range(a.count):
        g = Gen(rng, i)
        text = g.workflow()
        with open(os.path.join(wdir, f"wf-{i:04d}.yml"), "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        n = text.count("\n")
        total_bytes += len(text.encode("utf-8"))
        total_lines += n
        max_lines = max(max_lines, n)
        jobs += g.jobs
        steps += g.steps
    # Custom runner labels, as a repository that uses them declares them for actionlint.
    with open(os.path.join(a.out, ".github", "actionlint.yaml"), "w", encoding="utf-8") as f:
        f.write("self-hosted-runner:\n  labels: [docker-host, publish]\n")
    print(f"files={a.count} bytes={total_bytes} lines={total_lines} jobs={jobs} steps={steps} max_lines={max_lines} dir={wdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
