// `npm run bench:vision`: one vision worker on this machine. Frames of a simulated street scene are pre-rendered
// (so the simulator is not timed), then every frame goes through the worker as it would in production: JPEG decode,
// letterbox + ONNX inference + decoding/NMS, tracking and zone rules (and evidence, on the frames that raise events).
// Prints p50/p99 per stage and the frames/s one worker sustains; target ≥ 10 frames/s at the model's input size.
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { MemoryBus } from '../bus/memory.js';
import { silentLogger } from '../runtime/log.js';
import { createScenario, type SimFrame } from '../simulators/camera/index.js';
import { loadModelsConfig } from '../vision/detectors/index.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { PlateReader } from '../vision/ocr/index.js';
import { VisionWorker, type FrameTimings } from '../vision/worker.js';

const ROOT = import.meta.dirname.includes(`${path.sep}dist${path.sep}`) ? path.resolve(import.meta.dirname, '../..') : path.resolve(import.meta.dirname, '..');
const FRAMES = Number(process.env.BENCH_FRAMES ?? 300);
const model = process.env.BENCH_MODEL;

const sc = createScenario(10_001);
process.stderr.write(`rendering ${FRAMES} frames of seed 10001 (${sc.camera.width}x${sc.camera.height})...\n`);
const frames: SimFrame[] = [];
for await (const f of sc.frames({ to: FRAMES })) frames.push(f);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-vision-'));
const models = loadModelsConfig(path.join(ROOT, 'config/models.json'));
// Warm-up below: the first inferences allocate the session's buffers; its frames are stamped before the run's.
const worker2 = await VisionWorker.open({
  cameras: { timeZone: sc.registry.timeZone, cameras: [{ ...sc.camera, ...(model ? { model } : {}) }] },
  models,
  evidence: new EvidenceStore(dir),
  bus: new MemoryBus({ logger: silentLogger }),
  deadLetters: { add: async () => {}, list: async () => ({ items: [], total: 0 }) },
  logger: silentLogger,
  plates: await PlateReader.open(),
  publish: false,
});
for (let i = 0; i < 5; i++) await worker2.process({ district: sc.camera.district, cameraId: sc.camera.id, ts: frames[0]!.ts - 10_000 + i, seq: -1, jpeg: frames[i]!.jpeg });

const timings: FrameTimings[] = [];
let events = 0;
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
for (const f of frames) {
  const r = await worker2.process({ district: sc.camera.district, cameraId: sc.camera.id, ts: f.ts, seq: f.seq, jpeg: f.jpeg });
  if (!r.ok) throw new Error(r.reason);
  timings.push(r.timings);
  events += r.events.length;
}
const wall = (performance.now() - t0) / 1000;
const rss = process.memoryUsage().rss;
await worker2.close();
fs.rmSync(dir, { recursive: true, force: true });

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const stage = (name: string, f: (t: FrameTimings) => number) => {
  const xs = timings.map(f);
  return { stage: name, 'p50 ms': +q(xs, 0.5).toFixed(2), 'p99 ms': +q(xs, 0.99).toFixed(2), 'mean ms': +(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2) };
};
const info = models.models.find((m) => m.name === (model ?? models.default))!;
console.log(`\nbench:vision  model ${info.name} (${path.relative(ROOT, info.path)}), ${FRAMES} frames ${sc.camera.width}x${sc.camera.height} JPEG, ${os.cpus().length} cores, one worker`);
console.table([
  stage('decode (JPEG → RGB)', (t) => t.decodeMs),
  stage('preprocess (letterbox)', (t) => t.preprocessMs),
  stage('inference (ONNX)', (t) => t.inferenceMs),
  stage('postprocess (decode, NMS)', (t) => t.postprocessMs),
  stage('detect total', (t) => t.preprocessMs + t.inferenceMs + t.postprocessMs),
  stage('tracking + rules', (t) => t.trackingMs),
  stage('events (evidence, plates)', (t) => t.eventsMs),
  stage('whole frame', (t) => t.decodeMs + t.preprocessMs + t.inferenceMs + t.postprocessMs + t.trackingMs + t.eventsMs),
]);
console.log(`throughput: ${(FRAMES / wall).toFixed(1)} frames/s per worker (target ≥ 10), ${events} events raised; RSS ${Math.round(rss / 2 ** 20)} MB (${Math.round(rss0 / 2 ** 20)} MB before the run)`);
