import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/memory.js';
import { fakeSession } from '../review/testdata/fixtures.js';
import { silentLogger } from '../runtime/log.js';
import { noticeRoutes, noticeSummary, placesFromEvents } from './routes.js';
import { NoticeService } from './service.js';
import { caseFiler, cameras, Clock, config, confirmed, parties } from './testdata/helpers.js';
import type { Notice } from './types.js';

describe('notice routes', () => {
  const app = Fastify();
  let s: NoticeService;
  let n: Notice;
  const reviewer = { 'x-test-user': 'rev:reviewer' };

  beforeAll(async () => {
    s = await NoticeService.open({
      file: ':memory:',
      config: config(),
      parties: parties(),
      notifiers: [],
      bus: new MemoryBus({ logger: silentLogger }),
      deadLetters: { add: async () => undefined },
      cameras,
      deps: caseFiler(),
      logger: silentLogger,
      now: new Clock().now,
    });
    const stored = [confirmed(), confirmed({ zoneId: 'sf-3' })];
    n = await s.onConfirmed(stored[0]!);
    await s.onConfirmed(stored[1]!);
    fakeSession(app);
    await app.register(noticeRoutes, {
      notices: s,
      placesOf: placesFromEvents(
        async (ids) => new Map(stored.filter((e) => ids.includes(e.event.id)).map((e) => [e.event.id, e])),
      ),
    });
  });
  afterAll(async () => {
    await app.close();
    await s.close();
  });

  it('lists notices with filters, the phone masked', async () => {
    const r = await app.inject({ url: '/api/notices', headers: reviewer });
    expect(r.statusCode).toBe(200);
    const body = r.json() as { items: Notice[]; total: number };
    expect(body.total).toBe(2);
    const mine = body.items.find((x) => x.eventId === n.eventId)!;
    expect(mine.party).toEqual({
      id: 'shop:shop-12',
      kind: 'shop',
      name: '老王水果店',
      licenceNo: '91320582MA1XYZ1234',
      phone: '138****1234',
    });
    expect(JSON.stringify(body)).not.toContain('13800001234');
    // Each row says where, as published, without opening the event.
    expect(mine).toMatchObject({
      cameraId: 'cam-xinhua-01',
      zoneId: 'sf-1',
      place: { postedLocation: '新华路与人民路口东侧', zoneName: '新华路12号门前' },
    });
    expect(body.items.find((x) => x.zoneId === 'sf-3')).toMatchObject({ place: { zoneName: '新华路16号门前' } });
    const cases = (await app.inject({ url: '/api/notices?status=case&limit=5', headers: reviewer })).json() as {
      items: Notice[];
      total: number;
    };
    expect(cases.total).toBe(1);
    expect(cases.items[0]!.reason).toBe('no-contact');
    expect((await app.inject({ url: '/api/notices?type=illegal-parking', headers: reviewer })).json()).toEqual({
      items: [],
      total: 0,
    });
  });

  it('refuses bad queries with a clear message', async () => {
    const r = await app.inject({ url: '/api/notices?status=closed', headers: reviewer });
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toMatch(/^status: /);
    expect((await app.inject({ url: '/api/notices?limit=0', headers: reviewer })).json().message).toMatch(/^limit: /);
    expect((await app.inject({ url: '/api/notices?colour=red', headers: reviewer })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/parties?x=1', headers: reviewer })).statusCode).toBe(400);
  });

  it('shows one notice, 404 when none', async () => {
    const r = await app.inject({ url: `/api/notices/${encodeURIComponent(n.eventId)}`, headers: reviewer });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ eventId: n.eventId, code: n.code, status: 'awaiting-recheck' });
    const none = await app.inject({ url: '/api/notices/nope', headers: reviewer });
    expect(none.statusCode).toBe(404);
    expect(none.json()).toEqual({ error: 'not_found', message: 'no notice for event nope' });
  });

  it('counts per party', async () => {
    const r = await app.inject({ url: '/api/parties', headers: { 'x-test-user': 'boss:admin' } });
    expect(r.statusCode).toBe(200);
    const body = r.json() as { windowDays: number; items: { id: string; counts: Record<string, number> }[] };
    expect(body.windowDays).toBe(365);
    expect(body.items.find((i) => i.id === 'shop:shop-12')!.counts).toEqual({
      'illegal-parking': 0,
      'illegal-non-motor-parking': 0,
      'out-of-store-vending': 1,
    });
  });

  it('summarises notices for the review queue', async () => {
    const m = await s.byEvents([n.eventId, 'nope']);
    expect([...m.keys()]).toEqual([n.eventId]);
    expect(noticeSummary(m.get(n.eventId)!)).toEqual({
      status: 'awaiting-recheck',
      reason: 'notified',
      recheckAt: n.recheckAt,
    });
  });

  it('needs a reviewer or an admin', async () => {
    expect((await app.inject({ url: '/api/notices' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/parties', headers: { 'x-test-user': 'w:staff' } })).statusCode).toBe(403);
  });
});
