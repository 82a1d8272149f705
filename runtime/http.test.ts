// Outgoing HTTP against a real local server: answers far larger than anyone should send are not read to the end
// (the server sees the connection closed after a fraction), and URLs with user:password work (HTTP Basic) without
// the password reaching a log line or an error. Each caller of runtime/http.ts is tried: the case webhook, the SMS
// gateway, the plate look-up hook and a camera's snapshot URL.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookAdapter } from '../cases/adapters.js';
import type { OutboxItem } from '../cases/store.js';
import { snapshotSource } from '../edge/drivers/camera/link.js';
import { SmsHttpNotifier } from '../notices/notifiers/sms-http.js';
import { PartiesConfigSchema, PartyRegistry } from '../notices/parties.js';
import type { Notice } from '../notices/types.js';
import { readBody, ResponseTooLargeError } from './http.js';

const HUGE = 64 * 1024 * 1024;
const SECRET = 's3cret-pw';

function captureLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

describe('outgoing HTTP (runtime/http.ts) against a real server', () => {
  let server: http.Server;
  let base = '';
  /** Per request path: bytes the server managed to write before the client went away, and the Authorization seen. */
  const sent = new Map<string, { bytes: number; closed: Promise<void>; authorization?: string }>();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      const status = Number(url.searchParams.get('status') ?? 200);
      const declare = url.searchParams.get('declare') === '1';
      const rec = {
        bytes: 0,
        closed: new Promise<void>((r) => res.on('close', () => r())),
        authorization: req.headers.authorization,
      };
      sent.set(url.pathname, rec);
      req.resume();
      // 64 MiB of "a", written as fast as the client reads, stopping when it hangs up.
      res.writeHead(status, {
        'content-type': 'application/json',
        ...(declare ? { 'content-length': String(HUGE) } : {}),
      });
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (rec.bytes < HUGE && !res.destroyed) {
          rec.bytes += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  /** The server stopped well short of the 64 MiB: what socket buffers hold, not the body. */
  const stoppedEarly = async (path: string) => {
    while (!sent.has(path)) await new Promise((r) => setTimeout(r, 10));
    const rec = sent.get(path)!;
    await rec.closed;
    expect(rec.bytes).toBeLessThan(16 * 1024 * 1024);
  };

  it('readBody stops at its bound: rejects past it, or keeps the start with truncate; a declared length is refused unread', async () => {
    await expect(readBody(await fetch(`http://${base}/bound`), 1024 * 1024)).rejects.toThrow(ResponseTooLargeError);
    await stoppedEarly('/bound');
    const start = await readBody(await fetch(`http://${base}/prefix`), 1000, { truncate: true });
    expect(start.equals(Buffer.alloc(1000, 'a'))).toBe(true);
    await stoppedEarly('/prefix');
    await expect(readBody(await fetch(`http://${base}/declared?declare=1`), 1024 * 1024)).rejects.toThrow(
      `answer larger than 1048576 bytes (Content-Length ${HUGE})`,
    );
    await stoppedEarly('/declared');
  });

  it('the case webhook reads 300 characters of a huge error answer, and sends user:password from its URL as HTTP Basic', async () => {
    const url = `http://cases:${SECRET}@${base}/webhook?status=500`;
    const a = new WebhookAdapter({ url, secret: 'k', timeoutMs: 30_000 });
    const r = await a.deliver({ id: 'c1', body: '{}', attempts: 0 } as OutboxItem, new AbortController().signal);
    expect(r).toEqual({ ok: false, permanent: false, error: `HTTP 500: ${'a'.repeat(300)}`, retryAfterMs: undefined });
    await stoppedEarly('/webhook');
    expect(sent.get('/webhook')!.authorization).toBe(`Basic ${Buffer.from(`cases:${SECRET}`).toString('base64')}`);
    expect(a.target).toBe(`http://${base}/webhook`);
  });

  it('the SMS gateway reads 300 characters of a huge answer', async () => {
    const n = new SmsHttpNotifier({
      url: `http://sms:${SECRET}@${base}/sms?status=502`,
      token: 'tok',
      timeoutMs: 30_000,
    });
    const notice = { eventId: 'e1', code: 'ABCD', party: { phone: '13800000000' } } as unknown as Notice;
    const r = await n.send(notice, 'text');
    expect(r).toMatchObject({ ok: false, error: `SMS gateway answered HTTP 502: ${'a'.repeat(300)}` });
    await stoppedEarly('/sms');
    expect(sent.get('/sms')!.authorization).toBe('Bearer tok'); // the gateway's own token wins
    expect(n.target).toBe(`http://${base}/sms`);
  });

  it('the plate look-up hook refuses an answer over 16 KiB without reading it, and logs its URL without the password', async () => {
    const { log, lines } = captureLogger();
    const reg = new PartyRegistry(
      PartiesConfigSchema.parse({
        vehicleLookup: { url: `http://plates:${SECRET}@${base}/keeper?key=${SECRET}`, timeoutMs: 30_000 },
      }),
      { logger: log },
    );
    expect(await reg.vehicle('苏E00001')).toBeNull();
    await stoppedEarly('/keeper');
    expect(sent.get('/keeper')!.authorization).toBe(`Basic ${Buffer.from(`plates:${SECRET}`).toString('base64')}`);
    const warn = lines
      .map((l) => JSON.parse(l) as { msg: string; url?: string; err?: string })
      .find((l) => l.msg.startsWith('vehicle lookup failed'));
    expect(warn).toMatchObject({ url: `http://${base}/keeper`, err: 'answer larger than 16384 bytes: not read' });
    expect(lines.join('')).not.toContain(SECRET);
  });

  it("a camera's snapshot URL: an endless answer is not read past maxBytes, and the failure is logged without the password", async () => {
    const { log, lines } = captureLogger();
    const src = snapshotSource(
      {
        type: 'snapshot',
        url: `http://admin:${SECRET}@${base}/snapshot.jpg`,
        auth: 'basic',
        intervalMs: 60_000,
        timeoutMs: 30_000,
        maxBytes: 1024 * 1024,
      },
      log,
      'cam-1',
    );
    const next = src.next();
    await stoppedEarly('/snapshot.jpg');
    while (!lines.some((l) => l.includes('camera snapshot failed'))) await new Promise((r) => setTimeout(r, 10));
    src.stop();
    expect(sent.get('/snapshot.jpg')!.authorization).toBe(`Basic ${Buffer.from(`admin:${SECRET}`).toString('base64')}`);
    const warn = JSON.parse(lines.find((l) => l.includes('camera snapshot failed'))!) as { url: string; err: string };
    expect(warn).toMatchObject({
      url: `http://${base}/snapshot.jpg`,
      err: 'answer larger than 1048576 bytes: not read',
    });
    expect(lines.join('')).not.toContain(SECRET);
    void next;
  });
});
