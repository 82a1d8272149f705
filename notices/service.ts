// The notice service: what happens after a reviewer confirms an event. It decides, in this order, whether the
// camera may enforce at all (its location published long enough), who the party is and whether they can be told,
// whether a first offence ends at the notice (leniency), and otherwise tells the party and has the camera look again
// after the grace period; only an uncorrected (or repeated, or untellable) violation becomes a case.
//
// Everything the service still has to do is kept with the notice in the store (deliveries to retry, the re-check to
// ask or to time out, the case to file), and a timer loop of about a second does it. A restart, a down SMS gateway or
// a vision worker that does not answer lose nothing: the loop carries on from the store. Re-check results arrive on
// bus topic `recheck-results` (group `notices`) and are applied once per request id.
import { EventEmitter } from 'node:events';
import { Counter, Gauge, type Registry } from 'prom-client';
import { jsonDecoder, subscribeDecoded } from '../bus/decoded.js';
import type { Bus, Subscription } from '../bus/types.js';
import { EVENT_TYPES, type EnforcementEvent, type EventType } from '../contracts/index.js';
import { RecheckRequestSchema, RecheckResultSchema, type RecheckRequest, type RecheckResult } from '../contracts/rechecks.js';
import { exponentialMs } from '../runtime/backoff.js';
import { localDay } from '../runtime/time.js';
import type { Logger } from '../runtime/log.js';
import type { DeadLetterStore } from '../store/types.js';
import type { StoredEvent } from '../review/store.js';
import type { Camera, CameraRegistry } from '../vision/cameras/config.js';
import { formatCode, generateCode } from './codes.js';
import type { NoticesConfig } from './config.js';
import { isEnforcing } from './local.js';
import { ConsoleLogNotifier } from './notifiers/console-log.js';
import type { Notifier, SendResult } from './notifiers/types.js';
import type { PartyRegistry } from './parties.js';
import { CodeTakenError, NoticeStore, type NoticeQuery, type NoticeRecord, type NoticeWork } from './store.js';
import { loudspeakerText, noticeVars, smsText } from './texts.js';
import type { Channel, Delivery, Notice, NoticeDeps, NoticeStatus, OutcomeReason, Party } from './types.js';

export interface NoticeServiceOptions {
  /** An open store (the caller closes it), or `file` for the service to open (and close). */
  store?: NoticeStore;
  file?: string;
  config: NoticesConfig;
  parties: PartyRegistry;
  /**
   * The channels: SmsHttpNotifier (with SMS_GATEWAY_URL), LoudspeakerMqttNotifier, ConsoleLogNotifier. A console
   * notifier is added when none is given. close() closes them.
   */
  notifiers: Notifier[];
  bus: Bus;
  /** Re-check results that are not valid go here (with the topic and the reason) instead of stopping the others. */
  deadLetters: Pick<DeadLetterStore, 'add'>;
  /** The camera registry (with the simulated cameras in the embedded default): publishedAt, time zone. */
  cameras: CameraRegistry;
  deps: NoticeDeps;
  logger: Logger;
  registry?: Registry;
  now?: () => number;
  /** The loop's period; default 1000 ms. */
  tickMs?: number;
  /** Consumer group on `recheck-results`; default `notices`. */
  group?: string;
}

/** What the review queue shows before a decision: who would be told. */
export interface PartyPreview {
  known: boolean;
  kind?: Party['kind'];
  name?: string;
  /** A way to tell the party (a mobile number). */
  contact: boolean;
  /** False when the camera is not enforcing yet: confirming then sends nothing and files no case. */
  enforcing: boolean;
}

export interface PartyCounts {
  windowDays: number;
  items: { id: string; kind: Party['kind']; name: string; licenceNo?: string; counts: Record<EventType, number>; lastAt: number | null }[];
}

const DAY_MS = 86_400_000;
/** Sends at once per channel: a gateway that hangs must not take every notice's attempt with it. */
const MAX_SENDS_PER_CHANNEL = 4;
const CHANNEL_NAMES: Record<Channel, string> = { sms: 'SMS gateway', loudspeaker: 'loudspeaker broker', console: 'console log' };

export class NoticeService extends EventEmitter {
  private readonly now: () => number;
  private readonly notifiers = new Map<Channel, Notifier>();
  private readonly abort = new AbortController();
  private lock: Promise<unknown> = Promise.resolve();
  private sub: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private started = false;
  private readonly sending = new Map<string, Promise<void>>();
  private readonly filing = new Map<string, Promise<void>>();
  private readonly down = new Map<Channel, { since: number; failures: number }>();
  private storeDown = false;
  private busDown = false;
  private readonly m;

  private constructor(
    readonly store: NoticeStore,
    private readonly ownsStore: boolean,
    private readonly o: NoticeServiceOptions,
  ) {
    super();
    this.now = o.now ?? Date.now;
    for (const n of o.notifiers) this.notifiers.set(n.channel, n);
    if (!this.notifiers.has('console')) this.notifiers.set('console', new ConsoleLogNotifier({ logger: o.logger }));
    const registers = o.registry ? [o.registry] : [];
    this.m = {
      outcomes: new Counter({ name: 'notice_outcomes_total', help: 'Notices reaching a status, by status and reason', labelNames: ['status', 'reason'] as const, registers }),
      deliveries: new Counter({ name: 'notice_delivery_attempts_total', help: 'Attempts to tell a party, by channel and result (sent, retry, failed)', labelNames: ['channel', 'result'] as const, registers }),
      rechecks: new Counter({ name: 'notice_recheck_requests_total', help: 'Re-check requests published to the vision workers', registers }),
      results: new Counter({ name: 'notice_recheck_results_total', help: 'Re-check results applied, by result', labelNames: ['result'] as const, registers }),
    };
    const notices = this.store;
    new Gauge({
      name: 'notices_by_status',
      help: 'Notices by status (awaiting-recheck = waiting for the grace period and the camera)',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        const counts = await notices.countByStatus().catch(() => null);
        if (counts) for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    });
  }

  static async open(o: NoticeServiceOptions): Promise<NoticeService> {
    if (!o.store && !o.file) throw new Error('NoticeService.open needs a store or a file');
    const store = o.store ?? (await NoticeStore.open(o.file!));
    const s = new NoticeService(store, !o.store, o);
    const channels = [...s.notifiers.values()].map((n) => `${n.channel} (${n.target})`);
    o.logger.info({ channels, leniency: o.config.leniency.enabled, publicationDays: o.config.publicationDays }, 'notice service ready');
    return s;
  }

  private get timeZone(): string {
    return this.o.cameras.timeZone;
  }

  private camera(id: string): Camera | undefined {
    return this.o.cameras.cameras.find((c) => c.id === id);
  }

  /** Read-modify-write of notices one at a time (the loop, results and confirmations touch the same rows). */
  private locked<T>(f: () => Promise<T>): Promise<T> {
    const next = this.lock.then(f);
    this.lock = next.catch(() => undefined);
    return next;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Confirmation

  /**
   * A reviewer confirmed this event: decide what follows (see README: a. publication, b. party, c. leniency,
   * d. notify and re-check), record it with a query code, file the case at once where one is due, and queue the
   * deliveries (the loop sends them). Idempotent: a second call returns the same notice and completes what was left
   * undone (a case not filed yet, deliveries still pending).
   */
  async onConfirmed(stored: StoredEvent): Promise<Notice> {
    if (this.closed) throw new Error('notice service is closed');
    if (stored.status !== 'confirmed') throw new Error(`event ${stored.event.id} is ${stored.status}, not confirmed: no notice`);
    const e = stored.event;
    const existing = await this.store.record(e.id);
    if (existing) return this.complete(existing);

    const now = this.now();
    const camera = this.camera(e.camera.id);
    const enforcing = isEnforcing(camera, e.start, this.o.config.publicationDays, this.timeZone);
    // The lookup may ask the city's plate service: outside the lock.
    const party = enforcing ? await this.lookup(e) : null;

    const { record, created } = await this.locked(async () => {
      const again = await this.store.record(e.id);
      if (again) return { record: again, created: false };
      const rec = await this.decide(stored, camera, enforcing, party, now);
      for (let i = 0; ; i++) {
        try {
          return await this.store.insertIfAbsent(rec, { plate: e.plate?.text, day: localDay(e.start, this.timeZone), start: e.start });
        } catch (err) {
          if (!(err instanceof CodeTakenError) || i >= 3) throw err;
          this.rewriteCode(rec, e);
        }
      }
    });
    if (!created) return this.complete(record);

    const n = record.notice;
    this.m.outcomes.inc({ status: n.status, reason: n.reason });
    this.o.logger.info(
      {
        event: n.eventId,
        code: formatCode(n.code),
        status: n.status,
        reason: n.reason,
        party: n.party?.id ?? null,
        priorOffences: n.priorOffences,
        channels: n.deliveries.map((d) => d.channel),
        ...(n.recheckAt ? { recheckAt: new Date(n.recheckAt).toISOString() } : {}),
      },
      OUTCOME_LOG[n.reason],
    );
    this.emit('change', n);
    if (n.status === 'case') await this.fileCase(n.eventId);
    if (n.deliveries.some((d) => d.status === 'pending')) this.kick();
    return (await this.store.get(n.eventId)) ?? n;
  }

  /** Who would be told if this event were confirmed (the review queue's preview). Never throws. */
  async preview(event: EnforcementEvent): Promise<PartyPreview> {
    const enforcing = isEnforcing(this.camera(event.camera.id), event.start, this.o.config.publicationDays, this.timeZone);
    const party = await this.lookup(event);
    return { known: party !== null, ...(party ? { kind: party.kind, name: party.name } : {}), contact: Boolean(party?.phone), enforcing };
  }

  private async lookup(e: EnforcementEvent): Promise<Party | null> {
    try {
      return await this.o.parties.lookup(e);
    } catch (err) {
      this.o.logger.warn({ event: e.id, err: (err as Error).message }, 'party lookup failed: treated as unknown');
      return null;
    }
  }

  /** The decision order a–d, as a new notice with its schedule. */
  private async decide(stored: StoredEvent, camera: Camera | undefined, enforcing: boolean, party: Party | null, now: number): Promise<NoticeRecord> {
    const e = stored.event;
    const cfg = this.o.config;
    const base: Notice = {
      eventId: e.id,
      eventType: e.type,
      cameraId: e.camera.id,
      district: e.camera.district,
      zoneId: e.zone.id,
      code: generateCode(),
      party: null,
      status: 'not-enforcing',
      reason: 'camera-not-published',
      priorOffences: 0,
      deliveries: [],
      createdAt: now,
    };
    const work: NoticeWork = { target: { box: e.box, role: e.role }, answered: [], caseAttempts: 0 };
    const done = (status: NoticeStatus, reason: OutcomeReason, n: Notice): NoticeRecord => {
      n.status = status;
      n.reason = reason;
      if (status !== 'awaiting-recheck') n.closedAt = now;
      return { notice: n, work, nextAt: null };
    };

    // a. The camera's location must have been published long enough before the event.
    if (!enforcing) {
      this.o.logger.debug({ event: e.id, camera: e.camera.id, publishedAt: camera?.publishedAt ?? null, known: Boolean(camera) }, 'camera not enforcing');
      return this.schedule(done('not-enforcing', 'camera-not-published', base));
    }
    // b. Nobody to tell: straight to a case.
    base.party = party;
    if (!party?.phone) return this.schedule(done('case', 'no-contact', base));

    // c. Earlier violations of this type by this party within the window.
    base.priorOffences = await this.store.priorOffences(party.id, e.type, e.start - cfg.leniency.windowDays * DAY_MS, e.id);
    // The grace period runs from the confirmation (or from now, for a confirmation recorded before a restart).
    const from = Math.max(now, stored.review?.at ?? 0);
    const deadline = from + cfg.graceS[e.type] * 1000;
    base.deliveries = this.deliveries(e, base, camera, deadline, now);
    if (cfg.leniency.enabled && base.priorOffences === 0) return this.schedule(done('notice-only', 'first-offence-leniency', base));
    if (cfg.leniency.enabled) return this.schedule(done('case', 'repeat-offence', base));

    // d. Told; the camera looks again when the grace period is over.
    base.recheckAt = deadline;
    return this.schedule(done('awaiting-recheck', 'notified', base));
  }

  /** The deliveries of a notice, with their texts: SMS (with a gateway), the loudspeaker (when enabled), the console. */
  private deliveries(e: EnforcementEvent, n: Notice, camera: Camera | undefined, deadline: number, now: number): Delivery[] {
    const cfg = this.o.config;
    const vars = noticeVars({ event: e, notice: n, deadline, config: cfg, timeZone: this.timeZone });
    const sms = smsText(cfg, e, vars);
    const out: Delivery[] = [];
    if (this.notifiers.has('sms') && n.party?.phone) out.push({ channel: 'sms', status: 'pending', attempts: 0, at: now, text: sms });
    const speaker = cfg.loudspeaker;
    if (speaker.enabled && this.notifiers.has('loudspeaker') && camera && (!speaker.cameras || speaker.cameras.includes(camera.id))) {
      out.push({ channel: 'loudspeaker', status: 'pending', attempts: 0, at: now, text: loudspeakerText(cfg, e, vars) });
    }
    // Always on record: what the SMS says (or would say, without a gateway).
    out.push({ channel: 'console', status: 'pending', attempts: 0, at: now, text: sms });
    return out;
  }

  /** A code collision (never expected): a fresh code, and texts that carry it. */
  private rewriteCode(rec: NoticeRecord, e: EnforcementEvent): void {
    const old = rec.notice.code;
    const fresh = generateCode();
    rec.notice.code = fresh;
    for (const d of rec.notice.deliveries) if (d.text) d.text = d.text.split(formatCode(old)).join(formatCode(fresh)).split(old).join(fresh);
    this.o.logger.warn({ event: e.id }, 'query code collision: drew another');
  }

  /** Completes what a notice left undone (a second onConfirmed, a restart) and returns it. */
  private async complete(rec: NoticeRecord): Promise<Notice> {
    const n = rec.notice;
    if (n.status === 'case' && !n.caseId) await this.fileCase(n.eventId);
    if (n.deliveries.some((d) => d.status === 'pending')) this.kick();
    return (await this.store.get(n.eventId)) ?? n;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The schedule

  /**
   * When a pending delivery is tried next: at once the first time, then with capped exponential backoff, or as soon
   * as its channel answers again after an outage.
   */
  private deliveryDue(d: Delivery, w: NoticeWork): number {
    if (d.attempts === 0) return d.at;
    const c = this.o.config.delivery;
    const normal = d.at + exponentialMs(d.attempts, c.retryBaseMs, c.retryMaxMs);
    const early = w.retryAt?.[d.channel];
    return early !== undefined ? Math.min(normal, early) : normal;
  }

  /** Sets the record's nextAt from what is left to do. */
  private schedule(rec: NoticeRecord): NoticeRecord {
    const n = rec.notice;
    const times: number[] = [];
    for (const d of n.deliveries) if (d.status === 'pending') times.push(this.deliveryDue(d, rec.work));
    if (n.status === 'awaiting-recheck') {
      // Before the first request: the end of the grace period; after: the latest request's deadline (an answer of
      // "unavailable" waits for it too, so attempts stay spaced).
      times.push(rec.work.request?.deadline ?? n.recheckAt ?? n.createdAt);
    }
    if (n.status === 'case' && !n.caseId) times.push(rec.work.caseNextAt ?? n.createdAt);
    rec.nextAt = times.length ? Math.min(...times) : null;
    return rec;
  }

  /** Changes a notice under the lock and stores it; `f` returns false to leave it as it was. */
  private async mutate(eventId: string, f: (rec: NoticeRecord) => boolean | void): Promise<NoticeRecord | null> {
    const rec = await this.locked(async () => {
      const r = await this.store.record(eventId);
      if (!r || f(r) === false) return null;
      this.schedule(r);
      await this.store.update(r);
      return r;
    });
    if (rec) this.emit('change', rec.notice);
    return rec;
  }

  /** Runs the loop now (soon after a confirmation; tests). */
  kick(): void {
    if (this.closed || !this.started) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    setImmediate(() => void this.tick());
  }

  /**
   * One pass: starts due deliveries, asks due re-checks, times out unanswered ones, files due cases. Resolves when
   * the pass is done (deliveries started by it may still be running: see `idle()`).
   */
  tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again && !this.closed);
      } finally {
        this.ticking = null;
      }
    })();
    return this.ticking;
  }

  /** Resolves when no delivery or case filing started by the loop is running (tests, close). */
  async idle(): Promise<void> {
    while (this.sending.size || this.filing.size) await Promise.allSettled([...this.sending.values(), ...this.filing.values()]);
  }

  private async pass(): Promise<void> {
    if (this.closed) return;
    let due: NoticeRecord[];
    try {
      due = await this.store.due(this.now(), 200);
      if (this.storeDown) this.o.logger.info('notice store readable again');
      this.storeDown = false;
    } catch (e) {
      if (!this.storeDown && !this.closed) this.o.logger.error({ err: (e as Error).message }, 'notice store error; retrying');
      this.storeDown = true;
      return;
    }
    for (const rec of due) {
      if (this.closed) return;
      const n = rec.notice;
      const now = this.now();
      for (const d of n.deliveries) if (d.status === 'pending' && this.deliveryDue(d, rec.work) <= now) this.startSend(n.eventId, d.channel);
      if (n.status === 'case' && !n.caseId && (rec.work.caseNextAt ?? 0) <= now) void this.fileCase(n.eventId);
      if (n.status === 'awaiting-recheck') {
        try {
          await this.recheckStep(rec, now);
        } catch (e) {
          this.o.logger.error({ event: n.eventId, err: (e as Error).message }, 're-check step failed; retrying');
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Deliveries

  private startSend(eventId: string, channel: Channel): void {
    const key = `${eventId}\u0000${channel}`;
    if (this.sending.has(key)) return;
    let busy = 0;
    for (const k of this.sending.keys()) if (k.endsWith(`\u0000${channel}`)) busy++;
    if (busy >= MAX_SENDS_PER_CHANNEL) return;
    let recorded = false;
    const p = this.send(eventId, channel)
      .then(() => void (recorded = true))
      .catch((e: Error) => this.o.logger.error({ event: eventId, channel, err: e.message }, 'delivery bookkeeping failed; retried by the loop'))
      .finally(() => {
        this.sending.delete(key);
        // Others may have waited for this one's place.
        if (recorded) this.kick();
      });
    this.sending.set(key, p);
  }

  private async send(eventId: string, channel: Channel): Promise<void> {
    const rec = await this.store.record(eventId);
    const d = rec?.notice.deliveries.find((x) => x.channel === channel);
    if (!rec || !d || d.status !== 'pending') return;
    const notifier = this.notifiers.get(channel);
    const cfg = this.o.config.delivery;
    const r: SendResult = notifier
      ? await notifier.send(rec.notice, d.text ?? '', this.abort.signal)
      : { ok: false, permanent: true, error: `no ${channel} channel configured` };
    // An attempt cut short by close() is not an attempt: it is made again after the restart.
    if (this.closed && !r.ok) return;
    const now = this.now();
    let outcome = 'sent' as 'sent' | 'retry' | 'failed';
    const updated = await this.mutate(eventId, (cur) => {
      const x = cur.notice.deliveries.find((y) => y.channel === channel);
      if (!x || x.status !== 'pending') return false;
      x.attempts++;
      x.at = now;
      if (cur.work.retryAt) delete cur.work.retryAt[channel];
      if (r.to) x.to = r.to;
      if (r.ok) {
        x.status = 'sent';
        delete x.error;
      } else {
        x.error = r.error;
        outcome = r.permanent || x.attempts >= cfg.attempts ? 'failed' : 'retry';
        if (outcome === 'failed') x.status = 'failed';
      }
      return true;
    });
    if (!updated) return;
    const x = updated.notice.deliveries.find((y) => y.channel === channel)!;
    this.m.deliveries.inc({ channel, result: outcome });
    const log = this.o.logger;
    const ctx = { event: eventId, code: formatCode(updated.notice.code), channel, to: x.to, attempts: x.attempts };
    if (r.ok) {
      const was = this.down.get(channel);
      if (was) {
        this.down.delete(channel);
        log.info({ channel, target: notifier?.target, downS: Math.round((now - was.since) / 1000), failedAttempts: was.failures }, `${CHANNEL_NAMES[channel]} reachable again: sending the waiting notices`);
        this.expedite(channel);
      }
      if (channel !== 'console') log.info(ctx, 'notice sent');
      return;
    }
    if (outcome === 'failed') {
      log.error({ ...ctx, err: r.error }, r.ok === false && r.permanent ? 'notice refused: not retried' : `notice not delivered after ${x.attempts} attempts: given up on this channel`);
      return;
    }
    const was = this.down.get(channel);
    if (!was) {
      this.down.set(channel, { since: now, failures: 1 });
      log.warn({ ...ctx, target: notifier?.target, err: r.error }, `${CHANNEL_NAMES[channel]} unavailable: notices wait and are retried with backoff (logged once until it is back)`);
    } else {
      was.failures++;
      log.debug({ ...ctx, err: r.error }, 'notice delivery failed; will retry');
    }
  }

  /** The channel answers again: what waits on it is tried at once instead of after its own backoff. */
  private expedite(channel: Channel): void {
    void (async () => {
      const now = this.now();
      const waiting = (await this.store.due(Number.MAX_SAFE_INTEGER, 1000)).filter((r) =>
        r.notice.deliveries.some((d) => d.channel === channel && d.status === 'pending' && this.deliveryDue(d, r.work) > now),
      );
      for (const r of waiting) {
        await this.mutate(r.notice.eventId, (cur) => {
          if (!cur.notice.deliveries.some((d) => d.channel === channel && d.status === 'pending')) return false;
          (cur.work.retryAt ??= {})[channel] = now;
          return true;
        });
      }
      if (waiting.length) this.kick();
    })().catch((e: Error) => this.o.logger.warn({ channel, err: e.message }, 'could not bring the waiting notices forward; they go at their own time'));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Re-checks

  private async recheckStep(rec: NoticeRecord, now: number): Promise<void> {
    const n = rec.notice;
    const req = rec.work.request;
    const attempts = n.recheck?.attempts ?? 0;
    const max = this.o.config.recheck.attempts;
    if (!req) {
      if ((n.recheckAt ?? 0) <= now) await this.ask(n, rec.work, attempts + 1, now);
      return;
    }
    if (req.deadline > now) return;
    // The latest attempt timed out (or answered "unavailable"): ask again, or leave it to a reviewer.
    if (attempts < max) {
      await this.ask(n, rec.work, attempts + 1, now, rec.work.answered.includes(req.id) ? 'the last attempt could not see the zone' : 'no answer to the last attempt in time');
      return;
    }
    await this.giveUp(n.eventId, req.id, `no answer from a vision worker after ${attempts} attempts`);
  }

  /** Publishes re-check attempt `attempt` and records it. */
  private async ask(n: Notice, work: NoticeWork, attempt: number, now: number, why?: string): Promise<void> {
    const cfg = this.o.config.recheck;
    const req: RecheckRequest = RecheckRequestSchema.parse({
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
    // Published before it is recorded: after a crash in between, the same attempt is asked again (results are
    // idempotent by request id), rather than an attempt recorded that nobody was asked.
    try {
      await this.o.bus.publish('rechecks', [{ key: n.cameraId, value: JSON.stringify(req) }]);
      if (this.busDown) this.o.logger.info('re-check requests published on the bus again');
      this.busDown = false;
    } catch (e) {
      if (!this.busDown) this.o.logger.warn({ event: n.eventId, err: (e as Error).message }, 'cannot publish the re-check request on the bus; retrying');
      this.busDown = true;
      return;
    }
    this.m.rechecks.inc();
    await this.mutate(n.eventId, (cur) => {
      if (cur.notice.status !== 'awaiting-recheck') return false;
      cur.work.request = { id: req.id, requestedAt: req.requestedAt, deadline: req.deadline };
      cur.notice.recheck = { ...(cur.notice.recheck ?? { evidence: [] }), attempts: attempt };
      return true;
    });
    this.o.logger.info({ event: n.eventId, code: formatCode(n.code), camera: n.cameraId, zone: n.zoneId, attempt, request: req.id, ...(why ? { why } : {}) }, 're-check asked');
  }

  private async giveUp(eventId: string, requestId: string, detail: string, checkedAt?: number): Promise<void> {
    const now = this.now();
    const rec = await this.mutate(eventId, (cur) => {
      if (cur.notice.status !== 'awaiting-recheck' || cur.work.request?.id !== requestId) return false;
      const n = cur.notice;
      n.status = 'recheck-unavailable';
      n.reason = 'recheck-unavailable';
      n.closedAt = now;
      n.recheck = { ...(n.recheck ?? { attempts: 0, evidence: [] }), result: 'unavailable', checkedAt: checkedAt ?? now, detail };
      return true;
    });
    if (!rec) return;
    this.m.outcomes.inc({ status: 'recheck-unavailable', reason: 'recheck-unavailable' });
    this.o.logger.warn({ event: eventId, code: formatCode(rec.notice.code), attempts: rec.notice.recheck?.attempts, detail }, 're-check unavailable after every attempt: left to a reviewer');
  }

  /** Applies one re-check result; a repeat, an unknown request or a notice already decided changes nothing. */
  async applyResult(r: RecheckResult): Promise<Notice | null> {
    const now = this.now();
    let became = null as NoticeStatus | null;
    let ignored = '';
    const rec = await this.mutate(r.eventId, (cur) => {
      const n = cur.notice;
      const w = cur.work;
      if (n.status !== 'awaiting-recheck') return void (ignored = `notice is ${n.status}`), false;
      if (w.answered.includes(r.id)) return void (ignored = 'already applied'), false;
      const m = /#(\d+)$/.exec(r.id);
      const attempt = m ? Number(m[1]) : NaN;
      if (!r.id.startsWith(`${n.eventId}#`) || !(attempt >= 1 && attempt <= (n.recheck?.attempts ?? 0))) return void (ignored = 'not a request of this notice'), false;
      w.answered.push(r.id);
      const record = { attempts: n.recheck?.attempts ?? attempt, evidence: [...(n.recheck?.evidence ?? []), ...r.evidence], checkedAt: r.checkedAt, ...(r.detail ? { detail: r.detail } : {}) };
      if (r.result === 'unavailable') {
        n.recheck = record;
        // Only the latest attempt's answer moves on: the last one ends it, an earlier one waits for its deadline.
        if (w.request?.id === r.id && record.attempts >= this.o.config.recheck.attempts) {
          n.status = 'recheck-unavailable';
          n.reason = 'recheck-unavailable';
          n.recheck = { ...record, result: 'unavailable' };
          n.closedAt = now;
          became = n.status;
        }
        return true;
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
      became = n.status;
      return true;
    });
    const log = this.o.logger;
    if (!rec) {
      log.debug({ event: r.eventId, request: r.id, result: r.result, why: ignored || 'no such notice' }, 're-check result ignored');
      return null;
    }
    this.m.results.inc({ result: r.result });
    const n = rec.notice;
    const ctx = { event: n.eventId, code: formatCode(n.code), request: r.id, result: r.result, worker: r.worker, evidence: r.evidence.length };
    if (became) this.m.outcomes.inc({ status: n.status, reason: n.reason });
    if (became === 'corrected') log.info(ctx, 'corrected after notice: closed without a case');
    else if (became === 'case') {
      log.info(ctx, 'not corrected after notice: filing the case');
      await this.fileCase(n.eventId);
    } else if (became === 'recheck-unavailable') log.warn({ ...ctx, detail: r.detail }, 're-check unavailable after every attempt: left to a reviewer');
    else log.info({ ...ctx, detail: r.detail }, 're-check could not see the zone');
    return (await this.store.get(n.eventId)) ?? n;
  }

  private async onResults(batch: { value: RecheckResult }[]): Promise<void> {
    // A store error throws: the bus delivers the batch again. (Malformed results were dead-lettered by the decoder.)
    for (const { value } of batch) await this.applyResult(value);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Cases

  /** Files the notice's case if it is due one and has none; a failure is retried by the loop with backoff. */
  private fileCase(eventId: string): Promise<void> {
    const running = this.filing.get(eventId);
    if (running) return running;
    const p = this.fileCaseOnce(eventId)
      .catch((e: Error) => this.o.logger.error({ event: eventId, err: e.message }, 'case filing bookkeeping failed; retried by the loop'))
      .finally(() => this.filing.delete(eventId));
    this.filing.set(eventId, p);
    return p;
  }

  private async fileCaseOnce(eventId: string): Promise<void> {
    const rec = await this.store.record(eventId);
    if (!rec || rec.notice.status !== 'case' || rec.notice.caseId) return;
    let caseId: string;
    try {
      caseId = (await this.o.deps.fileCase(eventId, { notice: rec.notice })).id;
    } catch (e) {
      const err = (e as Error).message;
      const now = this.now();
      const c = this.o.config.delivery;
      const r = await this.mutate(eventId, (cur) => {
        if (cur.notice.caseId) return false;
        cur.work.caseAttempts++;
        cur.work.caseError = err;
        cur.work.caseNextAt = now + exponentialMs(cur.work.caseAttempts, c.retryBaseMs, c.retryMaxMs);
        return true;
      });
      const attempts = r?.work.caseAttempts ?? 0;
      this.o.logger[attempts === 1 || attempts % 10 === 0 ? 'error' : 'debug']({ event: eventId, attempts, err }, 'filing the case failed; retrying');
      return;
    }
    const r = await this.mutate(eventId, (cur) => {
      if (cur.notice.caseId) return false;
      cur.notice.caseId = caseId;
      cur.notice.closedAt ??= this.now();
      delete cur.work.caseNextAt;
      delete cur.work.caseError;
      return true;
    });
    if (r) this.o.logger.info({ event: eventId, code: formatCode(r.notice.code), case: caseId, reason: r.notice.reason }, 'case filed');
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Reading

  get(eventId: string): Promise<Notice | null> {
    return this.store.get(eventId);
  }

  list(q: NoticeQuery): Promise<{ items: Notice[]; total: number }> {
    return this.store.list(q);
  }

  /** The notices of these events, by event id (GET /api/events adds `notice` to its items with noticeSummary). */
  byEvents(eventIds: readonly string[]): Promise<Map<string, Notice>> {
    return this.store.byEvents(eventIds);
  }

  /** Violations per party and type within the leniency window; registered shops are listed even without any. */
  async partyCounts(): Promise<PartyCounts> {
    const windowDays = this.o.config.leniency.windowDays;
    const rows = await this.store.partyCounts(this.now() - windowDays * DAY_MS);
    const zero = () => Object.fromEntries(EVENT_TYPES.map((t) => [t, 0])) as Record<EventType, number>;
    const byId = new Map<string, PartyCounts['items'][number]>();
    const add = (p: Party) => {
      let item = byId.get(p.id);
      if (!item) {
        item = { id: p.id, kind: p.kind, name: p.name, ...(p.licenceNo ? { licenceNo: p.licenceNo } : {}), counts: zero(), lastAt: null };
        byId.set(p.id, item);
      }
      return item;
    };
    for (const p of this.o.parties.shops()) add(p);
    for (const r of rows) {
      const item = add(r.party);
      item.counts[r.type] += r.count;
      item.lastAt = Math.max(item.lastAt ?? 0, r.lastAt);
    }
    const total = (i: PartyCounts['items'][number]) => Object.values(i.counts).reduce((a, b) => a + b, 0);
    const items = [...byId.values()].sort((a, b) => total(b) - total(a) || (b.lastAt ?? 0) - (a.lastAt ?? 0) || a.name.localeCompare(b.name, 'zh-CN'));
    return { windowDays, items };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Life cycle

  /** Subscribes the re-check results and starts the loop (a first pass at once: due re-checks after a restart). */
  async start(): Promise<void> {
    if (this.started || this.closed) return;
    this.started = true;
    this.sub = await subscribeDecoded<RecheckResult>(this.o.bus, 'recheck-results', this.o.group ?? 'notices', (batch) => this.onResults(batch), {
      maxBatch: 50,
      decode: jsonDecoder(RecheckResultSchema),
      deadLetters: this.o.deadLetters,
      logger: this.o.logger,
    });
    const period = this.o.tickMs ?? 1000;
    const loop = () => {
      if (this.closed) return;
      this.timer = setTimeout(() => void this.tick().catch(() => undefined).finally(loop), period);
    };
    await this.tick();
    loop();
  }

  /** Stops the loop and the subscription; sends in progress are aborted (and made again after a restart). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.sub?.close();
    await this.ticking;
    await this.idle();
    await this.lock.catch(() => undefined);
    for (const n of this.notifiers.values()) await n.close?.().catch(() => undefined);
    if (this.ownsStore) await this.store.close();
  }
}

const OUTCOME_LOG: Record<OutcomeReason, string> = {
  notified: 'notice created: the party is told, the camera re-checks after the grace period',
  'first-offence-leniency': 'notice created: first offence within the window, it ends at the notice',
  'repeat-offence': 'notice created: repeat offence, the party is told and a case is filed',
  'no-contact': 'no registered contact for this event: filing the case directly',
  'camera-not-published': 'camera not published long enough: nothing sent, no case',
  'corrected-after-notice': 'corrected after notice',
  'uncorrected-after-notice': 'not corrected after notice',
  'recheck-unavailable': 're-check unavailable',
};
