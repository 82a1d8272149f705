#!/usr/bin/env bash
# The Docker Compose v2 CLI plugin, built from source, so `docker compose config` can validate docker-compose.yml on
# machines that have the Docker CLI but no compose plugin (and no engine: `config` needs none).
#
# Usage: scripts/services.d/compose.sh {install|check}
#
#   install  Build docker-compose $COMPOSE_VERSION into
#            ${CITY_CACHE:-$HOME/.cache/city-sensing}/compose/<version>/docker-compose (no-op when already built)
#            and link it as ${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-compose. Needs: go (compose's go.mod
#            asks for 1.24.9; an older go with GOTOOLCHAIN=auto fetches that toolchain through the module proxy).
#            Network: only the Go module proxy. Measured on 2 cores: 99-107 s with empty Go build and module caches
#            (~500 MB of modules, ~900 MB of build cache); 0.1 s once built.
#   check    install, then `docker compose -f <repo>/docker-compose.yml config -q` from the repo root, twice: with
#            every variable of .env.example set (empty ones to a placeholder), which must pass without a warning (a
#            variable the file uses that .env.example does not list is one), and with no variable set, which must
#            fail naming a required one (secrets have no defaults: `${VAR:?message}`). Exits non-zero with compose's
#            message otherwise.
#
# All progress goes to stderr.
#
# How the build works: `go install github.com/docker/compose/v2/cmd@vX` is refused ("go.mod ... contains one or more
# exclude directives"), so the module source is fetched with `go mod download -json`, copied to a writable dir and
# built there with `go build ./cmd`, as compose's Makefile does (static, CGO_ENABLED=0, version stamped via ldflags).
set -euo pipefail

# The last v2 release (Compose continues as module github.com/docker/compose/v5).
COMPOSE_VERSION="${COMPOSE_VERSION:-v2.40.3}"
COMPOSE_MODULE="github.com/docker/compose/v2"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE_DIR="${CITY_CACHE:-$HOME/.cache/city-sensing}/compose/${COMPOSE_VERSION#v}"
BIN="$CACHE_DIR/docker-compose"
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
PLUGIN="$PLUGIN_DIR/docker-compose"

log() { printf '[compose] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# A built binary that runs and reports the wanted version.
works() { # works <path>
  [ -x "$1" ] || return 1
  local v
  v="$("$1" version --short 2>/dev/null)" || return 1
  [ "$v" = "${COMPOSE_VERSION#v}" ] || [ "$v" = "$COMPOSE_VERSION" ]
}

build() {
  command -v go >/dev/null 2>&1 || die "'go' is required (>= 1.24) to build docker compose"
  mkdir -p "$CACHE_DIR"
  local work buildlog t0 modjson moddir
  work="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  buildlog="$CACHE_DIR/build.log"
  : >"$buildlog"
  t0=$SECONDS
  log "building docker compose $COMPOSE_VERSION from source (cold caches: ~2 min on 2 cores; log: $buildlog)"

  log "fetching $COMPOSE_MODULE@$COMPOSE_VERSION from the Go module proxy"
  modjson="$(cd "$work" && GOFLAGS='' GO111MODULE=on go mod download -json "$COMPOSE_MODULE@$COMPOSE_VERSION" 2>>"$buildlog")" \
    || { printf '%s\n' "${modjson:-}" >&2; tail -n 20 "$buildlog" >&2; die "go mod download failed"; }
  moddir="$(printf '%s\n' "$modjson" | sed -n 's/^[[:space:]]*"Dir": *"\(.*\)",\{0,1\}$/\1/p' | head -n1)"
  [ -n "$moddir" ] && [ -f "$moddir/go.mod" ] || die "could not locate the module dir in: $modjson"
  cp -R "$moddir" "$work/src"
  chmod -R u+w "$work/src"

  log "go build ./cmd (downloads the dependencies, ~300 Go modules, then compiles)"
  (
    cd "$work/src" || exit 1
    export GO111MODULE=on CGO_ENABLED=0 GOFLAGS="-buildvcs=false"
    exec go build -trimpath \
      -ldflags "-s -w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" \
      -o "$work/docker-compose" ./cmd
  ) >>"$buildlog" 2>&1 &
  local pid=$! start=$SECONDS next=60
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    if (( SECONDS - start >= next )); then log "  ... still building ($(( (SECONDS - start) / 60 )) min)"; next=$((next + 60)); fi
  done
  wait "$pid" || { log "build failed; last lines of $buildlog:"; tail -n 40 "$buildlog" >&2; exit 1; }

  works "$work/docker-compose" || die "the built docker-compose does not run or reports another version"
  mv -f "$work/docker-compose" "$BIN"
  rm -rf "$work"
  trap - EXIT
  log "built docker compose $("$BIN" version --short) in $(( SECONDS - t0 ))s -> $BIN"
}

link_plugin() {
  mkdir -p "$PLUGIN_DIR"
  if [ -L "$PLUGIN" ] && [ "$(readlink "$PLUGIN")" = "$BIN" ]; then
    log "plugin already linked: $PLUGIN -> $BIN"
    return 0
  fi
  if [ -e "$PLUGIN" ] || [ -L "$PLUGIN" ]; then
    log "replacing $PLUGIN (was: $("$PLUGIN" version --short 2>/dev/null || echo 'not runnable'))"
  fi
  ln -sfn "$BIN" "$PLUGIN.tmp.$$"
  mv -Tf "$PLUGIN.tmp.$$" "$PLUGIN"
  log "linked $PLUGIN -> $BIN"
}

cmd_install() {
  if ! works "$BIN"; then
    mkdir -p "$CACHE_DIR"
    command -v flock >/dev/null 2>&1 || die "'flock' (util-linux) is required"
    # Serialize concurrent installs.
    exec 8>"$CACHE_DIR/.install.lock"
    flock 8
    if works "$BIN"; then log "built by a concurrent install: $BIN"; else build; fi
    exec 8>&-
  else
    log "docker compose $COMPOSE_VERSION already built: $BIN"
  fi
  link_plugin
  command -v docker >/dev/null 2>&1 || { log "note: no 'docker' CLI on PATH; the plugin is in place for when there is one"; return 0; }
  local v
  v="$(docker compose version --short 2>&1)" || die "'docker compose' does not work after linking the plugin: $v"
  log "docker compose $v is available"
}

cmd_check() {
  cmd_install
  command -v docker >/dev/null 2>&1 || die "'docker' CLI is required for check"
  local out rc=0 tmp
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  [ -f "$REPO/.env.example" ] || die ".env.example is missing"
  sed 's/^\([A-Z_][A-Z0-9_]*\)=$/\1=placeholder-for-the-check/' "$REPO/.env.example" >"$tmp/all.env"
  : >"$tmp/none.env"
  # Only PATH and the plugin's home from this environment: a secret exported in the shell must not hide a missing one.
  local env=(env -i PATH="$PATH" HOME="$HOME" ${DOCKER_CONFIG:+DOCKER_CONFIG="$DOCKER_CONFIG"})
  log "docker compose -f $REPO/docker-compose.yml --env-file <.env.example filled in> config -q"
  out="$(cd "$REPO" && "${env[@]}" docker compose -f "$REPO/docker-compose.yml" --env-file "$tmp/all.env" config -q 2>&1)" || rc=$?
  if [ "$rc" -ne 0 ]; then
    printf '%s\n' "$out" >&2
    die "docker-compose.yml is invalid"
  fi
  if [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    die "docker-compose.yml is valid but compose warned (see above; a variable missing from .env.example?)"
  fi
  log "docker compose -f $REPO/docker-compose.yml --env-file <empty> config -q (must refuse)"
  rc=0
  out="$(cd "$REPO" && "${env[@]}" docker compose -f "$REPO/docker-compose.yml" --env-file "$tmp/none.env" config -q 2>&1)" || rc=$?
  if [ "$rc" -eq 0 ] || ! printf '%s\n' "$out" | grep -q 'required variable [A-Z_0-9]* is missing a value'; then
    printf '%s\n' "$out" >&2
    die "docker-compose.yml starts without its secrets: give each a \${VAR:?message} instead of a default"
  fi
  log "without secrets: $(printf '%s\n' "$out" | grep -m1 'required variable')"
  log "docker-compose.yml is valid"
}

case "${1:-}" in
  install) cmd_install ;;
  check) cmd_check ;;
  *) echo "usage: $0 {install|check}" >&2; exit 2 ;;
esac
