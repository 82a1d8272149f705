// From a parsed HJ 212 data upload to readings of the wire contract, without I/O.
// - value: `-Rtd` for real-time data (2011), `-Avg` for minute, hourly and daily data (2051/2061/2031); `-Min`,
//   `-Max`, `-Cou` and the rest are dropped. A number under a mistyped name (`LA-td`) is the value when the proper
//   field is missing.
// - `-Flag`: N (normal) is not stored; any other letter is kept in reading.flags[metric], so the value is stored
//   but never raises an exceedance alert.
// - ts: DataTime in the city's time zone; without a usable DataTime, QN's time; without that, the receive time.
// - a metric of another kind than the device's goes to the companion device of that kind (a site monitor
//   measuring dust and noise is two devices of the platform).
import type { ReadingInput } from '../../../contracts/index.js';
import { METRIC_KIND, type Hj212Kind } from './config.js';
import { parseNumber, type Hj212Packet } from './packet.js';
import { parseLocalTime } from './time.js';

export interface Hj212Target {
  id: string;
  district: string;
  kind: Hj212Kind;
}

export interface Hj212Device extends Hj212Target {
  companions?: Partial<Record<Hj212Kind, string>>;
}

/** Commands whose CP carries measured data that becomes readings. */
export const DATA_COMMANDS: Readonly<Record<string, 'Rtd' | 'Avg'>> = {
  '2011': 'Rtd',
  '2051': 'Avg',
  '2061': 'Avg',
  '2031': 'Avg',
};

export interface MapOptions {
  factors: ReadonlyMap<string, string>;
  timeZone: string;
  /** When the frame arrived (epoch ms): the last resort for ts. */
  receivedAt: number;
}

export interface MapResult {
  /** One reading per target that got at least one metric; the device's own target first. */
  readings: { target: Hj212Target; reading: ReadingInput }[];
  ts: number;
  tsSource: 'DataTime' | 'QN' | 'received';
  /** Factor codes with a value that the factor map does not map. */
  unmapped: string[];
  /** What was odd, for a log line (a value that is not a number, a flag that is not a letter, …). */
  notes: string[];
}

/** Companion id for metrics of `kind` measured by `device`. */
export function companionTarget(device: Hj212Device, kind: Hj212Kind): Hj212Target {
  if (kind === device.kind) return { id: device.id, district: device.district, kind };
  return { id: device.companions?.[kind] ?? `${device.id}-${kind}`, district: device.district, kind };
}

export function mapPacket(packet: Hj212Packet, device: Hj212Device, o: MapOptions): MapResult {
  const notes: string[] = [];
  const note = (n: string) => {
    if (!notes.includes(n) && notes.length < 50) notes.push(n);
  };

  let ts: number | undefined;
  let tsSource: MapResult['tsSource'] = 'DataTime';
  if (packet.dataTime !== undefined) {
    ts = parseLocalTime(packet.dataTime, o.timeZone);
    if (ts === undefined) note(`DataTime ${JSON.stringify(packet.dataTime.slice(0, 20))} is not a time`);
  }
  if (ts === undefined && packet.qn !== undefined) {
    ts = parseLocalTime(packet.qn, o.timeZone);
    tsSource = 'QN';
    if (ts !== undefined)
      note(packet.dataTime === undefined ? 'no DataTime; the time of QN is used' : 'the time of QN is used');
  }
  if (ts === undefined) {
    ts = o.receivedAt;
    tsSource = 'received';
    note('no usable DataTime or QN; the receive time is used');
  }

  const primary = DATA_COMMANDS[packet.cn ?? '2011'] ?? 'Rtd';
  const secondary = primary === 'Rtd' ? 'Avg' : 'Rtd';
  const byTarget = new Map<
    string,
    { target: Hj212Target; metrics: Record<string, number>; flags: Record<string, string> }
  >();
  const unmapped: string[] = [];
  const source = new Map<string, string>();

  for (const [code, f] of Object.entries(packet.factors)) {
    let text = f.fields[primary];
    if (text === undefined && f.loose !== undefined) text = f.loose;
    if (text === undefined && f.fields[secondary] !== undefined) {
      text = f.fields[secondary];
      note(`${code} has -${secondary} but no -${primary}; -${secondary} is used`);
    }
    if (text === undefined) continue; // only -Min/-Max/-Cou/...: nothing we keep
    const metric = o.factors.get(code);
    if (metric === undefined) {
      unmapped.push(code);
      continue;
    }
    const value = parseNumber(text);
    if (value === undefined) {
      note(`${code}=${JSON.stringify(text.slice(0, 20))} is not a number; skipped`);
      continue;
    }
    let flag = f.fields.Flag;
    if (flag !== undefined) {
      if (/^[A-Za-z]$/.test(flag)) flag = flag.toUpperCase();
      else {
        // The contract stores one letter; guessing what a longer flag means could make a faulty value look valid.
        note(`${code}-Flag=${JSON.stringify(flag.slice(0, 10))} is not one letter; the value is skipped`);
        continue;
      }
    }
    const kind = METRIC_KIND.get(metric);
    if (kind === undefined) continue; // config validation keeps this from happening
    const target = companionTarget(device, kind);
    let t = byTarget.get(target.id);
    if (!t) {
      t = { target, metrics: {}, flags: {} };
      byTarget.set(target.id, t);
    }
    const key = `${target.id}/${metric}`;
    if (source.has(key)) {
      note(`${code} and ${source.get(key)} both map to ${metric}; ${source.get(key)} is used`);
      continue;
    }
    source.set(key, code);
    t.metrics[metric] = value;
    if (flag !== undefined && flag !== 'N') t.flags[metric] = flag;
  }

  const readings: MapResult['readings'] = [];
  const ordered = [...byTarget.values()].sort(
    (a, b) => Number(b.target.id === device.id) - Number(a.target.id === device.id),
  );
  for (const t of ordered) {
    const reading: ReadingInput = { ts, metrics: t.metrics };
    if (Object.keys(t.flags).length > 0) reading.flags = t.flags;
    readings.push({ target: t.target, reading });
  }
  return { readings, ts, tsSource, unmapped, notes };
}
