// `npm run backup -- --to DIR`: a consistent online backup of every DuckDB file in the data directory and of the
// evidence store, with a manifest of hashes. Layout of DIR:
//   snapshots/<time>/manifest.json, *.duckdb   one folder per backup (written as .<time>.partial, renamed when whole)
//   evidence/aa/bb/<sha256>.jpg                 one pool shared by every backup: content-addressed, so a second
//                                               backup copies only evidence that is new since the first
//   LATEST                                      the name of the newest complete snapshot
// The DuckDB files are copied first and the evidence after: evidence is written before the event that refers to it,
// so every image an event of the snapshot names is in the pool.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ConfigError } from '../../runtime/config.js';
import type { Logger } from '../../runtime/log.js';
import { RELEASE, schemaVersion } from '../../store/duckdb/schema.js';
import { snapshotInstance } from '../../store/duckdb/snapshot.js';
import { EvidenceStore } from '../../vision/evidence/store.js';
import { agentSockets, requestSnapshots } from './agent.js';
import type { ExternalStores } from './external.js';
import {
  MANIFEST_FORMAT,
  STATE_FILE,
  copyDurably,
  evidencePath,
  listEvidence,
  sha256File,
  writeDurably,
  type Manifest,
} from './manifest.js';

export interface BackupOptions {
  dataDir: string;
  evidenceDir: string;
  to: string;
  logger: Logger;
  /** InfluxDB and Kafka, when the platform runs on them: their own tools back them up into the snapshot. */
  external?: ExternalStores;
  /** Evidence files copied at once (default 8). */
  concurrency?: number;
}

export interface BackupSummary {
  snapshot: string;
  files: Manifest['files'];
  evidence: { count: number; bytes: number; copied: number; copiedBytes: number; altered: string[] };
  ms: number;
}

async function versionOfCopy(file: string): Promise<number> {
  const inst = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY', threads: '1' });
  const c = await inst.connect();
  try {
    return await schemaVersion(c);
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

/** Copies a DuckDB file no running process holds: opened here, copied the same way the agent does. */
async function copyClosed(file: string, dest: string): Promise<void> {
  let inst: DuckDBInstance;
  try {
    inst = await DuckDBInstance.create(file, { threads: '1', memory_limit: '256MB' });
  } catch (e) {
    if (/lock/i.test((e as Error).message)) {
      throw new ConfigError(
        `${file} is open in a process that does not answer backup requests (a platform process answers on ` +
          `backup-agent-<pid>.sock in the data directory; an older release does not): stop that process and run the backup again`,
      );
    }
    throw e;
  }
  try {
    await snapshotInstance(inst, dest);
  } finally {
    inst.closeSync();
  }
}

export async function backup(o: BackupOptions): Promise<BackupSummary> {
  const t0 = performance.now();
  const log = o.logger;
  if (!fs.existsSync(o.dataDir)) throw new ConfigError(`the data directory ${o.dataDir} (DATA_DIR) does not exist`);
  const to = path.resolve(o.to);
  const createdAt = new Date().toISOString();
  const name = createdAt.replace(/[:.]/g, '-');
  const snapshots = path.join(to, 'snapshots');
  const work = path.join(snapshots, `.${name}.partial`);
  const final = path.join(snapshots, name);
  fs.mkdirSync(work, { recursive: true });
  log.info({ to, snapshot: name, dataDir: o.dataDir, evidenceDir: o.evidenceDir }, 'backup: started');

  // 1. DuckDB files: first through the running processes that hold them, then the ones nobody holds.
  const copied = new Set<string>();
  for (const socket of agentSockets(o.dataDir)) {
    const r = await requestSnapshots(socket, work);
    if (r === null) {
      fs.rmSync(socket, { force: true }); // nobody listens: left by a process that was killed
      continue;
    }
    for (const f of r.files) copied.add(f);
    log.info({ pid: r.pid, files: r.files }, 'backup: copies made by the running platform');
  }
  const local = fs
    .readdirSync(o.dataDir)
    .filter((f) => f.endsWith('.duckdb') && !copied.has(f))
    .sort();
  for (const f of local) {
    const t = performance.now();
    await copyClosed(path.join(o.dataDir, f), path.join(work, f));
    copied.add(f);
    log.info({ file: f, ms: Math.round(performance.now() - t) }, 'backup: copy of a store no process holds written');
  }
  const files: Manifest['files'] = [];
  for (const f of [...copied].sort()) {
    const p = path.join(work, f);
    files.push({
      name: f,
      bytes: fs.statSync(p).size,
      sha256: await sha256File(p),
      schemaVersion: await versionOfCopy(p),
    });
  }

  // The state files, byte copies (each is replaced whole by a rename, never written in place).
  const state: Manifest['state'] = [];
  for (const f of fs
    .readdirSync(o.dataDir)
    .filter((x) => STATE_FILE.test(x) && fs.statSync(path.join(o.dataDir, x)).isFile())
    .sort()) {
    const p = path.join(work, f);
    await copyDurably(path.join(o.dataDir, f), p);
    state.push({ name: f, bytes: fs.statSync(p).size, sha256: await sha256File(p) });
  }
  if (state.length > 0) log.info({ files: state.map((x) => x.name) }, 'backup: state files copied');

  // 2. Evidence, into the shared pool: only what the pool does not have yet.
  const pool = path.join(to, 'evidence');
  const items: [string, number][] = [];
  const altered: string[] = [];
  let copiedN = 0;
  let copiedBytes = 0;
  let lastLog = performance.now();
  const one = async (sha: string) => {
    const dest = evidencePath(pool, sha);
    const have = await fs.promises.stat(dest).catch(() => null);
    if (have) {
      items.push([sha, have.size]);
      return;
    }
    const data = await fs.promises.readFile(evidencePath(o.evidenceDir, sha));
    // Hashed on the way: an altered file must not enter the backup under the name of what was recorded.
    if (EvidenceStore.sha256(data) !== sha) {
      altered.push(sha);
      log.error({ sha256: sha }, 'backup: evidence file fails its integrity check and is not backed up');
      return;
    }
    writeDurably(dest, data);
    items.push([sha, data.length]);
    copiedN++;
    copiedBytes += data.length;
  };
  const queue = listEvidence(o.evidenceDir);
  const workers = Array.from({ length: o.concurrency ?? 8 }, async () => {
    for (let n = queue.next(); !n.done; n = queue.next()) {
      await one(n.value);
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now();
        log.info({ seen: items.length, copied: copiedN }, 'backup: evidence in progress');
      }
    }
  });
  await Promise.all(workers);
  items.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const evidenceBytes = items.reduce((s, [, b]) => s + b, 0);
  log.info({ count: items.length, copied: copiedN, copiedBytes, altered: altered.length }, 'backup: evidence done');

  // 3. InfluxDB and Kafka, by their own tools, where the platform runs on them.
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    createdAt,
    release: RELEASE,
    files,
    state,
    evidence: { count: items.length, bytes: evidenceBytes, items },
  };
  if (o.external) Object.assign(manifest, await o.external.backup(work, log));

  writeDurably(path.join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  fs.renameSync(work, final);
  writeDurably(path.join(to, 'LATEST'), `${name}\n`);
  const ms = Math.round(performance.now() - t0);
  const summary: BackupSummary = {
    snapshot: final,
    files,
    evidence: { count: items.length, bytes: evidenceBytes, copied: copiedN, copiedBytes, altered },
    ms,
  };
  log.info(
    {
      snapshot: final,
      files: files.map((f) => `${f.name} ${f.bytes} B v${f.schemaVersion}`),
      evidence: `${items.length} files, ${evidenceBytes} B (${copiedN} new, ${copiedBytes} B copied)`,
      altered: altered.length,
      ms,
    },
    'backup: done',
  );
  return summary;
}
