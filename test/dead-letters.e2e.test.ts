// 1,000 malformed messages of every kind beside valid ones, through a real Mosquitto: every bad one ends in the
// dead-letter store with a reason, every good one is stored, and ingest stays healthy throughout. Mosquitto runs as
// deploy/mosquitto ships it: ingest with its own account; the messages come from the operators' account, the one
// that may publish anywhere under city/v1/ (a device may publish only on its own topics).
import mqtt from 'mqtt';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../api/server.js';
import type { Ingest } from '../ingest/ingest.js';
import { silentLogger } from '../runtime/log.js';
import type { DuckDbStore } from '../store/duckdb/store.js';
import { openStore, startIngest, tmpDir, uniq, waitFor } from './helpers.js';
import { startAclBroker, type AclBroker } from './mosquitto-acl.js';

const district = uniq('dl');
const t0 = Date.parse('2026-06-01T00:00:00Z');

// Each maker returns [topic, payload, expected reason fragment] for message i.
type Bad = (i: number) => [string, string | Buffer, RegExp];
const rt = (kind: string, dev = 'dev1') => `city/v1/${district}/${kind}/${dev}/readings`;
const BAD: Record<string, Bad> = {
  'bad JSON': (i) => [rt('noise'), `{"ts": ${t0 + i}, "metrics": {"laeq_db": 55`, /not valid JSON/],
  'NaN value': (i) => [rt('noise'), `{"ts": ${t0 + i}, "metrics": {"laeq_db": NaN}}`, /not valid JSON/],
  'NaN as text': (i) => [rt('noise'), JSON.stringify({ ts: t0 + i, metrics: { laeq_db: 'NaN' } }), /metrics\.laeq_db/],
  'wrong type': (i) => [rt('dust'), JSON.stringify({ ts: t0 + i, metrics: { pm10_ugm3: '80' } }), /pm10_ugm3/],
  'ts as garbage': () => [rt('noise'), JSON.stringify({ ts: 'yesterday', metrics: { laeq_db: 50 } }), /ts/],
  'ts in seconds': (i) => [
    rt('noise'),
    JSON.stringify({ ts: 1780000000 + i, metrics: { laeq_db: 50 } }),
    /2000\.\.2100/,
  ],
  'missing metrics': (i) => [rt('noise'), JSON.stringify({ ts: t0 + i }), /metrics/],
  'empty metrics': (i) => [rt('noise'), JSON.stringify({ ts: t0 + i, metrics: {} }), /must not be empty/],
  'unknown metric': (i) => [
    rt('noise'),
    JSON.stringify({ ts: t0 + i, metrics: { lamax: 80 } }),
    /unknown metric "lamax"/,
  ],
  'extra field': (i) => [rt('noise'), JSON.stringify({ ts: t0 + i, metrics: { laeq_db: 1 }, foo: 1 }), /foo/],
  'negative seq': (i) => [rt('noise'), JSON.stringify({ ts: t0 + i, seq: -1, metrics: { laeq_db: 1 } }), /seq/],
  'empty batch': () => [rt('noise'), JSON.stringify({ batch: [] }), /batch/],
  'bad reading in batch': (i) => [
    rt('noise'),
    JSON.stringify({
      batch: [
        { ts: t0 + i, metrics: { laeq_db: 1 } },
        { ts: t0 + i, metrics: { laeq_db: null } },
      ],
    }),
    /batch\[1\]\.metrics\.laeq_db/,
  ],
  'unknown kind': (i) => [
    rt('radiation'),
    JSON.stringify({ ts: t0 + i, metrics: { usv: 1 } }),
    /unknown sensor kind "radiation"/,
  ],
  'wrong topic depth': (i) => [
    `city/v1/${district}/noise/readings`,
    JSON.stringify({ ts: t0 + i, metrics: { laeq_db: 1 } }),
    /topic must be/,
  ],
  'wrong topic suffix': (i) => [
    `city/v1/${district}/noise/dev1/reading`,
    JSON.stringify({ ts: t0 + i, metrics: { laeq_db: 1 } }),
    /not part of the contract/,
  ],
  oversize: (i) => [
    rt('noise'),
    JSON.stringify({ ts: t0 + i, metrics: { laeq_db: 1 }, pad: 'x'.repeat(300 * 1024) }),
    /exceeds the limit/,
  ],
  'binary garbage': (i) => [rt('noise'), Buffer.from([0xff, 0xfe, 0x00, i & 0xff, 0x80]), /not valid JSON/],
  'JSON array': () => [rt('noise'), '[1,2,3]', /.+/],
  'bad status': () => [`city/v1/${district}/noise/dev1/status`, '{"online":"yes"}', /invalid status/],
};

let store: DuckDbStore;
let ingest: Ingest;
let broker: AclBroker;

beforeAll(async () => {
  broker = await startAclBroker();
  store = await openStore(tmpDir('dead'));
  ingest = startIngest(store, {
    clientId: uniq('ing'),
    filter: `city/v1/${district}/#`,
    mqttUrl: broker.url,
    ...broker.login('ingest'),
  });
  await ingest.start();
});

afterAll(async () => {
  await ingest?.stop();
  await store?.close();
  await broker?.close();
});

describe('malformed messages', () => {
  it('dead-letters 1,000 bad messages with reasons and stores every valid one beside them', async () => {
    const pub = await mqtt.connectAsync(broker.url, { clientId: uniq('pub'), ...broker.login('ops') });
    const makers = Object.entries(BAD);
    const expected: { name: string; topic: string; reason: RegExp }[] = [];
    const pending: Promise<unknown>[] = [];
    let valid = 0;
    for (let i = 0; i < 1000; i++) {
      const [name, make] = makers[i % makers.length]!;
      const [topic, payload, reason] = make(i);
      expected.push({ name, topic, reason });
      pending.push(pub.publishAsync(topic, payload, { qos: 1 }));
      if (i % 2 === 0) {
        // A valid reading between the bad ones: one device per 100 messages, one reading a second.
        pending.push(
          pub.publishAsync(
            rt('noise', `ok${Math.floor(i / 100)}`),
            JSON.stringify({ ts: t0 + i * 1000, metrics: { laeq_db: 55.5 } }),
            {
              qos: 1,
            },
          ),
        );
        valid++;
      }
      if (pending.length >= 200) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    await pub.endAsync();

    expect(
      await waitFor(async () => (await store.list(1)).total >= 1000 && (await store.countPoints()) >= valid, 20_000),
    ).toBe(true);
    expect(await store.countPoints()).toBe(valid);
    const { items, total } = await store.list(2000);
    expect(total).toBe(1000);

    // Every kind of mistake is there with its own reason and its raw payload.
    for (const [name] of makers) {
      const want = expected.filter((e) => e.name === name);
      const got = items.filter((d) => want.some((w) => w.topic === d.topic && w.reason.test(d.reason)));
      expect(got.length, `${name}: ${want.length} expected`).toBeGreaterThanOrEqual(want.length);
    }
    expect(items.every((d) => d.reason.length > 0 && d.payload.length > 0 && d.receivedAt > 0)).toBe(true);

    // The API shows them, and ingest stayed healthy.
    const api = await buildApi({
      store,
      registry: new Registry(),
      logger: silentLogger,
      readiness: { mqtt: () => ingest.connected },
    });
    const res = await api.inject('/api/dead-letters?limit=5');
    expect(res.statusCode).toBe(200);
    const body = res.json() as { items: { topic: string; reason: string; payload: string }[]; total: number };
    expect(body.total).toBe(1000);
    expect(body.items).toHaveLength(5);
    expect((await api.inject('/readyz')).statusCode).toBe(200);
    expect(ingest.healthy).toBe(true);
    await api.close();
  });
});
