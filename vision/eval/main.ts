// `npm run vision:eval -- --seed N [--scenarios K] [--model NAME] [--gating on|off] [--stationary on|off]`: generates simulated street scenarios with seeds
// N, N+1, ... (seeds the training set never used; layout families include the one held out of training), runs every
// frame through the whole vision path (decode, detector, tracker, zone rules, evidence, plates) and prints event
// precision and recall against the scenarios' truth, and the detector's mAP@0.5 on their frames.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryBus } from '../../bus/memory.js';
import type { DeadLetter, EnforcementEvent } from '../../contracts/index.js';
import { ConfigError, runMain } from '../../runtime/config.js';
import { createLogger, silentLogger } from '../../runtime/log.js';
import { createScenario } from '../../simulators/camera/index.js';
import type { DeadLetterStore } from '../../store/types.js';
import { loadModelsConfig } from '../detectors/index.js';
import { EvidenceStore } from '../evidence/store.js';
import { PlateReader } from '../ocr/index.js';
import { STATIONARY_DETECTOR } from '../stationary/stage.js';
import { VisionWorker } from '../worker.js';
import { ApAccumulator, matchEvents, plateKey, type EventMatch } from './metrics.js';

const CLASSES = ['vehicle', 'stall', 'person'];

class MemoryDeadLetters implements DeadLetterStore {
  items: DeadLetter[] = [];
  async add(items: readonly DeadLetter[]) {
    this.items.push(...items);
  }
  async list(limit: number) {
    return { items: this.items.slice(-limit).reverse(), total: this.items.length };
  }
}

export interface EvalOptions {
  seed: number;
  scenarios: number;
  model?: string;
  modelsFile: string;
  /** mAP on every n-th frame (rendering is shared with the event run). */
  mapEvery: number;
  plates: boolean;
  families?: number[];
  /** The motion gate (vision/motion) on the scenarios' cameras; default: as the camera config says (on). */
  gating?: boolean;
  /** The class-agnostic stall stage (vision/stationary); default: as the camera config says (on with a storefront zone). */
  stationary?: boolean;
  log?: (line: string) => void;
}

export interface EvalResult {
  model: string;
  gating: boolean;
  /** Frames by where the detector ran (motion gate): full, regions, skipped. */
  detector: Record<string, number>;
  scenarios: {
    seed: number;
    family: string;
    frames: number;
    violations: number;
    events: number;
    tp: number;
    fp: number;
    fn: number;
    /** Events of the class-agnostic stall stage (vision/stationary), and how many of them were right. */
    stationary: { events: number; tp: number };
  }[];
  precision: number;
  recall: number;
  map: number;
  apPerClass: Record<string, number>;
  plates: { read: number; correct: number; ofVehicleEvents: number };
  frames: number;
  seconds: number;
  misses: { seed: number; fp: string[]; fn: string[] }[];
}

export async function evaluate(o: EvalOptions): Promise<EvalResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const models = loadModelsConfig(o.modelsFile);
  const modelName = o.model ?? models.default;
  if (!models.models.some((m) => m.name === modelName)) {
    throw new ConfigError(
      `no model "${modelName}" in ${o.modelsFile} (have: ${models.models.map((m) => m.name).join(', ')})`,
    );
  }
  const evidenceDir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-eval-evidence-'));
  const plates = o.plates ? await PlateReader.open() : null;
  const ap = new ApAccumulator(CLASSES);
  const out: EvalResult = {
    model: modelName,
    gating: o.gating ?? true,
    detector: {},
    scenarios: [],
    precision: 0,
    recall: 0,
    map: 0,
    apPerClass: {},
    plates: { read: 0, correct: 0, ofVehicleEvents: 0 },
    frames: 0,
    seconds: 0,
    misses: [],
  };
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const t0 = Date.now();
  for (let k = 0; k < o.scenarios; k++) {
    const seed = o.seed + k;
    const sc = createScenario(seed, o.families ? { families: o.families } : {});
    const bus = new MemoryBus({ logger: silentLogger });
    const worker = await VisionWorker.open({
      cameras: {
        timeZone: sc.registry.timeZone,
        cameras: [
          {
            ...sc.camera,
            model: modelName,
            motion: { ...sc.camera.motion, enabled: o.gating ?? sc.camera.motion.enabled },
            stationary: { ...sc.camera.stationary, enabled: o.stationary ?? sc.camera.stationary.enabled },
          },
        ],
      },
      models,
      evidence: new EvidenceStore(evidenceDir),
      bus,
      deadLetters: new MemoryDeadLetters(),
      logger: silentLogger,
      plates,
      publish: false,
    });
    const events: EnforcementEvent[] = [];
    for await (const f of sc.frames()) {
      const r = await worker.process({
        district: sc.camera.district,
        cameraId: sc.camera.id,
        ts: f.ts,
        seq: f.seq,
        jpeg: f.jpeg,
      });
      if (!r.ok) throw new Error(`frame ${f.seq} of seed ${seed} refused: ${r.reason}`);
      events.push(...r.events);
      out.detector[r.detector] = (out.detector[r.detector] ?? 0) + 1;
      if (f.seq % o.mapEvery === 0) {
        ap.addFrame(
          f.boxes.map((b) => ({ cls: b.cls, box: b.box, ignore: b.ignore })),
          r.detections.filter((d) => d.role !== null).map((d) => ({ cls: d.role!, box: d.box, score: d.score })),
        );
      }
      out.frames++;
    }
    await worker.close();
    await bus.close();
    const m: EventMatch = matchEvents(events, sc.truth.violations);
    tp += m.tp.length;
    fp += m.fp.length;
    fn += m.fn.length;
    for (const { event, truth } of m.tp) {
      if (event.role !== 'vehicle' || !truth.plate) continue;
      out.plates.ofVehicleEvents++;
      if (event.plate) {
        out.plates.read++;
        if (
          plateKey(event.plate.text).endsWith(plateKey(truth.plate)) ||
          plateKey(event.plate.text) === plateKey(truth.plate)
        )
          out.plates.correct++;
      }
    }
    out.scenarios.push({
      seed,
      family: sc.truth.familyName,
      frames: sc.frameCount,
      violations: sc.truth.violations.length,
      events: events.length,
      tp: m.tp.length,
      fp: m.fp.length,
      fn: m.fn.length,
      stationary: {
        events: events.filter(isStationary).length,
        tp: m.tp.filter((x) => isStationary(x.event)).length,
      },
    });
    if (m.fp.length || m.fn.length) {
      out.misses.push({
        seed,
        fp: m.fp.map(
          (e) =>
            `${e.type} ${e.zone.id} track ${e.trackId} (${e.className}) ${new Date(e.start).toISOString()}..${new Date(e.end).toISOString()}`,
        ),
        fn: m.fn.map(
          (t) =>
            `${t.type} ${t.zoneId} ${t.objectId} ${new Date(t.from).toISOString()}..${new Date(t.to).toISOString()}`,
        ),
      });
    }
    log(
      `seed ${seed} (${sc.truth.familyName}, ${sc.frameCount} frames): ${sc.truth.violations.length} violations, ${events.length} events, ${m.tp.length} right, ${m.fp.length} false, ${m.fn.length} missed; of no class (stationary stage) ${out.scenarios.at(-1)!.stationary.events}, right ${out.scenarios.at(-1)!.stationary.tp}`,
    );
  }
  const r = ap.result();
  out.precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  out.recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  out.map = r.map;
  out.apPerClass = r.perClass;
  out.seconds = (Date.now() - t0) / 1000;
  fs.rmSync(evidenceDir, { recursive: true, force: true });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runMain('vision-eval', async () => {
    const { values } = parseArgs({
      options: {
        seed: { type: 'string', default: '10001' },
        scenarios: { type: 'string', default: '6' },
        model: { type: 'string' },
        models: { type: 'string', default: 'config/models.json' },
        'map-every': { type: 'string', default: '5' },
        'no-plates': { type: 'boolean', default: false },
        families: { type: 'string' },
        gating: { type: 'string', default: 'on' },
        stationary: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    const num = (v: string, name: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new ConfigError(`--${name} must be a non-negative integer, got "${v}"`);
      return n;
    };
    if (values.gating !== 'on' && values.gating !== 'off')
      throw new ConfigError(`--gating takes on or off, got "${values.gating}"`);
    if (values.stationary !== undefined && values.stationary !== 'on' && values.stationary !== 'off')
      throw new ConfigError(`--stationary takes on or off, got "${values.stationary}"`);
    createLogger('vision-eval');
    const res = await evaluate({
      seed: num(values.seed!, 'seed'),
      scenarios: Math.max(1, num(values.scenarios!, 'scenarios')),
      model: values.model,
      modelsFile: path.resolve(values.models!),
      mapEvery: Math.max(1, num(values['map-every']!, 'map-every')),
      plates: !values['no-plates'],
      families: values.families ? values.families.split(',').map((f) => num(f, 'families')) : undefined,
      gating: values.gating === 'on',
      stationary: values.stationary === undefined ? undefined : values.stationary === 'on',
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(res, null, 1)}\n`);
      return;
    }
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    const lines = [
      `model ${res.model}: ${res.scenarios.length} scenarios, ${res.frames} frames in ${res.seconds.toFixed(0)} s`,
      `motion gating ${res.gating ? 'on' : 'off'}: detector on ${Object.entries(res.detector)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')} frames`,
      `events: precision ${pct(res.precision)}, recall ${pct(res.recall)} (target ≥ 90 % each)`,
      `detector mAP@0.5: ${res.map.toFixed(3)} (${Object.entries(res.apPerClass)
        .map(([c, v]) => `${c} ${v.toFixed(3)}`)
        .join(', ')})`,
      `plates: ${res.plates.read} read of ${res.plates.ofVehicleEvents} parking events, ${res.plates.correct} correct`,
    ];
    for (const m of res.misses) {
      for (const f of m.fp) lines.push(`  false event (seed ${m.seed}): ${f}`);
      for (const f of m.fn) lines.push(`  missed (seed ${m.seed}): ${f}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}

function isStationary(e: EnforcementEvent): boolean {
  return e.detector.model === STATIONARY_DETECTOR;
}
