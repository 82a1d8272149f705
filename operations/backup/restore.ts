// `npm run restore -- --from DIR [--snapshot NAME]`: puts a backup made by backup.ts back into the data directory and
// the evidence store. Everything is verified before anything is written (each DuckDB file against the manifest's
// SHA-256, each evidence file against its name): a damaged backup is refused with the names of what is wrong. A
// restore never overwrites: the platform must be stopped and the data directory hold none of the DuckDB files.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../runtime/config.js';
import type { Logger } from '../../runtime/log.js';
import { EvidenceStore } from '../../vision/evidence/store.js';
import { agentAlive, agentSockets } from './agent.js';
import type { ExternalStores } from './external.js';
import { MANIFEST_FORMAT, copyDurably, evidencePath, sha256File, writeDurably, type Manifest } from './manifest.js';

export interface RestoreOptions {
  from: string;
  /** A folder name under snapshots/; the newest (LATEST) when absent. */
  snapshot?: string;
  dataDir: string;
  evidenceDir: string;
  logger: Logger;
  external?: ExternalStores;
}

export interface RestoreSummary {
  snapshot: string;
  files: string[];
  evidence: { count: number; written: number; present: number };
  ms: number;
}

function findSnapshot(from: string, name?: string): string {
  const snapshots = path.join(from, 'snapshots');
  if (!fs.existsSync(snapshots))
    throw new ConfigError(`${from} is not a backup made by npm run backup (it has no snapshots/ folder)`);
  const pick =
    name ??
    (fs.existsSync(path.join(from, 'LATEST')) ? fs.readFileSync(path.join(from, 'LATEST'), 'utf8').trim() : undefined);
  const all = fs
    .readdirSync(snapshots)
    .filter((f) => !f.startsWith('.'))
    .sort();
  const chosen = pick ?? all.at(-1);
  if (!chosen || !fs.existsSync(path.join(snapshots, chosen, 'manifest.json'))) {
    throw new ConfigError(
      `${from} has no complete snapshot${pick ? ` named ${pick}` : ''} (snapshots: ${all.join(', ') || 'none'})`,
    );
  }
  return path.join(snapshots, chosen);
}

/** Every problem of a snapshot (empty when it verifies): file names with what is wrong. */
export async function verifySnapshot(snap: string, pool: string, m: Manifest, log: Logger): Promise<string[]> {
  const problems: string[] = [];
  for (const f of [...m.files, ...m.state]) {
    const p = path.join(snap, f.name);
    if (!fs.existsSync(p)) problems.push(`${f.name}: missing`);
    else {
      const h = await sha256File(p);
      if (h !== f.sha256) problems.push(`${f.name}: its SHA-256 is ${h}, the manifest says ${f.sha256}`);
    }
  }
  let n = 0;
  for (const [sha] of m.evidence.items) {
    const data = await fs.promises.readFile(evidencePath(pool, sha)).catch(() => null);
    if (data === null) problems.push(`evidence ${sha}: missing from ${pool}`);
    else if (EvidenceStore.sha256(data) !== sha)
      problems.push(`evidence ${sha}: its content hashes to ${EvidenceStore.sha256(data)}`);
    if (++n % 10_000 === 0) log.info({ verified: n, of: m.evidence.count }, 'restore: verifying evidence');
  }
  return problems;
}

export async function restore(o: RestoreOptions): Promise<RestoreSummary> {
  const t0 = performance.now();
  const log = o.logger;
  const from = path.resolve(o.from);
  const snap = findSnapshot(from, o.snapshot);
  const pool = path.join(from, 'evidence');
  const m = JSON.parse(fs.readFileSync(path.join(snap, 'manifest.json'), 'utf8')) as Manifest;
  if (m.format !== MANIFEST_FORMAT)
    throw new ConfigError(
      `${snap}: manifest format ${String(m.format)} is not one this release reads (${MANIFEST_FORMAT})`,
    );
  log.info(
    { snapshot: snap, files: m.files.length, evidence: m.evidence.count, release: m.release },
    'restore: verifying the backup',
  );

  const problems = await verifySnapshot(snap, pool, m, log);
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).map((p) => `  - ${p}`);
    if (problems.length > 20) shown.push(`  - and ${problems.length - 20} more`);
    throw new ConfigError(`the backup ${snap} does not verify, nothing was restored:\n${shown.join('\n')}`);
  }
  log.info('restore: the backup verifies');

  for (const s of agentSockets(o.dataDir)) {
    if (await agentAlive(s))
      throw new ConfigError(`the platform is running on ${o.dataDir} (${path.basename(s)}): stop it before restoring`);
  }
  const present = [...m.files, ...m.state].map((f) => f.name).filter((f) => fs.existsSync(path.join(o.dataDir, f)));
  if (present.length > 0) {
    throw new ConfigError(
      `${o.dataDir} (DATA_DIR) already holds ${present.join(', ')}: a restore does not overwrite; move them away (or restore into an empty DATA_DIR)`,
    );
  }

  fs.mkdirSync(o.dataDir, { recursive: true });
  for (const f of m.files) {
    await copyDurably(path.join(snap, f.name), path.join(o.dataDir, f.name));
    log.info({ file: f.name, bytes: f.bytes, schemaVersion: f.schemaVersion }, 'restore: file restored');
  }
  for (const f of m.state) await copyDurably(path.join(snap, f.name), path.join(o.dataDir, f.name));
  if (m.state.length > 0) log.info({ files: m.state.map((f) => f.name) }, 'restore: state files restored');
  let written = 0;
  let presentN = 0;
  for (const [sha] of m.evidence.items) {
    const dest = evidencePath(o.evidenceDir, sha);
    const have = await fs.promises.readFile(dest).catch(() => null);
    if (have && EvidenceStore.sha256(have) === sha) {
      presentN++;
      continue;
    }
    writeDurably(dest, await fs.promises.readFile(evidencePath(pool, sha)));
    if (++written % 10_000 === 0) log.info({ written, of: m.evidence.count }, 'restore: evidence in progress');
  }
  log.info({ written, present: presentN }, 'restore: evidence restored');
  if (o.external) await o.external.restore(snap, m, log);
  const ms = Math.round(performance.now() - t0);
  const summary: RestoreSummary = {
    snapshot: snap,
    files: [...m.files, ...m.state].map((f) => f.name),
    evidence: { count: m.evidence.count, written, present: presentN },
    ms,
  };
  log.info({ ...summary, dataDir: o.dataDir, evidenceDir: o.evidenceDir }, 'restore: done');
  return summary;
}
