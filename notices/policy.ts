// The notice policy: every decision the notice service takes, as functions of what it is given (the event, the
// camera, the party, the counts read from the store, the time) with no I/O and no clock of their own, so each
// decision is unit-tested on its own (policy.test.ts). The service (service.ts) reads, calls these, and writes.
import { EVENT_TYPES, type EnforcementEvent } from '../contracts/index.js';
import { RecheckRequestSchema, type RecheckRequest, type RecheckResult } from '../contracts/rechecks.js';
import { exponentialMs } from '../runtime/backoff.js';
import type { StoredEvent } from '../review/store.js';
import type { Camera } from '../vision/cameras/config.js';
import type { NoticesConfig } from './config.js';
import { isEnforcing } from './local.js';
import type { SendResult } from './notifiers/types.js';
import type { NoticeRecord, NoticeWork } from './store.js';
import { loudspeakerText, noticeVars, smsText } from './texts.js';
import type { Channel, Delivery, Notice, NoticeStatus, OutcomeReason, Party } from './types.js';

export const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------------------------
// The decision after a confirmation (README: a. publication, b. party, c. leniency, d. notify and re-check)

/** a. Whether the camera may enforce at the event's time: its location published long enough before. */
export function mayEnforce(
  camera: Camera | undefined,
  event: EnforcementEvent,
  config: NoticesConfig,
  timeZone: string,
): boolean {
  return isEnforcing(camera, event.start, config.publicationDays, timeZone);
}

/** Whether the decision needs the party's earlier violations (only a party that can be told gets that far). */
export function needsPriorOffences(enforcing: boolean, party: Party | null): party is Party {
  return enforcing && Boolean(party?.phone);
}

/** Earlier violations count from this time on (the leniency window before the event). */
export function priorOffencesSince(event: EnforcementEvent, config: NoticesConfig): number {
  return event.start - config.leniency.windowDays * DAY_MS;
}

export interface DecisionInput {
  stored: StoredEvent;
  camera: Camera | undefined;
  enforcing: boolean;
  party: Party | null;
  /** The party's earlier violations of this type in the window (0 when needsPriorOffences is false). */
  priorOffences: number;
  /** The notice's query code (codes.ts). */
  code: string;
  /** Which channels have a notifier (the console always has). */
  channels: ReadonlySet<Channel>;
  config: NoticesConfig;
  timeZone: string;
  now: number;
}

/** The decision order a–d, as a new notice with its schedule. */
export function decideNotice(i: DecisionInput): NoticeRecord {
  const e = i.stored.event;
  const cfg = i.config;
  const base: Notice = {
    eventId: e.id,
    eventType: e.type,
    cameraId: e.camera.id,
    district: e.camera.district,
    zoneId: e.zone.id,
    code: i.code,
    party: null,
    status: 'not-enforcing',
    reason: 'camera-not-published',
    priorOffences: 0,
    deliveries: [],
    createdAt: i.now,
  };
  const work: NoticeWork = { target: { box: e.box, role: e.role }, answered: [], caseAttempts: 0 };
  const done = (status: NoticeStatus, reason: OutcomeReason, n: Notice): NoticeRecord => {
    n.status = status;
    n.reason = reason;
    if (status !== 'awaiting-recheck') n.closedAt = i.now;
    return scheduleNotice({ notice: n, work, nextAt: null }, cfg);
  };

  // a. The camera's location must have been published long enough before the event.
  if (!i.enforcing) return done('not-enforcing', 'camera-not-published', base);
  // b. Nobody to tell: straight to a case.
  base.party = i.party;
  if (!i.party?.phone) return done('case', 'no-contact', base);

  // c. Earlier violations of this type by this party within the window.
  base.priorOffences = i.priorOffences;
  // The grace period runs from the confirmation (or from now, for a confirmation recorded before a restart).
  const from = Math.max(i.now, i.stored.review?.at ?? 0);
  const deadline = from + cfg.graceS[e.type] * 1000;
  base.deliveries = noticeDeliveries({
    event: e,
    notice: base,
    camera: i.camera,
    deadline,
    now: i.now,
    channels: i.channels,
    config: cfg,
    timeZone: i.timeZone,
  });
  if (cfg.leniency.enabled && base.priorOffences === 0) return done('notice-only', 'first-offence-leniency', base);
  if (cfg.leniency.enabled) return done('case', 'repeat-offence', base);

  // d. Told; the camera looks again when the grace period is over.
  base.recheckAt = deadline;
  return done('awaiting-recheck', 'notified', base);
}

/** The deliveries of a notice, with their texts: SMS (with a gateway), the loudspeaker (when enabled), the console. */
export function noticeDeliveries(o: {
  event: EnforcementEvent;
  notice: Notice;
  camera: Camera | undefined;
  deadline: number;
  now: number;
  channels: ReadonlySet<Channel>;
  config: NoticesConfig;
  timeZone: string;
}): Delivery[] {
  const { event: e, notice: n, camera, now, config: cfg } = o;
  const vars = noticeVars({ event: e, notice: n, deadline: o.deadline, config: cfg, timeZone: o.timeZone });
  const sms = smsText(cfg, e, vars);
  const out: Delivery[] = [];
  if (o.channels.has('sms') && n.party?.phone)
    out.push({ channel: 'sms', status: 'pending', attempts: 0, at: now, text: sms });
  const speaker = cfg.loudspeaker;
  if (
    speaker.enabled &&
    o.channels.has('loudspeaker') &&
    camera &&
    (!speaker.cameras || speaker.cameras.includes(camera.id))
  ) {
    out.push({ channel: 'loudspeaker', status: 'pending', attempts: 0, at: now, text: loudspeakerText(cfg, e, vars) });
  }
  // Always on record: what the SMS says (or would say, without a gateway).
  out.push({ channel: 'console', status: 'pending', attempts: 0, at: now, text: sms });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The schedule

/**
 * When a pending delivery is tried next: at once the first time, then with capped exponential backoff, or as soon
 * as its channel answers again after an outage.
 */
export function deliveryDue(d: Delivery, w: NoticeWork, config: NoticesConfig): number {
  if (d.attempts === 0) return d.at;
  const c = config.delivery;
  const normal = d.at + exponentialMs(d.attempts, c.retryBaseMs, c.retryMaxMs);
  const early = w.retryAt?.[d.channel];
  return early !== undefined ? Math.min(normal, early) : normal;
}

/** Sets the record's nextAt from what is left to do. */
export function scheduleNotice(rec: NoticeRecord, config: NoticesConfig): NoticeRecord {
  const n = rec.notice;
  const times: number[] = [];
  for (const d of n.deliveries) if (d.status === 'pending') times.push(deliveryDue(d, rec.work, config));
  if (n.status === 'awaiting-recheck') {
    // Before the first request: the end of the grace period; after: the latest request's deadline (an answer of
    // "unavailable" waits for it too, so attempts stay spaced).
    times.push(rec.work.request?.deadline ?? n.recheckAt ?? n.createdAt);
  }
  if (n.status === 'case' && !n.caseId) times.push(rec.work.caseNextAt ?? n.createdAt);
  rec.nextAt = times.length ? Math.min(...times) : null;
  return rec;
}

/** The pending deliveries of a notice due by `now`. */
export function dueChannels(rec: NoticeRecord, now: number, config: NoticesConfig): Channel[] {
  return rec.notice.deliveries
    .filter((d) => d.status === 'pending' && deliveryDue(d, rec.work, config) <= now)
    .map((d) => d.channel);
}

/** Whether a notice's case is due to be filed (again) by `now`. */
export function caseDue(rec: NoticeRecord, now: number): boolean {
  return rec.notice.status === 'case' && !rec.notice.caseId && (rec.work.caseNextAt ?? 0) <= now;
}

// ---------------------------------------------------------------------------------------------------------------
// Deliveries

export type DeliveryOutcome = 'sent' | 'retry' | 'failed';

/**
 * Records one attempt on the notice's delivery of `channel` (the record given is changed; nothing else): sent, to be
 * retried, or failed for good (a refusal, or the last attempt). Null when that delivery is no longer pending.
 */
export function recordAttempt(
  rec: NoticeRecord,
  channel: Channel,
  r: SendResult,
  now: number,
  config: NoticesConfig,
): DeliveryOutcome | null {
  const x = rec.notice.deliveries.find((y) => y.channel === channel);
  if (!x || x.status !== 'pending') return null;
  x.attempts++;
  x.at = now;
  if (rec.work.retryAt) delete rec.work.retryAt[channel];
  if (r.to) x.to = r.to;
  if (r.ok) {
    x.status = 'sent';
    delete x.error;
    return 'sent';
  }
  x.error = r.error;
  const outcome = r.permanent || x.attempts >= config.delivery.attempts ? 'failed' : 'retry';
  if (outcome === 'failed') x.status = 'failed';
  return outcome;
}

/** Whether the notice waits on `channel` beyond `now` (its own backoff), to be brought forward when it answers again. */
export function waitsOn(rec: NoticeRecord, channel: Channel, now: number, config: NoticesConfig): boolean {
  return rec.notice.deliveries.some(
    (d) => d.channel === channel && d.status === 'pending' && deliveryDue(d, rec.work, config) > now,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Re-checks

export type RecheckAction =
  { do: 'wait' } | { do: 'ask'; attempt: number; why?: string } | { do: 'give-up'; requestId: string; detail: string };

/** What an awaiting notice needs now: its first request after the grace period, another after a deadline, or an end. */
export function recheckAction(rec: NoticeRecord, now: number, config: NoticesConfig): RecheckAction {
  const n = rec.notice;
  const req = rec.work.request;
  const attempts = n.recheck?.attempts ?? 0;
  if (!req) return (n.recheckAt ?? 0) <= now ? { do: 'ask', attempt: attempts + 1 } : { do: 'wait' };
  if (req.deadline > now) return { do: 'wait' };
  // The latest attempt timed out (or answered "unavailable"): ask again, or leave it to a reviewer.
  if (attempts < config.recheck.attempts) {
    return {
      do: 'ask',
      attempt: attempts + 1,
      why: rec.work.answered.includes(req.id)
        ? 'the last attempt could not see the zone'
        : 'no answer to the last attempt in time',
    };
  }
  return { do: 'give-up', requestId: req.id, detail: `no answer from a vision worker after ${attempts} attempts` };
}

/** Re-check attempt `attempt` of a notice: where to look, and until when an answer counts. */
export function recheckRequest(
  n: Notice,
  work: NoticeWork,
  attempt: number,
  now: number,
  config: NoticesConfig,
): RecheckRequest {
  const cfg = config.recheck;
  return RecheckRequestSchema.parse({
    id: `${n.eventId}#${attempt}`,
    eventId: n.eventId,
    eventType: n.eventType,
    camera: { id: n.cameraId, district: n.district },
    zoneId: n.zoneId,
    role: work.target.role,
    box: work.target.box,
    requestedAt: now,
    deadline: now + cfg.answerTimeoutS * 1000,
    observeS: cfg.observeS,
  });
}

/** Records the request as the notice's latest attempt; false when the notice is no longer waiting for one. */
export function recordRequest(rec: NoticeRecord, req: RecheckRequest, attempt: number): boolean {
  if (rec.notice.status !== 'awaiting-recheck') return false;
  rec.work.request = { id: req.id, requestedAt: req.requestedAt, deadline: req.deadline };
  rec.notice.recheck = { ...(rec.notice.recheck ?? { evidence: [] }), attempts: attempt };
  return true;
}

/** Ends the notice as `recheck-unavailable` (left to a reviewer) if request `requestId` is still its latest. */
export function giveUpRecheck(
  rec: NoticeRecord,
  requestId: string,
  detail: string,
  now: number,
  checkedAt?: number,
): boolean {
  if (rec.notice.status !== 'awaiting-recheck' || rec.work.request?.id !== requestId) return false;
  const n = rec.notice;
  n.status = 'recheck-unavailable';
  n.reason = 'recheck-unavailable';
  n.closedAt = now;
  n.recheck = {
    ...(n.recheck ?? { attempts: 0, evidence: [] }),
    result: 'unavailable',
    checkedAt: checkedAt ?? now,
    detail,
  };
  return true;
}

/** What a re-check result did to a notice: nothing (and why), or its new status (null: still awaiting). */
export type ResultEffect = { ignored: string } | { became: NoticeStatus | null };

/**
 * Applies a re-check result to the notice given (changed in place): `absent` closes it as corrected, `present` makes
 * it a case due now, `unavailable` to the latest and last attempt ends it for a reviewer. A repeat, a result of
 * another notice's request, or a notice already decided is ignored.
 */
export function applyRecheckResult(
  rec: NoticeRecord,
  r: RecheckResult,
  now: number,
  config: NoticesConfig,
): ResultEffect {
  const n = rec.notice;
  const w = rec.work;
  if (n.status !== 'awaiting-recheck') return { ignored: `notice is ${n.status}` };
  if (w.answered.includes(r.id)) return { ignored: 'already applied' };
  const m = /#(\d+)$/.exec(r.id);
  const attempt = m ? Number(m[1]) : NaN;
  if (!r.id.startsWith(`${n.eventId}#`) || !(attempt >= 1 && attempt <= (n.recheck?.attempts ?? 0)))
    return { ignored: 'not a request of this notice' };
  w.answered.push(r.id);
  const record = {
    attempts: n.recheck?.attempts ?? attempt,
    evidence: [...(n.recheck?.evidence ?? []), ...r.evidence],
    checkedAt: r.checkedAt,
    ...(r.detail ? { detail: r.detail } : {}),
  };
  if (r.result === 'unavailable') {
    n.recheck = record;
    // Only the latest attempt's answer moves on: the last one ends it, an earlier one waits for its deadline.
    if (w.request?.id === r.id && record.attempts >= config.recheck.attempts) {
      n.status = 'recheck-unavailable';
      n.reason = 'recheck-unavailable';
      n.recheck = { ...record, result: 'unavailable' };
      n.closedAt = now;
      return { became: n.status };
    }
    return { became: null };
  }
  n.recheck = { ...record, result: r.result };
  n.closedAt = now;
  if (r.result === 'absent') {
    n.status = 'corrected';
    n.reason = 'corrected-after-notice';
  } else {
    n.status = 'case';
    n.reason = 'uncorrected-after-notice';
    w.caseAttempts = 0;
    w.caseNextAt = now;
  }
  return { became: n.status };
}

// ---------------------------------------------------------------------------------------------------------------
// Cases

/** A filing that failed: tried again with the deliveries' backoff, without limit. False when the case is filed. */
export function recordFilingFailure(rec: NoticeRecord, err: string, now: number, config: NoticesConfig): boolean {
  if (rec.notice.caseId) return false;
  const c = config.delivery;
  rec.work.caseAttempts++;
  rec.work.caseError = err;
  rec.work.caseNextAt = now + exponentialMs(rec.work.caseAttempts, c.retryBaseMs, c.retryMaxMs);
  return true;
}

/** The case is filed: the notice carries its id and is closed. False when another filing got there first. */
export function recordFiled(rec: NoticeRecord, caseId: string, now: number): boolean {
  if (rec.notice.caseId) return false;
  rec.notice.caseId = caseId;
  rec.notice.closedAt ??= now;
  delete rec.work.caseNextAt;
  delete rec.work.caseError;
  return true;
}

/** Logged once a first failure and then every tenth, so a case system down for hours does not flood the log. */
export const loudFilingFailure = (attempts: number): boolean => attempts === 1 || attempts % 10 === 0;

// ---------------------------------------------------------------------------------------------------------------
// The parties' counts

export type PartyCountItem = {
  id: string;
  kind: Party['kind'];
  name: string;
  licenceNo?: string;
  counts: Record<EnforcementEvent['type'], number>;
  lastAt: number | null;
};

/** Violations per party and type within the window; registered shops are listed even without any; most first. */
export function partyCountItems(
  shops: readonly Party[],
  rows: readonly { party: Party; type: EnforcementEvent['type']; count: number; lastAt: number }[],
): PartyCountItem[] {
  const zero = () => Object.fromEntries(EVENT_TYPES.map((t) => [t, 0])) as Record<EnforcementEvent['type'], number>;
  const byId = new Map<string, PartyCountItem>();
  const add = (p: Party) => {
    let item = byId.get(p.id);
    if (!item) {
      item = {
        id: p.id,
        kind: p.kind,
        name: p.name,
        ...(p.licenceNo ? { licenceNo: p.licenceNo } : {}),
        counts: zero(),
        lastAt: null,
      };
      byId.set(p.id, item);
    }
    return item;
  };
  for (const p of shops) add(p);
  for (const r of rows) {
    const item = add(r.party);
    item.counts[r.type] += r.count;
    item.lastAt = Math.max(item.lastAt ?? 0, r.lastAt);
  }
  const total = (i: PartyCountItem) => Object.values(i.counts).reduce((a, b) => a + b, 0);
  return [...byId.values()].sort(
    (a, b) => total(b) - total(a) || (b.lastAt ?? 0) - (a.lastAt ?? 0) || a.name.localeCompare(b.name, 'zh-CN'),
  );
}
