// The SMS gateway adapter: POSTs {to, text, code, eventId} as JSON to the city's SMS gateway (SMS_GATEWAY_URL) with
// "Authorization: Bearer <SMS_GATEWAY_TOKEN>". The Idempotency-Key (event id + channel) lets the gateway recognise
// a repeat after a timeout whose answer was lost, so a retried notice is not sent twice. 2xx = sent; 408, 429 and
// 5xx (and no answer) are retried by the notice service; other 4xx are refused for good.
import { fetchWithUrlCredentials, readAnswerSnippet } from '../../runtime/http.js';
import { redactUrl } from '../../runtime/url.js';
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
    const r = await postSms(
      this.o,
      { to: phone, text, code: notice.code, eventId: notice.eventId },
      `${notice.eventId}:sms`,
      signal,
    );
    return { ...r, to: maskPhone(phone) };
  }
}

/**
 * One POST to the city's SMS gateway (the contract above), for every sender of texts (notices, duty/): `body` has at
 * least `to` and `text`; the idempotency key is the same for every attempt of one message.
 */
export async function postSms(
  o: Pick<SmsHttpOptions, 'url' | 'token' | 'timeoutMs' | 'fetch'>,
  body: { to: string; text: string } & Record<string, unknown>,
  idempotencyKey: string,
  signal?: AbortSignal,
): Promise<SendResult> {
  const timeout = AbortSignal.timeout(o.timeoutMs);
  let res: Response;
  let answer: string;
  try {
    res = await fetchWithUrlCredentials(
      o.url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          authorization: `Bearer ${o.token}`,
          'idempotency-key': idempotencyKey,
          'user-agent': 'city-sensing-notices/1',
        },
        body: JSON.stringify(body),
        // A redirected POST would become a GET elsewhere: report it instead of following.
        redirect: 'manual',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      },
      o.fetch,
    );
    answer = await readAnswerSnippet(res);
  } catch (e) {
    return { ok: false, error: describeFetchError(e, o.timeoutMs) };
  }
  if (res.status >= 200 && res.status < 300) return { ok: true };
  const error = `SMS gateway answered HTTP ${res.status}${answer ? `: ${answer}` : ''}`;
  if (res.status >= 300 && res.status < 400)
    return { ok: false, permanent: true, error: `${error} (a redirect: set SMS_GATEWAY_URL to the final address)` };
  if (res.status === 401 || res.status === 403)
    return { ok: false, permanent: false, error: `${error} (check SMS_GATEWAY_TOKEN)` };
  const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
  return { ok: false, permanent, error };
}
