// Real street photographs with counts made by eye (../shared/real-images, its manifest.csv): how many of the cars,
// buses, trucks, motorcycles and people a detector finds, per image, for variants of one or more models (whole frame
// vs tiles, score thresholds, any config override), as markdown tables.
//
//   npx tsx vision/eval/real-images.ts [--dir ../shared/real-images] [--models config/models.json] [--model coco,...]
//     [--variant whole] [--variant tiled] [--variant 'NAME={"inputWidth":640,"inputHeight":640}'] [--scores 0.3,0.4]
//     [--draw DIR] [--draw-width 1280] [--json]
//   npx tsx vision/eval/real-images.ts --loo [--model coco] [--fixed img03.jpg,...]   (leave-one-photo-out: loo.ts)
//
// Without options: the model `coco` as configured (config/models.json), at its own score threshold.
//
// The manifest has counts, not boxes, so a detection is not matched to an object: per image and class, found =
// min(detected, counted) and excess = max(0, detected - counted), a proxy for false detections (it hides a false
// detection that stands in for a missed object). Cars, buses and trucks are also pooled, since the manifest's own
// notes put vans with cars and pickups with trucks where a model may say otherwise.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, parseConfig, runMain } from '../../runtime/config.js';
import { silentLogger, type Logger } from '../../runtime/log.js';
import sharp from 'sharp';
import {
  decodeImage,
  loadModelsConfig,
  type DetectResult,
  type Detection,
  type Detector,
  type ModelsConfig,
  type RawImage,
} from '../detectors/index.js';
import { reachesThreshold, type RoleScoreThresholds } from '../detectors/role-threshold.js';
import type { TilingConfigInput } from '../detectors/tiling.js';
import { drawDetections } from '../detect/draw.js';
import { findModel, openDetector, stillsModel, type ModelOverrides } from '../detect/model.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const DEFAULT_DIR = path.resolve(ROOT, '../shared/real-images');

// ---- the manifest ----

/** RFC 4180 CSV: quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += c;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const Count = z.coerce.number().int().min(0);
export const ManifestRowSchema = z.object({
  file: z.string().min(1),
  source_repo: z.string(),
  source_path: z.string(),
  licence: z.string(),
  width: Count,
  height: Count,
  cars: Count,
  buses: Count,
  trucks: Count,
  motorcycles: Count,
  bicycles: Count,
  people: Count,
  stall_objects: z.enum(['yes', 'no']),
  notes: z.string().default(''),
});
export type ManifestRow = z.infer<typeof ManifestRowSchema>;

export function readManifest(dir: string): ManifestRow[] {
  const file = path.join(dir, 'manifest.csv');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`no manifest.csv in ${dir} (give the folder of the real images with --dir)`);
  }
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (e) {
    throw new ConfigError(`${file}: ${(e as Error).message}`);
  }
  const [head, ...body] = rows;
  if (!head) throw new ConfigError(`${file} is empty`);
  const objects = body.map((r) => Object.fromEntries(head.map((h, i) => [h.trim(), r[i] ?? ''])));
  const parsed = parseConfig(z.array(ManifestRowSchema).min(1, 'no images listed'), objects, file);
  for (const r of parsed) {
    if (!fs.existsSync(path.join(dir, r.file)))
      throw new ConfigError(`${file} lists ${r.file}, which is not in ${dir}`);
  }
  return parsed;
}

// ---- scoring one image ----

/** The manifest's counted classes, by COCO name. */
export const COUNTED = [
  ['car', 'cars'],
  ['bus', 'buses'],
  ['truck', 'trucks'],
  ['motorcycle', 'motorcycles'],
  ['bicycle', 'bicycles'],
  ['person', 'people'],
] as const;
export type CountedClass = (typeof COUNTED)[number][0];
/** Groups that excess is counted over: cars, buses and trucks pooled (see the top of the file). */
const GROUPS: CountedClass[][] = [['car', 'bus', 'truck'], ['motorcycle'], ['bicycle'], ['person']];

export interface ImageScore {
  file: string;
  counted: Record<CountedClass, number>;
  detected: Record<CountedClass, number>;
  /** Cars, buses and trucks pooled. */
  vehicles: { detected: number; counted: number };
  /** Detections beyond the count, summed over the groups (cars+buses+trucks, motorcycles, bicycles, people). */
  excess: number;
  /** Detections with the stall role (umbrella, chair, dining table, bench, ...): the manifest says only yes/no. */
  stall: number;
  stallInManifest: boolean;
  /** Detections of any other class. */
  other: number;
  ms: number;
}

const zero = (): Record<CountedClass, number> => ({ car: 0, bus: 0, truck: 0, motorcycle: 0, bicycle: 0, person: 0 });

/**
 * Counts detections against the manifest row. `byRole`, for a model without COCO names (our simulator-trained
 * model): a `vehicle` counts as a car (see the pooled column), a `person` as a person.
 */
export function scoreImage(row: ManifestRow, dets: readonly Detection[], ms = 0, byRole = false): ImageScore {
  const counted = zero();
  for (const [cls, col] of COUNTED) counted[cls] = row[col];
  const detected = zero();
  let stall = 0;
  let other = 0;
  for (const d of dets) {
    const cls = (
      byRole ? (d.role === 'vehicle' ? 'car' : d.role === 'person' ? 'person' : d.className) : d.className
    ) as CountedClass;
    if (cls in detected) detected[cls]++;
    else if (d.role === 'stall') stall++;
    else other++;
  }
  const sum = (r: Record<CountedClass, number>, g: CountedClass[]) => g.reduce((a, c) => a + r[c], 0);
  const excess = GROUPS.reduce((a, g) => a + Math.max(0, sum(detected, g) - sum(counted, g)), 0);
  return {
    file: row.file,
    counted,
    detected,
    vehicles: { detected: sum(detected, GROUPS[0]!), counted: sum(counted, GROUPS[0]!) },
    excess,
    stall,
    stallInManifest: row.stall_objects === 'yes',
    other,
    ms,
  };
}

export interface Totals {
  /** Σ min(detected, counted) and Σ counted per class, and for the pooled vehicles. */
  found: Record<CountedClass | 'vehicles', number>;
  counted: Record<CountedClass | 'vehicles', number>;
  /** found / counted (NaN when nothing was counted). */
  recall: Record<CountedClass | 'vehicles', number>;
  excess: number;
  excessPerImage: number;
  maxExcess: number;
  /** Vehicles and people detected on images where the manifest counts none of them (negatives). */
  onNegatives: number;
  msPerImage: number;
}

export function totals(scores: readonly ImageScore[]): Totals {
  const keys = [...COUNTED.map(([c]) => c), 'vehicles'] as const;
  const found = Object.fromEntries(keys.map((k) => [k, 0])) as Totals['found'];
  const counted = { ...found };
  for (const s of scores) {
    for (const [c] of COUNTED) {
      found[c] += Math.min(s.detected[c], s.counted[c]);
      counted[c] += s.counted[c];
    }
    found.vehicles += Math.min(s.vehicles.detected, s.vehicles.counted);
    counted.vehicles += s.vehicles.counted;
  }
  const recall = Object.fromEntries(keys.map((k) => [k, counted[k] ? found[k] / counted[k] : NaN])) as Totals['recall'];
  const excess = scores.reduce((a, s) => a + s.excess, 0);
  const negatives = scores.filter((s) => COUNTED.every(([c]) => s.counted[c] === 0));
  return {
    found,
    counted,
    recall,
    excess,
    excessPerImage: scores.length ? excess / scores.length : 0,
    maxExcess: Math.max(0, ...scores.map((s) => s.excess)),
    onNegatives: negatives.reduce((a, s) => a + COUNTED.reduce((b, [c]) => b + s.detected[c], 0), 0),
    msPerImage: scores.length ? scores.reduce((a, s) => a + s.ms, 0) / scores.length : 0,
  };
}

// ---- tables ----

const pct = (x: number) => (Number.isNaN(x) ? '–' : `${Math.round(100 * x)} %`);
const GOALS: Partial<Record<CountedClass | 'vehicles', number>> = { car: 0.9, motorcycle: 0.5, person: 0.5 };

/** Per image: detected/counted per class, pooled vehicles, excess, stall-role and other detections. */
export function imageTable(scores: readonly ImageScore[]): string {
  const lines = [
    '| image | car | bus | truck | car+bus+truck | motorcycle | bicycle | person | excess | stall role | other | ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const dc = (d: number, c: number) => `${d}/${c}`;
  for (const s of scores) {
    lines.push(
      `| ${s.file} | ${dc(s.detected.car, s.counted.car)} | ${dc(s.detected.bus, s.counted.bus)} | ${dc(s.detected.truck, s.counted.truck)} | ${dc(s.vehicles.detected, s.vehicles.counted)} | ${dc(s.detected.motorcycle, s.counted.motorcycle)} | ${dc(s.detected.bicycle, s.counted.bicycle)} | ${dc(s.detected.person, s.counted.person)} | ${s.excess} | ${s.stall}${s.stallInManifest ? ' (yes)' : ''} | ${s.other} | ${s.ms.toFixed(0)} |`,
    );
  }
  const t = totals(scores);
  const f = (k: keyof Totals['found']) => `${t.found[k]}/${t.counted[k]} ${pct(t.recall[k])}`;
  lines.push(
    `| **found** | ${f('car')} | ${f('bus')} | ${f('truck')} | ${f('vehicles')} | ${f('motorcycle')} | ${f('bicycle')} | ${f('person')} | ${t.excess} | | | ${t.msPerImage.toFixed(0)} |`,
  );
  return lines.join('\n');
}

export interface VariantResult {
  model: string;
  variant: string;
  score: number;
  overrides: ModelOverrides;
  images: ImageScore[];
  totals: Totals;
}

/** One line per model x variant x score: recall per class against the goals, excess, speed. */
export function summaryTable(results: readonly VariantResult[]): string {
  const lines = [
    '| model | variant | score ≥ | car (≥ 90 %) | car+bus+truck | bus | truck | motorcycle (≥ 50 %) | person (≥ 50 %) | excess / image (max) | on negative | ms / image | goals |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const t = r.totals;
    const met = Object.entries(GOALS).every(([k, g]) => t.recall[k as CountedClass] >= g!) && t.maxExcess <= 3;
    lines.push(
      `| ${r.model} | ${r.variant} | ${r.score} | ${pct(t.recall.car)} | ${pct(t.recall.vehicles)} | ${pct(t.recall.bus)} | ${pct(t.recall.truck)} | ${pct(t.recall.motorcycle)} | ${pct(t.recall.person)} | ${t.excessPerImage.toFixed(1)} (${t.maxExcess}) | ${t.onNegatives} | ${t.msPerImage.toFixed(0)} | ${met ? 'met' : '–'} |`,
    );
  }
  return lines.join('\n');
}

// ---- variants and the run ----

export interface Variant {
  name: string;
  overrides: ModelOverrides;
  /** Resize the whole image to the model's input without keeping its aspect (how the upstream demo feeds it). */
  stretch?: boolean;
}

/**
 * The whole image squeezed to the model's input size (no letterbox), boxes scaled back: the way the baseline of the
 * issue was measured (TF.js CenterNet, "whole image resized to 512x512"). Only for comparison; not a product mode.
 */
export class StretchDetector implements Detector {
  constructor(private readonly inner: Detector) {}
  get info() {
    return this.inner.info;
  }
  async detect(img: RawImage): Promise<DetectResult> {
    const { inputWidth: w, inputHeight: h } = this.inner.info;
    const t0 = performance.now();
    const data = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .resize(w, h, { fit: 'fill', kernel: 'linear' })
      .raw()
      .toBuffer();
    const resizeMs = performance.now() - t0;
    const r = await this.inner.detect({ data, width: w, height: h, channels: 3 });
    const sx = img.width / w;
    const sy = img.height / h;
    return {
      detections: r.detections.map((d) => ({
        ...d,
        box: [d.box[0] * sx, d.box[1] * sy, d.box[2] * sx, d.box[3] * sy],
      })),
      timings: { ...r.timings, preprocessMs: r.timings.preprocessMs + resizeMs },
    };
  }
  close() {
    return this.inner.close();
  }
}

/** Built-in variants: the model as configured, the whole frame only, and whole frame + tiles. */
export const BUILTIN_VARIANTS: Readonly<Record<string, ModelOverrides>> = Object.freeze({
  configured: {},
  whole: { tiling: false },
  tiled: { tiling: { enabled: true } },
  'tiles-only': { tiling: { enabled: true, includeFullFrame: false } },
  stretch: { tiling: false },
});

/** "whole", or "NAME={json}" with model config fields, optionally "tiling" (an object, or false) and "stretch". */
export function parseVariant(spec: string): Variant {
  const eq = spec.indexOf('=');
  if (eq < 0) {
    const o = BUILTIN_VARIANTS[spec];
    if (!o)
      throw new ConfigError(
        `unknown variant "${spec}" (built in: ${Object.keys(BUILTIN_VARIANTS).join(', ')}; or NAME={json})`,
      );
    return { name: spec, overrides: o, ...(spec === 'stretch' ? { stretch: true } : {}) };
  }
  const name = spec.slice(0, eq).trim();
  if (!name) throw new ConfigError(`variant "${spec}" has no name before "="`);
  let raw: unknown;
  try {
    raw = JSON.parse(spec.slice(eq + 1));
  } catch (e) {
    throw new ConfigError(`variant ${name}: not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`variant ${name}: give a JSON object`);
  const { tiling, stretch, ...config } = raw as { tiling?: TilingConfigInput | false; stretch?: unknown };
  if (stretch !== undefined && typeof stretch !== 'boolean')
    throw new ConfigError(`variant ${name}: "stretch" is true or false`);
  return {
    name,
    overrides: { config, ...(tiling !== undefined ? { tiling } : {}) },
    ...(stretch ? { stretch: true } : {}),
  };
}

export interface RealEvalOptions {
  dir: string;
  modelsFile: string;
  models: string[];
  variants: Variant[];
  /** Score thresholds: each variant runs once at the lowest, the others filter its detections (see below). Absent:
   * each model's own threshold. */
  scores?: number[];
  drawDir?: string;
  drawWidth?: number;
  /** Draw only these (model/variant/score labels); all when absent. */
  drawOnly?: string[];
  logger?: Logger;
  log?: (line: string) => void;
}

/** The label a drawn folder and --draw-only use: model_variant_score. */
export const runLabel = (model: string, variant: string, score: number) => `${model}_${variant}_${score}`;

export async function evaluateRealImages(o: RealEvalOptions): Promise<VariantResult[]> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const rows = readManifest(o.dir);
  const models: ModelsConfig = loadModelsConfig(o.modelsFile);
  if (o.scores && (!o.scores.length || o.scores.some((s) => !(s >= 0 && s <= 1)))) {
    throw new ConfigError(`scores must be between 0 and 1 (have ${o.scores.join(', ')})`);
  }
  const images = await Promise.all(
    rows.map(async (r) => ({ row: r, bytes: fs.readFileSync(path.join(o.dir, r.file)) })),
  );
  const decoded = await Promise.all(images.map(async (x) => ({ ...x, img: await decodeImage(x.bytes) })));
  const out: VariantResult[] = [];
  for (const name of o.models) {
    const model = findModel(models, name, o.modelsFile);
    const scores = [...new Set(o.scores ?? [model.scoreThreshold])].sort((a, b) => a - b);
    for (const v of o.variants) {
      // Thresholding after NMS and the tile merge keeps what thresholding before would (a box is only ever
      // suppressed by a better one), so one run at the lowest threshold serves every threshold.
      // Every class comes out (dropUnmapped off: bicycles and the like are reported, never counted as found);
      // dropping classes before class-wise NMS changes nothing for the classes kept.
      // With --scores every role is held to each score; without, the model's per-role thresholds apply as well.
      const own = { ...(v.overrides.config ?? {}) } as { roleScoreThresholds?: RoleScoreThresholds };
      const roleThresholds = o.scores ? undefined : (own.roleScoreThresholds ?? model.roleScoreThresholds);
      const config = {
        dropUnmapped: false,
        ...own,
        scoreThreshold: scores[0],
        roleScoreThresholds: roleThresholds,
      };
      const opened = await openDetector(model, o.logger ?? silentLogger, { ...v.overrides, config });
      const det = v.stretch ? new StretchDetector(opened) : opened;
      const perImage: { row: ManifestRow; dets: Detection[]; ms: number }[] = [];
      const byRole = !det.info.classNames.includes('car');
      try {
        await det.detect(decoded[0]!.img); // warm-up: the first run allocates
        for (const d of decoded) {
          const t0 = performance.now();
          const r = await det.detect(d.img);
          perImage.push({ row: d.row, dets: r.detections, ms: performance.now() - t0 });
        }
      } finally {
        await det.close();
      }
      for (const s of scores) {
        const imagesScored = perImage.map((p) =>
          scoreImage(
            p.row,
            p.dets.filter((d) => reachesThreshold(d, s, roleThresholds)),
            p.ms,
            byRole,
          ),
        );
        const res: VariantResult = {
          model: model.name,
          variant: v.name,
          score: s,
          overrides: v.overrides,
          images: imagesScored,
          totals: totals(imagesScored),
        };
        out.push(res);
        const label = runLabel(model.name, v.name, s);
        log(
          `${label}: car ${pct(res.totals.recall.car)}, motorcycle ${pct(res.totals.recall.motorcycle)}, person ${pct(res.totals.recall.person)}, excess ${res.totals.excessPerImage.toFixed(1)}/image, ${res.totals.msPerImage.toFixed(0)} ms/image`,
        );
        if (o.drawDir && (!o.drawOnly || o.drawOnly.includes(label))) {
          const to = path.join(o.drawDir, label);
          fs.mkdirSync(to, { recursive: true });
          for (const [i, p] of perImage.entries()) {
            const { row, bytes, img } = decoded[i]!;
            // Short enough for the narrowest image; the full source path is in the manifest and the docs.
            const caption = `${row.file} · ${row.source_repo} (${row.licence.replace(/\s*\(.*$/, '')}) · ${model.name} ${v.name}, score ≥ ${s}`;
            const jpg = await drawDetections(
              bytes,
              img.width,
              img.height,
              p.dets.filter((d) => reachesThreshold(d, s, roleThresholds) && d.role !== null),
              { maxWidth: o.drawWidth, quality: 80, caption },
            );
            fs.writeFileSync(path.join(to, `${path.basename(row.file, path.extname(row.file))}.jpg`), jpg);
          }
        }
      }
    }
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runMain('real-images', async () => {
    const { values } = parseArgs({
      options: {
        dir: { type: 'string', default: DEFAULT_DIR },
        models: { type: 'string', default: path.join(ROOT, 'config/models.json') },
        model: { type: 'string', multiple: true },
        variant: { type: 'string', multiple: true },
        scores: { type: 'string' },
        draw: { type: 'string' },
        'draw-width': { type: 'string', default: '1280' },
        'draw-only': { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        loo: { type: 'boolean', default: false },
        fixed: { type: 'string' },
      },
    });
    const list = (xs: string[] | undefined) =>
      (xs ?? [])
        .flatMap((x) => x.split(','))
        .map((x) => x.trim())
        .filter(Boolean);
    if (values.loo) {
      // Leave-one-photo-out over the grid declared in loo.ts (one model; variants and scores are the grid's).
      const { runLoo, looReport } = await import('./loo.js');
      const models = loadModelsConfig(path.resolve(values.models!));
      const run = await runLoo({
        dir: path.resolve(values.dir!),
        modelsFile: path.resolve(values.models!),
        model: values.model?.length ? list(values.model)[0]! : stillsModel(models),
        fixed: values.fixed === undefined ? undefined : list([values.fixed]),
      });
      process.stdout.write(`${looReport(run)}\n`);
      return;
    }
    const scores = values.scores === undefined ? undefined : values.scores.split(',').map((s) => Number(s));
    if (scores?.some((s) => !Number.isFinite(s)))
      throw new ConfigError(`--scores must be numbers, got "${values.scores}"`);
    const models = loadModelsConfig(path.resolve(values.models!));
    const names = values.model?.length ? list(values.model) : [stillsModel(models)];
    // Variant specs hold JSON with commas: only plain names are split on commas.
    const specs = values.variant?.length
      ? values.variant.flatMap((v) => (v.includes('=') ? [v] : list([v])))
      : ['configured'];
    const results = await evaluateRealImages({
      dir: path.resolve(values.dir!),
      modelsFile: path.resolve(values.models!),
      models: names,
      variants: specs.map(parseVariant),
      scores,
      drawDir: values.draw,
      drawWidth: Number(values['draw-width']),
      drawOnly: values['draw-only'] ? list(values['draw-only']) : undefined,
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(results, null, 1)}\n`);
      return;
    }
    const parts = [`## Summary (${path.resolve(values.dir!)})`, '', summaryTable(results), ''];
    for (const r of results)
      parts.push(`### ${r.model}, ${r.variant}, score ≥ ${r.score}`, '', imageTable(r.images), '');
    process.stdout.write(`${parts.join('\n')}\n`);
  });
}
