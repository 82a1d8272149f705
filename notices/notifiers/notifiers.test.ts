import http from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from '../../broker/embedded.js';
import { MemoryBus } from '../../bus/memory.js';
import { silentLogger } from '../../runtime/log.js';
import { NoticeService } from '../service.js';
import { caseFiler, cameras, Clock, config, confirmed, parties, until } from '../testdata/helpers.js';
import type { Notice } from '../types.js';
import { LoudspeakerMqttNotifier } from './loudspeaker-mqtt.js';
import { SmsHttpNotifier } from './sms-http.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

interface Received {
  headers: http.IncomingHttpHeaders;
  body: { to: string; text: string; code: string; eventId: string };
}

/** A local SMS gateway: answers `status()` to each request (null: never answers). */
async function gateway(
  status: () => number | null,
  port = 0,
): Promise<{ url: string; port: number; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const s = status();
      if (s === null) return;
      if (s >= 200 && s < 300) got.push({ headers: req.headers, body: JSON.parse(data) });
      res.writeHead(s, { 'content-type': 'application/json' }).end(s < 300 ? '{"ok":true}' : '{"error":"busy"}');
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const p = (server.address() as AddressInfo).port;
  const close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return { url: `http://127.0.0.1:${p}/sms/send`, port: p, got, close };
}

const notice = (over: Partial<Notice> = {}): Notice => ({
  eventId: 'cam-xinhua-01:sf-1:1:1',
  eventType: 'out-of-store-vending',
  cameraId: 'cam-xinhua-01',
  district: 'xinhua',
  zoneId: 'sf-1',
  code: '7K3M9QXR2D4F8HJN',
  party: { id: 'shop:shop-12', kind: 'shop', name: '老王水果店', phone: '13800001234' },
  status: 'awaiting-recheck',
  reason: 'notified',
  priorOffences: 0,
  deliveries: [],
  createdAt: 0,
  ...over,
});

describe('SMS gateway adapter', () => {
  it('POSTs the text with the bearer token and an idempotency key', async () => {
    let status = 200;
    const g = await gateway(() => status);
    cleanup.push(g.close);
    const sms = new SmsHttpNotifier({ url: g.url, token: 'secret-token', timeoutMs: 1000 });
    expect(sms.target).toBe(g.url);
    expect(await sms.send(notice(), '请收回')).toEqual({ ok: true, to: '138****1234' });
    expect(g.got[0]!.body).toEqual({
      to: '13800001234',
      text: '请收回',
      code: '7K3M9QXR2D4F8HJN',
      eventId: 'cam-xinhua-01:sf-1:1:1',
    });
    expect(g.got[0]!.headers.authorization).toBe('Bearer secret-token');
    expect(g.got[0]!.headers['idempotency-key']).toBe('cam-xinhua-01:sf-1:1:1:sms');
    status = 400;
    expect(await sms.send(notice(), 'x')).toMatchObject({
      ok: false,
      permanent: true,
      error: expect.stringMatching(/HTTP 400/),
    });
    status = 503;
    expect(await sms.send(notice(), 'x')).toMatchObject({
      ok: false,
      permanent: false,
      error: expect.stringMatching(/HTTP 503/),
    });
    expect(await sms.send(notice({ party: { id: 'shop:x', kind: 'shop', name: 'x' } }), 'x')).toMatchObject({
      ok: false,
      permanent: true,
    });
    const hang = await gateway(() => null);
    cleanup.push(hang.close);
    expect(await new SmsHttpNotifier({ url: hang.url, token: 't', timeoutMs: 100 }).send(notice(), 'x')).toMatchObject({
      ok: false,
      error: 'no answer within 100 ms',
    });
  });

  it('a gateway that is down loses nothing: retried with backoff, across a restart, delivered once', async () => {
    // A port with nobody listening: connections are refused.
    const probe = await gateway(() => 200);
    const port = probe.port;
    await probe.close();
    const url = `http://127.0.0.1:${port}/sms/send`;
    const clock = new Clock();
    const make = () =>
      NoticeService.open({
        file,
        config: { ...config(), smsGateway: { url, token: 't' } },
        parties: parties(),
        notifiers: [new SmsHttpNotifier({ url, token: 't', timeoutMs: 1000 })],
        bus: new MemoryBus({ logger: silentLogger }),
        deadLetters: { add: async () => undefined },
        cameras,
        deps: caseFiler(),
        logger: silentLogger,
        now: clock.now,
        tickMs: 3_600_000,
      });
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notices-sms-'));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'notices.duckdb');

    const a = await make();
    await a.start();
    const n = await a.onConfirmed(confirmed());
    const sms = async (s: NoticeService) => (await s.get(n.eventId))!.deliveries.find((d) => d.channel === 'sms')!;
    await until(async () => (await sms(a)).attempts === 1, 5000, 'first attempt');
    expect(await sms(a)).toMatchObject({
      status: 'pending',
      to: '138****1234',
      error: expect.stringMatching(/ECONNREFUSED|fetch failed/),
    });
    await a.tick();
    await a.idle();
    expect((await sms(a)).attempts).toBe(1); // backing off
    await a.close();

    // Back up, and the platform restarts: the waiting SMS goes out once.
    const g = await gateway(() => 200, port);
    cleanup.push(g.close);
    clock.advance(1000);
    const b = await make();
    await b.start();
    await b.idle();
    expect(await sms(b)).toMatchObject({ status: 'sent', attempts: 2, to: '138****1234' });
    expect((await sms(b)).error).toBeUndefined();
    clock.advance(60_000);
    await b.tick();
    await b.idle();
    expect(g.got).toHaveLength(1);
    expect(g.got[0]!.body.code).toBe(n.code);
    expect(g.got[0]!.body.text).toContain(n.code);
    await b.close();
  });

  it('when the gateway answers again, the waiting notices go at once instead of after their backoff', async () => {
    const probe = await gateway(() => 200);
    const port = probe.port;
    await probe.close();
    const url = `http://127.0.0.1:${port}/sms/send`;
    const clock = new Clock();
    const s = await NoticeService.open({
      file: ':memory:',
      config: { ...config(), smsGateway: { url, token: 't' } },
      parties: parties(),
      notifiers: [new SmsHttpNotifier({ url, token: 't', timeoutMs: 1000 })],
      bus: new MemoryBus({ logger: silentLogger }),
      deadLetters: { add: async () => undefined },
      cameras,
      deps: caseFiler(),
      logger: silentLogger,
      now: clock.now,
      tickMs: 3_600_000,
    });
    cleanup.push(() => s.close());
    await s.start();
    const smsOf = async (id: string) => (await s.get(id))!.deliveries.find((d) => d.channel === 'sms')!;
    const a = await s.onConfirmed(confirmed());
    const b = await s.onConfirmed(confirmed({ zoneId: 'sf-2' }));
    await until(
      async () => (await smsOf(a.eventId)).attempts === 1 && (await smsOf(b.eventId)).attempts === 1,
      5000,
      'first attempts',
    );
    clock.advance(1000);
    await s.tick();
    await s.idle();
    expect((await smsOf(a.eventId)).attempts).toBe(2); // next one due 2 s later
    const g = await gateway(() => 200, port);
    cleanup.push(g.close);
    clock.advance(500);
    const c = await s.onConfirmed(confirmed({ type: 'illegal-parking' }));
    await until(() => g.got.length === 3, 5000, 'the waiting two sent at once after the new one got through');
    expect(g.got.map((x) => x.body.eventId).sort()).toEqual([a.eventId, b.eventId, c.eventId].sort());
    await s.idle();
    expect(await smsOf(a.eventId)).toMatchObject({ status: 'sent', attempts: 3 });
  });

  it('gives up after the configured attempts, with the error on record', async () => {
    let calls = 0;
    const g = await gateway(() => (calls++, 503));
    cleanup.push(g.close);
    const clock = new Clock();
    const s = await NoticeService.open({
      file: ':memory:',
      config: { ...config(), smsGateway: { url: g.url, token: 't' } },
      parties: parties(),
      notifiers: [new SmsHttpNotifier({ url: g.url, token: 't', timeoutMs: 1000 })],
      bus: new MemoryBus({ logger: silentLogger }),
      deadLetters: { add: async () => undefined },
      cameras,
      deps: caseFiler(),
      logger: silentLogger,
      now: clock.now,
      tickMs: 3_600_000,
    });
    cleanup.push(() => s.close());
    await s.start();
    const n = await s.onConfirmed(confirmed());
    await until(() => calls === 1, 5000, 'first attempt');
    await s.idle();
    for (let i = 0; i < 6; i++) {
      clock.advance(10_000);
      await s.tick();
      await s.idle();
    }
    expect(calls).toBe(3); // config: delivery.attempts 3
    const d = (await s.get(n.eventId))!.deliveries.find((x) => x.channel === 'sms')!;
    expect(d).toMatchObject({ status: 'failed', attempts: 3, error: expect.stringMatching(/HTTP 503/) });
    // The rest of the loop goes on: the console delivery was made, the re-check is still scheduled.
    expect((await s.get(n.eventId))!).toMatchObject({
      status: 'awaiting-recheck',
      deliveries: expect.arrayContaining([expect.objectContaining({ channel: 'console', status: 'sent' })]),
    });
  });
});

describe('loudspeaker adapter', () => {
  it('publishes the play command on the camera commands topic and waits for the broker', async () => {
    const broker = await startEmbeddedBroker({ port: 0, host: '127.0.0.1', logger: silentLogger });
    cleanup.push(() => broker.close());
    const sub = await mqtt.connectAsync(broker.url, { clientId: 'edge-test' });
    cleanup.push(() => sub.endAsync(true));
    const seen: { topic: string; payload: Record<string, unknown>; qos: number }[] = [];
    sub.on('message', (topic, payload, packet) =>
      seen.push({ topic, payload: JSON.parse(payload.toString()), qos: packet.qos }),
    );
    await sub.subscribeAsync('city/v1/+/camera/+/commands', { qos: 1 });

    const speaker = new LoudspeakerMqttNotifier({ url: broker.url, repeat: 2, timeoutMs: 2000, logger: silentLogger });
    const clock = new Clock();
    const s = await NoticeService.open({
      file: ':memory:',
      config: config(),
      parties: parties(),
      notifiers: [speaker],
      bus: new MemoryBus({ logger: silentLogger }),
      deadLetters: { add: async () => undefined },
      cameras,
      deps: caseFiler(),
      logger: silentLogger,
      now: clock.now,
      tickMs: 3_600_000,
    });
    cleanup.push(() => s.close()); // closes the speaker's connection too
    await s.start();
    const n = await s.onConfirmed(confirmed());
    await until(() => seen.length === 1, 5000, 'command at the edge');
    expect(seen[0]).toEqual({
      topic: 'city/v1/xinhua/camera/cam-xinhua-01/commands',
      qos: 1,
      payload: {
        type: 'play',
        id: `${n.eventId}:loudspeaker`,
        text: '新华路与人民路口东侧（新华路12号门前）的商户请注意：请将物品收回店内',
        repeat: 2,
        issuedAt: expect.any(Number),
      },
    });
    await until(
      async () => (await s.get(n.eventId))!.deliveries.find((d) => d.channel === 'loudspeaker')!.status === 'sent',
      2000,
      'recorded',
    );
    expect((await s.get(n.eventId))!.deliveries.find((d) => d.channel === 'loudspeaker')).toMatchObject({
      to: 'cam-xinhua-01',
      attempts: 1,
    });
  });

  it('reports a broker that is not there as a failed attempt (retried by the service)', async () => {
    const speaker = new LoudspeakerMqttNotifier({
      url: 'mqtt://127.0.0.1:1',
      repeat: 1,
      timeoutMs: 200,
      logger: silentLogger,
    });
    cleanup.push(() => speaker.close());
    expect(await speaker.send(notice(), 'x')).toEqual({
      ok: false,
      to: 'cam-xinhua-01',
      error: expect.stringMatching(/not connected to the broker/),
    });
  });
});
