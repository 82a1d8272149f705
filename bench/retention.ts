// npm run bench:retention [-- --millions 1] [-- --store influxdb] — the retention job's cost per million raw points
// on the embedded DuckDB store (one thread, 64 MB, as the platform opens it) or on the InfluxDB of scripts/services
// (INFLUX_*; a bucket of its own, deleted after): a run that aggregates and deletes a million points past rawDays,
// and the steady run every 15 minutes that only recomputes the last hour's buckets.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { StoredReading } from '../contracts/index.js';
import { loadRetentionConfig } from '../operations/retention/config.js';
import { RetentionJob } from '../operations/retention/job.js';
import { silentLogger } from '../runtime/log.js';
import { DuckDbStore } from '../store/duckdb/store.js';
import { InfluxStore } from '../store/influxdb/store.js';
import type { Store } from '../store/types.js';

const { values } = parseArgs({
  options: { millions: { type: 'string', default: '1' }, store: { type: 'string', default: 'duckdb' } },
});
if (values.store !== 'duckdb' && values.store !== 'influxdb') throw new Error('--store: duckdb or influxdb');
const millions = Number(values.millions);
if (!(millions > 0 && millions <= 20)) throw new Error('--millions: a number from 0.1 to 20');

const DAY = 86_400_000;
const DEVICES = 200;
const points = Math.round(millions * 1_000_000);
// Noise meters with two metrics a minute (laeq_db gets the Leq energy too): points / 2 readings over DEVICES.
const perDevice = Math.ceil(points / 2 / DEVICES);
const T0 = Date.parse('2026-01-01T00:00:00Z');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-retention-'));
const { store, drop, what } = values.store === 'duckdb' ? await duckdb() : await influxdb();

async function duckdb(): Promise<{ store: Store; drop: () => Promise<void>; what: string }> {
  const s = await DuckDbStore.open({ file: path.join(dir, 'city.duckdb') });
  return { store: s, drop: () => s.close(), what: 'DuckDB (1 thread, 64 MB)' };
}

async function influxdb(): Promise<{ store: Store; drop: () => Promise<void>; what: string }> {
  const { INFLUX_URL: url, INFLUX_TOKEN: token, INFLUX_ORG: org } = process.env;
  if (!url || !token || !org)
    throw new Error('INFLUX_URL, INFLUX_TOKEN and INFLUX_ORG: run eval "$(scripts/services up influxdb)" first');
  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(new URL(p, url), {
      method,
      headers: { Authorization: `Token ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, any>) : {};
  };
  const orgID = (await call('GET', `/api/v2/orgs?org=${org}`)).orgs[0].id as string;
  const bucket = await call('POST', '/api/v2/buckets', {
    orgID,
    name: `bench-retention-${Date.now()}`,
    retentionRules: [],
  });
  const s = await InfluxStore.open({ url, token, org, bucket: bucket.name as string });
  return {
    store: s,
    what: 'InfluxDB 2.7 (a bucket of its own)',
    drop: async () => {
      await s.close();
      await call('DELETE', `/api/v2/buckets/${bucket.id as string}`);
    },
  };
}
const rss = () => Math.round(process.memoryUsage().rss / 1e6);
try {
  let t = performance.now();
  for (let d = 0; d < DEVICES; d++) {
    const batch: StoredReading[] = [];
    for (let i = 0; i < perDevice; i++) {
      batch.push({
        deviceId: `nz-${d}`,
        district: 'xinhua',
        kind: 'noise',
        ts: T0 + i * 60_000,
        metrics: { laeq_db: 50 + ((i * 7 + d) % 30), lmax_db: 85 },
      } as StoredReading);
    }
    await store.write(batch);
  }
  const written = await store.countPoints();
  const writeS = (performance.now() - t) / 1000;

  const config = loadRetentionConfig(path.resolve(import.meta.dirname, '../config/retention.json'));
  let now = T0 + perDevice * 60_000 + config.readings.rawDays * DAY + DAY; // every reading past rawDays
  const job = new RetentionJob({ config, store, logger: silentLogger, now: () => now });
  t = performance.now();
  const r = await job.run();
  const expireS = (performance.now() - t) / 1000;
  if (r.readings !== written) throw new Error(`deleted ${r.readings} of ${written} points`);

  // Steady state: a fresh hour of readings, then the 15-minute run that recomputes only the newest buckets.
  const hour: StoredReading[] = [];
  for (let d = 0; d < DEVICES; d++)
    for (let i = 0; i < 60; i++)
      hour.push({
        deviceId: `nz-${d}`,
        district: 'xinhua',
        kind: 'noise',
        ts: now - 60 * 60_000 + i * 60_000,
        metrics: { laeq_db: 55, lmax_db: 85 },
      } as StoredReading);
  await store.write(hour);
  now += 15 * 60_000;
  t = performance.now();
  const steady = await job.run();
  const steadyMs = performance.now() - t;

  const lines = [
    `retention on ${what}, ${os.cpus().length} cores: ${written.toLocaleString('en')} raw points (${DEVICES} noise meters, 2 metrics a minute); written in ${writeS.toFixed(1)} s`,
    `expiry run: ${r.aggregated.toLocaleString('en')} 15-minute buckets written, ${r.readings.toLocaleString('en')} raw points deleted in ${expireS.toFixed(2)} s = ${(expireS / (written / 1e6)).toFixed(2)} s per million raw points (device, metric, minute)`,
    `steady run (every 15 min, last ${config.readings.lateMinutes} min recomputed, ${hour.length * 2} points in the store): ${steady.aggregated} buckets in ${steadyMs.toFixed(0)} ms`,
    `RSS of the job's process after: ${rss()} MB`,
  ];
  console.log(lines.join('\n'));
} finally {
  await drop();
  fs.rmSync(dir, { recursive: true, force: true });
}
