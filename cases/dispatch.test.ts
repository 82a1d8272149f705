// Case delivery to a webhook receiver (a local HTTP server): the body's signature verifies and the Idempotency-Key
// is the case id; a receiver that answers 503 or refuses connections for a while gets the case exactly once after
// it returns, across a restart of the dispatcher (the outbox is persisted); a 4xx is a permanent failure shown with
// its reason, and a requeue after the fix delivers it; cases are published on the bus.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/memory.js';
import { ConfigError } from '../runtime/config.js';
import { silentLogger } from '../runtime/log.js';
import { EventStore } from '../review/store.js';
import { makeEvent, until } from '../review/testdata/fixtures.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { verifySignature } from './adapters.js';
import { backoffMs } from './dispatcher.js';
import { caseConfigFromEnv, CaseService } from './service.js';
import { CaseDocSchema } from './types.js';

const codesFile = path.resolve(import.meta.dirname, '../config/case-codes.json');
const SECRET = 'test-secret-0123456789abcdef';

interface Received {
  body: string;
  signature?: string;
  key?: string;
  answered: number;
}

/** A case system: answers each request with `respond()` (a status, or 'drop' to cut the connection). */
class Receiver {
  readonly requests: Received[] = [];
  respond: (n: number, key?: string) => number | 'hang' | { status: number; body: string } = () => 200;
  private server: http.Server | null = null;
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = this.respond(this.requests.length + 1, req.headers['idempotency-key'] as string | undefined);
        if (r === 'hang') {
          this.requests.push({ body: '', answered: 0 });
          return; // never answers: the sender's timeout must end the attempt
        }
        const { status, body } = typeof r === 'number' ? { status: r, body: '' } : r;
        this.requests.push({
          body: Buffer.concat(chunks).toString('utf8'),
          signature: req.headers['x-signature'] as string | undefined,
          key: req.headers['idempotency-key'] as string | undefined,
          answered: status,
        });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/cases`;
  }

  accepted(): Received[] {
    return this.requests.filter((r) => r.answered >= 200 && r.answered < 300);
  }
}

describe('case dispatch to a webhook', () => {
  let dir: string;
  let events: EventStore;
  let evidence: EvidenceStore;
  let receiver: Receiver;
  const open: CaseService[] = [];

  const service = async (url: string, extra: Record<string, unknown> = {}, logger = silentLogger) => {
    const s = await CaseService.open({
      config: {
        file: path.join(dir, 'cases.duckdb'),
        codesFile,
        webhookUrl: url,
        webhookSecret: SECRET,
        timeoutMs: 2000,
        retryBaseMs: 20,
        retryMaxMs: 100,
        ...extra,
      },
      logger,
      random: () => 0.5,
    });
    open.push(s);
    return s;
  };
  const close = async (s: CaseService) => {
    open.splice(open.indexOf(s), 1);
    await s.close();
  };
  const confirmed = async (n: number) => {
    const e = await makeEvent(evidence, { n });
    await events.add([e]);
    const r = await events.decide(e.id, {
      decision: 'confirm',
      by: { username: 'zhang.wei', role: 'reviewer' },
      at: Date.now(),
    });
    if (!r.ok) throw new Error('not decided');
    return r.stored;
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-cases-'));
    events = await EventStore.open(path.join(dir, 'events.duckdb'));
    evidence = new EvidenceStore(path.join(dir, 'evidence'));
    receiver = new Receiver();
    await receiver.start();
  });

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    await receiver.stop();
    await events.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('POSTs the case JSON with a valid X-Signature and the case id as Idempotency-Key', async () => {
    const s = await service(receiver.url);
    const c = await s.fileEvent(await confirmed(1));
    await until(() => receiver.accepted().length === 1, 10_000, 'the delivery');
    const got = receiver.requests[0]!;
    expect(got.key).toBe(c.id);
    expect(got.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature(got.body, got.signature, SECRET)).toBe(true);
    expect(verifySignature(got.body, got.signature, 'another-secret-0123456789')).toBe(false);
    expect(verifySignature(got.body.replace('0505', '0506'), got.signature, SECRET)).toBe(false);
    const doc = CaseDocSchema.parse(JSON.parse(got.body));
    expect(doc).toMatchObject({
      id: c.id,
      code: '0505',
      eventType: 'illegal-parking',
      gridCell: '320582001002003',
      review: { by: { username: 'zhang.wei' } },
    });
    expect(doc.evidence).toHaveLength(4);
    const v = await until(
      async () => ((await s.get(c.id))!.delivery.status === 'delivered' ? s.get(c.id) : null),
      5000,
      'status delivered',
    );
    expect(v!.delivery).toMatchObject({ adapter: 'webhook', status: 'delivered', attempts: 1 });
    expect(v!.delivery.deliveredAt).toBeDefined();
    // Filing the same event again is the same case, not a second delivery.
    expect((await s.fileEvent((await events.get(c.source.id))!)).id).toBe(c.id);
    expect((await s.list({ limit: 10 })).total).toBe(1);
  });

  it('a receiver answering 503 gets the case exactly once after it returns, across a dispatcher restart', async () => {
    let up = false;
    receiver.respond = () => (up ? 200 : 503);
    let s = await service(receiver.url);
    const c1 = await s.fileEvent(await confirmed(1));
    const c2 = await s.fileEvent(await confirmed(2));
    await until(
      async () => ((await s.get(c1.id))!.delivery.attempts >= 3 ? true : null),
      10_000,
      'three failed attempts',
    );
    const waiting = (await s.get(c1.id))!;
    expect(waiting.delivery).toMatchObject({ status: 'pending', lastError: 'HTTP 503' });
    await close(s); // the process stops while the case system is down

    s = await service(receiver.url);
    const failures = receiver.requests.length;
    up = true;
    await until(
      async () => ((await s.list({ status: 'delivered', limit: 10 })).total === 2 ? true : null),
      10_000,
      'both delivered',
    );
    const accepted = receiver.accepted();
    expect(accepted.map((r) => r.key).sort()).toEqual([c1.id, c2.id].sort());
    expect(receiver.requests.length).toBe(failures + 2);
    // Nothing more is sent once delivered.
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests.length).toBe(failures + 2);
    expect((await s.get(c1.id))!.delivery.attempts).toBeGreaterThanOrEqual(4);
  });

  it('during an outage one case at a time probes the case system; all are delivered once it is back', async () => {
    let up = false;
    receiver.respond = () => (up ? 200 : 503);
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const s = await service(receiver.url, {}, logger);
    const ids: string[] = [];
    for (let n = 1; n <= 6; n++) ids.push((await s.fileEvent(await confirmed(n))).id);
    await until(() => s.dispatcher.down, 10_000, 'the outage');
    const before = receiver.requests.length;
    await new Promise((r) => setTimeout(r, 500));
    // Six cases each on its own 100 ms cap would be 30 requests in 500 ms; the probe is about one per interval.
    expect(receiver.requests.length - before).toBeLessThanOrEqual(12);
    up = true;
    await until(
      async () => ((await s.list({ status: 'delivered', limit: 10 })).total === 6 ? true : null),
      10_000,
      'all delivered',
    );
    expect(
      receiver
        .accepted()
        .map((r) => r.key)
        .sort(),
    ).toEqual(ids.sort());
    // Logged once when it went down and once when it came back, not per attempt.
    expect(lines.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual([
      expect.stringMatching(/^case system unavailable/),
    ]);
    expect(lines.filter((l) => /^case system reachable again/.test(l.msg))).toHaveLength(1);
  });

  it('a case the receiver keeps failing does not hold up the others', async () => {
    const s0 = await service(receiver.url);
    const poison = (await s0.fileEvent(await confirmed(1))).id;
    await close(s0);
    receiver.respond = (_n, key) => (key === poison ? 500 : 200);
    const s = await service(receiver.url);
    const others: string[] = [];
    for (let n = 2; n <= 4; n++) others.push((await s.fileEvent(await confirmed(n))).id);
    await until(
      async () => ((await s.list({ status: 'delivered', limit: 10 })).total === 3 ? true : null),
      10_000,
      'the others delivered',
    );
    await until(
      async () => ((await s.get(poison))!.delivery.attempts >= 3 ? true : null),
      10_000,
      'the poison case retried',
    );
    expect((await s.get(poison))!.delivery).toMatchObject({ status: 'pending', lastError: 'HTTP 500' });
    expect(new Set(receiver.accepted().map((r) => r.key))).toEqual(new Set(others));
  });

  it('refused connections are retried until the receiver listens again', async () => {
    const port = receiver.port;
    await receiver.stop();
    const s = await service(`http://127.0.0.1:${port}/cases`);
    const c = await s.fileEvent(await confirmed(1));
    await until(async () => ((await s.get(c.id))!.delivery.attempts >= 2 ? true : null), 10_000, 'failed attempts');
    expect((await s.get(c.id))!.delivery.lastError).toMatch(/ECONNREFUSED|fetch failed/);
    expect(s.dispatcher.down).toBe(true);
    await receiver.start(port);
    await until(() => receiver.accepted().length === 1, 10_000, 'delivery after the receiver returned');
    await until(async () => ((await s.get(c.id))!.delivery.status === 'delivered' ? true : null), 5000, 'status');
    expect(receiver.requests).toHaveLength(1);
    expect(s.dispatcher.down).toBe(false);
  });

  it('a 4xx is a permanent failure shown with its reason; requeued after the fix, it is delivered', async () => {
    receiver.respond = () => ({ status: 422, body: 'unknown classification code 0505' });
    const s = await service(receiver.url);
    const c = await s.fileEvent(await confirmed(1));
    const failed = await until(
      async () => {
        const v = await s.get(c.id);
        return v!.delivery.status === 'failed' ? v : null;
      },
      10_000,
      'failed',
    );
    expect(failed!.delivery).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: 'HTTP 422: unknown classification code 0505',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.requests).toHaveLength(1); // not retried
    expect((await s.list({ status: 'failed', limit: 10 })).items.map((x) => x.id)).toEqual([c.id]);

    receiver.respond = () => 200;
    expect(await s.requeue(c.id)).toBe(true);
    expect(await s.requeue(c.id)).toBe(false); // pending now, not failed
    await until(
      async () => ((await s.get(c.id))!.delivery.status === 'delivered' ? true : null),
      10_000,
      'delivered after requeue',
    );
    expect(receiver.accepted()).toHaveLength(1);
  });

  it('429 and 408 are retried, honouring Retry-After within the cap', async () => {
    receiver.respond = (n) => (n === 1 ? 429 : n === 2 ? 408 : 201);
    const s = await service(receiver.url);
    const c = await s.fileEvent(await confirmed(1));
    await until(async () => ((await s.get(c.id))!.delivery.status === 'delivered' ? true : null), 10_000, 'delivered');
    expect(receiver.requests.map((r) => r.answered)).toEqual([429, 408, 201]);
    expect((await s.get(c.id))!.delivery.attempts).toBe(3);
  });

  it('an attempt that gets no answer is cut at the timeout and retried', async () => {
    receiver.respond = (n) => (n === 1 ? 'hang' : 200);
    const s = await service(receiver.url, { timeoutMs: 300 });
    const c = await s.fileEvent(await confirmed(1));
    await until(async () => ((await s.get(c.id))!.delivery.status === 'delivered' ? true : null), 10_000, 'delivered');
    expect(receiver.requests.map((r) => r.answered)).toEqual([0, 200]);
    expect((await s.get(c.id))!.delivery.attempts).toBe(2);
  });

  it('publishes each case on the bus topic "cases"', async () => {
    const bus = new MemoryBus();
    const seen: string[] = [];
    await bus.subscribe('cases', 'test', async (batch) => {
      for (const m of batch) seen.push(CaseDocSchema.parse(JSON.parse(m.value.toString('utf8'))).id);
    });
    const s = await CaseService.open({
      config: { file: path.join(dir, 'cases.duckdb'), codesFile, retryBaseMs: 10, retryMaxMs: 50 },
      logger: silentLogger,
      bus,
    });
    open.push(s);
    const c = await s.fileEvent(await confirmed(1));
    await until(() => seen.length === 1, 5000, 'the bus message');
    expect(seen).toEqual([c.id]);
    await close(s);
    await bus.close();
  });
});

describe('case dispatch configuration', () => {
  it('maps the environment and names the variable in a mistake', () => {
    expect(caseConfigFromEnv({}, '/data')).toMatchObject({
      file: path.join('/data', 'cases.duckdb'),
      retryMaxMs: 60_000,
    });
    expect(
      caseConfigFromEnv(
        { CASE_WEBHOOK_URL: 'https://cases.example/hook', CASE_WEBHOOK_SECRET: SECRET, CASE_RETRY_MAX_MS: '2000' },
        '/d',
      ),
    ).toMatchObject({
      webhookUrl: 'https://cases.example/hook',
      retryMaxMs: 2000,
    });
    expect(() => caseConfigFromEnv({ CASE_WEBHOOK_URL: 'https://cases.example/hook' }, '/d')).toThrow(ConfigError);
    expect(() => caseConfigFromEnv({ CASE_WEBHOOK_URL: 'https://cases.example/hook' }, '/d')).toThrow(
      /CASE_WEBHOOK_SECRET/,
    );
    expect(() => caseConfigFromEnv({ CASE_WEBHOOK_URL: 'ftp://x', CASE_WEBHOOK_SECRET: SECRET }, '/d')).toThrow(
      /CASE_WEBHOOK_URL/,
    );
    expect(() => caseConfigFromEnv({ CASE_RETRY_MAX_MS: 'soon' }, '/d')).toThrow(ConfigError);
    // Empty means unset: the built-in inbox.
    expect(caseConfigFromEnv({ CASE_WEBHOOK_URL: '' }, '/d').webhookUrl).toBeUndefined();
    // The app config's parsed values (numbers already) work as well as the raw environment.
    expect(caseConfigFromEnv({ CASE_RETRY_MAX_MS: 2000, CASE_RETRY_BASE_MS: 100, PORT: 8080 }, '/d')).toMatchObject({
      retryMaxMs: 2000,
      retryBaseMs: 100,
    });
  });

  it('backs off exponentially with jitter, capped', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 10, 100].map((n) => backoffMs(n, 1000, 30_000, mid))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
    expect(backoffMs(1, 1000, 30_000, () => 0)).toBe(800);
    expect(backoffMs(1, 1000, 30_000, () => 1)).toBe(1200);
    expect(backoffMs(10, 1000, 30_000, () => 1)).toBe(30_000);
    expect(backoffMs(1, 1000, 30_000, mid, 10_000)).toBe(10_000); // Retry-After
    expect(backoffMs(1, 1000, 30_000, mid, 600_000)).toBe(30_000);
  });
});
