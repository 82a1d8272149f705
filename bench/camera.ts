// `npm run bench:camera`: what one RTSP camera costs at the edge. A real RTSP server (mediamtx, scripts/services.d/rtsp.sh)
// streams a 1080p H.264 clip at 25 frames/s (the camera simulator's street, scaled, with film grain so that every
// frame differs as on a real street); the rtsp source reads it at 1 frame/s through ffmpeg and each frame is
// re-encoded as the camera link does (sharp, JPEG quality 80). Prints frames/s delivered, the CPU of ffmpeg (from
// /proc) and of this process, and the reconnect time after a server restart: from the server listening again to the
// first frame, with the source's default backoff (1 s doubling to 30 s) and stall limit (10 s).
//   --seconds S (30) measuring time   --restarts N (3)   --down-ms D (3000) how long the server stays away
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { silentLogger } from '../runtime/log.js';
import { CameraSourceSchema } from '../edge/drivers/camera/config.js';
import { RtspSource, type RtspSourceConfig } from '../edge/drivers/camera/rtsp.js';
import {
  makeSimulatorClip,
  publishClip,
  rtspTools,
  startRtspServer,
} from '../edge/drivers/camera/testdata/rtsp-server.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    restarts: { type: 'string', default: '3' },
    'down-ms': { type: 'string', default: '3000' },
  },
});
const SECONDS = Number(values.seconds);
const RESTARTS = Number(values.restarts);
const DOWN_MS = Number(values['down-ms']);

const TICK = 100; // USER_HZ: the unit of /proc/PID/stat times on Linux
/** utime + stime of a process, in seconds. */
function cpuOf(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICK;
  } catch {
    return 0;
  }
}

/** The pids of the ffmpeg processes this process started (the source's reader; the publisher runs under a different argv). */
function readerPids(): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const argv = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv.includes('image2pipe')) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-camera-'));
rtspTools();
console.log('making a 1080p 25 frames/s clip of the simulated street (once per machine: cached in the temp dir) ...');
const base = await makeSimulatorClip(path.join(os.tmpdir(), 'city-bench-street-5fps.mp4'), {
  seed: 1,
  frames: 50,
  fps: 5,
});
const clip = path.join(os.tmpdir(), 'city-bench-street-1080p25.mp4');
if (!fs.existsSync(clip)) {
  const { execFileSync } = await import('node:child_process');
  execFileSync(rtspTools().ffmpeg, [
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-i',
    base,
    '-vf',
    'scale=1920:1080,fps=25,noise=alls=6:allf=t',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-b:v',
    '4M',
    '-g',
    '50',
    '-pix_fmt',
    'yuv420p',
    clip,
  ]);
}
const server = await startRtspServer({ dir });
const pub = publishClip(server, clip, 'cam');
const src = CameraSourceSchema.parse({
  type: 'rtsp',
  url: server.url('cam'),
  username: server.camera.username,
  password: server.camera.password,
  intervalMs: 1000,
}) as RtspSourceConfig;
const rtsp = new RtspSource(src, silentLogger, 'bench-cam');

let frames = 0;
let lastFrameAt = 0;
let stopped = false;
let size = '';
const consume = (async () => {
  while (!stopped) {
    const f = await rtsp.next();
    if (!f) break;
    // The camera link's work on each frame.
    const img = sharp(f.image);
    if (!size) {
      const m = await img.metadata();
      size = `${m.width}x${m.height}`;
    }
    await img.jpeg({ quality: 80, mozjpeg: false }).toBuffer();
    frames++;
    lastFrameAt = Date.now();
  }
})();

const waitFrame = async (after: number, timeoutMs: number) => {
  const end = Date.now() + timeoutMs;
  while (lastFrameAt <= after && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return lastFrameAt > after ? lastFrameAt : NaN;
};

const t0 = Date.now();
const first = await waitFrame(t0, 60_000);
console.log(`first frame ${first - t0} ms after start`);

// Steady state: frames/s and CPU over SECONDS.
const pids = readerPids();
const ff0 = pids.reduce((a, p) => a + cpuOf(p), 0);
const me0 = process.cpuUsage();
const f0 = frames;
const m0 = Date.now();
await new Promise((r) => setTimeout(r, SECONDS * 1000));
const wall = (Date.now() - m0) / 1000;
const ffCpu = pids.reduce((a, p) => a + cpuOf(p), 0) - ff0;
const me = process.cpuUsage(me0);
const meCpu = (me.user + me.system) / 1e6;
const rate = (frames - f0) / wall;

// Reconnects: kill the server, keep it away DOWN_MS, start it; time to the first frame after it listens again.
const reconnects: number[] = [];
for (let i = 0; i < RESTARTS; i++) {
  await server.kill();
  await new Promise((r) => setTimeout(r, DOWN_MS));
  await server.start();
  const up = Date.now();
  const got = await waitFrame(up, 120_000);
  reconnects.push(got - up);
  await new Promise((r) => setTimeout(r, 2000));
}

stopped = true;
rtsp.stop();
await consume;
await pub.stop();
await server.stop();
fs.rmSync(dir, { recursive: true, force: true });

const pct = (s: number) => `${((100 * s) / wall).toFixed(1)} %`;
console.log(
  `stream ${size} H.264 25 frames/s over RTSP/TCP, source at 1 frame/s, ${SECONDS} s measured on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? ''})`,
);
console.log(`frames delivered: ${rate.toFixed(2)} /s`);
console.log(
  `CPU per camera: ffmpeg (receive + decode + 1 JPEG/s) ${pct(ffCpu)} of one core, this process (cut + re-encode as the link does) ${pct(meCpu)}; total ${pct(ffCpu + meCpu)}`,
);
console.log(
  `reconnect after a server restart (down ${DOWN_MS} ms; from listening again to the first frame): ${reconnects.map((r) => `${(r / 1000).toFixed(1)} s`).join(', ')}`,
);
console.log(`source stats: ${JSON.stringify(rtsp.stats)}`);
