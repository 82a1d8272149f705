// `npm run bench:vision -- [--model city,coco] [--threads 2] [--tile as-configured] [--frames 300] [--models FILE]`:
// one vision worker on this machine, per model side by side in one run. Frames of a simulated street scene are
// pre-rendered (so the simulator is not timed), then every frame goes through the worker as it would in
// production: JPEG decode, letterbox + ONNX inference + decoding/NMS, tracking and zone rules (and evidence, on the
// frames that raise events). Prints p50/p99 per stage per model and the frames/s one worker sustains; target
// ≥ 10 frames/s at the model's input size. `--threads 1,2` and `--tile on,off` multiply the runs.
// Environment (the earlier interface, still read): BENCH_FRAMES, BENCH_MODEL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryBus } from '../bus/memory.js';
import { ConfigError, runMain } from '../runtime/config.js';
import { silentLogger } from '../runtime/log.js';
import { createScenario, type SimFrame } from '../simulators/camera/index.js';
import { findModel, resolveTiling } from '../vision/detect/model.js';
import { createDetector, loadModelsConfig, type ModelConfig, type ModelsConfig } from '../vision/detectors/index.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { PlateReader } from '../vision/ocr/index.js';
import { VisionWorker, type FrameTimings } from '../vision/worker.js';

const ROOT = import.meta.dirname.includes(`${path.sep}dist${path.sep}`) ? path.resolve(import.meta.dirname, '../..') : path.resolve(import.meta.dirname, '..');

interface Run {
  label: string;
  model: ModelConfig;
  threads: number;
  tiling: string;
}

interface RunResult extends Run {
  input: string;
  timings: FrameTimings[];
  framesPerS: number;
  events: number;
  detections: number;
  rssMb: number;
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const STAGES: [string, (t: FrameTimings) => number][] = [
  ['decode (JPEG → RGB)', (t) => t.decodeMs],
  ['preprocess (letterbox)', (t) => t.preprocessMs],
  ['inference (ONNX)', (t) => t.inferenceMs],
  ['postprocess (decode, NMS)', (t) => t.postprocessMs],
  ['detect total', (t) => t.preprocessMs + t.inferenceMs + t.postprocessMs],
  ['tracking + rules', (t) => t.trackingMs],
  ['events (evidence, plates)', (t) => t.eventsMs],
  ['whole frame', (t) => t.decodeMs + t.preprocessMs + t.inferenceMs + t.postprocessMs + t.trackingMs + t.eventsMs],
];

/** The runs: every model x threads x tiling setting, each under a name of its own in a models config of its own. */
function plan(models: ModelsConfig, names: string[], threads: (number | undefined)[], tiles: string[], source: string): Run[] {
  const runs: Run[] = [];
  for (const name of names) {
    const base = findModel(models, name, source);
    for (const t of threads) {
      for (const tile of tiles) {
        let m: ModelConfig & { tiling?: unknown } = { ...base, ...(t === undefined ? {} : { threads: t }) };
        let tiling = 'as configured';
        if (tile !== 'as-configured') {
          const { tiling: _own, ...rest } = m;
          const resolved = resolveTiling(base, tile === 'on' ? { enabled: true } : false);
          m = resolved ? { ...rest, tiling: resolved } : rest;
          tiling = tile;
        } else {
          tiling = resolveTiling(base, undefined)?.enabled ? 'on' : 'off';
        }
        const label = [name, t === undefined ? null : `t${t}`, tile === 'as-configured' ? null : `tile-${tile}`].filter(Boolean).join('.');
        runs.push({ label, model: { ...m, name: label }, threads: m.threads, tiling });
      }
    }
  }
  return runs;
}

/** The model's input size as its plugin resolves it (from the file, unless the config sets it). */
async function inputSize(m: ModelConfig): Promise<string> {
  const { tiling: _t, ...plain } = m as ModelConfig & { tiling?: unknown };
  const d = await createDetector(plain as ModelConfig, silentLogger);
  await d.close();
  return `${d.info.inputWidth}x${d.info.inputHeight}`;
}

async function bench(run: Run, frames: SimFrame[], sc: ReturnType<typeof createScenario>, plates: PlateReader): Promise<RunResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-vision-'));
  const worker = await VisionWorker.open({
    cameras: { timeZone: sc.registry.timeZone, cameras: [{ ...sc.camera, model: run.label }] },
    models: { default: run.label, models: [run.model] },
    evidence: new EvidenceStore(dir),
    bus: new MemoryBus({ logger: silentLogger }),
    deadLetters: { add: async () => {}, list: async () => ({ items: [], total: 0 }) },
    logger: silentLogger,
    plates,
    publish: false,
  });
  try {
    // Warm-up: the first inferences allocate the session's buffers; its frames are stamped before the run's.
    for (let i = 0; i < 5; i++) await worker.process({ district: sc.camera.district, cameraId: sc.camera.id, ts: frames[0]!.ts - 10_000 + i, seq: -1, jpeg: frames[i % frames.length]!.jpeg });
    const timings: FrameTimings[] = [];
    let events = 0;
    let detections = 0;
    const t0 = performance.now();
    for (const f of frames) {
      const r = await worker.process({ district: sc.camera.district, cameraId: sc.camera.id, ts: f.ts, seq: f.seq, jpeg: f.jpeg });
      if (!r.ok) throw new Error(r.reason);
      timings.push(r.timings);
      events += r.events.length;
      detections += r.detections.length;
    }
    const wall = (performance.now() - t0) / 1000;
    return { ...run, input: await inputSize(run.model), timings, framesPerS: frames.length / wall, events, detections, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20) };
  } finally {
    await worker.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

runMain('bench-vision', async () => {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', multiple: true },
      models: { type: 'string', default: path.join(ROOT, 'config/models.json') },
      threads: { type: 'string' },
      tile: { type: 'string', default: 'as-configured' },
      frames: { type: 'string', default: process.env.BENCH_FRAMES ?? '300' },
    },
  });
  const list = (xs: string[] | string | undefined) => [xs ?? []].flat().flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
  const frameCount = Number(values.frames);
  if (!Number.isInteger(frameCount) || frameCount < 1) throw new ConfigError(`--frames must be a positive integer, got "${values.frames}"`);
  const threads = values.threads === undefined ? [undefined] : list(values.threads).map((t) => {
    const n = Number(t);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new ConfigError(`--threads takes integers 1..64, got "${t}"`);
    return n;
  });
  const tiles = list(values.tile);
  for (const t of tiles) if (!['as-configured', 'on', 'off'].includes(t)) throw new ConfigError(`--tile takes as-configured, on, off (got "${t}")`);
  const modelsFile = path.resolve(values.models!);
  const models = loadModelsConfig(modelsFile);
  const names = values.model?.length ? list(values.model) : process.env.BENCH_MODEL ? [process.env.BENCH_MODEL] : [models.default];
  const runs = plan(models, names, threads, tiles, modelsFile);

  const sc = createScenario(10_001);
  process.stderr.write(`rendering ${frameCount} frames of seed 10001 (${sc.camera.width}x${sc.camera.height})...\n`);
  const frames: SimFrame[] = [];
  for await (const f of sc.frames({ to: frameCount })) frames.push(f);
  const plates = await PlateReader.open();

  const results: RunResult[] = [];
  for (const run of runs) {
    process.stderr.write(`${run.label}: ${path.relative(ROOT, run.model.path)}, ${run.threads} thread(s), tiling ${run.tiling}...\n`);
    const r = await bench(run, frames, sc, plates);
    results.push(r);
    console.log(`\nbench:vision  ${r.label} (${path.relative(ROOT, r.model.path)}, input ${r.input}, ${r.threads} thread(s), tiling ${r.tiling}), ${frameCount} frames ${sc.camera.width}x${sc.camera.height} JPEG, ${os.cpus().length} cores, one worker`);
    console.table(STAGES.map(([stage, f]) => {
      const xs = r.timings.map(f);
      return { stage, 'p50 ms': +q(xs, 0.5).toFixed(2), 'p99 ms': +q(xs, 0.99).toFixed(2), 'mean ms': +mean(xs).toFixed(2) };
    }));
    console.log(`throughput: ${r.framesPerS.toFixed(1)} frames/s per worker (target ≥ 10), ${(r.detections / frameCount).toFixed(1)} detections/frame, ${r.events} events raised; RSS ${r.rssMb} MB`);
  }
  if (results.length > 1) {
    console.log('\nside by side (mean ms per frame):');
    console.table(results.map((r) => ({
      run: r.label,
      input: r.input,
      threads: r.threads,
      tiling: r.tiling,
      decode: +mean(r.timings.map((t) => t.decodeMs)).toFixed(1),
      preprocess: +mean(r.timings.map((t) => t.preprocessMs)).toFixed(1),
      inference: +mean(r.timings.map((t) => t.inferenceMs)).toFixed(1),
      postprocess: +mean(r.timings.map((t) => t.postprocessMs)).toFixed(1),
      tracking: +mean(r.timings.map((t) => t.trackingMs)).toFixed(2),
      'frames/s': +r.framesPerS.toFixed(1),
    })));
  }
});
