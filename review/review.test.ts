// Review decisions over HTTP: confirm (a case is filed and reaches the built-in inbox), reject (no case, reason
// kept), a second decision refused with 409, attribution to the session user, roles, and decisions that survive a
// restart of the store (including a file written before decisions existed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { caseRoutes } from '../cases/routes.js';
import { eventRoutes, reviewRoutes } from './routes.js';
import { CaseService } from '../cases/service.js';
import { silentLogger } from '../runtime/log.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { ReviewService, viewEvent } from './decisions.js';
import { EventStore } from './store.js';
import type { EnforcementEvent } from '../contracts/index.js';
import { fakeSession, jpeg, makeEvent, until } from './testdata/fixtures.js';

const codesFile = path.resolve(import.meta.dirname, '../config/case-codes.json');

describe('review decisions', () => {
  let dir: string;
  let events: EventStore;
  let evidence: EvidenceStore;
  let cases: CaseService;
  let app: FastifyInstance;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-review-'));
    events = await EventStore.open(path.join(dir, 'events.duckdb'));
    evidence = new EvidenceStore(path.join(dir, 'evidence'));
    cases = await CaseService.open({
      config: { file: path.join(dir, 'cases.duckdb'), codesFile, retryBaseMs: 10, retryMaxMs: 50 },
      logger: silentLogger,
    });
    const review = new ReviewService({ events, cases, logger: silentLogger });
    app = Fastify();
    fakeSession(app);
    // What review/routes.ts serves, with the decision (the lead's one-line change: viewEvent).
    app.get('/api/events/:id', async (req, reply) => {
      const s = await events.get((req.params as { id: string }).id);
      return s ? viewEvent(s) : reply.code(404).send({ error: 'not_found' });
    });
    await app.register(reviewRoutes, { review });
    await app.register(caseRoutes, { cases, events, evidence });
  });

  afterEach(async () => {
    await app.close();
    await cases.close();
    await events.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const post = (id: string, body: unknown, user?: string) =>
    app.inject({
      method: 'POST',
      url: `/api/events/${encodeURIComponent(id)}/review`,
      payload: body as object,
      headers: user ? { 'x-test-user': user } : {},
    });

  it('confirms once, attributed to the session user; the case is filed with the right code and reaches the inbox', async () => {
    const e = await makeEvent(evidence);
    await events.add([e]);

    expect((await post(e.id, { decision: 'confirm' })).statusCode).toBe(401);
    expect((await post(e.id, { decision: 'confirm' }, 'wang.li:staff')).json()).toEqual({ error: 'forbidden' });
    // A name in the body is never taken: the body is refused, nothing decided.
    expect((await post(e.id, { decision: 'confirm', by: 'someone-else' }, 'zhang.wei:reviewer')).statusCode).toBe(400);
    expect((await events.get(e.id))!.status).toBe('pending');

    const before = Date.now();
    const r = await post(e.id, { decision: 'confirm', note: '车牌清晰' }, 'zhang.wei:reviewer');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body).toMatchObject({
      id: e.id,
      status: 'confirmed',
      review: {
        decision: 'confirm',
        note: '车牌清晰',
        by: { username: 'zhang.wei', role: 'reviewer', displayName: 'zhang.wei' },
      },
    });
    expect(body.review.at).toBeGreaterThanOrEqual(before);
    expect(body.caseId).toMatch(/^C20261127-[0-9a-f]{12}$/);

    // Decided once: a second decision (another reviewer, or the same one rejecting) is refused and changes nothing.
    const again = await post(e.id, { decision: 'reject', reason: 'permitted' }, 'li.na:admin');
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      error: 'conflict',
      event: { status: 'confirmed', review: { by: { username: 'zhang.wei' } } },
    });
    const shown = (await app.inject({ url: `/api/events/${encodeURIComponent(e.id)}` })).json();
    expect(shown).toMatchObject({
      status: 'confirmed',
      caseId: body.caseId,
      review: { decision: 'confirm', by: { username: 'zhang.wei', role: 'reviewer' }, at: body.review.at },
    });

    const c = (
      await app.inject({ url: `/api/cases/${body.caseId}`, headers: { 'x-test-user': 'zhang.wei:reviewer' } })
    ).json();
    expect(c).toMatchObject({
      id: body.caseId,
      source: { type: 'event', id: e.id },
      eventType: 'illegal-parking',
      code: '0505',
      codeName: { zh: '机动车乱停放' },
      district: 'xinhua',
      gridCell: '320582001002003',
      location: { lat: 31.86, lon: 120.55 },
      postedLocation: '新华路与人民路口东侧',
      occurredAt: new Date(e.thresholdAt).toISOString(),
      detection: { kind: 'vision', cameraId: 'cam-xinhua-01', plate: { text: '苏E12345' }, box: e.box },
      review: { decision: 'confirm', by: { username: 'zhang.wei', role: 'reviewer' } },
    });
    expect(c.evidence.map((x: { sha256: string }) => x.sha256)).toEqual(e.evidence.map((x) => x.sha256));
    // Built-in inbox (no webhook configured): delivered, and listed there.
    const delivered = await until(
      async () => {
        const v = (
          await app.inject({ url: `/api/cases/${body.caseId}`, headers: { 'x-test-user': 'zhang.wei:reviewer' } })
        ).json();
        return v.delivery.status === 'delivered' ? v : null;
      },
      10_000,
      'delivery to the inbox',
    );
    expect(delivered.delivery).toMatchObject({ adapter: 'inbox', status: 'delivered', attempts: 1 });
    const inbox = (await app.inject({ url: '/api/case-inbox', headers: { 'x-test-user': 'li.na:admin' } })).json();
    expect(inbox).toMatchObject({ total: 1, enabled: true, items: [{ case: { id: body.caseId, code: '0505' } }] });
    const list = (
      await app.inject({ url: '/api/cases?status=delivered', headers: { 'x-test-user': 'zhang.wei:reviewer' } })
    ).json();
    expect(list.total).toBe(1);
    expect((await app.inject({ url: '/api/cases', headers: { 'x-test-user': 'wang.li:staff' } })).statusCode).toBe(403);
  });

  it('rejects with a reason and files no case; a rejection without a reason is refused', async () => {
    const e = await makeEvent(evidence, { n: 2, type: 'out-of-store-vending' });
    await events.add([e]);
    const bad = await post(e.id, { decision: 'reject' }, 'zhang.wei:reviewer');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('reason');
    expect((await post(e.id, { decision: 'confirm', reason: 'other' }, 'zhang.wei:reviewer')).statusCode).toBe(400);
    expect((await post('no-such-event', { decision: 'confirm' }, 'zhang.wei:reviewer')).statusCode).toBe(404);

    const r = await post(
      e.id,
      { decision: 'reject', reason: 'false-detection', note: '是垃圾桶' },
      'zhang.wei:reviewer',
    );
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      status: 'rejected',
      review: { decision: 'reject', reason: 'false-detection', note: '是垃圾桶', by: { username: 'zhang.wei' } },
    });
    expect(r.json().caseId).toBeUndefined();
    expect((await cases.list({ limit: 10 })).total).toBe(0);
    expect((await post(e.id, { decision: 'confirm' }, 'li.na:admin')).statusCode).toBe(409);

    // A pending event completed by the vision stage after the decision (bus redelivery) does not undo it.
    await events.add([{ ...e, dwellS: 900 }]);
    expect((await events.get(e.id))!).toMatchObject({
      status: 'rejected',
      review: { reason: 'false-detection' },
      event: { dwellS: 300 },
    });
    // Several at once (a page of notices): those that exist, by id.
    const many = await events.getMany([e.id, 'no-such-event']);
    expect([...many.keys()]).toEqual([e.id]);
    expect(many.get(e.id)).toEqual(await events.get(e.id));
    expect((await events.getMany([])).size).toBe(0);
  });

  it('lets exactly one of two reviewers deciding the same event at once win; the other gets 409 and no second case', async () => {
    for (let n = 10; n < 16; n++) {
      const e = await makeEvent(evidence, { n });
      await events.add([e]);
      // Sent together: each request is in the route before either decision is written.
      const [a, b] = await Promise.all([
        post(e.id, { decision: 'confirm' }, 'zhang.wei:reviewer'),
        post(e.id, { decision: 'reject', reason: 'permitted' }, 'li.na:admin'),
      ]);
      const codes = [a.statusCode, b.statusCode].sort();
      expect(codes, `event ${n}`).toEqual([200, 409]);
      const [won, lost] = a.statusCode === 200 ? [a, b] : [b, a];
      // The loser is told whose decision stands, and the store holds exactly that one.
      expect(lost.json().event.review).toEqual(won.json().review);
      expect((await events.get(e.id))!.review).toEqual(won.json().review);
    }
    const confirmed = (await events.list({ status: 'confirmed', limit: 100 })).total;
    expect((await cases.list({ limit: 100 })).total).toBe(confirmed);
  });

  // The demo's queue held two events for one parked car (track 45 read "A78699", track 183 "苏A78699", 5 s apart),
  // both "confirming files a case directly": confirming both must file one case (one act, one case).
  describe('one act, one case', () => {
    const pair = async (a: Partial<EnforcementEvent>, b: Partial<EnforcementEvent>, linked = false) => {
      const e1 = { ...(await makeEvent(evidence, { n: 45 })), ...a };
      const base = await makeEvent(evidence, { n: 183 });
      // Track 183 begins 5 s after track 45's last sighting.
      const start = e1.end + 5_000;
      const e2 = {
        ...base,
        id: `cam-xinhua-01:np-1:183:${start}`,
        start,
        thresholdAt: start + 300_000,
        end: start + 400_000,
        ...b,
        ...(linked ? { possibleDuplicateOf: e1.id } : {}),
      };
      await events.add([e1, e2]);
      return [e1, e2] as const;
    };
    const confirm = async (id: string) => {
      const r = await post(id, { decision: 'confirm' }, 'zhang.wei:reviewer');
      expect(r.statusCode).toBe(200);
      return r.json() as { caseId?: string; outcome?: string };
    };
    const caseCount = async () =>
      (await app.inject({ url: '/api/cases', headers: { 'x-test-user': 'zhang.wei:reviewer' } })).json()
        .total as number;

    it('the store refuses a second case for the same camera, zone, plate (with or without its province) and stay', async () => {
      const [e1, e2] = await pair(
        { plate: { text: 'A78699', confidence: 0.7 } },
        { plate: { text: '苏A78699', confidence: 0.95 } },
      );
      const first = await confirm(e1.id);
      const second = await confirm(e2.id);
      expect(first.caseId).toBeDefined();
      expect(second.caseId).toBe(first.caseId);
      expect(await caseCount()).toBe(1);
    });

    // Boxes too far apart for the store to call it one place by itself (IoU 0.18): the worker's link decides.
    const far: Partial<EnforcementEvent> = { plate: undefined, box: [540, 300, 740, 420] };

    it("a linked pair without plates files one case: the later confirmed joins the first one's case", async () => {
      const [e1, e2] = await pair({ plate: undefined }, far, true);
      const first = await confirm(e1.id);
      const second = await confirm(e2.id);
      expect(first.caseId).toBeDefined();
      expect(second.caseId).toBe(first.caseId);
      expect(await caseCount()).toBe(1);
    });

    it('a linked pair confirmed the other way round: the store finds the case of the later event', async () => {
      const [e1, e2] = await pair({ plate: undefined }, far, true);
      const second = await confirm(e2.id);
      const first = await confirm(e1.id);
      expect(first.caseId).toBe(second.caseId);
      expect(await caseCount()).toBe(1);
    });

    it('an unlinked pair without plates at places that barely overlap is two cases', async () => {
      const [e1, e2] = await pair({ plate: undefined }, far);
      await confirm(e1.id);
      await confirm(e2.id);
      expect(await caseCount()).toBe(2);
    });

    it('two confident, different plates are two vehicles: two cases', async () => {
      const [e1, e2] = await pair(
        { plate: { text: '苏A78699', confidence: 0.95 } },
        { plate: { text: '苏B12345', confidence: 0.95 } },
      );
      expect((await confirm(e1.id)).caseId).not.toBe((await confirm(e2.id)).caseId);
      expect(await caseCount()).toBe(2);
    });
  });

  it('recovers a confirmed event whose case was not filed (crash between the two writes)', async () => {
    const e = await makeEvent(evidence, { n: 3 });
    await events.add([e]);
    const noCases = new ReviewService({ events, cases: null, logger: silentLogger });
    const s = await noCases.review(e.id, { decision: 'confirm' }, { username: 'zhang.wei', role: 'reviewer' });
    expect(s.caseId).toBeUndefined();
    expect((await events.list({ withoutCase: true, limit: 10 })).total).toBe(1);
    const review = new ReviewService({ events, cases, logger: silentLogger });
    expect(await review.recover()).toBe(1);
    expect(await review.recover()).toBe(0);
    const after = (await events.get(e.id))!;
    expect(after.caseId).toMatch(/^C/);
    expect((await cases.get(after.caseId!))!.source).toEqual({ type: 'event', id: e.id });
  });
});

describe('EventStore decisions', () => {
  it('keep decisions across a restart and open a file written before decisions existed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-review-'));
    const file = path.join(dir, 'events.duckdb');
    const evidence = new EvidenceStore(path.join(dir, 'evidence'));
    const e = await makeEvent(evidence);
    // The table as the previous version created it, with one pending event.
    const inst = await DuckDBInstance.create(file);
    const db = await inst.connect();
    await db.run(`CREATE TABLE events (id VARCHAR PRIMARY KEY, type VARCHAR NOT NULL, camera_id VARCHAR NOT NULL, district VARCHAR NOT NULL,
      status VARCHAR NOT NULL, start_ts BIGINT NOT NULL, received_at BIGINT NOT NULL, doc VARCHAR NOT NULL)`);
    await db.run(
      `INSERT INTO events VALUES ($id, 'illegal-parking', 'cam-xinhua-01', 'xinhua', 'pending', $s, $s, $doc)`,
      { id: e.id, s: BigInt(e.start), doc: JSON.stringify(e) },
    );
    db.closeSync();
    inst.closeSync();

    let store = await EventStore.open(file);
    expect(await store.get(e.id)).toMatchObject({ status: 'pending' });
    const at = Date.parse('2026-11-27T03:00:00Z');
    const d = await store.decide(e.id, {
      decision: 'reject',
      reason: 'duplicate',
      by: { username: 'zhang.wei', role: 'reviewer' },
      at,
    });
    expect(d.ok).toBe(true);
    await store.close();
    store = await EventStore.open(file);
    expect(await store.get(e.id)).toMatchObject({
      status: 'rejected',
      review: { reason: 'duplicate', at, by: { username: 'zhang.wei' } },
    });
    expect((await store.list({ decidedFrom: at, decidedTo: at + 1, limit: 10 })).total).toBe(1);
    expect((await store.list({ decidedFrom: at + 1, limit: 10 })).total).toBe(0);
    const again = await store.decide(e.id, {
      decision: 'confirm',
      by: { username: 'li.na', role: 'admin' },
      at: at + 5,
    });
    expect(again).toMatchObject({
      ok: false,
      reason: 'decided',
      stored: { review: { by: { username: 'zhang.wei' } } },
    });
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('evidence as served to reviewers', () => {
  it('is the bytes its SHA-256 names, private and not sniffed; a file altered on disk is refused with an error and a log line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-evidence-'));
    const evidence = new EvidenceStore(path.join(dir, 'evidence'));
    const events = await EventStore.open(path.join(dir, 'events.duckdb'));
    const lines: string[] = [];
    const app = Fastify({
      loggerInstance: pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) }) as FastifyBaseLogger,
    });
    await app.register(eventRoutes, { events, evidence });
    try {
      const e = await makeEvent(evidence);
      for (const img of e.evidence) {
        const r = await app.inject({ url: `/api/evidence/${img.sha256}` });
        expect(r.statusCode).toBe(200);
        expect(EvidenceStore.sha256(r.rawPayload)).toBe(img.sha256);
        expect(r.headers['content-type']).toBe('image/jpeg');
        expect(r.headers['cache-control']).toMatch(/^private\b/);
        expect(r.headers['cache-control']).not.toMatch(/public/);
        expect(r.headers['x-content-type-options']).toBe('nosniff');
      }
      // Another valid JPEG put in place of the threshold frame.
      const img = e.evidence[1]!;
      fs.writeFileSync(evidence.pathOf(img.sha256), await jpeg(1280, 720, 3));
      const r = await app.inject({ url: `/api/evidence/${img.sha256}.jpg` });
      expect(r.statusCode).toBe(500);
      expect(r.json()).toMatchObject({ error: 'evidence_altered' });
      expect(lines.some((l) => l.includes(img.sha256) && l.includes('altered'))).toBe(true);
    } finally {
      await app.close();
      await events.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
