// The wire contract for sensor readings. Every part of the platform (edge agents, ingest, stores, API) imports
// these schemas; nothing else defines what a reading is. Types are inferred from the schemas.
import { z } from 'zod';

/** Metric names and units per sensor kind. Extend as needed; never rename (stored data and rules refer to them). */
export const METRICS = {
  noise: { laeq_db: 'dB(A)', lmax_db: 'dB(A)', l10_db: 'dB(A)', l50_db: 'dB(A)', l90_db: 'dB(A)' },
  dust: {
    pm25_ugm3: 'µg/m³',
    pm10_ugm3: 'µg/m³',
    tsp_ugm3: 'µg/m³',
    temp_c: '°C',
    rh_pct: '%',
    wind_ms: 'm/s',
    wind_dir_deg: '°',
    pressure_kpa: 'kPa',
  },
  fume: { fume_mgm3: 'mg/m³', purifier_on: '0|1', fan_on: '0|1' },
  drainage: { level_cm: 'cm', flow_ls: 'L/s', rain_mmh: 'mm/h' },
  manhole: { tilt_deg: '°', open: '0|1', water_cm: 'cm', battery_pct: '%', rssi_dbm: 'dBm' },
} as const satisfies Record<string, Record<string, string>>;

export const KINDS = Object.keys(METRICS) as SensorKind[];
export type SensorKind = keyof typeof METRICS;
export const SensorKindSchema = z.enum(Object.keys(METRICS) as [SensorKind, ...SensorKind[]]);

/** District and device ids are topic levels: no wildcards, separators or spaces. */
export const IdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'only letters, digits, "_", "-" and "." are allowed');

// Timestamps earlier than 2000 or later than 2100 are not clock skew but garbage (seconds sent as milliseconds,
// a counter, a zero). Skew inside that range is kept so the sensor-health detectors can report it.
const TS_MIN = Date.UTC(2000, 0, 1);
const TS_MAX = Date.UTC(2100, 0, 1);

const TS_MESSAGE = 'ts must be epoch milliseconds (an integer) or an ISO-8601 date-time with a zone';
const IsoDateTime = z.iso.datetime({ offset: true });

export const TimestampSchema = z
  .union([z.number(), z.string()], { error: TS_MESSAGE })
  .transform((v, ctx) => {
    if (typeof v === 'number') {
      if (Number.isInteger(v)) return v;
      ctx.addIssue({ code: 'custom', message: 'ts in epoch milliseconds must be an integer' });
      return z.NEVER;
    }
    if (IsoDateTime.safeParse(v).success) return Date.parse(v);
    ctx.addIssue({ code: 'custom', message: TS_MESSAGE });
    return z.NEVER;
  })
  .refine((ms) => ms >= TS_MIN && ms < TS_MAX, 'ts is outside 2000..2100 (epoch milliseconds expected)');

const MetricValueSchema = z.number().refine(Number.isFinite, 'metric values must be finite numbers');

export const ReadingSchema = z.strictObject({
  ts: TimestampSchema,
  seq: z.number().int().nonnegative().optional(),
  metrics: z
    .record(z.string().min(1).max(64), MetricValueSchema)
    .refine((m) => Object.keys(m).length > 0, 'metrics must not be empty'),
  /**
   * Data flags per metric, as devices report them (HJ 212: N normal, F stopped, M maintenance, S manual, D fault,
   * C calibrating, T over range, B communication fault). A metric without a flag is normal. A flagged value is
   * stored with its flag and never raises an exceedance alert.
   */
  flags: z.record(z.string().min(1).max(64), z.string().regex(/^[A-Za-z]$/, 'a flag is one letter such as N, F, M, D, C, T')).optional(),
});

export const MAX_BATCH = 1000;

export const ReadingBatchSchema = z.strictObject({ batch: z.array(ReadingSchema).min(1).max(MAX_BATCH) });

/** A message on the readings topic: one reading or a batch of them. */
export const ReadingsPayloadSchema = z.union([ReadingSchema, ReadingBatchSchema]);

export type Reading = z.output<typeof ReadingSchema>;
export type ReadingInput = z.input<typeof ReadingSchema>;
export type ReadingsPayload = z.input<typeof ReadingsPayloadSchema>;

/** Where a reading came from, taken from its topic. */
export interface DeviceRef {
  district: string;
  kind: SensorKind;
  deviceId: string;
}

/** A validated reading with its origin: what stores keep and the bus carries. */
export interface StoredReading extends DeviceRef {
  ts: number;
  seq?: number;
  metrics: Record<string, number>;
  /** Only flags other than N are kept (see ReadingSchema). */
  flags?: Record<string, string>;
}

export const TOPIC_ROOT = 'city/v1';

export function readingsTopic(d: DeviceRef): string {
  return `${TOPIC_ROOT}/${d.district}/${d.kind}/${d.deviceId}/readings`;
}

export function statusTopic(d: DeviceRef): string {
  return `${TOPIC_ROOT}/${d.district}/${d.kind}/${d.deviceId}/status`;
}

/** The subscription filter that matches every readings topic. */
export const READINGS_FILTER = `${TOPIC_ROOT}/+/+/+/readings`;

export type TopicParse = { ok: true; device: DeviceRef } | { ok: false; reason: string };

export function parseReadingsTopic(topic: string): TopicParse {
  const parts = topic.split('/');
  if (parts.length !== 6 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT || parts[5] !== 'readings') {
    return { ok: false, reason: `topic must be ${TOPIC_ROOT}/{district}/{kind}/{deviceId}/readings` };
  }
  const [, , district, kind, deviceId] = parts as [string, string, string, string, string];
  if (!SensorKindSchema.safeParse(kind).success) {
    return { ok: false, reason: `unknown sensor kind "${kind}" (known: ${KINDS.join(', ')})` };
  }
  if (!IdSchema.safeParse(district).success) return { ok: false, reason: `invalid district "${district}" in topic` };
  if (!IdSchema.safeParse(deviceId).success) return { ok: false, reason: `invalid device id "${deviceId}" in topic` };
  return { ok: true, device: { district, kind: kind as SensorKind, deviceId } };
}

/** Metric names a kind may carry; unknown names are rejected so typos don't become new series. */
export function unknownMetrics(kind: SensorKind, metrics: Record<string, number>): string[] {
  const known = METRICS[kind] as Record<string, string>;
  return Object.keys(metrics).filter((m) => !(m in known));
}
