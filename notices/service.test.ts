import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/memory.js';
import { silentLogger } from '../runtime/log.js';
import { formatCode, normaliseCode } from './codes.js';
import { ConsoleLogNotifier } from './notifiers/console-log.js';
import type { Notifier } from './notifiers/types.js';
import { NoticeService, type NoticeServiceOptions } from './service.js';
import { NoticeStore } from './store.js';
import { caseFiler, cameras, Clock, config, confirmed, fakeWorker, parties, T0, until } from './testdata/helpers.js';
import type { Notice } from './types.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

/** A loudspeaker stand-in that records what it was asked to play. */
function speaker(): Notifier & { played: string[] } {
  const played: string[] = [];
  return {
    channel: 'loudspeaker',
    target: 'test',
    played,
    async send(_n, text) {
      played.push(text);
      return { ok: true, to: _n.cameraId };
    },
  };
}

async function service(o: Partial<NoticeServiceOptions> & { clock?: Clock } = {}) {
  const clock = o.clock ?? new Clock();
  const bus = o.bus ?? new MemoryBus({ logger: silentLogger, retryMinMs: 5 });
  const deps = o.deps ?? caseFiler();
  const console = new ConsoleLogNotifier({ logger: silentLogger });
  const s = await NoticeService.open({
    file: ':memory:',
    config: config(),
    parties: parties(),
    bus,
    deadLetters: { add: async () => undefined },
    cameras,
    deps,
    logger: silentLogger,
    now: clock.now,
    tickMs: 3_600_000, // the tests drive the loop with tick()
    ...o,
    notifiers: [...(o.notifiers ?? []), console],
  });
  open.push(s);
  await s.start();
  return { s, clock, bus: bus as MemoryBus, deps: deps as ReturnType<typeof caseFiler>, console };
}

describe('decision order', () => {
  it('a. a camera not published long enough: nothing sent, no case, still a code', async () => {
    const { s, deps } = await service();
    // cam-new was published 17 days before the event; its shop has a phone: publication decides first.
    const n = await s.onConfirmed(confirmed({ cameraId: 'cam-new', zoneId: 'sf-9' }));
    expect(n).toMatchObject({
      status: 'not-enforcing',
      reason: 'camera-not-published',
      party: null,
      deliveries: [],
      closedAt: T0,
    });
    expect(normaliseCode(n.code)).toBe(n.code);
    // A camera the registry does not know enforces nothing either.
    expect((await s.onConfirmed(confirmed({ cameraId: 'cam-gone' }))).status).toBe('not-enforcing');
    await s.tick();
    await s.idle();
    expect(deps.calls).toEqual([]);
  });

  it('b. no party, or no phone: a case at once, nothing sent', async () => {
    const { s, deps } = await service({ config: config({ leniency: { enabled: true, windowDays: 365 } }) });
    const noPhone = await s.onConfirmed(confirmed({ zoneId: 'sf-3' }));
    expect(noPhone).toMatchObject({
      status: 'case',
      reason: 'no-contact',
      party: { id: 'shop:shop-16' },
      deliveries: [],
    });
    expect(noPhone.caseId).toBe(`C-${noPhone.eventId.split(':').slice(-2).join('-')}`);
    const unknownPlate = await s.onConfirmed(confirmed({ type: 'illegal-parking', plate: '苏E99999' }));
    expect(unknownPlate).toMatchObject({ status: 'case', reason: 'no-contact', party: null, deliveries: [] });
    expect(unknownPlate.caseId).toBeDefined();
    expect(deps.calls.map((c) => c.eventId)).toEqual([noPhone.eventId, unknownPlate.eventId]);
    expect(deps.calls[0]!.notice).toMatchObject({ eventId: noPhone.eventId, status: 'case', reason: 'no-contact' });
  });

  it('c. leniency: the first offence ends at the notice, a repeat is told and becomes a case', async () => {
    const { s, deps, console } = await service({ config: config({ leniency: { enabled: true, windowDays: 30 } }) });
    // An offence 40 days ago is outside the 30-day window.
    const old = await s.onConfirmed(confirmed({ start: T0 - 40 * 86_400_000 }));
    expect(old).toMatchObject({ status: 'notice-only', reason: 'first-offence-leniency', priorOffences: 0 });
    const first = await s.onConfirmed(confirmed());
    expect(first).toMatchObject({
      status: 'notice-only',
      reason: 'first-offence-leniency',
      priorOffences: 0,
      closedAt: T0,
    });
    expect(first.recheckAt).toBeUndefined();
    const second = await s.onConfirmed(confirmed({ start: T0 - 5 * 60_000 }));
    expect(second).toMatchObject({ status: 'case', reason: 'repeat-offence', priorOffences: 1 });
    expect(second.caseId).toBeDefined();
    expect(deps.calls.map((c) => c.eventId)).toEqual([second.eventId]);
    // Parking counts apart from vending.
    const parking = await s.onConfirmed(confirmed({ type: 'illegal-parking' }));
    expect(parking).toMatchObject({ status: 'notice-only', party: { id: 'vehicle:苏E12345' } });
    // Every one of them was told (the console log records the SMS text).
    await s.tick();
    await s.idle();
    expect(console.sent.map((x) => x.eventId).sort()).toEqual(
      [old.eventId, first.eventId, second.eventId, parking.eventId].sort(),
    );
    expect((await s.get(second.eventId))!.deliveries).toMatchObject([
      { channel: 'console', status: 'sent', attempts: 1 },
    ]);
  });

  it('d. otherwise: told by every channel, re-checked after the grace period', async () => {
    const sp = speaker();
    const { s, console } = await service({ notifiers: [sp] });
    const stored = confirmed({ reviewAt: T0 });
    const changes: Notice[] = [];
    s.on('change', (n: Notice) => changes.push(n));
    const n = await s.onConfirmed(stored);
    expect(n).toMatchObject({
      status: 'awaiting-recheck',
      reason: 'notified',
      recheckAt: T0 + 600_000,
      party: { id: 'shop:shop-12' },
      priorOffences: 0,
    });
    expect(n.closedAt).toBeUndefined();
    expect(n.deliveries.map((d) => [d.channel, d.status])).toEqual([
      ['loudspeaker', 'pending'],
      ['console', 'pending'],
    ]);
    const sms = n.deliveries.find((d) => d.channel === 'console')!.text!;
    expect(sms).toBe(
      `老王水果店：11月27日 09:45，新华路与人民路口东侧（新华路12号门前）发现出店经营，请于10:10前将物品收回店内。https://cg.example.gov.cn/public/records/${n.code} 查询码 ${formatCode(n.code)}`,
    );
    await until(
      async () => (await s.get(n.eventId))!.deliveries.every((d) => d.status === 'sent'),
      5000,
      'deliveries sent',
    );
    expect(sp.played).toEqual(['新华路与人民路口东侧（新华路12号门前）的商户请注意：请将物品收回店内']);
    expect(console.sent).toHaveLength(1);
    expect(changes[0]!.eventId).toBe(n.eventId);
    // Parking: the vehicle's keeper by plate, grace 300 s.
    const p = await s.onConfirmed(confirmed({ type: 'illegal-parking', reviewAt: T0 + 1000 }));
    expect(p).toMatchObject({
      status: 'awaiting-recheck',
      party: { kind: 'vehicle', name: '苏E12345' },
      recheckAt: T0 + 301_000,
    });
    expect(p.deliveries.find((d) => d.channel === 'console')!.text).toMatch(/^车辆苏E12345：/);
  });

  it('is idempotent and completes what was left undone', async () => {
    const deps = caseFiler(1); // the case store fails once
    const { s } = await service({ deps });
    const stored = confirmed({ zoneId: 'sf-3' });
    const [a, b] = await Promise.all([s.onConfirmed(stored), s.onConfirmed(stored)]);
    expect(a.code).toBe(b.code);
    const first = (await s.get(stored.event.id))!;
    expect(first).toMatchObject({ status: 'case', reason: 'no-contact' });
    expect(first.caseId).toBeUndefined();
    // The same confirmation again (the coordinator's recovery): the case is filed now, the code unchanged.
    const again = await s.onConfirmed(stored);
    expect(again.code).toBe(a.code);
    expect(again.caseId).toBeDefined();
    expect(deps.calls).toHaveLength(1);
    expect(await s.onConfirmed(stored)).toEqual(again);
    expect(deps.calls).toHaveLength(1);
    await expect(s.onConfirmed({ ...stored, status: 'rejected' })).rejects.toThrow(/not confirmed/);
  });

  it('retries a case that could not be filed, from the loop', async () => {
    const deps = caseFiler(2);
    const { s, clock } = await service({ deps });
    const n = await s.onConfirmed(confirmed({ zoneId: 'sf-3' }));
    expect(n.caseId).toBeUndefined();
    clock.advance(1000);
    await s.tick();
    await s.idle();
    expect((await s.get(n.eventId))!.caseId).toBeUndefined();
    clock.advance(2000);
    await s.tick();
    await s.idle();
    expect((await s.get(n.eventId))!.caseId).toBeDefined();
    expect(deps.calls).toHaveLength(1);
  });

  it('previews the party for the review queue', async () => {
    const { s } = await service();
    expect(await s.preview(confirmed().event)).toEqual({
      known: true,
      kind: 'shop',
      name: '老王水果店',
      contact: true,
      enforcing: true,
    });
    expect(await s.preview(confirmed({ zoneId: 'sf-3' }).event)).toEqual({
      known: true,
      kind: 'shop',
      name: '无电话商户',
      contact: false,
      enforcing: true,
    });
    expect(await s.preview(confirmed({ type: 'illegal-parking', plate: null }).event)).toEqual({
      known: false,
      contact: false,
      enforcing: true,
    });
    expect(await s.preview(confirmed({ cameraId: 'cam-new', zoneId: 'sf-9' }).event)).toMatchObject({
      known: true,
      enforcing: false,
    });
  });
});

describe('re-checks', () => {
  it('absent: closed as corrected after notice, with the re-check evidence, no case', async () => {
    const { s, clock, bus, deps } = await service();
    const worker = await fakeWorker(bus, () => 'absent');
    open.push(worker);
    const n = await s.onConfirmed(confirmed());
    clock.advance(599_000);
    await s.tick();
    expect(worker.requests).toEqual([]);
    clock.advance(1000);
    await s.tick();
    const done = await until(
      async () => ((await s.get(n.eventId))!.status === 'corrected' ? s.get(n.eventId) : null),
      5000,
      'corrected',
    );
    expect(done).toMatchObject({
      reason: 'corrected-after-notice',
      closedAt: T0 + 600_000,
      recheck: { attempts: 1, result: 'absent', evidence: [{ role: 'recheck' }] },
    });
    expect(worker.requests).toEqual([
      {
        id: `${n.eventId}#1`,
        eventId: n.eventId,
        eventType: 'out-of-store-vending',
        camera: { id: 'cam-xinhua-01', district: 'xinhua' },
        zoneId: 'sf-1',
        role: 'stall',
        box: [400, 300, 600, 420],
        requestedAt: T0 + 600_000,
        deadline: T0 + 660_000,
        observeS: 0,
      },
    ]);
    expect(deps.calls).toEqual([]);
    // A redelivered result changes nothing.
    await bus.publish('recheck-results', [
      {
        key: 'cam-xinhua-01',
        value: JSON.stringify({
          id: `${n.eventId}#1`,
          eventId: n.eventId,
          cameraId: 'cam-xinhua-01',
          result: 'present',
          checkedAt: T0,
          evidence: [],
          worker: 'w',
        }),
      },
    ]);
    await until(() => bus.lag('recheck-results', 'notices') === 0, 2000, 'consumed');
    expect((await s.get(n.eventId))!.status).toBe('corrected');
  });

  it('present: a case with the notice and both sets of evidence', async () => {
    const { s, clock, bus, deps } = await service();
    open.push(await fakeWorker(bus, () => 'present'));
    const n = await s.onConfirmed(confirmed({ type: 'illegal-parking' }));
    clock.advance(300_000);
    await s.tick();
    const done = await until(async () => ((await s.get(n.eventId))!.caseId ? s.get(n.eventId) : null), 5000, 'case');
    expect(done).toMatchObject({
      status: 'case',
      reason: 'uncorrected-after-notice',
      recheck: { result: 'present', attempts: 1 },
    });
    expect(deps.calls).toHaveLength(1);
    expect(deps.calls[0]!.notice.recheck!.evidence).toMatchObject([{ role: 'recheck', sha256: 'b'.repeat(64) }]);
    expect(deps.calls[0]!.notice.status).toBe('case');
  });

  it('no answer: asks again up to the limit, then leaves it to a reviewer', async () => {
    const { s, clock, bus, deps } = await service();
    const worker = await fakeWorker(bus, () => null);
    open.push(worker);
    const n = await s.onConfirmed(confirmed());
    clock.advance(600_000);
    for (let i = 1; i <= 3; i++) {
      await s.tick();
      await until(() => worker.requests.length === i, 2000, `request ${i}`);
      clock.advance(30_000);
      await s.tick(); // not yet: the answer may still come
      expect((await s.get(n.eventId))!.status).toBe('awaiting-recheck');
      clock.advance(30_000);
    }
    await s.tick();
    expect(worker.requests.map((r) => r.id)).toEqual([1, 2, 3].map((k) => `${n.eventId}#${k}`));
    expect(await s.get(n.eventId)).toMatchObject({
      status: 'recheck-unavailable',
      reason: 'recheck-unavailable',
      recheck: { attempts: 3, result: 'unavailable' },
    });
    expect(deps.calls).toEqual([]);
  });

  it('unavailable answers: attempts stay spaced, the last one ends it', async () => {
    const { s, clock, bus } = await service();
    const worker = await fakeWorker(bus, () => 'unavailable');
    open.push(worker);
    const n = await s.onConfirmed(confirmed());
    clock.advance(600_000);
    await s.tick();
    await until(async () => (await s.get(n.eventId))!.recheck?.detail === 'no frames', 2000, 'first answer');
    await s.tick();
    expect(worker.requests).toHaveLength(1);
    clock.advance(60_000);
    await s.tick();
    await until(() => worker.requests.length === 2, 2000, 'second request');
    clock.advance(60_000);
    await s.tick();
    await until(async () => (await s.get(n.eventId))!.status === 'recheck-unavailable', 2000, 'given up');
    expect(worker.requests).toHaveLength(3);
    expect((await s.get(n.eventId))!.recheck).toMatchObject({ attempts: 3, result: 'unavailable' });
  });

  it('survives closing and reopening the store: a due re-check is asked after the restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notices-'));
    const file = path.join(dir, 'notices.duckdb');
    const clock = new Clock();
    try {
      const a = await service({ file, clock });
      const n = await a.s.onConfirmed(confirmed());
      await a.s.close();
      open.splice(open.indexOf(a.s), 1);

      clock.advance(700_000); // the grace period ended while the platform was down
      const bus = new MemoryBus({ logger: silentLogger });
      const worker = await fakeWorker(bus, () => 'absent');
      const b = await service({ file, clock, bus });
      open.push(worker);
      const done = await until(
        async () => ((await b.s.get(n.eventId))!.status === 'corrected' ? b.s.get(n.eventId) : null),
        5000,
        'corrected after restart',
      );
      expect(done!.code).toBe(n.code);
      expect(worker.requests.map((r) => r.id)).toEqual([`${n.eventId}#1`]);
    } finally {
      while (open.length) await open.pop()!.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('records and counts', () => {
  it('finds notices by code and by plate and day (the party page)', async () => {
    const { s } = await service();
    const n = await s.onConfirmed(confirmed({ type: 'illegal-parking' }));
    expect((await s.store.noticeByCode(formatCode(n.code).toLowerCase()))!.eventId).toBe(n.eventId);
    expect(await s.store.noticeByCode('0000-0000-0000-0000')).toBeNull();
    expect(await s.store.noticeByCode('nonsense')).toBeNull();
    expect((await s.store.noticesByPlateDay('苏E·12345', '2026-11-27')).map((x) => x.eventId)).toEqual([n.eventId]);
    expect(await s.store.noticesByPlateDay('苏E12345', '2026-11-26')).toEqual([]);
  });

  it('counts violations per party and type within the window', async () => {
    const { s, clock } = await service({ config: config({ leniency: { enabled: false, windowDays: 30 } }) });
    await s.onConfirmed(confirmed());
    await s.onConfirmed(confirmed({ start: T0 - 86_400_000 }));
    await s.onConfirmed(confirmed({ start: T0 - 60 * 86_400_000 })); // outside the window
    await s.onConfirmed(confirmed({ type: 'illegal-parking' }));
    await s.onConfirmed(confirmed({ cameraId: 'cam-new', zoneId: 'sf-9' })); // not enforcing: not a violation
    const third = await s.onConfirmed(confirmed({ start: T0 - 3600_000 }));
    expect(third.priorOffences).toBe(2);
    clock.advance(1000);
    const c = await s.partyCounts();
    expect(c.windowDays).toBe(30);
    expect(c.items[0]).toEqual({
      id: 'shop:shop-12',
      kind: 'shop',
      name: '老王水果店',
      licenceNo: '91320582MA1XYZ1234',
      counts: { 'illegal-parking': 0, 'illegal-non-motor-parking': 0, 'out-of-store-vending': 3 },
      lastAt: T0 - 15 * 60_000,
    });
    expect(c.items.find((i) => i.id === 'vehicle:苏E12345')).toMatchObject({
      kind: 'vehicle',
      counts: { 'illegal-parking': 1, 'out-of-store-vending': 0 },
    });
    // Registered shops without violations are listed with zeros.
    expect(c.items.find((i) => i.id === 'shop:shop-new')).toMatchObject({
      counts: { 'illegal-parking': 0, 'out-of-store-vending': 0 },
      lastAt: null,
    });
    const list = await s.list({ limit: 10, status: 'awaiting-recheck' });
    expect(list.total).toBe(5);
    expect((await s.list({ limit: 10, type: 'illegal-parking' })).total).toBe(1);
    expect((await s.list({ limit: 10, status: 'not-enforcing' })).total).toBe(1);
  });

  it('a store opened by the caller stays open after close', async () => {
    const store = await NoticeStore.open(':memory:');
    const { s } = await service({ store, file: undefined });
    await s.onConfirmed(confirmed());
    await s.close();
    open.splice(open.indexOf(s), 1);
    expect((await store.list({ limit: 5 })).total).toBe(1);
    await store.close();
  });
});
