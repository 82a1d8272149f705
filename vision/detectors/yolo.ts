// The `yolo` family: Ultralytics exports (YOLOv8 and later, `yolo export format=onnx`), YOLOv5 exports and our own
// city detector (vision/model), all on onnxruntime-node. Class names, input size and letterbox come from the
// model's metadata unless the config says otherwise.
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { ConfigError } from '../../runtime/config.js';
import type { Logger } from '../../runtime/log.js';
import type { Letterbox, ModelConfig } from './config.js';
import { LetterboxInput, unletterbox } from './letterbox.js';
import { parseClassNames, parseImgsz, parseLetterbox } from './onnx-meta.js';
import { declaredShape, openOnnxSession, readOnnxModelFile, type OnnxModelFile } from './onnx-model.js';
import type { DetectResult, Detection, Detector, DetectorInfo, RawImage, Role } from './types.js';
import { YoloDecoder, yoloLayout, type YoloLayout } from './yolo-decode.js';

const DEFAULT_LETTERBOX: Letterbox = { position: 'centre', pad: 114 };

export async function createYoloDetector(cfg: ModelConfig, logger: Logger): Promise<Detector> {
  const what = `detector model "${cfg.name}"`;
  const file = readOnnxModelFile(cfg.path, what);
  const md = file.meta.metadata;
  const classNames = resolveClassNames(cfg, file, what, logger);
  const letterbox = resolveLetterbox(cfg, md, what);
  if (md.normalize !== undefined && md.normalize.replace(/\s/g, '') !== '0..1') {
    throw new ConfigError(`${what}: the model expects input normalised as "${md.normalize}"; the yolo family feeds RGB 0..1`);
  }

  const session = await openOnnxSession(file, what, cfg.threads);
  try {
    const { inputName, width, height } = resolveInput(cfg, session, md, what);
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

    const info: DetectorInfo = {
      name: cfg.name,
      family: cfg.family,
      path: cfg.path,
      sha256: file.sha256,
      inputWidth: width,
      inputHeight: height,
      classNames,
      metadata: { ...md },
    };
    logger.info(
      {
        model: cfg.name,
        path: cfg.path,
        sha256: file.sha256.slice(0, 12),
        input: `${width}x${height}`,
        classes: classNames.length,
        anchors: layout.anchors,
        layout: `${layout.objectness ? 'yolov5' : 'yolov8'}${layout.channelsFirst ? '' : ' transposed'}`,
      },
      'detector model loaded',
    );
    return new YoloDetector(info, cfg, session, inputName, outputName, input, tensor, layout);
  } catch (e) {
    await session.release().catch(() => undefined);
    throw e;
  }
}

function resolveClassNames(cfg: ModelConfig, file: OnnxModelFile, what: string, logger: Logger): string[] {
  const raw = file.meta.metadata.names;
  let fromModel: string[] | undefined;
  if (raw !== undefined) {
    try {
      fromModel = parseClassNames(raw);
    } catch (e) {
      if (!cfg.classes) throw new ConfigError(`${what}: ${(e as Error).message}; list the class names in "classes"`);
    }
  }
  if (cfg.classes) {
    if (fromModel && fromModel.join('\n') !== cfg.classes.join('\n')) {
      logger.warn({ model: cfg.name, model_names: fromModel, config_classes: cfg.classes }, 'config "classes" differ from the model\'s names; using the config');
    }
    return cfg.classes;
  }
  if (!fromModel) {
    throw new ConfigError(`${what}: ${cfg.path} has no class names in its metadata (key "names"); list them in "classes", in class-index order`);
  }
  return fromModel;
}

function resolveLetterbox(cfg: ModelConfig, md: Record<string, string>, what: string): Letterbox {
  if (cfg.letterbox) return cfg.letterbox;
  if (md.letterbox === undefined) return DEFAULT_LETTERBOX;
  const lb = parseLetterbox(md.letterbox);
  if (!lb) throw new ConfigError(`${what}: cannot read the model's letterbox metadata "${md.letterbox}"; set "letterbox" in the config`);
  return lb;
}

function resolveInput(cfg: ModelConfig, session: ort.InferenceSession, md: Record<string, string>, what: string) {
  if (session.inputNames.length !== 1) {
    throw new ConfigError(`${what}: the model has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); a YOLO detector has one image input`);
  }
  const inputName = session.inputNames[0]!;
  const meta = session.inputMetadata[0];
  if (meta?.isTensor && meta.type !== 'float32') {
    throw new ConfigError(`${what}: input "${inputName}" is ${meta.type}; export a float32 model (e.g. without half=True)`);
  }
  const shape = declaredShape(meta);
  if (shape && (shape.length !== 4 || (shape[1] !== null && shape[1] !== 3) || (shape[0] !== null && shape[0] !== 1))) {
    throw new ConfigError(`${what}: input "${inputName}" has shape [${shape.map((d) => d ?? '?').join(', ')}]; expected [1, 3, height, width]`);
  }
  const fixedH = shape?.[2] ?? null;
  const fixedW = shape?.[3] ?? null;
  let width = cfg.inputWidth;
  let height = cfg.inputHeight;
  if (width !== undefined && height !== undefined) {
    if ((fixedW !== null && fixedW !== width) || (fixedH !== null && fixedH !== height)) {
      throw new ConfigError(`${what}: inputWidth x inputHeight ${width}x${height} differ from the model's fixed input ${fixedW ?? '?'}x${fixedH ?? '?'}; remove them or re-export the model`);
    }
    const stride = Number(md.stride);
    if ((fixedW === null || fixedH === null) && Number.isInteger(stride) && stride > 0 && (width % stride !== 0 || height % stride !== 0)) {
      throw new ConfigError(`${what}: inputWidth and inputHeight must be multiples of the model's stride ${stride} (have ${width}x${height})`);
    }
  } else if (fixedW !== null && fixedH !== null) {
    width = fixedW;
    height = fixedH;
  } else {
    const sz = md.imgsz !== undefined ? parseImgsz(md.imgsz) : null;
    if (!sz) throw new ConfigError(`${what}: the model's input size is not fixed and its metadata has no "imgsz"; set inputWidth and inputHeight`);
    width = fixedW ?? sz.width;
    height = fixedH ?? sz.height;
  }
  return { inputName, width, height };
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
