#!/bin/bash
# Run once by the influxdb:2.7 image after its first-start setup (DOCKER_INFLUXDB_INIT_MODE=setup), with the influx
# CLI logged in as the operator. Maps InfluxQL database/retention policy readings/autogen onto the bucket, as
# scripts/services.d/influxdb.sh does for the test instance, so that /query behaves the same in both.
set -euo pipefail
influx v1 dbrp create \
  --org "${DOCKER_INFLUXDB_INIT_ORG}" \
  --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --db "${DOCKER_INFLUXDB_INIT_BUCKET}" \
  --rp autogen \
  --default
