// Opening an ONNX model file for any plugin (and the plate reader): the bytes are read once, hashed for the
// evidence record, their metadata read, and handed to onnxruntime; what every detector family reads the same way
// (class names, letterbox, the image input's size) and its loaded info. Every way a file can be wrong becomes a
// ConfigError that names the file and says what to do.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { ConfigError } from '../../runtime/config.js';
import type { Logger } from '../../runtime/log.js';
import type { Letterbox, ModelConfig } from './config.js';
import {
  OnnxFormatError,
  parseClassNames,
  parseImgsz,
  parseLetterbox,
  readOnnxMeta,
  type OnnxModelMeta,
} from './onnx-meta.js';
import { unletterbox, type LetterboxGeometry } from './letterbox.js';
import type { InputDetection } from './nms.js';
import type { DetectResult, Detection, Detector, DetectorInfo, RawImage, Role } from './types.js';

export interface OnnxModelFile {
  path: string;
  bytes: Buffer;
  sha256: string;
  meta: OnnxModelMeta;
}

/**
 * Reads and checks a model file. `what` names it in messages ("detector model \"city\"", "plate recogniser");
 * `hint` says how to get the file.
 */
export function readOnnxModelFile(
  file: string,
  what: string,
  hint = 'correct "path" in the models config',
): OnnxModelFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'does not exist'
        : err.code === 'EISDIR'
          ? 'is a folder, not a model file'
          : err.code === 'EACCES'
            ? 'cannot be read (permission denied)'
            : `cannot be read (${err.message})`;
    throw new ConfigError(`${what}: ${file} ${why}; put the .onnx file there or ${hint}`);
  }
  if (bytes.length === 0) throw new ConfigError(`${what}: ${file} is empty; copy the .onnx file again`);
  if (bytes.subarray(0, 40).toString('latin1').startsWith('version https://git-lfs')) {
    throw new ConfigError(`${what}: ${file} is a Git LFS pointer, not the model; run "git lfs pull"`);
  }
  let meta: OnnxModelMeta;
  try {
    meta = readOnnxMeta(bytes);
  } catch (e) {
    if (!(e instanceof OnnxFormatError)) throw e;
    throw new ConfigError(
      `${what}: ${file} is not an ONNX model (${e.message}); export the model to ONNX, e.g. "yolo export format=onnx"`,
    );
  }
  return { path: file, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), meta };
}

/** An onnxruntime CPU session for a model file; onnxruntime's own refusal becomes a ConfigError. */
export async function openOnnxSession(
  model: OnnxModelFile,
  what: string,
  threads: number,
): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(model.bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      // One frame at a time per worker: parallelism inside operators, none between them.
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
  } catch (e) {
    throw new ConfigError(
      `${what}: onnxruntime cannot load ${model.path}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** The input or output's shape as the model declares it; symbolic dimensions are null. */
export function declaredShape(m: ort.InferenceSession.ValueMetadata | undefined): (number | null)[] | null {
  if (!m || !m.isTensor) return null;
  return m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : null));
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
      logger.warn(
        { model: cfg.name, model_names: fromModel, config_classes: cfg.classes },
        'config "classes" differ from the model\'s names; using the config',
      );
    }
    return cfg.classes;
  }
  if (!fromModel) {
    throw new ConfigError(
      `${what}: ${cfg.path} has no class names in its metadata (key "names"); list them in "classes", in class-index order`,
    );
  }
  return fromModel;
}

/** A detector's info once its plugin opened the model, logged once with the family's own details (layout, maps). */
export function loadedDetectorInfo(
  cfg: ModelConfig,
  file: OnnxModelFile,
  size: { width: number; height: number },
  classNames: string[],
  logger: Logger,
  details: Record<string, unknown>,
): DetectorInfo {
  const info: DetectorInfo = {
    name: cfg.name,
    family: cfg.family,
    path: cfg.path,
    sha256: file.sha256,
    inputWidth: size.width,
    inputHeight: size.height,
    classNames,
    metadata: { ...file.meta.metadata },
  };
  logger.info(
    {
      model: cfg.name,
      path: cfg.path,
      sha256: file.sha256.slice(0, 12),
      input: `${size.width}x${size.height}`,
      classes: classNames.length,
      ...details,
    },
    'detector model loaded',
  );
  return info;
}

/** The config's `letterbox`, else the model's `letterbox` metadata, else the family's default. */
export function letterboxOf(
  cfg: ModelConfig,
  md: Record<string, string>,
  what: string,
  fallback: Letterbox,
): Letterbox {
  if (cfg.letterbox) return cfg.letterbox;
  if (md.letterbox === undefined) return fallback;
  const lb = parseLetterbox(md.letterbox);
  if (!lb)
    throw new ConfigError(
      `${what}: cannot read the model's letterbox metadata "${md.letterbox}"; set "letterbox" in the config`,
    );
  return lb;
}

export interface InputSize {
  inputName: string;
  width: number;
  height: number;
}

/**
 * The one image input of a detector model, [1, 3, height, width] float32, and the size to feed it: the config's
 * inputWidth x inputHeight (checked against a fixed shape and the model's stride), else the fixed shape, else the
 * `imgsz` metadata. `hints` add the family's advice to the messages.
 */
export function imageInputOf(
  cfg: ModelConfig,
  session: ort.InferenceSession,
  md: Record<string, string>,
  what: string,
  hints: { float32?: string; channelsLast?: string } = {},
): InputSize {
  if (session.inputNames.length !== 1) {
    throw new ConfigError(
      `${what}: the model has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); a ${cfg.family} detector has one image input`,
    );
  }
  const inputName = session.inputNames[0]!;
  const meta = session.inputMetadata[0];
  if (meta?.isTensor && meta.type !== 'float32') {
    throw new ConfigError(
      `${what}: input "${inputName}" is ${meta.type}, expected float32${hints.float32 ? `; ${hints.float32}` : ''}`,
    );
  }
  const shape = declaredShape(meta);
  if (shape && (shape.length !== 4 || (shape[1] !== null && shape[1] !== 3) || (shape[0] !== null && shape[0] !== 1))) {
    const channelsLast =
      shape.length === 4 && shape[3] === 3 && hints.channelsLast ? ` (channels first: ${hints.channelsLast})` : '';
    throw new ConfigError(
      `${what}: input "${inputName}" has shape [${shape.map((d) => d ?? '?').join(', ')}]; expected [1, 3, height, width]${channelsLast}`,
    );
  }
  const fixedH = shape?.[2] ?? null;
  const fixedW = shape?.[3] ?? null;
  if (cfg.inputWidth !== undefined && cfg.inputHeight !== undefined) {
    const { inputWidth: width, inputHeight: height } = cfg;
    if ((fixedW !== null && fixedW !== width) || (fixedH !== null && fixedH !== height)) {
      throw new ConfigError(
        `${what}: inputWidth x inputHeight ${width}x${height} differ from the model's fixed input ${fixedW ?? '?'}x${fixedH ?? '?'}; remove them or re-export the model`,
      );
    }
    const stride = Number(md.stride);
    if (
      (fixedW === null || fixedH === null) &&
      Number.isInteger(stride) &&
      stride > 0 &&
      (width % stride !== 0 || height % stride !== 0)
    ) {
      throw new ConfigError(
        `${what}: inputWidth and inputHeight must be multiples of the model's stride ${stride} (have ${width}x${height})`,
      );
    }
    return { inputName, width, height };
  }
  if (fixedW !== null && fixedH !== null) return { inputName, width: fixedW, height: fixedH };
  const sz = md.imgsz !== undefined ? parseImgsz(md.imgsz) : null;
  if (!sz)
    throw new ConfigError(
      `${what}: the model's input size is not fixed and its metadata has no "imgsz"; set inputWidth and inputHeight`,
    );
  return { inputName, width: fixedW ?? sz.width, height: fixedH ?? sz.height };
}

/** Output tensors by name, from one run. */
export type Outputs = Record<string, ort.Tensor>;

/** A family's decoding: the outputs of one run → detections in input-tensor pixels, best first, after NMS. */
export type DecodeFn = (outputs: Outputs) => InputDetection[];

/** A letterboxed input tensor that a frame is written into (the family's own normalisation). */
export interface FrameInput {
  fill(img: RawImage): Promise<LetterboxGeometry>;
}

/** Classes to decode: those with a role when `dropUnmapped`, else all (undefined). */
export function classMaskOf(cfg: ModelConfig, classNames: string[]): Uint8Array | undefined {
  if (!cfg.dropUnmapped) return undefined;
  return Uint8Array.from(classNames, (n) => (cfg.roles[n] ? 1 : 0));
}

/**
 * The Detector of every family: a frame into the input tensor, one onnxruntime run, the family's decode, boxes back
 * to frame pixels with their roles. One frame at a time, because the input tensor's buffer is shared between calls.
 */
export class OnnxDetector implements Detector {
  private readonly roles: (Role | null)[];
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly info: DetectorInfo,
    cfg: ModelConfig,
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly input: FrameInput,
    private readonly tensor: ort.Tensor,
    private readonly decode: DecodeFn,
  ) {
    this.roles = info.classNames.map((n) => cfg.roles[n] ?? null);
  }

  detect(img: RawImage): Promise<DetectResult> {
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
      detections.push({
        box,
        score: d.score,
        classId: d.classId,
        className: this.info.classNames[d.classId]!,
        role: this.roles[d.classId] ?? null,
      });
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
