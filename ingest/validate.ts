// Turns one MQTT message into validated readings, or a reason that a person can act on.
import type { z } from 'zod';
import {
  fastReadings,
  metricNames,
  parseReadingsTopic,
  ReadingBatchSchema,
  ReadingSchema,
  unknownMetrics,
  type StoredReading,
  type TopicParse,
} from '../contracts/index.js';

export type Validation = { ok: true; readings: StoredReading[] } | { ok: false; reason: string };

export interface ValidateOptions {
  /** Larger payloads are refused before parsing. */
  maxPayloadBytes: number;
}

export function validateMessage(topic: string, payload: Buffer, opts: ValidateOptions): Validation {
  const t = readingsTopic(topic);
  if (!t.ok) return t;
  if (payload.length > opts.maxPayloadBytes) {
    return { ok: false, reason: `payload of ${payload.length} bytes exceeds the limit of ${opts.maxPayloadBytes}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `payload is not valid JSON: ${(e as Error).message}` };
  }
  // Pick the schema by shape rather than trying a union, so the reason names the right field.
  const isBatch = typeof json === 'object' && json !== null && 'batch' in json;
  // The plainly valid message takes the compiled path; anything else the schema, for its verdict and its reason.
  let list = fastReadings(json);
  if (!list) {
    const parsed = isBatch ? ReadingBatchSchema.safeParse(json) : ReadingSchema.safeParse(json);
    if (!parsed.success) return { ok: false, reason: describe(parsed.error) };
    list = isBatch
      ? (parsed.data as z.output<typeof ReadingBatchSchema>).batch
      : [parsed.data as z.output<typeof ReadingSchema>];
  }
  const { district, kind, deviceId } = t.device;
  const known = metricNames(kind);
  const readings: StoredReading[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const r = list[i]!;
    let allKnown = true;
    for (const m in r.metrics) if (!known.has(m)) allKnown = false;
    // unknownMetrics only for a reading that has one: an empty array a reading was garbage at 200,000 readings/s.
    const unknown = allKnown ? null : unknownMetrics(kind, r.metrics);
    if (unknown !== null && unknown.length > 0) {
      const where = isBatch ? `batch[${i}].metrics` : 'metrics';
      return {
        ok: false,
        reason: `${where}: unknown metric ${unknown.map((m) => `"${m}"`).join(', ')} for kind ${kind}`,
      };
    }
    let flags: Record<string, string> | undefined;
    if (r.flags) {
      for (const m in r.flags) {
        if (!(m in r.metrics)) {
          return { ok: false, reason: `${isBatch ? `batch[${i}].` : ''}flags: "${m}" is not a metric of this reading` };
        }
        const f = r.flags[m]!.toUpperCase();
        // N is "normal", the same as no flag: only the exceptions are stored.
        if (f !== 'N') (flags ??= {})[m] = f;
      }
    }
    readings[i] = flags
      ? { district, kind, deviceId, ts: r.ts, seq: r.seq, metrics: r.metrics, flags }
      : { district, kind, deviceId, ts: r.ts, seq: r.seq, metrics: r.metrics };
  }
  return { ok: true, readings };
}

// Valid topics seen recently, with the device they name: a device publishes on one topic for ever, and checking its
// levels again for every message cost ingest more than the readings themselves. Cleared when full, which bounds it.
const topics = new Map<string, TopicParse>();
const TOPICS_KEPT = 50_000;

function readingsTopic(topic: string): TopicParse {
  let t = topics.get(topic);
  if (t) return t;
  t = parseReadingsTopic(topic);
  if (t.ok) {
    if (topics.size >= TOPICS_KEPT) topics.clear();
    topics.set(topic, t);
  }
  return t;
}

function describe(err: z.ZodError): string {
  const first = err.issues.slice(0, 3).map((i) => {
    const path = i.path.reduce<string>(
      (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
      '',
    );
    return path ? `${path}: ${i.message}` : i.message;
  });
  const more = err.issues.length > 3 ? ` (+${err.issues.length - 3} more)` : '';
  return first.join('; ') + more;
}
