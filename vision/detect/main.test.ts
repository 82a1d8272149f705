// The detect CLI on the fixed-output test model of vision/detectors/testdata: JSON lines, the per-file summary,
// drawn images, overrides and the errors a user meets.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/log.js';
import { loadModelsConfig } from '../detectors/index.js';
import { runDetect, type DetectLine, type DetectOptions } from './main.js';
import { stillsModel } from './model.js';

const testdata = path.join(path.dirname(fileURLToPath(import.meta.url)), '../detectors/testdata');
let dir: string;
let modelsFile: string;
let still: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'detect-test-'));
  modelsFile = path.join(dir, 'models.json');
  fs.writeFileSync(
    modelsFile,
    JSON.stringify({
      default: 'fixed',
      models: [
        { name: 'fixed', path: path.join(testdata, 'yolo-v8.onnx'), family: 'yolo', threads: 1 },
        { name: 'coco-fixed', path: path.join(testdata, 'yolo-coco-dynamic.onnx'), family: 'yolo', threads: 1 },
      ],
    }),
  );
  // 192x64: the model (96x64 input) sees it scaled by 0.5, letterboxed at top 16.
  still = path.join(dir, 'still.png');
  await sharp({ create: { width: 192, height: 64, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .png()
    .toFile(still);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(o: Partial<DetectOptions>) {
  const out: string[] = [];
  const err: string[] = [];
  const summary = await runDetect({
    files: [still],
    modelsFile,
    logger: silentLogger,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    ...o,
  });
  return { lines: out.map((l) => JSON.parse(l) as DetectLine), err, summary };
}

describe('detect CLI', () => {
  it("prints one JSON line per detection with the box in the image's pixels, and a summary per file", async () => {
    const { lines, err, summary } = await run({});
    expect(lines).toEqual([
      { file: still, class: 'vehicle', role: 'vehicle', score: 0.9, box: [56, 12, 136, 52] },
      { file: still, class: 'stall', role: 'stall', score: 0.7, box: [56, 12, 136, 52] },
      { file: still, class: 'person', role: 'person', score: 0.6, box: [30, 32, 50, 64] },
      { file: still, class: 'vehicle', role: 'vehicle', score: 0.36, box: [132, 60, 148, 64] },
    ]);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/still\.png 192x64: 4 detections \(vehicle 2, person 1, stall 1\) in \d+ ms$/);
    expect(summary).toEqual({ files: 1, detections: 4, failed: [] });
  });

  it('takes the model by name, a score threshold, and prints only role classes when asked', async () => {
    const strict = await run({ score: 0.65 });
    expect(strict.lines.map((l) => l.score)).toEqual([0.9, 0.7]);
    const coco = await run({ model: 'coco-fixed', rolesOnly: true });
    // COCO's bicycle and motorcycle have the two-wheeler role (non-motor vehicle parking zones).
    expect(coco.lines.map((l) => [l.class, l.role])).toEqual([
      ['car', 'vehicle'],
      ['dining table', 'stall'],
      ['person', 'person'],
      ['bicycle', 'two-wheeler'],
    ]);
  });

  it('draws the boxes on a copy of each image', async () => {
    const drawDir = path.join(dir, 'drawn');
    const { err } = await run({ drawDir });
    const drawn = path.join(drawDir, 'still.jpg');
    expect(err[0]).toContain(`→ ${drawn}`);
    const meta = await sharp(drawn).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 192, 64]);
    // The vehicle's box edge is drawn in the vehicle colour (blue) where the grey frame was.
    const { data, info } = await sharp(drawn).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    const [r, , b] = px(96, 52);
    expect(b! - r!).toBeGreaterThan(80);
    expect(px(180, 30).every((v) => Math.abs(v - 90) < 12)).toBe(true);
  });

  it('tiles on request: the same objects from a bigger still, still once each', async () => {
    const big = path.join(dir, 'big.png');
    await sharp({ create: { width: 480, height: 160, channels: 3, background: { r: 90, g: 90, b: 90 } } })
      .png()
      .toFile(big);
    const whole = await run({ files: [big], tile: false });
    expect(whole.lines.map((l) => l.box)).toEqual([
      [140, 30, 340, 130],
      [140, 30, 340, 130],
      [75, 80, 125, 160],
      [330, 150, 370, 160],
    ]);
    // The fixed model answers every tile with the same boxes: the tiled run finds more, and more calls were made.
    const tiled = await run({ files: [big], tile: true });
    expect(tiled.lines.length).toBeGreaterThan(whole.lines.length);
  });

  it('goes on past a file that is not an image, and reports it', async () => {
    const bad = path.join(dir, 'notes.jpg');
    fs.writeFileSync(bad, 'not a jpeg');
    const { err, summary } = await run({ files: [bad, still] });
    expect(err[0]).toMatch(/notes\.jpg: not an image this tool reads/);
    expect(summary).toMatchObject({ files: 1, failed: [bad] });
  });

  it('refuses a missing file and an unknown model with a clear message', async () => {
    await expect(run({ files: [path.join(dir, 'nope.jpg')] })).rejects.toThrow(
      new ConfigError(`no such file: ${path.join(dir, 'nope.jpg')}`),
    );
    await expect(run({ model: 'yolov99' })).rejects.toThrow(
      /no model is named "yolov99" in .*models\.json \(have: fixed, coco-fixed\)/,
    );
    await expect(run({ files: [] })).rejects.toThrow(/give one or more image files/);
    await expect(run({ score: 2 })).rejects.toThrow(/--score must be between 0 and 1/);
  });

  it('without --model takes "coco" (the real-camera model) when the models file has one, else its default', () => {
    expect(
      stillsModel(
        loadModelsConfig(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../config/models.json')),
      ),
    ).toBe('coco');
    expect(stillsModel(loadModelsConfig(modelsFile))).toBe('fixed');
  });
});
