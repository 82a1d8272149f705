#!/usr/bin/env bash
# What the RTSP camera tests and bench need: ffmpeg from Debian's packages (the edge agent's `rtsp` camera source
# decodes streams with it; the tests also make their clip and publish it with it) and mediamtx, an RTSP server built
# from the Go module proxy. Not a running service: each test starts its own mediamtx on free loopback ports
# (edge/drivers/camera/testdata/rtsp-server.ts), so one test can kill its server mid-stream without touching another.
#
# Usage: scripts/services.d/rtsp.sh <command>
#   install  apt-get install ffmpeg if missing; build mediamtx $MEDIAMTX_VERSION into
#            ${CITY_CACHE:-~/.cache/city-sensing}/mediamtx/<version>/mediamtx if not built yet
#   up       install, print FFMPEG=<path> and MEDIAMTX=<path>
#   down     nothing to stop
#   status   exit 0 if both are installed
#
# How mediamtx is built: `go install` cannot build it, since files its code embeds are made by `go generate`
# (which downloads from hosts other than the module proxy) and are not in the module: the module is fetched with
# `go mod download -json`, copied, given stand-ins for them (VERSION, and an empty hls.min.js: the tests use no HLS)
# and built with `go build`. Measured on 2 cores with empty Go module and build caches: 4 min 11 s, and 7 min 20 s
# while other builds and tests shared the cores (1 min 10 s of CPU: mostly downloads); 0.1 s once built. ffmpeg from
# Debian adds about a minute when missing.
# Network: the Go module proxy and Debian's packages only.
set -euo pipefail

MEDIAMTX_VERSION="${MEDIAMTX_VERSION:-v1.12.3}"
MEDIAMTX_MODULE="github.com/bluenviron/mediamtx"
CACHE_DIR="${CITY_CACHE:-$HOME/.cache/city-sensing}/mediamtx/${MEDIAMTX_VERSION#v}"
MTX_BIN="$CACHE_DIR/mediamtx"

log() { echo "rtsp: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ffmpeg_bin() { command -v ffmpeg 2>/dev/null || true; }

install_ffmpeg() {
  [ -z "$(ffmpeg_bin)" ] || return 0
  log "installing Debian package ffmpeg"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends ffmpeg >&2 || { apt-get update -qq >&2; apt-get install -y -qq --no-install-recommends ffmpeg >&2; }
}

build_mediamtx() {
  [ -x "$MTX_BIN" ] && "$MTX_BIN" --help >/dev/null 2>&1 && return 0
  command -v go >/dev/null 2>&1 || die "'go' is required to build mediamtx"
  mkdir -p "$CACHE_DIR"
  local work buildlog modjson moddir t0=$SECONDS
  work="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  buildlog="$CACHE_DIR/build.log"
  : >"$buildlog"
  log "building mediamtx $MEDIAMTX_VERSION from the Go module proxy (cold caches: ~4 min on 2 cores; log: $buildlog)"
  modjson="$(cd "$work" && GOFLAGS='' GO111MODULE=on go mod download -json "$MEDIAMTX_MODULE@$MEDIAMTX_VERSION" 2>>"$buildlog")" \
    || { printf '%s\n' "${modjson:-}" >&2; tail -n 20 "$buildlog" >&2; die "go mod download failed"; }
  moddir="$(printf '%s\n' "$modjson" | sed -n 's/^[[:space:]]*"Dir": *"\(.*\)",\{0,1\}$/\1/p' | head -n1)"
  [ -n "$moddir" ] && [ -f "$moddir/go.mod" ] || die "could not locate the module dir in: $modjson"
  cp -R "$moddir" "$work/src"
  chmod -R u+w "$work/src"
  printf '%s' "$MEDIAMTX_VERSION" >"$work/src/internal/core/VERSION"
  echo '// not used: the tests serve no HLS' >"$work/src/internal/servers/hls/hls.min.js"
  ( cd "$work/src" && GO111MODULE=on CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o "$work/mediamtx" . ) >>"$buildlog" 2>&1 \
    || { tail -n 30 "$buildlog" >&2; die "go build failed"; }
  mv "$work/mediamtx" "$MTX_BIN"
  log "built mediamtx in $((SECONDS - t0)) s"
}

install() { install_ffmpeg; build_mediamtx; }

case "${1:-}" in
  install) install ;;
  up)
    install
    echo "FFMPEG=$(ffmpeg_bin)"
    echo "MEDIAMTX=$MTX_BIN" ;;
  start|stop|kill|down) ;;
  status) [ -n "$(ffmpeg_bin)" ] && [ -x "$MTX_BIN" ] ;;
  *) echo "usage: $0 install|up|down|status" >&2; exit 2 ;;
esac
