// A YOLO-format detection dataset sampled from simulated scenarios: images at full resolution, one label file per
// image with `class cx cy w h` (normalised), classes 0 vehicle, 1 stall, 2 person. The split into train and val is
// by seed: a seed's frames are all in one split, so val measures scenes (streets, shops, actors) never trained on.
//
// Held out for the vision evaluation, never written here unless asked: seeds >= EVAL_SEED_MIN, and the last layout
// family (TRAIN_FAMILIES excludes it).
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { ConfigError, parseConfig } from '../../runtime/config.js';
import { LAYOUT_FAMILIES, TRAIN_FAMILIES } from './layout.js';
import { MIN_VISIBLE, SceneRenderer, type TruthBox } from './render.js';
import { Rng } from './rng.js';
import { CLASSES, makeScenario } from './scenario.js';

/** Seeds from here on are the evaluation's: the dataset refuses them unless allowEvalSeeds. */
export const EVAL_SEED_MIN = 10_000;

export const DatasetOptionsSchema = z.strictObject({
  out: z.string().min(1),
  seeds: z.array(z.number().int().nonnegative()).min(1, 'give at least one seed'),
  framesPerSeed: z.number().int().min(1).max(1000).default(20),
  /** The training image size: boxes smaller than 3 px at this size are left out. 0 = no such filter. */
  imgsz: z.number().int().min(0).max(4096).default(640),
  /** Write images resized so their long side is imgsz, instead of full resolution. */
  resize: z.boolean().default(false),
  /** Layout families to draw scenes from. */
  families: z
    .array(
      z
        .number()
        .int()
        .min(0)
        .max(LAYOUT_FAMILIES.length - 1),
    )
    .min(1)
    .default([...TRAIN_FAMILIES]),
  /** Share of the seeds (the last ones) that go to val; ignored when valSeeds is given. */
  valFraction: z.number().min(0).max(0.9).default(0.1),
  valSeeds: z.array(z.number().int().nonnegative()).optional(),
  width: z.number().int().min(320).max(3840).default(1280),
  height: z.number().int().min(240).max(2160).default(720),
  /** Objects less visible than this are not labelled (they are listed, marked ignore, in the manifest). */
  minVisible: z.number().min(0).max(1).default(MIN_VISIBLE),
  allowEvalSeeds: z.boolean().default(false),
  /** Skip seeds the manifest already lists (a run that was interrupted). */
  resume: z.boolean().default(false),
});
export type DatasetOptions = z.input<typeof DatasetOptionsSchema>;

export interface DatasetSummary {
  images: { train: number; val: number };
  boxes: Record<string, number>;
  ignored: number;
  seeds: { train: number[]; val: number[] };
  ms: number;
}

/** Parses "1-200", "1,5,7-9" into seeds. */
export function parseSeedList(s: string): number[] {
  const out: number[] = [];
  for (const part of s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new ConfigError(`invalid seed list "${s}": use numbers and ranges like 1-200,300`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new ConfigError(`invalid seed range "${part}": the end is before the start`);
    if (b - a > 1_000_000) throw new ConfigError(`seed range "${part}" is too large`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  if (!out.length) throw new ConfigError(`empty seed list "${s}"`);
  return out;
}

/** Frame numbers to sample from a scenario: one per stratum, at a seeded place inside it. */
export function sampleFrames(seed: number, frameCount: number, k: number): number[] {
  const rng = Rng.of(seed, 'dataset-frames');
  const n = Math.min(k, frameCount);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.min(frameCount - 1, Math.floor(((i + rng.next()) * frameCount) / n)));
  return [...new Set(out)];
}

/** YOLO label lines for the boxes of one frame. */
export function yoloLabels(
  boxes: TruthBox[],
  width: number,
  height: number,
  opts: { minVisible: number; minPx: number },
): string[] {
  const lines: string[] = [];
  for (const b of boxes) {
    if (b.visible < opts.minVisible) continue;
    const [x1, y1, x2, y2] = b.box;
    if (x2 - x1 < opts.minPx || y2 - y1 < opts.minPx) continue;
    const cls = CLASSES.indexOf(b.cls);
    const r = (v: number) => v.toFixed(6);
    lines.push(
      `${cls} ${r((x1 + x2) / 2 / width)} ${r((y1 + y2) / 2 / height)} ${r((x2 - x1) / width)} ${r((y2 - y1) / height)}`,
    );
  }
  return lines;
}

export async function writeDataset(
  input: DatasetOptions,
  log: (msg: string) => void = () => {},
): Promise<DatasetSummary> {
  const o = parseConfig(DatasetOptionsSchema, input, 'dataset options');
  const evalSeeds = o.seeds.filter((s) => s >= EVAL_SEED_MIN);
  if (evalSeeds.length && !o.allowEvalSeeds) {
    throw new ConfigError(
      `seeds ${EVAL_SEED_MIN} and above are kept for evaluation (got ${evalSeeds[0]}); pass --allow-eval-seeds to use them anyway`,
    );
  }
  const seeds = [...new Set(o.seeds)];
  const nVal = o.valFraction > 0 && seeds.length > 1 ? Math.max(1, Math.round(seeds.length * o.valFraction)) : 0;
  const valSet = new Set(o.valSeeds ?? seeds.slice(seeds.length - nVal));
  const split = (seed: number) => (valSet.has(seed) ? 'val' : 'train');
  for (const s of ['train', 'val']) {
    fs.mkdirSync(path.join(o.out, 'images', s), { recursive: true });
    fs.mkdirSync(path.join(o.out, 'labels', s), { recursive: true });
  }
  const manifestFile = path.join(o.out, 'manifest.jsonl');
  const done = new Set<number>();
  if (o.resume && fs.existsSync(manifestFile)) {
    for (const line of fs.readFileSync(manifestFile, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const row = JSON.parse(line) as { seed?: number; last?: boolean };
        if (row.last && typeof row.seed === 'number') done.add(row.seed);
      } catch {
        // A line cut by an interruption: that seed is redone.
      }
    }
  } else fs.writeFileSync(manifestFile, '');
  const minPx = o.imgsz > 0 ? Math.max(3, (3 * Math.max(o.width, o.height)) / o.imgsz) : 3;
  const summary: DatasetSummary = {
    images: { train: 0, val: 0 },
    boxes: Object.fromEntries(CLASSES.map((c) => [c, 0])),
    ignored: 0,
    seeds: { train: [], val: [] },
    ms: 0,
  };
  const started = Date.now();
  let i = 0;
  for (const seed of seeds) {
    i++;
    const sp = split(seed);
    summary.seeds[sp].push(seed);
    if (done.has(seed)) continue;
    const t0 = Date.now();
    const scn = makeScenario(seed, { width: o.width, height: o.height, families: o.families });
    const renderer = new SceneRenderer(scn);
    const picks = sampleFrames(seed, scn.frameCount, o.framesPerSeed);
    let nBoxes = 0;
    for (const [k, seq] of picks.entries()) {
      const f = await renderer.renderFrame(seq * scn.frameMs);
      const name = `s${seed}_f${seq}`;
      const lines = yoloLabels(f.boxes, f.width, f.height, { minVisible: o.minVisible, minPx });
      let jpeg = f.jpeg;
      if (o.resize && o.imgsz > 0) {
        const scale = o.imgsz / Math.max(f.width, f.height);
        jpeg = await sharp(jpeg)
          .resize(Math.round(f.width * scale), Math.round(f.height * scale))
          .jpeg({ quality: 92 })
          .toBuffer();
      }
      fs.writeFileSync(path.join(o.out, 'images', sp, `${name}.jpg`), jpeg);
      fs.writeFileSync(path.join(o.out, 'labels', sp, `${name}.txt`), lines.length ? `${lines.join('\n')}\n` : '');
      for (const b of f.boxes) {
        if (b.visible < o.minVisible || b.box[2] - b.box[0] < minPx || b.box[3] - b.box[1] < minPx) summary.ignored++;
        else summary.boxes[b.cls]!++;
      }
      nBoxes += lines.length;
      summary.images[sp]++;
      const row = {
        image: `images/${sp}/${name}.jpg`,
        split: sp,
        seed,
        family: scn.layout.family,
        seq,
        ts: scn.startTs + Math.round(seq * scn.frameMs),
        light: scn.light.mode,
        boxes: f.boxes.map((b) => ({
          id: b.objectId,
          cls: b.cls,
          kind: b.kind,
          box: b.box,
          visible: b.visible,
          ignore: b.visible < o.minVisible || b.box[2] - b.box[0] < minPx || b.box[3] - b.box[1] < minPx,
        })),
        ...(k === picks.length - 1 ? { last: true } : {}),
      };
      fs.appendFileSync(manifestFile, `${JSON.stringify(row)}\n`);
    }
    const elapsed = (Date.now() - started) / 1000;
    const eta = (elapsed / i) * (seeds.length - i);
    log(
      `seed ${seed} (${i}/${seeds.length}, ${sp}, ${scn.layout.familyName}, ${scn.light.mode}): ${picks.length} images, ${nBoxes} boxes, ${((Date.now() - t0) / 1000).toFixed(1)} s; eta ${Math.round(eta)} s`,
    );
  }
  const names = CLASSES.map((c, k) => `  ${k}: ${c}`).join('\n');
  fs.writeFileSync(
    path.join(o.out, 'data.yaml'),
    `# Written by simulators/camera/dataset-main.ts. Split by seed; seeds >= ${EVAL_SEED_MIN} and layout family ${LAYOUT_FAMILIES.length - 1} are kept for evaluation.\n` +
      `path: ${path.resolve(o.out)}\ntrain: images/train\nval: images/val\nnc: ${CLASSES.length}\nnames:\n${names}\n` +
      `imgsz: ${o.imgsz}\n`,
  );
  fs.writeFileSync(
    path.join(o.out, 'split.json'),
    `${JSON.stringify({ families: o.families, train: summary.seeds.train, val: summary.seeds.val, width: o.width, height: o.height, framesPerSeed: o.framesPerSeed }, null, 1)}\n`,
  );
  summary.ms = Date.now() - started;
  return summary;
}
