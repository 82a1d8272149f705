// `npm run bench:edge`: one edge agent (its own process, compiled) with 1,000 HJ 212 monitors connected at once.
// The monitors (this process) send real-time frames as fast as the agent answers them (Flag=5, up to 4 unanswered
// each); the agent parses, maps, buffers on disk, answers 9014 and forwards the readings to a real Mosquitto, where a
// subscriber counts them. Prints frames/s parsed and answered, readings/s forwarded, and the agent's memory.
//   --monitors N (1000)  --frames F per monitor (60)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { Hj212Fleet } from '../simulators/hj212/monitor.js';

const ROOT = import.meta.dirname.includes(`${path.sep}dist${path.sep}`)
  ? path.resolve(import.meta.dirname, '../..')
  : path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { monitors: { type: 'string', default: '1000' }, frames: { type: 'string', default: '60' } },
});
const MONITORS = Number(values.monitors);
const FRAMES = Number(values.frames);

const out = execFileSync(path.join(ROOT, 'scripts/services'), ['up', 'mosquitto'], { encoding: 'utf8' });
const mqttUrl = /MQTT_URL=(\S+)/.exec(out)?.[1];
if (!mqttUrl) throw new Error('scripts/services did not print MQTT_URL');

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

const port = await freePort();
const district = `bench${Date.now().toString(36)}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-edge-'));
const start = Date.parse('2026-03-01T00:00:00+08:00');
const fleetOpts = {
  host: '127.0.0.1',
  port,
  seed: 11,
  monitors: MONITORS,
  intervalMs: 30_000,
  start,
  frames: FRAMES,
  flag: 5 as const,
  window: 4,
};
const devices = new Hj212Fleet(fleetOpts).deviceConfigs(district);
const cfgFile = path.join(dir, 'edge.json');
fs.writeFileSync(
  cfgFile,
  JSON.stringify({
    gatewayId: 'bench-gw',
    mqtt: { url: mqttUrl, settleMs: 200 },
    buffer: { dir: path.join(dir, 'buffer'), fsyncMs: 1000 },
    publish: { inflight: 200, maxBatch: 200 },
    hj212: {
      port,
      host: '127.0.0.1',
      maxConnections: MONITORS + 100,
      maxConnectionsPerAddress: MONITORS + 100,
      devices,
    },
  }),
);

// A subscriber counting forwarded readings.
let forwarded = 0;
const sub = mqtt.connect(mqttUrl, { clientId: `bench-edge-sub-${district}` });
await new Promise((r) => sub.once('connect', r));
await sub.subscribeAsync(`city/v1/${district}/+/+/readings`, { qos: 0 });
sub.on('message', (_t, payload) => {
  const s = payload.toString();
  forwarded += s.startsWith('{"batch"') ? (s.match(/"ts":/g)?.length ?? 0) : 1;
});

const compiled = import.meta.dirname.includes(`${path.sep}dist${path.sep}`);
const agent = spawn(
  process.execPath,
  compiled
    ? [path.join(ROOT, 'dist/edge/main.js'), '--config', cfgFile]
    : ['--import', 'tsx', path.join(ROOT, 'edge/main.ts'), '--config', cfgFile],
  {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' },
    stdio: ['ignore', 'inherit', 'inherit'],
  },
);
const rssOf = (pid: number) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
};
for (let i = 0; i < 100; i++) {
  const ok = await new Promise<boolean>((r) =>
    net
      .connect(port, '127.0.0.1')
      .once('connect', function (this: net.Socket) {
        this.destroy();
        r(true);
      })
      .once('error', () => r(false)),
  );
  if (ok) break;
  await new Promise((r) => setTimeout(r, 100));
}
const idleRss = rssOf(agent.pid!);
let peakRss = idleRss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOf(agent.pid!))), 100);

const fleet = new Hj212Fleet(fleetOpts);
const t0 = performance.now();
fleet.start();
await fleet.done();
const tAnswered = (performance.now() - t0) / 1000;
const totals = fleet.totals();
// Readings per frame: a dust+noise monitor's frame is two readings (the dust device and its noise companion).
const expected = fleet
  .counts()
  .reduce(
    (n, c) => n + c.frames * (Object.keys(c.values).includes('LA') && Object.keys(c.values).length > 1 ? 2 : 1),
    0,
  );
while (forwarded < expected && performance.now() - t0 < 300_000) await new Promise((r) => setTimeout(r, 50));
const tForwarded = (performance.now() - t0) / 1000;
const connectedRss = peakRss;
clearInterval(sampler);
await fleet.stop();
agent.kill('SIGTERM');
await new Promise((r) => agent.once('exit', r));
await sub.endAsync();
fs.rmSync(dir, { recursive: true, force: true });

console.log(
  `\nbench:edge  ${MONITORS} HJ 212 monitors on one edge agent (compiled: ${compiled}), ${FRAMES} real-time frames each, Flag=5 (answered after the disk buffer), ${os.cpus().length} cores shared by monitors, agent and Mosquitto`,
);
console.table({
  'frames parsed and answered': {
    count: totals.frames,
    seconds: +tAnswered.toFixed(1),
    'per second': Math.round(totals.frames / tAnswered),
  },
  'readings forwarded to Mosquitto': {
    count: forwarded,
    seconds: +tForwarded.toFixed(1),
    'per second': Math.round(forwarded / tForwarded),
  },
});
console.log(
  `agent memory: RSS ${Math.round(idleRss / 2 ** 20)} MB listening, peak ${Math.round(connectedRss / 2 ** 20)} MB with ${MONITORS} monitors connected and sending (${Math.round((connectedRss - idleRss) / MONITORS / 1024)} KB per monitor)`,
);
if (forwarded < expected) console.log(`WARNING: ${expected - forwarded} readings not seen on the broker within 300 s`);
