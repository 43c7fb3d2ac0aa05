#!/usr/bin/env bash
# Throwaway PostgreSQL for the ledger tests (and benchmark).
#
#   source scripts/pg-test.sh      # starts a server, exports MERGEWARD_TEST_PG, stops it when
#                                  # the sourcing shell exits (chained onto its EXIT trap)
#   scripts/pg-test.sh CMD ARGS…   # starts a server, runs CMD with MERGEWARD_TEST_PG set, stops it
#
# If MERGEWARD_TEST_PG is already set, nothing is started. PostgreSQL's initdb/pg_ctl are
# looked up on PATH, then in /usr/lib/postgresql/*/bin (Debian); when missing they are
# installed with apt-get (needs root). The server runs as user `postgres` when we are root
# (initdb refuses root), in a mktemp directory, on a free loopback port, with durability
# off (fsync, synchronous_commit, full_page_writes) because its data is thrown away.

_mw_pg_sourced=0
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then _mw_pg_sourced=1; fi

_mw_pg_log() { echo "pg-test.sh: $*" >&2; }

_mw_pg_find_bin() {
  local dir
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

_mw_pg_free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local port
  for port in $(seq 54320 54420); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# Run a PostgreSQL tool as the server's owner.
_mw_pg_as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_mw_pg_stop() {
  if [[ -n "${_MW_PG_DIR:-}" && -d "${_MW_PG_DIR}" ]]; then
    _mw_pg_as_owner "$_MW_PG_BIN/pg_ctl" -D "$_MW_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$_MW_PG_DIR"
    _mw_pg_log "stopped the throwaway PostgreSQL"
  fi
  _MW_PG_DIR=
}

_mw_pg_start() {
  if [[ -n "${MERGEWARD_TEST_PG:-}" ]]; then
    _mw_pg_log "MERGEWARD_TEST_PG is already set; not starting a server"
    return 0
  fi
  local bin
  if ! bin="$(_mw_pg_find_bin)"; then
    if [[ "$(id -u)" != 0 ]]; then
      _mw_pg_log "PostgreSQL (initdb, pg_ctl) is not installed and we are not root to apt-get it"
      return 1
    fi
    _mw_pg_log "PostgreSQL not found; installing it with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >&2 || return 1
    bin="$(_mw_pg_find_bin)" || { _mw_pg_log "postgresql installed but initdb/pg_ctl not found"; return 1; }
  fi
  if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres || return 1
  fi
  local dir port
  dir="$(mktemp -d -t mergeward-pg.XXXXXX)" || return 1
  if [[ "$(id -u)" == 0 ]]; then chown postgres "$dir" || return 1; fi
  _MW_PG_DIR="$dir"
  _MW_PG_BIN="$bin"
  port="$(_mw_pg_free_port)" || { _mw_pg_log "no free loopback port"; return 1; }
  if ! _mw_pg_as_owner "$bin/initdb" -D "$dir/data" -U mergeward --auth=trust --no-sync \
      --no-instructions -E UTF8 --no-locale >"$dir/initdb.log" 2>&1; then
    _mw_pg_log "initdb failed:"; cat "$dir/initdb.log" >&2; return 1
  fi
  if ! _mw_pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
      -o "-k $dir -c listen_addresses=127.0.0.1 -p $port -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      >/dev/null; then
    _mw_pg_log "the server did not start:"; cat "$dir/server.log" >&2; return 1
  fi
  export MERGEWARD_TEST_PG="postgres://mergeward@127.0.0.1:${port}/postgres"
  _mw_pg_log "PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:${port} (data in $dir); MERGEWARD_TEST_PG=$MERGEWARD_TEST_PG"
}

if [[ "$_mw_pg_sourced" == 1 ]]; then
  # Chain onto the sourcing shell's EXIT trap, so the server stops when that shell exits.
  _mw_pg_prev_trap="$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")"
  if _mw_pg_start; then
    if [[ -n "$_mw_pg_prev_trap" ]]; then
      trap "_mw_pg_stop; $_mw_pg_prev_trap" EXIT
    else
      trap "_mw_pg_stop" EXIT
    fi
  else
    _mw_pg_stop
    _mw_pg_log "could not start PostgreSQL"
    return 1
  fi
else
  set -euo pipefail
  trap _mw_pg_stop EXIT
  _mw_pg_start
  if [[ $# -gt 0 ]]; then
    "$@"
  else
    _mw_pg_log "no command given; the server stops now (source this script to keep it for the shell)"
  fi
fi
