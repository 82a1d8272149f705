// The console's pages of the notify / re-check loop in real headless Chromium, against a stand-in API: the real
// users, sessions and /api guard (with the platform's route table), the console's static
// plugin, evidence rendered from simulated scenes, and routes that answer with the shapes of the shared design
// (GET /api/events with `party` and `notice`, /api/notices, /api/parties, /api/objections and its "handle" POST).
// Checks: the party preview on each event of the review queue, the notice of a decided event, the notices page
// (filters, deliveries with their text, the re-check evidence, the case link, the query code), the parties page
// (window, sorting), the statements in the reviewer's queue (photos, mark handled, the badge in the navigation),
// every new page in both languages.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnforcementEvent, EvidenceImage } from '../contracts/index.js';
import { consolePlugin } from '../console/plugin.js';
import { CHANNELS, NOTICE_STATUSES, OUTCOME_REASONS, type Notice, type Statement } from '../notices/types.js';
import { silentLogger } from '../runtime/log.js';
import { authPlugin, startUsers } from '../users/index.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { launch, login, screenshot, type Browser } from './console-browser.js';
import { moreEvents, simulatedEvents } from './console-fixtures.js';
import { ROOT, tmpDir } from './helpers.js';

type Party = { known: boolean; kind?: 'shop' | 'vehicle'; name?: string; contact: boolean };
interface StandInEvent {
  event: EnforcementEvent;
  status: 'pending' | 'confirmed' | 'rejected';
  receivedAt: number;
  review?: {
    decision: 'confirm' | 'reject';
    reason?: string;
    note?: string;
    by: { username: string; role: string; displayName?: string };
    at: number;
  };
  caseId?: string;
  party?: Party;
  notice?: { status: Notice['status']; reason: Notice['reason']; recheckAt?: number; caseId?: string };
}
type Objection = Statement & {
  event: {
    id: string;
    type: string;
    camera: { id: string; postedLocation: string };
    zone: { id: string; name: string };
    start: number;
  } | null;
};

/** The stand-in platform: what the routes hold, so the test can look at what the console did. */
interface StandIn {
  url: string;
  events: Map<string, StandInEvent>;
  notices: Notice[];
  objections: Objection[];
  handled: { id: string; note: string; by: string }[];
  close(): Promise<void>;
}

const PASSWORD = 'reviewer-password';
const ADMIN_PASSWORD = 'notices-admin-password';

const view = (s: StandInEvent) => ({
  ...s.event,
  status: s.status,
  receivedAt: s.receivedAt,
  ...(s.review ? { review: s.review } : {}),
  ...(s.caseId ? { caseId: s.caseId } : {}),
  ...(s.party ? { party: s.party } : {}),
  ...(s.notice ? { notice: s.notice } : {}),
});

const page = <T>(items: T[], q: { limit?: string; offset?: string }) => {
  const limit = Math.min(1000, Number(q.limit ?? 100));
  const offset = Number(q.offset ?? 0);
  return { items: items.slice(offset, offset + limit), total: items.length };
};

/** A photo a party might send: a permit document, drawn (PNG, as phones send them too). */
async function photo(title: string, colour: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="360"><rect width="480" height="360" fill="${colour}"/>
    <rect x="60" y="40" width="360" height="280" fill="#fffdf4" stroke="#8a6d3b" stroke-width="4"/>
    <text x="240" y="110" font-size="34" text-anchor="middle" font-family="sans-serif" fill="#8a1f11">${title}</text>
    <rect x="100" y="150" width="280" height="10" fill="#bbb"/><rect x="100" y="180" width="240" height="10" fill="#bbb"/>
    <rect x="100" y="210" width="260" height="10" fill="#bbb"/><circle cx="330" cy="270" r="34" fill="none" stroke="#c0392b" stroke-width="6"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

async function startStandIn(dir: string): Promise<StandIn> {
  const evidence = new EvidenceStore(path.join(dir, 'evidence'));
  const now = Date.now();
  const base = await simulatedEvents(evidence, now - 6 * 3_600_000);
  const [vehicle, stall] = base as [EnforcementEvent, EnforcementEvent];
  const copies = moreEvents(base, 10, now - 3 * 3_600_000);
  const events = new Map<string, StandInEvent>();
  const add = (e: EnforcementEvent, o: Partial<StandInEvent>) =>
    events.set(e.id, { event: e, status: 'pending', receivedAt: e.detectedAt, ...o });
  const shop = '老王水果店';
  // The queue, oldest first: a vehicle whose keeper has no phone on record, a stall in front of a registered shop,
  // a vehicle nobody knows. (The copies alternate: vehicles at even places, stalls at odd ones.)
  add(vehicle, { party: { known: true, kind: 'vehicle', name: vehicle.plate!.text, contact: false } });
  add(stall, { party: { known: true, kind: 'shop', name: shop, contact: true } });
  add(copies[0]!, { party: { known: false, contact: false } });

  // Confirmed events with their notices, one per status.
  const reviewer = { username: 'zhao.min', role: 'reviewer', displayName: '赵敏' };
  const recheckImage = (e: EnforcementEvent, at: number): EvidenceImage => ({
    ...e.evidence.find((x) => x.role === 'last')!,
    role: 'recheck',
    capturedAt: at,
  });
  const sms = (e: EnforcementEvent, code: string): Notice['deliveries'][number] => ({
    channel: 'sms',
    status: 'sent',
    attempts: 1,
    at: e.end + 60_000,
    to: '138****0021',
    text: `【城市管理】您好，${e.camera.postedLocation}（${e.zone.name}）发现出店经营，请于10分钟内整改。查询码 ${code.match(/.{4}/g)!.join('-')}，详情 https://city.example/public/records/${code}`,
  });
  const consoleLog = (e: EnforcementEvent): Notice['deliveries'][number] => ({
    channel: 'console',
    status: 'sent',
    attempts: 1,
    at: e.end + 60_000,
    text: '控制台记录',
  });
  const notices: Notice[] = [];
  const cases: Record<string, unknown>[] = [];
  const codes = [
    '7K3M9Q2XWD4HP8RT',
    'B6N4T2VZ9XQ7M3KC',
    'H2W8P5R7Z3N9C4TQ',
    'Q9X2M7K4D8T3V6PW',
    'R4C7N2H9W5Q8Z3MX',
    'T8M3Q6X2K9P4W7DV',
  ];
  const specs: { status: Notice['status']; reason: Notice['reason']; party: Notice['party']; withSms: boolean }[] = [
    {
      status: 'awaiting-recheck',
      reason: 'notified',
      party: { id: 'shop:laowang', kind: 'shop', name: shop, licenceNo: '91440300MA5F2K7Q8X', phone: '13800000021' },
      withSms: true,
    },
    {
      status: 'corrected',
      reason: 'corrected-after-notice',
      party: { id: 'shop:xinxin', kind: 'shop', name: '鑫鑫便利店', phone: '13800000022' },
      withSms: true,
    },
    {
      status: 'case',
      reason: 'uncorrected-after-notice',
      party: { id: 'shop:laowang', kind: 'shop', name: shop, phone: '13800000021' },
      withSms: true,
    },
    {
      status: 'notice-only',
      reason: 'first-offence-leniency',
      party: { id: 'shop:hongyun', kind: 'shop', name: '鸿运餐馆', phone: '13800000023' },
      withSms: true,
    },
    { status: 'case', reason: 'no-contact', party: null, withSms: false },
    { status: 'not-enforcing', reason: 'camera-not-published', party: null, withSms: false },
  ];
  const stalls = [1, 3, 5, 7];
  const vehicles = [2, 4];
  specs.forEach((sp, i) => {
    const e = copies[sp.party ? stalls.shift()! : vehicles.shift()!]!;
    const code = codes[i]!;
    const at = e.end + 120_000;
    const caseId = sp.status === 'case' ? `CASE-2026-${String(100 + i)}` : undefined;
    const n: Notice = {
      eventId: e.id,
      eventType: e.type,
      cameraId: e.camera.id,
      district: e.camera.district,
      zoneId: e.zone.id,
      code,
      party: sp.party,
      status: sp.status,
      reason: sp.reason,
      priorOffences: sp.reason === 'uncorrected-after-notice' ? 1 : 0,
      deliveries: sp.withSms
        ? [
            sms(e, code),
            {
              channel: 'loudspeaker',
              status: i === 1 ? 'failed' : 'sent',
              attempts: i === 1 ? 3 : 1,
              at: e.end + 60_000,
              to: e.camera.id,
              text: '请勿占道经营，请立即整改',
              ...(i === 1 ? { error: 'no PUBACK within 5 s' } : {}),
            },
            consoleLog(e),
          ]
        : [],
      ...(sp.status === 'awaiting-recheck'
        ? { recheckAt: now + 7 * 60_000, recheck: { attempts: 0, evidence: [] } }
        : {}),
      ...(sp.status === 'corrected' || sp.reason === 'uncorrected-after-notice'
        ? {
            recheck: {
              attempts: 1,
              result: sp.status === 'corrected' ? 'absent' : 'present',
              checkedAt: at,
              evidence: [recheckImage(e, at)],
            } as Notice['recheck'],
          }
        : {}),
      ...(caseId ? { caseId } : {}),
      createdAt: e.end + 60_000,
      ...(sp.status === 'awaiting-recheck' ? {} : { closedAt: at }),
    };
    notices.push(n);
    add(e, {
      status: 'confirmed',
      review: { decision: 'confirm', by: reviewer, at: e.end + 50_000 },
      ...(caseId ? { caseId } : {}),
      notice: {
        status: n.status,
        reason: n.reason,
        ...(n.recheckAt ? { recheckAt: n.recheckAt } : {}),
        ...(caseId ? { caseId } : {}),
      },
    });
    if (caseId) {
      cases.push({
        id: caseId,
        eventType: n.eventType,
        code: n.eventType === 'illegal-parking' ? '0505' : '0504',
        district: e.camera.district,
        gridCell: e.camera.gridCell,
        postedLocation: e.camera.postedLocation,
        occurredAt: new Date(e.start).toISOString(),
        createdAt: new Date(at).toISOString(),
        source: { type: 'event', id: e.id },
        evidence: [...e.evidence, ...(n.recheck?.evidence ?? [])],
        review: { decision: 'confirm', by: reviewer, at: new Date(e.end + 50_000).toISOString() },
        notice: {
          reason: n.reason,
          channels: n.deliveries.map((d) => d.channel),
          priorOffences: n.priorOffences,
          ...(n.recheck?.result ? { recheck: { result: n.recheck.result } } : {}),
        },
        delivery: {
          status: 'delivered',
          adapter: 'inbox',
          attempts: 1,
          deliveredAt: new Date(at + 1000).toISOString(),
        },
      });
    }
  });
  notices.reverse(); // newest first, as the notice store lists them

  const ph1 = await evidence.put(await photo('临时占道许可', '#d9e4ef'));
  const ph2 = await evidence.put(await photo('营业执照', '#e8e1d4'));
  const objEvent = (n: Notice) => {
    const e = events.get(n.eventId)!.event;
    return {
      id: e.id,
      type: e.type,
      camera: { id: e.camera.id, postedLocation: e.camera.postedLocation },
      zone: { id: e.zone.id, name: e.zone.name },
      start: e.start,
    };
  };
  const objections: Objection[] = [
    {
      id: 'st-1',
      eventId: notices[5]!.eventId,
      code: notices[5]!.code,
      text: '我店已于当日办理临时占道经营许可（许可证号 2026-118），摊位在许可范围内，请核实。',
      photos: [
        { sha256: ph1.sha256, bytes: ph1.bytes, type: 'image/png' },
        { sha256: ph2.sha256, bytes: ph2.bytes, type: 'image/png' },
      ],
      contact: '13800000021',
      submittedAt: now - 40 * 60_000,
      status: 'open',
      event: objEvent(notices[5]!),
    },
    {
      id: 'st-2',
      eventId: 'gone:event',
      code: 'ZZZZ9999ZZZZ9999',
      text: '当时车辆故障，已打双闪等待救援。',
      photos: [],
      submittedAt: now - 20 * 60_000,
      status: 'open',
      event: null,
    },
    {
      id: 'st-0',
      eventId: notices[4]!.eventId,
      code: notices[4]!.code,
      text: '已收到短信，已整改。',
      photos: [],
      submittedAt: now - 26 * 3_600_000,
      status: 'handled',
      handled: { by: { username: 'zhao.min', role: 'reviewer' }, at: now - 25 * 3_600_000, note: '已复核，维持原决定' },
      event: objEvent(notices[4]!),
    },
  ];
  const handled: StandIn['handled'] = [];
  const parties = {
    windowDays: 365,
    items: [
      {
        id: 'shop:laowang',
        kind: 'shop',
        name: shop,
        licenceNo: '91440300MA5F2K7Q8X',
        counts: { 'out-of-store-vending': 3, 'illegal-parking': 0 },
        lastAt: now - 2 * 3_600_000,
      },
      {
        id: 'shop:xinxin',
        kind: 'shop',
        name: '鑫鑫便利店',
        counts: { 'out-of-store-vending': 1, 'illegal-parking': 0 },
        lastAt: now - 5 * 86_400_000,
      },
      {
        id: 'vehicle:粤B12345',
        kind: 'vehicle',
        name: '粤B12345',
        counts: { 'out-of-store-vending': 0, 'illegal-parking': 4 },
        lastAt: now - 30 * 60_000,
      },
      {
        id: 'shop:hongyun',
        kind: 'shop',
        name: '鸿运餐馆',
        counts: { 'out-of-store-vending': 1, 'illegal-parking': 1 },
        lastAt: now - 40 * 86_400_000,
      },
    ],
  };

  const u = await startUsers({
    dataDir: dir,
    logger: silentLogger,
    adminPassword: ADMIN_PASSWORD,
    kdf: { ln: 10, r: 8, p: 1 },
  });
  await u.users.create(
    { username: 'zhao.min', password: PASSWORD, role: 'reviewer', displayName: '赵敏' },
    'admin',
    '127.0.0.1',
  );
  const app: FastifyInstance = Fastify();
  // The platform's route table (users/guard.ts ROUTE_ROLES): reviewers may use the loop's routes.
  await app.register(authPlugin, { users: u.users });
  await app.register(consolePlugin);
  const q = (req: FastifyRequest) => req.query as Record<string, string | undefined>;
  app.get('/api/evidence/:sha', async (req, reply) => {
    const data = await evidence.get((req.params as { sha: string }).sha);
    if (!data) return reply.code(404).send({ error: 'not_found' });
    return reply.header('content-type', 'image/jpeg').send(data);
  });
  app.get('/api/events', async (req) => {
    const list = [...events.values()]
      .filter((s) => !q(req).status || s.status === q(req).status)
      .sort((a, b) => a.event.start - b.event.start);
    const r = page(list, q(req));
    return { items: r.items.map(view), total: r.total };
  });
  app.get('/api/events/:id', async (req, reply) => {
    const s = events.get((req.params as { id: string }).id);
    return s ? view(s) : reply.code(404).send({ error: 'not_found' });
  });
  app.post('/api/events/:id/review', async (req, reply) => {
    const s = events.get((req.params as { id: string }).id);
    if (!s) return reply.code(404).send({ error: 'not_found' });
    if (s.status !== 'pending') return reply.code(409).send({ error: 'conflict' });
    const b = req.body as { decision: 'confirm' | 'reject'; reason?: string };
    s.status = b.decision === 'confirm' ? 'confirmed' : 'rejected';
    s.review = {
      decision: b.decision,
      ...(b.reason ? { reason: b.reason } : {}),
      by: { username: req.user!.username, role: req.user!.role },
      at: Date.now(),
    };
    if (b.decision === 'confirm')
      s.notice = s.party?.contact
        ? { status: 'awaiting-recheck', reason: 'notified', recheckAt: Date.now() + 600_000 }
        : { status: 'case', reason: 'no-contact', caseId: 'CASE-2026-900' };
    if (s.notice?.caseId) s.caseId = s.notice.caseId;
    return view(s);
  });
  // As notices/routes.ts does: each item with its event's place.
  const placed = <N extends { eventId: string }>(n: N) => {
    const e = events.get(n.eventId)?.event;
    return e ? { ...n, place: { postedLocation: e.camera.postedLocation, zoneName: e.zone.name } } : n;
  };
  app.get('/api/notices', async (req) =>
    page(
      notices
        .filter((n) => (!q(req).status || n.status === q(req).status) && (!q(req).type || n.eventType === q(req).type))
        .map(placed),
      q(req),
    ),
  );
  app.get(
    '/api/notices/:eventId',
    async (req, reply) =>
      notices.find((n) => n.eventId === (req.params as { eventId: string }).eventId) ??
      reply.code(404).send({ error: 'not_found' }),
  );
  app.get('/api/parties', async () => parties);
  app.get('/api/cases', async () => ({ items: cases, total: cases.length }));
  app.get(
    '/api/cases/:id',
    async (req, reply) =>
      cases.find((c) => c.id === (req.params as { id: string }).id) ?? reply.code(404).send({ error: 'not_found' }),
  );
  app.get('/api/case-inbox', async () => ({ items: [], total: 0, enabled: true }));
  app.get('/api/objections', async (req) =>
    page(
      objections.filter((o) => o.status === (q(req).status ?? 'open')),
      q(req),
    ),
  );
  app.post('/api/objections/:id/handle', async (req, reply) => {
    const o = objections.find((x) => x.id === (req.params as { id: string }).id);
    if (!o) return reply.code(404).send({ error: 'not_found' });
    if (o.status === 'handled') return reply.code(409).send({ error: 'conflict', message: 'already handled' });
    const note = String((req.body as { note?: unknown })?.note ?? '');
    if (!note.trim()) return reply.code(400).send({ error: 'bad_request', message: 'note: required' });
    o.status = 'handled';
    o.handled = { by: { username: req.user!.username, role: req.user!.role }, at: Date.now(), note };
    handled.push({ id: o.id, note, by: req.user!.username });
    const { event: _e, ...statement } = o;
    return statement;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
    events,
    notices,
    objections,
    handled,
    async close() {
      await app.close();
      await u.close();
    },
  };
}

let s: StandIn;
let browser: Browser;
let tab: Page;

beforeAll(async () => {
  s = await startStandIn(tmpDir('console-notices'));
  browser = await launch();
  tab = await browser.page();
});

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

async function asReviewer(hash: string): Promise<void> {
  await login(tab, s.url, 'zhao.min', PASSWORD);
  await tab.locator('body[data-ready="1"]').waitFor({ state: 'attached' });
  await tab.goto(`${s.url}/#/${hash}`);
}

const loaded = (sel: string) =>
  tab
    .locator(sel)
    .evaluateAll(
      (imgs) =>
        imgs.filter(
          (i) =>
            (i as unknown as { complete: boolean; naturalWidth: number }).complete &&
            (i as unknown as { naturalWidth: number }).naturalWidth > 0,
        ).length,
    );

describe('console: the notify / re-check loop (stand-in API)', () => {
  it('review: each event says who will be told, or that confirming files a case directly; a decided one its notice', async () => {
    await asReviewer('review');
    await tab.locator('.qitem').first().waitFor();
    // The new pages in the navigation, and the badge of open statements beside 审核.
    expect(await tab.locator('#top nav a').allTextContents()).toEqual([
      '审核',
      '告知与复查',
      '当事人',
      '案件',
      '案件收件箱',
      '统计',
      '地图',
    ]);
    await expect.poll(() => tab.locator('[data-test=objections-badge]').textContent()).toBe('2');
    expect(await tab.locator('[data-test=objections-badge]').getAttribute('title')).toBe('2 条陈述申辩待处理');

    const party = tab.locator('section.detail [data-test=party]');
    await expect.poll(() => party.textContent()).toContain('车辆：');
    expect(await party.textContent()).toContain('无联系方式：确认后将直接立案');
    expect(await party.getAttribute('data-direct')).toBe('true');
    await tab.keyboard.press('j');
    await expect.poll(() => party.textContent()).toContain('登记商户：老王水果店');
    expect(await party.textContent()).toContain('确认后先告知当事人');
    expect(await party.getAttribute('data-direct')).toBe('false');
    await screenshot(tab, 'review-party');
    await tab.keyboard.press('j');
    await expect.poll(() => party.textContent()).toContain('未登记当事人（或无联系方式）：确认后将直接立案');
    // The queue says it too, so a reviewer sees it before opening the event.
    expect(await tab.locator('.qitem .tag.case').count()).toBe(2);

    // Confirming the shop's stall: the party is told first.
    await tab.keyboard.press('k');
    await tab.keyboard.press('c');
    await expect
      .poll(() => tab.locator('.toast.ok').last().textContent())
      .toBe('已确认：等待复查（已告知当事人，等待复查）');

    // Decided events show what became of their notice, in words.
    await tab.locator('button.tab[data-status=confirmed]').click();
    // The six decided before, and the one just confirmed.
    await expect.poll(() => tab.locator('.qitem').count()).toBe(7);
    const corrected = s.notices.find((n) => n.status === 'corrected')!;
    await tab.locator(`.qitem[data-id="${corrected.eventId}"]`).click();
    const notice = tab.locator('[data-test=notice]');
    await expect.poll(() => notice.textContent()).toContain('已纠正');
    expect(await notice.textContent()).toContain('告知后已自行纠正，不予立案');
    const filed = s.notices.find((n) => n.reason === 'uncorrected-after-notice')!;
    await tab.locator(`.qitem[data-id="${filed.eventId}"]`).click();
    await expect.poll(() => notice.textContent()).toContain('告知后逾期未纠正，已立案');
    expect(await tab.locator('[data-test=decision] a[data-test=case-link]').textContent()).toBe(filed.caseId);
    expect(await tab.locator('section.detail').textContent()).not.toContain('null');
    await tab.locator('button.tab[data-status=pending]').click();
  });

  it('notices: statuses and reasons in words, deliveries with their text, the re-check evidence, the case and the code', async () => {
    await tab.goto(`${s.url}/#/notices`);
    await tab.locator('tr.notice-item').first().waitFor();
    expect(await tab.locator('tr.notice-item').count()).toBe(6);
    const awaiting = s.notices.find((n) => n.status === 'awaiting-recheck')!;
    const row = tab.locator(`tr.notice-item[data-event-id="${awaiting.eventId}"]`);
    const text = (await row.textContent())!;
    expect(text).toContain('等待复查');
    expect(text).toContain('已告知当事人，等待复查');
    expect(text).toContain('老王水果店');
    expect(text).toMatch(/短信\s*已发送/);
    expect(text).toMatch(/\d\d:\d\d 复查/);
    expect(text).toContain('7K3M-9Q2X-WD4H-P8RT');
    // Contacts stay out of the list: the party by name only.
    expect(text).not.toContain('13800000021');
    // No party, nothing sent.
    const unpublished = tab.locator(`tr.notice-item[data-status=not-enforcing]`);
    expect(await unpublished.textContent()).toContain('未登记');
    expect(await unpublished.textContent()).toContain('监控点位公示未满规定天数，不作执法依据');
    expect(await unpublished.textContent()).toContain('未发送');

    // Filters by status and type.
    await tab.locator('select[name=status]').selectOption('case');
    await expect.poll(() => tab.locator('tr.notice-item').count()).toBe(2);
    expect(
      new Set(await tab.locator('tr.notice-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-status')))),
    ).toEqual(new Set(['case']));
    await tab.locator('select[name=type]').selectOption('illegal-parking');
    await expect
      .poll(async () =>
        (await tab.locator('tr.notice-item td:first-child').allTextContents()).every((x) => x.includes('违法停放')),
      )
      .toBe(true);
    await tab.locator('select[name=type]').selectOption('');
    await tab.locator('select[name=status]').selectOption('');
    await expect.poll(() => tab.locator('tr.notice-item').count()).toBe(6);

    // A corrected one: the details show each delivery (the text on a click) and the re-check evidence.
    const corrected = s.notices.find((n) => n.status === 'corrected')!;
    // Each row says where, as published, before it is opened: the place and the zone's name, not only ids.
    const correctedEvent = s.events.get(corrected.eventId)!.event;
    const placeCell = tab.locator(`tr.notice-item[data-event-id="${corrected.eventId}"] [data-test=place]`);
    expect(await placeCell.textContent()).toContain(correctedEvent.camera.postedLocation);
    expect(await placeCell.textContent()).toContain(correctedEvent.zone.name);
    await tab.locator(`tr.notice-item[data-event-id="${corrected.eventId}"]`).click();
    const detail = tab.locator('tr.detail-row [data-test=notice-detail]');
    await detail.waitFor();
    expect(await detail.locator('tr.delivery-row').count()).toBe(3);
    const smsRow = detail.locator('tr.delivery-row[data-channel=sms]');
    expect(await smsRow.textContent()).toContain('138****0021');
    expect(await smsRow.locator('p.sent-text').isVisible()).toBe(false);
    await smsRow.locator('summary').click();
    await expect.poll(() => smsRow.locator('p.sent-text').isVisible()).toBe(true);
    expect(await smsRow.locator('p.sent-text').textContent()).toContain(
      `查询码 ${corrected.code.match(/.{4}/g)!.join('-')}`,
    );
    expect(await detail.locator('tr.delivery-row[data-channel=loudspeaker]').textContent()).toContain(
      'no PUBACK within 5 s',
    );
    expect(await detail.textContent()).toContain('已移离');
    // The re-check image and the event's own, from /api/evidence.
    await expect.poll(() => loaded('tr.detail-row img.thumb')).toBeGreaterThanOrEqual(4);
    expect(await detail.locator('img.thumb').first().getAttribute('src')).toBe(
      `/api/evidence/${corrected.recheck!.evidence[0]!.sha256}`,
    );
    // The event's place, read when the row opened.
    const ev = s.events.get(corrected.eventId)!.event;
    await expect.poll(() => detail.textContent()).toContain(ev.camera.postedLocation);
    await screenshot(tab, 'notices');
    await detail.locator('img.thumb').first().click();
    await tab.locator('[data-test=gallery] img').waitFor();
    expect(await tab.locator('[data-test=gallery] figcaption').textContent()).toContain('复查');
    await tab.keyboard.press('Escape');
    await expect.poll(() => tab.locator('[data-test=gallery]').count()).toBe(0);
    // The text stays open across the page's refresh.
    await tab.locator('[data-test=refresh]').click();
    await tab.waitForTimeout(200);
    expect(await tab.locator('tr.detail-row tr.delivery-row[data-channel=sms] p.sent-text').isVisible()).toBe(true);

    // The case id leads to the case.
    const filed = s.notices.find((n) => n.reason === 'uncorrected-after-notice')!;
    await tab.locator(`tr.notice-item[data-event-id="${filed.eventId}"] a[data-test=case-link]`).click();
    await tab.waitForURL(/#\/cases\?id=/);
    const focused = tab.locator('[data-test=focused-case]');
    await focused.waitFor();
    expect(await focused.getAttribute('data-id')).toBe(filed.caseId);
    expect(await focused.locator('[data-test=case-notice]').textContent()).toContain('告知后逾期未纠正，已立案');
    expect(await focused.textContent()).toContain(filed.recheck!.evidence[0]!.sha256);

    // One notice on its own page.
    await tab.goto(`${s.url}/#/notices/${encodeURIComponent(awaiting.eventId)}`);
    await tab.locator('[data-test=notice-detail]').waitFor();
    const page1 = (await tab.locator('.page.notice-page').textContent())!;
    expect(page1).toContain('91440300MA5F2K7Q8X');
    expect(page1).toContain('7K3M-9Q2X-WD4H-P8RT');
    expect(page1).toContain('当事人凭此查询码在公开页面查看记录、提交陈述申辩');
    await expect.poll(() => loaded('.page.notice-page img.thumb')).toBeGreaterThanOrEqual(4);
    await tab.goto(`${s.url}/#/notices/no-such-event`);
    await expect.poll(() => tab.locator('#view').textContent()).toContain('此事件没有告知记录');
    // The browser reports the 404 it was meant to get; nothing else.
    expect(browser.problems.splice(0)).toEqual([
      'console: Failed to load resource: the server responded with a status of 404 (Not Found)',
    ]);
  });

  it('parties: counts per party and type within the stated window, sortable', async () => {
    await tab.goto(`${s.url}/#/parties`);
    await tab.locator('tr.party').first().waitFor();
    expect(await tab.locator('[data-test=window]').textContent()).toContain('统计近 365 天内的违法次数');
    const names = () => tab.locator('tr.party td:first-child').allTextContents();
    // Most violations first.
    expect(await names()).toEqual(['粤B12345', '老王水果店', '鸿运餐馆', '鑫鑫便利店']);
    expect(await tab.locator('tr.party[data-id="shop:laowang"] td[data-type=out-of-store-vending]').textContent()).toBe(
      '3',
    );
    await tab.locator('button[data-sort=out-of-store-vending]').click();
    expect((await names())[0]).toBe('老王水果店');
    await tab.locator('button[data-sort=lastAt]').click();
    expect(await names()).toEqual(['粤B12345', '老王水果店', '鑫鑫便利店', '鸿运餐馆']);
    await tab.locator('button[data-sort=lastAt]').click();
    expect((await names())[0]).toBe('鸿运餐馆');
    expect(await tab.locator('th[aria-sort=ascending]').count()).toBe(1);
    await tab.locator('input[name=q]').fill('粤B');
    await expect.poll(() => names()).toEqual(['粤B12345']);
    await tab.locator('input[name=q]').fill('');
    await tab.locator('button[data-sort=total]').click();
    await screenshot(tab, 'parties');
  });

  it('statements: open ones in the review queue with photos; "mark handled" needs a note and posts it', async () => {
    await tab.goto(`${s.url}/#/review`);
    await tab.locator('[data-test=objections-badge]').click();
    await tab.waitForURL(/status=objections/);
    const cards = tab.locator('article.objection');
    await expect.poll(() => cards.count()).toBe(2);
    expect(await tab.locator('button.tab[data-status=objections] .count').textContent()).toBe('2');
    const first = tab.locator('article.objection[data-id=st-1]');
    const text = (await first.textContent())!;
    expect(text).toContain('许可证号 2026-118');
    expect(text).toContain('13800000021');
    expect(text).toContain('出店经营');
    expect(text).toContain(s.objections[0]!.event!.camera.postedLocation);
    expect(await first.locator('a[data-test=notice-link]').getAttribute('href')).toBe(
      `#/notices/${encodeURIComponent(s.objections[0]!.eventId)}`,
    );
    await expect.poll(() => loaded('article.objection[data-id=st-1] img.thumb')).toBe(2);
    expect(await tab.locator('article.objection[data-id=st-2]').textContent()).toContain('事件信息不可用');
    expect(await tab.locator('article.objection[data-id=st-2]').textContent()).toContain('未留联系方式');
    await screenshot(tab, 'objections');
    // A photo enlarges; the review shortcuts do nothing here.
    await first.locator('img.thumb').nth(1).click();
    await tab.locator('[data-test=gallery] img').waitFor();
    expect(await tab.locator('[data-test=gallery] figcaption').textContent()).toContain('照片 2/2');
    await tab.keyboard.press('ArrowLeft');
    await expect.poll(() => tab.locator('[data-test=gallery] figcaption').textContent()).toContain('照片 1/2');
    await tab.keyboard.press('Escape');
    await tab.keyboard.press('c');
    expect([...s.events.values()].filter((e) => e.status === 'confirmed').length).toBe(7);

    // Without a note nothing is posted.
    await first.locator('[data-action=handle]').click();
    await expect.poll(() => tab.locator('.toast.error').last().textContent()).toBe('请填写处理说明');
    expect(s.handled).toEqual([]);
    await first.locator('textarea[name=note]').fill('已电话联系当事人，许可属实，撤销立案建议');
    await first.locator('[data-action=handle]').click();
    await expect
      .poll(() => s.handled)
      .toEqual([{ id: 'st-1', note: '已电话联系当事人，许可属实，撤销立案建议', by: 'zhao.min' }]);
    await expect.poll(() => cards.count()).toBe(1);
    await expect.poll(() => tab.locator('[data-test=objections-badge]').textContent()).toBe('1');
    // Handled: who, when, and the note.
    await tab.locator('button[data-objections=handled]').click();
    await expect.poll(() => cards.count()).toBe(2);
    expect(await tab.locator('article.objection[data-id=st-1]').textContent()).toContain('zhao.min（审核员）');
    expect(await tab.locator('article.objection[data-id=st-1]').textContent()).toContain('撤销立案建议');
    expect(await tab.locator('article.objection[data-id=st-1] textarea').count()).toBe(0);
  });

  it('a statement someone else handled first is said so, and leaves the list', async () => {
    // Still on the statements tab: back to the open ones.
    await tab.locator('button[data-objections=open]').click();
    const card = tab.locator('article.objection[data-id=st-2]');
    await card.waitFor();
    // Another reviewer answers it meanwhile.
    s.objections.find((o) => o.id === 'st-2')!.status = 'handled';
    await card.locator('textarea[name=note]').fill('已核实');
    await card.locator('[data-action=handle]').click();
    await expect.poll(() => tab.locator('.toast.error').last().textContent()).toBe('此陈述已由他人处理');
    await expect.poll(() => tab.locator('article.objection').count()).toBe(0);
    expect(await tab.locator('.objections p.empty').textContent()).toBe('没有待处理的陈述申辩');
    await expect.poll(() => tab.locator('[data-test=objections-badge]').isHidden()).toBe(true);
    expect(browser.problems.splice(0)).toEqual([
      'console: Failed to load resource: the server responded with a status of 409 (Conflict)',
    ]);
    s.objections.find((o) => o.id === 'st-2')!.status = 'open';
  });

  it('every new page has its labels in both languages (no dictionary key shows)', async () => {
    const awaiting = s.notices.find((n) => n.status === 'awaiting-recheck')!;
    const hashes = [
      'review',
      'review?status=objections',
      'notices',
      `notices/${encodeURIComponent(awaiting.eventId)}`,
      'parties',
      `cases?id=${s.notices.find((n) => n.caseId)!.caseId}`,
    ];
    for (const lang of ['zh-CN', 'en']) {
      for (const hash of hashes) {
        await tab.goto(`${s.url}/#/${hash}`);
        await tab.locator('.page').waitFor();
        await tab.waitForTimeout(150);
        const text = (await tab.locator('body').textContent())!;
        expect(text, `${lang} ${hash}`).not.toMatch(
          /\b(common|nav|review|cases|notices?|parties|party|objections|role)\.[a-z]/,
        );
        const heading = (await tab.locator('.page-head h1').first().textContent())!;
        expect(
          /[\u4e00-\u9fff]/.test(heading + (await tab.locator('#top nav').textContent())),
          `${lang} ${hash}: ${heading}`,
        ).toBe(lang === 'zh-CN');
      }
      if (lang === 'zh-CN') {
        await tab.locator('[data-test=lang]').click();
        await expect
          .poll(() => tab.locator('#top nav a').allTextContents())
          .toEqual(['Review', 'Notices', 'Parties', 'Cases', 'Case inbox', 'Statistics', 'Map']);
      }
    }
    // English words for what the party and the reviewer see.
    await tab.goto(`${s.url}/#/notices?status=notice-only`);
    await expect
      .poll(() => tab.locator('tr.notice-item').first().textContent())
      .toContain('A first offence: the notice only, no case (leniency)');
    await tab.goto(`${s.url}/#/review`);
    await tab.locator('button.tab[data-status=pending]').click();
    await expect
      .poll(() => tab.locator('section.detail [data-test=party]').textContent())
      .toMatch(/Vehicle: .*No contact on record: confirming files a case directly/);
    await tab.goto(`${s.url}/#/parties`);
    await expect
      .poll(() => tab.locator('[data-test=window]').textContent())
      .toBe('Violations in the last 365 days (the same window as first-offence leniency)');
    await tab.locator('[data-test=lang]').click();
  });

  it('no page error or failed script on the way', () => {
    expect(browser.problems).toEqual([]);
  });
});

describe('console labels of the loop', () => {
  it('names every notice status, outcome reason, channel and party kind in both languages', async () => {
    const { DICTIONARIES } = (await import(pathToFileURL(path.join(ROOT, 'console/public/i18n.js')).href)) as {
      DICTIONARIES: Record<string, Record<string, string>>;
    };
    const keys = [
      ...NOTICE_STATUSES.map((x) => `notice.status.${x}`),
      ...OUTCOME_REASONS.map((x) => `notice.reason.${x}`),
      ...CHANNELS.map((x) => `notice.channel.${x}`),
      ...['pending', 'sent', 'failed'].map((x) => `notice.delivery.${x}`),
      ...['present', 'absent', 'unavailable'].map((x) => `notice.recheck.${x}`),
      'party.kind.shop',
      'party.kind.vehicle',
    ];
    for (const lang of ['zh-CN', 'en'])
      expect(
        keys.filter((k) => !DICTIONARIES[lang]![k]),
        lang,
      ).toEqual([]);
    // The console's own copy of the statuses is the contract's.
    const { NOTICE_STATUSES: consoleStatuses } = (await import(
      pathToFileURL(path.join(ROOT, 'console/public/pages/notices.js')).href
    )) as { NOTICE_STATUSES: string[] };
    expect([...consoleStatuses].sort()).toEqual([...NOTICE_STATUSES].sort());
  });
});
