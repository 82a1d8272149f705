// Re-check: asking the camera to look again when the grace period is over (bus topic `rechecks`), and matching the
// vision worker's answers (`recheck-results`, group `notices`) to their notices, once per request id. What each
// answer or silence means is policy.ts's; a case that follows is filed by filing.ts.
import type { Counter } from 'prom-client';
import { jsonDecoder, subscribeDecoded } from '../bus/decoded.js';
import type { Bus, Subscription } from '../bus/types.js';
import { RecheckResultSchema, type RecheckResult } from '../contracts/rechecks.js';
import type { Logger } from '../runtime/log.js';
import type { DeadLetterStore } from '../store/types.js';
import type { NoticeBook } from './book.js';
import { formatCode } from './codes.js';
import type { NoticesConfig } from './config.js';
import { applyRecheckResult, giveUpRecheck, recheckAction, recheckRequest, recordRequest } from './policy.js';
import type { NoticeRecord } from './store.js';
import type { Notice, NoticeStatus } from './types.js';

export interface RechecksOptions {
  book: NoticeBook;
  bus: Bus;
  deadLetters: Pick<DeadLetterStore, 'add'>;
  config: NoticesConfig;
  logger: Logger;
  metrics: { requests: Counter; results: Counter<'result'>; outcomes: Counter<'status' | 'reason'> };
  now: () => number;
  /** Files the case of a notice that was not corrected. */
  fileCase: (eventId: string) => Promise<void>;
  /** Consumer group on `recheck-results`. */
  group: string;
}

export class Rechecks {
  private sub: Subscription | null = null;
  private busDown = false;

  constructor(private readonly o: RechecksOptions) {}

  /** Subscribes the re-check results. */
  async subscribe(): Promise<void> {
    this.sub = await subscribeDecoded<RecheckResult>(
      this.o.bus,
      'recheck-results',
      this.o.group,
      (batch) => this.onResults(batch),
      {
        maxBatch: 50,
        decode: jsonDecoder(RecheckResultSchema),
        deadLetters: this.o.deadLetters,
        logger: this.o.logger,
      },
    );
  }

  async close(): Promise<void> {
    await this.sub?.close();
  }

  /** Does what an awaiting notice needs now: ask (again), or give up after the last attempt. */
  async step(rec: NoticeRecord, now: number): Promise<void> {
    const a = recheckAction(rec, now, this.o.config);
    if (a.do === 'ask') await this.ask(rec, a.attempt, now, a.why);
    else if (a.do === 'give-up') await this.giveUp(rec.notice.eventId, a.requestId, a.detail);
  }

  /** Publishes re-check attempt `attempt` and records it. */
  private async ask(rec: NoticeRecord, attempt: number, now: number, why?: string): Promise<void> {
    const n = rec.notice;
    const req = recheckRequest(n, rec.work, attempt, now, this.o.config);
    // Published before it is recorded: after a crash in between, the same attempt is asked again (results are
    // idempotent by request id), rather than an attempt recorded that nobody was asked.
    try {
      await this.o.bus.publish('rechecks', [{ key: n.cameraId, value: JSON.stringify(req) }]);
      if (this.busDown) this.o.logger.info('re-check requests published on the bus again');
      this.busDown = false;
    } catch (e) {
      if (!this.busDown)
        this.o.logger.warn(
          { event: n.eventId, err: (e as Error).message },
          'cannot publish the re-check request on the bus; retrying',
        );
      this.busDown = true;
      return;
    }
    this.o.metrics.requests.inc();
    await this.o.book.mutate(n.eventId, (cur) => recordRequest(cur, req, attempt));
    this.o.logger.info(
      {
        event: n.eventId,
        code: formatCode(n.code),
        camera: n.cameraId,
        zone: n.zoneId,
        attempt,
        request: req.id,
        ...(why ? { why } : {}),
      },
      're-check asked',
    );
  }

  private async giveUp(eventId: string, requestId: string, detail: string): Promise<void> {
    const now = this.o.now();
    const rec = await this.o.book.mutate(eventId, (cur) => giveUpRecheck(cur, requestId, detail, now));
    if (!rec) return;
    this.o.metrics.outcomes.inc({ status: 'recheck-unavailable', reason: 'recheck-unavailable' });
    this.o.logger.warn(
      { event: eventId, code: formatCode(rec.notice.code), attempts: rec.notice.recheck?.attempts, detail },
      're-check unavailable after every attempt: left to a reviewer',
    );
  }

  /** Applies one re-check result; a repeat, an unknown request or a notice already decided changes nothing. */
  async apply(r: RecheckResult): Promise<Notice | null> {
    const now = this.o.now();
    let became = null as NoticeStatus | null;
    let ignored = '';
    const rec = await this.o.book.mutate(r.eventId, (cur) => {
      const effect = applyRecheckResult(cur, r, now, this.o.config);
      if ('ignored' in effect) return (void (ignored = effect.ignored), false);
      became = effect.became;
      return true;
    });
    const log = this.o.logger;
    if (!rec) {
      log.debug(
        { event: r.eventId, request: r.id, result: r.result, why: ignored || 'no such notice' },
        're-check result ignored',
      );
      return null;
    }
    this.o.metrics.results.inc({ result: r.result });
    const n = rec.notice;
    const ctx = {
      event: n.eventId,
      code: formatCode(n.code),
      request: r.id,
      result: r.result,
      worker: r.worker,
      evidence: r.evidence.length,
    };
    if (became) this.o.metrics.outcomes.inc({ status: n.status, reason: n.reason });
    if (became === 'corrected') log.info(ctx, 'corrected after notice: closed without a case');
    else if (became === 'case') {
      log.info(ctx, 'not corrected after notice: filing the case');
      await this.o.fileCase(n.eventId);
    } else if (became === 'recheck-unavailable')
      log.warn({ ...ctx, detail: r.detail }, 're-check unavailable after every attempt: left to a reviewer');
    else log.info({ ...ctx, detail: r.detail }, 're-check could not see the zone');
    return (await this.o.book.store.get(n.eventId)) ?? n;
  }

  private async onResults(batch: { value: RecheckResult }[]): Promise<void> {
    // A store error throws: the bus delivers the batch again. (Malformed results were dead-lettered by the decoder.)
    for (const { value } of batch) await this.apply(value);
  }
}
