// A simulated carrier IoT platform (China Telecom CTWing) pushing a fleet of NB-IoT manhole covers to the city's
// receiver: periodic data reports (heartbeats) and alarm events with their return to normal, on a virtual clock.
// Like the real platform it retries a push that was not answered 2xx, with backoff, and now and then delivers a
// message twice. It counts exactly what was delivered, so a test can compare with what the store holds.
import { z } from 'zod';
import { TimestampSchema } from '../../contracts/index.js';
import { signPush } from '../../ingest/nbiot/auth.js';
import { AuthSchema, type AuthConfig } from '../../ingest/nbiot/config.js';
import { ctwingMessageId } from '../../ingest/nbiot/formats.js';
import { hash32, rand } from '../models.js';

export const PlatformOptionsSchema = z.strictObject({
  /** The receiver's push URL, e.g. http://127.0.0.1:8081/api/ingest/nbiot */
  url: z.string().url(),
  covers: z.number().int().min(1).max(100_000).default(10),
  districts: z
    .array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/))
    .min(1)
    .default(['xinhua']),
  seed: z.number().int().default(1),
  /** Heartbeat interval of a cover, virtual time. */
  heartbeatS: z.number().int().min(1).default(3600),
  /** Heartbeats per cover: the run covers rounds × heartbeatS of virtual time. */
  rounds: z.number().int().min(1).default(24),
  /** Virtual time of the first round; default: now, aligned to the heartbeat. */
  start: TimestampSchema.optional(),
  /** Wall-clock pause between rounds (0: as fast as the receiver answers). */
  roundEveryMs: z.number().int().min(0).default(0),
  /** Chance per cover and heartbeat interval that an alarm (tilt, opened, water, low battery) happens. */
  alarmProbability: z.number().min(0).max(1).default(0.05),
  /** Chance that a delivered message is delivered once more. */
  duplicateProbability: z.number().min(0).max(1).default(0.05),
  auth: AuthSchema,
  retry: z
    .strictObject({
      attempts: z.number().int().min(1).max(20).default(5),
      baseMs: z.number().int().min(1).default(200),
      maxMs: z.number().int().min(1).default(10_000),
    })
    .prefault({}),
  concurrency: z.number().int().min(1).max(256).default(8),
  requestTimeoutMs: z.number().int().min(100).default(10_000),
});

export type PlatformOptions = z.output<typeof PlatformOptionsSchema>;
export type PlatformOptionsInput = z.input<typeof PlatformOptionsSchema>;

export interface Cover {
  /** CTWing's device id (32 hex digits) and the module's IMEI. */
  carrierId: string;
  imei: string;
  /** Our device id and district, for the receiver's device map. */
  id: string;
  district: string;
}

export interface DeviceCount {
  /** Messages delivered (answered 2xx), each one reading. */
  messages: number;
  /** Metric values in them: the points the store should hold. */
  points: number;
  alarms: number;
  recoveries: number;
}

export interface PlatformStats {
  /** Distinct messages delivered. */
  delivered: number;
  /** Messages given up after every attempt failed. */
  failed: number;
  /** HTTP requests sent, retries and duplicates included. */
  requests: number;
  retries: number;
  /** Second deliveries of an already delivered message. */
  duplicates: number;
  /** By our device id. */
  perDevice: Record<string, DeviceCount>;
  /** Message ids as the receiver derives them, of every delivered message. */
  messageIds: Set<string>;
}

/** Answers a push: the HTTP status, or throws on a network error. */
export type Transport = (
  body: string,
  headers: Record<string, string>,
  query: Record<string, string>,
) => Promise<number>;

export function coverFleet(o: Pick<PlatformOptions, 'covers' | 'districts' | 'seed'>): Cover[] {
  return Array.from({ length: o.covers }, (_, i) => {
    const district = o.districts[i % o.districts.length]!;
    const h = (k: number) => hash32(`${o.seed}/${i}/${k}`).toString(16).padStart(8, '0');
    const imei = `86${String(hash32(`${o.seed}/imei/${i}`))
      .padStart(10, '0')
      .slice(0, 10)}${String(i % 1000).padStart(3, '0')}`;
    return {
      carrierId: `${h(1)}${h(2)}${h(3)}${h(4)}`,
      imei,
      id: `mh-${district}-${String(i + 1).padStart(4, '0')}`,
      district,
    };
  });
}

/** The receiver's devices config for the fleet. */
export function receiverDevices(covers: readonly Cover[]): { carrierId: string; id: string; district: string }[] {
  return covers.map((c) => ({ carrierId: c.carrierId, id: c.id, district: c.district }));
}

interface Message {
  ts: number;
  cover: Cover;
  body: string;
  id: string;
  points: number;
  kind: 'heartbeat' | 'alarm' | 'recovery';
}

const ALARMS = [
  { type: 'tilt', serviceId: 1001, content: (u: number) => ({ tilt_angle: Math.round(15 + 60 * u), cover_status: 0 }) },
  { type: 'opened', serviceId: 1002, content: () => ({ cover_status: 1 }) },
  { type: 'water', serviceId: 1003, content: (u: number) => ({ water_level: Math.round(60 + 80 * u) }) },
  { type: 'battery', serviceId: 1004, content: (u: number) => ({ battery_value: Math.round(5 + 10 * u) }) },
] as const;

const TENANT = '2000031234';
const PRODUCT = '15012345';

function ctwing(
  cover: Cover,
  ts: number,
  fields: Record<string, unknown>,
  event?: { serviceId: number; eventType: number },
): Record<string, unknown> {
  if (event) {
    return {
      timestamp: ts,
      tenantId: TENANT,
      serviceId: event.serviceId,
      protocol: 'lwm2m',
      productId: PRODUCT,
      messageType: 'eventReport',
      eventType: event.eventType,
      eventContent: fields,
      deviceSn: '',
      deviceId: cover.carrierId,
      IMSI: 'undefined',
      IMEI: cover.imei,
    };
  }
  return {
    upPacketSN: -1,
    upDataSN: -1,
    topic: 'v1/up/ad',
    timestamp: ts,
    tenantId: TENANT,
    serviceId: 1,
    protocol: 'lwm2m',
    productId: PRODUCT,
    // cell_id and snr are not manhole metrics: the receiver leaves them, as it must with real vendors' extras.
    payload: { ...fields, cell_id: 38848339, snr: 12 },
    messageType: 'dataReport',
    deviceType: '',
    deviceId: cover.carrierId,
    assocAssetId: '',
    IMSI: 'undefined',
    IMEI: cover.imei,
  };
}

/** Every message of the run in time order: deterministic for (seed, covers, rounds, heartbeat, start). */
export function schedule(o: PlatformOptions, covers: readonly Cover[], start: number): Message[] {
  const H = o.heartbeatS * 1000;
  const out: Message[] = [];
  for (const cover of covers) {
    const seed = hash32(`${o.seed}/${cover.carrierId}`);
    const u = (k: number, j: number) => rand(seed + j * 7919, k);
    // Covers report at their own phase within the interval, as real ones do (they were switched on at different times).
    const phase = Math.floor(u(0, 0) * H);
    for (let k = 0; k < o.rounds; k++) {
      const t = start + k * H + phase;
      const battery = Math.round(97 - ((k * H) / 86_400_000) * 0.02);
      const hb = {
        tilt_angle: Math.round(u(k, 1) * 8) / 10,
        cover_status: 0,
        water_level: Math.round(100 + 40 * u(k, 2)) / 10,
        battery_value: battery,
        rsrp: -80 - Math.round(20 * u(k, 3)),
      };
      out.push(msg(cover, t, hb, 'heartbeat'));
      if (u(k, 4) < o.alarmProbability) {
        const a = ALARMS[Math.floor(u(k, 5) * ALARMS.length)]!;
        const at = t + Math.floor(H * (0.1 + 0.3 * u(k, 6)));
        out.push(msg(cover, at, a.content(u(k, 7)), 'alarm', { serviceId: a.serviceId, eventType: 2 }));
        if (a.type !== 'battery') {
          // Back to normal before the next heartbeat.
          const rt = t + Math.floor(H * (0.5 + 0.4 * u(k, 8)));
          out.push(
            msg(cover, rt, { tilt_angle: 0.3, cover_status: 0, water_level: 11 }, 'recovery', {
              serviceId: 1005,
              eventType: 1,
            }),
          );
        }
      }
    }
  }
  return out.sort((a, b) => a.ts - b.ts);

  function msg(
    cover: Cover,
    ts: number,
    fields: Record<string, unknown>,
    kind: Message['kind'],
    event?: { serviceId: number; eventType: number },
  ): Message {
    const obj = ctwing(cover, ts, fields, event);
    return { ts, cover, body: JSON.stringify(obj), id: ctwingMessageId(obj), points: Object.keys(fields).length, kind };
  }
}

export function httpTransport(url: string, timeoutMs: number): Transport {
  return async (body, headers, query) => {
    const u = new URL(url);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    const res = await fetch(u, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer(); // drain, so the connection is reused
    return res.status;
  };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export class CarrierPlatform {
  readonly options: PlatformOptions;
  readonly covers: Cover[];
  readonly stats: PlatformStats;
  private readonly auth: AuthConfig;
  private readonly transport: Transport;
  private readonly abort = new AbortController();

  constructor(input: PlatformOptionsInput, transport?: Transport) {
    this.options = PlatformOptionsSchema.parse(input);
    this.auth = this.options.auth;
    this.covers = coverFleet(this.options);
    this.transport = transport ?? httpTransport(this.options.url, this.options.requestTimeoutMs);
    this.stats = {
      delivered: 0,
      failed: 0,
      requests: 0,
      retries: 0,
      duplicates: 0,
      perDevice: {},
      messageIds: new Set(),
    };
    for (const c of this.covers) this.stats.perDevice[c.id] = { messages: 0, points: 0, alarms: 0, recoveries: 0 };
  }

  /** Pushes the whole schedule; resolves with the counts when every message is delivered or given up. */
  async run(onRound?: (round: number) => void): Promise<PlatformStats> {
    const o = this.options;
    const H = o.heartbeatS * 1000;
    const start = o.start ?? Math.floor(Date.now() / H) * H;
    const messages = schedule(o, this.covers, start);
    const began = Date.now();
    let next = 0;
    let round = -1;
    const worker = async () => {
      while (next < messages.length && !this.abort.signal.aborted) {
        const m = messages[next++]!;
        const r = Math.floor((m.ts - start) / H);
        if (r !== round) {
          round = r;
          onRound?.(r);
        }
        // Pace the virtual clock: round r starts r × roundEveryMs after the run began.
        const due = began + ((m.ts - start) / H) * o.roundEveryMs;
        if (due > Date.now()) await sleep(due - Date.now(), this.abort.signal);
        await this.deliver(m);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    return this.stats;
  }

  stop(): void {
    this.abort.abort();
  }

  private async deliver(m: Message): Promise<void> {
    const s = this.stats;
    if (!(await this.send(m))) {
      s.failed++;
      return;
    }
    s.delivered++;
    s.messageIds.add(m.id);
    const d = s.perDevice[m.cover.id]!;
    d.messages++;
    d.points += m.points;
    if (m.kind === 'alarm') d.alarms++;
    if (m.kind === 'recovery') d.recoveries++;
    if (rand(hash32(m.id), 1) < this.options.duplicateProbability) {
      s.duplicates++;
      await this.send(m);
    }
  }

  /** One message with retries; true when it was answered 2xx. */
  private async send(m: Message): Promise<boolean> {
    const { attempts, baseMs, maxMs } = this.options.retry;
    const { headers, query } = signPush(this.auth, m.body);
    for (let a = 0; a < attempts && !this.abort.signal.aborted; a++) {
      if (a > 0) {
        this.stats.retries++;
        await sleep(Math.min(maxMs, baseMs * 2 ** (a - 1)) * (0.5 + Math.random() / 2), this.abort.signal);
      }
      this.stats.requests++;
      try {
        const status = await this.transport(m.body, headers, query);
        if (status >= 200 && status < 300) return true;
      } catch {
        // a network error: retried like a non-2xx answer
      }
    }
    return false;
  }
}
