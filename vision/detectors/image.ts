// Turning an encoded frame (the camera's JPEG) into the RawImage detectors and the plate reader take.
import { MAX_IMAGE_PIXELS, untrustedImage } from '../../runtime/image.js';
import type { RawImage } from './types.js';

/**
 * JPEG, PNG or WebP bytes → 8-bit RGB. Grey images get three channels, alpha is dropped. An image of more than
 * `maxPixels` is refused before it is decoded (the vision worker passes its camera's size).
 */
export async function decodeImage(encoded: Buffer, maxPixels = MAX_IMAGE_PIXELS): Promise<RawImage> {
  const { data, info } = await untrustedImage(encoded, maxPixels)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded image has ${info.channels} channels, expected 3`);
  return { data, width: info.width, height: info.height, channels: 3 };
}
