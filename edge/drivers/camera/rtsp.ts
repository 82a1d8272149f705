// An RTSP camera as a frame source: ffmpeg (Debian's package) reads the stream, decodes it and writes one JPEG per
// interval to its stdout, which JpegStreamParser cuts into frames. ffmpeg does the RTSP, RTP and codec work that no
// Node library does as well (H.264, H.265, MJPEG; TCP-interleaved and UDP transport; Basic and Digest auth).
//
// - Reconnect: when ffmpeg exits (the camera went away, the stream ended) it is started again after a backoff that
//   doubles from reconnectMinMs up to reconnectMaxMs and starts again from the bottom once a frame arrives.
// - Stall: no frame for stallS seconds (a camera that accepts the connection and sends nothing, a network that drops
//   everything) kills ffmpeg and reports the camera offline; the first frame after that reports it online.
// - Memory: ffmpeg's output is cut with a cap per image (maxFrameBytes), and only the newest frame waits for the link:
//   frames are perishable, and a link slower than the stream skips frames instead of queueing them.
// - Credentials: given apart from the URL (or in it), they reach ffmpeg in the URL it opens and nowhere else; every
//   line of ffmpeg's stderr that is logged has them replaced by ***.
import { spawn, type ChildProcess } from 'node:child_process';
import { exponentialMs } from '../../../runtime/backoff.js';
import type { Logger } from '../../../runtime/log.js';
import type { CameraSource } from './config.js';
import { JpegStreamParser } from './jpeg-stream.js';
import type { CapturedFrame, FrameSource, SourceStatusListener } from './source.js';

export type RtspSourceConfig = Extract<CameraSource, { type: 'rtsp' }>;

export interface RtspStats {
  /** Frames handed to the link. */
  frames: number;
  /** Frames replaced by a newer one before the link took them. */
  skipped: number;
  /** ffmpeg started (the first time and after each exit or stall). */
  starts: number;
  /** Stalls detected (no frame for stallS). */
  stalls: number;
  /** Images longer than maxFrameBytes, dropped. */
  oversized: number;
}

/** The URL ffmpeg opens: the credentials of the config (or of the URL) as its user info, percent-encoded. */
export function rtspOpenUrl(src: Pick<RtspSourceConfig, 'url' | 'username' | 'password'>): string {
  const u = new URL(src.url);
  if (src.username !== undefined) u.username = encodeURIComponent(src.username);
  if (src.password !== undefined) u.password = encodeURIComponent(src.password);
  return u.toString();
}

/** The secrets of a source as they may appear in text: raw, percent-encoded, and the user info of its URL. */
export function rtspSecrets(src: Pick<RtspSourceConfig, 'url' | 'username' | 'password'>): string[] {
  const u = new URL(src.url);
  const raw = [
    src.password,
    src.username,
    u.password && decodeURIComponent(u.password),
    u.username && decodeURIComponent(u.username),
  ];
  const out = new Set<string>();
  for (const s of raw) {
    if (!s) continue;
    out.add(s);
    out.add(encodeURIComponent(s));
  }
  // Longest first, so a password containing the username is replaced whole.
  return [...out].sort((a, b) => b.length - a.length);
}

/**
 * Text fit for a log: every secret replaced by ***, and any user info of a URL in it dropped (ffmpeg quotes the URL
 * it opened in its errors, in whatever encoding it chose).
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let t = text;
  for (const s of secrets) if (s) t = t.split(s).join('***');
  return t.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]*@/gi, '$1***@');
}

/** ffmpeg's arguments: read the stream, keep one frame per interval, write JPEGs to stdout. Exported for the bench. */
export function ffmpegArgs(src: RtspSourceConfig): string[] {
  return [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-rtsp_transport',
    src.transport,
    // Socket I/O timeout (µs): a connection that goes quiet ends ffmpeg instead of hanging in a read.
    '-timeout',
    String(src.stallS * 1_000_000),
    // No input buffering: a frame goes out as soon as it is decoded, so its capture time is close to the truth.
    '-fflags',
    'nobuffer',
    // Probe for 1 s, not ffmpeg's 5: a camera's SPS gives the size at once, and the first frame comes sooner after a
    // reconnect (a 5 frames/s stream took 5.6 s to its first frame with the default, 3.3 s with this).
    '-analyzeduration',
    '1000000',
    '-i',
    rtspOpenUrl(src),
    '-an',
    '-sn',
    '-dn',
    '-vf',
    `fps=1000/${src.intervalMs}`,
    '-c:v',
    'mjpeg',
    '-q:v',
    String(src.jpegQ),
    '-f',
    'image2pipe',
    'pipe:1',
  ];
}

export class RtspSource implements FrameSource {
  readonly stats: RtspStats = { frames: 0, skipped: 0, starts: 0, stalls: 0, oversized: 0 };
  private proc: ChildProcess | null = null;
  private parser: JpegStreamParser | null = null;
  private latest: CapturedFrame | null = null;
  private waiter: ((f: CapturedFrame | null) => void) | null = null;
  private stopped = false;
  private online: boolean | null = null;
  /** Restarts since the last frame: the backoff exponent. */
  private failures = 0;
  private lastFrameAt = Date.now();
  private procStartedAt = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly stallTimer: NodeJS.Timeout;
  private readonly secrets: string[];
  private failingLogged = false;

  constructor(
    private readonly src: RtspSourceConfig,
    private readonly log: Logger,
    private readonly camId: string,
    private readonly onStatus: SourceStatusListener = () => {},
  ) {
    this.secrets = rtspSecrets(src);
    this.start();
    this.stallTimer = setInterval(() => this.checkStall(), Math.min(1000, (src.stallS * 1000) / 4));
    this.stallTimer.unref();
  }

  /** The stream's address for logs: no user info, no query. */
  private get where(): string {
    const u = new URL(this.src.url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  }

  private start(): void {
    this.restartTimer = null;
    if (this.stopped) return;
    this.stats.starts++;
    this.procStartedAt = Date.now();
    const proc = spawn(this.src.ffmpeg, ffmpegArgs(this.src), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    const parser = new JpegStreamParser(this.src.maxFrameBytes, (image) => this.onImage(image));
    this.parser = parser;
    proc.stdout!.on('data', (c: Buffer) => parser.push(c));
    // ffmpeg's last few lines of stderr, redacted, kept for the message when it exits; bounded like everything else.
    let errTail = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (s: string) => {
      errTail = (errTail + s).slice(-2000);
    });
    proc.on('error', (e) => {
      // Missing program: say so plainly, it will not fix itself by retrying quickly.
      this.logFailure(
        { err: redactSecrets(e.message, this.secrets) },
        `cannot run ffmpeg (${this.src.ffmpeg}): install Debian's ffmpeg package or set source.ffmpeg`,
      );
    });
    proc.on('close', (code, signal) => {
      if (this.proc === proc) this.proc = null;
      this.stats.oversized += parser.stats.oversized;
      if (this.stopped) return;
      const lines = redactSecrets(errTail, this.secrets).trim().split('\n').slice(-3).join(' | ');
      this.logFailure({ code, signal, ffmpeg: lines.slice(0, 600) }, 'rtsp stream ended; reconnecting with backoff');
      this.scheduleRestart();
    });
  }

  private scheduleRestart(): void {
    if (this.stopped || this.restartTimer) return;
    this.failures++;
    const wait = exponentialMs(this.failures, this.src.reconnectMinMs, this.src.reconnectMaxMs);
    this.restartTimer = setTimeout(() => this.start(), wait);
    this.restartTimer.unref();
  }

  /** The first failure of a run of failures is logged; the rest are counted in stats. */
  private logFailure(fields: Record<string, unknown>, msg: string): void {
    if (this.failingLogged) return;
    this.failingLogged = true;
    this.log.warn({ camera: this.camId, url: this.where, ...fields }, msg);
  }

  private onImage(image: Buffer): void {
    const now = Date.now();
    this.lastFrameAt = now;
    this.failures = 0;
    if (this.failingLogged) this.log.info({ camera: this.camId, url: this.where }, 'rtsp stream works again');
    this.failingLogged = false;
    this.setOnline(true, 'frames arriving');
    const f = { ts: now, image };
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      this.stats.frames++;
      w(f);
    } else {
      if (this.latest) this.stats.skipped++;
      this.latest = f;
    }
  }

  private setOnline(online: boolean, reason: string): void {
    if (this.online === online) return;
    this.online = online;
    // A frame from before the camera went away is no picture of now.
    if (!online) this.latest = null;
    if (!online) this.log.warn({ camera: this.camId, url: this.where, reason }, 'camera offline');
    else this.log.info({ camera: this.camId, url: this.where }, 'camera online');
    this.onStatus(online, reason);
  }

  private checkStall(): void {
    if (this.stopped) return;
    const now = Date.now();
    const limit = this.src.stallS * 1000;
    if (now - this.lastFrameAt > limit) this.setOnline(false, `no frame for ${this.src.stallS} s`);
    // A running ffmpeg that has given nothing for stallS (since its start or its last frame) is stuck: end it, and
    // the close handler reconnects.
    if (this.proc && now - Math.max(this.lastFrameAt, this.procStartedAt) > limit) {
      this.stats.stalls++;
      this.logFailure({ stallS: this.src.stallS }, 'rtsp stream stalled: no frame; reconnecting');
      this.proc.kill('SIGKILL');
    }
  }

  next(): Promise<CapturedFrame | null> {
    if (this.stopped) return Promise.resolve(null);
    if (this.latest) {
      const f = this.latest;
      this.latest = null;
      this.stats.frames++;
      return Promise.resolve(f);
    }
    return new Promise((r) => (this.waiter = r));
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.stallTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.proc?.kill('SIGKILL');
    this.latest = null;
    const w = this.waiter;
    this.waiter = null;
    w?.(null);
  }
}

/** An RTSP camera's frames; `onStatus` hears when it goes offline (no frame for stallS) and comes back. */
export function rtspSource(
  src: RtspSourceConfig,
  log: Logger,
  camId: string,
  onStatus?: SourceStatusListener,
): RtspSource {
  return new RtspSource(src, log, camId, onStatus);
}
