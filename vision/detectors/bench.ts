// Per-frame latency of a detector, split into JPEG decode, preprocessing (letterbox), inference and
// postprocessing (decode, NMS), and the frames per second one worker reaches. Tracking is timed by the vision
// worker's own figures.
//   npx tsx vision/detectors/bench.ts [--model vision/model/city-detector.onnx] [--images DIR] [--frames 50] [--threads 2]
// Without a model file it measures only this runtime's own work around inference, at Ultralytics' 640x640 with a
// [1, 84, 8400] output: what preprocessing and decoding cost whatever the model.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { runMain } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/log.js';
import { plateScene } from '../ocr/synthetic.js';
import { decodeImage } from './image.js';
import { createDetector } from './index.js';
import { LetterboxInput } from './letterbox.js';
import { YoloDecoder, yoloLayout } from './yolo-decode.js';

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return {
    mean: +(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2),
    p50: +q(0.5).toFixed(2),
    p95: +q(0.95).toFixed(2),
  };
};

async function frames(dir: string | undefined): Promise<Buffer[]> {
  if (dir) {
    const files = fs
      .readdirSync(dir)
      .filter((f) => /\.(jpe?g|png)$/i.test(f))
      .sort();
    if (files.length === 0) throw new Error(`no .jpg or .png files in ${dir}`);
    return files.map((f) => fs.readFileSync(path.join(dir, f)));
  }
  const out: Buffer[] = [];
  for (const [i, colour] of ['#b03030', '#d0d0d0', '#1a45b0', '#303030'].entries()) {
    out.push((await plateScene({ text: `苏A·${i}K52L`, carColour: colour, plateWidth: 90 + i * 10 })).jpeg);
  }
  return out;
}

async function main() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      images: { type: 'string' },
      frames: { type: 'string', default: '50' },
      threads: { type: 'string', default: '2' },
    },
  });
  const n = Number(values.frames);
  const jpegs = await frames(values.images);
  const defaultModel = path.resolve('vision/model/city-detector.onnx');
  const model = values.model ?? (fs.existsSync(defaultModel) ? defaultModel : undefined);
  const t: Record<'decodeMs' | 'preprocessMs' | 'inferenceMs' | 'postprocessMs' | 'totalMs', number[]> = {
    decodeMs: [],
    preprocessMs: [],
    inferenceMs: [],
    postprocessMs: [],
    totalMs: [],
  };
  let info: Record<string, unknown>;
  let detections = 0;

  if (model) {
    const det = await createDetector(
      { name: 'bench', path: model, family: 'yolo', threads: Number(values.threads) },
      silentLogger,
    );
    info = {
      model,
      sha256: det.info.sha256.slice(0, 12),
      input: `${det.info.inputWidth}x${det.info.inputHeight}`,
      classes: det.info.classNames,
      threads: Number(values.threads),
    };
    await det.detect(await decodeImage(jpegs[0]!)); // warm-up
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const img = await decodeImage(jpegs[i % jpegs.length]!);
      const t1 = performance.now();
      const r = await det.detect(img);
      const t2 = performance.now();
      detections += r.detections.length;
      t.decodeMs.push(t1 - t0);
      t.preprocessMs.push(r.timings.preprocessMs);
      t.inferenceMs.push(r.timings.inferenceMs);
      t.postprocessMs.push(r.timings.postprocessMs);
      t.totalMs.push(t2 - t0);
    }
    await det.close();
  } else {
    // No model: the runtime's own work around inference at YOLOv8's usual 640x640, 80 classes, 8400 anchors.
    const input = new LetterboxInput(640, 640, { position: 'centre', pad: 114 });
    const layout = yoloLayout([1, 84, 8400], 80)!;
    const out = new Float32Array(84 * 8400);
    let seed = 1;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 8400; i++) {
      out[i] = rnd() * 640;
      out[8400 + i] = rnd() * 640;
      out[2 * 8400 + i] = 10 + rnd() * 100;
      out[3 * 8400 + i] = 10 + rnd() * 100;
      for (let c = 0; c < 80; c++) out[(4 + c) * 8400 + i] = rnd() * 0.05;
      // About 3% of anchors see an object (a few hundred candidates, as a busy street gives), in a few classes.
      if (rnd() < 0.03) out[(4 + Math.floor(rnd() * 8)) * 8400 + i] = 0.3 + rnd() * 0.7;
    }
    const dec = new YoloDecoder({ scoreThreshold: 0.35, iouThreshold: 0.5, maxDetections: 300 });
    info = {
      model: null,
      note: 'no model file: letterbox to 640x640 and decoding a [1, 84, 8400] output, inference not included',
    };
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const img = await decodeImage(jpegs[i % jpegs.length]!);
      const t1 = performance.now();
      await input.fill(img);
      const t2 = performance.now();
      detections += dec.decode(out, layout).length;
      const t3 = performance.now();
      t.decodeMs.push(t1 - t0);
      t.preprocessMs.push(t2 - t1);
      t.inferenceMs.push(0);
      t.postprocessMs.push(t3 - t2);
      t.totalMs.push(t3 - t0);
    }
  }
  const total = stats(t.totalMs);
  process.stdout.write(
    JSON.stringify(
      {
        ...info,
        frames: n,
        frameSize: `${(await decodeImage(jpegs[0]!)).width}x${(await decodeImage(jpegs[0]!)).height}`,
        detectionsPerFrame: +(detections / n).toFixed(1),
        decode: stats(t.decodeMs),
        preprocess: stats(t.preprocessMs),
        inference: stats(t.inferenceMs),
        postprocess: stats(t.postprocessMs),
        total,
        framesPerSecond: +(1000 / total.mean).toFixed(1),
      },
      null,
      1,
    ) + '\n',
  );
}

runMain('detector-bench', main);
