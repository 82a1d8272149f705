// The sensor spine end to end, against a real Mosquitto: simulator → edge agent (its own process) → broker →
// ingest → DuckDB. Counts must be exact, also when the broker stops and the agent is killed mid-stream.
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { Ingest } from '../ingest/ingest.js';
import {
  exited,
  mosquitto,
  mqttUrl,
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
    const store = await openStore(dir);
    const ingest = startIngest(store, { clientId: uniq('ing'), filter: `city/v1/${district}/#` });
    await ingest.start();
    cleanup.push(() => store.close(), () => ingest.stop());

    const edge = spawnEdge(writeEdgeConfig(dir, district, devices, 5), ['--exit-when-done']);
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
    const store = await openStore(dir);
    let received = 0;
    const ingest = startIngest(store, {
      clientId: uniq('ing'),
      filter: `city/v1/${district}/#`,
      onStored: (r) => (received += r.length),
    });
    await ingest.start();
    cleanup.push(() => store.close(), () => ingest.stop(), async () => mosquitto('start'));

    // 2,500 readings per device at one per 10 ms: a 25 s stream.
    const config = writeEdgeConfig(dir, district, devices, 10);
    let edge = spawnEdge(config);
    cleanup.push(async () => void edge.kill('SIGKILL'));
    await sleep(3000);
    mosquitto('stop');
    const storedAtStop = await store.countPoints();
    await sleep(10_000);
    // While the broker is away the agent keeps producing into its disk buffer.
    mosquitto('start');
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
    // Register the persistent session, then go away.
    let ingest: Ingest = startIngest(store, { clientId, filter: `city/v1/${district}/#` });
    await ingest.start();
    await ingest.stop();

    // 20,000 messages (one reading each) while nobody consumes: past Mosquitto's default queue of 1,000.
    const pub = await mqtt.connectAsync(mqttUrl(), { clientId: uniq('pub') });
    const N = 20_000;
    const t0 = Date.parse('2026-06-01T00:00:00Z');
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      const dev = `${district}-n${i % 20}`;
      pending.push(
        pub.publishAsync(
          `city/v1/${district}/noise/${dev}/readings`,
          JSON.stringify({ ts: t0 + Math.floor(i / 20) * 1000, seq: i, metrics: { laeq_db: 50 + (i % 7) } }),
          { qos: 1 },
        ),
      );
      if (pending.length >= 500) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    await pub.endAsync();

    ingest = startIngest(store, { clientId, filter: `city/v1/${district}/#` });
    await ingest.start();
    cleanup.push(() => store.close(), () => ingest.stop());
    expect(await waitFor(async () => (await store.countPoints()) >= N, 30_000)).toBe(true);
    await sleep(300);
    expect(await store.countPoints()).toBe(N);
  });
});
