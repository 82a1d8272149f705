// Readings on the bus (topic `readings`, key = device id): what ingest publishes and the detectors and the console's
// device list consume. A message holds one device's readings of one ingest batch, a JSON array in arrival order.
// One message a reading made Kafka cost a produce() call, a delivery report and a record per reading, and held
// production ingest to half of its InfluxDB-only rate (issue 19); a device sends its readings in batches (an edge
// agent, an HJ 212 monitor), so grouping by key gives the broker about 100× fewer records with the order per device
// unchanged. A single reading object (one a message, as ingest published before this contract) is read too, so a
// consumer upgraded first keeps reading what an older ingest still publishes.
import { z } from 'zod';
import { ByteWriter, DeviceBytes, NameBytes } from '../runtime/bytes.js';
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
 * JSON array in arrival order.
 */
export function encodeBusReadings(readings: readonly StoredReading[]): { key: string; value: Buffer }[] {
  const batch = new BusReadingsBatch();
  batch.add(readings);
  return batch.messages();
}

/**
 * The bus messages of a batch, encoded as its readings arrive (ingest adds each MQTT message's readings), so that a
 * batch waiting for its write holds bytes rather than reading objects: objects that live through several scavenges
 * are what garbage collection costs most (issue 19). messages() gives what encodeBusReadings gives for all of them.
 */
export class BusReadingsBatch {
  private readonly out = new ByteWriter(1 << 14);
  /** Per device, in order of first arrival: its runs of readings, as [start, end, count] triples of `out`. */
  private readonly runs = new Map<string, number[]>();
  private runCount = 0;
  private done: { key: string; value: Buffer }[] | null = null;

  add(readings: readonly StoredReading[]): void {
    if (this.done) throw new Error('BusReadingsBatch: add() after messages()');
    const w = this.out;
    let i = 0;
    while (i < readings.length) {
      // A run: consecutive readings of one device, at most a message's worth (an MQTT message is one device's).
      const device = readings[i]!.deviceId;
      const start = w.pos;
      let count = 0;
      while (i < readings.length && readings[i]!.deviceId === device && count < BUS_READINGS_PER_MESSAGE) {
        if (count > 0) w.byte(COMMA);
        text.reading(w, readings[i]!);
        count++;
        i++;
      }
      const list = this.runs.get(device);
      if (list) list.push(start, w.pos, count);
      else this.runs.set(device, [start, w.pos, count]);
      this.runCount++;
    }
  }

  /** One message per device and per BUS_READINGS_PER_MESSAGE readings; the same array when asked again. */
  messages(): { key: string; value: Buffer }[] {
    if (this.done) return this.done;
    const w = this.out;
    // One buffer that the messages share: a message may wait in the producer's queue for room.
    const all = Buffer.allocUnsafe(w.pos + 3 * this.runCount); // with a bracket pair or a comma a run
    let at = 0;
    const out: { key: string; value: Buffer }[] = [];
    for (const [key, list] of this.runs) {
      let start = -1;
      let count = 0;
      for (let k = 0; k < list.length; k += 3) {
        const n = list[k + 2]!;
        if (start >= 0 && count + n > BUS_READINGS_PER_MESSAGE) {
          all[at++] = CLOSE_ARRAY;
          out.push({ key, value: all.subarray(start, at) });
          start = -1;
        }
        if (start < 0) {
          start = at;
          count = 0;
          all[at++] = OPEN_ARRAY;
        } else all[at++] = COMMA;
        at += w.buf.copy(all, at, list[k]!, list[k + 1]!);
        count += n;
      }
      all[at++] = CLOSE_ARRAY;
      out.push({ key, value: all.subarray(start, at) });
    }
    this.done = out;
    return out;
  }
}

const OPEN_ARRAY = 91; // [
const CLOSE_ARRAY = 93; // ]
const CLOSE_OBJECT = 125; // }
const COMMA = 44;
const QUOTE = 34;
const TS = Buffer.from(',"ts":');
const SEQ = Buffer.from(',"seq":');
const METRICS = Buffer.from(',"metrics":{');
const FLAGS = Buffer.from('},"flags":{');

/**
 * What JSON.stringify gives for a reading (with ts and seq before metrics), written as bytes: at 150,000 readings/s
 * with Kafka on, JSON.stringify's strings and their conversion to bytes were a third of what ingest allocated
 * (issue 19). Names are quoted once and kept; the caches are bounded.
 */
class BusReadingText {
  /** `{"district":..,"kind":..,"deviceId":..` per device. */
  private readonly heads = new DeviceBytes(
    (d) =>
      `{"district":${JSON.stringify(d.district)},"kind":${JSON.stringify(d.kind)},"deviceId":${JSON.stringify(d.deviceId)}`,
  );
  /** `"name":` per metric name. */
  private readonly names = new NameBytes((name) => `${JSON.stringify(name)}:`);

  reading(w: ByteWriter, r: StoredReading): void {
    w.bytes(this.heads.get(r));
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
        // Flags are letters checked by the contract (/^[A-Za-z]$/): nothing to escape, no string to make.
        w.bytes(this.names.get(m, first));
        w.byte(QUOTE);
        w.ascii(r.flags[m]!);
        w.byte(QUOTE);
        first = false;
      }
    }
    w.byte(CLOSE_OBJECT);
    w.byte(CLOSE_OBJECT);
  }
}

const text = new BusReadingText();

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
