import { describe, expect, it } from 'vitest';
import { BUS_READINGS_PER_MESSAGE, BusReadingsBatch, decodeBusReadings, encodeBusReadings } from './bus-readings.js';
import type { StoredReading } from './readings.js';

const reading = (deviceId: string, ts: number): StoredReading => ({
  district: 'xinhua',
  kind: 'noise',
  deviceId,
  ts,
  metrics: { laeq_db: 55.5 },
});

describe('readings on the bus', () => {
  it('groups a batch into one message per device, each in arrival order, and decodes them back', () => {
    const batch = [reading('a', 3), reading('b', 1), reading('a', 1), reading('b', 2), reading('a', 2)];
    const messages = encodeBusReadings(batch);
    expect(messages.map((m) => m.key)).toEqual(['a', 'b']);
    expect(decodeBusReadings(messages[0]!.value).map((r) => r.ts)).toEqual([3, 1, 2]);
    expect(decodeBusReadings(Buffer.from(messages[1]!.value))).toEqual([reading('b', 1), reading('b', 2)]);
  });

  it('splits a device’s readings beyond the per-message limit, keeping their order', () => {
    const n = BUS_READINGS_PER_MESSAGE * 2 + 5;
    const messages = encodeBusReadings(Array.from({ length: n }, (_, i) => reading('a', i)));
    expect(messages.map((m) => decodeBusReadings(m.value).length)).toEqual([
      BUS_READINGS_PER_MESSAGE,
      BUS_READINGS_PER_MESSAGE,
      5,
    ]);
    expect(messages.flatMap((m) => decodeBusReadings(m.value).map((r) => r.ts))).toEqual(
      Array.from({ length: n }, (_, i) => i),
    );
  });

  it('writes what JSON.stringify writes: seq, flags, floats, names that need escaping; a later batch leaves it intact', () => {
    const odd: StoredReading[] = [
      {
        district: '新华',
        kind: 'dust',
        deviceId: 'site "3"\\x',
        ts: 1795770000000,
        seq: 0,
        metrics: { pm25_ugm3: 0.1, pm10_ugm3: 1e21 },
      },
      {
        district: 'xinhua',
        kind: 'dust',
        deviceId: 'd2',
        ts: 1,
        metrics: { pm25_ugm3: -3.5 },
        flags: { pm25_ugm3: 'C' },
      },
      {
        district: 'xinhua',
        kind: 'noise',
        deviceId: 'd3',
        ts: 2,
        seq: 9007199254740991,
        metrics: { laeq_db: 74, lmax_db: 80.25 },
      },
    ];
    const messages = encodeBusReadings(odd);
    const text = messages.map((m) => m.value.toString('utf8'));
    expect(text).toEqual(
      odd.map((r) =>
        JSON.stringify([
          {
            district: r.district,
            kind: r.kind,
            deviceId: r.deviceId,
            ts: r.ts,
            seq: r.seq,
            metrics: r.metrics,
            flags: r.flags,
          },
        ]),
      ),
    );
    encodeBusReadings(Array.from({ length: 5000 }, (_, i) => reading('z', i)));
    expect(messages.map((m) => m.value.toString('utf8'))).toEqual(text);
    expect(messages.flatMap((m) => decodeBusReadings(m.value))).toEqual(odd);
  });

  it('encodes a batch message by message as encodeBusReadings encodes it whole, runs of a device packed per message', () => {
    const batch = new BusReadingsBatch();
    const all: StoredReading[] = [];
    for (let m = 0; m < 23; m++) {
      const message = Array.from({ length: 100 }, (_, k) => reading(m % 2 ? 'odd' : 'even', m * 100 + k));
      batch.add(message);
      all.push(...message);
    }
    const messages = batch.messages();
    expect(messages.map((x) => [x.key, decodeBusReadings(x.value).length])).toEqual([
      ['even', 1000],
      ['even', 200],
      ['odd', 1000],
      ['odd', 100],
    ]);
    expect(messages.flatMap((x) => decodeBusReadings(x.value))).toEqual([
      ...all.filter((r) => r.deviceId === 'even'),
      ...all.filter((r) => r.deviceId === 'odd'),
    ]);
    expect(batch.messages()).toBe(messages);
    expect(() => batch.add([reading('a', 1)])).toThrow(/after messages/);
    expect(new BusReadingsBatch().messages()).toEqual([]);
  });

  it('reads a single reading object, as an older ingest publishes it', () => {
    expect(decodeBusReadings(JSON.stringify(reading('a', 7)))).toEqual([reading('a', 7)]);
  });

  it('refuses what is not readings with a reason that names the field', () => {
    expect(() => decodeBusReadings('{"deviceId":')).toThrow(/^not JSON: /);
    expect(() => decodeBusReadings('[]')).toThrow(/^not the expected message: /);
    expect(() => decodeBusReadings(JSON.stringify([reading('a', 1), { ...reading('a', 2), kind: 'weather' }]))).toThrow(
      /^not the expected message: 1\.kind: /,
    );
    expect(() => decodeBusReadings(JSON.stringify({ ...reading('a', 1), ts: 'today' }))).toThrow(
      /^not the expected message: ts: /,
    );
  });
});
