#!/usr/bin/env bash
# Debian's lighttpd, for the camera snapshot tests: a real web server that asks for HTTP Digest (and Basic)
# authentication as IP cameras do. Not a running service: each test starts its own lighttpd on a free loopback port
# with the config it needs (edge/drivers/camera/testdata/snapshot-server.ts).
#
# Usage: scripts/services.d/lighttpd.sh <command>
#   install  apt-get install lighttpd if missing (and stop the system server the package may start)
#   up       install, print LIGHTTPD=<path>
#   down     nothing to stop
#   status   exit 0 if installed
set -euo pipefail

log() { echo "lighttpd: $*" >&2; }

bin() { command -v lighttpd 2>/dev/null || { [ -x /usr/sbin/lighttpd ] && echo /usr/sbin/lighttpd; } || true; }

install() {
  [ -z "$(bin)" ] || return 0
  log "installing Debian package lighttpd"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends lighttpd >&2 || { apt-get update -qq >&2; apt-get install -y -qq --no-install-recommends lighttpd >&2; }
  # The package may start a system server on port 80; the tests start their own.
  if command -v service >/dev/null 2>&1; then service lighttpd stop >/dev/null 2>&1 || true; fi
}

case "${1:-}" in
  install) install ;;
  up)
    install
    path="$(bin)"
    [ -n "$path" ] || { log "lighttpd is not on PATH after installing"; exit 1; }
    echo "LIGHTTPD=$path" ;;
  start|stop|kill|down) ;;
  status) [ -n "$(bin)" ] ;;
  *) echo "usage: $0 install|up|down|status" >&2; exit 2 ;;
esac
