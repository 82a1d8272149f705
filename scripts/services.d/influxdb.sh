#!/usr/bin/env bash
# InfluxDB 2.7.x for local development / CI, built from source (no Docker, no prebuilt downloads).
#
# Usage: scripts/services.d/influxdb.sh {install|up|start|stop|down|status}
#
#   install  Build influxd into ${CITY_CACHE:-$HOME/.cache/city-sensing}/influxdb/<version>/influxd
#            (no-op when already built). Needs: go >= 1.23, cargo/rustc (any recent stable),
#            a C compiler and pkg-config. Network: only the Go module proxy and crates.io.
#   up       Install if needed, start influxd on 127.0.0.1:${INFLUX_PORT:-18086} with a throw-away
#            data dir under ${SERVICES_DIR:-/tmp/city-services}/influxdb, onboard it (org "city",
#            bucket "readings", DBRP readings/autogen for InfluxQL) and print INFLUX_* lines on stdout.
#            After `stop` it starts again on the data that `stop` kept.
#   start    Start it again on the data left by `stop` (same token, same points); waits until healthy.
#   stop     Stop it (SIGTERM, influxd closes its shards), keep the data dir: for outage tests.
#   down     Stop it and delete its data dir.
#   status   Exit 0 if running and healthy.
#   retention BUCKET...  Set INFLUX_RETENTION on existing buckets of org "city".
#
# INFLUX_RETENTION: how long the bucket keeps points, `0` (the default: for ever) or a whole number of hours, days
# or weeks (`720h`, `400d`, `52w`; at least 1h, InfluxDB's minimum). Applied when `up` onboards a new instance and by
# `retention`. The platform deletes raw readings itself after config/retention.json's rawDays and keeps their
# aggregates for years in the same bucket, so a bucket retention is a ceiling above both, never the raw-readings one.
#
# All diagnostics go to stderr; only `up` writes to stdout (the INFLUX_* lines).
#
# How the build works (see `build_influxd`):
#   * `go install github.com/influxdata/influxdb/v2/cmd/influxd@vX` is NOT possible: influxdb's go.mod
#     has a `replace` directive, which `go install pkg@version` rejects. So the module source is fetched
#     with `go mod download`, copied to a writable dir, and built with `go build` there.
#   * flux's cgo package uses `#cgo pkg-config: flux`; influxdata's pkg-config wrapper (version pinned in
#     influxdb's go.mod) must be first on PATH. It copies flux's sources to $GOCACHE/pkgconfig and runs
#     `cargo build --release --target <triple>` on libflux (crates come from crates.io; that target dir
#     doubles as the cargo build cache).
#   * flux's rust-toolchain.toml pins Rust 1.72 -> RUSTUP_TOOLCHAIN=<default toolchain> stops rustup from
#     trying to download it.
#   * flux-core has `#![deny(warnings)]` (feature "strict", on by default); new rustc lints
#     (mismatched_lifetime_syntaxes, dead_code) turn into hard errors. RUSTFLAGS="--cap-lints warn" does
#     not help, because with an explicit --target cargo does not apply RUSTFLAGS to host builds and
#     flux-core is also compiled for the host (build-dependency of the `flux` crate). A RUSTC_WRAPPER
#     appending `--cap-lints warn` fixes it.
#   * No `assets` build tag: the UI is not embedded (influxd runs fine headless; we pass --ui-disabled).
set -euo pipefail

INFLUXDB_VERSION="${INFLUXDB_VERSION:-v2.7.12}"
INFLUX_PORT="${INFLUX_PORT:-18086}"
INFLUX_ORG="city"
INFLUX_BUCKET="readings"
INFLUX_USER="city"

CACHE_DIR="${CITY_CACHE:-$HOME/.cache/city-sensing}/influxdb/${INFLUXDB_VERSION#v}"
INFLUXD="$CACHE_DIR/influxd"
SERVICES_ROOT="${SERVICES_DIR:-/tmp/city-services}"
STATE_DIR="$SERVICES_ROOT/influxdb"
PID_FILE="$STATE_DIR/influxd.pid"
LOG_FILE="$STATE_DIR/influxd.log"
TOKEN_FILE="$STATE_DIR/token"
ENV_FILE="$STATE_DIR/env"
URL="http://127.0.0.1:${INFLUX_PORT}"

log() { printf '[influxdb] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || return 1
    sudo="sudo -n"
  fi
  log "installing $* via apt"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

need_cmd() { # need_cmd <command> [apt package]
  command -v "$1" >/dev/null 2>&1 && return 0
  [ -n "${2:-}" ] && apt_install "$2" && command -v "$1" >/dev/null 2>&1 && return 0
  die "'$1' is required but not installed"
}

# --------------------------------------------------------------------------------------------- install

build_influxd() {
  need_cmd go
  need_cmd cargo
  need_cmd cc gcc
  need_cmd pkg-config pkg-config
  mkdir -p "$CACHE_DIR"

  local work buildlog t0
  work="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
  buildlog="$CACHE_DIR/build.log"
  : >"$buildlog"
  t0=$SECONDS
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT

  log "building influxd $INFLUXDB_VERSION from source (cold caches: ~4.5 min on 2 cores; log: $buildlog)"

  log "fetching github.com/influxdata/influxdb/v2@$INFLUXDB_VERSION source from the Go module proxy"
  local modjson moddir
  modjson="$(cd "$work" && GOFLAGS='' GO111MODULE=on go mod download -json "github.com/influxdata/influxdb/v2@$INFLUXDB_VERSION" 2>>"$buildlog")" \
    || { tail -n 20 "$buildlog" >&2; die "go mod download failed"; }
  moddir="$(printf '%s\n' "$modjson" | sed -n 's/^[[:space:]]*"Dir": *"\(.*\)",\{0,1\}$/\1/p' | head -n1)"
  [ -n "$moddir" ] && [ -f "$moddir/go.mod" ] || die "could not locate module dir in: $modjson"
  cp -R "$moddir" "$work/src"
  chmod -R u+w "$work/src"

  mkdir -p "$work/bin"
  # Cargo wrapper: cap lint levels (see header). Leaves invocations that already cap lints alone.
  cat >"$work/bin/rustc-cap-lints" <<'EOF'
#!/bin/sh
rustc="$1"; shift
case " $* " in *" --cap-lints"*) exec "$rustc" "$@" ;; esac
case " $* " in *" --crate-name "*) exec "$rustc" "$@" --cap-lints warn ;; esac
exec "$rustc" "$@"
EOF
  chmod +x "$work/bin/rustc-cap-lints"

  # Keep rustup from honouring flux's rust-toolchain.toml (channel 1.72 -> would be downloaded).
  local toolchain="${RUSTUP_TOOLCHAIN:-}"
  if [ -z "$toolchain" ] && command -v rustup >/dev/null 2>&1; then
    toolchain="$(cd / && rustup default 2>/dev/null | awk 'NR==1{print $1}')" || true
    [ -n "$toolchain" ] || toolchain=stable
  fi

  # NB: errexit is suspended inside `( ... ) || handler`, hence the explicit `|| exit 1`s.
  (
    cd "$work/src" || exit 1
    export GOFLAGS="-buildvcs=false"
    export CGO_ENABLED=1
    export GO111MODULE=on
    export RUSTUP_AUTO_INSTALL=0
    [ -n "$toolchain" ] && export RUSTUP_TOOLCHAIN="$toolchain"
    export RUSTC_WRAPPER="$work/bin/rustc-cap-lints"
    export CARGO_TERM_COLOR=never
    export PKG_CONFIG_LOG="$buildlog"   # the wrapper logs cargo's output (JSON lines) here

    log "building influxdata/pkg-config wrapper (version pinned in influxdb go.mod)"
    go build -o "$work/bin/pkg-config" github.com/influxdata/pkg-config >>"$buildlog" 2>&1 || exit 1
    export PATH="$work/bin:$PATH"
    unset PKG_CONFIG

    log "go build ./cmd/influxd (downloads ~1.4 GB of Go modules, compiles libflux with cargo)"
    go build \
      -tags "sqlite_foreign_keys,sqlite_json" \
      -ldflags "-s -w -X main.version=$INFLUXDB_VERSION -X main.commit=$INFLUXDB_VERSION" \
      -o "$work/influxd" ./cmd/influxd >>"$buildlog" 2>&1 &
    local pid=$! start=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
      sleep 5
      if (( (SECONDS - start) % 60 < 5 )) && (( SECONDS - start >= 60 )); then
        log "  ... still building ($(( (SECONDS - start) / 60 )) min)"
      fi
    done
    wait "$pid"
  ) || { log "build failed; last lines of $buildlog:"; tail -n 40 "$buildlog" >&2; exit 1; }

  "$work/influxd" version >/dev/null 2>&1 || die "built influxd does not run"
  mv -f "$work/influxd" "$INFLUXD"
  rm -rf "$work"
  trap - EXIT
  log "built $("$INFLUXD" version 2>/dev/null) in $(( SECONDS - t0 ))s -> $INFLUXD"
}

cmd_install() {
  if [ -x "$INFLUXD" ] && "$INFLUXD" version >/dev/null 2>&1; then
    log "influxd ${INFLUXDB_VERSION} already built: $INFLUXD"
    return 0
  fi
  mkdir -p "$CACHE_DIR"
  need_cmd flock util-linux
  # Serialize concurrent installs (e.g. parallel CI steps).
  exec 8>"$CACHE_DIR/.install.lock"
  flock 8
  if [ -x "$INFLUXD" ] && "$INFLUXD" version >/dev/null 2>&1; then
    log "influxd ${INFLUXDB_VERSION} built by a concurrent install: $INFLUXD"
  else
    build_influxd
  fi
  exec 8>&-
}

# --------------------------------------------------------------------------------------------- runtime

read_pid() { [ -f "$PID_FILE" ] && tr -dc '0-9' <"$PID_FILE" || true; }

pid_alive() { # is the pid from the pid file a running influxd?
  local pid
  pid="$(read_pid)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q influxd
}

healthy() {
  curl -fsS --max-time 2 "$URL/health" 2>/dev/null | grep -q '"status": *"pass"'
}

# http METHOD PATH [JSON BODY] -> body on stdout; fails on non-2xx
http() {
  local method="$1" path="$2" body="${3:-}" out code
  out="$(mktemp)"
  local args=(-sS --max-time 30 -o "$out" -w '%{http_code}' -X "$method" -H 'Content-Type: application/json')
  [ -f "$TOKEN_FILE" ] && args+=(-H "Authorization: Token $(cat "$TOKEN_FILE")")
  [ -n "$body" ] && args+=(--data-binary "$body")
  code="$(curl "${args[@]}" "$URL$path")" || { rm -f "$out"; return 1; }
  if [[ "$code" != 2* ]]; then
    log "$method $path -> HTTP $code: $(head -c 500 "$out")"
    rm -f "$out"
    return 1
  fi
  cat "$out"
  rm -f "$out"
}

print_env() { cat "$ENV_FILE"; }

# INFLUX_RETENTION in seconds (0 = for ever); dies naming the variable when it is not one of the accepted forms.
retention_seconds() {
  local r="${INFLUX_RETENTION:-0}" n unit
  [ "$r" = 0 ] && { echo 0; return; }
  [[ "$r" =~ ^([1-9][0-9]*)([hdw])$ ]] || die "INFLUX_RETENTION=$r: use 0 (for ever) or a whole number with h, d or w (e.g. 400d)"
  n="${BASH_REMATCH[1]}" unit="${BASH_REMATCH[2]}"
  case "$unit" in h) echo $((n * 3600)) ;; d) echo $((n * 86400)) ;; w) echo $((n * 604800)) ;; esac
}

cmd_retention() {
  [ $# -ge 1 ] || die "usage: $0 retention BUCKET..."
  need_cmd curl curl
  healthy || die "influxd is not running at $URL"
  local secs b buckets id
  retention_seconds >/dev/null
  secs="$(retention_seconds)"
  for b in "$@"; do
    buckets="$(http GET "/api/v2/buckets?org=$INFLUX_ORG&name=$b")" || die "bucket lookup failed"
    id="$(printf '%s' "$buckets" | grep -o '"id": *"[0-9a-f]\{16\}"' | head -n1 | grep -o '[0-9a-f]\{16\}')" \
      || die "bucket $b not found in org $INFLUX_ORG"
    http PATCH "/api/v2/buckets/$id" "$(printf '{"retentionRules":[{"type":"expire","everySeconds":%s}]}' "$secs")" >/dev/null \
      || die "could not set the retention of bucket $b"
    log "bucket $b: retention ${INFLUX_RETENTION:-0} ($secs s; 0 = for ever)"
  done
}

onboard() {
  local setup
  setup="$(http GET /api/v2/setup)" || die "GET /api/v2/setup failed"
  if printf '%s' "$setup" | grep -q '"allowed": *true'; then
    local token password
    token="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    password="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    log "onboarding (org=$INFLUX_ORG bucket=$INFLUX_BUCKET user=$INFLUX_USER)"
    http POST /api/v2/setup "$(printf '{"username":"%s","password":"%s","org":"%s","bucket":"%s","token":"%s","retentionPeriodSeconds":%s}' \
      "$INFLUX_USER" "$password" "$INFLUX_ORG" "$INFLUX_BUCKET" "$token" "$(retention_seconds)")" >/dev/null || die "onboarding failed"
    umask 077
    printf '%s\n' "$token" >"$TOKEN_FILE"
    printf '%s\n' "$password" >"$STATE_DIR/password"
  fi
  [ -s "$TOKEN_FILE" ] || die "instance already onboarded but no token in $TOKEN_FILE; run '$0 down' first"

  # InfluxQL (/query) needs a database/retention-policy -> bucket mapping.
  local dbrps
  dbrps="$(http GET "/api/v2/dbrps?org=$INFLUX_ORG&db=$INFLUX_BUCKET&rp=autogen")" || die "listing DBRPs failed"
  if ! printf '%s' "$dbrps" | tr -d '\n' | grep -q '"virtual": *false'; then
    local buckets bucket_id
    buckets="$(http GET "/api/v2/buckets?org=$INFLUX_ORG&name=$INFLUX_BUCKET")" || die "bucket lookup failed"
    bucket_id="$(printf '%s' "$buckets" | grep -o '"id": *"[0-9a-f]\{16\}"' | head -n1 | grep -o '[0-9a-f]\{16\}')" \
      || die "bucket $INFLUX_BUCKET not found: $buckets"
    log "creating DBRP mapping db=$INFLUX_BUCKET rp=autogen -> bucket $bucket_id"
    http POST /api/v2/dbrps "$(printf '{"bucketID":"%s","org":"%s","database":"%s","retention_policy":"autogen","default":true}' \
      "$bucket_id" "$INFLUX_ORG" "$INFLUX_BUCKET")" >/dev/null || die "creating DBRP failed"
  fi

  printf 'INFLUX_URL=%s\nINFLUX_TOKEN=%s\nINFLUX_ORG=%s\nINFLUX_BUCKET=%s\n' \
    "$URL" "$(cat "$TOKEN_FILE")" "$INFLUX_ORG" "$INFLUX_BUCKET" >"$ENV_FILE.tmp"
  mv -f "$ENV_FILE.tmp" "$ENV_FILE"
}

wait_healthy() {
  local deadline=$((SECONDS + ${INFLUX_START_TIMEOUT:-60}))
  until healthy; do
    if ! pid_alive; then
      log "influxd exited during startup; last log lines:"
      tail -n 30 "$LOG_FILE" >&2 || true
      exit 1
    fi
    (( SECONDS < deadline )) || { tail -n 30 "$LOG_FILE" >&2 || true; die "influxd not healthy after ${INFLUX_START_TIMEOUT:-60}s"; }
    sleep 0.2
  done
}

cmd_up() {
  need_cmd curl curl
  retention_seconds >/dev/null   # a bad INFLUX_RETENTION stops here, before anything starts
  cmd_install >&2
  mkdir -p "$SERVICES_ROOT"
  exec 9>"$SERVICES_ROOT/.influxdb.lock"
  flock 9

  if pid_alive; then
    wait_healthy
    if [ -s "$ENV_FILE" ] && [ -s "$TOKEN_FILE" ]; then
      log "already running (pid $(read_pid)) at $URL"
      print_env
      return 0
    fi
    onboard
    print_env
    return 0
  fi

  if curl -s --max-time 2 -o /dev/null "$URL/health"; then
    die "something else is already listening on 127.0.0.1:$INFLUX_PORT (set INFLUX_PORT)"
  fi
  if [ -d "$STATE_DIR/data" ] && [ -s "$TOKEN_FILE" ] && [ -s "$ENV_FILE" ]; then
    # Left by `stop` (e.g. an outage test that did not finish): keep its data and token.
    log "restarting on the data left by 'stop'"
  else
    # Not running: start from a clean, throw-away state dir.
    rm -rf "$STATE_DIR"
    mkdir -p "$STATE_DIR/data"
  fi

  local t0=$SECONDS
  launch
  wait_healthy
  onboard
  log "up in $(( SECONDS - t0 ))s (pid $(read_pid))"
  print_env
}

# Starts influxd in the background on $STATE_DIR/data (which must exist); the caller waits for health.
launch() {
  log "starting influxd on $URL (data: $STATE_DIR/data, log: $LOG_FILE)"
  (
    cd "$STATE_DIR"
    # An empty config path so a stray config.{toml,yaml,json} in some cwd is never picked up.
    export INFLUXD_CONFIG_PATH="$STATE_DIR"
    exec setsid "$INFLUXD" \
      --http-bind-address "127.0.0.1:$INFLUX_PORT" \
      --bolt-path "$STATE_DIR/data/influxd.bolt" \
      --engine-path "$STATE_DIR/data/engine" \
      --sqlite-path "$STATE_DIR/data/influxd.sqlite" \
      --reporting-disabled \
      --ui-disabled \
      --log-level "${INFLUX_LOG_LEVEL:-info}" \
      </dev/null >>"$LOG_FILE" 2>&1 8>&- 9>&-   # don't leak the lock fds into the daemon
  ) &
  echo $! >"$PID_FILE"
}

# SIGTERM, then SIGKILL after 20 s; the data dir stays.
stop_influxd() {
  local pid
  pid="$(read_pid)"
  if pid_alive; then
    log "stopping influxd (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "influxd did not stop in 20s; killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  else
    log "influxd not running"
  fi
}

cmd_start() {
  need_cmd curl curl
  mkdir -p "$SERVICES_ROOT"
  exec 9>"$SERVICES_ROOT/.influxdb.lock"
  flock 9
  if pid_alive; then
    wait_healthy
    log "already running (pid $(read_pid)) at $URL"
    return 0
  fi
  [ -d "$STATE_DIR/data" ] && [ -s "$TOKEN_FILE" ] || die "no data left by 'stop' in $STATE_DIR; use '$0 up'"
  [ -x "$INFLUXD" ] || die "influxd is not built; use '$0 up'"
  if curl -s --max-time 2 -o /dev/null "$URL/health"; then
    die "something else is already listening on 127.0.0.1:$INFLUX_PORT (set INFLUX_PORT)"
  fi
  local t0=$SECONDS
  launch
  wait_healthy
  log "started again in $(( SECONDS - t0 ))s (pid $(read_pid))"
}

cmd_stop() {
  mkdir -p "$SERVICES_ROOT"
  exec 9>"$SERVICES_ROOT/.influxdb.lock"
  flock 9
  stop_influxd
}

cmd_down() {
  stop_influxd
  rm -rf "$STATE_DIR"
}

cmd_status() {
  if pid_alive && healthy; then
    log "running (pid $(read_pid)) at $URL"
    return 0
  fi
  log "not running"
  return 1
}

case "${1:-}" in
  install) cmd_install ;;
  up) cmd_up ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  down) cmd_down ;;
  status) cmd_status ;;
  retention) shift; cmd_retention "$@" ;;
  *) echo "usage: $0 {install|up|start|stop|down|status|retention BUCKET...}" >&2; exit 2 ;;
esac
