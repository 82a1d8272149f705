// Letterbox preprocessing: resize keeping the aspect ratio to fit the model's input, pad the rest with grey, and
// lay the pixels out as float32 NCHW RGB in 0..1 — the Ultralytics convention, which other families share with a
// different pad or position. One sharp pipeline to raw pixels, then one pass into a Float32Array that is reused
// from frame to frame (the padding is written only when the geometry changes).
import sharp from 'sharp';
import type { Box } from '../../contracts/index.js';
import type { Letterbox } from './config.js';
import type { RawImage } from './types.js';

export interface LetterboxGeometry {
  srcWidth: number;
  srcHeight: number;
  /** The image's size inside the input tensor. */
  resizedWidth: number;
  resizedHeight: number;
  /** Padding before the image, input pixels. */
  left: number;
  top: number;
  /** Input pixels per source pixel, per axis (the rounding of the resized size makes them differ slightly). */
  scaleX: number;
  scaleY: number;
}

/** Where an srcW x srcH image lands in a dstW x dstH input. Rounds as Ultralytics' LetterBox does. */
export function letterboxGeometry(
  srcWidth: number,
  srcHeight: number,
  dstWidth: number,
  dstHeight: number,
  position: Letterbox['position'],
): LetterboxGeometry {
  const r = Math.min(dstWidth / srcWidth, dstHeight / srcHeight);
  const resizedWidth = Math.min(dstWidth, Math.max(1, Math.round(srcWidth * r)));
  const resizedHeight = Math.min(dstHeight, Math.max(1, Math.round(srcHeight * r)));
  const centre = position === 'centre';
  // round(d/2 - 0.1): an odd padding puts the extra pixel after the image, like Ultralytics.
  const left = centre ? Math.max(0, Math.round((dstWidth - resizedWidth) / 2 - 0.1)) : 0;
  const top = centre ? Math.max(0, Math.round((dstHeight - resizedHeight) / 2 - 0.1)) : 0;
  return {
    srcWidth,
    srcHeight,
    resizedWidth,
    resizedHeight,
    left,
    top,
    scaleX: resizedWidth / srcWidth,
    scaleY: resizedHeight / srcHeight,
  };
}

/** A box in input-tensor pixels back to source-image pixels, clipped to the image. */
export function unletterbox(g: LetterboxGeometry, x1: number, y1: number, x2: number, y2: number): Box {
  const clip = (v: number, max: number) => (v < 0 ? 0 : v > max ? max : v);
  return [
    clip((x1 - g.left) / g.scaleX, g.srcWidth),
    clip((y1 - g.top) / g.scaleY, g.srcHeight),
    clip((x2 - g.left) / g.scaleX, g.srcWidth),
    clip((y2 - g.top) / g.scaleY, g.srcHeight),
  ];
}

export function checkRawImage(img: RawImage): void {
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new Error(`image size ${img.width}x${img.height} is not a positive integer size`);
  }
  if (img.channels !== 3 || img.data.length !== img.width * img.height * 3) {
    throw new Error(
      `image data holds ${img.data.length} bytes, expected ${img.width}x${img.height}x3 RGB (${img.width * img.height * 3})`,
    );
  }
}

/** x / 255 for every byte: a table lookup is cheaper than a division per channel. */
const UNIT = new Float32Array(256).map((_, i) => i / 255);

/** The input tensor of a model, refilled for each frame. */
export class LetterboxInput {
  /** NCHW, RGB planes, 0..1. */
  readonly data: Float32Array;
  private last: LetterboxGeometry | null = null;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly letterbox: Letterbox,
  ) {
    this.data = new Float32Array(3 * width * height);
  }

  async fill(img: RawImage): Promise<LetterboxGeometry> {
    checkRawImage(img);
    const g = letterboxGeometry(img.width, img.height, this.width, this.height, this.letterbox.position);
    const px =
      g.resizedWidth === img.width && g.resizedHeight === img.height
        ? img.data
        : await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
            .resize(g.resizedWidth, g.resizedHeight, { fit: 'fill', kernel: 'linear' })
            .raw()
            .toBuffer();
    const l = this.last;
    if (
      !l ||
      l.resizedWidth !== g.resizedWidth ||
      l.resizedHeight !== g.resizedHeight ||
      l.left !== g.left ||
      l.top !== g.top
    ) {
      this.data.fill(this.letterbox.pad / 255);
    }
    this.last = g;
    const W = this.width;
    const plane = W * this.height;
    const d = this.data;
    const rw = g.resizedWidth;
    let p = 0;
    for (let y = 0; y < g.resizedHeight; y++) {
      let o = (g.top + y) * W + g.left;
      const end = o + rw;
      for (; o < end; o++, p += 3) {
        d[o] = UNIT[px[p]!]!;
        d[o + plane] = UNIT[px[p + 1]!]!;
        d[o + 2 * plane] = UNIT[px[p + 2]!]!;
      }
    }
    return g;
  }
}
