// The embedded broker with device authentication, against real aedes, mqtt.js clients and ingest with a DuckDB
// store: a device with a wrong password is refused, and one publishing outside its topics is cut off with nothing
// delivered or stored.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredReading } from '../contracts/index.js';
import { Ingest } from '../ingest/ingest.js';
import { silentLogger } from '../runtime/log.js';
import { DuckDbStore } from '../store/duckdb/store.js';
import { SERVICE_TOPICS } from './auth.js';
import { provisionMqttCredentials } from './credentials.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './embedded.js';

const KDF = { ln: 4, r: 8, p: 1 };
const reading = (v: number) => JSON.stringify({ ts: Date.now(), metrics: { laeq_db: v } });

function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - start > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe('embedded broker with device credentials', () => {
  let dir: string;
  let broker: EmbeddedBroker;
  let passwords: Map<string, string>;
  let store: DuckDbStore;
  let ingest: Ingest;
  const stored: StoredReading[] = [];
  const lines: Record<string, unknown>[] = [];
  const clients: MqttClient[] = [];
  // Sees every message under city/v1 as a second subscriber beside ingest.
  const seen: string[] = [];

  const open = (o: IClientOptions): MqttClient => {
    const c = mqtt.connect(broker.url, { reconnectPeriod: 0, connectTimeout: 5000, ...o });
    clients.push(c);
    return c;
  };
  const connect = (o: IClientOptions): Promise<MqttClient> =>
    new Promise((resolve, reject) => {
      const c = open(o);
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
  const as = (username: string, o: IClientOptions = {}) =>
    connect({ username, password: passwords.get(username), ...o });
  const refusal = (o: IClientOptions) =>
    connect(o).then(
      () => Promise.reject(new Error('connected but should not')),
      (e: Error & { code?: number }) => e,
    );
  const warnings = (msg: string) => lines.filter((l) => l.level === 40 && l.msg === msg);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'broker-auth-'));
    const prov = await provisionMqttCredentials(
      path.join(dir, 'mqtt-credentials.json'),
      {
        devices: [
          { deviceId: 'nz-1', district: 'xinhua', kind: 'noise' },
          { deviceId: 'nz-2', district: 'xinhua', kind: 'noise' },
          { deviceId: 'cam-1', district: 'jinghai', kind: 'camera' },
        ],
        services: [
          { username: 'ingest', ...SERVICE_TOPICS.ingest },
          { username: 'watcher', ...SERVICE_TOPICS.ingest },
          { username: 'embedded-gateway', ...SERVICE_TOPICS.gateway('embedded-gateway') },
          { username: 'nbiot', ...SERVICE_TOPICS.nbiot },
          { username: 'notices', ...SERVICE_TOPICS.notices },
          // A gateway whose edge agent acts for camera cam-2 (reads its commands).
          { username: 'gw-cams', ...SERVICE_TOPICS.gateway('gw-cams', [{ district: 'jinghai', cameraId: 'cam-2' }]) },
        ],
      },
      { kdf: KDF },
    );
    passwords = prov.passwords;
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _e, cb) {
          for (const l of chunk.toString('utf8').split('\n'))
            if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
          cb();
        },
      }),
    );
    broker = await startEmbeddedBroker({ port: 0, host: '127.0.0.1', logger, auth: prov.registry });
    store = await DuckDbStore.open({ file: ':memory:' });
    ingest = new Ingest({
      mqttUrl: broker.url,
      username: 'ingest',
      password: passwords.get('ingest'),
      clientId: 'ingest-test',
      store,
      logger: silentLogger,
      registry: new Registry(),
      batchMaxReadings: 100,
      batchMaxDelayMs: 10,
      maxPayloadBytes: 65536,
      receiveMaximum: 100,
      onStored: (r) => stored.push(...r),
    });
    await ingest.start();
    const watcher = await as('watcher');
    watcher.on('message', (topic) => seen.push(topic));
    await watcher.subscribeAsync('city/v1/#', { qos: 1 });
  });

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await ingest?.stop();
    await store?.close();
    await broker?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lets a device in with its password and refuses a wrong or missing one (CONNACK 4), logged with client id and IP', async () => {
    const ok = await as('nz-1');
    expect(ok.connected).toBe(true);
    ok.end(true);
    const wrong = await refusal({ username: 'nz-1', password: 'not-its-password', clientId: 'meter-wrong' });
    expect(wrong.code).toBe(4);
    expect(wrong.message).toMatch(/Bad username or password/i);
    expect((await refusal({ username: 'no-such-device', password: 'x', clientId: 'meter-unknown' })).code).toBe(4);
    expect((await refusal({ clientId: 'meter-anonymous' })).code).toBe(4);
    const w = warnings('mqtt connection refused: wrong username or password');
    expect(w.map((l) => [l.clientId, l.username, l.ip])).toEqual([
      ['meter-wrong', 'nz-1', '127.0.0.1'],
      ['meter-unknown', 'no-such-device', '127.0.0.1'],
    ]);
    expect(warnings('mqtt connection refused: no username or password')[0]).toMatchObject({
      clientId: 'meter-anonymous',
    });
    expect(JSON.stringify(lines)).not.toContain('not-its-password');
  });

  it("a device publishing to another device's topic is cut off: nothing reaches a subscriber or the store", async () => {
    const nz1 = await as('nz-1', { clientId: 'gw.nz-1' });
    await nz1.publishAsync('city/v1/xinhua/noise/nz-1/readings', reading(51), { qos: 1 });
    await until(() => stored.some((r) => r.deviceId === 'nz-1'), 'the own reading in the store');

    // mqtt.js sees its connection closed and keeps the unacknowledged message, sending it again on every reconnect.
    const spoofer = open({
      username: 'nz-1',
      password: passwords.get('nz-1'),
      clientId: 'gw.nz-1-spoof',
      reconnectPeriod: 20,
    });
    let closes = 0;
    spoofer.on('close', () => closes++);
    await new Promise((r) => spoofer.once('connect', r));
    spoofer.publish('city/v1/xinhua/noise/nz-2/readings', reading(99), { qos: 1 });
    await until(() => closes >= 3, 'three refusals');
    spoofer.end(true);

    // A marker from nz-2 itself, sent after the refusals, is delivered: everything before it has been handled.
    const nz2 = await as('nz-2');
    await nz2.publishAsync('city/v1/xinhua/noise/nz-2/readings', reading(42), { qos: 1 });
    await until(() => stored.some((r) => r.deviceId === 'nz-2'), "nz-2's own reading");
    await until(() => seen.includes('city/v1/xinhua/noise/nz-2/readings'), 'the watcher to see nz-2');
    expect(seen.filter((t) => t === 'city/v1/xinhua/noise/nz-2/readings')).toHaveLength(1);
    expect(stored.filter((r) => r.deviceId === 'nz-2').map((r) => r.metrics.laeq_db)).toEqual([42]);
    const q = await store.query({ deviceId: 'nz-2', limit: 100 });
    expect(q.readings.map((r) => r.metrics.laeq_db)).toEqual([42]);
    // Logged once (then once a minute with a count), not on every one of the refusals.
    const w = warnings("mqtt publish refused: outside the account's topics; connection closed");
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({
      clientId: 'gw.nz-1-spoof',
      username: 'nz-1',
      ip: '127.0.0.1',
      topic: 'city/v1/xinhua/noise/nz-2/readings',
    });
  });

  it("refuses subscriptions outside the account's topics and keeps the connection", async () => {
    const nz1 = await as('nz-1', { clientId: 'gw.nz-1-sub' });
    await expect(nz1.subscribeAsync('city/v1/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await expect(nz1.subscribeAsync('$share/g/city/v1/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    expect(nz1.connected).toBe(true);
    const before = stored.filter((r) => r.deviceId === 'nz-1').length;
    await nz1.publishAsync('city/v1/xinhua/noise/nz-1/readings', reading(60), { qos: 1 });
    await until(
      () => stored.filter((r) => r.deviceId === 'nz-1').length > before,
      'a reading after the refused subscription',
    );
    const cam = await as('cam-1');
    const granted = await cam.subscribeAsync('city/v1/jinghai/camera/cam-1/commands', { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    await expect(cam.subscribeAsync('city/v1/jinghai/camera/cam-2/commands', { qos: 1 })).rejects.toThrow(
      /Subscribe error/,
    );
    expect(warnings("mqtt subscription refused: outside the account's topics").map((l) => l.topic)).toEqual([
      'city/v1/#',
      '$share/g/city/v1/#',
      'city/v1/jinghai/camera/cam-2/commands',
    ]);
  });

  it('service accounts publish within their wildcards only', async () => {
    const gw = await as('embedded-gateway');
    await gw.publishAsync(
      'city/v1/unmapped/dust/hj212-SIM1/readings',
      JSON.stringify({ ts: Date.now(), metrics: { pm10_ugm3: 80 } }),
      { qos: 1 },
    );
    await until(() => stored.some((r) => r.deviceId === 'hj212-SIM1'), "the gateway's reading");
    const nbiot = await as('nbiot');
    await nbiot.publishAsync(
      'city/v1/xinhua/manhole/mh-7/readings',
      JSON.stringify({ ts: Date.now(), metrics: { tilt_deg: 1 } }),
      { qos: 1 },
    );
    await until(() => stored.some((r) => r.deviceId === 'mh-7'), 'the NB-IoT reading');
    for (const [c, topic] of [
      [gw, 'city/v1/jinghai/camera/cam-1/frames'],
      [nbiot, 'city/v1/xinhua/noise/nz-9/readings'],
    ] as const) {
      let closed = false;
      c.once('close', () => (closed = true));
      c.publish(topic, 'x', { qos: 1 });
      await until(() => closed, `the connection closed after publishing to ${topic}`);
      c.end(true);
    }
    // The gateway may not subscribe at all; ingest (city/v1/#) does, above.
    const gw2 = await as('embedded-gateway', { clientId: 'gw-again' });
    await expect(gw2.subscribeAsync('city/v1/+/dust/+/readings')).rejects.toThrow(/Subscribe error/);
  });

  it('lets the notice service send loudspeaker commands to a camera, which alone (or its gateway) reads them', async () => {
    const cam = await as('cam-1', { clientId: 'gw.cam-1-commands' });
    const got: string[] = [];
    cam.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await cam.subscribeAsync('city/v1/jinghai/camera/cam-1/commands', { qos: 1 });
    const gw = await as('gw-cams');
    const gwGot: string[] = [];
    gw.on('message', (topic) => gwGot.push(topic));
    await gw.subscribeAsync('city/v1/jinghai/camera/cam-2/commands', { qos: 1 });
    await expect(gw.subscribeAsync('city/v1/jinghai/camera/cam-1/commands', { qos: 1 })).rejects.toThrow(
      /Subscribe error/,
    );

    const notices = await as('notices');
    const play = JSON.stringify({
      type: 'play',
      id: 'e1:loudspeaker',
      text: '请将摊位收回店内',
      repeat: 1,
      issuedAt: Date.now(),
    });
    await notices.publishAsync('city/v1/jinghai/camera/cam-1/commands', play, { qos: 1 });
    await notices.publishAsync('city/v1/jinghai/camera/cam-2/commands', play, { qos: 1 });
    await until(() => got.length === 1 && gwGot.length === 1, 'the commands to arrive');
    expect(got).toEqual([`city/v1/jinghai/camera/cam-1/commands ${play}`]);
    expect(gwGot).toEqual(['city/v1/jinghai/camera/cam-2/commands']);
    // The notice service reads nothing, and publishes nothing but commands.
    await expect(notices.subscribeAsync('city/v1/+/camera/+/commands', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    // A camera cannot command itself (or others), a sensor cannot command a camera, notices cannot send frames.
    for (const [c, topic] of [
      [cam, 'city/v1/jinghai/camera/cam-1/commands'],
      [await as('nz-2', { clientId: 'nz-2-commands' }), 'city/v1/jinghai/camera/cam-1/commands'],
      [notices, 'city/v1/jinghai/camera/cam-1/frames'],
    ] as const) {
      let closed = false;
      c.once('close', () => (closed = true));
      c.publish(topic, play, { qos: 1, retain: false });
      await until(() => closed, `the connection closed after publishing to ${topic}`);
      c.end(true);
    }
    expect(got).toHaveLength(1);
  });

  it("refuses a client id held by another account (CONNACK 2): no device takes over ingest's session", async () => {
    const e = await refusal({ username: 'nz-2', password: passwords.get('nz-2'), clientId: 'ingest-test' });
    expect(e.code).toBe(2);
    expect(ingest.connected).toBe(true);
    const nz2 = await as('nz-2', { clientId: 'nz-2-after' });
    const before = stored.filter((r) => r.deviceId === 'nz-2').length;
    await nz2.publishAsync('city/v1/xinhua/noise/nz-2/readings', reading(43), { qos: 1 });
    await until(() => stored.filter((r) => r.deviceId === 'nz-2').length > before, 'ingest still storing');
  });

  it("does not publish a last will on another device's topic", async () => {
    const c = await as('nz-1', {
      clientId: 'gw.nz-1-will',
      will: {
        topic: 'city/v1/xinhua/noise/nz-2/status',
        payload: Buffer.from('{"online":false}'),
        qos: 1,
        retain: true,
      },
    });
    let closed = false;
    c.once('close', () => (closed = true));
    c.stream.destroy();
    await until(() => closed, 'the connection to close');
    const marker = await as('nz-2', { clientId: 'nz-2-marker' });
    await marker.publishAsync('city/v1/xinhua/noise/nz-2/status', '{"online":true}', { qos: 1 });
    await until(() => seen.includes('city/v1/xinhua/noise/nz-2/status'), 'the marker status');
    expect(seen.filter((t) => t === 'city/v1/xinhua/noise/nz-2/status')).toHaveLength(1);
  });

  it('after repeated failures from one address, checks only passwords it verified before', async () => {
    const prov = await provisionMqttCredentials(
      path.join(dir, 'limited.json'),
      {
        devices: [
          { deviceId: 'd1', district: 'x', kind: 'noise' },
          { deviceId: 'd2', district: 'x', kind: 'noise' },
        ],
      },
      { kdf: KDF },
    );
    const b = await startEmbeddedBroker({
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger,
      auth: prov.registry,
      authOptions: { failuresPerIp: { max: 2, windowMs: 60_000 } },
    });
    const attempt = (username: string, password: string) =>
      new Promise<number>((resolve) => {
        const c = mqtt.connect(b.url, { username, password, reconnectPeriod: 0 });
        c.once('connect', () => (c.end(true), resolve(0)));
        c.once('error', (e: Error & { code?: number }) => (c.end(true), resolve(e.code ?? -1)));
      });
    try {
      expect(await attempt('d1', prov.passwords.get('d1')!)).toBe(0);
      expect(await attempt('d2', 'guess-1')).toBe(4);
      expect(await attempt('d2', 'guess-2')).toBe(4);
      const runs = prov.registry.stats.kdfRuns;
      expect(await attempt('d2', prov.passwords.get('d2')!)).toBe(4);
      expect(prov.registry.stats.kdfRuns).toBe(runs);
      expect(await attempt('d1', prov.passwords.get('d1')!)).toBe(0);
    } finally {
      await b.close();
    }
  });

  it('counts checks from their start: a burst of wrong passwords runs scrypt at most `max` times; right ones sent together all get in', async () => {
    const devices = Array.from({ length: 8 }, (_, i) => ({
      deviceId: `burst-${i}`,
      district: 'x',
      kind: 'noise' as const,
    }));
    const prov = await provisionMqttCredentials(path.join(dir, 'burst.json'), { devices }, { kdf: KDF });
    const start = () =>
      startEmbeddedBroker({
        port: 0,
        host: '127.0.0.1',
        logger: silentLogger,
        auth: prov.registry,
        authOptions: { failuresPerIp: { max: 3, windowMs: 60_000 } },
      });
    const attempt = (url: string, username: string, password: string) =>
      new Promise<number>((resolve) => {
        const c = mqtt.connect(url, { username, password, reconnectPeriod: 0 });
        c.once('connect', () => (c.end(true), resolve(0)));
        c.once('error', (e: Error & { code?: number }) => (c.end(true), resolve(e.code ?? -1)));
      });
    let b = await start();
    try {
      const runs = prov.registry.stats.kdfRuns;
      const codes = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(b.url, 'burst-0', `guess-${i}`)));
      expect(codes.every((c) => c === 4)).toBe(true);
      expect(prov.registry.stats.kdfRuns - runs).toBeLessThanOrEqual(3);
    } finally {
      await b.close();
    }
    // Devices behind one address reconnecting together (after a restart) wait for the checks running, not refused.
    b = await start();
    try {
      const codes = await Promise.all(devices.map((d) => attempt(b.url, d.deviceId, prov.passwords.get(d.deviceId)!)));
      expect(codes).toEqual(devices.map(() => 0));
    } finally {
      await b.close();
    }
  });

  it('stays open without a registry (tests and existing callers)', async () => {
    const open = await startEmbeddedBroker({ port: 0, host: '127.0.0.1', logger: silentLogger });
    try {
      const c = await new Promise<MqttClient>((resolve, reject) => {
        const m = mqtt.connect(open.url, { reconnectPeriod: 0 });
        m.once('connect', () => resolve(m));
        m.once('error', reject);
      });
      await c.subscribeAsync('#');
      await c.publishAsync('anything/at/all', 'x', { qos: 1 });
      await c.endAsync();
    } finally {
      await open.close();
    }
  });
});
