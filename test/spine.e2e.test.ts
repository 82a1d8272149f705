// The sensor spine end to end, against a real Mosquitto configured as deploy/mosquitto ships it (every device and
// ingest with its own account, the shipped ACL): simulator → edge agent (its own process) → broker → ingest →
// DuckDB. Counts must be exact, also when the broker stops and the agent is killed mid-stream.
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Ingest } from '../ingest/ingest.js';
import { startAclBroker, type AclBroker } from './mosquitto-acl.js';
import {
  exited,
  openStore,
  sleep,
  spawnEdge,
  startIngest,
  tmpDir,
  uniq,
  waitFor,
  writeEdgeConfig,
  expectExact,
  pointsOf,
  type Sim,
} from './helpers.js';

let broker: AclBroker;
beforeAll(async () => {
  broker = await startAclBroker();
});
afterAll(async () => {
  await broker?.close();
});
/** Ingest as production runs it: the `ingest` account on its shared subscription. */
const ingestOn = (b: AclBroker) => ({ mqttUrl: b.url, ...b.login('ingest') });

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  cleanup = [];
});

describe('sensor spine with a real Mosquitto', () => {
  it('stores exactly what the simulator published', async () => {
    const dir = tmpDir('spine1');
    const district = uniq('d');
    const devices: Sim[] = [
      { id: `${district}-noise`, kind: 'noise', count: 400 },
      { id: `${district}-dust`, kind: 'dust', count: 400 },
      { id: `${district}-drain`, kind: 'drainage', count: 400 },
      { id: `${district}-mh`, kind: 'manhole', count: 400 },
      { id: `${district}-fume`, kind: 'fume', count: 400 },
    ];
    await broker.add(devices.map((d) => d.id));
    const store = await openStore(dir);
    const ingest = startIngest(store, { clientId: uniq('ing'), filter: `city/v1/${district}/#`, ...ingestOn(broker) });
    await ingest.start();
    cleanup.push(
      () => store.close(),
      () => ingest.stop(),
    );

    const edge = spawnEdge(writeEdgeConfig(dir, district, devices, 5, broker), ['--exit-when-done']);
    cleanup.push(async () => void edge.kill('SIGKILL'));
    expect(await exited(edge)).toBe(0);
    const want = devices.reduce((n, d) => n + pointsOf(d), 0);
    expect(await waitFor(async () => (await store.countPoints()) >= want, 20_000)).toBe(true);
    await expectExact(store, devices);
  });

  it('loses and doubles nothing when Mosquitto stops for 10 s and the edge agent is killed and restarted', async () => {
    const dir = tmpDir('spine2');
    const district = uniq('d');
    const devices: Sim[] = [
      { id: `${district}-noise`, kind: 'noise', count: 2500 },
      { id: `${district}-dust`, kind: 'dust', count: 2500 },
      { id: `${district}-mh`, kind: 'manhole', count: 2500 },
    ];
    await broker.add(devices.map((d) => d.id));
    const store = await openStore(dir);
    let received = 0;
    const ingest = startIngest(store, {
      clientId: uniq('ing'),
      filter: `city/v1/${district}/#`,
      onStored: (r) => (received += r.length),
      ...ingestOn(broker),
    });
    await ingest.start();
    cleanup.push(
      () => store.close(),
      () => ingest.stop(),
      () => broker.start(),
    );

    // 2,500 readings per device at one per 10 ms: a 25 s stream.
    const config = writeEdgeConfig(dir, district, devices, 10, broker);
    let edge = spawnEdge(config);
    cleanup.push(async () => void edge.kill('SIGKILL'));
    // Mid-stream: once the first readings are stored (the agent's start takes a while on a busy machine).
    expect(await waitFor(async () => (await store.countPoints()) > 0, 30_000)).toBe(true);
    await sleep(1000);
    await broker.stop();
    const storedAtStop = await store.countPoints();
    await sleep(10_000);
    // While the broker is away the agent keeps producing into its disk buffer.
    await broker.start();
    // Kill the agent while it replays its backlog, with readings in flight and unacknowledged.
    await sleep(800);
    edge.kill('SIGKILL');
    await exited(edge);
    edge = spawnEdge(config, ['--exit-when-done']);
    expect(await exited(edge)).toBe(0);

    const want = devices.reduce((n, d) => n + pointsOf(d), 0);
    await waitFor(async () => (await store.countPoints()) >= want, 60_000);
    expect(await store.countPoints(), `points stored; ingest received ${received} readings`).toBe(want);
    expect(storedAtStop).toBeGreaterThan(0);
    expect(storedAtStop).toBeLessThan(want);
    await expectExact(store, devices);
    // Readings sent twice (resent after the kill) reached ingest but were stored once.
    expect(received).toBeGreaterThanOrEqual(devices.reduce((n, d) => n + d.count, 0));
  });

  it('keeps every message that arrives while ingest is away (Mosquitto queue limits set deliberately)', async () => {
    const dir = tmpDir('spine3');
    const district = uniq('d');
    const clientId = uniq('ing');
    const store = await openStore(dir);
    const senders = Array.from({ length: 20 }, (_, i) => `${district}-n${i}`);
    await broker.add(senders);
    // Register the persistent session, then go away.
    let ingest: Ingest = startIngest(store, { clientId, filter: `city/v1/${district}/#`, ...ingestOn(broker) });
    await ingest.start();
    await ingest.stop();

    // 20,000 messages (one reading each) from 20 devices, each with its own account, while nobody consumes: past
    // Mosquitto's default queue of 1,000.
    const pubs = await Promise.all(
      senders.map((d) => mqtt.connectAsync(broker.url, { clientId: uniq('pub'), ...broker.login(d) })),
    );
    const N = 20_000;
    const t0 = Date.parse('2026-06-01T00:00:00Z');
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      const dev = `${district}-n${i % 20}`;
      pending.push(
        pubs[i % 20]!.publishAsync(
          `city/v1/${district}/noise/${dev}/readings`,
          JSON.stringify({ ts: t0 + Math.floor(i / 20) * 1000, seq: i, metrics: { laeq_db: 50 + (i % 7) } }),
          { qos: 1 },
        ),
      );
      if (pending.length >= 500) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    await Promise.all(pubs.map((p) => p.endAsync()));

    ingest = startIngest(store, { clientId, filter: `city/v1/${district}/#`, ...ingestOn(broker) });
    await ingest.start();
    cleanup.push(
      () => store.close(),
      () => ingest.stop(),
    );
    expect(await waitFor(async () => (await store.countPoints()) >= N, 30_000)).toBe(true);
    await sleep(300);
    expect(await store.countPoints()).toBe(N);
  });
});
