#!/usr/bin/env bash
# Proves that the production broker configuration works on a real Mosquitto: deploy/mosquitto/mosquitto.conf with
# tls.conf appended, as docker-compose.yml runs them (listeners moved to 127.0.0.1:<free ports>, file paths moved to a
# temp dir, everything else as shipped), the ACL file, a password file hashed from passwords.example by
# make-passwords.sh, and a CA and server certificate made with openssl for this run. Self-contained: starts its own
# broker, stops it and deletes its temp dir on exit, whatever happens.
#
# Usage: deploy/mosquitto/check.sh        (exit 0 when every check passed; last line "N passed, N failed")
# Needs: mosquitto, mosquitto_pub/mosquitto_sub, mosquitto_passwd (Debian packages mosquitto and mosquitto-clients;
# installed with apt-get when missing and running as root), openssl.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EXAMPLE="$HERE/passwords.example"
TIMEOUT_S=5

log() { printf 'check: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ------------------------------------------------------------------------------------------------------ tools

MOSQUITTO="$(command -v mosquitto 2>/dev/null || echo /usr/sbin/mosquitto)"
if ! [ -x "$MOSQUITTO" ] || ! command -v mosquitto_pub >/dev/null 2>&1 || ! command -v mosquitto_passwd >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || die "needs the Debian packages mosquitto and mosquitto-clients"
  log "installing Debian packages mosquitto mosquitto-clients"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto mosquitto-clients >&2
  # The package may start a system broker; this check runs its own.
  if command -v service >/dev/null 2>&1; then service mosquitto stop >/dev/null 2>&1 || true; fi
  MOSQUITTO="$(command -v mosquitto 2>/dev/null || echo /usr/sbin/mosquitto)"
fi

# ------------------------------------------------------------------------------------------------------ broker

TMP="$(mktemp -d "${TMPDIR:-/tmp}/mosquitto-check.XXXXXX")"
BROKER_PID=""
BG_PIDS=()
WILL_PID=""
cleanup() {
  local p
  for p in "${BG_PIDS[@]}" $WILL_PID; do kill "$p" 2>/dev/null || true; done
  if [ -n "$BROKER_PID" ]; then
    kill "$BROKER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$BROKER_PID" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

answering() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=""
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 40000))
  if ! answering "$p"; then PORT=$p; break; fi
done
[ -n "$PORT" ] || die "no free port found"
TLS_PORT=""
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 40000))
  if [ "$p" != "$PORT" ] && ! answering "$p"; then TLS_PORT=$p; break; fi
done
[ -n "$TLS_PORT" ] || die "no free port found for the TLS listener"

# A CA of this run and the broker's certificate it signs (tls.conf's ca.crt, server.crt, server.key), as a city makes
# its own; and a second CA the broker does not use, for a client that trusts the wrong one.
command -v openssl >/dev/null 2>&1 || die "needs openssl"
make_ca() { # make_ca <dir> <name>
  local d="$1" ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  mkdir -p "$d"
  openssl req -x509 "${ec[@]}" -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 -subj "/CN=$2 check CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>>"$TMP/openssl.log"
  openssl req "${ec[@]}" -keyout "$d/server.key" -out "$d/server.csr" -subj /CN=localhost 2>>"$TMP/openssl.log"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -out "$d/server.crt" -days 2 \
    -extfile "$d/server.ext" 2>>"$TMP/openssl.log"
}
make_ca "$TMP/tls" city || { cat "$TMP/openssl.log" >&2; die "openssl could not make the test CA"; }
make_ca "$TMP/stranger" stranger || { cat "$TMP/openssl.log" >&2; die "openssl could not make the second CA"; }

"$HERE/make-passwords.sh" "$EXAMPLE" "$TMP/passwords" 2>"$TMP/make-passwords.log" \
  || { cat "$TMP/make-passwords.log" >&2; die "make-passwords.sh failed"; }
cp "$HERE/acl" "$TMP/acl"
mkdir -p "$TMP/data"
grep -q '^listener 1883$' "$HERE/mosquitto.conf" || die "mosquitto.conf: expected a 'listener 1883' line"
grep -q '^listener 8883$' "$HERE/tls.conf" || die "tls.conf: expected a 'listener 8883' line"
# The TLS files are under /mosquitto/auth/tls/ in the container: here $TMP/tls/, made above.
cat "$HERE/mosquitto.conf" "$HERE/tls.conf" | sed \
    -e "s|^listener 1883\$|listener $PORT 127.0.0.1|" \
    -e "s|^listener 8883\$|listener $TLS_PORT 127.0.0.1|" \
    -e "s|/mosquitto/auth/|$TMP/|g" \
    -e "s|/mosquitto/data/|$TMP/data/|g" \
    >"$TMP/mosquitto.conf"
if grep -v '^[[:space:]]*#' "$TMP/mosquitto.conf" | grep -q '/mosquitto/'; then
  die "mosquitto.conf has a path this check does not map: $(grep -v '^[[:space:]]*#' "$TMP/mosquitto.conf" | grep '/mosquitto/')"
fi
# Started as root, Mosquitto drops to the user `mosquitto` before it reads the password and ACL files (as in the
# container): give that user the files, as docker-compose.yml does.
if [ "$(id -u)" = 0 ]; then
  if id mosquitto >/dev/null 2>&1; then chown -R mosquitto: "$TMP"; else chown -R nobody: "$TMP"; fi
fi

"$MOSQUITTO" -c "$TMP/mosquitto.conf" >"$TMP/broker.log" 2>&1 &
BROKER_PID=$!
for _ in $(seq 1 100); do
  answering "$PORT" && break
  kill -0 "$BROKER_PID" 2>/dev/null || { cat "$TMP/broker.log" >&2; die "mosquitto exited at start"; }
  sleep 0.1
done
answering "$PORT" || { cat "$TMP/broker.log" >&2; die "mosquitto did not open port $PORT"; }
answering "$TLS_PORT" || { cat "$TMP/broker.log" >&2; die "mosquitto did not open its TLS port $TLS_PORT"; }
log "mosquitto $("$MOSQUITTO" -h 2>/dev/null | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p') on 127.0.0.1:$PORT, TLS on $TLS_PORT (conf: deploy/mosquitto/mosquitto.conf + tls.conf, acl, hashed passwords.example)"

# ------------------------------------------------------------------------------------------------------ helpers

pw() { # demo password of a user, from passwords.example
  local v
  v="$(sed -n "s/^$1://p" "$EXAMPLE" | head -n1)"
  [ -n "$v" ] || die "no account '$1' in passwords.example"
  printf '%s' "$v"
}
# as <user> <tool> args...: run mosquitto_pub/_sub as that user against the test broker
as() { local u="$1" tool="$2"; shift 2; timeout 15 "mosquitto_$tool" -h 127.0.0.1 -p "$PORT" -u "$u" -P "$(pw "$u")" "$@"; }
# tls_as <cafile> <user> <tool> args...: the same over TLS, trusting <cafile>; the certificate's name is checked
tls_as() { local ca="$1" u="$2" tool="$3"; shift 3; timeout 15 "mosquitto_$tool" -h localhost -p "$TLS_PORT" --cafile "$ca" -u "$u" -P "$(pw "$u")" "$@"; }

PASSED=0 FAILED=0
pass() { PASSED=$((PASSED + 1)); printf 'PASS  %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$*"; }
expect() { # expect <description> <command...>: passes when the command succeeds
  local d="$1"; shift
  if "$@"; then pass "$d"; else fail "$d"; fi
}

DEV=nz-xinhua-001                   # the device under test
OTHER=ds-xinhua-001                 # another device
OWN="city/v1/xinhua/noise/$DEV"
FOREIGN="city/v1/xinhua/dust/$OTHER"
RUN="run$$"                         # makes every payload of this run unique
CAM=cam-xinhua-001                  # a camera (username = camera id)
CAMT="city/v1/xinhua/camera/$CAM"
GW=gw-demo                          # a gateway with an HJ 212 server; its monitors' devices:
GWDEV="city/v1/xinhua/dust/ds-xinhua-sim-01"
GWCOMP="city/v1/xinhua/noise/nz-xinhua-sim-01"

# Observers, for the whole run: ingest on its MQTT 5 shared subscription, ops on a plain one, and a device that
# subscribes to everything (it must receive nothing of another device's).
start_observer() { # start_observer <name> <user> <args...>
  local name="$1" user="$2"; shift 2
  # Not through as(): $! must be mosquitto_sub itself, so that cleanup can stop it.
  mosquitto_sub -h 127.0.0.1 -p "$PORT" -u "$user" -P "$(pw "$user")" -W 120 -v "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  BG_PIDS+=("$!")
}
start_observer ingest ingest -V mqttv5 -i ingest-check -q 1 -t '$share/ingest/city/v1/#'
start_observer ops ops -V mqttv5 -i ops-check -q 1 -t 'city/v1/#'
start_observer spy "$OTHER" -V mqttv5 -i spy-check -q 1 -t 'city/v1/#'
# The frame relay on its shared subscription, and the same account subscribed to everything it might try to read.
start_observer vision vision -V mqttv5 -i vision-check -q 1 -t '$share/frames/city/v1/+/camera/+/frames'
start_observer vspy vision -V mqttv5 -i vspy-check -q 1 -t 'city/v1/#'
# The camera on its own commands topic, and the same account trying to read every camera's commands.
start_observer camcmd "$CAM" -V mqttv5 -i camcmd-check -q 1 -t "$CAMT/commands"
start_observer camspy "$CAM" -V mqttv5 -i camspy-check -q 1 -t 'city/v1/+/camera/+/commands'

seen_by() { grep -qF -- "$2" "$TMP/$1.out"; }

# Publishes an allowed marker until every observer that may read it has it: proves the observers are subscribed,
# and, since the broker handles messages in order, that everything published before has been routed.
sync_marker=0
settle() {
  sync_marker=$((sync_marker + 1))
  local m="settle-$RUN-$sync_marker"
  for _ in $(seq 1 40); do
    as "$DEV" pub -q 1 -t "$OWN/readings" -m "$m" 2>/dev/null || true
    if seen_by ingest "$m" && seen_by ops "$m"; then return 0; fi
    sleep 0.25
  done
  log "observers did not see $m; ingest: $(cat "$TMP/ingest.err"); ops: $(cat "$TMP/ops.err")"
  return 1
}

refused() { # refused <user> <password>: the connection is refused as not authorised
  local out
  if out="$(timeout "$TIMEOUT_S" mosquitto_pub -h 127.0.0.1 -p "$PORT" ${1:+-u "$1"} ${2:+-P "$2"} \
      -t "$OWN/readings" -m "refused-$RUN" 2>&1)"; then return 1; fi
  grep -qi 'not authori[sz]ed' <<<"$out"
}

# ------------------------------------------------------------------------------------------------------ checks

settle || die "observers never became ready"

echo "-- authentication"
expect "anonymous client is refused (allow_anonymous false)" refused "" ""
expect "device with a wrong password is refused" refused "$DEV" "wrong-password"
expect "unknown user is refused" refused "no-such-device" "whatever"
expect "device with its password connects" as "$DEV" pub -q 1 -t "$OWN/readings" -m "auth-$RUN"

echo "-- a device publishes its own topics"
expect "device publishes its readings (QoS 1)" as "$DEV" pub -q 1 -t "$OWN/readings" -m "own-reading-$RUN"
expect "device publishes its retained status (QoS 1)" as "$DEV" pub -q 1 -r -t "$OWN/status" -m "{\"online\":true,\"run\":\"$RUN\"}"
settle
expect "ingest receives them on \$share/ingest/city/v1/#" seen_by ingest "$OWN/readings own-reading-$RUN"
expect "ops receives them on city/v1/#" seen_by ops "$OWN/status {\"online\":true,\"run\":\"$RUN\"}"
retained="$(as ops sub -t "$OWN/status" -C 1 -W "$TIMEOUT_S" 2>/dev/null || true)"
expect "the status is retained" test "$retained" = "{\"online\":true,\"run\":\"$RUN\"}"

echo "-- a device cannot publish as another device"
expect "QoS 0 (MQTT 3.1.1) publish on another device's topic is accepted by the client..." \
  as "$DEV" pub -q 0 -t "$FOREIGN/readings" -m "forged-q0-$RUN"
out="$(as "$DEV" pub -V mqttv5 -q 1 -t "$FOREIGN/readings" -m "forged-q1-$RUN" 2>&1 || true)"
expect "MQTT 5 QoS 1 publish on another device's topic: PUBACK says not authorized" grep -qi 'not authori[sz]ed' <<<"$out"
as "$DEV" pub -q 1 -t "$FOREIGN/status" -r -m "forged-status-$RUN" 2>/dev/null || true
as "$DEV" pub -q 1 -t "$OWN/readings/extra" -m "forged-extra-$RUN" 2>/dev/null || true
as "$DEV" pub -q 1 -t "city/v1/xinhua/noise/$DEV/commands" -m "forged-cmd-$RUN" 2>/dev/null || true
as "$DEV" pub -q 1 -t "city/v2/xinhua/noise/$DEV/readings" -m "forged-v2-$RUN" 2>/dev/null || true
settle
forged() { ! grep -q "forged-.*-$RUN" "$TMP/ingest.out" "$TMP/ops.out" "$TMP/spy.out" "$TMP/vision.out" "$TMP/vspy.out" "$TMP/camcmd.out" "$TMP/camspy.out"; }
expect "...but no subscriber receives any forged message (other device, other suffix, other version)" forged
retained="$(as ops sub -t "$FOREIGN/status" -C 1 -W 2 2>/dev/null || true)"
expect "no forged retained status is stored" test -z "$retained"

echo "-- a device reads nothing"
spy_saw_nothing() { ! grep -qF -- "$OWN/" "$TMP/spy.out"; }
expect "a device subscribed to city/v1/# receives no other device's messages" spy_saw_nothing

echo "-- last will (the edge agent's 'connection lost' status)"
# A client that dies without DISCONNECT: its will is published only if the ACL lets that user write the will topic.
will_client() { # will_client <will topic> <payload>
  mosquitto_sub -h 127.0.0.1 -p "$PORT" -u "$DEV" -P "$(pw "$DEV")" -i "will-$RUN-$RANDOM" -W 30 -t "$OWN/never" \
    --will-topic "$1" --will-payload "$2" --will-qos 1 --will-retain >/dev/null 2>&1 &
  WILL_PID=$!
  sleep 0.7
  kill -KILL "$WILL_PID" 2>/dev/null || true
  wait "$WILL_PID" 2>/dev/null || true
  WILL_PID=""
}
will_client "$OWN/status" "{\"online\":false,\"reason\":\"connection lost\",\"run\":\"$RUN\"}"
will_client "$FOREIGN/status" "forged-will-$RUN"
settle
expect "own will on .../status is delivered" seen_by ops "$OWN/status {\"online\":false,\"reason\":\"connection lost\",\"run\":\"$RUN\"}"
expect "a will on another device's status is dropped" forged

echo "-- services"
out="$(as ingest pub -V mqttv5 -q 1 -t "$OWN/readings" -m "forged-ingest-$RUN" 2>&1 || true)"
expect "ingest cannot publish (reads only): PUBACK says not authorized" grep -qi 'not authori[sz]ed' <<<"$out"
# The broker container's healthcheck in docker-compose.yml:
reads() { as "$1" sub -t "$2" -C 1 -W "$TIMEOUT_S" >/dev/null; }
expect "health reads \$SYS/broker/uptime (the compose healthcheck)" reads health '$SYS/broker/uptime'
retained="$(as health sub -t "$OWN/status" -C 1 -W 2 2>/dev/null || true)"
expect "health reads nothing under city/v1/" test -z "$retained"
expect "ops reads \$SYS" reads ops '$SYS/broker/version'
expect "ops clears a retained status (empty retained message)" as ops pub -q 1 -r -t "$OWN/status" -n
retained="$(as ops sub -t "$OWN/status" -C 1 -W 2 2>/dev/null || true)"
expect "...and it is gone" test -z "$retained"
wait_seen() { # wait_seen <observer> <text>: up to 10 s
  for _ in $(seq 1 40); do seen_by "$1" "$2" && return 0; sleep 0.25; done
  return 1
}
not_authorized() { # not_authorized <user> <topic>: an MQTT 5 QoS 1 publish is answered "not authorized"
  local out
  out="$(as "$1" pub -V mqttv5 -q 1 -t "$2" -m "forged-$1-$RUN" 2>&1 || true)"
  grep -qi 'not authori[sz]ed' <<<"$out"
}

echo "-- cameras"
expect "camera publishes its frames (MQTT 5, QoS 1, user properties ts and seq)" \
  as "$CAM" pub -V mqttv5 -q 1 -t "$CAMT/frames" -D publish user-property ts 1795770000000 -D publish user-property seq 0 -m "frame-$RUN"
expect "camera publishes its retained status" as "$CAM" pub -q 1 -r -t "$CAMT/status" -m "{\"online\":true,\"run\":\"$RUN\"}"
expect "the frame relay (vision) receives the frame on \$share/frames/city/v1/+/camera/+/frames" wait_seen vision "$CAMT/frames frame-$RUN"
settle
expect "ops receives frames and the camera's status" seen_by ops "$CAMT/status {\"online\":true,\"run\":\"$RUN\"}"
ingest_no_frames() { ! grep -qF -- "frame-$RUN" "$TMP/ingest.out"; }
expect "ingest receives no frames (the ACL denies it their bytes)..." ingest_no_frames
expect "...but does receive the camera's status" seen_by ingest "$CAMT/status {\"online\":true,\"run\":\"$RUN\"}"
expect "camera cannot publish another camera's frames: PUBACK says not authorized" not_authorized "$CAM" "city/v1/xinhua/camera/cam-other-9/frames"
as "$CAM" pub -q 1 -t "$OWN/readings" -m "forged-cam-reading-$RUN" 2>/dev/null || true
as "$CAM" pub -q 1 -t "$CAMT/commands" -m "forged-cam-cmd-$RUN" 2>/dev/null || true
as "$DEV" pub -q 1 -t "$CAMT/frames" -m "forged-dev-frame-$RUN" 2>/dev/null || true
settle
expect "...nor a sensor's readings or its own commands topic; a sensor cannot publish the camera's frames" forged

echo "-- loudspeaker commands (the notice service to a camera's edge agent)"
PLAY="{\"type\":\"play\",\"id\":\"check-$RUN\",\"text\":\"play-$RUN\",\"repeat\":1,\"issuedAt\":0}"
expect "notices publishes a play command on the camera's commands topic (QoS 1)" as notices pub -V mqttv5 -q 1 -t "$CAMT/commands" -m "$PLAY"
expect "the camera receives it on its own commands topic" wait_seen camcmd "$CAMT/commands $PLAY"
expect "notices publishes to another camera's commands topic" as notices pub -V mqttv5 -q 1 -t "city/v1/xinhua/camera/cam-other-9/commands" -m "other-cmd-$RUN"
settle
camspy_own_only() { seen_by camspy "$CAMT/commands $PLAY" && ! grep -qF -- "other-cmd-$RUN" "$TMP/camspy.out"; }
expect "a camera subscribed to every camera's commands receives only its own" camspy_own_only
expect "notices cannot publish frames: PUBACK says not authorized" not_authorized notices "$CAMT/frames"
expect "notices cannot publish readings: PUBACK says not authorized" not_authorized notices "$OWN/readings"
retained="$(as notices sub -t "$CAMT/status" -C 1 -W 2 2>/dev/null || true)"
expect "notices reads nothing (not even a camera's retained status)" test -z "$retained"
as "$DEV" pub -q 1 -t "$CAMT/commands" -m "forged-dev-cmd-$RUN" 2>/dev/null || true
as "$GW" pub -q 1 -t "$CAMT/commands" -m "forged-gw-cmd-$RUN" 2>/dev/null || true
settle
expect "neither a sensor nor a gateway can command a camera" forged

echo "-- a gateway (HJ 212 server) publishes for the monitors behind it"
expect "gateway publishes readings of its device" as "$GW" pub -q 1 -t "$GWDEV/readings" -m "gw-reading-$RUN"
expect "gateway publishes readings of the device's companion" as "$GW" pub -q 1 -t "$GWCOMP/readings" -m "gw-companion-$RUN"
expect "gateway publishes its device's retained status" as "$GW" pub -q 1 -r -t "$GWDEV/status" -m "{\"online\":true,\"gw\":\"$RUN\"}"
expect "gateway publishes dead letters on city/v1/_gateway/$GW/dead-letters" as "$GW" pub -q 1 -t "city/v1/_gateway/$GW/dead-letters" -m "gw-dead-$RUN"
settle
expect "ingest receives all four" seen_by ingest "$GWDEV/readings gw-reading-$RUN"
expect "...2" seen_by ingest "$GWCOMP/readings gw-companion-$RUN"
expect "...3" seen_by ingest "$GWDEV/status {\"online\":true,\"gw\":\"$RUN\"}"
expect "...4" seen_by ingest "city/v1/_gateway/$GW/dead-letters gw-dead-$RUN"
expect "gateway cannot publish for a device not behind it: PUBACK says not authorized" not_authorized "$GW" "$FOREIGN/readings"
expect "gateway cannot publish another gateway's dead letters" not_authorized "$GW" "city/v1/_gateway/nbiot/dead-letters"

echo "-- the NB-IoT receiver"
expect "nbiot publishes manhole readings" as nbiot pub -q 1 -t "city/v1/xinhua/manhole/mh-xinhua-0001/readings" -m "nb-reading-$RUN"
expect "nbiot publishes its dead letters" as nbiot pub -q 1 -t "city/v1/_gateway/nbiot/dead-letters" -m "nb-dead-$RUN"
settle
expect "ingest receives both" seen_by ingest "city/v1/xinhua/manhole/mh-xinhua-0001/readings nb-reading-$RUN"
expect "...2" seen_by ingest "city/v1/_gateway/nbiot/dead-letters nb-dead-$RUN"
expect "nbiot cannot publish other kinds: PUBACK says not authorized" not_authorized nbiot "$OWN/readings"
expect "nbiot cannot publish a status" not_authorized nbiot "city/v1/xinhua/manhole/mh-xinhua-0001/status"
expect "nbiot cannot publish a gateway's dead letters" not_authorized nbiot "city/v1/_gateway/$GW/dead-letters"

echo "-- MQTT over TLS (tls.conf)"
expect "device publishes its readings over TLS, trusting the city's CA" tls_as "$TMP/tls/ca.crt" "$DEV" pub -q 1 -t "$OWN/readings" -m "tls-reading-$RUN"
settle
expect "ingest (on the plain port) receives them: one broker, two listeners" seen_by ingest "$OWN/readings tls-reading-$RUN"
tls_untrusted() { # a client that trusts another CA: the handshake fails, nothing is published
  local out
  if out="$(tls_as "$TMP/stranger/ca.crt" "$DEV" pub -q 1 -t "$OWN/readings" -m "forged-untrusted-$RUN" 2>&1)"; then return 1; fi
  grep -qiE 'certificate|tls|ssl' <<<"$out"
}
expect "a client that trusts another CA is refused (certificate verify failed)" tls_untrusted
tls_wrong_password() {
  local out
  if out="$(timeout "$TIMEOUT_S" mosquitto_pub -h localhost -p "$TLS_PORT" --cafile "$TMP/tls/ca.crt" -u "$DEV" -P wrong-password \
      -t "$OWN/readings" -m "forged-tls-pw-$RUN" 2>&1)"; then return 1; fi
  grep -qi 'not authori[sz]ed' <<<"$out"
}
expect "over TLS a wrong password is refused (the same password file)" tls_wrong_password
out="$(tls_as "$TMP/tls/ca.crt" "$DEV" pub -V mqttv5 -q 1 -t "$FOREIGN/readings" -m "forged-tls-q1-$RUN" 2>&1 || true)"
expect "over TLS another device's topic is not authorized (the same ACL)" grep -qi 'not authori[sz]ed' <<<"$out"
plain_to_tls() { ! timeout "$TIMEOUT_S" mosquitto_pub -h 127.0.0.1 -p "$TLS_PORT" -u "$DEV" -P "$(pw "$DEV")" -t "$OWN/readings" -m "forged-plain-$RUN" >/dev/null 2>&1; }
expect "plain MQTT to the TLS port gets nowhere" plain_to_tls

echo "-- the frame relay's account"
expect "vision cannot publish: PUBACK says not authorized" not_authorized vision "$CAMT/frames"
vision_reads_only_frames() { ! grep -v "^city/v1/[^/]*/camera/[^/]*/frames " "$TMP/vspy.out" | grep -q .; }
expect "vision subscribed to city/v1/# receives frames and nothing else" vision_reads_only_frames
expect "...and it did receive the frame" seen_by vspy "$CAMT/frames frame-$RUN"

settle
expect "no forged message reached any subscriber (final check)" forged

if [ "$FAILED" -gt 0 ]; then
  log "broker log:"
  sed 's/^/  /' "$TMP/broker.log" >&2
fi
echo "check: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
