// Case adapters: how a case reaches the case system. `webhook` POSTs the case JSON to the city's case system,
// signed with HMAC-SHA256 so the receiver knows it came from the platform and was not changed, with the case id as
// Idempotency-Key so a repeat (after a timeout whose answer was lost, after a restart) is recognised there.
// `inbox` is the embedded default's built-in case system: it keeps what it receives in the case store's inbox table.
import crypto from 'node:crypto';
import { fetchWithUrlCredentials, readAnswerSnippet } from '../runtime/http.js';
import { redactUrl } from '../runtime/url.js';
import type { CaseStore, OutboxItem } from './store.js';
import type { CaseDoc } from './types.js';

export type DeliveryResult =
  | { ok: true }
  /** `permanent`: sending it again cannot help (a 4xx); otherwise retried with backoff. */
  | { ok: false; permanent: boolean; error: string; retryAfterMs?: number };

export interface CaseAdapter {
  readonly name: 'webhook' | 'inbox';
  /** For logs: where cases go (no credentials). */
  readonly target: string;
  /** One attempt. Never throws: every failure is a result. `signal` aborts it when the dispatcher stops. */
  deliver(item: OutboxItem, signal: AbortSignal): Promise<DeliveryResult>;
}

/** The X-Signature header value: `sha256=` + hex HMAC-SHA256 of the raw body bytes with the shared secret. */
export function signBody(body: string | Buffer, secret: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** For receivers (and tests): true when `header` is the signature of `body` (constant-time comparison). */
export function verifySignature(body: string | Buffer, header: string | undefined, secret: string): boolean {
  if (!header) return false;
  const want = Buffer.from(signBody(body, secret));
  const got = Buffer.from(header.trim());
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

export interface WebhookOptions {
  url: string;
  secret: string;
  /** Bound on one attempt, connect to last byte. */
  timeoutMs: number;
}

function retryAfterMs(h: string | null): number | undefined {
  if (!h) return undefined;
  if (/^\d+$/.test(h.trim())) return Number(h.trim()) * 1000;
  const t = Date.parse(h);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

function describeFetchError(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const cause = err.cause?.code ?? err.cause?.message;
  return cause ? `${err.message}: ${cause}` : err.message;
}

export class WebhookAdapter implements CaseAdapter {
  readonly name = 'webhook' as const;
  readonly target: string;

  constructor(private readonly o: WebhookOptions) {
    this.target = redactUrl(o.url);
  }

  async deliver(item: OutboxItem, signal: AbortSignal): Promise<DeliveryResult> {
    let res: Response;
    let text: string;
    try {
      res = await fetchWithUrlCredentials(this.o.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'x-signature': signBody(item.body, this.o.secret),
          'idempotency-key': item.id,
          'user-agent': 'city-sensing-cases/1',
        },
        body: item.body,
        // A redirected POST would become a GET elsewhere: report it instead of following.
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.o.timeoutMs)]),
      });
      // Only the start of the answer goes into the error: a receiver streaming without end is not read to the end.
      text = await readAnswerSnippet(res);
    } catch (e) {
      return { ok: false, permanent: false, error: describeFetchError(e, this.o.timeoutMs) };
    }
    if (res.status >= 200 && res.status < 300) return { ok: true };
    const error = `HTTP ${res.status}${text ? `: ${text}` : ''}`;
    if (res.status >= 300 && res.status < 400) {
      return {
        ok: false,
        permanent: true,
        error: `${error} (redirect to ${res.headers.get('location') ?? '?'}: set CASE_WEBHOOK_URL to the final address)`,
      };
    }
    // 408 and 429 say "later"; other 4xx say the request itself is wrong, and sending it again cannot help.
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
      return { ok: false, permanent: true, error };
    return { ok: false, permanent: false, error, retryAfterMs: retryAfterMs(res.headers.get('retry-after')) };
  }
}

/** The built-in case inbox: stores the case in its own table of the case store. */
export class InboxAdapter implements CaseAdapter {
  readonly name = 'inbox' as const;
  readonly target = 'built-in case inbox';

  constructor(private readonly store: CaseStore) {}

  async deliver(item: OutboxItem): Promise<DeliveryResult> {
    try {
      await this.store.inboxPut(JSON.parse(item.body) as CaseDoc, Date.now());
      return { ok: true };
    } catch (e) {
      return { ok: false, permanent: false, error: (e as Error).message };
    }
  }
}
