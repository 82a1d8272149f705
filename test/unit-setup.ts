// The unit project runs without the services: the addresses that test/global-setup.ts would have set are removed,
// also when the shell has them, so a test that needs Mosquitto, InfluxDB, Kafka, Chromium, S3 or RTSP but is not
// listed as e2e in vitest.config.ts fails loudly here (test/helpers.ts's mqttUrl() and the others throw).
const SERVICE_VARIABLES =
  /^(MQTT_URL|INFLUX_(URL|TOKEN|ORG|BUCKET)|KAFKA_BROKERS|CHROMIUM|EVIDENCE_S3_.*|FFMPEG|MEDIAMTX|PDFTOTEXT|LIGHTTPD|PROMTOOL|KUSTOMIZE|KUBECONFORM|KUBE_SCHEMAS)$/;

for (const name of Object.keys(process.env)) if (SERVICE_VARIABLES.test(name)) delete process.env[name];
