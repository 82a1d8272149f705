// Turning an encoded frame (the camera's JPEG) into the RawImage detectors and the plate reader take.
import sharp from 'sharp';
import type { RawImage } from './types.js';

/** JPEG, PNG or WebP bytes → 8-bit RGB. Grey images get three channels, alpha is dropped. */
export async function decodeImage(encoded: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(encoded).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded image has ${info.channels} channels, expected 3`);
  return { data, width: info.width, height: info.height, channels: 3 };
}
