// The push receiver end to end on a real broker: fastify inject for the platform's requests, a subscriber on the
// readings and dead-letter topics for what comes out. The broker is Mosquitto as deploy/mosquitto ships it, the
// receiver publishing with the `nbiot` account under the shipped ACL (test/mosquitto-acl.ts): without Mosquitto the
// tests fail rather than skip, so a run without the broker cannot pass for a run with it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GatewayDeadLetterSchema, ReadingSchema, gatewayDeadLettersTopic } from '../../contracts/index.js';
import { silentLogger, type Logger } from '../../runtime/log.js';
import { hmacOf } from './auth.js';
import { NbiotConfigSchema, type NbiotConfig, type NbiotConfigInput } from './config.js';
import { MqttPublisher } from './publisher.js';
import { NBIOT_GATEWAY_ID, NBIOT_PATH, nbiotRoutes, type PushResult } from './routes.js';
import { startAclBroker, type AclBroker } from '../../test/mosquitto-acl.js';
import { waitFor } from '../../test/helpers.js';
import { startEmbeddedBroker } from '../../broker/embedded.js';

let broker: AclBroker | undefined;
const TOKEN = 'tok-3f9c2a7e5b1d4c8f';
const SECRET = 'hmac-secret-9a8b7c6d5e4f';
const CARRIER = 'b8c4ef8f9e34409e9a58a2b9e83a0f79';
const IMEI = '869976030124133';
const T = Date.parse('2026-11-27T10:00:00+08:00');
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const district = `nb${run}`;

function dataReport(over: Record<string, unknown> = {}) {
  return {
    upPacketSN: -1,
    upDataSN: -1,
    topic: 'v1/up/ad',
    timestamp: T,
    tenantId: '2000031234',
    serviceId: 1,
    protocol: 'lwm2m',
    productId: '15012345',
    payload: { tilt_angle: 1.5, cover_status: 0, water_level: 12.5, battery_value: 97, rsrp: -88, cell_id: 12345 },
    messageType: 'dataReport',
    deviceType: '',
    deviceId: CARRIER,
    assocAssetId: '',
    IMSI: 'undefined',
    IMEI,
    ...over,
  };
}

function config(dir: string, over: Partial<NbiotConfigInput> = {}): NbiotConfig {
  return NbiotConfigSchema.parse({
    auth: { mode: 'token', token: TOKEN },
    devices: [{ carrierId: CARRIER, id: 'mh-001', district }],
    idempotency: { dir },
    mqtt: {
      url: broker?.url ?? 'mqtt://127.0.0.1:1',
      ...broker?.login('nbiot'),
      clientId: `nbiot-test-${run}`,
      publishTimeoutMs: 2000,
    },
    ...over,
  });
}

/** Messages on our readings topics and our dead letters (recognised by a marker in their raw payload). */
class Watcher {
  readings: { topic: string; payload: unknown }[] = [];
  deadLetters: ReturnType<typeof GatewayDeadLetterSchema.parse>[] = [];
  private constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      if (topic.endsWith('/readings')) this.readings.push({ topic, payload: JSON.parse(payload.toString()) });
      else {
        const dl = GatewayDeadLetterSchema.parse(JSON.parse(payload.toString()));
        if (Buffer.from(dl.payload, 'base64').toString('utf8').includes(run)) this.deadLetters.push(dl);
      }
    });
  }
  static async start(): Promise<Watcher> {
    // The operators' account, which may read everything under city/v1/.
    const client = await mqtt.connectAsync(broker!.url, { clientId: `watch-${run}`, ...broker!.login('ops') });
    await client.subscribeAsync([`city/v1/${district}/manhole/+/readings`, gatewayDeadLettersTopic(NBIOT_GATEWAY_ID)], {
      qos: 1,
    });
    return new Watcher(client);
  }
  clear(): void {
    this.readings = [];
    this.deadLetters = [];
  }
  async until(cond: () => boolean, what: string): Promise<void> {
    const end = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

interface Receiver {
  app: FastifyInstance;
  results: PushResult[];
  logs: Record<string, unknown>[];
}

async function receiver(cfg: NbiotConfig, publisher?: MqttPublisher): Promise<Receiver> {
  const results: PushResult[] = [];
  const logs: Record<string, unknown>[] = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (s: string) => void logs.push(JSON.parse(s)) });
  const app = Fastify();
  await app.register(nbiotRoutes, { config: cfg, logger, publisher, onResult: (r) => results.push(r) });
  await app.ready();
  return { app, results, logs };
}

function push(
  app: FastifyInstance,
  body: unknown,
  headers: Record<string, string> = { 'x-nbiot-token': TOKEN },
  url = NBIOT_PATH,
) {
  return app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
    remoteAddress: '10.20.30.40',
  });
}

/** The HMAC of a body as OpenSSL computes it: a vector from outside the project, not from our own signer. */
function opensslHmac(secret: string, body: string, algorithm: 'sha256' | 'sha1', encoding: 'hex' | 'base64'): string {
  const mac = execFileSync('openssl', ['dgst', `-${algorithm}`, '-hmac', secret, '-binary'], { input: body });
  return mac.toString(encoding);
}

describe('NB-IoT push receiver (CTWing format) on a real broker', () => {
  let watcher: Watcher;
  let publisher: MqttPublisher;
  let dir: string;
  let r: Receiver;
  let n = 0;

  beforeAll(async () => {
    broker = await startAclBroker();
    watcher = await Watcher.start();
    publisher = new MqttPublisher({
      url: broker.url,
      ...broker.login('nbiot'),
      clientId: `nbiot-pub-${run}`,
      timeoutMs: 3000,
      logger: silentLogger,
    });
    await publisher.ready(10_000);
  });
  afterAll(async () => {
    await publisher?.close();
    await watcher?.close();
    await broker?.close();
  });
  afterEach(async () => {
    await r?.app.close();
    watcher.clear();
  });

  async function fresh(over: Partial<NbiotConfigInput> = {}): Promise<Receiver> {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbiot-'));
    r = await receiver(config(dir, over), publisher);
    return r;
  }

  /** A push of its own that must arrive: everything published before it by the same client has arrived too. */
  async function sentinel(): Promise<void> {
    const before = watcher.readings.length;
    const res = await push(
      r.app,
      dataReport({ timestamp: T + 1_000_000 + ++n, payload: { battery_value: 50, marker: run } }),
    );
    expect(res.statusCode).toBe(200);
    await watcher.until(
      () =>
        watcher.readings.length > before &&
        watcher.readings.some((m) => (m.payload as { ts: number }).ts === T + 1_000_000 + n),
      'the sentinel',
    );
    watcher.readings = watcher.readings.filter((m) => (m.payload as { ts: number }).ts !== T + 1_000_000 + n);
  }

  it('publishes a data report as a manhole reading with the push timestamp', async () => {
    await fresh();
    const res = await push(r.app, dataReport());
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true });
    await watcher.until(() => watcher.readings.length === 1, 'the reading');
    const m = watcher.readings[0]!;
    expect(m.topic).toBe(`city/v1/${district}/manhole/mh-001/readings`);
    expect(m.payload).toEqual({
      ts: T,
      metrics: { tilt_deg: 1.5, open: 0, water_cm: 12.5, battery_pct: 97, rssi_dbm: -88 },
    });
    expect(ReadingSchema.safeParse(m.payload).success).toBe(true);
    expect(r.results).toEqual(['published']);
  });

  it('publishes a message id once: a retried push is answered 200 and not published again, also after a restart', async () => {
    await fresh();
    const body = dataReport({ timestamp: T + 5000 });
    expect((await push(r.app, body)).json()).toEqual({ ok: true });
    // The platform's retry: the same message, keys in another order this time.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await push(r.app, reordered);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ ok: true, duplicate: true });
    // Two at once: the second waits for the first.
    const both = await Promise.all([
      push(r.app, dataReport({ timestamp: T + 6000 })),
      push(r.app, dataReport({ timestamp: T + 6000 })),
    ]);
    expect(both.map((x) => x.statusCode)).toEqual([200, 200]);
    await sentinel();
    expect(watcher.readings.map((m) => (m.payload as { ts: number }).ts)).toEqual([T + 5000, T + 6000]);

    // A restarted receiver remembers the ids it published.
    await r.app.close();
    r = await receiver(config(dir), publisher);
    expect((await push(r.app, body)).json()).toEqual({ ok: true, duplicate: true });
    await sentinel();
    expect(watcher.readings).toHaveLength(2);
  });

  it('maps alarm and recovery events, and flags the values of a fault event', async () => {
    await fresh({ eventMetrics: { '1002': { open: 1 } } });
    const event = (serviceId: number, eventType: number, eventContent: Record<string, unknown>, dt: number) => ({
      timestamp: T + dt,
      tenantId: '2000031234',
      serviceId,
      protocol: 'lwm2m',
      productId: '15012345',
      messageType: 'eventReport',
      eventType,
      eventContent,
      deviceSn: '',
      deviceId: CARRIER,
      IMSI: 'undefined',
      IMEI,
    });
    for (const e of [
      event(1001, 2, { tilt_angle: 34.5, alarm: 'tilt' }, 10_000),
      event(1002, 2, {}, 11_000), // "cover opened" with no field: eventMetrics
      event(1005, 1, { tilt_angle: 0.4, cover_status: 'closed' }, 12_000),
      event(1009, 3, { water_level: 999 }, 13_000),
    ]) {
      expect((await push(r.app, e)).statusCode).toBe(200);
    }
    await watcher.until(() => watcher.readings.length === 4, 'four readings');
    expect(watcher.readings.map((m) => m.payload)).toEqual([
      { ts: T + 10_000, metrics: { tilt_deg: 34.5 } },
      { ts: T + 11_000, metrics: { open: 1 } },
      { ts: T + 12_000, metrics: { tilt_deg: 0.4, open: 0 } },
      { ts: T + 13_000, metrics: { water_cm: 999 }, flags: { water_cm: 'D' } },
    ]);
  });

  it('refuses a push without the right token with 401, logs the source at warn and publishes nothing', async () => {
    await fresh();
    const none = await push(r.app, dataReport({ timestamp: T + 20_000 }), {});
    const wrong = await push(r.app, dataReport({ timestamp: T + 21_000 }), { 'x-nbiot-token': 'not-the-token-at-all' });
    expect([none.statusCode, wrong.statusCode]).toEqual([401, 401]);
    await sentinel();
    expect(watcher.readings).toEqual([]);
    expect(watcher.deadLetters).toEqual([]);
    const warns = r.logs.filter((l) => l.level === 40 && l.msg === 'push refused: sender not authenticated');
    expect(warns).toHaveLength(2);
    expect(warns[0]).toMatchObject({ ip: '10.20.30.40', reason: 'no token (expected in header x-nbiot-token)' });
    expect(warns[1]).toMatchObject({ ip: '10.20.30.40', reason: 'wrong token in header x-nbiot-token' });
    expect(JSON.stringify(r.logs)).not.toContain(TOKEN);
  });

  it('accepts the token as a query parameter of the subscription URL', async () => {
    await fresh({ auth: { mode: 'token', token: TOKEN, query: 'token' } });
    expect(
      (await push(r.app, dataReport({ timestamp: T + 25_000 }), {}, `${NBIOT_PATH}?token=${TOKEN}`)).statusCode,
    ).toBe(200);
    expect(
      (await push(r.app, dataReport({ timestamp: T + 26_000 }), {}, `${NBIOT_PATH}?token=nope-nope-nope-nope`))
        .statusCode,
    ).toBe(401);
    await watcher.until(() => watcher.readings.length === 1, 'the reading');
  });

  it('verifies an HMAC of the raw body', async () => {
    await fresh({ auth: { mode: 'hmac', secret: SECRET } });
    const body = JSON.stringify(dataReport({ timestamp: T + 30_000 }));
    const good = await push(r.app, body, { 'x-signature': `sha256=${hmacOf(SECRET, body, 'sha256', 'hex')}` });
    expect(good.statusCode).toBe(200);
    // Same signature, body changed by one byte.
    const tampered = body.replace('"battery_value":97', '"battery_value":98');
    const bad = await push(r.app, tampered, { 'x-signature': hmacOf(SECRET, body, 'sha256', 'hex') });
    expect(bad.statusCode).toBe(401);
    expect((await push(r.app, body, {})).statusCode).toBe(401);
    await watcher.until(() => watcher.readings.length === 1, 'the reading');
    await new Promise((res) => setTimeout(res, 100));
    expect(watcher.readings).toHaveLength(1);
  });

  it('accepts signatures computed by openssl dgst -hmac (sha256 hex, sha1 base64) and refuses them for another secret', async () => {
    const body = JSON.stringify(dataReport({ timestamp: T + 40_000 }));
    const sha256 = opensslHmac(SECRET, body, 'sha256', 'hex');
    // The openssl CLI prints the same MAC: the vector does not depend on how we call it.
    expect(
      execFileSync('openssl', ['dgst', '-sha256', '-hmac', SECRET, '-r'], { input: body }).toString().split(' ')[0],
    ).toBe(sha256);
    await fresh({ auth: { mode: 'hmac', secret: SECRET } });
    expect((await push(r.app, body, { 'x-signature': `sha256=${sha256}` })).statusCode).toBe(200);
    expect(
      (await push(r.app, body, { 'x-signature': opensslHmac('another-secret-123', body, 'sha256', 'hex') })).statusCode,
    ).toBe(401);
    await watcher.until(() => watcher.readings.length === 1, 'the sha256-signed reading');

    const body2 = JSON.stringify(dataReport({ timestamp: T + 41_000 }));
    await fresh({
      auth: { mode: 'hmac', secret: SECRET, algorithm: 'sha1', encoding: 'base64', header: 'X-Hub-Signature' },
    });
    expect(
      (await push(r.app, body2, { 'x-hub-signature': opensslHmac(SECRET, body2, 'sha1', 'base64') })).statusCode,
    ).toBe(200);
    expect(
      (await push(r.app, body2, { 'x-hub-signature': opensslHmac(SECRET, body2, 'sha256', 'base64') })).statusCode,
    ).toBe(401);
    await watcher.until(() => watcher.readings.length === 2, 'the sha1-signed reading');
  });

  it('dead-letters malformed JSON with its raw bytes, once, and answers 200', async () => {
    await fresh();
    const raw = `{"messageType":"dataReport","deviceId":"${run}", "payload": {`;
    const res = await push(r.app, raw);
    expect(res.statusCode).toBe(200);
    expect(res.json().deadLetter).toMatch(/^body is not JSON/);
    await watcher.until(() => watcher.deadLetters.length === 1, 'the dead letter');
    await sentinel();
    expect(watcher.deadLetters).toHaveLength(1);
    const dl = watcher.deadLetters[0]!;
    expect(Buffer.from(dl.payload, 'base64').toString('utf8')).toBe(raw);
    expect(dl.source).toBe('nbiot:ctwing@10.20.30.40');
    expect(dl.reason).toMatch(/^body is not JSON/);
    expect(watcher.readings).toEqual([]);
  });

  it('dead-letters a push from an unknown device, and a transparent payload, with the reason', async () => {
    await fresh();
    const stranger = await push(
      r.app,
      dataReport({ deviceId: `x${run}`, IMEI: '860000000000001', timestamp: T + 40_000 }),
    );
    expect(stranger.statusCode).toBe(200);
    const transparent = await push(
      r.app,
      dataReport({ timestamp: T + 41_000, payload: { APPdata: Buffer.from(run).toString('base64') }, tenantId: run }),
    );
    expect(transparent.statusCode).toBe(200);
    await watcher.until(() => watcher.deadLetters.length === 2, 'two dead letters');
    expect(watcher.deadLetters[0]!.reason).toBe(`unknown carrier device x${run} / 860000000000001: add it to devices`);
    expect(watcher.deadLetters[1]!.reason).toMatch(/^transparent payload/);
    // Retried by the platform: still one dead letter each.
    await push(r.app, dataReport({ deviceId: `x${run}`, IMEI: '860000000000001', timestamp: T + 40_000 }));
    await sentinel();
    expect(watcher.deadLetters).toHaveLength(2);
    expect(watcher.readings).toEqual([]);
  });

  it('answers 200 to an online/offline report and publishes nothing', async () => {
    await fresh();
    const res = await push(r.app, {
      timestamp: T,
      tenantId: '1',
      protocol: 'lwm2m',
      productId: '1',
      messageType: 'deviceOnlineOfflineReport',
      eventType: 1,
      deviceId: CARRIER,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().ignored).toMatch(/deviceOnlineOfflineReport/);
    await sentinel();
    expect(watcher.readings).toEqual([]);
    expect(r.results).toEqual(['ignored', 'published']);
  });

  it('answers 503 when the broker refuses the reading (an account the ACL does not let publish it), and publishes it once the account is right', async () => {
    await fresh();
    // The ingest account may read readings, not publish them: Mosquitto acknowledges with 0x87 "not authorized".
    const wrong = new MqttPublisher({
      url: broker!.url,
      ...broker!.login('ingest'),
      clientId: `nbiot-wrong-${run}`,
      timeoutMs: 3000,
      logger: silentLogger,
    });
    await wrong.ready(10_000);
    try {
      const refused = await receiver(config(dir), wrong);
      const body = dataReport({ timestamp: T + 7000 });
      const res = await push(refused.app, body);
      expect(res.statusCode).toBe(503);
      expect(res.json().message).toMatch(
        /refused.*account ingest may not publish on city\/v1\/.*\/manhole\/mh-001\/readings/,
      );
      expect(refused.results).toEqual(['unavailable']);
      await refused.app.close();
      // Not remembered as published: the carrier's retry, to a receiver with the right account, is published once.
      expect((await push(r.app, body)).json()).toEqual({ ok: true });
      await sentinel();
      expect(watcher.readings.map((m) => (m.payload as { ts: number }).ts)).toEqual([T + 7000]);
    } finally {
      await wrong.close();
    }
  });
});

describe('NB-IoT push receiver on an MQTT 3.1.1 broker', () => {
  it('speaks 3.1.1 to a broker that refuses MQTT 5 (the embedded one) and publishes there', async () => {
    const embedded = await startEmbeddedBroker({ port: 0, host: '127.0.0.1', logger: silentLogger });
    const publisher = new MqttPublisher({
      url: embedded.url,
      clientId: `nbiot-v4-${run}`,
      timeoutMs: 3000,
      logger: silentLogger,
    });
    const sub = await mqtt.connectAsync(embedded.url, { clientId: `watch-v4-${run}` });
    try {
      const got: string[] = [];
      sub.on('message', (t) => got.push(t));
      await sub.subscribeAsync('city/v1/#', { qos: 1 });
      await publisher.ready(10_000);
      await publisher.publish(
        `city/v1/${district}/manhole/mh-001/readings`,
        JSON.stringify({ ts: T, metrics: { open: 0 } }),
      );
      expect(await waitFor(() => got.length === 1, 5000)).toBe(true);
    } finally {
      await sub.endAsync(true);
      await publisher.close();
      await embedded.close();
    }
  });
});

describe('NB-IoT push receiver without a broker', () => {
  it('answers 503 when the broker is unreachable, so the platform retries, and publishes nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbiot-'));
    // Port 1 on loopback: nothing listens there.
    const cfg = config(dir, { mqtt: { url: 'mqtt://127.0.0.1:1', clientId: 'nbiot-down', publishTimeoutMs: 500 } });
    const r = await receiver(cfg);
    const res = await push(r.app, dataReport());
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: 'unavailable', message: 'broker not connected' });
    expect(r.results).toEqual(['unavailable']);
    await r.app.close();
    // Not remembered as seen: the platform's retry will be published once the broker is back.
    const ids = fs.readFileSync(path.join(dir, 'nbiot-seen-ids.log'), 'utf8');
    expect(ids).toBe('');
  });

  it('answers 401 before anything else, broker or not', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbiot-'));
    const r = await receiver(config(dir, { mqtt: { url: 'mqtt://127.0.0.1:1', clientId: 'nbiot-down2' } }));
    expect((await push(r.app, 'not json', {})).statusCode).toBe(401);
    await r.app.close();
  });
});

describe('NB-IoT push receiver mounted in another server', () => {
  it('keeps its raw-body parsing to itself, takes bodies of any content type, and answers 413 past the limit', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbiot-'));
    const published: string[] = [];
    const app = Fastify();
    app.post('/api/other', async (req) => ({ got: req.body }));
    await app.register(nbiotRoutes, {
      config: config(dir, { bodyLimitBytes: 2048 }),
      logger: silentLogger,
      publisher: {
        connected: true,
        publish: async (topic) => void published.push(topic),
        close: async () => undefined,
      },
    });
    const other = await app.inject({
      method: 'POST',
      url: '/api/other',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":1}',
    });
    expect(other.json()).toEqual({ got: { a: 1 } });
    const noType = await app.inject({
      method: 'POST',
      url: NBIOT_PATH,
      headers: { 'x-nbiot-token': TOKEN },
      payload: JSON.stringify(dataReport()),
    });
    expect(noType.json()).toEqual({ ok: true });
    const text = await app.inject({
      method: 'POST',
      url: NBIOT_PATH,
      headers: { 'x-nbiot-token': TOKEN, 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(text.json().deadLetter).toMatch(/^body is not JSON/);
    const big = await app.inject({
      method: 'POST',
      url: NBIOT_PATH,
      headers: { 'x-nbiot-token': TOKEN, 'content-type': 'application/json' },
      payload: 'x'.repeat(3000),
    });
    expect(big.statusCode).toBe(413);
    expect(published).toEqual([
      `city/v1/${district}/manhole/mh-001/readings`,
      gatewayDeadLettersTopic(NBIOT_GATEWAY_ID),
    ]);
    await app.close();
  });
});
