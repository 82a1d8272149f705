// What the CenterNet and NanoDet plugins share (both families come from TF.js graph models converted to ONNX by
// vision/model/coco/convert.py, and both describe their input in their metadata rather than following the
// Ultralytics convention): the input normalisation, a letterboxed input tensor normalised per channel, and the family
// check. Class names, letterbox, input size and the Detector itself come from onnx-model.ts, as for every family.
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { ConfigError } from '../../runtime/config.js';
import type { Logger } from '../../runtime/log.js';
import type { Letterbox, ModelConfig } from './config.js';
import { LetterboxInput, type LetterboxGeometry } from './letterbox.js';
import {
  OnnxDetector,
  classNamesOf,
  imageInputOf,
  letterboxOf,
  loadedDetectorInfo,
  openOnnxSession,
  readOnnxModelFile,
  type DecodeFn,
  type OnnxModelFile,
  type Outputs,
} from './onnx-model.js';
import type { Detector, RawImage } from './types.js';

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
    for (let c = 0; c < 3; c++)
      this.data.fill((level / 255) * this.scale[c]! + this.offset[c]!, c * plane, (c + 1) * plane);
  }
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
    throw new ConfigError(
      `${what}: ${cfg.path} is a ${md.family} model (its metadata says so), not ${cfg.family}; set "family": "${family}"`,
    );
  }
}

export function shapeText(t: ort.Tensor | undefined): string {
  return t ? `[${t.dims.join(', ')}]` : 'missing';
}

/** What a family's build step gets: the opened model, its input size and the outputs of one run on a grey frame. */
export interface OpenedModel {
  what: string;
  file: OnnxModelFile;
  md: Record<string, string>;
  classNames: string[];
  width: number;
  height: number;
  outputs: Outputs;
}

/**
 * Opens a model whose input normalisation is in its metadata (CenterNet, NanoDet) up to one run on a grey frame (its
 * real output shapes, symbolic in the file, and a warm session); `build` reads the family's outputs from that run and
 * returns its decode function and what the start-up log adds. The session is released if anything fails.
 */
export async function openNormalisedDetector(
  cfg: ModelConfig,
  logger: Logger,
  defaults: Normalisation,
  build: (m: OpenedModel) => { decode: DecodeFn; logged: Record<string, unknown> },
): Promise<Detector> {
  const what = `detector model "${cfg.name}"`;
  const file = readOnnxModelFile(cfg.path, what);
  const md = file.meta.metadata;
  checkFamily(cfg, md, what);
  const classNames = classNamesOf(cfg, file, what, logger);
  const letterbox = letterboxOf(cfg, md, what, { position: 'centre', pad: 0 });
  const normalisation = normalisationOf(md, what, defaults);

  const session = await openOnnxSession(file, what, cfg.threads);
  try {
    const { inputName, width, height } = imageInputOf(cfg, session, md, what, {
      channelsLast: 'convert it with vision/model/coco/convert.py, which makes the input NCHW',
    });
    const input = new NormalisedInput(width, height, letterbox, normalisation);
    const tensor = new ort.Tensor('float32', input.data, [1, 3, height, width]);
    input.fillGrey(letterbox.pad);
    let outputs: Outputs;
    try {
      outputs = await session.run({ [inputName]: tensor });
    } catch (e) {
      throw new ConfigError(
        `${what}: ${cfg.path} does not run at ${width}x${height}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    const { decode, logged } = build({ what, file, md, classNames, width, height, outputs });
    const info = loadedDetectorInfo(cfg, file, { width, height }, classNames, logger, logged);
    return new OnnxDetector(info, cfg, session, inputName, input, tensor, decode);
  } catch (e) {
    await session.release().catch(() => undefined);
    throw e;
  }
}
