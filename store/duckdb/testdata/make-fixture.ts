// Writes the migration fixture: a small data directory as the platform wrote it before the stores recorded a schema
// version (main at 1705807, Dec 2026): readings and a dead letter, an alert, an event with its evidence, its case, a
// notice, a user with a session, a statement. Kept so the fixture can be remade with an old checkout; the files
// are stored gzipped (a near-empty DuckDB file is mostly zero blocks).
//   npx tsx store/duckdb/testdata/make-fixture.ts store/duckdb/testdata/v0
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DuckDbAlertStore } from '../../../alerts/store.js';
import type { Alert } from '../../../alerts/types.js';
import { CaseService, caseConfigFromEnv } from '../../../cases/service.js';
import { NoticeStore } from '../../../notices/store.js';
import type { NoticeRecord } from '../../../notices/store.js';
import { StatementStore } from '../../../party/statements.js';
import { ReviewService } from '../../../review/decisions.js';
import { EventStore } from '../../../review/store.js';
import { makeEvent } from '../../../review/testdata/fixtures.js';
import { silentLogger } from '../../../runtime/log.js';
import { startUsers } from '../../../users/index.js';
import { EvidenceStore } from '../../../vision/evidence/store.js';
import { DuckDbStore } from '../store.js';

const out = path.resolve(process.argv[2] ?? 'store/duckdb/testdata/v0');
const dir = fs.mkdtempSync(path.join(out, '..', '.fixture-'));
const T0 = Date.parse('2026-11-27T02:00:00Z');

const store = await DuckDbStore.open({ file: path.join(dir, 'city.duckdb') });
await store.write(
  Array.from({ length: 30 }, (_, i) => ({
    deviceId: 'nz-xinhua-001', district: 'xinhua', kind: 'noise' as const, ts: T0 + i * 60_000, seq: i,
    metrics: { laeq_db: 50 + (i % 7), lmax_db: 60 + (i % 5) }, ...(i === 3 ? { flags: { lmax_db: 'suspect' } } : {}),
  })),
);
await store.add([{ topic: 'city/v1/xinhua/noise/nz-xinhua-001/readings', reason: 'not JSON', receivedAt: T0, payload: Buffer.from('{oops'), payloadBytes: 5000 }]);
await store.close();

const alerts = await DuckDbAlertStore.open(path.join(dir, 'alerts.duckdb'));
const alert: Alert = {
  id: 'al-fixture-1', ruleId: 'noise-night', category: 'threshold', name: { zh: '夜间噪声超标', en: 'Night noise' }, standard: 'GB 3096-2008',
  deviceId: 'nz-xinhua-001', district: 'xinhua', kind: 'noise', metric: 'laeq_db', severity: 'warning', state: 'firing',
  firstSeen: T0, lastSeen: T0 + 60_000, value: 58, level: 55, peak: 58, caseWorthy: false,
} as Alert;
await alerts.put(alert);
await alerts.close();

const evidence = new EvidenceStore(path.join(dir, 'evidence'));
const events = await EventStore.open(path.join(dir, 'events.duckdb'));
const cases = await CaseService.open({ config: caseConfigFromEnv({}, dir), logger: silentLogger, dispatch: false });
const review = new ReviewService({ events, cases, logger: silentLogger });
const ev = await makeEvent(evidence, { n: 1 });
await events.add([ev]);
await review.review(ev.id, { decision: 'confirm' }, { username: 'li.reviewer', role: 'reviewer' });
await cases.close();

const notices = await NoticeStore.open(path.join(dir, 'notices.duckdb'));
const rec = {
  notice: {
    eventId: ev.id, eventType: ev.type, cameraId: ev.camera.id, district: ev.camera.district, zoneId: ev.zone.id,
    code: 'ABCD0123EFGH4567', party: null, status: 'notice-only', reason: 'no-party', priorOffences: 0, deliveries: [], createdAt: T0 + 400_000,
  },
  work: { target: { box: ev.box, role: ev.role }, answered: [], caseAttempts: 0 },
  nextAt: null,
} as unknown as NoticeRecord;
await notices.insertIfAbsent(rec, { plate: ev.plate?.text, day: '2026-11-27', start: ev.start });
await notices.close();
await events.close();

const users = await startUsers({ dataDir: dir, logger: silentLogger, adminPassword: 'fixture-admin-password', kdf: { ln: 10, r: 8, p: 1 } });
await users.users.create({ username: 'li.reviewer', password: 'fixture-reviewer-password', role: 'reviewer', displayName: '李审核' }, 'admin', '127.0.0.1');
await users.close();

const statements = await StatementStore.open(path.join(dir, 'statements.duckdb'), { now: () => T0 + 500_000 });
const photo = await evidence.put(Buffer.from('statement photo (fixture)'));
await statements.add({ eventId: ev.id, code: 'ABCD0123EFGH4567', text: '车辆故障，已叫拖车', photos: [{ ...photo, type: 'image/jpeg' }], contact: '13900002222' });
await statements.close();

// Gzip the DuckDB files; evidence stays as it is (already compressed JPEGs, content-addressed).
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
for (const f of fs.readdirSync(dir)) {
  const p = path.join(dir, f);
  if (f.endsWith('.duckdb')) fs.writeFileSync(path.join(out, `${f}.gz`), zlib.gzipSync(fs.readFileSync(p), { level: 9 }));
  else if (f === 'evidence') fs.cpSync(p, path.join(out, 'evidence'), { recursive: true });
}
fs.rmSync(dir, { recursive: true });
console.log(`fixture written to ${out}`);
