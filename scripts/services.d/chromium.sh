#!/usr/bin/env bash
# Debian's Chromium for the console's browser tests (driven by playwright-core, which downloads no browser), with a
# CJK font so the Chinese pages render (and their screenshots in docs/console/ are readable). Not a running service:
# each test starts its own headless browser with a fresh profile.
#
# Usage: scripts/services.d/chromium.sh <command>
#   install  apt-get install chromium and fonts-wqy-microhei if missing
#   up       install, print CHROMIUM=<path>
#   down     nothing to stop
#   status   exit 0 if installed
set -euo pipefail

log() { echo "chromium: $*" >&2; }

bin() { command -v chromium 2>/dev/null || { [ -x /usr/bin/chromium ] && echo /usr/bin/chromium; } || true; }

have_font() { [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || fc-list 2>/dev/null | grep -qiE 'CJK|WenQuanYi|Droid Sans Fallback'; }

install() {
  local pkgs=()
  [ -n "$(bin)" ] || pkgs+=(chromium)
  have_font || pkgs+=(fonts-wqy-microhei)
  [ ${#pkgs[@]} -gt 0 ] || return 0
  log "installing Debian packages ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
}

case "${1:-}" in
  install) install ;;
  up)
    install
    path="$(bin)"
    [ -n "$path" ] || { log "chromium is not on PATH after installing"; exit 1; }
    echo "CHROMIUM=$path" ;;
  start|stop|kill|down) ;;
  status) [ -n "$(bin)" ] ;;
  *) echo "usage: $0 install|up|down|status" >&2; exit 2 ;;
esac
