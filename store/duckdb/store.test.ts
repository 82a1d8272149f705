// The store contract against the embedded DuckDB store, on a file in a temporary directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoredReading } from '../../contracts/index.js';
import { storeContract } from '../store.contract.js';
import { DuckDbStore } from './store.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-duckdb-contract-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

storeContract('duckdb', () => DuckDbStore.open({ file: path.join(dir, 'city.duckdb') }), { duplicateKeeps: 'first' });

// Readings newer than everything stored for their device skip the anti-join (store.ts, writeNow): these pin that the
// shortcut never stores a point twice, whatever was stored before it learnt the newest ts of each device.
describe('the append shortcut for new readings', () => {
  const noise = (deviceId: string, ts: number, metrics: Record<string, number>): StoredReading => ({
    district: 'd',
    kind: 'noise',
    deviceId,
    ts,
    metrics,
  });
  const T0 = Date.UTC(2026, 5, 1);

  it('stores a redelivered batch once after the store is opened again', async () => {
    const file = path.join(dir, 'reopen.duckdb');
    const batch = Array.from({ length: 100 }, (_, i) => noise('dev-a', T0 + i, { laeq_db: 50 + i / 10 }));
    let store = await DuckDbStore.open({ file });
    await store.write(batch);
    await store.close();
    store = await DuckDbStore.open({ file });
    await store.write(batch);
    await store.write([...batch.slice(90), noise('dev-a', T0 + 100, { laeq_db: 1 })]);
    expect(await store.countPoints('dev-a')).toBe(101);
    await store.close();
  });

  it('stores late readings and a second metric at a stored timestamp, and repeats of either once', async () => {
    const store = await DuckDbStore.open({ file: ':memory:' });
    await store.write([noise('dev-b', T0 + 10, { laeq_db: 60 })]);
    const late = [
      noise('dev-b', T0 + 5, { laeq_db: 61 }),
      noise('dev-b', T0 + 10, { lmax_db: 70 }),
      noise('dev-b', T0 + 10, { laeq_db: 99 }),
    ];
    await store.write(late);
    await store.write(late);
    expect(await store.countPoints('dev-b')).toBe(3);
    const r = await store.query({ deviceId: 'dev-b', limit: 10 });
    expect(r.readings.map((x) => [x.ts - T0, x.metrics])).toEqual([
      [5, { laeq_db: 61 }],
      [10, { laeq_db: 60, lmax_db: 70 }],
    ]);
    await store.close();
  });

  it('retries a batch whose append failed part-way without storing its first part twice', async () => {
    const store = await DuckDbStore.open({ file: ':memory:' });
    // 3,000 points: the first 2,048 reach the appender before the bad one (a ts that is no integer) fails the batch.
    const good = Array.from({ length: 3000 }, (_, i) => noise('dev-c', T0 + i, { laeq_db: 50 }));
    const bad = noise('dev-c', T0 + 3000.5, { laeq_db: 50 });
    await expect(store.write([...good, bad])).rejects.toThrow();
    expect(await store.countPoints('dev-c')).toBeGreaterThan(0); // the part that was stored
    await store.write(good);
    expect(await store.countPoints('dev-c')).toBe(3000);
    await store.close();
  });
});
