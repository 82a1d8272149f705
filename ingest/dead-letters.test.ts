// What refused messages cost: oversized ones are kept as their first bytes with their size, dead letters count in
// ingest's backpressure, and the dead-letter store has a retention. Real Mosquitto, embedded DuckDB store.
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../app/config.js';
import type { DeadLetter } from '../contracts/index.js';
import type { Logger } from '../runtime/log.js';
import type { DuckDbStore } from '../store/duckdb/store.js';
import { mqttUrl, openStore, sleep, startIngest, tmpDir, uniq, waitFor } from '../test/helpers.js';
import { DeadLetterRetention } from './dead-letter-retention.js';
import { OVERSIZE_KEEP_BYTES, type Ingest } from './ingest.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setUp(o: { maxPendingDeadLetterBytes?: number; gate?: Promise<void> } = {}) {
  const district = uniq('dl');
  const store = await openStore(tmpDir('dead-letters'));
  cleanups.push(() => store.close());
  // The real store, whose add() waits for `gate` when one is given: a store that lags.
  const gate = o.gate;
  const lagging = gate
    ? (new Proxy(store, {
        get(target, prop) {
          if (prop === 'add') return async (items: readonly DeadLetter[]) => (await gate, target.add(items));
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      }) as DuckDbStore)
    : store;
  const ingest: Ingest = startIngest(lagging, {
    clientId: uniq('ing'),
    filter: `city/v1/${district}/#`,
    ...(o.maxPendingDeadLetterBytes === undefined ? {} : { maxPendingDeadLetterBytes: o.maxPendingDeadLetterBytes }),
  });
  await ingest.start();
  cleanups.push(() => ingest.stop());
  const pub = await mqtt.connectAsync(mqttUrl(), { clientId: uniq('pub') });
  cleanups.push(() => pub.endAsync(true));
  return { district, store, ingest, pub };
}

describe('dead letters in ingest', () => {
  it('keeps the first 4 KiB of an oversized message, with its size as received, on readings and status topics alike', async () => {
    const { district, store, pub } = await setUp();
    const big = Buffer.alloc(5 * 1024 * 1024, 'x');
    big.write('{"ts":1,"metrics":{"laeq_db":', 0);
    const topics = [`city/v1/${district}/noise/dev1/readings`, `city/v1/${district}/noise/dev1/status`];
    for (const t of topics) await pub.publishAsync(t, big, { qos: 1 });
    expect(await waitFor(async () => (await store.list(10)).total === 2, 20_000)).toBe(true);
    const { items } = await store.list(10);
    for (const d of items) {
      expect(d.reason).toBe(
        `payload of ${big.length} bytes exceeds the limit of ${256 * 1024} (first ${OVERSIZE_KEEP_BYTES} bytes kept)`,
      );
      expect(d.payload.length).toBe(OVERSIZE_KEEP_BYTES);
      expect(d.payloadBytes).toBe(big.length);
      expect(Buffer.compare(d.payload, big.subarray(0, OVERSIZE_KEEP_BYTES))).toBe(0);
    }
    expect(items.map((d) => d.topic).sort()).toEqual(topics.sort());
  });

  it('stops reading from the broker while unstored dead letters pass maxPendingDeadLetterBytes', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const { district, store, ingest, pub } = await setUp({ maxPendingDeadLetterBytes: 1024 * 1024, gate });
    cleanups.push(async () => open()); // runs first: ingest.stop() then finds a store that writes
    // 40 bad messages of 200 KiB (under the payload limit, so kept whole): 8 MB that the store does not take yet.
    const bad = Buffer.alloc(200 * 1024, 'x');
    const sent = Array.from({ length: 40 }, () =>
      pub.publishAsync(`city/v1/${district}/noise/dev1/readings`, bad, { qos: 1 }),
    );
    expect(await waitFor(() => ingest.unacknowledged >= 5, 10_000, 20)).toBe(true);
    // Given time to take more, it does not: 1 MiB / 200 KiB is 5 messages, plus the one that passed the bound.
    await sleep(1500);
    expect(ingest.unacknowledged).toBeLessThanOrEqual(7);
    open();
    await Promise.all(sent);
    expect(await waitFor(async () => (await store.list(1)).total === 40, 20_000)).toBe(true);
    expect(await waitFor(() => ingest.unacknowledged === 0, 5000)).toBe(true);
  });
});

describe('dead-letter retention', () => {
  it('is configured by DEAD_LETTER_MAX_AGE_DAYS and DEAD_LETTER_MAX_MB, checked at start', () => {
    expect(loadAppConfig({})).toMatchObject({ DEAD_LETTER_MAX_AGE_DAYS: 30, DEAD_LETTER_MAX_MB: 256 });
    expect(loadAppConfig({ DEAD_LETTER_MAX_AGE_DAYS: '7', DEAD_LETTER_MAX_MB: '64' })).toMatchObject({
      DEAD_LETTER_MAX_AGE_DAYS: 7,
      DEAD_LETTER_MAX_MB: 64,
    });
    expect(() => loadAppConfig({ DEAD_LETTER_MAX_AGE_DAYS: 'a week' })).toThrow(/DEAD_LETTER_MAX_AGE_DAYS/);
    expect(() => loadAppConfig({ DEAD_LETTER_MAX_MB: '0' })).toThrow(/DEAD_LETTER_MAX_MB/);
  });

  it('deletes dead letters past their age and size, at start and periodically, and logs what it deleted', async () => {
    const store = await openStore(tmpDir('retention'));
    cleanups.push(() => store.close());
    const lines: Record<string, unknown>[] = [];
    const logger: Logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const now = Date.parse('2026-12-01T00:00:00Z');
    const DAY = 86_400_000;
    const dl = (reason: string, receivedAt: number, bytes: number): DeadLetter => ({
      topic: 'city/v1/x/noise/d/readings',
      reason,
      receivedAt,
      payload: Buffer.alloc(bytes, 1),
    });
    await store.add([
      dl('40 days old', now - 40 * DAY, 100),
      dl('29 days old', now - 29 * DAY, 100),
      dl('new 1', now - 2000, 600),
      dl('new 2', now - 1000, 600),
    ]);

    const retention = new DeadLetterRetention({
      store,
      maxAgeDays: 30,
      maxBytes: 1300,
      logger,
      everyMs: 50,
      now: () => now,
    });
    retention.start();
    cleanups.push(() => retention.stop());
    expect(await waitFor(async () => (await store.list(10)).total === 3, 5000, 20)).toBe(true);
    expect((await store.list(10)).items.map((d) => d.reason)).toEqual(['new 2', 'new 1', '29 days old']);
    expect(lines.filter((l) => l.deleted !== undefined).map((l) => [l.deleted, l.bytes])).toEqual([[1, 100]]);

    // Over the size: on a later run the oldest go until the payloads fit.
    await store.add([dl('new 3', now - 500, 600)]);
    expect(await waitFor(async () => (await store.list(10)).total === 2, 5000, 20)).toBe(true);
    expect((await store.list(10)).items.map((d) => d.reason)).toEqual(['new 3', 'new 2']);
    expect(lines.filter((l) => l.deleted !== undefined).map((l) => [l.deleted, l.bytes])).toEqual([
      [1, 100],
      [2, 700],
    ]);
    expect(lines.at(-1)!.msg).toMatch(/^dead letters deleted by their retention/);
  });
});
