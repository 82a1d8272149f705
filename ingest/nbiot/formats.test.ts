// Decoding of carrier pushes (no services needed): CTWing messages, field mapping, ids, the generic mapping format,
// the seen-id file, and the auth checks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { signPush, verifyAuth } from './auth.js';
import { AuthSchema, NbiotConfigSchema, type NbiotConfigInput } from './config.js';
import { PushDecoder, ctwingMessageId, type Decoded } from './formats.js';
import { SeenIds } from './seen.js';

const T = Date.parse('2026-11-27T10:00:00+08:00');

function decoder(over: Partial<NbiotConfigInput> = {}): PushDecoder {
  return new PushDecoder(
    NbiotConfigSchema.parse({
      auth: { mode: 'token', token: 'x'.repeat(16) },
      devices: [
        { carrierId: 'dev-a', id: 'mh-a', district: 'xinhua' },
        { carrierId: '869976030124133', id: 'mh-b', district: 'jinghai' },
      ],
      idempotency: { dir: '/tmp/unused' },
      mqtt: { url: 'mqtt://127.0.0.1:1883' },
      ...over,
    }),
  );
}

const data = (payload: unknown, over: Record<string, unknown> = {}) => ({
  messageType: 'dataReport',
  deviceId: 'dev-a',
  timestamp: T,
  payload,
  ...over,
});

function reading(d: Decoded) {
  if (d.kind !== 'reading') throw new Error(`expected a reading, got ${d.kind}: ${'reason' in d ? d.reason : ''}`);
  return d;
}

function reason(d: Decoded): string {
  if (d.kind === 'reading') throw new Error('expected no reading');
  return d.reason;
}

describe('CTWing pushes', () => {
  it('maps a profile payload, nested serviceData too, and finds the device by IMEI', () => {
    const d = reading(
      decoder().decode(data({ tilt_angle: '2.5', cover_status: 'opened', water_level: 10, rsrp: -91, SNR: 3 })),
    );
    expect(d.device).toEqual({ id: 'mh-a', district: 'xinhua' });
    expect(d.reading).toEqual({ ts: T, metrics: { tilt_deg: 2.5, open: 1, water_cm: 10, rssi_dbm: -91 } });
    const nested = reading(
      decoder().decode(
        data(
          { serviceId: 'notification', serviceData: { Battery_Level: 100, coverStatus: false } },
          { deviceId: 'other', IMEI: '869976030124133' },
        ),
      ),
    );
    expect(nested.device.id).toBe('mh-b');
    expect(nested.carrierId).toBe('869976030124133');
    expect(nested.reading.metrics).toEqual({ battery_pct: 100, open: 0 });
  });

  it('applies scale and offset, and lets a config add, change and remove field names', () => {
    const dec = decoder({
      fields: { water_mm: { metric: 'water_cm', scale: 0.1 }, RSRP: { metric: 'rssi_dbm', scale: -1 }, angle: null },
    });
    const d = reading(dec.decode(data({ water_mm: 123, RSRP: 114, angle: 80, tilt: 3 })));
    expect(d.reading.metrics).toEqual({ water_cm: 12.3, rssi_dbm: -114, tilt_deg: 3 });
  });

  it('dead-letters what cannot become a reading, saying why', () => {
    const dec = decoder();
    expect(reason(dec.decode(data({ tilt_angle: 'steep' })))).toBe('field tilt_angle: expected a number, got "steep"');
    expect(reason(dec.decode(data({ cell_id: 1, SNR: 2 })))).toBe(
      'no mapped field in the service data (fields: cell_id, SNR)',
    );
    expect(reason(dec.decode(data({ tilt: 1, angle: 2 })))).toBe('fields tilt and angle both map to tilt_deg');
    expect(reason(dec.decode(data({ tilt: 1 }, { timestamp: T / 1000 })))).toMatch(
      /^timestamp: ts is outside 2000..2100/,
    );
    expect(reason(dec.decode(data({ tilt: 1 }, { deviceId: 'nobody', IMEI: 'undefined' })))).toBe(
      'unknown carrier device nobody: add it to devices',
    );
    expect(reason(dec.decode(data({ APPdata: 'AQID' })))).toMatch(/^transparent payload/);
    expect(reason(dec.decode({ hello: 1 }))).toBe('messageType is missing: not a CTWing push');
    expect(reason(dec.decode([1, 2]))).toBe('push is not a JSON object');
  });

  it('ignores messages that carry no reading', () => {
    const d = decoder().decode({ messageType: 'commandResponse', deviceId: 'dev-a', timestamp: T });
    expect(d.kind).toBe('ignored');
  });

  it('turns events into readings: content fields, eventMetrics by serviceId, fault flags', () => {
    const dec = decoder({ eventMetrics: { '1004': { battery_pct: 5 } } });
    const ev = (serviceId: number, eventType: number, eventContent: unknown) => ({
      messageType: 'eventReport',
      deviceId: 'dev-a',
      timestamp: T,
      serviceId,
      eventType,
      eventContent,
    });
    expect(reading(dec.decode(ev(1001, 2, { tilt_angle: 40 }))).reading).toEqual({ ts: T, metrics: { tilt_deg: 40 } });
    expect(reading(dec.decode(ev(1004, 2, {}))).reading).toEqual({ ts: T, metrics: { battery_pct: 5 } });
    expect(reading(dec.decode(ev(1004, 2, { battery_value: 7 }))).reading.metrics).toEqual({ battery_pct: 7 });
    expect(reading(dec.decode(ev(1009, 3, { tilt_angle: 1, water_level: 2 }))).reading).toEqual({
      ts: T,
      metrics: { tilt_deg: 1, water_cm: 2 },
      flags: { tilt_deg: 'D', water_cm: 'D' },
    });
    expect(reason(dec.decode(ev(1003, 2, {})))).toBe(
      'no mapped field in the service data (fields: none) and no eventMetrics for event 1003',
    );
  });

  it('derives the same message id for a retry, whatever the key order, and another id for another message', () => {
    const a = data({ tilt: 1, water_level: 2 }, { upPacketSN: 7 });
    const reordered = JSON.parse(
      JSON.stringify({
        payload: { water_level: 2, tilt: 1 },
        upPacketSN: 7,
        timestamp: T,
        deviceId: 'dev-a',
        messageType: 'dataReport',
      }),
    );
    expect(ctwingMessageId(a)).toBe(ctwingMessageId(reordered));
    expect(ctwingMessageId(a)).not.toBe(ctwingMessageId({ ...a, timestamp: T + 1 }));
    expect(ctwingMessageId(a)).not.toBe(ctwingMessageId({ ...a, payload: { tilt: 1, water_level: 3 } }));
    expect(ctwingMessageId(a)).toMatch(/^ctwing:[0-9a-f]{32}$/);
  });
});

describe('mapping format', () => {
  const dec = decoder({
    format: 'mapping',
    mapping: {
      deviceId: 'dev.imei',
      messageId: 'msgId',
      timestamp: 'at',
      timestampUnit: 's',
      fields: 'data.values',
      event: 'data.event',
    },
    eventMetrics: { cover_open: { open: 1 } },
  });

  it('reads device, id, time and fields from the configured paths', () => {
    const d = reading(
      dec.decode({
        dev: { imei: '869976030124133' },
        msgId: 'm-1',
        at: T / 1000,
        data: { values: { angle: 12, battery: '88' } },
      }),
    );
    expect(d.messageId).toBe('id:869976030124133:m-1');
    expect(d.device.id).toBe('mh-b');
    expect(d.reading).toEqual({ ts: T, metrics: { tilt_deg: 12, battery_pct: 88 } });
    const e = reading(
      dec.decode({ dev: { imei: '869976030124133' }, msgId: 'm-2', at: T / 1000 + 1, data: { event: 'cover_open' } }),
    );
    expect(e.reading.metrics).toEqual({ open: 1 });
  });

  it('dead-letters a push without the configured parts', () => {
    expect(reason(dec.decode({ dev: {}, msgId: 'x', at: T / 1000 }))).toBe('no device id at dev.imei');
    expect(reason(dec.decode({ dev: { imei: '869976030124133' }, at: T / 1000, data: { values: { angle: 1 } } }))).toBe(
      'no message id at msgId',
    );
  });

  it('is refused at load without a mapping', () => {
    const r = NbiotConfigSchema.safeParse({
      format: 'mapping',
      auth: { mode: 'token', token: 'x'.repeat(16) },
      devices: [{ carrierId: 'a', id: 'b', district: 'c' }],
      idempotency: { dir: '/x' },
      mqtt: { url: 'mqtt://h' },
    });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['mapping']);
  });
});

describe('auth', () => {
  const raw = Buffer.from('{"a":1}');
  it('checks tokens in a header (Bearer accepted) or a query parameter', () => {
    const a = AuthSchema.parse({ mode: 'token', token: 't'.repeat(20) });
    expect(verifyAuth(a, { 'x-nbiot-token': 't'.repeat(20) }, {}, raw)).toEqual({ ok: true });
    expect(verifyAuth(a, { 'x-nbiot-token': `Bearer ${'t'.repeat(20)}` }, {}, raw)).toEqual({ ok: true });
    expect(verifyAuth(a, { 'x-nbiot-token': 't' }, {}, raw).ok).toBe(false);
    const q = AuthSchema.parse({ mode: 'token', token: 't'.repeat(20), query: 'token' });
    expect(verifyAuth(q, {}, { token: 't'.repeat(20) }, raw)).toEqual({ ok: true });
    expect(verifyAuth(q, { 'x-nbiot-token': 't'.repeat(20) }, {}, raw)).toEqual({
      ok: false,
      reason: 'no token (expected in query parameter token)',
    });
  });

  it('checks an HMAC in hex or base64, and signPush produces what verifyAuth accepts', () => {
    for (const encoding of ['hex', 'base64'] as const) {
      const a = AuthSchema.parse({
        mode: 'hmac',
        secret: 's'.repeat(20),
        encoding,
        algorithm: 'sha1',
        header: 'X-Sign',
      });
      const { headers } = signPush(a, raw);
      expect(verifyAuth(a, { 'x-sign': headers['X-Sign'] }, {}, raw)).toEqual({ ok: true });
      expect(verifyAuth(a, { 'x-sign': headers['X-Sign'] }, {}, Buffer.from('{"a":2}')).ok).toBe(false);
      expect(verifyAuth(a, { 'x-sign': 'zz' }, {}, raw).ok).toBe(false);
    }
  });
});

describe('seen message ids', () => {
  const tmp = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nbiot-seen-')), 'ids.log');

  it('remembers ids across a reopen, and ignores a torn last line', () => {
    const file = tmp();
    const s = SeenIds.open(file, { maxIds: 100, maxAgeMs: 86_400_000 });
    s.add('ctwing:abc');
    s.add('id with spaces\nand a newline');
    s.close();
    fs.appendFileSync(file, '17000');
    const again = SeenIds.open(file, { maxIds: 100, maxAgeMs: 86_400_000 });
    expect(again.has('ctwing:abc')).toBe(true);
    expect(again.has('id with spaces\nand a newline')).toBe(true);
    expect(again.has('other')).toBe(false);
    expect(again.size).toBe(2);
    again.close();
  });

  it('keeps at most maxIds, the newest, and compacts its file', () => {
    const file = tmp();
    const s = SeenIds.open(file, { maxIds: 100, maxAgeMs: 86_400_000 });
    for (let i = 0; i < 1000; i++) s.add(`m${i}`);
    expect(s.size).toBe(100);
    expect(s.has('m899')).toBe(false);
    expect(s.has('m900')).toBe(true);
    s.close();
    expect(fs.readFileSync(file, 'utf8').split('\n').length).toBeLessThanOrEqual(201);
    const again = SeenIds.open(file, { maxIds: 100, maxAgeMs: 86_400_000 });
    expect(again.size).toBe(100);
    expect(again.has('m999')).toBe(true);
    again.close();
  });

  it('forgets ids older than maxAge', () => {
    const file = tmp();
    const s = SeenIds.open(file, { maxIds: 100, maxAgeMs: 60_000 });
    s.add('old', Date.now() - 120_000);
    s.add('new');
    expect(s.has('old')).toBe(false);
    expect(s.has('new')).toBe(true);
    s.close();
    const again = SeenIds.open(file, { maxIds: 100, maxAgeMs: 60_000 });
    expect(again.size).toBe(1);
    again.close();
  });
});
