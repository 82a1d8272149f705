// Consistent copies of DuckDB files while the platform writes to them, for the online backup
// (operations/backup/). DuckDB lets one process hold a file, so the copy is made by the process that holds it: a
// fresh connection on its instance attaches the copy and runs COPY FROM DATABASE, one statement and so one
// transaction, which reads a snapshot of every table at one moment while the store's own connections go on writing.
import fs from 'node:fs';
import path from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';

const held = new Map<string, DuckDBInstance>();
let attached = 0;

/** Records that this process holds `file` open (a path; ':memory:' is ignored). */
export function holdFile(file: string, instance: DuckDBInstance): void {
  if (file !== ':memory:') held.set(path.resolve(file), instance);
}

export function releaseFile(file: string): void {
  held.delete(path.resolve(file));
}

/** The DuckDB files this process holds open, absolute paths. */
export function heldFiles(): string[] {
  return [...held.keys()];
}

const quote = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Writes a consistent copy of an open database to `dest` (replaced if it exists). */
export async function snapshotInstance(instance: DuckDBInstance, dest: string): Promise<void> {
  fs.rmSync(dest, { force: true });
  fs.rmSync(`${dest}.wal`, { force: true });
  const c = await instance.connect();
  const alias = `backup_copy_${++attached}`;
  try {
    const name = (await c.runAndReadAll('SELECT current_database()')).getRows()[0]![0] as string;
    await c.run(`ATTACH ${quote(dest)} AS ${alias}`);
    try {
      await c.run(`COPY FROM DATABASE "${name.replaceAll('"', '""')}" TO ${alias}`);
    } finally {
      // Detaching checkpoints the copy: it is one self-contained file.
      await c.run(`DETACH ${alias}`);
    }
  } finally {
    c.closeSync();
  }
}

/** A consistent copy of `file`, which this process holds open; false when it does not hold it. */
export async function snapshotHeld(file: string, dest: string): Promise<boolean> {
  const instance = held.get(path.resolve(file));
  if (!instance) return false;
  await snapshotInstance(instance, dest);
  return true;
}
