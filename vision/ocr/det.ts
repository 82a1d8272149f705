// The PP-OCRv4 text detector (DB): a probability map of "text here", thresholded into regions whose boxes are
// grown back to the whole text line (DB's unclip). Used when plate colours find nothing readable: a blue plate
// on a blue car, a faded or unusual plate. Boxes are axis-aligned: cameras see plates nearly level.
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import type { Box } from '../../contracts/index.js';
import type { RawImage } from '../detectors/types.js';
import { bandBox, componentBand, components, type TextBand } from './localise.js';

export interface TextBox {
  box: Box;
  /** The text line, deskewed. */
  band: TextBand;
  /** Mean text probability inside the region. */
  score: number;
}

export interface TextDetectorOptions {
  /** Longest side of the detector's input; PaddleOCR's default limit is 960, a vehicle crop needs less. */
  maxSide: number;
  /** Pixel probability that counts as text (DB's thresh). */
  pixelThreshold: number;
  /** Mean probability a region needs (DB's box_thresh). */
  boxThreshold: number;
  /** How far a region is grown: distance = area × ratio / perimeter (DB's unclip_ratio). */
  unclipRatio: number;
}

export const TEXT_DETECTOR_DEFAULTS: TextDetectorOptions = {
  maxSide: 640,
  pixelThreshold: 0.3,
  boxThreshold: 0.6,
  unclipRatio: 1.5,
};

// ImageNet statistics in PaddleOCR's channel order: it feeds OpenCV's BGR images.
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

export class TextDetector {
  private readonly opts: TextDetectorOptions;

  constructor(
    private readonly session: ort.InferenceSession,
    opts: Partial<TextDetectorOptions> = {},
  ) {
    this.opts = { ...TEXT_DETECTOR_DEFAULTS, ...opts };
  }

  /** Text lines in region [x1, y1, x2, y2) of the image, in image pixels, best score first. */
  async find(img: RawImage, region: [number, number, number, number]): Promise<TextBox[]> {
    const [x0, y0, x1, y1] = region;
    const rw = x1 - x0;
    const rh = y1 - y0;
    const r = Math.min(1, this.opts.maxSide / Math.max(rw, rh));
    const W = Math.max(32, Math.round((rw * r) / 32) * 32);
    const H = Math.max(32, Math.round((rh * r) / 32) * 32);
    const px = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
      .extract({ left: x0, top: y0, width: rw, height: rh })
      .resize(W, H, { fit: 'fill', kernel: 'linear' })
      .raw()
      .toBuffer();
    const plane = W * H;
    const input = new Float32Array(3 * plane);
    for (let i = 0, p = 0; i < plane; i++, p += 3) {
      for (let c = 0; c < 3; c++) input[c * plane + i] = (px[p + 2 - c]! / 255 - MEAN[c]!) / STD[c]!;
    }
    const name = this.session.inputNames[0]!;
    const out = (await this.session.run({ [name]: new ort.Tensor('float32', input, [1, 3, H, W]) }))[
      this.session.outputNames[0]!
    ] as ort.Tensor;
    const prob = out.data as Float32Array;
    const mask = new Uint8Array(plane);
    for (let i = 0; i < plane; i++) mask[i] = prob[i]! > this.opts.pixelThreshold ? 1 : 0;

    const sx = W / rw;
    const sy = H / rh;
    const boxes: TextBox[] = [];
    for (const c of components(mask, W, H, prob, 6)) {
      const score = c.weight / c.count;
      if (score < this.opts.boxThreshold) continue;
      const b = componentBand(mask, W, c, 1, 0, 0);
      if (Math.min(b.x2 - b.x1, b.height) < 3) continue;
      // DB's unclip: the map marks a shrunk core of each text line; grow it back by area × ratio / perimeter.
      const d = ((b.x2 - b.x1) * b.height * this.opts.unclipRatio) / (2 * (b.x2 - b.x1 + b.height));
      const band: TextBand = {
        x1: Math.max(x0, x0 + (b.x1 - d) / sx),
        x2: Math.min(x1, x0 + (b.x2 + d) / sx),
        cy: y0 + b.cy / sy,
        slope: (b.slope * sx) / sy,
        height: (b.height + 2 * d) / sy,
      };
      const [bx1, by1, bx2, by2] = bandBox(band);
      boxes.push({ box: [bx1, Math.max(y0, by1), bx2, Math.min(y1, by2)], band, score });
    }
    return boxes.sort((a, b) => b.score - a.score);
  }
}
