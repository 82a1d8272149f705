// Readings on the bus (topic `readings`, key = device id): what ingest publishes and the detectors and the console's
// device list consume. A message holds one device's readings of one ingest batch, a JSON array in arrival order.
// One message a reading made Kafka cost a produce() call, a delivery report and a record per reading, and held
// production ingest to half of its InfluxDB-only rate (issue 19); a device sends its readings in batches (an edge
// agent, an HJ 212 monitor), so grouping by key gives the broker about 100× fewer records with the order per device
// unchanged. A single reading object (one a message, as ingest published before this contract) is read too, so a
// consumer upgraded first keeps reading what an older ingest still publishes.
import { z } from 'zod';
import { ByteWriter, NameBytes } from '../runtime/bytes.js';
import { SensorKindSchema, type StoredReading } from './readings.js';

/** At most this many readings in one bus message: about 100 bytes each keeps it far below Kafka's 1 MB record limit. */
export const BUS_READINGS_PER_MESSAGE = 1000;

// Loose objects and no per-metric checks: ingest validated them, and this runs for every reading a consumer takes.
export const BusReadingSchema = z.looseObject({
  deviceId: z.string().min(1),
  district: z.string().min(1),
  kind: SensorKindSchema,
  ts: z.number(),
  seq: z.number().optional(),
  metrics: z.record(z.string(), z.number()),
  flags: z.record(z.string(), z.string()).optional(),
}) satisfies z.ZodType<StoredReading>;

const BusReadingListSchema = z.array(BusReadingSchema).min(1);

/**
 * The bus messages for a batch of stored readings: one per device (and per BUS_READINGS_PER_MESSAGE readings), each a
 * JSON array in arrival order. Written as bytes into one buffer that the messages share (BusReadingsEncoder).
 */
export function encodeBusReadings(readings: readonly StoredReading[]): { key: string; value: Buffer }[] {
  return encoder.encode(readings);
}

const OPEN_ARRAY = 91; // [
const CLOSE_ARRAY = 93; // ]
const CLOSE_OBJECT = 125; // }
const COMMA = 44;
const TS = Buffer.from(',"ts":');
const SEQ = Buffer.from(',"seq":');
const METRICS = Buffer.from(',"metrics":{');
const FLAGS = Buffer.from('},"flags":{');

/**
 * What JSON.stringify gives for the readings (with ts and seq before metrics), written as bytes: at 150,000
 * readings/s with Kafka on, JSON.stringify's strings and their conversion to bytes were a third of what ingest
 * allocated (issue 19). Names are quoted once and kept; the caches are bounded.
 */
class BusReadingsEncoder {
  private readonly out = new ByteWriter(1 << 20);
  /** `{"deviceId":..,"district":..,"kind":..` per device. */
  private readonly heads = new Map<string, { district: string; kind: string; head: Buffer }>();
  /** `"name":` per metric name. */
  private readonly names = new NameBytes((name) => `${JSON.stringify(name)}:`);

  encode(readings: readonly StoredReading[]): { key: string; value: Buffer }[] {
    const byDevice = new Map<string, StoredReading[]>();
    for (const r of readings) {
      const list = byDevice.get(r.deviceId);
      if (list) list.push(r);
      else byDevice.set(r.deviceId, [r]);
    }
    const w = this.out;
    w.reset();
    const spans: { key: string; start: number; end: number }[] = [];
    for (const [key, list] of byDevice) {
      for (let i = 0; i < list.length; i += BUS_READINGS_PER_MESSAGE) {
        const start = w.pos;
        w.byte(OPEN_ARRAY);
        const end = Math.min(list.length, i + BUS_READINGS_PER_MESSAGE);
        for (let k = i; k < end; k++) {
          if (k > i) w.byte(COMMA);
          this.reading(list[k]!);
        }
        w.byte(CLOSE_ARRAY);
        spans.push({ key, start, end: w.pos });
      }
    }
    // One copy that the messages share: the writer's buffer is reused by the next batch, while a message waits for
    // room in the producer's queue.
    const all = Buffer.from(w.buf.subarray(0, w.pos));
    return spans.map((s) => ({ key: s.key, value: all.subarray(s.start, s.end) }));
  }

  private reading(r: StoredReading): void {
    const w = this.out;
    let h = this.heads.get(r.deviceId);
    if (h === undefined || h.district !== r.district || h.kind !== r.kind) {
      if (this.heads.size >= 100_000) this.heads.clear();
      const head = `{"district":${JSON.stringify(r.district)},"kind":${JSON.stringify(r.kind)},"deviceId":${JSON.stringify(r.deviceId)}`;
      h = { district: r.district, kind: r.kind, head: Buffer.from(head) };
      this.heads.set(r.deviceId, h);
    }
    w.bytes(h.head);
    w.bytes(TS);
    w.number(r.ts);
    if (r.seq !== undefined) {
      w.bytes(SEQ);
      w.number(r.seq);
    }
    w.bytes(METRICS);
    let first = true;
    for (const m in r.metrics) {
      w.bytes(this.names.get(m, first));
      w.number(r.metrics[m]!);
      first = false;
    }
    if (r.flags) {
      w.bytes(FLAGS);
      first = true;
      for (const m in r.flags) {
        w.bytes(this.names.get(m, first));
        w.bytes(Buffer.from(JSON.stringify(r.flags[m])));
        first = false;
      }
    }
    w.byte(CLOSE_OBJECT);
    w.byte(CLOSE_OBJECT);
  }
}

const encoder = new BusReadingsEncoder();

/** The readings of one bus message; throws with a reason a person can act on (the dead letter's) when it has none. */
export function decodeBusReadings(value: Buffer | string): StoredReading[] {
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (e) {
    throw new Error(`not JSON: ${(e as Error).message}`);
  }
  const r = Array.isArray(json) ? BusReadingListSchema.safeParse(json) : BusReadingSchema.safeParse(json);
  if (!r.success) {
    throw new Error(
      `not the expected message: ${r.error.issues
        .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
        .join('; ')
        .slice(0, 1000)}`,
    );
  }
  return Array.isArray(r.data) ? r.data : [r.data];
}
