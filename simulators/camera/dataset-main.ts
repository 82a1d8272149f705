// Writes a YOLO detection dataset from simulated street scenes.
//   npx tsx simulators/camera/dataset-main.ts --out DIR --seeds 1-200 --frames-per-seed 20 --imgsz 640
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { ConfigError, runMain } from '../../runtime/config.js';
import { parseSeedList, writeDataset } from './dataset.js';

const USAGE = `usage: dataset-main.ts --out DIR --seeds 1-200 [--frames-per-seed 20] [--imgsz 640] [--resize]
       [--families 0,1,2] [--val-fraction 0.1 | --val-seeds 181-200] [--width 1280 --height 720]
       [--min-visible 0.3] [--resume] [--allow-eval-seeds]`;

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ConfigError(`--${name} must be a number, got "${v}"\n${USAGE}`);
  return n;
}

runMain('camera-dataset', async () => {
  // One libvips thread: the machines are small and shared, and frames are rendered one after another anyway.
  sharp.concurrency(1);
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        out: { type: 'string' },
        seeds: { type: 'string' },
        'frames-per-seed': { type: 'string' },
        imgsz: { type: 'string' },
        resize: { type: 'boolean', default: false },
        families: { type: 'string' },
        layouts: { type: 'string' },
        'val-fraction': { type: 'string' },
        'val-seeds': { type: 'string' },
        width: { type: 'string' },
        height: { type: 'string' },
        'min-visible': { type: 'string' },
        resume: { type: 'boolean', default: false },
        'allow-eval-seeds': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!v.out || !v.seeds) throw new ConfigError(`--out and --seeds are required\n${USAGE}`);
  const families = v.families ?? v.layouts;
  const summary = await writeDataset(
    {
      out: v.out,
      seeds: parseSeedList(v.seeds),
      framesPerSeed: num('frames-per-seed', v['frames-per-seed']),
      imgsz: num('imgsz', v.imgsz),
      resize: v.resize,
      families: families ? parseSeedList(families) : undefined,
      valFraction: num('val-fraction', v['val-fraction']),
      valSeeds: v['val-seeds'] ? parseSeedList(v['val-seeds']) : undefined,
      width: num('width', v.width),
      height: num('height', v.height),
      minVisible: num('min-visible', v['min-visible']),
      resume: v.resume,
      allowEvalSeeds: v['allow-eval-seeds'],
    },
    (msg) => process.stderr.write(`${msg}\n`),
  );
  process.stderr.write(
    `done in ${(summary.ms / 1000).toFixed(0)} s: ${summary.images.train} train + ${summary.images.val} val images; boxes ${JSON.stringify(summary.boxes)}, ${summary.ignored} ignored (hidden or tiny)\n`,
  );
  process.stdout.write(`${JSON.stringify({ out: v.out, ...summary })}\n`);
});
