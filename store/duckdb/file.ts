// A small DuckDB file owned by one writer (events, notices, statements...): opened with the platform's limits (one
// thread, 64 MB: these files are small and share two cores with ingest), its schema brought to the code's version
// (schema.ts), and its statements run one at a time, because a DuckDB connection is not meant for concurrent
// statements and the stores read then write.
import { type DuckDBConnection, type DuckDBInstance } from '@duckdb/node-api';
import { openDuckDb, type SchemaReport, type StoreSchema } from './schema.js';
import { holdFile, releaseFile } from './snapshot.js';

export interface DuckDbFileOptions {
  /** DuckDB memory_limit, default '64MB'. */
  memoryLimit?: string;
}

export class DuckDbFile {
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    /** Use inside serial() only. */
    readonly db: DuckDBConnection,
    private readonly file: string,
    private readonly what: string,
    /** What opening did to the schema (migrated from which version, the copy taken before). */
    readonly schema: SchemaReport,
  ) {}

  /** Opens (or creates) `file` (':memory:' in tests) and migrates it to the code's schema version. */
  static async open(file: string, schema: StoreSchema, o: DuckDbFileOptions = {}): Promise<DuckDbFile> {
    const {
      instance,
      db,
      schema: report,
    } = await openDuckDb(file, schema, { threads: '1', memory_limit: o.memoryLimit ?? '64MB' });
    holdFile(file, instance);
    return new DuckDbFile(instance, db, file, schema.what, report);
  }

  /** Runs f after every statement queued before it; a failure does not stop the ones after. */
  serial<T>(f: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${this.what} is closed`));
    const next = this.chain.then(f);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Waits for what is queued, then closes; a second call does nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    releaseFile(this.file);
    await this.chain.catch(() => undefined);
    // A checkpoint folds the WAL into the file so the next start is quick.
    await this.db.run('CHECKPOINT').catch(() => undefined);
    this.db.closeSync();
    this.instance.closeSync();
  }
}
