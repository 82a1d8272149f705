#!/usr/bin/env bash
# The Kubernetes manifests' checkers (deploy/k8s/manifests.test.ts runs them): kustomize renders deploy/k8s/ and its
# overlays, kubeconform validates what it renders against Kubernetes' own schemas. Both are built from the Go module
# proxy and cached; nothing runs. kubeconform would download its schemas from GitHub, which these machines cannot
# reach, so they are made here from the OpenAPI spec that ships inside the k8s.io/kubernetes Go module
# (api/openapi-spec/swagger.json, fetched with `go mod download`, ~17 MB) by deploy/k8s/schemas.ts.
#
# Usage: scripts/services.d/kubeconform.sh {install|up|down|status}
#   install, up  build / make what is missing; up prints KUSTOMIZE=, KUBECONFORM= and KUBE_SCHEMAS=<dir> on stdout
#   down         nothing to stop (the cache stays)
#   status       exit 0 when all three are there
#
# Environment: KUSTOMIZE_VERSION (v5.5.0), KUBECONFORM_VERSION (v0.7.0), KUBE_SCHEMA_VERSION (the Kubernetes release
# whose API the manifests are checked against, v1.32.4), CITY_CACHE.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=go-tool.sh
. "$HERE/go-tool.sh"
KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.5.0}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.7.0}"
KUBE_SCHEMA_VERSION="${KUBE_SCHEMA_VERSION:-v1.32.4}"
SCHEMAS="${CITY_CACHE:-$HOME/.cache/city-sensing}/k8s-schemas/$KUBE_SCHEMA_VERSION"

# Complete means marked so and holding schemas: a cache marked complete but empty (made before the fix below) is made
# again instead of failing every manifest test with "could not find schema".
schemas_complete() { [ -f "$SCHEMAS/.complete" ] && [ -f "$SCHEMAS/deployment-apps-v1.json" ]; }

schemas() {
  if schemas_complete; then echo "$SCHEMAS"; return 0; fi
  mkdir -p "$SCHEMAS"
  (
    exec 8>"$SCHEMAS.lock"
    command -v flock >/dev/null 2>&1 && flock -w 1800 8
    schemas_complete && exit 0
    rm -f "$SCHEMAS/.complete"
    local t0=$SECONDS json dir
    echo "[kubeconform] fetching k8s.io/kubernetes@$KUBE_SCHEMA_VERSION from the Go module proxy for its OpenAPI spec" >&2
    json="$(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_SCHEMA_VERSION")" \
      || { printf '%s\n' "$json" >&2; echo "[kubeconform] ERROR: go mod download failed" >&2; exit 1; }
    dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": *"\(.*\)",\{0,1\}$/\1/p' | head -n1)"
    [ -f "$dir/api/openapi-spec/swagger.json" ] || { echo "[kubeconform] ERROR: no api/openapi-spec/swagger.json in $dir" >&2; exit 1; }
    rm -f "$SCHEMAS"/*.json
    # Explicit exits: errexit does not apply inside a subshell whose status is tested (the `|| return 1` below), and a
    # failed conversion (e.g. run before `npm ci`, with no tsx) once marked an empty folder complete.
    (cd "$REPO" && npx --no-install tsx deploy/k8s/schemas.ts "$dir/api/openapi-spec/swagger.json" "$SCHEMAS") >&2 ||
      { echo "[kubeconform] ERROR: converting the OpenAPI spec failed (is \`npm ci\` done?)" >&2; exit 1; }
    [ -f "$SCHEMAS/deployment-apps-v1.json" ] || { echo "[kubeconform] ERROR: no schemas written to $SCHEMAS" >&2; exit 1; }
    touch "$SCHEMAS/.complete"
    echo "[kubeconform] schemas for Kubernetes $KUBE_SCHEMA_VERSION in $((SECONDS - t0)) s: $SCHEMAS" >&2
  ) || return 1
  echo "$SCHEMAS"
}

up() {
  echo "KUSTOMIZE=$(go_tool_install kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION")"
  echo "KUBECONFORM=$(go_tool_install kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION")"
  echo "KUBE_SCHEMAS=$(schemas)"
}

case "${1:-}" in
  install) up >/dev/null ;;
  up) up ;;
  down) ;;
  status) [ -x "$GO_TOOLS_CACHE/kustomize/$KUSTOMIZE_VERSION/kustomize" ] && [ -x "$GO_TOOLS_CACHE/kubeconform/$KUBECONFORM_VERSION/kubeconform" ] && schemas_complete ;;
  *) echo "usage: $0 {install|up|down|status}" >&2; exit 2 ;;
esac
