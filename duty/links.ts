// The acknowledge link in a duty message: /duty/ack/{alertId}.{step}.{signature}. The signature (HMAC-SHA256 with the
// platform's duty link key, 128 bits shown) makes the link unguessable, so only the person it was sent to can use it
// without signing in; it names the step, so the acknowledgement says who took the alert on.
import crypto from 'node:crypto';

const sig = (key: Buffer, alertId: string, step: number) =>
  crypto.createHmac('sha256', key).update(`duty-ack\n${alertId}\n${step}`).digest('base64url').slice(0, 22);

export function ackToken(key: Buffer, alertId: string, step: number): string {
  return `${alertId}.${step}.${sig(key, alertId, step)}`;
}

/** The alert and step of a token, or null when it is malformed or its signature is wrong. */
export function verifyAckToken(key: Buffer, token: string): { alertId: string; step: number } | null {
  const m = /^([0-9a-f-]{1,64})\.(\d{1,3})\.([A-Za-z0-9_-]{22})$/.exec(token);
  if (!m) return null;
  const [, alertId, stepText, given] = m as unknown as [string, string, string, string];
  const step = Number(stepText);
  const want = Buffer.from(sig(key, alertId, step));
  const got = Buffer.from(given);
  return want.length === got.length && crypto.timingSafeEqual(want, got) ? { alertId, step } : null;
}
