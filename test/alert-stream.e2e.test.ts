// The live alert stream (/api/alerts/stream) on the real platform server: it ends with its session (logout, the
// user disabled, a role change), open streams are capped per user (429) and in all (503), and a client that does
// not read is cut off instead of being buffered for without bound.
import net from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_STREAM_LIMITS } from '../alerts/routes.js';
import { loadAppConfig } from '../app/config.js';
import { startPlatform, type Platform } from '../app/platform.js';
import { silentLogger } from '../runtime/log.js';
import { signIn, tmpDir, uniq, waitFor, type ApiCall } from './helpers.js';

let p: Platform;
let admin: ApiCall;
let baseline: number;

interface Stream {
  status: number;
  /** Set when the server ended the stream: the reason of its `end` event, or '' without one. */
  ended: string | null;
  close(): void;
}

const streams: Stream[] = [];
const listeners = () => p.alerts!.listenerCount('change');

async function openStream(cookie: string): Promise<Stream> {
  const ctrl = new AbortController();
  const res = await fetch(`${p.apiUrl}/api/alerts/stream`, { signal: ctrl.signal, headers: { cookie } });
  const s: Stream = { status: res.status, ended: null, close: () => ctrl.abort() };
  if (res.status !== 200) {
    await res.body?.cancel();
    return s;
  }
  streams.push(s);
  void (async () => {
    const dec = new TextDecoder();
    let text = '';
    for await (const chunk of res.body!) text += dec.decode(chunk as Uint8Array);
    const end = /event: end\ndata: (.*)\n/.exec(text);
    s.ended = end ? (JSON.parse(end[1]!) as { reason: string }).reason : '';
  })().catch(() => undefined);
  return s;
}

async function user(username: string, role: 'staff' | 'reviewer' = 'staff'): Promise<ApiCall> {
  expect((await admin('/api/users', { username, password: `${username}-password`, role })).status).toBe(201);
  return signIn(p.apiUrl, username, `${username}-password`);
}

async function closeAll(): Promise<void> {
  for (const s of streams.splice(0)) s.close();
  expect(await waitFor(() => listeners() === baseline, 10_000, 20)).toBe(true);
}

beforeAll(async () => {
  const cfg = loadAppConfig({
    PORT: '0',
    MQTT_PORT: '0',
    HJ212_PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: tmpDir('alert-stream'),
    SIMULATE: '0',
    ADMIN_PASSWORD: 'stream-admin-password',
  });
  p = await startPlatform(cfg, silentLogger);
  admin = await signIn(p.apiUrl, 'admin', 'stream-admin-password');
  baseline = listeners();
});

afterAll(async () => {
  for (const s of streams) s.close();
  await p?.stop();
});

describe('live alert stream', () => {
  it('ends at logout, when its user is disabled and when its role changes; other streams stay open', async () => {
    const a1 = await user('wu.fang');
    const a2 = await signIn(p.apiUrl, 'wu.fang', 'wu.fang-password');
    const b = await user('qian.hui');
    const c = await user('zheng.yu');
    const [s1, s2, s3, s4] = [
      await openStream(a1.cookie),
      await openStream(a2.cookie),
      await openStream(b.cookie),
      await openStream(c.cookie),
    ];
    expect([s1.status, s2.status, s3.status, s4.status]).toEqual([200, 200, 200, 200]);

    expect((await a1('/api/session', undefined, 'DELETE')).status).toBe(200);
    expect(await waitFor(() => s1.ended !== null, 10_000, 20)).toBe(true);
    expect(s1.ended).toBe('logged out');

    expect((await admin('/api/users/qian.hui', { disabled: true }, 'PATCH')).status).toBe(200);
    expect(await waitFor(() => s3.ended !== null, 10_000, 20)).toBe(true);
    expect(s3.ended).toBe('user disabled');

    expect((await admin('/api/users/zheng.yu', { role: 'reviewer' }, 'PATCH')).status).toBe(200);
    expect(await waitFor(() => s4.ended !== null, 10_000, 20)).toBe(true);
    expect(s4.ended).toBe('role changed');
    // Reconnecting, the guard judges the new role: reviewers do not get alerts.
    expect((await openStream(c.cookie)).status).toBe(403);

    // The other session of the user who logged out still streams.
    expect(s2.ended).toBeNull();
    await closeAll();
  });

  it('caps open streams per user (429) and in all (503)', async () => {
    const { maxStreams, maxStreamsPerUser } = ALERT_STREAM_LIMITS;
    const d = await user('sun.wei');
    for (let i = 0; i < maxStreamsPerUser; i++) expect((await openStream(d.cookie)).status).toBe(200);
    const over = await fetch(`${p.apiUrl}/api/alerts/stream`, { headers: { cookie: d.cookie } });
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await over.json()) as { error: string }).error).toBe('too_many_requests');
    // A closed one frees its place.
    streams.pop()!.close();
    expect(await waitFor(() => listeners() === baseline + maxStreamsPerUser - 1, 10_000, 20)).toBe(true);
    expect((await openStream(d.cookie)).status).toBe(200);
    await closeAll();

    // Users with maxStreamsPerUser streams each until the process holds maxStreams.
    let open = 0;
    for (let u = 0; open < maxStreams; u++) {
      const who = await user(`crowd.${u}`);
      for (let i = 0; i < maxStreamsPerUser && open < maxStreams; i++, open++)
        expect((await openStream(who.cookie)).status).toBe(200);
    }
    const late = await user('late.comer');
    const full = await fetch(`${p.apiUrl}/api/alerts/stream`, { headers: { cookie: late.cookie } });
    expect(full.status).toBe(503);
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
    await full.body?.cancel();
    await closeAll();
    expect((await openStream(late.cookie)).status).toBe(200);
    await closeAll();
  });

  it('cuts off a client that does not read instead of buffering for it without bound', async () => {
    const staff = await user('lin.tao');
    // A real alert: an opened manhole cover, published through the embedded gateway's account.
    const client = await mqtt.connectAsync(p.mqttUrl!, {
      clientId: uniq('dev'),
      username: 'embedded-gateway',
      password: p.mqttPasswords!.get('embedded-gateway'),
    });
    const device = uniq('mh');
    const t0 = Date.now();
    const send = (ts: number, open: number) =>
      client.publishAsync(
        `city/v1/xinhua/manhole/${device}/readings`,
        JSON.stringify({ ts, metrics: { open, tilt_deg: 0.3, water_cm: 10, battery_pct: 90, rssi_dbm: -80 } }),
        { qos: 1 },
      );
    await send(t0, 0);
    await send(t0 + 1000, 1);
    let id = '';
    expect(
      await waitFor(async () => {
        const items = (await staff(`/api/alerts?device=${device}`)).body.items as
          { id: string; ruleId: string }[] | undefined;
        id = items?.find((a) => a.ruleId === 'manhole.open')?.id ?? '';
        return id !== '';
      }, 10_000),
    ).toBe(true);
    await client.endAsync();

    // A client that sends the request and never reads the answer.
    const port = new URL(p.apiUrl).port;
    const sock = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => sock.once('connect', resolve));
    let closed = false;
    sock.on('close', () => (closed = true));
    sock.on('error', () => undefined);
    sock.write(`GET /api/alerts/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${staff.cookie}\r\n\r\n`);
    sock.pause();
    expect(await waitFor(() => listeners() === baseline + 1, 10_000, 20)).toBe(true);

    // Every note sends the whole alert with its history, growing with each note.
    const note = '现场情况记录 '.repeat(250).slice(0, 2000);
    // (About 50 notes, 3 MB, fill the socket's buffers and the stream's 1 MiB here; 150 are 20 MB.)
    for (let i = 0; i < 150 && !closed && listeners() > baseline; i++) {
      expect((await staff(`/api/alerts/${id}/notes`, { note })).status).toBe(200);
    }
    // The server let go of the stream; the connection's end reaches the client behind what it has not read yet.
    expect(listeners()).toBe(baseline);
    sock.resume();
    expect(await waitFor(() => closed, 10_000, 20)).toBe(true);
    sock.destroy();
  });
});
