// The HJ 212 server of the edge agent: monitors connect over TCP (many at once, long-lived connections) and send
// frames; readings, device status and dead letters go to a sink (the agent's gateway link, which puts them on its
// disk buffer before returning). Answers (9014 for data, 9011 otherwise) go out only after the sink has returned,
// so a monitor is never told "received" for a reading that could still be lost.
//
// Every bad input is a dead letter with its reason and raw bytes, and never affects other connections: a bad CRC or
// length costs one frame (the next one may be fine), a line that never ends or too many bad frames in a row close
// that one connection, a silent connection (half-open: the monitor lost power or its link) is closed after
// idleTimeoutS. Memory is bounded per connection (maxFrameBytes) and in connections (maxConnections).
//
// A stranger on the network gets little: one address holds at most maxConnectionsPerAddress connections, a
// connection must send an accepted frame within firstFrameTimeoutS, dead-letter log lines are limited per address,
// PWs are compared in constant time, an MN is locked out after maxWrongPw wrong PWs, and the answer to an unknown MN
// is the same as to a wrong PW (QnRtn=2, rejected), so MNs cannot be enumerated.
import crypto from 'node:crypto';
import net from 'node:net';
import type { ReadingInput } from '../../../contracts/index.js';
import type { Logger } from '../../../runtime/log.js';
import { dataAnswer, isAnswer, isDataUpload, QnRtn, requestAnswer, type QnRtnCode } from './answer.js';
import { factorMap, type Hj212Config, type Hj212DeviceConfig } from './config.js';
import { decodeFrame, FrameSplitter, KEEP_BYTES, type SplitEvent } from './frame.js';
import { DATA_COMMANDS, mapPacket, type Hj212Device, type Hj212Target } from './mapping.js';
import { parseSegment, wantsAnswer, type Hj212Packet } from './packet.js';

export type { Hj212Target };

export interface Hj212Sink {
  /** Synchronous: when it returns the readings are on the agent's disk buffer, so 9014 may be answered after it. */
  readings(device: Hj212Target, readings: ReadingInput[]): void;
  /** Raw bytes kept; source e.g. "hj212://1.2.3.4:5678". */
  deadLetter(d: { source: string; reason: string; raw: Buffer; mn?: string }): void;
  /** A monitor's connection opened (its first valid frame) or closed/timed out. */
  online(device: Hj212Target, online: boolean, reason?: string): void;
}

export interface Hj212Stats {
  /** Open connections now. */
  connections: number;
  connectionsTotal: number;
  /** Connections refused because maxConnections, or maxConnectionsPerAddress from their address, were open. */
  refused: number;
  /** Connections closed for being silent for idleTimeoutS. */
  idleClosed: number;
  /** Connections closed for sending no accepted frame within firstFrameTimeoutS. */
  firstFrameClosed: number;
  /** MNs locked out after maxWrongPw wrong PWs in a row. */
  lockouts: number;
  bytesIn: number;
  /** Frames with a valid length and CRC. */
  frames: number;
  /** Readings handed to the sink (one per device per frame). */
  readings: number;
  deadLetters: number;
  answers: number;
  /** Devices registered by commissioning mode. */
  commissioned: number;
}

/** Answers a client does not read pile up in its socket; past this the client is dropped. */
const MAX_UNREAD_ANSWERS_BYTES = 64 * 1024;
/** Log-once memories are bounded; when full they start over (a log line may then repeat). */
const MAX_LOGGED_KEYS = 10_000;
/** Dead-letter log lines per address and minute; the rest are counted, and the next line after the minute says how many. */
const DEAD_LETTER_LOG_LINES = 10;
const DEAD_LETTER_LOG_WINDOW_MS = 60_000;

interface Conn {
  id: number;
  socket: net.Socket;
  /** The remote address (IPv4-mapped IPv6 as plain IPv4): the unit of the per-address limits. */
  address: string;
  source: string;
  /** Closes the connection if no frame is accepted in time; cleared at the first accepted frame. */
  firstFrameTimer: NodeJS.Timeout | null;
  splitter: FrameSplitter;
  /** Targets this connection reported online, by device id. */
  targets: Map<string, Hj212Target>;
  badInRow: number;
  closing: boolean;
  closeReason?: string;
}

interface Known extends Hj212Device {
  mn: string;
  /** SHA-256 of the PW: equal-length digests let timingSafeEqual compare PWs of any length in constant time. */
  pwDigest?: Buffer;
}

/** Wrong PWs of one MN since `first` (a window of pwLockoutS), and until when it is locked out (0: not). */
interface PwFailures {
  count: number;
  first: number;
  lockedUntil: number;
}

export interface Hj212ServerOptions {
  /** Clock for the receive time and the PW lockout (tests). */
  now?: () => number;
}

export class Hj212Server {
  private readonly server: net.Server;
  private readonly conns = new Set<Conn>();
  /** Which connection last reported each device online: only that one may report it offline. */
  private readonly owners = new Map<string, Conn>();
  private readonly devices = new Map<string, Known>();
  private readonly commissioned = new Map<string, Known>();
  private readonly factors: Map<string, string>;
  private readonly logged = new Set<string>();
  /** Open connections per address (maxConnectionsPerAddress). */
  private readonly perAddress = new Map<string, number>();
  /** Dead-letter log lines per address in the current minute. */
  private readonly deadLetterLog = new Map<string, { start: number; logged: number; suppressed: number }>();
  /** Wrong PWs per MN (only configured MNs with a PW: bounded by the device map). */
  private readonly pwFailures = new Map<string, PwFailures>();
  /** The address each MN last sent an accepted frame from: a locked-out MN still works from there. */
  private readonly trusted = new Map<string, string>();
  private readonly now: () => number;
  private nextConnId = 1;
  private closed = false;
  private readonly counters: Omit<Hj212Stats, 'connections' | 'commissioned'> = {
    connectionsTotal: 0,
    refused: 0,
    idleClosed: 0,
    firstFrameClosed: 0,
    lockouts: 0,
    bytesIn: 0,
    frames: 0,
    readings: 0,
    deadLetters: 0,
    answers: 0,
  };

  constructor(
    private readonly cfg: Hj212Config,
    private readonly sink: Hj212Sink,
    private readonly log: Logger,
    opts: Hj212ServerOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.factors = factorMap(cfg);
    for (const d of cfg.devices) this.devices.set(d.mn, toKnown(d));
    this.server = net.createServer({ noDelay: true }, (s) => this.accept(s));
    this.server.maxConnections = cfg.maxConnections;
    this.server.on('drop', (d) => {
      this.counters.refused++;
      // One line per 100 refusals: a flood must not flood the log too.
      if (this.counters.refused % 100 === 1) {
        this.log.warn(
          { from: d?.remoteAddress, refused: this.counters.refused, maxConnections: cfg.maxConnections },
          'HJ 212 connection refused: maxConnections reached',
        );
      }
    });
  }

  listen(): Promise<{ port: number }> {
    if (this.cfg.acceptUnknown) {
      this.log.warn(
        { district: this.cfg.unknownDistrict },
        'HJ 212 COMMISSIONING MODE (HJ212_ACCEPT_UNKNOWN): frames from unknown MNs are stored as devices hj212-<MN>; ' +
          'passwords of unknown monitors are not checked. Map the monitors in the config and turn it off.',
      );
    }
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(this.cfg.port, this.cfg.host, () => {
        this.server.off('error', onError);
        this.server.on('error', (e) => this.log.error({ err: e }, 'HJ 212 server error'));
        const port = (this.server.address() as net.AddressInfo).port;
        this.log.info({ host: this.cfg.host, port, devices: this.devices.size }, 'HJ 212 server listening');
        resolve({ port });
      });
    });
  }

  /** Stops listening and closes every connection; each online device is reported offline ("agent stopped"). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.conns]) {
      this.drop(c, 'agent stopped');
      this.closed_(c); // now, not on the socket's later 'close': the caller reports status right after us
    }
    await done;
  }

  stats(): Hj212Stats {
    return { connections: this.conns.size, commissioned: this.commissioned.size, ...this.counters };
  }

  /** Devices registered by commissioning mode so far (to be mapped in the config). */
  commissionedDevices(): { mn: string; target: Hj212Target }[] {
    return [...this.commissioned.values()].map((d) => ({
      mn: d.mn,
      target: { id: d.id, district: d.district, kind: d.kind },
    }));
  }

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const address = addressOf(socket);
    const open = this.perAddress.get(address) ?? 0;
    if (open >= this.cfg.maxConnectionsPerAddress) {
      this.counters.refused++;
      // One line per 100 refusals, as for maxConnections.
      if (this.counters.refused % 100 === 1) {
        this.log.warn(
          {
            from: address,
            refused: this.counters.refused,
            maxConnectionsPerAddress: this.cfg.maxConnectionsPerAddress,
          },
          'HJ 212 connection refused: maxConnectionsPerAddress reached for this address',
        );
      }
      socket.destroy();
      return;
    }
    this.perAddress.set(address, open + 1);
    const conn: Conn = {
      id: this.nextConnId++,
      socket,
      address,
      source: sourceOf(socket),
      firstFrameTimer: null,
      splitter: new FrameSplitter(this.cfg.maxFrameBytes),
      targets: new Map(),
      badInRow: 0,
      closing: false,
    };
    this.conns.add(conn);
    this.counters.connectionsTotal++;
    // A slot held without sending a frame a monitor would send is a slot taken from monitors.
    conn.firstFrameTimer = setTimeout(() => {
      conn.firstFrameTimer = null;
      this.counters.firstFrameClosed++;
      this.log.info(
        { source: conn.source, firstFrameTimeoutS: this.cfg.firstFrameTimeoutS },
        'HJ 212 connection sent no accepted frame in time: closed',
      );
      this.drop(conn, 'no accepted frame within firstFrameTimeoutS');
    }, this.cfg.firstFrameTimeoutS * 1000);
    conn.firstFrameTimer.unref();
    socket.setKeepAlive(true, 60_000);
    socket.setTimeout(this.cfg.idleTimeoutS * 1000);
    socket.on('timeout', () => {
      this.counters.idleClosed++;
      this.log.info(
        { source: conn.source, idleTimeoutS: this.cfg.idleTimeoutS },
        'HJ 212 connection silent: closed as half-open',
      );
      this.drop(conn, 'idle timeout');
    });
    socket.on('data', (chunk: Buffer) => {
      this.counters.bytesIn += chunk.length;
      this.handleEvents(conn, conn.splitter.push(chunk));
    });
    socket.on('end', () => {
      this.handleEvents(conn, conn.splitter.end());
      conn.closeReason ??= 'connection closed';
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      conn.closeReason ??= `connection error: ${e.code ?? e.message}`;
    });
    socket.on('close', () => this.closed_(conn));
    this.log.debug({ source: conn.source }, 'HJ 212 connection opened');
  }

  /** Closes a connection now; its devices are reported offline with this reason. */
  private drop(conn: Conn, reason: string): void {
    if (conn.closing) return;
    conn.closing = true;
    conn.closeReason = reason;
    // A frame the monitor had only half sent is kept too.
    for (const ev of conn.splitter.end()) {
      if (ev.kind === 'bad') this.deadLetter(conn, `${ev.reason} (${reason})`, ev.raw);
    }
    conn.socket.destroy();
  }

  private closed_(conn: Conn): void {
    if (!this.conns.delete(conn)) return;
    if (conn.firstFrameTimer) clearTimeout(conn.firstFrameTimer);
    const open = (this.perAddress.get(conn.address) ?? 1) - 1;
    if (open > 0) this.perAddress.set(conn.address, open);
    else this.perAddress.delete(conn.address);
    const reason = conn.closeReason ?? 'connection closed';
    for (const t of conn.targets.values()) {
      if (this.owners.get(t.id) !== conn) continue; // the device reconnected meanwhile: it is online elsewhere
      this.owners.delete(t.id);
      this.safeSink(() => this.sink.online(t, false, reason));
    }
    this.log.debug({ source: conn.source, reason }, 'HJ 212 connection closed');
  }

  private handleEvents(conn: Conn, events: SplitEvent[]): void {
    for (const ev of events) {
      if (conn.closing) return;
      if (ev.kind === 'frame') this.handleFrame(conn, ev.raw);
      else {
        const more = ev.bytes > ev.raw.length ? ` (first ${ev.raw.length} of ${ev.bytes} bytes kept)` : '';
        this.bad(conn, `${ev.reason}${more}`, ev.raw);
        if (ev.fatal) this.drop(conn, ev.reason);
      }
    }
  }

  /** A bad frame: dead letter, and the connection is closed after maxBadFrames in a row. */
  private bad(conn: Conn, reason: string, raw: Buffer, mn?: string): void {
    this.deadLetter(conn, reason, raw, mn);
    if (++conn.badInRow >= this.cfg.maxBadFrames && !conn.closing) {
      this.log.warn(
        { source: conn.source, badFrames: conn.badInRow },
        'HJ 212 connection sends only bad frames: closed',
      );
      this.drop(conn, `${conn.badInRow} bad frames in a row`);
    }
  }

  private deadLetter(conn: Conn, reason: string, raw: Buffer, mn?: string): void {
    this.counters.deadLetters++;
    const kept = raw.length > KEEP_BYTES ? Buffer.from(raw.subarray(0, KEEP_BYTES)) : raw;
    this.logDeadLetter(conn, reason, mn);
    this.safeSink(() =>
      this.sink.deadLetter(
        mn === undefined ? { source: conn.source, reason, raw: kept } : { source: conn.source, reason, raw: kept, mn },
      ),
    );
  }

  /** Logs a dead letter, at most DEAD_LETTER_LOG_LINES per address and minute: one host's flood must not flood the log. */
  private logDeadLetter(conn: Conn, reason: string, mn: string | undefined): void {
    const now = this.now();
    let w = this.deadLetterLog.get(conn.address);
    if (!w || now - w.start >= DEAD_LETTER_LOG_WINDOW_MS) {
      if (w && w.suppressed > 0) {
        this.log.warn(
          { from: conn.address, notLogged: w.suppressed },
          'HJ 212 more dead letters from this address were not logged (all are in the dead-letter store)',
        );
      }
      if (!w && this.deadLetterLog.size >= MAX_LOGGED_KEYS) this.deadLetterLog.clear();
      w = { start: now, logged: 0, suppressed: 0 };
      this.deadLetterLog.set(conn.address, w);
    }
    if (w.logged < DEAD_LETTER_LOG_LINES) {
      w.logged++;
      this.log.warn({ source: conn.source, mn, reason }, 'HJ 212 dead letter');
    } else w.suppressed++;
  }

  /**
   * Whether a frame's PW admits it for this device; the reason for the dead letter when not. Constant time in the
   * PW; an MN locked out after maxWrongPw wrong PWs is refused without comparing, except from the address it last
   * sent an accepted frame from (so a guesser elsewhere cannot lock a working monitor out).
   */
  private checkPw(conn: Conn, p: Hj212Packet, device: Known): string | undefined {
    if (device.pwDigest === undefined) return undefined;
    const now = this.now();
    const windowMs = this.cfg.pwLockoutS * 1000;
    let f = this.pwFailures.get(p.mn);
    if (f && (f.lockedUntil > 0 ? f.lockedUntil <= now : now - f.first >= windowMs)) {
      this.pwFailures.delete(p.mn);
      f = undefined;
    }
    if (f && f.lockedUntil > 0 && this.trusted.get(p.mn) !== conn.address) {
      return `MN ${p.mn} (device ${device.id}) is locked out after ${this.cfg.maxWrongPw} wrong PWs until ${new Date(f.lockedUntil).toISOString()}`;
    }
    // A right PW does not reset the count: a guesser could otherwise interleave with the real monitor's frames.
    if (crypto.timingSafeEqual(pwDigest(p.pw ?? ''), device.pwDigest)) {
      this.trusted.set(p.mn, conn.address);
      return undefined;
    }
    if (!f) this.pwFailures.set(p.mn, (f = { count: 0, first: now, lockedUntil: 0 }));
    if (++f.count >= this.cfg.maxWrongPw && f.lockedUntil === 0) {
      f.lockedUntil = now + this.cfg.pwLockoutS * 1000;
      this.counters.lockouts++;
      this.log.warn(
        { mn: p.mn, device: device.id, from: conn.address, until: new Date(f.lockedUntil).toISOString() },
        `HJ 212 MN locked out after ${f.count} wrong PWs`,
      );
    }
    return `wrong PW for MN ${p.mn} (device ${device.id})`;
  }

  private handleFrame(conn: Conn, raw: Buffer): void {
    const decoded = decodeFrame(raw);
    if (!decoded.ok) {
      const parsed = decoded.segment !== undefined ? parseSegment(decoded.segment) : undefined;
      const mn = parsed?.ok ? parsed.packet.mn : undefined;
      this.bad(conn, decoded.reason, raw, mn);
      // The standard has a return code for a CRC error: the monitor may resend at once.
      if (decoded.crcOnly && parsed?.ok) this.answerRequest(conn, parsed.packet, QnRtn.wrongCrc);
      return;
    }
    this.counters.frames++;
    const parsed = parseSegment(decoded.segment);
    if (!parsed.ok) {
      this.bad(conn, parsed.reason, raw);
      return;
    }
    const p = parsed.packet;
    let device = this.devices.get(p.mn);
    if (!device) {
      if (!this.cfg.acceptUnknown) {
        // The same work and the same answer as a wrong PW: a stranger cannot tell which MNs exist.
        crypto.timingSafeEqual(pwDigest(p.pw ?? ''), NO_DEVICE_DIGEST);
        this.bad(conn, `unknown MN ${p.mn}: not in the configured devices (commissioning mode is off)`, raw, p.mn);
        this.answerRequest(conn, p, QnRtn.rejected);
        return;
      }
      device = this.commission(conn, p, raw);
      if (!device) return;
    } else {
      const refused = this.checkPw(conn, p, device);
      if (refused !== undefined) {
        this.bad(conn, refused, raw, p.mn);
        this.answerRequest(conn, p, QnRtn.rejected);
        return;
      }
    }
    conn.badInRow = 0;
    if (conn.firstFrameTimer) {
      clearTimeout(conn.firstFrameTimer);
      conn.firstFrameTimer = null;
    }
    this.logOnce(p.mn, p.warnings, 'HJ 212 frame is irregular (accepted)');
    this.claim(conn, device);

    if (isAnswer(p.cn)) return; // the monitor answers something: nothing to store, never answered
    const isData = p.cn === undefined ? Object.keys(p.factors).length > 0 : p.cn in DATA_COMMANDS;
    if (!isData) {
      this.logOnce(
        p.mn,
        [`command CN=${p.cn ?? '(none)'} is not stored by the agent`],
        'HJ 212 frame without readings',
      );
      if (isDataUpload(p.cn)) this.answerData(conn, p);
      else this.answerRequest(conn, p, QnRtn.ready);
      return;
    }
    if (!this.storeData(conn, p, device, raw)) return;
    this.answerData(conn, p);
  }

  /** Maps a data upload to readings and hands them to the sink. False when the sink failed (no answer then). */
  private storeData(conn: Conn, p: Hj212Packet, device: Known, raw: Buffer): boolean {
    const m = mapPacket(p, device, { factors: this.factors, timeZone: this.cfg.timeZone, receivedAt: this.now() });
    this.logOnce(p.mn, m.notes, 'HJ 212 data oddity');
    for (const code of m.unmapped) {
      this.logOnce(
        p.mn,
        [`factor ${code} of MN ${p.mn} is not mapped; add it to factors to keep it`],
        'HJ 212 factor skipped',
        'info',
      );
    }
    if (m.ts < Date.UTC(2000, 0, 1) || m.ts >= Date.UTC(2100, 0, 1)) {
      // The platform refuses such times; keep the frame as a dead letter (it is answered: the monitor's data is kept).
      this.deadLetter(conn, `time of the data (${p.dataTime ?? p.qn}) is outside 2000..2100`, raw, p.mn);
      return true;
    }
    try {
      for (const { target, reading } of m.readings) {
        if (target.id !== device.id) this.claim(conn, target);
        this.sink.readings(target, [reading]);
        this.counters.readings++;
      }
    } catch (e) {
      // Not on the disk buffer: no 9014, so the monitor sends the data again.
      this.log.error({ err: e, mn: p.mn }, 'HJ 212 readings could not be buffered; the frame is not answered');
      return false;
    }
    return true;
  }

  private commission(conn: Conn, p: Hj212Packet, raw: Buffer): Known | undefined {
    const known = this.commissioned.get(p.mn);
    if (known) return known;
    const id = `hj212-${p.mn}`;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) {
      this.bad(
        conn,
        `unknown MN ${JSON.stringify(p.mn)} cannot be commissioned: ${id} is not a valid device id`,
        raw,
        p.mn,
      );
      this.answerRequest(conn, p, QnRtn.rejected);
      return undefined;
    }
    if (this.commissioned.size >= this.cfg.maxUnknown) {
      this.bad(conn, `unknown MN ${p.mn}: commissioning limit of ${this.cfg.maxUnknown} monitors reached`, raw, p.mn);
      this.answerRequest(conn, p, QnRtn.rejected);
      return undefined;
    }
    const kind = p.st === '23' ? 'noise' : 'dust';
    const d: Known = { mn: p.mn, id, district: this.cfg.unknownDistrict, kind };
    this.commissioned.set(p.mn, d);
    this.log.warn(
      { mn: p.mn, device: id, district: d.district, kind, st: p.st, source: conn.source },
      'HJ 212 COMMISSIONING: unknown monitor registered; add it to devices to map it',
    );
    return d;
  }

  /** Reports a target online through this connection (once per connection, or again after it moved here). */
  private claim(conn: Conn, target: Hj212Target): void {
    if (this.owners.get(target.id) === conn) return;
    const prev = this.owners.get(target.id);
    if (prev) prev.targets.delete(target.id);
    this.owners.set(target.id, conn);
    const t = { id: target.id, district: target.district, kind: target.kind };
    conn.targets.set(target.id, t);
    this.safeSink(() => this.sink.online(t, true));
  }

  private answerData(conn: Conn, p: Hj212Packet): void {
    if (wantsAnswer(p.flag)) this.write(conn, dataAnswer(p));
  }

  private answerRequest(conn: Conn, p: Hj212Packet, code: QnRtnCode): void {
    if (wantsAnswer(p.flag) && !isAnswer(p.cn)) this.write(conn, requestAnswer(p, code));
  }

  private write(conn: Conn, frame: Buffer): void {
    if (conn.closing) return;
    conn.socket.write(frame);
    this.counters.answers++;
    if (conn.socket.writableLength > MAX_UNREAD_ANSWERS_BYTES) {
      this.log.warn({ source: conn.source }, 'HJ 212 client does not read its answers: closed');
      this.drop(conn, 'client does not read answers');
    }
  }

  private logOnce(mn: string, lines: string[], msg: string, level: 'info' | 'warn' = 'info'): void {
    for (const line of lines) {
      const key = `${mn}\u0000${line}`;
      if (this.logged.has(key)) continue;
      if (this.logged.size >= MAX_LOGGED_KEYS) this.logged.clear();
      this.logged.add(key);
      this.log[level]({ mn, detail: line }, msg);
    }
  }

  private safeSink(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.log.error({ err: e }, 'HJ 212 sink failed');
    }
  }
}

function toKnown(d: Hj212DeviceConfig): Known {
  const k: Known = { mn: d.mn, id: d.id, district: d.district, kind: d.kind };
  if (d.password !== undefined) k.pwDigest = pwDigest(d.password);
  if (d.companions) k.companions = d.companions;
  return k;
}

const pwDigest = (pw: string): Buffer => crypto.createHash('sha256').update(pw, 'utf8').digest();
/** Compared against when the MN is unknown, so that answer costs what a wrong PW costs. */
const NO_DEVICE_DIGEST = pwDigest('\u0000no device');

/** The remote address, an IPv4-mapped IPv6 address (::ffff:1.2.3.4) as plain IPv4. */
function addressOf(socket: net.Socket): string {
  const a = socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** `hj212://1.2.3.4:5678`, IPv6 in brackets. */
function sourceOf(socket: net.Socket): string {
  const a = socket.remoteAddress ?? 'unknown';
  return `hj212://${a.includes(':') ? `[${a}]` : a}:${socket.remotePort ?? 0}`;
}
