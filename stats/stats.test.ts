// The statistics over the real stores (DuckDB alerts, events, notices, cases): counts, rates and hours in exceedance
// per group, through GET /api/stats.
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../alerts/types.js';
import { DuckDbAlertStore } from '../alerts/store.js';
import { MemoryBus } from '../bus/memory.js';
import { caseFromEvent } from '../cases/builder.js';
import { loadCaseCodes } from '../cases/codes.js';
import { CaseStore } from '../cases/store.js';
import { NoticeService } from '../notices/service.js';
import { caseFiler, cameras, config, confirmed, parties, T0 } from '../notices/testdata/helpers.js';
import { EventStore } from '../review/store.js';
import { fakeSession } from '../review/testdata/fixtures.js';
import { silentLogger } from '../runtime/log.js';
import { statsRoutes } from './routes.js';
import { placeFromRegistry } from './place.js';
import { storeSources } from './sources.js';
import { computeStats } from './stats.js';
import type { Stats, StatsRow } from './stats.js';

const H = 3_600_000;
const codes = loadCaseCodes(path.resolve(import.meta.dirname, '../config/case-codes.json'));

function alert(o: Partial<Alert> & Pick<Alert, 'id' | 'deviceId' | 'kind' | 'firstSeen'>): Alert {
  return {
    ruleId: `${o.kind}-limit`,
    category: 'threshold',
    name: { zh: '超标', en: 'over the limit' },
    standard: 'GB 3096-2008',
    district: 'xinhua',
    metric: 'x',
    severity: 'warning',
    state: 'firing',
    lastSeen: o.firstSeen,
    value: 1,
    level: 1,
    peak: 1,
    caseWorthy: false,
    flaps: 0,
    history: [],
    ...o,
  };
}

describe('statistics', () => {
  const app = Fastify();
  let alerts: DuckDbAlertStore;
  let events: EventStore;
  let cases: CaseStore;
  let notices: NoticeService;
  const from = T0 - 24 * H;
  const to = T0 + 24 * H;
  const staff = { 'x-test-user': 'wang:staff' };

  beforeAll(async () => {
    alerts = await DuckDbAlertStore.open(':memory:');
    events = await EventStore.open(':memory:');
    cases = await CaseStore.open(':memory:');
    // Dust at a site: 3 h resolved, inside the period; noise: open since 2 h before the period ends (counts to its end).
    await alerts.put(
      alert({
        id: 'a1',
        deviceId: 'dust-01',
        kind: 'dust',
        firstSeen: T0,
        state: 'resolved',
        resolvedAt: T0 + 3 * H,
        severity: 'major',
      }),
    );
    await alerts.put(alert({ id: 'a2', deviceId: 'noise-01', kind: 'noise', firstSeen: to - 2 * H }));
    // Began before the period: its hours inside count, it was not raised in it.
    await alerts.put(
      alert({
        id: 'a3',
        deviceId: 'dust-01',
        kind: 'dust',
        firstSeen: from - 2 * H,
        state: 'resolved',
        resolvedAt: from + H,
      }),
    );
    // A drainage alert is raised but is no exceedance at a site; a health alert neither.
    await alerts.put(alert({ id: 'a4', deviceId: 'dr-01', kind: 'drainage', district: 'jinghai', firstSeen: T0 }));
    await alerts.put(alert({ id: 'a5', deviceId: 'dust-02', kind: 'dust', category: 'health', firstSeen: T0 }));
    // Outside the period.
    await alerts.put(
      alert({
        id: 'a6',
        deviceId: 'dust-01',
        kind: 'dust',
        firstSeen: to + H,
        state: 'resolved',
        resolvedAt: to + 2 * H,
      }),
    );

    const c1 = confirmed({ id: 'e1' });
    const c2 = confirmed({ id: 'e2', zoneId: 'sf-3' });
    const late = confirmed({ id: 'e9', start: to + H });
    const rejected = { ...confirmed({ id: 'e3' }), status: 'pending' as const, review: undefined };
    const pending = {
      ...confirmed({ id: 'e4', type: 'illegal-parking' }),
      status: 'pending' as const,
      review: undefined,
    };
    await events.add([c1.event, c2.event, rejected.event, pending.event, late.event]);
    for (const s of [c1, c2, late]) await events.decide(s.event.id, s.review!);
    await events.decide('e3', {
      decision: 'reject',
      reason: 'permitted',
      by: { username: 'rev', role: 'reviewer' },
      at: T0,
    });
    notices = await NoticeService.open({
      file: ':memory:',
      config: config(),
      parties: parties(),
      notifiers: [],
      bus: new MemoryBus({ logger: silentLogger }),
      deadLetters: { add: async () => undefined },
      cameras,
      deps: caseFiler(),
      logger: silentLogger,
      now: () => T0,
    });
    await notices.onConfirmed(c1);
    await notices.onConfirmed(c2);
    await cases.insert(caseFromEvent(c2, { codes, now: () => T0 }), 'inbox', T0);
    await cases.markDelivered((await cases.list({ limit: 1 })).items[0]!.id, 'inbox', 1, T0 + 1000);
    fakeSession(app);
    await app.register(statsRoutes, { sources: storeSources({ alerts, events, notices: notices, cases }) });
  });
  afterAll(async () => {
    await app.close();
    await notices.close();
    await Promise.all([alerts.close(), events.close(), cases.close()]);
  });

  const get = async (q: string) => {
    const r = await app.inject({ url: `/api/stats?${q}`, headers: staff });
    expect(r.statusCode, r.body).toBe(200);
    return r.json() as Stats & { from: string; to: string };
  };
  const period = `from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`;

  it('counts alerts, hours in exceedance, events with reasons, notices and cases per site', async () => {
    const s = await get(`group=site&${period}`);
    const site = (k: string) => s.rows.find((r) => r.key === k) as StatsRow;
    expect(site('dust-01').alerts.raised).toBe(1);
    expect(site('dust-01').exceedanceHours).toBe(4); // 3 h + the 1 h of a3 inside the period
    expect(site('noise-01').exceedanceHours).toBe(2);
    expect(site('dr-01').exceedanceHours).toBe(0);
    expect(site('dust-02').exceedanceHours).toBe(0);
    expect(s.total.alerts).toEqual({ raised: 4, bySeverity: { major: 1, warning: 3 } });
    expect(s.total.events).toEqual({
      detected: 4,
      pending: 1,
      confirmed: 2,
      rejected: 1,
      rejectReasons: { permitted: 1 },
    });
    expect(s.total.cases).toEqual({ filed: 1, delivered: 1, failed: 0 });
    expect(s.total.rates.confirmed).toBe(0.6667);
    expect(s.total.rates.delivered).toBe(1);
    expect(site('cam-xinhua-01').events.detected).toBe(4);
    expect(site('cam-xinhua-01').district).toBe('xinhua');
  });

  it('groups by district and by type', async () => {
    const d = await get(`group=district&${period}`);
    expect(d.rows.map((r) => [r.key, r.alerts.raised])).toEqual([
      ['jinghai', 1],
      ['xinhua', 3],
    ]);
    const t = await get(`group=type&${period}`);
    expect(t.rows.find((r) => r.key === 'out-of-store-vending')!.events).toMatchObject({
      detected: 3,
      confirmed: 2,
      rejected: 1,
    });
    expect(t.rows.find((r) => r.key === 'illegal-parking')!.events).toMatchObject({ detected: 1, pending: 1 });
    expect(t.rows.find((r) => r.key === 'dust')!.exceedanceHours).toBe(4);
  });

  it('refuses a reversed period, an unknown group and other roles', async () => {
    expect((await app.inject({ url: `/api/stats?from=${to}&to=${from}`, headers: staff })).json()).toMatchObject({
      error: 'bad_request',
      message: 'from must be earlier than to',
    });
    expect((await app.inject({ url: '/api/stats?group=street', headers: staff })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/stats' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/stats', headers: { 'x-test-user': 'x:party' } })).statusCode).toBe(403);
  });

  it('groups by the device registry once a device is registered: its grid cell, and its site across devices', async () => {
    const registry = new Map([
      ['dust-01', { district: 'xinhua', gridCell: '320582001002003', site: { name: '新华路8号工地' } }],
      ['noise-01', { district: 'xinhua', gridCell: '320582001002003', site: { name: '新华路8号工地' } }],
    ]);
    const placeOf = placeFromRegistry((id) => registry.get(id));
    const sources = storeSources({ alerts, events });
    const bySite = await computeStats(sources, { group: 'site', from, to, placeOf });
    // The dust and the noise monitor of one construction site count together: 4 h + 2 h.
    expect(bySite.rows.find((r) => r.key === '新华路8号工地')).toMatchObject({
      exceedanceHours: 6,
      district: 'xinhua',
      alerts: { raised: 2 },
    });
    expect(bySite.rows.find((r) => r.key === 'dr-01')).toBeDefined(); // not registered: its own site
    const byGrid = await computeStats(sources, { group: 'grid', from, to, placeOf });
    expect(byGrid.rows.find((r) => r.key === '320582001002003')!.alerts.raised).toBe(2);
  });
});
