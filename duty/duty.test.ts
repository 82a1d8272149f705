// On-duty notification against a real local robot receiver (an HTTP server that checks the 加签 signature): the
// receiver down for 30 s of the service's clock and the message delivered once when it is back; the acknowledge link
// (GET shows, POST acknowledges) and no escalation after it; escalation to the next person when nobody acknowledges,
// stopped by the console's acknowledgement; quiet hours; bad links and bad configuration.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AlertManager } from '../alerts/manager.js';
import { DuckDbAlertStore } from '../alerts/store.js';
import { silentLogger } from '../runtime/log.js';
import { signal } from '../test/console-fixtures.js';
import { dutyConfig, type DutyConfigInput } from './config.js';
import { robotSign } from './robot.js';
import { dutyRoutes } from './routes.js';
import { DutyService } from './service.js';
import { DutyStore } from './store.js';

const SECRET = 'SECtest-robot-secret';
const KEY = crypto.randomBytes(32);
const MIN = 60_000;

interface Received {
  key: string;
  body: { msgtype: string; markdown: { title: string; text: string }; at: { atMobiles: string[] } };
}

/** The robot: takes messages whose signature is right (within an hour of its timestamp), answers like DingTalk. */
class Receiver {
  received: Received[] = [];
  /** What the SMS gateway took: the bearer token checked. */
  texts: { to: string; text: string; key: string }[] = [];
  private server: http.Server | null = null;
  port = 0;
  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const u = new URL(req.url!, 'http://x');
        if (u.pathname === '/sms') {
          if (req.headers.authorization !== 'Bearer sms-token') {
            res.statusCode = 401;
            res.end('{}');
            return;
          }
          const b = JSON.parse(body) as { to: string; text: string };
          this.texts.push({ to: b.to, text: b.text, key: String(req.headers['idempotency-key']) });
          res.end('{"ok":true}');
          return;
        }
        const ts = Number(u.searchParams.get('timestamp'));
        if (u.searchParams.get('sign') !== robotSign(SECRET, ts) || u.searchParams.get('access_token') !== 'abc') {
          res.end(JSON.stringify({ errcode: 310000, errmsg: 'sign not match' }));
          return;
        }
        this.received.push({ key: String(req.headers['idempotency-key']), body: JSON.parse(body) as Received['body'] });
        res.end(JSON.stringify({ errcode: 0, errmsg: 'ok' }));
      });
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise((r) => s.close(r));
  }
}

describe('on-duty notification', () => {
  const receiver = new Receiver();
  let alertStore: DuckDbAlertStore;
  let alerts: AlertManager;
  let store: DutyStore;
  let duty: DutyService;
  const app = Fastify();
  // 2026-11-27 10:00 in Shanghai: daytime.
  const clock = { t: Date.parse('2026-11-27T02:00:00Z') };
  const advance = async (ms: number, step = 1000) => {
    for (let left = ms; left > 0; left -= step) {
      clock.t += Math.min(step, left);
      await duty.tick();
    }
  };
  const config = (): DutyConfigInput => ({
    publicBaseUrl: 'https://cgj.example.gov.cn',
    robots: { env: { url: `http://127.0.0.1:${receiver.port}/robot/send?access_token=abc`, secret: SECRET } },
    rosters: [
      {
        district: 'xinhua',
        team: 'environment',
        robot: 'env',
        people: [
          { name: '王莉', phone: '13800000001' },
          { name: '李强', phone: '13800000002' },
        ],
      },
      { district: 'xinhua', team: 'drainage', robot: 'env', people: [{ name: '赵敏', phone: '13800000003' }] },
    ],
    rules: [
      { team: 'environment', kinds: ['noise', 'dust', 'fume'], severities: ['warning', 'major', 'critical'] },
      { team: 'drainage', kinds: ['drainage', 'manhole'], severities: ['major', 'critical'] },
    ],
    escalateAfterMinutes: { major: 15, warning: 30 },
    quietHours: { warning: { from: '22:00', to: '07:00' } },
    delivery: { retryBaseMs: 1000, retryMaxMs: 8000, attempts: 100, timeoutMs: 2000 },
  });

  beforeAll(async () => {
    await receiver.start();
  });
  beforeEach(async () => {
    alertStore = await DuckDbAlertStore.open(':memory:');
    alerts = new AlertManager(alertStore);
    store = await DutyStore.open(':memory:');
    duty = new DutyService({
      config: dutyConfig(config()),
      store,
      alerts,
      linkKey: KEY,
      logger: silentLogger,
      now: () => clock.t,
      tickMs: 3_600_000,
    });
    duty.start();
    receiver.received = [];
    receiver.texts = [];
  });
  afterEach(async () => {
    await duty.close();
    await store.close();
    await alertStore.close();
  });
  afterAll(async () => {
    await receiver.stop();
    await app.close();
  });

  const fire = async (o: Partial<Parameters<typeof signal>[0]> = {}) => {
    const a = (await alerts.handle(
      signal({
        deviceId: 'nz-xinhua-001',
        district: 'xinhua',
        kind: 'noise',
        ruleId: 'noise.day',
        severity: 'major',
        ...o,
      }),
    ))!;
    await duty.tick();
    return a;
  };

  it('keeps trying while the robot is down for 30 s, delivers once when it is back; the link acknowledges and nothing escalates', async () => {
    await receiver.stop();
    const a = await fire();
    await advance(30_000);
    const during = (await duty.get(a.id))!.messages[0]!;
    expect(during).toMatchObject({ status: 'pending', person: { name: '王莉' } });
    // Backoff 1, 2, 4, 8, 8, 8 s: a handful of attempts in 30 s, not one a tick.
    expect(during.attempts).toBeGreaterThanOrEqual(4);
    expect(during.attempts).toBeLessThanOrEqual(8);
    expect(during.lastError).toMatch(/robot http:\/\/127\.0\.0\.1:\d+\/robot\/send/);
    await receiver.start();
    await advance(10_000);
    expect(receiver.received).toHaveLength(1);
    const [msg] = receiver.received;
    expect(msg!.key).toBe(`${a.id}:0:robot`);
    expect(msg!.body.at.atMobiles).toEqual(['13800000001']);
    expect(msg!.body.markdown.text).toContain('【严重】测试告警');
    const link = new RegExp(`\\(https://cgj\\.example\\.gov\\.cn(/duty/ack/${a.id}\\.0\\.[A-Za-z0-9_-]{22})\\)`).exec(
      msg!.body.markdown.text,
    )?.[1];
    expect(link).toBeDefined();
    expect((await duty.get(a.id))!.messages[0]).toMatchObject({ status: 'sent' });

    // The link: a GET (a chat app's preview) shows the alert and changes nothing; the button's POST acknowledges.
    const web = Fastify();
    await web.register(dutyRoutes, { duty, alerts, linkKey: KEY });
    const shown = await web.inject({ url: link! });
    expect(shown.statusCode).toBe(200);
    expect(shown.body).toContain('王莉 确认接警');
    expect((await alerts.get(a.id))!.state).toBe('firing');
    const posted = await web.inject({
      method: 'POST',
      url: link!,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    });
    expect(posted.statusCode).toBe(200);
    expect(posted.body).toContain('王莉（值班链接）');
    const acked = (await alerts.get(a.id))!;
    expect(acked.state).toBe('acknowledged');
    expect(acked.history.at(-1)).toMatchObject({ type: 'acknowledged', by: '王莉（值班链接）' });
    // Past the 15 minutes: nobody else is called.
    await advance(20 * MIN, MIN);
    expect(receiver.received).toHaveLength(1);
    expect((await duty.get(a.id))!).toMatchObject({
      step: 0,
      acknowledged: { by: '王莉（值班链接）', via: 'link' },
      nextAt: null,
    });
    // A forged or altered link is a plain 404.
    expect(
      (await web.inject({ method: 'POST', url: link!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) })).statusCode,
    ).toBe(404);
    expect((await web.inject({ url: `/duty/ack/${a.id}.1.${'A'.repeat(22)}` })).statusCode).toBe(404);
    await web.close();
  });

  it('calls the next person when nobody acknowledges in time; the console acknowledgement stops it', async () => {
    const a = await fire();
    expect(receiver.received.map((r) => r.body.at.atMobiles[0])).toEqual(['13800000001']);
    await advance(14 * MIN, MIN);
    expect(receiver.received).toHaveLength(1);
    await advance(2 * MIN, MIN);
    expect(receiver.received.map((r) => r.body.at.atMobiles[0])).toEqual(['13800000001', '13800000002']);
    expect(receiver.received[1]!.body.markdown.text).toContain('前一位值班人员 王莉 未在时限内确认');
    expect(receiver.received[1]!.key).toBe(`${a.id}:1:robot`);
    await alerts.acknowledge(a.id, 'li.qiang');
    await duty.tick();
    expect((await duty.get(a.id))!.acknowledged).toMatchObject({ by: 'li.qiang', via: 'console' });
    await advance(60 * MIN, 5 * MIN);
    expect(receiver.received).toHaveLength(2);
  });

  it('holds a warning through its quiet hours and sends it when they end; alerts no rule names call nobody', async () => {
    clock.t = Date.parse('2026-11-27T15:00:00Z'); // 23:00 in Shanghai
    const a = await fire({ severity: 'warning' });
    await advance(7 * 60 * MIN, 10 * MIN); // to 06:00
    expect(receiver.received).toHaveLength(0);
    expect((await duty.get(a.id))!.messages[0]!.nextAt).toBe(Date.parse('2026-11-27T23:00:00Z'));
    await advance(61 * MIN, 10 * MIN);
    expect(receiver.received).toHaveLength(1);
    // A drainage warning: the drainage rule pages major and critical only.
    const b = await fire({ deviceId: 'dr-1', kind: 'drainage', ruleId: 'drain', severity: 'warning' });
    expect(await duty.get(b.id)).toBeNull();
    clock.t = Date.parse('2026-11-27T02:00:00Z');
  });

  it('tells the person by robot and by a text to their phone through the SMS gateway; acknowledged, neither goes to the next', async () => {
    await duty.close();
    duty = new DutyService({
      config: dutyConfig(config()),
      store,
      alerts,
      linkKey: KEY,
      logger: silentLogger,
      now: () => clock.t,
      tickMs: 3_600_000,
      sms: { url: `http://127.0.0.1:${receiver.port}/sms`, token: 'sms-token' },
    });
    duty.start();
    const a = await fire();
    expect(receiver.received.map((r) => r.key)).toEqual([`${a.id}:0:robot`]);
    expect(receiver.texts).toHaveLength(1);
    expect(receiver.texts[0]).toMatchObject({ to: '13800000001', key: `${a.id}:0:sms` });
    expect(receiver.texts[0]!.text).toMatch(
      new RegExp(
        `^【城市管理值班】严重：测试告警，xinhua nz-xinhua-001.*确认接警：https://cgj\\.example\\.gov\\.cn/duty/ack/${a.id}\\.0\\.`,
      ),
    );
    expect(await duty.acknowledgeFromLink(a.id, 0)).toMatchObject({ ok: true, by: '王莉（值班链接）' });
    await advance(30 * MIN, MIN);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.texts).toHaveLength(1);
  });

  it('refuses a roster whose robot is not configured, naming it', () => {
    const c = config();
    c.rosters[0]!.robot = 'wecom';
    expect(() => dutyConfig(c)).toThrow(/rosters\.0\.people\.0\.robot: no robot "wecom" in robots/);
  });
});

describe('duty sample', () => {
  it('duty.sample.json is a valid configuration', async () => {
    const { loadDutyConfig } = await import('./config.js');
    const c = loadDutyConfig(new URL('./duty.sample.json', import.meta.url).pathname);
    expect(c.rosters.map((r) => [r.district, r.team, r.people.length])).toEqual([
      ['xinhua', 'environment', 2],
      ['xinhua', 'drainage', 2],
    ]);
  });
});
