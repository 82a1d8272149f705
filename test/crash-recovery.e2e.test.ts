// Crash recovery of the platform process: `npm start` as its own process on Kafka and on Mosquitto with the
// shipped accounts and ACL, killed with SIGKILL while
// - a case is in its outbox, its delivery in flight (the case system holds the request unanswered),
// - a notice waits for the SMS gateway (which answers 503), its loudspeaker command already sent,
// - ingest holds QoS 1 readings it has received but not stored, and so not acknowledged;
// then started again on the same DATA_DIR with the case system and the gateway back. Each case and notice reaches
// its receiver once (one 2xx per idempotency key, the loudspeaker command not repeated), and every reading is
// stored exactly once: the broker redelivers what was never acknowledged, and writes are idempotent on
// (device, metric, ts).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBus } from '../bus/index.js';
import type { Bus } from '../bus/types.js';
import type { EnforcementEvent } from '../contracts/index.js';
import { silentLogger } from '../runtime/log.js';
import { DuckDbStore } from '../store/duckdb/store.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { publishedCamerasFile, simulatedEvents } from './console-fixtures.js';
import {
  ADMIN_PASSWORD,
  exited,
  freePort,
  ROOT,
  signIn,
  sleep,
  tmpDir,
  uniq,
  waitFor,
  type ApiCall,
} from './helpers.js';
import { startAclBroker, type AclBroker } from './mosquitto-acl.js';

/** A receiver that counts every request by its idempotency key, and answers as the test tells it. */
class Receiver {
  mode: 'hold' | 'fail' | 'ok';
  readonly requests: { key: string; status: number | 'held' }[] = [];
  private readonly server: http.Server;
  private readonly held: http.ServerResponse[] = [];
  port = 0;
  constructor(mode: 'hold' | 'fail' | 'ok') {
    this.mode = mode;
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const key = String(req.headers['idempotency-key']);
        if (this.mode === 'hold') {
          this.requests.push({ key, status: 'held' });
          this.held.push(res);
          return;
        }
        const status = this.mode === 'ok' ? 201 : 503;
        this.requests.push({ key, status });
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(status === 201 ? '{"ok":true}' : '{"error":"unavailable"}');
      });
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  accepted(key: string): number {
    return this.requests.filter((r) => r.key === key && r.status === 201).length;
  }
  seen(key: string): number {
    return this.requests.filter((r) => r.key === key).length;
  }
  async close(): Promise<void> {
    for (const r of this.held) r.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const webhook = new Receiver('hold');
const sms = new Receiver('fail');
const dataDir = tmpDir('crash');
const prefix = `${uniq('crash')}.`;
const devices = [uniq('nz-crash-a'), uniq('nz-crash-b')];
let broker: AclBroker;
let bus: Bus;
let events: EnforcementEvent[];
let env: NodeJS.ProcessEnv;
let apiUrl: string;
let platform: ChildProcess | null = null;
const logFile = path.join(dataDir, 'platform.log');

/** `npm start` as its own process (as the Dockerfile runs it); resolves when /readyz answers 200. */
async function startPlatform(): Promise<void> {
  const out = fs.openSync(logFile, 'a');
  const c = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'app/main.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  platform = c;
  const ready = await waitFor(
    async () => {
      if (c.exitCode !== null) return true;
      return (
        (await fetch(`${apiUrl}/readyz`).then(
          (r) => r.status,
          () => 0,
        )) === 200
      );
    },
    90_000,
    500,
  );
  if (!ready || c.exitCode !== null)
    throw new Error(`the platform did not become ready:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
}

async function killPlatform(): Promise<void> {
  const c = platform!;
  platform = null;
  c.kill('SIGKILL');
  await exited(c);
}

/** A gauge or counter of the platform's /metrics. */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

beforeAll(async () => {
  await Promise.all([webhook.listen(), sms.listen()]);
  events = await simulatedEvents(new EvidenceStore(path.join(dataDir, 'evidence')), Date.now() - 3_600_000);
  const vending = events.find((e) => e.type === 'out-of-store-vending')!;
  // The vending camera's loudspeaker is listened to with the camera's own account, as its edge agent would.
  broker = await startAclBroker([...devices, vending.camera.id]);
  const camerasFile = publishedCamerasFile(dataDir);
  // The shop in front of the vending zone can be told; the parked vehicle's keeper is unknown (a case at once).
  fs.writeFileSync(
    path.join(dataDir, 'parties.json'),
    JSON.stringify({
      shops: [
        {
          id: 'crash-shop',
          name: '测试商户',
          phone: '13800009999',
          zones: [{ cameraId: vending.camera.id, zoneId: vending.zone.id }],
        },
      ],
    }),
  );
  const shipped = JSON.parse(fs.readFileSync(path.join(ROOT, 'config/notices.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  fs.writeFileSync(
    path.join(dataDir, 'notices.json'),
    JSON.stringify({
      ...shipped,
      graceS: { 'out-of-store-vending': 3600, 'illegal-parking': 3600 },
      delivery: { attempts: 100, retryBaseMs: 300, retryMaxMs: 2000, timeoutMs: 5000 },
    }),
  );
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    HJ212_PORT: 'off',
    SIMULATE: '0',
    PLATES: '0',
    ADMIN_PASSWORD,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_PARTITIONS: '2',
    MQTT_URL: broker.url,
    MQTT_USERNAME: 'ingest',
    MQTT_PASSWORD: broker.password('ingest'),
    NOTICES_MQTT_USERNAME: 'notices',
    NOTICES_MQTT_PASSWORD: broker.password('notices'),
    INGEST_CLIENT_ID: uniq('ingest-crash'),
    // A batch waits 10 s for more readings: the window in which ingest holds received, unacknowledged messages.
    INGEST_BATCH_MS: '10000',
    INGEST_BATCH_MAX: '100000',
    CAMERAS_FILE: camerasFile,
    PARTIES_FILE: path.join(dataDir, 'parties.json'),
    NOTICES_FILE: path.join(dataDir, 'notices.json'),
    CASE_WEBHOOK_URL: `http://127.0.0.1:${webhook.port}/cases`,
    CASE_WEBHOOK_SECRET: 'crash-recovery-webhook-secret',
    CASE_WEBHOOK_TIMEOUT_MS: '120000',
    CASE_RETRY_BASE_MS: '300',
    CASE_RETRY_MAX_MS: '2000',
    SMS_GATEWAY_URL: `http://127.0.0.1:${sms.port}/send`,
    SMS_GATEWAY_TOKEN: 'crash-recovery-sms-token',
  };
  // The embedded DuckDB store, read directly at the end (the global setup's InfluxDB variables are for other tests).
  for (const k of ['MQTT_PORT', 'INFLUX_URL', 'INFLUX_TOKEN', 'INFLUX_ORG', 'INFLUX_BUCKET']) delete env[k];
  bus = await createBus({
    brokers: process.env.KAFKA_BROKERS,
    clientId: uniq('crash-test'),
    topicPrefix: prefix,
    partitions: 2,
    logger: silentLogger,
  });
}, 120_000);

afterAll(async () => {
  if (platform) await killPlatform();
  await bus?.close();
  await broker?.close();
  await webhook.close();
  await sms.close();
});

describe('kill -9 of the platform', () => {
  it('delivers each case and notice once after the restart, and stores every reading once', async () => {
    await startPlatform();
    let admin: ApiCall = await signIn(apiUrl);
    const parking = events.find((e) => e.type === 'illegal-parking')!;
    const vending = events.find((e) => e.type === 'out-of-store-vending')!;

    // The camera's edge agent, listening for commands.
    const commands: string[] = [];
    const camera = mqtt.connect(broker.url, {
      ...broker.login(vending.camera.id),
      protocolVersion: 5,
      clientId: uniq('cam'),
      clean: true,
    });
    camera.on('message', (_t, payload) => commands.push((JSON.parse(payload.toString()) as { id: string }).id));
    await new Promise<void>((r) => camera.once('connect', () => r()));
    await camera.subscribeAsync(`city/v1/${vending.camera.district}/camera/${vending.camera.id}/commands`, { qos: 1 });

    // The events reach the review queue over Kafka; a reviewer confirms both.
    await bus.publish(
      'events',
      events.map((e) => ({ key: e.camera.id, value: JSON.stringify(e) })),
    );
    for (const e of events)
      expect(
        await waitFor(async () => (await admin(`/api/events/${encodeURIComponent(e.id)}`)).status === 200, 60_000),
        e.id,
      ).toBe(true);
    const confirmed = await admin(`/api/events/${encodeURIComponent(parking.id)}/review`, { decision: 'confirm' });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect((await admin(`/api/events/${encodeURIComponent(vending.id)}/review`, { decision: 'confirm' })).status).toBe(
      200,
    );
    // The parked vehicle's keeper is unknown: its case is filed at once, and its delivery is under way (held).
    expect(
      await waitFor(
        async () =>
          ((await admin(`/api/notices/${encodeURIComponent(parking.id)}`)).body.caseId as string | undefined) !==
          undefined,
        30_000,
      ),
    ).toBe(true);
    const caseId = String((await admin(`/api/notices/${encodeURIComponent(parking.id)}`)).body.caseId);
    expect(await waitFor(() => webhook.seen(caseId) === 1, 30_000)).toBe(true);
    // The shop's SMS fails and waits; its loudspeaker command went out and was acknowledged by the broker.
    const smsKey = `${vending.id}:sms`;
    const deliveries = async () =>
      Object.fromEntries(
        (
          (await admin(`/api/notices/${encodeURIComponent(vending.id)}`)).body.deliveries as {
            channel: string;
            status: string;
          }[]
        ).map((d) => [d.channel, d.status]),
      );
    expect(
      await waitFor(async () => sms.seen(smsKey) >= 2 && (await deliveries()).loudspeaker === 'sent', 30_000),
    ).toBe(true);
    expect((await deliveries()).sms).toBe('pending');
    expect(await waitFor(() => commands.length === 1, 10_000)).toBe(true);

    // Readings that ingest takes in and holds, unacknowledged, waiting for its batch.
    const t0 = Date.now() - 3_600_000;
    const publishReadings = async (from: number, n: number) => {
      for (const d of devices) {
        const c = await mqtt.connectAsync(broker.url, {
          ...broker.login(d),
          clientId: uniq('pub'),
          protocolVersion: 5,
        });
        for (let i = from; i < from + n; i++) {
          const r = await c.publishAsync(
            `city/v1/xinhua/noise/${d}/readings`,
            JSON.stringify({ ts: new Date(t0 + i * 1000).toISOString(), metrics: { laeq_db: 50 + (i % 10) } }),
            { qos: 1 },
          );
          // The ACL would refuse a topic not the device's own (reason 0x87): these are its own.
          expect((r as { reasonCode?: number } | undefined)?.reasonCode ?? 0).toBe(0);
        }
        await c.endAsync();
      }
    };
    // Ingest reads the loudspeaker command too (and drops it): its batch is written first, so the readings open a
    // batch of their own and its 10 s start with the first of them.
    expect(await waitFor(async () => (await metric('ingest_unacked_messages')) === 0, 20_000)).toBe(true);
    await publishReadings(0, 300);
    expect(await waitFor(async () => (await metric('ingest_unacked_messages')) === 600, 8000, 100)).toBe(true);
    await killPlatform();
    // Nothing of it was stored before the kill: the batch was still open.
    const before = await DuckDbStore.open({ file: path.join(dataDir, 'city.duckdb'), memoryLimit: '64MB' });
    expect(await before.countPoints()).toBe(0);
    await before.close();

    // More readings while the platform is down: the broker queues them for ingest's session.
    await publishReadings(300, 200);
    webhook.mode = 'ok';
    sms.mode = 'ok';
    await startPlatform();
    admin = await signIn(apiUrl);

    expect(
      await waitFor(
        async () =>
          ((await admin(`/api/cases/${encodeURIComponent(caseId)}`)).body.delivery as { status: string }).status ===
          'delivered',
        60_000,
      ),
    ).toBe(true);
    expect(await waitFor(async () => (await deliveries()).sms === 'sent', 60_000)).toBe(true);
    const stored = async () => {
      let n = 0;
      for (const d of devices) n += Number((await admin(`/api/readings?device=${d}&limit=1`)).body.total);
      return n;
    };
    expect(await waitFor(async () => (await stored()) === 1000, 60_000)).toBe(true);
    await sleep(3000); // time for a late second delivery to show up

    // The case: the request in flight at the kill, then one accepted delivery.
    expect(webhook.accepted(caseId)).toBe(1);
    expect(webhook.requests.filter((r) => r.key !== caseId)).toEqual([]);
    // The notice: one SMS accepted, the loudspeaker command not played again.
    expect(sms.accepted(smsKey)).toBe(1);
    expect(sms.requests.filter((r) => r.key !== smsKey)).toEqual([]);
    expect(commands).toEqual([`${vending.id}:loudspeaker`]);
    // Only the one case: the restart's recovery filed nothing twice.
    expect((await admin('/api/cases?limit=100')).body.total).toBe(1);
    await camera.endAsync();

    // Every reading once: SIGTERM flushes, then the store file is read directly.
    platform!.kill('SIGTERM');
    await exited(platform!);
    platform = null;
    const store = await DuckDbStore.open({ file: path.join(dataDir, 'city.duckdb'), memoryLimit: '64MB' });
    try {
      for (const d of devices) {
        const { total, readings } = await store.query({ deviceId: d, limit: 1000 });
        expect(total, d).toBe(500);
        expect(readings.map((r) => r.ts)).toEqual(Array.from({ length: 500 }, (_, i) => t0 + i * 1000));
        expect(await store.countPoints(d), d).toBe(500);
      }
    } finally {
      await store.close();
    }
  }, 400_000);
});
