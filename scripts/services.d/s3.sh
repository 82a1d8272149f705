#!/usr/bin/env bash
# A real S3-compatible object store on loopback for the evidence store's S3 backend: Versity's versitygw, an S3
# gateway over a POSIX directory, built from the Go module proxy (no Docker, no prebuilt downloads).
#
# Usage: scripts/services.d/s3.sh {install|up|start|stop|kill|down|status}
#
#   install  Build versitygw $VERSITYGW_VERSION into ${CITY_CACHE:-$HOME/.cache/city-sensing}/s3/<version>/versitygw
#            (no-op when already built). Needs: go >= 1.25 (older go with GOTOOLCHAIN=auto fetches it through the
#            module proxy). Network: only the Go module proxy.
#   up       Install if needed, start it on 127.0.0.1:${S3_PORT:-19000} over ${SERVICES_DIR:-/tmp/city-services}/s3,
#            create the bucket "evidence" and print the EVIDENCE_S3_* lines on stdout.
#   start    Start it again on the objects left by stop/kill.
#   stop     SIGTERM, keep the objects.      kill  SIGKILL, keep the objects (tests: the server dies mid-write).
#   down     Stop it and delete its objects.  status  exit 0 if running and answering.
#
# Why versitygw: MinIO's module is refused by the Go module proxy ("This module version is not available", tried
# RELEASE.2025-04-22T22-12-26Z); versitygw v1.8.0 is a plain module (`go install pkg@version` works) and serves the
# S3 API (SigV4, PUT/GET/HEAD/DELETE/List, conditional PUT) over files it writes with fsync.
set -euo pipefail

VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"
PORT="${S3_PORT:-19000}"
ACCESS_KEY="city-evidence"
SECRET_KEY="city-evidence-secret-for-tests"
BUCKET="evidence"
REGION="us-east-1"

CACHE_DIR="${CITY_CACHE:-$HOME/.cache/city-sensing}/s3/${VERSITYGW_VERSION#v}"
BIN="$CACHE_DIR/versitygw"
STATE="${SERVICES_DIR:-/tmp/city-services}/s3"
PID_FILE="$STATE/versitygw.pid"
URL="http://127.0.0.1:$PORT"

log() { echo "s3: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

works() { [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; }

build() {
  command -v go >/dev/null 2>&1 || die "'go' is required to build versitygw"
  mkdir -p "$CACHE_DIR"
  local t0=$SECONDS buildlog="$CACHE_DIR/build.log"
  log "building versitygw $VERSITYGW_VERSION from the Go module proxy (cold caches: 576 s measured on 2 shared cores; log: $buildlog)"
  # GOBIN puts the binary straight into the cache; CGO off: a static binary, no C toolchain needed.
  if ! GOFLAGS='-buildvcs=false' GO111MODULE=on CGO_ENABLED=0 GOBIN="$CACHE_DIR" \
      go install -trimpath -ldflags '-s -w' "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" >"$buildlog" 2>&1; then
    tail -n 30 "$buildlog" >&2; die "go install failed"
  fi
  works || die "the built versitygw does not run"
  log "built versitygw $VERSITYGW_VERSION in $(( SECONDS - t0 ))s -> $BIN"
}

install() {
  works && return 0
  mkdir -p "$CACHE_DIR"
  exec 8>"$CACHE_DIR/.install.lock"
  flock 8
  works || build
  exec 8>&-
}

running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }
answering() { curl -fsS -o /dev/null "$URL/health" 2>/dev/null; }

start() {
  if running; then return; fi
  mkdir -p "$STATE/data"
  if answering; then die "port $PORT is taken by another process; set S3_PORT"; fi
  # setsid: its own session, so the caller's Ctrl-C or a test's process group does not take it down.
  ROOT_ACCESS_KEY="$ACCESS_KEY" ROOT_SECRET_KEY="$SECRET_KEY" setsid "$BIN" --port "127.0.0.1:$PORT" \
    --region "$REGION" --health /health --quiet posix "$STATE/data" >>"$STATE/versitygw.log" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  for _ in $(seq 1 100); do
    if answering; then return; fi
    if ! running; then log "failed to start:"; tail -n 20 "$STATE/versitygw.log" >&2; exit 1; fi
    sleep 0.1
  done
  die "did not answer on $URL within 10 s"
}

stop() {
  local sig="${1:-TERM}"
  if ! running; then rm -f "$PID_FILE"; return; fi
  local pid; pid="$(cat "$PID_FILE")"
  kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
}

create_bucket() {
  # A bucket made through the S3 API (not mkdir), so the gateway writes its owner and ACL metadata. 409: it exists.
  # curl signs but does not send the payload hash, which the gateway requires: the SHA-256 of the empty body.
  local code
  code="$(curl -sS -o "$STATE/create-bucket.out" -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:$REGION:s3" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    --user "$ACCESS_KEY:$SECRET_KEY" "$URL/$BUCKET")"
  case "$code" in 200|409) ;; *) cat "$STATE/create-bucket.out" >&2; die "creating bucket $BUCKET: HTTP $code" ;; esac
}

print_env() {
  echo "EVIDENCE_S3_ENDPOINT=$URL"
  echo "EVIDENCE_S3_BUCKET=$BUCKET"
  echo "EVIDENCE_S3_REGION=$REGION"
  echo "EVIDENCE_S3_ACCESS_KEY_ID=$ACCESS_KEY"
  echo "EVIDENCE_S3_SECRET_ACCESS_KEY=$SECRET_KEY"
}

case "${1:-}" in
  install) install ;;
  up) install; start; create_bucket; print_env ;;
  start) start ;;
  stop) stop TERM ;;
  kill) stop KILL ;;
  down) stop TERM; rm -rf "$STATE" ;;
  status) running && answering ;;
  *) echo "usage: $0 install|up|start|stop|kill|down|status" >&2; exit 2 ;;
esac
