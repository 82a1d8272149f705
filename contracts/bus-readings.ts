// Readings on the bus (topic `readings`, key = device id): what ingest publishes and the detectors and the console's
// device list consume. A message holds one device's readings of one ingest batch, a JSON array in arrival order.
// One message a reading made Kafka cost a produce() call, a delivery report and a record per reading, and held
// production ingest to half of its InfluxDB-only rate (issue 19); a device sends its readings in batches (an edge
// agent, an HJ 212 monitor), so grouping by key gives the broker about 100× fewer records with the order per device
// unchanged. A single reading object (one a message, as ingest published before this contract) is read too, so a
// consumer upgraded first keeps reading what an older ingest still publishes.
import { z } from 'zod';
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

/** The bus messages for a batch of stored readings: one per device (and per BUS_READINGS_PER_MESSAGE readings). */
export function encodeBusReadings(readings: readonly StoredReading[]): { key: string; value: string }[] {
  const byDevice = new Map<string, StoredReading[]>();
  for (const r of readings) {
    const list = byDevice.get(r.deviceId);
    if (list) list.push(r);
    else byDevice.set(r.deviceId, [r]);
  }
  const out: { key: string; value: string }[] = [];
  for (const [key, list] of byDevice) {
    for (let i = 0; i < list.length; i += BUS_READINGS_PER_MESSAGE) {
      out.push({
        key,
        value: JSON.stringify(
          list.length <= BUS_READINGS_PER_MESSAGE ? list : list.slice(i, i + BUS_READINGS_PER_MESSAGE),
        ),
      });
    }
  }
  return out;
}

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
