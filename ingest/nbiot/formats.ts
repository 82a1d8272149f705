// Carrier pushes → readings of the contract. The default format is China Telecom's AEP (CTWing) HTTP subscription
// push: one JSON object per message, `messageType` dataReport (periodic data) or eventReport (alarms and their
// return to normal), the platform's `deviceId`, the module's `IMEI`, and `timestamp` in epoch ms. A profile-based
// (物模型) product carries its service fields as JSON in `payload` (data) or `eventContent` (events); a transparent
// product carries the device's own bytes in `payload.APPdata` (base64), which needs the vendor's decoder.
import crypto from 'node:crypto';
import { ReadingSchema, TimestampSchema } from '../../contracts/index.js';
import { effectiveFields, type FieldMap, type NbiotConfig } from './config.js';

export interface MappedReading {
  ts: number;
  metrics: Record<string, number>;
  flags?: Record<string, string>;
}

export type Decoded =
  | {
      kind: 'reading';
      messageId: string;
      carrierId: string;
      device: { id: string; district: string };
      reading: MappedReading;
      /** dataReport, eventReport, or the mapping format's event key. */
      type: string;
    }
  /** A valid message that carries no reading (a device came online, a command was answered). */
  | { kind: 'ignored'; messageId?: string; reason: string }
  | { kind: 'dead'; messageId?: string; reason: string };

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Key-sorted JSON, so the same content gives the same id whatever order the sender wrote the keys in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function derivedId(prefix: string, parts: unknown[]): string {
  return `${prefix}:${crypto.createHash('sha256').update(canonical(parts)).digest('hex').slice(0, 32)}`;
}

/**
 * CTWing pushes carry no message id. A retry repeats the same message, so the id is derived from what identifies it:
 * the device, the message type, the platform's timestamp, the packet numbers, the service and event, and the content.
 */
export function ctwingMessageId(body: Json): string {
  return derivedId('ctwing', [
    body.deviceId,
    body.messageType,
    body.timestamp,
    body.upPacketSN,
    body.upDataSN,
    body.serviceId,
    body.eventType,
    body.payload,
    body.eventContent,
  ]);
}

export function getPath(obj: unknown, path: string): unknown {
  if (path === '') return obj;
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(part)) cur = cur[Number(part)];
    else if (isObject(cur)) cur = cur[part];
    else return undefined;
  }
  return cur;
}

const tidy = (v: number) => Number(v.toPrecision(12));

function fieldValue(v: unknown, f: FieldMap): number | string {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'boolean') n = v ? 1 : 0;
  else if (typeof v === 'string' && f.values && Object.hasOwn(f.values, v.trim().toLowerCase()))
    n = f.values[v.trim().toLowerCase()]!;
  else if (typeof v === 'string' && f.values && Object.hasOwn(f.values, v)) n = f.values[v]!;
  else if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) n = Number(v);
  else
    return `expected a number${f.values ? ` or one of ${Object.keys(f.values).join('/')}` : ''}, got ${JSON.stringify(v)}`;
  if (!Number.isFinite(n)) return `expected a finite number, got ${JSON.stringify(v)}`;
  return tidy(n * f.scale + f.offset);
}

export class PushDecoder {
  private readonly fields: Map<string, FieldMap>;
  private readonly devices: Map<string, { id: string; district: string }>;

  constructor(private readonly cfg: NbiotConfig) {
    this.fields = effectiveFields(cfg);
    this.devices = new Map(cfg.devices.map((d) => [d.carrierId, { id: d.id, district: d.district }]));
  }

  decode(body: unknown): Decoded {
    if (!isObject(body)) return { kind: 'dead', reason: 'push is not a JSON object' };
    return this.cfg.format === 'ctwing' ? this.ctwing(body) : this.mapping(body);
  }

  private ctwing(body: Json): Decoded {
    const type = body.messageType;
    if (typeof type !== 'string') return { kind: 'dead', reason: 'messageType is missing: not a CTWing push' };
    const messageId = ctwingMessageId(body);
    if (type !== 'dataReport' && type !== 'eventReport') {
      // deviceOnlineOfflineReport, commandResponse, device added/deleted...: nothing to measure. An NB-IoT cover
      // sleeps between reports, so "offline" from the platform is routine; missed heartbeats are what count.
      return { kind: 'ignored', messageId, reason: `messageType ${type} carries no reading` };
    }
    const ids = [body.deviceId, body.IMEI, body.imei].filter(
      (v): v is string => typeof v === 'string' && v !== '' && v !== 'undefined',
    );
    if (ids.length === 0) return { kind: 'dead', messageId, reason: 'deviceId and IMEI are missing' };
    const carrierId = ids.find((i) => this.devices.has(i));
    if (!carrierId)
      return { kind: 'dead', messageId, reason: `unknown carrier device ${ids.join(' / ')}: add it to devices` };
    const device = this.devices.get(carrierId)!;
    const ts = TimestampSchema.safeParse(body.timestamp);
    if (!ts.success) return { kind: 'dead', messageId, reason: `timestamp: ${ts.error.issues[0]!.message}` };

    let content: unknown;
    let eventKey: string | undefined;
    if (type === 'dataReport') {
      content = body.payload;
      if (isObject(content) && typeof content.APPdata === 'string') {
        return {
          kind: 'dead',
          messageId,
          reason:
            'transparent payload (payload.APPdata, the device bytes in base64) needs the vendor decoder: give the product a profile (物模型) on CTWing',
        };
      }
      // Some LwM2M profiles nest the fields as {serviceId, serviceData}.
      if (isObject(content) && isObject(content.serviceData)) content = content.serviceData;
    } else {
      content = body.eventContent;
      if (body.serviceId !== undefined && body.serviceId !== '') eventKey = String(body.serviceId);
    }
    if (content !== undefined && !isObject(content))
      return {
        kind: 'dead',
        messageId,
        reason: `${type === 'dataReport' ? 'payload' : 'eventContent'} is not a JSON object`,
      };
    const r = this.metricsOf((content as Json | undefined) ?? {}, eventKey);
    if (typeof r === 'string') return { kind: 'dead', messageId, reason: r };
    // eventType 3 is a fault (故障): what the device measured then is not trusted, and must not raise a threshold alert.
    const flags =
      type === 'eventReport' && body.eventType === 3
        ? Object.fromEntries(Object.keys(r).map((m) => [m, 'D']))
        : undefined;
    return this.reading(messageId, carrierId, device, ts.data, r, flags, type);
  }

  private mapping(body: Json): Decoded {
    const m = this.cfg.mapping!;
    const rawId = getPath(body, m.deviceId);
    if (typeof rawId !== 'string' && typeof rawId !== 'number')
      return { kind: 'dead', reason: `no device id at ${m.deviceId}` };
    const carrierId = String(rawId);
    const rawTs = getPath(body, m.timestamp);
    const rawMsgId = m.messageId ? getPath(body, m.messageId) : undefined;
    const fields = getPath(body, m.fields);
    const eventKey = m.event ? getPath(body, m.event) : undefined;
    const messageId =
      typeof rawMsgId === 'string' || typeof rawMsgId === 'number'
        ? `id:${carrierId}:${rawMsgId}`
        : derivedId('mapped', [carrierId, rawTs, fields, eventKey]);
    if (m.messageId && messageId.startsWith('mapped:'))
      return { kind: 'dead', messageId, reason: `no message id at ${m.messageId}` };
    const device = this.devices.get(carrierId);
    if (!device) return { kind: 'dead', messageId, reason: `unknown carrier device ${carrierId}: add it to devices` };
    const ts = TimestampSchema.safeParse(
      typeof rawTs === 'number' && m.timestampUnit === 's' ? Math.round(rawTs * 1000) : rawTs,
    );
    if (!ts.success)
      return { kind: 'dead', messageId, reason: `timestamp at ${m.timestamp}: ${ts.error.issues[0]!.message}` };
    if (fields !== undefined && !isObject(fields))
      return { kind: 'dead', messageId, reason: `${m.fields || 'the body'} is not a JSON object` };
    const key = typeof eventKey === 'string' || typeof eventKey === 'number' ? String(eventKey) : undefined;
    const r = this.metricsOf((fields as Json | undefined) ?? {}, key);
    if (typeof r === 'string') return { kind: 'dead', messageId, reason: r };
    return this.reading(messageId, carrierId, device, ts.data, r, undefined, key ?? 'data');
  }

  /** Mapped fields → metrics, or why the content cannot become a reading. */
  private metricsOf(content: Json, eventKey: string | undefined): Record<string, number> | string {
    const metrics: Record<string, number> = { ...(eventKey ? this.cfg.eventMetrics[eventKey] : undefined) };
    const from: Record<string, string> = {};
    for (const [name, v] of Object.entries(content)) {
      const f = this.fields.get(name);
      if (!f) continue; // vendors add much else (cell id, SNR, IMSI): not ours to store
      if (v === null) continue;
      const n = fieldValue(v, f);
      if (typeof n === 'string') return `field ${name}: ${n}`;
      if (from[f.metric] !== undefined) return `fields ${from[f.metric]} and ${name} both map to ${f.metric}`;
      from[f.metric] = name;
      metrics[f.metric] = n;
    }
    if (Object.keys(metrics).length === 0) {
      const names = Object.keys(content);
      return `no mapped field in the service data (fields: ${names.length ? names.join(', ') : 'none'})${eventKey ? ` and no eventMetrics for event ${eventKey}` : ''}`;
    }
    return metrics;
  }

  private reading(
    messageId: string,
    carrierId: string,
    device: { id: string; district: string },
    ts: number,
    metrics: Record<string, number>,
    flags: Record<string, string> | undefined,
    type: string,
  ): Decoded {
    const reading: MappedReading = flags ? { ts, metrics, flags } : { ts, metrics };
    // The same schema ingest applies: what we publish is never refused downstream.
    const check = ReadingSchema.safeParse(reading);
    if (!check.success)
      return {
        kind: 'dead',
        messageId,
        reason: check.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      };
    return { kind: 'reading', messageId, carrierId, device, reading, type };
  }
}
