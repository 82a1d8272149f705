// The motion stage's input: a camera frame as a small greyscale image. sharp shrinks a JPEG while it decodes it (DCT
// scaling), so this costs a fraction of the full RGB decode, which a gated frame only pays when the detector runs.
import { untrustedImage } from '../../runtime/image.js';

/** Row-major 8-bit grey, one byte a pixel, no padding. */
export interface GreyImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The small image's size for a frame: `width` wide, the frame's aspect kept (at least 1 px high). */
export function greySize(frameWidth: number, frameHeight: number, width: number): { width: number; height: number } {
  const w = Math.min(width, frameWidth);
  return { width: w, height: Math.max(1, Math.round((frameHeight * w) / frameWidth)) };
}

/**
 * Encoded frame → grey image of exactly `size` (area-averaged: averaging is what hides sensor noise and a parked
 * car's pixel of shake). `maxPixels` caps the decode as for the full frame.
 */
export async function decodeGrey(
  encoded: Buffer,
  size: { width: number; height: number },
  maxPixels: number,
): Promise<GreyImage> {
  const { data, info } = await untrustedImage(encoded, maxPixels)
    .greyscale()
    .resize(size.width, size.height, { fit: 'fill', kernel: 'linear' })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== size.width || info.height !== size.height || info.channels !== 1) {
    throw new Error(
      `grey image came out ${info.width}x${info.height}x${info.channels}, expected ${size.width}x${size.height}x1`,
    );
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}
