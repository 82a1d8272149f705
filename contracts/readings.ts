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
/** Every kind of device: the sensor kinds, and street cameras (which report their status, not readings). */
export const DeviceKindSchema = z.union([SensorKindSchema, z.literal('camera')]);
export type DeviceKind = SensorKind | 'camera';

/**
 * What district and device ids may hold, as the inside of a regular-expression character class ("-" last, so more
 * characters can be put in front of it). Ids are topic levels: no wildcards, separators or spaces.
 */
export const ID_CHARACTERS = 'A-Za-z0-9_.-';
export const ID_CHARACTERS_SAID = 'only letters, digits, "_", "-" and "." are allowed';
export const IdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(new RegExp(`^[${ID_CHARACTERS}]+$`), ID_CHARACTERS_SAID);

// Timestamps earlier than 2000 or later than 2100 are not clock skew but garbage (seconds sent as milliseconds,
// a counter, a zero). Skew inside that range is kept so the sensor-health detectors can report it.
export const TS_MIN = Date.UTC(2000, 0, 1);
export const TS_MAX = Date.UTC(2100, 0, 1);

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

const FLAG_LETTER = /^[A-Za-z]$/;

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
  flags: z
    .record(z.string().min(1).max(64), z.string().regex(FLAG_LETTER, 'a flag is one letter such as N, F, M, D, C, T'))
    .optional(),
});

export const MAX_BATCH = 1000;

export const ReadingBatchSchema = z.strictObject({ batch: z.array(ReadingSchema).min(1).max(MAX_BATCH) });

/**
 * ReadingSchema and ReadingBatchSchema compiled by hand for the common case, because ingest meets it at 100,000s of
 * readings a second and the schemas cost most of its time (issue 19's profile). It returns the readings of a plainly
 * valid message, the same as the schema's output, and null for anything else (a string ts, a missing field, an extra
 * key, a bad value...): then the schema decides and gives the reason. So it can only ever accept what the schema
 * accepts, and the messages users read stay the schema's; readings.fast.test.ts pins both over a corpus of malformed
 * messages. The schemas stay the documentation of the contract.
 */
export function fastReadings(json: unknown): Reading[] | null {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return null;
  const o = json as Record<string, unknown>;
  if (!('batch' in o)) return isPlainReading(o) ? [o as unknown as Reading] : null;
  const batch = o.batch;
  let keys = 0;
  for (const _ in o) keys++;
  if (keys !== 1 || !Array.isArray(batch) || batch.length === 0 || batch.length > MAX_BATCH) return null;
  for (let i = 0; i < batch.length; i++) {
    const r: unknown = batch[i];
    if (typeof r !== 'object' || r === null || Array.isArray(r) || !isPlainReading(r as Record<string, unknown>))
      return null;
  }
  return batch as Reading[];
}

/** One reading as JSON.parse gives it: only ts (integer ms in range), seq, metrics and flags, all well-formed. */
function isPlainReading(r: Record<string, unknown>): boolean {
  for (const k in r) {
    if (k !== 'ts' && k !== 'seq' && k !== 'metrics' && k !== 'flags') return false;
  }
  const ts = r.ts;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < TS_MIN || ts >= TS_MAX) return false;
  const seq = r.seq;
  if (seq !== undefined && (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)) return false;
  const m = r.metrics;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false;
  let metrics = 0;
  for (const k in m) {
    const v = (m as Record<string, unknown>)[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || k.length === 0 || k.length > 64 || k === '__proto__')
      return false;
    metrics++;
  }
  if (metrics === 0) return false;
  const f = r.flags;
  if (f !== undefined) {
    if (typeof f !== 'object' || f === null || Array.isArray(f)) return false;
    for (const k in f) {
      const v = (f as Record<string, unknown>)[k];
      if (
        typeof v !== 'string' ||
        v.length !== 1 ||
        !FLAG_LETTER.test(v) ||
        k.length === 0 ||
        k.length > 64 ||
        k === '__proto__'
      )
        return false;
    }
  }
  return true;
}

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
  const known = METRIC_NAMES[kind];
  return Object.keys(metrics).filter((m) => !known.has(m));
}

// Sets, not `m in METRICS[kind]`: that also took "constructor" or "toString" (inherited names) for metrics.
const METRIC_NAMES = Object.fromEntries(KINDS.map((k) => [k, new Set(Object.keys(METRICS[k]))])) as unknown as Record<
  SensorKind,
  ReadonlySet<string>
>;

/** The metric names a kind may carry. */
export function metricNames(kind: SensorKind): ReadonlySet<string> {
  return METRIC_NAMES[kind];
}
