// How a notice reaches the party: one adapter per channel (SMS gateway over HTTP, the camera's loudspeaker over
// MQTT, the console's log). The notice service keeps each delivery's state in the notice and retries with backoff;
// an adapter makes exactly one attempt and never throws.
import type { Channel, Notice } from '../types.js';

export type SendResult =
  | { ok: true; /** Masked destination for the record (138****5678, the camera id). */ to?: string }
  /** `permanent`: sending the same again cannot help (no phone, a 4xx); otherwise retried with backoff. */
  | { ok: false; error: string; permanent?: boolean; to?: string };

export interface Notifier {
  readonly channel: Channel;
  /** For logs: where it sends (no credentials). */
  readonly target: string;
  /** One attempt; `signal` aborts it when the service stops. Never throws: every failure is a result. */
  send(notice: Notice, text: string, signal?: AbortSignal): Promise<SendResult>;
  close?(): Promise<void>;
}

/** The message of a failed fetch, without a stack: a timeout says so. */
export function describeFetchError(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (err.name === 'AbortError') return 'aborted (the service is stopping)';
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message}: ${cause}` : err.message;
}
