// A 100 MB MQTT message on a readings topic, published with QoS 1 to the real Mosquitto in front of a running ingest
// (its own process, MQTT 5 shared subscription, embedded DuckDB store, the platform's defaults: 256 KiB payload
// limit). Is it refused, what does the dead-letter store keep, how long does it take, and what does it cost ingest in
// memory (RSS before, peak, after)? Then the same message to a Mosquitto with the production config's
// max_packet_size (deploy/mosquitto/mosquitto.conf: 1 MiB): does the broker already refuse it?
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import mqtt from 'mqtt';
import { Registry } from 'prom-client';
import { Ingest } from '../../ingest/ingest.js';
import { silentLogger } from '../../runtime/log.js';
import { DuckDbStore } from '../../store/duckdb/store.js';

const PAYLOAD_BYTES = 100 * 1024 * 1024;
const ROOT = path.resolve(import.meta.dirname, '../..');

/** VmRSS and VmHWM (peak RSS) of a process, MB. */
function memoryOf(pid: number | 'self'): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

interface Stored {
  ms: number;
  reason: string;
  kept: number;
  payloadBytes: number | undefined;
  total: number;
  rss: number;
  peak: number;
}

/** The ingest process: reports its memory when ready, then the dead letter it stored, then its memory after a GC. */
async function ingestProcess(o: { url: string; district: string; dir: string }): Promise<void> {
  const say = (m: object) => process.stdout.write(`${JSON.stringify(m)}\n`);
  const store = await DuckDbStore.open({ file: path.join(o.dir, 'bench.duckdb') });
  const ingest = new Ingest({
    mqttUrl: o.url,
    clientId: `bench-abuse-${o.district}`,
    shareGroup: 'ingest',
    store,
    logger: silentLogger,
    registry: new Registry(),
    batchMaxReadings: 5000,
    batchMaxDelayMs: 50,
    maxPayloadBytes: 256 * 1024,
    receiveMaximum: 20_000,
    filter: `city/v1/${o.district}/#`,
    sessionExpirySec: 60,
  });
  await ingest.start();
  globalThis.gc?.();
  say({ event: 'ready', ...memoryOf('self') });
  const t0 = performance.now();
  for (;;) {
    const { items, total } = await store.list(1);
    if (total > 0) {
      const d = items[0]!;
      say({
        event: 'stored',
        ms: performance.now() - t0,
        reason: d.reason,
        kept: d.payload.length,
        payloadBytes: d.payloadBytes,
        total,
        ...memoryOf('self'),
      });
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await ingest.stop();
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 200));
  globalThis.gc?.();
  say({ event: 'after', ...memoryOf('self'), buffersMb: process.memoryUsage().arrayBuffers / 2 ** 20 });
  await store.close();
}

function lines(child: ChildProcess): AsyncIterator<string> {
  return readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
}

async function next<T>(it: AsyncIterator<string>, event: string, timeoutMs: number): Promise<T> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error(`no "${event}" from the ingest process within ${timeoutMs} ms`)),
      timeoutMs,
    ).unref(),
  );
  for (;;) {
    const r = await Promise.race([it.next(), timeout]);
    if (r.done) throw new Error(`the ingest process ended before "${event}"`);
    const m = JSON.parse(r.value) as { event: string };
    if (m.event === event) return m as T;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** mosquitto_pub of the file with QoS 1; its exit code, stderr and time. */
function publish(
  port: number,
  topic: string,
  file: string,
  version: 'mqttv5' | 'mqttv311' = 'mqttv5',
): { code: number | null; stderr: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(
    'mosquitto_pub',
    ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-V', version, '-t', topic, '-f', file],
    { encoding: 'utf8', timeout: 120_000 },
  );
  return { code: r.status, stderr: r.stderr.trim().split('\n')[0] ?? '', ms: performance.now() - t0 };
}

export async function run(): Promise<string[]> {
  const up = execFileSync(path.join(ROOT, 'scripts/services.d/mosquitto.sh'), ['up'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = /^MQTT_URL=(.+)$/m.exec(up)?.[1];
  if (!url) throw new Error(`scripts/services.d/mosquitto.sh up printed no MQTT_URL: ${up}`);
  const brokerPort = Number(new URL(url).port);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abuse-mqtt-'));
  const district = `abuse${Date.now().toString(36)}`;
  const file = path.join(dir, 'payload.bin');
  const big = Buffer.alloc(PAYLOAD_BYTES, 'x');
  big.write('{"ts":1780000000000,"metrics":{"laeq_db":', 0);
  fs.writeFileSync(file, big);
  const out: string[] = [];
  let child: ChildProcess | null = null;
  let prodBroker: ChildProcess | null = null;
  try {
    child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', import.meta.filename, '--ingest', JSON.stringify({ url, district, dir })],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const it = lines(child);
    const ready = await next<{ rss: number }>(it, 'ready', 60_000);
    const pub = publish(brokerPort, `city/v1/${district}/noise/abuse-1/readings`, file);
    const stored = await next<Stored>(it, 'stored', 120_000);
    const after = await next<{ rss: number; buffersMb: number }>(it, 'after', 60_000);
    out.push(
      `test Mosquitto (no max_packet_size, scripts/services.d/mosquitto): the 100 MB message was accepted (mosquitto_pub exit ${pub.code}, ${(pub.ms / 1000).toFixed(1)} s) and delivered to ingest`,
      `  ingest dead-lettered it ${(stored.ms / 1000).toFixed(1)} s after it was ready: "${stored.reason}"`,
      `  the dead-letter store keeps ${stored.kept.toLocaleString('en')} bytes, with the size as received ${stored.payloadBytes?.toLocaleString('en') ?? '(not recorded)'}; ${stored.total} dead letter in total`,
      `  ingest RSS: ${Math.round(ready.rss)} MB ready, peak ${Math.round(stored.peak)} MB (the message is received whole by the MQTT client before ingest sees it), ${Math.round(after.rss)} MB after a GC (${Math.round(after.buffersMb)} MB of it in Buffers)`,
    );

    // The production broker's limit.
    const port = await freePort();
    const conf = path.join(dir, 'mosquitto.conf');
    const prodLimit = /^max_packet_size\s+(\d+)/m.exec(
      fs.readFileSync(path.join(ROOT, 'deploy/mosquitto/mosquitto.conf'), 'utf8'),
    )?.[1];
    if (!prodLimit) throw new Error('deploy/mosquitto/mosquitto.conf has no max_packet_size');
    fs.writeFileSync(
      conf,
      `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_packet_size ${prodLimit}\nuser ${os.userInfo().username}\nlog_dest none\n`,
    );
    prodBroker = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
        s.on('error', () => resolve(false));
      });
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // A subscriber on that broker says whether the message got through.
    const topic = `city/v1/${district}/noise/abuse-1/readings`;
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `abuse-sub-${district}` });
    let delivered = 0;
    sub.on('message', () => delivered++);
    await sub.subscribeAsync(topic, { qos: 1 });
    const v5 = publish(port, topic, file, 'mqttv5');
    const v311 = publish(port, topic, file, 'mqttv311');
    await new Promise((r) => setTimeout(r, 1000));
    await sub.endAsync(true);
    out.push(
      `production Mosquitto config (deploy/mosquitto: max_packet_size ${prodLimit}): ${delivered} of 2 publications delivered to a subscriber`,
      `  MQTT 5 publisher: mosquitto_pub exit ${v5.code} in ${(v5.ms / 1000).toFixed(1)} s, the message not sent (the broker announces its maximum packet size in CONNACK; libmosquitto drops the message silently)`,
      `  MQTT 3.1.1 publisher: mosquitto_pub exit ${v311.code} in ${(v311.ms / 1000).toFixed(1)} s (${v311.stderr || 'no message'}): the broker disconnects it ("oversize packet")`,
    );
  } finally {
    child?.kill();
    prodBroker?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[2] === '--ingest' && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await ingestProcess(JSON.parse(process.argv[3]!) as { url: string; district: string; dir: string });
  process.exit(0);
}
