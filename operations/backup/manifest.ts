// The manifest of a backup: what it holds and the SHA-256 of each part, so a restore can refuse a damaged backup
// before it writes anything. Evidence needs no hash of its own: its name is its SHA-256.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const MANIFEST_FORMAT = 1;

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  /** ISO time the backup started; also its folder name under snapshots/. */
  createdAt: string;
  /** The platform release that wrote it (package.json version). */
  release: string;
  /** DuckDB files, copied consistently (online through the process that holds them). */
  files: { name: string; bytes: number; sha256: string; schemaVersion: number }[];
  /**
   * The small state files at the top of the data directory (the embedded broker's device accounts, the device
   * directory, the anomaly detector's state), each replaced whole by a rename when written, so a byte copy is whole.
   */
  state: { name: string; bytes: number; sha256: string }[];
  /** Every evidence file present when the backup ran, in the shared pool evidence/aa/bb/<sha256>.jpg. */
  evidence: { count: number; bytes: number; items: [sha256: string, bytes: number][] };
  /** What the external stores' own tools wrote, when the platform runs on them (production). */
  influxdb?: { dir: string; bucket: string; org: string };
  kafka?: { dir: string; files: string[] };
}

/** SHA-256 of a file, streamed (the readings file of a city is gigabytes). */
export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Where an evidence file lives in a folder laid out like the evidence store (vision/evidence/store.ts). */
export function evidencePath(root: string, sha256: string): string {
  return path.join(root, sha256.slice(0, 2), sha256.slice(2, 4), `${sha256}.jpg`);
}

/** State files worth keeping: JSON and binary state at the top of the data directory. */
export const STATE_FILE = /^[^.][^/]*\.(json|bin)$/;

export const EVIDENCE_NAME = /^([0-9a-f]{64})\.jpg$/;

/** The evidence files under a store's folder: its two levels of fan-out, names that are SHA-256s (no temp files). */
export function* listEvidence(root: string): Generator<string> {
  if (!fs.existsSync(root)) return;
  for (const a of fs.readdirSync(root)) {
    if (!/^[0-9a-f]{2}$/.test(a)) continue;
    for (const b of fs.readdirSync(path.join(root, a))) {
      if (!/^[0-9a-f]{2}$/.test(b)) continue;
      for (const f of fs.readdirSync(path.join(root, a, b))) {
        const m = EVIDENCE_NAME.exec(f);
        if (m) yield m[1]!;
      }
    }
  }
}

/** Writes a file durably: to a temporary name, fsync, rename. */
export function writeDurably(file: string, data: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Copies a file durably (temporary name, fsync, rename); returns its size. */
export async function copyDurably(from: string, to: string): Promise<number> {
  await fs.promises.mkdir(path.dirname(to), { recursive: true });
  const tmp = `${to}.${process.pid}.tmp`;
  await fs.promises.copyFile(from, tmp);
  const fh = await fs.promises.open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, to);
  return (await fs.promises.stat(to)).size;
}
