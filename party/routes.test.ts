// The party's routes through fastify's inject, mounted beside the real /api guard (users/): an in-memory
// RecordSource over real StatementStore (DuckDB in memory) and EvidenceStore (a temporary folder).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../api/server.js';
import { consolePlugin } from '../console/plugin.js';
import { silentLogger } from '../runtime/log.js';
import { authPlugin, ROUTE_ROLES, Users, UserStore } from '../users/index.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { pixelBombHeader } from '../vision/testdata/pixel-bomb.js';
import type { PartyLimitsInput } from './config.js';
import { formatQueryCode } from './code.js';
import { partyRoutes, prefersJson } from './routes.js';
import { StatementStore } from './statements.js';
import {
  confirmedEvent,
  jpeg,
  MemoryRecords,
  multipartBody,
  noticeFor,
  randomCode,
  registry,
  TIME_ZONE,
} from './test-support.js';

const KDF = { ln: 10, r: 8, p: 1 };
const T0 = Date.parse('2026-06-10T02:00:00Z'); // 10:00 in Shanghai

interface Harness {
  app: FastifyInstance;
  records: MemoryRecords;
  statements: StatementStore;
  evidence: EvidenceStore;
  metrics: Registry;
  reviewerCookie: string;
  close(): Promise<void>;
}

/** `logLines`: the party's log lines as JSON text, for tests that check what is logged. */
async function harness(limits: PartyLimitsInput = {}, logLines?: string[]): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'party-routes-'));
  const evidence = new EvidenceStore(path.join(dir, 'evidence'));
  const statements = await StatementStore.open(':memory:');
  const userStore = await UserStore.open(':memory:');
  const users = new Users({ store: userStore, logger: silentLogger, kdf: KDF });
  await users.ensureAdmin({ adminPassword: 'admin-secret-1' });
  await users.create(
    { username: 'li.reviewer', password: 'reviewer-pass-1', role: 'reviewer', displayName: '李审核' },
    'admin',
    '127.0.0.1',
  );
  const records = new MemoryRecords();
  const metrics = new Registry();
  const app = Fastify();
  // The objection routes get their roles the way the coordinator adds them to ROUTE_ROLES.
  await app.register(authPlugin, {
    users,
    rules: [...ROUTE_ROLES, { prefix: '/api/objections', roles: ['reviewer', 'admin'] }],
  });
  app.get('/api/events', async () => ({ items: [] }));
  await app.register(partyRoutes, {
    records,
    statements,
    evidence,
    cameras: registry(),
    publicationDays: 30,
    timeZone: TIME_ZONE,
    logger: logLines ? pino({ level: 'info' }, { write: (l: string) => void logLines.push(l) }) : silentLogger,
    registry: metrics,
    limits: {
      requestsPerWindow: 10_000,
      ...limits,
      failures: { max: 5, windowMs: 15 * 60_000, delayBaseMs: 0, delayMaxMs: 0, ...limits.failures },
    },
  });
  await app.ready();
  const login = await app.inject({
    method: 'POST',
    url: '/api/session',
    payload: { username: 'li.reviewer', password: 'reviewer-pass-1' },
  });
  const reviewerCookie = String(login.headers['set-cookie']).split(';')[0]!;
  return {
    app,
    records,
    statements,
    evidence,
    metrics,
    reviewerCookie,
    async close() {
      await app.close();
      await statements.close();
      await userStore.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const JSON_ACCEPT = { accept: 'application/json' };
const HTML_ACCEPT = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

async function failures(m: Registry): Promise<number> {
  const v = await m.getSingleMetric('party_lookup_failures_total')!.get();
  return v.values.reduce((a, x) => a + x.value, 0);
}

describe('content negotiation', () => {
  it('prefers JSON only when the client asks for it more than for a page', () => {
    expect(prefersJson('application/json')).toBe(true);
    expect(prefersJson('application/json, text/plain, */*')).toBe(true);
    expect(prefersJson(HTML_ACCEPT.accept)).toBe(false);
    expect(prefersJson('*/*')).toBe(false);
    expect(prefersJson(undefined)).toBe(false);
    expect(prefersJson('text/html;q=0.5, application/json;q=0.9')).toBe(true);
    expect(prefersJson('application/json;q=0, */*')).toBe(false);
  });
});

describe('the party routes', () => {
  let h: Harness;
  let parking: Awaited<ReturnType<typeof confirmedEvent>>;
  let code: string;
  let other: Awaited<ReturnType<typeof confirmedEvent>>;
  beforeAll(async () => {
    h = await harness();
    parking = await confirmedEvent(h.evidence, { start: T0, plate: '苏A12345' });
    code = h.records.add(parking, noticeFor(parking)).code;
    // Another party's record: nothing of it may show through the first one's code.
    other = await confirmedEvent(h.evidence, { type: 'out-of-store-vending', start: T0 + 3600_000 });
    h.records.add(
      other,
      noticeFor(other, { status: 'case', reason: 'repeat-offence', caseId: 'CASE-2026-0007', recheckAt: undefined }),
    );
  });
  afterAll(async () => h.close());

  it('offers the source it runs without a session: the archive the source page links to', async () => {
    const r = await h.app.inject({ url: '/public/source.tar.gz' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/gzip');
    expect(r.rawPayload.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect((await h.app.inject({ url: '/public/assets/source.html' })).body).toContain('href="/public/source.tar.gz"');
  }, 60_000);

  it('answers /public without a session while every /api route still needs one', async () => {
    for (const url of [
      '/public/',
      '/public/locations',
      `/public/records/${code}`,
      '/public/assets/app.js',
      '/public/assets/style.css',
    ]) {
      const r = await h.app.inject({ url });
      expect(r.statusCode, url).toBe(200);
    }
    expect((await h.app.inject({ url: '/api/objections' })).statusCode).toBe(401);
    expect(
      (await h.app.inject({ method: 'POST', url: '/api/objections/x/handle', payload: { note: 'n' } })).statusCode,
    ).toBe(401);
    expect((await h.app.inject({ url: '/api/events' })).statusCode).toBe(401);
    expect((await h.app.inject({ url: '/public' })).headers.location).toBe('/public/');
  });

  it('shows the record as JSON: what, where, when, evidence under the record, decision by role, legal basis, what next', async () => {
    const r = await h.app.inject({ url: `/public/records/${code}`, headers: JSON_ACCEPT });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    const rec = r.json();
    expect(rec).toMatchObject({
      code,
      codeDisplay: formatQueryCode(code),
      eventType: 'illegal-parking',
      place: { postedLocation: '新华路与人民路交叉口东北角', zoneName: '人行道禁停区', district: 'xinhua' },
      start: T0,
      plate: '苏A12345',
      review: { decision: 'confirm', byRole: 'reviewer' },
      notice: { status: 'awaiting-recheck', reason: 'notified', channels: ['sms', 'console'] },
      camera: { id: 'cam-xinhua-01', publishedAt: '2026-01-05', enforcingFrom: '2026-02-04' },
      timeZone: TIME_ZONE,
    });
    expect(rec.evidence).toHaveLength(3);
    for (const img of rec.evidence) {
      expect(img.publicUrl).toBe(`/public/records/${code}/evidence/${img.sha256}`);
      expect(img.url).toBe(img.publicUrl);
    }
    expect(rec.legalBasis.map((p: { zh: string }) => p.zh).join('\n')).toMatch(/第四十一条[\s\S]*道路交通安全法/);
    // The re-check time as local time in the text of what happens next.
    expect(rec.whatNext.zh).toContain('2026-06-10 10:11');
    // Never the party's contact or name, the reviewer's name, the delivery texts, or the other record.
    const body = r.body;
    for (const secret of [
      '13800001234',
      '138****1234',
      '好邻居便利店',
      'wang.fang',
      '王芳',
      '查询码…',
      other.event.id,
      'CASE-2026-0007',
    ])
      expect(body).not.toContain(secret);
  });

  it('finds the code however it is typed: lower case, dashes, O for 0', async () => {
    const typed = formatQueryCode(code).toLowerCase();
    expect(
      (await h.app.inject({ url: `/public/records/${encodeURIComponent(typed)}`, headers: JSON_ACCEPT })).statusCode,
    ).toBe(200);
  });

  it('serves the page for browsers, with a strict policy, and the same page marked not-found with 404 for an unknown code', async () => {
    const ok = await h.app.inject({ url: `/public/records/${code}`, headers: HTML_ACCEPT });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/html/);
    expect(ok.headers['content-security-policy']).toContain("script-src 'self'");
    expect(ok.body).toContain('data-status="ok"');
    expect(ok.body).toContain('/public/assets/app.js');
    const miss = await h.app.inject({ url: `/public/records/${randomCode()}`, headers: HTML_ACCEPT });
    expect(miss.statusCode).toBe(404);
    expect(miss.body).toContain('data-status="not-found"');
    const loc = await h.app.inject({ url: '/public/locations', headers: HTML_ACCEPT });
    expect(loc.headers['content-type']).toMatch(/^text\/html/);
  });

  it("serves only the record's own images", async () => {
    const img = parking.event.evidence[1]!;
    const r = await h.app.inject({ url: `/public/records/${code}/evidence/${img.sha256}` });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('image/jpeg');
    expect(r.rawPayload.equals((await h.evidence.get(img.sha256))!)).toBe(true);
    // An image of the other record, through this code: not found.
    const foreign = await h.app.inject({ url: `/public/records/${code}/evidence/${other.event.evidence[0]!.sha256}` });
    expect(foreign.statusCode).toBe(404);
  });

  it('serves each image privately, as the bytes its SHA-256 names, and refuses one altered on disk', async () => {
    for (const img of parking.event.evidence) {
      const r = await h.app.inject({ url: `/public/records/${code}/evidence/${img.sha256}` });
      expect(r.statusCode).toBe(200);
      expect(EvidenceStore.sha256(r.rawPayload)).toBe(img.sha256);
      expect(r.headers['cache-control']).toMatch(/^private\b/);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    // Someone with access to the disk swaps an image for another valid JPEG: refused with an error and a log line.
    const lines: string[] = [];
    const logged = await harness({}, lines);
    try {
      const stored = await confirmedEvent(logged.evidence, { start: T0, plate: '苏A12345' });
      const c = logged.records.add(stored, noticeFor(stored)).code;
      const img = stored.event.evidence[2]!;
      const swapped = await jpeg(999);
      fs.writeFileSync(logged.evidence.pathOf(img.sha256), swapped);
      const r = await logged.app.inject({ url: `/public/records/${c}/evidence/${img.sha256}` });
      expect(r.statusCode).toBe(500);
      expect(r.json()).toMatchObject({ error: 'evidence_altered' });
      expect(lines.some((l) => l.includes(img.sha256) && l.includes('altered'))).toBe(true);
    } finally {
      await logged.close();
    }
  });

  it('lists the published monitoring locations with what they enforce and since when', async () => {
    const r = await h.app.inject({ url: '/public/locations', headers: JSON_ACCEPT });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.publicationDays).toBe(30);
    expect(body.items).toEqual([
      {
        cameraId: 'cam-jinghai-01',
        place: '靖海大道 12 号商铺前',
        district: 'jinghai',
        gridCell: '320582002001001',
        enforces: ['out-of-store-vending'],
        publishedAt: '2026-05-20',
        enforcingFrom: '2026-06-19',
      },
      {
        cameraId: 'cam-xinhua-01',
        place: '新华路与人民路交叉口东北角',
        district: 'xinhua',
        gridCell: '320582001001001',
        enforces: ['illegal-parking', 'out-of-store-vending'],
        publishedAt: '2026-01-05',
        enforcingFrom: '2026-02-04',
      },
    ]);
  });

  it('does not look records up by plate unless the city turns it on (a plate is visible on the street)', async () => {
    const r = await h.app.inject({
      method: 'POST',
      url: '/public/lookup',
      payload: { plate: '苏A12345', date: '2026-06-10', phone: '13800001234' },
      headers: JSON_ACCEPT,
    });
    expect(r.statusCode).toBe(404);
    expect(r.json().error).toBe('lookup_disabled');
    expect(r.body).not.toContain(code);
    // Nor by the query string as before, and the page is told not to offer the form.
    const old = await h.app.inject({
      url: `/public/lookup?plate=${encodeURIComponent('苏A12345')}&date=2026-06-10`,
      headers: JSON_ACCEPT,
    });
    expect(old.body).not.toContain(code);
    expect((await h.app.inject({ url: '/public/', headers: HTML_ACCEPT })).body).toContain('data-plate-lookup="0"');
  });

  it('does not show a record whose event is not a confirmed one', async () => {
    const pending = await confirmedEvent(h.evidence, { start: T0 + 7200_000, status: 'pending' });
    const n = h.records.add(pending, noticeFor(pending));
    expect((await h.app.inject({ url: `/public/records/${n.code}`, headers: JSON_ACCEPT })).statusCode).toBe(404);
  });
});

describe('look-up by plate, day and the phone the notice went to (PUBLIC_PLATE_LOOKUP=1)', () => {
  const lookup = (h: Harness, body: Record<string, string>, client = '203.0.113.20') =>
    h.app.inject({ method: 'POST', url: '/public/lookup', payload: body, headers: JSON_ACCEPT, remoteAddress: client });

  it('finds the records of exactly that plate and day whose notice went to that number, and nothing by plate and day alone', async () => {
    const h = await harness({ plateLookup: true });
    try {
      const parking = await confirmedEvent(h.evidence, { start: T0, plate: '苏A12345' });
      const code = h.records.add(parking, noticeFor(parking)).code;
      expect((await h.app.inject({ url: '/public/', headers: HTML_ACCEPT })).body).toContain('data-plate-lookup="1"');
      // The phone typed as people type it: +86, spaces, dashes.
      const r = await lookup(h, { plate: '苏a·12345', date: '2026-06-10', phone: '+86 138-0000-1234' });
      expect(r.statusCode).toBe(200);
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.json().items).toEqual([
        {
          code,
          codeDisplay: formatQueryCode(code),
          eventType: 'illegal-parking',
          start: T0,
          place: '新华路与人民路交叉口东北角',
        },
      ]);
      // What a passer-by knows (the plate and the day) is not enough: no phone is a bad request, a wrong one a miss.
      const bare = await lookup(h, { plate: '苏A12345', date: '2026-06-10' });
      expect(bare.statusCode).toBe(400);
      expect(bare.body).not.toContain(code);
      const before = await failures(h.metrics);
      const wrong = await lookup(h, { plate: '苏A12345', date: '2026-06-10', phone: '13900009999' });
      expect(wrong.statusCode).toBe(404);
      expect(wrong.body).not.toContain(code);
      // The same answer as a plate and day with no record at all: the keeper's number is not confirmed to a guesser.
      const none = await lookup(h, { plate: '苏A12345', date: '2026-06-11', phone: '13800001234' });
      expect(none.statusCode).toBe(404);
      expect(none.body).toBe(wrong.body);
      expect(await failures(h.metrics)).toBe(before + 2);
      // A record whose notice went to no phone cannot be opened this way.
      const silent = await confirmedEvent(h.evidence, { start: T0 + 600_000, plate: '苏B·67890' });
      h.records.add(silent, noticeFor(silent, { party: null }));
      expect((await lookup(h, { plate: '苏B67890', date: '2026-06-10', phone: '13800001234' })).statusCode).toBe(404);
      expect((await lookup(h, { plate: 'x', date: 'yesterday', phone: '1' })).statusCode).toBe(400);
    } finally {
      await h.close();
    }
  });

  it("counts wrong numbers toward the client's failure limit: then even the right one is refused, and other clients are not", async () => {
    const h = await harness({ plateLookup: true });
    try {
      const parking = await confirmedEvent(h.evidence, { start: T0, plate: '苏A12345' });
      h.records.add(parking, noticeFor(parking));
      // The limit in this harness is 5 failures per 15 minutes.
      for (let i = 0; i < 5; i++)
        expect(
          (await lookup(h, { plate: '苏A12345', date: '2026-06-10', phone: `1390000${String(i).padStart(4, '0')}` }))
            .statusCode,
        ).toBe(404);
      const refused = await lookup(h, { plate: '苏A12345', date: '2026-06-10', phone: '13800001234' });
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toBeTruthy();
      expect(
        (await lookup(h, { plate: '苏A12345', date: '2026-06-10', phone: '13800001234' }, '198.51.100.7')).statusCode,
      ).toBe(200);
    } finally {
      await h.close();
    }
  });
});

describe('no enumeration', () => {
  it('answers a malformed and an unknown code alike with 404, then 429 with Retry-After after N failures, for that client only', async () => {
    const h = await harness();
    try {
      const stored = await confirmedEvent(h.evidence, { start: T0 });
      const code = h.records.add(stored, noticeFor(stored)).code;
      const attacker = { remoteAddress: '203.0.113.9' };
      const malformed = await h.app.inject({ url: '/public/records/not-a-code', headers: JSON_ACCEPT, ...attacker });
      const unknown = await h.app.inject({ url: `/public/records/${randomCode()}`, headers: JSON_ACCEPT, ...attacker });
      expect(malformed.statusCode).toBe(404);
      expect(unknown.statusCode).toBe(404);
      expect(malformed.body).toBe(unknown.body);
      expect(unknown.json()).toMatchObject({
        error: 'not_found',
        messages: { 'zh-CN': expect.stringContaining('查询码'), en: expect.stringContaining('query code') },
      });
      // The limit in this harness is 5 failures per 15 minutes.
      for (let i = 0; i < 3; i++)
        expect(
          (await h.app.inject({ url: `/public/records/${randomCode()}`, headers: JSON_ACCEPT, ...attacker }))
            .statusCode,
        ).toBe(404);
      const refused = await h.app.inject({ url: `/public/records/${randomCode()}`, headers: JSON_ACCEPT, ...attacker });
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.json().messages.en).toMatch(/too many failed look-ups/i);
      // Refused even with the right code (a guesser must not learn which guess was right), and for the statement and image routes.
      expect(
        (await h.app.inject({ url: `/public/records/${code}`, headers: JSON_ACCEPT, ...attacker })).statusCode,
      ).toBe(429);
      expect(
        (
          await h.app.inject({
            url: `/public/records/${code}/evidence/${stored.event.evidence[0]!.sha256}`,
            ...attacker,
          })
        ).statusCode,
      ).toBe(429);
      // A browser gets the page saying so.
      const page = await h.app.inject({ url: `/public/records/${code}`, headers: HTML_ACCEPT, ...attacker });
      expect(page.statusCode).toBe(429);
      expect(page.body).toContain('data-status="too-many"');
      // Another client is not affected.
      expect(
        (await h.app.inject({ url: `/public/records/${code}`, headers: JSON_ACCEPT, remoteAddress: '198.51.100.7' }))
          .statusCode,
      ).toBe(200);
      expect(await failures(h.metrics)).toBe(5);
      const refusedMetric = await h.metrics.getSingleMetric('party_lookup_refused_total')!.get();
      expect(refusedMetric.values[0]!.value).toBe(4);
    } finally {
      await h.close();
    }
  });

  it('limits the requests per client on every /public route (@fastify/rate-limit)', async () => {
    const h = await harness({ requestsPerWindow: 3 });
    try {
      for (let i = 0; i < 3; i++)
        expect((await h.app.inject({ url: '/public/locations', headers: JSON_ACCEPT })).statusCode).toBe(200);
      const r = await h.app.inject({ url: '/public/', headers: JSON_ACCEPT });
      expect(r.statusCode).toBe(429);
      expect(r.headers['retry-after']).toBeTruthy();
      expect(r.json()).toMatchObject({
        error: 'rate_limited',
        messages: { en: expect.stringMatching(/too many requests/i) },
      });
      // /api is not the public page's to limit.
      expect((await h.app.inject({ url: '/api/objections', headers: { cookie: h.reviewerCookie } })).statusCode).toBe(
        200,
      );
    } finally {
      await h.close();
    }
  });
});

describe('mounted as the platform mounts it', () => {
  it("works through buildApi's plugins beside the console, whose routes leave /public alone", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'party-api-'));
    const evidence = new EvidenceStore(dir);
    const statements = await StatementStore.open(':memory:');
    const userStore = await UserStore.open(':memory:');
    const users = new Users({ store: userStore, logger: silentLogger, kdf: KDF });
    const records = new MemoryRecords();
    const stored = await confirmedEvent(evidence, { start: T0 });
    const code = records.add(stored, noticeFor(stored)).code;
    // Only ping is asked of the readings store here.
    const store = { name: 'none', ping: async () => true } as unknown as Parameters<typeof buildApi>[0]['store'];
    const app = await buildApi({
      store,
      registry: new Registry(),
      logger: silentLogger,
      plugins: [
        async (a) => {
          await a.register(authPlugin, { users });
          await a.register(consolePlugin);
          await a.register(partyRoutes, {
            records,
            statements,
            evidence,
            cameras: () => registry(),
            publicationDays: 30,
            timeZone: TIME_ZONE,
            logger: silentLogger,
          });
        },
      ],
    });
    try {
      expect((await app.inject({ url: `/public/records/${code}`, headers: JSON_ACCEPT })).json().code).toBe(code);
      expect((await app.inject({ url: '/public/' })).body).toContain('/public/assets/app.js');
      expect((await app.inject({ url: '/' })).body).toContain('/console/');
      expect((await app.inject({ url: '/public/nothing-here' })).statusCode).toBe(404);
      expect((await app.inject({ url: '/api/objections' })).statusCode).toBe(401);
    } finally {
      await app.close();
      await statements.close();
      await userStore.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('statements', () => {
  let h: Harness;
  let code: string;
  let eventId: string;
  let png: Buffer;
  beforeAll(async () => {
    h = await harness({ statement: { maxPerRecord: 8 } });
    const stored = await confirmedEvent(h.evidence, { start: T0, plate: '苏A12345' });
    const n = h.records.add(stored, noticeFor(stored));
    code = n.code;
    eventId = n.eventId;
    png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3a7' } })
      .png()
      .toBuffer();
  });
  afterAll(async () => h.close());

  const post = async (fields: Record<string, string>, files: Parameters<typeof multipartBody>[1] = [], c = code) => {
    const b = await multipartBody(fields, files);
    return h.app.inject({
      method: 'POST',
      url: `/public/records/${c}/statements`,
      payload: b.payload,
      headers: { ...b.headers, ...JSON_ACCEPT },
    });
  };

  it('takes a statement with photos; it reaches the reviewers as an objection and is handled once', async () => {
    const photo = await jpeg(77);
    const r = await post({ text: '车辆当时正在装卸货物，已于五分钟内驶离。', contact: '13900002222' }, [
      { name: 'receipt.jpg', data: photo, type: 'image/jpeg' },
      { name: 'scene.png', data: png, type: 'image/png' },
    ]);
    expect(r.statusCode, r.body).toBe(201);
    const created = r.json();
    expect(created).toMatchObject({ status: 'open', photos: 2 });
    // In the evidence store, content-addressed.
    expect(await h.evidence.get(EvidenceStore.sha256(photo))).not.toBeNull();

    // The record lists it (id, time, status: not the text or the contact).
    const rec = (await h.app.inject({ url: `/public/records/${code}`, headers: JSON_ACCEPT })).json();
    expect(rec.statements).toEqual([{ id: created.id, submittedAt: created.submittedAt, status: 'open' }]);

    const list = await h.app.inject({ url: '/api/objections?status=open', headers: { cookie: h.reviewerCookie } });
    expect(list.statusCode).toBe(200);
    const item = list.json().items.find((i: { id: string }) => i.id === created.id);
    expect(item).toMatchObject({
      eventId,
      code,
      text: '车辆当时正在装卸货物，已于五分钟内驶离。',
      contact: '13900002222',
      status: 'open',
      photos: [
        { sha256: EvidenceStore.sha256(photo), bytes: photo.length, type: 'image/jpeg' },
        { sha256: EvidenceStore.sha256(png), bytes: png.length, type: 'image/png' },
      ],
      event: {
        id: eventId,
        type: 'illegal-parking',
        camera: { id: 'cam-xinhua-01', postedLocation: '新华路与人民路交叉口东北角' },
        zone: { id: 'np-1', name: '人行道禁停区' },
        start: T0,
      },
    });

    const noNote = await h.app.inject({
      method: 'POST',
      url: `/api/objections/${created.id}/handle`,
      headers: { cookie: h.reviewerCookie },
      payload: {},
    });
    expect(noNote.statusCode).toBe(400);
    const handled = await h.app.inject({
      method: 'POST',
      url: `/api/objections/${created.id}/handle`,
      headers: { cookie: h.reviewerCookie },
      payload: { note: '已核实装卸货物，不予立案。', by: 'someone-else' },
    });
    // The body may not name who handled it: a strict body refuses the extra field.
    expect(handled.statusCode).toBe(400);
    const ok = await h.app.inject({
      method: 'POST',
      url: `/api/objections/${created.id}/handle`,
      headers: { cookie: h.reviewerCookie },
      payload: { note: '已核实装卸货物，不予立案。' },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({
      status: 'handled',
      handled: { by: { username: 'li.reviewer', role: 'reviewer' }, note: '已核实装卸货物，不予立案。' },
    });
    const again = await h.app.inject({
      method: 'POST',
      url: `/api/objections/${created.id}/handle`,
      headers: { cookie: h.reviewerCookie },
      payload: { note: 'again' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().statement.handled.note).toBe('已核实装卸货物，不予立案。');
    expect(
      (
        await h.app.inject({
          method: 'POST',
          url: '/api/objections/st-none/handle',
          headers: { cookie: h.reviewerCookie },
          payload: { note: 'x' },
        })
      ).statusCode,
    ).toBe(404);
    const handledList = (
      await h.app.inject({ url: '/api/objections?status=handled', headers: { cookie: h.reviewerCookie } })
    ).json();
    expect(handledList.items.map((i: { id: string }) => i.id)).toContain(created.id);
    expect(
      (await h.app.inject({ url: '/api/objections?status=maybe', headers: { cookie: h.reviewerCookie } })).statusCode,
    ).toBe(400);
  });

  it('refuses a photo over 5 MB with 413 and says so in both languages', async () => {
    const big = Buffer.concat([await jpeg(5), Buffer.alloc(5 * 1024 * 1024)]);
    const r = await post({ text: '照片太大' }, [{ name: 'big.jpg', data: big, type: 'image/jpeg' }]);
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({
      error: 'photo_too_large',
      messages: { 'zh-CN': '每张照片不能超过 5 MB', en: 'Each photo must be at most 5 MB' },
    });
  });

  it('delivers the 413 over real HTTP while the upload is still coming (not a reset connection)', async () => {
    const address = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const fd = new FormData();
    fd.append('text', '大照片');
    fd.append(
      'photos',
      new Blob([new Uint8Array(Buffer.concat([await jpeg(6), Buffer.alloc(6 * 1024 * 1024)]))], { type: 'image/jpeg' }),
      'big.jpg',
    );
    const res = await fetch(`${address}/public/records/${code}/statements`, {
      method: 'POST',
      body: fd,
      headers: JSON_ACCEPT,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe('photo_too_large');
    // Far beyond any allowed form: refused from its Content-Length, unread.
    const huge = await fetch(`${address}/public/records/${code}/statements`, {
      method: 'POST',
      body: new Uint8Array(20 * 1024 * 1024),
      headers: { ...JSON_ACCEPT, 'content-type': 'multipart/form-data; boundary=x' },
    }).catch((e: Error) => e);
    if (!(huge instanceof Error)) expect(huge.status).toBe(413);
  });

  it('refuses a file that is not a JPEG, PNG or WebP image by its content, whatever its name and type say', async () => {
    const text = await post({ text: '附件' }, [
      { name: 'photo.jpg', data: Buffer.from('this is not an image at all'), type: 'image/jpeg' },
    ]);
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({
      error: 'photo_type',
      messages: { en: 'Photos must be JPEG, PNG or WebP images (photo.jpg is not)' },
    });
    expect(text.json().messages['zh-CN']).toContain('JPEG、PNG 或 WebP');
    // A JPEG's first bytes with nothing readable behind them.
    const fake = await post({ text: '附件' }, [
      {
        name: 'fake.jpg',
        data: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 7)]),
        type: 'image/jpeg',
      },
    ]);
    expect(fake.statusCode).toBe(415);
    const gif = await post({ text: '附件' }, [
      { name: 'a.gif', data: Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;'), type: 'image/gif' },
    ]);
    expect(gif.statusCode).toBe(415);
    // A pixel bomb: a PNG of a few hundred bytes declaring 16000x16000 (768 MB as RGB in a reviewer's browser).
    const bomb = await post({ text: '附件' }, [
      { name: 'bomb.png', data: pixelBombHeader(16_000, 16_000), type: 'image/png' },
    ]);
    expect(bomb.statusCode).toBe(415);
  });

  it('refuses more than 3 photos, a missing or too long text, a foreign field, and a body that is not a form', async () => {
    const photo = await jpeg(9);
    const four = await post(
      { text: '四张' },
      Array.from({ length: 4 }, (_, i) => ({ name: `p${i}.jpg`, data: photo, type: 'image/jpeg' })),
    );
    expect(four.statusCode).toBe(413);
    expect(four.json()).toMatchObject({
      error: 'too_many_photos',
      messages: { en: 'At most 3 photos can be attached' },
    });
    const empty = await post({ text: '   ' });
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ error: 'text_required', messages: { 'zh-CN': '请填写陈述内容' } });
    const long = await post({ text: '长'.repeat(2001) });
    expect(long.statusCode).toBe(400);
    expect(long.json().error).toBe('text_too_long');
    expect((await post({ text: '刚好'.repeat(1000) })).statusCode).toBe(201);
    const field = await post({ text: 'x', status: 'handled' });
    expect(field.statusCode).toBe(400);
    expect(field.json().error).toBe('bad_field');
    const json = await h.app.inject({
      method: 'POST',
      url: `/public/records/${code}/statements`,
      payload: { text: 'json' },
      headers: JSON_ACCEPT,
    });
    expect(json.statusCode).toBe(415);
    expect(json.json().error).toBe('not_multipart');
  });

  it('answers a statement to an unknown code with the same 404 as a look-up, and counts it', async () => {
    const before = await failures(h.metrics);
    const r = await post({ text: '你好' }, [], randomCode());
    expect(r.statusCode).toBe(404);
    expect(r.json().error).toBe('not_found');
    expect(await failures(h.metrics)).toBe(before + 1);
  });
});

describe('statement caps: a stranger holding the code cannot silence the party', () => {
  const post = async (h: Harness, code: string, client: string, fields: Record<string, string> = {}) => {
    const b = await multipartBody({ text: `来自 ${client} 的陈述`, ...fields });
    return h.app.inject({
      method: 'POST',
      url: `/public/records/${code}/statements`,
      payload: b.payload,
      headers: { ...b.headers, ...JSON_ACCEPT },
      remoteAddress: client,
    });
  };
  // Parallel posts of one client are look-ups in flight too: the probe guard's limit is raised so that the caps,
  // not the guard, answer them.
  const setup = async (statement: PartyLimitsInput['statement'] = {}) => {
    const h = await harness({ statement, failures: { max: 100 } });
    const stored = await confirmedEvent(h.evidence, { start: T0, plate: '苏A12345' });
    const n = h.records.add(stored, noticeFor(stored));
    return { h, code: n.code, eventId: n.eventId };
  };

  it('holds the public pool exactly under 40 parallel posts from 40 clients, and the party still gets in with its number', async () => {
    const { h, code, eventId } = await setup({ maxPerRecord: 20, maxPerHour: 1000 });
    try {
      const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => post(h, code, `203.0.113.${i + 1}`)));
      const codes = rs.map((r) => r.statusCode);
      expect(codes.filter((c) => c === 201)).toHaveLength(20);
      expect(codes.filter((c) => c === 409)).toHaveLength(20);
      expect((await h.statements.byEvent(eventId)).length).toBe(20);
      const refused = rs.find((r) => r.statusCode === 409)!.json();
      expect(refused.error).toBe('statement_limit');
      expect(refused.messages.en).toMatch(/the party can still submit by giving the mobile number/);
      // The party, with the number the notice went to, has its own slots (5 by default), from any address.
      for (let i = 0; i < 5; i++)
        expect((await post(h, code, '203.0.113.1', { phone: '138 0000 1234' })).statusCode).toBe(201);
      expect((await post(h, code, '198.51.100.9', { phone: '13800001234' })).statusCode).toBe(409);
      expect((await h.statements.byEvent(eventId)).length).toBe(25);
    } finally {
      await h.close();
    }
  });

  it('holds the per-client cap exactly under 40 parallel posts from one client', async () => {
    const { h, code, eventId } = await setup({ maxPerHour: 1000 });
    try {
      const rs = await Promise.all(Array.from({ length: 40 }, () => post(h, code, '203.0.113.66')));
      expect(rs.filter((r) => r.statusCode === 201)).toHaveLength(3);
      expect(rs.filter((r) => r.statusCode === 409).map((r) => r.json().error)).toEqual(
        Array(37).fill('statement_client_limit'),
      );
      expect((await h.statements.byEvent(eventId)).length).toBe(3);
      // Another client is not affected.
      expect((await post(h, code, '203.0.113.67')).statusCode).toBe(201);
    } finally {
      await h.close();
    }
  });

  it('spreads the public pool over time (5 an hour by default), and a wrong number counts as a failed look-up', async () => {
    const { h, code } = await setup();
    try {
      for (let i = 0; i < 5; i++) expect((await post(h, code, `203.0.113.${i + 1}`)).statusCode).toBe(201);
      const fast = await post(h, code, '203.0.113.99');
      expect(fast.statusCode).toBe(429);
      expect(fast.json().error).toBe('statement_rate');
      const before = await failures(h.metrics);
      const wrong = await post(h, code, '203.0.113.99', { phone: '13900009999' });
      expect(wrong.statusCode).toBe(403);
      expect(wrong.json().error).toBe('statement_phone');
      expect(await failures(h.metrics)).toBe(before + 1);
      expect((await post(h, code, '203.0.113.99', { phone: '13800001234' })).statusCode).toBe(201);
    } finally {
      await h.close();
    }
  });
});
