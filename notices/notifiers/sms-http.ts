// The SMS gateway adapter: POSTs {to, text, code, eventId} as JSON to the city's SMS gateway (SMS_GATEWAY_URL) with
// "Authorization: Bearer <SMS_GATEWAY_TOKEN>". The Idempotency-Key (event id + channel) lets the gateway recognise
// a repeat after a timeout whose answer was lost, so a retried notice is not sent twice. 2xx = sent; 408, 429 and
// 5xx (and no answer) are retried by the notice service; other 4xx are refused for good.
import { fetchWithUrlCredentials, readAnswerSnippet, redactUrl } from '../../runtime/http.js';
import { maskPhone } from '../parties.js';
import type { Notice } from '../types.js';
import { describeFetchError, type Notifier, type SendResult } from './types.js';

export interface SmsHttpOptions {
  url: string;
  token: string;
  /** Bound on one attempt, connect to last byte. */
  timeoutMs: number;
  /** For tests. */
  fetch?: typeof fetch;
}

export class SmsHttpNotifier implements Notifier {
  readonly channel = 'sms' as const;
  readonly target: string;

  constructor(private readonly o: SmsHttpOptions) {
    this.target = redactUrl(o.url);
  }

  async send(notice: Notice, text: string, signal?: AbortSignal): Promise<SendResult> {
    const phone = notice.party?.phone;
    if (!phone) return { ok: false, permanent: true, error: 'the party has no mobile number' };
    const to = maskPhone(phone);
    const body = JSON.stringify({ to: phone, text, code: notice.code, eventId: notice.eventId });
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    let res: Response;
    let answer: string;
    try {
      res = await fetchWithUrlCredentials(this.o.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          authorization: `Bearer ${this.o.token}`,
          'idempotency-key': `${notice.eventId}:sms`,
          'user-agent': 'city-sensing-notices/1',
        },
        body,
        // A redirected POST would become a GET elsewhere: report it instead of following.
        redirect: 'manual',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      }, this.o.fetch);
      answer = await readAnswerSnippet(res);
    } catch (e) {
      return { ok: false, to, error: describeFetchError(e, this.o.timeoutMs) };
    }
    if (res.status >= 200 && res.status < 300) return { ok: true, to };
    const error = `SMS gateway answered HTTP ${res.status}${answer ? `: ${answer}` : ''}`;
    if (res.status >= 300 && res.status < 400) return { ok: false, to, permanent: true, error: `${error} (a redirect: set SMS_GATEWAY_URL to the final address)` };
    if (res.status === 401 || res.status === 403) return { ok: false, to, permanent: false, error: `${error} (check SMS_GATEWAY_TOKEN)` };
    const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
    return { ok: false, to, permanent, error };
  }
}
