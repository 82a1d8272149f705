// `npm run bench:vision -- [--model city,coco] [--threads 2] [--tile as-configured] [--frames 300] [--models FILE]
// [--gating off,on] [--scene sim,photo] [--photo FILE]`: one vision worker on this machine, per model side by side in
// one run. Frames of a simulated street scene (and a clip made from a real fixed-camera photo, bench/vision-clip.ts)
// are made first (so making them is not timed), then every frame goes through the worker as it would in production:
// the motion gate, JPEG decode, letterbox + ONNX inference + decoding/NMS, tracking and zone rules (and evidence, on
// the frames that raise events). Prints p50/p99 per stage per run, the frames/s one worker sustains (target ≥ 10 at
// the model's input size) and the cameras at 1 frame/s one worker follows, motion gate off against on.
// `--threads 1,2` and `--tile on,off` multiply the runs. Environment (the earlier interface, still read): BENCH_FRAMES,
// BENCH_MODEL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryBus } from '../bus/memory.js';
import { ConfigError, runMain } from '../runtime/config.js';
import { silentLogger } from '../runtime/log.js';
import { createScenario } from '../simulators/camera/index.js';
import type { Camera } from '../vision/cameras/config.js';
import { findModel, resolveTiling } from '../vision/detect/model.js';
import { createDetector, loadModelsConfig, type ModelConfig, type ModelsConfig } from '../vision/detectors/index.js';
import { EvidenceStore } from '../vision/evidence/store.js';
import { PlateReader } from '../vision/ocr/index.js';
import type { GateKind } from '../vision/motion/gate.js';
import { VisionWorker, type FrameTimings } from '../vision/worker.js';
import { photoClip } from './vision-clip.js';

const ROOT = import.meta.dirname.includes(`${path.sep}dist${path.sep}`)
  ? path.resolve(import.meta.dirname, '../..')
  : path.resolve(import.meta.dirname, '..');

interface Run {
  label: string;
  model: ModelConfig;
  threads: number;
  tiling: string;
}

/** Frames of one camera, made before the clock starts. */
interface Scene {
  name: string;
  camera: Camera;
  timeZone: string;
  frames: { ts: number; seq: number; jpeg: Buffer }[];
}

interface RunResult extends Run {
  scene: string;
  gating: boolean;
  detector: Record<GateKind, number>;
  input: string;
  timings: FrameTimings[];
  framesPerS: number;
  /** CPU time of this process per frame (all threads): the cost, less blurred than wall time on a shared machine. */
  cpuMsPerFrame: number;
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
  ['motion gate (small grey, background)', (t) => t.motionMs],
  ['decode (JPEG → RGB)', (t) => t.decodeMs],
  ['preprocess (letterbox)', (t) => t.preprocessMs],
  ['inference (ONNX)', (t) => t.inferenceMs],
  ['postprocess (decode, NMS)', (t) => t.postprocessMs],
  ['detect total', (t) => t.preprocessMs + t.inferenceMs + t.postprocessMs],
  ['tracking + rules', (t) => t.trackingMs],
  ['events (evidence, plates)', (t) => t.eventsMs],
  [
    'whole frame',
    (t) => t.motionMs + t.decodeMs + t.preprocessMs + t.inferenceMs + t.postprocessMs + t.trackingMs + t.eventsMs,
  ],
];

/** The runs: every model x threads x tiling setting, each under a name of its own in a models config of its own. */
function plan(
  models: ModelsConfig,
  names: string[],
  threads: (number | undefined)[],
  tiles: string[],
  source: string,
): Run[] {
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
        const label = [name, t === undefined ? null : `t${t}`, tile === 'as-configured' ? null : `tile-${tile}`]
          .filter(Boolean)
          .join('.');
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

async function bench(run: Run, scene: Scene, gating: boolean, plates: PlateReader): Promise<RunResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-vision-'));
  const cam = scene.camera;
  const frames = scene.frames;
  const worker = await VisionWorker.open({
    cameras: {
      timeZone: scene.timeZone,
      cameras: [{ ...cam, model: run.label, motion: { ...cam.motion, enabled: gating } }],
    },
    models: { default: run.label, models: [run.model] },
    evidence: new EvidenceStore(dir),
    bus: new MemoryBus({ logger: silentLogger }),
    deadLetters: { add: async () => {}, list: async () => ({ items: [], total: 0 }) },
    logger: silentLogger,
    plates,
    publish: false,
    rechecks: false,
    liveCameras: false,
  });
  try {
    // Warm-up: the first inferences allocate the session's buffers; its frames are stamped before the run's.
    for (let i = 0; i < 5; i++)
      await worker.process({
        district: cam.district,
        cameraId: cam.id,
        ts: frames[0]!.ts - 10_000 + i,
        seq: -1,
        jpeg: frames[i % frames.length]!.jpeg,
      });
    const timings: FrameTimings[] = [];
    let events = 0;
    let detections = 0;
    const detector: Record<GateKind, number> = { full: 0, regions: 0, skipped: 0 };
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (const f of frames) {
      const r = await worker.process({ district: cam.district, cameraId: cam.id, ts: f.ts, seq: f.seq, jpeg: f.jpeg });
      if (!r.ok) throw new Error(r.reason);
      timings.push(r.timings);
      detector[r.detector]++;
      events += r.events.length;
      detections += r.detections.length;
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    return {
      ...run,
      scene: scene.name,
      gating,
      detector,
      input: await inputSize(run.model),
      timings,
      framesPerS: frames.length / wall,
      cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / frames.length,
      events,
      detections,
      rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    };
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
      gating: { type: 'string', default: 'off,on' },
      scene: { type: 'string', default: 'sim,photo' },
      photo: { type: 'string', default: path.resolve(ROOT, '../shared/real-images/img03.jpg') },
    },
  });
  const list = (xs: string[] | string | undefined) =>
    [xs ?? []]
      .flat()
      .flatMap((x) => x.split(','))
      .map((x) => x.trim())
      .filter(Boolean);
  const frameCount = Number(values.frames);
  if (!Number.isInteger(frameCount) || frameCount < 1)
    throw new ConfigError(`--frames must be a positive integer, got "${values.frames}"`);
  const threads =
    values.threads === undefined
      ? [undefined]
      : list(values.threads).map((t) => {
          const n = Number(t);
          if (!Number.isInteger(n) || n < 1 || n > 64)
            throw new ConfigError(`--threads takes integers 1..64, got "${t}"`);
          return n;
        });
  const tiles = list(values.tile);
  for (const t of tiles)
    if (!['as-configured', 'on', 'off'].includes(t))
      throw new ConfigError(`--tile takes as-configured, on, off (got "${t}")`);
  const modelsFile = path.resolve(values.models!);
  const models = loadModelsConfig(modelsFile);
  const names = values.model?.length
    ? list(values.model)
    : process.env.BENCH_MODEL
      ? [process.env.BENCH_MODEL]
      : [models.default];
  const runs = plan(models, names, threads, tiles, modelsFile);
  const gatings = list(values.gating).map((g) => {
    if (g !== 'on' && g !== 'off') throw new ConfigError(`--gating takes on, off (got "${g}")`);
    return g === 'on';
  });
  const sceneNames = list(values.scene);
  for (const n of sceneNames)
    if (n !== 'sim' && n !== 'photo') throw new ConfigError(`--scene takes sim, photo (got "${n}")`);

  const scenes: Scene[] = [];
  for (const name of sceneNames) {
    if (name === 'sim') {
      const sc = createScenario(10_001);
      process.stderr.write(
        `rendering ${frameCount} frames of seed 10001 (${sc.camera.width}x${sc.camera.height})...\n`,
      );
      const frames: Scene['frames'] = [];
      for await (const f of sc.frames({ to: frameCount })) frames.push(f);
      scenes.push({
        name: 'sim (seed 10001, a street with parked cars)',
        camera: sc.camera,
        timeZone: sc.registry.timeZone,
        frames,
      });
    } else {
      if (!fs.existsSync(values.photo!))
        throw new ConfigError(
          `--photo ${values.photo}: no such file (the shared real photos are in ../shared/real-images)`,
        );
      process.stderr.write(`making ${frameCount} frames from ${values.photo}...\n`);
      const clip = await photoClip(values.photo!, frameCount, Date.parse('2026-06-01T10:00:00+08:00'));
      scenes.push({
        name: `photo (${path.basename(values.photo!)}, held still, a patch moving)`,
        camera: clip.camera,
        timeZone: 'Asia/Shanghai',
        frames: clip.frames,
      });
    }
  }
  const plates = await PlateReader.open();

  const results: RunResult[] = [];
  for (const scene of scenes)
    for (const run of runs)
      for (const gating of gatings) {
        process.stderr.write(
          `${scene.name}, ${run.label}, gating ${gating ? 'on' : 'off'}: ${path.relative(ROOT, run.model.path)}, ${run.threads} thread(s), tiling ${run.tiling}...\n`,
        );
        const r = await bench(run, scene, gating, plates);
        results.push(r);
        const sz = `${scene.camera.width}x${scene.camera.height}`;
        console.log(
          `\nbench:vision  ${scene.name}, ${r.label} (${path.relative(ROOT, r.model.path)}, input ${r.input}, ${r.threads} thread(s), tiling ${r.tiling}), motion gate ${gating ? 'on' : 'off'}, ${frameCount} frames ${sz} JPEG, ${os.cpus().length} cores, one worker`,
        );
        console.table(
          STAGES.map(([stage, f]) => {
            const xs = r.timings.map(f);
            return {
              stage,
              'p50 ms': +q(xs, 0.5).toFixed(2),
              'p99 ms': +q(xs, 0.99).toFixed(2),
              'mean ms': +mean(xs).toFixed(2),
            };
          }),
        );
        console.log(
          `throughput: ${r.framesPerS.toFixed(1)} frames/s per worker (target ≥ 10), ${(r.detections / frameCount).toFixed(1)} detections/frame, ${r.events} events raised; detector on ${r.detector.full} whole frames, ${r.detector.regions} areas, ${r.detector.skipped} skipped; RSS ${r.rssMb} MB`,
        );
      }
  if (results.length > 1) {
    console.log(
      `\nside by side (mean ms per frame; load average at the end ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}):`,
    );
    const ungated = (r: RunResult) => results.find((u) => u.scene === r.scene && u.label === r.label && !u.gating);
    console.table(
      results.map((r) => ({
        scene: r.scene.split(' ')[0],
        run: r.label,
        gating: r.gating ? 'on' : 'off',
        input: r.input,
        threads: r.threads,
        tiling: r.tiling,
        decode: +mean(r.timings.map((t) => t.decodeMs)).toFixed(1),
        preprocess: +mean(r.timings.map((t) => t.preprocessMs)).toFixed(1),
        inference: +mean(r.timings.map((t) => t.inferenceMs)).toFixed(1),
        postprocess: +mean(r.timings.map((t) => t.postprocessMs)).toFixed(1),
        tracking: +mean(r.timings.map((t) => t.trackingMs)).toFixed(2),
        motion: +mean(r.timings.map((t) => t.motionMs)).toFixed(1),
        'full/areas/skipped': `${r.detector.full}/${r.detector.regions}/${r.detector.skipped}`,
        'CPU ms/frame': +r.cpuMsPerFrame.toFixed(1),
        'frames/s': +r.framesPerS.toFixed(1),
        // A camera sends one frame a second: one worker follows as many cameras as it does frames a second.
        'cameras at 1 fps': Math.floor(r.framesPerS),
        'x ungated': r.gating && ungated(r) ? +(r.framesPerS / ungated(r)!.framesPerS).toFixed(2) : '',
        'x ungated (CPU)': r.gating && ungated(r) ? +(ungated(r)!.cpuMsPerFrame / r.cpuMsPerFrame).toFixed(2) : '',
      })),
    );
  }
});
