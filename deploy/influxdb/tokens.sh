#!/bin/sh
# The platform's InfluxDB tokens, one per role, scoped to one bucket (docker-compose.yml, service influxdb-tokens; run
# by the influxdb:2.7 image, whose `influx` CLI takes INFLUX_HOST, INFLUX_TOKEN (the operator's) and INFLUX_ORG from
# the environment). For each grant `role=rights` of INFLUX_TOKENS (rights: read, write or read,write), writes the
# role's token to /tokens/<role>/token (mode 0444, one volume per role), keeping a token that InfluxDB still lists and
# making a new one (and deleting the role's old ones) otherwise. So it runs at every `up` and is idempotent.
#   INFLUX_TOKENS="ingest=write api=read,write detectors=write vision=write" INFLUX_BUCKET_NAME=readings
set -eu
: "${INFLUX_TOKENS:?INFLUX_TOKENS is empty}"
: "${INFLUX_BUCKET_NAME:?INFLUX_BUCKET_NAME is empty}"

log() { printf 'influxdb-tokens: %s\n' "$*" >&2; }

# Table rows start with the ID.
bucket_id="$(influx bucket list --name "$INFLUX_BUCKET_NAME" --hide-headers | awk 'NR == 1 { print $1 }')"
[ -n "$bucket_id" ] || { log "bucket $INFLUX_BUCKET_NAME not found in organization $INFLUX_ORG"; exit 1; }
known="$(influx auth list --hide-headers)"

for grant in $INFLUX_TOKENS; do
  role="${grant%%=*}"
  rights="${grant#*=}"
  dir="/tokens/$role"
  [ -d "$dir" ] || { log "no volume mounted at $dir for role $role"; exit 1; }
  if [ -s "$dir/token" ] && printf '%s\n' "$known" | grep -qF "$(cat "$dir/token")"; then
    log "$role: token kept"
    continue
  fi
  set --
  case ",$rights," in *,read,*) set -- "$@" --read-bucket "$bucket_id" ;; esac
  case ",$rights," in *,write,*) set -- "$@" --write-bucket "$bucket_id" ;; esac
  [ $# -gt 0 ] || { log "$role: rights '$rights' name neither read nor write"; exit 1; }
  # Tokens of this role made before (their file lost or the token revoked) go, so old copies open nothing.
  for old in $(printf '%s\n' "$known" | grep -E "[[:space:]]city-sensing $role[[:space:]]" | awk '{ print $1 }'); do
    influx auth delete --id "$old" >/dev/null && log "$role: old token $old deleted"
  done
  # `--json` is indented one key a line.
  token="$(influx auth create --description "city-sensing $role" "$@" --json | sed -n 's/^ *"token": *"\([^"]*\)".*/\1/p' | head -n 1)"
  [ -n "$token" ] || { log "$role: influx auth create gave no token"; exit 1; }
  umask 0222
  rm -f "$dir/token.new"
  printf '%s' "$token" >"$dir/token.new"
  mv -f "$dir/token.new" "$dir/token"
  log "$role: new token ($rights on bucket $INFLUX_BUCKET_NAME)"
done
