// The nanodet plugin with the committed COCO model (vision/model/coco/nanodet.onnx) on a real street photo
// (vision/model/coco/testdata): metadata, roles, boxes in the frame's pixels, and refusals.
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
const MODEL = path.join(here, '../model/coco/nanodet.onnx');
const PHOTO = path.join(here, '../model/coco/testdata/dhaka-street-crop.jpg'); // 640x360
const testdata = (f: string) => path.join(here, 'testdata', f);

const open: Detector[] = [];
async function detector(cfg: Partial<ModelConfigInput> = {}): Promise<Detector> {
  const d = await createDetector(
    { name: 'coco-nanodet', family: 'nanodet', path: MODEL, threads: 1, scoreThreshold: 0.3, ...cfg },
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

/** The man in the white shirt in front of the cycle rickshaws: his box holds this point in the 640x360 photo. */
const RICKSHAW_MAN = [264, 130];
const holds = (d: Detection, [x, y]: number[], k = 1) =>
  d.box[0] <= x! * k && d.box[2] >= x! * k && d.box[1] <= y! * k && d.box[3] >= y! * k;

describe('nanodet detector on the COCO model', () => {
  it('reads names, input size, strides and normalisation from the metadata', async () => {
    const d = await detector();
    expect(d.info).toMatchObject({ family: 'nanodet', inputWidth: 416, inputHeight: 416 });
    expect(d.info.classNames).toHaveLength(80);
    expect(d.info.metadata).toMatchObject({ family: 'nanodet', layout: 'NCHW', strides: '[8, 16, 32]', reg_max: '10' });
    expect(JSON.parse(d.info.metadata.normalisation!)).toMatchObject({ channels: 'bgr' });
    expect(d.info.metadata.licence).toMatch(/Apache-2\.0/);
  });

  it('finds people and vehicles in a street photo, with their roles, boxes inside the frame', async () => {
    const d = await detector();
    const { detections } = await d.detect(photo);
    expect(detections.length).toBeGreaterThan(5);
    expect(detections.some((x) => x.className === 'person' && x.role === 'person' && holds(x, RICKSHAW_MAN))).toBe(
      true,
    );
    expect(detections.some((x) => ['car', 'bus'].includes(x.className) && x.role === 'vehicle')).toBe(true);
    for (const x of detections) {
      expect(x.box[0]).toBeGreaterThanOrEqual(0);
      expect(x.box[2]).toBeLessThanOrEqual(640);
      expect(x.box[3]).toBeLessThanOrEqual(360);
    }
  });

  it('gives boxes in the pixels of the frame it is given (the letterbox undone)', async () => {
    const d = await detector();
    const small = (await d.detect(photo)).detections.find((x) => x.className === 'person' && holds(x, RICKSHAW_MAN))!;
    const big = (await d.detect(photo2x)).detections.find(
      (x) => x.className === 'person' && holds(x, RICKSHAW_MAN, 2),
    )!;
    expect(big).toBeDefined();
    big.box.forEach((v, i) => expect(Math.abs(v - 2 * small.box[i]!)).toBeLessThan(8));
  });

  it('keeps only classes with a role with dropUnmapped', async () => {
    const d = await detector({ dropUnmapped: true });
    const { detections } = await d.detect(photo);
    expect(detections.length).toBeGreaterThan(0);
    expect(detections.every((x) => x.role !== null)).toBe(true);
  });

  it('is what the shipped models config calls "coco-nanodet"', async () => {
    const cfg = modelFor(loadModelsConfig(path.join(here, '../../config/models.json')), 'coco-nanodet');
    expect(cfg).toMatchObject({ family: 'nanodet', path: MODEL });
  });
});

describe('nanodet detector refusals (ConfigError naming the file)', () => {
  const refuse = async (cfg: Partial<ModelConfigInput>, message: RegExp) => {
    const err = await detector(cfg).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
  };

  it('a missing file', async () => {
    await refuse({ path: '/nonexistent/nanodet.onnx' }, /\/nonexistent\/nanodet\.onnx does not exist/);
  });

  it('an input size the fixed model does not take', async () => {
    await refuse({ inputWidth: 640, inputHeight: 384 }, /640x384 differ from the model's fixed input 416x416/);
  });

  it('a model whose metadata names another family', async () => {
    await refuse({ path: path.join(here, '../model/coco/centernet.onnx') }, /centernet\.onnx is a centernet model/);
  });

  it('a model without per-stride scores and box distributions (a YOLO export)', async () => {
    await refuse(
      { path: testdata('yolo-v8.onnx') },
      /yolo-v8\.onnx is not a NanoDet model for 3 classes at 96x64 \(nothing for stride 8\)/,
    );
  });
});
