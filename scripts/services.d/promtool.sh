#!/usr/bin/env bash
# promtool, Prometheus's own checker: `promtool check rules` and `promtool test rules` validate and unit-test the alert
# rules in deploy/prometheus/ (deploy/prometheus/rules.test.ts runs both). From Debian's `prometheus` package (the
# server it also installs is never started here): about 20 s on a fresh machine, where building it from the Go module
# proxy took 43 minutes and 1.8 GB of modules, most of CI's 90-minute budget.
#
# Usage: scripts/services.d/promtool.sh {install|up|down|status}
#   install, up  install it when missing; up prints PROMTOOL=<path> on stdout
#   down         nothing to stop
#   status       exit 0 when it is installed
set -euo pipefail
install() {
  if ! command -v promtool >/dev/null 2>&1; then
    echo "[promtool] installing Debian's prometheus package (for promtool)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends prometheus >&2 ||
      { apt-get update >&2 && apt-get install -y --no-install-recommends prometheus >&2; }
    # The package enables its server as a system service; nothing here wants it running.
    command -v systemctl >/dev/null 2>&1 && systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  command -v promtool
}
case "${1:-}" in
  install) install >/dev/null ;;
  up) echo "PROMTOOL=$(install)" ;;
  down) ;;
  status) command -v promtool >/dev/null 2>&1 ;;
  *) echo "usage: $0 {install|up|down|status}" >&2; exit 2 ;;
esac
