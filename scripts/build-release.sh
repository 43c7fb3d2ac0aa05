#!/usr/bin/env bash
# Builds mergeward's release binary for one target, exactly as the release workflows
# (.github/workflows/release.yml, .gitea/workflows/release.yml) do, and writes it with its SHA-256 sum into dist/:
#   dist/mergeward-v<version>-<target>         the binary (stripped, thin LTO)
#   dist/mergeward-v<version>-<target>.sha256  "<sum>  <file name>", as sha256sum prints it
# Usage: scripts/build-release.sh TARGET   (e.g. x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu)
# A TARGET other than the host is cross-compiled with <arch>-linux-gnu-gcc (Debian's
# gcc-<arch>-linux-gnu package) as linker and C compiler (SQLite and aws-lc are C). The
# commit for `--version` comes from MERGEWARD_BUILD_COMMIT, else git, else "unknown".
# Environment: CARGO_TARGET_DIR is honoured; DIST (default dist) names the output folder;
# MERGEWARD_RELEASE_TAG (vX.Y.Z), when set, must match the version in Cargo.toml (the
# workspace's [workspace.package] version, which both packages inherit).
set -euo pipefail
target="${1:-}"
if [ -z "$target" ]; then
  echo "usage: scripts/build-release.sh TARGET (e.g. x86_64-unknown-linux-gnu)" >&2
  exit 2
fi
cd "$(dirname "$0")/.."

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
if [ -z "$version" ]; then
  echo "build-release: cannot read the package version from Cargo.toml" >&2
  exit 1
fi
# A release tag (MERGEWARD_RELEASE_TAG, set by the release workflows) must name this version.
if [ -n "${MERGEWARD_RELEASE_TAG:-}" ] && [ "$MERGEWARD_RELEASE_TAG" != "v$version" ]; then
  echo "build-release: tag $MERGEWARD_RELEASE_TAG does not match Cargo.toml's version $version (expected v$version)" >&2
  exit 1
fi
if [ -z "${MERGEWARD_BUILD_COMMIT:-}" ]; then
  MERGEWARD_BUILD_COMMIT="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
fi
export MERGEWARD_BUILD_COMMIT

host="$(rustc -vV | sed -n 's/^host: //p')"
if [ "$target" != "$host" ]; then
  arch="${target%%-*}"
  cc="${arch}-linux-gnu-gcc"
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "build-release: cross-compiling for $target needs $cc (Debian: apt-get install gcc-${arch/_/-}-linux-gnu)" >&2
    exit 1
  fi
  upper="$(echo "$target" | tr 'a-z-' 'A-Z_')"
  export "CARGO_TARGET_${upper}_LINKER=$cc"
  export "CC_${target//-/_}=$cc"
  rustup target add "$target" >/dev/null 2>&1 || true
fi

cargo build --release --locked --target "$target" --bin mergeward

target_dir="${CARGO_TARGET_DIR:-target}"
dist="${DIST:-dist}"
name="mergeward-v${version}-${target}"
mkdir -p "$dist"
cp "$target_dir/$target/release/mergeward" "$dist/$name"
(cd "$dist" && sha256sum "$name" > "$name.sha256")
if [ "$target" = "$host" ]; then
  "$dist/$name" --version
fi
cat "$dist/$name.sha256"
