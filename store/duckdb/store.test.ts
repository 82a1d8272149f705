// The store contract against the embedded DuckDB store, on a file in a temporary directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoredReading } from '../../contracts/index.js';
import { storeContract } from '../store.contract.js';
import { openDuckDb, type StoreSchema } from './schema.js';
import { DuckDbStore, READINGS_SCHEMA } from './store.js';

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

// Schema version 3 (labels.ts): kind and metric become ENUMs. A file written at version 2 keeps every row, and names
// that the ENUM lacks (one stored before, one a write brings later) are kept and found.
describe('kind and metric as ENUMs', () => {
  it('converts a file written at schema version 2 and widens its labels for a new name', async () => {
    const file = path.join(dir, 'v2.duckdb');
    const v2: StoreSchema = { what: 'readings store', migrations: READINGS_SCHEMA.migrations.slice(0, 2) };
    const { instance, db } = await openDuckDb(file, v2, {});
    await db.run(`INSERT INTO readings VALUES
      ('dev-e', 'd', 'noise', 'laeq_db', 1000, 7, 61.5, NULL),
      ('dev-e', 'd', 'noise', 'lmax_db', 1000, 7, 80, 'suspect'),
      ('dev-e', 'd', 'noise', 'old_name', 2000, NULL, 1, NULL)`);
    db.closeSync();
    instance.closeSync();

    const store = await DuckDbStore.open({ file });
    expect(await store.countPoints('dev-e')).toBe(3);
    expect((await store.query({ deviceId: 'dev-e', limit: 10 })).readings).toEqual([
      { ts: 1000, metrics: { laeq_db: 61.5, lmax_db: 80 }, flags: { lmax_db: 'suspect' } },
      { ts: 2000, metrics: { old_name: 1 } },
    ]);
    const newer = { district: 'd', kind: 'noise' as const, deviceId: 'dev-e', ts: 3000, metrics: { new_name: 2 } };
    await store.write([newer, { ...newer, ts: 1000, metrics: { laeq_db: 99 } }]);
    await store.write([newer]);
    expect((await store.query({ deviceId: 'dev-e', metric: 'new_name', limit: 10 })).readings).toEqual([
      { ts: 3000, metrics: { new_name: 2 } },
    ]);
    expect(await store.countPoints('dev-e')).toBe(4);
    await store.close();

    const check = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
    const c = await check.connect();
    const types = Object.fromEntries(
      (
        await c.runAndReadAll(`SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'readings'`)
      ).getRows(),
    );
    expect(types.kind).toMatch(/^ENUM\(.*'noise'/);
    expect(types.metric).toMatch(/^ENUM\(.*'new_name'.*'old_name'/);
    c.closeSync();
    check.closeSync();
  });
});
