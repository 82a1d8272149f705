#!/usr/bin/env bash
# Debian's poppler-utils for the PDF report tests: pdftotext reads back what Chromium printed (reports/). Not a
# running service.
#
# Usage: scripts/services.d/poppler.sh <command>
#   install  apt-get install poppler-utils if missing
#   up       install, print PDFTOTEXT=<path>
#   down     nothing to stop
#   status   exit 0 if installed
set -euo pipefail

log() { echo "poppler: $*" >&2; }

bin() { command -v pdftotext 2>/dev/null || true; }

install() {
  [ -n "$(bin)" ] && return 0
  log "installing Debian package poppler-utils"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends poppler-utils >&2 || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends poppler-utils >&2; }
}

case "${1:-}" in
  install) install ;;
  up)
    install
    path="$(bin)"
    [ -n "$path" ] || { log "pdftotext is not on PATH after installing"; exit 1; }
    echo "PDFTOTEXT=$path" ;;
  start|stop|kill|down) ;;
  status) [ -n "$(bin)" ] ;;
  *) echo "usage: $0 install|up|down|status" >&2; exit 2 ;;
esac
