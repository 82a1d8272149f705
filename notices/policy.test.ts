// The notice policy on its own: every decision from what it is given, no store, bus, notifier or clock.
import { describe, expect, it } from 'vitest';
import type { RecheckResult } from '../contracts/rechecks.js';
import {
  applyRecheckResult,
  caseDue,
  decideNotice,
  deliveryDue,
  dueChannels,
  giveUpRecheck,
  loudFilingFailure,
  mayEnforce,
  needsPriorOffences,
  partyCountItems,
  priorOffencesSince,
  recheckAction,
  recheckRequest,
  recordAttempt,
  recordFiled,
  recordFilingFailure,
  recordRequest,
  type DecisionInput,
} from './policy.js';
import type { NoticeRecord } from './store.js';
import { cameras, config, confirmed, T0 } from './testdata/helpers.js';
import type { Channel, Party } from './types.js';

const shop: Party = { id: 'shop:shop-12', kind: 'shop', name: '老王水果店', phone: '13800001234' };
const ALL: ReadonlySet<Channel> = new Set(['sms', 'loudspeaker', 'console']);
const cam = (id = 'cam-xinhua-01') => cameras.cameras.find((c) => c.id === id);

function decide(o: Partial<DecisionInput> = {}): NoticeRecord {
  const stored = o.stored ?? confirmed();
  return decideNotice({
    stored,
    camera: cam(stored.event.camera.id),
    enforcing: true,
    party: shop,
    priorOffences: 0,
    code: '7K3M9QXR2D4F8HJN',
    channels: ALL,
    config: config(),
    timeZone: cameras.timeZone,
    now: T0,
    ...o,
  });
}

/** A notice awaiting its re-check, asked `attempts` times (the latest request `#attempts`, deadline T0+60 s). */
function awaiting(attempts = 1): NoticeRecord {
  const rec = decide();
  if (attempts > 0) {
    rec.work.request = { id: `${rec.notice.eventId}#${attempts}`, requestedAt: T0, deadline: T0 + 60_000 };
    rec.notice.recheck = { attempts, evidence: [] };
  }
  return rec;
}

const result = (rec: NoticeRecord, attempt: number, r: RecheckResult['result']): RecheckResult => ({
  id: `${rec.notice.eventId}#${attempt}`,
  eventId: rec.notice.eventId,
  cameraId: rec.notice.cameraId,
  result: r,
  checkedAt: T0 + 1000,
  evidence: [],
  worker: 'vision-1',
});

describe('the decision after a confirmation', () => {
  it('a. a camera not published long enough (or unknown) enforces nothing: no party, nothing sent, closed', () => {
    const e = confirmed({ cameraId: 'cam-new', zoneId: 'sf-9' });
    expect(mayEnforce(cam('cam-new'), e.event, config(), cameras.timeZone)).toBe(false);
    expect(mayEnforce(undefined, e.event, config(), cameras.timeZone)).toBe(false);
    expect(mayEnforce(cam(), confirmed().event, config(), cameras.timeZone)).toBe(true);
    const rec = decide({ stored: e, camera: cam('cam-new'), enforcing: false });
    expect(rec.notice).toMatchObject({
      status: 'not-enforcing',
      reason: 'camera-not-published',
      party: null,
      deliveries: [],
      closedAt: T0,
    });
    expect(rec.nextAt).toBeNull();
  });

  it('b. no party, or a party without a phone: a case due at once, nothing sent', () => {
    for (const party of [null, { ...shop, phone: undefined }]) {
      const rec = decide({ party });
      expect(rec.notice).toMatchObject({ status: 'case', reason: 'no-contact', deliveries: [], closedAt: T0 });
      expect(rec.nextAt).toBe(T0);
      expect(caseDue(rec, T0)).toBe(true);
    }
    expect(needsPriorOffences(true, { ...shop, phone: undefined })).toBe(false);
    expect(needsPriorOffences(false, shop)).toBe(false);
    expect(needsPriorOffences(true, shop)).toBe(true);
  });

  it('c. leniency: a first offence ends at the notice, a repeat is told and becomes a case', () => {
    const lenient = config({ leniency: { enabled: true, windowDays: 30 } });
    expect(decide({ config: lenient, priorOffences: 0 }).notice).toMatchObject({
      status: 'notice-only',
      reason: 'first-offence-leniency',
      priorOffences: 0,
    });
    const repeat = decide({ config: lenient, priorOffences: 2 }).notice;
    expect(repeat).toMatchObject({ status: 'case', reason: 'repeat-offence', priorOffences: 2 });
    expect(repeat.deliveries.map((d) => d.channel)).toEqual(['sms', 'loudspeaker', 'console']);
    const e = confirmed().event;
    expect(priorOffencesSince(e, lenient)).toBe(e.start - 30 * 86_400_000);
  });

  it('d. otherwise told on every channel there is, re-checked when the grace period from the confirmation is over', () => {
    const rec = decide({ stored: confirmed({ reviewAt: T0 + 5000 }) });
    expect(rec.notice).toMatchObject({
      status: 'awaiting-recheck',
      reason: 'notified',
      recheckAt: T0 + 5000 + 600_000,
    });
    expect(rec.notice.closedAt).toBeUndefined();
    expect(rec.notice.deliveries.map((d) => [d.channel, d.status])).toEqual([
      ['sms', 'pending'],
      ['loudspeaker', 'pending'],
      ['console', 'pending'],
    ]);
    // The SMS carries the code; the loudspeaker must not.
    expect(rec.notice.deliveries[0]!.text).toContain('7K3M-9QXR-2D4F-8HJN');
    expect(rec.notice.deliveries[1]!.text).not.toContain('7K3M');
    expect(rec.nextAt).toBe(T0);
  });

  it('which channel: no gateway, no SMS (the console still records its text); a camera without a loudspeaker, none', () => {
    const consoleOnly = decide({ channels: new Set(['console']) }).notice.deliveries;
    expect(consoleOnly.map((d) => d.channel)).toEqual(['console']);
    expect(consoleOnly[0]!.text).toContain('请于');
    const base = config();
    const quiet = config({
      loudspeaker: { enabled: true, repeat: 2, cameras: ['cam-other'], templates: base.loudspeaker.templates },
    });
    expect(decide({ config: quiet }).notice.deliveries.map((d) => d.channel)).toEqual(['sms', 'console']);
  });
});

describe('deliveries', () => {
  it('are due at once, then after a capped exponential backoff, or as soon as their channel is back', () => {
    const rec = decide();
    const sms = rec.notice.deliveries[0]!;
    expect(deliveryDue(sms, rec.work, config())).toBe(T0);
    expect(recordAttempt(rec, 'sms', { ok: false, error: 'HTTP 503' }, T0, config())).toBe('retry');
    expect(sms).toMatchObject({ status: 'pending', attempts: 1, error: 'HTTP 503' });
    expect(deliveryDue(sms, rec.work, config())).toBeGreaterThan(T0);
    expect(dueChannels(rec, T0, config())).toEqual(['loudspeaker', 'console']);
    rec.work.retryAt = { sms: T0 + 1 };
    expect(deliveryDue(sms, rec.work, config())).toBe(T0 + 1);
  });

  it('are sent, refused for good, or failed after the last attempt; an attempt on one no longer pending is not recorded', () => {
    const rec = decide();
    expect(recordAttempt(rec, 'console', { ok: true }, T0, config())).toBe('sent');
    expect(recordAttempt(rec, 'console', { ok: true }, T0, config())).toBeNull();
    expect(recordAttempt(rec, 'loudspeaker', { ok: false, error: 'refused', permanent: true }, T0, config())).toBe(
      'failed',
    );
    for (let i = 1; i < 3; i++)
      expect(recordAttempt(rec, 'sms', { ok: false, error: 'down' }, T0, config())).toBe('retry');
    expect(recordAttempt(rec, 'sms', { ok: false, error: 'down' }, T0, config())).toBe('failed');
    expect(rec.notice.deliveries.map((d) => d.status)).toEqual(['failed', 'failed', 'sent']);
  });
});

describe('the re-check', () => {
  it('is asked when the grace period is over, and again after a deadline, up to the attempts; then left to a reviewer', () => {
    const rec = awaiting(0);
    expect(recheckAction(rec, rec.notice.recheckAt! - 1, config())).toEqual({ do: 'wait' });
    expect(recheckAction(rec, rec.notice.recheckAt!, config())).toEqual({ do: 'ask', attempt: 1 });
    const req = recheckRequest(rec.notice, rec.work, 1, T0, config());
    expect(req).toMatchObject({
      id: `${rec.notice.eventId}#1`,
      camera: { id: 'cam-xinhua-01' },
      zoneId: 'sf-1',
      role: 'stall',
      deadline: T0 + 60_000,
    });
    expect(recordRequest(rec, req, 1)).toBe(true);
    expect(recheckAction(rec, T0 + 59_999, config())).toEqual({ do: 'wait' });
    expect(recheckAction(rec, T0 + 60_000, config())).toEqual({
      do: 'ask',
      attempt: 2,
      why: 'no answer to the last attempt in time',
    });
    const last = awaiting(3);
    expect(recheckAction(last, T0 + 60_000, config())).toEqual({
      do: 'give-up',
      requestId: `${last.notice.eventId}#3`,
      detail: 'no answer from a vision worker after 3 attempts',
    });
    expect(giveUpRecheck(last, `${last.notice.eventId}#2`, 'x', T0)).toBe(false);
    expect(giveUpRecheck(last, `${last.notice.eventId}#3`, 'x', T0)).toBe(true);
    expect(last.notice).toMatchObject({
      status: 'recheck-unavailable',
      reason: 'recheck-unavailable',
      recheck: { result: 'unavailable', detail: 'x' },
    });
  });

  it('absent: closed as corrected, no case', () => {
    const rec = awaiting();
    expect(applyRecheckResult(rec, result(rec, 1, 'absent'), T0, config())).toEqual({ became: 'corrected' });
    expect(rec.notice).toMatchObject({ status: 'corrected', reason: 'corrected-after-notice', closedAt: T0 });
    expect(caseDue(rec, T0)).toBe(false);
  });

  it('present: a case, due at once', () => {
    const rec = awaiting();
    expect(applyRecheckResult(rec, result(rec, 1, 'present'), T0, config())).toEqual({ became: 'case' });
    expect(rec.notice).toMatchObject({ status: 'case', reason: 'uncorrected-after-notice' });
    expect(caseDue(rec, T0)).toBe(true);
  });

  it('unavailable: waits for the deadline, except on the latest and last attempt, which ends it', () => {
    const rec = awaiting(1);
    expect(applyRecheckResult(rec, result(rec, 1, 'unavailable'), T0, config())).toEqual({ became: null });
    expect(rec.notice.status).toBe('awaiting-recheck');
    expect(recheckAction(rec, T0 + 60_000, config())).toMatchObject({
      do: 'ask',
      attempt: 2,
      why: 'the last attempt could not see the zone',
    });
    const last = awaiting(3);
    expect(applyRecheckResult(last, result(last, 3, 'unavailable'), T0, config())).toEqual({
      became: 'recheck-unavailable',
    });
  });

  it("a repeat, another notice's request, an attempt not asked, or a notice already decided changes nothing", () => {
    const rec = awaiting(1);
    expect(applyRecheckResult(rec, result(rec, 2, 'absent'), T0, config())).toEqual({
      ignored: 'not a request of this notice',
    });
    expect(applyRecheckResult(rec, { ...result(rec, 1, 'absent'), id: 'other#1' }, T0, config())).toEqual({
      ignored: 'not a request of this notice',
    });
    expect(applyRecheckResult(rec, result(rec, 1, 'unavailable'), T0, config())).toEqual({ became: null });
    expect(applyRecheckResult(rec, result(rec, 1, 'absent'), T0, config())).toEqual({ ignored: 'already applied' });
    const done = awaiting(1);
    applyRecheckResult(done, result(done, 1, 'absent'), T0, config());
    expect(applyRecheckResult(done, result(done, 1, 'present'), T0, config())).toEqual({
      ignored: 'notice is corrected',
    });
  });
});

describe('filing the case', () => {
  it('a failure is tried again with backoff, loudly the first time and every tenth; a filed case closes the notice', () => {
    const rec = decide({ party: null });
    expect(recordFilingFailure(rec, 'case store down', T0, config())).toBe(true);
    expect(rec.work).toMatchObject({ caseAttempts: 1, caseError: 'case store down' });
    expect(rec.work.caseNextAt).toBeGreaterThan(T0);
    expect(caseDue(rec, T0)).toBe(false);
    expect([1, 2, 9, 10, 20].map(loudFilingFailure)).toEqual([true, false, false, true, true]);
    expect(recordFiled(rec, 'C-1', T0 + 5)).toBe(true);
    expect(rec.notice.caseId).toBe('C-1');
    expect(rec.work.caseNextAt).toBeUndefined();
    expect(recordFiled(rec, 'C-2', T0 + 5)).toBe(false);
    expect(recordFilingFailure(rec, 'late', T0, config())).toBe(false);
  });
});

describe("the parties' counts", () => {
  it('lists registered shops with zeros, adds the counted ones, most first', () => {
    const items = partyCountItems(
      [{ id: 'shop:a', kind: 'shop', name: '甲' }],
      [{ party: shop, type: 'out-of-store-vending', count: 2, lastAt: T0 }],
    );
    expect(items.map((i) => [i.id, i.counts['out-of-store-vending'], i.lastAt])).toEqual([
      ['shop:shop-12', 2, T0],
      ['shop:a', 0, null],
    ]);
  });
});
