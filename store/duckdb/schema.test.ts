// Schema versions: a data directory written before versions were recorded (testdata/v0, made by make-fixture.ts with
// that code) opens under every store, is migrated with a copy taken first, and keeps every row; a file written by a
// newer release is refused with a message; a failing step leaves the file as it was.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { ALERT_SCHEMA, DuckDbAlertStore } from '../../alerts/store.js';
import { CASE_SCHEMA, CaseStore } from '../../cases/store.js';
import { NOTICE_SCHEMA, NoticeStore } from '../../notices/store.js';
import { STATEMENT_SCHEMA, StatementStore } from '../../party/statements.js';
import { EVENT_SCHEMA, EventStore } from '../../review/store.js';
import { ConfigError } from '../../runtime/config.js';
import { USER_SCHEMA, UserStore } from '../../users/store.js';
import { EvidenceStore } from '../../vision/evidence/store.js';
import { DuckDbFile } from './file.js';
import { SchemaTooNewError, takeMigrations, type StoreSchema } from './schema.js';
import { DuckDbStore, READINGS_SCHEMA } from './store.js';

const FIXTURE = path.join(import.meta.dirname, 'testdata', 'v0');
const SCHEMAS: Record<string, StoreSchema> = {
  'alerts.duckdb': ALERT_SCHEMA,
  'cases.duckdb': CASE_SCHEMA,
  'city.duckdb': READINGS_SCHEMA,
  'events.duckdb': EVENT_SCHEMA,
  'notices.duckdb': NOTICE_SCHEMA,
  'statements.duckdb': STATEMENT_SCHEMA,
  'users.duckdb': USER_SCHEMA,
};
const FILES = Object.keys(SCHEMAS);
/** 1, 2, ... up to the code's version of a store: one row per step applied. */
const steps = (s: StoreSchema) => Array.from({ length: s.migrations.length }, (_, i) => i + 1);
/** The tables of `before`, read from `after`: later steps may add tables, none may lose a row of the old ones. */
const sameTables = (after: Record<string, string[]>, before: Record<string, string[]>) =>
  Object.fromEntries(Object.keys(before).map((t) => [t, after[t]]));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'city-schema-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The fixture's data directory, unpacked into a fresh folder. */
function unpack(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const f of FILES)
    fs.writeFileSync(path.join(dir, f), zlib.gunzipSync(fs.readFileSync(path.join(FIXTURE, `${f}.gz`))));
  fs.cpSync(path.join(FIXTURE, 'evidence'), path.join(dir, 'evidence'), { recursive: true });
  return dir;
}

/** Every row of every table of a DuckDB file (but the version table), as text: what "nothing lost" compares. */
async function dump(file: string): Promise<Record<string, string[]>> {
  const inst = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const c = await inst.connect();
  try {
    const tables = (
      await c.runAndReadAll(
        `SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1`,
      )
    )
      .getRows()
      .map((r) => r[0] as string)
      .filter((t) => t !== 'schema_version');
    const out: Record<string, string[]> = {};
    for (const t of tables) {
      const cols = (
        await c.runAndReadAll(
          `SELECT column_name FROM duckdb_columns() WHERE table_name = '${t}' ORDER BY column_index`,
        )
      )
        .getRows()
        .map((r) => r[0] as string);
      const rows = await c.runAndReadAll(
        `SELECT ${cols.map((x) => `"${x}"::VARCHAR`).join(' || chr(31) || ')} FROM "${t}" ORDER BY ALL`,
      );
      out[t] = rows.getRows().map((r) => String(r[0]));
    }
    return out;
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

async function versionOf(file: string): Promise<number[]> {
  const inst = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const c = await inst.connect();
  try {
    return (await c.runAndReadAll('SELECT version FROM schema_version ORDER BY version'))
      .getRows()
      .map((r) => Number(r[0]));
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

describe('schema versions', () => {
  it('a data directory written before schema versions opens under every store, is migrated with a copy first, and loses nothing', async () => {
    const dir = unpack('old');
    const before: Record<string, Record<string, string[]>> = {};
    for (const f of FILES) before[f] = await dump(path.join(dir, f));
    const p = (f: string) => path.join(dir, f);

    const readings = await DuckDbStore.open({ file: p('city.duckdb') });
    const alerts = await DuckDbAlertStore.open(p('alerts.duckdb'));
    const events = await EventStore.open(p('events.duckdb'));
    const cases = await CaseStore.open(p('cases.duckdb'));
    const notices = await NoticeStore.open(p('notices.duckdb'));
    const users = await UserStore.open(p('users.duckdb'));
    const statements = await StatementStore.open(p('statements.duckdb'));
    try {
      // What the fixture holds, read back through each store.
      expect(await readings.countPoints('nz-xinhua-001')).toBe(60);
      expect((await readings.query({ deviceId: 'nz-xinhua-001', limit: 5 })).readings[3]!.flags).toEqual({
        lmax_db: 'suspect',
      });
      expect((await readings.list(10)).items).toMatchObject([{ reason: 'not JSON', payloadBytes: 5000 }]);
      expect(await alerts.get('al-fixture-1')).toMatchObject({ ruleId: 'noise-night', state: 'firing' });
      const [ev] = (await events.list({ limit: 10 })).items;
      expect(ev).toMatchObject({ review: { decision: 'confirm' } });
      const evidence = new EvidenceStore(p('evidence'));
      expect(ev!.event.evidence).toHaveLength(4);
      for (const img of ev!.event.evidence) expect(await evidence.verify(img.sha256)).toBe(true);
      const c = await cases.get(ev!.caseId!);
      expect(c).toMatchObject({ source: { type: 'event', id: ev!.event.id } });
      expect(await notices.noticeByCode('ABCD0123EFGH4567')).toMatchObject({ eventId: ev!.event.id });
      expect((await users.list()).map((u) => u.username).sort()).toEqual(['admin', 'li.reviewer']);
      const [st] = await statements.byEvent(ev!.event.id);
      expect(st).toMatchObject({ text: '车辆故障，已叫拖车', contact: '13900002222' });
      expect(await evidence.verify(st!.photos[0]!.sha256)).toBe(true);
    } finally {
      for (const s of [readings, alerts, events, cases, notices, users, statements]) await s.close();
    }
    // Each migration is reported once, for the platform's start-up log.
    expect(takeMigrations().map((m) => [path.basename(m.file), m.from, m.backup])).toEqual(
      ['city', 'alerts', 'events', 'cases', 'notices', 'users', 'statements'].map((n) => [
        `${n}.duckdb`,
        0,
        p(`${n}.duckdb.v0.backup`),
      ]),
    );
    expect(takeMigrations()).toEqual([]);
    for (const f of FILES) {
      expect(await versionOf(p(f)), f).toEqual(steps(SCHEMAS[f]!));
      expect(sameTables(await dump(p(f)), before[f]!), f).toEqual(before[f]);
      // The copy taken before migrating is the file as the old release left it.
      expect(await dump(p(`${f}.v0.backup`)), `${f}.v0.backup`).toEqual(before[f]);
    }
    // Opened again at its version: nothing to migrate, no new copy.
    fs.rmSync(p('events.duckdb.v0.backup'));
    const again = await EventStore.open(p('events.duckdb'));
    await again.close();
    expect(fs.existsSync(p('events.duckdb.v0.backup'))).toBe(false);
  });

  it('refuses a file written by a newer release, with a message and no stack, and leaves it alone', async () => {
    const dir = unpack('newer');
    const file = path.join(dir, 'events.duckdb');
    await (await EventStore.open(file)).close();
    const inst = await DuckDBInstance.create(file);
    const c = await inst.connect();
    const newer = EVENT_SCHEMA.migrations.length + 5;
    await c.run(`INSERT INTO schema_version VALUES (${newer}, 0, '9.0.0')`);
    c.closeSync();
    inst.closeSync();
    const err = await EventStore.open(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaTooNewError);
    expect(err).toBeInstanceOf(ConfigError); // runMain prints a ConfigError's message and exits 2, without a stack
    expect((err as Error).message).toBe(
      `event store ${file} has schema version ${newer}, but this release knows versions up to ${EVENT_SCHEMA.migrations.length}: it was written by a newer ` +
        `release. Run that release (or a newer one), or restore a backup taken before the upgrade (npm run restore, ` +
        `docs/deploy.md#backup-and-restore).`,
    );
    expect(await versionOf(file)).toEqual([...steps(EVENT_SCHEMA), newer]);
    // Not held open after the refusal: it can be opened by another process at once.
    const ro = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
    ro.closeSync();
  });

  it('migrates forward in one transaction: a failing step leaves the file as it was; a good one keeps the rows', async () => {
    const file = path.join(tmp, 'toy.duckdb');
    const v1: StoreSchema = { what: 'toy store', migrations: [[`CREATE TABLE t (id INTEGER, name VARCHAR)`]] };
    const f1 = await DuckDbFile.open(file, v1);
    expect(f1.schema).toEqual({ from: 0, to: 1 }); // a new file: nothing to copy
    await f1.db.run(`INSERT INTO t VALUES (1, 'a'), (2, 'b')`);
    await f1.close();

    const broken: StoreSchema = {
      what: 'toy store',
      migrations: [...v1.migrations, [`ALTER TABLE t ADD COLUMN note VARCHAR`, `SELECT no_such_column FROM t`]],
    };
    const err = (await DuckDbFile.open(file, broken).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      /^toy store .*toy\.duckdb: migrating from schema version 1 to 2 failed, the file is unchanged \(a copy taken before is at .*toy\.duckdb\.v1\.backup\)/,
    );
    expect(await versionOf(file)).toEqual([1]);
    expect(Object.keys(await dump(file))).toEqual(['t']);

    const v2: StoreSchema = {
      what: 'toy store',
      migrations: [
        ...v1.migrations,
        [`ALTER TABLE t ADD COLUMN note VARCHAR`],
        async (db) => void (await db.run(`UPDATE t SET note = 'n' || id`)),
      ],
    };
    const f2 = await DuckDbFile.open(file, v2);
    expect(f2.schema).toEqual({ from: 1, to: 3, backup: `${file}.v1.backup` });
    expect((await f2.db.runAndReadAll('SELECT id, name, note FROM t ORDER BY id')).getRows()).toEqual([
      [1, 'a', 'n1'],
      [2, 'b', 'n2'],
    ]);
    await f2.close();
    expect(await versionOf(file)).toEqual([1, 2, 3]);
  });
});
