// The enterprise-messaging robot (钉钉 custom robot style; a 企业微信 group robot takes the same JSON without the
// signature): a markdown message POSTed as JSON, @-mentioning the person's phone so it rings. With a secret, the URL
// carries `timestamp` (ms) and `sign` = base64(HMAC-SHA256(secret, timestamp + "\n" + secret)), as 加签 asks.
// 2xx with errcode 0 (or no errcode) is sent; no answer, 408, 429, 5xx and a non-zero errcode are retried by the
// service; other 4xx and redirects are refused for good.
import crypto from 'node:crypto';
import { fetchWithUrlCredentials, readAnswerSnippet } from '../runtime/http.js';
import { redactUrl } from '../runtime/url.js';
import { describeFetchError, type SendResult } from '../notices/notifiers/types.js';

export interface RobotMessage {
  title: string;
  text: string;
  atMobiles: string[];
  /** The same for every attempt of one message, so a receiver can drop a repeat after a lost answer. */
  idempotencyKey: string;
}

export function robotSign(secret: string, timestamp: number): string {
  return crypto.createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
}

export function signedUrl(url: string, secret: string | undefined, now: number): string {
  if (!secret) return url;
  const u = new URL(url);
  u.searchParams.set('timestamp', String(now));
  u.searchParams.set('sign', robotSign(secret, now));
  return u.toString();
}

export async function sendRobot(
  robot: { url: string; secret?: string },
  m: RobotMessage,
  o: { timeoutMs: number; now: number },
): Promise<SendResult> {
  const body = JSON.stringify({
    msgtype: 'markdown',
    markdown: { title: m.title, text: m.text },
    at: { atMobiles: m.atMobiles, isAtAll: false },
  });
  const timeout = AbortSignal.timeout(o.timeoutMs);
  let res: Response;
  let answer: string;
  try {
    res = await fetchWithUrlCredentials(signedUrl(robot.url, robot.secret, o.now), {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'idempotency-key': m.idempotencyKey,
        'user-agent': 'city-sensing-duty/1',
      },
      body,
      redirect: 'manual',
      signal: timeout,
    });
    answer = await readAnswerSnippet(res);
  } catch (e) {
    return { ok: false, error: `robot ${redactUrl(robot.url)}: ${describeFetchError(e, o.timeoutMs)}` };
  }
  const error = `robot ${redactUrl(robot.url)} answered HTTP ${res.status}${answer ? `: ${answer}` : ''}`;
  if (res.status >= 200 && res.status < 300) {
    // DingTalk answers 200 with {"errcode":310000,...} for a bad signature or a throttled robot: not sent.
    const code = /"errcode"\s*:\s*(\d+)/.exec(answer)?.[1];
    return code === undefined || code === '0' ? { ok: true } : { ok: false, error };
  }
  if (res.status >= 300 && res.status < 400)
    return { ok: false, permanent: true, error: `${error} (a redirect: configure the final address)` };
  const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
  return { ok: false, permanent, error };
}
