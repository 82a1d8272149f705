// The notices as the service changes them: read-modify-write one at a time (the loop, re-check results and
// confirmations touch the same rows), each change rescheduled from what is left to do and announced.
import type { NoticesConfig } from './config.js';
import { scheduleNotice } from './policy.js';
import type { NoticeRecord, NoticeStore } from './store.js';
import type { Notice } from './types.js';

export class NoticeBook {
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    readonly store: NoticeStore,
    private readonly config: NoticesConfig,
    private readonly onChange: (n: Notice) => void,
  ) {}

  /** Runs `f` when no other change of a notice is running. */
  locked<T>(f: () => Promise<T>): Promise<T> {
    const next = this.lock.then(f);
    this.lock = next.catch(() => undefined);
    return next;
  }

  /** Changes a notice under the lock and stores it; `f` returns false to leave it as it was. */
  async mutate(eventId: string, f: (rec: NoticeRecord) => boolean | void): Promise<NoticeRecord | null> {
    const rec = await this.locked(async () => {
      const r = await this.store.record(eventId);
      if (!r || f(r) === false) return null;
      scheduleNotice(r, this.config);
      await this.store.update(r);
      return r;
    });
    if (rec) this.onChange(rec.notice);
    return rec;
  }

  /** Resolves when the changes under way are done. */
  settled(): Promise<void> {
    return this.lock.then(
      () => undefined,
      () => undefined,
    );
  }
}
