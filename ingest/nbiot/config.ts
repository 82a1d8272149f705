// Configuration of the NB-IoT push receiver: which carrier format, how the sender proves who it is, which carrier
// devices are ours, and how the fields of their service data become manhole metrics. Validated with zod so that a
// mistake stops the receiver with the field named.
import { z } from 'zod';
import { IdSchema, METRICS } from '../../contracts/index.js';
import { parseConfig, readJsonFile } from '../../runtime/config.js';

const MANHOLE_METRICS = Object.keys(METRICS.manhole) as [
  keyof typeof METRICS.manhole,
  ...(keyof typeof METRICS.manhole)[],
];
export const ManholeMetricSchema = z.enum(MANHOLE_METRICS);
export type ManholeMetric = z.infer<typeof ManholeMetricSchema>;

/**
 * The shared token, in a header or in a query parameter of the push URL. CTWing does not sign its HTTP pushes, so
 * the token goes into the subscription URL (`...?token=...`) or a header of a relay in front; always over HTTPS.
 */
export const TokenAuthSchema = z
  .strictObject({
    mode: z.literal('token'),
    token: z.string().min(16, 'use a token of at least 16 characters'),
    /** Header carrying the token (case-insensitive); "Bearer " before the token is accepted. */
    header: z.string().min(1).optional(),
    /** Query parameter carrying the token. */
    query: z.string().min(1).optional(),
  })
  .transform((a) => ({ ...a, header: a.header ?? (a.query ? undefined : 'x-nbiot-token') }));

/** HMAC of the raw body with a shared secret, in a header: hex or base64, optionally prefixed "sha256=". */
export const HmacAuthSchema = z.strictObject({
  mode: z.literal('hmac'),
  secret: z.string().min(16, 'use a secret of at least 16 characters'),
  header: z.string().min(1).default('x-signature'),
  algorithm: z.enum(['sha256', 'sha1']).default('sha256'),
  encoding: z.enum(['hex', 'base64']).default('hex'),
});

export const AuthSchema = z.discriminatedUnion('mode', [TokenAuthSchema, HmacAuthSchema]);
export type AuthConfig = z.output<typeof AuthSchema>;
export type AuthInput = z.input<typeof AuthSchema>;

/** How one field of the carrier's service data becomes a metric: value = raw * scale + offset. */
export const FieldMapSchema = z.strictObject({
  metric: ManholeMetricSchema,
  scale: z.number().refine(Number.isFinite).default(1),
  offset: z.number().refine(Number.isFinite).default(0),
  /** Text values and what they mean, e.g. {"open": 1, "closed": 0}; booleans are 1 and 0. */
  values: z.record(z.string(), z.number()).optional(),
});
export type FieldMap = z.output<typeof FieldMapSchema>;

const OPEN_VALUES = { open: 1, opened: 1, displaced: 1, abnormal: 1, closed: 0, close: 0, normal: 0 };

/**
 * Field names seen in manhole-cover profiles (物模型) of several vendors. There is no standard: a vendor with other
 * names adds them in `fields` (which extends these; `null` removes one). All values are taken as the metric's unit
 * (degrees, cm, %, dBm): a vendor reporting water in mm or RSRP as a positive magnitude needs `scale`.
 */
export const DEFAULT_FIELDS: Record<string, z.input<typeof FieldMapSchema>> = {
  tilt_angle: { metric: 'tilt_deg' },
  tiltAngle: { metric: 'tilt_deg' },
  angle: { metric: 'tilt_deg' },
  tilt: { metric: 'tilt_deg' },
  cover_status: { metric: 'open', values: OPEN_VALUES },
  coverStatus: { metric: 'open', values: OPEN_VALUES },
  open_status: { metric: 'open', values: OPEN_VALUES },
  open: { metric: 'open', values: OPEN_VALUES },
  water_level: { metric: 'water_cm' },
  waterLevel: { metric: 'water_cm' },
  battery_value: { metric: 'battery_pct' },
  battery_level: { metric: 'battery_pct' },
  batteryLevel: { metric: 'battery_pct' },
  Battery_Level: { metric: 'battery_pct' },
  battery: { metric: 'battery_pct' },
  rsrp: { metric: 'rssi_dbm' },
  RSRP: { metric: 'rssi_dbm' },
  rssi: { metric: 'rssi_dbm' },
  signal_strength: { metric: 'rssi_dbm' },
};

/** A dot path into the push JSON: "a.b.0.c"; "" is the whole body. */
const PathSchema = z
  .string()
  .max(200)
  .regex(/^$|^[^.]+(\.[^.]+)*$/, 'a path is names separated by dots, such as "data.imei"');

/** Another platform's JSON, described by where things are in it. */
export const MappingSchema = z.strictObject({
  deviceId: PathSchema.min(1),
  /** The platform's message id; without it, an id is derived from device, time and content. */
  messageId: PathSchema.min(1).optional(),
  timestamp: PathSchema.min(1),
  /** Unit of a numeric timestamp; ISO-8601 strings with a zone are accepted either way. */
  timestampUnit: z.enum(['ms', 's']).default('ms'),
  /** The object holding the service fields. */
  fields: PathSchema.default(''),
  /** A value naming the event (its key in `eventMetrics`). */
  event: PathSchema.min(1).optional(),
});

export const DeviceMapSchema = z.strictObject({
  /** The carrier's device id (CTWing deviceId) or the module's IMEI. */
  carrierId: z.string().min(1).max(128),
  id: IdSchema,
  district: IdSchema,
});

export const NbiotConfigSchema = z
  .strictObject({
    /** ctwing: China Telecom AEP (CTWing) HTTP subscription push; mapping: another platform, see `mapping`. */
    format: z.enum(['ctwing', 'mapping']).default('ctwing'),
    mapping: MappingSchema.optional(),
    auth: AuthSchema,
    devices: z.array(DeviceMapSchema).min(1, 'map at least one carrier device to a device of ours'),
    fields: z.record(z.string().min(1), FieldMapSchema.nullable()).default({}),
    /**
     * Metrics an event implies by itself, by event key (CTWing: the event's serviceId; mapping: the value at
     * `mapping.event`), e.g. {"1002": {"open": 1}} for a vendor whose "cover opened" event carries no field.
     */
    eventMetrics: z.record(z.string().min(1), z.partialRecord(ManholeMetricSchema, z.number())).default({}),
    idempotency: z.strictObject({
      /** Directory of the file of recently seen message ids. */
      dir: z.string().min(1),
      maxIds: z.number().int().min(100).default(100_000),
      maxAgeDays: z.number().min(0.01).default(7),
    }),
    mqtt: z.strictObject({
      url: z.string().regex(/^(mqtts?|wss?|tcp):\/\/.+/, 'must be a broker URL such as mqtt://host:1883'),
      clientId: z.string().min(1).max(128).default('nbiot-receiver'),
      username: z.string().optional(),
      password: z.string().optional(),
      /** The CA trusted for an mqtts:// broker (PEM file); else Node's public CAs. MQTT_CA_FILE overrides it. */
      caFile: z.string().min(1).optional(),
      /** A push waits at most this long for the broker's acknowledgement before it is answered 503. */
      publishTimeoutMs: z.number().int().min(100).max(30_000).default(3000),
    }),
    /**
     * Larger pushes are answered 413. The cap keeps a dead letter (the body in base64, 4/3 as large) under ingest's
     * default 256 KiB message limit; NB-IoT messages are far smaller.
     */
    bodyLimitBytes: z
      .number()
      .int()
      .min(1024)
      .max(190_000)
      .default(64 * 1024),
    /** The standalone receiver process (main.ts); ignored when the routes are mounted in another server. */
    http: z
      .strictObject({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(1).max(65535).default(8081),
        /** Behind a reverse proxy that terminates TLS: take the client address from X-Forwarded-For. */
        trustProxy: z.boolean().default(false),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.format === 'mapping' && !c.mapping)
      ctx.addIssue({ code: 'custom', path: ['mapping'], message: 'format "mapping" needs a mapping' });
    const seen = new Set<string>();
    c.devices.forEach((d, i) => {
      if (seen.has(d.carrierId))
        ctx.addIssue({
          code: 'custom',
          path: ['devices', i, 'carrierId'],
          message: `carrier device ${d.carrierId} is mapped twice`,
        });
      seen.add(d.carrierId);
    });
  });

export type NbiotConfig = z.output<typeof NbiotConfigSchema>;
export type NbiotConfigInput = z.input<typeof NbiotConfigSchema>;

/** The defaults with the configured fields laid over them (null removes a default). */
export function effectiveFields(cfg: NbiotConfig): Map<string, FieldMap> {
  const out = new Map<string, FieldMap>();
  for (const [k, v] of Object.entries(DEFAULT_FIELDS)) out.set(k, FieldMapSchema.parse(v));
  for (const [k, v] of Object.entries(cfg.fields)) {
    if (v === null) out.delete(k);
    else out.set(k, v);
  }
  return out;
}

/** Reads the config file; MQTT_URL, MQTT_USERNAME, MQTT_PASSWORD, MQTT_CA_FILE and NBIOT_DATA_DIR from the environment override it. */
export function loadNbiotConfig(file: string, env: NodeJS.ProcessEnv = process.env): NbiotConfig {
  const raw = readJsonFile(file);
  if (typeof raw === 'object' && raw !== null) {
    const r = raw as Record<string, Record<string, unknown> | undefined>;
    const mqtt = { ...(r.mqtt ?? {}) };
    if (env.MQTT_URL) mqtt.url = env.MQTT_URL;
    if (env.MQTT_USERNAME) mqtt.username = env.MQTT_USERNAME;
    if (env.MQTT_PASSWORD) mqtt.password = env.MQTT_PASSWORD;
    if (env.MQTT_CA_FILE) mqtt.caFile = env.MQTT_CA_FILE;
    r.mqtt = mqtt;
    if (env.NBIOT_DATA_DIR) r.idempotency = { ...(r.idempotency ?? {}), dir: env.NBIOT_DATA_DIR };
  }
  return parseConfig(NbiotConfigSchema, raw, file);
}
