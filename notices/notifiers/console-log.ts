// The embedded default's channel: the text is written to the log and kept in the notice's deliveries, where the
// console shows it. Always used, beside SMS and the loudspeaker, so every notice's text is on record.
import type { Logger } from '../../runtime/log.js';
import type { Notice } from '../types.js';
import type { Notifier, SendResult } from './types.js';

export class ConsoleLogNotifier implements Notifier {
  readonly channel = 'console' as const;
  readonly target = 'console log';
  /** The latest texts, newest last (bounded): for the demo and tests. */
  readonly sent: { eventId: string; code: string; text: string; at: number }[] = [];

  constructor(private readonly o: { logger: Logger; keep?: number }) {}

  async send(notice: Notice, text: string): Promise<SendResult> {
    this.sent.push({ eventId: notice.eventId, code: notice.code, text, at: Date.now() });
    if (this.sent.length > (this.o.keep ?? 200)) this.sent.shift();
    this.o.logger.info({ event: notice.eventId, party: notice.party?.id ?? null, text }, 'notice text (console log)');
    return { ok: true, to: 'console' };
  }
}
