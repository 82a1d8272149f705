// /api/readings answers long ranges from the 15-minute aggregates (config/retention.json), short ones from the raw
// readings, over a real DuckDB store and real HTTP on loopback; a chart's request needs no change.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredReading } from '../contracts/index.js';
import { silentLogger } from '../runtime/log.js';
import type { DuckDbStore } from '../store/duckdb/store.js';
import { openStore, tmpDir } from '../test/helpers.js';
import { buildApi } from './server.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');
const NOW = T0 + 10 * DAY;
let store: DuckDbStore;
let base: string;
let close: () => Promise<void>;

beforeAll(async () => {
  store = await openStore(tmpDir('readings-resolution'));
  // Ten days of a noise meter, one reading a minute.
  const readings = Array.from({ length: 10 * 24 * 60 }, (_, i) => ({
    deviceId: 'nz-1',
    district: 'xinhua',
    kind: 'noise',
    ts: T0 + i * 60_000,
    metrics: { laeq_db: 50 + (i % 10) },
  })) as StoredReading[];
  await store.write(readings);
  await store.downsample(T0, NOW);
  const api = await buildApi({
    store,
    registry: new Registry(),
    logger: silentLogger,
    resolution: { rawDays: 90, rawQueryMaxDays: 7 },
    now: () => NOW,
  });
  await api.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
  close = async () => {
    await api.close();
    await store.close();
  };
});
afterAll(() => close());

const get = async (q: string) =>
  (await fetch(`${base}/api/readings?device=nz-1&metric=laeq_db&${q}`)).json() as Promise<
    Record<string, unknown> & { readings: Record<string, unknown>[] }
  >;
const iso = (t: number) => new Date(t).toISOString();

describe('/api/readings resolution', () => {
  it('a day: the raw readings', async () => {
    const r = await get(`from=${iso(NOW - DAY)}&to=${iso(NOW)}`);
    expect(r).toMatchObject({ resolution: 'raw', total: 24 * 60 });
  });

  it('ten days: 15-minute means with max and Leq, in the same shape', async () => {
    const r = await get(`from=${iso(T0)}&to=${iso(NOW)}&limit=5000`);
    expect(r).toMatchObject({ resolution: '15m', total: 10 * 24 * 4 });
    expect(r.readings[0]).toMatchObject({
      ts: iso(T0),
      metrics: { laeq_db: expect.closeTo(805 / 15, 9) },
      max: { laeq_db: 59 },
      count: { laeq_db: 15 },
    });
    expect((r.readings[0]!.leq as Record<string, number>).laeq_db).toBeGreaterThan(805 / 15 + 0.5); // energy average, not the dB mean
  });

  it('a range before the raw readings kept: the aggregates; resolution=raw asks for raw', async () => {
    const old = NOW - 100 * DAY;
    expect(await get(`from=${iso(old)}&to=${iso(old + DAY)}`)).toMatchObject({ resolution: '15m' });
    expect(await get(`from=${iso(T0)}&to=${iso(NOW)}&resolution=raw&limit=10`)).toMatchObject({
      resolution: 'raw',
      total: 10 * 24 * 60,
    });
  });
});
