#!/usr/bin/env bash
# schemathesis, the property-based API tester that checks /api/openapi.json against the running server
# (api/schemathesis.e2e.test.ts), from PyPI into a virtualenv cached outside the repo. Not a running service.
#
# Usage: scripts/services.d/schemathesis.sh {install|up|down|status}
#   install  make ${CITY_CACHE:-~/.cache/city-sensing}/schemathesis/<version>/ (a venv with schemathesis==<version>)
#            if missing; ~30 s the first time, a version check once installed
#   up       install, print SCHEMATHESIS=<path of the st command>
#   down     nothing to stop (the cache stays)
#   status   exit 0 when installed
#
# Environment: SCHEMATHESIS_VERSION (4.32.5), PYTHON (python3.11, else python3: schemathesis 4 needs >= 3.9),
# CITY_CACHE. Network: only PyPI, through pip.
set -euo pipefail

SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
VENV="${CITY_CACHE:-${HOME:?HOME or CITY_CACHE must be set}/.cache/city-sensing}/schemathesis/$SCHEMATHESIS_VERSION"
ST="$VENV/bin/st"

log() { echo "[schemathesis] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The venv is complete only once pip finished: .complete is written last, so an interrupted install is redone.
installed() { [ -f "$VENV/.complete" ] && [ -x "$ST" ]; }

python_bin() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  command -v python3.11 2>/dev/null || command -v python3 2>/dev/null || true
}

install() {
  installed && return 0
  local py
  py="$(python_bin)"
  [ -n "$py" ] || die "no python3 on PATH (schemathesis needs Python >= 3.9); set PYTHON"
  mkdir -p "$(dirname "$VENV")"
  (
    # Concurrent installs (two test runs) wait for each other instead of writing one venv twice.
    exec 8>"$VENV.lock"
    command -v flock >/dev/null 2>&1 && flock -w 600 8
    installed && exit 0
    local t0=$SECONDS
    rm -rf "$VENV"
    log "installing schemathesis==$SCHEMATHESIS_VERSION from PyPI into $VENV (log: $VENV.log)"
    "$py" -m venv "$VENV" >"$VENV.log" 2>&1 || { tail -n 20 "$VENV.log" >&2; die "$py -m venv failed (Debian: apt-get install python3-venv)"; }
    if ! "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION" >>"$VENV.log" 2>&1; then
      tail -n 20 "$VENV.log" >&2
      rm -rf "$VENV"
      die "pip install schemathesis==$SCHEMATHESIS_VERSION failed (is PyPI reachable? see above)"
    fi
    "$ST" --version >>"$VENV.log" 2>&1 || { tail -n 20 "$VENV.log" >&2; die "the installed st command does not run"; }
    touch "$VENV/.complete"
    log "installed $("$ST" --version 2>&1 | head -n1) in $((SECONDS - t0)) s"
  ) || exit 1
}

case "${1:-}" in
  install) install ;;
  up)
    install
    echo "SCHEMATHESIS=$ST" ;;
  start|stop|kill|down) ;;
  status) installed ;;
  *) echo "usage: $0 install|up|down|status" >&2; exit 2 ;;
esac
