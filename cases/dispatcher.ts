// Takes cases out of the outbox (the pending deliveries in the case store) and hands them to the adapter, and
// publishes new cases on the bus topic `cases`. A failed attempt that may succeed later is retried with exponential
// backoff: each attempt is bounded by the adapter's timeout, retrying is unbounded in time (a case is never given
// up because the case system was down for long), and the interval is capped. During an outage one case at a time
// probes the case system, so a thousand waiting cases do not become a thousand requests per interval. An outage is
// logged once when it starts and once when it ends, not per attempt. When the case system answers again, every
// waiting case becomes due at once instead of waiting out its own backoff.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Bus } from '../bus/types.js';
import type { Logger } from '../runtime/log.js';
import type { CaseAdapter } from './adapters.js';
import type { CaseStore } from './store.js';
import { exponentialMs } from '../runtime/backoff.js';

export interface DispatcherOptions {
  store: CaseStore;
  adapter: CaseAdapter;
  /** Cases are published on the topic `cases` when given. */
  bus?: Bus;
  logger: Logger;
  /** First retry after about this long; doubling per failed attempt of a case... */
  retryBaseMs: number;
  /** ...up to this interval (CASE_RETRY_MAX_MS). */
  retryMaxMs: number;
  registry?: Registry;
  /** For tests: the jitter's randomness. */
  random?: () => number;
}

/** The wait before attempt `attempts + 1`: exponential, ±20 % jitter (cases filed together spread out), capped. */
export function backoffMs(
  attempts: number,
  baseMs: number,
  maxMs: number,
  random = Math.random,
  retryAfterMs?: number,
): number {
  const jittered = exponentialMs(attempts, baseMs, maxMs) * (0.8 + 0.4 * random());
  return Math.round(Math.min(maxMs, Math.max(jittered, retryAfterMs ?? 0)));
}

export class Dispatcher {
  private closed = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private kicked = false;
  private outageSince: number | null = null;
  private outageAttempts = 0;
  private failuresInRow = 0;
  /** During an outage: when the next probe may go. */
  private nextProbeAt = 0;
  private busDown = false;
  private readonly m;

  constructor(private readonly o: DispatcherOptions) {
    const registers = o.registry ? [o.registry] : [];
    this.m = {
      attempts: new Counter({
        name: 'case_delivery_attempts_total',
        help: 'Attempts to deliver a case to the case system, by adapter and result (delivered, retry, failed)',
        labelNames: ['adapter', 'result'] as const,
        registers,
      }),
    };
    const store = o.store;
    // Read at scrape time: a growing "pending" is the outbox filling while the case system is down.
    new Gauge({
      name: 'cases_by_delivery_status',
      help: 'Cases by delivery status (pending = waiting in the outbox)',
      labelNames: ['status'] as const,
      registers,
      async collect() {
        const counts = await store.countByStatus().catch(() => null);
        if (counts) for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      },
    });
  }

  /** True during an outage: from two failed attempts in a row until one succeeds. */
  get down(): boolean {
    return this.outageSince !== null;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  /** Something was filed or requeued: look at the outbox now. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Stops after the attempt in progress is aborted; pending cases stay in the outbox for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let errors = 0;
    while (!this.closed) {
      let wait: number;
      try {
        wait = await this.pass();
        errors = 0;
      } catch (e) {
        // The case store failed (disk full?): log the first time, keep trying.
        if (errors++ === 0) this.o.logger.error({ err: (e as Error).message }, 'case outbox: store error; retrying');
        wait = Math.min(this.o.retryMaxMs, 1000 * errors);
      }
      if (this.closed) break;
      await this.sleep(wait);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.kicked) {
      this.kicked = false;
      return Promise.resolve();
    }
    // Look again at least every retryMaxMs even without a kick (a change made by another code path).
    const t = Math.min(ms, this.o.retryMaxMs);
    return new Promise((resolve) => {
      const timer = setTimeout(done, t);
      timer.unref();
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = null;
        self.kicked = false;
        resolve();
      }
      this.wake = done;
    });
  }

  /**
   * One pass over the outbox; returns how long to wait before the next.
   *
   * Normally every due case is tried, oldest schedule first. Two failed attempts in a row (of any cases) mean the
   * case system is down: from then on one case is tried per backoff interval of the outage (the probe), the one
   * whose own schedule is oldest, so a single case the case system chokes on cannot block the rest. The first
   * success ends the outage and makes every waiting case due.
   */
  private async pass(): Promise<number> {
    let wait = Infinity;
    if (this.o.bus) wait = await this.publish();
    const { store, adapter, logger } = this.o;
    for (;;) {
      if (this.outageSince !== null && Date.now() < this.nextProbeAt)
        return Math.min(wait, this.nextProbeAt - Date.now());
      const due = await store.due(Date.now(), this.outageSince !== null ? 1 : 20);
      if (due.length === 0) break;
      for (const item of due) {
        if (this.closed) return 0;
        const r = await adapter.deliver(item, this.abort.signal);
        // An attempt cut short by close() is not an attempt: the case is tried again after the restart.
        if (this.closed && !r.ok) return 0;
        const attempts = item.attempts + 1;
        if (r.ok) {
          await store.markDelivered(item.id, adapter.name, attempts, Date.now());
          this.m.attempts.inc({ adapter: adapter.name, result: 'delivered' });
          logger.info({ case: item.id, adapter: adapter.name, attempts }, 'case delivered');
          this.failuresInRow = 0;
          if (this.outageSince !== null) {
            logger.info(
              {
                adapter: adapter.name,
                target: adapter.target,
                downS: Math.round((Date.now() - this.outageSince) / 1000),
                failedAttempts: this.outageAttempts,
              },
              'case system reachable again: delivering the waiting cases',
            );
            this.outageSince = null;
            this.outageAttempts = 0;
            await store.expedite(Date.now());
            break; // read the outbox again: everything waiting is due now
          }
          continue;
        }
        if (r.permanent) {
          await store.markFailed(item.id, adapter.name, attempts, r.error);
          this.m.attempts.inc({ adapter: adapter.name, result: 'failed' });
          logger.error(
            { case: item.id, adapter: adapter.name, target: adapter.target, err: r.error },
            'case refused by the case system: not retried (fix the cause, then requeue it)',
          );
          continue;
        }
        this.m.attempts.inc({ adapter: adapter.name, result: 'retry' });
        this.failuresInRow++;
        if (this.outageSince === null && this.failuresInRow >= 2) {
          this.outageSince = Date.now();
          logger.warn(
            { adapter: adapter.name, target: adapter.target, err: r.error, case: item.id },
            'case system unavailable: cases wait in the outbox and are retried with backoff (logged once until it is back)',
          );
        }
        if (this.outageSince !== null) {
          this.outageAttempts++;
          const delay = backoffMs(
            this.outageAttempts,
            this.o.retryBaseMs,
            this.o.retryMaxMs,
            this.o.random,
            r.retryAfterMs,
          );
          this.nextProbeAt = Date.now() + delay;
          await store.markRetry(item.id, adapter.name, attempts, this.nextProbeAt, r.error);
          logger.debug({ case: item.id, err: r.error, attempts, retryInMs: delay }, 'case delivery failed; will retry');
          return Math.min(wait, delay);
        }
        // One failure alone may be this case's: it backs off on its own schedule while the others go on.
        const delay = backoffMs(attempts, this.o.retryBaseMs, this.o.retryMaxMs, this.o.random, r.retryAfterMs);
        await store.markRetry(item.id, adapter.name, attempts, Date.now() + delay, r.error);
        if (attempts === 5)
          logger.warn(
            { case: item.id, err: r.error, attempts },
            'case keeps failing while the case system answers others; still retrying',
          );
        else
          logger.debug({ case: item.id, err: r.error, attempts, retryInMs: delay }, 'case delivery failed; will retry');
      }
    }
    const next = await store.nextDue();
    if (next !== null) wait = Math.min(wait, Math.max(0, next - Date.now()));
    return wait;
  }

  /** Publishes unpublished cases on the bus; returns 0 when done, else when to try again. */
  private async publish(): Promise<number> {
    const { store, bus, logger } = this.o;
    for (;;) {
      const items = await store.unpublished(100);
      if (items.length === 0) break;
      try {
        await bus!.publish(
          'cases',
          items.map((i) => ({ key: i.id, value: i.body })),
        );
      } catch (e) {
        if (!this.busDown) logger.warn({ err: (e as Error).message }, 'cannot publish cases on the bus; retrying');
        this.busDown = true;
        return Math.min(this.o.retryMaxMs, 5000);
      }
      if (this.busDown) logger.info('cases published on the bus again');
      this.busDown = false;
      await store.markPublished(items.map((i) => i.id));
    }
    return Infinity;
  }
}
