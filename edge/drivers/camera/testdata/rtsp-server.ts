// A real RTSP server for tests and the camera bench: mediamtx (built by scripts/services.d/rtsp.sh) on free loopback
// ports with its own config, an account for the camera and one for the publisher, fed by ffmpeg looping a clip made
// from the camera simulator's frames. Each caller gets its own server, so a test can kill it mid-stream.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createScenario } from '../../../../simulators/camera/index.js';

const ROOT = path.resolve(import.meta.dirname, '../../../..');

/** The programs, as `scripts/services.d/rtsp.sh up` prints them (the tests' global setup puts them in the env). */
export function rtspTools(): { ffmpeg: string; mediamtx: string } {
  if (process.env.FFMPEG && process.env.MEDIAMTX) return { ffmpeg: process.env.FFMPEG, mediamtx: process.env.MEDIAMTX };
  const out = execFileSync(path.join(ROOT, 'scripts/services.d/rtsp.sh'), ['up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const env = Object.fromEntries(out.split('\n').map((l) => l.trim().split('=')).filter((p) => p.length === 2)) as Record<string, string>;
  return { ffmpeg: env.FFMPEG!, mediamtx: env.MEDIAMTX! };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

/** An even UDP port pair (RTP, RTCP = RTP + 1) free on 127.0.0.1 at the moment of asking, as RTP wants. */
async function freeUdpPair(): Promise<number> {
  const dgram = await import('node:dgram');
  for (let i = 0; i < 50; i++) {
    const p = 20_000 + 2 * Math.floor(Math.random() * 10_000);
    const ok = await Promise.all(
      [p, p + 1].map(
        (port) =>
          new Promise<boolean>((r) => {
            const s = dgram.createSocket('udp4');
            s.once('error', () => r(false));
            s.bind(port, '127.0.0.1', () => s.close(() => r(true)));
          }),
      ),
    );
    if (ok.every(Boolean)) return p;
  }
  throw new Error('no free UDP port pair');
}

const tcpOpen = (port: number) =>
  new Promise<boolean>((r) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });

export interface RtspServer {
  port: number;
  /** rtsp://127.0.0.1:port/<path>, without credentials. */
  url(streamPath: string): string;
  camera: { username: string; password: string };
  publisher: { username: string; password: string };
  /** Kills the server (SIGKILL: as a crash or a power cut would). */
  kill(): Promise<void>;
  /** Starts it again on the same ports. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** `cameraPassword`: mediamtx accepts only A-Z a-z 0-9 and !$()*+.;<=>[]^_-,@#& in credentials. */
export async function startRtspServer(o: { dir: string; cameraPassword?: string } = { dir: os.tmpdir() }): Promise<RtspServer> {
  const { mediamtx } = rtspTools();
  const port = await freePort();
  const rtp = await freeUdpPair();
  const camera = { username: 'viewer', password: o.cameraPassword ?? 'S3cr3t@p#ss&w0rd' };
  const publisher = { username: 'publisher', password: 'pub-' + Math.random().toString(36).slice(2) };
  fs.mkdirSync(o.dir, { recursive: true });
  const conf = path.join(o.dir, `mediamtx-${port}.yml`);
  // Everything but RTSP off; two accounts, as a camera has (the platform's may only read).
  fs.writeFileSync(
    conf,
    [
      'logLevel: warn',
      'logDestinations: [stdout]',
      'api: no',
      'metrics: no',
      'pprof: no',
      'playback: no',
      'rtmp: no',
      'hls: no',
      'webrtc: no',
      'srt: no',
      'rtsp: yes',
      'rtspTransports: [udp, tcp]',
      `rtspAddress: 127.0.0.1:${port}`,
      `rtpAddress: 127.0.0.1:${rtp}`,
      `rtcpAddress: 127.0.0.1:${rtp + 1}`,
      'rtspAuthMethods: [basic, digest]',
      'authMethod: internal',
      'authInternalUsers:',
      `- user: ${JSON.stringify(camera.username)}`,
      `  pass: ${JSON.stringify(camera.password)}`,
      '  ips: []',
      '  permissions: [{action: read}]',
      `- user: ${JSON.stringify(publisher.username)}`,
      `  pass: ${JSON.stringify(publisher.password)}`,
      '  ips: []',
      '  permissions: [{action: publish}]',
      'paths:',
      '  all_others: {}',
      '',
    ].join('\n'),
  );
  const logFile = path.join(o.dir, `mediamtx-${port}.log`);
  let proc: ChildProcess | null = null;
  const start = async () => {
    const out = fs.openSync(logFile, 'a');
    proc = spawn(mediamtx, [conf], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    for (let i = 0; i < 100; i++) {
      if (await tcpOpen(port)) return;
      if (proc.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`mediamtx did not listen on 127.0.0.1:${port}: ${fs.readFileSync(logFile, 'utf8').slice(-500)}`);
  };
  const kill = async () => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  };
  await start();
  return {
    port,
    url: (streamPath) => `rtsp://127.0.0.1:${port}/${streamPath}`,
    camera,
    publisher,
    kill,
    start,
    stop: kill,
  };
}

/**
 * An H.264 clip of the camera simulator's street (seed), `frames` frames at `fps`, scaled to `width` when given;
 * made once per path.
 */
export async function makeSimulatorClip(file: string, o: { seed?: number; frames?: number; fps?: number; width?: number } = {}): Promise<string> {
  if (fs.existsSync(file)) return file;
  const { ffmpeg } = rtspTools();
  const sc = createScenario(o.seed ?? 1);
  const n = Math.min(o.frames ?? 20, sc.frameCount);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-frames-'));
  try {
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, `${String(i).padStart(5, '0')}.jpg`), (await sc.frame(i)).jpeg);
    const scale = o.width ? ['-vf', `scale=${o.width}:-2`] : [];
    // A keyframe every second, as cameras send by default, so a reader that (re)connects decodes within a second.
    const fps = o.fps ?? 5;
    execFileSync(ffmpeg, ['-nostdin', '-loglevel', 'error', '-y', '-framerate', String(fps), '-i', path.join(dir, '%05d.jpg'), ...scale, '-c:v', 'libx264', '-preset', 'veryfast', '-g', String(fps), '-pix_fmt', 'yuv420p', file]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return file;
}

export interface Publisher {
  /** Stops publishing (and the restart loop). */
  stop(): Promise<void>;
}

/**
 * Publishes a clip to the server in a loop, in real time, as a camera would stream; when the server goes away the
 * publisher is started again every 300 ms, so the stream comes back with the server.
 */
export function publishClip(server: RtspServer, clip: string, streamPath: string): Publisher {
  const { ffmpeg } = rtspTools();
  const u = new URL(server.url(streamPath));
  u.username = server.publisher.username;
  u.password = server.publisher.password;
  let stopped = false;
  let proc: ChildProcess | null = null;
  const run = () => {
    if (stopped) return;
    proc = spawn(ffmpeg, ['-nostdin', '-loglevel', 'quiet', '-re', '-stream_loop', '-1', '-i', clip, '-c', 'copy', '-f', 'rtsp', '-rtsp_transport', 'tcp', u.toString()], { stdio: 'ignore' });
    proc.once('exit', () => {
      proc = null;
      if (!stopped) setTimeout(run, 300);
    });
  };
  run();
  return {
    async stop() {
      stopped = true;
      const p = proc;
      if (p && p.exitCode === null) {
        const gone = new Promise((r) => p.once('exit', r));
        p.kill('SIGKILL');
        await gone;
      }
    },
  };
}
