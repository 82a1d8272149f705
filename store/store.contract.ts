// The behaviour every Store must have, run against each implementation (duckdb/store.test.ts,
// influxdb/store.test.ts). Devices and topics are unique per run, so a store that keeps data between runs (InfluxDB)
// or is shared with other tests never shows one test another's points; counts over the whole store are compared
// as differences, which holds because test files run one after another.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter, StoredReading } from '../contracts/index.js';
import type { Store } from './types.js';

export interface StoreContractOptions {
  /**
   * Which value stays when an existing (device, metric, ts) is written again with another value: DuckDB keeps the
   * first, InfluxDB overwrites with the last (docs/influxdb.md).
   */
  duplicateKeeps: 'first' | 'last';
}

const T0 = Date.UTC(2026, 10, 27, 2, 0, 0);
const MIN = 60_000;

/** A name unique to this run. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

function noise(deviceId: string, ts: number, metrics: Record<string, number>, seq?: number): StoredReading {
  return { district: 'xinhua', kind: 'noise', deviceId, ts, metrics, ...(seq === undefined ? {} : { seq }) };
}

export function storeContract(name: string, open: () => Promise<Store>, opts: StoreContractOptions): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('answers ping', async () => {
      expect(await store.ping()).toBe(true);
    });

    describe('readings written are read back', () => {
      const dev = uniqueId('ct-read');
      // 10 timestamps, a minute apart; lmax_db only on even minutes; minute 3 arrives as two readings, one per
      // metric; one reading in 2001 and one in 2099 check that no default time range hides them.
      const at = (i: number) => T0 + i * MIN;
      const PAST = Date.UTC(2001, 0, 1);
      const FUTURE = Date.UTC(2099, 0, 1);
      const expected = new Map<number, Record<string, number>>();
      for (let i = 0; i < 10; i++)
        expected.set(at(i), i % 2 === 0 ? { laeq_db: 50 + i, lmax_db: 70 + i } : { laeq_db: 50 + i });
      expected.set(at(3), { laeq_db: 53, lmax_db: 73 });
      expected.set(PAST, { laeq_db: 40 });
      expected.set(FUTURE, { lmax_db: 90 });
      const times = [...expected.keys()].sort((a, b) => a - b);

      beforeAll(async () => {
        const readings: StoredReading[] = [];
        for (const [ts, m] of expected) {
          if (ts === at(3)) {
            readings.push(noise(dev, ts, { laeq_db: 53 }, 3), noise(dev, ts, { lmax_db: 73 }));
          } else readings.push(noise(dev, ts, m, ts === PAST || ts === FUTURE ? undefined : (ts - T0) / MIN));
        }
        // Out of time order and over two batches: the store orders.
        readings.reverse();
        await store.write(readings.slice(0, 5));
        await store.write(readings.slice(5));
      });

      it('merges the metrics of a timestamp into one row, in time order', async () => {
        const r = await store.query({ deviceId: dev, limit: 100 });
        expect(r.total).toBe(times.length);
        expect(r.readings).toEqual(times.map((ts) => ({ ts, metrics: expected.get(ts) })));
      });

      it('bounds time: from inclusive, to exclusive', async () => {
        const r = await store.query({ deviceId: dev, from: at(2), to: at(5), limit: 100 });
        expect(r.readings.map((x) => x.ts)).toEqual([at(2), at(3), at(4)]);
        expect(r.total).toBe(3);
        const open = await store.query({ deviceId: dev, from: at(9), limit: 100 });
        expect(open.readings.map((x) => x.ts)).toEqual([at(9), FUTURE]);
        const upTo = await store.query({ deviceId: dev, to: at(1), limit: 100 });
        expect(upTo.readings.map((x) => x.ts)).toEqual([PAST, at(0)]);
      });

      it('filters one metric: only timestamps that have it, only that metric', async () => {
        const r = await store.query({ deviceId: dev, metric: 'lmax_db', limit: 100 });
        const withLmax = times.filter((ts) => expected.get(ts)!.lmax_db !== undefined);
        expect(r.total).toBe(withLmax.length);
        expect(r.readings).toEqual(withLmax.map((ts) => ({ ts, metrics: { lmax_db: expected.get(ts)!.lmax_db } })));
        const none = await store.query({ deviceId: dev, metric: 'pm25_ugm3', limit: 100 });
        expect(none).toEqual({ readings: [], total: 0 });
      });

      it('limits to the first readings in time order; total counts all that match', async () => {
        const r = await store.query({ deviceId: dev, limit: 4 });
        expect(r.readings.map((x) => x.ts)).toEqual(times.slice(0, 4));
        expect(r.total).toBe(times.length);
        const page = await store.query({ deviceId: dev, from: at(5), limit: 2 });
        expect(page.readings.map((x) => x.ts)).toEqual([at(5), at(6)]);
        expect(page.total).toBe(6); // minutes 5..9 and 2099
      });

      it('knows nothing of an unknown device', async () => {
        expect(await store.query({ deviceId: uniqueId('ct-none'), limit: 10 })).toEqual({ readings: [], total: 0 });
        expect(await store.countPoints(uniqueId('ct-none'))).toBe(0);
      });

      it('counts points (device, metric, ts)', async () => {
        const points = [...expected.values()].reduce((n, m) => n + Object.keys(m).length, 0);
        expect(await store.countPoints(dev)).toBe(points);
      });
    });

    it('is idempotent: the same batch twice is stored once', async () => {
      const dev = uniqueId('ct-idem');
      const batch = Array.from({ length: 50 }, (_, i) =>
        noise(dev, T0 + i * 1000, { laeq_db: 60 + i / 10, lmax_db: 80 }, i),
      );
      await store.write(batch);
      const once = { points: await store.countPoints(dev), q: await store.query({ deviceId: dev, limit: 1000 }) };
      expect(once.points).toBe(100);
      await store.write(batch);
      await store.write(batch.slice(10, 20)); // a partial redelivery
      expect(await store.countPoints(dev)).toBe(100);
      expect(await store.query({ deviceId: dev, limit: 1000 })).toEqual(once.q);
    });

    it('stores one point for a (device, metric, ts) repeated inside one batch and across batches', async () => {
      const dev = uniqueId('ct-dup');
      await store.write([
        noise(dev, T0, { laeq_db: 61 }),
        noise(dev, T0, { laeq_db: 62 }),
        noise(dev, T0 + 1, { laeq_db: 63 }),
      ]);
      expect(await store.countPoints(dev)).toBe(2);
      const r = await store.query({ deviceId: dev, limit: 10 });
      expect(r.total).toBe(2);
      expect([61, 62]).toContain(r.readings[0]!.metrics.laeq_db);
      const kept = r.readings[0]!.metrics.laeq_db;

      await store.write([noise(dev, T0, { laeq_db: 99 })]);
      expect(await store.countPoints(dev)).toBe(2);
      const again = await store.query({ deviceId: dev, limit: 10 });
      expect(again.readings[0]!.metrics.laeq_db).toBe(opts.duplicateKeeps === 'first' ? kept : 99);
    });

    it('counts points of one device and of all devices', async () => {
      const a = uniqueId('ct-count-a');
      const b = uniqueId('ct-count-b');
      const before = await store.countPoints();
      await store.write([
        noise(a, T0, { laeq_db: 1, lmax_db: 2 }),
        noise(a, T0 + 1000, { laeq_db: 3 }),
        {
          district: 'jinghai',
          kind: 'dust',
          deviceId: b,
          ts: T0,
          metrics: { pm25_ugm3: 10, pm10_ugm3: 20, temp_c: 5 },
        },
      ]);
      expect(await store.countPoints(a)).toBe(3);
      expect(await store.countPoints(b)).toBe(3);
      expect((await store.countPoints()) - before).toBe(6);
    });

    it('keeps data flags with their values; unflagged metrics read back without flags; points are not counted twice', async () => {
      const dev = uniqueId('ct-flag');
      const t = Date.parse('2026-03-01T00:00:00Z');
      await store.write([
        {
          district: 'd1',
          kind: 'dust',
          deviceId: dev,
          ts: t,
          metrics: { pm10_ugm3: 300, pm25_ugm3: 80 },
          flags: { pm10_ugm3: 'M' },
        },
        { district: 'd1', kind: 'dust', deviceId: dev, ts: t + 1000, metrics: { pm10_ugm3: 40 } },
      ]);
      const { readings } = await store.query({ deviceId: dev, limit: 10 });
      expect(readings).toEqual([
        { ts: t, metrics: { pm10_ugm3: 300, pm25_ugm3: 80 }, flags: { pm10_ugm3: 'M' } },
        { ts: t + 1000, metrics: { pm10_ugm3: 40 } },
      ]);
      const one = await store.query({ deviceId: dev, metric: 'pm10_ugm3', limit: 10 });
      expect(one.readings[0]).toEqual({ ts: t, metrics: { pm10_ugm3: 300 }, flags: { pm10_ugm3: 'M' } });
      expect(await store.countPoints(dev)).toBe(3);
    });

    it('accepts an empty batch', async () => {
      await store.write([]);
      await store.add([]);
    });

    it('keeps dead letters: newest first, exact total, payload bytes as received', async () => {
      const run = uniqueId('ct-dl');
      const now = Date.now();
      const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const large = randomBytes(256 * 1024); // ingest's default INGEST_MAX_PAYLOAD_BYTES
      const items: DeadLetter[] = [
        {
          topic: `city/v1/${run}/noise/a/readings`,
          reason: 'payload is not JSON',
          receivedAt: now - 3000,
          payload: allBytes,
        },
        {
          topic: `city/v1/${run}/noise/b/readings`,
          reason: 'metrics.laeq_db: expected number, "quoted" \\ reason,\nsecond line',
          receivedAt: now - 2000,
          payload: Buffer.from('{"ts":1,"metrics":{"laeq_db":"63"}} 噪声'),
        },
        // Two in the same millisecond: both are kept.
        {
          topic: `city/v1/${run}/noise/c/readings`,
          reason: 'same ms 1',
          receivedAt: now - 1000,
          payload: Buffer.alloc(0),
        },
        { topic: `city/v1/${run}/noise/d/readings`, reason: 'same ms 2', receivedAt: now - 1000, payload: large },
      ];
      const before = (await store.list(1)).total;
      await store.add(items.slice(0, 2));
      await store.add(items.slice(2));
      const got = await store.list(10);
      expect(got.total - before).toBe(items.length);
      const ours = got.items.filter((d) => d.topic.includes(run));
      expect(ours).toHaveLength(items.length);
      expect(got.items.slice(0, items.length)).toEqual(ours); // ours are the newest
      const times = ours.map((d) => d.receivedAt);
      expect(times).toEqual([...times].sort((x, y) => y - x));
      for (const want of items) {
        const d = ours.find((x) => x.topic === want.topic)!;
        expect(d.reason).toBe(want.reason);
        expect(d.receivedAt).toBe(want.receivedAt);
        expect(Buffer.compare(d.payload, want.payload)).toBe(0);
      }
      expect((await store.list(2)).items).toHaveLength(2);
    });

    it('keeps the size as received of a cut payload, and prunes dead letters by age, then by bytes kept from the newest', async () => {
      const run = uniqueId('ct-prune');
      // Days ahead: ours are the newest in a store that other tests (and, for InfluxDB, earlier runs) filled; the
      // prune by age then empties the store of everything but ours.
      const DAY = 86_400_000;
      const base = Date.now() + 3 * DAY;
      const dl = (name: string, receivedAt: number, bytes: number, payloadBytes?: number): DeadLetter => ({
        topic: `city/v1/${run}/noise/${name}/readings`,
        reason: name,
        receivedAt,
        payload: randomBytes(bytes),
        ...(payloadBytes === undefined ? {} : { payloadBytes }),
      });
      const old = dl('old', base - 2 * DAY, 1000);
      const [a, b, c] = [dl('a', base - 3000, 3000), dl('b', base - 2000, 3000), dl('c', base - 1000, 3000)];
      const cut = dl('cut', base - 500, 4096, 100 * 1024 * 1024);
      await store.add([old, a, b, c, cut]);
      const ours = async () => (await store.list(10)).items.filter((d) => d.topic.includes(run));
      const first = await ours();
      expect(first.map((d) => d.reason)).toEqual(['cut', 'c', 'b', 'a', 'old']);
      expect(first[0]!.payload.length).toBe(4096);
      expect(first[0]!.payloadBytes).toBe(100 * 1024 * 1024);
      expect(first.slice(1).every((d) => d.payloadBytes === undefined)).toBe(true);

      // By age: what came before the cut-off goes.
      const byAge = await store.pruneDeadLetters({ before: base - DAY, maxBytes: 1e12 });
      expect(byAge.deleted).toBeGreaterThanOrEqual(1);
      expect((await ours()).map((d) => d.reason)).toEqual(['cut', 'c', 'b', 'a']);

      // By size: the newest whose payloads fit in maxBytes stay (cut 4096 + c + b = 10096 bytes), the rest go.
      const bySize = await store.pruneDeadLetters({ before: 0, maxBytes: 4096 + 3000 + 3000 });
      expect(bySize.deleted).toBeGreaterThanOrEqual(1);
      expect(bySize.bytes).toBeGreaterThanOrEqual(3000);
      expect((await ours()).map((d) => d.reason)).toEqual(['cut', 'c', 'b']);
      expect((await store.list(10)).total).toBe(3);
      expect(await store.pruneDeadLetters({ before: 0, maxBytes: 1e12 })).toEqual({ deleted: 0, bytes: 0 });
      // Ours are from the future: gone again, for the tests after this one.
      expect((await store.pruneDeadLetters({ before: base, maxBytes: 0 })).deleted).toBe(3);
      expect((await store.list(1)).total).toBe(0);
    });
  });
}
