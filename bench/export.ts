// bench:export - the readings export of a large range in bounded memory: 10 million readings of one device in the
// DuckDB store (made by a child process, so the making does not count in this one's peak), then
// GET /api/export/readings.csv (and .xlsx) over HTTP on loopback, read as it streams. Prints rows, bytes, time and the
// server process's peak RSS (VmHWM) before and after.
//
// npm run bench:export [-- --readings 10000000 --xlsx 1000000]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import Fastify from 'fastify';
import { exportRoutes } from '../exports/routes.js';
import { DuckDbStore } from '../store/duckdb/store.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const DEVICE = 'nz-bench-001';

const { values } = parseArgs({
  options: {
    readings: { type: 'string', default: '10000000' },
    xlsx: { type: 'string', default: '1000000' },
    generate: { type: 'string' },
  },
});
const n = Number(values.readings);

function vmHwmMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function generate(file: string): Promise<void> {
  // The store makes its schema; the rows then come from one INSERT ... SELECT (ingest's path is bench:ingest's subject).
  const store = await DuckDbStore.open({ file });
  await store.close();
  const inst = await DuckDBInstance.create(file, { threads: '2', memory_limit: '512MB' });
  const db = await inst.connect();
  await db.run(
    `INSERT INTO readings (device, district, kind, metric, ts, value)
     SELECT '${DEVICE}', 'xinhua', 'noise', 'laeq_db', ${T0} + i * 1000, 45 + (i % 300) / 10.0 FROM range(${n}) t(i)`,
  );
  await db.run('CHECKPOINT');
  db.closeSync();
  inst.closeSync();
}

async function fetchCount(url: string): Promise<{ bytes: number; lines: number; ms: number }> {
  const t = performance.now();
  const r = await fetch(url);
  if (!r.ok || !r.body) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
  let bytes = 0;
  let lines = 0;
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
  }
  return { bytes, lines, ms: performance.now() - t };
}

async function main(): Promise<void> {
  if (values.generate) return generate(values.generate);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-bench-export-'));
  const file = path.join(dir, 'city.duckdb');
  try {
    let t = performance.now();
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, import.meta.filename, '--readings', String(n), '--generate', file],
      { stdio: 'inherit' },
    );
    if (child.status !== 0) throw new Error('making the readings failed');
    console.log(
      `made ${n.toLocaleString('en')} readings in ${((performance.now() - t) / 1000).toFixed(1)} s (child process)`,
    );
    const store = await DuckDbStore.open({ file });
    const app = Fastify();
    // The bench's own stand-in for a signed-in staff member: the export, not the login, is measured.
    app.decorateRequest('user', null);
    app.addHook('onRequest', async (req) => {
      req.user = { id: 'bench', username: 'bench', role: 'staff', displayName: 'bench' };
    });
    await app.register(exportRoutes, { readings: store });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const before = vmHwmMb();
    const q = (count: number) => `device=${DEVICE}&from=${T0}&to=${T0 + count * 1000}`;
    console.log(`${os.cpus().length} cores; peak RSS before the exports ${before} MB`);
    t = performance.now();
    const csv = await fetchCount(`${base}/api/export/readings.csv?${q(n)}`);
    console.log(
      `CSV : ${(csv.lines - 1).toLocaleString('en')} rows, ${(csv.bytes / 1e6).toFixed(0)} MB in ${(csv.ms / 1000).toFixed(1)} s (${Math.round(((csv.lines - 1) / csv.ms) * 1000).toLocaleString('en')} rows/s); peak RSS ${vmHwmMb()} MB`,
    );
    const xn = Math.min(n, Number(values.xlsx));
    if (xn > 0) {
      const x = await fetchCount(`${base}/api/export/readings.xlsx?${q(xn)}`);
      console.log(
        `XLSX: ${xn.toLocaleString('en')} rows, ${(x.bytes / 1e6).toFixed(0)} MB in ${(x.ms / 1000).toFixed(1)} s (${Math.round((xn / x.ms) * 1000).toLocaleString('en')} rows/s); peak RSS ${vmHwmMb()} MB`,
      );
    }
    await app.close();
    await store.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
