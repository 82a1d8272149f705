// The notice service: what happens after a reviewer confirms an event. It decides, in this order, whether the
// camera may enforce at all (its location published long enough), who the party is and whether they can be told,
// whether a first offence ends at the notice (leniency), and otherwise tells the party and has the camera look again
// after the grace period; only an uncorrected (or repeated, or untellable) violation becomes a case.
//
// Everything the service still has to do is kept with the notice in the store (deliveries to retry, the re-check to
// ask or to time out, the case to file), and a timer loop of about a second does it. A restart, a down SMS gateway or
// a vision worker that does not answer lose nothing: the loop carries on from the store. Re-check results arrive on
// bus topic `recheck-results` (group `notices`) and are applied once per request id.
//
// This class coordinates; the decisions are policy.ts's (pure), telling the party delivery.ts's, the re-check
// protocol recheck.ts's, filing the case filing.ts's, and the read-modify-write of a notice book.ts's.
import { EventEmitter } from 'node:events';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Bus } from '../bus/types.js';
import type { EnforcementEvent, EventType } from '../contracts/index.js';
import type { RecheckResult } from '../contracts/rechecks.js';
import { localDay } from '../runtime/time.js';
import type { Logger } from '../runtime/log.js';
import type { DeadLetterStore } from '../store/types.js';
import type { StoredEvent } from '../review/store.js';
import type { Camera, CameraRegistry } from '../vision/cameras/config.js';
import { NoticeBook } from './book.js';
import { formatCode, generateCode } from './codes.js';
import type { NoticesConfig } from './config.js';
import { NoticeDelivery } from './delivery.js';
import { CaseFiling } from './filing.js';
import type { Notifier } from './notifiers/types.js';
import type { PartyRegistry } from './parties.js';
import {
  DAY_MS,
  caseDue,
  decideNotice,
  dueChannels,
  mayEnforce,
  needsPriorOffences,
  partyCountItems,
  priorOffencesSince,
} from './policy.js';
import { Rechecks } from './recheck.js';
import { CodeTakenError, NoticeStore, type NoticeQuery, type NoticeRecord } from './store.js';
import type { Notice, NoticeDeps, OutcomeReason, Party } from './types.js';

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
  items: {
    id: string;
    kind: Party['kind'];
    name: string;
    licenceNo?: string;
    counts: Record<EventType, number>;
    lastAt: number | null;
  }[];
}

export class NoticeService extends EventEmitter {
  private readonly now: () => number;
  private readonly book: NoticeBook;
  private readonly delivery: NoticeDelivery;
  private readonly rechecks: Rechecks;
  private readonly filing: CaseFiling;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private started = false;
  private storeDown = false;
  private readonly m;

  private constructor(
    readonly store: NoticeStore,
    private readonly ownsStore: boolean,
    private readonly o: NoticeServiceOptions,
  ) {
    super();
    this.now = o.now ?? Date.now;
    const registers = o.registry ? [o.registry] : [];
    this.m = {
      outcomes: new Counter({
        name: 'notice_outcomes_total',
        help: 'Notices reaching a status, by status and reason',
        labelNames: ['status', 'reason'] as const,
        registers,
      }),
      deliveries: new Counter({
        name: 'notice_delivery_attempts_total',
        help: 'Attempts to tell a party, by channel and result (sent, retry, failed)',
        labelNames: ['channel', 'result'] as const,
        registers,
      }),
      rechecks: new Counter({
        name: 'notice_recheck_requests_total',
        help: 'Re-check requests published to the vision workers',
        registers,
      }),
      results: new Counter({
        name: 'notice_recheck_results_total',
        help: 'Re-check results applied, by result',
        labelNames: ['result'] as const,
        registers,
      }),
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
    const { config, logger } = o;
    this.book = new NoticeBook(store, config, (n) => this.emit('change', n));
    this.delivery = new NoticeDelivery({
      book: this.book,
      notifiers: o.notifiers,
      config,
      logger,
      attempts: this.m.deliveries,
      now: this.now,
      kick: () => this.kick(),
      closed: () => this.closed,
    });
    this.filing = new CaseFiling({ book: this.book, fileCase: o.deps.fileCase, config, logger, now: this.now });
    this.rechecks = new Rechecks({
      book: this.book,
      bus: o.bus,
      deadLetters: o.deadLetters,
      config,
      logger,
      metrics: { requests: this.m.rechecks, results: this.m.results, outcomes: this.m.outcomes },
      now: this.now,
      fileCase: (id) => this.filing.file(id),
      group: o.group ?? 'notices',
    });
  }

  static async open(o: NoticeServiceOptions): Promise<NoticeService> {
    if (!o.store && !o.file) throw new Error('NoticeService.open needs a store or a file');
    const store = o.store ?? (await NoticeStore.open(o.file!));
    const s = new NoticeService(store, !o.store, o);
    o.logger.info(
      {
        channels: s.delivery.describe(),
        leniency: o.config.leniency.enabled,
        publicationDays: o.config.publicationDays,
      },
      'notice service ready',
    );
    return s;
  }

  private get timeZone(): string {
    return this.o.cameras.timeZone;
  }

  private camera(id: string): Camera | undefined {
    return this.o.cameras.cameras.find((c) => c.id === id);
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
    if (stored.status !== 'confirmed')
      throw new Error(`event ${stored.event.id} is ${stored.status}, not confirmed: no notice`);
    const e = stored.event;
    const existing = await this.store.record(e.id);
    if (existing) return this.complete(existing);

    const now = this.now();
    const camera = this.camera(e.camera.id);
    const enforcing = mayEnforce(camera, e, this.o.config, this.timeZone);
    // The lookup may ask the city's plate service: outside the lock.
    const party = enforcing ? await this.lookup(e) : null;

    const { record, created } = await this.book.locked(async () => {
      const again = await this.store.record(e.id);
      if (again) return { record: again, created: false };
      if (!enforcing)
        this.o.logger.debug(
          { event: e.id, camera: e.camera.id, publishedAt: camera?.publishedAt ?? null, known: Boolean(camera) },
          'camera not enforcing',
        );
      const priorOffences = needsPriorOffences(enforcing, party)
        ? await this.store.priorOffences(party.id, e.type, priorOffencesSince(e, this.o.config), e.id)
        : 0;
      const rec = decideNotice({
        stored,
        camera,
        enforcing,
        party,
        priorOffences,
        code: generateCode(),
        channels: this.delivery.channels,
        config: this.o.config,
        timeZone: this.timeZone,
        now,
      });
      for (let i = 0; ; i++) {
        try {
          return await this.store.insertIfAbsent(rec, {
            plate: e.plate?.text,
            day: localDay(e.start, this.timeZone),
            start: e.start,
          });
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
    if (n.status === 'case') await this.filing.file(n.eventId);
    if (n.deliveries.some((d) => d.status === 'pending')) this.kick();
    return (await this.store.get(n.eventId)) ?? n;
  }

  /** Who would be told if this event were confirmed (the review queue's preview). Never throws. */
  async preview(event: EnforcementEvent): Promise<PartyPreview> {
    const enforcing = mayEnforce(this.camera(event.camera.id), event, this.o.config, this.timeZone);
    const party = await this.lookup(event);
    return {
      known: party !== null,
      ...(party ? { kind: party.kind, name: party.name } : {}),
      contact: Boolean(party?.phone),
      enforcing,
    };
  }

  private async lookup(e: EnforcementEvent): Promise<Party | null> {
    try {
      return await this.o.parties.lookup(e);
    } catch (err) {
      this.o.logger.warn({ event: e.id, err: (err as Error).message }, 'party lookup failed: treated as unknown');
      return null;
    }
  }

  /** A code collision (never expected): a fresh code, and texts that carry it. */
  private rewriteCode(rec: NoticeRecord, e: EnforcementEvent): void {
    const old = rec.notice.code;
    const fresh = generateCode();
    rec.notice.code = fresh;
    for (const d of rec.notice.deliveries)
      if (d.text) d.text = d.text.split(formatCode(old)).join(formatCode(fresh)).split(old).join(fresh);
    this.o.logger.warn({ event: e.id }, 'query code collision: drew another');
  }

  /** Completes what a notice left undone (a second onConfirmed, a restart) and returns it. */
  private async complete(rec: NoticeRecord): Promise<Notice> {
    const n = rec.notice;
    if (n.status === 'case' && !n.caseId) await this.filing.file(n.eventId);
    if (n.deliveries.some((d) => d.status === 'pending')) this.kick();
    return (await this.store.get(n.eventId)) ?? n;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The loop

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
    for (let running = this.running(); running.length; running = this.running()) await Promise.allSettled(running);
  }

  private running(): Promise<void>[] {
    return [...this.delivery.running(), ...this.filing.running()];
  }

  private async pass(): Promise<void> {
    if (this.closed) return;
    let due: NoticeRecord[];
    try {
      due = await this.store.due(this.now(), 200);
      if (this.storeDown) this.o.logger.info('notice store readable again');
      this.storeDown = false;
    } catch (e) {
      if (!this.storeDown && !this.closed)
        this.o.logger.error({ err: (e as Error).message }, 'notice store error; retrying');
      this.storeDown = true;
      return;
    }
    for (const rec of due) {
      if (this.closed) return;
      const n = rec.notice;
      const now = this.now();
      for (const channel of dueChannels(rec, now, this.o.config)) this.delivery.start(n.eventId, channel);
      if (caseDue(rec, now)) void this.filing.file(n.eventId);
      if (n.status === 'awaiting-recheck') {
        try {
          await this.rechecks.step(rec, now);
        } catch (e) {
          this.o.logger.error({ event: n.eventId, err: (e as Error).message }, 're-check step failed; retrying');
        }
      }
    }
  }

  /** Applies one re-check result; a repeat, an unknown request or a notice already decided changes nothing. */
  applyResult(r: RecheckResult): Promise<Notice | null> {
    return this.rechecks.apply(r);
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
    return { windowDays, items: partyCountItems(this.o.parties.shops(), rows) };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Life cycle

  /** Subscribes the re-check results and starts the loop (a first pass at once: due re-checks after a restart). */
  async start(): Promise<void> {
    if (this.started || this.closed) return;
    this.started = true;
    await this.rechecks.subscribe();
    const period = this.o.tickMs ?? 1000;
    const loop = () => {
      if (this.closed) return;
      this.timer = setTimeout(
        () =>
          void this.tick()
            .catch(() => undefined)
            .finally(loop),
        period,
      );
    };
    await this.tick();
    loop();
  }

  /** Stops the loop and the subscription; sends in progress are aborted (and made again after a restart). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.delivery.abortSends();
    await this.rechecks.close();
    await this.ticking;
    await this.idle();
    await this.book.settled();
    await this.delivery.close();
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
