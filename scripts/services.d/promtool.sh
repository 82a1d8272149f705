#!/usr/bin/env bash
# promtool, Prometheus's own checker: `promtool check rules` and `promtool test rules` validate and unit-test the alert
# rules in deploy/prometheus/ (deploy/prometheus/rules.test.ts runs both). Built from the Go module proxy (module
# github.com/prometheus/prometheus, package cmd/promtool) and cached; nothing runs.
#
# Usage: scripts/services.d/promtool.sh {install|up|down|status}
#   install, up  build it when missing; up prints PROMTOOL=<path> on stdout
#   down         nothing to stop (the cached binary stays)
#   status       exit 0 when it is built
#
# Environment: PROMTOOL_VERSION (default v0.316.0, the Go module version of Prometheus 3.x), CITY_CACHE.
# Cold install measured on 2 cores with empty Go module and build caches: see deploy/prometheus/README.md.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=go-tool.sh
. "$HERE/go-tool.sh"
VERSION="${PROMTOOL_VERSION:-v0.316.0}"
install() { go_tool_install promtool github.com/prometheus/prometheus/cmd/promtool "$VERSION"; }
case "${1:-}" in
  install) install >/dev/null ;;
  up) echo "PROMTOOL=$(install)" ;;
  down) ;;
  status) [ -x "$GO_TOOLS_CACHE/promtool/$VERSION/promtool" ] ;;
  *) echo "usage: $0 {install|up|down|status}" >&2; exit 2 ;;
esac
