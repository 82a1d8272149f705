// Parsing an HJ 212 data segment, without I/O: `QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;CP=&&…&&`.
// Real monitors are sloppy (missing QN or Flag, fields in another order, typos in field names, a stray trailing
// `;`), so the parser accepts what it can understand and lists everything odd in `warnings`; it refuses a segment
// only when it cannot tell which monitor sent it (no MN).

/** Header fields of the 2017 standard (names compared case-insensitively, stored in this spelling). */
const HEADER_KEYS = ['QN', 'ST', 'CN', 'PW', 'MN', 'Flag', 'PNUM', 'PNO'] as const;
type HeaderKey = (typeof HEADER_KEYS)[number];
const HEADER_EXACT = new Set<string>(HEADER_KEYS);
const HEADER_BY_LOWER = new Map<string, HeaderKey>(HEADER_KEYS.map((k) => [k.toLowerCase(), k]));

/** Suffixes of factor fields (`a34004-Rtd`), compared case-insensitively, stored in this spelling. */
export const FACTOR_SUFFIXES = [
  'Rtd',
  'Avg',
  'Min',
  'Max',
  'Flag',
  'Cou',
  'ZsRtd',
  'ZsAvg',
  'ZsMin',
  'ZsMax',
  'EFlag',
  'SampleTime',
  'Info',
  'Data',
  'DayData',
  'NightData',
  'Ala',
  'UpValue',
  'LowValue',
] as const;
const SUFFIXES = new Set<string>(FACTOR_SUFFIXES);
const SUFFIX_BY_LOWER = new Map<string, string>(FACTOR_SUFFIXES.map((s) => [s.toLowerCase(), s]));

/** trim() without allocating when there is nothing to trim (the common case). */
function trimmed(s: string): string {
  const a = s.charCodeAt(0);
  const b = s.charCodeAt(s.length - 1);
  return a <= 0x20 || b <= 0x20 ? s.trim() : s;
}

/**
 * CP fields that are parameters of a command, not measured factors (so a numeric `RtdInterval=30` is not mistaken
 * for a factor without a suffix).
 */
const CP_PARAMS = new Set(
  [
    'DataTime',
    'QN',
    'QnRtn',
    'ExeRtn',
    'CN',
    'PW',
    'NewPW',
    'SystemTime',
    'RtdInterval',
    'MinInterval',
    'RestartTime',
    'PolId',
    'BeginTime',
    'EndTime',
    'OverTime',
    'ReCount',
    'VaseNo',
    'CstartTime',
    'Ctime',
    'Stime',
    'InfoId',
    'SN',
  ].map((s) => s.toLowerCase()),
);

export interface Hj212Factor {
  /** Fields by suffix, values as sent (trimmed): `{ Rtd: '207', Flag: 'N' }`. */
  fields: Record<string, string>;
  /** A numeric value whose field name had no known suffix: a typo such as `LA-td=50.1`, or a bare `LA=30`. */
  loose?: string;
}

export interface Hj212Packet {
  qn?: string;
  st?: string;
  cn?: string;
  pw?: string;
  mn: string;
  /** Flag as a number (bit0: answer wanted, bit1: split packet, bits 2–7: version, 1 = HJ 212-2017). */
  flag?: number;
  pnum?: number;
  pno?: number;
  /** Header fields that are not part of the standard, as sent. */
  extraHeader: Record<string, string>;
  /** CP: `DataTime` as sent. */
  dataTime?: string;
  /** CP fields that are command parameters (RtdInterval, QnRtn, …), as sent. */
  params: Record<string, string>;
  /** Measured factors by code, in the order they came. */
  factors: Record<string, Hj212Factor>;
  /** What was odd about the segment, for a log line. Never fatal. */
  warnings: string[];
}

export type ParseResult =
  { ok: true; packet: Hj212Packet } | { ok: false; reason: string; partial: Partial<Hj212Packet> };

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A finite number written as a plain decimal ("207", "-3.5", "1e2"); anything else (empty, "0x10", "NaN") is not. */
export function parseNumber(s: string): number | undefined {
  if (!NUMBER.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** Finds `CP=` at the start of the segment or right after a `;` (never inside another field's value). */
function findCp(seg: string): number {
  const fast = seg.indexOf(';CP=&&');
  if (fast !== -1) return fast + 1;
  let i = seg.search(/(^|;)\s*CP\s*=/i);
  if (i === -1) return -1;
  if (seg[i] === ';') i++;
  return i;
}

export function parseSegment(segment: string): ParseResult {
  const warnings: string[] = [];
  const warn = (w: string) => {
    if (!warnings.includes(w) && warnings.length < 50) warnings.push(w);
  };
  const cpAt = findCp(segment);
  const headerText = cpAt === -1 ? segment : segment.slice(0, cpAt);
  const header: Partial<Record<HeaderKey, string>> = {};
  const extraHeader: Record<string, string> = {};
  for (const part of headerText.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq === -1) {
      warn(`header field ${JSON.stringify(part.slice(0, 40))} has no "="; ignored`);
      continue;
    }
    const rawKey = trimmed(part.slice(0, eq));
    const value = trimmed(part.slice(eq + 1));
    const key = HEADER_EXACT.has(rawKey) ? (rawKey as HeaderKey) : HEADER_BY_LOWER.get(rawKey.toLowerCase());
    if (!key) {
      if (!(rawKey in extraHeader)) extraHeader[rawKey] = value;
      warn(`unknown header field ${rawKey}`);
      continue;
    }
    if (key !== rawKey) warn(`header field ${rawKey} should be spelt ${key}`);
    if (key in header) {
      warn(`header field ${key} appears twice; the first is used`);
      continue;
    }
    header[key] = value;
  }

  let last = -1;
  for (const k of Object.keys(header)) {
    const i = HEADER_KEYS.indexOf(k as HeaderKey);
    if (i < last) {
      warn('header fields are not in the standard order');
      break;
    }
    last = i;
  }

  let cp = '';
  if (cpAt === -1) warn('CP is missing');
  else {
    let rest = segment.slice(segment.indexOf('=', cpAt) + 1);
    if (rest.startsWith('&&')) rest = rest.slice(2);
    else warn('CP does not start with "&&"');
    const close = rest.lastIndexOf('&&');
    if (close === -1) warn('CP does not end with "&&"');
    else {
      if (rest.slice(close + 2).trim() !== '') warn('text after the closing "&&" of CP is ignored');
      rest = rest.slice(0, close);
    }
    cp = rest;
  }

  const factors: Record<string, Hj212Factor> = {};
  const params: Record<string, string> = {};
  let dataTime: string | undefined;
  // One pass over CP: items are separated by ";" and fields inside an item by ",", but which item a field is in
  // carries no meaning for data uploads, so both are field separators here.
  const n = cp.length;
  let at = 0;
  while (at < n) {
    let end = at;
    while (end < n) {
      const c = cp.charCodeAt(end);
      if (c === 0x3b /* ; */ || c === 0x2c /* , */) break;
      end++;
    }
    const from = at;
    at = end + 1;
    if (end === from) continue;
    const eq = cp.indexOf('=', from);
    if (eq === -1 || eq >= end) {
      const field = cp.slice(from, end);
      if (field.trim() !== '') warn(`CP field ${JSON.stringify(field.slice(0, 40))} has no "="; ignored`);
      continue;
    }
    const name = trimmed(cp.slice(from, eq));
    const value = trimmed(cp.slice(eq + 1, end));
    if (name === '') {
      warn('CP field without a name; ignored');
      continue;
    }
    if (name === 'DataTime' || (name.length === 8 && name.toLowerCase() === 'datatime')) {
      if (dataTime === undefined) dataTime = value;
      else warn('DataTime appears twice; the first is used');
      continue;
    }
    const dash = name.lastIndexOf('-');
    if (dash > 0) {
      const code = name.slice(0, dash);
      const rawSuffix = name.slice(dash + 1);
      const suffix = SUFFIXES.has(rawSuffix) ? rawSuffix : SUFFIX_BY_LOWER.get(rawSuffix.toLowerCase());
      if (suffix) {
        if (suffix !== rawSuffix) warn(`field ${name} should be spelt ${code}-${suffix}`);
        const f = factors[code] ?? (factors[code] = { fields: {} });
        if (f.fields[suffix] !== undefined) warn(`field ${code}-${suffix} appears twice; the first is used`);
        else f.fields[suffix] = value;
        continue;
      }
      if (parseNumber(value) !== undefined) {
        warn(`field ${name} has no known suffix; its number is taken as the value of ${code}`);
        const f = factors[code] ?? (factors[code] = { fields: {} });
        if (f.loose === undefined) f.loose = value;
        continue;
      }
      warn(`field ${name} has no known suffix; ignored`);
      continue;
    }
    if (CP_PARAMS.has(name.toLowerCase())) {
      if (!(name in params)) params[name] = value;
      continue;
    }
    if (parseNumber(value) !== undefined) {
      warn(`field ${name} has no suffix; its number is taken as the value of ${name}`);
      const f = factors[name] ?? (factors[name] = { fields: {} });
      if (f.loose === undefined) f.loose = value;
      continue;
    }
    if (!(name in params)) params[name] = value;
  }

  const intField = (k: HeaderKey): number | undefined => {
    const v = header[k];
    if (v === undefined) return undefined;
    if (/^\d{1,9}$/.test(v)) return Number(v);
    warn(`${k}=${JSON.stringify(v.slice(0, 20))} is not a number; ignored`);
    return undefined;
  };
  const flag = intField('Flag');
  if (header.Flag === undefined) warn('Flag is missing');
  if (header.QN === undefined) warn('QN is missing');
  if (header.CN === undefined) warn('CN is missing');
  const packet: Hj212Packet = {
    mn: header.MN ?? '',
    extraHeader,
    params,
    factors,
    warnings,
  };
  if (header.QN !== undefined) packet.qn = header.QN;
  if (header.ST !== undefined) packet.st = header.ST;
  if (header.CN !== undefined) packet.cn = header.CN;
  if (header.PW !== undefined) packet.pw = header.PW;
  if (flag !== undefined) packet.flag = flag;
  const pnum = intField('PNUM');
  const pno = intField('PNO');
  if (pnum !== undefined) packet.pnum = pnum;
  if (pno !== undefined) packet.pno = pno;
  if (dataTime !== undefined) packet.dataTime = dataTime;
  if (!header.MN) return { ok: false, reason: 'MN is missing: the monitor cannot be identified', partial: packet };
  return { ok: true, packet };
}

/** Flag bit0: the monitor wants an answer (Flag=5 in HJ 212-2017; Flag=4 does not). */
export function wantsAnswer(flag: number | undefined): boolean {
  return flag !== undefined && (flag & 1) === 1;
}
