// `npm run bench:ingest`: ingest throughput, latency and memory against a real Mosquitto, next to the broker's
// own rate measured in the same run. Every party is its own process: publisher, raw subscriber, ingest.
//   --scale F   multiply message counts (default 1; 0.2 for a quick look)
//   --only A,B  run only these scenarios (raw-single, raw-batched, single, batched, paced, influx-batched,
//               influx-paced: the last two with the production backends, InfluxDB and Kafka)
import { execFileSync, fork } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = import.meta.dirname.includes(`${path.sep}dist${path.sep}`)
  ? path.resolve(import.meta.dirname, '../..')
  : path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' }, only: { type: 'string' } } });
const scale = Number(values.scale);
const only = values.only?.split(',');

function services(): string {
  const out = execFileSync(path.join(ROOT, 'scripts/services'), ['up', 'mosquitto', 'influxdb', 'kafka'], {
    encoding: 'utf8',
  });
  // The workers inherit INFLUX_* and KAFKA_BROKERS.
  for (const line of out.split('\n')) {
    const kv = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (kv) process.env[kv[1]!] = kv[2]!;
  }
  if (!process.env.MQTT_URL) throw new Error('scripts/services did not print MQTT_URL');
  return process.env.MQTT_URL;
}

type Msg = Record<string, number | string>;

// Ingest runs with its V8 heap capped, as docs/deploy.md recommends for ingest processes: its live set is bounded
// (maxPendingReadings), and without a cap V8 lets garbage grow the heap to ~200 MB under full load.
const INGEST_FLAGS = (process.env.INGEST_NODE_FLAGS ?? '--max-old-space-size=128 --max-semi-space-size=2')
  .split(' ')
  .filter(Boolean);

function run(script: string, arg: unknown): { ready: Promise<void>; done: Promise<Msg> } {
  const prof =
    process.env.BENCH_PROFILE === script ? ['--cpu-prof', '--cpu-prof-dir', path.join(os.tmpdir(), 'city-prof')] : [];
  // Compiled JavaScript from dist/ (npm run build), as production runs it: tsx alone costs ~30 MB of RSS.
  const here = import.meta.dirname;
  const compiled = here.includes(`${path.sep}dist${path.sep}`);
  const file = path.join(here, compiled ? script.replace(/\.ts$/, '.js') : script);
  const child = fork(file, [JSON.stringify(arg)], {
    execArgv: [
      ...(compiled ? [] : ['--import', 'tsx']),
      ...prof,
      ...(script === 'ingest-worker.ts' ? INGEST_FLAGS : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let onReady!: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  const done = new Promise<Msg>((resolve, reject) => {
    child.on('message', (m: Msg) => (m.type === 'ready' ? onReady() : m.type === 'done' ? resolve(m) : undefined));
    child.on('exit', (code) => (code ? reject(new Error(`${script} exited with ${code}`)) : undefined));
  });
  return { ready, done };
}

const url = services();
const uniq = () => `bench${Date.now().toString(36)}`;
const results: Record<string, Msg> = {};
const want = (name: string) => !only || only.includes(name);

async function raw(name: string, messages: number, perMessage: number) {
  const district = uniq();
  const sub = run('raw-subscriber.ts', { url, district, expect: messages });
  await sub.ready;
  const pub = run('publisher.ts', { url, district, devices: 100, messages, perMessage, inflight: 500, rate: 0 });
  const [s] = await Promise.all([sub.done, pub.done]);
  const perS = Number(s.messages) / Number(s.seconds);
  results[name] = { 'messages/s': Math.round(perS), 'readings/s': Math.round(perS * perMessage) };
  console.error(`${name}: ${Math.round(perS)} messages/s`);
}

async function ingest(name: string, messages: number, perMessage: number, rate = 0, devices = 100, backend = 'duckdb') {
  const district = uniq();
  const expect = messages * perMessage;
  const worker = run('ingest-worker.ts', {
    url,
    district,
    dir: path.join(os.tmpdir(), `city-bench-${district}`),
    expect,
    backend,
  });
  await worker.ready;
  const pub = run('publisher.ts', { url, district, devices, messages, perMessage, inflight: 500, rate });
  const [w] = await Promise.all([worker.done, pub.done]);
  results[name] = {
    'readings/s': Math.round(Number(w.stored) / Number(w.seconds)),
    'CPU us/reading': Number((Number(w.cpuUs) / Number(w.stored)).toFixed(2)),
    'p50 ms': w.p50!,
    'p99 ms': w.p99!,
    'peak RSS MB': Math.round(Number(w.peakRss) / 1e6),
    'peak JS heap MB': Math.round(Number(w.peakHeap) / 1e6),
  };
  console.error(`${name}: ${JSON.stringify(results[name])}`);
}

const n = (x: number) => Math.max(1000, Math.round(x * scale));
if (want('raw-single')) await raw('raw-single', n(200_000), 1);
if (want('raw-batched')) await raw('raw-batched', n(20_000), 100);
if (want('single')) await ingest('single', n(200_000), 1);
// Enough devices that 100-reading batches keep every device's timestamps (1 ms apart) behind the wall clock.
if (want('batched')) await ingest('batched', n(30_000), 100, 0, 1000);
if (want('paced')) await ingest('paced', n(150_000), 1, 10_000);
// Production backends: the MQTT acknowledgement waits for InfluxDB's write and Kafka's delivery report.
if (want('influx-batched')) await ingest('influx-batched', n(10_000), 100, 0, 1000, 'influx-kafka');
if (want('influx-paced')) await ingest('influx-paced', n(100_000), 1, 10_000, 100, 'influx-kafka');

console.log(
  `\nbench:ingest  Mosquitto ${url}, ${os.cpus().length} cores, scale ${scale}, ingest node flags: ${INGEST_FLAGS.join(' ') || 'none'}`,
);
console.table(results);
const r = results;
if (r['raw-single'] && r.single) {
  console.log(
    `one reading a message: ingest ${r.single['readings/s']} readings/s = ${(Number(r.single['readings/s']) / Number(r['raw-single']['messages/s'])).toFixed(2)}x the raw broker rate (target >= 0.9)`,
  );
}
if (r.batched)
  console.log(`100 readings a message: ${r.batched['readings/s']} readings/s (target >= 300,000; goal 500,000)`);
if (r.paced)
  console.log(
    `at 10,000 readings/s: p99 ${r.paced['p99 ms']} ms (target < 250), peak RSS ${r.paced['peak RSS MB']} MB`,
  );
if (r['influx-batched'])
  console.log(`InfluxDB + Kafka, 100 readings a message: ${r['influx-batched']['readings/s']} readings/s`);
if (r['influx-paced'])
  console.log(
    `InfluxDB + Kafka at 10,000 readings/s: p99 publish→queryable ${r['influx-paced']['p99 ms']} ms (target < 250)`,
  );
const peak = Math.max(...Object.values(results).map((x) => Number(x['peak RSS MB'] ?? 0)));
console.log(`peak RSS of ingest over all runs: ${peak} MB (target < 300)`);
