// HJ 212 monitors end to end: simulated monitors (split and merged TCP segments, dropped connections, cut frames,
// flagged values) → the edge agent's HJ 212 server → its gateway buffer → a real Mosquitto → ingest → DuckDB.
// Counts must be exact, also when Mosquitto stops in the middle; bad frames end as dead letters with their bytes.
// Mosquitto runs as deploy/mosquitto ships it: the agent's HJ 212 server publishes with its gateway's account, which
// the ACL allows its monitors' topics and its dead-letter topic only (the block an operator adds per gateway).
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EdgeAgent } from '../edge/agent.js';
import { EdgeConfigSchema } from '../edge/config.js';
import { HJ212_KINDS } from '../edge/drivers/hj212/config.js';
import { encodeFrame } from '../edge/drivers/hj212/frame.js';
import { silentLogger } from '../runtime/log.js';
import { Hj212Fleet } from '../simulators/hj212/monitor.js';
import { openStore, sleep, startIngest, tmpDir, uniq, waitFor } from './helpers.js';
import { startAclBroker, type AclBroker } from './mosquitto-acl.js';

let broker: AclBroker;
beforeAll(async () => {
  broker = await startAclBroker();
});
afterAll(async () => {
  await broker?.close();
});

type Device = { id: string; district: string; kind: string };

/** The ACL block of a gateway (deploy/mosquitto/acl): its dead letters, and each monitor's devices' two topics. */
function gatewayAcl(gatewayId: string, devices: readonly Device[]): string[] {
  const lines = [`user ${gatewayId}`, `topic write city/v1/_gateway/${gatewayId}/dead-letters`];
  for (const d of devices) {
    for (const k of HJ212_KINDS) {
      // The monitor's own device, and the companion that takes the metrics of another kind (`${id}-${kind}`).
      const id = k === d.kind ? d.id : `${d.id}-${k}`;
      lines.push(
        `topic write city/v1/${d.district}/${k}/${id}/readings`,
        `topic write city/v1/${d.district}/${k}/${id}/status`,
      );
    }
  }
  return lines;
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  cleanup = [];
});

async function setUp(
  name: string,
  hj212: { devices: readonly (Device & Record<string, unknown>)[] } & Record<string, unknown>,
) {
  const dir = tmpDir(name);
  const district = uniq('hj');
  const gatewayId = uniq('gw');
  await broker.add([gatewayId], gatewayAcl(gatewayId, hj212.devices));
  const store = await openStore(dir);
  const ingest = startIngest(store, {
    clientId: uniq('ing'),
    // A group of its own: the earlier test's ingest session persists and would take its share of a common group.
    shareGroup: uniq('g'),
    filter: 'city/v1/#',
    mqttUrl: broker.url,
    ...broker.login('ingest'),
  });
  await ingest.start();
  cleanup.push(
    () => store.close(),
    () => ingest.stop(),
  );
  const cfg = EdgeConfigSchema.parse({
    gatewayId,
    gatewayCredentials: broker.login(gatewayId),
    mqtt: { url: broker.url, reconnectMinMs: 200, reconnectMaxMs: 1000, settleMs: 300 },
    buffer: { dir: path.join(dir, 'edge'), fsyncMs: 0 },
    hj212: { port: 0, host: '127.0.0.1', ...hj212 },
  });
  const agent = new EdgeAgent(cfg, silentLogger);
  await agent.start();
  cleanup.push(() => agent.stop(0));
  return { dir, district, store, agent, port: agent.hj212Port! };
}

describe('HJ 212 monitors through the edge agent with a real Mosquitto', () => {
  it('stores exactly what the monitors delivered, flags included, across split/merged segments, reconnects and a Mosquitto stop', async () => {
    const district = uniq('hj');
    const fleetOpts = {
      host: '127.0.0.1',
      seed: 7,
      monitors: 12,
      intervalMs: 60_000,
      start: Date.parse('2026-03-01T08:00:00+08:00'),
      frames: 60,
    };
    const devices = new Hj212Fleet({ ...fleetOpts, port: 1 }).deviceConfigs(district);
    const { store, agent, port } = await setUp('hj212a', { devices });
    const fleet = new Hj212Fleet({
      ...fleetOpts,
      port,
      flag: 5,
      window: 4,
      merge: 3,
      split: 0.3,
      drop: 0.03,
      cut: 0.5,
      flagRate: 0.05,
      sendEveryMs: 100,
    });
    cleanup.push(() => fleet.stop());
    fleet.start();
    // Mosquitto goes away in the middle: monitors are still answered (their frames are on the agent's disk) and
    // everything reaches the store once the broker is back.
    await sleep(1500);
    await broker.stop();
    const framesAtStop = fleet.totals().frames;
    await sleep(3000);
    // Answered while the broker was away: 9014 means "on the agent's disk", not "in the store".
    expect(fleet.totals().frames).toBeGreaterThan(framesAtStop + 50);
    await broker.start();
    await fleet.done();
    const totals = fleet.totals();
    expect(totals.frames).toBe(12 * 60);
    expect(totals.flagged).toBeGreaterThan(0);
    expect(totals.connects).toBeGreaterThan(12); // monitors dropped their connections and came back
    await agent.drained();
    expect(await waitFor(async () => (await store.countPoints()) >= totals.values, 60_000)).toBe(true);
    await sleep(500);
    expect(await store.countPoints()).toBe(totals.values);
    // Every monitor's frames, with their DataTime, one reading per frame per device.
    const counts = fleet.counts();
    for (const [i, d] of devices.entries()) {
      const { total, readings } = await store.query({ deviceId: d.id, limit: 1000 });
      expect(total, d.id).toBe(60);
      expect(readings[0]!.ts).toBe(counts[i]!.firstTs);
      expect(readings.at(-1)!.ts).toBe(counts[i]!.lastTs);
    }
    const flaggedStored = (
      await Promise.all(
        devices.flatMap((d) => [d.id, `${d.id}-noise`]).map((id) => store.query({ deviceId: id, limit: 1000 })),
      )
    ).reduce((n, q) => n + q.readings.reduce((m, r) => m + Object.keys(r.flags ?? {}).length, 0), 0);
    expect(flaggedStored).toBe(totals.flagged);
  });

  it('dead-letters a bad CRC, an unknown MN and a wrong password with their raw bytes, and keeps serving the good monitor', async () => {
    const { store, port } = await setUp('hj212b', {
      devices: [{ mn: 'MNGOOD0001', id: uniq('good'), district: 'xh', kind: 'dust', password: 'pw1' }],
    });
    const frame = (mn: string, pw: string, qn: string) =>
      encodeFrame(
        `QN=${qn};ST=39;CN=2011;PW=${pw};MN=${mn};Flag=5;CP=&&DataTime=20260301080000;a34002-Rtd=55,a34002-Flag=N&&`,
      );
    const badCrc = Buffer.from(
      frame('MNGOOD0001', 'pw1', '20260301080000001')
        .toString('latin1')
        .replace(/[0-9A-F]{4}\r\n$/, '0000\r\n'),
      'latin1',
    );
    const sock = net.connect(port, '127.0.0.1');
    cleanup.push(async () => void sock.destroy());
    const answers: string[] = [];
    sock.on('data', (b) => answers.push(...b.toString('latin1').split('\r\n').filter(Boolean)));
    await new Promise((r) => sock.once('connect', r));
    sock.write(badCrc);
    sock.write(frame('MNUNKNOWN9', 'pw1', '20260301080000002'));
    sock.write(frame('MNGOOD0001', 'wrong', '20260301080000003'));
    sock.write(frame('MNGOOD0001', 'pw1', '20260301080000004'));
    expect(
      await waitFor(() => answers.some((a) => a.includes('CN=9014') && a.includes('20260301080000004')), 10_000),
    ).toBe(true);
    expect(await waitFor(async () => (await store.list(100)).total >= 3, 20_000)).toBe(true);
    const { items } = await store.list(100);
    const reasons = items.map((d) => d.reason).join('\n');
    expect(reasons).toMatch(/CRC/i);
    expect(reasons).toMatch(/MNUNKNOWN9/);
    expect(reasons).toMatch(/password|PW/i);
    for (const d of items) expect(d.topic).toMatch(/^hj212:\/\//);
    expect(items.some((d) => d.payload.toString('latin1') === badCrc.toString('latin1'))).toBe(true);
    expect(await waitFor(async () => (await store.countPoints()) === 1, 10_000)).toBe(true);
  });
});
