// `npx tsx bench/duckdb-store.ts [-- --readings 1000000 --batch 5000]`: the embedded store alone, without broker and
// ingest: noise readings (two metrics each) from 1,000 devices, 100 a message as bench:ingest's publisher sends them,
// written in ingest's batches to a fresh file (one thread, 64 MB, as the platform opens it). Prints readings/s and the
// process's CPU time per reading (every thread, DuckDB's too), which the shared machine blurs less than wall time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { StoredReading } from '../contracts/index.js';
import { DuckDbStore } from '../store/duckdb/store.js';

const { values } = parseArgs({
  options: { readings: { type: 'string', default: '1000000' }, batch: { type: 'string', default: '5000' } },
});
const total = Number(values.readings);
const batchSize = Number(values.batch);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-bench-store-'));
const store = await DuckDbStore.open({ file: path.join(dir, 'city.duckdb') });
const base = Date.now();
const devices = Array.from({ length: 1000 }, (_, i) => `b${i}`);

/** Batch k: message m is 100 readings of device m % 1000, 1 ms apart, each device's messages following each other. */
function batch(k: number): StoredReading[] {
  return Array.from({ length: batchSize }, (_, i) => {
    const n = k * batchSize + i;
    const message = Math.floor(n / 100);
    return {
      district: 'bench',
      kind: 'noise',
      deviceId: devices[message % 1000]!,
      ts: base + Math.floor(message / 1000) * 100 + (n % 100),
      metrics: { laeq_db: 50 + (n % 17), lmax_db: 71.5 },
    };
  });
}

let written = 0;
let seconds = 0;
let cpuUs = 0;
for (let k = 0; written < total; k++) {
  const b = batch(k); // made outside the stopwatch
  const t = performance.now();
  const c = process.cpuUsage();
  await store.write(b);
  const d = process.cpuUsage(c);
  seconds += (performance.now() - t) / 1000;
  cpuUs += d.user + d.system;
  written += b.length;
}
const points = await store.countPoints();
await store.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log(
  `${written} readings (${points} points) in batches of ${batchSize}: ${Math.round(written / seconds)} readings/s, ` +
    `CPU ${(cpuUs / written).toFixed(2)} us/reading, ` +
    `peak RSS ${Math.round(Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024)} MB, ` +
    `${os.cpus().length} cores`,
);
