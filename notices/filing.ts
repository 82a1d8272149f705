// Filing: a notice that ends in a case has it filed through NoticeDeps.fileCase (cases/), once; a failure (the case
// store down) is retried by the service's loop with backoff, without limit (policy.ts).
import type { Logger } from '../runtime/log.js';
import type { NoticeBook } from './book.js';
import { formatCode } from './codes.js';
import type { NoticesConfig } from './config.js';
import { loudFilingFailure, recordFiled, recordFilingFailure } from './policy.js';
import type { NoticeDeps } from './types.js';

export class CaseFiling {
  private readonly filing = new Map<string, Promise<void>>();

  constructor(
    private readonly o: {
      book: NoticeBook;
      fileCase: NoticeDeps['fileCase'];
      config: NoticesConfig;
      logger: Logger;
      now: () => number;
    },
  ) {}

  /** The filings running now. */
  running(): Promise<void>[] {
    return [...this.filing.values()];
  }

  /** Files the notice's case if it is due one and has none; a failure is retried by the loop with backoff. */
  file(eventId: string): Promise<void> {
    const running = this.filing.get(eventId);
    if (running) return running;
    const p = this.fileOnce(eventId)
      .catch((e: Error) =>
        this.o.logger.error({ event: eventId, err: e.message }, 'case filing bookkeeping failed; retried by the loop'),
      )
      .finally(() => this.filing.delete(eventId));
    this.filing.set(eventId, p);
    return p;
  }

  private async fileOnce(eventId: string): Promise<void> {
    const { book, logger } = this.o;
    const rec = await book.store.record(eventId);
    if (!rec || rec.notice.status !== 'case' || rec.notice.caseId) return;
    let caseId: string;
    try {
      caseId = (await this.o.fileCase(eventId, { notice: rec.notice })).id;
    } catch (e) {
      const err = (e as Error).message;
      const now = this.o.now();
      const r = await book.mutate(eventId, (cur) => recordFilingFailure(cur, err, now, this.o.config));
      const attempts = r?.work.caseAttempts ?? 0;
      logger[loudFilingFailure(attempts) ? 'error' : 'debug'](
        { event: eventId, attempts, err },
        'filing the case failed; retrying',
      );
      return;
    }
    const r = await book.mutate(eventId, (cur) => recordFiled(cur, caseId, this.o.now()));
    if (r)
      logger.info(
        { event: eventId, code: formatCode(r.notice.code), case: caseId, reason: r.notice.reason },
        'case filed',
      );
  }
}
