// A small DuckDB file owned by one writer (events, notices, statements...): opened with the platform's limits (one
// thread, 64 MB: these files are small and share two cores with ingest), its tables created, and its statements run
// one at a time, because a DuckDB connection is not meant for concurrent statements and the stores read then write.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export class DuckDbFile {
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    /** Use inside serial() only. */
    readonly db: DuckDBConnection,
    private readonly what: string,
  ) {}

  /** Opens (or creates) `file` (':memory:' in tests) and runs `schema` (CREATE ... IF NOT EXISTS, migrations). */
  static async open(file: string, what: string, schema: readonly string[]): Promise<DuckDbFile> {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    const instance = await DuckDBInstance.create(file, { threads: '1', memory_limit: '64MB' });
    const db = await instance.connect();
    for (const sql of schema) await db.run(sql);
    return new DuckDbFile(instance, db, what);
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
    await this.chain.catch(() => undefined);
    this.db.closeSync();
    this.instance.closeSync();
  }
}
