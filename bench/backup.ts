// npm run bench:backup [-- --devices 10000 --minutes 1440 --events 300]
// Backup and restore time and size for one day of a city, in the embedded store. Assumed (printed with the figures):
// every device sends one reading a minute, the five sensor kinds in equal shares, each reading carrying all of its
// kind's metrics (4.8 on average: one stored point per metric); enforcement events with four evidence images each
// (three 1280x720 frames and a crop, ~60 KB and ~12 KB of incompressible bytes, like JPEGs). The day is generated
// inside DuckDB (INSERT ... SELECT FROM range(), in time order like ingest's batches), then:
//   backup 1   online, through the backup agent of this process holding the file (as a running platform does)
//   backup 2   the same again: only new evidence is copied (none), the DuckDB file is copied whole
//   restore    verify every hash, then copy into an empty data directory
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { METRICS, type SensorKind } from '../contracts/index.js';
import { silentLogger } from '../runtime/log.js';
import { openDuckDb } from '../store/duckdb/schema.js';
import { DuckDbStore, READINGS_SCHEMA } from '../store/duckdb/store.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { startBackupAgent } from '../operations/backup/agent.js';
import { backup } from '../operations/backup/backup.js';
import { restore } from '../operations/backup/restore.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    minutes: { type: 'string', default: '1440' },
    events: { type: 'string', default: '300' },
    dir: { type: 'string' },
  },
});
const devices = Number(values.devices);
const minutes = Number(values.minutes);
const events = Number(values.events);
const root = fs.mkdtempSync(path.join(values.dir ?? os.tmpdir(), 'city-bench-backup-'));
const dataDir = path.join(root, 'data');
const to = path.join(root, 'backup');
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
function du(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += fs.statSync(path.join(e.parentPath, e.name)).size;
  return n;
}

try {
  const kinds = Object.keys(METRICS) as SensorKind[];
  const perKind = kinds.map((k) => Object.keys(METRICS[k]));
  const avgMetrics = perKind.reduce((a, m) => a + m.length, 0) / kinds.length;
  console.log(
    `bench:backup on ${os.cpus().length} cores: ${devices.toLocaleString('en')} devices x ${minutes} minutes (one reading a minute each), ` +
      `${kinds.length} kinds in equal shares, ${avgMetrics} metrics a reading on average; ${events} events x 4 evidence images`,
  );

  // The day's readings, generated in DuckDB in time order. A device's kind is its number modulo the kinds.
  let t = performance.now();
  const day0 = Date.parse('2026-12-01T00:00:00+08:00');
  {
    const { instance, db } = await openDuckDb(path.join(dataDir, 'city.duckdb'), READINGS_SCHEMA, {
      threads: '1',
      memory_limit: '512MB',
    });
    const metricRows = kinds.flatMap((k, ki) => perKind[ki]!.map((m) => `(${ki}, '${k}', '${m}')`)).join(', ');
    await db.run(
      `CREATE TEMP TABLE km (ki INTEGER, kind VARCHAR, metric VARCHAR); INSERT INTO km VALUES ${metricRows}`,
    );
    // One minute-block at a time keeps the generator's memory small (DuckDB's insert is one transaction per block).
    const step = 60;
    for (let m0 = 0; m0 < minutes; m0 += step) {
      await db.run(`INSERT INTO readings
        SELECT printf('%s-d%02d-%05d', substr(km.kind, 1, 2), d.range % 12, d.range) AS device, printf('d%02d', d.range % 12) AS district,
               km.kind, km.metric, ${day0} + mi.range * 60000 + (d.range % 60) * 1000 AS ts, mi.range AS seq,
               round(40 + 30 * random(), 1) AS value, NULL AS flag
        FROM range(${m0}, ${Math.min(minutes, m0 + step)}) mi, range(${devices}) d JOIN km ON km.ki = d.range % ${kinds.length}
        ORDER BY ts`);
    }
    await db.run('CHECKPOINT');
    db.closeSync();
    instance.closeSync();
  }
  const points = devices * minutes * avgMetrics;
  const evidence = new EvidenceStore(path.join(dataDir, 'evidence'));
  for (let i = 0; i < events * 4; i++)
    await evidence.put(
      Buffer.concat([
        Buffer.from(`evidence ${i}`),
        crypto.getRandomValues(Buffer.alloc(i % 4 === 3 ? 12_000 : 60_000)),
      ]),
    );
  const cityBytes = fs.statSync(path.join(dataDir, 'city.duckdb')).size;
  const evidenceBytes = du(path.join(dataDir, 'evidence'));
  console.log(
    `generated in ${s(performance.now() - t)}: ${Math.round(points).toLocaleString('en')} points, city.duckdb ${mb(cityBytes)}; evidence ${events * 4} files, ${mb(evidenceBytes)}`,
  );

  // The platform's side: the store open (64 MB, one thread, as in production) and its backup agent.
  const store = await DuckDbStore.open({ file: path.join(dataDir, 'city.duckdb') });
  const agent = await startBackupAgent({ dataDir, logger: silentLogger });
  const lines: string[] = [];
  try {
    t = performance.now();
    const b1 = await backup({ dataDir, evidenceDir: path.join(dataDir, 'evidence'), to, logger: silentLogger });
    const b1ms = performance.now() - t;
    const snapBytes = du(b1.snapshot);
    lines.push(
      `backup (online, first):  ${s(b1ms)}  snapshot ${mb(snapBytes)} + evidence ${mb(b1.evidence.copiedBytes)} copied (${b1.evidence.copied} files)`,
    );
    t = performance.now();
    const b2 = await backup({ dataDir, evidenceDir: path.join(dataDir, 'evidence'), to, logger: silentLogger });
    lines.push(
      `backup (online, second): ${s(performance.now() - t)}  snapshot ${mb(du(b2.snapshot))} + evidence ${mb(b2.evidence.copiedBytes)} copied (${b2.evidence.copied} files)`,
    );
  } finally {
    await agent.stop();
    await store.close();
  }
  t = performance.now();
  await restore({
    from: to,
    dataDir: path.join(root, 'restored'),
    evidenceDir: path.join(root, 'restored', 'evidence'),
    logger: silentLogger,
  });
  lines.push(`restore (verify + copy): ${s(performance.now() - t)}  into ${mb(du(path.join(root, 'restored')))}`);
  lines.push(`backup folder after two backups: ${mb(du(to))} (the evidence pool is shared)`);
  console.log(lines.join('\n'));
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
