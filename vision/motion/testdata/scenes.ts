// Crafted frames for the motion stage's tests: a textured "street" (a gradient with a fixed pattern of darker and
// lighter patches, deterministic), blocks drawn on it, a brightness factor and offset for the whole picture, as JPEG.
import sharp from 'sharp';

export interface Block {
  x: number;
  y: number;
  w: number;
  h: number;
  grey: number;
}

export interface SceneOptions {
  width?: number;
  height?: number;
  blocks?: Block[];
  /** Whole-picture brightness: out = in × gain + offset (a cloud, auto-exposure). */
  gain?: number;
  offset?: number;
}

export async function sceneJpeg(o: SceneOptions = {}): Promise<Buffer> {
  const width = o.width ?? 640;
  const height = o.height ?? 360;
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Sky-to-road gradient with a checker of 40-px patches: structure for the brightness estimate to work on.
      let v = 70 + (90 * y) / height + ((((x / 40) | 0) + ((y / 40) | 0)) % 2 === 0 ? 20 : 0);
      for (const b of o.blocks ?? []) if (x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.h) v = b.grey;
      v = Math.max(0, Math.min(255, v * (o.gain ?? 1) + (o.offset ?? 0)));
      const i = (y * width + x) * 3;
      data[i] = v;
      data[i + 1] = v;
      data[i + 2] = v;
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}
