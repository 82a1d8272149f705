// The cameras registered in the console, in their own DuckDB file ($DATA_DIR/cameras.duckdb), written by the one
// process that serves the API. A camera's credentials live in a table of their own, read only by the frame feed:
// listing, showing or logging a camera never touches them.
import type { DuckDBValue } from '@duckdb/node-api';
import { DuckDbFile } from '../store/duckdb/file.js';
import type { StoreSchema } from '../store/duckdb/schema.js';
import type { Camera } from '../vision/cameras/config.js';
import type { ConsoleSource, Credentials, StoredCamera } from './schema.js';

/** The cameras file's schema versions (store/duckdb/schema.ts): append a step, never edit one. */
export const CAMERA_SCHEMA: StoreSchema = {
  what: 'camera store',
  migrations: [
    [
      `CREATE TABLE IF NOT EXISTS cameras (
      id VARCHAR PRIMARY KEY, camera VARCHAR NOT NULL, source VARCHAR NOT NULL, created_at BIGINT NOT NULL,
      created_by VARCHAR NOT NULL, updated_at BIGINT NOT NULL, updated_by VARCHAR NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS camera_credentials (camera_id VARCHAR PRIMARY KEY, username VARCHAR NOT NULL, password VARCHAR NOT NULL)`,
    ],
  ],
};

const COLUMNS =
  'c.id, c.camera, c.source, c.created_at, c.created_by, c.updated_at, c.updated_by, k.camera_id IS NOT NULL';

function rowToCamera(r: DuckDBValue[]): StoredCamera {
  return {
    camera: JSON.parse(r[1] as string) as Camera,
    source: JSON.parse(r[2] as string) as ConsoleSource,
    createdAt: Number(r[3] as bigint),
    createdBy: r[4] as string,
    updatedAt: Number(r[5] as bigint),
    updatedBy: r[6] as string,
    hasCredentials: r[7] as boolean,
  };
}

export class CameraStore {
  private constructor(private readonly file: DuckDbFile) {}

  static async open(file: string): Promise<CameraStore> {
    return new CameraStore(await DuckDbFile.open(file, CAMERA_SCHEMA));
  }

  list(): Promise<StoredCamera[]> {
    return this.file.serial(async () =>
      (
        await this.file.db.runAndReadAll(
          `SELECT ${COLUMNS} FROM cameras c LEFT JOIN camera_credentials k ON k.camera_id = c.id ORDER BY c.id`,
        )
      )
        .getRows()
        .map(rowToCamera),
    );
  }

  get(id: string): Promise<StoredCamera | null> {
    return this.file.serial(async () => {
      const row = (
        await this.file.db.runAndReadAll(
          `SELECT ${COLUMNS} FROM cameras c LEFT JOIN camera_credentials k ON k.camera_id = c.id WHERE c.id = $id`,
          { id },
        )
      ).getRows()[0];
      return row ? rowToCamera(row) : null;
    });
  }

  /**
   * Writes a camera (insert or replace) and, when `credentials` is given, its credentials (null deletes them), in one
   * transaction: a camera never points at credentials of its previous source.
   */
  put(
    c: { camera: Camera; source: ConsoleSource; at: number; by: string },
    credentials?: Credentials | null,
  ): Promise<void> {
    return this.file.serial(async () => {
      const db = this.file.db;
      await db.run('BEGIN TRANSACTION');
      try {
        await db.run(
          `INSERT INTO cameras VALUES ($id, $camera, $source, $at, $by, $at, $by)
           ON CONFLICT (id) DO UPDATE SET camera = excluded.camera, source = excluded.source, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
          { id: c.camera.id, camera: JSON.stringify(c.camera), source: JSON.stringify(c.source), at: c.at, by: c.by },
        );
        if (credentials !== undefined) {
          await db.run('DELETE FROM camera_credentials WHERE camera_id = $id', { id: c.camera.id });
          if (credentials)
            await db.run('INSERT INTO camera_credentials VALUES ($id, $u, $p)', {
              id: c.camera.id,
              u: credentials.username,
              p: credentials.password,
            });
        }
        await db.run('COMMIT');
      } catch (e) {
        await db.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  /** Deletes a camera and its credentials; false when there was none. */
  delete(id: string): Promise<boolean> {
    return this.file.serial(async () => {
      await this.file.db.run('DELETE FROM camera_credentials WHERE camera_id = $id', { id });
      const r = await this.file.db.run('DELETE FROM cameras WHERE id = $id', { id });
      return r.rowsChanged > 0;
    });
  }

  /** A camera's credentials, for the frame feed only. */
  credentials(id: string): Promise<Credentials | null> {
    return this.file.serial(async () => {
      const row = (
        await this.file.db.runAndReadAll('SELECT username, password FROM camera_credentials WHERE camera_id = $id', {
          id,
        })
      ).getRows()[0];
      return row ? { username: row[0] as string, password: row[1] as string } : null;
    });
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
