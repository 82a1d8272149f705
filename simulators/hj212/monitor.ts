// Simulated HJ 212-2017 monitors (construction-site dust and noise monitors) that connect to an edge agent over TCP
// and send real-time data (CN=2011), for the end-to-end test, the benchmark and people trying the agent.
//
// Seeded and deterministic: values are pure functions of (seed, monitor, frame number). It can split frames across
// TCP writes, merge several frames into one write, drop the connection (also in the middle of a frame) and
// reconnect, and it counts exactly what it delivered, so a test can compare the store with it.
//
// Delivery: with Flag=5 a frame counts as delivered when its 9014 answer arrives; frames not answered when a
// connection ends are sent again on the next one (same QN and DataTime: the platform stores them once). With
// Flag=4 a frame counts when it has been written in full; drops are graceful (FIN after the written bytes), so
// every fully written frame reaches the server.
//
// Light at 1,000 monitors: no timer per monitor. Monitors on the virtual clock without pacing send whenever they
// may (on connect, answer, drain); paced or wall-clock monitors share one scheduler timer.
import net from 'node:net';
import { dataAnswerSegment } from '../../edge/drivers/hj212/answer.js';
import { decodeFrame, encodeFrame, FrameSplitter } from '../../edge/drivers/hj212/frame.js';
import { parseSegment } from '../../edge/drivers/hj212/packet.js';
import { formatDataTime, formatQn } from '../../edge/drivers/hj212/time.js';
import type { Logger } from '../../runtime/log.js';

export type MonitorKind = 'dust' | 'noise';

export interface Hj212MonitorSpec {
  mn: string;
  pw: string;
  /** System code: 39 construction dust, 23 ambient noise, 22 air quality. */
  st: string;
  /** What it measures: dust (PM2.5, PM10, TSP and weather) and/or noise (LA). */
  kinds: MonitorKind[];
}

export interface Hj212FleetOptions {
  host: string;
  port: number;
  seed?: number;
  /** A number of generated monitors (half dust+noise site monitors, a quarter dust, a quarter noise), or specs. */
  monitors: number | Hj212MonitorSpec[];
  /** Time between the DataTimes of one monitor's frames; at least 1000 (DataTime has whole seconds). */
  intervalMs: number;
  /**
   * Virtual clock: the first DataTime (epoch ms); frames are stamped start, start+interval, … and sent as fast as
   * allowed (or one per sendEveryMs). Without it, the clock starts at the current interval and frames go out in real
   * time, one per intervalMs (a monitor that was disconnected catches up on its backlog, as loggers do).
   */
  start?: number;
  /** Virtual clock: frames per monitor, then it stops (done() resolves). */
  frames?: number;
  /** Virtual clock: wall time between two frames of one monitor; 0 (default) = as fast as allowed. */
  sendEveryMs?: number;
  timeZone?: string;
  /** 5 (default): ask for a 9014 answer; 4: do not. */
  flag?: 4 | 5;
  /** Flag=5: frames sent before their answers arrive (a real logger sends one and waits: 1). */
  window?: number;
  /** Probability that a frame is split across two or three TCP writes. */
  split?: number;
  /** Up to this many frames go out in one TCP write when several are ready (1 = never merged). */
  merge?: number;
  /** Probability, after each frame, that the monitor drops its connection and reconnects. */
  drop?: number;
  /** Probability that a drop happens in the middle of a frame (the partial frame is sent again in full later). */
  cut?: number;
  reconnectMs?: number;
  /** Probability that a value carries a flag other than N (D fault, M maintenance, C calibrating, T over range). */
  flagRate?: number;
  logger?: Logger;
}

export interface MonitorCounts {
  mn: string;
  /** Distinct frames delivered (answered with Flag=5, fully written with Flag=4). */
  frames: number;
  /** Frame writes, resends included. */
  writes: number;
  /** Frames sent again after a reconnect because their answer had not come. */
  resent: number;
  /** Partial frames written before a deliberate mid-frame drop. */
  cut: number;
  /** Frames refused with a 9011 answer (QnRtn other than 1). */
  refused: number;
  connects: number;
  /** Delivered values per factor code, and how many of them carried a flag other than N. */
  values: Record<string, number>;
  flagged: Record<string, number>;
  /** DataTimes (epoch ms) of the first and last delivered frame. */
  firstTs?: number;
  lastTs?: number;
}

const DUST_CODES = ['a34004', 'a34002', 'a34001', 'a01001', 'a01002', 'a01006', 'a01007', 'a01008'] as const;
const NOISE_CODES = ['LA'] as const;
const FLAGS = ['D', 'M', 'C', 'T'] as const;

/** A 32-bit mix of integers: the simulator's only source of randomness, so every value is reproducible. */
function mix(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return (h >>> 0) / 4294967296;
}

function strHash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Plausible values of one frame: a site's PM with its daily swing, weather, and noise in dB(A). */
function values(seed: number, mnHash: number, n: number, ts: number, codes: readonly string[]): Record<string, string> {
  const u = (k: number) => mix(seed, mnHash, n, k);
  const hour = new Date(ts + 8 * 3_600_000).getUTCHours();
  const day = 0.6 + 0.4 * Math.sin(((hour - 8) / 24) * 2 * Math.PI);
  const pm25 = 15 + 60 * day * u(1);
  const out: Record<string, string> = {};
  for (const c of codes) {
    switch (c) {
      case 'a34004':
        out[c] = pm25.toFixed(1);
        break;
      case 'a34002':
        out[c] = (pm25 * (1.4 + 0.4 * u(2))).toFixed(1);
        break;
      case 'a34001':
        out[c] = (pm25 * (2.2 + 0.6 * u(3))).toFixed(1);
        break;
      case 'a01001':
        out[c] = (8 + 20 * day + 3 * u(4)).toFixed(1);
        break;
      case 'a01002':
        out[c] = (40 + 50 * u(5)).toFixed(0);
        break;
      case 'a01006':
        out[c] = (100.2 + 1.5 * u(6)).toFixed(2);
        break;
      case 'a01007':
        out[c] = (6 * u(7) ** 2).toFixed(1);
        break;
      case 'a01008':
        out[c] = String(Math.floor(360 * u(8)));
        break;
      case 'LA':
        out[c] = (48 + 25 * day + 8 * u(9)).toFixed(1);
        break;
    }
  }
  return out;
}

/** Generated specs: MNs `SIM` + 21 digits (24 characters like real MNs), PW 123456. */
export function generateMonitors(n: number, seed = 1): Hj212MonitorSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const r = i % 4;
    const kinds: MonitorKind[] = r < 2 ? ['dust', 'noise'] : r === 2 ? ['dust'] : ['noise'];
    return {
      mn: `SIM${String(seed % 1000).padStart(3, '0')}${String(i + 1).padStart(18, '0')}`,
      pw: '123456',
      st: kinds[0] === 'noise' ? '23' : '39',
      kinds,
    };
  });
}

interface Frame {
  n: number;
  ts: number;
  qn: string;
  bytes: Buffer;
  values: Record<string, string>;
  flags: Record<string, string>;
}

export class Hj212Monitor {
  readonly counts: MonitorCounts;
  private socket: net.Socket | null = null;
  private connected = false;
  private stopped = false;
  /** Next frame number to build. */
  private next = 0;
  /** Built frames waiting to be sent (resends first). */
  private readonly queue: Frame[] = [];
  /** Flag=5: sent, waiting for their answer, by QN. */
  private readonly inflight = new Map<string, Frame>();
  private readonly delivered = new Set<number>();
  private readonly codes: string[];
  private readonly mnHash: number;
  private splitter = new FrameSplitter();
  private writing = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private retryMs: number;
  /** Wall time at which the next frame is due (paced and wall-clock modes). */
  dueAt = 0;

  constructor(
    readonly spec: Hj212MonitorSpec,
    private readonly o: MonitorOptions,
    private readonly onProgress: () => void,
  ) {
    this.codes = [
      ...(spec.kinds.includes('dust') ? DUST_CODES : []),
      ...(spec.kinds.includes('noise') ? NOISE_CODES : []),
    ];
    this.mnHash = strHash(spec.mn);
    this.retryMs = o.reconnectMs;
    this.counts = {
      mn: spec.mn,
      frames: 0,
      writes: 0,
      resent: 0,
      cut: 0,
      refused: 0,
      connects: 0,
      values: {},
      flagged: {},
    };
  }

  /** Every frame built, sent and (Flag=5) answered or refused. */
  get finished(): boolean {
    return (
      this.o.frames !== undefined &&
      this.next >= this.o.frames &&
      this.queue.length === 0 &&
      this.inflight.size === 0 &&
      this.writing === 0
    );
  }

  connect(): void {
    if (this.stopped || this.socket) return;
    const s = net.connect({ host: this.o.host, port: this.o.port, noDelay: true });
    this.socket = s;
    this.splitter = new FrameSplitter();
    s.on('connect', () => {
      this.connected = true;
      this.counts.connects++;
      this.retryMs = this.o.reconnectMs;
      this.pump();
    });
    s.on('data', (b: Buffer) => this.onData(b));
    s.on('drain', () => this.pump());
    s.on('error', () => {}); // 'close' follows and reconnects
    s.on('close', () => this.onClose(s));
  }

  /** Sends what it may now: called on connect, answer, drain, and by the fleet's scheduler. */
  pump(): void {
    const s = this.socket;
    // One batch at a time: the parts of a split batch must not interleave with the next one.
    if (!s || !this.connected || this.stopped || this.writing > 0) return;
    const batch: Frame[] = [];
    while (batch.length < this.o.merge) {
      if (this.o.flag === 5 && this.inflight.size + batch.length >= this.o.window) break;
      if (s.writableNeedDrain) break;
      const f = this.take();
      if (!f) break;
      batch.push(f);
    }
    if (batch.length === 0) return;
    for (const f of batch) {
      this.counts.writes++;
      if (this.o.flag === 5) this.inflight.set(f.qn, f);
    }
    // A deliberate drop: graceful, after this batch, sometimes with the start of the next frame cut off.
    const dropNow = this.o.drop > 0 && mix(this.o.seed, this.mnHash, this.counts.writes, 0xd0) < this.o.drop;
    let tail: Buffer | null = null;
    if (dropNow && this.o.cut > 0 && mix(this.o.seed, this.mnHash, this.counts.writes, 0xc0) < this.o.cut) {
      const f = this.take();
      if (f) {
        this.queue.unshift(f);
        const at = 1 + Math.floor(mix(this.o.seed, this.mnHash, this.counts.writes, 0xc1) * (f.bytes.length - 1));
        tail = f.bytes.subarray(0, at);
        this.counts.cut++;
      }
    }
    const data = batch.length === 1 ? batch[0]!.bytes : Buffer.concat(batch.map((f) => f.bytes));
    const parts = this.splitPoints(data);
    this.writeParts(s, parts, batch, tail, dropNow);
  }

  /** Next frame to send: a resend, or a new one if it is due. */
  private take(): Frame | undefined {
    if (this.queue.length > 0) return this.queue.shift();
    if (this.o.frames !== undefined && this.next >= this.o.frames) return undefined;
    if (this.o.sendEveryMs > 0) {
      if (Date.now() < this.dueAt) return undefined;
      this.dueAt += this.o.sendEveryMs;
    }
    return this.build(this.next++);
  }

  private build(n: number): Frame {
    const ts = this.o.start + n * this.o.intervalMs;
    const vals = values(this.o.seed, this.mnHash, n, ts, this.codes);
    const flags: Record<string, string> = {};
    const items: string[] = [`DataTime=${formatDataTime(ts, this.o.timeZone)}`];
    let k = 0;
    for (const [code, v] of Object.entries(vals)) {
      let flag = 'N';
      if (this.o.flagRate > 0 && mix(this.o.seed, this.mnHash, n, 0xf0 + k) < this.o.flagRate) {
        flag = FLAGS[Math.floor(mix(this.o.seed, this.mnHash, n, 0xe0 + k) * FLAGS.length)]!;
        flags[code] = flag;
      }
      items.push(`${code}-Rtd=${v},${code}-Flag=${flag}`);
      k++;
    }
    // QN: the DataTime with the frame number in the milliseconds, unique per monitor for answer matching.
    const qn = formatQn(ts - (ts % 1000) + (n % 1000), this.o.timeZone);
    const seg = `QN=${qn};ST=${this.spec.st};CN=2011;PW=${this.spec.pw};MN=${this.spec.mn};Flag=${this.o.flag};CP=&&${items.join(';')}&&`;
    return { n, ts, qn, bytes: encodeFrame(seg), values: vals, flags };
  }

  private splitPoints(data: Buffer): Buffer[] {
    if (this.o.split <= 0 || mix(this.o.seed, this.mnHash, this.counts.writes, 0x5b) >= this.o.split) return [data];
    const cuts = 1 + Math.floor(mix(this.o.seed, this.mnHash, this.counts.writes, 0x5c) * 2);
    const at = Array.from(
      { length: cuts },
      (_, i) => 1 + Math.floor(mix(this.o.seed, this.mnHash, this.counts.writes, 0x5d + i) * (data.length - 1)),
    ).sort((a, b) => a - b);
    const parts: Buffer[] = [];
    let prev = 0;
    for (const a of at) {
      if (a > prev) parts.push(data.subarray(prev, a));
      prev = a;
    }
    parts.push(data.subarray(prev));
    return parts;
  }

  /** Writes the parts one event-loop turn apart (so they tend to arrive as separate TCP segments). */
  private writeParts(s: net.Socket, parts: Buffer[], batch: Frame[], tail: Buffer | null, dropAfter: boolean): void {
    this.writing++;
    const step = (i: number) => {
      if (s.destroyed || s.writableEnded) {
        this.written(s, batch, tail, dropAfter, new Error('connection closed'));
        return;
      }
      const last = i === parts.length - 1;
      s.write(parts[i]!, last ? (err) => this.written(s, batch, tail, dropAfter, err ?? undefined) : undefined);
      if (!last) setImmediate(() => step(i + 1));
    };
    step(0);
  }

  private written(s: net.Socket, batch: Frame[], tail: Buffer | null, dropAfter: boolean, err?: Error): void {
    this.writing--;
    if (this.o.flag === 4) {
      if (err) {
        // Not (surely) written: sent again after the reconnect.
        this.counts.resent += batch.length;
        this.queue.unshift(...batch);
      } else for (const f of batch) this.deliver(f);
    }
    if (err) {
      this.onProgress();
      return;
    }
    if (dropAfter && !s.destroyed) {
      if (tail) s.write(tail);
      this.connected = false;
      s.end();
    }
    this.onProgress();
    this.pump();
  }

  private deliver(f: Frame): void {
    if (this.delivered.has(f.n)) return;
    this.delivered.add(f.n);
    const c = this.counts;
    c.frames++;
    for (const code of Object.keys(f.values)) c.values[code] = (c.values[code] ?? 0) + 1;
    for (const code of Object.keys(f.flags)) c.flagged[code] = (c.flagged[code] ?? 0) + 1;
    c.firstTs = c.firstTs === undefined ? f.ts : Math.min(c.firstTs, f.ts);
    c.lastTs = c.lastTs === undefined ? f.ts : Math.max(c.lastTs, f.ts);
  }

  private onData(b: Buffer): void {
    for (const e of this.splitter.push(b)) {
      if (e.kind !== 'frame') continue;
      const d = decodeFrame(e.raw);
      if (!d.ok) continue;
      const p = parseSegment(d.segment);
      if (!p.ok || p.packet.qn === undefined) continue;
      const f = this.inflight.get(p.packet.qn);
      if (!f) continue;
      if (p.packet.cn === '9014') {
        // The answer must be exactly the standard's 9014 for our frame.
        if (d.segment !== dataAnswerSegment({ qn: f.qn, pw: this.spec.pw, mn: this.spec.mn, flag: this.o.flag }))
          continue;
        this.inflight.delete(f.qn);
        this.deliver(f);
      } else if (p.packet.cn === '9011' && p.packet.params.QnRtn !== '1') {
        this.inflight.delete(f.qn);
        this.counts.refused++;
      }
    }
    this.onProgress();
    this.pump();
  }

  private onClose(s: net.Socket): void {
    if (this.socket !== s) return;
    this.socket = null;
    this.connected = false;
    // Unanswered frames go again, in order, before anything new.
    if (this.inflight.size > 0) {
      const again = [...this.inflight.values()].sort((a, b) => a.n - b.n);
      this.inflight.clear();
      this.counts.resent += again.length;
      this.queue.unshift(...again);
    }
    this.onProgress();
    if (this.stopped) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 5000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, wait);
  }

  /** Ends the connection gracefully (what was written is delivered) and stops reconnecting. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const s = this.socket;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      s.once('close', () => resolve());
      s.end();
      setTimeout(() => s.destroy(), 2000).unref();
    });
  }
}

type MonitorOptions = Required<Omit<Hj212FleetOptions, 'monitors' | 'frames' | 'logger'>> &
  Pick<Hj212FleetOptions, 'frames' | 'logger'>;

export class Hj212Fleet {
  readonly monitors: Hj212Monitor[];
  private timer: NodeJS.Timeout | null = null;
  private waiters: (() => void)[] = [];
  private readonly o: Hj212FleetOptions & { seed: number };
  private readonly paceMs: number;

  constructor(opts: Hj212FleetOptions) {
    const seed = opts.seed ?? 1;
    this.o = { ...opts, seed };
    if (!(opts.intervalMs >= 1000))
      throw new RangeError('intervalMs must be at least 1000: DataTime has whole seconds');
    const specs = typeof opts.monitors === 'number' ? generateMonitors(opts.monitors, seed) : opts.monitors;
    const wall = opts.start === undefined;
    const full: MonitorOptions = {
      host: opts.host,
      port: opts.port,
      seed,
      intervalMs: opts.intervalMs,
      start: opts.start ?? Math.floor(Date.now() / opts.intervalMs) * opts.intervalMs,
      frames: opts.frames,
      sendEveryMs: wall ? opts.intervalMs : (opts.sendEveryMs ?? 0),
      timeZone: opts.timeZone ?? 'Asia/Shanghai',
      flag: opts.flag ?? 5,
      window: opts.window ?? 1,
      split: opts.split ?? 0,
      merge: Math.max(1, opts.merge ?? 1),
      drop: opts.drop ?? 0,
      cut: opts.cut ?? 0,
      reconnectMs: opts.reconnectMs ?? 50,
      flagRate: opts.flagRate ?? 0,
      logger: opts.logger,
    };
    this.monitors = specs.map((s) => new Hj212Monitor(s, full, () => this.progress()));
    // Paced monitors are spread over their period rather than all sending at once.
    const now = Date.now();
    this.paceMs = full.sendEveryMs;
    this.monitors.forEach((m, i) => (m.dueAt = now + Math.floor((full.sendEveryMs * i) / Math.max(1, specs.length))));
  }

  /** Connects every monitor; paced monitors are driven by one shared timer. */
  start(): void {
    for (const m of this.monitors) m.connect();
    if (this.paceMs > 0) {
      const every = Math.max(5, Math.min(100, this.paceMs / 4));
      this.timer = setInterval(() => {
        for (const m of this.monitors) m.pump();
      }, every);
    }
  }

  /** Resolves when every monitor has delivered all its frames (virtual clock with `frames`). */
  done(): Promise<void> {
    if (this.o.frames === undefined) return Promise.reject(new Error('done() needs frames'));
    return new Promise((resolve) => {
      const check = () => (this.monitors.every((m) => m.finished) ? resolve() : this.waiters.push(check));
      check();
    });
  }

  private progress(): void {
    if (this.waiters.length === 0) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.monitors.map((m) => m.stop()));
  }

  counts(): MonitorCounts[] {
    return this.monitors.map((m) => ({
      ...m.counts,
      values: { ...m.counts.values },
      flagged: { ...m.counts.flagged },
    }));
  }

  totals(): {
    frames: number;
    writes: number;
    resent: number;
    cut: number;
    refused: number;
    connects: number;
    values: number;
    flagged: number;
  } {
    const t = { frames: 0, writes: 0, resent: 0, cut: 0, refused: 0, connects: 0, values: 0, flagged: 0 };
    for (const c of this.counts()) {
      t.frames += c.frames;
      t.writes += c.writes;
      t.resent += c.resent;
      t.cut += c.cut;
      t.refused += c.refused;
      t.connects += c.connects;
      for (const n of Object.values(c.values)) t.values += n;
      for (const n of Object.values(c.flagged)) t.flagged += n;
    }
    return t;
  }

  /**
   * Device entries for the agent's HJ 212 config: one per monitor, kind = its first kind (a dust+noise monitor's
   * LA goes to the companion `<id>-noise`).
   */
  deviceConfigs(
    district: string,
    idPrefix = 'hjsim',
  ): { mn: string; id: string; district: string; kind: MonitorKind; password: string }[] {
    return this.monitors.map((m, i) => ({
      mn: m.spec.mn,
      id: `${idPrefix}-${String(i + 1).padStart(4, '0')}`,
      district,
      kind: m.spec.kinds[0]!,
      password: m.spec.pw,
    }));
  }
}
