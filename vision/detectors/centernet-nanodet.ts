// What the CenterNet and NanoDet plugins share (both families come from TF.js graph models converted to ONNX by
// vision/model/coco/convert.py, and both describe their input in their metadata rather than following the
// Ultralytics convention): class names and letterbox from metadata or config, the input normalisation, a
// letterboxed input tensor normalised per channel, and a Detector around a family's decode function.
import { performance } from 'node:perf_hooks';
import type * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { ConfigError } from '../../runtime/config.js';
import type { Logger } from '../../runtime/log.js';
import type { Letterbox, ModelConfig } from './config.js';
import { LetterboxInput, unletterbox, type LetterboxGeometry } from './letterbox.js';
import { parseClassNames, parseImgsz, parseLetterbox } from './onnx-meta.js';
import type { OnnxModelFile } from './onnx-model.js';
import type { DetectResult, Detection, Detector, DetectorInfo, RawImage, Role } from './types.js';
import type { InputDetection } from './yolo-decode.js';

/**
 * How pixel values (0..255) become input values: `(pixel - mean[c]) / std[c]` per channel, channels in `channels`
 * order. CenterNet takes RGB 0..255 (mean 0, std 1), NanoDet BGR with ImageNet-like mean and std, YOLO 0..1.
 */
export interface Normalisation {
  channels: 'rgb' | 'bgr';
  mean: [number, number, number];
  std: [number, number, number];
}

const Triple = z.tuple([z.number(), z.number(), z.number()]);
const NormalisationSchema = z.strictObject({
  channels: z.enum(['rgb', 'bgr']).default('rgb'),
  mean: Triple.default([0, 0, 0]),
  std: Triple.refine((s) => s.every((v) => v > 0), 'std must be positive').default([1, 1, 1]),
});

/**
 * The `normalisation` metadata: JSON `{"channels": "bgr", "mean": [..3], "std": [..3]}` (on 0..255 pixels), or the
 * shorthands "0..1" and "0..255" (RGB). Returns null when it cannot be read.
 */
export function parseNormalisation(src: string): Normalisation | null {
  const s = src.trim();
  if (s === '0..1') return { channels: 'rgb', mean: [0, 0, 0], std: [255, 255, 255] };
  if (s === '0..255') return { channels: 'rgb', mean: [0, 0, 0], std: [1, 1, 1] };
  let raw: unknown;
  try {
    raw = JSON.parse(s);
  } catch {
    return null;
  }
  const r = NormalisationSchema.safeParse(raw);
  return r.success ? r.data : null;
}

/**
 * The model's input tensor, NCHW: the frame letterboxed (LetterboxInput: RGB planes 0..1), then normalised per
 * channel into a second buffer. The letterbox keeps its own padding from frame to frame, so the normalisation
 * always reads clean 0..1 values; one extra pass over the tensor (about a millisecond at 512x512).
 */
export class NormalisedInput {
  readonly data: Float32Array;
  private readonly letterbox: LetterboxInput;
  /** Per output channel: which RGB plane it reads, and value = unit * scale + offset. */
  private readonly source: number[];
  private readonly scale: number[];
  private readonly offset: number[];

  constructor(
    readonly width: number,
    readonly height: number,
    letterbox: Letterbox,
    readonly normalisation: Normalisation,
  ) {
    this.letterbox = new LetterboxInput(width, height, letterbox);
    this.data = new Float32Array(3 * width * height);
    const { channels, mean, std } = normalisation;
    this.source = channels === 'rgb' ? [0, 1, 2] : [2, 1, 0];
    this.scale = [0, 1, 2].map((c) => 255 / std[c]!);
    this.offset = [0, 1, 2].map((c) => -mean[c]! / std[c]!);
  }

  async fill(img: RawImage): Promise<LetterboxGeometry> {
    const g = await this.letterbox.fill(img);
    const plane = this.width * this.height;
    const src = this.letterbox.data;
    const dst = this.data;
    for (let c = 0; c < 3; c++) {
      const from = this.source[c]! * plane;
      const to = c * plane;
      const k = this.scale[c]!;
      const b = this.offset[c]!;
      for (let i = 0; i < plane; i++) dst[to + i] = src[from + i]! * k + b;
    }
    return g;
  }

  /** A frame of one grey level 0..255 (the same in every channel, so the channel order does not matter). */
  fillGrey(level: number): void {
    const plane = this.width * this.height;
    for (let c = 0; c < 3; c++) this.data.fill((level / 255) * this.scale[c]! + this.offset[c]!, c * plane, (c + 1) * plane);
  }
}

/** Class names: the config's `classes`, else the model's `names` metadata (a warning when both exist and differ). */
export function classNamesOf(cfg: ModelConfig, file: OnnxModelFile, what: string, logger: Logger): string[] {
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

/** The config's `letterbox`, else the model's `letterbox` metadata, else the family's default. */
export function letterboxOf(cfg: ModelConfig, md: Record<string, string>, what: string, fallback: Letterbox): Letterbox {
  if (cfg.letterbox) return cfg.letterbox;
  if (md.letterbox === undefined) return fallback;
  const lb = parseLetterbox(md.letterbox);
  if (!lb) throw new ConfigError(`${what}: cannot read the model's letterbox metadata "${md.letterbox}"; set "letterbox" in the config`);
  return lb;
}

/** The model's `normalisation` metadata, else the family's default. */
export function normalisationOf(md: Record<string, string>, what: string, fallback: Normalisation): Normalisation {
  const src = md.normalisation ?? md.normalize;
  if (src === undefined) return fallback;
  const n = parseNormalisation(src);
  if (!n) {
    throw new ConfigError(
      `${what}: cannot read the model's normalisation metadata ${JSON.stringify(src)}; ` +
        'expected {"channels": "rgb"|"bgr", "mean": [r, g, b], "std": [r, g, b]} on 0..255 pixels, or "0..1"',
    );
  }
  return n;
}

/** A model file that names another family in its metadata is refused: its outputs would be misread. */
export function checkFamily(cfg: ModelConfig, md: Record<string, string>, what: string): void {
  const family = md.family?.trim().toLowerCase();
  if (family && family !== cfg.family) {
    throw new ConfigError(`${what}: ${cfg.path} is a ${md.family} model (its metadata says so), not ${cfg.family}; set "family": "${family}"`);
  }
}

export interface InputSize {
  inputName: string;
  width: number;
  height: number;
}

/**
 * The image input: one float32 [1, 3, H, W] tensor. Its size: the config's (which a fixed input must agree with,
 * and a free one must take in multiples of the model's `stride`), else the fixed shape, else `imgsz`.
 */
export function inputSizeOf(cfg: ModelConfig, session: ort.InferenceSession, md: Record<string, string>, what: string): InputSize {
  if (session.inputNames.length !== 1) {
    throw new ConfigError(`${what}: the model has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); a ${cfg.family} detector has one image input`);
  }
  const inputName = session.inputNames[0]!;
  const meta = session.inputMetadata[0];
  if (meta?.isTensor && meta.type !== 'float32') throw new ConfigError(`${what}: input "${inputName}" is ${meta.type}, expected float32`);
  const shape = meta?.isTensor ? meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : null)) : null;
  if (shape && (shape.length !== 4 || (shape[1] !== null && shape[1] !== 3) || (shape[0] !== null && shape[0] !== 1))) {
    throw new ConfigError(
      `${what}: input "${inputName}" has shape [${shape.map((d) => d ?? '?').join(', ')}]; expected [1, 3, height, width] (channels first` +
        `${shape.length === 4 && shape[3] === 3 ? ': convert it with vision/model/coco/convert.py, which makes the input NCHW' : ''})`,
    );
  }
  const fixedH = shape?.[2] ?? null;
  const fixedW = shape?.[3] ?? null;
  const stride = Number(md.stride);
  if (cfg.inputWidth !== undefined && cfg.inputHeight !== undefined) {
    const { inputWidth: width, inputHeight: height } = cfg;
    if ((fixedW !== null && fixedW !== width) || (fixedH !== null && fixedH !== height)) {
      throw new ConfigError(`${what}: inputWidth x inputHeight ${width}x${height} differ from the model's fixed input ${fixedW ?? '?'}x${fixedH ?? '?'}; remove them`);
    }
    if (Number.isInteger(stride) && stride > 0 && (width % stride !== 0 || height % stride !== 0)) {
      throw new ConfigError(`${what}: inputWidth and inputHeight must be multiples of the model's stride ${stride} (have ${width}x${height})`);
    }
    return { inputName, width, height };
  }
  if (fixedW !== null && fixedH !== null) return { inputName, width: fixedW, height: fixedH };
  const sz = md.imgsz !== undefined ? parseImgsz(md.imgsz) : null;
  if (!sz) throw new ConfigError(`${what}: the model's input size is not fixed and its metadata has no "imgsz"; set inputWidth and inputHeight`);
  return { inputName, width: fixedW ?? sz.width, height: fixedH ?? sz.height };
}

/** Float32 output tensors by name, from one run. */
export type Outputs = Record<string, ort.Tensor>;

/** A family's decoding: the outputs of one run → detections in input-tensor pixels, best first, after NMS. */
export type DecodeFn = (outputs: Outputs) => InputDetection[];

/** A Detector around an onnxruntime session, a normalised letterbox input and a family's decode function. */
export class MapDetector implements Detector {
  private readonly roles: (Role | null)[];
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly info: DetectorInfo,
    cfg: ModelConfig,
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly input: NormalisedInput,
    private readonly tensor: ort.Tensor,
    private readonly decode: DecodeFn,
  ) {
    this.roles = info.classNames.map((n) => cfg.roles[n] ?? null);
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
    const outputs = await this.session.run({ [this.inputName]: this.tensor });
    const t2 = performance.now();
    const detections: Detection[] = [];
    for (const d of this.decode(outputs)) {
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

/** Classes to decode: those with a role when `dropUnmapped`, else all (undefined). */
export function classMaskOf(cfg: ModelConfig, classNames: string[]): Uint8Array | undefined {
  if (!cfg.dropUnmapped) return undefined;
  return Uint8Array.from(classNames, (n) => (cfg.roles[n] ? 1 : 0));
}

export function shapeText(t: ort.Tensor | undefined): string {
  return t ? `[${t.dims.join(', ')}]` : 'missing';
}
