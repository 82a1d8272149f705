// The simulated carrier platform: its schedule, and a run through the real receiver, broker, ingest and store with
// lost answers, refused requests and second deliveries, after which the store holds exactly what was delivered.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { IdSchema } from '../../contracts/index.js';
import { NbiotConfigSchema } from '../../ingest/nbiot/config.js';
import { MqttPublisher } from '../../ingest/nbiot/publisher.js';
import { NBIOT_PATH, nbiotRoutes, type PushResult } from '../../ingest/nbiot/routes.js';
import { silentLogger } from '../../runtime/log.js';
import { openStore, startIngest, tmpDir, uniq, waitFor } from '../../test/helpers.js';
import { startAclBroker } from '../../test/mosquitto-acl.js';
import {
  CarrierPlatform,
  PlatformOptionsSchema,
  coverFleet,
  receiverDevices,
  schedule,
  type Transport,
} from './platform.js';

const START = Date.parse('2026-11-27T00:00:00+08:00');
const TOKEN = 'platform-test-token-0001';

describe('carrier platform schedule', () => {
  const o = PlatformOptionsSchema.parse({
    url: 'http://127.0.0.1:1/x',
    covers: 20,
    rounds: 12,
    heartbeatS: 600,
    alarmProbability: 0.3,
    auth: { mode: 'token', token: TOKEN },
    start: START,
  });

  it('gives every cover a valid id and distinct carrier ids and IMEIs', () => {
    const covers = coverFleet(o);
    expect(new Set(covers.map((c) => c.carrierId)).size).toBe(20);
    expect(new Set(covers.map((c) => c.imei)).size).toBe(20);
    for (const c of covers) {
      expect(IdSchema.safeParse(c.id).success).toBe(true);
      expect(c.carrierId).toMatch(/^[0-9a-f]{32}$/);
      expect(c.imei).toMatch(/^\d{15}$/);
    }
  });

  it('is deterministic, in time order, with heartbeats, alarms and recoveries at distinct times per cover', () => {
    const covers = coverFleet(o);
    const a = schedule(o, covers, START);
    expect(schedule(o, covers, START).map((m) => m.id)).toEqual(a.map((m) => m.id));
    expect(a.map((m) => m.ts)).toEqual([...a.map((m) => m.ts)].sort((x, y) => x - y));
    const kinds = (k: string) => a.filter((m) => m.kind === k).length;
    expect(kinds('heartbeat')).toBe(240);
    expect(kinds('alarm')).toBeGreaterThan(20);
    expect(kinds('recovery')).toBeGreaterThan(10);
    expect(new Set(a.map((m) => m.id)).size).toBe(a.length);
    for (const c of covers) {
      const ts = a.filter((m) => m.cover === c).map((m) => m.ts);
      expect(new Set(ts).size).toBe(ts.length);
    }
  });
});

// On Mosquitto as deploy/mosquitto ships it (test/mosquitto-acl.ts): the receiver publishes with the nbiot account,
// ingest reads with its own. Without Mosquitto the test fails (the broker does not start), never skips.
describe('carrier platform → receiver → broker → ingest → store', () => {
  it('stores exactly what was delivered, once, through retries and second deliveries', async () => {
    const dir = tmpDir('nbiot-platform');
    const district = uniq('nbp');
    const platformInput = {
      url: `http://receiver${NBIOT_PATH}`,
      covers: 6,
      districts: [district],
      rounds: 8,
      heartbeatS: 600,
      start: START,
      alarmProbability: 0.3,
      duplicateProbability: 0.3,
      auth: { mode: 'token' as const, token: TOKEN, query: 'token' },
      retry: { attempts: 20, baseMs: 1, maxMs: 20 },
      concurrency: 4,
    };
    const covers = coverFleet(PlatformOptionsSchema.parse(platformInput));

    const broker = await startAclBroker();
    const store = await openStore(dir);
    const ingest = startIngest(store, {
      clientId: uniq('ing'),
      filter: `city/v1/${district}/#`,
      mqttUrl: broker.url,
      ...broker.login('ingest'),
    });
    await ingest.start();
    const publisher = new MqttPublisher({
      url: broker.url,
      ...broker.login('nbiot'),
      clientId: uniq('nbp'),
      timeoutMs: 3000,
      logger: silentLogger,
    });
    await publisher.ready(10_000);
    const results: PushResult[] = [];
    const app = Fastify();
    await app.register(nbiotRoutes, {
      config: NbiotConfigSchema.parse({
        auth: platformInput.auth,
        devices: receiverDevices(covers),
        idempotency: { dir },
        mqtt: { url: broker.url, ...broker.login('nbiot') },
      }),
      logger: silentLogger,
      publisher,
      onResult: (r) => results.push(r),
    });
    try {
      // Every 5th request never reaches the receiver (503 from a proxy); every 7th is processed but its answer is
      // lost on the way back: the platform retries a message the receiver has already published.
      let n = 0;
      let lost = 0;
      const transport: Transport = async (body, headers, query) => {
        const i = ++n;
        if (i % 5 === 0) return 503;
        const res = await app.inject({
          method: 'POST',
          url: `${NBIOT_PATH}?${new URLSearchParams(query)}`,
          headers: { 'content-type': 'application/json', ...headers },
          payload: body,
        });
        if (i % 7 === 0) {
          lost++;
          throw new Error('connection reset');
        }
        return res.statusCode;
      };
      const platform = new CarrierPlatform(platformInput, transport);
      const stats = await platform.run();

      expect(stats.failed).toBe(0);
      expect(stats.duplicates).toBeGreaterThan(0);
      expect(stats.retries).toBeGreaterThan(0);
      expect(lost).toBeGreaterThan(0);
      // The receiver published each message once and recognised every repeat.
      expect(results.filter((r) => r === 'published')).toHaveLength(stats.delivered);
      expect(stats.messageIds.size).toBe(stats.delivered);
      expect(results.filter((r) => r !== 'published' && r !== 'duplicate')).toEqual([]);

      const want = Object.values(stats.perDevice).reduce((s, d) => s + d.points, 0);
      expect(await waitFor(async () => (await store.countPoints()) >= want, 20_000)).toBe(true);
      for (const c of covers) {
        const d = stats.perDevice[c.id]!;
        const { total } = await store.query({ deviceId: c.id, limit: 10_000 });
        expect(total, `readings of ${c.id}`).toBe(d.messages);
        expect(await store.countPoints(c.id), `points of ${c.id}`).toBe(d.points);
      }
      expect(Object.values(stats.perDevice).reduce((s, d) => s + d.alarms, 0)).toBeGreaterThan(0);
    } finally {
      await app.close();
      await publisher.close();
      await ingest.stop();
      await store.close();
      await broker.close();
    }
  });
});
