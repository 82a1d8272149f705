// Choosing a fixed camera's detector settings by leave-one-photo-out on the real photographs (../shared/real-images):
// a small grid declared here, detections computed once per (setting, photo) and kept for the run, and for each photo
// the setting the other photos score best, scored on the photo left out. A setting that only pays on the photos it
// was chosen on shows as a gap between the leave-one-out figures and the in-sample ones, and as a choice that changes
// from fold to fold.
//
//   npm run vision:real -- --loo [--model coco] [--dir ../shared/real-images] [--fixed img03.jpg,img06.jpg,img11.jpg]
//
// The score that chooses counts, per class, the objects found (detections up to the counted number) minus the
// detections beyond it, so a count above the truth never helps, and takes off a fixed amount per vehicle on a photo
// with none (see OBJECTIVE).
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ConfigError } from '../../runtime/config.js';
import { silentLogger, type Logger } from '../../runtime/log.js';
import { decodeImage, loadModelsConfig, type Detection } from '../detectors/index.js';
import { reachesThreshold, type RoleScoreThresholds } from '../detectors/role-threshold.js';
import { TilingDetector, TilingSchema, mergeDetections, type PassDetection } from '../detectors/tiling.js';
import { findModel, openDetector } from '../detect/model.js';
import { readManifest, scoreImage, totals, type ImageScore, type ManifestRow } from './real-images.js';

// ---- the grid ----

/** What costs an inference: the input size, and tiles (model-sized crops, here upscaled when smaller than the input). */
export interface DetectSetting {
  name: string;
  inputWidth: number;
  inputHeight: number;
  tiling?: { tileSize: number; overlap: number };
}

export interface MergeSetting {
  /** Boxes of one role from two passes overlapping more than this are one object. */
  mergeIou: number;
  /** A box cut by a tile edge lying this much inside another of its role is that object. */
  mergeIos: number;
}

export interface LooGrid {
  detect: DetectSetting[];
  /** Tried for tiled settings only (a whole-frame pass has nothing to merge across). */
  merge: MergeSetting[];
  /** Per counted role; a candidate takes one value of each. */
  thresholds: Record<'vehicle' | 'two-wheeler' | 'person', number[]>;
}

/**
 * The declared grid: today's 640x640 whole frame, two higher inputs for a fixed camera's 16:9 frame (a 1024x576
 * frame is seen at 0.94 and 1.25 times; 1280x768 has coco-wide's 5:3 shape, so the console's aspect-ratio hint
 * still offers coco-wide for 16:9), and today's tiling option at two tile sizes (640: the frame's own pixels; 416:
 * upscaled 1.5 times to the input). Thresholds in steps of 0.05 around Ultralytics' 0.25. Ordered cheap first: ties
 * go to the cheaper setting, then to the higher thresholds.
 */
export const LOO_GRID: LooGrid = {
  detect: [
    { name: '640x640', inputWidth: 640, inputHeight: 640 },
    { name: '960x544', inputWidth: 960, inputHeight: 544 },
    { name: '1280x768', inputWidth: 1280, inputHeight: 768 },
    { name: '640x640+tiles640', inputWidth: 640, inputHeight: 640, tiling: { tileSize: 640, overlap: 0.25 } },
    { name: '640x640+tiles416', inputWidth: 640, inputHeight: 640, tiling: { tileSize: 416, overlap: 0.25 } },
  ],
  merge: [
    { mergeIou: 0.5, mergeIos: 0.6 },
    { mergeIou: 0.35, mergeIos: 0.5 },
  ],
  thresholds: {
    vehicle: [0.35, 0.3, 0.25],
    'two-wheeler': [0.3, 0.25, 0.2, 0.15],
    person: [0.3, 0.25, 0.2, 0.15],
  },
};

/** Today's `coco` as a candidate: 640x640 whole frame, every role at 0.25. */
export const TODAY = { detect: '640x640', thresholds: { vehicle: 0.25, 'two-wheeler': 0.25, person: 0.25 } };

export interface Candidate {
  /** Index into the grid's detect settings. */
  detect: number;
  merge?: MergeSetting;
  thresholds: Record<'vehicle' | 'two-wheeler' | 'person', number>;
}

/** Every candidate of the grid, in its order: detect setting, then merge, then thresholds high to low. */
export function candidates(grid: LooGrid): Candidate[] {
  const out: Candidate[] = [];
  grid.detect.forEach((d, i) => {
    const merges = d.tiling ? grid.merge : [undefined];
    for (const merge of merges)
      for (const vehicle of grid.thresholds.vehicle)
        for (const twoWheeler of grid.thresholds['two-wheeler'])
          for (const person of grid.thresholds.person)
            out.push({
              detect: i,
              ...(merge ? { merge } : {}),
              thresholds: { vehicle, 'two-wheeler': twoWheeler, person },
            });
  });
  return out;
}

export function candidateName(grid: LooGrid, c: Candidate): string {
  const m = c.merge ? ` merge ${c.merge.mergeIou}/${c.merge.mergeIos}` : '';
  const t = c.thresholds;
  return `${grid.detect[c.detect]!.name}${m}, vehicle ${t.vehicle}, two-wheeler ${t['two-wheeler']}, person ${t.person}`;
}

/** The lowest threshold of the grid: detections are computed once at it and thresholded per candidate. */
export function floorOf(grid: LooGrid): number {
  return Math.min(...Object.values(grid.thresholds).flat());
}

// ---- the score that chooses ----

/**
 * Per class (cars, buses and trucks pooled; motorcycles; people): (found − excess) / counted, averaged, minus
 * `negativePenalty` per vehicle or two-wheeler detected on a photo where none is counted. `excessWeight` 1 makes a
 * detection beyond the count undo one found object: over-counting never pays.
 */
export const OBJECTIVE = { excessWeight: 1, negativePenalty: 0.1 } as const;

const VEHICLE_CLASSES = ['car', 'bus', 'truck', 'motorcycle', 'bicycle'] as const;

/** Vehicles and two-wheelers detected on photos where the manifest counts none of them. */
export function falseVehicles(scores: readonly ImageScore[]): number {
  return scores
    .filter((s) => VEHICLE_CLASSES.every((c) => s.counted[c] === 0))
    .reduce((a, s) => a + VEHICLE_CLASSES.reduce((b, c) => b + s.detected[c], 0), 0);
}

export function objective(scores: readonly ImageScore[], o: typeof OBJECTIVE = OBJECTIVE): number {
  const classes: [(s: ImageScore) => number, (s: ImageScore) => number][] = [
    [(s) => s.vehicles.detected, (s) => s.vehicles.counted],
    [(s) => s.detected.motorcycle, (s) => s.counted.motorcycle],
    [(s) => s.detected.person, (s) => s.counted.person],
  ];
  const terms: number[] = [];
  for (const [det, cnt] of classes) {
    let found = 0;
    let excess = 0;
    let counted = 0;
    for (const s of scores) {
      found += Math.min(det(s), cnt(s));
      excess += Math.max(0, det(s) - cnt(s));
      counted += cnt(s);
    }
    if (counted > 0) terms.push((found - o.excessWeight * excess) / counted);
  }
  const mean = terms.length ? terms.reduce((a, b) => a + b, 0) / terms.length : 0;
  return mean - o.negativePenalty * falseVehicles(scores);
}

// ---- folds ----

export interface Fold {
  /** The photo left out (index). */
  heldOut: number;
  /** The candidate the other photos score best (index; the first of equals). */
  chosen: number;
  trainScore: number;
}

/** The best candidate on the given photos: highest objective, the first in grid order among equals. */
export function choose(
  scores: readonly (readonly ImageScore[])[],
  photos: readonly number[],
): { chosen: number; score: number } {
  let chosen = -1;
  let best = -Infinity;
  scores.forEach((perPhoto, c) => {
    const v = objective(photos.map((p) => perPhoto[p]!));
    if (v > best) {
      best = v;
      chosen = c;
    }
  });
  if (chosen < 0) throw new Error('no candidates');
  return { chosen, score: best };
}

export interface LooResult {
  folds: Fold[];
  /** Each photo scored by the candidate chosen without it. */
  heldOut: ImageScore[];
  /** The candidate chosen on every photo, and every photo scored by it. */
  inSample: { chosen: number; score: number; images: ImageScore[] };
}

/** scores[candidate][photo]: leave each photo out, choose on the rest, score it; and choose on all. */
export function leaveOneOut(scores: readonly (readonly ImageScore[])[]): LooResult {
  const n = scores[0]?.length ?? 0;
  if (n < 2) throw new Error('leave-one-out needs at least two photos');
  const all = Array.from({ length: n }, (_, i) => i);
  const folds = all.map((h) => {
    const { chosen, score } = choose(
      scores,
      all.filter((p) => p !== h),
    );
    return { heldOut: h, chosen, trainScore: score };
  });
  const whole = choose(scores, all);
  return {
    folds,
    heldOut: folds.map((f) => scores[f.chosen]![f.heldOut]!),
    inSample: { chosen: whole.chosen, score: whole.score, images: scores[whole.chosen]!.map((s) => s) },
  };
}

/** A candidate's detections on one photo: the cached passes merged (tiled) and thresholded per role. */
export function applyCandidate(
  c: Candidate,
  cached: { detections: readonly Detection[] | readonly PassDetection[]; tiled: boolean },
  baseThreshold: number,
): Detection[] {
  const merged = cached.tiled
    ? mergeDetections(cached.detections as PassDetection[], { ...c.merge!, mergeBy: 'role' })
    : [...cached.detections];
  const roles: RoleScoreThresholds = c.thresholds;
  return merged.filter((d) => reachesThreshold(d, baseThreshold, roles));
}

// ---- the run ----

export const FIXED_CAMERA_PHOTOS = ['img03.jpg', 'img06.jpg', 'img11.jpg'];

export interface LooOptions {
  dir: string;
  modelsFile: string;
  model: string;
  grid?: LooGrid;
  /** The photos of fixed city cameras, reported apart. */
  fixed?: string[];
  logger?: Logger;
  log?: (line: string) => void;
}

export interface LooRun {
  grid: LooGrid;
  candidates: Candidate[];
  rows: ManifestRow[];
  result: LooResult;
  /** Today's setting on every photo (the comparison). */
  today: ImageScore[];
  /** Mean ms per photo of each detect setting (decode excluded), measured in this run. */
  msPerPhoto: number[];
  fixed: string[];
}

export async function runLoo(o: LooOptions): Promise<LooRun> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const grid = o.grid ?? LOO_GRID;
  const rows = readManifest(o.dir);
  const fixed = o.fixed ?? FIXED_CAMERA_PHOTOS.filter((f) => rows.some((r) => r.file === f));
  for (const f of fixed)
    if (!rows.some((r) => r.file === f)) throw new ConfigError(`--fixed names ${f}, which the manifest does not list`);
  const model = findModel(loadModelsConfig(o.modelsFile), o.model, o.modelsFile);
  const images = await Promise.all(rows.map(async (r) => decodeImage(fs.readFileSync(path.join(o.dir, r.file)))));
  const floor = floorOf(grid);
  // Stall and unmapped classes are not counted: they keep the model's own threshold.
  const base = model.scoreThreshold;
  const cache: { detections: Detection[] | PassDetection[]; tiled: boolean }[][] = [];
  const msPerPhoto: number[] = [];
  for (const d of grid.detect) {
    const inner = await openDetector(model, o.logger ?? silentLogger, {
      config: {
        inputWidth: d.inputWidth,
        inputHeight: d.inputHeight,
        scoreThreshold: floor,
        roleScoreThresholds: undefined,
      },
      tiling: false,
    });
    const tiler = d.tiling
      ? new TilingDetector(inner, TilingSchema.parse({ tileSize: d.tiling.tileSize, overlap: d.tiling.overlap }))
      : null;
    const perPhoto: { detections: Detection[] | PassDetection[]; tiled: boolean }[] = [];
    let ms = 0;
    try {
      await inner.detect(images[0]!); // warm-up: the first run allocates
      for (const img of images) {
        const t0 = performance.now();
        const p = tiler ? await tiler.passes(img) : null;
        const entry = p
          ? { detections: p.detections, tiled: true }
          : { detections: (await inner.detect(img)).detections, tiled: false };
        ms += performance.now() - t0;
        perPhoto.push(entry);
      }
    } finally {
      await inner.close();
    }
    cache.push(perPhoto);
    msPerPhoto.push(ms / images.length);
    log(`${d.name}: ${(ms / images.length).toFixed(0)} ms/photo`);
  }
  const cands = candidates(grid);
  const scores = cands.map((c) => rows.map((r, p) => scoreImage(r, applyCandidate(c, cache[c.detect]![p]!, base))));
  const todayIndex = grid.detect.findIndex((d) => d.name === TODAY.detect);
  const today =
    todayIndex < 0
      ? []
      : rows.map((r, p) =>
          scoreImage(
            r,
            applyCandidate({ detect: todayIndex, thresholds: TODAY.thresholds }, cache[todayIndex]![p]!, base),
          ),
        );
  return { grid, candidates: cands, rows, result: leaveOneOut(scores), today, msPerPhoto, fixed };
}

// ---- the report ----

const pct = (x: number) => (Number.isNaN(x) ? '–' : `${Math.round(100 * x)} %`);

/** One line of figures: recall by count per class, the fixed cameras apart, false vehicles, excess, cost. */
export function figures(scores: readonly ImageScore[], fixed: readonly string[]): string {
  const t = totals(scores);
  const f = totals(scores.filter((s) => fixed.includes(s.file)));
  const n = (k: keyof typeof t.found, x = t) => `${pct(x.recall[k])} (${x.found[k]}/${x.counted[k]})`;
  return `${n('car')} | ${n('vehicles')} | ${n('motorcycle')} | ${n('person')} | ${n('car', f)} | ${n('motorcycle', f)} | ${n('person', f)} | ${falseVehicles(scores)} | ${t.excessPerImage.toFixed(1)}`;
}

export function looReport(run: LooRun): string {
  const { grid, candidates: cands, rows, result, fixed } = run;
  const name = (c: number) => candidateName(grid, cands[c]!);
  const ms = (c: number) => run.msPerPhoto[cands[c]!.detect]!;
  const foldLines = [
    '| held out | chosen on the other photos | score on them | held out: car+bus+truck | motorcycle | person |',
    '|---|---|---|---|---|---|',
    ...result.folds.map((f) => {
      const s = result.heldOut[f.heldOut]!;
      return `| ${rows[f.heldOut]!.file} | ${name(f.chosen)} | ${f.trainScore.toFixed(3)} | ${s.vehicles.detected}/${s.vehicles.counted} | ${s.detected.motorcycle}/${s.counted.motorcycle} | ${s.detected.person}/${s.counted.person} |`;
    }),
  ];
  const distinct = new Set(result.folds.map((f) => f.chosen));
  const looMs = result.folds.reduce((a, f) => a + ms(f.chosen), 0) / result.folds.length;
  const todayIndex = grid.detect.findIndex((d) => d.name === TODAY.detect);
  const head = `| | car | car+bus+truck | motorcycle | person | fixed: car | fixed: motorcycle | fixed: person | false vehicles on vehicle-free photos | excess / photo | ms / photo |\n|---|---|---|---|---|---|---|---|---|---|---|`;
  const summary = [
    head,
    ...(run.today.length
      ? [`| today (${TODAY.detect}, 0.25) | ${figures(run.today, fixed)} | ${run.msPerPhoto[todayIndex]!.toFixed(0)} |`]
      : []),
    `| leave-one-out | ${figures(result.heldOut, fixed)} | ${looMs.toFixed(0)} |`,
    `| in-sample (chosen on all) | ${figures(result.inSample.images, fixed)} | ${ms(result.inSample.chosen).toFixed(0)} |`,
  ];
  return [
    `## Leave-one-photo-out (${rows.length} photos, ${cands.length} candidates; fixed cameras: ${fixed.join(', ') || 'none'})`,
    '',
    ...summary,
    '',
    `Chosen on all photos: **${name(result.inSample.chosen)}** (score ${result.inSample.score.toFixed(3)}). Folds choosing it: ${result.folds.filter((f) => f.chosen === result.inSample.chosen).length} of ${result.folds.length}; distinct choices: ${distinct.size}.`,
    '',
    ...foldLines,
    '',
    `Detect settings, ms/photo in this run: ${grid.detect.map((d, i) => `${d.name} ${run.msPerPhoto[i]!.toFixed(0)}`).join(', ')}.`,
  ].join('\n');
}
