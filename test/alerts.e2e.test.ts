// Alerts end to end in the embedded default: readings over MQTT → ingest → bus → detectors → alerts → API and the
// live stream; a person acknowledges; the condition clears and the alert resolves itself; a broken sensor raises a
// health alert, not an exceedance.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAppConfig } from '../app/config.js';
import { startPlatform, type Platform } from '../app/platform.js';
import { silentLogger } from '../runtime/log.js';
import { ADMIN_PASSWORD, signIn, tmpDir, uniq, waitFor, type ApiCall } from './helpers.js';

let p: Platform;
let client: mqtt.MqttClient;
let call: ApiCall;

beforeAll(async () => {
  const cfg = loadAppConfig({
    PORT: '0',
    MQTT_PORT: '0',
    HJ212_PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: tmpDir('alerts'),
    SIMULATE: '0',
    ADMIN_PASSWORD,
  });
  p = await startPlatform(cfg, silentLogger);
  // Test devices publish through the embedded gateway's account, which may publish any sensor's topics.
  client = await mqtt.connectAsync(p.mqttUrl!, {
    clientId: uniq('dev'),
    username: 'embedded-gateway',
    password: p.mqttPasswords!.get('embedded-gateway'),
  });
  const admin = await signIn(p.apiUrl);
  expect(
    (
      await admin('/api/users', {
        username: 'wang.li',
        password: 'wang-li-password',
        role: 'staff',
        displayName: '王丽',
      })
    ).status,
  ).toBeLessThan(300);
  call = await signIn(p.apiUrl, 'wang.li', 'wang-li-password');
});

afterAll(async () => {
  await client?.endAsync();
  await p?.stop();
});

type View = {
  id: string;
  ruleId: string;
  state: string;
  severity: string;
  category: string;
  history: { type: string; by: string }[];
};
const api = (path: string, body?: unknown) => call(path, body);
const alertsOf = async (device: string) => ((await api(`/api/alerts?device=${device}`)).body.items as View[]) ?? [];
const send = (device: string, ts: number, metrics: Record<string, number>) =>
  client.publishAsync(`city/v1/xinhua/manhole/${device}/readings`, JSON.stringify({ ts, metrics }), { qos: 1 });

describe('alerts', () => {
  it('an opened manhole cover raises a critical alert, pushed live; staff acknowledge it; it resolves when closed', async () => {
    const device = uniq('mh');
    // Listen to the live stream as a dashboard would.
    const events: View[] = [];
    const ctrl = new AbortController();
    const stream = await fetch(`${p.apiUrl}/api/alerts/stream`, {
      signal: ctrl.signal,
      headers: { cookie: call.cookie },
    });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    void (async () => {
      const dec = new TextDecoder();
      let buf = '';
      for await (const chunk of stream.body!) {
        buf += dec.decode(chunk as Uint8Array);
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          if (data) events.push(JSON.parse(data.slice(6)) as View);
        }
      }
    })().catch(() => undefined);

    const t0 = Date.now();
    await send(device, t0, { open: 0, tilt_deg: 0.3, water_cm: 10, battery_pct: 90, rssi_dbm: -80 });
    await send(device, t0 + 1000, { open: 1, tilt_deg: 0.3, water_cm: 10, battery_pct: 90, rssi_dbm: -80 });
    expect(await waitFor(async () => (await alertsOf(device)).some((a) => a.ruleId === 'manhole.open'), 10_000)).toBe(
      true,
    );
    const a = (await alertsOf(device)).find((x) => x.ruleId === 'manhole.open')!;
    expect(a).toMatchObject({ state: 'firing', severity: 'critical', category: 'threshold' });
    expect(await waitFor(() => events.some((e) => e.id === a.id && e.state === 'firing'), 5000)).toBe(true);

    const ack = await api(`/api/alerts/${a.id}/ack`, { note: '已派人现场查看' });
    expect(ack.status).toBe(200);
    expect(ack.body.state).toBe('acknowledged');

    // The same reading again (a redelivery) raises nothing new.
    await send(device, t0 + 1000, { open: 1, tilt_deg: 0.3, water_cm: 10, battery_pct: 90, rssi_dbm: -80 });
    await send(device, t0 + 2000, { open: 0, tilt_deg: 0.3, water_cm: 10, battery_pct: 90, rssi_dbm: -80 });
    expect(await waitFor(async () => (await api(`/api/alerts/${a.id}`)).body.state === 'resolved', 10_000)).toBe(true);
    const done = (await api(`/api/alerts/${a.id}`)).body as unknown as View;
    expect(done.history.map((h) => `${h.type}/${h.by}`)).toEqual([
      'fired/system',
      'acknowledged/wang.li',
      'resolved/system',
    ]);
    expect((await alertsOf(device)).filter((x) => x.ruleId === 'manhole.open')).toHaveLength(1);
    expect(await waitFor(() => events.some((e) => e.id === a.id && e.state === 'resolved'), 5000)).toBe(true);
    ctrl.abort();
  });

  it('a physically impossible value is a health alert, not an exceedance', async () => {
    const device = uniq('mh');
    const t0 = Date.now();
    await send(device, t0, { open: 0, tilt_deg: 500, water_cm: 10, battery_pct: 90, rssi_dbm: -80 });
    await send(device, t0 + 1000, { open: 0, tilt_deg: 500, water_cm: 10, battery_pct: 90, rssi_dbm: -80 });
    expect(await waitFor(async () => (await alertsOf(device)).some((x) => x.ruleId === 'health.range'), 10_000)).toBe(
      true,
    );
    const list = await alertsOf(device);
    expect(list.find((x) => x.ruleId === 'health.range')!.category).toBe('health');
    expect(list.some((x) => x.ruleId === 'manhole.tilt')).toBe(false);
  });

  it('a device whose last will says offline gets an offline alert at once', async () => {
    const device = uniq('mh');
    const t0 = Date.now();
    await send(device, t0, { open: 0, tilt_deg: 0.3, water_cm: 10, battery_pct: 90, rssi_dbm: -80 });
    // What the broker publishes for a device that vanished (its MQTT last will, retained).
    await client.publishAsync(
      `city/v1/xinhua/manhole/${device}/status`,
      JSON.stringify({ online: false, reason: 'connection lost' }),
      { qos: 1, retain: true },
    );
    expect(await waitFor(async () => (await alertsOf(device)).some((x) => x.ruleId === 'health.offline'), 10_000)).toBe(
      true,
    );
    expect((await alertsOf(device)).find((x) => x.ruleId === 'health.offline')!.category).toBe('health');
    await client.publishAsync(`city/v1/xinhua/manhole/${device}/status`, '', { qos: 1, retain: true });
  });

  it('answers bad requests clearly', async () => {
    expect((await api('/api/alerts?state=burning')).status).toBe(400);
    expect((await api('/api/alerts/not-a-uuid')).status).toBe(400);
    expect((await api('/api/alerts/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await api('/api/alerts/00000000-0000-4000-8000-000000000000/ack', {})).status).toBe(404);
  });
});
