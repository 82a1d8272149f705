// The retention job (config/retention.json): keeps each kind of record as long as the city must and no longer.
// One run, in order: the readings' 15-minute aggregates are brought up to date, raw readings past rawDays are
// deleted after the aggregates of their buckets are recomputed from them, aggregates past aggregateYears go, then
// the dead letters, then enforcement records past their legal period (events, their cases, their evidence images)
// unless a hold keeps them. Every deletion is logged (what, how many, why) and counted in Prometheus. The clock is
// injected: the tests run years of it without sleeping.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CaseStore } from '../../cases/store.js';
import type { StatementStore } from '../../party/statements.js';
import type { EventStore, StoredEvent } from '../../review/store.js';
import type { Logger } from '../../runtime/log.js';
import { floorBucket, BUCKET_MS } from '../../store/duckdb/aggregates.js';
import { aggregatesOf, type Store } from '../../store/types.js';
import type { EvidenceStore } from '../../vision/evidence/store.js';
import type { RetentionConfig } from './config.js';

const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;
/** Events looked at per query: bounded memory whatever the backlog on the first run. */
const PAGE = 500;

export interface RetentionJobOptions {
  config: RetentionConfig;
  store: Store;
  /** The enforcement records; absent in a process that does not hold them (then only readings and dead letters). */
  enforcement?: { events: EventStore; cases: CaseStore; statements: StatementStore; evidence: EvidenceStore };
  logger: Logger;
  registry?: Registry;
  now?: () => number;
}

export interface RetentionRun {
  aggregated: number;
  readings: number;
  aggregates: number;
  deadLetters: number;
  events: number;
  cases: number;
  evidence: number;
  /** Events past their period that a hold kept, by hold. */
  held: { openCase: number; statement: number };
}

type Kind = 'readings' | 'aggregates' | 'dead_letters' | 'events' | 'cases' | 'evidence';

export class RetentionJob {
  private readonly now: () => number;
  private readonly deleted: Counter<'kind' | 'reason'>;
  private readonly lastRun: Gauge;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  /** Buckets before this are up to date with the readings that arrived in time (null: not yet, on the first run). */
  private aggregatedTo: number | null = null;

  constructor(private readonly o: RetentionJobOptions) {
    this.now = o.now ?? Date.now;
    const registers = o.registry ? [o.registry] : [];
    this.deleted = new Counter({
      name: 'retention_deleted_total',
      help: 'Records deleted by the retention job (config/retention.json), by kind and reason',
      labelNames: ['kind', 'reason'] as const,
      registers,
    });
    this.lastRun = new Gauge({
      name: 'retention_last_success_timestamp_seconds',
      help: 'When the retention job last completed a run',
      registers,
    });
  }

  /** Runs now and then every job.everyMinutes until stop(); a failed run is logged and tried again next time. */
  start(): void {
    const tick = () => {
      this.running = this.run().catch((e: Error) =>
        this.o.logger.error({ err: e.message }, 'retention run failed; tried again at the next run'),
      );
    };
    tick();
    this.timer = setInterval(tick, this.o.config.job.everyMinutes * 60_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private count(kind: Kind, reason: string, n: number, details: Record<string, unknown> = {}): void {
    if (n <= 0) return;
    this.deleted.inc({ kind, reason }, n);
    this.o.logger.info(
      { kind, deleted: n, reason, ...details },
      `retention deleted ${n} ${kind.replace('_', ' ')}: ${reason}`,
    );
  }

  async run(): Promise<RetentionRun> {
    const r: RetentionRun = {
      aggregated: 0,
      readings: 0,
      aggregates: 0,
      deadLetters: 0,
      events: 0,
      cases: 0,
      evidence: 0,
      held: { openCase: 0, statement: 0 },
    };
    await this.readings(r);
    await this.deadLetters(r);
    if (this.o.enforcement) await this.enforcement(r, this.o.enforcement);
    this.lastRun.set(this.now() / 1000);
    return r;
  }

  private async readings(r: RetentionRun): Promise<void> {
    const store = aggregatesOf(this.o.store);
    if (!store) return;
    const c = this.o.config.readings;
    const now = this.now();
    const rawCutoff = floorBucket(now - c.rawDays * DAY_MS);
    // Continuous aggregates: the newest buckets (late readings from edge buffers included) up to the current one. On
    // the first run every bucket of the raw readings kept: a store that had no aggregates gets them.
    const oldest = await store.oldestReading();
    const from =
      this.aggregatedTo === null ? (oldest ?? now) : Math.min(this.aggregatedTo, now - c.lateMinutes * 60_000);
    r.aggregated += await store.downsample(Math.max(from, rawCutoff), floorBucket(now) + BUCKET_MS);
    this.aggregatedTo = floorBucket(now);
    // Raw readings past their period: their buckets are recomputed from them first (a reading that arrived after its
    // bucket was last computed is counted), then they go. Bucket-aligned, so no bucket is left half summarized.
    if (oldest !== null && oldest < rawCutoff) {
      r.aggregated += await store.downsample(oldest, rawCutoff);
      r.readings = await store.pruneReadings(rawCutoff);
      this.count(
        'readings',
        `raw readings older than ${c.rawDays} days (readings.rawDays), kept as 15-minute aggregates`,
        r.readings,
        {
          before: new Date(rawCutoff).toISOString(),
        },
      );
    }
    const aggCutoff = now - c.aggregateYears * YEAR_MS;
    r.aggregates = await store.pruneAggregates(aggCutoff);
    this.count(
      'aggregates',
      `15-minute aggregates older than ${c.aggregateYears} years (readings.aggregateYears)`,
      r.aggregates,
      {
        before: new Date(floorBucket(aggCutoff)).toISOString(),
      },
    );
  }

  private async deadLetters(r: RetentionRun): Promise<void> {
    const c = this.o.config.deadLetters;
    const d = await this.o.store.pruneDeadLetters({
      before: this.now() - c.maxAgeDays * DAY_MS,
      maxBytes: c.maxMB * 1024 * 1024,
    });
    r.deadLetters = d.deleted;
    this.count(
      'dead_letters',
      `older than ${c.maxAgeDays} days or beyond ${c.maxMB} MiB kept (deadLetters)`,
      d.deleted,
      { bytes: d.bytes },
    );
  }

  private async enforcement(r: RetentionRun, e: NonNullable<RetentionJobOptions['enforcement']>): Promise<void> {
    const c = this.o.config.enforcement;
    const now = this.now();
    const periods = [
      {
        status: 'confirmed' as const,
        before: now - c.years * YEAR_MS,
        reason: `confirmed events past the legal period of ${c.years} years (${c.basis})`,
      },
      {
        status: 'rejected' as const,
        before: now - c.rejectedEventDays * DAY_MS,
        reason: `rejected events older than ${c.rejectedEventDays} days (enforcement.rejectedEventDays)`,
      },
    ];
    for (const p of periods) {
      // Held events stay in the list, so the next page starts after them: offset counts only what is kept.
      let offset = 0;
      for (;;) {
        const page = await e.events.list({ status: p.status, decidedTo: p.before, limit: PAGE, offset });
        if (page.items.length === 0) break;
        const doomed: StoredEvent[] = [];
        for (const ev of page.items) {
          const hold = await this.holdOf(ev, e);
          if (hold) {
            r.held[hold]++;
            offset++;
          } else doomed.push(ev);
        }
        await this.deleteEvents(doomed, p.reason, r, e);
        if (page.items.length < PAGE) break;
      }
    }
    if (r.held.openCase + r.held.statement > 0) {
      this.o.logger.info(
        { held: r.held },
        'retention kept enforcement records past their period: open cases and party statements hold them',
      );
    }
  }

  /** Why an event past its period must still be kept, or null. */
  private async holdOf(
    ev: StoredEvent,
    e: NonNullable<RetentionJobOptions['enforcement']>,
  ): Promise<'openCase' | 'statement' | null> {
    // A case the city's case system has not accepted (pending, failed) is open here: its record and evidence stay.
    if (ev.caseId) {
      const cs = await e.cases.get(ev.caseId);
      if (cs && cs.delivery.status !== 'delivered') return 'openCase';
    }
    if ((await e.statements.byEvent(ev.event.id)).length > 0) return 'statement';
    return null;
  }

  private async deleteEvents(
    doomed: StoredEvent[],
    reason: string,
    r: RetentionRun,
    e: NonNullable<RetentionJobOptions['enforcement']>,
  ): Promise<void> {
    if (doomed.length === 0) return;
    // Records first, images after: a crash in between leaves an unreferenced image, never an event without its evidence.
    const caseIds = doomed.flatMap((x) => (x.caseId ? [x.caseId] : []));
    const cases = await e.cases.deleteMany(caseIds);
    const events = await e.events.deleteMany(doomed.map((x) => x.event.id));
    r.cases += cases;
    r.events += events;
    this.count('cases', `cases of ${reason}`, cases);
    this.count('events', reason, events);
    let images = 0;
    const shas = new Set(doomed.flatMap((x) => x.event.evidence.map((i) => i.sha256)));
    for (const sha of shas) {
      // Content-addressed: the same image may belong to an event that is kept.
      if (await e.events.mentions(sha)) continue;
      if (await e.evidence.delete(sha)) images++;
    }
    r.evidence += images;
    this.count('evidence', `evidence images of ${reason}`, images);
  }
}
