// The yolo plugin on tiny ONNX models whose output is a known constant (testdata/make_models.py), so each test
// knows exactly which boxes must come out, where, and with which role.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/log.js';
import {
  createDetector,
  loadModelsConfig,
  modelFor,
  type Detector,
  type ModelConfigInput,
  type RawImage,
} from './index.js';

const testdata = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');
const model = (f: string) => path.join(testdata, f);
const grey = (width: number, height: number): RawImage => ({
  data: Buffer.alloc(width * height * 3, 90),
  width,
  height,
  channels: 3,
});
const round = (b: number[]) => b.map((v) => Math.round(v * 100) / 100);

const open: Detector[] = [];
async function detector(cfg: Partial<ModelConfigInput> & { path: string }): Promise<Detector> {
  const d = await createDetector({ name: 'test', family: 'yolo', threads: 1, ...cfg }, silentLogger);
  open.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(open.map((d) => d.close()));
});

describe('yolo detector on an Ultralytics-layout model', () => {
  it('reads names, input size and letterbox from the metadata', async () => {
    const d = await detector({ path: model('yolo-v8.onnx') });
    expect(d.info).toMatchObject({
      family: 'yolo',
      inputWidth: 96,
      inputHeight: 64,
      classNames: ['vehicle', 'stall', 'person'],
      metadata: { letterbox: 'center,114', task: 'detect' },
    });
    expect(d.info.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("gives boxes in a wide frame's pixels, with class-wise NMS and roles", async () => {
    const d = await detector({ path: model('yolo-v8.onnx') });
    // 192x64 → 96x32 at top 16, scale 0.5
    const r = await d.detect(grey(192, 64));
    expect(r.detections.map((x) => [x.className, x.role, +x.score.toFixed(2), round(x.box)])).toEqual([
      ['vehicle', 'vehicle', 0.9, [56, 12, 136, 52]],
      ['stall', 'stall', 0.7, [56, 12, 136, 52]], // same place, another class: NMS keeps it
      ['person', 'person', 0.6, [30, 32, 50, 64]],
      ['vehicle', 'vehicle', 0.36, [132, 60, 148, 64]], // clipped at the bottom edge
    ]);
    expect(r.timings.inferenceMs).toBeGreaterThanOrEqual(0);
    expect(r.timings.preprocessMs).toBeGreaterThanOrEqual(0);
    expect(r.timings.postprocessMs).toBeGreaterThanOrEqual(0);
  });

  it("gives boxes in a tall frame's pixels and drops boxes that lie in the padding", async () => {
    const d = await detector({ path: model('yolo-v8.onnx') });
    // 32x128 → 16x64 at left 40, scale 0.5: the person and the small vehicle are in the padding
    const r = await d.detect(grey(32, 128));
    expect(r.detections.map((x) => [x.className, round(x.box)])).toEqual([
      ['vehicle', [0, 44, 32, 84]],
      ['stall', [0, 44, 32, 84]],
    ]);
  });

  it('passes a frame of the input size through unchanged, and frames of other sizes one after another', async () => {
    const d = await detector({ path: model('yolo-v8.onnx'), scoreThreshold: 0.5 });
    const [a, b, c] = await Promise.all([d.detect(grey(96, 64)), d.detect(grey(192, 64)), d.detect(grey(96, 64))]);
    expect(a!.detections.map((x) => round(x.box))).toEqual([
      [28, 22, 68, 42],
      [28, 22, 68, 42],
      [15, 32, 25, 48],
    ]);
    expect(b!.detections[0]!.box).toEqual([56, 12, 136, 52]);
    expect(c).toEqual({ ...a, timings: c!.timings });
  });

  it('refuses to detect once closed', async () => {
    const d = await createDetector(
      { name: 'closing', family: 'yolo', path: model('yolo-v8.onnx'), threads: 1 },
      silentLogger,
    );
    await d.close();
    await expect(d.detect(grey(96, 64))).rejects.toThrow(/detector closing is closed/);
    await d.close(); // twice is harmless
  });

  it('reads the transposed layout and a names list', async () => {
    const d = await detector({ path: model('yolo-transposed.onnx') });
    const r = await d.detect(grey(192, 64));
    expect(r.detections.map((x) => x.className)).toEqual(['vehicle', 'stall', 'person', 'vehicle']);
    expect(r.detections[0]!.box).toEqual([56, 12, 136, 52]);
  });

  it('reads a YOLOv5 export (objectness row), input size from its fixed input shape', async () => {
    const d = await detector({ path: model('yolo-v5.onnx') });
    const r = await d.detect(grey(96, 64));
    expect(r.detections.map((x) => [x.className, +x.score.toFixed(2)])).toEqual([
      ['vehicle', 0.9],
      ['stall', 0.7],
      ['person', 0.6],
      ['vehicle', 0.36],
    ]);
  });

  it('applies thresholds and maxDetections from the config', async () => {
    const d = await detector({ path: model('yolo-v8.onnx'), scoreThreshold: 0.1, maxDetections: 2 });
    expect((await d.detect(grey(96, 64))).detections.map((x) => x.score.toFixed(2))).toEqual(['0.90', '0.70']);
    const loose = await detector({
      path: model('yolo-v8.onnx'),
      scoreThreshold: 0.1,
      iouThreshold: 0.95,
      roleMergeIou: 1,
    });
    expect((await loose.detect(grey(96, 64))).detections).toHaveLength(6); // B survives, E is above 0.1
  });
});

describe('yolo detector on a COCO model with a dynamic input', () => {
  it('takes the size from imgsz, maps COCO names to roles, and can drop unmapped classes', async () => {
    const d = await detector({ path: model('yolo-coco-dynamic.onnx') });
    expect(d.info).toMatchObject({ inputWidth: 96, inputHeight: 64 });
    expect(d.info.classNames).toHaveLength(80);
    const r = await d.detect(grey(96, 64));
    expect(r.detections.map((x) => [x.className, x.role])).toEqual([
      ['car', 'vehicle'],
      ['dining table', 'stall'],
      ['person', 'person'],
      ['bicycle', 'two-wheeler'],
    ]);
    const only = await detector({
      path: model('yolo-coco-dynamic.onnx'),
      dropUnmapped: true,
      roles: { person: null, bicycle: 'vehicle' },
    });
    expect((await only.detect(grey(96, 64))).detections.map((x) => [x.className, x.role])).toEqual([
      ['car', 'vehicle'],
      ['dining table', 'stall'],
      ['bicycle', 'vehicle'],
    ]);
  });

  it('takes a configured input size that is a multiple of the stride', async () => {
    const d = await detector({ path: model('yolo-coco-dynamic.onnx'), inputWidth: 128, inputHeight: 96 });
    expect(d.info).toMatchObject({ inputWidth: 128, inputHeight: 96 });
    await expect(detector({ path: model('yolo-coco-dynamic.onnx'), inputWidth: 100, inputHeight: 64 })).rejects.toThrow(
      /multiples of the model's stride 32/,
    );
  });
});

describe('refusals', () => {
  const refused = async (cfg: Partial<ModelConfigInput> & { path: string }, why: RegExp) => {
    const e = await detector(cfg).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toMatch(why);
  };

  it('a missing model file, naming the path and what to do', async () => {
    const p = path.join(os.tmpdir(), 'no-such-dir', 'city-detector.onnx');
    await refused(
      { path: p },
      new RegExp(`detector model "test": ${p.replace(/[.]/g, '\\.')} does not exist; put the .onnx file there`),
    );
  });

  it('a folder, an empty file, a file that is not ONNX, a Git LFS pointer', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-det-'));
    await refused({ path: dir }, /is a folder/);
    fs.writeFileSync(path.join(dir, 'empty.onnx'), '');
    await refused({ path: path.join(dir, 'empty.onnx') }, /is empty/);
    fs.writeFileSync(path.join(dir, 'model.pt'), Buffer.from('PK\x03\x04 a pytorch checkpoint, not onnx'));
    await refused({ path: path.join(dir, 'model.pt') }, /is not an ONNX model/);
    fs.writeFileSync(
      path.join(dir, 'lfs.onnx'),
      'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n',
    );
    await refused({ path: path.join(dir, 'lfs.onnx') }, /Git LFS pointer/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an output that is not a YOLO layout, saying what was found', async () => {
    await refused(
      { path: model('not-yolo.onnx') },
      /output "output0" has shape \[1, 10\], not a YOLO layout for 1 classes: expected \[1, 5, anchors\]/,
    );
  });

  it('class names that do not fit the output', async () => {
    await refused(
      { path: model('yolo-v8.onnx'), classes: ['car', 'bus'] },
      /shape \[1, 7, 9\], not a YOLO layout for 2 classes/,
    );
  });

  it('a model without names unless the config lists them', async () => {
    await refused(
      { path: model('yolo-no-names.onnx') },
      /has no class names in its metadata \(key "names"\); list them in "classes"/,
    );
    const d = await detector({ path: model('yolo-no-names.onnx'), classes: ['car', 'umbrella', 'person'] });
    expect((await d.detect(grey(96, 64))).detections.map((x) => x.role)).toEqual([
      'vehicle',
      'stall',
      'person',
      'vehicle',
    ]);
  });

  it('an input size that contradicts the model, and bad settings', async () => {
    await refused(
      { path: model('yolo-v8.onnx'), inputWidth: 640, inputHeight: 640 },
      /differ from the model's fixed input 96x64/,
    );
    await refused(
      { path: model('yolo-v8.onnx'), inputWidth: 640 },
      /inputWidth: give inputWidth and inputHeight together/,
    );
    await refused({ path: model('yolo-v8.onnx'), scoreThreshold: 2 }, /scoreThreshold/);
    await refused({ path: model('yolo-v8.onnx'), roles: { car: 'parking' as never } }, /roles\.car/);
  });
});

describe('models file', () => {
  it('resolves paths against the file, picks the default, and names a missing model', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'city-models-'));
    const file = path.join(dir, 'models.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        default: 'coco',
        models: [
          { name: 'city', path: 'city.onnx', family: 'yolo' },
          { name: 'coco', path: '/m/coco.onnx', family: 'yolo', roles: { bench: null } },
        ],
      }),
    );
    const m = loadModelsConfig(file);
    expect(m.models[0]).toMatchObject({
      path: path.join(dir, 'city.onnx'),
      scoreThreshold: 0.35,
      iouThreshold: 0.5,
      maxDetections: 300,
      threads: 2,
    });
    expect(m.models[0]!.roles).toMatchObject({
      car: 'vehicle',
      'dining table': 'stall',
      person: 'person',
      vehicle: 'vehicle',
    });
    expect(modelFor(m, undefined).name).toBe('coco');
    expect(modelFor(m, undefined).roles.bench).toBeNull();
    expect(modelFor(m, 'city').name).toBe('city');
    expect(() => modelFor(m, 'yolo11')).toThrow(/no detector model is named "yolo11"/);
    fs.writeFileSync(file, JSON.stringify({ models: [{ name: 'a', path: 'a.onnx', family: 'ssd' }] }));
    expect(() => loadModelsConfig(file)).toThrow(/models\.0\.family/);
    fs.writeFileSync(
      file,
      JSON.stringify({
        default: 'x',
        fixedCamera: 'y',
        models: [
          { name: 'a', path: 'a.onnx', family: 'yolo' },
          { name: 'a', path: 'b.onnx', family: 'yolo' },
        ],
      }),
    );
    expect(() => loadModelsConfig(file)).toThrow(
      /models\.1\.name: model name "a" is used twice\n {2}- default: no model is named "x".*\n {2}- fixedCamera: no model is named "y"/,
    );
    expect(() => loadModelsConfig(path.join(dir, 'nope.json'))).toThrow(/does not exist/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('accepts the sample models file', () => {
    const m = loadModelsConfig(path.join(testdata, '..', 'models.sample.json'));
    expect(m.default).toBe('city');
    expect(modelFor(m, undefined).path).toBe(path.join(testdata, '..', '..', 'model', 'city-detector.onnx'));
  });
});
