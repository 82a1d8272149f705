#!/usr/bin/env bash
# Mosquitto 2 on loopback for tests and local runs, from Debian's package.
#
# Usage: scripts/services.d/mosquitto.sh <command>
#   install  apt-get install mosquitto if the binary is missing
#   up       install, start (from an empty broker if it was not running), wait until it answers, print
#            MQTT_URL=mqtt://127.0.0.1:<port>
#   start    start again on the existing state (persisted sessions and queues survive)
#   stop     stop gracefully (SIGTERM: Mosquitto writes its persistence file), keep state
#   kill     stop with SIGKILL, keep state
#   down     stop and delete the state dir
#   status   exit 0 if running and answering
# Environment: MOSQUITTO_PORT (default 18830), SERVICES_DIR (default /tmp/city-services).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${MOSQUITTO_PORT:-18830}"
STATE="${SERVICES_DIR:-/tmp/city-services}/mosquitto"
PID_FILE="$STATE/mosquitto.pid"
CONF="$STATE/mosquitto.conf"

log() { echo "mosquitto: $*" >&2; }

install() {
  if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then return; fi
  log "installing Debian package mosquitto"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends mosquitto mosquitto-clients >&2
  # The package may start a system broker on 1883, which the embedded default of npm start also wants.
  if command -v service >/dev/null 2>&1; then service mosquitto stop >/dev/null 2>&1 || true; fi
  pkill -x mosquitto 2>/dev/null || true
}

bin() { command -v mosquitto 2>/dev/null || echo /usr/sbin/mosquitto; }

running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

answering() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

start() {
  if running; then return; fi
  mkdir -p "$STATE"
  # Started as root, Mosquitto drops to the user named in its config (default "mosquitto"): that user must own the
  # state dir, or persistence and the log fail with "Permission denied" and sessions do not survive a restart.
  local user; user="$(id -un)"
  if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then user=mosquitto; chown -R mosquitto: "$STATE"; fi
  sed -e "s|@PORT@|$PORT|g" -e "s|@STATE@|$STATE|g" -e "s|@USER@|$user|g" "$HERE/mosquitto/mosquitto.conf.template" >"$CONF"
  if answering; then log "port $PORT is taken by another process; set MOSQUITTO_PORT"; exit 1; fi
  "$(bin)" -c "$CONF" >>"$STATE/mosquitto.out" 2>&1 &
  echo $! >"$PID_FILE"
  for _ in $(seq 1 100); do
    if answering; then return; fi
    if ! running; then log "failed to start:"; tail -n 20 "$STATE/mosquitto.out" "$STATE/mosquitto.log" >&2 || true; exit 1; fi
    sleep 0.1
  done
  log "did not open port $PORT within 10 s"; exit 1
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

case "${1:-}" in
  install) install ;;
  # A run starts from an empty broker: what an earlier run left queued is of no use to it and costs every autosave.
  # `start` keeps the state, for the tests that restart the broker and expect their sessions back.
  up) install; running || rm -f "$STATE/mosquitto.db"; start; echo "MQTT_URL=mqtt://127.0.0.1:$PORT" ;;
  start) start ;;
  stop) stop TERM ;;
  kill) stop KILL ;;
  down) stop TERM; rm -rf "$STATE" ;;
  status) running && answering ;;
  *) echo "usage: $0 install|up|start|stop|kill|down|status" >&2; exit 2 ;;
esac
