// The dead letters' retention: anyone who can publish can fill the dead-letter store with refused messages, so it is
// bounded in age (DEAD_LETTER_MAX_AGE_DAYS) and in size (DEAD_LETTER_MAX_MB), applied at start and every few minutes
// by the process that writes them (ingest). Every deletion is logged with what it removed.
import type { Logger } from '../runtime/log.js';
import type { Store } from '../store/types.js';

export interface DeadLetterRetentionOptions {
  store: Pick<Store, 'pruneDeadLetters' | 'name'>;
  maxAgeDays: number;
  /** Payload bytes kept in all dead letters together. */
  maxBytes: number;
  logger: Logger;
  /** How often the retention is applied; default 10 minutes. */
  everyMs?: number;
  now?: () => number;
}

const DAY_MS = 86_400_000;

export class DeadLetterRetention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly o: DeadLetterRetentionOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Applies the retention now and then periodically, until stop(). */
  start(): void {
    const tick = () => {
      this.running = this.prune().catch((e: Error) =>
        this.o.logger.error(
          { err: e.message, store: this.o.store.name },
          'applying the dead-letter retention failed; tried again later',
        ),
      );
    };
    tick();
    this.timer = setInterval(tick, this.o.everyMs ?? 10 * 60_000);
    this.timer.unref();
  }

  /** Deletes what is too old or over the size; logs what it deleted. */
  async prune(): Promise<{ deleted: number; bytes: number }> {
    const r = await this.o.store.pruneDeadLetters({
      before: this.now() - this.o.maxAgeDays * DAY_MS,
      maxBytes: this.o.maxBytes,
    });
    if (r.deleted > 0) {
      this.o.logger.info(
        {
          deleted: r.deleted,
          bytes: r.bytes,
          maxAgeDays: this.o.maxAgeDays,
          maxBytes: this.o.maxBytes,
          store: this.o.store.name,
        },
        'dead letters deleted by their retention (DEAD_LETTER_MAX_AGE_DAYS, DEAD_LETTER_MAX_MB)',
      );
    }
    return r;
  }

  /** Stops the timer and waits for a run in progress (the store may be closed next). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
