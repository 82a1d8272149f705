import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, ConfigError } from '../../../runtime/config.js';
import { factorMap, Hj212ConfigSchema } from './config.js';
import { mapPacket, type Hj212Device, type MapOptions } from './mapping.js';
import { parseSegment, type Hj212Packet } from './packet.js';
import { formatDataTime, formatQn, parseLocalTime } from './time.js';
import vectors from './testdata/vectors.json' with { type: 'json' };

const V = vectors as Record<'A' | 'B' | 'C' | 'D' | 'E' | 'invalid', string>;
const packet = (segment: string): Hj212Packet => {
  const r = parseSegment(segment);
  if (!r.ok) throw new Error(r.reason);
  return r.packet;
};
const vec = (k: keyof typeof V) => packet(V[k].slice(6, -4));
const opts = (o: Partial<MapOptions> = {}): MapOptions => ({
  factors: factorMap({ factors: {} }),
  timeZone: 'Asia/Shanghai',
  receivedAt: Date.parse('2026-01-01T00:00:00Z'),
  ...o,
});
const site: Hj212Device = { id: 'ds-site-01', district: 'xinhua', kind: 'dust' };
const noise = (id = 'ds-site-01-noise') => ({ id, district: 'xinhua', kind: 'noise' as const });
const dust = { id: 'ds-site-01', district: 'xinhua', kind: 'dust' as const };

describe('mapPacket: the test vectors of domain.md', () => {
  it('B: dust metrics on the device, LA (typo LA-td) on its noise companion', () => {
    const m = mapPacket(vec('B'), site, opts());
    const ts = Date.parse('2020-08-14T15:16:00+08:00');
    expect(m.readings).toEqual([
      {
        target: dust,
        reading: {
          ts,
          metrics: {
            pm25_ugm3: 207,
            pm10_ugm3: 295,
            temp_c: 12.6,
            rh_pct: 32,
            pressure_kpa: 101.02,
            wind_ms: 2.1,
            wind_dir_deg: 120,
            tsp_ugm3: 217,
          },
        },
      },
      { target: noise(), reading: { ts, metrics: { laeq_db: 50.1 } } },
    ]);
    expect(m.tsSource).toBe('DataTime');
    expect(m.unmapped).toEqual([]);
  });

  it('C: minute data (-Avg); the gases are not mapped and are listed', () => {
    const m = mapPacket(vec('C'), site, opts());
    expect(m.readings).toEqual([
      {
        target: dust,
        reading: {
          ts: Date.parse('2022-05-13T16:26:00+08:00'),
          metrics: {
            pm25_ugm3: 14,
            pm10_ugm3: 31,
            wind_ms: 1,
            wind_dir_deg: 11,
            temp_c: 17,
            rh_pct: 85,
            pressure_kpa: 95,
          },
        },
      },
    ]);
    expect(m.unmapped).toEqual(['a21004', 'a05024', 'a21026', 'a21005']);
  });

  it('D: all zeros are values, not missing', () => {
    const m = mapPacket(vec('D'), site, opts());
    const ts = Date.parse('2018-08-21T14:25:09+08:00');
    expect(m.readings).toEqual([
      {
        target: dust,
        reading: {
          ts,
          metrics: {
            pm25_ugm3: 0,
            pm10_ugm3: 0,
            tsp_ugm3: 0,
            temp_c: 0,
            rh_pct: 0,
            pressure_kpa: 0,
            wind_ms: 0,
            wind_dir_deg: 0,
          },
        },
      },
      { target: noise(), reading: { ts, metrics: { laeq_db: 0 } } },
    ]);
  });

  it('E: Leq is LAeq; vendor codes B00008/B00009 are skipped until configured', () => {
    const m = mapPacket(vec('E'), site, opts());
    const ts = Date.parse('2018-09-14T09:06:00+08:00');
    expect(m.readings).toEqual([
      {
        target: dust,
        reading: {
          ts,
          metrics: {
            tsp_ugm3: 67.04,
            pm25_ugm3: 39.6,
            pm10_ugm3: 53,
            wind_ms: 0,
            wind_dir_deg: 335,
            pressure_kpa: 30.4,
          },
        },
      },
      { target: noise(), reading: { ts, metrics: { laeq_db: 60.97 } } },
    ]);
    expect(m.unmapped).toEqual(['B00008', 'B00009']);
  });

  it('E for a noise monitor with configured companions and vendor codes', () => {
    const cfg = parseConfig(Hj212ConfigSchema, { factors: { B00008: 'l10_db', a01006: null } }, 'test');
    const nz: Hj212Device = {
      id: 'nz-01',
      district: 'jinghai',
      kind: 'noise',
      companions: { dust: 'ds-next-to-nz-01' },
    };
    const m = mapPacket(vec('E'), nz, opts({ factors: factorMap(cfg) }));
    const ts = Date.parse('2018-09-14T09:06:00+08:00');
    expect(m.readings).toEqual([
      {
        target: { id: 'nz-01', district: 'jinghai', kind: 'noise' },
        reading: { ts, metrics: { laeq_db: 60.97, l10_db: 51.3 } },
      },
      {
        target: { id: 'ds-next-to-nz-01', district: 'jinghai', kind: 'dust' },
        reading: { ts, metrics: { tsp_ugm3: 67.04, pm25_ugm3: 39.6, pm10_ugm3: 53, wind_ms: 0, wind_dir_deg: 335 } },
      },
    ]);
    expect(m.unmapped).toEqual(['a01006', 'B00009']);
  });
});

describe('mapPacket: flags, values and time', () => {
  const frame = (cp: string, head = 'QN=20240301080000123;ST=39;CN=2011;PW=1;MN=M;Flag=4') =>
    packet(`${head};CP=&&${cp}&&`);

  it('keeps flags other than N per metric (lower case accepted) and skips a flag that is not one letter', () => {
    const m = mapPacket(
      frame(
        'DataTime=20240301080000;a34004-Rtd=80,a34004-Flag=D;a34002-Rtd=120,a34002-Flag=n;a34001-Rtd=300,a34001-Flag=m;LA-Rtd=55,LA-Flag=Md',
      ),
      site,
      opts(),
    );
    expect(m.readings).toEqual([
      {
        target: dust,
        reading: {
          ts: Date.parse('2024-03-01T08:00:00+08:00'),
          metrics: { pm25_ugm3: 80, pm10_ugm3: 120, tsp_ugm3: 300 },
          flags: { pm25_ugm3: 'D', tsp_ugm3: 'M' },
        },
      },
    ]);
    expect(m.notes).toEqual(['LA-Flag="Md" is not one letter; the value is skipped']);
  });

  it('2011 takes -Rtd; 2061 takes -Avg; -Min and -Max are dropped', () => {
    const cp = 'DataTime=20240301080000;a34004-Rtd=1,a34004-Avg=2,a34004-Min=0,a34004-Max=9;a34002-Min=3,a34002-Max=4';
    expect(mapPacket(frame(cp), site, opts()).readings[0]!.reading.metrics).toEqual({ pm25_ugm3: 1 });
    const hourly = frame(cp, 'QN=1;ST=39;CN=2061;MN=M;Flag=4');
    expect(mapPacket(hourly, site, opts()).readings[0]!.reading.metrics).toEqual({ pm25_ugm3: 2 });
  });

  it('skips values that are not finite numbers', () => {
    const m = mapPacket(
      frame('DataTime=20240301080000;a34004-Rtd=abc;a34002-Rtd=;a34001-Rtd=1e999;a01001-Rtd=-3.5'),
      site,
      opts(),
    );
    expect(m.readings[0]!.reading.metrics).toEqual({ temp_c: -3.5 });
    expect(m.notes).toHaveLength(3);
  });

  it('a frame with nothing mappable gives no reading', () => {
    expect(mapPacket(frame('DataTime=20240301080000;a99999-Rtd=1'), site, opts()).readings).toEqual([]);
  });

  it('LA and Leq in one frame: the first is used', () => {
    const m = mapPacket(frame('DataTime=20240301080000;LA-Rtd=50;Leq-Rtd=51'), site, opts());
    expect(m.readings).toEqual([
      { target: noise(), reading: { ts: Date.parse('2024-03-01T08:00:00+08:00'), metrics: { laeq_db: 50 } } },
    ]);
    expect(m.notes).toEqual(['Leq and LA both map to laeq_db; LA is used']);
  });

  it('without DataTime uses QN time; without either, the receive time', () => {
    const q = mapPacket(frame('a34004-Rtd=1'), site, opts());
    expect([q.ts, q.tsSource]).toEqual([Date.parse('2024-03-01T08:00:00.123+08:00'), 'QN']);
    const r = mapPacket(frame('a34004-Rtd=1', 'ST=39;CN=2011;MN=M'), site, opts());
    expect([r.ts, r.tsSource]).toEqual([Date.parse('2026-01-01T00:00:00Z'), 'received']);
    const bad = mapPacket(frame('DataTime=20241301080000;a34004-Rtd=1'), site, opts());
    expect(bad.tsSource).toBe('QN');
    expect(bad.notes[0]).toBe('DataTime "20241301080000" is not a time');
  });

  it('DataTime is local time of the configured zone', () => {
    const cp = 'DataTime=20240301080000;a34004-Rtd=1';
    expect(mapPacket(frame(cp), site, opts({ timeZone: 'Asia/Urumqi' })).ts).toBe(
      Date.parse('2024-03-01T08:00:00+06:00'),
    );
    expect(mapPacket(frame(cp), site, opts({ timeZone: 'UTC' })).ts).toBe(Date.parse('2024-03-01T08:00:00Z'));
  });
});

describe('local time', () => {
  it('parses and formats Asia/Shanghai times, QNs included', () => {
    expect(parseLocalTime('20200814151600', 'Asia/Shanghai')).toBe(Date.parse('2020-08-14T15:16:00+08:00'));
    expect(parseLocalTime('20160801085857223', 'Asia/Shanghai')).toBe(Date.parse('2016-08-01T08:58:57.223+08:00'));
    expect(parseLocalTime('202008141516', 'Asia/Shanghai')).toBe(Date.parse('2020-08-14T15:16:00+08:00'));
    const t = Date.parse('2024-12-31T23:59:59.042+08:00');
    expect(formatDataTime(t, 'Asia/Shanghai')).toBe('20241231235959');
    expect(formatQn(t, 'Asia/Shanghai')).toBe('20241231235959042');
  });

  it('refuses what is not a calendar time', () => {
    for (const s of [
      '20240230120000',
      '20241301000000',
      '20240101240000',
      '20240101126000',
      '2024010112000',
      'abc',
      '',
    ]) {
      expect(parseLocalTime(s, 'Asia/Shanghai')).toBeUndefined();
    }
  });

  it('handles daylight saving time properly (a zone that has it)', () => {
    const z = 'America/New_York';
    expect(parseLocalTime('20240701120000', z)).toBe(Date.parse('2024-07-01T12:00:00-04:00'));
    expect(parseLocalTime('20240110120000', z)).toBe(Date.parse('2024-01-10T12:00:00-05:00'));
    // 02:30 on 10 March 2024 does not exist there: moved forward by the gap.
    expect(parseLocalTime('20240310023000', z)).toBe(Date.parse('2024-03-10T03:30:00-04:00'));
    // 01:30 on 3 November 2024 happens twice: the earlier one.
    expect(parseLocalTime('20241103013000', z)).toBe(Date.parse('2024-11-03T01:30:00-04:00'));
    // China's own DST of 1986-91.
    expect(parseLocalTime('19880701120000', 'Asia/Shanghai')).toBe(Date.parse('1988-07-01T12:00:00+09:00'));
  });
});

describe('Hj212ConfigSchema', () => {
  it('fills the defaults', () => {
    const c = parseConfig(Hj212ConfigSchema, {}, 'test');
    expect(c).toMatchObject({
      port: 9212,
      host: '0.0.0.0',
      timeZone: 'Asia/Shanghai',
      idleTimeoutS: 300,
      maxConnections: 2000,
      acceptUnknown: false,
      unknownDistrict: 'unmapped',
      devices: [],
      factors: {},
    });
    expect(factorMap(c).get('LA')).toBe('laeq_db');
    expect(factorMap(c).get('a05024')).toBeUndefined();
  });

  it('accepts hj212.sample.json', () => {
    const sample: unknown = JSON.parse(fs.readFileSync(new URL('./hj212.sample.json', import.meta.url), 'utf8'));
    const c = parseConfig(Hj212ConfigSchema, sample, 'hj212.sample.json');
    expect(c.devices).toHaveLength(4);
    expect(factorMap(c).get('yy001')).toBe('fume_mgm3');
  });

  it('names every mistake', () => {
    const bad = {
      timeZone: 'Mars/Olympus',
      port: 70000,
      devices: [
        { mn: 'A;1', id: 'x', district: 'd', kind: 'dust' },
        { mn: 'M2', id: 'x', district: 'd', kind: 'drainage' },
        { mn: 'M3', id: 'y'.repeat(60), district: 'd', kind: 'dust' },
      ],
      factors: { a05024: 'o3_ugm3' },
    };
    let msg = '';
    try {
      parseConfig(Hj212ConfigSchema, bad, 'hj212.json');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      msg = (e as Error).message;
    }
    expect(msg).toContain('timeZone: unknown time zone');
    expect(msg).toContain('port:');
    expect(msg).toContain('devices.0.mn: must not contain');
    expect(msg).toContain('devices.1.kind');
    expect(msg).toContain('factors.a05024: must be a metric of dust, noise, fume');
  });

  it('refuses duplicated MNs and ids, and companion ids that would be too long', () => {
    const r = Hj212ConfigSchema.safeParse({
      devices: [
        { mn: 'M1', id: 'a', district: 'd', kind: 'dust' },
        { mn: 'M1', id: 'a', district: 'd', kind: 'dust' },
        { mn: 'M3', id: 'y'.repeat(60), district: 'd', kind: 'dust' },
      ],
    });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.message)).toEqual([
      'MN M1 is also devices.0',
      'id a is also devices.0',
      `companion id ${'y'.repeat(60)}-noise is too long; shorten the id or set companions.noise`,
    ]);
  });
});
