// Delivery: telling the party on every channel of a notice (notifiers/), at most a few sends per channel at once,
// each attempt recorded on the notice (policy.ts decides sent, retry or failed). A channel that goes down is logged
// once when it does and once when it is back, and what waited on it then goes at once.
import type { Counter } from 'prom-client';
import type { Logger } from '../runtime/log.js';
import type { NoticeBook } from './book.js';
import { formatCode } from './codes.js';
import type { NoticesConfig } from './config.js';
import { ConsoleLogNotifier } from './notifiers/console-log.js';
import type { Notifier, SendResult } from './notifiers/types.js';
import { recordAttempt, waitsOn, type DeliveryOutcome } from './policy.js';
import type { Channel } from './types.js';

/** Sends at once per channel: a gateway that hangs must not take every notice's attempt with it. */
const MAX_SENDS_PER_CHANNEL = 4;
const CHANNEL_NAMES: Record<Channel, string> = {
  sms: 'SMS gateway',
  loudspeaker: 'loudspeaker broker',
  console: 'console log',
};

export interface NoticeDeliveryOptions {
  book: NoticeBook;
  /** A console notifier is added when none is given. */
  notifiers: Notifier[];
  config: NoticesConfig;
  logger: Logger;
  attempts: Counter<'channel' | 'result'>;
  now: () => number;
  /** Runs the service's loop again (a send recorded may have freed a place, or brought others forward). */
  kick: () => void;
  closed: () => boolean;
}

export class NoticeDelivery {
  private readonly notifiers = new Map<Channel, Notifier>();
  private readonly abort = new AbortController();
  private readonly sending = new Map<string, Promise<void>>();
  private readonly down = new Map<Channel, { since: number; failures: number }>();

  constructor(private readonly o: NoticeDeliveryOptions) {
    for (const n of o.notifiers) this.notifiers.set(n.channel, n);
    if (!this.notifiers.has('console')) this.notifiers.set('console', new ConsoleLogNotifier({ logger: o.logger }));
  }

  /** The channels there is a notifier for. */
  get channels(): ReadonlySet<Channel> {
    return new Set(this.notifiers.keys());
  }

  /** The channels and where they go, for the start-up log. */
  describe(): string[] {
    return [...this.notifiers.values()].map((n) => `${n.channel} (${n.target})`);
  }

  /** The sends running now. */
  running(): Promise<void>[] {
    return [...this.sending.values()];
  }

  /** Starts sending the notice's delivery on `channel`, unless it is being sent or the channel is busy. */
  start(eventId: string, channel: Channel): void {
    const key = `${eventId}\u0000${channel}`;
    if (this.sending.has(key)) return;
    let busy = 0;
    for (const k of this.sending.keys()) if (k.endsWith(`\u0000${channel}`)) busy++;
    if (busy >= MAX_SENDS_PER_CHANNEL) return;
    let recorded = false;
    const p = this.send(eventId, channel)
      .then(() => void (recorded = true))
      .catch((e: Error) =>
        this.o.logger.error(
          { event: eventId, channel, err: e.message },
          'delivery bookkeeping failed; retried by the loop',
        ),
      )
      .finally(() => {
        this.sending.delete(key);
        // Others may have waited for this one's place.
        if (recorded) this.o.kick();
      });
    this.sending.set(key, p);
  }

  private async send(eventId: string, channel: Channel): Promise<void> {
    const book = this.o.book;
    const rec = await book.store.record(eventId);
    const d = rec?.notice.deliveries.find((x) => x.channel === channel);
    if (!rec || !d || d.status !== 'pending') return;
    const notifier = this.notifiers.get(channel);
    const r: SendResult = notifier
      ? await notifier.send(rec.notice, d.text ?? '', this.abort.signal)
      : { ok: false, permanent: true, error: `no ${channel} channel configured` };
    // An attempt cut short by close() is not an attempt: it is made again after the restart.
    if (this.o.closed() && !r.ok) return;
    const now = this.o.now();
    let outcome = 'sent' as DeliveryOutcome;
    const updated = await book.mutate(eventId, (cur) => {
      const o = recordAttempt(cur, channel, r, now, this.o.config);
      if (!o) return false;
      outcome = o;
      return true;
    });
    if (!updated) return;
    const x = updated.notice.deliveries.find((y) => y.channel === channel)!;
    this.o.attempts.inc({ channel, result: outcome });
    const log = this.o.logger;
    const ctx = { event: eventId, code: formatCode(updated.notice.code), channel, to: x.to, attempts: x.attempts };
    if (r.ok) {
      const was = this.down.get(channel);
      if (was) {
        this.down.delete(channel);
        log.info(
          {
            channel,
            target: notifier?.target,
            downS: Math.round((now - was.since) / 1000),
            failedAttempts: was.failures,
          },
          `${CHANNEL_NAMES[channel]} reachable again: sending the waiting notices`,
        );
        this.expedite(channel);
      }
      if (channel !== 'console') log.info(ctx, 'notice sent');
      return;
    }
    if (outcome === 'failed') {
      log.error(
        { ...ctx, err: r.error },
        r.ok === false && r.permanent
          ? 'notice refused: not retried'
          : `notice not delivered after ${x.attempts} attempts: given up on this channel`,
      );
      return;
    }
    const was = this.down.get(channel);
    if (!was) {
      this.down.set(channel, { since: now, failures: 1 });
      log.warn(
        { ...ctx, target: notifier?.target, err: r.error },
        `${CHANNEL_NAMES[channel]} unavailable: notices wait and are retried with backoff (logged once until it is back)`,
      );
    } else {
      was.failures++;
      log.debug({ ...ctx, err: r.error }, 'notice delivery failed; will retry');
    }
  }

  /** The channel answers again: what waits on it is tried at once instead of after its own backoff. */
  private expedite(channel: Channel): void {
    const book = this.o.book;
    void (async () => {
      const now = this.o.now();
      const waiting = (await book.store.due(Number.MAX_SAFE_INTEGER, 1000)).filter((r) =>
        waitsOn(r, channel, now, this.o.config),
      );
      for (const r of waiting) {
        await book.mutate(r.notice.eventId, (cur) => {
          if (!cur.notice.deliveries.some((d) => d.channel === channel && d.status === 'pending')) return false;
          (cur.work.retryAt ??= {})[channel] = now;
          return true;
        });
      }
      if (waiting.length) this.o.kick();
    })().catch((e: Error) =>
      this.o.logger.warn(
        { channel, err: e.message },
        'could not bring the waiting notices forward; they go at their own time',
      ),
    );
  }

  /** Cuts the sends in progress short (they are made again after a restart). */
  abortSends(): void {
    this.abort.abort();
  }

  /** Closes the notifiers. */
  async close(): Promise<void> {
    for (const n of this.notifiers.values()) await n.close?.().catch(() => undefined);
  }
}
