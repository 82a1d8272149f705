// Images from outside (camera frames, snapshots, a party's photos): every sharp() on bytes a stranger could have made
// goes through here. A small file can declare a huge image (a PNG of a few hundred bytes that says 30000×30000), and
// decoding it allocates width × height × channels bytes before anything looks at the size: read the header first,
// and cap the pixels sharp will decode.
import sharp, { type Sharp, type SharpOptions } from 'sharp';

/**
 * Pixels sharp decodes at most from an untrusted image unless the caller says less: a 50 MP phone photo and an 8K
 * camera (33 MP) pass; decoded as RGB that is at most 192 MB.
 */
export const MAX_IMAGE_PIXELS = 64_000_000;

export interface ImageHeader {
  /** sharp's name of the format: jpeg, png, webp, ... */
  format: string;
  width: number;
  height: number;
}

/**
 * The format and size an encoded image declares, from its header only (nothing is decoded, so a declared size of any
 * magnitude costs nothing). Throws when the bytes are not an image sharp can read.
 */
export async function readImageHeader(encoded: Buffer): Promise<ImageHeader> {
  // No pixel limit here: metadata() reads the header, and the caller wants to hear the declared size to refuse it.
  const m = await sharp(encoded, { limitInputPixels: false }).metadata();
  if (!m.format || !m.width || !m.height) throw new Error('image header has no format or size');
  return { format: m.format, width: m.width, height: m.height };
}

/**
 * sharp on untrusted bytes, refusing to decode more than `maxPixels` (default MAX_IMAGE_PIXELS): sharp then throws
 * "Input image exceeds pixel limit" instead of allocating the image.
 */
export function untrustedImage(
  encoded: Buffer,
  maxPixels = MAX_IMAGE_PIXELS,
  options: Omit<SharpOptions, 'limitInputPixels'> = {},
): Sharp {
  return sharp(encoded, { ...options, limitInputPixels: Math.max(1, Math.floor(maxPixels)) });
}
