#!/bin/sh
# Runs a platform process with its InfluxDB token read from INFLUX_TOKEN_FILE (docker-compose.yml: the role's volume
# written by the influxdb-tokens service), so the token is neither in the compose file nor in `docker inspect`.
#   sh deploy/influx-token.sh node dist/app/main.js
set -eu
if [ -n "${INFLUX_TOKEN_FILE:-}" ]; then
  if ! [ -r "$INFLUX_TOKEN_FILE" ] || ! [ -s "$INFLUX_TOKEN_FILE" ]; then
    echo "INFLUX_TOKEN_FILE: cannot read a token from $INFLUX_TOKEN_FILE (made by the influxdb-tokens service)" >&2
    exit 1
  fi
  INFLUX_TOKEN="$(cat "$INFLUX_TOKEN_FILE")"
  export INFLUX_TOKEN
  unset INFLUX_TOKEN_FILE
fi
exec "$@"
