// The `yolo` family: Ultralytics exports (YOLOv8 and later, `yolo export format=onnx`), YOLOv5 exports and our own
// city detector (vision/model), all on onnxruntime-node. Class names, input size and letterbox come from the
// model's metadata unless the config says otherwise.
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { ConfigError } from '../../runtime/config.js';
import type { Logger } from '../../runtime/log.js';
import type { Letterbox, ModelConfig } from './config.js';
import { LetterboxInput, unletterbox } from './letterbox.js';
import { classNamesOf, imageInputOf, letterboxOf, loadedDetectorInfo, openOnnxSession, readOnnxModelFile } from './onnx-model.js';
import type { DetectResult, Detection, Detector, DetectorInfo, RawImage, Role } from './types.js';
import { YoloDecoder, yoloLayout, type YoloLayout } from './yolo-decode.js';

const DEFAULT_LETTERBOX: Letterbox = { position: 'centre', pad: 114 };

export async function createYoloDetector(cfg: ModelConfig, logger: Logger): Promise<Detector> {
  const what = `detector model "${cfg.name}"`;
  const file = readOnnxModelFile(cfg.path, what);
  const md = file.meta.metadata;
  const classNames = classNamesOf(cfg, file, what, logger);
  const letterbox = letterboxOf(cfg, md, what, DEFAULT_LETTERBOX);
  if (md.normalize !== undefined && md.normalize.replace(/\s/g, '') !== '0..1') {
    throw new ConfigError(`${what}: the model expects input normalised as "${md.normalize}"; the yolo family feeds RGB 0..1`);
  }

  const session = await openOnnxSession(file, what, cfg.threads);
  try {
    const { inputName, width, height } = imageInputOf(cfg, session, md, what, { float32: 'export a float32 model (e.g. without half=True)' });
    const outputName = session.outputNames[0];
    if (outputName === undefined) throw new ConfigError(`${what}: the model has no output`);
    const input = new LetterboxInput(width, height, letterbox);
    const tensor = new ort.Tensor('float32', input.data, [1, 3, height, width]);

    // One run on a grey frame tells the real output shape (often symbolic in the file) and warms the session up.
    input.data.fill(letterbox.pad / 255);
    const out = (await session.run({ [inputName]: tensor }))[outputName];
    const dims = out && 'dims' in out ? [...out.dims] : [];
    const layout = yoloLayout(dims, classNames.length);
    if (!layout) {
      const c = classNames.length;
      throw new ConfigError(
        `${what}: output "${outputName}" has shape [${dims.join(', ')}], not a YOLO layout for ${c} classes: ` +
          `expected [1, ${4 + c}, anchors] (Ultralytics) or [1, anchors, ${4 + c}] (or ${5 + c} with YOLOv5's objectness). ` +
          `Check the class names (${c}: ${classNames.slice(0, 5).join(', ')}${c > 5 ? ', …' : ''}), and export without NMS inside the model`,
      );
    }
    if (out?.type !== 'float32') throw new ConfigError(`${what}: output "${outputName}" is ${out?.type}, expected float32`);

    const info = loadedDetectorInfo(cfg, file, { width, height }, classNames, logger, {
      anchors: layout.anchors,
      layout: `${layout.objectness ? 'yolov5' : 'yolov8'}${layout.channelsFirst ? '' : ' transposed'}`,
    });
    return new YoloDetector(info, cfg, session, inputName, outputName, input, tensor, layout);
  } catch (e) {
    await session.release().catch(() => undefined);
    throw e;
  }
}


class YoloDetector implements Detector {
  private readonly decoder: YoloDecoder;
  private readonly roles: (Role | null)[];
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly info: DetectorInfo,
    cfg: ModelConfig,
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    private readonly input: LetterboxInput,
    private readonly tensor: ort.Tensor,
    private readonly layout: YoloLayout,
  ) {
    this.roles = info.classNames.map((n) => cfg.roles[n] ?? null);
    const classMask = cfg.dropUnmapped ? Uint8Array.from(this.roles, (r) => (r ? 1 : 0)) : undefined;
    this.decoder = new YoloDecoder({
      scoreThreshold: cfg.scoreThreshold,
      iouThreshold: cfg.iouThreshold,
      maxDetections: cfg.maxDetections,
      classMask,
    });
  }

  detect(img: RawImage): Promise<DetectResult> {
    // One frame at a time: the input tensor's buffer is shared between calls.
    const run = this.queue.then(() => this.detectNow(img));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async detectNow(img: RawImage): Promise<DetectResult> {
    if (this.closed) throw new Error(`detector ${this.info.name} is closed`);
    const t0 = performance.now();
    const g = await this.input.fill(img);
    const t1 = performance.now();
    const result = await this.session.run({ [this.inputName]: this.tensor });
    const t2 = performance.now();
    const out = result[this.outputName] as ort.Tensor;
    const found = this.decoder.decode(out.data as Float32Array, this.layout);
    const detections: Detection[] = [];
    for (const d of found) {
      const box = unletterbox(g, d.x1, d.y1, d.x2, d.y2);
      // A box that lies wholly in the padding has nothing left after clipping.
      if (box[2] - box[0] < 1 || box[3] - box[1] < 1) continue;
      detections.push({ box, score: d.score, classId: d.classId, className: this.info.classNames[d.classId]!, role: this.roles[d.classId] ?? null });
    }
    const t3 = performance.now();
    return { detections, timings: { preprocessMs: t1 - t0, inferenceMs: t2 - t1, postprocessMs: t3 - t2 } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.session.release();
  }
}
