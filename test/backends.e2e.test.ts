// The production wiring against real servers: simulator → edge agent → Mosquitto → ingest → InfluxDB and Kafka.
// Counts must be exact in both, also when InfluxDB or Kafka stops for 15 s mid-stream.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBus } from '../bus/index.js';
import type { Bus, BusMessage } from '../bus/types.js';
import { decodeBusReadings } from '../contracts/index.js';
import { Ingest } from '../ingest/ingest.js';
import { silentLogger } from '../runtime/log.js';
import { InfluxStore } from '../store/influxdb/store.js';
import { startAclBroker, type AclBroker } from './mosquitto-acl.js';
import {
  exited,
  ROOT,
  sleep,
  spawnEdge,
  tmpDir,
  uniq,
  waitFor,
  writeEdgeConfig,
  expectExact,
  pointsOf,
  type Sim,
} from './helpers.js';

const service = (name: string, cmd: 'stop' | 'start') =>
  execFileSync(path.join(ROOT, `scripts/services.d/${name}.sh`), [cmd], { stdio: ['ignore', 'ignore', 'inherit'] });

async function influx(): Promise<InfluxStore> {
  const e = process.env;
  return InfluxStore.open({ url: e.INFLUX_URL!, token: e.INFLUX_TOKEN!, org: e.INFLUX_ORG!, bucket: e.INFLUX_BUCKET! });
}

async function kafka(prefix: string): Promise<Bus> {
  return createBus({
    brokers: process.env.KAFKA_BROKERS,
    clientId: uniq('test'),
    topicPrefix: prefix,
    partitions: 4,
    logger: silentLogger,
  });
}

/** Collects every reading that reaches the bus, as a detector would see them. */
async function collect(bus: Bus, group: string) {
  const seen = new Map<string, number>();
  let messages = 0;
  const sub = await bus.subscribe('readings', group, async (batch: BusMessage[]) => {
    for (const m of batch) {
      for (const r of decodeBusReadings(m.value)) {
        const k = `${r.deviceId}@${r.ts}`;
        seen.set(k, (seen.get(k) ?? 0) + 1);
        messages++; // readings, not bus messages: a duplicate reading counts twice
      }
    }
  });
  return {
    seen,
    get messages() {
      return messages;
    },
    sub,
  };
}

const allPoints = (devices: Sim[]) => devices.reduce((n, d) => n + pointsOf(d), 0);
/** Points stored for these devices (the bucket is shared with other tests). */
async function storedPoints(store: InfluxStore, devices: Sim[]): Promise<number> {
  let n = 0;
  for (const d of devices) n += await store.countPoints(d.id).catch(() => 0);
  return n;
}
const readingsOf = (devices: Sim[]) => devices.reduce((n, d) => n + d.count, 0);

// Mosquitto as deploy/mosquitto ships it: each device and ingest with its own account, under the shipped ACL.
let broker: AclBroker;
beforeAll(async () => {
  broker = await startAclBroker();
});
afterAll(async () => {
  await broker?.close();
});

let cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => undefined);
  cleanup = [];
});

async function setup(name: string, devices: (district: string) => Sim[]) {
  const dir = tmpDir(name);
  const district = uniq('d');
  const devs = devices(district);
  await broker.add(devs.map((d) => d.id));
  const prefix = `${uniq('t')}.`;
  const store = await influx();
  const bus = await kafka(prefix);
  const consumerBus = await kafka(prefix);
  const seen = await collect(consumerBus, uniq('g'));
  const ingest = new Ingest({
    mqttUrl: broker.url,
    ...broker.login('ingest'),
    clientId: uniq('ing'),
    shareGroup: 'ingest',
    filter: `city/v1/${district}/#`,
    store,
    bus,
    logger: silentLogger,
    registry: new Registry(),
    batchMaxReadings: 2000,
    batchMaxDelayMs: 50,
    maxPayloadBytes: 256 * 1024,
    receiveMaximum: 20_000,
    sessionExpirySec: 300,
  });
  await ingest.start();
  cleanup.push(
    () => store.close(),
    () => bus.close(),
    () => consumerBus.close(),
    () => seen.sub.close(),
    () => ingest.stop(),
  );
  return { dir, district, devs, store, seen, ingest };
}

describe('production backends: InfluxDB and Kafka, real servers', () => {
  it('simulator → Mosquitto → ingest → InfluxDB and Kafka: counts exact in both', async () => {
    const s = await setup('be1', (d) => [
      { id: `${d}-noise`, kind: 'noise', count: 300 },
      { id: `${d}-dust`, kind: 'dust', count: 300 },
      { id: `${d}-mh`, kind: 'manhole', count: 300 },
    ]);
    const edge = spawnEdge(writeEdgeConfig(s.dir, s.district, s.devs, 5, broker), ['--exit-when-done']);
    cleanup.push(() => edge.kill('SIGKILL'));
    expect(await exited(edge)).toBe(0);
    expect(
      await waitFor(
        async () =>
          (await storedPoints(s.store, s.devs)) >= allPoints(s.devs) && s.seen.seen.size >= readingsOf(s.devs),
        30_000,
      ),
    ).toBe(true);
    await expectExact(s.store, s.devs);
    expect(s.seen.seen.size).toBe(readingsOf(s.devs));
    // Without failures nothing is sent twice.
    expect(s.seen.messages).toBe(readingsOf(s.devs));
  });

  it('InfluxDB stopped for 15 s mid-stream: nothing lost, no duplicates once it is back', async () => {
    const s = await setup('be2', (d) => [
      { id: `${d}-noise`, kind: 'noise', count: 2500 },
      { id: `${d}-dust`, kind: 'dust', count: 2500 },
    ]);
    cleanup.push(() => service('influxdb', 'start'));
    const edge = spawnEdge(writeEdgeConfig(s.dir, s.district, s.devs, 10, broker), ['--exit-when-done']);
    cleanup.push(() => edge.kill('SIGKILL'));
    await sleep(3000);
    service('influxdb', 'stop');
    const stoppedAt = Date.now();
    // Ingest holds: the batch waits, its messages stay unacknowledged, readiness says so.
    expect(await waitFor(() => !s.ingest.healthy && s.ingest.unacknowledged > 0, 14_000)).toBe(true);
    await sleep(15_000 - (Date.now() - stoppedAt));
    expect(s.ingest.unacknowledged).toBeGreaterThan(0);
    service('influxdb', 'start');
    expect(await exited(edge)).toBe(0);
    expect(await waitFor(async () => (await storedPoints(s.store, s.devs)) >= allPoints(s.devs), 60_000)).toBe(true);
    await expectExact(s.store, s.devs);
    // Kafka saw every reading at least once (a batch retried after the outage is published again).
    expect(s.seen.seen.size).toBe(readingsOf(s.devs));
  });

  it('Kafka stopped for 15 s: ingest withholds acknowledgements and loses nothing after the restart', async () => {
    const s = await setup('be3', (d) => [
      { id: `${d}-noise`, kind: 'noise', count: 2500 },
      { id: `${d}-mh`, kind: 'manhole', count: 2500 },
    ]);
    cleanup.push(() => service('kafka', 'start'));
    const edge = spawnEdge(writeEdgeConfig(s.dir, s.district, s.devs, 10, broker), ['--exit-when-done']);
    cleanup.push(() => edge.kill('SIGKILL'));
    await sleep(3000);
    service('kafka', 'stop');
    const stoppedAt = Date.now();
    // Ingest holds: the batch waits for Kafka, its messages stay unacknowledged, readiness says so.
    expect(await waitFor(() => !s.ingest.healthy && s.ingest.unacknowledged > 0, 14_000)).toBe(true);
    await sleep(15_000 - (Date.now() - stoppedAt));
    expect(s.ingest.unacknowledged).toBeGreaterThan(0);
    service('kafka', 'start');
    expect(await exited(edge)).toBe(0);
    expect(await waitFor(() => s.seen.seen.size >= readingsOf(s.devs), 90_000)).toBe(true);
    expect(s.seen.seen.size).toBe(readingsOf(s.devs));
    await expectExact(s.store, s.devs);
  });
});
