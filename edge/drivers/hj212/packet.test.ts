import { describe, expect, it } from 'vitest';
import {
  answerFlag,
  dataAnswerSegment,
  requestAnswerSegment,
  QnRtn,
  isAnswer,
  isDataUpload,
  dataAnswer,
} from './answer.js';
import { decodeFrame } from './frame.js';
import { parseSegment, wantsAnswer, type Hj212Packet } from './packet.js';
import vectors from './testdata/vectors.json' with { type: 'json' };

const V = vectors as Record<'A' | 'B' | 'C' | 'D' | 'E' | 'invalid', string>;
const seg = (k: keyof typeof V) => V[k].slice(6, -4);
const parse = (k: keyof typeof V): Hj212Packet => {
  const r = parseSegment(seg(k));
  if (!r.ok) throw new Error(r.reason);
  return r.packet;
};
const rtd = (v: string, flag?: string) => ({ fields: flag ? { Rtd: v, Flag: flag } : { Rtd: v } });
const avg = (v: string) => ({ fields: { Avg: v, Flag: 'N' } });

describe('parseSegment: the test vectors of domain.md', () => {
  it('A: the standard example (set real-time interval)', () => {
    expect(parse('A')).toEqual({
      qn: '20160801085857223',
      st: '32',
      cn: '1062',
      pw: '100000',
      mn: '010000A8900016F000169DC0',
      flag: 5,
      extraHeader: {},
      params: { RtdInterval: '30' },
      factors: {},
      warnings: [],
    });
  });

  it('B: real-time dust data, with the device typo LA-td taken as the value of LA', () => {
    expect(parse('B')).toEqual({
      qn: '20200814151600001',
      st: '22',
      cn: '2011',
      pw: '123456',
      mn: '010000A8900016F000169DC0',
      flag: 7,
      extraHeader: {},
      dataTime: '20200814151600',
      params: {},
      factors: {
        LA: { fields: { Flag: 'N' }, loose: '50.1' },
        a34004: rtd('207', 'N'),
        a34002: rtd('295', 'N'),
        a01001: rtd('12.6', 'N'),
        a01002: rtd('32', 'N'),
        a01006: rtd('101.02', 'N'),
        a01007: rtd('2.1', 'N'),
        a01008: rtd('120', 'N'),
        a34001: rtd('217', 'N'),
      },
      warnings: ['field LA-td has no known suffix; its number is taken as the value of LA'],
    });
  });

  it('C: minute data (-Avg), gases included', () => {
    expect(parse('C')).toEqual({
      qn: '20220513162608370',
      st: '22',
      cn: '2051',
      pw: '123456',
      mn: 'JLYP01_AIR01_0001',
      flag: 4,
      extraHeader: {},
      dataTime: '20220513162600',
      params: {},
      factors: {
        a21004: avg('4'),
        a05024: avg('63'),
        a21026: avg('6'),
        a21005: avg('0.427'),
        a34004: avg('14'),
        a34002: avg('31'),
        a01007: avg('1'),
        a01008: avg('11'),
        a01001: avg('17'),
        a01002: avg('85'),
        a01006: avg('95'),
      },
      warnings: [],
    });
  });

  it('D: construction-dust gateway, no flags, one factor per item', () => {
    expect(parse('D')).toEqual({
      qn: '20180821142509000',
      st: '39',
      cn: '2011',
      pw: '123456',
      mn: '690000D5800028F889221AC0',
      flag: 4,
      extraHeader: {},
      dataTime: '20180821142509',
      params: {},
      factors: {
        a34004: rtd('0.0'),
        a34002: rtd('0.0'),
        a34001: rtd('0.0'),
        LA: rtd('0.0'),
        a01001: rtd('0.0'),
        a01002: rtd('0.0'),
        a01006: rtd('0.0'),
        a01007: rtd('0.0'),
        a01008: rtd('0'),
      },
      warnings: [],
    });
  });

  it('E: noise as Leq and vendor codes', () => {
    expect(parse('E')).toEqual({
      qn: '20180914090600630',
      st: '31',
      cn: '2011',
      pw: '123456',
      mn: '010AQMS01000GD0201804060',
      flag: 4,
      extraHeader: {},
      dataTime: '20180914090600',
      params: {},
      factors: {
        a34001: rtd('67.04', 'N'),
        a34004: rtd('39.60', 'N'),
        a34002: rtd('53.00', 'N'),
        Leq: rtd('60.97', 'N'),
        a01007: rtd('0.0', 'N'),
        a01008: rtd('335', 'N'),
        a01006: rtd('30.4', 'N'),
        B00008: rtd('51.3', 'N'),
        B00009: rtd('99.3', 'N'),
      },
      warnings: [],
    });
  });

  it('the invalid vector is refused by the frame check before any parsing', () => {
    expect(decodeFrame(Buffer.from(V.invalid)).ok).toBe(false);
    // Its segment alone would still be understood by the tolerant parser: bare LA=30, Flag with a trailing space.
    const r = parseSegment(seg('invalid'));
    expect(r.ok && r.packet.flag).toBe(5);
    expect(r.ok && r.packet.factors).toEqual({
      LA: { fields: {}, loose: '30' },
      TE: { fields: {}, loose: '25' },
      HU: { fields: {}, loose: '75' },
    });
  });
});

describe('parseSegment: tolerance', () => {
  it('takes fields in any order, with missing QN and Flag, and says so', () => {
    const r = parseSegment('MN=M1;CN=2011;ST=39;CP=&&DataTime=20240101120000;a34004-Rtd=30&&');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.packet).toMatchObject({
      mn: 'M1',
      cn: '2011',
      st: '39',
      dataTime: '20240101120000',
      factors: { a34004: { fields: { Rtd: '30' } } },
    });
    expect(r.packet.flag).toBeUndefined();
    expect(r.packet.warnings).toEqual([
      'header fields are not in the standard order',
      'Flag is missing',
      'QN is missing',
    ]);
  });

  it('accepts wrong case in names, duplicated fields (first wins), spaces and stray separators', () => {
    const r = parseSegment(
      'qn=1;st=39;cn=2011;mn= M2 ;flag=4;CP=&&DataTime=20240101120000;;a34004-rtd=30,a34004-Rtd=31, a34002-Rtd = 50 ;&&',
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.packet.mn).toBe('M2');
    expect(r.packet.flag).toBe(4);
    expect(r.packet.factors).toEqual({ a34004: { fields: { Rtd: '30' } }, a34002: { fields: { Rtd: '50' } } });
    expect(r.packet.warnings).toContain('header field qn should be spelt QN');
    expect(r.packet.warnings).toContain('field a34004-rtd should be spelt a34004-Rtd');
    expect(r.packet.warnings).toContain('field a34004-Rtd appears twice; the first is used');
  });

  it('keeps going without CP delimiters, and refuses only a segment without MN', () => {
    const noAmp = parseSegment('QN=1;CN=2011;MN=M3;Flag=4;CP=DataTime=20240101120000;a34004-Rtd=30');
    expect(noAmp.ok && noAmp.packet.factors).toEqual({ a34004: { fields: { Rtd: '30' } } });
    expect(noAmp.ok && noAmp.packet.warnings).toEqual(['CP does not start with "&&"', 'CP does not end with "&&"']);
    expect(parseSegment('QN=1;CN=2011;Flag=4;CP=&&&&')).toMatchObject({
      ok: false,
      reason: 'MN is missing: the monitor cannot be identified',
    });
    expect(parseSegment('')).toMatchObject({ ok: false });
  });

  it('does not take a command parameter for a factor, nor a text value for a number', () => {
    const r = parseSegment('QN=1;CN=9011;MN=M4;Flag=4;CP=&&QnRtn=1;Note=abc;x-y=abc&&');
    expect(r.ok && r.packet.params).toEqual({ QnRtn: '1', Note: 'abc' });
    expect(r.ok && r.packet.factors).toEqual({});
    expect(r.ok && r.packet.warnings).toContain('field x-y has no known suffix; ignored');
  });
});

describe('answers', () => {
  const p = parse('A');

  it('9011 echoes QN, PW and MN with ST=91 and Flag=4 (HJ 212-2017)', () => {
    expect(requestAnswerSegment(p, QnRtn.ready)).toBe(
      'QN=20160801085857223;ST=91;CN=9011;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&QnRtn=1&&',
    );
    expect(requestAnswerSegment(p, QnRtn.wrongPw)).toContain('CP=&&QnRtn=3&&');
  });

  it('9014 data answer, and a frame that passes the frame check', () => {
    const b = parse('B');
    expect(dataAnswerSegment(b)).toBe(
      'QN=20200814151600001;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&',
    );
    const frame = dataAnswer(b);
    expect(frame.toString().endsWith('\r\n')).toBe(true);
    expect(decodeFrame(frame)).toEqual({ ok: true, segment: dataAnswerSegment(b) });
  });

  it('answer Flag keeps the version bits and never asks for an answer', () => {
    expect([5, 4, 7, 1, 0, undefined].map(answerFlag)).toEqual([4, 4, 4, 0, 0, 4]);
    expect([5, 4, 7, 1, 0, undefined].map(wantsAnswer)).toEqual([true, false, true, true, false, false]);
    expect(['2011', '2051', '2061', '2031', '2021', '1062', '9014', undefined].map(isDataUpload)).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(['9011', '9014', '2011'].map(isAnswer)).toEqual([true, true, false]);
  });
});
