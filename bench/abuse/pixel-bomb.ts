// Pixel bombs to a running vision worker, through the real frame path: a camera's MQTT publish → broker (the embedded
// one, on 127.0.0.1) → frame relay → bus → worker, all in a process of their own (the shipped detector model, one
// registered 1280x720 camera) so its memory is its own. Sent: a good frame, then a 30000x30000 PNG header of a few
// hundred bytes and a complete 12000x12000 PNG of 420 KB (432 MB as RGB), then a good frame. Reported: whether each
// bomb was refused and why, the worker's RSS and peak before and after, and whether the next good frame was processed.
// Last, for scale, the same process decodes the 12000x12000 one the way the worker did before it read headers.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import mqtt from 'mqtt';
import sharp from 'sharp';
import type { DeadLetter } from '../../contracts/index.js';
import { silentLogger } from '../../runtime/log.js';
import { pixelBombHeader, pixelBombPng } from '../../vision/testdata/pixel-bomb.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CAMERA = { id: 'cam-bomb-1', district: 'xinhua', width: 1280, height: 720 };
const TOPIC = `city/v1/${CAMERA.district}/camera/${CAMERA.id}/frames`;

/** VmRSS and VmHWM (peak RSS) of a process, MB. */
function memoryOf(pid: number | 'self'): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

interface WorkerState {
  frames: number;
  dead: { reason: string; bytes: number }[];
}
type FromWorker =
  | { type: 'ready'; mqttUrl: string }
  | ({ type: 'state' } & WorkerState)
  | { type: 'decoded'; ms: number; error?: string };

// ---- the worker process ------------------------------------------------------------------------------------------

async function workerProcess(): Promise<void> {
  const { startEmbeddedBroker } = await import('../../broker/embedded.js');
  const { MemoryBus } = await import('../../bus/memory.js');
  const { CameraRegistrySchema } = await import('../../vision/cameras/config.js');
  const { loadModelsConfig } = await import('../../vision/detectors/index.js');
  const { EvidenceStore } = await import('../../vision/evidence/store.js');
  const { FrameRelay } = await import('../../vision/relay.js');
  const { VisionWorker } = await import('../../vision/worker.js');
  const { Registry } = await import('prom-client');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-pixel-bomb-'));
  const broker = await startEmbeddedBroker({ port: 0, host: '127.0.0.1', logger: silentLogger });
  const bus = new MemoryBus({ logger: silentLogger });
  const dead: DeadLetter[] = [];
  const deadLetters = {
    add: async (d: readonly DeadLetter[]) => void dead.push(...d),
    list: async () => ({ items: dead, total: dead.length }),
  };
  const registry = new Registry();
  const cameras = CameraRegistrySchema.parse({
    timeZone: 'Asia/Shanghai',
    cameras: [{ ...CAMERA, gridCell: 'g1', location: { lat: 31.5, lon: 120.1 }, postedLocation: 'bench', zones: [] }],
  });
  const worker = await VisionWorker.open({
    cameras,
    models: loadModelsConfig(path.join(ROOT, 'config/models.json')),
    evidence: new EvidenceStore(path.join(dir, 'evidence')),
    bus,
    deadLetters,
    logger: silentLogger,
    registry,
    plates: null,
    rechecks: false,
  });
  await worker.start();
  // The embedded broker speaks MQTT 3.1.1: no shared subscription, frames carry their receive time.
  const relay = new FrameRelay({
    mqttUrl: broker.url,
    clientId: 'bench-frames',
    bus,
    deadLetters,
    logger: silentLogger,
  });
  await relay.start();
  const frames = async () =>
    (await registry.getSingleMetric('vision_frames_total')!.get()).values.reduce((s, v) => s + v.value, 0);
  const send = (m: FromWorker) => process.send!(m);
  process.on('message', (msg: { type: string; file?: string }) => {
    void (async () => {
      if (msg.type === 'state') {
        send({
          type: 'state',
          frames: await frames(),
          dead: dead.map((d) => ({ reason: d.reason, bytes: d.payload.length })),
        });
      } else if (msg.type === 'decode-unchecked') {
        // What the worker did before: decode first (sharp's default limit, 268 MP, lets 12000x12000 through).
        const t0 = performance.now();
        try {
          await sharp(fs.readFileSync(msg.file!)).removeAlpha().toColourspace('srgb').raw().toBuffer();
          send({ type: 'decoded', ms: performance.now() - t0 });
        } catch (e) {
          send({ type: 'decoded', ms: performance.now() - t0, error: (e as Error).message });
        }
      } else if (msg.type === 'stop') {
        await relay.stop();
        await worker.close();
        await bus.close();
        await broker.close();
        fs.rmSync(dir, { recursive: true, force: true });
        process.exit(0);
      }
    })();
  });
  send({ type: 'ready', mqttUrl: broker.url });
}

// ---- the bench ---------------------------------------------------------------------------------------------------

export async function run(): Promise<string[]> {
  const out: string[] = [];
  const good = await sharp({
    create: { width: CAMERA.width, height: CAMERA.height, channels: 3, background: { r: 90, g: 90, b: 95 } },
  })
    .jpeg()
    .toBuffer();
  const header = pixelBombHeader(30_000, 30_000);
  const full = await pixelBombPng(12_000, 12_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'city-pixel-bomb-'));
  const fullFile = path.join(tmp, 'bomb-12000.png');
  fs.writeFileSync(fullFile, full);
  let child: ChildProcess | null = null;
  let client: mqtt.MqttClient | null = null;
  try {
    const stderr: string[] = [];
    child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--vision-worker'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    const c = child;
    const next = <T extends FromWorker['type']>(
      type: T,
      timeoutMs = 60_000,
    ): Promise<Extract<FromWorker, { type: T }>> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`worker did not answer ${type} within ${timeoutMs} ms: ${stderr.join('').slice(-500)}`)),
          timeoutMs,
        );
        const on = (m: FromWorker) => {
          if (m.type !== type) return;
          clearTimeout(timer);
          c.off('message', on);
          resolve(m as Extract<FromWorker, { type: T }>);
        };
        c.on('message', on);
        c.once('exit', (code) => reject(new Error(`worker exited (${code}): ${stderr.join('').slice(-500)}`)));
      });
    const state = async () => {
      c.send({ type: 'state' });
      return next('state');
    };
    const until = async (cond: (s: WorkerState) => boolean, what: string) => {
      const end = Date.now() + 60_000;
      for (;;) {
        const s = await state();
        if (cond(s)) return s;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const { mqttUrl } = await next('ready', 120_000);
    client = await mqtt.connectAsync(mqttUrl, { clientId: 'bench-camera', protocolVersion: 4, reconnectPeriod: 0 });
    await client.publishAsync(TOPIC, good, { qos: 1 });
    await until((s) => s.frames >= 1, 'the first good frame');
    const before = memoryOf(c.pid!);
    const t0 = performance.now();
    await client.publishAsync(TOPIC, header, { qos: 1 });
    await client.publishAsync(TOPIC, full, { qos: 1 });
    await client.publishAsync(TOPIC, good, { qos: 1 });
    const s = await until((x) => x.frames >= 2 && x.dead.length >= 2, 'the good frame after the bombs');
    const ms = performance.now() - t0;
    const after = memoryOf(c.pid!);
    out.push(
      `bombs: a ${header.length}-byte PNG declaring 30000x30000 (2.7 GB as RGB), a ${(full.length / 1024).toFixed(0)} KB valid PNG of 12000x12000 (432 MB as RGB)`,
    );
    for (const d of s.dead) out.push(`refused (${d.bytes} bytes kept as a dead letter): ${d.reason}`);
    out.push(
      `worker RSS before ${before.rss.toFixed(0)} MB (peak ${before.peak.toFixed(0)}), after ${after.rss.toFixed(0)} MB (peak ${after.peak.toFixed(0)}): peak grew ${(after.peak - before.peak).toFixed(0)} MB`,
    );
    out.push(
      `next good frame processed: ${s.frames >= 2 ? 'yes' : 'no'} (frames processed ${s.frames}; bombs and the good frame after them through in ${ms.toFixed(0)} ms)`,
    );
    // For scale: the decode the worker used to do before looking at the size.
    c.send({ type: 'decode-unchecked', file: fullFile });
    const d = await next('decoded');
    const unchecked = memoryOf(c.pid!);
    out.push(
      `without the header check (decoded first, as before): the 12000x12000 PNG decoded in ${d.ms.toFixed(0)} ms${d.error ? ` (${d.error})` : ''}, worker peak RSS ${unchecked.peak.toFixed(0)} MB (+${(unchecked.peak - after.peak).toFixed(0)} MB)`,
    );
    c.send({ type: 'stop' });
    await new Promise<void>((r) => (c.exitCode !== null ? r() : c.once('exit', () => r())));
    child = null;
  } finally {
    await client?.endAsync().catch(() => undefined);
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[2] === '--vision-worker' && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await workerProcess();
}
