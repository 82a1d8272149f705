// Schema versions of the embedded stores. Every DuckDB file the platform writes records the version of its schema in
// a table `schema_version` (one row per migration applied, with when and by which release). At open, a file older
// than the code is migrated forward in one transaction (DuckDB's DDL is transactional: a failing step leaves the file
// as it was), after a byte copy of the file is taken beside it; a file newer than the code is refused with a message,
// because an older release would misread or damage columns it does not know.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { ConfigError } from '../../runtime/config.js';

/** One step: SQL statements, or a function for what SQL alone cannot do; run inside the migration's transaction. */
export type Migration = readonly string[] | ((db: DuckDBConnection) => Promise<void>);

export interface StoreSchema {
  /** Names the store in messages: "event store". */
  what: string;
  /**
   * migrations[i] takes a file from version i to i + 1, so the code's version is migrations.length. Version 1 is the
   * schema as it was before versions were recorded, written with IF NOT EXISTS so that it also accepts those files.
   * Append only: a released step is never edited.
   */
  migrations: readonly Migration[];
}

/** A file written by a newer release than this one. A ConfigError: an operator's situation, not a crash. */
export class SchemaTooNewError extends ConfigError {
  constructor(
    readonly file: string,
    readonly found: number,
    readonly known: number,
    what: string,
  ) {
    super(
      `${what} ${file} has schema version ${found}, but this release knows versions up to ${known}: it was written ` +
        `by a newer release. Run that release (or a newer one), or restore a backup taken before the upgrade ` +
        `(npm run restore, docs/deploy.md#backup-and-restore).`,
    );
  }
}

/** What open did to the file's schema; `backup` is the copy taken before migrating. */
export interface SchemaReport {
  from: number;
  to: number;
  backup?: string;
}

export interface OpenedDuckDb {
  instance: DuckDBInstance;
  /** The connection the schema was applied on; the caller's to use. */
  db: DuckDBConnection;
  schema: SchemaReport;
}

const VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER NOT NULL, applied_at BIGINT NOT NULL, release VARCHAR NOT NULL)`;

/** This release (package.json's version), recorded with each migration; found from the source and from dist/. */
export const RELEASE = (() => {
  for (const up of ['../..', '../../..']) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, up, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'city-sensing' && pkg.version) return pkg.version;
    } catch {
      // not there: try the next level
    }
  }
  return 'unknown';
})();

const migrated: (SchemaReport & { what: string; file: string })[] = [];

/** The files this process migrated since the last call (with where each copy is), for the start-up log. */
export function takeMigrations(): (SchemaReport & { what: string; file: string })[] {
  return migrated.splice(0);
}

/** The schema version recorded in an open database (0: none recorded, the file predates versions or is new). */
export async function schemaVersion(db: DuckDBConnection): Promise<number> {
  const has = await db.runAndReadAll(
    `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = 'schema_version'`,
  );
  if (Number(has.getRows()[0]![0]) === 0) return 0;
  const v = await db.runAndReadAll('SELECT coalesce(max(version), 0) FROM schema_version');
  return Number(v.getRows()[0]![0]);
}

async function hasTables(db: DuckDBConnection): Promise<boolean> {
  const r = await db.runAndReadAll(
    `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary`,
  );
  return Number(r.getRows()[0]![0]) > 0;
}

/**
 * Opens (or creates) `file` (':memory:' in tests) with DuckDB `config`, and brings its schema to the code's version.
 * A file locked by another process, or newer than the code, is a ConfigError saying so.
 */
export async function openDuckDb(
  file: string,
  schema: StoreSchema,
  config: Record<string, string>,
): Promise<OpenedDuckDb> {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(file, config);
  } catch (e) {
    const msg = (e as Error).message;
    if (/lock/i.test(msg)) {
      throw new ConfigError(
        `the ${schema.what} ${file} is in use by another process (stop it, or set DATA_DIR) (${msg.split('\n')[0]})`,
      );
    }
    throw e;
  }
  const db = await instance.connect();
  try {
    const report = await migrate(db, file, schema);
    if (report.backup) migrated.push({ what: schema.what, file, ...report });
    return { instance, db, schema: report };
  } catch (e) {
    db.closeSync();
    instance.closeSync();
    throw e;
  }
}

async function migrate(db: DuckDBConnection, file: string, schema: StoreSchema): Promise<SchemaReport> {
  const known = schema.migrations.length;
  const from = await schemaVersion(db);
  if (from > known) throw new SchemaTooNewError(file, from, known, schema.what);
  if (from === known) return { from, to: known };
  let backup: string | undefined;
  if (file !== ':memory:' && (await hasTables(db))) {
    // The copy is of the file as the older release left it, so that release can be run on it again. CHECKPOINT
    // first: it folds the WAL into the file, and nothing else writes to it while this process holds it.
    await db.run('CHECKPOINT');
    backup = `${file}.v${from}.backup`;
    fs.copyFileSync(file, backup);
  }
  await db.run('BEGIN');
  try {
    await db.run(VERSION_TABLE);
    for (let v = from; v < known; v++) {
      const step = schema.migrations[v]!;
      if (typeof step === 'function') await step(db);
      else for (const sql of step) await db.run(sql);
      await db.run('INSERT INTO schema_version VALUES ($v, $at, $release)', {
        v: v + 1,
        at: BigInt(Date.now()),
        release: RELEASE,
      });
    }
    await db.run('COMMIT');
  } catch (e) {
    await db.run('ROLLBACK').catch(() => undefined);
    const where = backup ? ` (a copy taken before is at ${backup})` : '';
    throw new Error(
      `${schema.what} ${file}: migrating from schema version ${from} to ${known} failed, the file is unchanged${where}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return backup ? { from, to: known, backup } : { from, to: known };
}
