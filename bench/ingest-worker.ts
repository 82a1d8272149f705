// Ingest as it runs in production, in its own process: MQTT 5 shared subscription → validation → DuckDB. Reports
// stored readings, publish→stored latency (readings carry their publish time as ts) and peak RSS through IPC.
import { INGEST_BATCH_DEFAULT } from '../ingest/ingest.js';
import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { createBus } from '../bus/index.js';
import type { Bus } from '../bus/types.js';
import { Ingest } from '../ingest/ingest.js';
import { InfluxStore } from '../store/influxdb/store.js';
import type { Store } from '../store/types.js';
import { silentLogger } from '../runtime/log.js';
import { DuckDbStore } from '../store/duckdb/store.js';

const { url, district, dir, expect, backend } = JSON.parse(process.argv[2]!) as {
  url: string;
  district: string;
  dir: string;
  expect: number;
  backend: 'duckdb' | 'influx-kafka';
};
fs.mkdirSync(dir, { recursive: true });
let store: Store;
let bus: Bus | undefined;
if (backend === 'influx-kafka') {
  const e = process.env;
  store = await InfluxStore.open({
    url: e.INFLUX_URL!,
    token: e.INFLUX_TOKEN!,
    org: e.INFLUX_ORG!,
    bucket: e.INFLUX_BUCKET!,
  });
  bus = await createBus({
    brokers: e.KAFKA_BROKERS,
    clientId: `bench-${process.pid}`,
    topicPrefix: `${district}.`,
    partitions: 12,
    logger: silentLogger,
  });
} else {
  store = await DuckDbStore.open({
    file: path.join(dir, 'bench.duckdb'),
    memoryLimit: process.env.DUCKDB_MEMORY_LIMIT,
    threads: process.env.DUCKDB_THREADS ? Number(process.env.DUCKDB_THREADS) : undefined,
  });
}
// BENCH_NULL_STORE=1 measures ingest without the store, to tell its cost from the store's.
if (process.env.BENCH_NULL_STORE) store.write = async () => undefined;
let stored = 0;
let first = 0;
// CPU time of the whole process (every thread: DuckDB's too) from the first stored batch: on a shared machine it
// says more about the cost of a reading than wall time does.
let cpu0 = process.cpuUsage();
let last = 0;
const lat: number[] = [];
let peakRss = 0;
let peakHeap = 0;
const rssTimer = setInterval(() => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapTotal + m.external);
}, 50);
const ingest = new Ingest({
  mqttUrl: url,
  clientId: `bench-ingest-${process.pid}`,
  shareGroup: 'bench',
  filter: `city/v1/${district}/#`,
  store,
  bus,
  logger: silentLogger,
  registry: new Registry(),
  // The platform's default for the store (app/config.ts), unless INGEST_BATCH_MAX says otherwise.
  batchMaxReadings: Number(
    process.env.INGEST_BATCH_MAX ?? INGEST_BATCH_DEFAULT[backend === 'influx-kafka' ? 'influxdb' : 'duckdb'],
  ),
  batchMaxDelayMs: Number(process.env.INGEST_BATCH_MS ?? 50),
  maxPayloadBytes: 256 * 1024,
  receiveMaximum: 20_000,
  maxPendingReadings: process.env.INGEST_MAX_PENDING ? Number(process.env.INGEST_MAX_PENDING) : undefined,
  sessionExpirySec: 60,
  onStored: (readings) => {
    const now = Date.now();
    if (stored === 0) {
      first = performance.now();
      cpu0 = process.cpuUsage();
    }
    stored += readings.length;
    last = performance.now();
    // Sample latencies to keep the worker's own memory flat.
    for (let i = 0; i < readings.length; i += 10) lat.push(now - readings[i]!.ts);
    if (stored >= expect) void finish();
  },
});
await ingest.start();
process.send!({ type: 'ready' });

async function finish() {
  const cpu = process.cpuUsage(cpu0);
  clearInterval(rssTimer);
  await ingest.stop();
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  await store.close();
  await bus?.close();
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  process.send!({
    type: 'done',
    stored,
    seconds: (last - first) / 1000,
    cpuUs: cpu.user + cpu.system,
    p50: q(0.5),
    p99: q(0.99),
    peakRss: Math.max(peakRss, hwm),
    peakHeap,
  });
  setTimeout(() => process.exit(0), 100);
}
