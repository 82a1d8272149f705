// `npm run detect -- [--model NAME] FILE... [--draw DIR] [--models FILE] [--score S] [--tile | --no-tile]`:
// runs a detector of the models file on image files (a city's own camera stills) and prints one JSON line per
// detection: file, class, role, score, box in the image's own pixels. --draw writes each image with its boxes.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ConfigError, runMain } from '../../runtime/config.js';
import type { Logger } from '../../runtime/log.js';
import { decodeImage, loadModelsConfig, type Detection, type Detector } from '../detectors/index.js';
import { drawDetections } from './draw.js';
import { findModel, openDetector, stillsModel, type ModelOverrides } from './model.js';

export interface DetectOptions {
  files: string[];
  modelsFile: string;
  model?: string;
  /** Score threshold for this run (the model's own when absent). */
  score?: number;
  /** true: tile (the model's tiling settings, else the defaults); false: never; absent: as the model says. */
  tile?: boolean;
  /** Write each image with its boxes drawn here (same name, .jpg). */
  drawDir?: string;
  /** Print only detections with a role (vehicle, stall, person). */
  rolesOnly?: boolean;
  out?: (line: string) => void;
  err?: (line: string) => void;
  logger?: Logger;
}

export interface DetectLine {
  file: string;
  class: string;
  role: string | null;
  score: number;
  box: [number, number, number, number];
}

export interface DetectSummary {
  files: number;
  detections: number;
  /** Files that could not be read as images. */
  failed: string[];
}

const r1 = (v: number) => Math.round(v * 10) / 10;

/** Counts by class, most first: "car 5, person 3". */
export function countByClass(dets: readonly Detection[]): string {
  const n = new Map<string, number>();
  for (const d of dets) n.set(d.className, (n.get(d.className) ?? 0) + 1);
  return [...n]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([c, k]) => `${c} ${k}`)
    .join(', ');
}

export async function runDetect(o: DetectOptions): Promise<DetectSummary> {
  const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = o.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (o.files.length === 0) throw new ConfigError('give one or more image files');
  // Every file is checked before the model loads: a typo should not cost a model load.
  for (const f of o.files) {
    let st: fs.Stats;
    try {
      st = fs.statSync(f);
    } catch {
      throw new ConfigError(`no such file: ${f}`);
    }
    if (!st.isFile()) throw new ConfigError(`not a file: ${f}`);
  }
  if (o.score !== undefined && !(o.score >= 0 && o.score <= 1))
    throw new ConfigError(`--score must be between 0 and 1, got ${o.score}`);
  const models = loadModelsConfig(o.modelsFile);
  const model = findModel(models, o.model ?? stillsModel(models), o.modelsFile);
  const overrides: ModelOverrides = {
    // --score holds every role to it: the model's per-role thresholds are off for the run.
    config: o.score === undefined ? {} : { scoreThreshold: o.score, roleScoreThresholds: undefined },
    tiling: o.tile === undefined ? undefined : o.tile ? { enabled: true } : false,
  };
  if (o.drawDir) fs.mkdirSync(o.drawDir, { recursive: true });
  const det: Detector = await openDetector(model, o.logger ?? silentStderr(), overrides);
  const summary: DetectSummary = { files: 0, detections: 0, failed: [] };
  try {
    for (const file of o.files) {
      const bytes = fs.readFileSync(file);
      const t0 = performance.now();
      let img;
      try {
        img = await decodeImage(bytes);
      } catch (e) {
        err(`${file}: not an image this tool reads (JPEG, PNG, WebP): ${(e as Error).message}`);
        summary.failed.push(file);
        continue;
      }
      const r = await det.detect(img);
      const ms = performance.now() - t0;
      const dets = o.rolesOnly ? r.detections.filter((d) => d.role !== null) : r.detections;
      for (const d of dets) {
        const line: DetectLine = {
          file,
          class: d.className,
          role: d.role,
          score: Math.round(d.score * 1000) / 1000,
          box: [r1(d.box[0]), r1(d.box[1]), r1(d.box[2]), r1(d.box[3])],
        };
        out(JSON.stringify(line));
      }
      summary.files++;
      summary.detections += dets.length;
      let drawn = '';
      if (o.drawDir) {
        const to = path.join(o.drawDir, `${path.basename(file, path.extname(file))}.jpg`);
        fs.writeFileSync(to, await drawDetections(bytes, img.width, img.height, dets));
        drawn = ` → ${to}`;
      }
      err(
        `${file} ${img.width}x${img.height}: ${dets.length} detection${dets.length === 1 ? '' : 's'}${dets.length ? ` (${countByClass(dets)})` : ''} in ${ms.toFixed(0)} ms${drawn}`,
      );
    }
  } finally {
    await det.close();
  }
  return summary;
}

/** Warnings (e.g. class names that differ) to stderr: stdout is the JSON lines. */
function silentStderr(): Logger {
  return pino({ name: 'detect', level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runMain('detect', async () => {
    let parsed;
    try {
      parsed = parseArgs({
        allowPositionals: true,
        options: {
          model: { type: 'string' },
          models: { type: 'string', default: 'config/models.json' },
          score: { type: 'string' },
          tile: { type: 'boolean' },
          'no-tile': { type: 'boolean' },
          draw: { type: 'string' },
          'roles-only': { type: 'boolean', default: false },
        },
      });
    } catch (e) {
      throw new ConfigError(
        `${(e as Error).message}\nusage: npm run detect -- [--model NAME] [--models config/models.json] [--score S] [--tile|--no-tile] [--draw DIR] [--roles-only] FILE...`,
      );
    }
    const { values, positionals } = parsed;
    if (values.tile && values['no-tile']) throw new ConfigError('--tile and --no-tile together');
    const score = values.score === undefined ? undefined : Number(values.score);
    if (score !== undefined && !Number.isFinite(score))
      throw new ConfigError(`--score must be a number, got "${values.score}"`);
    const s = await runDetect({
      files: positionals,
      modelsFile: path.resolve(values.models!),
      model: values.model,
      score,
      tile: values.tile ? true : values['no-tile'] ? false : undefined,
      drawDir: values.draw,
      rolesOnly: values['roles-only'],
    });
    if (s.failed.length) process.exitCode = 1;
  });
}
